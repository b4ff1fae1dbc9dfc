#include "db/db.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements kept prepared for SQL that runs per handshake (db_prepare_cached). */
#define DB_STMT_CACHE 16

struct db {
	sqlite3 *h;
	char *path;
	struct {
		const char *sql; /* the caller's string, compared by address */
		sqlite3_stmt *st;
	} cache[DB_STMT_CACHE];
	int ncache;
};

int
db_ip4_parse(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	int parts = 0;

	if (s == NULL)
		return -EINVAL;
	while (parts < 4) {
		unsigned n = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (unsigned)(*s - '0');
			if (++digits > 3 || n > 255)
				return -EINVAL;
			s++;
		}
		if (digits == 0)
			return -EINVAL;
		v = (v << 8) | n;
		parts++;
		if (parts < 4) {
			if (*s != '.')
				return -EINVAL;
			s++;
		}
	}
	if (*s != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

bool
db_ip4_mask_ok(uint32_t mask)
{
	/* contiguous ones then zeros: ~mask + 1 is a power of two (or zero for /0 overflow) */
	uint32_t inv = ~mask;

	return (inv & (inv + 1)) == 0;
}

static void
sql_ip4(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *s = sqlite3_value_text(argv[0]);
	uint32_t v;

	if (s == NULL || db_ip4_parse((const char *)s, &v) < 0) {
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_int64(ctx, (sqlite3_int64)v);
}

static void
sql_ip4_mask_ok(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *s = sqlite3_value_text(argv[0]);
	uint32_t v;

	sqlite3_result_int(ctx, s != NULL && db_ip4_parse((const char *)s, &v) == 0 &&
	                                db_ip4_mask_ok(v));
}

int
db_error(struct db *db, struct pc_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(db->h);
	const char *msg = sqlite3_errmsg(db->h);

	switch (code & 0xff) {
	case SQLITE_CONSTRAINT:
		if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
			return pc_err_set(err, PC_ERR_CONFLICT, "", "%s: already exists (%s)", what,
			                  msg);
		if (code == SQLITE_CONSTRAINT_FOREIGNKEY)
			return pc_err_set(
			        err, PC_ERR_CONFLICT, "",
			        "%s: still referenced or refers to something missing (%s)", what,
			        msg);
		return pc_err_set(err, PC_ERR_INVALID, "", "%s: %s", what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		pc_err_set(err, PC_ERR_INTERNAL, "", "%s: database busy (%s)", what, msg);
		return -EBUSY;
	default:
		return pc_err_set(err, PC_ERR_INTERNAL, "", "%s: %s", what, msg);
	}
}

int
db_exec(struct db *db, const char *sql, struct pc_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);

	sqlite3_free(msg);
	if (rc != SQLITE_OK)
		return db_error(db, err, "exec");
	return 0;
}

int
db_prepare(struct db *db, const char *sql, sqlite3_stmt **st, struct pc_err *err)
{
	if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_error(db, err, "prepare");
	}
	return 0;
}

int
db_prepare_cached(struct db *db, const char *sql, sqlite3_stmt **st, struct pc_err *err)
{
	int i;

	for (i = 0; i < db->ncache; i++)
		if (db->cache[i].sql == sql) {
			*st = db->cache[i].st;
			return 0;
		}
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_error(db, err, "prepare");
	}
	if (db->ncache < DB_STMT_CACHE) {
		db->cache[db->ncache].sql = sql;
		db->cache[db->ncache].st = *st;
		db->ncache++;
	}
	/* the cache full: this one is not kept, and db_done finalizes it */
	return 0;
}

void
db_done(struct db *db, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < db->ncache; i++)
		if (db->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

int
db_begin(struct db *db, struct pc_err *err)
{
	return db_exec(db, "BEGIN IMMEDIATE", err);
}

int
db_commit(struct db *db, struct pc_err *err)
{
	return db_exec(db, "COMMIT", err);
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

bool
db_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->h);
}

sqlite3 *
db_sqlite(struct db *db)
{
	return db->h;
}

const char *
db_path(struct db *db)
{
	return db->path;
}

int
db_latest_version(void)
{
	return db_migration_count;
}

