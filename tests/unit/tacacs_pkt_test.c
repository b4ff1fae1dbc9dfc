/* TACACS+ packets: a known-answer START packet (body obfuscated with the RFC 8907 MD5 pad,
 * computed independently with Python's hashlib), header checks, and reply validation that
 * rejects short bodies, overruns, trailing bytes and unknown status values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/aaa/tacacs.h"

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

static void
test_authen_start_known_answer(void **state)
{
	static const char want_hex[] =
	        "c0010100010203040000001d05328fb649eaa6cba8369602395b7e1ff3e7"
	        "d45706d094199d8f2a8665";
	struct tac_req_common c = {.priv_lvl = 1,
	                           .authen_type = TAC_AUTHEN_TYPE_ASCII,
	                           .authen_service = TAC_AUTHEN_SVC_LOGIN,
	                           .user = "alice",
	                           .port = "vty0",
	                           .rem_addr = "192.168.1.50"};
	uint8_t want[64];
	size_t n = unhex(want_hex, want);
	struct tac_pkt pkt;
	struct tac_hdr h;

	assert_int_equal(
	        tac_build_authen_start(&pkt, 0x01020304, "tackey", TAC_AUTHEN_LOGIN, &c, NULL, 0),
	        0);
	assert_int_equal(pkt.len, n);
	assert_memory_equal(pkt.buf, want, n);
	/* the same pad restores the body */
	h = (struct tac_hdr){.version = 0xc0, .type = 1, .seq = 1, .session_id = 0x01020304};
	assert_int_equal(tac_obfuscate(&h, "tackey", pkt.buf + TAC_HDR_LEN, pkt.len - TAC_HDR_LEN),
	                 0);
	assert_memory_equal(pkt.buf + TAC_HDR_LEN,
	                    "\x01\x01\x01\x01\x05\x04\x0c\x00"
	                    "alice",
	                    13);
}

static void
test_pap_start_and_unencrypted(void **state)
{
	struct tac_req_common c = {.priv_lvl = 1,
	                           .authen_type = TAC_AUTHEN_TYPE_PAP,
	                           .authen_service = TAC_AUTHEN_SVC_LOGIN,
	                           .user = "bob"};
	struct tac_pkt pkt;

	assert_int_equal(
	        tac_build_authen_start(&pkt, 7, "", TAC_AUTHEN_LOGIN, &c, (const uint8_t *)"pw", 2),
	        0);
	assert_int_equal(pkt.buf[0], 0xc1); /* PAP uses minor version 1 */
	assert_int_equal(pkt.buf[3], TAC_FLAG_UNENCRYPTED);
	assert_int_equal(pkt.buf[11], 8 + 3 + 2);
	assert_memory_equal(pkt.buf + TAC_HDR_LEN + 8, "bobpw", 5);
}

static void
test_continue_and_acct_layout(void **state)
{
	const char *args[] = {"task_id=5", "service=telnet"};
	struct tac_req_common c = {.priv_lvl = 1,
	                           .authen_type = TAC_AUTHEN_TYPE_ASCII,
	                           .authen_service = TAC_AUTHEN_SVC_LOGIN,
	                           .user = "u"};
	struct tac_pkt pkt;

	assert_int_equal(
	        tac_build_authen_continue(&pkt, 9, 3, 0xc0, "", (const uint8_t *)"pw", 2, 0), 0);
	assert_int_equal(pkt.buf[2], 3);
	assert_memory_equal(pkt.buf + TAC_HDR_LEN, "\x00\x02\x00\x00\x00pw", 7);
	assert_int_equal(tac_build_acct_request(&pkt, 9, "", TAC_ACCT_FLAG_STOP, &c, args, 2), 0);
	assert_int_equal(pkt.buf[1], TAC_ACCT);
	assert_memory_equal(pkt.buf + TAC_HDR_LEN,
	                    "\x04\x06\x01\x01\x01\x01\x00\x00\x02\x09\x0e"
	                    "utask_id=5service=telnet",
	                    11 + 24);
	assert_int_equal(pkt.len, TAC_HDR_LEN + 11 + 24);
}

static void
test_build_limits(void **state)
{
	char big[300];
	const char *args[TAC_MAX_ARGS + 1];
	struct tac_req_common c = {.authen_type = TAC_AUTHEN_TYPE_ASCII, .user = big};
	struct tac_pkt pkt;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tac_build_authen_start(&pkt, 1, "k", 1, &c, NULL, 0), -EMSGSIZE);
	c.user = "u";
	for (int i = 0; i <= TAC_MAX_ARGS; i++)
		args[i] = "a=b";
	assert_int_equal(tac_build_acct_request(&pkt, 1, "k", 2, &c, args, TAC_MAX_ARGS + 1),
	                 -EMSGSIZE);
}

