/* Loading the data-plane part of the configuration model from SQLite. */
#include "gateway/nat/nat_model.h"

#include "db/db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct loader {
	struct db *db;
	struct nat_model *m;
	struct pc_err *err;
};

static int
grow(void **arr, size_t *n, size_t elem, struct pc_err *err, const char *what)
{
	void *p;

	if (*n >= NAT_MODEL_MAX_ROWS) {
		pc_err_set(err, PC_ERR_INVALID, "", "%s: more than %d rows", what,
		           NAT_MODEL_MAX_ROWS);
		return -E2BIG;
	}
	/* grow by doubling: capacity is implicit (next power of two >= n) */
	if ((*n & (*n - 1)) == 0) {
		size_t cap = *n == 0 ? 4 : *n * 2;

		p = realloc(*arr, cap * elem);
		if (p == NULL) {
			pc_err_set(err, PC_ERR_INTERNAL, "", "%s: out of memory", what);
			return -ENOMEM;
		}
		*arr = p;
	}
	memset((char *)*arr + *n * elem, 0, elem);
	(*n)++;
	return 0;
}

#define GROW(arr, n, what) grow((void **)&(arr), &(n), sizeof(*(arr)), L->err, (what))

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s == NULL ? "" : (const char *)s;
}

/* Copies a name column into dst[len]; a name that does not fit fails the load (cut, two names
 * could become one). */
static int
col_name(sqlite3_stmt *st, int i, char *dst, size_t len, struct pc_err *err, const char *what,
         const char *field)
{
	const char *s = col_text(st, i);
	size_t n = strlen(s);

	if (n >= len)
		return pc_err_set(err, PC_ERR_INVALID, field,
		                  "%s %s '%.40s...': %zu characters, at most %zu", what, field, s,
		                  n, len - 1);
	memcpy(dst, s, n + 1);
	return 0;
}

static uint32_t
col_u32(sqlite3_stmt *st, int i)
{
	return (uint32_t)sqlite3_column_int64(st, i);
}

static bool
col_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
}

int
nat_model_default_linux_name(const char *hw_name, char *out, size_t outlen)
{
	int n;

	if (strncmp(hw_name, "ethernet", 8) == 0 && hw_name[8] >= '0' && hw_name[8] <= '9')
		n = snprintf(out, outlen, "eth%s", hw_name + 8);
	else
		n = snprintf(out, outlen, "%s", hw_name);
	return n >= 0 && (size_t)n < outlen ? 0 : -ENAMETOOLONG;
}

static int
if_index(const struct nat_model *m, int64_t id)
{
	for (size_t i = 0; i < m->nifs; i++)
		if (m->ifs[i].id == id)
			return (int)i;
	return -1;
}

static int
acl_index(const struct nat_model *m, int64_t id)
{
	for (size_t i = 0; i < m->nacls; i++)
		if (m->acls[i].id == id)
			return (int)i;
	return -1;
}

static int
group_index(const struct nat_model *m, int64_t id)
{
	for (size_t i = 0; i < m->ngroups; i++)
		if (m->groups[i].id == id)
			return (int)i;
	return -1;
}

