/* Admin authentication: sessions (cookie pc_session + CSRF token), bearer tokens, login throttling
 * per source address, and the admin/token management routes. */
#include "api/api_admin.h"
#include "api/api_int.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THROTTLE_WINDOW_MS (5 * 60 * 1000)
#define THROTTLE_FREE      5 /* failures allowed per window before blocking */
#define THROTTLE_BLOCK_MS  (60 * 1000)

static void
iso_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
session_lookup(struct api_req *req, const char *cookie)
{
	char hash[65];
	sqlite3_stmt *st;
	int found = 0;

	if (strlen(cookie) != 64)
		return 0;
	api_sha256_hex(cookie, hash);
	if (db_prepare(req->db,
	               "SELECT admin_name, csrf_token FROM admin_session WHERE session_hash = ? "
	               "AND expires_at_ms > ?",
	               &st, NULL) < 0)
		return 0;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, api_now_ms());
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(req->actor, sizeof(req->actor), "%s",
		         (const char *)sqlite3_column_text(st, 0));
		snprintf(req->csrf, sizeof(req->csrf), "%s",
		         (const char *)sqlite3_column_text(st, 1));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

int
api_auth_identify(struct api_req *req)
{
	const char *auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
	const char *cookie = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "pc_session");

	req->princ = API_PRINC_NONE;
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		char name[API_NAME_MAX + 1];
		bool ro = true;

		if (api_token_check(req->db, auth + 7, name, sizeof(name), &ro, NULL) == 1) {
			req->princ = API_PRINC_TOKEN;
			req->read_only = ro;
			snprintf(req->actor, sizeof(req->actor), "token:%s", name);
			return 0;
		}
		return -EACCES; /* a wrong token is not silently replaced by a cookie */
	}
	if (cookie != NULL && session_lookup(req, cookie)) {
		req->princ = API_PRINC_SESSION;
		req->read_only = false;
		return 0;
	}
	return -EACCES;
}

/* ---- throttle ---- */