static void
test_header_validate(void **state)
{
	uint8_t b[TAC_HDR_LEN];
	struct tac_hdr h = {.version = 0xc0, .type = 1, .seq = 2, .session_id = 77, .length = 6};
	char err[128];

	tac_hdr_encode(&h, b);
	assert_int_equal(tac_hdr_validate(b, sizeof(b), 1, 2, 77, true, &h, err, sizeof(err)), 0);
	assert_int_equal(tac_hdr_validate(b, 11, 1, 2, 77, true, NULL, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "too short"));
	assert_int_equal(tac_hdr_validate(b, sizeof(b), 1, 4, 77, true, NULL, err, sizeof(err)),
	                 -EBADMSG);
	assert_string_equal(err, "sequence number 2 (want 4)");
	assert_int_equal(tac_hdr_validate(b, sizeof(b), 3, 2, 77, true, NULL, err, sizeof(err)),
	                 -EBADMSG);
	assert_int_equal(tac_hdr_validate(b, sizeof(b), 1, 2, 78, true, NULL, err, sizeof(err)),
	                 -EBADMSG);
	assert_non_null(strstr(err, "session id"));
	/* a reply marked unencrypted while we use a key: refused */
	assert_int_equal(tac_hdr_validate(b, sizeof(b), 1, 2, 77, false, NULL, err, sizeof(err)),
	                 -EBADMSG);
	b[3] = TAC_FLAG_UNENCRYPTED;
	assert_int_equal(tac_hdr_validate(b, sizeof(b), 1, 2, 77, true, NULL, err, sizeof(err)),
	                 -EBADMSG);
	b[3] = 0;
	b[0] = 0xb0;
	assert_int_equal(tac_hdr_validate(b, sizeof(b), 1, 2, 77, true, NULL, err, sizeof(err)),
	                 -EBADMSG);
	b[0] = 0xc0;
	b[8] = 0x7f; /* 2 GB body */
	assert_int_equal(tac_hdr_validate(b, sizeof(b), 1, 2, 77, true, NULL, err, sizeof(err)),
	                 -EBADMSG);
	assert_non_null(strstr(err, "body length"));
}

static void
test_authen_reply(void **state)
{
	static const uint8_t ok[] = {1, 0, 0, 3, 0, 2, 'h', 'i', '!', 'x', 'y'};
	static const uint8_t overrun[] = {5, 1, 0, 9, 0, 0, 'P', 'a'};
	static const uint8_t trailing[] = {2, 0, 0, 0, 0, 0, 0};
	static const uint8_t unknown[] = {9, 0, 0, 0, 0, 0};
	struct tac_authen_reply r;
	char err[128];

	assert_int_equal(tac_parse_authen_reply(ok, sizeof(ok), &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, TAC_AUTHEN_STATUS_PASS);
	assert_int_equal(r.server_msg_len, 3);
	assert_memory_equal(r.server_msg, "hi!", 3);
	assert_int_equal(r.data_len, 2);
	assert_int_equal(tac_validate_authen_reply(ok, 5, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "authentication REPLY too short (got 5, need 6)");
	assert_int_equal(tac_validate_authen_reply(overrun, sizeof(overrun), err, sizeof(err)),
	                 -EBADMSG);
	assert_non_null(strstr(err, "overrun"));
	assert_int_equal(tac_validate_authen_reply(trailing, sizeof(trailing), err, sizeof(err)),
	                 -EBADMSG);
	assert_non_null(strstr(err, "trailing"));
	assert_int_equal(tac_validate_authen_reply(unknown, sizeof(unknown), err, sizeof(err)), 0);
	assert_int_equal(tac_parse_authen_reply(unknown, sizeof(unknown), &r, err, sizeof(err)),
	                 -EBADMSG);
}

static void
test_author_and_acct_reply(void **state)
{
	static const uint8_t author_ok[] = {1, 2, 0, 0, 0, 0, 3, 1, 'a', '=', 'b', 'c'};
	static const uint8_t author_bad[] = {1, 2, 0, 0, 0, 0, 3, 9, 'a', '=', 'b', 'c'};
	static const uint8_t acct_ok[] = {0, 2, 0, 0, 1, 'o', 'k'};
	static const uint8_t acct_bad[] = {0, 9, 0, 0, 1, 'o', 'k'};
	struct tac_author_reply ar;
	struct tac_acct_reply cr;
	char err[128];

	assert_int_equal(
	        tac_parse_author_reply(author_ok, sizeof(author_ok), &ar, err, sizeof(err)), 0);
	assert_int_equal(ar.arg_cnt, 2);
	assert_memory_equal(ar.args[0], "a=b", 3);
	assert_int_equal(ar.arg_len[1], 1);
	assert_int_equal(
	        tac_validate_author_reply(author_bad, sizeof(author_bad), err, sizeof(err)),
	        -EBADMSG);
	assert_non_null(strstr(err, "argument 1"));
	assert_int_equal(tac_parse_acct_reply(acct_ok, sizeof(acct_ok), &cr, err, sizeof(err)), 0);
	assert_int_equal(cr.status, TAC_ACCT_STATUS_SUCCESS);
	assert_int_equal(tac_validate_acct_reply(acct_bad, sizeof(acct_bad), err, sizeof(err)),
	                 -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_authen_start_known_answer),
	        cmocka_unit_test(test_pap_start_and_unencrypted),
	        cmocka_unit_test(test_continue_and_acct_layout),
	        cmocka_unit_test(test_build_limits),
	        cmocka_unit_test(test_header_validate),
	        cmocka_unit_test(test_authen_reply),
	        cmocka_unit_test(test_author_and_acct_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
