/* Per-TCP-connection accounting from conntrack events (see acct_ct.h). */
#include "gateway/aaa/acct_ct.h"
#include "db/db.h"
#include "gateway/aaa/aaa.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"
#include "gateway/uauth/uauth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- ctnetlink parsing: one callback per nesting level, each checking type and length ---- */

struct attr_tb {
	const struct nlattr **tb;
	int max;
	const char **why;
};

static int
attr_check(const struct nlattr *a, struct attr_tb *t, enum mnl_attr_data_type dt, const char *what)
{
	int type = mnl_attr_get_type(a);

	if (mnl_attr_validate(a, dt) < 0) {
		*t->why = what;
		return MNL_CB_ERROR;
	}
	t->tb[type] = a;
	return MNL_CB_OK;
}

static int
cb_top(const struct nlattr *a, void *data)
{
	struct attr_tb *t = data;

	if (mnl_attr_type_valid(a, CTA_MAX) < 0)
		return MNL_CB_OK; /* newer kernel attribute: ignored */
	switch (mnl_attr_get_type(a)) {
	case CTA_TUPLE_ORIG:
		return attr_check(a, t, MNL_TYPE_NESTED,
		                  "CTA_TUPLE_ORIG: expected a nested attribute");
	case CTA_TUPLE_REPLY:
		return attr_check(a, t, MNL_TYPE_NESTED,
		                  "CTA_TUPLE_REPLY: expected a nested attribute");
	case CTA_COUNTERS_ORIG:
		return attr_check(a, t, MNL_TYPE_NESTED,
		                  "CTA_COUNTERS_ORIG: expected a nested attribute");
	case CTA_COUNTERS_REPLY:
		return attr_check(a, t, MNL_TYPE_NESTED,
		                  "CTA_COUNTERS_REPLY: expected a nested attribute");
	case CTA_ID:
		return attr_check(a, t, MNL_TYPE_U32, "CTA_ID: expected 4 bytes");
	case CTA_PROTOINFO:
		return attr_check(a, t, MNL_TYPE_NESTED,
		                  "CTA_PROTOINFO: expected a nested attribute");
	default:
		return MNL_CB_OK;
	}
}

