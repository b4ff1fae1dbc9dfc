/* The configuration model: table descriptors, rows, whole-model load/save with prepared statements. */
#include "db/model.h"
#include "db/db.h"
#include "gateway/core/sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T(n)                                                                                       \
	{                                                                                          \
		n, MC_TEXT, NULL, 0                                                                \
	}
#define TD(n, d)                                                                                   \
	{                                                                                          \
		n, MC_TEXT, d, 0                                                                   \
	}
#define I(n)                                                                                       \
	{                                                                                          \
		n, MC_INT, NULL, 0                                                                 \
	}
#define ID(n, d)                                                                                   \
	{                                                                                          \
		n, MC_INT, d, 0                                                                    \
	}
#define R(n, t)                                                                                    \
	{                                                                                          \
		n, MC_REF, NULL, t                                                                 \
	}
#define S(n)                                                                                       \
	{                                                                                          \
		n, MC_SECRET, NULL, 0                                                              \
	}
#define K(...) (0u __VA_OPT__(|) __VA_ARGS__)
#define B(i)   (1u << (i))

#define ADDR_COLS(p)                                                                               \
	T(p "_kind"), T(p "_address"), T(p "_netmask"), R(p "_group_id", MT_OBJECT_GROUP),         \
	        R(p "_interface_id", MT_INTERFACE), T(p "_port_op"), I(p "_port_low"),             \
	        I(p "_port_high"), R(p "_port_group_id", MT_OBJECT_GROUP)