int
db_schema_version(struct db *db)
{
	sqlite3_stmt *st = NULL;
	int v = 0;

	if (sqlite3_prepare_v2(db->h,
	                       "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
	                       "name = 'schema_migrations'",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) == 0) {
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db->h, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
	                       &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
db_migrate_with(struct db *db, const struct db_migration *migrations, int count, struct pc_err *err)
{
	int have, rc;
	sqlite3_stmt *st = NULL;

	rc = db_exec(db,
	             "CREATE TABLE IF NOT EXISTS schema_migrations ("
	             " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	             " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))",
	             err);
	if (rc < 0)
		return rc;
	have = db_schema_version(db);
	if (have < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "%s: cannot read schema version",
		                  db->path);
	if (have > count)
		return pc_err_set(err, PC_ERR_INVALID, "",
		                  "%s: database schema version %d is newer than this program's "
		                  "schema version %d; use a newer Portcullis",
		                  db->path, have, count);
	for (int i = have; i < count; i++) {
		const struct db_migration *m = &migrations[i];
		char *msg = NULL;

		if (m->version != i + 1)
			return pc_err_set(err, PC_ERR_INTERNAL, "",
			                  "migration table out of order: entry %d has version %d",
			                  i, m->version);
		rc = db_begin(db, err);
		if (rc < 0)
			return rc;
		if (sqlite3_exec(db->h, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
			pc_err_set(err, PC_ERR_INTERNAL, "",
			           "%s: migration %04d_%s failed, rolled back: %s", db->path,
			           m->version, m->name, msg != NULL ? msg : sqlite3_errmsg(db->h));
			sqlite3_free(msg);
			db_rollback(db);
			return -EIO;
		}
		if (db_prepare(db, "INSERT INTO schema_migrations(version, name) VALUES (?, ?)",
		               &st, err) < 0) {
			db_rollback(db);
			return -EIO;
		}
		sqlite3_bind_int(st, 1, m->version);
		sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = db_error(db, err, "record migration");
			sqlite3_finalize(st);
			db_rollback(db);
			return rc;
		}
		sqlite3_finalize(st);
		st = NULL;
		rc = db_commit(db, err);
		if (rc < 0) {
			db_rollback(db);
			return rc;
		}
		log_info(LOG_DB, "%s: applied migration %04d_%s", db->path, m->version, m->name);
	}
	return 0;
}

int
db_open_raw(const char *path, struct db **out, struct pc_err *err)
{
	struct db *db;
	int rc;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return -ENOMEM;
	db->path = strdup(path);
	if (db->path == NULL) {
		free(db);
		return -ENOMEM;
	}
	if (sqlite3_open_v2(path, &db->h,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		rc = pc_err_set(err, PC_ERR_INTERNAL, "path", "%s: cannot open database: %s", path,
		                db->h != NULL ? sqlite3_errmsg(db->h) : "out of memory");
		db_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_create_function(db->h, "ip4", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_ip4,
	                        NULL, NULL);
	sqlite3_create_function(db->h, "ip4_mask_ok", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	                        sql_ip4_mask_ok, NULL, NULL);
	rc = db_exec(db, "PRAGMA journal_mode = WAL", err);
	if (rc == 0)
		rc = db_exec(db, "PRAGMA foreign_keys = ON", err);
	if (rc == 0)
		rc = db_exec(db, "PRAGMA synchronous = NORMAL", err);
	if (rc < 0) {
		char msg[sizeof(err->msg)];

		if (err != NULL) {
			snprintf(msg, sizeof(msg), "%s", err->msg);
			pc_err_set(err, PC_ERR_INTERNAL, "path", "%s: %s", path, msg);
		}
		db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

int
db_open(const char *path, struct db **out, struct pc_err *err)
{
	struct db *db;
	int rc;

	rc = db_open_raw(path, &db, err);
	if (rc < 0)
		return rc;
	rc = db_migrate_with(db, db_migrations, db_migration_count, err);
	if (rc < 0) {
		db_close(db);
		*out = NULL;
		return rc;
	}
	*out = db;
	return 0;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].st);
	sqlite3_close_v2(db->h);
	free(db->path);
	free(db);
}