static int
cb_tuple(const struct nlattr *a, void *data)
{
	struct attr_tb *t = data;

	if (mnl_attr_type_valid(a, CTA_TUPLE_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(a)) {
	case CTA_TUPLE_IP:
		return attr_check(a, t, MNL_TYPE_NESTED,
		                  "CTA_TUPLE_IP: expected a nested attribute");
	case CTA_TUPLE_PROTO:
		return attr_check(a, t, MNL_TYPE_NESTED,
		                  "CTA_TUPLE_PROTO: expected a nested attribute");
	default:
		return MNL_CB_OK;
	}
}

static int
cb_ip(const struct nlattr *a, void *data)
{
	struct attr_tb *t = data;

	if (mnl_attr_type_valid(a, CTA_IP_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(a)) {
	case CTA_IP_V4_SRC:
		return attr_check(a, t, MNL_TYPE_U32, "CTA_IP_V4_SRC: expected 4 bytes");
	case CTA_IP_V4_DST:
		return attr_check(a, t, MNL_TYPE_U32, "CTA_IP_V4_DST: expected 4 bytes");
	case CTA_IP_V6_SRC:
	case CTA_IP_V6_DST:
		t->tb[mnl_attr_get_type(a)] = a;
		return MNL_CB_OK;
	default:
		return MNL_CB_OK;
	}
}

static int
cb_proto(const struct nlattr *a, void *data)
{
	struct attr_tb *t = data;

	if (mnl_attr_type_valid(a, CTA_PROTO_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(a)) {
	case CTA_PROTO_NUM:
		return attr_check(a, t, MNL_TYPE_U8, "CTA_PROTO_NUM: expected 1 byte");
	case CTA_PROTO_SRC_PORT:
		return attr_check(a, t, MNL_TYPE_U16, "CTA_PROTO_SRC_PORT: expected 2 bytes");
	case CTA_PROTO_DST_PORT:
		return attr_check(a, t, MNL_TYPE_U16, "CTA_PROTO_DST_PORT: expected 2 bytes");
	default:
		return MNL_CB_OK;
	}
}

static int
cb_counters(const struct nlattr *a, void *data)
{
	struct attr_tb *t = data;

	if (mnl_attr_type_valid(a, CTA_COUNTERS_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(a)) {
	case CTA_COUNTERS_PACKETS:
		return attr_check(a, t, MNL_TYPE_U64, "CTA_COUNTERS_PACKETS: expected 8 bytes");
	case CTA_COUNTERS_BYTES:
		return attr_check(a, t, MNL_TYPE_U64, "CTA_COUNTERS_BYTES: expected 8 bytes");
	default:
		return MNL_CB_OK;
	}
}

/* mnl_attr_parse() stops quietly at an attribute that does not fit: check first that the
 * attributes fill the area [p, p + len) exactly (the last one's alignment padding aside). */
static int
attrs_fit(const void *p, size_t len, const char **why)
{
	const struct nlattr *a = p;
	int left = (int)len;

	while (left >= (int)sizeof(struct nlattr)) {
		if (!mnl_attr_ok(a, left)) {
			*why = "attribute length runs past its message or nest";
			return -EINVAL;
		}
		left -= (int)MNL_ALIGN(a->nla_len);
		a = mnl_attr_next(a);
	}
	if (left > 0) {
		*why = "trailing bytes shorter than an attribute header";
		return -EINVAL;
	}
	return 0;
}

static int
cb_protoinfo(const struct nlattr *a, void *data)
{
	struct attr_tb *t = data;

	if (mnl_attr_type_valid(a, CTA_PROTOINFO_MAX) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP)
		return attr_check(a, t, MNL_TYPE_NESTED,
		                  "CTA_PROTOINFO_TCP: expected a nested attribute");
	return MNL_CB_OK;
}

static int
cb_protoinfo_tcp(const struct nlattr *a, void *data)
{
	struct attr_tb *t = data;

	if (mnl_attr_type_valid(a, CTA_PROTOINFO_TCP_MAX) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP_STATE)
		return attr_check(a, t, MNL_TYPE_U8, "CTA_PROTOINFO_TCP_STATE: expected 1 byte");
	return MNL_CB_OK;
}

static int
parse_nest(const struct nlattr *nest, mnl_attr_cb_t cb, const struct nlattr **tb, int max,
           const char **why)
{
	struct attr_tb t = {.tb = tb, .max = max, .why = why};

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	*why = NULL;
	if (attrs_fit(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), why) < 0)
		return -EINVAL;
	if (mnl_attr_parse_nested(nest, cb, &t) < 0) {
		if (*why == NULL)
			*why = "truncated nested attribute";
		return -EINVAL;
	}
	return 0;
}

static int
parse_tuple(const struct nlattr *nest, struct acct_ct_tuple *tu, const char **why)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];

	if (parse_nest(nest, cb_tuple, tb, CTA_TUPLE_MAX, why) < 0)
		return -EINVAL;
	if (tb[CTA_TUPLE_IP] == NULL || tb[CTA_TUPLE_PROTO] == NULL) {
		*why = "tuple without CTA_TUPLE_IP or CTA_TUPLE_PROTO";
		return -EINVAL;
	}
	if (parse_nest(tb[CTA_TUPLE_IP], cb_ip, ip, CTA_IP_MAX, why) < 0 ||
	    parse_nest(tb[CTA_TUPLE_PROTO], cb_proto, pr, CTA_PROTO_MAX, why) < 0)
		return -EINVAL;
	if (ip[CTA_IP_V6_SRC] != NULL || ip[CTA_IP_V6_DST] != NULL) {
		*why = "IPv6 tuple";
		return -EAFNOSUPPORT;
	}
	if (ip[CTA_IP_V4_SRC] == NULL || ip[CTA_IP_V4_DST] == NULL) {
		*why = "tuple without CTA_IP_V4_SRC or CTA_IP_V4_DST";
		return -EINVAL;
	}
	if (pr[CTA_PROTO_NUM] == NULL) {
		*why = "tuple without CTA_PROTO_NUM";
		return -EINVAL;
	}
	tu->src = ntohl(mnl_attr_get_u32(ip[CTA_IP_V4_SRC]));
	tu->dst = ntohl(mnl_attr_get_u32(ip[CTA_IP_V4_DST]));
	tu->proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
	tu->sport = tu->dport = 0;
	if (tu->proto == IPPROTO_TCP || tu->proto == IPPROTO_UDP) {
		if (pr[CTA_PROTO_SRC_PORT] == NULL || pr[CTA_PROTO_DST_PORT] == NULL) {
			*why = "TCP/UDP tuple without CTA_PROTO_SRC_PORT or CTA_PROTO_DST_PORT";
			return -EINVAL;
		}
		tu->sport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT]));
		tu->dport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]));
	}
	return 0;
}

