/* Admin accounts and API tokens in the database: used by the REST API (api/auth.c) and by the CLI
 * (`portcullis --db FILE admin add|list|del`, `token create|list|revoke`). */
#ifndef PORTCULLIS_API_API_ADMIN_H
#define PORTCULLIS_API_API_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "gateway/core/err.h"

#define API_NAME_MAX     64
#define API_PASSWORD_MIN 8
#define API_PASSWORD_MAX 256
#define API_TOKEN_LEN    68 /* "pct_" + 64 hex digits */

/* Creates an admin (PBKDF2 hash). *id_out may be NULL. */
int api_admin_add(struct db *db, const char *name, const char *password, int64_t *id_out,
                  struct pc_err *err);
int api_admin_set_password(struct db *db, int64_t id, const char *password, struct pc_err *err);
int api_admin_delete(struct db *db, int64_t id, struct pc_err *err);
/* [{id, name, created_at, last_login_at}] */
int api_admin_list(struct db *db, json_t **out, struct pc_err *err);
/* Checks name/password: admin_user, then local_user with privilege 15, then (name enable_15)
 * the imported enable password. A PIX-MD5 hash that matches is replaced by PBKDF2 (for the
 * enable password: an admin enable_15 is created). Empty passwords never match.
 * *id_out: the admin_user id, 0 for a local user. Returns 1 accepted, 0 rejected, <0 error. */
int api_admin_check(struct db *db, const char *name, const char *password, int64_t *id_out,
                    struct pc_err *err);

/* Creates a token; token_out (API_TOKEN_LEN + 1 bytes) receives the secret, shown only once. */
int api_token_create(struct db *db, const char *name, bool read_only, const char *created_by,
                     int64_t *id_out, char *token_out, struct pc_err *err);
int api_token_revoke(struct db *db, int64_t id, struct pc_err *err);
/* [{id, name, read_only, created_by, created_at, revoked_at, last_used_at}] */
int api_token_list(struct db *db, json_t **out, struct pc_err *err);
/* Looks a bearer token up: 1 valid (name and read_only filled), 0 unknown or revoked. */
int api_token_check(struct db *db, const char *token, char *name, size_t namelen, bool *read_only,
                    struct pc_err *err);

/* One result column as JSON (integer, real, string or null). */
json_t *api_sql_value(sqlite3_stmt *st, int col);

/* SHA-256 of s as 64 hex digits + NUL. */
void api_sha256_hex(const char *s, char out[65]);
/* n random bytes as 2n hex digits + NUL. 0 or -EIO. */
int api_random_hex(size_t n, char *out);

#endif
