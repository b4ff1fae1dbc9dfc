/* Bounded string builder: fixed mode never writes past the caller's array and says when a string
 * did not fit (cut short, still NUL-terminated); heap mode grows and hands the string over. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/sbuf.h"

static void
test_fixed_fits(void **state)
{
	char buf[32];
	struct sbuf s;

	memset(buf, 'x', sizeof(buf));
	sbuf_init(&s, buf, sizeof(buf));
	assert_string_equal(buf, "");
	sbuf_printf(&s, "SELECT %s FROM %s", "a, b", "t");
	sbuf_str(&s, " WHERE ");
	sbuf_add(&s, "id = ?xyz", 6);
	assert_true(sbuf_ok(&s));
	assert_string_equal(buf, "SELECT a, b FROM t WHERE id = ?");
	assert_int_equal(s.len, strlen(buf));
}

static void
test_fixed_exact_and_over(void **state)
{
	char buf[8 + 1]; /* canary after the 8 bytes the builder owns */
	struct sbuf s;

	buf[8] = '#';
	sbuf_init(&s, buf, 8);
	sbuf_printf(&s, "%s", "1234567"); /* 7 characters and the NUL: fits exactly */
	assert_true(sbuf_ok(&s));
	assert_string_equal(buf, "1234567");
	sbuf_str(&s, "8");
	assert_false(sbuf_ok(&s));
	assert_string_equal(buf, "1234567");
	assert_int_equal(buf[8], '#');

	sbuf_init(&s, buf, 8);
	sbuf_printf(&s, "%d-%s", 42, "abcdefgh");
	assert_false(sbuf_ok(&s));
	assert_string_equal(buf, "42-abcd"); /* cut, terminated */
	assert_int_equal(buf[8], '#');
	sbuf_str(&s, "more"); /* after a failure nothing more is written */
	sbuf_printf(&s, "%s", "more");
	assert_false(sbuf_ok(&s));
	assert_string_equal(buf, "42-abcd");
	assert_int_equal(s.len, 7);

	sbuf_init(&s, buf, 8);
	sbuf_add(&s, "abcdefghijkl", 12);
	assert_false(sbuf_ok(&s));
	assert_string_equal(buf, "abcdefg");
	assert_int_equal(buf[8], '#');
}

static void
test_fixed_zero_capacity(void **state)
{
	char c = '#';
	struct sbuf s;

	sbuf_init(&s, &c, 0);
	assert_false(sbuf_ok(&s));
	sbuf_str(&s, "a");
	sbuf_printf(&s, "%s", "b");
	assert_int_equal(c, '#');
}

static void
test_heap_grows(void **state)
{
	struct sbuf s;
	char *r, want[2000];

	sbuf_init_heap(&s);
	for (int i = 0; i < 100; i++)
		sbuf_printf(&s, "%02d:%s;", i, "0123456789");
	assert_true(sbuf_ok(&s));
	want[0] = '\0';
	for (int i = 0; i < 100; i++) {
		char one[32];

		snprintf(one, sizeof(one), "%02d:%s;", i, "0123456789");
		strcat(want, one);
	}
	r = sbuf_take(&s);
	assert_non_null(r);
	assert_string_equal(r, want);
	free(r);
	/* empty after take; an empty string is "" */
	r = sbuf_take(&s);
	assert_non_null(r);
	assert_string_equal(r, "");
	free(r);
	sbuf_str(&s, "x");
	sbuf_free(&s);
	assert_null(s.b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fixed_fits),
	        cmocka_unit_test(test_fixed_exact_and_over),
	        cmocka_unit_test(test_fixed_zero_capacity),
	        cmocka_unit_test(test_heap_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
