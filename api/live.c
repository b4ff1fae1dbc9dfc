/* Live state (answered by the engine on its thread through loop_call), stored runtime data
 * (leases, accounting, audit: straight from SQLite), health, stats and Prometheus metrics. */
#include "api/api_admin.h"
#include "api/api_int.h"
#include "gateway/core/engine.h"
#include "gateway/core/loop.h"
#include "gateway/core/sbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE_TIMEOUT_MS 3000
#define CSV_MAX_ROWS    100000

typedef int (*engine_list_fn)(struct engine *eng, json_t **out);

struct list_call {
	struct engine *eng;
	engine_list_fn fn;
	json_t *out;
};

static int
list_on_engine(struct loop *loop, void *arg)
{
	struct list_call *c = arg;

	return c->fn(c->eng, &c->out);
}

/* Runs an engine list op; replies 503 naming the subsystem when it is not there. */
static json_t *
engine_list(struct api_req *req, engine_list_fn fn, const char *subsystem)
{
	struct engine *eng = req->api->cfg.engine;
	struct list_call c = {.eng = eng, .fn = fn};
	int rc;

	if (eng == NULL || eng->loop == NULL || fn == NULL) {
		api_reply_error(req, 503, "unavailable", NULL,
		                "%s subsystem not running in this gateway", subsystem);
		return NULL;
	}
	rc = loop_call(eng->loop, list_on_engine, &c, LIVE_TIMEOUT_MS);
	if (rc < 0) {
		json_decref(c.out);
		api_reply_error(req, 503, "unavailable", NULL, "%s: engine did not answer (%s)",
		                subsystem, strerror(-rc));
		return NULL;
	}
	return c.out != NULL ? c.out : json_array();
}

static void
reply_items(struct api_req *req, json_t *v)
{
	if (v == NULL)
		return;
	if (json_is_array(v))
		api_reply_json(req, 200,
		               json_pack("{s:o, s:I}", "items", v, "total",
		                         (json_int_t)json_array_size(v)));
	else
		api_reply_json(req, 200, v);
}

void
api_live_ike(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;

	reply_items(req, engine_list(req, eng != NULL ? eng->ops.list_ike_sas : NULL, "ike"));
}

void
api_live_ipsec(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;

	reply_items(req, engine_list(req, eng != NULL ? eng->ops.list_ipsec_sas : NULL, "ipsec"));
}

void
api_live_uauth(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;

	reply_items(req, engine_list(req, eng != NULL ? eng->ops.list_uauth : NULL, "uauth"));
}

void
api_live_aaa_health(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;

	reply_items(req, engine_list(req, eng != NULL ? eng->ops.aaa_health : NULL, "aaa"));
}

struct clear_call {
	struct engine *eng;
	uint64_t id;
	const char *who; /* uauth: id, user name or address; NULL = everyone */
	bool uauth;
	struct pc_err err;
};

static int
clear_on_engine(struct loop *loop, void *arg)
{
	struct clear_call *c = arg;

	if (c->uauth)
		return c->eng->ops.clear_uauth(c->eng, c->who, &c->err);
	return c->eng->ops.clear_sa(c->eng, c->id, &c->err);
}

static void
clear(struct api_req *req, struct clear_call *c, const char *subsystem)
{
	int rc;

	rc = loop_call(c->eng->loop, clear_on_engine, c, LIVE_TIMEOUT_MS);
	if (rc == -ETIMEDOUT || rc == -ESHUTDOWN) {
		api_reply_error(req, 503, "unavailable", NULL, "%s: engine did not answer",
		                subsystem);
		return;
	}
	if (rc < 0) {
		if (c->err.kind == PC_ERR_NONE)
			pc_err_set(&c->err, rc == -ENOENT ? PC_ERR_NOTFOUND : PC_ERR_APPLY, "",
			           "%s: %s", req->url, strerror(-rc));
		api_reply_err(req, &c->err);
		return;
	}
	api_audit(req->db, req, "clear", req->url, NULL, NULL, NULL);
	api_reply_text(req, 204, NULL, NULL, 0);
}

