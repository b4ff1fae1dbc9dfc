/* PIX `show running-config` text from the model, in PIX order, one command per line, with kept
 * (passthrough) lines at the end of their section and a Cryptochecksum over the body. */
#include "db/pix_parse.h"
#include "db/db.h"
#include "gateway/aaa/aaa_hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct name_ent {
	uint32_t addr;
	size_t idx;
	const char *name;
};

struct acl_ent {
	const char *name;
	size_t idx;
};

struct xctx {
	const struct model *m;
	FILE *f;
	bool show_secrets;
	bool names_on;
	struct name_ent *names;
	size_t nnames;
};

#define V(r, t, col) model_row_get((r), (t), (col))

static bool
on(const char *v)
{
	return v != NULL && strcmp(v, "1") == 0;
}

static const char *
setting(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->t[MT_SETTING].n; i++)
		if (strcmp(m->t[MT_SETTING].rows[i].v[0], name) == 0)
			return m->t[MT_SETTING].rows[i].v[1];
	return NULL;
}

static int
name_cmp(const void *a, const void *b)
{
	const struct name_ent *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* An address as PIX prints it: its `name` when names are on. */
static const char *
A(struct xctx *x, const char *addr)
{
	uint32_t a;
	size_t lo = 0, hi = x->nnames;

	if (!x->names_on || addr == NULL || db_ip4_parse(addr, &a) < 0)
		return addr;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (x->names[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < x->nnames && x->names[lo].addr == a)
		return x->names[lo].name;
	return addr;
}

static void
port(struct xctx *x, const char *p)
{
	long v = strtol(p, NULL, 10);
	const char *n = pix_port_name(v);

	fprintf(x->f, " %s", n ? n : p);
}

static const char *
secret(struct xctx *x, const char *v)
{
	if (x->show_secrets && v != NULL)
		return v;
	return "********";
}

static void
passthrough(struct xctx *x, const char *section)
{
	const struct model_rows *rs = &x->m->t[MT_PASSTHROUGH];

	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->rows[i].v[0], section) == 0)
			fprintf(x->f, "%s\n", rs->rows[i].v[1]);
}

/* prints "PREFIX VALUE SUFFIX" when the setting exists */
static void
emit_setting2(struct xctx *x, const char *key, const char *prefix, const char *suffix)
{
	const char *v = setting(x->m, key);

	if (v != NULL)
		fprintf(x->f, "%s %s%s\n", prefix, v, suffix);
}

static void
emit_setting(struct xctx *x, const char *key, const char *prefix)
{
	emit_setting2(x, key, prefix, "");
}

