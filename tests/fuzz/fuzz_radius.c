/* libFuzzer harness for RADIUS replies: the structure validation and the full reply check
 * (identifier, code, Response Authenticator, Message-Authenticator, attribute walk) against a
 * fixed request. Includes the codec so statics are fuzzed too. Byte 0 picks the request type. */
#include "gateway/aaa/radius_pkt.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t auth[RADIUS_AUTH_LEN] = {0, 1, 2,  3,  4,  5,  6,  7,
	                                              8, 9, 10, 11, 12, 13, 14, 15};
	struct radius_reply r;
	char err[160];

	if (size < 1)
		return 0;
	radius_validate_reply(data + 1, size - 1, err, sizeof(err));
	radius_check_reply(
	        data + 1, size - 1, data[0] & 1 ? RADIUS_ACCOUNTING_REQUEST : RADIUS_ACCESS_REQUEST,
	        size > 2 ? data[2] : 0, auth, "radsec", data[0] & 2, &r, err, sizeof(err));
	return 0;
}