void
api_live_clear_sa(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;
	struct clear_call c = {.eng = eng};
	char *end;

	if (eng == NULL || eng->loop == NULL || eng->ops.clear_sa == NULL) {
		api_reply_error(req, 503, "unavailable", NULL, "ike subsystem not running");
		return;
	}
	c.id = strtoull(req->args[0], &end, 10);
	if (*end != '\0' || req->args[0][0] == '-') {
		api_reply_error(req, 404, "not_found", NULL, "no SA %s", req->args[0]);
		return;
	}
	clear(req, &c, "ike");
}

void
api_live_clear_uauth(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;
	struct clear_call c = {.eng = eng, .uauth = true};

	if (eng == NULL || eng->loop == NULL || eng->ops.clear_uauth == NULL) {
		api_reply_error(req, 503, "unavailable", NULL, "uauth subsystem not running");
		return;
	}
	c.who = req->args[0];
	clear(req, &c, "uauth");
}

void
api_live_clear_uauth_all(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;
	struct clear_call c = {.eng = eng, .uauth = true, .who = NULL};

	if (eng == NULL || eng->loop == NULL || eng->ops.clear_uauth == NULL) {
		api_reply_error(req, 503, "unavailable", NULL, "uauth subsystem not running");
		return;
	}
	clear(req, &c, "uauth");
}

/* ---- stored data ---- */

/* Runs sql (with binds) and returns rows as objects keyed by column name. */
static json_t *
query_rows(struct db *db, const char *sql, json_t *binds)
{
	sqlite3_stmt *st;
	json_t *rows = json_array(), *v;
	size_t i;

	if (db_prepare(db, sql, &st, NULL) < 0) {
		json_decref(rows);
		return NULL;
	}
	json_array_foreach(binds, i, v)
	{
		if (json_is_integer(v))
			sqlite3_bind_int64(st, (int)i + 1, json_integer_value(v));
		else
			sqlite3_bind_text(st, (int)i + 1, json_string_value(v), -1,
			                  SQLITE_TRANSIENT);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();

		for (int c = 0; c < sqlite3_column_count(st); c++)
			json_object_set_new(o, sqlite3_column_name(st, c), api_sql_value(st, c));
		json_array_append_new(rows, o);
	}
	sqlite3_finalize(st);
	return rows;
}

static int64_t
query_int(struct db *db, const char *sql, json_t *binds)
{
	json_t *rows = query_rows(db, sql, binds);
	json_t *first = json_array_get(rows, 0);
	const char *k;
	json_t *v;
	int64_t n = -1;

	json_object_foreach(first, k, v) n = json_integer_value(v);
	json_decref(rows);
	return n;
}

void
api_live_leases(struct api_req *req)
{
	int64_t offset, limit;
	json_t *binds, *rows;
	const char *state = api_query(req, "state");

	if (api_query_paging(req, &offset, &limit, API_PAGE_MAX) < 0)
		return;
	if (state != NULL && strcmp(state, "active") != 0 && strcmp(state, "released") != 0) {
		api_reply_error(req, 400, "bad_request", "state",
		                "state: expected active or released, got '%.20s'", state);
		return;
	}
	api_sync_leases(req);
	binds = json_pack("[s, s, I, I]", state != NULL ? state : "", state != NULL ? state : "",
	                  (json_int_t)limit, (json_int_t)offset);
	rows = query_rows(req->db,
	                  "SELECT l.id, p.name AS pool, l.pool_id, l.address, l.username, "
	                  "l.peer_address, l.state, l.assigned_at, l.released_at FROM ip_lease l "
	                  "JOIN ip_pool p ON p.id = l.pool_id WHERE (? = '' OR l.state = ?) "
	                  "ORDER BY l.id LIMIT ? OFFSET ?",
	                  binds);
	json_array_remove(binds, 3);
	json_array_remove(binds, 2);
	api_reply_json(req, 200,
	               json_pack("{s:o, s:I, s:I, s:I}", "items",
	                         rows != NULL ? rows : json_array(), "total",
	                         (json_int_t)query_int(req->db,
	                                               "SELECT count(*) FROM ip_lease WHERE (? = "
	                                               "'' OR state = ?)",
	                                               binds),
	                         "offset", (json_int_t)offset, "limit", (json_int_t)limit));
	json_decref(binds);
}

