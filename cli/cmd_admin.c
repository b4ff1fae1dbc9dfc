/* portcullis --db FILE admin add NAME | admin list | admin del NAME | admin passwd NAME
 * Passwords are read from stdin (one line), never from the command line. */
#include "api/api_admin.h"
#include "cli/cli.h"
#include "db/db.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cmd_admin(struct cli_ctx *ctx, int argc, char **argv);

static int
read_password(char *buf, size_t len)
{
	size_t n;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password: ");
	if (fgets(buf, (int)len, stdin) == NULL)
		return cli_fail("admin: expected the password on stdin, got end of input");
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(stdin))
		return cli_fail("admin: password longer than %d characters", API_PASSWORD_MAX);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

static int
find_admin(struct db *db, const char *name, int64_t *id)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (db_prepare(db, "SELECT id FROM admin_user WHERE name = ?", &st, NULL) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 1;
	}
	sqlite3_finalize(st);
	return rc;
}

int
cmd_admin(struct cli_ctx *ctx, int argc, char **argv)
{
	struct pc_err err = {0};
	char pw[API_PASSWORD_MAX + 2];
	struct db *db = NULL;
	int64_t id = 0;
	int rc = 1;

	if (argc < 2)
		return cli_fail(
		        "usage: admin add NAME | admin list | admin del NAME | admin passwd "
		        "NAME (password on stdin)");
	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		json_t *items = NULL;
		size_t i;
		json_t *a;

		if (api_admin_list(db, &items, &err) < 0) {
			cli_fail("admin list: %s", err.msg);
			goto out;
		}
		if (ctx->json) {
			char *s = json_dumps(items, JSON_INDENT(2));

			printf("%s\n", s);
			free(s);
		} else {
			printf("%-4s %-24s %-21s %s\n", "ID", "NAME", "CREATED", "LAST LOGIN");
			json_array_foreach(items, i, a)
			{
				const char *ll =
				        json_string_value(json_object_get(a, "last_login_at"));

				printf("%-4lld %-24s %-21s %s\n",
				       (long long)json_integer_value(json_object_get(a, "id")),
				       json_string_value(json_object_get(a, "name")),
				       json_string_value(json_object_get(a, "created_at")),
				       ll != NULL ? ll : "never");
			}
		}
		json_decref(items);
		rc = 0;
	} else if ((strcmp(argv[1], "add") == 0 || strcmp(argv[1], "passwd") == 0) && argc == 3) {
		bool add = strcmp(argv[1], "add") == 0;

		if (!add && find_admin(db, argv[2], &id) != 1) {
			cli_fail("admin passwd: no admin named '%s'", argv[2]);
			goto out;
		}
		if (read_password(pw, sizeof(pw)) != 0)
			goto out;
		if (add ? api_admin_add(db, argv[2], pw, &id, &err)
		        : api_admin_set_password(db, id, pw, &err)) {
			cli_fail("admin %s: %s", argv[1], err.msg);
		} else {
			printf("admin '%s' %s (id %lld)\n", argv[2], add ? "created" : "updated",
			       (long long)id);
			rc = 0;
		}
		OPENSSL_cleanse(pw, sizeof(pw));
	} else if (strcmp(argv[1], "del") == 0 && argc == 3) {
		if (find_admin(db, argv[2], &id) != 1)
			cli_fail("admin del: no admin named '%s'", argv[2]);
		else if (api_admin_delete(db, id, &err) < 0)
			cli_fail("admin del: %s", err.msg);
		else
			rc = 0;
	} else {
		cli_fail("admin: unknown subcommand or arguments (add NAME, list, del NAME, passwd "
		         "NAME)");
	}
out:
	db_close(db);
	return rc;
}
