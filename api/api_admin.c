/* Admin accounts and API tokens: the rows behind login and bearer authentication. */
#include "api/api_admin.h"
#include "api/api_hash.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

void
api_sha256_hex(const char *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

int
api_random_hex(size_t n, char *out)
{
	unsigned char buf[64];

	if (n > sizeof(buf) || RAND_bytes(buf, (int)n) != 1)
		return -EIO;
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static int
check_name(const char *name, struct pc_err *err)
{
	size_t n = strlen(name);

	if (n < 1 || n > API_NAME_MAX)
		return pc_err_set(err, PC_ERR_INVALID, "name",
		                  "name: expected 1-%d characters, got %zu", API_NAME_MAX, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c == 0x7f || c == '"' || c == '\\')
			return pc_err_set(err, PC_ERR_INVALID, "name",
			                  "name: expected printable characters without spaces or "
			                  "quotes, got byte 0x%02x at %zu",
			                  c, i);
	}
	return 0;
}

static int
check_password(const char *password, struct pc_err *err)
{
	size_t n = strlen(password);

	if (n < API_PASSWORD_MIN || n > API_PASSWORD_MAX)
		return pc_err_set(err, PC_ERR_INVALID, "password",
		                  "password: expected %d-%d characters, got %zu", API_PASSWORD_MIN,
		                  API_PASSWORD_MAX, n);
	return 0;
}

/* Runs one statement with text/int64 parameters given as a format ("t" text, "i" int64, "n"
 * NULL); returns 0, or the db_error mapping. *changes gets sqlite3_changes. */
static int
exec_bound(struct db *db, const char *sql, const char *fmt, const void *const *vals, int *changes,
           struct pc_err *err, const char *what)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, sql, &st, err);

	if (rc < 0)
		return rc;
	for (int i = 0; fmt[i] != '\0'; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_TRANSIENT);
		else if (fmt[i] == 'i')
			sqlite3_bind_int64(st, i + 1, *(const int64_t *)vals[i]);
		else
			sqlite3_bind_null(st, i + 1);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(db, err, what);
	if (changes != NULL)
		*changes = sqlite3_changes(db_sqlite(db));
	sqlite3_finalize(st);
	return rc;
}

int
api_admin_add(struct db *db, const char *name, const char *password, int64_t *id_out,
              struct pc_err *err)
{
	char hash[API_HASH_MAX];
	int rc;

	rc = check_name(name, err);
	if (rc == 0)
		rc = check_password(password, err);
	if (rc < 0)
		return rc;
	rc = api_hash_password(password, hash, sizeof(hash));
	if (rc < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "PKCS5_PBKDF2_HMAC failed");
	rc = exec_bound(db,
	                "INSERT INTO admin_user(name, password_hash, hash_kind) VALUES (?, ?, "
	                "'pbkdf2-sha256')",
	                "tt", (const void *[]){name, hash}, NULL, err, "admin add");
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc == 0 && id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(db_sqlite(db));
	if (rc < 0 && err != NULL && err->kind == PC_ERR_CONFLICT)
		pc_err_set(err, PC_ERR_CONFLICT, "name", "admin '%s' already exists", name);
	return rc;
}

int
api_admin_set_password(struct db *db, int64_t id, const char *password, struct pc_err *err)
{
	char hash[API_HASH_MAX];
	int changes = 0, rc;

	rc = check_password(password, err);
	if (rc < 0)
		return rc;
	if (api_hash_password(password, hash, sizeof(hash)) < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "PKCS5_PBKDF2_HMAC failed");
	rc = exec_bound(db,
	                "UPDATE admin_user SET password_hash = ?, hash_kind = 'pbkdf2-sha256' "
	                "WHERE id = ?",
	                "ti", (const void *[]){hash, &id}, &changes, err, "admin password");
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc == 0 && changes == 0)
		return pc_err_set(err, PC_ERR_NOTFOUND, "", "no admin with id %lld", (long long)id);
	return rc;
}

int
api_admin_delete(struct db *db, int64_t id, struct pc_err *err)
{
	int changes = 0;
	int rc = exec_bound(db, "DELETE FROM admin_user WHERE id = ?", "i", (const void *[]){&id},
	                    &changes, err, "admin delete");

	if (rc == 0 && changes == 0)
		return pc_err_set(err, PC_ERR_NOTFOUND, "", "no admin with id %lld", (long long)id);
	return rc;
}

json_t *
api_sql_value(sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, col));
	case SQLITE_NULL:
		return json_null();
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, col));
	default:
		return json_string((const char *)sqlite3_column_text(st, col));
	}
}

static int
list_rows(struct db *db, const char *sql, const char *const *names, const bool *bools, json_t **out,
          struct pc_err *err)
{
	sqlite3_stmt *st;
	json_t *arr;
	int rc = db_prepare(db, sql, &st, err);

	if (rc < 0)
		return rc;
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();