static int
parse_counters(const struct nlattr *nest, uint64_t *bytes, uint64_t *packets, const char **why)
{
	const struct nlattr *tb[CTA_COUNTERS_MAX + 1];

	if (parse_nest(nest, cb_counters, tb, CTA_COUNTERS_MAX, why) < 0)
		return -EINVAL;
	if (tb[CTA_COUNTERS_BYTES] == NULL || tb[CTA_COUNTERS_PACKETS] == NULL) {
		*why = "counters without CTA_COUNTERS_BYTES or CTA_COUNTERS_PACKETS";
		return -EINVAL;
	}
	*bytes = be64toh(mnl_attr_get_u64(tb[CTA_COUNTERS_BYTES]));
	*packets = be64toh(mnl_attr_get_u64(tb[CTA_COUNTERS_PACKETS]));
	return 0;
}

int
acct_ct_parse_msg(const void *buf, size_t len, struct acct_ct_msg *out, const char **why)
{
	const struct nlmsghdr *nlh = buf;
	const struct nlattr *tb[CTA_MAX + 1] = {0};
	struct attr_tb t = {.tb = tb, .max = CTA_MAX, .why = why};
	const struct nfgenmsg *nfg;
	int rc;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	/* not mnl_nlmsg_ok(): it compares nlmsg_len as an int, so 0xfffffff0 passes */
	if (len < sizeof(struct nlmsghdr) || len > INT32_MAX ||
	    nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > len) {
		*why = "shorter than its netlink header or its nlmsg_len";
		return -EINVAL;
	}
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK) {
		*why = "not a ctnetlink message";
		return -EINVAL;
	}
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case IPCTNL_MSG_CT_NEW:
		out->event = (nlh->nlmsg_flags & NLM_F_CREATE) ? ACCT_CT_EV_NEW : ACCT_CT_EV_UPDATE;
		break;
	case IPCTNL_MSG_CT_DELETE:
		out->event = ACCT_CT_EV_DESTROY;
		break;
	default:
		*why = "not IPCTNL_MSG_CT_NEW or IPCTNL_MSG_CT_DELETE";
		return -EINVAL;
	}
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg)) {
		*why = "no room for the nfgenmsg header";
		return -EINVAL;
	}
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family == AF_INET6) {
		*why = "IPv6 connection";
		return -EAFNOSUPPORT;
	}
	if (nfg->nfgen_family != AF_INET) {
		*why = "nfgen_family is not AF_INET";
		return -EINVAL;
	}
	if (attrs_fit(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)),
	              nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(struct nfgenmsg)),
	              why) < 0)
		return -EINVAL;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), cb_top, &t) < 0) {
		if (*why == NULL)
			*why = "truncated attribute";
		return -EINVAL;
	}
	if (tb[CTA_TUPLE_ORIG] == NULL) {
		*why = "no CTA_TUPLE_ORIG";
		return -EINVAL;
	}
	rc = parse_tuple(tb[CTA_TUPLE_ORIG], &out->orig, why);
	if (rc < 0)
		return rc;
	if (tb[CTA_TUPLE_REPLY] != NULL) {
		rc = parse_tuple(tb[CTA_TUPLE_REPLY], &out->reply, why);
		if (rc < 0)
			return rc;
		out->has_reply = true;
	}
	if (tb[CTA_COUNTERS_ORIG] != NULL && tb[CTA_COUNTERS_REPLY] != NULL) {
		if (parse_counters(tb[CTA_COUNTERS_ORIG], &out->orig_bytes, &out->orig_packets,
		                   why) < 0 ||
		    parse_counters(tb[CTA_COUNTERS_REPLY], &out->reply_bytes, &out->reply_packets,
		                   why) < 0)
			return -EINVAL;
		out->has_counters = true;
	}
	if (tb[CTA_PROTOINFO] != NULL) {
		const struct nlattr *pi[CTA_PROTOINFO_MAX + 1], *tcp[CTA_PROTOINFO_TCP_MAX + 1];

		if (parse_nest(tb[CTA_PROTOINFO], cb_protoinfo, pi, CTA_PROTOINFO_MAX, why) < 0)
			return -EINVAL;
		if (pi[CTA_PROTOINFO_TCP] != NULL) {
			if (parse_nest(pi[CTA_PROTOINFO_TCP], cb_protoinfo_tcp, tcp,
			               CTA_PROTOINFO_TCP_MAX, why) < 0)
				return -EINVAL;
			if (tcp[CTA_PROTOINFO_TCP_STATE] != NULL) {
				out->has_tcp_state = true;
				out->tcp_state = mnl_attr_get_u8(tcp[CTA_PROTOINFO_TCP_STATE]);
			}
		}
	}
	if (tb[CTA_ID] != NULL)
		out->id = ntohl(mnl_attr_get_u32(tb[CTA_ID]));
	return 0;
}

/* ---- rules and the interface model ---- */

