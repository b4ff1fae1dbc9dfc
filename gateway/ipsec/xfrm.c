/* The kernel SA backend: ESP tunnel-mode states and in/out/fwd policies over XFRM netlink. */
#include "gateway/ipsec/xfrm.h"
#include "gateway/core/log.h"
#include "gateway/ipsec/tun_rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <openssl/crypto.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

#define XFRM_MAX_SAS 65536 /* SA pairs one backend holds */

struct xsa {
	uint64_t handle;
	uint32_t reqid;
	uint64_t added_ms;
	struct ipsec_sa_params p;
	/* the kernel's counters as last read (GETSA or an expire message): what sa_stats answers
	 * once the kernel has dropped a state, so accounting keeps the final numbers */
	struct ipsec_sa_stats last;
	/* remote_ts[i] routed by this pair (see add_routes); ownership moves to a pair with the
	 * same selector when this one goes first (rekey overlap) */
	bool routed[IPSEC_MAX_SELECTORS];
	unsigned route_ifindex;
	bool used;
};

struct xfrm_be {
	struct ipsec_backend base; /* first: the ops receive a pointer to it */
	struct mnl_socket *nl;     /* requests */
	struct mnl_socket *ev;     /* expire and acquire notifications */
	struct mnl_socket *rt;     /* rtnetlink: routes to the clients' inner addresses */
	uint32_t portid;
	uint32_t seq;
	struct xsa *sas;
	size_t n_sas, cap_sas;
	uint64_t next_handle;
};

/* ---- algorithm names ---- */

const char *
xfrm_enc_name(enum ipsec_enc enc)
{
	switch (enc) {
	case IPSEC_ENC_NULL:
		return "ecb(cipher_null)";
	case IPSEC_ENC_DES:
		return "cbc(des)";
	case IPSEC_ENC_3DES:
		return "cbc(des3_ede)";
	case IPSEC_ENC_AES_CBC:
		return "cbc(aes)";
	}
	return NULL;
}

const char *
xfrm_auth_name(enum ipsec_auth auth, unsigned *trunc_bits)
{
	switch (auth) {
	case IPSEC_AUTH_NONE:
		*trunc_bits = 0;
		return "digest_null";
	case IPSEC_AUTH_HMAC_MD5_96:
		*trunc_bits = 96;
		return "hmac(md5)";
	case IPSEC_AUTH_HMAC_SHA1_96:
		*trunc_bits = 96;
		return "hmac(sha1)";
	case IPSEC_AUTH_HMAC_SHA256_128:
		*trunc_bits = 128;
		return "hmac(sha256)";
	}
	*trunc_bits = 0;
	return NULL;
}

/* ---- builders ---- */

static struct nlmsghdr *
msg_start(void *buf, size_t size, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, size < XFRM_MSG_BUF ? size : XFRM_MSG_BUF);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

static void
set_lifetimes(struct xfrm_lifetime_cfg *lft, uint64_t soft_b, uint64_t hard_b, uint64_t soft_s,
              uint64_t hard_s)
{
	lft->soft_byte_limit = soft_b ? soft_b : XFRM_INF;
	lft->hard_byte_limit = hard_b ? hard_b : XFRM_INF;
	lft->soft_packet_limit = XFRM_INF;
	lft->hard_packet_limit = XFRM_INF;
	lft->soft_add_expires_seconds = soft_s;
	lft->hard_add_expires_seconds = hard_s;
}

int
xfrm_build_newsa(void *buf, size_t size, uint32_t seq, const struct ipsec_sa_params *p,
                 enum xfrm_pc_dir dir, uint32_t reqid)
{
	const struct ipsec_keys *k = dir == XFRM_PC_IN ? &p->in : &p->out;
	const struct sockaddr_in *src = dir == XFRM_PC_IN ? &p->peer : &p->local;
	const struct sockaddr_in *dst = dir == XFRM_PC_IN ? &p->local : &p->peer;
	const char *enc = xfrm_enc_name(p->enc);
	unsigned trunc;
	const char *auth = xfrm_auth_name(p->auth, &trunc);
	struct nlmsghdr *nlh;
	struct xfrm_usersa_info *sa;
	/* the algorithm structs end in a flexible key array: build each in an aligned buffer */
	union {
		struct xfrm_algo a;
		uint8_t bytes[sizeof(struct xfrm_algo) + IPSEC_MAX_ENC_KEY];
	} ealg;
	union {
		struct xfrm_algo_auth a;
		uint8_t bytes[sizeof(struct xfrm_algo_auth) + IPSEC_MAX_AUTH_KEY];
	} aalg;

