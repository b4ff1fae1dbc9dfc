/* RADIUS packets: Access-Request and Accounting-Request known answers (attributes, hidden
 * User-Password, Message-Authenticator, Request Authenticator) computed independently with
 * Python's hashlib/hmac; reply checks refuse wrong identifiers, authenticators,
 * Message-Authenticators, lengths and attribute overruns before reading any attribute. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/aaa/radius_pkt.h"

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static const char access_req_hex[] =
        "01420065000102030405060708090a0b0c0d0e0f50126fad943c6e94b4d9d46cca8d0bddb9090107616c6963"
        "6502123faba6cc568fea13cbd38dd2f8e9933b04060a0000010606000000013d06000000051f0e3139322e31"
        "36382e312e353008060a5981c8";
static const char access_accept_hex[] = "0242002f4abf791f35b7584948698b548d3b93eb501241c822ae9300"
                                        "8f2cc5a67d1a782e05bd120957656c636f6d65";

static struct radius_access_req
access_req(void)
{
	struct radius_access_req r = {.id = 0x42,
	                              .user = "alice",
	                              .password = "wonder",
	                              .nas_addr = 0x0a000001,
	                              .peer_addr = 0xc0a80132,
	                              .framed_addr = 0x0a5981c8};

	for (int i = 0; i < 16; i++)
		r.authenticator[i] = (uint8_t)i;
	return r;
}

static void
test_access_request_known_answer(void **state)
{
	struct radius_access_req r = access_req();
	uint8_t buf[RADIUS_MAX_PACKET], want[256];
	size_t n = unhex(access_req_hex, want);

	assert_int_equal(radius_build_access_request(&r, "radsec", buf, sizeof(buf)), (int)n);
	assert_memory_equal(buf, want, n);
	assert_int_equal(radius_validate_reply(buf, n, NULL, 0), 0);
}

static void
test_access_accept_checked(void **state)
{
	struct radius_access_req r = access_req();
	struct radius_reply rep;
	uint8_t buf[256];
	size_t n = unhex(access_accept_hex, buf);
	char err[128];

	assert_int_equal(radius_check_reply(buf, n, RADIUS_ACCESS_REQUEST, 0x42, r.authenticator,
	                                    "radsec", true, &rep, err, sizeof(err)),
	                 0);
	assert_int_equal(rep.code, RADIUS_ACCESS_ACCEPT);
	assert_true(rep.has_message_authenticator);
	assert_string_equal(rep.reply_message, "Welcome");
	/* wrong secret, wrong id, answer to an accounting request */
	assert_int_equal(radius_check_reply(buf, n, RADIUS_ACCESS_REQUEST, 0x42, r.authenticator,
	                                    "radsex", false, &rep, err, sizeof(err)),
	                 -EBADMSG);
	assert_non_null(strstr(err, "Response Authenticator"));
	assert_int_equal(radius_check_reply(buf, n, RADIUS_ACCESS_REQUEST, 0x43, r.authenticator,
	                                    "radsec", false, &rep, err, sizeof(err)),
	                 -EBADMSG);
	assert_string_equal(err, "identifier 66 (want 67)");
	assert_int_equal(radius_check_reply(buf, n, RADIUS_ACCOUNTING_REQUEST, 0x42,
	                                    r.authenticator, "radsec", false, &rep, err,
	                                    sizeof(err)),
	                 -EBADMSG);
	/* a flipped Message-Authenticator byte with a recomputed Response Authenticator would
	 * need the secret; flipping it alone breaks the Response Authenticator first */
	buf[22] ^= 1;
	assert_int_equal(radius_check_reply(buf, n, RADIUS_ACCESS_REQUEST, 0x42, r.authenticator,
	                                    "radsec", false, &rep, err, sizeof(err)),
	                 -EBADMSG);
	assert_int_equal(rep.code, 0); /* nothing read from a refused reply */
}