int
acct_ct_service_parse(const char *s, struct acct_ct_rule *r)
{
	char *end;
	unsigned long port;

	r->port = 0;
	if (strcmp(s, "any") == 0 || strcmp(s, "tcp/0") == 0) {
		r->service = ACCT_CT_SVC_ANY;
		return 0;
	}
	r->service = ACCT_CT_SVC_TCP_PORT;
	if (strcmp(s, "telnet") == 0)
		r->port = 23;
	else if (strcmp(s, "http") == 0)
		r->port = 80;
	else if (strcmp(s, "ftp") == 0)
		r->port = 21;
	else if (strncmp(s, "tcp/", 4) == 0) {
		if (s[4] < '0' || s[4] > '9')
			return -EINVAL;
		errno = 0;
		port = strtoul(s + 4, &end, 10);
		if (errno != 0 || *end != '\0' || port > 65535)
			return -EINVAL;
		r->port = (uint16_t)port;
	} else if (strchr(s, '/') != NULL) {
		r->service = ACCT_CT_SVC_OTHER; /* udp/53, icmp/..: valid, but not a TCP service */
	} else {
		return -EINVAL;
	}
	return 0;
}

static uint32_t
col_ip4(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	uint32_t v;

	if (s == NULL || db_ip4_parse((const char *)s, &v) < 0)
		return 0;
	return v;
}

static int
load_rules(struct db *db, struct acct_ct_config *cfg, struct pc_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = db_prepare(db,
	                "SELECT r.id, r.action, r.service, r.interface_id, r.direction, "
	                "r.local_address, r.local_netmask, r.foreign_address, r.foreign_netmask, "
	                "g.name FROM aaa_rule r LEFT JOIN aaa_server_group g ON g.id = r.group_id "
	                "WHERE r.kind = 'accounting' AND r.action IN ('include', 'exclude') "
	                "ORDER BY r.position, r.id",
	                &st, err);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct acct_ct_rule r = {0};
		const char *svc = (const char *)sqlite3_column_text(st, 2);
		const char *dir = (const char *)sqlite3_column_text(st, 4);
		const char *grp = (const char *)sqlite3_column_text(st, 9);

		r.include = strcmp((const char *)sqlite3_column_text(st, 1), "include") == 0;
		if (svc == NULL || acct_ct_service_parse(svc, &r) < 0) {
			log_warn(LOG_AAA,
			         "aaa_rule %lld: accounting service '%s' is not any, telnet, http, "
			         "ftp or PROTO/PORT; the rule is ignored",
			         (long long)sqlite3_column_int64(st, 0),
			         svc != NULL ? svc : "(none)");
			continue;
		}
		if (r.service == ACCT_CT_SVC_OTHER)
			log_info(LOG_AAA,
			         "aaa_rule %lld: accounting service '%s' is not TCP: only TCP "
			         "connections are accounted",
			         (long long)sqlite3_column_int64(st, 0), svc);
		r.interface_id = sqlite3_column_int64(st, 3);
		if (dir != NULL && strcmp(dir, "inbound") == 0)
			r.direction = ACCT_CT_DIR_INBOUND;
		else if (dir != NULL && strcmp(dir, "outbound") == 0)
			r.direction = ACCT_CT_DIR_OUTBOUND;
		r.local_addr = col_ip4(st, 5);
		r.local_mask = col_ip4(st, 6);
		r.foreign_addr = col_ip4(st, 7);
		r.foreign_mask = col_ip4(st, 8);
		if (grp != NULL)
			snprintf(r.group, sizeof(r.group), "%s", grp);
		if (cfg->nrules >= ACCT_CT_MAX_RULES) {
			sqlite3_finalize(st);
			return pc_err_set(err, PC_ERR_INVALID, "aaa_rule",
			                  "more than %d aaa accounting rules", ACCT_CT_MAX_RULES);
		}
		cfg->rules[cfg->nrules++] = r;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(db, err, "select aaa_rule");
	return 0;
}

