/* GET/POST /api/v1/config/pix: PIX text export and import through the translator in db/pix.h.
 * The translator is written on another branch; until db/pix.h is in the tree both routes answer
 * 503 "PIX translator not built" (the routes stay in the table and the OpenAPI document). */
#include "api/api_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if __has_include("db/pix.h")
#include "db/pix.h"
#define HAVE_PIX 1
#else
#define HAVE_PIX 0
#endif

#if HAVE_PIX
static bool
query_true(struct api_req *req, const char *key)
{
	const char *v = api_query(req, key);

	return v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

void
api_pix_export(struct api_req *req)
{
	char *text = NULL;
	bool secrets = query_true(req, "show_secrets");
	struct pc_err err = {0};
	int rc;

	if (secrets && req->read_only) {
		api_reply_error(req, 403, "read_only", "show_secrets",
		                "read-only tokens cannot see secrets");
		return;
	}
	rc = pix_export(req->db, secrets, &text, &err);
	if (rc < 0) {
		api_reply_rc(req, rc, &err);
		return;
	}
	if (secrets)
		api_audit(req->db, req, "export-secrets", req->url, NULL, NULL, NULL);
	api_reply_text(req, 200, "text/plain; charset=utf-8", text, strlen(text));
}

void
api_pix_import(struct api_req *req)
{
	struct pix_import_opts opts = {0};
	struct pix_report *rep = NULL;
	struct pc_err err = {0};
	const char *a = api_query(req, "apply");
	const char *st = api_query(req, "strict");
	bool apply = query_true(req, "apply");
	char *text;
	json_t *report;
	int rc;

	if (a != NULL && !apply && strcmp(a, "false") != 0 && strcmp(a, "0") != 0) {
		api_reply_error(req, 400, "bad_request", "apply", "apply: expected true or false");
		return;
	}
	if (req->body == NULL || req->body_len == 0) {
		api_reply_error(req, 400, "bad_request", NULL, "expected PIX configuration text");
		return;
	}
	opts.apply = apply;
	opts.strict = st != NULL && (strcmp(st, "true") == 0 || strcmp(st, "1") == 0);
	rc = api_change_begin(req, &err);
	if (rc < 0) {
		api_reply_rc(req, rc, &err);
		return;
	}
	rc = pix_import(req->db, req->body, req->body_len, &opts, &rep, &err);
	text = rep != NULL ? pix_report_to_json(rep) : NULL;
	report = text != NULL ? json_loads(text, 0, NULL) : NULL;
	free(text);
	pix_report_free(rep);
	if (rc < 0 || report == NULL) {
		db_rollback(req->db);
		if (report != NULL && err.kind == PC_ERR_INVALID) {
			/* strict mode stopped at an error: the report says which lines */
			json_object_set_new(report, "applied", json_false());
			json_object_set_new(
			        report, "error",
			        json_pack("{s:s, s:s}", "code", "invalid", "message", err.msg));
			api_reply_json(req, 422, report);
			return;
		}
		json_decref(report);
		if (err.kind == PC_ERR_NONE)
			pc_err_set(&err, PC_ERR_INVALID, "", "PIX import failed (%d)", rc);
		api_reply_rc(req, rc < 0 ? rc : -EINVAL, &err);
		return;
	}
	if (!apply) {
		db_rollback(req->db);
		json_object_set_new(report, "applied", json_false());
		api_reply_json(req, 200, report);
		return;
	}
	rc = api_change_finish(req, "import", req->url, NULL, NULL, &err);
	if (rc < 0) {
		db_rollback(req->db);
		json_decref(report);
		api_reply_rc(req, rc, &err);
		return;
	}
	json_object_set_new(report, "applied", json_true());
	api_reply_json(req, 200, report);
}
#else
void
api_pix_export(struct api_req *req)
{
	api_reply_error(req, 503, "unavailable", NULL, "PIX translator not built (db/pix.h)");
}

void
api_pix_import(struct api_req *req)
{
	api_reply_error(req, 503, "unavailable", NULL, "PIX translator not built (db/pix.h)");
}
#endif