/* "2004-07-27", "2004-07-27T15:17:54Z" or epoch milliseconds -> epoch ms */
static int
parse_time(const char *s, int64_t *ms)
{
	struct tm tm = {0};
	const char *end;
	char *iend;
	long long v;

	v = strtoll(s, &iend, 10);
	if (*iend == '\0' && iend != s && strlen(s) > 8) {
		*ms = v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL || (*end != '\0' && strcmp(end, "Z") != 0))
		return -EINVAL;
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

/* Builds the WHERE clause of an accounting query from ?user=&type=&service=&from=&to=. */
static int
acct_where(struct api_req *req, char *where, size_t len, json_t *binds)
{
	enum { F_TEXT, F_TYPE, F_TIME };
	static const struct {
		const char *param, *sql;
		int kind;
	} filters[] = {
	        {"user", " AND username = ?", F_TEXT},
	        {"type", " AND record_type = ?", F_TYPE},
	        {"service", " AND service = ?", F_TEXT},
	        {"from", " AND created_at_ms >= ?", F_TIME},
	        {"to", " AND created_at_ms < ?", F_TIME},
	};
	struct sbuf w;

	sbuf_init(&w, where, len);
	sbuf_str(&w, " WHERE 1 = 1");

	for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++) {
		const char *v = api_query(req, filters[f].param);
		int64_t ms;

		if (v == NULL)
			continue;
		if (filters[f].kind == F_TYPE && strcmp(v, "start") != 0 &&
		    strcmp(v, "stop") != 0 && strcmp(v, "interim") != 0) {
			api_reply_error(req, 400, "bad_request", "type",
			                "type: expected start, stop or interim, got '%.20s'", v);
			return -EINVAL;
		}
		if (filters[f].kind == F_TIME && parse_time(v, &ms) < 0) {
			api_reply_error(
			        req, 400, "bad_request", filters[f].param,
			        "%s: expected YYYY-MM-DD[THH:MM:SSZ] or epoch ms, got '%.40s'",
			        filters[f].param, v);
			return -EINVAL;
		}
		sbuf_str(&w, filters[f].sql);
		json_array_append_new(binds, filters[f].kind == F_TIME ? json_integer(ms)
		                                                       : json_string(v));
	}
	return 0;
}

/* count(*) of all records: incremental over ids above the last seen max(id). If the table ever
 * shrinks (max(id) below the cached one), the cache is rebuilt with a full count. */
static int64_t
acct_total(struct api_req *req)
{
	struct api *api = req->api;
	int64_t max_id = query_int(req->db, "SELECT coalesce(max(id), 0) FROM acct_record", NULL);
	int64_t total;
	json_t *b;

	pthread_mutex_lock(&api->acct_lock);
	if (max_id < api->acct_max_id || api->acct_max_id == 0) {
		api->acct_count = query_int(req->db, "SELECT count(*) FROM acct_record", NULL);
	} else if (max_id > api->acct_max_id) {
		b = json_pack("[I]", (json_int_t)api->acct_max_id);
		api->acct_count +=
		        query_int(req->db, "SELECT count(*) FROM acct_record WHERE id > ?", b);
		json_decref(b);
	}
	api->acct_max_id = max_id;
	total = api->acct_count;
	pthread_mutex_unlock(&api->acct_lock);
	return total;
}

#define ACCT_COLS                                                                                  \
	"id, created_at_ms, record_type, session_id, task_id, username, group_name, "              \
	"caller_address, peer_address, nas_address, service, protocol, elapsed_s, bytes_in, "      \
	"bytes_out, packets_in, packets_out, terminate_cause, server_group, state, attempts, "     \
	"delivered_at_ms, delivered_to, last_error"

void
api_live_accounting(struct api_req *req)
{
	char where[512], sql[1024];
	int64_t offset, limit, total;
	json_t *binds = json_array(), *rows;

	if (api_query_paging(req, &offset, &limit, API_PAGE_MAX) < 0 ||
	    acct_where(req, where, sizeof(where), binds) < 0) {
		json_decref(binds);
		return;
	}
	if (json_array_size(binds) == 0) {
		total = acct_total(req);
	} else {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM acct_record%s", where);
		total = query_int(req->db, sql, binds);
	}
	snprintf(sql, sizeof(sql),
	         "SELECT " ACCT_COLS " FROM acct_record%s ORDER BY created_at_ms DESC, id DESC "
	         "LIMIT ? OFFSET ?",
	         where);
	json_array_append_new(binds, json_integer(limit));
	json_array_append_new(binds, json_integer(offset));
	rows = query_rows(req->db, sql, binds);
	json_decref(binds);
	if (rows == NULL) {
		api_reply_error(req, 500, "internal", NULL, "accounting query failed");
		return;
	}
	api_reply_json(req, 200,
	               json_pack("{s:o, s:I, s:I, s:I}", "items", rows, "total", (json_int_t)total,
	                         "offset", (json_int_t)offset, "limit", (json_int_t)limit));
}

