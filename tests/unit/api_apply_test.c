/* A change the engine's apply rejects leaves the database unchanged and returns the reason; apply
 * runs on the engine thread against the request's open transaction (it sees the new row); an
 * engine that stopped answering gives 503 with nothing stored; every change leaves an audit row. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api_harness.h"

static struct harness h;

static int
setup(void **state)
{
	return h_start(&h) < 0 || h_create_fixture(&h) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	h_stop(&h);
	return 0;
}

static const char pool2[] = "{\"name\":\"Pool2\",\"start_address\":\"10.2.0.1\","
                            "\"end_address\":\"10.2.0.20\"}";

static void
test_apply_rejected_rolls_back(void **state)
{
	char *before = h_config_snapshot(&h), *after;
	int64_t audits = h_count(&h, "SELECT count(*) FROM audit_log");
	int calls = h.apply_calls;
	struct h_resp r;

	h.apply_fail = 1;
	assert_int_equal(h_call(&h, H_TOKEN, "POST", "/api/v1/pools", pool2, &r), 0);
	assert_int_equal(r.status, 422);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(r.json, "error"), "code")),
	        "apply_rejected");
	assert_non_null(strstr(r.body, "nftables refused the batch"));
	h_resp_free(&r);
	assert_int_equal(h.apply_calls, calls + 1);
	/* the engine saw the new pool inside the transaction ... */
	assert_int_equal(h.apply_saw_pools, 2);
	/* ... and it is gone after the rollback, audit row included */
	after = h_config_snapshot(&h);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM ip_pool WHERE name = 'Pool2'"), 0);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM audit_log"), audits);

	/* the same for a patch and a delete */
	assert_int_equal(h_status(&h, H_TOKEN, "PATCH", "/api/v1/pools/1",
	                          "{\"end_address\":\"10.89.129.210\"}"),
	                 422);
	assert_int_equal(h_status(&h, H_TOKEN, "DELETE", "/api/v1/fixups/1", NULL), 422);
	after = h_config_snapshot(&h);
	assert_string_equal(before, after);
	free(after);
	free(before);
	h.apply_fail = 0;
}

static void
test_apply_accepted_commits_and_audits(void **state)
{
	int64_t audits = h_count(&h, "SELECT count(*) FROM audit_log");
	struct h_resp r;
	sqlite3_stmt *st;

	assert_int_equal(h_call(&h, H_TOKEN, "POST", "/api/v1/pools", pool2, &r), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Pool2");
	h_resp_free(&r);
	assert_int_equal(h.apply_saw_pools, 2);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM ip_pool WHERE name = 'Pool2'"), 1);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM audit_log"), audits + 1);
	assert_int_equal(db_prepare(h.db,
	                            "SELECT actor, action, object, after_json FROM audit_log "
	                            "ORDER BY id DESC LIMIT 1",
	                            &st, NULL),
	                 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "token:auto");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "create");
	assert_string_equal((const char *)sqlite3_column_text(st, 2), "/api/v1/pools/2");
	assert_non_null(strstr((const char *)sqlite3_column_text(st, 3), "10.2.0.20"));
	sqlite3_finalize(st);

	/* patch records before and after */
	assert_int_equal(h_status(&h, H_TOKEN, "PATCH", "/api/v1/pools/2",
	                          "{\"end_address\":\"10.2.0.30\"}"),
	                 200);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM audit_log WHERE action = 'patch' AND "
	                             "before_json LIKE '%10.2.0.20%' AND after_json LIKE "
	                             "'%10.2.0.30%'"),
	                 1);
	assert_int_equal(h_status(&h, H_TOKEN, "DELETE", "/api/v1/pools/2", NULL), 204);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM ip_pool WHERE name = 'Pool2'"), 0);
}

static void
test_engine_gone_is_503(void **state)
{
	char *before = h_config_snapshot(&h), *after;
	struct h_resp r;

	h_stop_loop(&h); /* the engine thread stops answering loop_call */
	assert_int_equal(h_status(&h, H_TOKEN, "POST", "/api/v1/pools", pool2), 503);
	after = h_config_snapshot(&h);
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* live state needs the engine too; its subsystems are not there in this test */
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/sa/ike", NULL, &r), 0);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "ike"));
	h_resp_free(&r);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/health", NULL), 503);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_apply_rejected_rolls_back),
	        cmocka_unit_test(test_apply_accepted_commits_and_audits),
	        cmocka_unit_test(test_engine_gone_is_503),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
