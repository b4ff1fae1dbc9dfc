/* nftables over netlink: the plan becomes one batch (libnftnl builds each message, libmnl sends
 * and reads every ACK); rule counters and the uauth set are read back by dumps. */
#include "gateway/nat/nat_nl.h"

#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define NAT_NL_BATCH_MAX      (256u << 20) /* refuse batches larger than 256 MiB */
#define NAT_NL_MSG_RESERVE    (64u << 10)  /* room kept free before building one message */
#define NAT_NL_SET_CHUNK      512          /* set elements per NEWSETELEM message */
#define NAT_NL_RECV_TIMEOUT_S 10

struct nat_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	size_t sndbuf;
};

/* What each message of a batch was, to name the one the kernel refused. */
struct msgdesc {
	char what[120];
};

struct batch {
	char *buf;
	size_t len, cap;
	uint32_t first_seq, seq;
	struct msgdesc *desc;
	size_t ndesc, capdesc;
	int err;
};

int
nat_nl_open(struct nat_nl **out, struct pc_err *err)
{
	struct nat_nl *nl = calloc(1, sizeof(*nl));
	struct timeval tv = {.tv_sec = NAT_NL_RECV_TIMEOUT_S};
	int one = 1, rcv = 16 << 20;

	*out = NULL;
	if (nl == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "nat: out of memory");
	nl->sock = mnl_socket_open(NETLINK_NETFILTER);
	if (nl->sock == NULL) {
		int rc = -errno;

		free(nl);
		pc_err_set(err, PC_ERR_APPLY, "", "mnl_socket_open(NETLINK_NETFILTER): %s",
		           strerror(-rc));
		return rc;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = -errno;

		mnl_socket_close(nl->sock);
		free(nl);
		pc_err_set(err, PC_ERR_APPLY, "", "mnl_socket_bind(netfilter): %s", strerror(-rc));
		return rc;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	/* large ACK streams (one per message) must not overflow the receive queue */
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) <
	    0)
		setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	*out = nl;
	return 0;
}

void
nat_nl_close(struct nat_nl *nl)
{
	if (nl == NULL)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

/* ---- batch buffer ---- */

static int
batch_reserve(struct batch *b, size_t need)
{
	if (b->err != 0)
		return b->err;
	if (b->len + need <= b->cap)
		return 0;
	size_t ncap = b->cap == 0 ? (128u << 10) : b->cap; /* doubled as needed */

	while (ncap < b->len + need)
		ncap *= 2;
	if (ncap > NAT_NL_BATCH_MAX) {
		b->err = -E2BIG;
		return b->err;
	}
	char *p = realloc(b->buf, ncap);

	if (p == NULL) {
		b->err = -ENOMEM;
		return b->err;
	}
	/* libnftnl builds into zeroed memory */
	memset(p + b->cap, 0, ncap - b->cap);
	b->buf = p;
	b->cap = ncap;
	return 0;
}

static char *
batch_tail(struct batch *b)
{
	return b->buf + b->len;
}

static void
batch_commit(struct batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static int batch_desc(struct batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
batch_desc(struct batch *b, const char *fmt, ...)
{
	va_list ap;

	if (b->ndesc == b->capdesc) {
		size_t ncap = b->capdesc == 0 ? 256 : b->capdesc * 2;
		struct msgdesc *d = realloc(b->desc, ncap * sizeof(*d));

		if (d == NULL) {
			b->err = -ENOMEM;
			return b->err;
		}
		b->desc = d;
		b->capdesc = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(b->desc[b->ndesc].what, sizeof(b->desc[0].what), fmt, ap);
	va_end(ap);
	b->ndesc++;
	return 0;
}

static uint32_t
batch_next_seq(struct batch *b)
{
	return b->seq++;
}

static void
batch_begin(struct batch *b, uint32_t seq)
{
	b->first_seq = seq;
	b->seq = seq;
	if (batch_reserve(b, NAT_NL_MSG_RESERVE) < 0)
		return;
	batch_commit(b, nftnl_batch_begin(batch_tail(b), batch_next_seq(b)));
	batch_desc(b, "batch begin");
}

static void
batch_end(struct batch *b)
{
	if (batch_reserve(b, NAT_NL_MSG_RESERVE) < 0)
		return;
	batch_commit(b, nftnl_batch_end(batch_tail(b), batch_next_seq(b)));
	batch_desc(b, "batch end");
}

static void
batch_free(struct batch *b)
{
	free(b->buf);
	free(b->desc);
}

/* ---- sending a batch and reading every ACK ---- */

static int
send_and_ack(struct nat_nl *nl, struct batch *b, struct pc_err *err)
{
	char *rbuf;
	size_t rlen = 1u << 16;
	uint32_t expect, acked = 0;
	int first_err = 0;
	uint32_t first_err_seq = 0;
	ssize_t n;

	if (b->err != 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "nftables batch: building failed: %s",
		                  strerror(-b->err));
	if (b->len + 4096 > nl->sndbuf) {
		int want = (int)(b->len + (1u << 16));

		if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_SNDBUFFORCE, &want,
		               sizeof(want)) < 0) {
			int rc = -errno;

			pc_err_set(err, PC_ERR_APPLY, "", "setsockopt SO_SNDBUFFORCE %d: %s", want,
			           strerror(errno));
			return rc;
		}
		nl->sndbuf = b->len + (1u << 16);
	}
	/* every message between begin and end asks for an ACK */
	expect = (uint32_t)b->ndesc - 2;
	if (mnl_socket_sendto(nl->sock, b->buf, b->len) < 0) {
		int rc = -errno;

		pc_err_set(err, PC_ERR_APPLY, "", "nftables batch: sendto (%zu bytes): %s", b->len,
		           strerror(errno));
		return rc;
	}
	rbuf = malloc(rlen);
	if (rbuf == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "nftables batch: out of memory");
	while (acked < expect) {
		n = mnl_socket_recvfrom(nl->sock, rbuf, rlen);
		if (n < 0) {
			int rc = -errno;

			free(rbuf);
			pc_err_set(err, PC_ERR_APPLY, "",
			           "nftables batch: reading ACKs: %s (got %u of %u)",
			           strerror(errno), acked, expect);
			return rc;
		}
		int left = (int)n;

		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_pid != nl->portid)
				continue;
			if (h->nlmsg_type != NLMSG_ERROR) {
				continue;
			}
			if (h->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			acked++;
			if (e->error != 0 && first_err == 0) {
				first_err = e->error;
				first_err_seq = h->nlmsg_seq;
			}
		}
	}
	free(rbuf);
	if (first_err != 0) {
		uint32_t idx = first_err_seq - b->first_seq;
		const char *what = idx < b->ndesc ? b->desc[idx].what : "?";

		pc_err_set(err, PC_ERR_APPLY, "",
		           "nftables batch refused by the kernel at message %u (%s): %s; nothing "
		           "was changed",
		           idx, what, strerror(-first_err));
		return first_err;
	}
	return 0;
}

/* ---- expressions ---- */

static void
add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	nftnl_rule_add_expr(r, e);
}