	if (size < XFRM_MSG_BUF)
		return -ENOSPC;
	if (enc == NULL || auth == NULL || k->enc_key_len > IPSEC_MAX_ENC_KEY ||
	    k->auth_key_len > IPSEC_MAX_AUTH_KEY)
		return -EINVAL;
	nlh = msg_start(buf, size, XFRM_MSG_NEWSA, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	sa = mnl_nlmsg_put_extra_header(nlh, sizeof(*sa));
	sa->id.daddr.a4 = dst->sin_addr.s_addr;
	sa->id.spi = htonl(k->spi);
	sa->id.proto = IPPROTO_ESP;
	sa->saddr.a4 = src->sin_addr.s_addr;
	sa->family = AF_INET;
	sa->mode = XFRM_MODE_TUNNEL;
	sa->reqid = reqid;
	sa->replay_window = (uint8_t)(p->replay_window > 32 ? 32 : p->replay_window);
	set_lifetimes(&sa->lft, p->soft_lifetime_bytes, p->hard_lifetime_bytes, p->soft_lifetime_s,
	              p->hard_lifetime_s);

	memset(&ealg, 0, sizeof(ealg));
	snprintf(ealg.a.alg_name, sizeof(ealg.a.alg_name), "%s", enc);
	ealg.a.alg_key_len = (unsigned)(k->enc_key_len * 8);
	memcpy(ealg.a.alg_key, k->enc_key, k->enc_key_len);
	if (!mnl_attr_put_check(nlh, size, XFRMA_ALG_CRYPT, sizeof(ealg.a) + k->enc_key_len, &ealg))
		return -ENOSPC;
	memset(&aalg, 0, sizeof(aalg));
	snprintf(aalg.a.alg_name, sizeof(aalg.a.alg_name), "%s", auth);
	aalg.a.alg_key_len = (unsigned)(k->auth_key_len * 8);
	aalg.a.alg_trunc_len = trunc;
	memcpy(aalg.a.alg_key, k->auth_key, k->auth_key_len);
	if (!mnl_attr_put_check(nlh, size, XFRMA_ALG_AUTH_TRUNC, sizeof(aalg.a) + k->auth_key_len,
	                        &aalg))
		return -ENOSPC;
	OPENSSL_cleanse(&ealg, sizeof(ealg));
	OPENSSL_cleanse(&aalg, sizeof(aalg));
	if (p->udp_encap) {
		struct xfrm_encap_tmpl encap = {
		        .encap_type = UDP_ENCAP_ESPINUDP,
		        .encap_sport = src->sin_port,
		        .encap_dport = dst->sin_port,
		};

		if (!mnl_attr_put_check(nlh, size, XFRMA_ENCAP, sizeof(encap), &encap))
			return -ENOSPC;
	}
	return (int)nlh->nlmsg_len;
}

static int
build_said(void *buf, size_t size, uint16_t type, uint32_t seq, uint32_t dst, uint32_t spi,
           uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct xfrm_usersa_id *id;

	if (size < XFRM_MSG_BUF)
		return -ENOSPC;
	nlh = msg_start(buf, size, type, flags, seq);
	id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
	id->daddr.a4 = htonl(dst);
	id->spi = htonl(spi);
	id->family = AF_INET;
	id->proto = IPPROTO_ESP;
	return (int)nlh->nlmsg_len;
}

int
xfrm_build_delsa(void *buf, size_t size, uint32_t seq, uint32_t dst, uint32_t spi)
{
	return build_said(buf, size, XFRM_MSG_DELSA, seq, dst, spi, NLM_F_ACK);
}

int
xfrm_build_getsa(void *buf, size_t size, uint32_t seq, uint32_t dst, uint32_t spi)
{
	return build_said(buf, size, XFRM_MSG_GETSA, seq, dst, spi, 0);
}

static void
set_selector(struct xfrm_selector *sel, const struct ipsec_prefix *src,
             const struct ipsec_prefix *dst)
{
	memset(sel, 0, sizeof(*sel));
	sel->family = AF_INET;
	sel->saddr.a4 = htonl(src->addr);
	sel->prefixlen_s = src->plen;
	sel->daddr.a4 = htonl(dst->addr);
	sel->prefixlen_d = dst->plen;
}

int
xfrm_build_newpolicy(void *buf, size_t size, uint32_t seq, const struct ipsec_sa_params *p,
                     uint8_t policy_dir, int li, int ri, uint32_t reqid)
{
	struct nlmsghdr *nlh;
	struct xfrm_userpolicy_info *pol;
	struct xfrm_user_tmpl tmpl;
	bool out = policy_dir == XFRM_POLICY_OUT;
	const struct sockaddr_in *tsrc = out ? &p->local : &p->peer;
	const struct sockaddr_in *tdst = out ? &p->peer : &p->local;

	if (size < XFRM_MSG_BUF)
		return -ENOSPC;
	if (li < 0 || li >= p->n_local_ts || ri < 0 || ri >= p->n_remote_ts)
		return -EINVAL;
	nlh = msg_start(buf, size, XFRM_MSG_NEWPOLICY, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	pol = mnl_nlmsg_put_extra_header(nlh, sizeof(*pol));
	if (out)
		set_selector(&pol->sel, &p->local_ts[li], &p->remote_ts[ri]);
	else
		set_selector(&pol->sel, &p->remote_ts[ri], &p->local_ts[li]);
	set_lifetimes(&pol->lft, 0, 0, 0, 0);
	pol->priority = XFRM_PC_PRIORITY;
	pol->dir = policy_dir;
	pol->action = XFRM_POLICY_ALLOW;
	pol->share = XFRM_SHARE_ANY;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.id.daddr.a4 = tdst->sin_addr.s_addr;
	tmpl.id.proto = IPPROTO_ESP;
	tmpl.family = AF_INET;
	tmpl.saddr.a4 = tsrc->sin_addr.s_addr;
	tmpl.reqid = reqid;
	tmpl.mode = XFRM_MODE_TUNNEL;
	tmpl.aalgos = ~0u;
	tmpl.ealgos = ~0u;
	tmpl.calgos = ~0u;
	if (!mnl_attr_put_check(nlh, size, XFRMA_TMPL, sizeof(tmpl), &tmpl))
		return -ENOSPC;
	return (int)nlh->nlmsg_len;
}

int
xfrm_build_delpolicy(void *buf, size_t size, uint32_t seq, uint8_t policy_dir,
                     const struct ipsec_prefix *src, const struct ipsec_prefix *dst)
{
	struct nlmsghdr *nlh;
	struct xfrm_userpolicy_id *id;

	if (size < XFRM_MSG_BUF)
		return -ENOSPC;
	nlh = msg_start(buf, size, XFRM_MSG_DELPOLICY, NLM_F_ACK, seq);
	id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
	set_selector(&id->sel, src, dst);
	id->dir = policy_dir;
	return (int)nlh->nlmsg_len;
}

int
xfrm_build_allocspi(void *buf, size_t size, uint32_t seq, uint32_t src, uint32_t dst,
                    uint32_t reqid)
{
	struct nlmsghdr *nlh;
	struct xfrm_userspi_info *spi;

	if (size < XFRM_MSG_BUF)
		return -ENOSPC;
	nlh = msg_start(buf, size, XFRM_MSG_ALLOCSPI, 0, seq);
	spi = mnl_nlmsg_put_extra_header(nlh, sizeof(*spi));
	spi->info.id.daddr.a4 = htonl(dst);
	spi->info.id.proto = IPPROTO_ESP;
	spi->info.saddr.a4 = htonl(src);
	spi->info.family = AF_INET;
	spi->info.mode = XFRM_MODE_TUNNEL;
	spi->info.reqid = reqid;
	spi->min = 0x100;
	spi->max = 0xffffffffu;
	return (int)nlh->nlmsg_len;
}

/* ---- parsers ---- */

struct attr_tab {
	const struct nlattr *tb[XFRMA_MAX + 1];
	char *why;
	size_t whylen;
	int bad;
};

static int
attr_cb(const struct nlattr *attr, void *data)
{
	struct attr_tab *t = data;
	uint16_t type = mnl_attr_get_type(attr);
	size_t need = 0;

	if (type > XFRMA_MAX)
		return MNL_CB_OK; /* newer kernels' attributes: ignored */
	switch (type) {
	case XFRMA_ALG_CRYPT:
		need = sizeof(struct xfrm_algo);
		break;
	case XFRMA_ALG_AUTH_TRUNC:
		need = sizeof(struct xfrm_algo_auth);
		break;
	case XFRMA_ENCAP:
		need = sizeof(struct xfrm_encap_tmpl);
		break;
	case XFRMA_TMPL:
		need = sizeof(struct xfrm_user_tmpl);
		break;
	case XFRMA_LTIME_VAL:
		need = sizeof(struct xfrm_lifetime_cur);
		break;
	default:
		break;
	}
	if (mnl_attr_get_payload_len(attr) < need) {
		snprintf(t->why, t->whylen, "attribute %u too short (got %u, need %zu)", type,
		         (unsigned)mnl_attr_get_payload_len(attr), need);
		t->bad = 1;
		return MNL_CB_ERROR;
	}
	t->tb[type] = attr;
	return MNL_CB_OK;
}

static int
parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, struct attr_tab *t)
{
	if (mnl_attr_parse(nlh, (unsigned)hdrlen, attr_cb, t) < 0 || t->bad) {
		if (!t->bad)
			snprintf(t->why, t->whylen, "malformed attribute list");
		return -EBADMSG;
	}
	return 0;
}

/* Length, payload size and type (one of new_type / upd_type, named `what` in the error). */
static int
check_header(const void *buf, size_t len, size_t extra, uint16_t new_type, uint16_t upd_type,
             const char *what, const struct nlmsghdr **out, char *why, size_t whylen)
{
	const struct nlmsghdr *nlh = buf;

	if (len < sizeof(*nlh) || !mnl_nlmsg_ok(nlh, (int)len)) {
		snprintf(why, whylen, "netlink message truncated (got %zu bytes)", len);
		return -EBADMSG;
	}
	if (mnl_nlmsg_get_payload_len(nlh) < extra) {
		snprintf(why, whylen, "netlink payload too short (got %zu, need %zu)",
		         mnl_nlmsg_get_payload_len(nlh), extra);
		return -EBADMSG;
	}
	if (nlh->nlmsg_type != new_type && nlh->nlmsg_type != upd_type) {
		snprintf(why, whylen, "expected %s, got message type %u", what, nlh->nlmsg_type);
		return -EBADMSG;
	}
	*out = nlh;
	return 0;
}

int
xfrm_parse_sa(const void *buf, size_t len, struct xfrm_sa_view *v, char *why, size_t whylen)
{
	const struct nlmsghdr *nlh;
	const struct xfrm_usersa_info *sa;
	struct attr_tab t = {.why = why, .whylen = whylen};
	int rc;

	memset(v, 0, sizeof(*v));
	rc = check_header(buf, len, sizeof(*sa), XFRM_MSG_NEWSA, XFRM_MSG_UPDSA, "NEWSA", &nlh, why,
	                  whylen);
	if (rc < 0)
		return rc;
	sa = mnl_nlmsg_get_payload(nlh);
	v->spi = ntohl(sa->id.spi);
	v->dst = ntohl(sa->id.daddr.a4);
	v->src = ntohl(sa->saddr.a4);
	v->reqid = sa->reqid;
	v->mode = sa->mode;
	v->replay_window = sa->replay_window;
	v->soft_bytes = sa->lft.soft_byte_limit;
	v->hard_bytes = sa->lft.hard_byte_limit;
	v->soft_add_s = sa->lft.soft_add_expires_seconds;
	v->hard_add_s = sa->lft.hard_add_expires_seconds;
	v->cur_bytes = sa->curlft.bytes;
	v->cur_packets = sa->curlft.packets;
	rc = parse_attrs(nlh, sizeof(*sa), &t);
	if (rc < 0)
		return rc;
	if (t.tb[XFRMA_ALG_CRYPT] != NULL) {
		const struct xfrm_algo *a = mnl_attr_get_payload(t.tb[XFRMA_ALG_CRYPT]);

		if (mnl_attr_get_payload_len(t.tb[XFRMA_ALG_CRYPT]) <
		    sizeof(*a) + (a->alg_key_len + 7) / 8) {
			snprintf(why, whylen, "XFRMA_ALG_CRYPT key longer than the attribute");
			return -EBADMSG;
		}
		snprintf(v->enc_name, sizeof(v->enc_name), "%.*s", (int)sizeof(a->alg_name),
		         a->alg_name);
		v->enc_key_bits = a->alg_key_len;
	}
	if (t.tb[XFRMA_ALG_AUTH_TRUNC] != NULL) {
		const struct xfrm_algo_auth *a = mnl_attr_get_payload(t.tb[XFRMA_ALG_AUTH_TRUNC]);

		if (mnl_attr_get_payload_len(t.tb[XFRMA_ALG_AUTH_TRUNC]) <
		    sizeof(*a) + (a->alg_key_len + 7) / 8) {
			snprintf(why, whylen, "XFRMA_ALG_AUTH_TRUNC key longer than the attribute");
			return -EBADMSG;
		}
		snprintf(v->auth_name, sizeof(v->auth_name), "%.*s", (int)sizeof(a->alg_name),
		         a->alg_name);
		v->auth_key_bits = a->alg_key_len;
		v->auth_trunc_bits = a->alg_trunc_len;
	}
	if (t.tb[XFRMA_ENCAP] != NULL) {
		const struct xfrm_encap_tmpl *e = mnl_attr_get_payload(t.tb[XFRMA_ENCAP]);

		v->has_encap = true;
		v->encap_type = e->encap_type;
		v->encap_sport = ntohs(e->encap_sport);
		v->encap_dport = ntohs(e->encap_dport);
	}
	if (t.tb[XFRMA_LTIME_VAL] != NULL) {
		const struct xfrm_lifetime_cur *c = mnl_attr_get_payload(t.tb[XFRMA_LTIME_VAL]);

		v->cur_bytes = c->bytes;
		v->cur_packets = c->packets;
	}
	return 0;
}

int
xfrm_parse_policy(const void *buf, size_t len, struct xfrm_policy_view *v, char *why, size_t whylen)
{
	const struct nlmsghdr *nlh;
	const struct xfrm_userpolicy_info *pol;
	struct attr_tab t = {.why = why, .whylen = whylen};
	int rc;

	memset(v, 0, sizeof(*v));
	rc = check_header(buf, len, sizeof(*pol), XFRM_MSG_NEWPOLICY, XFRM_MSG_UPDPOLICY,
	                  "NEWPOLICY", &nlh, why, whylen);
	if (rc < 0)
		return rc;
	pol = mnl_nlmsg_get_payload(nlh);
	v->dir = pol->dir;
	v->sel_src = ntohl(pol->sel.saddr.a4);
	v->sel_dst = ntohl(pol->sel.daddr.a4);
	v->sel_src_plen = pol->sel.prefixlen_s;
	v->sel_dst_plen = pol->sel.prefixlen_d;
	v->priority = pol->priority;
	rc = parse_attrs(nlh, sizeof(*pol), &t);
	if (rc < 0)
		return rc;
	if (t.tb[XFRMA_TMPL] != NULL) {
		const struct xfrm_user_tmpl *tm = mnl_attr_get_payload(t.tb[XFRMA_TMPL]);

		v->n_tmpl = (int)(mnl_attr_get_payload_len(t.tb[XFRMA_TMPL]) / sizeof(*tm));
		v->tmpl_src = ntohl(tm->saddr.a4);
		v->tmpl_dst = ntohl(tm->id.daddr.a4);
		v->tmpl_reqid = tm->reqid;
		v->tmpl_mode = tm->mode;
	}
	return 0;
}

/* ---- talking to the kernel ---- */

struct reply {
	int (*on_msg)(const struct nlmsghdr *nlh, void *arg);
	void *arg;
};

static int
reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct reply *r = data;