static struct api_throttle_ent *
throttle_find(struct api *api, const char *addr, bool create)
{
	struct api_throttle_ent *oldest = &api->throttle[0];

	for (int i = 0; i < API_MAX_THROTTLE; i++) {
		struct api_throttle_ent *e = &api->throttle[i];

		if (strcmp(e->addr, addr) == 0)
			return e;
		if (e->first_ms < oldest->first_ms)
			oldest = e;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	return oldest;
}

/* Returns seconds to wait when addr is blocked, else 0. */
static int64_t
throttle_blocked(struct api *api, const char *addr)
{
	struct api_throttle_ent *e;
	int64_t now = api_now_ms(), wait = 0;

	pthread_mutex_lock(&api->throttle_lock);
	e = throttle_find(api, addr, false);
	if (e != NULL && e->blocked_until_ms > now)
		wait = (e->blocked_until_ms - now + 999) / 1000;
	pthread_mutex_unlock(&api->throttle_lock);
	return wait;
}

static void
throttle_note(struct api *api, const char *addr, bool ok)
{
	struct api_throttle_ent *e;
	int64_t now = api_now_ms();

	pthread_mutex_lock(&api->throttle_lock);
	e = throttle_find(api, addr, !ok);
	if (e != NULL && ok) {
		memset(e, 0, sizeof(*e));
	} else if (e != NULL) {
		if (now - e->first_ms > THROTTLE_WINDOW_MS) {
			e->first_ms = now;
			e->failures = 0;
		}
		e->failures++;
		if (e->failures >= THROTTLE_FREE) /* grows with every further failure */
			e->blocked_until_ms =
			        now +
			        THROTTLE_BLOCK_MS * (int64_t)(e->failures - THROTTLE_FREE + 1);
	}
	pthread_mutex_unlock(&api->throttle_lock);
}

/* ---- login, logout, session ---- */

static json_t *
session_json(const char *user, const char *csrf, int64_t expires_ms)
{
	char exp[32];

	iso_time(expires_ms, exp, sizeof(exp));
	return json_pack("{s:s, s:s, s:s}", "user", user, "csrf_token", csrf, "expires_at", exp);
}

void
api_auth_login(struct api_req *req)
{
	json_error_t jerr;
	json_t *in;
	const char *user = NULL, *pass = NULL;
	char cookie[65], hash[65], csrf[65];
	int64_t wait, id = 0, now = api_now_ms();
	sqlite3_stmt *st;
	struct pc_err err = {0};
	int ok;

	wait = throttle_blocked(req->api, req->peer);
	if (wait > 0) {
		api_reply_error(req, 429, "throttled", NULL,
		                "too many failed logins from %s; try again in %lld s", req->peer,
		                (long long)wait);
		return;
	}
	in = api_body_object(req);
	if (in == NULL)
		return;
	if (json_unpack_ex(in, &jerr, JSON_STRICT, "{s:s, s:s}", "username", &user, "password",
	                   &pass) < 0) {
		api_reply_error(req, 400, "bad_request", jerr.source[0] != '<' ? jerr.source : NULL,
		                "expected {\"username\": string, \"password\": string}: %s",
		                jerr.text);
		json_decref(in);
		return;
	}
	ok = strlen(user) <= API_NAME_MAX && strlen(pass) <= API_PASSWORD_MAX
	             ? api_admin_check(req->db, user, pass, &id, &err)
	             : 0;
	if (ok != 1) {
		throttle_note(req->api, req->peer, false);
		log_warn(LOG_API, "admin login failed for '%.64s' from %s", user, req->peer);
		snprintf(req->actor, sizeof(req->actor), "%.64s", user);
		api_audit(req->db, req, "login-failed", "/api/v1/auth/login", NULL, NULL, NULL);
		api_reply_error(req, 401, "bad_credentials", NULL, "wrong user name or password");
		json_decref(in);
		return;
	}
	throttle_note(req->api, req->peer, true);
	if (api_random_hex(32, cookie) < 0 || api_random_hex(32, csrf) < 0) {
		api_reply_error(req, 500, "internal", NULL, "RAND_bytes failed");
		json_decref(in);
		return;
	}
	api_sha256_hex(cookie, hash);
	if (db_prepare(req->db,
	               "INSERT INTO admin_session(session_hash, csrf_token, admin_id, admin_name, "
	               "created_at_ms, expires_at_ms, peer_address) VALUES (?, ?, ?, ?, ?, ?, ?)",
	               &st, &err) < 0) {
		api_reply_err(req, &err);
		json_decref(in);
		return;
	}
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, csrf, -1, SQLITE_TRANSIENT);
	if (id > 0)
		sqlite3_bind_int64(st, 3, id);
	else
		sqlite3_bind_null(st, 3); /* a privilege-15 local user, not an admin_user row */
	sqlite3_bind_text(st, 4, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now + API_SESSION_MS);
	sqlite3_bind_text(st, 7, req->peer, -1, SQLITE_TRANSIENT);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!ok) {
		api_reply_error(req, 500, "internal", NULL, "storing the session failed");
		json_decref(in);
		return;
	}
	/* expired sessions are swept on every login */
	if (db_prepare(req->db, "DELETE FROM admin_session WHERE expires_at_ms <= ?", &st, NULL) ==
	    0) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	snprintf(req->set_cookie, sizeof(req->set_cookie),
	         "pc_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s", cookie,
	         API_SESSION_MS / 1000, req->api->https ? "; Secure" : "");
	snprintf(req->actor, sizeof(req->actor), "%s", user);
	api_audit(req->db, req, "login", "/api/v1/auth/login", NULL, NULL, NULL);
	log_info(LOG_API, "admin '%s' logged in from %s", user, req->peer);
	api_reply_json(req, 200, session_json(user, csrf, now + API_SESSION_MS));
	OPENSSL_cleanse(cookie, sizeof(cookie));
	json_decref(in);
}

