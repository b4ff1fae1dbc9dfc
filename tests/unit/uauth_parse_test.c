/* uauth parsers: HTTP heads and Basic credentials, base64 edge cases, Telnet option stripping
 * across read boundaries, bounded client lines, the FTP local@remote convention. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "gateway/uauth/uauth_parse.h"

static void
test_base64(void **state)
{
	char out[32];
	size_t n;

	assert_int_equal(uauth_base64_decode("YWxpY2U6c2VjcmV0", 16, out, sizeof(out), &n), 0);
	assert_string_equal(out, "alice:secret");
	assert_int_equal(n, 12);
	assert_int_equal(uauth_base64_decode("YQ==", 4, out, sizeof(out), &n), 0);
	assert_string_equal(out, "a");
	assert_int_equal(uauth_base64_decode("YWI=", 4, out, sizeof(out), &n), 0);
	assert_string_equal(out, "ab");
	assert_int_equal(uauth_base64_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	/* not a multiple of 4, bad characters, padding in the middle */
	assert_int_equal(uauth_base64_decode("YWJ", 3, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(uauth_base64_decode("YW*j", 4, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(uauth_base64_decode("YQ==YQ==", 8, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(uauth_base64_decode("Y===", 4, out, sizeof(out), &n), -EINVAL);
	/* does not fit (needs room for the NUL too) */
	assert_int_equal(uauth_base64_decode("YWJj", 4, out, 3, &n), -EMSGSIZE);
	assert_int_equal(uauth_base64_decode("YWJj", 4, out, 4, &n), 0);
}

static void
test_http_head_len(void **state)
{
	static char big[UAUTH_HTTP_MAX_HEAD + 10];
	const char *r = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";

	assert_int_equal(uauth_http_head_len(r, strlen(r)), (long)strlen(r) - 4);
	assert_int_equal(uauth_http_head_len(r, 20), 0);
	assert_int_equal(uauth_http_head_len("GET / HTTP/1.0\n\n", 16), 16);
	memset(big, 'a', sizeof(big));
	assert_int_equal(uauth_http_head_len(big, sizeof(big)), -EMSGSIZE);
}

static void
test_http_parse(void **state)
{
	struct uauth_http_req q;
	const char *why = NULL;
	const char *r = "GET /index.html?x=1 HTTP/1.1\r\nHost: 192.168.1.11\r\n"
	                "authorization:   Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z\r\n"
	                "Accept: */*\r\n\r\n";
	const char *r2 = "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	                 "Authorization: Digest username=\"x\"\r\n\r\n";
	const char *r3 = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

	assert_int_equal(uauth_http_parse(r, strlen(r), &q, &why), 0);
	assert_string_equal(q.method, "GET");
	assert_string_equal(q.target, "/index.html?x=1");
	assert_string_equal(q.host, "192.168.1.11");
	assert_true(q.has_auth);
	assert_string_equal(q.user, "alice");
	assert_string_equal(q.password, "s3cr3t:with:colons");
	assert_true(q.keep_alive);
	assert_false(q.has_body);

	assert_int_equal(uauth_http_parse(r2, strlen(r2), &q, &why), 0);
	assert_false(q.has_auth); /* another scheme counts as no credentials */
	assert_true(q.has_body);

	assert_int_equal(uauth_http_parse(r3, strlen(r3), &q, &why), 0);
	assert_true(q.keep_alive);

	why = NULL;
	assert_int_equal(uauth_http_parse("GARBAGE\r\n\r\n", 11, &q, &why), -EINVAL);
	assert_non_null(why);
	why = NULL;
	assert_int_equal(uauth_http_parse("GET / SPDY/3\r\n\r\n", 16, &q, &why), -EINVAL);
	assert_string_equal(why, "version is not HTTP/1.x");
	{
		const char *bad = "GET / HTTP/1.1\r\nAuthorization: Basic !!!!\r\n\r\n";

		assert_int_equal(uauth_http_parse(bad, strlen(bad), &q, &why), -EINVAL);
		assert_string_equal(why, "Basic credentials not base64");
	}
	{
		/* "nocolon" */
		const char *bad = "GET / HTTP/1.1\r\nAuthorization: Basic bm9jb2xvbg==\r\n\r\n";

		assert_int_equal(uauth_http_parse(bad, strlen(bad), &q, &why), -EINVAL);
		assert_string_equal(why, "Basic credentials without ':'");
	}
	{
		const char *bad = "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n";

		assert_int_equal(uauth_http_parse(bad, strlen(bad), &q, &why), -EINVAL);
	}
}

static void
test_telnet_filter(void **state)
{
	struct uauth_telnet_filter f = {0};
	/* IAC DO ECHO, "al", IAC IAC, IAC SB ... IAC SE, "ice", CR NUL, "x", CR LF */
	const uint8_t in[] = {255, 253, 1,   'a', 'l', 255, 255,  255, 250, 24,   0,
	                      'v', 255, 240, 'i', 'c', 'e', '\r', 0,   'x', '\r', '\n'};
	uint8_t out[64];
	size_t n = 0;

	/* one byte at a time: state survives every boundary */
	for (size_t i = 0; i < sizeof(in); i++)
		n += uauth_telnet_filter(&f, &in[i], 1, out + n);
	assert_int_equal(n, 9);
	assert_memory_equal(out,
	                    "al\xff"
	                    "ice\nx\n",
	                    9);
}

static void
test_linebuf(void **state)
{
	struct uauth_linebuf lb = {0};
	char line[16];
	char big[UAUTH_LINE_MAX];

	assert_int_equal(uauth_linebuf_put(&lb, "USER a\r\nPA", 10), 0);
	assert_int_equal(uauth_linebuf_take(&lb, line, sizeof(line)), 1);
	assert_string_equal(line, "USER a");
	assert_int_equal(uauth_linebuf_take(&lb, line, sizeof(line)), 0);
	assert_int_equal(uauth_linebuf_put(&lb, "SS b\n", 5), 0);
	assert_int_equal(uauth_linebuf_take(&lb, line, sizeof(line)), 1);
	assert_string_equal(line, "PASS b");
	/* a line longer than the caller's buffer is dropped with -EMSGSIZE */
	assert_int_equal(uauth_linebuf_put(&lb, "0123456789abcdefXYZ\nok\n", 23), 0);
	assert_int_equal(uauth_linebuf_take(&lb, line, sizeof(line)), -EMSGSIZE);
	assert_int_equal(uauth_linebuf_take(&lb, line, sizeof(line)), 1);
	assert_string_equal(line, "ok");
	/* the buffer itself is bounded */
	memset(big, 'a', sizeof(big));
	assert_int_equal(uauth_linebuf_put(&lb, big, sizeof(big)), 0);
	assert_int_equal(uauth_linebuf_put(&lb, "b", 1), -EMSGSIZE);
	assert_int_equal(uauth_linebuf_take(&lb, line, sizeof(line)), -EMSGSIZE);
}

static void
test_split_and_ftp(void **state)
{
	char l[8], r[8], verb[8];
	const char *arg;
	bool had;

	assert_int_equal(uauth_split_at("alice@bob", l, sizeof(l), r, sizeof(r), &had), 0);
	assert_true(had);
	assert_string_equal(l, "alice");
	assert_string_equal(r, "bob");
	assert_int_equal(uauth_split_at("pw@rem@x", l, sizeof(l), r, sizeof(r), &had), 0);
	assert_string_equal(l, "pw");
	assert_string_equal(r, "rem@x");
	assert_int_equal(uauth_split_at("same", l, sizeof(l), r, sizeof(r), &had), 0);
	assert_false(had);
	assert_string_equal(l, "same");
	assert_string_equal(r, "same");
	assert_int_equal(uauth_split_at("waytoolongname@x", l, sizeof(l), r, sizeof(r), &had),
	                 -EMSGSIZE);

	assert_int_equal(uauth_ftp_command("user alice@bob", verb, sizeof(verb), &arg), 0);
	assert_string_equal(verb, "USER");
	assert_string_equal(arg, "alice@bob");
	assert_int_equal(uauth_ftp_command("QUIT", verb, sizeof(verb), &arg), 0);
	assert_string_equal(verb, "QUIT");
	assert_string_equal(arg, "");
	assert_int_equal(uauth_ftp_command("", verb, sizeof(verb), &arg), -EINVAL);
	assert_int_equal(uauth_ftp_command("US3R x", verb, sizeof(verb), &arg), -EINVAL);
	assert_int_equal(uauth_ftp_command("USERS x", verb, sizeof(verb), &arg), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_base64),     cmocka_unit_test(test_http_head_len),
	        cmocka_unit_test(test_http_parse), cmocka_unit_test(test_telnet_filter),
	        cmocka_unit_test(test_linebuf),    cmocka_unit_test(test_split_and_ftp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