static int
load_interfaces(struct loader *L)
{
	sqlite3_stmt *st;
	int rc, step;

	rc = db_prepare(L->db,
	                "SELECT id, hw_name, linux_name, nameif, security, shutdown, ip_mode, "
	                "ip4(address), ip4(netmask), mtu FROM interface ORDER BY position, id",
	                &st, L->err);
	if (rc < 0)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct nm_interface *it;

		rc = GROW(L->m->ifs, L->m->nifs, "interface");
		if (rc < 0)
			break;
		it = &L->m->ifs[L->m->nifs - 1];
		it->id = sqlite3_column_int64(st, 0);
		rc = col_name(st, 1, it->hw_name, sizeof(it->hw_name), L->err, "interface",
		              "hw_name");
		if (rc < 0)
			break;
		if (!col_null(st, 2)) {
			if (strlen(col_text(st, 2)) >= IFNAMSIZ) {
				rc = pc_err_set(L->err, PC_ERR_INVALID, "linux_name",
				                "interface %s: Linux name '%s' longer than %d",
				                it->hw_name, col_text(st, 2), IFNAMSIZ - 1);
				break;
			}
			snprintf(it->linux_name, sizeof(it->linux_name), "%s", col_text(st, 2));
		} else {
			if (nat_model_default_linux_name(it->hw_name, it->linux_name,
			                                 sizeof(it->linux_name)) < 0) {
				rc = pc_err_set(
				        L->err, PC_ERR_INVALID, "linux_name",
				        "interface %s: no Linux name given, and the one made from "
				        "the hardware name is longer than %d: set linux_name",
				        it->hw_name, IFNAMSIZ - 1);
				break;
			}
		}
		rc = col_name(st, 3, it->nameif, sizeof(it->nameif), L->err, "interface", "nameif");
		if (rc < 0)
			break;
		it->security = col_null(st, 4) ? -1 : sqlite3_column_int(st, 4);
		it->shutdown = sqlite3_column_int(st, 5) != 0;
		it->has_address = strcmp(col_text(st, 6), "static") == 0 && !col_null(st, 7) &&
		                  !col_null(st, 8);
		it->address = col_u32(st, 7);
		it->netmask = col_u32(st, 8);
		it->mtu = sqlite3_column_int(st, 9);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read interfaces");
	sqlite3_finalize(st);
	return rc;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct nm_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sorts and merges overlapping or adjacent ranges in place (the kernel refuses overlaps). */
static void
ranges_normalize(struct nm_range *r, size_t *n)
{
	size_t out = 0;

	if (*n == 0)
		return;
	qsort(r, *n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < *n; i++) {
		if (r[i].lo <= r[out].hi || (r[out].hi != UINT32_MAX && r[i].lo == r[out].hi + 1)) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	*n = out + 1;
}

static int
protocol_number(const char *s)
{
	static const struct {
		const char *name;
		int num;
	} names[] = {
	        {"ip", -1},   {"icmp", 1},   {"igmp", 2},  {"ipinip", 4}, {"tcp", 6},
	        {"udp", 17},  {"gre", 47},   {"esp", 50},  {"ah", 51},    {"eigrp", 88},
	        {"ospf", 89}, {"nos", 94},   {"pim", 103}, {"pcp", 108},  {"snp", 109},
	        {"igrp", 9},  {"ipsec", 50}, {"pptp", 47}, {"icmp6", 58},
	};
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].num;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 255)
		return -2;
	return (int)v;
}

static int
icmp_type_number(const char *s)
{
	static const struct {
		const char *name;
		int num;
	} names[] = {
	        {"echo-reply", 0},           {"unreachable", 3},
	        {"source-quench", 4},        {"redirect", 5},
	        {"alternate-address", 6},    {"echo", 8},
	        {"router-advertisement", 9}, {"router-solicitation", 10},
	        {"time-exceeded", 11},       {"parameter-problem", 12},
	        {"timestamp-request", 13},   {"timestamp-reply", 14},
	        {"information-request", 15}, {"information-reply", 16},
	        {"mask-request", 17},        {"mask-reply", 18},
	        {"conversion-error", 31},    {"mobile-redirect", 32},
	};
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].num;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 255)
		return -2;
	return (int)v;
}