	if (r->on_msg != NULL)
		return r->on_msg(nlh, r->arg);
	return MNL_CB_OK;
}

/* Sends one request and reads every reply up to the ACK / DONE. Returns 0 or the kernel's -errno. */
static int
talk(struct mnl_socket *nl, uint32_t portid, void *buf, size_t len,
     int (*on_msg)(const struct nlmsghdr *, void *), void *arg)
{
	const struct nlmsghdr *req = buf;
	uint32_t seq = req->nlmsg_seq;
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	struct reply r = {on_msg, arg};
	int rc;

	if (mnl_socket_sendto(nl, buf, len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));

		if (n < 0)
			return -errno;
		rc = mnl_cb_run(rbuf, (size_t)n, seq, portid, reply_cb, &r);
		if (rc == MNL_CB_ERROR)
			return errno != 0 ? -errno : -EIO;
		if (rc == MNL_CB_STOP)
			return 0;
		/* a GET without NLM_F_ACK answers with one message and no ACK */
		if (!(req->nlmsg_flags & (NLM_F_ACK | NLM_F_DUMP)))
			return 0;
	}
}

static int
open_nl(struct mnl_socket **out, uint32_t groups, uint32_t *portid)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC);

	*out = NULL;
	if (nl == NULL)
		return -errno;
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		int rc = -errno;

		mnl_socket_close(nl);
		return rc;
	}
	if (portid != NULL)
		*portid = mnl_socket_get_portid(nl);
	*out = nl;
	return 0;
}