		for (int i = 0; names[i] != NULL; i++)
			json_object_set_new(o, names[i],
			                    bools[i] ? json_boolean(sqlite3_column_int(st, i))
			                             : api_sql_value(st, i));
		json_array_append_new(arr, o);
	}
	if (rc != SQLITE_DONE) {
		rc = db_error(db, err, "list");
		sqlite3_finalize(st);
		json_decref(arr);
		return rc;
	}
	sqlite3_finalize(st);
	*out = arr;
	return 0;
}

int
api_admin_list(struct db *db, json_t **out, struct pc_err *err)
{
	static const char *const names[] = {"id", "name", "created_at", "last_login_at", NULL};
	static const bool bools[] = {false, false, false, false};

	return list_rows(db,
	                 "SELECT id, name, created_at, last_login_at FROM admin_user ORDER BY id",
	                 names, bools, out, err);
}

/* Where an admin login may be found, in order. Imported PIX hashes (local users with privilege
 * 15) are accepted and replaced by PBKDF2 at first use. */
static const struct {
	const char *what;
	const char *find;
	const char *rehash;
	const char *touch;
} cred_sources[] = {
        {"admin", "SELECT id, hash_kind, password_hash FROM admin_user WHERE name = ?",
         "UPDATE admin_user SET password_hash = ?, hash_kind = 'pbkdf2-sha256' WHERE id = ?",
         "UPDATE admin_user SET last_login_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id "
         "= ?"},
        {"local user (privilege 15)",
         "SELECT id, hash_kind, password_hash FROM local_user WHERE name = ? AND privilege = 15 "
         "AND password_hash IS NOT NULL",
         "UPDATE local_user SET password_hash = ?, hash_kind = 'pbkdf2-sha256' WHERE id = ?", NULL},
};

/* PIX `enable password HASH encrypted` (setting enable_password) logs in as user enable_15, the
 * name PDM used. On success an admin enable_15 with a PBKDF2 hash is created; the setting stays
 * as imported so the PIX export is unchanged. */
#define ENABLE_USER "enable_15"