static void
e_meta_load(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	add_expr(r, e);
}

static void
e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	add_expr(r, e);
}

static void
e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	add_expr(r, e);
}

static void
e_bitwise(struct nftnl_rule *r, const void *mask, const void * xor, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	add_expr(r, e);
}

static void
e_lookup(struct nftnl_rule *r, const char *set, bool inv)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	add_expr(r, e);
}

static void
e_imm(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	add_expr(r, e);
}

static void
e_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain != NULL)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	add_expr(r, e);
}

static void
e_ct_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	add_expr(r, e);
}

static void
match_expr(struct nftnl_rule *r, const struct np_match *mt)
{
	uint32_t v, mask, zero = 0;
	uint16_t p1, p2;
	uint8_t b;
	char name[IFNAMSIZ];
	size_t len;

	switch (mt->kind) {
	case NP_M_IIF:
	case NP_M_OIF:
		e_meta_load(r, mt->kind == NP_M_IIF ? NFT_META_IIFNAME : NFT_META_OIFNAME,
		            NFT_REG_1);
		len = strlen(mt->name);
		memset(name, 0, sizeof(name));
		if (len > 0 && mt->name[len - 1] == '*') {
			memcpy(name, mt->name, len - 1);
			e_cmp(r, NFT_CMP_EQ, name, (uint32_t)(len - 1)); /* prefix */
		} else {
			memcpy(name, mt->name, len < IFNAMSIZ ? len : IFNAMSIZ - 1);
			e_cmp(r, NFT_CMP_EQ, name, IFNAMSIZ);
		}
		return;
	case NP_M_MARK:
		e_meta_load(r, NFT_META_MARK, NFT_REG_1);
		mask = mt->v2;
		e_bitwise(r, &mask, &zero, 4);
		v = mt->v1;
		e_cmp(r, NFT_CMP_EQ, &v, 4);
		return;
	case NP_M_SADDR:
	case NP_M_DADDR:
		e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, mt->kind == NP_M_SADDR ? 12 : 16, 4);
		if (mt->set) {
			e_lookup(r, mt->name, mt->neg);
			return;
		}
		if (mt->v2 != UINT32_MAX) {
			mask = htonl(mt->v2);
			e_bitwise(r, &mask, &zero, 4);
		}
		v = htonl(mt->v1);
		e_cmp(r, mt->neg ? NFT_CMP_NEQ : NFT_CMP_EQ, &v, 4);
		return;
	case NP_M_L4PROTO:
		e_meta_load(r, NFT_META_L4PROTO, NFT_REG_1);
		if (mt->set) {
			e_lookup(r, mt->name, mt->neg);
			return;
		}
		b = (uint8_t)mt->v1;
		e_cmp(r, mt->neg ? NFT_CMP_NEQ : NFT_CMP_EQ, &b, 1);
		return;
	case NP_M_ICMP:
		e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
		if (mt->set) {
			e_lookup(r, mt->name, mt->neg);
			return;
		}
		b = (uint8_t)mt->v1;
		e_cmp(r, NFT_CMP_EQ, &b, 1);
		return;
	case NP_M_SPORT:
	case NP_M_DPORT:
		e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, mt->kind == NP_M_SPORT ? 0 : 2, 2);
		if (mt->set) {
			e_lookup(r, mt->name, mt->neg);
			return;
		}
		p1 = htons((uint16_t)mt->v1);
		p2 = htons((uint16_t)mt->v2);
		switch (mt->op) {
		case NM_PORT_RANGE: {
			struct nftnl_expr *e = nftnl_expr_alloc("range");

			nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
			nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &p1, 2);
			nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &p2, 2);
			add_expr(r, e);
			return;
		}
		case NM_PORT_NEQ:
			e_cmp(r, NFT_CMP_NEQ, &p1, 2);
			return;
		case NM_PORT_LT:
			e_cmp(r, NFT_CMP_LT, &p1, 2);
			return;
		case NM_PORT_GT:
			e_cmp(r, NFT_CMP_GT, &p1, 2);
			return;
		default:
			e_cmp(r, NFT_CMP_EQ, &p1, 2);
			return;
		}
	case NP_M_CTSTATE:
	case NP_M_CTSTATUS:
		e_ct_load(r, mt->kind == NP_M_CTSTATE ? NFT_CT_STATE : NFT_CT_STATUS);
		mask = mt->v1;
		e_bitwise(r, &mask, &zero, 4);
		e_cmp(r, mt->neg ? NFT_CMP_EQ : NFT_CMP_NEQ, &zero, 4);
		return;
	case NP_M_SECPATH:
		e_meta_load(r, NFT_META_SECPATH, NFT_REG_1);
		b = 1;
		e_cmp(r, NFT_CMP_EQ, &b, 1);
		return;
	}
}