/* Appends the members of group gid (recursively) to g's ranges. */
static int
group_collect(struct loader *L, sqlite3_stmt *st, int64_t gid, struct nm_group *g, int depth)
{
	int64_t refs[64];
	int nrefs = 0, rc = 0, step;

	if (depth > NAT_GROUP_MAX_DEPTH)
		return pc_err_set(L->err, PC_ERR_INVALID, "",
		                  "object-group %s: nested deeper than %d", g->name,
		                  NAT_GROUP_MAX_DEPTH);
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, gid);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = col_text(st, 0);
		struct nm_range r = {0};

		if (strcmp(kind, "group") == 0) {
			if (nrefs == (int)(sizeof(refs) / sizeof(refs[0])))
				return pc_err_set(L->err, PC_ERR_INVALID, "",
				                  "object-group %s: more than 64 group-objects",
				                  g->name);
			refs[nrefs++] = sqlite3_column_int64(st, 7);
			continue;
		}
		if (strcmp(kind, "host") == 0) {
			r.lo = r.hi = col_u32(st, 1);
		} else if (strcmp(kind, "network") == 0) {
			uint32_t a = col_u32(st, 1), mk = col_u32(st, 2);

			r.lo = a & mk;
			r.hi = (a & mk) | ~mk;
		} else if (strcmp(kind, "port") == 0) {
			r.lo = (uint32_t)sqlite3_column_int(st, 4);
			r.hi = strcmp(col_text(st, 3), "range") == 0 && !col_null(st, 5)
			               ? (uint32_t)sqlite3_column_int(st, 5)
			               : r.lo;
		} else if (strcmp(kind, "protocol") == 0) {
			int p = protocol_number(col_text(st, 6));

			if (p == -1) { /* "ip": every protocol */
				r.lo = 0;
				r.hi = 255;
			} else if (p < 0) {
				return pc_err_set(L->err, PC_ERR_INVALID, "",
				                  "object-group %s: unknown protocol '%s'", g->name,
				                  col_text(st, 6));
			} else {
				r.lo = r.hi = (uint32_t)p;
			}
		} else if (strcmp(kind, "icmp-type") == 0) {
			int t = icmp_type_number(col_text(st, 6));

			if (t < 0)
				return pc_err_set(L->err, PC_ERR_INVALID, "",
				                  "object-group %s: unknown icmp-type '%s'",
				                  g->name, col_text(st, 6));
			r.lo = r.hi = (uint32_t)t;
		}
		rc = grow((void **)&g->ranges, &g->nranges, sizeof(r), L->err, "object-group");
		if (rc < 0)
			return rc;
		g->ranges[g->nranges - 1] = r;
	}
	if (step != SQLITE_DONE)
		return db_error(L->db, L->err, "read object-group members");
	for (int i = 0; i < nrefs && rc == 0; i++)
		rc = group_collect(L, st, refs[i], g, depth + 1);
	return rc;
}

static int
load_groups(struct loader *L)
{
	sqlite3_stmt *st, *mst = NULL;
	int rc, step;

	rc = db_prepare(L->db,
	                "SELECT id, name, kind, service_protocol FROM object_group "
	                "ORDER BY position, id",
	                &st, L->err);
	if (rc < 0)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct nm_group *g;
		const char *kind = col_text(st, 2), *sp = col_text(st, 3);

		rc = GROW(L->m->groups, L->m->ngroups, "object-group");
		if (rc < 0)
			break;
		g = &L->m->groups[L->m->ngroups - 1];
		g->id = sqlite3_column_int64(st, 0);
		rc = col_name(st, 1, g->name, sizeof(g->name), L->err, "object-group", "name");
		if (rc < 0)
			break;
		g->kind = strcmp(kind, "network") == 0    ? NM_GROUP_NETWORK
		          : strcmp(kind, "service") == 0  ? NM_GROUP_SERVICE
		          : strcmp(kind, "protocol") == 0 ? NM_GROUP_PROTOCOL
		                                          : NM_GROUP_ICMP;
		g->service_protocol = strcmp(sp, "tcp") == 0 ? 6 : strcmp(sp, "udp") == 0 ? 17 : 0;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read object-groups");
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	rc = db_prepare(L->db,
	                "SELECT kind, ip4(address), ip4(netmask), port_op, port_low, port_high, "
	                "value, ref_group_id FROM object_group_member WHERE group_id = ?1 "
	                "ORDER BY position, id",
	                &mst, L->err);
	for (size_t i = 0; rc == 0 && i < L->m->ngroups; i++) {
		struct nm_group *g = &L->m->groups[i];

		rc = group_collect(L, mst, g->id, g, 0);
		if (rc == 0)
			ranges_normalize(g->ranges, &g->nranges);
	}
	sqlite3_finalize(mst);
	return rc;
}

static int
load_acls(struct loader *L)
{
	sqlite3_stmt *st;
	int rc, step;

	rc = db_prepare(L->db, "SELECT id, name FROM access_list ORDER BY position, id", &st,
	                L->err);
	if (rc < 0)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = GROW(L->m->acls, L->m->nacls, "access-list");
		if (rc < 0)
			break;
		L->m->acls[L->m->nacls - 1].id = sqlite3_column_int64(st, 0);
		rc = col_name(st, 1, L->m->acls[L->m->nacls - 1].name, sizeof(L->m->acls[0].name),
		              L->err, "access-list", "name");
		if (rc < 0)
			break;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read access-lists");
	sqlite3_finalize(st);
	return rc;
}