int
ipsec_xfrm_probe(char *why, size_t whylen)
{
	struct ipsec_sa_params p = {.enc = IPSEC_ENC_AES_CBC, .auth = IPSEC_AUTH_HMAC_SHA1_96};
	struct mnl_socket *nl;
	char *buf;
	uint32_t portid = 0, spi;
	int rc, len;

	rc = open_nl(&nl, 0, &portid);
	if (rc < 0) {
		snprintf(why, whylen,
		         "cannot open an XFRM netlink socket (%s): the kernel lacks xfrm_user",
		         strerror(-rc));
		return rc;
	}
	buf = calloc(1, XFRM_MSG_BUF);
	if (buf == NULL) {
		mnl_socket_close(nl);
		return -ENOMEM;
	}
	if (getrandom(&spi, sizeof(spi), 0) != (ssize_t)sizeof(spi))
		spi = 0x50430001u;
	spi |= 0x100;
	p.in.spi = spi;
	p.in.enc_key_len = 16;
	p.in.auth_key_len = 20;
	p.local.sin_family = AF_INET;
	p.local.sin_addr.s_addr = htonl(0x7f000002); /* 127.0.0.2 <- 127.0.0.3: nobody's */
	p.peer.sin_family = AF_INET;
	p.peer.sin_addr.s_addr = htonl(0x7f000003);
	len = xfrm_build_newsa(buf, XFRM_MSG_BUF, 1, &p, XFRM_PC_IN, XFRM_PC_REQID_BASE);
	rc = len < 0 ? len : talk(nl, portid, buf, (size_t)len, NULL, NULL);
	if (rc < 0) {
		snprintf(why, whylen,
		         "the kernel refused an ESP state (XFRM_MSG_NEWSA: %s): it has no ESP "
		         "support (esp4 module, CONFIG_INET_ESP) or lacks cbc(aes)/hmac(sha1)",
		         strerror(-rc));
		goto out;
	}
	len = xfrm_build_delsa(buf, XFRM_MSG_BUF, 2, 0x7f000002, spi);
	talk(nl, portid, buf, (size_t)len, NULL, NULL);
	snprintf(why, whylen, "the kernel accepts ESP states (XFRM)");
out:
	free(buf);
	mnl_socket_close(nl);
	return rc;
}