static const struct model_table_desc descs[MT_COUNT] = {
        [MT_SETTING] = {"setting", "setting", false, false, B(0), 0, 2, {T("name"), T("value")}},
        [MT_INTERFACE] = {"interface",
                          "interface",
                          true,
                          true,
                          B(0),
                          B(7),
                          15,
                          {T("hw_name"), T("linux_name"), TD("speed", "auto"), ID("shutdown", "0"),
                           I("vlan"), ID("logical", "0"), T("physical_hw_name"), T("nameif"),
                           I("security"), TD("ip_mode", "none"), T("address"), T("netmask"),
                           ID("dhcp_setroute", "0"), I("dhcp_retry"), ID("mtu", "1500")}},
        [MT_NAME] = {"name", "name", true, true, B(1), 0, 2, {T("address"), T("name")}},
        [MT_OBJECT_GROUP] = {"object_group",
                             "object-group",
                             true,
                             true,
                             B(0),
                             B(0),
                             4,
                             {T("name"), T("kind"), T("service_protocol"), T("description")}},
        [MT_OG_MEMBER] = {"object_group_member",
                          "object-group member",
                          true,
                          true,
                          0,
                          0,
                          9,
                          {R("group_id", MT_OBJECT_GROUP), T("kind"), T("address"), T("netmask"),
                           T("port_op"), I("port_low"), I("port_high"), T("value"),
                           R("ref_group_id", MT_OBJECT_GROUP)}},
        [MT_ACCESS_LIST] = {"access_list", "access-list", true, true, B(0), B(0), 1, {T("name")}},
        [MT_ACE] = {"access_list_entry",
                    "access-list entry",
                    true,
                    true,
                    0,
                    0,
                    28,
                    {R("acl_id", MT_ACCESS_LIST), T("action"), T("remark"), T("protocol"),
                     R("protocol_group_id", MT_OBJECT_GROUP), ADDR_COLS("src"), ADDR_COLS("dst"),
                     T("icmp_type"), R("icmp_group_id", MT_OBJECT_GROUP), ID("log", "0"),
                     I("log_level"), I("log_interval"), ID("inactive", "0")}},
        [MT_ACCESS_GROUP] = {"access_group",
                             "access-group",
                             false,
                             true,
                             B(1) | B(2),
                             0,
                             3,
                             {R("acl_id", MT_ACCESS_LIST), R("interface_id", MT_INTERFACE),
                              TD("direction", "in")}},
        [MT_NAT_GLOBAL] = {"nat_global",
                           "global",
                           true,
                           true,
                           0,
                           0,
                           6,
                           {R("interface_id", MT_INTERFACE), I("nat_id"), T("kind"),
                            T("start_address"), T("end_address"), T("netmask")}},
        [MT_NAT_RULE] = {"nat_rule",
                         "nat",
                         true,
                         true,
                         0,
                         0,
                         10,
                         {R("interface_id", MT_INTERFACE), I("nat_id"), R("acl_id", MT_ACCESS_LIST),
                          T("address"), T("netmask"), ID("outside", "0"), ID("dns", "0"),
                          ID("norandomseq", "0"), ID("max_conns", "0"), ID("emb_limit", "0")}},
        [MT_NAT_STATIC] = {"nat_static",
                           "static",
                           true,
                           true,
                           0,
                           0,
                           14,
                           {R("real_interface_id", MT_INTERFACE),
                            R("mapped_interface_id", MT_INTERFACE), T("protocol"),
                            TD("mapped_kind", "address"), T("mapped_address"), I("mapped_port"),
                            T("real_address"), I("real_port"), R("acl_id", MT_ACCESS_LIST),
                            TD("netmask", "255.255.255.255"), ID("dns", "0"),
                            ID("norandomseq", "0"), ID("max_conns", "0"), ID("emb_limit", "0")}},
        [MT_ROUTE] = {"route",
                      "route",
                      true,
                      true,
                      B(1) | B(2) | B(3),
                      0,
                      5,
                      {R("interface_id", MT_INTERFACE), T("destination"), T("netmask"),
                       T("gateway"), ID("metric", "1")}},
        [MT_TIMEOUT] = {"timeout",
                        "timeout",
                        false,
                        false,
                        B(0),
                        0,
                        3,
                        {T("name"), I("seconds"), T("option")}},
        [MT_AAA_GROUP] = {"aaa_server_group",
                          "aaa-server group",
                          true,
                          true,
                          B(0),
                          B(0),
                          6,
                          {T("name"), T("protocol"), ID("max_failed_attempts", "3"),
                           ID("deadtime_min", "10"), TD("accounting_mode", "single"),
                           ID("fallback_local", "0")}},
        [MT_AAA_HOST] = {"aaa_server_host",
                         "aaa-server host",
                         true,
                         true,
                         B(0) | B(2),
                         0,
                         8,
                         {R("group_id", MT_AAA_GROUP), R("interface_id", MT_INTERFACE),
                          T("address"), S("key_secret"), ID("timeout_s", "5"), ID("retries", "2"),
                          I("auth_port"), I("acct_port")}},
        [MT_AAA_RULE] = {"aaa_rule",
                         "aaa rule",
                         true,
                         true,
                         0,
                         0,
                         11,
                         {T("kind"), T("action"), T("service"), R("interface_id", MT_INTERFACE),
                          T("direction"), T("local_address"), T("local_netmask"),
                          T("foreign_address"), T("foreign_netmask"), R("acl_id", MT_ACCESS_LIST),
                          R("group_id", MT_AAA_GROUP)}},
        [MT_AAA_CONSOLE] = {"aaa_console",
                            "aaa console",
                            false,
                            true,
                            B(0),
                            0,
                            2,
                            {T("service"), R("group_id", MT_AAA_GROUP)}},
        [MT_LOCAL_USER] = {"local_user",
                           "username",
                           true,
                           true,
                           B(0),
                           0,
                           4,
                           {T("name"), T("password_hash"), TD("hash_kind", "pix-md5"),
                            ID("privilege", "2")}},
        [MT_IP_POOL] = {"ip_pool",
                        "ip local pool",
                        true,
                        true,
                        B(0),
                        B(0),
                        4,
                        {T("name"), T("start_address"), T("end_address"), T("netmask")}},
        [MT_ISAKMP_IF] = {"isakmp_interface",
                          "isakmp enable",
                          false,
                          false,
                          0,
                          0,
                          1,
                          {R("interface_id", MT_INTERFACE)}},
        [MT_ISAKMP_POLICY] = {"isakmp_policy",
                              "isakmp policy",
                              false,
                              false,
                              B(0),
                              0,
                              6,
                              {I("priority"), TD("authentication", "rsa-sig"),
                               TD("encryption", "des"), TD("hash", "sha"), ID("dh_group", "1"),
                               ID("lifetime_s", "86400")}},
        [MT_ISAKMP_KEY] = {"isakmp_key",
                           "isakmp key",
                           true,
                           true,
                           B(0) | B(1),
                           0,
                           5,
                           {T("address"), TD("netmask", "255.255.255.255"), S("key_secret"),
                            ID("no_xauth", "0"), ID("no_config_mode", "0")}},
        [MT_ISAKMP_CLIENT_POOL] = {"isakmp_client_pool",
                                   "isakmp client configuration address-pool",
                                   false,
                                   true,
                                   0,
                                   0,
                                   2,
                                   {R("pool_id", MT_IP_POOL), R("interface_id", MT_INTERFACE)}},
        [MT_TRANSFORM_SET] = {"transform_set",
                              "transform-set",
                              true,
                              true,
                              B(0),
                              B(0),
                              5,
                              {T("name"), T("esp_encryption"), T("esp_authentication"), T("ah"),
                               TD("mode", "tunnel")}},
        [MT_CRYPTO_MAP] = {"crypto_map_entry",
                           "crypto map entry",
                           false,
                           true,
                           B(0) | B(1) | B(2),
                           B(0) | B(1) | B(2),
                           9,
                           {T("map_name"), ID("is_dynamic", "0"), I("seq"),
                            TD("kind", "ipsec-isakmp"), T("dynamic_map_name"),
                            R("acl_id", MT_ACCESS_LIST), I("pfs_group"), I("lifetime_s"),
                            I("lifetime_kb")}},
        [MT_CRYPTO_MAP_TRANSFORM] = {"crypto_map_transform",
                                     "crypto map transform-set",
                                     true,
                                     false,
                                     0,
                                     0,
                                     2,
                                     {R("entry_id", MT_CRYPTO_MAP),
                                      R("transform_set_id", MT_TRANSFORM_SET)}},
        [MT_CRYPTO_MAP_PEER] = {"crypto_map_peer",
                                "crypto map peer",
                                true,
                                false,
                                0,
                                0,
                                2,
                                {R("entry_id", MT_CRYPTO_MAP), T("address")}},
        [MT_CRYPTO_MAP_OPTION] = {"crypto_map_option",
                                  "crypto map client options",
                                  true,
                                  false,
                                  B(0),
                                  0,
                                  4,
                                  {T("map_name"), ID("client_config_initiate", "0"),
                                   ID("client_config_respond", "0"),
                                   R("client_auth_group_id", MT_AAA_GROUP)}},
        [MT_CRYPTO_MAP_IF] = {"crypto_map_interface",
                              "crypto map interface",
                              true,
                              false,
                              B(1),
                              0,
                              2,
                              {T("map_name"), R("interface_id", MT_INTERFACE)}},
        [MT_VPNGROUP] = {"vpngroup",
                         "vpngroup",
                         true,
                         true,
                         B(0),
                         0,
                         22,
                         {T("name"),
                          R("pool_id", MT_IP_POOL),
                          T("dns_server1"),
                          T("dns_server2"),
                          T("wins_server1"),
                          T("wins_server2"),
                          T("default_domain"),
                          R("split_tunnel_acl_id", MT_ACCESS_LIST),
                          T("split_dns"),
                          I("idle_time_s"),
                          I("max_time_s"),
                          S("password_secret"),
                          ID("has_password", "0"),
                          ID("pfs", "0"),
                          T("backup_servers"),
                          T("banner"),
                          ID("save_password", "0"),
                          I("authentication_server_timeout_s"),
                          ID("device_pass_through", "0"),
                          ID("secure_unit_authentication", "0"),
                          ID("user_authentication", "0"),
                          I("user_idle_timeout_s")}},
        [MT_FIXUP] = {"fixup",
                      "fixup",
                      true,
                      true,
                      0,
                      0,
                      6,
                      {T("protocol"), T("qualifier"), I("port_low"), I("port_high"),
                       I("max_length"), ID("enabled", "1")}},
        [MT_SYSOPT] =
                {"sysopt", "sysopt", false, false, B(0), 0, 2, {T("name"), TD("value", "on")}},
        [MT_MGMT_ACCESS] = {"mgmt_access",
                            "telnet/ssh/http access",
                            true,
                            true,
                            0,
                            0,
                            4,
                            {T("service"), T("address"), T("netmask"),
                             R("interface_id", MT_INTERFACE)}},
        [MT_PASSTHROUGH] = {"passthrough_line",
                            "kept line",
                            true,
                            true,
                            0,
                            0,
                            4,
                            {T("section"), T("text"), ID("supported", "0"), T("reason")}},
};