static int
endpoint(struct loader *L, sqlite3_stmt *st, int col, struct nm_endpoint *ep, int64_t ace)
{
	const char *kind = col_text(st, col);

	ep->group = -1;
	if (strcmp(kind, "any") == 0) {
		ep->kind = NM_EP_ANY;
	} else if (strcmp(kind, "host") == 0) {
		ep->kind = NM_EP_NET;
		ep->address = col_u32(st, col + 1);
		ep->netmask = UINT32_MAX;
	} else if (strcmp(kind, "network") == 0) {
		ep->kind = NM_EP_NET;
		ep->netmask = col_u32(st, col + 2);
		ep->address = col_u32(st, col + 1) & ep->netmask;
	} else if (strcmp(kind, "group") == 0) {
		ep->kind = NM_EP_GROUP;
		ep->group = group_index(L->m, sqlite3_column_int64(st, col + 3));
		if (ep->group < 0 || L->m->groups[ep->group].kind != NM_GROUP_NETWORK)
			return pc_err_set(L->err, PC_ERR_INVALID, "",
			                  "access-list entry %lld: not a network object-group",
			                  (long long)ace);
	} else if (strcmp(kind, "interface") == 0) {
		int i = if_index(L->m, sqlite3_column_int64(st, col + 4));

		if (i < 0 || !L->m->ifs[i].has_address)
			return pc_err_set(L->err, PC_ERR_INVALID, "",
			                  "access-list entry %lld: interface has no address",
			                  (long long)ace);
		ep->kind = NM_EP_NET;
		ep->address = L->m->ifs[i].address;
		ep->netmask = UINT32_MAX;
	} else {
		return pc_err_set(L->err, PC_ERR_INVALID, "",
		                  "access-list entry %lld: endpoint kind '%s' unknown",
		                  (long long)ace, kind);
	}
	return 0;
}

static int
ports(struct loader *L, sqlite3_stmt *st, int col, struct nm_ports *p, int64_t ace)
{
	const char *op = col_text(st, col);

	p->group = -1;
	if (!col_null(st, col + 3)) {
		p->group = group_index(L->m, sqlite3_column_int64(st, col + 3));
		if (p->group < 0 || L->m->groups[p->group].kind != NM_GROUP_SERVICE)
			return pc_err_set(L->err, PC_ERR_INVALID, "",
			                  "access-list entry %lld: not a service object-group",
			                  (long long)ace);
		return 0;
	}
	p->lo = (uint16_t)sqlite3_column_int(st, col + 1);
	p->hi = col_null(st, col + 2) ? p->lo : (uint16_t)sqlite3_column_int(st, col + 2);
	p->op = *op == '\0'              ? NM_PORT_NONE
	        : strcmp(op, "eq") == 0  ? NM_PORT_EQ
	        : strcmp(op, "neq") == 0 ? NM_PORT_NEQ
	        : strcmp(op, "lt") == 0  ? NM_PORT_LT
	        : strcmp(op, "gt") == 0  ? NM_PORT_GT
	                                 : NM_PORT_RANGE;
	return 0;
}