int
ipsec_xfrm_setup_natt_socket(int fd)
{
	int type = UDP_ENCAP_ESPINUDP;

	if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)) < 0) {
		int rc = -errno;

		log_error(LOG_IPSEC, "setsockopt UDP_ENCAP ESPINUDP: %s", strerror(errno));
		return rc;
	}
	return 0;
}

/* ---- the backend ---- */

static struct xfrm_be *
be_of(struct ipsec_backend *be)
{
	return (struct xfrm_be *)be;
}

static struct xsa *
find_sa(struct xfrm_be *x, uint64_t handle)
{
	for (size_t i = 0; i < x->n_sas; i++)
		if (x->sas[i].used && x->sas[i].handle == handle)
			return &x->sas[i];
	return NULL;
}

static int
request(struct xfrm_be *x, void *buf, int len, const char *what)
{
	int rc;

	if (len < 0) {
		log_error(LOG_IPSEC, "xfrm: cannot build %s: %s", what, strerror(-len));
		return len;
	}
	rc = talk(x->nl, x->portid, buf, (size_t)len, NULL, NULL);
	if (rc < 0)
		log_error(LOG_IPSEC, "xfrm: %s: %s", what, strerror(-rc));
	return rc;
}

/* A delete: a state or policy the kernel already dropped (hard expiry) is not an error. */
static int
request_del(struct xfrm_be *x, void *buf, int len, const char *what)
{
	int rc;

	if (len < 0)
		return request(x, buf, len, what);
	rc = talk(x->nl, x->portid, buf, (size_t)len, NULL, NULL);
	if (rc == -ENOENT || rc == -ESRCH) {
		log_debug(LOG_IPSEC, "xfrm: %s: already gone", what);
		return 0;
	}
	if (rc < 0)
		log_error(LOG_IPSEC, "xfrm: %s: %s", what, strerror(-rc));
	return rc;
}

static const uint8_t policy_dirs[3] = {XFRM_POLICY_OUT, XFRM_POLICY_IN, XFRM_POLICY_FWD};

/* Removes the states and the first n_pol policies of s (undo of a partial add, and teardown). */
static void
remove_sa(struct xfrm_be *x, const struct xsa *s, int states, int n_pol)
{
	char *buf = calloc(1, XFRM_MSG_BUF);
	int k = 0;

	if (buf == NULL)
		return;
	for (int li = 0; li < s->p.n_local_ts; li++)
		for (int ri = 0; ri < s->p.n_remote_ts; ri++)
			for (int d = 0; d < 3; d++, k++) {
				bool out = policy_dirs[d] == XFRM_POLICY_OUT;

				if (k >= n_pol)
					goto states;
				request_del(x, buf,
				            xfrm_build_delpolicy(
				                    buf, XFRM_MSG_BUF, ++x->seq, policy_dirs[d],
				                    out ? &s->p.local_ts[li] : &s->p.remote_ts[ri],
				                    out ? &s->p.remote_ts[ri] : &s->p.local_ts[li]),
				            "DELPOLICY");
			}
states:
	if (states >= 1)
		request_del(x, buf,
		            xfrm_build_delsa(buf, XFRM_MSG_BUF, ++x->seq,
		                             ntohl(s->p.local.sin_addr.s_addr), s->p.in.spi),
		            "DELSA in");
	if (states >= 2)
		request_del(x, buf,
		            xfrm_build_delsa(buf, XFRM_MSG_BUF, ++x->seq,
		                             ntohl(s->p.peer.sin_addr.s_addr), s->p.out.spi),
		            "DELSA out");
	free(buf);
}

/* The interface holding the gateway's outer address, or 0. */
static unsigned
ifindex_of_addr(const struct sockaddr_in *local)
{
	struct ifaddrs *ifa, *i;
	unsigned idx = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i != NULL && idx == 0; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
		    ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr ==
		            local->sin_addr.s_addr)
			idx = if_nametoindex(i->ifa_name);
	freeifaddrs(ifa);
	return idx;
}

/* The kernel looks a route up before it consults the xfrm policies, so a client's inner address
 * needs one that is not local: the gateway's own proxy-ARP routes for pool addresses (dev lo,
 * metric NET_PROXY_ROUTE_METRIC) would otherwise swallow the replies. Each remote selector except
 * 0.0.0.0/0 gets a metric-0 route through the outside interface (the policy's bundle then decides
 * where the ESP goes), tagged TUN_RTNL_PROTO like the tun backend's. */
static void
add_routes(struct xfrm_be *x, struct xsa *s)
{
	s->route_ifindex = ifindex_of_addr(&s->p.local);
	if (s->route_ifindex == 0) {
		log_warn(LOG_IPSEC,
		         "xfrm: no interface holds %s: no routes to SA pair %" PRIu64
		         "'s inner addresses",
		         inet_ntoa(s->p.local.sin_addr), s->handle);
		return;
	}
	for (int i = 0; i < s->p.n_remote_ts; i++) {
		const struct ipsec_prefix *r = &s->p.remote_ts[i];
		int rc;

		if (r->plen == 0)
			continue;
		rc = tun_rtnl_route(x->rt, true, r->addr, r->plen, s->route_ifindex, 0);
		s->routed[i] = rc == 0;
		if (rc < 0 && rc != -EEXIST)
			log_error(LOG_IPSEC, "xfrm: route to SA pair %" PRIu64 "'s selector %d: %s",
			          s->handle, i, strerror(-rc));
	}
}