static int
load_model(struct db *db, struct acct_ct_config *cfg, struct pc_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = db_prepare(db,
	                "SELECT id, address, netmask, coalesce(security, 0) FROM interface "
	                "WHERE nameif IS NOT NULL ORDER BY position, id",
	                &st, err);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && cfg->nifs < ACCT_CT_MAX_IFS) {
		struct acct_ct_iface *f = &cfg->ifs[cfg->nifs++];

		f->id = sqlite3_column_int64(st, 0);
		f->addr = col_ip4(st, 1);
		f->mask = col_ip4(st, 2);
		f->security = sqlite3_column_int(st, 3);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(db, err, "select interface");
	rc = db_prepare(
	        db, "SELECT interface_id, destination, netmask FROM route ORDER BY position, id",
	        &st, err);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && cfg->nroutes < ACCT_CT_MAX_ROUTES) {
		struct acct_ct_route *r = &cfg->routes[cfg->nroutes++];

		r->interface_id = sqlite3_column_int64(st, 0);
		r->dst = col_ip4(st, 1);
		r->mask = col_ip4(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(db, err, "select route");
	rc = db_prepare(db,
	                "SELECT interface_id FROM crypto_map_interface ORDER BY position LIMIT 1",
	                &st, err);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		cfg->vpn_interface_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int
acct_ct_config_load(struct db *db, struct acct_ct_config *cfg, struct pc_err *err)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = load_rules(db, cfg, err);
	if (rc < 0)
		return rc;
	return load_model(db, cfg, err);
}

static const struct acct_ct_iface *
iface_by_id(const struct acct_ct_config *cfg, int64_t id)
{
	for (int i = 0; i < cfg->nifs; i++)
		if (cfg->ifs[i].id == id)
			return &cfg->ifs[i];
	return NULL;
}

static int
mask_len(uint32_t m)
{
	return __builtin_popcount(m);
}

/* The interface addr is reached through: a connected subnet, else the longest matching route. */
static const struct acct_ct_iface *
iface_for(const struct acct_ct_config *cfg, uint32_t addr)
{
	const struct acct_ct_iface *best = NULL;
	int best_len = -1;

	for (int i = 0; i < cfg->nifs; i++) {
		const struct acct_ct_iface *f = &cfg->ifs[i];

		if (f->addr == 0 || (addr & f->mask) != (f->addr & f->mask))
			continue;
		if (mask_len(f->mask) > best_len) {
			best = f;
			best_len = mask_len(f->mask);
		}
	}
	if (best != NULL)
		return best;
	for (int i = 0; i < cfg->nroutes; i++) {
		const struct acct_ct_route *r = &cfg->routes[i];
		const struct acct_ct_iface *f;

		if ((addr & r->mask) != (r->dst & r->mask) || mask_len(r->mask) <= best_len)
			continue;
		f = iface_by_id(cfg, r->interface_id);
		if (f != NULL) {
			best = f;
			best_len = mask_len(r->mask);
		}
	}
	return best;
}

static bool
in_net(uint32_t a, uint32_t net, uint32_t mask)
{
	return (a & mask) == (net & mask);
}

int
acct_ct_rule_match(const struct acct_ct_config *cfg, const struct acct_ct_conn *c, char *group,
                   size_t gcap)
{
	const struct acct_ct_iface *in =
	        c->from_vpn ? iface_by_id(cfg, cfg->vpn_interface_id) : iface_for(cfg, c->src);
	const struct acct_ct_iface *outif = iface_for(cfg, c->real_dst);
	enum acct_ct_dir dir = ACCT_CT_DIR_NONE;

	if (c->from_vpn && in == NULL)
		in = iface_for(cfg, c->src);
	if (in != NULL && outif != NULL && in->security != outif->security)
		dir = in->security < outif->security ? ACCT_CT_DIR_INBOUND : ACCT_CT_DIR_OUTBOUND;
	for (int i = 0; i < cfg->nrules; i++) {
		const struct acct_ct_rule *r = &cfg->rules[i];
		bool local_is_dst;

		if (r->service == ACCT_CT_SVC_OTHER ||
		    (r->service == ACCT_CT_SVC_TCP_PORT && r->port != c->dport))
			continue;
		if (r->interface_id != 0) {
			if (in == NULL || in->id != r->interface_id)
				continue;
			local_is_dst = dir != ACCT_CT_DIR_OUTBOUND;
		} else {
			if (r->direction == ACCT_CT_DIR_NONE || r->direction != dir)
				continue;
			local_is_dst = dir == ACCT_CT_DIR_INBOUND;
		}
		/* the inside side may be named by its real or its mapped (static) address */
		if (local_is_dst ? !in_net(c->real_dst, r->local_addr, r->local_mask) &&
		                           !in_net(c->dst, r->local_addr, r->local_mask)
		                 : !in_net(c->src, r->local_addr, r->local_mask))
			continue;
		if (local_is_dst ? !in_net(c->src, r->foreign_addr, r->foreign_mask)
		                 : !in_net(c->real_dst, r->foreign_addr, r->foreign_mask) &&
		                           !in_net(c->dst, r->foreign_addr, r->foreign_mask))
			continue;
		if (!r->include)
			return 0;
		snprintf(group, gcap, "%s", r->group);
		return 1;
	}
	return -ENOENT;
}

void
acct_ct_service_name(uint16_t dport, char *buf, size_t len)
{
	switch (dport) {
	case 23:
		snprintf(buf, len, "telnet");
		break;
	case 80:
		snprintf(buf, len, "http");
		break;
	case 21:
		snprintf(buf, len, "ftp");
		break;
	default:
		snprintf(buf, len, "tcp/%u", (unsigned)dport);
		break;
	}
}

/* ---- the live subscriber ---- */

#define ACCT_CT_BUCKETS 4096      /* hash buckets over the conntrack id */
#define ACCT_CT_RCVBUF  (1 << 20) /* socket receive buffer asked for */

struct tracked {
	uint32_t ct_id;
	struct acct_ct_tuple orig;
	uint32_t task_id;
	uint64_t started_ms;
	uint64_t ended_ms; /* when conntrack saw it closed (TIME_WAIT, CLOSE); 0 still open */
	char group[ACCT_CT_MAX_GROUP];
	char user[AAA_MAX_USER];
	char user_group[64];
	uint32_t peer_addr;
	char service[32];
	char session_id[64];
	struct tracked *next;
};

struct acct_ct {
	struct loop *loop;
	struct aaa *aaa;
	struct uauth *uauth;
	struct mnl_socket *nl;
	int fd;
	int64_t started_epoch;
	struct acct_ct_config cfg;
	struct tracked *buckets[ACCT_CT_BUCKETS];
	int nconns;            /* at most ACCT_CT_MAX_CONNS */
	uint32_t next_task;    /* task ids when conntrack gives no id */
	uint32_t next_session; /* makes session ids unique even if a conntrack id repeats */
	uint64_t overflow_logged_ms;
};

static unsigned
bucket_of(uint32_t id)
{
	return (id * 2654435761u) % ACCT_CT_BUCKETS;
}

static bool
tuple_eq(const struct acct_ct_tuple *a, const struct acct_ct_tuple *b)
{
	return a->src == b->src && a->dst == b->dst && a->proto == b->proto &&
	       a->sport == b->sport && a->dport == b->dport;
}

static void
fill_event(struct aaa_acct_event *ev, const struct tracked *t, enum aaa_acct_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	snprintf(ev->group, sizeof(ev->group), "%s", t->group);
	snprintf(ev->session_id, sizeof(ev->session_id), "%s", t->session_id);
	ev->task_id = t->task_id;
	snprintf(ev->user, sizeof(ev->user), "%s", t->user);
	snprintf(ev->user_group, sizeof(ev->user_group), "%s", t->user_group);
	ev->caller_addr = t->orig.src;
	ev->peer_addr = t->peer_addr;
	snprintf(ev->service, sizeof(ev->service), "%s", t->service);
	snprintf(ev->protocol, sizeof(ev->protocol), "tcp");
}

static void
account(struct acct_ct *ac, const struct aaa_acct_event *ev)
{
	struct pc_err err = {0};
	char a[16];
	struct in_addr ia = {.s_addr = htonl(ev->caller_addr)};

	inet_ntop(AF_INET, &ia, a, sizeof(a));
	if (aaa_account(ac->aaa, ev, &err) < 0)
		log_error(LOG_AAA, "%s %s: connection accounting %s (%s): %s", ev->user, a,
		          ev->type == AAA_ACCT_START ? "start" : "stop", ev->service, err.msg);
	else
		log_debug(LOG_AAA, "%s %s: connection %s %s, task %u", ev->user, a,
		          ev->type == AAA_ACCT_START ? "start" : "stop", ev->service, ev->task_id);
}

static void
on_new(struct acct_ct *ac, const struct acct_ct_msg *m)
{
	struct acct_ct_conn c = {.src = m->orig.src,
	                         .dst = m->orig.dst,
	                         .real_dst = m->has_reply ? m->reply.src : m->orig.dst,
	                         .dport = m->orig.dport};
	enum uauth_method method;
	struct tracked *t;
	struct aaa_acct_event ev;
	char user[AAA_MAX_USER], ugroup[64], group[ACCT_CT_MAX_GROUP];
	uint64_t now = loop_now_ms();

	if (m->orig.proto != IPPROTO_TCP) /* ICMP and UDP are not accounted, as in the PIX */
		return;
	if (uauth_lookup(ac->uauth, m->orig.src, user, sizeof(user), ugroup, sizeof(ugroup),
	                 &method) < 0)
		return;
	c.from_vpn = method == UAUTH_METHOD_IPSEC;
	if (acct_ct_rule_match(&ac->cfg, &c, group, sizeof(group)) != 1 || group[0] == '\0')
		return;
	if (ac->nconns >= ACCT_CT_MAX_CONNS) {
		if (now - ac->overflow_logged_ms >= 10000 || ac->overflow_logged_ms == 0) {
			log_warn(LOG_AAA,
			         "%s: connection to port %u not accounted: %d connections are "
			         "accounted already (ACCT_CT_MAX_CONNS)",
			         user, (unsigned)c.dport, ac->nconns);
			ac->overflow_logged_ms = now;
		}
		return;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		log_error(LOG_AAA, "%s: connection not accounted: calloc: %s", user,
		          strerror(ENOMEM));
		return;
	}
	t->ct_id = m->id;
	t->orig = m->orig;
	/* the conntrack id: unique among live connections and unlike the tunnels' small task
	 * ids (IKE SA ids); a counter when the kernel sent none */
	t->task_id = m->id != 0 ? m->id : ++ac->next_task;
	ac->next_session++;
	t->started_ms = now;
	snprintf(t->group, sizeof(t->group), "%s", group);
	snprintf(t->user, sizeof(t->user), "%s", user);
	snprintf(t->user_group, sizeof(t->user_group), "%s", ugroup);
	t->peer_addr = c.from_vpn ? 0 : m->orig.src;
	acct_ct_service_name(c.dport, t->service, sizeof(t->service));
	snprintf(t->session_id, sizeof(t->session_id), "%08" PRIx64 "-ct%08x-%u",
	         (uint64_t)ac->started_epoch, m->id, ac->next_session);
	t->next = ac->buckets[bucket_of(m->id)];
	ac->buckets[bucket_of(m->id)] = t;
	ac->nconns++;
	fill_event(&ev, t, AAA_ACCT_START);
	account(ac, &ev);
}

static struct tracked **
find_tracked(struct acct_ct *ac, const struct acct_ct_msg *m)
{
	struct tracked **pp = &ac->buckets[bucket_of(m->id)];

	while (*pp != NULL && !((*pp)->ct_id == m->id && tuple_eq(&(*pp)->orig, &m->orig)))
		pp = &(*pp)->next;
	return pp;
}

/* A TCP state change: the connection's time ends when both sides closed or it was reset. */
static void
on_update(struct acct_ct *ac, const struct acct_ct_msg *m)
{
	struct tracked *t;

	if (m->orig.proto != IPPROTO_TCP || !m->has_tcp_state)
		return;
	t = *find_tracked(ac, m);
	if (t == NULL || t->ended_ms != 0)
		return;
	if (m->tcp_state == TCP_CONNTRACK_TIME_WAIT || m->tcp_state == TCP_CONNTRACK_CLOSE)
		t->ended_ms = loop_now_ms();
}

static void
on_destroy(struct acct_ct *ac, const struct acct_ct_msg *m)
{
	struct tracked **pp, *t;
	struct aaa_acct_event ev;
	uint64_t end = loop_now_ms();

	if (m->orig.proto != IPPROTO_TCP)
		return;
	pp = find_tracked(ac, m);
	t = *pp;
	if (t == NULL)
		return;
	*pp = t->next;
	ac->nconns--;
	fill_event(&ev, t, AAA_ACCT_STOP);
	if (t->ended_ms != 0)
		end = t->ended_ms;
	ev.elapsed_s = end > t->started_ms ? (end - t->started_ms) / 1000 : 0;
	if (m->has_counters) {
		ev.bytes_in = m->orig_bytes;
		ev.packets_in = m->orig_packets;
		ev.bytes_out = m->reply_bytes;
		ev.packets_out = m->reply_packets;
	} else {
		log_warn(LOG_AAA,
		         "%s: connection stop without counters (conntrack accounting off when "
		         "it started?): bytes reported as 0",
		         t->user);
	}
	snprintf(ev.terminate_cause, sizeof(ev.terminate_cause), "closed");
	account(ac, &ev);
	free(t);
}

static void
on_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct acct_ct *ac = arg;
	char buf[MNL_SOCKET_BUFFER_SIZE];

	(void)loop;
	(void)fd;
	(void)events;
	for (int round = 0; round < 64; round++) {
		ssize_t n = mnl_socket_recvfrom(ac->nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == ENOBUFS) {
				log_warn(LOG_AAA,
				         "conntrack events lost (ENOBUFS: the socket's "
				         "receive buffer overflowed); some connections are "
				         "not accounted");
				continue;
			}
			log_error(LOG_AAA, "recvfrom(ctnetlink): %s", strerror(errno));
			return;
		}
		left = (int)n;
		while (mnl_nlmsg_ok(nlh, left)) {
			struct acct_ct_msg m;
			const char *why = NULL;
			int rc = acct_ct_parse_msg(nlh, nlh->nlmsg_len, &m, &why);

			if (rc == 0 && m.event == ACCT_CT_EV_NEW)
				on_new(ac, &m);
			else if (rc == 0 && m.event == ACCT_CT_EV_UPDATE)
				on_update(ac, &m);
			else if (rc == 0)
				on_destroy(ac, &m);
			else if (rc != -EAFNOSUPPORT)
				log_debug(LOG_AAA, "conntrack event ignored: %s", why);
			nlh = mnl_nlmsg_next(nlh, &left);
		}
	}
}