static void
test_reply_structure(void **state)
{
	uint8_t b[64] = {2, 1, 0, 20};
	char err[128];

	assert_int_equal(radius_validate_reply(b, 19, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "reply too short (got 19, need 20)");
	assert_int_equal(radius_validate_reply(b, 20, err, sizeof(err)), 0);
	b[3] = 30; /* length beyond the datagram */
	assert_int_equal(radius_validate_reply(b, 20, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "beyond the datagram"));
	b[3] = 19;
	assert_int_equal(radius_validate_reply(b, 20, err, sizeof(err)), -EBADMSG);
	b[3] = 24; /* attribute of length 1 */
	b[20] = 18;
	b[21] = 1;
	assert_int_equal(radius_validate_reply(b, 24, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "need >= 2"));
	b[21] = 9; /* overruns */
	assert_int_equal(radius_validate_reply(b, 24, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "overruns"));
	b[20] = 80; /* Message-Authenticator must be 18 bytes */
	b[21] = 4;
	assert_int_equal(radius_validate_reply(b, 24, err, sizeof(err)), -EBADMSG);
	/* padding beyond Length is ignored */
	b[3] = 20;
	assert_int_equal(radius_validate_reply(b, 40, err, sizeof(err)), 0);
}

static void
test_accounting_known_answer(void **state)
{
	static const char want_hex[] = "04070081238b3b507da9333b99b6cde4399a87fc2806000000022c04533"
	                               "10107616c69636504060a0000"
	                               "013d06000000052d06000000011f0e3139322e3136382e312e353008060"
	                               "a5981c8290600000003370665"
	                               "53f1002e0600000e8d2a06000000642b06000013883406000000012f060"
	                               "0000028300600000032310600"
	                               "000004";
	static const char resp_hex[] = "050700140aa9f4b38f731cbfe86651d5b244d37d";
	struct radius_acct_req r = {.id = 7,
	                            .status_type = 2,
	                            .session_id = "S1",
	                            .user = "alice",
	                            .nas_addr = 0x0a000001,
	                            .calling = "192.168.1.50",
	                            .framed_addr = 0x0a5981c8,
	                            .delay_s = 3,
	                            .event_time = 1700000000,
	                            .session_time = 3725,
	                            .in_octets = 4294967396ull,
	                            .out_octets = 5000,
	                            .in_packets = 40,
	                            .out_packets = 50,
	                            .terminate_cause = radius_terminate_cause("idle-timeout")};
	uint8_t buf[RADIUS_MAX_PACKET], want[256], auth[16], resp[32];
	size_t n = unhex(want_hex, want), rn = unhex(resp_hex, resp);
	struct radius_reply rep;
	char err[128];

	assert_int_equal(r.terminate_cause, 4);
	assert_int_equal(radius_build_accounting_request(&r, "radsec", buf, sizeof(buf), auth),
	                 (int)n);
	assert_memory_equal(buf, want, n);
	assert_memory_equal(auth, want + 4, 16);
	assert_int_equal(radius_check_reply(resp, rn, RADIUS_ACCOUNTING_REQUEST, 7, auth, "radsec",
	                                    false, &rep, err, sizeof(err)),
	                 0);
	assert_int_equal(rep.code, RADIUS_ACCOUNTING_RESPONSE);
	resp[10] ^= 0x80; /* a forged Accounting-Response (what libradcli 1.2.11 accepted) */
	assert_int_equal(radius_check_reply(resp, rn, RADIUS_ACCOUNTING_REQUEST, 7, auth, "radsec",
	                                    false, &rep, err, sizeof(err)),
	                 -EBADMSG);
}

static void
test_long_password_and_limits(void **state)
{
	struct radius_access_req r = access_req();
	uint8_t buf[RADIUS_MAX_PACKET];
	char pw[200];

	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	r.password = pw;
	assert_int_equal(radius_build_access_request(&r, "s", buf, sizeof(buf)), -EMSGSIZE);
	pw[17] = '\0'; /* 17 bytes: two 16-byte blocks */
	assert_int_equal(radius_build_access_request(&r, "s", buf, sizeof(buf)), 0x65 - 18 + 34);
	assert_int_equal(radius_build_access_request(&r, "s", buf, 40), -EMSGSIZE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_access_request_known_answer),
	        cmocka_unit_test(test_access_accept_checked),
	        cmocka_unit_test(test_reply_structure),
	        cmocka_unit_test(test_accounting_known_answer),
	        cmocka_unit_test(test_long_password_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