static void
del_routes(struct xfrm_be *x, struct xsa *s)
{
	for (int i = 0; i < s->p.n_remote_ts; i++) {
		const struct ipsec_prefix *r = &s->p.remote_ts[i];
		bool handed = false;

		if (!s->routed[i])
			continue;
		s->routed[i] = false;
		/* another live pair with the same selector (a rekey) keeps the route */
		for (size_t k = 0; k < x->n_sas && !handed; k++) {
			struct xsa *o = &x->sas[k];

			if (!o->used || o == s || o->route_ifindex != s->route_ifindex)
				continue;
			for (int j = 0; j < o->p.n_remote_ts && !handed; j++)
				if (o->p.remote_ts[j].addr == r->addr &&
				    o->p.remote_ts[j].plen == r->plen) {
					o->routed[j] = true;
					handed = true;
				}
		}
		if (!handed)
			tun_rtnl_route(x->rt, false, r->addr, r->plen, s->route_ifindex, 0);
	}
}

static int
xfrm_sa_add(struct ipsec_backend *be, const struct ipsec_sa_params *p, uint64_t *handle)
{
	struct xfrm_be *x = be_of(be);
	struct xsa *s = NULL;
	char *buf;
	int rc = 0, states = 0, n_pol = 0;

	if (p->n_local_ts < 1 || p->n_remote_ts < 1 || p->n_local_ts > IPSEC_MAX_SELECTORS ||
	    p->n_remote_ts > IPSEC_MAX_SELECTORS) {
		log_error(LOG_IPSEC,
		          "xfrm: SA needs 1-%d selectors per side (got %d local, %d remote)",
		          IPSEC_MAX_SELECTORS, p->n_local_ts, p->n_remote_ts);
		return -EINVAL;
	}
	for (size_t i = 0; i < x->n_sas; i++)
		if (!x->sas[i].used) {
			s = &x->sas[i];
			break;
		}
	if (s == NULL) {
		if (x->n_sas >= XFRM_MAX_SAS)
			return -ENOSPC;
		if (x->n_sas == x->cap_sas) {
			size_t n = x->cap_sas ? x->cap_sas * 2 : 16;
			struct xsa *ns = realloc(x->sas, n * sizeof(*ns));

			if (ns == NULL)
				return -ENOMEM;
			x->sas = ns;
			x->cap_sas = n;
		}
		s = &x->sas[x->n_sas++];
	}
	memset(s, 0, sizeof(*s));
	s->handle = ++x->next_handle;
	s->reqid = XFRM_PC_REQID_BASE | (uint32_t)(s->handle & 0xffff);
	s->p = *p;
	s->added_ms = loop_now_ms();
	s->last.added_ms = s->added_ms;
	buf = calloc(1, XFRM_MSG_BUF);
	if (buf == NULL)
		return -ENOMEM;
	rc = request(x, buf, xfrm_build_newsa(buf, XFRM_MSG_BUF, ++x->seq, p, XFRM_PC_IN, s->reqid),
	             "NEWSA in");
	if (rc < 0)
		goto fail;
	states = 1;
	rc = request(x, buf,
	             xfrm_build_newsa(buf, XFRM_MSG_BUF, ++x->seq, p, XFRM_PC_OUT, s->reqid),
	             "NEWSA out");
	if (rc < 0)
		goto fail;
	states = 2;
	for (int li = 0; li < p->n_local_ts; li++)
		for (int ri = 0; ri < p->n_remote_ts; ri++)
			for (int d = 0; d < 3; d++) {
				rc = request(x, buf,
				             xfrm_build_newpolicy(buf, XFRM_MSG_BUF, ++x->seq, p,
				                                  policy_dirs[d], li, ri, s->reqid),
				             "NEWPOLICY");
				if (rc < 0)
					goto fail;
				n_pol++;
			}
	OPENSSL_cleanse(buf, XFRM_MSG_BUF);
	free(buf);
	/* the kernel holds the keys now; the backend keeps none */
	OPENSSL_cleanse(&s->p.in, sizeof(s->p.in));
	OPENSSL_cleanse(&s->p.out, sizeof(s->p.out));
	s->p.in.spi = p->in.spi;
	s->p.out.spi = p->out.spi;
	s->used = true;
	*handle = s->handle;
	if (x->rt != NULL)
		add_routes(x, s);
	log_info(LOG_IPSEC,
	         "xfrm: SA pair %" PRIu64 " installed: spi in 0x%08x out 0x%08x, %s/%s%s",
	         s->handle, p->in.spi, p->out.spi, xfrm_enc_name(p->enc),
	         xfrm_auth_name(p->auth, &(unsigned){0}), p->udp_encap ? ", UDP-encapsulated" : "");
	return 0;
fail:
	OPENSSL_cleanse(buf, XFRM_MSG_BUF);
	free(buf);
	remove_sa(x, s, states, n_pol);
	memset(s, 0, sizeof(*s));
	return rc;
}

static int
xfrm_sa_del(struct ipsec_backend *be, uint64_t handle)
{
	struct xfrm_be *x = be_of(be);
	struct xsa *s = find_sa(x, handle);

	if (s == NULL)
		return -ENOENT;
	if (x->rt != NULL)
		del_routes(x, s);
	remove_sa(x, s, 2, s->p.n_local_ts * s->p.n_remote_ts * 3);
	log_info(LOG_IPSEC, "xfrm: SA pair %" PRIu64 " removed", handle);
	memset(s, 0, sizeof(*s));
	return 0;
}

struct sa_read {
	struct xfrm_sa_view v;
	int ok;
};

static int
on_sa_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct sa_read *r = arg;
	char why[128];

	if (xfrm_parse_sa(nlh, nlh->nlmsg_len, &r->v, why, sizeof(why)) == 0)
		r->ok = 1;
	else
		log_warn(LOG_IPSEC, "xfrm: GETSA reply: %s", why);
	return MNL_CB_OK;
}

static int
read_sa(struct xfrm_be *x, uint32_t dst, uint32_t spi, struct xfrm_sa_view *v)
{
	char *buf = calloc(1, XFRM_MSG_BUF);
	struct sa_read r = {0};
	int len, rc;

	if (buf == NULL)
		return -ENOMEM;
	len = xfrm_build_getsa(buf, XFRM_MSG_BUF, ++x->seq, dst, spi);
	rc = talk(x->nl, x->portid, buf, (size_t)len, on_sa_reply, &r);
	free(buf);
	if (rc < 0)
		return rc;
	if (!r.ok)
		return -EBADMSG;
	*v = r.v;
	return 0;
}

