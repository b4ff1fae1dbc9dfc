/* One configuration change = one SQLite transaction on the request's connection + the engine's
 * apply (run on the engine thread through loop_call) + an audit row, committed together or not
 * at all. */
#include "api/api_int.h"
#include "gateway/core/engine.h"
#include "gateway/core/events.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
api_audit(struct db *db, const struct api_req *req, const char *action, const char *object,
          json_t *before, json_t *after, struct pc_err *err)
{
	sqlite3_stmt *st;
	char *b = before != NULL ? json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *a = after != NULL ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc = db_prepare(db,
	                    "INSERT INTO audit_log(actor, action, object, before_json, after_json, "
	                    "source) VALUES (?, ?, ?, ?, ?, ?)",
	                    &st, err);

	if (rc == 0) {
		sqlite3_bind_text(st, 1, req->actor[0] != '\0' ? req->actor : "anonymous", -1,
		                  SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, action, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, object, -1, SQLITE_TRANSIENT);
		if (b != NULL)
			sqlite3_bind_text(st, 4, b, -1, SQLITE_TRANSIENT);
		if (a != NULL)
			sqlite3_bind_text(st, 5, a, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, req->peer, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_error(db, err, "audit log");
		sqlite3_finalize(st);
	}
	free(b);
	free(a);
	return rc;
}

struct apply_call {
	struct engine *eng;
	struct db *txn;
	struct pc_err err;
};

static int
apply_on_engine(struct loop *loop, void *arg)
{
	struct apply_call *c = arg;

	return c->eng->ops.apply_config(c->eng, c->txn, &c->err);
}

int
api_apply(struct api_req *req, bool *applied, struct pc_err *err)
{
	struct engine *eng = req->api->cfg.engine;
	struct apply_call c = {.eng = eng, .txn = req->db};
	int rc;

	*applied = false;
	if (eng == NULL || eng->loop == NULL || eng->ops.apply_config == NULL) {
		/* No subsystem programs the kernel yet: the stored configuration is what the
		 * engine will load when it starts or reloads. */
		log_debug(LOG_API, "%s: stored; engine has no apply_config yet", req->url);
		return 0;
	}
	rc = loop_call(eng->loop, apply_on_engine, &c, API_APPLY_TIMEOUT);
	if (rc == -ETIMEDOUT || rc == -ESHUTDOWN) {
		pc_err_set(err, PC_ERR_INTERNAL, "", "engine not responding (%s); nothing changed",
		           rc == -ETIMEDOUT ? "timed out" : "shutting down");
		return rc;
	}
	if (rc < 0) {
		if (c.err.kind == PC_ERR_NONE)
			pc_err_set(&c.err, PC_ERR_APPLY, "", "engine refused the change (%s)",
			           strerror(-rc));
		if (err != NULL)
			*err = c.err;
		if (err != NULL && err->kind != PC_ERR_INVALID && err->kind != PC_ERR_CONFLICT)
			err->kind = PC_ERR_APPLY;
		log_warn(LOG_API, "%s %s: apply rejected: %s", req->method, req->url, c.err.msg);
		return rc == -EBADMSG ? -EINVAL : rc;
	}
	*applied = true;
	return 0;
}

struct op_call {
	struct engine *eng;
	int (*op)(struct engine *eng);
};

static int
op_on_engine(struct loop *loop, void *arg)
{
	struct op_call *c = arg;

	return c->op(c->eng);
}

/* Runs an engine op that takes no arguments on the engine's thread; logs `failed` (after the
 * URL) when it fails or the engine does not answer. Nothing when there is no engine or op. */
static void
run_engine_op(struct api_req *req, int (*op)(struct engine *eng), const char *failed)
{
	struct op_call c = {.eng = req->api->cfg.engine, .op = op};

	if (c.eng == NULL || c.eng->loop == NULL || op == NULL)
		return;
	if (loop_call(c.eng->loop, op_on_engine, &c, API_APPLY_TIMEOUT) < 0)
		log_warn(LOG_API, "%s: %s", req->url, failed);
}

/* After a commit: subsystems holding configuration in memory (IKE policies, AAA servers, uauth
 * rules) re-read it. Their reload is logged by them; a failure there does not undo the commit. */
static void
notify_committed(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;

	run_engine_op(req, eng != NULL ? eng->ops.config_committed : NULL,
	              "subsystems did not all reload the committed change");
}

void
api_sync_leases(struct api_req *req)
{
	struct engine *eng = req->api->cfg.engine;

	run_engine_op(req, eng != NULL ? eng->ops.sync_leases : NULL,
	              "the engine's latest lease changes are not written yet");
}

int
api_change_begin(struct api_req *req, struct pc_err *err)
{
	int rc;

	/* leases first, so checks in the transaction (a pool still in use) see every one */
	api_sync_leases(req);
	rc = db_begin(req->db, err);
	if (rc == -EBUSY)
		return -EAGAIN;
	return rc;
}

int
api_change_finish(struct api_req *req, const char *action, const char *object, json_t *before,
                  json_t *after, struct pc_err *err)
{
	bool applied = false;
	char data[512];
	json_t *ev;
	char *text;
	int rc;

	rc = api_audit(req->db, req, action, object, before, after, err);
	if (rc < 0)
		return rc;
	rc = api_apply(req, &applied, err);
	if (rc < 0)
		return rc;
	rc = db_commit(req->db, err);
	if (rc < 0)
		return rc;
	notify_committed(req);
	ev = json_pack("{s:s, s:s, s:s, s:b}", "action", action, "object", object, "actor",
	               req->actor, "applied", applied);
	text = json_dumps(ev, JSON_COMPACT);
	if (text != NULL) {
		snprintf(data, sizeof(data), "%s", text);
		events_publish("config-applied", data);
	}
	free(text);
	json_decref(ev);
	log_info(LOG_API, "%s %s by %s from %s (%s)", action, object, req->actor, req->peer,
	         applied ? "applied" : "stored");
	return 0;
}