const struct model_table_desc *
model_table_desc(enum model_table t)
{
	return &descs[t];
}

int
model_col_index(enum model_table t, const char *col)
{
	/* callers pass string literals: a small cache keyed by the pointer avoids the strcmp scan */
	static _Thread_local struct {
		const char *p;
		int t, idx;
	} cache[256];
	const struct model_table_desc *d = &descs[t];
	size_t h = ((uintptr_t)col >> 3) & 255;

	if (cache[h].p == col && cache[h].t == (int)t &&
	    strcmp(d->cols[cache[h].idx].name, col) == 0)
		return cache[h].idx;
	for (int i = 0; i < d->ncols; i++) {
		if (strcmp(d->cols[i].name, col) == 0) {
			cache[h].p = col;
			cache[h].t = (int)t;
			cache[h].idx = i;
			return i;
		}
	}
	return -1;
}

struct model *
model_new(void)
{
	return calloc(1, sizeof(struct model));
}

static void
row_clear(struct model_row *r, enum model_table t)
{
	if (r->v == NULL)
		return;
	for (int i = 0; i < descs[t].ncols; i++) {
		if (r->v[i] != NULL && descs[t].cols[i].type == MC_SECRET)
			explicit_bzero(r->v[i], strlen(r->v[i]));
		free(r->v[i]);
	}
	free(r->v);
	r->v = NULL;
}

