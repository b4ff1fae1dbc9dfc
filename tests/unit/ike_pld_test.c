/* ISAKMP codec: golden packets (vpnc's real Aggressive Mode message 1 and our message 2, captured
 * in tests/integration/ike_vpnc_test.sh) parse into the expected payloads; truncated, oversized
 * and wrong-length messages are rejected with the notify to send and a message saying what was
 * expected and what came; the writer's output parses back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ike/ike_int.h"
#include "gateway/ike/ike_pld.h"

static uint8_t *
load(const char *name, size_t *len)
{
	char path[512];
	uint8_t *buf = malloc(IKE_MAX_DATAGRAM);
	FILE *f;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/tests/data/ike/%s", PORTCULLIS_SOURCE_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, IKE_MAX_DATAGRAM, f);
	fclose(f);
	assert_true(*len > IKE_HDR_LEN);
	return buf;
}

static void
test_golden_vpnc_am1(void **state)
{
	size_t len;
	uint8_t *buf = load("vpnc_am1.bin", &len);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_sa_pl *sa = malloc(sizeof(*sa));
	struct ike_perr e = {0};
	struct ike_id id;
	const struct ike_pl *pl;
	int nvid = 0, nauth65001 = 0;

	assert_int_equal(ike_pld_validate_hdr(buf, len, &m->hdr, &e), 0);
	assert_int_equal(m->hdr.exch, IKE_EX_AGGR);
	assert_int_equal(m->hdr.flags, 0);
	assert_int_equal(m->hdr.msgid, 0);
	assert_int_equal(ike_pld_validate_chain(m->hdr.np, buf + IKE_HDR_LEN, len - IKE_HDR_LEN,
	                                        false, m, &e),
	                 0);
	assert_int_equal(m->pl[0].type, IKE_PL_SA);
	assert_non_null(ike_msg_find(m, IKE_PL_KE, 0));
	assert_int_equal(ike_msg_find(m, IKE_PL_KE, 0)->len, 128); /* DH group 2 */
	assert_non_null(ike_msg_find(m, IKE_PL_NONCE, 0));
	pl = ike_msg_find(m, IKE_PL_ID, 0);
	assert_non_null(pl);
	assert_int_equal(ike_pld_parse_id(pl->body, pl->len, &id, &e), 0);
	assert_int_equal(id.type, IKE_ID_KEY_ID);
	assert_int_equal(id.proto, 17);
	assert_int_equal(id.port, 500);
	assert_int_equal(id.len, 7);
	assert_memory_equal(id.data, "vpn3000", 7);
	for (int i = 0; i < m->n; i++)
		nvid += m->pl[i].type == IKE_PL_VID;
	assert_true(nvid >= 4); /* XAUTH, Unity, NAT-T ..., DPD */
	assert_int_equal(ike_pld_parse_sa(m->pl[0].body, m->pl[0].len, sa, &e), 0);
	assert_int_equal(sa->nprop, 1);
	assert_int_equal(sa->prop[0].proto, 1);
	assert_true(sa->nxf > 10);
	for (int x = 0; x < sa->nxf; x++) {
		struct ike_cur c;
		struct ike_attr a;
		int r;

		assert_int_equal(sa->xf[x].id, 1); /* KEY_IKE */
		ike_cur_init(&c, sa->xf[x].attrs, sa->xf[x].attrs_len);
		while ((r = ike_attr_next(&c, &a, &e)) > 0)
			if (a.type == 3 && a.tv && a.v16 == 65001)
				nauth65001++;
		assert_int_equal(r, 0);
	}
	assert_true(nauth65001 > 0);
	free(sa);
	free(m);
	free(buf);
}