/* iterates rows; `break` leaves the loop */
#define FOR_ROWS(tab, r)                                                                           \
	for (const struct model_row *r = x->m->t[tab].rows,                                        \
	                            *r##_end = r != NULL ? r + x->m->t[tab].n : r;                 \
	     r != r##_end; r++)

static void
x_interface(struct xctx *x)
{
	FOR_ROWS(MT_INTERFACE, r)
	{
		const char *shut = on(V(r, MT_INTERFACE, "shutdown")) ? " shutdown" : "";

		if (on(V(r, MT_INTERFACE, "logical"))) {
			fprintf(x->f, "interface %s %s logical%s\n",
			        V(r, MT_INTERFACE, "physical_hw_name"),
			        V(r, MT_INTERFACE, "hw_name"), shut);
			continue;
		}
		fprintf(x->f, "interface %s %s%s\n", V(r, MT_INTERFACE, "hw_name"),
		        V(r, MT_INTERFACE, "speed"), shut);
		if (V(r, MT_INTERFACE, "vlan") != NULL)
			fprintf(x->f, "interface %s vlan%s physical\n",
			        V(r, MT_INTERFACE, "hw_name"), V(r, MT_INTERFACE, "vlan"));
	}
}

static void
x_nameif(struct xctx *x)
{
	FOR_ROWS(MT_INTERFACE, r)
	{
		if (V(r, MT_INTERFACE, "nameif") != NULL)
			fprintf(x->f, "nameif %s %s security%s\n", V(r, MT_INTERFACE, "hw_name"),
			        V(r, MT_INTERFACE, "nameif"), V(r, MT_INTERFACE, "security"));
	}
}

static void
x_mtu(struct xctx *x)
{
	FOR_ROWS(MT_INTERFACE, r)
	{
		if (V(r, MT_INTERFACE, "nameif") != NULL)
			fprintf(x->f, "mtu %s %s\n", V(r, MT_INTERFACE, "nameif"),
			        V(r, MT_INTERFACE, "mtu"));
	}
}

static void
x_ip_address(struct xctx *x)
{
	FOR_ROWS(MT_INTERFACE, r)
	{
		const char *mode = V(r, MT_INTERFACE, "ip_mode"), *n = V(r, MT_INTERFACE, "nameif");

		if (n == NULL || strcmp(mode, "none") == 0)
			continue;
		if (strcmp(mode, "static") == 0) {
			fprintf(x->f, "ip address %s %s %s\n", n, V(r, MT_INTERFACE, "address"),
			        V(r, MT_INTERFACE, "netmask"));
			continue;
		}
		fprintf(x->f, "ip address %s %s%s", n, mode,
		        on(V(r, MT_INTERFACE, "dhcp_setroute")) ? " setroute" : "");
		if (V(r, MT_INTERFACE, "dhcp_retry") != NULL)
			fprintf(x->f, " retry %s", V(r, MT_INTERFACE, "dhcp_retry"));
		fputc('\n', x->f);
	}
}

static void
x_enable(struct xctx *x)
{
	emit_setting2(x, "enable-password", "enable password", " encrypted");
	emit_setting2(x, "passwd", "passwd", " encrypted");
}

static void
x_fixup(struct xctx *x)
{
	FOR_ROWS(MT_FIXUP, r)
	{
		fprintf(x->f, "%sfixup protocol %s", on(V(r, MT_FIXUP, "enabled")) ? "" : "no ",
		        V(r, MT_FIXUP, "protocol"));
		if (V(r, MT_FIXUP, "qualifier"))
			fprintf(x->f, " %s", V(r, MT_FIXUP, "qualifier"));
		if (V(r, MT_FIXUP, "max_length"))
			fprintf(x->f, " maximum-length %s", V(r, MT_FIXUP, "max_length"));
		if (V(r, MT_FIXUP, "port_low"))
			fprintf(x->f, " %s", V(r, MT_FIXUP, "port_low"));
		if (V(r, MT_FIXUP, "port_high"))
			fprintf(x->f, "-%s", V(r, MT_FIXUP, "port_high"));
		fputc('\n', x->f);
	}
}

static void
x_names(struct xctx *x)
{
	const char *n = setting(x->m, "names");

	if (n != NULL)
		fprintf(x->f, "%snames\n", strcmp(n, "on") == 0 ? "" : "no ");
	FOR_ROWS(MT_NAME, r)
	{
		fprintf(x->f, "name %s %s\n", V(r, MT_NAME, "address"), V(r, MT_NAME, "name"));
	}
}

static int
acl_cmp(const void *a, const void *b)
{
	const struct acl_ent *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Rows of child table `t` grouped by parent (column 0 names the parent), parents in their order. */
static size_t *
group_children(const struct model *m, enum model_table parent, enum model_table t)
{
	size_t np = m->t[parent].n, nc = m->t[t].n;
	struct acl_ent *p = malloc((np + 1) * sizeof(*p));
	size_t *cnt = calloc(np + 2, sizeof(size_t));
	size_t *order = malloc((nc + 1) * sizeof(size_t));
	size_t *pidx = malloc((nc + 1) * sizeof(size_t));

	if (p == NULL || cnt == NULL || order == NULL || pidx == NULL) {
		free(p);
		free(cnt);
		free(order);
		free(pidx);
		return NULL;
	}
	for (size_t i = 0; i < np; i++) {
		p[i].name = m->t[parent].rows[i].v[0];
		p[i].idx = i;
	}
	qsort(p, np, sizeof(*p), acl_cmp);
	for (size_t i = 0; i < nc; i++) {
		struct acl_ent key = {.name = m->t[t].rows[i].v[0]};
		struct acl_ent *e = np ? bsearch(&key, p, np, sizeof(*p), acl_cmp) : NULL;

		pidx[i] = e ? e->idx : np; /* orphans last */
		cnt[pidx[i] + 1]++;
	}
	for (size_t i = 1; i < np + 2; i++)
		cnt[i] += cnt[i - 1];
	for (size_t i = 0; i < nc; i++)
		order[cnt[pidx[i]]++] = i;
	free(p);
	free(cnt);
	free(pidx);
	return order;
}

static int
x_object_groups(struct xctx *x)
{
	const struct model *m = x->m;
	size_t *order = group_children(m, MT_OBJECT_GROUP, MT_OG_MEMBER);
	size_t k = 0;

	if (order == NULL)
		return -ENOMEM;
	FOR_ROWS(MT_OBJECT_GROUP, g)
	{
		const char *gname = V(g, MT_OBJECT_GROUP, "name");

		fprintf(x->f, "object-group %s %s", V(g, MT_OBJECT_GROUP, "kind"), gname);
		if (V(g, MT_OBJECT_GROUP, "service_protocol"))
			fprintf(x->f, " %s", V(g, MT_OBJECT_GROUP, "service_protocol"));
		fputc('\n', x->f);
		if (V(g, MT_OBJECT_GROUP, "description"))
			fprintf(x->f, "  description %s\n", V(g, MT_OBJECT_GROUP, "description"));
		for (; k < m->t[MT_OG_MEMBER].n; k++) {
			const struct model_row *r = &m->t[MT_OG_MEMBER].rows[order[k]];
			const char *kind = V(r, MT_OG_MEMBER, "kind");

			if (strcmp(r->v[0], gname) != 0)
				break;
			if (!strcmp(kind, "host"))
				fprintf(x->f, "  network-object host %s\n",
				        A(x, V(r, MT_OG_MEMBER, "address")));
			else if (!strcmp(kind, "network"))
				fprintf(x->f, "  network-object %s %s\n",
				        A(x, V(r, MT_OG_MEMBER, "address")),
				        V(r, MT_OG_MEMBER, "netmask"));
			else if (!strcmp(kind, "port")) {
				fprintf(x->f, "  port-object %s", V(r, MT_OG_MEMBER, "port_op"));
				port(x, V(r, MT_OG_MEMBER, "port_low"));
				if (V(r, MT_OG_MEMBER, "port_high"))
					port(x, V(r, MT_OG_MEMBER, "port_high"));
				fputc('\n', x->f);
			} else if (!strcmp(kind, "protocol"))
				fprintf(x->f, "  protocol-object %s\n",
				        V(r, MT_OG_MEMBER, "value"));
			else if (!strcmp(kind, "icmp-type"))
				fprintf(x->f, "  icmp-object %s\n", V(r, MT_OG_MEMBER, "value"));
			else if (!strcmp(kind, "group"))
				fprintf(x->f, "  group-object %s\n",
				        V(r, MT_OG_MEMBER, "ref_group_id"));
		}
		/* lines of this block kept verbatim */
		FOR_ROWS(MT_PASSTHROUGH, p)
		{
			if (!strncmp(p->v[0], "object-group:", 13) && !strcmp(p->v[0] + 13, gname))
				fprintf(x->f, "%s\n", p->v[1]);
		}
	}
	free(order);
	return 0;
}

static void
endpoint(struct xctx *x, const struct model_row *r, const char *p)
{
	char c[32];

#define EC(s) (snprintf(c, sizeof(c), "%s_%s", p, s), V(r, MT_ACE, c))
	const char *kind = EC("kind");

	if (!strcmp(kind, "any"))
		fputs(" any", x->f);
	else if (!strcmp(kind, "host"))
		fprintf(x->f, " host %s", A(x, EC("address")));
	else if (!strcmp(kind, "network")) {
		fprintf(x->f, " %s", A(x, EC("address")));
		fprintf(x->f, " %s", EC("netmask"));
	} else if (!strcmp(kind, "group"))
		fprintf(x->f, " object-group %s", EC("group_id"));
	else if (!strcmp(kind, "interface"))
		fprintf(x->f, " interface %s", EC("interface_id"));
	if (EC("port_op") != NULL) {
		fprintf(x->f, " %s", EC("port_op"));
		port(x, EC("port_low"));
		if (EC("port_high"))
			port(x, EC("port_high"));
	}
	if (EC("port_group_id") != NULL)
		fprintf(x->f, " object-group %s", EC("port_group_id"));
#undef EC
}

static int
x_access_lists(struct xctx *x)
{
	const struct model *m = x->m;
	size_t *order = group_children(m, MT_ACCESS_LIST, MT_ACE);

	if (order == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < m->t[MT_ACE].n; k++) {
		const struct model_row *r = &m->t[MT_ACE].rows[order[k]];
		const char *action = V(r, MT_ACE, "action");

		if (!strcmp(action, "remark")) {
			fprintf(x->f, "access-list %s remark %s\n", r->v[0],
			        V(r, MT_ACE, "remark"));
			continue;
		}
		fprintf(x->f, "access-list %s %s", r->v[0], action);
		if (V(r, MT_ACE, "protocol_group_id"))
			fprintf(x->f, " object-group %s", V(r, MT_ACE, "protocol_group_id"));
		else
			fprintf(x->f, " %s", V(r, MT_ACE, "protocol"));
		endpoint(x, r, "src");
		endpoint(x, r, "dst");
		if (V(r, MT_ACE, "icmp_type"))
			fprintf(x->f, " %s", V(r, MT_ACE, "icmp_type"));
		if (V(r, MT_ACE, "icmp_group_id"))
			fprintf(x->f, " object-group %s", V(r, MT_ACE, "icmp_group_id"));
		if (on(V(r, MT_ACE, "log"))) {
			fputs(" log", x->f);
			if (V(r, MT_ACE, "log_level"))
				fprintf(x->f, " %s", V(r, MT_ACE, "log_level"));
			if (V(r, MT_ACE, "log_interval"))
				fprintf(x->f, " interval %s", V(r, MT_ACE, "log_interval"));
		}
		fputc('\n', x->f);
	}
	free(order);
	return 0;
}

static void
natopts(struct xctx *x, const struct model_row *r, enum model_table t, bool always_limits)
{
	if (t == MT_NAT_RULE && on(V(r, t, "outside")))
		fputs(" outside", x->f);
	if (on(V(r, t, "dns")))
		fputs(" dns", x->f);
	if (always_limits || strcmp(V(r, t, "max_conns"), "0") || strcmp(V(r, t, "emb_limit"), "0"))
		fprintf(x->f, " %s %s", V(r, t, "max_conns"), V(r, t, "emb_limit"));
	if (on(V(r, t, "norandomseq")))
		fputs(" norandomseq", x->f);
}

static void
x_global(struct xctx *x)
{
	FOR_ROWS(MT_NAT_GLOBAL, r)
	{
		const char *kind = V(r, MT_NAT_GLOBAL, "kind");

		fprintf(x->f, "global (%s) %s ", r->v[0], V(r, MT_NAT_GLOBAL, "nat_id"));
		if (!strcmp(kind, "interface"))
			fputs("interface", x->f);
		else if (!strcmp(kind, "range"))
			fprintf(x->f, "%s-%s", V(r, MT_NAT_GLOBAL, "start_address"),
			        V(r, MT_NAT_GLOBAL, "end_address"));
		else
			fputs(V(r, MT_NAT_GLOBAL, "start_address"), x->f);
		if (V(r, MT_NAT_GLOBAL, "netmask"))
			fprintf(x->f, " netmask %s", V(r, MT_NAT_GLOBAL, "netmask"));
		fputc('\n', x->f);
	}
}

static void
x_nat(struct xctx *x)
{
	FOR_ROWS(MT_NAT_RULE, r)
	{
		fprintf(x->f, "nat (%s) %s", r->v[0], V(r, MT_NAT_RULE, "nat_id"));
		if (V(r, MT_NAT_RULE, "acl_id")) {
			fprintf(x->f, " access-list %s", V(r, MT_NAT_RULE, "acl_id"));
			natopts(x, r, MT_NAT_RULE, false);
		} else {
			fprintf(x->f, " %s", A(x, V(r, MT_NAT_RULE, "address")));
			fprintf(x->f, " %s", V(r, MT_NAT_RULE, "netmask"));
			natopts(x, r, MT_NAT_RULE, true);
		}
		fputc('\n', x->f);
	}
}

static void
x_static(struct xctx *x)
{
	FOR_ROWS(MT_NAT_STATIC, r)
	{
		const char *proto = V(r, MT_NAT_STATIC, "protocol");

		fprintf(x->f, "static (%s,%s)", r->v[0], r->v[1]);
		if (proto)
			fprintf(x->f, " %s", proto);
		if (!strcmp(V(r, MT_NAT_STATIC, "mapped_kind"), "interface"))
			fputs(" interface", x->f);
		else
			fprintf(x->f, " %s", A(x, V(r, MT_NAT_STATIC, "mapped_address")));
		if (proto)
			port(x, V(r, MT_NAT_STATIC, "mapped_port"));
		if (V(r, MT_NAT_STATIC, "acl_id")) {
			fprintf(x->f, " access-list %s", V(r, MT_NAT_STATIC, "acl_id"));
		} else {
			fprintf(x->f, " %s", A(x, V(r, MT_NAT_STATIC, "real_address")));
			if (V(r, MT_NAT_STATIC, "real_port"))
				port(x, V(r, MT_NAT_STATIC, "real_port"));
			fprintf(x->f, " netmask %s", V(r, MT_NAT_STATIC, "netmask"));
		}
		natopts(x, r, MT_NAT_STATIC, true);
		fputc('\n', x->f);
	}
}

static void
x_access_group(struct xctx *x)
{
	FOR_ROWS(MT_ACCESS_GROUP, r)
	{
		fprintf(x->f, "access-group %s %s interface %s\n", r->v[0], r->v[2], r->v[1]);
	}
}

static void
x_route(struct xctx *x)
{
	FOR_ROWS(MT_ROUTE, r)
	{
		fprintf(x->f, "route %s %s", r->v[0], A(x, r->v[1]));
		fprintf(x->f, " %s %s %s\n", r->v[2], A(x, r->v[3]), r->v[4]);
	}
}

static void
hms(FILE *f, const char *secs)
{
	long s = strtol(secs, NULL, 10);

	fprintf(f, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

static void
x_timeout(struct xctx *x)
{
	/* PIX prints these groups on one line each; anything else gets its own line */
	static const char *const groups[][6] = {
	        {"xlate"},
	        {"conn", "half-closed", "udp", "rpc", "h225"},
	        {"h323", "mgcp", "sip", "sip_media"},
	        {"sip-disconnect", "sip-invite"},
	        {"uauth"},
	};
	const struct model_rows *rs = &x->m->t[MT_TIMEOUT];
	bool *done = calloc(rs->n + 1, sizeof(bool));

	if (done == NULL)
		return;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		bool any = false;

		for (size_t k = 0; k < 6 && groups[g][k]; k++) {
			for (size_t i = 0; i < rs->n; i++) {
				const struct model_row *r = &rs->rows[i];

				if (done[i] || strcmp(r->v[0], groups[g][k]) != 0)
					continue;
				fprintf(x->f, any ? " %s " : "timeout %s ", r->v[0]);
				hms(x->f, r->v[1]);
				if (r->v[2])
					fprintf(x->f, " %s", r->v[2]);
				any = true;
				done[i] = true;
			}
		}
		if (any)
			fputc('\n', x->f);
	}
	for (size_t i = 0; i < rs->n; i++) {
		if (done[i])
			continue;
		fprintf(x->f, "timeout %s ", rs->rows[i].v[0]);
		hms(x->f, rs->rows[i].v[1]);
		if (rs->rows[i].v[2])
			fprintf(x->f, " %s", rs->rows[i].v[2]);
		fputc('\n', x->f);
	}
	free(done);
}

static void
x_aaa_server(struct xctx *x)
{
	FOR_ROWS(MT_AAA_GROUP, g)
	{
		const char *n = g->v[0];

		fprintf(x->f, "aaa-server %s protocol %s\n", n, V(g, MT_AAA_GROUP, "protocol"));
		if (strcmp(V(g, MT_AAA_GROUP, "max_failed_attempts"), "3"))
			fprintf(x->f, "aaa-server %s max-failed-attempts %s\n", n,
			        V(g, MT_AAA_GROUP, "max_failed_attempts"));
		if (strcmp(V(g, MT_AAA_GROUP, "deadtime_min"), "10"))
			fprintf(x->f, "aaa-server %s deadtime %s\n", n,
			        V(g, MT_AAA_GROUP, "deadtime_min"));
		if (strcmp(V(g, MT_AAA_GROUP, "accounting_mode"), "single"))
			fprintf(x->f, "aaa-server %s accounting-mode %s\n", n,
			        V(g, MT_AAA_GROUP, "accounting_mode"));
		FOR_ROWS(MT_AAA_HOST, r)
		{
			if (strcmp(r->v[0], n) != 0)
				continue;
			fprintf(x->f, "aaa-server %s", n);
			if (V(r, MT_AAA_HOST, "interface_id"))
				fprintf(x->f, " (%s)", V(r, MT_AAA_HOST, "interface_id"));
			fprintf(x->f, " host %s", A(x, V(r, MT_AAA_HOST, "address")));
			/* NULL: the key is not set (an aaa-server host always needs one) */
			fprintf(x->f, " %s", secret(x, V(r, MT_AAA_HOST, "key_secret")));
			fprintf(x->f, " timeout %s", V(r, MT_AAA_HOST, "timeout_s"));
			if (strcmp(V(r, MT_AAA_HOST, "retries"), "2"))
				fprintf(x->f, " retries %s", V(r, MT_AAA_HOST, "retries"));
			fputc('\n', x->f);
		}
	}
}

static void
x_aaa(struct xctx *x)
{
	FOR_ROWS(MT_AAA_RULE, r)
	{
		const char *action = V(r, MT_AAA_RULE, "action");

		fprintf(x->f, "aaa %s %s", V(r, MT_AAA_RULE, "kind"), action);
		if (!strcmp(action, "match")) {
			fprintf(x->f, " %s %s %s\n", V(r, MT_AAA_RULE, "acl_id"),
			        V(r, MT_AAA_RULE, "interface_id"), V(r, MT_AAA_RULE, "group_id"));
			continue;
		}
		fprintf(x->f, " %s %s", V(r, MT_AAA_RULE, "service"),
		        V(r, MT_AAA_RULE, "interface_id") ? V(r, MT_AAA_RULE, "interface_id")
		                                          : V(r, MT_AAA_RULE, "direction"));
		fprintf(x->f, " %s", A(x, V(r, MT_AAA_RULE, "local_address")));
		fprintf(x->f, " %s", V(r, MT_AAA_RULE, "local_netmask"));
		fprintf(x->f, " %s", A(x, V(r, MT_AAA_RULE, "foreign_address")));
		fprintf(x->f, " %s", V(r, MT_AAA_RULE, "foreign_netmask"));
		if (V(r, MT_AAA_RULE, "group_id"))
			fprintf(x->f, " %s", V(r, MT_AAA_RULE, "group_id"));
		fputc('\n', x->f);
	}
	FOR_ROWS(MT_AAA_CONSOLE, r)
	{
		fprintf(x->f, "aaa authentication %s console %s\n", r->v[0], r->v[1]);
	}
}

static void
x_mgmt(struct xctx *x, const char *svc)
{
	if (!strcmp(svc, "http") && setting(x->m, "http-server"))
		fputs("http server enable\n", x->f);
	FOR_ROWS(MT_MGMT_ACCESS, r)
	{
		if (strcmp(r->v[0], svc) == 0)
			fprintf(x->f, "%s %s %s %s\n", svc, A(x, r->v[1]), r->v[2], r->v[3]);
	}
	if (!strcmp(svc, "telnet"))
		emit_setting(x, "telnet-timeout", "telnet timeout");
	if (!strcmp(svc, "ssh"))
		emit_setting(x, "ssh-timeout", "ssh timeout");
}

static void
x_sysopt(struct xctx *x)
{
	FOR_ROWS(MT_SYSOPT, r)
	{
		if (!strcmp(r->v[1], "off"))
			fprintf(x->f, "no sysopt %s\n", r->v[0]);
		else if (!strcmp(r->v[1], "on"))
			fprintf(x->f, "sysopt %s\n", r->v[0]);
		else
			fprintf(x->f, "sysopt %s %s\n", r->v[0], r->v[1]);
	}
}

static void
x_crypto_ipsec(struct xctx *x)
{
	FOR_ROWS(MT_TRANSFORM_SET, r)
	{
		fprintf(x->f, "crypto ipsec transform-set %s", r->v[0]);
		for (int i = 1; i <= 3; i++) {
			static const int ord[] = {0, 3, 1, 2}; /* ah, encryption, authentication */

			if (r->v[ord[i]])
				fprintf(x->f, " %s", r->v[ord[i]]);
		}
		fputc('\n', x->f);
		if (strcmp(V(r, MT_TRANSFORM_SET, "mode"), "tunnel"))
			fprintf(x->f, "crypto ipsec transform-set %s mode %s\n", r->v[0],
			        V(r, MT_TRANSFORM_SET, "mode"));
	}
	emit_setting(x, "ipsec-sa-lifetime-seconds",
	             "crypto ipsec security-association lifetime seconds");
	emit_setting(x, "ipsec-sa-lifetime-kb",
	             "crypto ipsec security-association lifetime kilobytes");
}

static void
x_cmap_entry(struct xctx *x, const struct model_row *e)
{
	bool dyn = on(V(e, MT_CRYPTO_MAP, "is_dynamic"));
	char prefix[300], key[300];
	bool first = true;

	snprintf(prefix, sizeof(prefix), "crypto %s %s %s", dyn ? "dynamic-map" : "map", e->v[0],
	         V(e, MT_CRYPTO_MAP, "seq"));
	snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", e->v[0], e->v[1], e->v[2]);
	if (!dyn) {
		fprintf(x->f, "%s %s", prefix, V(e, MT_CRYPTO_MAP, "kind"));
		if (V(e, MT_CRYPTO_MAP, "dynamic_map_name"))
			fprintf(x->f, " dynamic %s", V(e, MT_CRYPTO_MAP, "dynamic_map_name"));
		fputc('\n', x->f);
	}
	if (V(e, MT_CRYPTO_MAP, "acl_id"))
		fprintf(x->f, "%s match address %s\n", prefix, V(e, MT_CRYPTO_MAP, "acl_id"));
	FOR_ROWS(MT_CRYPTO_MAP_PEER, p)
	{
		if (!strcmp(p->v[0], key))
			fprintf(x->f, "%s set peer %s\n", prefix, A(x, p->v[1]));
	}
	FOR_ROWS(MT_CRYPTO_MAP_TRANSFORM, t)
	{
		if (strcmp(t->v[0], key))
			continue;
		if (first)
			fprintf(x->f, "%s set transform-set", prefix);
		fprintf(x->f, " %s", t->v[1]);
		first = false;
	}
	if (!first)
		fputc('\n', x->f);
	if (V(e, MT_CRYPTO_MAP, "pfs_group"))
		fprintf(x->f, "%s set pfs group%s\n", prefix, V(e, MT_CRYPTO_MAP, "pfs_group"));
	if (V(e, MT_CRYPTO_MAP, "lifetime_s") || V(e, MT_CRYPTO_MAP, "lifetime_kb")) {
		fprintf(x->f, "%s set security-association lifetime", prefix);
		if (V(e, MT_CRYPTO_MAP, "lifetime_s"))
			fprintf(x->f, " seconds %s", V(e, MT_CRYPTO_MAP, "lifetime_s"));
		if (V(e, MT_CRYPTO_MAP, "lifetime_kb"))
			fprintf(x->f, " kilobytes %s", V(e, MT_CRYPTO_MAP, "lifetime_kb"));
		fputc('\n', x->f);
	}
}

static void
x_crypto_dynamic(struct xctx *x)
{
	FOR_ROWS(MT_CRYPTO_MAP, e)
	{
		if (on(V(e, MT_CRYPTO_MAP, "is_dynamic")))
			x_cmap_entry(x, e);
	}
}

static bool
map_seen(struct xctx *x, const char *name, const struct model_row *upto_e,
         const struct model_row *upto_o, const struct model_row *upto_i)
{
	FOR_ROWS(MT_CRYPTO_MAP, e)
	{
		if (e == upto_e)
			break;
		if (!on(e->v[1]) && !strcmp(e->v[0], name))
			return true;
	}
	if (upto_e != NULL)
		return false;
	FOR_ROWS(MT_CRYPTO_MAP_OPTION, o)
	{
		if (o == upto_o)
			break;
		if (!strcmp(o->v[0], name))
			return true;
	}
	if (upto_o != NULL)
		return false;
	FOR_ROWS(MT_CRYPTO_MAP_IF, i)
	{
		if (i == upto_i)
			break;
		if (!strcmp(i->v[0], name))
			return true;
	}
	return false;
}

static void
x_crypto_map_one(struct xctx *x, const char *name)
{
	FOR_ROWS(MT_CRYPTO_MAP, e)
	{
		if (!on(e->v[1]) && !strcmp(e->v[0], name))
			x_cmap_entry(x, e);
	}
	FOR_ROWS(MT_CRYPTO_MAP_OPTION, o)
	{
		if (strcmp(o->v[0], name))
			continue;
		if (on(o->v[1]))
			fprintf(x->f, "crypto map %s client configuration address initiate\n",
			        name);
		if (on(o->v[2]))
			fprintf(x->f, "crypto map %s client configuration address respond\n", name);
		if (o->v[3])
			fprintf(x->f, "crypto map %s client authentication %s\n", name, o->v[3]);
	}
	FOR_ROWS(MT_CRYPTO_MAP_IF, i)
	{
		if (!strcmp(i->v[0], name))
			fprintf(x->f, "crypto map %s interface %s\n", name, i->v[1]);
	}
}

static void
x_crypto_map(struct xctx *x)
{
	FOR_ROWS(MT_CRYPTO_MAP, e)
	{
		if (!on(e->v[1]) && !map_seen(x, e->v[0], e, NULL, NULL))
			x_crypto_map_one(x, e->v[0]);
	}
	FOR_ROWS(MT_CRYPTO_MAP_OPTION, o)
	{
		if (!map_seen(x, o->v[0], NULL, o, NULL))
			x_crypto_map_one(x, o->v[0]);
	}
	FOR_ROWS(MT_CRYPTO_MAP_IF, i)
	{
		if (!map_seen(x, i->v[0], NULL, NULL, i))
			x_crypto_map_one(x, i->v[0]);
	}
}

static void
x_isakmp(struct xctx *x)
{
	FOR_ROWS(MT_ISAKMP_IF, r)
	{
		fprintf(x->f, "isakmp enable %s\n", r->v[0]);
	}
	FOR_ROWS(MT_ISAKMP_KEY, r)
	{
		fprintf(x->f, "isakmp key %s address %s netmask %s%s%s\n",
		        secret(x, V(r, MT_ISAKMP_KEY, "key_secret")), r->v[0], r->v[1],
		        on(V(r, MT_ISAKMP_KEY, "no_xauth")) ? " no-xauth" : "",
		        on(V(r, MT_ISAKMP_KEY, "no_config_mode")) ? " no-config-mode" : "");
	}
	emit_setting(x, "isakmp-identity", "isakmp identity");
	emit_setting(x, "isakmp-keepalive", "isakmp keepalive");
	FOR_ROWS(MT_ISAKMP_CLIENT_POOL, r)
	{
		fprintf(x->f, "isakmp client configuration address-pool local %s%s%s\n", r->v[0],
		        r->v[1] ? " " : "", r->v[1] ? r->v[1] : "");
	}
	emit_setting(x, "isakmp-nat-traversal", "isakmp nat-traversal");
	FOR_ROWS(MT_ISAKMP_POLICY, r)
	{
		const char *p = r->v[0];

		fprintf(x->f, "isakmp policy %s authentication %s\n", p, r->v[1]);
		fprintf(x->f, "isakmp policy %s encryption %s\n", p, r->v[2]);
		fprintf(x->f, "isakmp policy %s hash %s\n", p, r->v[3]);
		fprintf(x->f, "isakmp policy %s group %s\n", p, r->v[4]);
		fprintf(x->f, "isakmp policy %s lifetime %s\n", p, r->v[5]);
	}
}

static void
x_vpngroup(struct xctx *x)
{
	FOR_ROWS(MT_VPNGROUP, r)
	{
		const char *n = r->v[0];
#define VG(col) V(r, MT_VPNGROUP, col)
		if (VG("pool_id"))
			fprintf(x->f, "vpngroup %s address-pool %s\n", n, VG("pool_id"));
		if (VG("dns_server1"))
			fprintf(x->f, "vpngroup %s dns-server %s%s%s\n", n, VG("dns_server1"),
			        VG("dns_server2") ? " " : "",
			        VG("dns_server2") ? VG("dns_server2") : "");
		if (VG("wins_server1"))
			fprintf(x->f, "vpngroup %s wins-server %s%s%s\n", n, VG("wins_server1"),
			        VG("wins_server2") ? " " : "",
			        VG("wins_server2") ? VG("wins_server2") : "");
		if (VG("default_domain"))
			fprintf(x->f, "vpngroup %s default-domain %s\n", n, VG("default_domain"));
		if (VG("split_tunnel_acl_id"))
			fprintf(x->f, "vpngroup %s split-tunnel %s\n", n,
			        VG("split_tunnel_acl_id"));
		if (VG("split_dns"))
			fprintf(x->f, "vpngroup %s split-dns %s\n", n, VG("split_dns"));
		if (on(VG("pfs")))
			fprintf(x->f, "vpngroup %s pfs\n", n);
		if (VG("backup_servers"))
			fprintf(x->f, "vpngroup %s backup-server %s\n", n, VG("backup_servers"));
		if (VG("idle_time_s"))
			fprintf(x->f, "vpngroup %s idle-time %s\n", n, VG("idle_time_s"));
		if (VG("max_time_s"))
			fprintf(x->f, "vpngroup %s max-time %s\n", n, VG("max_time_s"));
		if (VG("authentication_server_timeout_s"))
			fprintf(x->f, "vpngroup %s authentication-server-timeout %s\n", n,
			        VG("authentication_server_timeout_s"));
		if (on(VG("user_authentication")))
			fprintf(x->f, "vpngroup %s user-authentication\n", n);
		if (VG("user_idle_timeout_s"))
			fprintf(x->f, "vpngroup %s user-idle-timeout %s\n", n,
			        VG("user_idle_timeout_s"));
		if (on(VG("device_pass_through")))
			fprintf(x->f, "vpngroup %s device-pass-through\n", n);
		if (on(VG("secure_unit_authentication")))
			fprintf(x->f, "vpngroup %s secure-unit-authentication\n", n);
		if (on(VG("has_password")))
			fprintf(x->f, "vpngroup %s password %s\n", n,
			        secret(x, VG("password_secret")));
#undef VG
	}
}

static void
x_username(struct xctx *x)
{
	FOR_ROWS(MT_LOCAL_USER, r)
	{
		fprintf(x->f, "username %s password %s encrypted privilege %s\n", r->v[0],
		        r->v[1] ? r->v[1] : "********", r->v[3]);
	}
}

static int
x_section(struct xctx *x, const char *s)
{
	int rc = 0;

	if (!strcmp(s, "header"))
		emit_setting(x, "version", "PIX Version");
	else if (!strcmp(s, "interface"))
		x_interface(x);
	else if (!strcmp(s, "nameif"))
		x_nameif(x);
	else if (!strcmp(s, "enable"))
		x_enable(x);
	else if (!strcmp(s, "hostname"))
		emit_setting(x, "hostname", "hostname");
	else if (!strcmp(s, "domain-name"))
		emit_setting(x, "domain-name", "domain-name");
	else if (!strcmp(s, "fixup"))
		x_fixup(x);
	else if (!strcmp(s, "names"))
		x_names(x);
	else if (!strcmp(s, "object-group"))
		rc = x_object_groups(x);
	else if (!strcmp(s, "access-list"))
		rc = x_access_lists(x);
	else if (!strcmp(s, "pager")) {
		const char *p = setting(x->m, "pager-lines");

		if (p != NULL && strcmp(p, "off") == 0)
			fputs("no pager\n", x->f);
		else
			emit_setting(x, "pager-lines", "pager lines");
	} else if (!strcmp(s, "mtu"))
		x_mtu(x);
	else if (!strcmp(s, "ip address"))
		x_ip_address(x);
	else if (!strcmp(s, "ip local pool")) {
		FOR_ROWS(MT_IP_POOL, r)
		{
			fprintf(x->f, "ip local pool %s %s-%s", r->v[0], r->v[1], r->v[2]);
			if (r->v[3])
				fprintf(x->f, " mask %s", r->v[3]);
			fputc('\n', x->f);
		}
	} else if (!strcmp(s, "arp"))
		emit_setting(x, "arp-timeout", "arp timeout");
	else if (!strcmp(s, "global"))
		x_global(x);
	else if (!strcmp(s, "nat"))
		x_nat(x);
	else if (!strcmp(s, "static"))
		x_static(x);
	else if (!strcmp(s, "access-group"))
		x_access_group(x);
	else if (!strcmp(s, "route"))
		x_route(x);
	else if (!strcmp(s, "timeout"))
		x_timeout(x);
	else if (!strcmp(s, "aaa-server"))
		x_aaa_server(x);
	else if (!strcmp(s, "aaa"))
		x_aaa(x);
	else if (!strcmp(s, "http") || !strcmp(s, "telnet") || !strcmp(s, "ssh"))
		x_mgmt(x, s);
	else if (!strcmp(s, "floodguard"))
		emit_setting(x, "floodguard", "floodguard");
	else if (!strcmp(s, "sysopt"))
		x_sysopt(x);
	else if (!strcmp(s, "crypto ipsec"))
		x_crypto_ipsec(x);
	else if (!strcmp(s, "crypto dynamic-map"))
		x_crypto_dynamic(x);
	else if (!strcmp(s, "crypto map"))
		x_crypto_map(x);
	else if (!strcmp(s, "isakmp"))
		x_isakmp(x);
	else if (!strcmp(s, "vpngroup"))
		x_vpngroup(x);
	else if (!strcmp(s, "console"))
		emit_setting(x, "console-timeout", "console timeout");
	else if (!strcmp(s, "terminal"))
		emit_setting(x, "terminal-width", "terminal width");
	else if (!strcmp(s, "username"))
		x_username(x);
	passthrough(x, s);
	return rc;
}

static void
md5_hex(const char *data, size_t len, char out[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;

	EVP_Digest(data, len, d, &dl, EVP_md5(), NULL);
	for (unsigned int i = 0; i < 16 && i < dl; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	out[32] = '\0';
}

void
pix_md5_hash(const char *password, const char *user, char out[17])
{
	/* the gateway's one PIX-MD5 implementation (gateway/aaa/aaa_hash.c) */
	if (aaa_hash_pixmd5(password, user, out) < 0)
		out[0] = '\0';
}

int
pix_export_model(const struct model *m, bool show_secrets, char **text_out)
{
	struct xctx x = {.m = m, .show_secrets = show_secrets};
	char *s = NULL;
	size_t len = 0;
	const char *names = setting(m, "names");
	char sum[33];
	int rc = 0;

	*text_out = NULL;
	x.names_on = names != NULL && strcmp(names, "on") == 0;
	if (m->t[MT_NAME].n > 0) {
		x.names = malloc(m->t[MT_NAME].n * sizeof(*x.names));
		if (x.names == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < m->t[MT_NAME].n; i++) {
			x.names[x.nnames].idx = i;
			x.names[x.nnames].name = m->t[MT_NAME].rows[i].v[1];
			if (db_ip4_parse(m->t[MT_NAME].rows[i].v[0], &x.names[x.nnames].addr) == 0)
				x.nnames++;
		}
		qsort(x.names, x.nnames, sizeof(*x.names), name_cmp);
	}
	x.f = open_memstream(&s, &len);
	if (x.f == NULL) {
		free(x.names);
		return -errno;
	}
	fputs(": Saved\n:\n", x.f);
	for (size_t i = 0; i < pix_nsections && rc == 0; i++)
		rc = x_section(&x, pix_sections[i]);
	/* kept lines whose section this program does not know go last */
	for (size_t i = 0; i < m->t[MT_PASSTHROUGH].n; i++) {
		const char *sec = m->t[MT_PASSTHROUGH].rows[i].v[0];
		bool known = false;

		for (size_t k = 0; k < pix_nsections && !known; k++)
			known = strcmp(sec, pix_sections[k]) == 0;
		if (!strncmp(sec, "object-group:", 13))
			for (size_t k = 0; k < m->t[MT_OBJECT_GROUP].n && !known; k++)
				known = strcmp(sec + 13, m->t[MT_OBJECT_GROUP].rows[k].v[0]) == 0;
		if (!known)
			fprintf(x.f, "%s\n", m->t[MT_PASSTHROUGH].rows[i].v[1]);
	}
	if (fflush(x.f) != 0)
		rc = -ENOMEM;
	if (rc == 0) {
		md5_hex(s, len, sum);
		fprintf(x.f, "Cryptochecksum:%s\n: end\n", sum);
	}
	if (fclose(x.f) != 0 && rc == 0)
		rc = -ENOMEM;
	free(x.names);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*text_out = s;
	return 0;
}

int
pix_export(struct db *db, bool show_secrets, char **text_out, struct pc_err *err)
{
	struct model *m;
	int rc = model_load(db, &m, err);

	*text_out = NULL;
	if (rc < 0)
		return rc;
	rc = pix_export_model(m, show_secrets, text_out);
	if (rc < 0)
		pc_err_set(err, PC_ERR_INTERNAL, "", "pix_export_model: %s", strerror(-rc));
	model_free(m);
	return rc;
}