static int
find_cred(struct db *db, const char *sql, const char *name, int64_t *id, char *kind, size_t klen,
          char *stored, size_t slen)
{
	sqlite3_stmt *st;
	int found = 0;

	if (db_prepare(db, sql, &st, NULL) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		snprintf(kind, klen, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(stored, slen, "%s", (const char *)sqlite3_column_text(st, 2));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

static int
check_enable(struct db *db, const char *password, int64_t *id_out, struct pc_err *err)
{
	char kind[32], stored[API_HASH_MAX], hash[API_HASH_MAX];
	int64_t dummy;
	int ok, rc;

	if (find_cred(db,
	              "SELECT 0, CASE WHEN value LIKE 'pbkdf2-sha256$%' THEN 'pbkdf2-sha256' ELSE "
	              "'pix-md5' END, value FROM setting WHERE name IN ('enable-password', "
	              "'enable_password') AND ? IS NOT NULL ORDER BY name LIMIT 1",
	              "", &dummy, kind, sizeof(kind), stored, sizeof(stored)) != 1)
		return 0;
	ok = api_hash_verify(kind, stored, password);
	OPENSSL_cleanse(stored, sizeof(stored));
	if (ok != 1)
		return 0;
	if (api_hash_password(password, hash, sizeof(hash)) < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "PKCS5_PBKDF2_HMAC failed");
	rc = exec_bound(db,
	                "INSERT INTO admin_user(name, password_hash, hash_kind) VALUES (?, ?, "
	                "'pbkdf2-sha256')",
	                "tt", (const void *[]){ENABLE_USER, hash}, NULL, err, "enable admin");
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc < 0)
		return rc;
	*id_out = sqlite3_last_insert_rowid(db_sqlite(db));
	log_info(LOG_API, "admin '%s' created from the imported enable password (pbkdf2-sha256)",
	         ENABLE_USER);
	return 1;
}

int
api_admin_check(struct db *db, const char *name, const char *password, int64_t *id_out,
                struct pc_err *err)
{
	char kind[32] = "", stored[API_HASH_MAX] = "";
	int64_t id = 0;
	size_t src;
	int rc = 0, ok;

	if (id_out != NULL)
		*id_out = 0;
	for (src = 0; src < sizeof(cred_sources) / sizeof(cred_sources[0]); src++) {
		rc = find_cred(db, cred_sources[src].find, name, &id, kind, sizeof(kind), stored,
		               sizeof(stored));
		if (rc != 0)
			break;
	}
	if (rc < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "reading admin accounts failed");
	if (password[0] == '\0') {
		/* a PIX's default enable password is empty: never a way in */
		OPENSSL_cleanse(stored, sizeof(stored));
		return 0;
	}
	if (rc == 0) {
		if (strcmp(name, ENABLE_USER) == 0) {
			rc = check_enable(db, password, &id, err);
			if (rc == 1 && id_out != NULL)
				*id_out = id;
			return rc;
		}
		/* same work as a real check, so timing does not reveal which names exist */
		api_hash_verify("pbkdf2-sha256",
		                "pbkdf2-sha256$210000$00000000000000000000000000000000$"
		                "0000000000000000000000000000000000000000000000000000000000000000",
		                password);
		return 0;
	}
	/* local users' PIX-MD5 hashes are salted with the user name */
	ok = api_hash_verify_user(kind, stored, src == 1 ? name : NULL, password);
	OPENSSL_cleanse(stored, sizeof(stored));
	if (ok < 0) {
		log_warn(LOG_API, "%s '%s': stored %s hash is malformed; login refused",
		         cred_sources[src].what, name, kind);
		return 0;
	}
	if (!ok)
		return 0;
	if (strcmp(kind, "pbkdf2-sha256") != 0) {
		char hash[API_HASH_MAX];

		if (api_hash_password(password, hash, sizeof(hash)) == 0 &&
		    exec_bound(db, cred_sources[src].rehash, "ti", (const void *[]){hash, &id},
		               NULL, err, "rehash") == 0)
			log_info(LOG_API, "%s '%s': %s hash replaced by pbkdf2-sha256",
			         cred_sources[src].what, name, kind);
		OPENSSL_cleanse(hash, sizeof(hash));
	}
	if (cred_sources[src].touch != NULL)
		exec_bound(db, cred_sources[src].touch, "i", (const void *[]){&id}, NULL, NULL,
		           "last login");
	if (id_out != NULL && src == 0)
		*id_out = id;
	return 1;
}

int
api_token_create(struct db *db, const char *name, bool read_only, const char *created_by,
                 int64_t *id_out, char *token_out, struct pc_err *err)
{
	char hex[65], hash[65];
	int64_t ro = read_only;
	int rc = check_name(name, err);

	if (rc < 0)
		return rc;
	if (api_random_hex(32, hex) < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "RAND_bytes failed");
	snprintf(token_out, API_TOKEN_LEN + 1, "pct_%s", hex);
	api_sha256_hex(token_out, hash);
	rc = exec_bound(db,
	                "INSERT INTO api_token(name, token_hash, read_only, created_by) VALUES (?, "
	                "?, ?, ?)",
	                "tti"
	                "t",
	                (const void *[]){name, hash, &ro, created_by}, NULL, err, "token create");
	OPENSSL_cleanse(hex, sizeof(hex));
	if (rc < 0) {
		OPENSSL_cleanse(token_out, API_TOKEN_LEN + 1);
		if (err != NULL && err->kind == PC_ERR_CONFLICT)
			pc_err_set(err, PC_ERR_CONFLICT, "name", "token '%s' already exists", name);
		return rc;
	}
	if (id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(db_sqlite(db));
	return 0;
}

int
api_token_revoke(struct db *db, int64_t id, struct pc_err *err)
{
	int changes = 0;
	int rc =
	        exec_bound(db,
	                   "UPDATE api_token SET revoked_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') "
	                   "WHERE id = ? AND revoked_at IS NULL",
	                   "i", (const void *[]){&id}, &changes, err, "token revoke");

	if (rc == 0 && changes == 0)
		return pc_err_set(err, PC_ERR_NOTFOUND, "", "no active token with id %lld",
		                  (long long)id);
	return rc;
}

int
api_token_list(struct db *db, json_t **out, struct pc_err *err)
{
	static const char *const names[] = {"id",           "name",       "read_only",
	                                    "created_by",   "created_at", "revoked_at",
	                                    "last_used_at", NULL};
	static const bool bools[] = {false, false, true, false, false, false, false};

	return list_rows(db,
	                 "SELECT id, name, read_only, created_by, created_at, revoked_at, "
	                 "last_used_at FROM api_token ORDER BY id",
	                 names, bools, out, err);
}

int
api_token_check(struct db *db, const char *token, char *name, size_t namelen, bool *read_only,
                struct pc_err *err)
{
	sqlite3_stmt *st;
	char hash[65];
	int64_t id = 0;
	int rc;

	if (strncmp(token, "pct_", 4) != 0 || strlen(token) != API_TOKEN_LEN)
		return 0;
	api_sha256_hex(token, hash);
	rc = db_prepare(db,
	                "SELECT id, name, read_only FROM api_token WHERE token_hash = ? AND "
	                "revoked_at IS NULL",
	                &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		snprintf(name, namelen, "%s", (const char *)sqlite3_column_text(st, 1));
		*read_only = sqlite3_column_int(st, 2) != 0;
	}
	sqlite3_finalize(st);
	if (id == 0)
		return 0;
	exec_bound(db,
	           "UPDATE api_token SET last_used_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') "
	           "WHERE id = ? AND (last_used_at IS NULL OR "
	           "last_used_at < strftime('%Y-%m-%dT%H:%M:%SZ','now','-60 seconds'))",
	           "i", (const void *[]){&id}, NULL, NULL, "token last used");
	return 1;
}