/* Folds fresh kernel counters into s->last; an inbound packet count that grew means traffic came
 * in since the last read (the kernel keeps no per-packet timestamp we could use as loop time). */
static void
note_counters(struct xsa *s, bool in, uint64_t bytes, uint64_t packets)
{
	if (in) {
		if (packets > s->last.packets_in)
			s->last.last_in_ms = loop_now_ms();
		s->last.bytes_in = bytes;
		s->last.packets_in = packets;
	} else {
		s->last.bytes_out = bytes;
		s->last.packets_out = packets;
	}
}

static int
xfrm_sa_stats(struct ipsec_backend *be, uint64_t handle, struct ipsec_sa_stats *out)
{
	struct xfrm_be *x = be_of(be);
	struct xsa *s = find_sa(x, handle);
	struct xfrm_sa_view in, outv;
	int rc_in, rc_out;

	if (s == NULL)
		return -ENOENT;
	rc_in = read_sa(x, ntohl(s->p.local.sin_addr.s_addr), s->p.in.spi, &in);
	if (rc_in == 0)
		note_counters(s, true, in.cur_bytes, in.cur_packets);
	rc_out = read_sa(x, ntohl(s->p.peer.sin_addr.s_addr), s->p.out.spi, &outv);
	if (rc_out == 0)
		note_counters(s, false, outv.cur_bytes, outv.cur_packets);
	*out = s->last;
	if (rc_in < 0 || rc_out < 0) {
		int rc = rc_in < 0 ? rc_in : rc_out;

		/* a state the kernel dropped (hard expiry): the last counters stand */
		if (rc == -ESRCH || rc == -ENOENT)
			return 0;
		log_warn(LOG_IPSEC, "xfrm: reading counters of SA pair %" PRIu64 ": %s", handle,
		         strerror(-rc));
		return rc;
	}
	return 0;
}

static void
xfrm_udp_input(struct ipsec_backend *be, const uint8_t *pkt, size_t len,
               const struct sockaddr_in *from, const struct sockaddr_in *to)
{
	/* With UDP_ENCAP set on the socket the kernel consumes ESP-in-UDP itself; a datagram that
	 * still reaches user space matched no state. */
	log_debug(LOG_IPSEC, "xfrm: ESP-in-UDP from %s:%u matched no kernel state (%zu bytes)",
	          inet_ntoa(from->sin_addr), ntohs(from->sin_port), len);
}

static void
on_event_fd(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct xfrm_be *x = arg;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)n;

	if (n <= 0)
		return;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == XFRM_MSG_EXPIRE &&
		    mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct xfrm_user_expire)) {
			const struct xfrm_user_expire *e = mnl_nlmsg_get_payload(nlh);
			uint32_t spi = ntohl(e->state.id.spi);

			for (size_t i = 0; i < x->n_sas; i++) {
				struct xsa *s = &x->sas[i];

				if (!s->used || (s->p.in.spi != spi && s->p.out.spi != spi))
					continue;
				note_counters(s, s->p.in.spi == spi, e->state.curlft.bytes,
				              e->state.curlft.packets);
				log_info(LOG_IPSEC,
				         "xfrm: %s expire for SA pair %" PRIu64 " (spi 0x%08x)",
				         e->hard ? "hard" : "soft", s->handle, spi);
				if (x->base.on_event != NULL)
					x->base.on_event(x->base.event_arg, s->p.owner, s->handle,
					                 e->hard ? IPSEC_EV_HARD_EXPIRE
					                         : IPSEC_EV_SOFT_EXPIRE);
				if (e->hard && s->used)
					xfrm_sa_del(&x->base, s->handle);
				break;
			}
		} else if (nlh->nlmsg_type == XFRM_MSG_ACQUIRE) {
			log_debug(LOG_IPSEC, "xfrm: acquire ignored (Portcullis only responds)");
		}
	}
}

struct flush_ctx {
	struct xfrm_be *x;
	char *msgs; /* delete requests collected during the dump, sent afterwards */
	size_t len, cap;
	int count;
};

static void
flush_collect(struct flush_ctx *f, const void *msg, size_t len)
{
	if (f->len + len > f->cap) {
		size_t n = f->cap ? f->cap * 2 : 16384;
		char *m;

		while (n < f->len + len)
			n *= 2;
		m = realloc(f->msgs, n);
		if (m == NULL)
			return;
		f->msgs = m;
		f->cap = n;
	}
	memcpy(f->msgs + f->len, msg, len);
	f->len += len;
	f->count++;
}

static int
on_dump_sa(const struct nlmsghdr *nlh, void *arg)
{
	struct flush_ctx *f = arg;
	const struct xfrm_usersa_info *sa;
	char buf[XFRM_MSG_BUF];
	int len;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*sa))
		return MNL_CB_OK;
	sa = mnl_nlmsg_get_payload(nlh);
	if ((sa->reqid & XFRM_PC_REQID_MASK) != XFRM_PC_REQID_BASE || sa->family != AF_INET)
		return MNL_CB_OK;
	len = xfrm_build_delsa(buf, sizeof(buf), 0, ntohl(sa->id.daddr.a4), ntohl(sa->id.spi));
	if (len > 0)
		flush_collect(f, buf, (size_t)len);
	return MNL_CB_OK;
}

