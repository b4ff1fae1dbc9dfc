/* Database: migrations apply once and are recorded, a second open changes nothing, a failing
 * migration is rolled back, a newer schema is refused naming both versions, and constraints reject
 * impossible values with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"

static char dbpath[64];

static int
setup(void **state)
{
	int fd;

	snprintf(dbpath, sizeof(dbpath), "/tmp/pc-db-test-XXXXXX");
	fd = mkstemp(dbpath);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(dbpath);
	return 0;
}

static int
teardown(void **state)
{
	char p[96];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

static int
count(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(db_prepare(db, sql, &st, NULL), 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_migrate_twice(void **state)
{
	struct pc_err err = {0};
	struct db *db;

	assert_int_equal(db_open(dbpath, &db, &err), 0);
	assert_int_equal(db_schema_version(db), db_latest_version());
	assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), db_latest_version());
	db_close(db);
	assert_int_equal(db_open(dbpath, &db, &err), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), db_latest_version());
	assert_int_equal(count(db, "PRAGMA foreign_keys"), 1);
	db_close(db);
}

static void
test_failing_migration_rolled_back(void **state)
{
	static const struct db_migration ms[] = {
	        {1, "one", "CREATE TABLE a (x INTEGER);"},
	        {2, "two", "CREATE TABLE b (y INTEGER); INSERT INTO nosuchtable VALUES (1);"},
	};
	struct pc_err err = {0};
	struct db *db;

	assert_int_equal(db_open_raw(dbpath, &db, &err), 0);
	assert_true(db_migrate_with(db, ms, 2, &err) < 0);
	assert_non_null(strstr(err.msg, "migration 0002_two failed, rolled back"));
	assert_non_null(strstr(err.msg, "nosuchtable"));
	assert_int_equal(db_schema_version(db), 1);
	/* table b from the failed migration does not exist; table a does */
	assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'a'"), 1);
	db_close(db);
}

static void
test_newer_schema_refused(void **state)
{
	struct pc_err err = {0};
	struct db *db;
	char want[128];

	assert_int_equal(db_open(dbpath, &db, &err), 0);
	assert_int_equal(
	        db_exec(db, "INSERT INTO schema_migrations(version, name) VALUES (999, 'future')",
	                &err),
	        0);
	db_close(db);
	assert_true(db_open(dbpath, &db, &err) < 0);
	assert_null(db);
	snprintf(want, sizeof(want),
	         "schema version 999 is newer than this program's schema version %d",
	         db_latest_version());
	assert_non_null(strstr(err.msg, want));
}

static void
expect_rejected(struct db *db, const char *sql, const char *needle)
{
	struct pc_err err = {0};

	assert_true(db_exec(db, sql, &err) < 0);
	assert_int_not_equal(err.kind, PC_ERR_NONE);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("'%s' rejected with '%s', expected it to mention '%s'", sql, err.msg,
		         needle);
}

static void
test_constraints(void **state)
{
	struct pc_err err = {0};
	struct db *db;

	assert_int_equal(db_open(dbpath, &db, &err), 0);
	expect_rejected(db,
	                "INSERT INTO ip_pool(name, start_address, end_address) "
	                "VALUES ('p', '10.0.0.9', '10.0.0.1')",
	                "CHECK constraint failed");
	expect_rejected(db,
	                "INSERT INTO ip_pool(name, start_address, end_address) "
	                "VALUES ('p', '10.0.0.300', '10.0.0.1')",
	                "CHECK constraint failed");
	expect_rejected(db, "INSERT INTO isakmp_policy(priority) VALUES (0)",
	                "CHECK constraint failed");
	expect_rejected(db, "INSERT INTO isakmp_policy(priority, dh_group) VALUES (10, 3)",
	                "CHECK constraint failed");
	expect_rejected(db,
	                "INSERT INTO interface(hw_name, nameif, ip_mode, address, netmask) VALUES "
	                "('ethernet0', 'outside', 'static', '192.168.1.1', '255.0.255.0')",
	                "CHECK constraint failed");
	expect_rejected(db, "INSERT INTO access_group(acl_id, interface_id) VALUES (42, 42)",
	                "FOREIGN KEY");
	assert_int_equal(db_exec(db,
	                         "INSERT INTO ip_pool(name, start_address, end_address) "
	                         "VALUES ('VPNpool', '10.89.129.200', '10.89.129.204')",
	                         &err),
	                 0);
	expect_rejected(db,
	                "INSERT INTO ip_pool(name, start_address, end_address) "
	                "VALUES ('VPNpool', '10.0.0.1', '10.0.0.2')",
	                "already exists");
	db_close(db);
}

static void
test_ip4_parse(void **state)
{
	uint32_t v;

	assert_int_equal(db_ip4_parse("10.89.129.194", &v), 0);
	assert_int_equal(v, 0x0a5981c2);
	assert_true(db_ip4_parse("1.2.3", &v) < 0);
	assert_true(db_ip4_parse("1.2.3.4.5", &v) < 0);
	assert_true(db_ip4_parse("256.1.1.1", &v) < 0);
	assert_true(db_ip4_parse("1.2.3.4 ", &v) < 0);
	assert_true(db_ip4_parse("", &v) < 0);
	assert_true(db_ip4_mask_ok(0xffffff00));
	assert_true(db_ip4_mask_ok(0));
	assert_true(db_ip4_mask_ok(0xffffffff));
	assert_false(db_ip4_mask_ok(0xff00ff00));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_migrate_twice, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failing_migration_rolled_back, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_constraints, setup, teardown),
	        cmocka_unit_test(test_ip4_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