static int
load_aces(struct loader *L)
{
	sqlite3_stmt *st;
	int rc, step;
	int64_t cur = -1;

	rc = db_prepare(
	        L->db,
	        "SELECT e.id, e.acl_id, e.position, e.action, e.protocol, e.protocol_group_id, "
	        "e.src_kind, ip4(e.src_address), ip4(e.src_netmask), e.src_group_id, "
	        "e.src_interface_id, e.src_port_op, e.src_port_low, e.src_port_high, "
	        "e.src_port_group_id, e.dst_kind, ip4(e.dst_address), ip4(e.dst_netmask), "
	        "e.dst_group_id, e.dst_interface_id, e.dst_port_op, e.dst_port_low, "
	        "e.dst_port_high, e.dst_port_group_id, e.icmp_type, e.icmp_group_id "
	        "FROM access_list_entry e JOIN access_list a ON a.id = e.acl_id "
	        "WHERE e.action <> 'remark' AND e.inactive = 0 "
	        "ORDER BY a.position, a.id, e.position",
	        &st, L->err);
	if (rc < 0)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct nm_ace *e;
		int acl;

		rc = GROW(L->m->aces, L->m->naces, "access-list entry");
		if (rc < 0)
			break;
		e = &L->m->aces[L->m->naces - 1];
		e->id = sqlite3_column_int64(st, 0);
		e->acl_id = sqlite3_column_int64(st, 1);
		e->position = sqlite3_column_int(st, 2);
		e->permit = strcmp(col_text(st, 3), "permit") == 0;
		e->protocol_group = -1;
		e->icmp_type = -1;
		e->icmp_group = -1;
		if (!col_null(st, 5)) {
			e->protocol = -1;
			e->protocol_group = group_index(L->m, sqlite3_column_int64(st, 5));
			if (e->protocol_group < 0 ||
			    L->m->groups[e->protocol_group].kind != NM_GROUP_PROTOCOL) {
				rc = pc_err_set(
				        L->err, PC_ERR_INVALID, "",
				        "access-list entry %lld: not a protocol object-group",
				        (long long)e->id);
				break;
			}
		} else {
			e->protocol = protocol_number(col_text(st, 4));
			if (e->protocol < -1) {
				rc = pc_err_set(L->err, PC_ERR_INVALID, "protocol",
				                "access-list entry %lld: unknown protocol '%s'",
				                (long long)e->id, col_text(st, 4));
				break;
			}
		}
		rc = endpoint(L, st, 6, &e->src, e->id);
		if (rc == 0)
			rc = ports(L, st, 11, &e->sport, e->id);
		if (rc == 0)
			rc = endpoint(L, st, 15, &e->dst, e->id);
		if (rc == 0)
			rc = ports(L, st, 20, &e->dport, e->id);
		if (rc < 0)
			break;
		if (!col_null(st, 24)) {
			e->icmp_type = icmp_type_number(col_text(st, 24));
			if (e->icmp_type < 0) {
				rc = pc_err_set(L->err, PC_ERR_INVALID, "icmp_type",
				                "access-list entry %lld: unknown icmp type '%s'",
				                (long long)e->id, col_text(st, 24));
				break;
			}
		}
		if (!col_null(st, 25)) {
			e->icmp_group = group_index(L->m, sqlite3_column_int64(st, 25));
			if (e->icmp_group < 0) {
				rc = pc_err_set(L->err, PC_ERR_INVALID, "",
				                "access-list entry %lld: "
				                "icmp object-group missing",
				                (long long)e->id);
				break;
			}
		}
		acl = acl_index(L->m, e->acl_id);
		if (acl < 0) {
			rc = pc_err_set(L->err, PC_ERR_INTERNAL, "", "access-list %lld vanished",
			                (long long)e->acl_id);
			break;
		}
		if (e->acl_id != cur) {
			L->m->acls[acl].first = L->m->naces - 1;
			cur = e->acl_id;
		}
		L->m->acls[acl].count++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read access-list entries");
	sqlite3_finalize(st);
	return rc;
}

