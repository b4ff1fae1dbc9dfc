/* The uauth cache: who is authenticated at which address, mirrored into the nftables set through
 * hooks, persisted in SQLite table uauth_entry, expired by loop timers, shown as PIX text and JSON. */
#include "gateway/uauth/uauth.h"
#include "gateway/uauth/uauth_int.h"

#include "db/db.h"
#include "gateway/core/events.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const method_names[] = {"ipsec", "http", "ftp", "telnet"};

const char *
uauth_method_name(enum uauth_method m)
{
	if ((unsigned)m >= sizeof(method_names) / sizeof(method_names[0]))
		return "unknown";
	return method_names[m];
}

static int
method_parse(const char *s, enum uauth_method *m)
{
	for (unsigned i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++) {
		if (strcmp(s, method_names[i]) == 0) {
			*m = (enum uauth_method)i;
			return 0;
		}
	}
	return -EINVAL;
}

int64_t
uauth_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
addr_str(uint32_t addr, char *buf, size_t len)
{
	struct in_addr a = {.s_addr = htonl(addr)};

	if (inet_ntop(AF_INET, &a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

static void
iso_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- configuration ---- */

void
uauth_config_defaults(struct uauth_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->hostname, sizeof(cfg->hostname), "portcullis");
	cfg->timeout_s = 300; /* PIX default: timeout uauth 0:05:00 absolute */
	cfg->port = UAUTH_PORT;
}

static int
service_parse(const char *s, struct uauth_rule *r)
{
	char *end;
	unsigned long port;

	if (strcmp(s, "any") == 0 || strcmp(s, "tcp/0") == 0) {
		r->service = UAUTH_SVC_ANY;
		return 0;
	}
	if (strcmp(s, "http") == 0 || strcmp(s, "www") == 0) {
		r->service = UAUTH_SVC_HTTP;
		return 0;
	}
	if (strcmp(s, "ftp") == 0) {
		r->service = UAUTH_SVC_FTP;
		return 0;
	}
	if (strcmp(s, "telnet") == 0) {
		r->service = UAUTH_SVC_TELNET;
		return 0;
	}
	if (strncmp(s, "tcp/", 4) == 0) {
		errno = 0;
		port = strtoul(s + 4, &end, 10);
		if (errno == 0 && *end == '\0' && end != s + 4 && port > 0 && port <= 65535) {
			r->service = UAUTH_SVC_TCP_PORT;
			r->port = (uint16_t)port;
			return 0;
		}
	}
	return -EINVAL;
}

static bool
hostname_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n >= sizeof(((struct uauth_config *)0)->hostname))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static uint32_t
col_ip4(sqlite3_stmt *st, int col, uint32_t dflt)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	uint32_t v;

	if (s == NULL || db_ip4_parse((const char *)s, &v) < 0)
		return dflt;
	return v;
}

static int
load_statics(struct db *db, struct uauth_config *cfg, struct pc_err *err)
{
	sqlite3_stmt *st;
	int rc;

	/* port statics first: they win over an address static for the same mapped address */
	rc = db_prepare(db,
	                "SELECT protocol, mapped_address, mapped_port, real_address, real_port, "
	                "netmask FROM nat_static WHERE mapped_kind = 'address' AND acl_id IS NULL "
	                "AND mapped_address IS NOT NULL AND real_address IS NOT NULL "
	                "AND (protocol IS NULL OR protocol = 'tcp') "
	                "ORDER BY protocol IS NULL, position, id",
	                &st, err);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct uauth_static s = {0};

		if (cfg->nstatics >= UAUTH_MAX_STATICS) {
			log_warn(LOG_UAUTH, "more than %d statics: the proxy uses the first %d",
			         UAUTH_MAX_STATICS, UAUTH_MAX_STATICS);
			break;
		}
		s.tcp = sqlite3_column_type(st, 0) != SQLITE_NULL;
		s.mapped = col_ip4(st, 1, 0);
		s.mapped_port = (uint16_t)sqlite3_column_int(st, 2);
		s.real = col_ip4(st, 3, 0);
		s.real_port = (uint16_t)sqlite3_column_int(st, 4);
		s.mask = col_ip4(st, 5, 0xffffffffu);
		cfg->statics[cfg->nstatics++] = s;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(db, err, "select nat_static");
	return 0;
}