void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	for (int t = 0; t < MT_COUNT; t++) {
		for (size_t i = 0; i < m->t[t].n; i++)
			row_clear(&m->t[t].rows[i], t);
		free(m->t[t].rows);
	}
	free(m);
}

struct model_row *
model_row_add(struct model *m, enum model_table t)
{
	struct model_rows *rs = &m->t[t];
	struct model_row *r;

	if (rs->n == rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 16;
		struct model_row *nr = realloc(rs->rows, ncap * sizeof(*nr));

		if (nr == NULL)
			return NULL;
		rs->rows = nr;
		rs->cap = ncap;
	}
	r = &rs->rows[rs->n];
	memset(r, 0, sizeof(*r));
	r->v = calloc((size_t)descs[t].ncols, sizeof(char *));
	if (r->v == NULL)
		return NULL;
	for (int i = 0; i < descs[t].ncols; i++) {
		if (descs[t].cols[i].def == NULL)
			continue;
		r->v[i] = strdup(descs[t].cols[i].def);
		if (r->v[i] == NULL) {
			row_clear(r, t);
			return NULL;
		}
	}
	rs->n++;
	return r;
}

void
model_row_remove(struct model *m, enum model_table t, size_t i)
{
	struct model_rows *rs = &m->t[t];

	if (i >= rs->n)
		return;
	row_clear(&rs->rows[i], t);
	memmove(&rs->rows[i], &rs->rows[i + 1], (rs->n - i - 1) * sizeof(rs->rows[0]));
	rs->n--;
}

static int
row_set_idx(struct model_row *r, enum model_table t, int i, const char *val)
{
	char *c = NULL;

	if (val != NULL) {
		c = strdup(val);
		if (c == NULL)
			return -ENOMEM;
	}
	if (r->v[i] != NULL && descs[t].cols[i].type == MC_SECRET)
		explicit_bzero(r->v[i], strlen(r->v[i]));
	free(r->v[i]);
	r->v[i] = c;
	return 0;
}

int
model_row_set(struct model_row *r, enum model_table t, const char *col, const char *val)
{
	int i = model_col_index(t, col);

	if (i < 0)
		return -EINVAL;
	return row_set_idx(r, t, i, val);
}

int
model_row_setf(struct model_row *r, enum model_table t, const char *col, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return model_row_set(r, t, col, buf);
}

const char *
model_row_get(const struct model_row *r, enum model_table t, const char *col)
{
	int i = model_col_index(t, col);

	return i < 0 ? NULL : r->v[i];
}

static char *
join_cols(const struct model_row *r, enum model_table t, unsigned mask, bool nullable)
{
	size_t len = 1, off = 0;
	char *s;

	for (int i = 0; i < descs[t].ncols; i++) {
		if (!(mask & B(i)))
			continue;
		if (r->v[i] == NULL && !nullable)
			return NULL;
		len += (r->v[i] ? strlen(r->v[i]) : 1) + 1;
	}
	s = malloc(len);
	if (s == NULL)
		return NULL;
	for (int i = 0; i < descs[t].ncols; i++) {
		if (!(mask & B(i)))
			continue;
		if (off > 0)
			s[off++] = '\x1f';
		const char *v = r->v[i] ? r->v[i] : "\x1e";
		size_t l = strlen(v);

		memcpy(s + off, v, l);
		off += l;
	}
	s[off] = '\0';
	return s;
}