static void
nat_expr(struct nftnl_rule *r, const struct np_rule *pr)
{
	struct nftnl_expr *e;
	uint32_t lo = htonl(pr->a1), hi = htonl(pr->a2);
	uint16_t port = htons(pr->port);

	if (pr->prefix) {
		hi = htonl(pr->a1 | ~pr->a2);
	}
	e_imm(r, NFT_REG_1, &lo, 4);
	e_imm(r, NFT_REG_2, &hi, 4);
	if (pr->port != 0)
		e_imm(r, NFT_REG_3, &port, 2);
	e = nftnl_expr_alloc("nat");
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE,
	                   pr->action == NP_A_DNAT ? NFT_NAT_DNAT : NFT_NAT_SNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
	if (pr->port != 0) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_3);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, NFT_REG_3);
	}
	if (pr->prefix)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_NETMAP);
	add_expr(r, e);
}

static void
action_expr(struct nftnl_rule *r, const struct np_rule *pr)
{
	struct nftnl_expr *e;
	uint32_t mask, xor;
	uint16_t port;

	switch (pr->action) {
	case NP_A_NONE:
		return;
	case NP_A_ACCEPT:
		e_verdict(r, NF_ACCEPT, NULL);
		return;
	case NP_A_DROP:
		e_verdict(r, NF_DROP, NULL);
		return;
	case NP_A_RETURN:
		e_verdict(r, NFT_RETURN, NULL);
		return;
	case NP_A_JUMP:
		e_verdict(r, NFT_JUMP, pr->target);
		return;
	case NP_A_DNAT:
	case NP_A_SNAT:
		nat_expr(r, pr);
		return;
	case NP_A_MASQ:
		add_expr(r, nftnl_expr_alloc("masq"));
		return;
	case NP_A_REDIRECT:
		port = htons(pr->port);
		e_imm(r, NFT_REG_1, &port, 2);
		e = nftnl_expr_alloc("redir");
		nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MAX, NFT_REG_1);
		add_expr(r, e);
		return;
	case NP_A_HELPER:
		e = nftnl_expr_alloc("objref");
		nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_CT_HELPER);
		nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, pr->target);
		add_expr(r, e);
		return;
	case NP_A_MARK:
		e_meta_load(r, NFT_META_MARK, NFT_REG_1);
		mask = ~pr->a2;
		xor = pr->a1;
		e_bitwise(r, &mask, &xor, 4);
		e = nftnl_expr_alloc("meta");
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
		add_expr(r, e);
		return;
	}
}

