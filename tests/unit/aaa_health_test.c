/* Dead-host logic on a fake clock: a server is marked dead after max_failed_attempts
 * consecutive failures, skipped during the dead time, tried again afterwards with a fresh count;
 * an answer resets the count. Accounting backoff doubles up to its cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "gateway/aaa/aaa_health.h"

static void
test_dead_after_max_failures(void **state)
{
	struct aaa_health h = {0};
	uint64_t t = 1000000;

	assert_true(aaa_health_usable(&h, t));
	assert_false(aaa_health_failure(&h, t, 3, 600000, "timeout"));
	assert_false(aaa_health_failure(&h, t + 1, 3, 600000, "timeout"));
	assert_true(aaa_health_usable(&h, t + 2));
	assert_true(aaa_health_failure(&h, t + 2, 3, 600000, "refused")); /* third: dead */
	assert_string_equal(h.last_error, "refused");
	assert_false(aaa_health_usable(&h, t + 3));
	assert_false(aaa_health_usable(&h, t + 2 + 599999));
	assert_true(aaa_health_usable(&h, t + 2 + 600000)); /* dead time over */
	assert_int_equal(h.consecutive_failures, 0);
	assert_false(h.dead);
	assert_int_equal(h.failures, 3);
	assert_int_equal(h.requests, 3);
}

static void
test_success_resets(void **state)
{
	struct aaa_health h = {0};

	assert_false(aaa_health_failure(&h, 10, 2, 1000, "x"));
	aaa_health_success(&h, 42);
	assert_int_equal(h.consecutive_failures, 0);
	assert_int_equal(h.last_latency_ms, 42);
	assert_false(aaa_health_failure(&h, 20, 2, 1000, "x"));
	assert_true(aaa_health_usable(&h, 21));
	assert_true(aaa_health_failure(&h, 30, 2, 1000, "x"));
	assert_false(aaa_health_usable(&h, 31));
	/* failures while dead do not extend the dead time */
	assert_false(aaa_health_failure(&h, 500, 2, 1000, "x"));
	assert_true(aaa_health_usable(&h, 1030));
}

static void
test_deadtime_zero(void **state)
{
	struct aaa_health h = {0};

	assert_true(aaa_health_failure(&h, 5, 1, 0, "x"));
	assert_true(aaa_health_usable(&h, 5)); /* deadtime 0: back at once */
}

static void
test_backoff(void **state)
{
	assert_int_equal(aaa_backoff_ms(1, 5000, 600000), 5000);
	assert_int_equal(aaa_backoff_ms(2, 5000, 600000), 10000);
	assert_int_equal(aaa_backoff_ms(4, 5000, 600000), 40000);
	assert_int_equal(aaa_backoff_ms(8, 5000, 600000), 600000);
	assert_int_equal(aaa_backoff_ms(1000, 5000, 600000), 600000);
	assert_int_equal(aaa_backoff_ms(0, 5000, 600000), 5000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dead_after_max_failures),
	        cmocka_unit_test(test_success_resets),
	        cmocka_unit_test(test_deadtime_zero),
	        cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
