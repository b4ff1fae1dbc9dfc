/* Applying the interface model through rtnetlink, with an undo list. */
#include "gateway/net/net.h"

#include "gateway/core/log.h"
#include "gateway/nat/nat_model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NET_MAX_ENTRIES 65536 /* cap on dumped addresses/routes/neighbours we keep */
#define NET_MSG_BUF     4096

struct net {
	struct net_config cfg;
	struct mnl_socket *sock;
	uint32_t portid, seq;
};

enum undo_kind {
	U_LINK,
	U_ADDR_ADD,
	U_ADDR_DEL,
	U_ROUTE_ADD,
	U_ROUTE_DEL,
	U_NEIGH_ADD,
	U_NEIGH_DEL,
	U_FORWARD
};

struct undo_op {
	enum undo_kind kind; /* the change that was made; running it reverts it */
	union {
		struct net_link link; /* previous state */
		struct net_addr addr;
		struct net_route route;
		struct net_neigh neigh;
		char fwd_old;
	} u;
};

struct net_undo {
	struct undo_op *ops;
	size_t n, cap;
};

static char *
ip_str(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

int
net_new(const struct net_config *cfg, struct net **out, struct pc_err *err)
{
	struct net *net = calloc(1, sizeof(*net));
	struct timeval tv = {.tv_sec = 5};

	*out = NULL;
	if (net == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "net: out of memory");
	net->cfg = *cfg;
	if (net->cfg.protocol == 0)
		net->cfg.protocol = NET_RTPROT_PORTCULLIS;
	net->sock = mnl_socket_open(NETLINK_ROUTE);
	if (net->sock == NULL || mnl_socket_bind(net->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = -errno;

		pc_err_set(err, PC_ERR_APPLY, "", "mnl_socket_open/bind(NETLINK_ROUTE): %s",
		           strerror(errno));
		if (net->sock != NULL)
			mnl_socket_close(net->sock);
		free(net);
		return rc;
	}
	setsockopt(mnl_socket_get_fd(net->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	net->portid = mnl_socket_get_portid(net->sock);
	net->seq = (uint32_t)time(NULL);
	*out = net;
	return 0;
}

void
net_free(struct net *net)
{
	if (net == NULL)
		return;
	mnl_socket_close(net->sock);
	free(net);
}

/* Sends one request and waits for its ACK. */
static int
request(struct net *net, struct nlmsghdr *nlh)
{
	char buf[NET_MSG_BUF];
	ssize_t n;
	int rc;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++net->seq;
	if (mnl_socket_sendto(net->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(net->sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, net->portid, NULL, NULL);
		if (rc < 0)
			return -errno;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

static int
dump(struct net *net, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg)
{
	char *buf;
	size_t blen = MNL_SOCKET_BUFFER_SIZE * 4;
	ssize_t n;
	int rc;

	nlh->nlmsg_flags |= NLM_F_DUMP;
	nlh->nlmsg_seq = ++net->seq;
	if (mnl_socket_sendto(net->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	buf = malloc(blen);
	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		n = mnl_socket_recvfrom(net->sock, buf, blen);
		if (n < 0) {
			rc = -errno;
			break;
		}
		rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, net->portid, cb, arg);
		if (rc < 0) {
			rc = -errno;
			break;
		}
		if (rc == MNL_CB_STOP) {
			rc = 0;
			break;
		}
	}
	free(buf);
	return rc;
}

/* ---- collections from dumps ---- */

struct vec {
	void *v;
	size_t n, cap, elem;
	int err;
};

static void *
vec_add(struct vec *v)
{
	if (v->n >= NET_MAX_ENTRIES) {
		v->err = -E2BIG;
		return NULL;
	}
	if (v->n == v->cap) {
		size_t ncap = v->cap == 0 ? 16 : v->cap * 2;
		void *p = realloc(v->v, ncap * v->elem);

		if (p == NULL) {
			v->err = -ENOMEM;
			return NULL;
		}
		v->v = p;
		v->cap = ncap;
	}
	return (char *)v->v + v->elem * v->n++;
}

static int
addr_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct vec *v = arg;
	struct net_addr a, *p;

	if (nlh->nlmsg_type != RTM_NEWADDR || net_parse_addr(nlh, &a) < 0)
		return MNL_CB_OK;
	p = vec_add(v);
	if (p != NULL)
		*p = a;
	return MNL_CB_OK;
}

static int
route_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct vec *v = arg;
	struct net_route r, *p;

	if (nlh->nlmsg_type != RTM_NEWROUTE || net_parse_route(nlh, &r) < 0)
		return MNL_CB_OK;
	p = vec_add(v);
	if (p != NULL)
		*p = r;
	return MNL_CB_OK;
}

static int
neigh_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct vec *v = arg;
	struct net_neigh nn, *p;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || net_parse_neigh(nlh, &nn) < 0 || !nn.proxy)
		return MNL_CB_OK;
	p = vec_add(v);
	if (p != NULL)
		*p = nn;
	return MNL_CB_OK;
}

static int
link_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct net_link *l = arg;

	if (nlh->nlmsg_type == RTM_NEWLINK)
		net_parse_link(nlh, l);
	return MNL_CB_OK;
}

static int
get_link(struct net *net, int ifindex, struct net_link *out)
{
	char buf[NET_MSG_BUF] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	ssize_t n;
	int rc;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++net->seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (mnl_socket_sendto(net->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	char *rbuf = malloc(MNL_SOCKET_BUFFER_SIZE * 4);

	if (rbuf == NULL)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	n = mnl_socket_recvfrom(net->sock, rbuf, MNL_SOCKET_BUFFER_SIZE * 4);
	rc = n < 0 ? -errno
	           : mnl_cb_run(rbuf, (size_t)n, nlh->nlmsg_seq, net->portid, link_cb, out);
	if (rc < 0 && n >= 0)
		rc = -errno;
	free(rbuf);
	return rc < 0 ? rc : 0;
}

/* ---- undo list ---- */

static int
undo_push(struct net_undo *u, const struct undo_op *op)
{
	if (u->n == u->cap) {
		size_t ncap = u->cap == 0 ? 16 : u->cap * 2;
		struct undo_op *p = realloc(u->ops, ncap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		u->ops = p;
		u->cap = ncap;
	}
	u->ops[u->n++] = *op;
	return 0;
}

static int
do_link(struct net *net, const struct net_link *l)
{
	char buf[NET_MSG_BUF];
	struct nlmsghdr *nlh = net_msg_link(buf, sizeof(buf), 0, 0, l);

	return nlh == NULL ? -EMSGSIZE : request(net, nlh);
}

static int
do_addr(struct net *net, uint16_t type, const struct net_addr *a)
{
	char buf[NET_MSG_BUF];
	struct nlmsghdr *nlh = net_msg_addr(
	        buf, sizeof(buf), type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0, 0, a);

	return nlh == NULL ? -EMSGSIZE : request(net, nlh);
}

static int
do_route(struct net *net, uint16_t type, const struct net_route *r)
{
	char buf[NET_MSG_BUF];
	struct nlmsghdr *nlh = net_msg_route(
	        buf, sizeof(buf), type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0, 0, r);

	return nlh == NULL ? -EMSGSIZE : request(net, nlh);
}

static int
do_neigh(struct net *net, uint16_t type, const struct net_neigh *n)
{
	char buf[NET_MSG_BUF];
	struct nlmsghdr *nlh =
	        net_msg_neigh(buf, sizeof(buf), type,
	                      type == RTM_NEWNEIGH ? NLM_F_CREATE | NLM_F_REPLACE : 0, 0, n);

	return nlh == NULL ? -EMSGSIZE : request(net, nlh);
}

static int
write_forward(char v, char *old)
{
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDWR | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (old != NULL && read(fd, old, 1) != 1)
		rc = -EIO;
	if (rc == 0 && (lseek(fd, 0, SEEK_SET) < 0 || write(fd, &v, 1) != 1))
		rc = -errno;
	close(fd);
	return rc;
}

int
net_undo_run(struct net *net, struct net_undo *u)
{
	int first = 0;

	if (u == NULL)
		return 0;
	for (size_t i = u->n; i-- > 0;) {
		const struct undo_op *op = &u->ops[i];
		int rc = 0;

		switch (op->kind) {
		case U_LINK:
			rc = do_link(net, &op->u.link);
			break;
		case U_ADDR_ADD:
			rc = do_addr(net, RTM_DELADDR, &op->u.addr);
			break;
		case U_ADDR_DEL:
			rc = do_addr(net, RTM_NEWADDR, &op->u.addr);
			break;
		case U_ROUTE_ADD:
			rc = do_route(net, RTM_DELROUTE, &op->u.route);
			break;
		case U_ROUTE_DEL:
			rc = do_route(net, RTM_NEWROUTE, &op->u.route);
			break;
		case U_NEIGH_ADD:
			rc = do_neigh(net, RTM_DELNEIGH, &op->u.neigh);
			break;
		case U_NEIGH_DEL:
			rc = do_neigh(net, RTM_NEWNEIGH, &op->u.neigh);
			break;
		case U_FORWARD:
			rc = write_forward(op->u.fwd_old, NULL);
			break;
		}
		if (rc < 0) {
			log_warn(LOG_NET, "undo step %zu (kind %d) failed: %s", i, op->kind,
			         strerror(-rc));
			if (first == 0)
				first = rc;
		}
	}
	u->n = 0;
	return first;
}

void
net_undo_free(struct net_undo *u)
{
	if (u == NULL)
		return;
	free(u->ops);
	free(u);
}

size_t
net_undo_count(const struct net_undo *u)
{
	return u == NULL ? 0 : u->n;
}

static uint8_t
mask_len(uint32_t mask)
{
	return mask == 0 ? 0 : (uint8_t)(32 - __builtin_ctz(mask));
}

/* ---- apply ---- */

struct apply_ctx {
	struct net *net;
	const struct nat_model *m;
	struct net_undo *u;
	struct pc_err *err;
	int *ifindex;            /* per model interface, 0 when not managed */
	struct vec proxies;      /* struct net_neigh wanted */
	struct net_route *extra; /* host routes via lo for the proxied addresses */
	size_t nextra;
};

#define TRY_UNDO(op)                                                                               \
	do {                                                                                       \
		if (undo_push(A->u, &(op)) < 0)                                                    \
			return pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");      \
	} while (0)

static int
apply_links(struct apply_ctx *A)
{
	for (size_t i = 0; i < A->m->nifs; i++) {
		const struct nm_interface *it = &A->m->ifs[i];
		struct net_link cur, want = {.up = -1};
		struct undo_op op = {.kind = U_LINK};
		int idx, rc;

		if (it->nameif[0] == '\0')
			continue;
		idx = (int)if_nametoindex(it->linux_name);
		if (idx == 0)
			return pc_err_set(
			        A->err, PC_ERR_APPLY, "linux_name",
			        "interface %s (%s) maps to Linux interface %s, which does not "
			        "exist in this network namespace",
			        it->nameif, it->hw_name, it->linux_name);
		A->ifindex[i] = idx;
		rc = get_link(A->net, idx, &cur);
		if (rc < 0)
			return pc_err_set(A->err, PC_ERR_APPLY, "", "RTM_GETLINK %s: %s",
			                  it->linux_name, strerror(-rc));
		want.ifindex = idx;
		if (cur.mtu != it->mtu)
			want.mtu = it->mtu;
		if (cur.up != !it->shutdown)
			want.up = !it->shutdown;
		if (want.mtu == 0 && want.up < 0)
			continue;
		op.u.link.ifindex = idx;
		op.u.link.mtu = want.mtu != 0 ? cur.mtu : 0;
		op.u.link.up = want.up >= 0 ? cur.up : -1;
		rc = do_link(A->net, &want);
		if (rc < 0)
			return pc_err_set(A->err, PC_ERR_APPLY, "mtu",
			                  "RTM_NEWLINK %s (mtu %d, %s): %s", it->linux_name,
			                  it->mtu, it->shutdown ? "down" : "up", strerror(-rc));
		TRY_UNDO(op);
		log_info(LOG_NET, "%s (%s): mtu %d, %s", it->nameif, it->linux_name, it->mtu,
		         it->shutdown ? "shutdown" : "up");
	}
	return 0;
}

static int
apply_addrs(struct apply_ctx *A)
{
	char buf[NET_MSG_BUF], a1[16];
	struct vec cur = {.elem = sizeof(struct net_addr)};
	struct nlmsghdr *nlh;
	struct net_addr q = {0};
	int rc;

	nlh = net_msg_addr(buf, sizeof(buf), RTM_GETADDR, 0, 0, &q);
	if (nlh == NULL)
		return pc_err_set(A->err, PC_ERR_INTERNAL, "", "RTM_GETADDR: message too big");
	/* a dump request carries only the ifaddrmsg */
	nlh->nlmsg_len = mnl_nlmsg_size(sizeof(struct ifaddrmsg));
	rc = dump(A->net, nlh, addr_cb, &cur);
	if (rc == 0 && cur.err != 0)
		rc = cur.err;
	if (rc < 0) {
		free(cur.v);
		return pc_err_set(A->err, PC_ERR_APPLY, "", "RTM_GETADDR dump: %s", strerror(-rc));
	}
	for (size_t i = 0; i < A->m->nifs && rc == 0; i++) {
		const struct nm_interface *it = &A->m->ifs[i];
		const struct net_addr *have = cur.v;
		struct net_addr want = {0};
		bool present = false;

		if (A->ifindex[i] == 0 || !it->has_address)
			continue;
		want.ifindex = A->ifindex[i];
		want.addr = it->address;
		want.prefixlen = mask_len(it->netmask);
		want.broadcast = it->netmask == UINT32_MAX ? 0 : (it->address | ~it->netmask);
		for (size_t k = 0; k < cur.n && rc == 0; k++) {
			struct undo_op op = {.kind = U_ADDR_DEL};

			if (have[k].ifindex != want.ifindex)
				continue;
			if (have[k].addr == want.addr && have[k].prefixlen == want.prefixlen) {
				present = true;
				continue;
			}
			/* the PIX has one address per interface: others go */
			op.u.addr = have[k];
			rc = do_addr(A->net, RTM_DELADDR, &have[k]);
			if (rc < 0) {
				pc_err_set(A->err, PC_ERR_APPLY, "", "RTM_DELADDR %s/%u on %s: %s",
				           ip_str(have[k].addr, a1), have[k].prefixlen,
				           it->linux_name, strerror(-rc));
				break;
			}
			if (undo_push(A->u, &op) < 0)
				rc = pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
		}
		if (rc < 0 || present)
			continue;
		rc = do_addr(A->net, RTM_NEWADDR, &want);
		if (rc < 0) {
			pc_err_set(A->err, PC_ERR_APPLY, "address", "RTM_NEWADDR %s/%u on %s: %s",
			           ip_str(want.addr, a1), want.prefixlen, it->linux_name,
			           strerror(-rc));
			break;
		}
		struct undo_op op = {.kind = U_ADDR_ADD, .u.addr = want};

		if (undo_push(A->u, &op) < 0)
			rc = pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
		log_info(LOG_NET, "%s (%s): address %s/%u", it->nameif, it->linux_name,
		         ip_str(want.addr, a1), want.prefixlen);
	}
	free(cur.v);
	return rc;
}

static bool
route_same(const struct net_route *a, const struct net_route *b)
{
	return a->dst == b->dst && a->dst_len == b->dst_len && a->gateway == b->gateway &&
	       a->priority == b->priority && (a->oif == 0 || b->oif == 0 || a->oif == b->oif);
}

/* Total order on (dst, dst_len, gateway, priority, oif): exact identity of a route of ours. */
static int
route_cmp(const void *x, const void *y)
{
	const struct net_route *a = x, *b = y;

	if (a->dst != b->dst)
		return a->dst < b->dst ? -1 : 1;
	if (a->dst_len != b->dst_len)
		return a->dst_len < b->dst_len ? -1 : 1;
	if (a->gateway != b->gateway)
		return a->gateway < b->gateway ? -1 : 1;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	return a->oif < b->oif ? -1 : a->oif > b->oif;
}

static int
apply_routes(struct apply_ctx *A)
{
	char buf[NET_MSG_BUF], a1[16], a2[16];
	struct vec cur = {.elem = sizeof(struct net_route)};
	struct net_route q = {.table = RT_TABLE_MAIN};
	struct nlmsghdr *nlh;
	const struct net_route *have;
	int rc;

	nlh = net_msg_route(buf, sizeof(buf), RTM_GETROUTE, 0, 0, &q);
	if (nlh == NULL)
		return pc_err_set(A->err, PC_ERR_INTERNAL, "", "RTM_GETROUTE: message too big");
	nlh->nlmsg_len = mnl_nlmsg_size(sizeof(struct rtmsg));
	rc = dump(A->net, nlh, route_cb, &cur);
	if (rc == 0 && cur.err != 0)
		rc = cur.err;
	if (rc < 0) {
		free(cur.v);
		return pc_err_set(A->err, PC_ERR_APPLY, "", "RTM_GETROUTE dump: %s", strerror(-rc));
	}
	have = cur.v;
	/* stale routes of ours go first (a changed gateway may reuse the same key) */
	for (size_t k = 0; k < cur.n && rc == 0; k++) {
		bool wanted = false;

		if (have[k].protocol != A->net->cfg.protocol || have[k].table != RT_TABLE_MAIN)
			continue;
		for (size_t i = 0; i < A->m->nroutes; i++) {
			const struct nm_route *r = &A->m->routes[i];
			struct net_route w = {.dst = r->dest,
			                      .dst_len = mask_len(r->netmask),
			                      .gateway = r->gateway,
			                      .priority = (uint32_t)r->metric};

			if (route_same(&have[k], &w))
				wanted = true;
		}
		if (A->nextra > 0 &&
		    bsearch(&have[k], A->extra, A->nextra, sizeof(*A->extra), route_cmp) != NULL)
			wanted = true;
		if (wanted)
			continue;
		rc = do_route(A->net, RTM_DELROUTE, &have[k]);
		if (rc < 0) {
			pc_err_set(A->err, PC_ERR_APPLY, "", "RTM_DELROUTE %s/%u: %s",
			           ip_str(have[k].dst, a1), have[k].dst_len, strerror(-rc));
			break;
		}
		struct undo_op op = {.kind = U_ROUTE_DEL, .u.route = have[k]};

		if (undo_push(A->u, &op) < 0)
			rc = pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
	}
	for (size_t i = 0; i < A->m->nroutes && rc == 0; i++) {
		const struct nm_route *r = &A->m->routes[i];
		struct net_route w = {
		        .dst = r->dest,
		        .dst_len = mask_len(r->netmask),
		        .gateway = r->gateway,
		        .priority = (uint32_t)r->metric,
		        .protocol = A->net->cfg.protocol,
		        .table = RT_TABLE_MAIN,
		        .scope = RT_SCOPE_UNIVERSE,
		        .type = RTN_UNICAST,
		};
		bool present = false;

		if (r->interface < 0 || A->ifindex[r->interface] == 0)
			return pc_err_set(A->err, PC_ERR_APPLY, "interface",
			                  "route %s/%u via %s: interface not managed (no nameif)",
			                  ip_str(w.dst, a1), w.dst_len, ip_str(w.gateway, a2));
		w.oif = A->ifindex[r->interface];
		/* a route through a shut-down interface is inactive, as on the PIX (the kernel
		 * flushed it when the link went down and refuses it while the link is down) */
		if (A->m->ifs[r->interface].shutdown)
			continue;
		for (size_t k = 0; k < cur.n; k++)
			if (have[k].protocol == A->net->cfg.protocol && route_same(&have[k], &w))
				present = true;
		if (present)
			continue;
		rc = do_route(A->net, RTM_NEWROUTE, &w);
		if (rc < 0) {
			pc_err_set(A->err, PC_ERR_APPLY, "route",
			           "RTM_NEWROUTE %s/%u via %s metric %u: %s", ip_str(w.dst, a1),
			           w.dst_len, ip_str(w.gateway, a2), w.priority, strerror(-rc));
			break;
		}
		struct undo_op op = {.kind = U_ROUTE_ADD, .u.route = w};

		if (undo_push(A->u, &op) < 0)
			rc = pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
		log_info(LOG_NET, "route %s/%u via %s metric %u", ip_str(w.dst, a1), w.dst_len,
		         ip_str(w.gateway, a2), w.priority);
	}
	/* ours among the current routes, sorted, to find each proxy route in log time */
	struct net_route *mine = calloc(cur.n + 1, sizeof(*mine));
	size_t nmine = 0;

	if (mine == NULL && rc == 0)
		rc = pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
	for (size_t k = 0; mine != NULL && k < cur.n; k++)
		if (have[k].protocol == A->net->cfg.protocol)
			mine[nmine++] = have[k];
	if (nmine > 1)
		qsort(mine, nmine, sizeof(*mine), route_cmp);
	for (size_t i = 0; i < A->nextra && rc == 0; i++) {
		if (nmine > 0 &&
		    bsearch(&A->extra[i], mine, nmine, sizeof(*mine), route_cmp) != NULL)
			continue;
		rc = do_route(A->net, RTM_NEWROUTE, &A->extra[i]);
		if (rc < 0) {
			pc_err_set(A->err, PC_ERR_APPLY, "",
			           "RTM_NEWROUTE %s/32 dev lo (proxy ARP): %s",
			           ip_str(A->extra[i].dst, a1), strerror(-rc));
			break;
		}
		struct undo_op op = {.kind = U_ROUTE_ADD, .u.route = A->extra[i]};

		if (undo_push(A->u, &op) < 0)
			rc = pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
	}
	free(mine);
	free(cur.v);
	return rc;
}

/* Adds a proxy entry on interface i for each address of [lo, hi] inside i's subnet (not i's own
 * address, no duplicates). */
static int
want_range(struct apply_ctx *A, struct vec *want, int i, uint32_t lo, uint32_t hi)
{
	const struct nm_interface *it = &A->m->ifs[i];
	uint32_t net_lo = it->address & it->netmask, net_hi = net_lo | ~it->netmask;

	if (A->ifindex[i] == 0 || !it->has_address || hi < lo || hi < net_lo || lo > net_hi)
		return 0;
	if (lo < net_lo)
		lo = net_lo;
	if (hi > net_hi)
		hi = net_hi;
	for (uint64_t a = lo; a <= hi; a++) {
		struct net_neigh *n;

		if ((uint32_t)a == it->address)
			continue;
		n = vec_add(want);
		if (n == NULL)
			return -E2BIG;
		*n = (struct net_neigh){.ifindex = A->ifindex[i],
		                        .dst = (uint32_t)a,
		                        .protocol = A->net->cfg.protocol,
		                        .proxy = true};
	}
	return 0;
}

static int
neigh_cmp(const void *x, const void *y)
{
	const struct net_neigh *a = x, *b = y;

	if (a->ifindex != b->ifindex)
		return a->ifindex < b->ifindex ? -1 : 1;
	return a->dst < b->dst ? -1 : a->dst > b->dst;
}

/* Sorts by (ifindex, dst) and drops duplicates (overlapping pools, statics and globals). */
static void
neigh_unique(struct vec *v)
{
	struct net_neigh *n = v->v;
	size_t out = 0;

	if (v->n == 0)
		return;
	qsort(n, v->n, sizeof(*n), neigh_cmp);
	for (size_t i = 1; i < v->n; i++)
		if (neigh_cmp(&n[i], &n[out]) != 0)
			n[++out] = n[i];
	v->n = out + 1;
}

static bool
neigh_in(const struct vec *v, const struct net_neigh *key)
{
	return v->n > 0 && bsearch(key, v->v, v->n, sizeof(struct net_neigh), neigh_cmp) != NULL;
}

/* The addresses the gateway answers ARP for: VPN pool addresses inside a connected subnet, and
 * static and global (mapped) addresses on their own interface, as the PIX does for its
 * translations. The kernel answers a proxy entry only when the route to the address leaves
 * through another device, so each also gets a host route via lo (our protocol, a metric that any
 * SA backend route to a pool address beats). */
static int
compute_proxies(struct apply_ctx *A)
{
	struct vec *want = &A->proxies;
	const struct net_neigh *wv;
	int lo = (int)if_nametoindex("lo");

	/* VPN pool addresses inside any connected subnet; static and global (mapped) addresses
	 * on their own interface, as the PIX answers ARP for its translations */
	for (size_t p = 0; p < A->m->npools; p++)
		for (size_t i = 0; i < A->m->nifs; i++)
			if (want_range(A, want, (int)i, A->m->pools[p].start, A->m->pools[p].end) <
			    0)
				goto toomany;
	for (size_t s = 0; s < A->m->nstatics; s++) {
		const struct nm_static *st = &A->m->statics[s];

		if (st->mapped_if >= 0 && !st->mapped_interface &&
		    want_range(A, want, st->mapped_if, st->mapped & st->netmask,
		               st->mapped | ~st->netmask) < 0)
			goto toomany;
	}
	for (size_t g = 0; g < A->m->nglobals; g++) {
		const struct nm_global *gl = &A->m->globals[g];

		if (gl->interface >= 0 && gl->kind != NM_GLOBAL_INTERFACE &&
		    want_range(A, want, gl->interface, gl->start, gl->end) < 0)
			goto toomany;
	}
	neigh_unique(want);
	wv = want->v;
	A->extra = calloc(want->n + 1, sizeof(*A->extra));
	if (A->extra == NULL)
		return pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
	for (size_t i = 0; i < want->n && lo != 0; i++) {
		A->extra[A->nextra++] = (struct net_route){
		        .dst = wv[i].dst,
		        .dst_len = 32,
		        .oif = lo,
		        .priority = NET_PROXY_ROUTE_METRIC,
		        .protocol = A->net->cfg.protocol,
		        .table = RT_TABLE_MAIN,
		        .scope = RT_SCOPE_LINK,
		        .type = RTN_UNICAST,
		};
	}
	/* the same address proxied on two interfaces needs one route */
	if (A->nextra > 0) {
		size_t out = 0;

		qsort(A->extra, A->nextra, sizeof(*A->extra), route_cmp);
		for (size_t i = 1; i < A->nextra; i++)
			if (route_cmp(&A->extra[i], &A->extra[out]) != 0)
				A->extra[++out] = A->extra[i];
		A->nextra = out + 1;
	}
	return 0;
toomany:
	return pc_err_set(A->err, PC_ERR_INVALID, "",
	                  "proxy ARP: more than %d addresses (pools, statics, globals)",
	                  NET_MAX_ENTRIES);
}

/* Proxy ARP: pool addresses inside a connected subnet get a proxy neighbour entry on that
 * interface, so hosts there can reach tunnelled clients. */
static int
apply_proxy(struct apply_ctx *A)
{
	char buf[NET_MSG_BUF], a1[16];
	struct vec cur = {.elem = sizeof(struct net_neigh)},
	           want = {.elem = sizeof(struct net_neigh)};
	struct net_neigh q = {.proxy = true};
	struct nlmsghdr *nlh;
	const struct net_neigh *have, *wv = A->proxies.v;
	int rc;

	want = A->proxies;
	nlh = net_msg_neigh(buf, sizeof(buf), RTM_GETNEIGH, 0, 0, &q);
	if (nlh == NULL)
		return pc_err_set(A->err, PC_ERR_INTERNAL, "", "RTM_GETNEIGH: message too big");
	nlh->nlmsg_len = mnl_nlmsg_size(sizeof(struct ndmsg));
	rc = dump(A->net, nlh, neigh_cb, &cur);
	if (rc == 0 && cur.err != 0)
		rc = cur.err;
	if (rc < 0) {
		free(cur.v);
		return pc_err_set(A->err, PC_ERR_APPLY, "", "RTM_GETNEIGH proxy dump: %s",
		                  strerror(-rc));
	}
	have = cur.v;
	for (size_t k = 0; k < cur.n && rc == 0; k++) {
		if (have[k].protocol != A->net->cfg.protocol || neigh_in(&want, &have[k]))
			continue;
		rc = do_neigh(A->net, RTM_DELNEIGH, &have[k]);
		if (rc < 0) {
			pc_err_set(A->err, PC_ERR_APPLY, "", "RTM_DELNEIGH proxy %s: %s",
			           ip_str(have[k].dst, a1), strerror(-rc));
			break;
		}
		struct undo_op op = {.kind = U_NEIGH_DEL, .u.neigh = have[k]};

		if (undo_push(A->u, &op) < 0)
			rc = pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
	}
	neigh_unique(&cur);
	for (size_t i = 0; i < want.n && rc == 0; i++) {
		if (neigh_in(&cur, &wv[i]))
			continue;
		rc = do_neigh(A->net, RTM_NEWNEIGH, &wv[i]);
		if (rc < 0) {
			pc_err_set(A->err, PC_ERR_APPLY, "", "RTM_NEWNEIGH proxy %s: %s",
			           ip_str(wv[i].dst, a1), strerror(-rc));
			break;
		}
		struct undo_op op = {.kind = U_NEIGH_ADD, .u.neigh = wv[i]};

		if (undo_push(A->u, &op) < 0)
			rc = pc_err_set(A->err, PC_ERR_INTERNAL, "", "net: out of memory");
		log_info(LOG_NET, "proxy ARP for %s", ip_str(wv[i].dst, a1));
	}
	free(cur.v);
	return rc;
}

int
net_apply(struct net *net, const struct nat_model *m, struct net_undo **undo, struct pc_err *err)
{
	struct apply_ctx A = {.net = net, .m = m, .err = err};
	int rc;

	if (undo != NULL)
		*undo = NULL;
	A.u = calloc(1, sizeof(*A.u));
	A.ifindex = calloc(m->nifs + 1, sizeof(int));
	if (A.u == NULL || A.ifindex == NULL) {
		free(A.u);
		free(A.ifindex);
		return pc_err_set(err, PC_ERR_INTERNAL, "", "net: out of memory");
	}
	A.proxies.elem = sizeof(struct net_neigh);
	rc = apply_links(&A);
	if (rc == 0)
		rc = apply_addrs(&A);
	if (rc == 0)
		rc = compute_proxies(&A);
	if (rc == 0)
		rc = apply_routes(&A);
	if (rc == 0)
		rc = apply_proxy(&A);
	if (rc == 0 && net->cfg.enable_forwarding) {
		struct undo_op op = {.kind = U_FORWARD};

		rc = write_forward('1', &op.u.fwd_old);
		if (rc < 0)
			pc_err_set(err, PC_ERR_APPLY, "", "write /proc/sys/net/ipv4/ip_forward: %s",
			           strerror(-rc));
		else if (op.u.fwd_old != '1' && undo_push(A.u, &op) < 0)
			rc = pc_err_set(err, PC_ERR_INTERNAL, "", "net: out of memory");
	}
	free(A.ifindex);
	free(A.proxies.v);
	free(A.extra);
	if (rc < 0) {
		if (net_undo_run(net, A.u) < 0)
			log_error(LOG_NET, "could not undo every change after: %s",
			          err ? err->msg : "error");
		net_undo_free(A.u);
		return rc;
	}
	if (undo != NULL)
		*undo = A.u;
	else
		net_undo_free(A.u);
	return 0;
}

int
net_apply_db(struct net *net, struct db *db, struct pc_err *err)
{
	struct nat_model *m;
	int rc = nat_model_load(db, &m, err);

	if (rc < 0)
		return rc;
	rc = net_apply(net, m, NULL, err);
	nat_model_free(m);
	return rc;
}