char *
model_row_key(const struct model_row *r, enum model_table t)
{
	unsigned mask = descs[t].key_mask;

	if (mask == 0)
		mask = (1u << descs[t].ncols) - 1;
	return join_cols(r, t, mask, true);
}

char *
model_row_ref_key(const struct model_row *r, enum model_table t)
{
	if (descs[t].ref_key_mask == 0)
		return NULL;
	return join_cols(r, t, descs[t].ref_key_mask, false);
}

char *
model_row_describe(const struct model_row *r, enum model_table t)
{
	struct sbuf b;

	sbuf_init_heap(&b);
	sbuf_str(&b, descs[t].label);
	sbuf_str(&b, ":");
	for (int i = 0; i < descs[t].ncols; i++) {
		const struct model_col *c = &descs[t].cols[i];
		const char *v = r->v[i];

		if (c->type == MC_SECRET) {
			sbuf_str(&b, " ");
			sbuf_str(&b, c->name);
			sbuf_str(&b, v ? "=(set)" : "=(not set)");
			continue;
		}
		if (v == NULL || (c->def != NULL && strcmp(c->def, v) == 0))
			continue;
		sbuf_str(&b, " ");
		sbuf_str(&b, c->name);
		sbuf_str(&b, "=");
		if (c->type == MC_REF && c->ref == MT_CRYPTO_MAP) {
			/* map\x1fdyn\x1fseq -> map/seq */
			const char *a = strchr(v, '\x1f');
			const char *e = a ? strchr(a + 1, '\x1f') : NULL;

			sbuf_add(&b, v, a ? (size_t)(a - v) : strlen(v));
			sbuf_str(&b, "/");
			sbuf_str(&b, e ? e + 1 : "?");
			continue;
		}
		if (strchr(v, ' ') != NULL) {
			sbuf_str(&b, "\"");
			sbuf_str(&b, v);
			sbuf_str(&b, "\"");
		} else {
			sbuf_str(&b, v);
		}
	}
	return sbuf_take(&b); /* NULL when out of memory */
}

bool
model_row_equal(const struct model_row *a, const struct model_row *b, enum model_table t)
{
	for (int i = 0; i < descs[t].ncols; i++) {
		if ((a->v[i] == NULL) != (b->v[i] == NULL))
			return false;
		if (a->v[i] != NULL && strcmp(a->v[i], b->v[i]) != 0)
			return false;
	}
	return true;
}

/* ---- string -> id map (open addressing) ---- */

struct idmap_ent {
	char *key;
	int64_t id;
};

struct idmap {
	struct idmap_ent *e;
	size_t n, cap;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void
idmap_free(struct idmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->e[i].key);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static int
idmap_put(struct idmap *m, char *key_take, int64_t id)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct idmap_ent *ne = calloc(ncap, sizeof(*ne));