static int
build_rule(struct batch *b, const struct nat_plan *p, const struct np_rule *pr)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (r == NULL)
		return b->err = -ENOMEM;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, p->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, p->chains[pr->chain].name);
	for (int i = 0; i < pr->nm; i++)
		match_expr(r, &pr->m[i]);
	if (pr->counter)
		add_expr(r, nftnl_expr_alloc("counter"));
	action_expr(r, pr);
	if (pr->comment[0] != '\0') {
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		if (ud == NULL) {
			nftnl_rule_free(r);
			return b->err = -ENOMEM;
		}
		nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, pr->comment);
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
		                    nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	if (batch_reserve(b, NAT_NL_MSG_RESERVE) < 0) {
		nftnl_rule_free(r);
		return b->err;
	}
	nlh = nftnl_rule_nlmsg_build_hdr(batch_tail(b), NFT_MSG_NEWRULE, NFPROTO_IPV4,
	                                 NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
	                                 batch_next_seq(b));
	nftnl_rule_nlmsg_build_payload(nlh, r);
	batch_commit(b, nlh);
	nftnl_rule_free(r);
	return batch_desc(b, "rule in chain %s #%zu%s%s", p->chains[pr->chain].name,
	                  (size_t)(pr - p->rules), pr->comment[0] ? " " : "", pr->comment);
}

static void
build_table(struct batch *b, const char *table, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (t == NULL) {
		b->err = -ENOMEM;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	if (batch_reserve(b, NAT_NL_MSG_RESERVE) == 0) {
		nlh = nftnl_table_nlmsg_build_hdr(batch_tail(b), type, NFPROTO_IPV4,
		                                  flags | NLM_F_ACK, batch_next_seq(b));
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_commit(b, nlh);
		batch_desc(b, "%s table %s", type == NFT_MSG_DELTABLE ? "delete" : "add", table);
	}
	nftnl_table_free(t);
}

static void
build_helper(struct batch *b, const char *table, const char *name, const char *type, int l4proto)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;

	if (o == NULL) {
		b->err = -ENOMEM;
		return;
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_HELPER);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_IPV4);
	nftnl_obj_set_str(o, NFTNL_OBJ_CT_HELPER_NAME, type);
	nftnl_obj_set_u16(o, NFTNL_OBJ_CT_HELPER_L3PROTO, NFPROTO_IPV4);
	nftnl_obj_set_u8(o, NFTNL_OBJ_CT_HELPER_L4PROTO, (uint8_t)l4proto);
	if (batch_reserve(b, NAT_NL_MSG_RESERVE) == 0) {
		nlh = nftnl_nlmsg_build_hdr(batch_tail(b), NFT_MSG_NEWOBJ, NFPROTO_IPV4,
		                            NLM_F_CREATE | NLM_F_ACK, batch_next_seq(b));
		nftnl_obj_nlmsg_build_payload(nlh, o);
		batch_commit(b, nlh);
		batch_desc(b, "ct helper %s (type \"%s\")", name, type);
	}
	nftnl_obj_free(o);
}

static const uint32_t set_key_len[] = {4, 2, 1, 1};
/* nft's datatype numbers, so `nft list` prints the elements in their own notation */
static const uint32_t set_key_type[] = {7, 13, 12, 14};

static struct nftnl_set *
set_alloc(const char *table, const struct np_set *s, uint32_t id)
{
	struct nftnl_set *ns = nftnl_set_alloc();
	uint32_t flags = 0;

	if (ns == NULL)
		return NULL;
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, set_key_len[s->type]);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, set_key_type[s->type]);
	nftnl_set_set_u32(ns, NFTNL_SET_ID, id);
	if (s->interval)
		flags |= NFT_SET_INTERVAL;
	if (s->timeout)
		flags |= NFT_SET_TIMEOUT;
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, flags);
	return ns;
}

static void
key_bytes(enum np_set_type type, uint32_t v, void *out)
{
	uint32_t a;
	uint16_t p;
	uint8_t c;

	switch (type) {
	case NP_SET_IPV4:
		a = htonl(v);
		memcpy(out, &a, 4);
		return;
	case NP_SET_SERVICE:
		p = htons((uint16_t)v);
		memcpy(out, &p, 2);
		return;
	default:
		c = (uint8_t)v;
		memcpy(out, &c, 1);
		return;
	}
}