static void
test_golden_responder_am2(void **state)
{
	size_t len;
	uint8_t *buf = load("resp_am2.bin", &len);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_sa_pl *sa = malloc(sizeof(*sa));
	struct ike_perr e = {0};
	struct ike_notify n;
	const struct ike_pl *pl;

	assert_int_equal(ike_pld_validate_hdr(buf, len, &m->hdr, &e), 0);
	assert_int_equal(ike_pld_validate_chain(m->hdr.np, buf + IKE_HDR_LEN, len - IKE_HDR_LEN,
	                                        false, m, &e),
	                 0);
	assert_int_equal(ike_pld_parse_sa(m->pl[0].body, m->pl[0].len, sa, &e), 0);
	/* what vpnc insists on: one proposal, one transform */
	assert_int_equal(sa->nprop, 1);
	assert_int_equal(sa->nxf, 1);
	pl = ike_msg_find(m, IKE_PL_N, 0);
	assert_non_null(pl);
	assert_int_equal(ike_pld_parse_notify(pl->body, pl->len, &n, &e), 0);
	assert_int_equal(n.type, IKE_N_RESPONDER_LIFETIME);
	assert_int_equal(n.spi_size, 16);
	/* LIFE_TYPE (TV, seconds) then LIFE_DURATION (86400) */
	{
		struct ike_cur c;
		struct ike_attr a;
		uint64_t v;

		ike_cur_init(&c, n.data, n.data_len);
		assert_int_equal(ike_attr_next(&c, &a, &e), 1);
		assert_int_equal(a.type, 11);
		assert_int_equal(a.v16, 1);
		assert_int_equal(ike_attr_next(&c, &a, &e), 1);
		assert_int_equal(a.type, 12);
		assert_int_equal(ike_attr_num(&a, &v), 0);
		assert_int_equal(v, 86400);
		assert_int_equal(ike_attr_next(&c, &a, &e), 0);
	}
	free(sa);
	free(m);
	free(buf);
}

static void
test_truncated_rejected(void **state)
{
	size_t len;
	uint8_t *buf = load("vpnc_am1.bin", &len);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_perr e = {0};
	struct ike_hdr h;

	/* shorter than the header */
	assert_int_not_equal(ike_pld_validate_hdr(buf, 20, &h, &e), 0);
	assert_int_equal(e.notify, IKE_N_PAYLOAD_MALFORMED);
	assert_non_null(strstr(e.msg, "got 20, need 28"));
	/* every truncation: the header's length no longer matches */
	for (size_t n = IKE_HDR_LEN; n < len; n += 7) {
		assert_int_not_equal(ike_pld_validate_hdr(buf, n, &h, &e), 0);
		assert_int_equal(e.notify, IKE_N_UNEQUAL_PAYLOAD_LENGTHS);
	}
	/* a chain cut short: the payload claims more than is left */
	for (size_t n = 1; n < len - IKE_HDR_LEN; n += 13) {
		assert_int_not_equal(
		        ike_pld_validate_chain(IKE_PL_SA, buf + IKE_HDR_LEN, n, false, m, &e), 0);
		assert_int_equal(e.notify, IKE_N_PAYLOAD_MALFORMED);
		assert_true(strstr(e.msg, "exceeds") != NULL || strstr(e.msg, "truncated") != NULL);
	}
	free(m);
	free(buf);
}