		if (ne == NULL) {
			free(key_take);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (m->e[i].key == NULL)
				continue;
			size_t j = hash_str(m->e[i].key) & (ncap - 1);

			while (ne[j].key != NULL)
				j = (j + 1) & (ncap - 1);
			ne[j] = m->e[i];
		}
		free(m->e);
		m->e = ne;
		m->cap = ncap;
	}
	size_t j = hash_str(key_take) & (m->cap - 1);

	while (m->e[j].key != NULL) {
		if (strcmp(m->e[j].key, key_take) == 0) {
			free(key_take);
			m->e[j].id = id;
			return 0;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->e[j].key = key_take;
	m->e[j].id = id;
	m->n++;
	return 0;
}

static bool
idmap_get(const struct idmap *m, const char *key, int64_t *id)
{
	if (m->cap == 0)
		return false;
	size_t j = hash_str(key) & (m->cap - 1);

	while (m->e[j].key != NULL) {
		if (strcmp(m->e[j].key, key) == 0) {
			*id = m->e[j].id;
			return true;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return false;
}

/* ---- load ---- */

static char *
ref_key_sql(enum model_table t)
{
	const struct model_table_desc *d = &descs[t];
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	bool first = true;

	if (f == NULL)
		return NULL;
	for (int i = 0; i < d->ncols; i++) {
		if (!(d->ref_key_mask & B(i)))
			continue;
		fprintf(f, "%sr.%s", first ? "" : " || char(31) || ", d->cols[i].name);
		first = false;
	}
	fclose(f);
	return s;
}

static int
load_table(struct db *db, struct model *m, enum model_table t, struct pc_err *err)
{
	const struct model_table_desc *d = &descs[t];
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	sqlite3_stmt *st = NULL;
	int rc;

	if (f == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "open_memstream: %s", strerror(errno)),
		       -ENOMEM;
	fputs("SELECT ", f);
	for (int i = 0; i < d->ncols; i++) {
		const struct model_col *c = &d->cols[i];

		if (i > 0)
			fputs(", ", f);
		if (c->type == MC_REF) {
			char *k = ref_key_sql(c->ref);

			fprintf(f, "(SELECT %s FROM %s r WHERE r.id = t.%s)", k ? k : "NULL",
			        descs[c->ref].sql_name, c->name);
			free(k);
		} else {
			fprintf(f, "t.%s", c->name);
		}
	}
	fprintf(f, " FROM %s t ORDER BY %s", d->sql_name,
	        d->has_position ? "t.position, t.rowid" : "t.rowid");
	if (fclose(f) != 0) {
		free(sql);
		return pc_err_set(err, PC_ERR_INTERNAL, "", "building SELECT for %s", d->sql_name),
		       -ENOMEM;
	}
	rc = db_prepare(db, sql, &st, err);
	free(sql);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct model_row *r = model_row_add(m, t);

		if (r == NULL) {
			rc = -ENOMEM;
			pc_err_set(err, PC_ERR_INTERNAL, "", "loading %s: out of memory",
			           d->sql_name);
			goto out;
		}
		for (int i = 0; i < d->ncols; i++) {
			const unsigned char *v = sqlite3_column_text(st, i);

			if (row_set_idx(r, t, i, (const char *)v) < 0) {
				rc = -ENOMEM;
				pc_err_set(err, PC_ERR_INTERNAL, "", "loading %s: out of memory",
				           d->sql_name);
				goto out;
			}
		}
	}
	if (rc != SQLITE_DONE) {
		rc = db_error(db, err, d->sql_name);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int
model_load(struct db *db, struct model **out, struct pc_err *err)
{
	struct model *m = model_new();
	int rc = 0;

	*out = NULL;
	if (m == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "model_new: out of memory"), -ENOMEM;
	for (int t = 0; t < MT_COUNT; t++) {
		rc = load_table(db, m, t, err);
		if (rc < 0) {
			model_free(m);
			return rc;
		}
	}
	*out = m;
	return 0;
}

/* ---- save ---- */

static int
bind_row(struct db *db, sqlite3_stmt *st, const struct model_row *r, enum model_table t, size_t pos,
         struct idmap *maps, struct pc_err *err)
{
	const struct model_table_desc *d = &descs[t];
	int idx = 1;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (int i = 0; i < d->ncols; i++, idx++) {
		const struct model_col *c = &d->cols[i];
		const char *v = r->v[i];
		int64_t id;

		if (v == NULL)
			continue;
		switch (c->type) {
		case MC_INT:
			sqlite3_bind_int64(st, idx, strtoll(v, NULL, 10));
			break;
		case MC_REF:
			if (!idmap_get(&maps[c->ref], v, &id))
				return pc_err_set(err, PC_ERR_INVALID, c->name,
				                  "%s: %s refers to undefined %s '%s'", d->sql_name,
				                  c->name, descs[c->ref].label, v),
				       -EINVAL;
			sqlite3_bind_int64(st, idx, id);
			break;
		default:
			sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
			break;
		}
	}
	if (d->has_position)
		sqlite3_bind_int64(st, idx, (sqlite3_int64)pos);
	(void)db;
	return 0;
}

static int
save_table(struct db *db, const struct model *m, enum model_table t, struct idmap *maps,
           struct pc_err *err)
{
	const struct model_table_desc *d = &descs[t];
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (f == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "open_memstream: %s", strerror(errno)),
		       -ENOMEM;
	fprintf(f, "INSERT INTO %s (", d->sql_name);
	for (int i = 0; i < d->ncols; i++)
		fprintf(f, "%s%s", i ? ", " : "", d->cols[i].name);
	if (d->has_position)
		fputs(", position", f);
	fputs(") VALUES (", f);
	for (int i = 0; i < d->ncols + (d->has_position ? 1 : 0); i++)
		fprintf(f, "%s?", i ? ", " : "");
	fputs(")", f);
	if (t == MT_IP_POOL)
		fputs(" ON CONFLICT(name) DO UPDATE SET start_address = excluded.start_address, "
		      "end_address = excluded.end_address, netmask = excluded.netmask, "
		      "position = excluded.position",
		      f);
	if (fclose(f) != 0) {
		free(sql);
		return pc_err_set(err, PC_ERR_INTERNAL, "", "building INSERT for %s", d->sql_name),
		       -ENOMEM;
	}
	rc = db_prepare(db, sql, &st, err);
	free(sql);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < m->t[t].n; i++) {
		const struct model_row *r = &m->t[t].rows[i];

		rc = bind_row(db, st, r, t, i, maps, err);
		if (rc < 0)
			goto out;
		if (sqlite3_step(st) != SQLITE_DONE) {
			char what[160];

			snprintf(what, sizeof(what), "INSERT INTO %s (row %zu, line %u)",
			         d->sql_name, i + 1, r->line);
			rc = db_error(db, err, what);
			goto out;
		}
		if (d->ref_key_mask != 0) {
			char *k = model_row_ref_key(r, t);
			int64_t id = sqlite3_last_insert_rowid(db_sqlite(db));

			if (k == NULL)
				continue;
			if (t == MT_IP_POOL) {
				/* an upsert that updated does not set last_insert_rowid */
				sqlite3_stmt *q;

				rc = db_prepare(db, "SELECT id FROM ip_pool WHERE name = ?", &q,
				                err);
				if (rc < 0) {
					free(k);
					goto out;
				}
				sqlite3_bind_text(q, 1, r->v[0], -1, SQLITE_STATIC);
				if (sqlite3_step(q) == SQLITE_ROW)
					id = sqlite3_column_int64(q, 0);
				sqlite3_finalize(q);
			}
			rc = idmap_put(&maps[t], k, id);
			if (rc < 0) {
				pc_err_set(err, PC_ERR_INTERNAL, "", "id map: out of memory");
				goto out;
			}
		}
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static int
delete_old_pools(struct db *db, const struct model *m, struct pc_err *err)
{
	sqlite3_stmt *sel = NULL, *del = NULL;
	struct idmap keep = {0};
	int rc;

	for (size_t i = 0; i < m->t[MT_IP_POOL].n; i++) {
		char *k = strdup(m->t[MT_IP_POOL].rows[i].v[0]);

		if (k == NULL || idmap_put(&keep, k, 1) < 0) {
			idmap_free(&keep);
			return pc_err_set(err, PC_ERR_INTERNAL, "", "out of memory"), -ENOMEM;
		}
	}
	rc = db_prepare(db, "SELECT id, name FROM ip_pool", &sel, err);
	if (rc < 0)
		goto out;
	rc = db_prepare(db, "DELETE FROM ip_pool WHERE id = ?", &del, err);
	if (rc < 0)
		goto out;
	while (sqlite3_step(sel) == SQLITE_ROW) {
		int64_t dummy;
		const char *name = (const char *)sqlite3_column_text(sel, 1);

		if (name != NULL && idmap_get(&keep, name, &dummy))
			continue;
		sqlite3_reset(del);
		sqlite3_bind_int64(del, 1, sqlite3_column_int64(sel, 0));
		if (sqlite3_step(del) != SQLITE_DONE) {
			rc = db_error(db, err, "DELETE FROM ip_pool");
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	idmap_free(&keep);
	return rc;
}

int
model_save(struct db *db, const struct model *m, struct pc_err *err)
{
	struct idmap maps[MT_COUNT] = {0};
	char sql[128];
	int rc = 0;

	/* children first; ip_pool is kept (leases reference it) and updated in place */
	for (int t = MT_COUNT - 1; t >= 0; t--) {
		if (t == MT_IP_POOL)
			continue;
		snprintf(sql, sizeof(sql), "DELETE FROM %s", descs[t].sql_name);
		rc = db_exec(db, sql, err);
		if (rc < 0)
			goto out;
	}
	rc = delete_old_pools(db, m, err);
	if (rc < 0)
		goto out;
	for (int t = 0; t < MT_COUNT; t++) {
		rc = save_table(db, m, t, maps, err);
		if (rc < 0)
			goto out;
	}
out:
	for (int t = 0; t < MT_COUNT; t++)
		idmap_free(&maps[t]);
	return rc;
}