static uint32_t
key_max(enum np_set_type type)
{
	return type == NP_SET_IPV4 ? UINT32_MAX : type == NP_SET_SERVICE ? 0xffff : 0xff;
}

/* Sends the pending elements of *cs as one NEWSETELEM and starts a fresh chunk. */
static void
flush_elems(struct batch *b, struct nftnl_set **cs, const char *table, const struct np_set *s,
            size_t *pending)
{
	struct nlmsghdr *nlh;

	if (*pending == 0)
		return;
	if (batch_reserve(b, NAT_NL_MSG_RESERVE + *pending * 128) == 0) {
		nlh = nftnl_nlmsg_build_hdr(batch_tail(b), NFT_MSG_NEWSETELEM, NFPROTO_IPV4,
		                            NLM_F_CREATE | NLM_F_ACK, batch_next_seq(b));
		nftnl_set_elems_nlmsg_build_payload(nlh, *cs);
		batch_commit(b, nlh);
		batch_desc(b, "elements of set %s", s->name);
	}
	nftnl_set_free(*cs);
	*cs = set_alloc(table, s, 0);
	if (*cs == NULL)
		b->err = -ENOMEM;
	else
		nftnl_set_unset(*cs, NFTNL_SET_ID);
	*pending = 0;
}

static void
add_elem(struct nftnl_set *ns, const void *key, uint32_t klen, uint32_t flags, uint64_t timeout_ms)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (e == NULL)
		return;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, klen);
	if (flags != 0)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (timeout_ms != 0)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
	nftnl_set_elem_add(ns, e);
}

static void
build_set(struct batch *b, const char *table, const struct np_set *s, uint32_t id,
          const struct nat_uauth_elem *keep, size_t nkeep)
{
	struct nftnl_set *ns = set_alloc(table, s, id), *cs = set_alloc(table, s, 0);
	struct nlmsghdr *nlh;
	uint32_t klen = set_key_len[s->type];
	size_t pending = 0;
	uint8_t key[4];

	if (ns == NULL || cs == NULL) {
		nftnl_set_free(ns);
		nftnl_set_free(cs);
		b->err = -ENOMEM;
		return;
	}
	nftnl_set_unset(cs, NFTNL_SET_ID);
	if (batch_reserve(b, NAT_NL_MSG_RESERVE) == 0) {
		nlh = nftnl_set_nlmsg_build_hdr(batch_tail(b), NFT_MSG_NEWSET, NFPROTO_IPV4,
		                                NLM_F_CREATE | NLM_F_ACK, batch_next_seq(b));
		nftnl_set_nlmsg_build_payload(nlh, ns);
		batch_commit(b, nlh);
		batch_desc(b, "set %s", s->name);
	}
	nftnl_set_free(ns);
	for (size_t i = 0; i < s->nranges && b->err == 0; i++) {
		const struct nm_range *r = &s->ranges[i];

		key_bytes(s->type, r->lo, key);
		add_elem(cs, key, klen, 0, 0);
		pending++;
		if (s->interval && r->hi != key_max(s->type)) {
			key_bytes(s->type, r->hi + 1, key);
			add_elem(cs, key, klen, NFT_SET_ELEM_INTERVAL_END, 0);
			pending++;
		}
		if (pending >= NAT_NL_SET_CHUNK)
			flush_elems(b, &cs, table, s, &pending);
	}
	for (size_t i = 0; s->timeout && i < nkeep && b->err == 0; i++) {
		if (keep[i].expires_ms == 0)
			continue;
		key_bytes(NP_SET_IPV4, keep[i].addr, key);
		add_elem(cs, key, 4, 0, keep[i].expires_ms);
		pending++;
		if (pending >= NAT_NL_SET_CHUNK)
			flush_elems(b, &cs, table, s, &pending);
	}
	if (b->err == 0)
		flush_elems(b, &cs, table, s, &pending);
	nftnl_set_free(cs);
}