int
uauth_static_map(const struct uauth_config *cfg, uint32_t *addr, uint16_t *port)
{
	for (int i = 0; i < cfg->nstatics; i++) {
		const struct uauth_static *s = &cfg->statics[i];

		if ((*addr & s->mask) != (s->mapped & s->mask))
			continue;
		if (s->tcp) {
			if (*port != s->mapped_port)
				continue;
			*addr = s->real;
			*port = s->real_port;
			return 0;
		}
		*addr = (s->real & s->mask) | (*addr & ~s->mask);
		return 0;
	}
	return -ENOENT;
}

int
uauth_config_load(struct db *db, struct uauth_config *cfg, struct pc_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	uauth_config_defaults(cfg);
	rc = db_prepare(db, "SELECT seconds, option FROM timeout WHERE name = 'uauth'", &st, err);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *opt = sqlite3_column_text(st, 1);

		cfg->timeout_s = (uint32_t)sqlite3_column_int64(st, 0);
		cfg->inactivity = opt != NULL && strcmp((const char *)opt, "inactivity") == 0;
	}
	sqlite3_finalize(st);
	rc = db_prepare(db, "SELECT value FROM setting WHERE name = 'hostname'", &st, err);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
		const char *h = (const char *)sqlite3_column_text(st, 0);

		/* It goes into the HTTP realm and the prompts: letters, digits, '-', '_', '.'. */
		if (hostname_ok(h))
			snprintf(cfg->hostname, sizeof(cfg->hostname), "%s", h);
		else
			log_warn(LOG_UAUTH,
			         "hostname '%.64s' is not a host name (letters, digits, '-', '_', "
			         "'.', at most 63): the prompts say '%s'",
			         h, cfg->hostname);
	}
	sqlite3_finalize(st);
	rc = load_statics(db, cfg, err);
	if (rc < 0)
		return rc;
	rc = db_prepare(db,
	                "SELECT r.id, r.action, r.service, r.local_address, r.local_netmask, "
	                "r.foreign_address, r.foreign_netmask, g.name FROM aaa_rule r "
	                "LEFT JOIN aaa_server_group g ON g.id = r.group_id "
	                "WHERE r.kind = 'authentication' AND r.action IN ('include', 'exclude') "
	                "ORDER BY r.position, r.id",
	                &st, err);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct uauth_rule r = {0};
		const unsigned char *svc = sqlite3_column_text(st, 2);
		const unsigned char *grp = sqlite3_column_text(st, 7);

		r.include = strcmp((const char *)sqlite3_column_text(st, 1), "include") == 0;
		if (svc == NULL || service_parse((const char *)svc, &r) < 0) {
			log_warn(LOG_UAUTH,
			         "aaa_rule %lld: service '%s' is not http, ftp, telnet, any or "
			         "tcp/PORT; no cut-through prompt for it",
			         (long long)sqlite3_column_int64(st, 0),
			         svc != NULL ? (const char *)svc : "(none)");
			continue;
		}
		r.local_addr = col_ip4(st, 3, 0);
		r.local_mask = col_ip4(st, 4, 0);
		r.foreign_addr = col_ip4(st, 5, 0);
		r.foreign_mask = col_ip4(st, 6, 0);
		if (grp != NULL)
			snprintf(r.group, sizeof(r.group), "%s", (const char *)grp);
		if (cfg->nrules >= UAUTH_MAX_RULES) {
			sqlite3_finalize(st);
			return pc_err_set(err, PC_ERR_INVALID, "aaa_rule",
			                  "more than %d aaa authentication rules", UAUTH_MAX_RULES);
		}
		cfg->rules[cfg->nrules++] = r;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(db, err, "select aaa_rule");
	return 0;
}

static bool
svc_matches(const struct uauth_rule *r, enum uauth_method svc, uint16_t dport)
{
	switch (r->service) {
	case UAUTH_SVC_ANY:
		return true;
	case UAUTH_SVC_HTTP:
		return svc == UAUTH_METHOD_HTTP;
	case UAUTH_SVC_FTP:
		return svc == UAUTH_METHOD_FTP;
	case UAUTH_SVC_TELNET:
		return svc == UAUTH_METHOD_TELNET;
	case UAUTH_SVC_TCP_PORT:
		return r->port == dport;
	}
	return false;
}