void
api_auth_logout(struct api_req *req)
{
	const char *cookie = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "pc_session");
	sqlite3_stmt *st;
	char hash[65];

	if (req->princ != API_PRINC_SESSION || cookie == NULL) {
		api_reply_error(req, 400, "bad_request", NULL, "logout needs a session cookie");
		return;
	}
	api_sha256_hex(cookie, hash);
	if (db_prepare(req->db, "DELETE FROM admin_session WHERE session_hash = ?", &st, NULL) ==
	    0) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	snprintf(req->set_cookie, sizeof(req->set_cookie),
	         "pc_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s",
	         req->api->https ? "; Secure" : "");
	api_audit(req->db, req, "logout", "/api/v1/auth/logout", NULL, NULL, NULL);
	api_reply_text(req, 204, NULL, NULL, 0);
}

void
api_auth_session(struct api_req *req)
{
	const char *cookie = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "pc_session");
	sqlite3_stmt *st;
	char hash[65];
	int64_t exp = 0;

	if (req->princ != API_PRINC_SESSION || cookie == NULL) {
		api_reply_json(req, 200,
		               json_pack("{s:s, s:n, s:n, s:b}", "user", req->actor, "csrf_token",
		                         "expires_at", "read_only", req->read_only));
		return;
	}
	api_sha256_hex(cookie, hash);
	if (db_prepare(req->db, "SELECT expires_at_ms FROM admin_session WHERE session_hash = ?",
	               &st, NULL) == 0) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			exp = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	api_reply_json(req, 200, session_json(req->actor, req->csrf, exp));
}

/* ---- admins and tokens ---- */

static int
path_id(struct api_req *req, int64_t *id)
{
	char *end;

	*id = req->nargs > 0 ? strtoll(req->args[0], &end, 10) : 0;
	if (req->nargs < 1 || *end != '\0' || *id <= 0) {
		api_reply_error(req, 404, "not_found", NULL, "no object at %s", req->url);
		return -ENOENT;
	}
	return 0;
}

/* Runs op inside a transaction with an audit row. */
static int
audited(struct api_req *req, const char *action, const char *object, json_t *after, int rc,
        struct pc_err *err)
{
	if (rc == 0)
		rc = api_audit(req->db, req, action, object, NULL, after, err);
	if (rc == 0)
		rc = db_commit(req->db, err);
	if (rc < 0) {
		db_rollback(req->db);
		api_reply_rc(req, rc, err);
	}
	return rc;
}

static void
reply_list(struct api_req *req, int (*list)(struct db *db, json_t **out, struct pc_err *err))
{
	struct pc_err err = {0};
	json_t *items;

	if (list(req->db, &items, &err) < 0) {
		api_reply_err(req, &err);
		return;
	}
	api_reply_json(req, 200,
	               json_pack("{s:o, s:I}", "items", items, "total",
	                         (json_int_t)json_array_size(items)));
}

void
api_admins_list(struct api_req *req)
{
	reply_list(req, api_admin_list);
}

void
api_admins_create(struct api_req *req)
{
	json_error_t jerr;
	struct pc_err err = {0};
	const char *name, *pass;
	char object[128];
	int64_t id = 0;
	json_t *in = api_body_object(req), *after;
	int rc;

	if (in == NULL)
		return;
	if (json_unpack_ex(in, &jerr, JSON_STRICT, "{s:s, s:s}", "name", &name, "password", &pass) <
	    0) {
		api_reply_error(req, 400, "bad_request", NULL,
		                "expected {\"name\": string, \"password\": string}: %s", jerr.text);
		json_decref(in);
		return;
	}
	rc = db_begin(req->db, &err);
	if (rc == 0)
		rc = api_admin_add(req->db, name, pass, &id, &err);
	after = json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", name);
	snprintf(object, sizeof(object), "/api/v1/admins/%lld", (long long)id);
	if (audited(req, "create", object, after, rc, &err) == 0)
		api_reply_json(req, 201, json_incref(after));
	json_decref(after);
	json_decref(in);
}

