/* Internals shared by the API's files: the server, one request's state, the route table, the
 * generic resource layer and the helpers that turn errors into JSON bodies. Not for other modules. */
#ifndef PORTCULLIS_API_API_INT_H
#define PORTCULLIS_API_API_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "db/db.h"
#include "gateway/core/err.h"

#define API_MAX_BODY      (1024 * 1024) /* request bodies larger than this get 413 */
#define API_DB_POOL       8             /* SQLite connections shared by the MHD threads */
#define API_MAX_PATH_ARGS 3
#define API_MAX_THROTTLE  1024 /* source addresses remembered by the login throttle */
#define API_SSE_MAX       16   /* concurrent /api/v1/events clients */
#define API_SESSION_MS    (12LL * 3600 * 1000)
#define API_APPLY_TIMEOUT 10000 /* ms to wait for the engine to start an apply */

enum api_auth {
	API_AUTH_NONE,  /* public: health, login, static files */
	API_AUTH_READ,  /* any admin session or token */
	API_AUTH_WRITE, /* session with CSRF token, or a token that is not read-only */
};

enum api_principal {
	API_PRINC_NONE,
	API_PRINC_SESSION,
	API_PRINC_TOKEN,
};

struct api_sse;

struct api_throttle_ent {
	char addr[64];
	int failures;
	int64_t first_ms;
	int64_t blocked_until_ms;
};

struct api {
	struct MHD_Daemon *mhd;
	struct api_config cfg;
	bool https;
	char *tls_cert_pem, *tls_key_pem;

	pthread_mutex_t db_lock;
	pthread_cond_t db_cond;
	struct db *db_pool[API_DB_POOL];
	bool db_busy[API_DB_POOL];

	pthread_mutex_t throttle_lock;
	struct api_throttle_ent throttle[API_MAX_THROTTLE];

	struct api_sse *sse;

	/* exact unfiltered accounting total without a full scan: records are only ever appended
	 * (DESIGN.md: never deleted), so the count grows by the rows above the last max(id) */
	pthread_mutex_t acct_lock;
	int64_t acct_max_id, acct_count;

	struct api_route *routes; /* static routes plus the generated resource routes */
	size_t nroutes;
};

struct api_req {
	struct api *api;
	struct MHD_Connection *conn;
	const struct api_route *route;
	const char *method;
	const char *url;
	char *args[API_MAX_PATH_ARGS]; /* the {..} segments of the pattern, in order */
	int nargs;
	char *body;
	size_t body_len;
	bool too_large;
	bool replied;

	enum api_principal princ;
	bool read_only;
	char actor[96]; /* admin name, or "token:NAME" */
	char peer[64];
	char csrf[80]; /* the session's CSRF token (sessions only) */
	struct db *db; /* from the pool, for this request only */

	/* the reply, sent by server.c after the handler returns */
	unsigned status;
	json_t *json; /* owned */
	char *text;   /* owned, sent with ctype */
	size_t text_len;
	const char *ctype;
	char set_cookie[256];
	char allow[64];
	struct MHD_Response *raw; /* a response the handler built itself (SSE, static files) */
};

typedef void (*api_handler)(struct api_req *req);

struct api_route {
	const char *method;
	char *pattern; /* "/api/v1/pools/{id}" (owned) */
	enum api_auth auth;
	api_handler fn;
	const struct api_resource *res; /* for the generic resource handlers */
	const char *summary;
	const char *tag;
};

/* ---- replies (server.c) ---- */
void api_reply_json(struct api_req *req, unsigned status, json_t *body);
void api_reply_text(struct api_req *req, unsigned status, const char *ctype, char *text,
                    size_t len);