static void
enable_ct_acct(void)
{
	const char *path = "/proc/sys/net/netfilter/nf_conntrack_acct";
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		log_warn(LOG_AAA,
		         "open %s: %s: connection byte counts depend on the current setting", path,
		         strerror(errno));
		return;
	}
	if (write(fd, "1\n", 2) != 2)
		log_warn(LOG_AAA,
		         "write %s: %s: connection byte counts depend on the current setting", path,
		         strerror(errno));
	close(fd);
}

int
acct_ct_new(struct loop *loop, struct db *db, struct aaa *aaa, struct uauth *uauth,
            int64_t started_epoch, struct acct_ct **out, struct pc_err *err)
{
	struct acct_ct *ac;
	int rc, rcvbuf = ACCT_CT_RCVBUF, fl;

	*out = NULL;
	ac = calloc(1, sizeof(*ac));
	if (ac == NULL) {
		pc_err_set(err, PC_ERR_INTERNAL, "", "calloc: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ac->loop = loop;
	ac->aaa = aaa;
	ac->uauth = uauth;
	ac->started_epoch = started_epoch;
	ac->fd = -1;
	rc = acct_ct_config_load(db, &ac->cfg, err);
	if (rc < 0)
		goto out;
	enable_ct_acct();
	ac->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (ac->nl == NULL) {
		rc = -errno;
		pc_err_set(err, PC_ERR_INTERNAL, "", "mnl_socket_open(NETLINK_NETFILTER): %s",
		           strerror(-rc));
		goto out;
	}
	if (mnl_socket_bind(ac->nl,
	                    (1u << (NFNLGRP_CONNTRACK_NEW - 1)) |
	                            (1u << (NFNLGRP_CONNTRACK_UPDATE - 1)) |
	                            (1u << (NFNLGRP_CONNTRACK_DESTROY - 1)),
	                    MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		pc_err_set(err, PC_ERR_INTERNAL, "",
		           "mnl_socket_bind(conntrack new/update/destroy): %s", strerror(-rc));
		goto out;
	}
	ac->fd = mnl_socket_get_fd(ac->nl);
	fl = fcntl(ac->fd, F_GETFL);
	if (fl < 0 || fcntl(ac->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		rc = -errno;
		pc_err_set(err, PC_ERR_INTERNAL, "", "fcntl O_NONBLOCK: %s", strerror(-rc));
		goto out;
	}
	if (setsockopt(ac->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		log_warn(LOG_AAA, "setsockopt SO_RCVBUF(ctnetlink): %s", strerror(errno));
	rc = loop_add_fd(loop, ac->fd, EPOLLIN, on_readable, ac);
	if (rc < 0) {
		pc_err_set(err, PC_ERR_INTERNAL, "", "loop_add_fd(ctnetlink): %s", strerror(-rc));
		goto out;
	}
	log_info(LOG_AAA,
	         "connection accounting: %d aaa accounting rules, conntrack events subscribed",
	         ac->cfg.nrules);
	*out = ac;
	return 0;
out:
	if (ac->nl != NULL)
		mnl_socket_close(ac->nl);
	free(ac);
	return rc;
}

int
acct_ct_reload(struct acct_ct *ac, struct db *db, struct pc_err *err)
{
	struct acct_ct_config *cfg;
	int rc;

	if (ac == NULL)
		return 0;
	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		pc_err_set(err, PC_ERR_INTERNAL, "", "malloc: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = acct_ct_config_load(db, cfg, err);
	if (rc == 0)
		ac->cfg = *cfg;
	free(cfg);
	return rc;
}

void
acct_ct_free(struct acct_ct *ac)
{
	if (ac == NULL)
		return;
	if (ac->fd >= 0)
		loop_del_fd(ac->loop, ac->fd);
	mnl_socket_close(ac->nl);
	for (int i = 0; i < ACCT_CT_BUCKETS; i++) {
		while (ac->buckets[i] != NULL) {
			struct tracked *t = ac->buckets[i];

			ac->buckets[i] = t->next;
			free(t);
		}
	}
	free(ac);
}

int
acct_ct_count(const struct acct_ct *ac)
{
	return ac != NULL ? ac->nconns : 0;
}