int
uauth_rule_lookup(const struct uauth_config *cfg, enum uauth_method svc, uint32_t src, uint32_t dst,
                  uint32_t real_dst, uint16_t dport, char *group, size_t gcap)
{
	for (int i = 0; i < cfg->nrules; i++) {
		const struct uauth_rule *r = &cfg->rules[i];

		if (!svc_matches(r, svc, dport))
			continue;
		if ((src & r->foreign_mask) != (r->foreign_addr & r->foreign_mask))
			continue;
		if ((dst & r->local_mask) != (r->local_addr & r->local_mask) &&
		    (real_dst & r->local_mask) != (r->local_addr & r->local_mask))
			continue;
		if (!r->include)
			return 0;
		snprintf(group, gcap, "%s", r->group);
		return 1;
	}
	return -ENOENT;
}

/* ---- persistence ---- */

/* ids of entries that are not in the database (tunnel users, or no database) */
#define UAUTH_UNSTORED_ID_BASE (UINT64_C(1) << 40)

static int
db_store(struct uauth *u, struct uauth_entry *e)
{
	sqlite3_stmt *st;
	struct pc_err err = {0};
	char a[INET_ADDRSTRLEN];
	int rc;

	/* Tunnel users are not stored: a restart drops them anyway (their tunnels are gone) and
	 * the API lists the live table. Two SQLite transactions less per tunnel. Their ids come from
	 * a range above any row id. */
	if (u->db == NULL || e->method == UAUTH_METHOD_IPSEC) {
		e->id = UAUTH_UNSTORED_ID_BASE + ++u->next_id;
		return 0;
	}
	addr_str(e->addr, a, sizeof(a));
	rc = db_prepare(
	        u->db,
	        "INSERT OR REPLACE INTO uauth_entry (username, address, method, group_name, "
	        "created_at_ms, expires_at_ms, inactivity) VALUES (?, ?, ?, ?, ?, ?, ?)",
	        &st, &err);
	if (rc < 0) {
		log_error(LOG_UAUTH, "store uauth entry %s: %s", a, err.msg);
		return rc;
	}
	sqlite3_bind_text(st, 1, e->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, uauth_method_name(e->method), -1, SQLITE_STATIC);
	if (e->group[0] != '\0')
		sqlite3_bind_text(st, 4, e->group, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, e->since_ms);
	if (e->expires_ms != 0)
		sqlite3_bind_int64(st, 6, e->expires_ms);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int(st, 7, e->inactivity ? 1 : 0);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_error(u->db, &err, "insert uauth_entry");
		log_error(LOG_UAUTH, "store uauth entry %s: %s", a, err.msg);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	e->id = (uint64_t)sqlite3_last_insert_rowid(db_sqlite(u->db));
	return 0;
}

static void
db_delete(struct uauth *u, uint64_t id)
{
	sqlite3_stmt *st;
	struct pc_err err = {0};

	if (u->db == NULL || id > UAUTH_UNSTORED_ID_BASE)
		return;
	if (db_prepare(u->db, "DELETE FROM uauth_entry WHERE id = ?", &st, &err) < 0) {
		log_error(LOG_UAUTH, "delete uauth entry %" PRIu64 ": %s", id, err.msg);
		return;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(u->db, &err, "delete uauth_entry");
		log_error(LOG_UAUTH, "delete uauth entry %" PRIu64 ": %s", id, err.msg);
	}
	sqlite3_finalize(st);
}

static void
db_update_expiry(struct uauth *u, const struct uauth_entry *e)
{
	sqlite3_stmt *st;
	struct pc_err err = {0};

	if (u->db == NULL)
		return;
	if (db_prepare(u->db, "UPDATE uauth_entry SET expires_at_ms = ? WHERE id = ?", &st, &err) <
	    0) {
		log_error(LOG_UAUTH, "update uauth entry %" PRIu64 ": %s", e->id, err.msg);
		return;
	}
	sqlite3_bind_int64(st, 1, e->expires_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)e->id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(u->db, &err, "update uauth_entry");
		log_error(LOG_UAUTH, "update uauth entry %" PRIu64 ": %s", e->id, err.msg);
	}
	sqlite3_finalize(st);
}