void api_reply_error(struct api_req *req, unsigned status, const char *code, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Maps err->kind to a status (INVALID 422, NOTFOUND 404, CONFLICT 409, APPLY 422, else 500). */
void api_reply_err(struct api_req *req, const struct pc_err *err);
/* As api_reply_err, but rc -EBADMSG is 400 (wrong type, unknown field) and -ETIMEDOUT,
 * -ESHUTDOWN, -EAGAIN are 503 (engine not answering). */
void api_reply_rc(struct api_req *req, int rc, const struct pc_err *err);
const char *api_query(struct api_req *req, const char *key);
/* Parses the body as a JSON object; on failure replies 400 and returns NULL. */
json_t *api_body_object(struct api_req *req);
/* ?offset= (default 0) and ?limit= (default 50, 1..max_limit); replies 400 on bad values. */
#define API_PAGE_MAX 1000
int api_query_paging(struct api_req *req, int64_t *offset, int64_t *limit, int64_t max_limit);
int64_t api_now_ms(void);

/* ---- routes (routes.c) ---- */
int api_routes_build(struct api *api);
void api_routes_free(struct api *api);
json_t *api_openapi_doc(struct api *api);

/* ---- authentication (auth.c) ---- */
/* Fills req->princ/actor/read_only from the cookie or bearer token; 0 or -EACCES. */
int api_auth_identify(struct api_req *req);
void api_auth_login(struct api_req *req);
void api_auth_logout(struct api_req *req);
void api_auth_session(struct api_req *req);
void api_admins_list(struct api_req *req);
void api_admins_create(struct api_req *req);
void api_admins_patch(struct api_req *req);
void api_admins_delete(struct api_req *req);
void api_tokens_list(struct api_req *req);
void api_tokens_create(struct api_req *req);
void api_tokens_delete(struct api_req *req);

/* ---- audit and apply (change.c) ---- */
int api_audit(struct db *db, const struct api_req *req, const char *action, const char *object,
              json_t *before, json_t *after, struct pc_err *err);
/* Runs engine->ops.apply_config on the engine thread against req->db's open transaction.
 * Returns 0 when applied or when the engine has no apply step yet (*applied says which). */
int api_apply(struct api_req *req, bool *applied, struct pc_err *err);
/* BEGIN on req->db; the caller writes, then api_change_finish commits after apply + audit. */
int api_change_begin(struct api_req *req, struct pc_err *err);
/* Has the engine write its pending lease changes (before reading ip_lease). */
void api_sync_leases(struct api_req *req);
int api_change_finish(struct api_req *req, const char *action, const char *object, json_t *before,
                      json_t *after, struct pc_err *err);

/* ---- generic resources (resource.c, resources.c) ---- */
struct api_resource;
extern const struct api_resource *const api_resources[];
extern const size_t api_resource_count;
const char *api_resource_path(const struct api_resource *res);
const char *api_resource_summary(const struct api_resource *res);
bool api_resource_nested(const struct api_resource *res);
json_t *api_resource_schema(const struct api_resource *res);
void api_res_list(struct api_req *req);
void api_res_get(struct api_req *req);
void api_res_create(struct api_req *req);
void api_res_replace(struct api_req *req);
void api_res_patch(struct api_req *req);
void api_res_delete(struct api_req *req);

/* ---- live state, stats, accounting, audit (live.c) ---- */
void api_live_health(struct api_req *req);
void api_live_ike(struct api_req *req);
void api_live_ipsec(struct api_req *req);
void api_live_clear_sa(struct api_req *req);
void api_live_uauth(struct api_req *req);
void api_live_clear_uauth(struct api_req *req);
void api_live_clear_uauth_all(struct api_req *req);
void api_live_leases(struct api_req *req);
void api_live_accounting(struct api_req *req);
void api_live_accounting_csv(struct api_req *req);
void api_live_stats(struct api_req *req);
void api_live_aaa_health(struct api_req *req);
void api_live_audit(struct api_req *req);
void api_live_metrics(struct api_req *req);
void api_live_openapi(struct api_req *req);

/* ---- PIX text (pix_routes.c) ---- */
void api_pix_export(struct api_req *req);
void api_pix_import(struct api_req *req);

/* ---- Server-Sent Events (sse.c) ---- */
int api_sse_start(struct api *api);
void api_sse_stop(struct api *api); /* ends streams, joins the notifier */
void api_sse_free(struct api *api); /* after MHD_stop_daemon ran the streams' free callbacks */
/* ---- HTTPS (tls.c) ---- */
int api_tls_load(struct api *api, struct pc_err *err);
void api_sse_events(struct api_req *req);

#endif