/* Appends one CSV field: quoted when needed, and a leading = + - @ neutralised so spreadsheets
 * do not run it as a formula. */
static void
csv_field(FILE *f, const char *s, bool last)
{
	bool quote = s != NULL && strpbrk(s, ",\"\r\n") != NULL;

	if (s == NULL)
		s = "";
	if (quote)
		fputc('"', f);
	if (strchr("=+-@", s[0]) != NULL && s[0] != '\0')
		fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	if (quote)
		fputc('"', f);
	fputc(last ? '\n' : ',', f);
}

void
api_live_accounting_csv(struct api_req *req)
{
	char where[512], sql[1024], num[32];
	json_t *binds = json_array();
	sqlite3_stmt *st;
	int64_t offset, limit;
	const char *ls = api_query(req, "limit");
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (api_query_paging(req, &offset, &limit, CSV_MAX_ROWS) < 0 ||
	    acct_where(req, where, sizeof(where), binds) < 0) {
		json_decref(binds);
		return;
	}
	if (ls == NULL)
		limit = CSV_MAX_ROWS; /* the CSV is an export: default to everything up to the cap */
	snprintf(sql, sizeof(sql),
	         "SELECT created_at_ms, username, group_name, caller_address, record_type, "
	         "elapsed_s, bytes_in, bytes_out, task_id, nas_address, service FROM acct_record%s "
	         "ORDER BY created_at_ms DESC, id DESC LIMIT ? OFFSET ?",
	         where);
	json_array_append_new(binds, json_integer(limit));
	json_array_append_new(binds, json_integer(offset));
	if (db_prepare(req->db, sql, &st, NULL) < 0) {
		json_decref(binds);
		api_reply_error(req, 500, "internal", NULL, "accounting query failed");
		return;
	}
	for (size_t i = 0; i < json_array_size(binds); i++) {
		json_t *v = json_array_get(binds, i);

		if (json_is_integer(v))
			sqlite3_bind_int64(st, (int)i + 1, json_integer_value(v));
		else
			sqlite3_bind_text(st, (int)i + 1, json_string_value(v), -1,
			                  SQLITE_TRANSIENT);
	}
	json_decref(binds);
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		sqlite3_finalize(st);
		api_reply_error(req, 500, "internal", NULL, "open_memstream failed");
		return;
	}
	fputs("Date,Time,User-Name,Group-Name,Caller-Id,Acct-Flags,elapsed_time,bytes_in,"
	      "bytes_out,task_id,NAS-IP-Address,service\n",
	      f);
	while (sqlite3_step(st) == SQLITE_ROW) {
		time_t t = (time_t)(sqlite3_column_int64(st, 0) / 1000);
		struct tm tm;
		char date[16], tod[16];
		bool stop = strcmp((const char *)sqlite3_column_text(st, 4), "start") != 0;

		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%m/%d/%Y", &tm);
		strftime(tod, sizeof(tod), "%H:%M:%S", &tm);
		csv_field(f, date, false);
		csv_field(f, tod, false);
		csv_field(f, (const char *)sqlite3_column_text(st, 1), false);
		csv_field(f,
		          sqlite3_column_type(st, 2) == SQLITE_NULL
		                  ? "Default Group"
		                  : (const char *)sqlite3_column_text(st, 2),
		          false);
		csv_field(f, (const char *)sqlite3_column_text(st, 3), false);
		csv_field(f, (const char *)sqlite3_column_text(st, 4), false);
		/* a start record has no elapsed time or byte counts yet: ACS prints them empty */
		for (int c = 5; c <= 7; c++) {
			snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, c));
			csv_field(f, stop ? num : "", false);
		}
		snprintf(num, sizeof(num), "0x%llx", (long long)sqlite3_column_int64(st, 8));
		csv_field(f, num, false);
		csv_field(f, (const char *)sqlite3_column_text(st, 9), false);
		csv_field(f, (const char *)sqlite3_column_text(st, 10), true);
	}
	sqlite3_finalize(st);
	fclose(f);
	api_reply_text(req, 200, "text/csv; charset=utf-8", buf, len);
}

