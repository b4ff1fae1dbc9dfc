/* libFuzzer harness for TACACS+ replies: the header check and the validate/parse steps of every
 * reply type, on raw and on de-obfuscated bytes. Includes the codec so statics are fuzzed too.
 * Input: byte 0 picks the target, the rest is the packet or body. */
#include "gateway/aaa/tacacs.c"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tac_authen_reply ar;
	struct tac_author_reply *zr;
	struct tac_acct_reply cr;
	struct tac_hdr h;
	uint8_t *body;
	char err[160];

	if (size < 1 || size > TAC_MAX_PACKET)
		return 0;
	body = malloc(size);
	zr = malloc(sizeof(*zr));
	if (body == NULL || zr == NULL)
		goto out;
	memcpy(body, data + 1, size - 1);
	switch (data[0] % 4) {
	case 0: /* a whole reply: header, then the body it announces */
		if (tac_hdr_validate(body, size - 1, data[0] & 0x10 ? TAC_AUTHEN : TAC_ACCT, 2,
		                     size > 8 ? (uint32_t)body[4] << 24 | (uint32_t)body[5] << 16 |
		                                        (uint32_t)body[6] << 8 | body[7]
		                              : 0,
		                     !(data[0] & 0x20), &h, err, sizeof(err)) == 0 &&
		    h.length <= size - 1 - TAC_HDR_LEN) {
			tac_obfuscate(&h, data[0] & 0x20 ? "" : "fuzzkey", body + TAC_HDR_LEN,
			              h.length);
			if (h.type == TAC_AUTHEN)
				tac_parse_authen_reply(body + TAC_HDR_LEN, h.length, &ar, err,
				                       sizeof(err));
			else
				tac_parse_acct_reply(body + TAC_HDR_LEN, h.length, &cr, err,
				                     sizeof(err));
		}
		break;
	case 1:
		if (tac_validate_authen_reply(body, size - 1, err, sizeof(err)) == 0)
			tac_parse_authen_reply(body, size - 1, &ar, err, sizeof(err));
		break;
	case 2:
		if (tac_validate_author_reply(body, size - 1, err, sizeof(err)) == 0)
			tac_parse_author_reply(body, size - 1, zr, err, sizeof(err));
		break;
	case 3:
		if (tac_validate_acct_reply(body, size - 1, err, sizeof(err)) == 0)
			tac_parse_acct_reply(body, size - 1, &cr, err, sizeof(err));
		break;
	}
out:
	free(zr);
	free(body);
	return 0;
}
