/* SQLite access: open (WAL, busy timeout, foreign keys), migrations, transactions, statements.
 * One struct db per thread; SQLite's WAL lets the engine and API threads read concurrently. */
#ifndef PORTCULLIS_DB_DB_H
#define PORTCULLIS_DB_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/migrations.h"
#include "gateway/core/err.h"

struct db;

#define DB_BUSY_TIMEOUT_MS 5000

/* Opens (creating if missing) and migrates to the newest schema this program knows. A database
 * whose schema is newer than the program is refused with both versions in the message. */
int db_open(const char *path, struct db **out, struct pc_err *err);
/* Opens without migrating (tests, and the CLI's read-only views). */
int db_open_raw(const char *path, struct db **out, struct pc_err *err);
void db_close(struct db *db);

/* Applies migrations[0..count) in order, each in its own transaction, recording each in the
 * schema_migrations table; a failing one is rolled back and named in err. */
int db_migrate_with(struct db *db, const struct db_migration *migrations, int count,
                    struct pc_err *err);
int db_schema_version(struct db *db); /* <0 on error, 0 for an empty database */
int db_latest_version(void);

sqlite3 *db_sqlite(struct db *db);
const char *db_path(struct db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. db_rollback accepts being called with no transaction. */
int db_begin(struct db *db, struct pc_err *err);
int db_commit(struct db *db, struct pc_err *err);
void db_rollback(struct db *db);
bool db_in_transaction(struct db *db);

int db_exec(struct db *db, const char *sql, struct pc_err *err);
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **st, struct pc_err *err);
/* For SQL run per handshake: the statement is prepared once per connection and kept (up to 16;
 * beyond that it is prepared each time). `sql` is the key by its address, so it must live as long
 * as the connection (a string literal or static array). End each use with db_done(), never
 * sqlite3_finalize(): it resets the statement and clears its bindings. */
int db_prepare_cached(struct db *db, const char *sql, sqlite3_stmt **st, struct pc_err *err);
void db_done(struct db *db, sqlite3_stmt *st);
/* Maps the last SQLite error (constraint names included) to a pc_err and a negative errno. */
int db_error(struct db *db, struct pc_err *err, const char *what);

/* IPv4 helpers, also registered as SQL functions ip4(text) and ip4_mask_ok(text). */
int db_ip4_parse(const char *s, uint32_t *out);
bool db_ip4_mask_ok(uint32_t mask);

#endif
