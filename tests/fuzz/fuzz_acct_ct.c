/* libFuzzer: the ctnetlink event parser (gateway/aaa/acct_ct.c) on arbitrary bytes taken as one
 * netlink message; the buffer is exactly the input so ASan sees any read past its end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/aaa/acct_ct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acct_ct_msg m;
	const char *why = NULL;
	void *buf;

	if (size > 65536)
		return 0;
	buf = malloc(size > 0 ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (acct_ct_parse_msg(buf, size, &m, &why) < 0 && why == NULL)
		abort(); /* every rejection names its reason */
	free(buf);
	return 0;
}