static void
build_chain(struct batch *b, const char *table, const struct np_chain *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (ch == NULL) {
		b->err = -ENOMEM;
		return;
	}
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	if (c->hook != NP_HOOK_NONE) {
		uint32_t hook = c->hook == NP_HOOK_PREROUTING ? NF_INET_PRE_ROUTING
		                : c->hook == NP_HOOK_FORWARD  ? NF_INET_FORWARD
		                                              : NF_INET_POST_ROUTING;

		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->priority);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, c->nat ? "nat" : "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, c->policy_drop ? NF_DROP : NF_ACCEPT);
	}
	if (batch_reserve(b, NAT_NL_MSG_RESERVE) == 0) {
		nlh = nftnl_chain_nlmsg_build_hdr(batch_tail(b), NFT_MSG_NEWCHAIN, NFPROTO_IPV4,
		                                  NLM_F_CREATE | NLM_F_ACK, batch_next_seq(b));
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		batch_commit(b, nlh);
		batch_desc(b, "chain %s", c->name);
	}
	nftnl_chain_free(ch);
}

int
nat_nl_replace(struct nat_nl *nl, const struct nat_plan *p, const struct nat_uauth_elem *keep,
               size_t nkeep, struct pc_err *err)
{
	struct batch b = {0};
	int rc;

	batch_begin(&b, nl->seq);
	/* add (no-op when present) + delete + add: the old table goes and the new one comes in
	 * the same transaction, so no packet ever sees neither */
	build_table(&b, p->table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	build_table(&b, p->table, NFT_MSG_DELTABLE, 0);
	build_table(&b, p->table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	for (size_t i = 0; i < p->nhelpers; i++)
		build_helper(&b, p->table, p->helpers[i].name, p->helpers[i].type,
		             p->helpers[i].l4proto);
	for (size_t i = 0; i < p->nsets; i++)
		build_set(&b, p->table, &p->sets[i], (uint32_t)i + 1, keep, nkeep);
	for (size_t i = 0; i < p->nchains; i++)
		build_chain(&b, p->table, &p->chains[i]);
	for (size_t i = 0; i < p->nrules && b.err == 0; i++)
		build_rule(&b, p, &p->rules[i]);
	batch_end(&b);
	nl->seq = b.seq;
	rc = send_and_ack(nl, &b, err);
	if (rc == 0)
		log_info(LOG_NAT,
		         "table ip %s replaced: %zu chains, %zu sets, %zu rules (%zu bytes "
		         "in one batch)",
		         p->table, p->nchains, p->nsets, p->nrules, b.len);
	batch_free(&b);
	return rc;
}

int
nat_nl_delete_table(struct nat_nl *nl, const char *table, struct pc_err *err)
{
	struct batch b = {0};
	int rc;

	batch_begin(&b, nl->seq);
	build_table(&b, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	build_table(&b, table, NFT_MSG_DELTABLE, 0);
	batch_end(&b);
	nl->seq = b.seq;
	rc = send_and_ack(nl, &b, err);
	batch_free(&b);
	return rc;
}

int
nat_nl_probe_helper(struct nat_nl *nl, const char *type, int l4proto, struct pc_err *err)
{
	struct batch b = {0};
	struct pc_err e = {0};
	char table[32];
	int rc;

	snprintf(table, sizeof(table), "pc_probe_%d", (int)getpid());
	batch_begin(&b, nl->seq);
	build_table(&b, table, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	build_helper(&b, table, "probe", type, l4proto);
	build_table(&b, table, NFT_MSG_DELTABLE, 0);
	batch_end(&b);
	nl->seq = b.seq;
	rc = send_and_ack(nl, &b, &e);
	batch_free(&b);
	if (rc == 0)
		return 1;
	if (rc == -ENOENT || rc == -EOPNOTSUPP)
		return 0;
	pc_err_set(err, e.kind, "", "probing conntrack helper %s: %s", type, e.msg);
	return rc;
}

/* ---- dumps ---- */

struct dump_ctx {
	int (*cb)(const struct nlmsghdr *nlh, void *arg);
	void *arg;
};

static int
dump(struct nat_nl *nl, char *req, struct pc_err *err, const char *what, mnl_cb_t cb, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)req;
	char *buf;
	size_t blen = MNL_SOCKET_BUFFER_SIZE * 4;
	uint32_t seq = nlh->nlmsg_seq;
	int rc = 0;
	ssize_t n;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		pc_err_set(err, PC_ERR_APPLY, "", "%s: sendto: %s", what, strerror(errno));
		return rc;
	}
	buf = malloc(blen);
	if (buf == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "%s: out of memory", what);
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, buf, blen);
		if (n < 0) {
			rc = -errno;
			pc_err_set(err, PC_ERR_APPLY, "", "%s: recv: %s", what, strerror(errno));
			break;
		}
		rc = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, arg);
		if (rc == MNL_CB_STOP) {
			rc = 0;
			break;
		}
		if (rc < 0) {
			rc = -errno;
			if (rc != -ENOENT)
				pc_err_set(err, PC_ERR_APPLY, "", "%s: %s", what, strerror(errno));
			else
				pc_err_set(err, PC_ERR_NOTFOUND, "", "%s: not found", what);
			break;
		}
	}
	free(buf);
	return rc;
}

