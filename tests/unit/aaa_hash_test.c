/* Password hashes: PIX-MD5 against the seed's hashes ("passwd 2KFQnbNIdI.2KYOU encrypted" is
 * "cisco", "enable password 8Ry2YjIyt7RRXU24 encrypted" is the empty password) and passlib's
 * cisco_pix vectors; pbkdf2-sha256 against the RFC 7914 section 11 PBKDF2-HMAC-SHA256 vectors;
 * malformed stored hashes refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "gateway/aaa/aaa_hash.h"

static void
test_pixmd5_vectors(void **state)
{
	char out[AAA_PIXMD5_LEN + 1];

	assert_int_equal(aaa_hash_pixmd5("cisco", NULL, out), 0);
	assert_string_equal(out, "2KFQnbNIdI.2KYOU");
	assert_int_equal(aaa_hash_pixmd5("", NULL, out), 0);
	assert_string_equal(out, "8Ry2YjIyt7RRXU24");
	assert_int_equal(aaa_hash_pixmd5("password", "", out), 0);
	assert_string_equal(out, "NuLKvvWGg.x9HEKO");
	/* user accounts: the first four bytes of the name salt the hash */
	assert_int_equal(aaa_hash_pixmd5("password", "user", out), 0);
	assert_string_equal(out, "A5XOy94YKDPXCo7U");
	assert_int_equal(aaa_hash_pixmd5("12345678901234567", NULL, out), -EINVAL);
}

static void
test_verify_pix(void **state)
{
	assert_int_equal(aaa_hash_verify("pix-md5", "2KFQnbNIdI.2KYOU", NULL, "cisco"), 0);
	assert_int_equal(aaa_hash_verify("pix-md5", "2KFQnbNIdI.2KYOU", NULL, "Cisco"), -EACCES);
	assert_int_equal(aaa_hash_verify("pix-md5", "8Ry2YjIyt7RRXU24", NULL, ""), 0);
	assert_int_equal(aaa_hash_verify("pix-md5", "8Ry2YjIyt7RRXU24", NULL, "x"), -EACCES);
	assert_int_equal(aaa_hash_verify("pix-md5", "A5XOy94YKDPXCo7U", "user", "password"), 0);
	assert_int_equal(aaa_hash_verify("pix-md5", "A5XOy94YKDPXCo7U", "other", "password"),
	                 -EACCES);
	/* longer than the PIX allows: cannot match, not an error */
	assert_int_equal(
	        aaa_hash_verify("pix-md5", "A5XOy94YKDPXCo7U", "user", "passwordpasswordpassword"),
	        -EACCES);
	assert_int_equal(aaa_hash_verify("pix-md5", "short", NULL, "cisco"), -EINVAL);
	assert_int_equal(aaa_hash_verify("md4", "2KFQnbNIdI.2KYOU", NULL, "cisco"), -EINVAL);
}

static void
test_pbkdf2_vectors(void **state)
{
	/* RFC 7914 11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64) first 32 bytes,
	 * and the widely published (P="password", S="salt", c=4096, dkLen=32) */
	assert_int_equal(
	        aaa_hash_verify("pbkdf2-sha256",
	                        "pbkdf2-sha256$1$73616c74$"
	                        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
	                        NULL, "passwd"),
	        0);
	assert_int_equal(
	        aaa_hash_verify("pbkdf2-sha256",
	                        "pbkdf2-sha256$4096$73616c74$"
	                        "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
	                        NULL, "password"),
	        0);
	assert_int_equal(
	        aaa_hash_verify("pbkdf2-sha256",
	                        "pbkdf2-sha256$4096$73616c74$"
	                        "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
	                        NULL, "passworD"),
	        -EACCES);
}

static void
test_pbkdf2_new_roundtrip(void **state)
{
	char a[AAA_PBKDF2_STR_MAX], b[AAA_PBKDF2_STR_MAX];

	assert_int_equal(aaa_hash_pbkdf2_new("s3cret", 1000, a, sizeof(a)), 0);
	assert_int_equal(aaa_hash_pbkdf2_new("s3cret", 1000, b, sizeof(b)), 0);
	assert_string_not_equal(a, b); /* random salt */
	assert_int_equal(strncmp(a, "pbkdf2-sha256$1000$", 19), 0);
	assert_int_equal(aaa_hash_verify("pbkdf2-sha256", a, NULL, "s3cret"), 0);
	assert_int_equal(aaa_hash_verify("pbkdf2-sha256", a, NULL, "s3cret "), -EACCES);
	assert_int_equal(aaa_hash_pbkdf2_new("x", 10, a, sizeof(a)), -EINVAL);
	assert_int_equal(aaa_hash_pbkdf2_new("x", 1000, a, 20), -ENOSPC);
}

static void
test_pbkdf2_malformed(void **state)
{
	static const char *const bad[] = {
	        "pbkdf2-sha256$",
	        "pbkdf2-sha256$1000$$00",
	        "pbkdf2-sha256$abc$00$00",
	        "pbkdf2-sha256$1000$0g$00",
	        "pbkdf2-sha256$1000$000$00",
	        "pbkdf2-sha256$1000$00",
	        "pbkdf2-sha256$0$00$00",
	        "pbkdf2-sha256$999999999$00$00",
	        "sha1$1000$00$00",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(aaa_hash_verify("pbkdf2-sha256", bad[i], NULL, "x"), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pixmd5_vectors),
	        cmocka_unit_test(test_verify_pix),
	        cmocka_unit_test(test_pbkdf2_vectors),
	        cmocka_unit_test(test_pbkdf2_new_roundtrip),
	        cmocka_unit_test(test_pbkdf2_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