static int
on_dump_policy(const struct nlmsghdr *nlh, void *arg)
{
	struct flush_ctx *f = arg;
	const struct xfrm_userpolicy_info *pol;
	const struct nlattr *a;
	char buf[XFRM_MSG_BUF];

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*pol))
		return MNL_CB_OK;
	pol = mnl_nlmsg_get_payload(nlh);
	mnl_attr_for_each(a, nlh, sizeof(*pol))
	{
		const struct xfrm_user_tmpl *t;
		struct nlmsghdr *d;
		struct xfrm_userpolicy_id *id;

		if (mnl_attr_get_type(a) != XFRMA_TMPL || mnl_attr_get_payload_len(a) < sizeof(*t))
			continue;
		t = mnl_attr_get_payload(a);
		if ((t->reqid & XFRM_PC_REQID_MASK) != XFRM_PC_REQID_BASE)
			continue;
		d = msg_start(buf, sizeof(buf), XFRM_MSG_DELPOLICY, NLM_F_ACK, 0);
		id = mnl_nlmsg_put_extra_header(d, sizeof(*id));
		id->sel = pol->sel;
		id->index = pol->index;
		id->dir = pol->dir;
		flush_collect(f, buf, d->nlmsg_len);
		break;
	}
	return MNL_CB_OK;
}

int
ipsec_xfrm_flush_owned(struct ipsec_backend *be)
{
	struct xfrm_be *x = be_of(be);
	struct flush_ctx f = {.x = x};
	char req[256];
	struct nlmsghdr *nlh;
	int rc, removed = 0;

	for (int pass = 0; pass < 2; pass++) {
		memset(req, 0, sizeof(req));
		nlh = mnl_nlmsg_put_header(req);
		nlh->nlmsg_type = pass == 0 ? XFRM_MSG_GETPOLICY : XFRM_MSG_GETSA;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = ++x->seq;
		if (pass == 0)
			mnl_nlmsg_put_extra_header(nlh, sizeof(struct xfrm_userpolicy_info));
		else
			mnl_nlmsg_put_extra_header(nlh, sizeof(struct xfrm_usersa_info));
		f.len = 0;
		f.count = 0;
		rc = talk(x->nl, x->portid, req, nlh->nlmsg_len,
		          pass == 0 ? on_dump_policy : on_dump_sa, &f);
		if (rc < 0) {
			log_error(LOG_IPSEC, "xfrm: dump for cleanup: %s", strerror(-rc));
			free(f.msgs);
			return rc;
		}
		for (size_t off = 0; off < f.len;) {
			struct nlmsghdr *d = (struct nlmsghdr *)(f.msgs + off);
			size_t l = d->nlmsg_len;

			d->nlmsg_seq = ++x->seq;
			if (talk(x->nl, x->portid, d, l, NULL, NULL) == 0)
				removed++;
			off += MNL_ALIGN(l);
		}
	}
	free(f.msgs);
	if (removed > 0)
		log_info(LOG_IPSEC, "xfrm: removed %d stale Portcullis states/policies", removed);
	return removed;
}

int
ipsec_xfrm_alloc_spi(struct ipsec_backend *be, uint32_t peer, uint32_t local, uint32_t *spi)
{
	struct xfrm_be *x = be_of(be);
	char *buf = calloc(1, XFRM_MSG_BUF);
	struct sa_read r = {0};
	int len, rc;

	if (buf == NULL)
		return -ENOMEM;
	len = xfrm_build_allocspi(buf, XFRM_MSG_BUF, ++x->seq, peer, local, 0);
	rc = talk(x->nl, x->portid, buf, (size_t)len, on_sa_reply, &r);
	free(buf);
	if (rc < 0)
		return rc;
	if (!r.ok)
		return -EBADMSG;
	*spi = r.v.spi;
	return 0;
}

static void
xfrm_free(struct ipsec_backend *be)
{
	struct xfrm_be *x = be_of(be);

	if (x == NULL)
		return;
	for (size_t i = 0; i < x->n_sas; i++)
		if (x->sas[i].used)
			xfrm_sa_del(be, x->sas[i].handle);
	if (x->nl != NULL)
		ipsec_xfrm_flush_owned(be); /* anything of ours left: nothing survives shutdown */
	if (x->ev != NULL) {
		if (x->base.loop != NULL)
			loop_del_fd(x->base.loop, mnl_socket_get_fd(x->ev));
		mnl_socket_close(x->ev);
	}
	if (x->nl != NULL)
		mnl_socket_close(x->nl);
	if (x->rt != NULL)
		tun_rtnl_close(x->rt);
	OPENSSL_cleanse(x->sas, x->cap_sas * sizeof(*x->sas));
	free(x->sas);
	free(x);
}

static const struct ipsec_backend_ops xfrm_ops = {
        .name = "xfrm",
        .sa_add = xfrm_sa_add,
        .sa_del = xfrm_sa_del,
        .sa_stats = xfrm_sa_stats,
        .udp_input = xfrm_udp_input,
        .free = xfrm_free,
};

int
ipsec_xfrm_new(struct loop *loop, struct ipsec_backend **out, char *why, size_t whylen)
{
	struct xfrm_be *x;
	int rc;

	*out = NULL;
	rc = ipsec_xfrm_probe(why, whylen);
	if (rc < 0)
		return -EPROTONOSUPPORT; /* why says what the kernel lacks */
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->base.ops = &xfrm_ops;
	x->base.loop = loop;
	x->base.natt_fd = -1;
	rc = open_nl(&x->nl, 0, &x->portid);
	if (rc == 0)
		rc = open_nl(&x->ev,
		             (1u << (XFRMNLGRP_EXPIRE - 1)) | (1u << (XFRMNLGRP_ACQUIRE - 1)),
		             NULL);
	if (rc < 0) {
		snprintf(why, whylen, "XFRM netlink socket: %s", strerror(-rc));
		xfrm_free(&x->base);
		return rc;
	}
	rc = tun_rtnl_open(&x->rt);
	if (rc < 0) {
		snprintf(why, whylen, "rtnetlink socket: %s", strerror(-rc));
		xfrm_free(&x->base);
		return rc;
	}
	if (loop != NULL) {
		rc = loop_add_fd(loop, mnl_socket_get_fd(x->ev), EPOLLIN, on_event_fd, x);
		if (rc < 0) {
			snprintf(why, whylen, "watching XFRM events: %s", strerror(-rc));
			xfrm_free(&x->base);
			return rc;
		}
	}
	ipsec_xfrm_flush_owned(&x->base);
	*out = &x->base;
	return 0;
}