void
api_admins_patch(struct api_req *req)
{
	json_error_t jerr;
	struct pc_err err = {0};
	const char *pass;
	int64_t id;
	json_t *in;
	int rc;

	if (path_id(req, &id) < 0)
		return;
	in = api_body_object(req);
	if (in == NULL)
		return;
	if (json_unpack_ex(in, &jerr, JSON_STRICT, "{s:s}", "password", &pass) < 0) {
		api_reply_error(req, 400, "bad_request", NULL,
		                "expected {\"password\": string}: %s", jerr.text);
		json_decref(in);
		return;
	}
	rc = db_begin(req->db, &err);
	if (rc == 0)
		rc = api_admin_set_password(req->db, id, pass, &err);
	if (audited(req, "password", req->url, NULL, rc, &err) == 0)
		api_reply_json(req, 200, json_pack("{s:I}", "id", (json_int_t)id));
	json_decref(in);
}

void
api_admins_delete(struct api_req *req)
{
	struct pc_err err = {0};
	sqlite3_stmt *st;
	int64_t id;
	int rc, others = 0;

	if (path_id(req, &id) < 0)
		return;
	rc = db_begin(req->db, &err);
	if (rc == 0 &&
	    db_prepare(req->db, "SELECT count(*) FROM admin_user WHERE id <> ?", &st, &err) == 0) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			others = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		if (others == 0)
			rc = pc_err_set(
			        &err, PC_ERR_CONFLICT, "",
			        "cannot delete the last admin (there would be no way back in)");
	}
	if (rc == 0)
		rc = api_admin_delete(req->db, id, &err);
	if (audited(req, "delete", req->url, NULL, rc, &err) == 0)
		api_reply_text(req, 204, NULL, NULL, 0);
}

void
api_tokens_list(struct api_req *req)
{
	reply_list(req, api_token_list);
}

void
api_tokens_create(struct api_req *req)
{
	json_error_t jerr;
	struct pc_err err = {0};
	const char *name;
	int ro = 0;
	char token[API_TOKEN_LEN + 1], object[128];
	int64_t id = 0;
	json_t *in = api_body_object(req), *after;
	int rc;

	if (in == NULL)
		return;
	if (json_unpack_ex(in, &jerr, JSON_STRICT, "{s:s, s?b}", "name", &name, "read_only", &ro) <
	    0) {
		api_reply_error(req, 400, "bad_request", NULL,
		                "expected {\"name\": string, \"read_only\": boolean}: %s",
		                jerr.text);
		json_decref(in);
		return;
	}
	rc = db_begin(req->db, &err);
	if (rc == 0)
		rc = api_token_create(req->db, name, ro, req->actor, &id, token, &err);
	after = json_pack("{s:I, s:s, s:b}", "id", (json_int_t)id, "name", name, "read_only", ro);
	snprintf(object, sizeof(object), "/api/v1/tokens/%lld", (long long)id);
	if (audited(req, "create", object, after, rc, &err) == 0) {
		json_object_set_new(after, "token", json_string(token));
		api_reply_json(req, 201, json_incref(after));
	}
	OPENSSL_cleanse(token, sizeof(token));
	json_decref(after);
	json_decref(in);
}

void
api_tokens_delete(struct api_req *req)
{
	struct pc_err err = {0};
	int64_t id;
	int rc;

	if (path_id(req, &id) < 0)
		return;
	rc = db_begin(req->db, &err);
	if (rc == 0)
		rc = api_token_revoke(req->db, id, &err);
	if (audited(req, "revoke", req->url, NULL, rc, &err) == 0)
		api_reply_text(req, 204, NULL, NULL, 0);
}