static void
test_oversized_and_bad_lengths(void **state)
{
	size_t len;
	uint8_t *buf = load("vpnc_am1.bin", &len);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_sa_pl *sa = malloc(sizeof(*sa));
	struct ike_perr e = {0};
	struct ike_hdr h;
	uint8_t save[4];

	/* length field larger than the datagram */
	buf[27] = (uint8_t)(buf[27] + 1);
	assert_int_not_equal(ike_pld_validate_hdr(buf, len, &h, &e), 0);
	assert_int_equal(e.notify, IKE_N_UNEQUAL_PAYLOAD_LENGTHS);
	assert_non_null(strstr(e.msg, "does not match datagram length"));
	buf[27] = (uint8_t)(buf[27] - 1);
	/* a datagram beyond the cap */
	assert_int_not_equal(ike_pld_validate_hdr(buf, IKE_MAX_DATAGRAM + 1, &h, &e), 0);
	assert_non_null(strstr(e.msg, "too long"));
	/* wrong major version */
	buf[17] = 0x20;
	assert_int_not_equal(ike_pld_validate_hdr(buf, len, &h, &e), 0);
	assert_int_equal(e.notify, IKE_N_INVALID_MAJOR_VERSION);
	buf[17] = 0x10;
	/* first payload (SA) length below its header */
	memcpy(save, buf + IKE_HDR_LEN, 4);
	buf[IKE_HDR_LEN + 2] = 0;
	buf[IKE_HDR_LEN + 3] = 3;
	assert_int_not_equal(ike_pld_validate_chain(IKE_PL_SA, buf + IKE_HDR_LEN, len - IKE_HDR_LEN,
	                                            false, m, &e),
	                     0);
	assert_non_null(strstr(e.msg, "below the 4-byte header"));
	memcpy(buf + IKE_HDR_LEN, save, 4);
	/* trailing garbage after the last payload of an unencrypted message */
	assert_int_equal(ike_pld_validate_chain(IKE_PL_SA, buf + IKE_HDR_LEN, len - IKE_HDR_LEN,
	                                        false, m, &e),
	                 0);
	{
		uint8_t *big = calloc(1, len + 8);

		memcpy(big, buf, len);
		assert_int_not_equal(ike_pld_validate_chain(IKE_PL_SA, big + IKE_HDR_LEN,
		                                            len - IKE_HDR_LEN + 8, false, m, &e),
		                     0);
		assert_int_equal(e.notify, IKE_N_UNEQUAL_PAYLOAD_LENGTHS);
		assert_non_null(strstr(e.msg, "8 bytes after the last payload"));
		/* allowed as CBC padding in decrypted messages */
		assert_int_equal(ike_pld_validate_chain(IKE_PL_SA, big + IKE_HDR_LEN,
		                                        len - IKE_HDR_LEN + 8, true, m, &e),
		                 0);
		free(big);
	}
	/* SA payload: proposal length larger than the SA payload */
	assert_int_equal(ike_pld_validate_chain(IKE_PL_SA, buf + IKE_HDR_LEN, len - IKE_HDR_LEN,
	                                        false, m, &e),
	                 0);
	{
		uint8_t *body = malloc(m->pl[0].len);

		memcpy(body, m->pl[0].body, m->pl[0].len);
		body[8 + 2] = 0xff; /* proposal length high byte */
		assert_int_not_equal(ike_pld_parse_sa(body, m->pl[0].len, sa, &e), 0);
		assert_int_equal(e.notify, IKE_N_BAD_PROPOSAL_SYNTAX);
		assert_non_null(strstr(e.msg, "proposal length"));
		memcpy(body, m->pl[0].body, m->pl[0].len);
		body[0] = 9; /* DOI */
		assert_int_not_equal(ike_pld_parse_sa(body, m->pl[0].len, sa, &e), 0);
		assert_int_equal(e.notify, IKE_N_DOI_NOT_SUPPORTED);
		assert_non_null(strstr(e.msg, "expected 1 (IPsec), got 150994945"));
		assert_int_not_equal(ike_pld_parse_sa(body, 6, sa, &e), 0);
		assert_non_null(strstr(e.msg, "got 6, need 8"));
		free(body);
	}
	free(sa);
	free(m);
	free(buf);
}

static void
test_small_payloads(void **state)
{
	struct ike_perr e = {0};
	struct ike_id id;
	struct ike_notify n;
	struct ike_delete d;
	struct ike_cfg_hdr c;
	struct ike_cur cur;
	struct ike_attr a;
	static const uint8_t id_short[6] = {1, 0, 0, 0, 10, 1};
	static const uint8_t nt[10] = {0, 0, 0, 1, 1, 16, 0x60, 0x02, 0xaa, 0xbb};
	static const uint8_t del[12] = {0, 0, 0, 1, 3, 4, 0, 2, 1, 2, 3, 4};
	static const uint8_t cfg_bad[4] = {9, 0, 0, 1};
	static const uint8_t attr_over[6] = {0x40, 0x89, 0x00, 0x10, 'a', 'b'};

	assert_int_not_equal(ike_pld_parse_id(id_short, 3, &id, &e), 0);
	assert_non_null(strstr(e.msg, "got 3, need 4"));
	assert_int_not_equal(ike_pld_parse_id(id_short, sizeof(id_short), &id, &e), 0);
	assert_int_equal(e.notify, IKE_N_INVALID_ID_INFORMATION);
	assert_non_null(strstr(e.msg, "data length 2 (expected 4)"));
	assert_int_not_equal(ike_pld_parse_notify(nt, sizeof(nt), &n, &e), 0);
	assert_non_null(strstr(e.msg, "SPI size 16 exceeds the 2 bytes left"));
	assert_int_not_equal(ike_pld_parse_delete(del, sizeof(del), &d, &e), 0);
	assert_non_null(strstr(e.msg, "2 SPIs of 4 bytes need 8, got 4"));
	assert_int_not_equal(ike_pld_parse_cfg(cfg_bad, sizeof(cfg_bad), &c, &e), 0);
	assert_non_null(strstr(e.msg, "type 9 (expected 1..4)"));
	ike_cur_init(&cur, attr_over, sizeof(attr_over));
	assert_true(ike_attr_next(&cur, &a, &e) < 0);
	assert_non_null(strstr(e.msg, "length 16 exceeds the 2 bytes left"));
	/* a cursor never reads past its end, and a child never past its parent */
	{
		struct ike_cur p, ch;
		uint32_t v;

		ike_cur_init(&p, del, sizeof(del));
		assert_int_equal(ike_cur_sub(&p, 4, &ch), 0);
		assert_int_equal(ike_cur_u32(&ch, &v), 0);
		assert_int_not_equal(ike_cur_u32(&ch, &v), 0);
		assert_int_not_equal(ike_cur_sub(&p, 9, &ch), 0);
	}
}