/* ---- entries ---- */

static void
publish(const char *type, const struct uauth_entry *e, const char *reason)
{
	json_t *o;
	char a[INET_ADDRSTRLEN];
	char *txt;

	addr_str(e->addr, a, sizeof(a));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s?}", "id", (json_int_t)e->id, "user", e->user,
	              "address", a, "method", uauth_method_name(e->method), "reason", reason);
	if (o == NULL)
		return;
	if (e->group[0] != '\0')
		json_object_set_new(o, "group", json_string(e->group));
	txt = json_dumps(o, JSON_COMPACT);
	if (txt != NULL)
		events_publish(type, txt);
	free(txt);
	json_decref(o);
}

static unsigned
addr_bucket(uint32_t addr)
{
	return (addr * 2654435761u) >> 20 & (UAUTH_ADDR_BUCKETS - 1);
}

static struct uauth_entry *
find_addr(struct uauth *u, uint32_t addr)
{
	for (struct uauth_entry *e = u->by_addr[addr_bucket(addr)]; e != NULL; e = e->hnext)
		if (e->addr == addr)
			return e;
	return NULL;
}

static void
unlink_entry(struct uauth *u, struct uauth_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		u->entries = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	for (struct uauth_entry **pp = &u->by_addr[addr_bucket(e->addr)]; *pp != NULL;
	     pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	e->hnext = NULL;
	u->nentries--;
}

/* Removes from the set, the database and the table; frees e. */
static void
remove_entry(struct uauth *u, struct uauth_entry *e, const char *reason)
{
	char a[INET_ADDRSTRLEN];
	int rc;

	addr_str(e->addr, a, sizeof(a));
	if (e->timer != NULL)
		loop_timer_cancel(u->loop, e->timer);
	e->timer = NULL;
	if (u->hooks.set_del != NULL) {
		rc = u->hooks.set_del(u->hooks.set_arg, e->addr);
		if (rc < 0 && rc != -ENOENT)
			log_warn(LOG_UAUTH, "%s: removing from the uauth set failed: %s", a,
			         strerror(-rc));
	}
	db_delete(u, e->id);
	unlink_entry(u, e);
	log_info(LOG_UAUTH, "%s: %s user '%s' removed (%s)", a, uauth_method_name(e->method),
	         e->user, reason);
	publish("uauth-removed", e, reason);
	free(e);
}

static void on_expire(struct loop *loop, void *arg);

static int
arm_timer(struct uauth *u, struct uauth_entry *e)
{
	int64_t now = uauth_epoch_ms();
	uint64_t delay;

	if (e->expires_ms == 0)
		return 0;
	delay = e->expires_ms > now ? (uint64_t)(e->expires_ms - now) : 0;
	e->timer = loop_timer_add(u->loop, delay, on_expire, e);
	if (e->timer == NULL) {
		log_error(LOG_UAUTH, "uauth entry %" PRIu64 ": no timer for its expiry", e->id);
		return -ENOMEM;
	}
	return 0;
}

static void
on_expire(struct loop *loop, void *arg)
{
	struct uauth_entry *e = arg;
	struct uauth *u = e->u;
	uint64_t left = 0;

	e->timer = NULL; /* fired: freed by the loop */
	if (e->inactivity && u->hooks.set_get != NULL &&
	    u->hooks.set_get(u->hooks.set_arg, e->addr, &left) == 0 && left > 0) {
		/* The kernel refreshed the element on traffic: follow it. */
		e->expires_ms = uauth_epoch_ms() + (int64_t)left;
		db_update_expiry(u, e);
		if (arm_timer(u, e) == 0)
			return;
	}
	remove_entry(u, e, e->inactivity ? "inactivity timeout" : "absolute timeout");
}

static void
note_most_seen(struct uauth *u)
{
	if (u->nentries > u->most_seen)
		u->most_seen = u->nentries;
}

/* Inserts e (filled but unlinked) after programming the set and the database. */
static int
insert_entry(struct uauth *u, struct uauth_entry *e, bool store)
{
	char a[INET_ADDRSTRLEN];
	struct uauth_entry *old;
	uint32_t tmo = 0;
	int rc;

	addr_str(e->addr, a, sizeof(a));
	old = find_addr(u, e->addr);
	if (old != NULL)
		remove_entry(u, old, "replaced");
	if (u->nentries >= UAUTH_MAX_ENTRIES) {
		log_error(LOG_UAUTH, "%s: uauth table full (%d entries)", a, UAUTH_MAX_ENTRIES);
		return -ENOSPC;
	}
	if (e->expires_ms != 0) {
		int64_t left = e->expires_ms - uauth_epoch_ms();

		tmo = left > 1000 ? (uint32_t)((left + 999) / 1000) : 1;
	}
	if (u->hooks.set_add != NULL) {
		rc = u->hooks.set_add(u->hooks.set_arg, e->addr, tmo);
		if (rc < 0) {
			log_error(LOG_UAUTH, "%s: adding to the uauth set failed: %s", a,
			          strerror(-rc));
			return rc;
		}
	}
	if (store) {
		rc = db_store(u, e);
		if (rc < 0) {
			if (u->hooks.set_del != NULL)
				u->hooks.set_del(u->hooks.set_arg, e->addr);
			return rc;
		}
	}
	rc = arm_timer(u, e);
	if (rc < 0) {
		if (u->hooks.set_del != NULL)
			u->hooks.set_del(u->hooks.set_arg, e->addr);
		db_delete(u, e->id);
		return rc;
	}
	e->u = u;
	e->prev = NULL;
	e->next = u->entries;
	if (u->entries != NULL)
		u->entries->prev = e;
	u->entries = e;
	e->hnext = u->by_addr[addr_bucket(e->addr)];
	u->by_addr[addr_bucket(e->addr)] = e;
	u->nentries++;
	note_most_seen(u);
	return 0;
}

static struct uauth_entry *
entry_new(const char *user, uint32_t addr, enum uauth_method m, const char *group)
{
	struct uauth_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	snprintf(e->user, sizeof(e->user), "%s", user);
	snprintf(e->group, sizeof(e->group), "%s", group != NULL ? group : "");
	e->addr = addr;
	e->method = m;
	e->since_ms = uauth_epoch_ms();
	return e;
}

int
uauth_add_cut_through(struct uauth *u, const char *user, uint32_t addr, enum uauth_method m,
                      const char *group)
{
	struct uauth_entry *e;
	int rc;

	if (u->cfg.timeout_s == 0)
		return 0;
	e = entry_new(user, addr, m, group);
	if (e == NULL)
		return -ENOMEM;
	e->timeout_s = u->cfg.timeout_s;
	e->inactivity = u->cfg.inactivity;
	e->expires_ms = e->since_ms + (int64_t)u->cfg.timeout_s * 1000;
	rc = insert_entry(u, e, true);
	if (rc < 0) {
		free(e);
		return rc;
	}
	publish("uauth-added", e, NULL);
	return 0;
}

int
uauth_add_ipsec(struct uauth *u, const char *user, uint32_t addr, const char *group)
{
	struct uauth_entry *e;
	char a[INET_ADDRSTRLEN];
	int rc;

	if (u == NULL || user == NULL || addr == 0)
		return -EINVAL;
	e = entry_new(user, addr, UAUTH_METHOD_IPSEC, group);
	if (e == NULL)
		return -ENOMEM;
	rc = insert_entry(u, e, true);
	if (rc < 0) {
		free(e);
		return rc;
	}
	addr_str(addr, a, sizeof(a));
	log_info(LOG_UAUTH, "%s: ipsec user '%s' authenticated", a, user);
	publish("uauth-added", e, NULL);
	return 0;
}

int
uauth_remove_ipsec(struct uauth *u, uint32_t addr)
{
	struct uauth_entry *e;

	if (u == NULL)
		return -EINVAL;
	e = find_addr(u, addr);
	if (e == NULL || e->method != UAUTH_METHOD_IPSEC)
		return -ENOENT;
	remove_entry(u, e, "tunnel down");
	return 0;
}

bool
uauth_is_authenticated(struct uauth *u, uint32_t addr)
{
	return u != NULL && find_addr(u, addr) != NULL;
}

int
uauth_lookup(struct uauth *u, uint32_t addr, char *user, size_t ucap, char *group, size_t gcap,
             enum uauth_method *method)
{
	const struct uauth_entry *e = u != NULL ? find_addr(u, addr) : NULL;

	if (e == NULL)
		return -ENOENT;
	if (user != NULL && ucap > 0)
		snprintf(user, ucap, "%s", e->user);
	if (group != NULL && gcap > 0)
		snprintf(group, gcap, "%s", e->group);
	if (method != NULL)
		*method = e->method;
	return 0;
}

/* An administrator's clear returns once the kernel set no longer lets the user through. */
static void
set_sync(struct uauth *u)
{
	if (u->hooks.set_sync != NULL)
		u->hooks.set_sync(u->hooks.set_arg);
}

int
uauth_clear(struct uauth *u, const char *sel, struct pc_err *err)
{
	struct uauth_entry *e, *next;
	uint32_t addr = 0;
	bool by_addr = false;
	int n = 0;

	if (sel != NULL && sel[0] == '#') {
		char *end;
		unsigned long long id;

		errno = 0;
		id = strtoull(sel + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == sel + 1)
			return pc_err_set(err, PC_ERR_INVALID, "id",
			                  "clear uauth: expected #ID with a number, got '%s'", sel);
		return uauth_clear_id(u, id, err);
	}
	if (sel != NULL && sel[0] >= '0' && sel[0] <= '9' &&
	    strspn(sel, "0123456789") == strlen(sel)) {
		/* the API passes DELETE /api/v1/uauth/{id} as is; a numeric user name still works */
		unsigned long long id = strtoull(sel, NULL, 10);

		for (e = u->entries; e != NULL; e = e->next) {
			if (e->id == id) {
				remove_entry(u, e, "cleared");
				set_sync(u);
				return 1;
			}
		}
	}
	if (sel != NULL && sel[0] != '\0' && db_ip4_parse(sel, &addr) == 0)
		by_addr = true;
	for (e = u->entries; e != NULL; e = next) {
		next = e->next;
		if (sel != NULL && sel[0] != '\0') {
			if (by_addr ? e->addr != addr : strcmp(e->user, sel) != 0)
				continue;
		}
		remove_entry(u, e, "cleared");
		n++;
	}
	if (n == 0 && sel != NULL && sel[0] != '\0')
		return pc_err_set(err, PC_ERR_NOTFOUND, "user",
		                  "clear uauth: no authenticated user or address '%s'", sel);
	set_sync(u);
	return n;
}

int
uauth_clear_id(struct uauth *u, uint64_t id, struct pc_err *err)
{
	for (struct uauth_entry *e = u->entries; e != NULL; e = e->next) {
		if (e->id == id) {
			remove_entry(u, e, "cleared");
			set_sync(u);
			return 1;
		}
	}
	return pc_err_set(err, PC_ERR_NOTFOUND, "id", "clear uauth: no entry with id %" PRIu64, id);
}

void
uauth_progress(struct uauth *u, int delta)
{
	u->in_progress += delta;
	if (u->in_progress > u->in_progress_most_seen)
		u->in_progress_most_seen = u->in_progress;
}

void
uauth_get_counts(struct uauth *u, struct uauth_counts *c)
{
	c->current = u->nentries;
	c->most_seen = u->most_seen;
	c->in_progress = u->in_progress;
	c->in_progress_most_seen = u->in_progress_most_seen;
}

/* ---- restore at start ---- */

static int
restore(struct uauth *u, struct pc_err *err)
{
	sqlite3_stmt *st;
	int64_t now = uauth_epoch_ms();
	uint64_t drop[256];
	int ndrop = 0, rc, restored = 0;

	rc = db_prepare(u->db,
	                "SELECT id, username, address, method, group_name, created_at_ms, "
	                "expires_at_ms, inactivity FROM uauth_entry ORDER BY id",
	                &st, err);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct uauth_entry *e;
		enum uauth_method m;
		uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
		const char *meth = (const char *)sqlite3_column_text(st, 3);
		const char *grp = (const char *)sqlite3_column_text(st, 4);
		uint32_t addr = col_ip4(st, 2, 0);
		bool expired = sqlite3_column_type(st, 6) == SQLITE_NULL ||
		               sqlite3_column_int64(st, 6) <= now;

		/* ipsec rows (no expiry) belonged to tunnels that did not survive the restart:
		 * the IKE engine adds them again when the clients reconnect. */
		if (meth == NULL || method_parse(meth, &m) < 0 || m == UAUTH_METHOD_IPSEC ||
		    expired || addr == 0 || u->cfg.timeout_s == 0) {
			if (ndrop < (int)(sizeof(drop) / sizeof(drop[0])))
				drop[ndrop++] = id;
			continue;
		}
		e = entry_new((const char *)sqlite3_column_text(st, 1), addr, m, grp);
		if (e == NULL) {
			sqlite3_finalize(st);
			return pc_err_set(err, PC_ERR_INTERNAL, "", "restore uauth: out of memory");
		}
		e->id = id;
		e->since_ms = sqlite3_column_int64(st, 5);
		e->expires_ms = sqlite3_column_int64(st, 6);
		e->inactivity = sqlite3_column_int(st, 7) != 0;
		e->timeout_s = u->cfg.timeout_s;
		if (insert_entry(u, e, false) < 0) {
			free(e);
			if (ndrop < (int)(sizeof(drop) / sizeof(drop[0])))
				drop[ndrop++] = id;
			continue;
		}
		restored++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(u->db, err, "select uauth_entry");
	for (int i = 0; i < ndrop; i++)
		db_delete(u, drop[i]);
	/* More stale rows than the drop list holds: remove the rest in one statement. */
	if (db_prepare(u->db,
	               "DELETE FROM uauth_entry WHERE expires_at_ms IS NULL OR expires_at_ms <= ?",
	               &st, err) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(u->db, err, "delete stale uauth_entry");
	log_info(LOG_UAUTH, "restored %d uauth entries, dropped %d expired or stale", restored,
	         ndrop);
	return 0;
}

/* ---- lifecycle ---- */

int
uauth_new(struct loop *loop, struct db *db, const struct uauth_config *cfg,
          const struct uauth_hooks *hooks, struct uauth **out, struct pc_err *err)
{
	struct uauth *u;
	int rc;

	*out = NULL;
	if (hooks->authenticate == NULL)
		return pc_err_set(err, PC_ERR_INVALID, "", "uauth: no authenticate hook");
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "uauth: out of memory");
	u->loop = loop;
	u->db = db;
	u->cfg = *cfg;
	u->hooks = *hooks;
	for (int i = 0; i < UAUTH_NLISTENERS; i++)
		u->lst[i].fd = -1;
	if (db != NULL) {
		rc = restore(u, err);
		if (rc < 0)
			goto fail;
	}
	rc = uauth_proxy_open(u, err);
	if (rc < 0)
		goto fail;
	*out = u;
	return 0;
fail:
	uauth_free(u);
	return rc;
}

void
uauth_free(struct uauth *u)
{
	struct uauth_entry *e, *next;

	if (u == NULL)
		return;
	uauth_proxy_close_all(u);
	uauth_proxy_close_listeners(u);
	for (e = u->entries; e != NULL; e = next) {
		next = e->next;
		if (e->timer != NULL)
			loop_timer_cancel(u->loop, e->timer);
		free(e);
	}
	free(u);
}

int
uauth_reload(struct uauth *u, const struct uauth_config *cfg, struct pc_err *err)
{
	bool ports_changed = cfg->port != u->cfg.port || cfg->port_http != u->cfg.port_http ||
	                     cfg->port_ftp != u->cfg.port_ftp ||
	                     cfg->port_telnet != u->cfg.port_telnet ||
	                     cfg->listen_addr != u->cfg.listen_addr;
	struct uauth_entry *e, *next;
	int rc;

	u->cfg = *cfg;
	if (cfg->timeout_s == 0) {
		for (e = u->entries; e != NULL; e = next) {
			next = e->next;
			if (e->method != UAUTH_METHOD_IPSEC)
				remove_entry(u, e, "uauth caching disabled");
		}
	}
	if (ports_changed) {
		uauth_proxy_close_listeners(u);
		rc = uauth_proxy_open(u, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- views ---- */

int
uauth_to_json(struct uauth *u, json_t **out)
{
	json_t *o, *items;
	int64_t now = uauth_epoch_ms();

	*out = NULL;
	items = json_array();
	if (items == NULL)
		return -ENOMEM;
	for (struct uauth_entry *e = u->entries; e != NULL; e = e->next) {
		char a[INET_ADDRSTRLEN], since[32], exp[32];
		json_t *it;

		addr_str(e->addr, a, sizeof(a));
		iso_time(e->since_ms, since, sizeof(since));
		if (e->expires_ms != 0)
			iso_time(e->expires_ms > now ? e->expires_ms : now, exp, sizeof(exp));
		it = json_pack(
		        "{s:I, s:s, s:s, s:s, s:o, s:s, s:o, s:I, s:b}", "id", (json_int_t)e->id,
		        "user", e->user, "address", a, "method", uauth_method_name(e->method),
		        "group", e->group[0] != '\0' ? json_string(e->group) : json_null(), "since",
		        since, "expires", e->expires_ms != 0 ? json_string(exp) : json_null(),
		        "timeout_s", (json_int_t)e->timeout_s, "absolute",
		        e->method != UAUTH_METHOD_IPSEC && !e->inactivity);
		if (it == NULL || json_array_append_new(items, it) < 0) {
			json_decref(items);
			return -ENOMEM;
		}
	}
	o = json_pack("{s:i, s:i, s:i, s:i, s:o}", "current", u->nentries, "most_seen",
	              u->most_seen, "in_progress", u->in_progress, "in_progress_most_seen",
	              u->in_progress_most_seen, "items", items);
	if (o == NULL)
		return -ENOMEM;
	*out = o;
	return 0;
}

/* Appends to buf like snprintf, tracking the length needed. */
static void put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < len ? buf + *pos : NULL, *pos < len ? len - *pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

static void
hms(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	snprintf(buf, len, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
	         (long long)(s % 60));
}

static int64_t
iso_parse(const char *s)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

size_t
uauth_format_text(const json_t *view, char *buf, size_t len)
{
	size_t pos = 0;
	json_t *items = json_object_get(view, "items");
	int64_t now = uauth_epoch_ms() / 1000;
	size_t i;
	json_t *it;

	if (len > 0)
		buf[0] = '\0';
	put(buf, len, &pos, "%-26s%-11s%s\n", "", "Current", "Most Seen");
	put(buf, len, &pos, "%-26s%-11lld%lld\n", "Authenticated Users",
	    (long long)json_integer_value(json_object_get(view, "current")),
	    (long long)json_integer_value(json_object_get(view, "most_seen")));
	put(buf, len, &pos, "%-26s%-11lld%lld\n", "Authen In Progress",
	    (long long)json_integer_value(json_object_get(view, "in_progress")),
	    (long long)json_integer_value(json_object_get(view, "in_progress_most_seen")));
	json_array_foreach(items, i, it)
	{
		const char *user = json_string_value(json_object_get(it, "user"));
		const char *addr = json_string_value(json_object_get(it, "address"));
		const char *meth = json_string_value(json_object_get(it, "method"));
		const char *exp = json_string_value(json_object_get(it, "expires"));
		bool absolute = json_is_true(json_object_get(it, "absolute"));
		char left[32], zero[] = "0:00:00";

		if (user == NULL || addr == NULL || meth == NULL)
			continue;
		if (strcmp(meth, "ipsec") == 0) {
			put(buf, len, &pos, "ipsec user '%s' at %s, authenticated\n", user, addr);
			continue;
		}
		put(buf, len, &pos, "user '%s' at %s, authenticated\n", user, addr);
		hms(exp != NULL ? iso_parse(exp) - now : 0, left, sizeof(left));
		put(buf, len, &pos, "   absolute   timeout: %s\n", absolute ? left : zero);
		put(buf, len, &pos, "   inactivity timeout: %s\n", absolute ? zero : left);
	}
	return pos;
}

size_t
uauth_show_text(struct uauth *u, char *buf, size_t len)
{
	json_t *v;
	size_t n;

	if (uauth_to_json(u, &v) < 0) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	n = uauth_format_text(v, buf, len);
	json_decref(v);
	return n;
}
