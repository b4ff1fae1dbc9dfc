/* The engine wiring (gateway/uauth/uauth_engine.c) with the real gateway/aaa/: start from the
 * model, the engine_ops list/clear the API calls (including "#ID" for DELETE /api/v1/uauth/{id}),
 * an apply that turns caching off, and stop. Runs in a network namespace of its own (unshare)
 * because the listener binds the real UAUTH_PORT. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "gateway/aaa/aaa.h"
#include "gateway/core/engine.h"
#include "gateway/core/loop.h"
#include "gateway/uauth/uauth_engine.h"

static void
test_engine_wiring(void **state)
{
	struct engine eng = {0};
	struct pc_err err = {0};
	char path[64];
	json_t *v;
	char sel[80];
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		fail_msg("unshare(CLONE_NEWNET): %s (the test needs root for its own namespace)",
		         strerror(errno));
	snprintf(path, sizeof(path), "/tmp/pc-uauth-eng-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(db_open(path, &eng.db, &err), 0);
	assert_int_equal(
	        db_exec(eng.db,
	                "INSERT INTO timeout (name, seconds, option) VALUES ('uauth', 600, "
	                "'absolute');"
	                "INSERT INTO aaa_server_group (id, name, protocol) VALUES (1, 'LOCAL', "
	                "'local');"
	                "INSERT INTO aaa_rule (kind, action, service, direction, local_address, "
	                "local_netmask, foreign_address, foreign_netmask, group_id) VALUES "
	                "('authentication', 'include', 'any', 'inbound', '0.0.0.0', '0.0.0.0', "
	                "'0.0.0.0', '0.0.0.0', 1);",
	                &err),
	        0);
	assert_int_equal(loop_new(&eng.loop), 0);

	/* without the AAA layer it says so */
	assert_int_equal(uauth_engine_start(&eng, &err), -EIO);
	assert_non_null(strstr(err.msg, "AAA"));
	assert_int_equal(uauth_engine_list(&eng, &v), -ESRCH);

	assert_int_equal(aaa_new(eng.loop, path, &eng.aaa), 0);
	assert_int_equal(uauth_engine_start(&eng, &err), 0);
	assert_non_null(eng.uauth);
	assert_int_equal(uauth_listen_port(eng.uauth, UAUTH_METHOD_IPSEC), UAUTH_PORT);

	assert_int_equal(uauth_add_ipsec(eng.uauth, "cisco_customer", 0x0a5981c8, "vpn3000"), 0);
	assert_int_equal(uauth_add_ipsec(eng.uauth, "other", 0x0a5981c9, "vpn3000"), 0);
	assert_int_equal(uauth_engine_list(&eng, &v), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "current")), 2);
	snprintf(sel, sizeof(sel), "#%lld",
	         (long long)json_integer_value(
	                 json_object_get(json_array_get(json_object_get(v, "items"), 0), "id")));
	json_decref(v);
	assert_int_equal(uauth_engine_clear(&eng, sel, &err), 0);
	assert_int_equal(uauth_engine_clear(&eng, "nobody", &err), -ENOENT);
	assert_int_equal(uauth_engine_list(&eng, &v), 0);
	/* the API passes the {id} of DELETE /api/v1/uauth/{id} as it came: digits only */
	snprintf(sel, sizeof(sel), "%lld",
	         (long long)json_integer_value(
	                 json_object_get(json_array_get(json_object_get(v, "items"), 0), "id")));
	json_decref(v);
	assert_int_equal(uauth_engine_clear(&eng, sel, &err), 0);
	assert_int_equal(uauth_engine_clear(&eng, sel, &err), -ENOENT);
	assert_int_equal(uauth_add_ipsec(eng.uauth, "4242", 0x0a5981ca, "vpn3000"), 0);
	assert_int_equal(uauth_engine_clear(&eng, "4242", &err), 0); /* numeric user name */
	assert_int_equal(uauth_engine_list(&eng, &v), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "current")), 0);
	json_decref(v);
	assert_int_equal(uauth_add_ipsec(eng.uauth, "cisco_customer", 0x0a5981c8, "vpn3000"), 0);

	/* apply: the configuration visible in the transaction, committed after */
	assert_int_equal(db_begin(eng.db, &err), 0);
	assert_int_equal(
	        db_exec(eng.db, "UPDATE timeout SET seconds = 0 WHERE name = 'uauth'", &err), 0);
	assert_int_equal(uauth_engine_apply(&eng, eng.db, &err), 0);
	assert_int_equal(db_commit(eng.db, &err), 0);
	assert_int_equal(uauth_engine_list(&eng, &v), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "current")), 1); /* Xauth stays */
	json_decref(v);
	assert_int_equal(uauth_engine_clear(&eng, NULL, &err), 0);
	assert_int_equal(uauth_engine_list(&eng, &v), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "current")), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "most_seen")), 2);
	json_decref(v);

	uauth_engine_stop(&eng);
	assert_null(eng.uauth);
	uauth_engine_stop(&eng); /* twice is fine */
	aaa_free(eng.aaa);
	loop_free(eng.loop);
	db_close(eng.db);
	unlink(path);
	snprintf(sel, sizeof(sel), "%s-wal", path);
	unlink(sel);
	snprintf(sel, sizeof(sel), "%s-shm", path);
	unlink(sel);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_engine_wiring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