struct counter_ctx {
	struct nat_acl_counter *v;
	size_t n, cap;
	int err;
	uint64_t pk, by;
	bool have;
};

static int
counter_expr_cb(struct nftnl_expr *e, void *data)
{
	struct counter_ctx *c = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (name != NULL && strcmp(name, "counter") == 0) {
		c->pk = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		c->by = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		c->have = true;
	}
	return 0;
}

static int
udata_comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **out = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
		const char *v = nftnl_udata_get(attr);
		uint32_t len = nftnl_udata_len(attr);

		if (len > 0 && v[len - 1] == '\0')
			*out = v;
	}
	return 0;
}

static int
rule_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct counter_ctx *c = arg;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *comment = NULL;
	const void *ud;
	uint32_t udlen;
	long long acl = 0, ace = 0;

	if (r == NULL)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud == NULL)
		goto out;
	nftnl_udata_parse(ud, udlen, udata_comment_cb, &comment);
	if (comment == NULL || strncmp(comment, "pc:acl=", 7) != 0)
		goto out;
	if (sscanf(comment, "pc:acl=%lld:ace=%lld", &acl, &ace) < 1)
		goto out;
	c->have = false;
	nftnl_expr_foreach(r, counter_expr_cb, c);
	if (!c->have)
		goto out;
	if (c->n == c->cap) {
		size_t ncap = c->cap == 0 ? 64 : c->cap * 2;
		struct nat_acl_counter *v = realloc(c->v, ncap * sizeof(*v));

		if (v == NULL) {
			c->err = -ENOMEM;
			goto out;
		}
		c->v = v;
		c->cap = ncap;
	}
	/* an entry referenced from several places (access-group and nat 0) sums up */
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].acl_id == acl && c->v[i].ace_id == ace) {
			c->v[i].packets += c->pk;
			c->v[i].bytes += c->by;
			goto out;
		}
	}
	c->v[c->n++] = (struct nat_acl_counter){acl, ace, c->pk, c->by};
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int
nat_nl_counters(struct nat_nl *nl, const char *table, struct nat_acl_counter **out, size_t *n,
                struct pc_err *err)
{
	char req[1024] = {0};
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct counter_ctx c = {0};
	struct nlmsghdr *nlh;
	int rc;

	*out = NULL;
	*n = 0;
	if (r == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "counters: out of memory");
	nlh = nftnl_rule_nlmsg_build_hdr(req, NFT_MSG_GETRULE, NFPROTO_IPV4, NLM_F_DUMP, nl->seq++);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	rc = dump(nl, req, err, "nftables rule dump", rule_cb, &c);
	if (rc == 0 && c.err != 0)
		rc = pc_err_set(err, PC_ERR_INTERNAL, "", "counters: out of memory");
	if (rc < 0) {
		free(c.v);
		return rc;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

int
nat_nl_uauth_batch(struct nat_nl *nl, const char *table, const struct nat_uauth_op *ops, size_t n,
                   struct pc_err *err)
{
	struct np_set s = {.type = NP_SET_IPV4, .timeout = true};
	struct batch b = {0};
	int rc;

	if (n == 0)
		return 0;
	snprintf(s.name, sizeof(s.name), "uauth");
	batch_begin(&b, nl->seq);
	for (size_t i = 0; i < n && b.err == 0; i++) {
		struct nftnl_set *ns = set_alloc(table, &s, 0);
		uint32_t key = htonl(ops[i].addr);
		struct nlmsghdr *nlh;

		if (ns == NULL) {
			b.err = -ENOMEM;
			break;
		}
		nftnl_set_unset(ns, NFTNL_SET_ID);
		add_elem(ns, &key, 4, 0, ops[i].add ? ops[i].timeout_ms : 0);
		if (batch_reserve(&b, NAT_NL_MSG_RESERVE) == 0) {
			nlh = nftnl_nlmsg_build_hdr(
			        batch_tail(&b),
			        ops[i].add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, NFPROTO_IPV4,
			        (ops[i].add ? NLM_F_CREATE : 0) | NLM_F_ACK, batch_next_seq(&b));
			nftnl_set_elems_nlmsg_build_payload(nlh, ns);
			batch_commit(&b, nlh);
			batch_desc(&b, "%s uauth element %u.%u.%u.%u",
			           ops[i].add ? "add" : "delete", ops[i].addr >> 24,
			           (ops[i].addr >> 16) & 255, (ops[i].addr >> 8) & 255,
			           ops[i].addr & 255);
		}
		nftnl_set_free(ns);
	}
	batch_end(&b);
	nl->seq = b.seq;
	rc = send_and_ack(nl, &b, err);
	batch_free(&b);
	return rc;
}

int
nat_nl_uauth(struct nat_nl *nl, const char *table, bool add, uint32_t addr, uint64_t timeout_ms,
             struct pc_err *err)
{
	struct nat_uauth_op op = {.addr = addr, .timeout_ms = timeout_ms, .add = add};

	return nat_nl_uauth_batch(nl, table, &op, 1, err);
}

struct elem_ctx {
	struct nat_uauth_elem *v;
	size_t n, cap;
	int err;
};

static int
elem_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct elem_ctx *c = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (s == NULL)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	it = nftnl_set_elems_iter_create(s);
	while (it != NULL && (e = nftnl_set_elems_iter_next(it)) != NULL) {
		uint32_t klen = 0, key;
		const void *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);

		if (k == NULL || klen != 4)
			continue;
		if (c->n == c->cap) {
			size_t ncap = c->cap == 0 ? 16 : c->cap * 2;
			struct nat_uauth_elem *v = realloc(c->v, ncap * sizeof(*v));

			if (v == NULL) {
				c->err = -ENOMEM;
				break;
			}
			c->v = v;
			c->cap = ncap;
		}
		memcpy(&key, k, 4);
		c->v[c->n].addr = ntohl(key);
		c->v[c->n].timeout_ms = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)
		                                ? nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT)
		                                : 0;
		c->v[c->n].expires_ms =
		        nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION)
		                ? nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION)
		                : 0;
		c->n++;
	}
	if (it != NULL)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int