void
api_live_audit(struct api_req *req)
{
	int64_t offset, limit;
	json_t *binds, *rows;
	const char *actor = api_query(req, "actor"), *action = api_query(req, "action");

	if (api_query_paging(req, &offset, &limit, API_PAGE_MAX) < 0)
		return;
	binds = json_pack("[s, s, s, s]", actor != NULL ? actor : "", actor != NULL ? actor : "",
	                  action != NULL ? action : "", action != NULL ? action : "");
	{
		int64_t total =
		        query_int(req->db,
		                  "SELECT count(*) FROM audit_log WHERE (? = '' OR actor = ?) "
		                  "AND (? = '' OR action = ?)",
		                  binds);

		json_array_append_new(binds, json_integer(limit));
		json_array_append_new(binds, json_integer(offset));
		rows = query_rows(
		        req->db,
		        "SELECT id, at, actor, action, object, before_json, after_json, "
		        "source FROM audit_log WHERE (? = '' OR actor = ?) AND (? = '' OR "
		        "action = ?) ORDER BY id DESC LIMIT ? OFFSET ?",
		        binds);
		/* before/after are stored as JSON text: return them as JSON */
		for (size_t i = 0; i < json_array_size(rows); i++) {
			json_t *r = json_array_get(rows, i);
			const char *keys[] = {"before_json", "after_json"};
			const char *outk[] = {"before", "after"};

			for (int k = 0; k < 2; k++) {
				const char *t = json_string_value(json_object_get(r, keys[k]));

				json_object_set_new(r, outk[k],
				                    t != NULL ? json_loads(t, 0, NULL)
				                              : json_null());
				json_object_del(r, keys[k]);
			}
		}
		api_reply_json(req, 200,
		               json_pack("{s:o, s:I, s:I, s:I}", "items",
		                         rows != NULL ? rows : json_array(), "total",
		                         (json_int_t)total, "offset", (json_int_t)offset, "limit",
		                         (json_int_t)limit));
	}
	json_decref(binds);
}

/* ---- health, stats, metrics ---- */

struct health_call {
	uint64_t now_ms;
};

static int
health_on_engine(struct loop *loop, void *arg)
{
	struct health_call *h = arg;

	h->now_ms = loop_now_ms();
	return 0;
}

void
api_live_health(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;
	struct health_call h = {0};
	int rc = -ENOTCONN;

	if (eng != NULL && eng->loop != NULL)
		rc = loop_call(eng->loop, health_on_engine, &h, 2000);
	api_reply_json(req, rc == 0 ? 200 : 503,
	               json_pack("{s:s, s:s, s:i, s:I, s:s, s:b, s:s}", "status",
	                         rc == 0 ? "ok" : "engine not responding", "version",
	                         PORTCULLIS_VERSION, "schema_version", db_schema_version(req->db),
	                         "uptime_s",
	                         (json_int_t)(rc == 0 ? (h.now_ms - eng->started_ms) / 1000 : 0),
	                         "sa_backend",
	                         eng != NULL && eng->ipsec != NULL ? eng->ipsec->ops->name : "none",
	                         "data_plane", eng != NULL && eng->data_plane_ok, "netns",
	                         eng != NULL ? eng->netns : ""));
}

/* Counters that come from the database, with or without the engine. */
static json_t *
db_counters(struct db *db)
{
	return json_pack(
	        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "acct_backlog",
	        (json_int_t)query_int(
	                db, "SELECT count(*) FROM acct_record WHERE state = 'pending'", NULL),
	        "acct_failed",
	        (json_int_t)query_int(db, "SELECT count(*) FROM acct_record WHERE state = 'failed'",
	                              NULL),
	        "acct_records",
	        (json_int_t)query_int(db, "SELECT coalesce(max(id), 0) FROM acct_record", NULL),
	        "uauth_stored", (json_int_t)query_int(db, "SELECT count(*) FROM uauth_entry", NULL),
	        "leases_active",
	        (json_int_t)query_int(db, "SELECT count(*) FROM ip_lease WHERE state = 'active'",
	                              NULL),
	        "admin_logins_failed",
	        (json_int_t)query_int(db,
	                              "SELECT count(*) FROM audit_log WHERE action = "
	                              "'login-failed'",
	                              NULL),
	        "config_changes",
	        (json_int_t)query_int(db,
	                              "SELECT count(*) FROM audit_log WHERE action IN "
	                              "('create', 'replace', 'patch', 'delete', 'import')",
	                              NULL));
}