static int
load_simple(struct loader *L)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	/* access-group */
	rc = db_prepare(L->db,
	                "SELECT acl_id, interface_id, direction FROM access_group ORDER BY id", &st,
	                L->err);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = GROW(L->m->agroups, L->m->nagroups, "access-group");
		if (rc < 0)
			break;
		struct nm_access_group *g = &L->m->agroups[L->m->nagroups - 1];

		g->acl = acl_index(L->m, sqlite3_column_int64(st, 0));
		g->interface = if_index(L->m, sqlite3_column_int64(st, 1));
		g->in = strcmp(col_text(st, 2), "in") == 0;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read access-groups");
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;

	/* global */
	rc = db_prepare(L->db,
	                "SELECT interface_id, nat_id, kind, ip4(start_address), ip4(end_address) "
	                "FROM nat_global ORDER BY position, id",
	                &st, L->err);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = GROW(L->m->globals, L->m->nglobals, "global");
		if (rc < 0)
			break;
		struct nm_global *g = &L->m->globals[L->m->nglobals - 1];
		const char *kind = col_text(st, 2);

		g->interface = if_index(L->m, sqlite3_column_int64(st, 0));
		g->nat_id = sqlite3_column_int64(st, 1);
		g->kind = strcmp(kind, "range") == 0 ? NM_GLOBAL_RANGE
		          : strcmp(kind, "pat") == 0 ? NM_GLOBAL_PAT
		                                     : NM_GLOBAL_INTERFACE;
		g->start = col_u32(st, 3);
		g->end = col_null(st, 4) ? g->start : col_u32(st, 4);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read globals");
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;

	/* nat */
	rc = db_prepare(L->db,
	                "SELECT interface_id, nat_id, acl_id, ip4(address), ip4(netmask), outside "
	                "FROM nat_rule ORDER BY position, id",
	                &st, L->err);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = GROW(L->m->nats, L->m->nnats, "nat");
		if (rc < 0)
			break;
		struct nm_nat *n = &L->m->nats[L->m->nnats - 1];

		n->interface = if_index(L->m, sqlite3_column_int64(st, 0));
		n->nat_id = sqlite3_column_int64(st, 1);
		n->acl = col_null(st, 2) ? -1 : acl_index(L->m, sqlite3_column_int64(st, 2));
		n->netmask = col_u32(st, 4);
		n->address = col_u32(st, 3) & n->netmask;
		n->outside = sqlite3_column_int(st, 5) != 0;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read nat rules");
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;

	/* static */
	rc = db_prepare(L->db,
	                "SELECT id, real_interface_id, mapped_interface_id, protocol, mapped_kind, "
	                "ip4(mapped_address), mapped_port, ip4(real_address), real_port, acl_id, "
	                "ip4(netmask) FROM nat_static ORDER BY position, id",
	                &st, L->err);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = GROW(L->m->statics, L->m->nstatics, "static");
		if (rc < 0)
			break;
		struct nm_static *s = &L->m->statics[L->m->nstatics - 1];
		const char *proto = col_text(st, 3);

		s->id = sqlite3_column_int64(st, 0);
		s->real_if = if_index(L->m, sqlite3_column_int64(st, 1));
		s->mapped_if = if_index(L->m, sqlite3_column_int64(st, 2));
		s->protocol = strcmp(proto, "tcp") == 0 ? 6 : strcmp(proto, "udp") == 0 ? 17 : 0;
		s->mapped_interface = strcmp(col_text(st, 4), "interface") == 0;
		s->mapped = col_u32(st, 5);
		s->mapped_port = (uint16_t)sqlite3_column_int(st, 6);
		s->real = col_u32(st, 7);
		s->real_port = (uint16_t)sqlite3_column_int(st, 8);
		s->acl = col_null(st, 9) ? -1 : acl_index(L->m, sqlite3_column_int64(st, 9));
		s->netmask = col_u32(st, 10);
		if (s->mapped_interface && s->mapped_if >= 0)
			s->mapped = L->m->ifs[s->mapped_if].address;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read statics");
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;

	/* route */
	rc = db_prepare(L->db,
	                "SELECT interface_id, ip4(destination), ip4(netmask), ip4(gateway), metric "
	                "FROM route ORDER BY position, id",
	                &st, L->err);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = GROW(L->m->routes, L->m->nroutes, "route");
		if (rc < 0)
			break;
		struct nm_route *r = &L->m->routes[L->m->nroutes - 1];

		r->interface = if_index(L->m, sqlite3_column_int64(st, 0));
		r->netmask = col_u32(st, 2);
		r->dest = col_u32(st, 1) & r->netmask;
		r->gateway = col_u32(st, 3);
		r->metric = sqlite3_column_int(st, 4);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read routes");
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;

	/* fixup */
	rc = db_prepare(L->db,
	                "SELECT protocol, qualifier, port_low, port_high, enabled FROM fixup "
	                "ORDER BY position, id",
	                &st, L->err);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = GROW(L->m->fixups, L->m->nfixups, "fixup");
		if (rc < 0)
			break;
		struct nm_fixup *f = &L->m->fixups[L->m->nfixups - 1];

		snprintf(f->protocol, sizeof(f->protocol), "%s", col_text(st, 0));
		snprintf(f->qualifier, sizeof(f->qualifier), "%s", col_text(st, 1));
		f->port_lo = sqlite3_column_int(st, 2);
		f->port_hi = col_null(st, 3) ? f->port_lo : sqlite3_column_int(st, 3);
		f->enabled = sqlite3_column_int(st, 4) != 0;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read fixups");
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;

	/* ip local pool */
	rc = db_prepare(L->db,
	                "SELECT name, ip4(start_address), ip4(end_address) FROM ip_pool "
	                "ORDER BY position, id",
	                &st, L->err);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = GROW(L->m->pools, L->m->npools, "ip local pool");
		if (rc < 0)
			break;
		struct nm_pool *p = &L->m->pools[L->m->npools - 1];

		rc = col_name(st, 0, p->name, sizeof(p->name), L->err, "ip local pool", "name");
		if (rc < 0)
			break;
		p->start = col_u32(st, 1);
		p->end = col_u32(st, 2);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read pools");
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;

	/* aaa authentication include|exclude SERVICE IF ... */
	rc = db_prepare(L->db,
	                "SELECT action, service, interface_id, ip4(local_address), "
	                "ip4(local_netmask), ip4(foreign_address), ip4(foreign_netmask) "
	                "FROM aaa_rule WHERE kind = 'authentication' AND action <> 'match' "
	                "AND interface_id IS NOT NULL ORDER BY position, id",
	                &st, L->err);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *svc = col_text(st, 1);
		int proto = 0, port = 0;

		if (strcmp(svc, "http") == 0 || strcmp(svc, "www") == 0) {
			proto = 6;
			port = 80;
		} else if (strcmp(svc, "ftp") == 0) {
			proto = 6;
			port = 21;
		} else if (strcmp(svc, "telnet") == 0) {
			proto = 6;
			port = 23;
		} else if (sscanf(svc, "tcp/%d", &port) == 1) {
			proto = 6;
		} else if (sscanf(svc, "udp/%d", &port) == 1) {
			proto = 17;
		}
		/* cut-through proxying prompts only for HTTP, FTP and Telnet */
		if (proto != 6 || (port != 80 && port != 21 && port != 23))
			continue;
		rc = GROW(L->m->aaa, L->m->naaa, "aaa rule");
		if (rc < 0)
			break;
		struct nm_aaa *a = &L->m->aaa[L->m->naaa - 1];

		a->include = strcmp(col_text(st, 0), "include") == 0;
		a->protocol = proto;
		a->port = port;
		a->interface = if_index(L->m, sqlite3_column_int64(st, 2));
		a->local_mask = col_u32(st, 4);
		a->local = col_u32(st, 3) & a->local_mask;
		a->foreign_mask = col_u32(st, 6);
		a->foreign = col_u32(st, 5) & a->foreign_mask;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(L->db, L->err, "read aaa rules");
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;

	rc = db_prepare(L->db,
	                "SELECT (SELECT value FROM sysopt WHERE name = 'connection permit-ipsec'), "
	                "(SELECT seconds FROM timeout WHERE name = 'uauth')",
	                &st, L->err);
	if (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		L->m->permit_ipsec = !col_null(st, 0) && strcmp(col_text(st, 0), "off") != 0;
		L->m->uauth_timeout_s = col_null(st, 1) ? 300 : sqlite3_column_int(st, 1);
	} else if (rc == 0) {
		rc = db_error(L->db, L->err, "read sysopt");
	}
	sqlite3_finalize(st);
	return rc;
}

int
nat_model_load(struct db *db, struct nat_model **out, struct pc_err *err)
{
	struct loader L = {.db = db, .err = err};
	int rc;

	*out = NULL;
	L.m = calloc(1, sizeof(*L.m));
	if (L.m == NULL) {
		pc_err_set(err, PC_ERR_INTERNAL, "", "nat model: out of memory");
		return -ENOMEM;
	}
	rc = load_interfaces(&L);
	if (rc == 0)
		rc = load_groups(&L);
	if (rc == 0)
		rc = load_acls(&L);
	if (rc == 0)
		rc = load_aces(&L);
	if (rc == 0)
		rc = load_simple(&L);
	if (rc < 0) {
		nat_model_free(L.m);
		return rc;
	}
	*out = L.m;
	return 0;
}

void
nat_model_free(struct nat_model *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->ngroups; i++)
		free(m->groups[i].ranges);
	free(m->ifs);
	free(m->groups);
	free(m->aces);
	free(m->acls);
	free(m->agroups);
	free(m->globals);
	free(m->nats);
	free(m->statics);
	free(m->routes);
	free(m->fixups);
	free(m->pools);
	free(m->aaa);
	free(m);
}