static void
test_writer_round_trip(void **state)
{
	static const uint8_t ci[8] = {1, 2, 3, 4, 5, 6, 7, 8}, cr[8] = {9, 9, 9, 9, 9, 9, 9, 9};
	struct ike_wbuf *w = malloc(sizeof(*w));
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_perr e = {0};
	struct ike_cfg_hdr c;
	size_t off;

	ike_w_hdr(w, ci, cr, IKE_EX_TRANSACTION, 0, 0x01020304);
	ike_w_pl(w, IKE_PL_HASH, "0123456789abcdef", 16);
	off = ike_w_pl_begin(w, IKE_PL_ATTR);
	ike_w_u8(w, 2);
	ike_w_u8(w, 0);
	ike_w_u16(w, 20);
	ike_w_attr_tlv(w, 1, "\x0a\x59\x81\xc8", 4);
	ike_w_attr_tv(w, 0x7001, 1);
	ike_w_pl_end(w, off);
	ike_w_finish(w);
	assert_false(w->err);
	assert_int_equal(ike_pld_validate_hdr(w->buf, w->len, &m->hdr, &e), 0);
	assert_int_equal(m->hdr.msgid, 0x01020304);
	assert_int_equal(ike_pld_validate_chain(m->hdr.np, w->buf + IKE_HDR_LEN,
	                                        w->len - IKE_HDR_LEN, false, m, &e),
	                 0);
	assert_int_equal(m->n, 2);
	assert_int_equal(m->pl[0].type, IKE_PL_HASH);
	assert_int_equal(m->pl[1].type, IKE_PL_ATTR);
	assert_int_equal(ike_pld_parse_cfg(m->pl[1].body, m->pl[1].len, &c, &e), 0);
	assert_int_equal(c.type, 2);
	assert_int_equal(c.id, 20);
	assert_int_equal(c.attrs_len, 12);
	/* the writer refuses to overflow its buffer */
	for (int i = 0; i < IKE_MAX_DATAGRAM; i++)
		ike_w_u32(w, 0);
	assert_true(w->err);
	free(m);
	free(w);
}

static void
test_step_table(void **state)
{
	size_t len;
	uint8_t *buf = load("vpnc_am1.bin", &len);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_perr e = {0};

	assert_int_equal(ike_pld_validate_hdr(buf, len, &m->hdr, &e), 0);
	assert_int_equal(ike_pld_validate_chain(m->hdr.np, buf + IKE_HDR_LEN, len - IKE_HDR_LEN,
	                                        false, m, &e),
	                 0);
	assert_int_equal(ike_step_check(STEP_AM1, m, &e), 0);
	/* the same message cannot pass as Quick Mode message 1 (no HASH first) */
	assert_int_not_equal(ike_step_check(STEP_QM1, m, &e), 0);
	assert_non_null(strstr(e.msg, "Quick Mode message 1 lacks the HASH payload"));
	/* drop the Nonce: AM1 is refused and the message names it */
	for (int i = 0; i < m->n; i++)
		if (m->pl[i].type == IKE_PL_NONCE)
			m->pl[i].type = IKE_PL_VID;
	assert_int_not_equal(ike_step_check(STEP_AM1, m, &e), 0);
	assert_int_equal(e.notify, IKE_N_PAYLOAD_MALFORMED);
	assert_string_equal(e.msg, "Aggressive Mode message 1 lacks the Nonce payload");
	free(m);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_golden_vpnc_am1),
	        cmocka_unit_test(test_golden_responder_am2),
	        cmocka_unit_test(test_truncated_rejected),
	        cmocka_unit_test(test_oversized_and_bad_lengths),
	        cmocka_unit_test(test_small_payloads),
	        cmocka_unit_test(test_writer_round_trip),
	        cmocka_unit_test(test_step_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