elem_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct nat_uauth_elem *)a)->addr;
	uint32_t y = ((const struct nat_uauth_elem *)b)->addr;

	return x < y ? -1 : x > y;
}

static int
uauth_dump_once(struct nat_nl *nl, const char *table, struct elem_ctx *c, struct pc_err *err)
{
	char req[1024] = {0};
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int rc;

	memset(c, 0, sizeof(*c));
	if (s == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "uauth: out of memory");
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, "uauth");
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSETELEM, NFPROTO_IPV4, NLM_F_DUMP, nl->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	rc = dump(nl, req, err, "uauth set dump", elem_cb, c);
	if (rc == 0 && c->err != 0)
		rc = pc_err_set(err, PC_ERR_INTERNAL, "", "uauth: out of memory");
	if (rc < 0) {
		free(c->v);
		c->v = NULL;
		return rc;
	}
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), elem_cmp);
	return 0;
}

static bool
has_duplicates(const struct elem_ctx *c)
{
	for (size_t i = 1; i < c->n; i++)
		if (c->v[i].addr == c->v[i - 1].addr)
			return true;
	return false;
}

static bool
same_addrs(const struct elem_ctx *a, const struct elem_ctx *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].addr != b->v[i].addr)
			return false;
	return true;
}

/* A set of more elements than one netlink message holds is dumped in rounds that resume by
 * position; when the kernel resizes the set's hash table between rounds (it does so in the
 * background after many deletions) a dump repeats some elements and misses others. So: dumps
 * until two in a row agree and have no repeats (at most 6), sorted by address. */
int
nat_nl_uauth_list(struct nat_nl *nl, const char *table, struct nat_uauth_elem **out, size_t *n,
                  struct pc_err *err)
{
	struct elem_ctx prev = {0}, cur;
	bool have_prev = false;
	int rc;

	*out = NULL;
	*n = 0;
	for (int attempt = 0; attempt < 6; attempt++) {
		rc = uauth_dump_once(nl, table, &cur, err);
		if (rc < 0) {
			free(prev.v);
			return rc;
		}
		if (cur.n < 64 && !has_duplicates(&cur))
			break; /* one message (at least ~3.5 KiB) holds them: consistent */
		if (have_prev && !has_duplicates(&cur) && same_addrs(&prev, &cur))
			break;
		free(prev.v);
		prev = cur;
		have_prev = true;
		cur.v = NULL;
	}
	if (cur.v == NULL) {
		/* never stable: the last dump, without its repeats */
		size_t k = 0;

		cur = prev;
		prev.v = NULL;
		for (size_t i = 0; i < cur.n; i++)
			if (k == 0 || cur.v[i].addr != cur.v[k - 1].addr)
				cur.v[k++] = cur.v[i];
		cur.n = k;
		log_warn(LOG_NAT,
		         "uauth set dump: no two consecutive dumps agreed; using the last");
	}
	free(prev.v);
	*out = cur.v;
	*n = cur.n;
	return 0;
}
