/* portcullis --db FILE token create NAME [--read-only] | token list | token revoke NAME|ID
 * `token create` prints the token as its last line (it is stored only as a SHA-256 hash). */
#include "api/api_admin.h"
#include "cli/cli.h"
#include "db/db.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_token(struct cli_ctx *ctx, int argc, char **argv);

static int
token_id(struct db *db, const char *name_or_id, int64_t *id)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (db_prepare(db, "SELECT id FROM api_token WHERE name = ? OR CAST(id AS TEXT) = ?", &st,
	               NULL) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name_or_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, name_or_id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 1;
	}
	sqlite3_finalize(st);
	return rc;
}

int
cmd_token(struct cli_ctx *ctx, int argc, char **argv)
{
	struct pc_err err = {0};
	struct db *db = NULL;
	int64_t id = 0;
	int rc = 1;

	if (argc < 2)
		return cli_fail(
		        "usage: token create NAME [--read-only] | token list | token revoke "
		        "NAME|ID");
	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	if (strcmp(argv[1], "create") == 0 && (argc == 3 || argc == 4)) {
		char token[API_TOKEN_LEN + 1];
		bool ro = argc == 4 && strcmp(argv[3], "--read-only") == 0;

		if (argc == 4 && !ro) {
			cli_fail("token create: expected --read-only, got '%s'", argv[3]);
			goto out;
		}
		if (api_token_create(db, argv[2], ro, "cli", &id, token, &err) < 0) {
			cli_fail("token create: %s", err.msg);
			goto out;
		}
		printf("token '%s' created (id %lld%s); it is shown only once:\n%s\n", argv[2],
		       (long long)id, ro ? ", read-only" : "", token);
		OPENSSL_cleanse(token, sizeof(token));
		rc = 0;
	} else if (strcmp(argv[1], "list") == 0 && argc == 2) {
		json_t *items = NULL, *t;
		size_t i;

		if (api_token_list(db, &items, &err) < 0) {
			cli_fail("token list: %s", err.msg);
			goto out;
		}
		if (ctx->json) {
			char *s = json_dumps(items, JSON_INDENT(2));

			printf("%s\n", s);
			free(s);
		} else {
			printf("%-4s %-24s %-9s %-21s %s\n", "ID", "NAME", "SCOPE", "CREATED",
			       "REVOKED");
			json_array_foreach(items, i, t)
			{
				const char *rv =
				        json_string_value(json_object_get(t, "revoked_at"));

				printf("%-4lld %-24s %-9s %-21s %s\n",
				       (long long)json_integer_value(json_object_get(t, "id")),
				       json_string_value(json_object_get(t, "name")),
				       json_is_true(json_object_get(t, "read_only")) ? "read-only"
				                                                     : "full",
				       json_string_value(json_object_get(t, "created_at")),
				       rv != NULL ? rv : "-");
			}
		}
		json_decref(items);
		rc = 0;
	} else if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
		if (token_id(db, argv[2], &id) != 1)
			cli_fail("token revoke: no token named '%s'", argv[2]);
		else if (api_token_revoke(db, id, &err) < 0)
			cli_fail("token revoke: %s", err.msg);
		else {
			printf("token '%s' revoked\n", argv[2]);
			rc = 0;
		}
	} else {
		cli_fail("token: unknown subcommand or arguments (create NAME [--read-only], list, "
		         "revoke NAME|ID)");
	}
out:
	db_close(db);
	return rc;
}