static json_t *
engine_stats(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;
	struct list_call c = {.eng = eng};

	if (eng == NULL || eng->loop == NULL || eng->ops.stats == NULL)
		return NULL;
	c.fn = eng->ops.stats;
	if (loop_call(eng->loop, list_on_engine, &c, LIVE_TIMEOUT_MS) < 0 ||
	    !json_is_object(c.out)) {
		json_decref(c.out);
		return NULL;
	}
	return c.out;
}

void
api_live_stats(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;
	json_t *out, *es;

	api_sync_leases(req); /* leases_active */
	out = db_counters(req->db);
	es = engine_stats(req);

	json_object_set_new(
	        out, "sa_backend",
	        json_string(eng != NULL && eng->ipsec != NULL ? eng->ipsec->ops->name : "none"));
	if (es != NULL) {
		json_object_update(out, es);
		json_decref(es);
	} else {
		/* the engine's counters are not there: say so instead of inventing zeros */
		json_object_set_new(out, "unavailable", json_pack("[s]", "engine stats"));
	}
	api_reply_json(req, 200, out);
}

static void
metric_name(const char *key, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "portcullis_");

	for (const char *k = key; *k != '\0' && n + 1 < len; k++)
		out[n++] = (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'
		                   ? *k
		                   : (*k >= 'A' && *k <= 'Z' ? (char)(*k - 'A' + 'a') : '_');
	out[n] = '\0';
}

/* skip: keys already emitted from another source (the engine's counters win) */
static void
emit_metrics(FILE *f, json_t *obj, const char *source, json_t *skip)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		char name[128];

		if (json_object_get(skip, key) != NULL)
			continue;
		metric_name(key, name, sizeof(name));
		if (json_is_number(v)) {
			fprintf(f, "# HELP %s %s (%s)\n# TYPE %s gauge\n%s %.17g\n", name, key,
			        source, name, name, json_number_value(v));
		} else if (json_is_object(v)) {
			const char *lk;
			json_t *lv;
			bool head = false;

			json_object_foreach(v, lk, lv)
			{
				if (!json_is_number(lv))
					continue;
				if (!head)
					fprintf(f, "# HELP %s %s (%s)\n# TYPE %s gauge\n", name,
					        key, source, name);
				head = true;
				fprintf(f, "%s{key=\"", name);
				for (const char *p = lk; *p != '\0'; p++) {
					if (*p == '"' || *p == '\\')
						fputc('\\', f);
					fputc(*p == '\n' ? ' ' : *p, f);
				}
				fprintf(f, "\"} %.17g\n", json_number_value(lv));
			}
		}
	}
}

void
api_live_metrics(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;
	json_t *dbc, *es;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	api_sync_leases(req); /* leases_active */
	dbc = db_counters(req->db);
	es = engine_stats(req);
	f = open_memstream(&buf, &len);

	if (f == NULL) {
		json_decref(dbc);
		json_decref(es);
		api_reply_error(req, 500, "internal", NULL, "open_memstream failed");
		return;
	}
	fprintf(f,
	        "# HELP portcullis_engine_up 1 when the engine's statistics answered\n"
	        "# TYPE portcullis_engine_up gauge\nportcullis_engine_up %d\n",
	        es != NULL);
	if (eng != NULL && eng->loop != NULL)
		fprintf(f,
		        "# HELP portcullis_uptime_seconds seconds since portcullisd started\n"
		        "# TYPE portcullis_uptime_seconds gauge\nportcullis_uptime_seconds %lld\n",
		        (long long)(time(NULL) - eng->started_epoch));
	if (es != NULL)
		emit_metrics(f, es, "engine", NULL);
	emit_metrics(f, dbc, "database", es);
	fclose(f);
	json_decref(dbc);
	json_decref(es);
	api_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}

void
api_live_openapi(struct api_req *req)
{
	api_reply_json(req, 200, api_openapi_doc(req->api));
}
