/* libFuzzer harness for what cut-through clients send: the first byte picks the parser (HTTP
 * head + Basic credentials, Telnet option filter + line buffer, FTP command + local@remote
 * split), the rest is the client's bytes. Includes the parser's .c so everything is fuzzed. */
#include "gateway/uauth/uauth_parse.c"

#include <stdint.h>
#include <string.h>

static void
fuzz_http(const uint8_t *data, size_t size)
{
	struct uauth_http_req req;
	const char *why;
	long hl = uauth_http_head_len((const char *)data, size);

	if (hl > 0)
		uauth_http_parse((const char *)data, (size_t)hl, &req, &why);
}

static void
fuzz_telnet(const uint8_t *data, size_t size)
{
	struct uauth_telnet_filter f = {0};
	struct uauth_linebuf lb = {0};
	uint8_t out[UAUTH_LINE_MAX];
	char line[64];

	while (size > 0) {
		size_t n = size < sizeof(out) ? size : sizeof(out);
		size_t m = uauth_telnet_filter(&f, data, n, out);

		if (uauth_linebuf_put(&lb, out, m) < 0)
			lb.len = 0;
		for (;;) {
			int r = uauth_linebuf_take(&lb, line, sizeof(line));

			if (r == 0)
				break;
			if (r < 0 && lb.len == sizeof(lb.buf)) {
				lb.len = 0; /* the proxy closes the connection here */
				break;
			}
		}
		data += n;
		size -= n;
	}
}

static void
fuzz_ftp(const uint8_t *data, size_t size)
{
	struct uauth_linebuf lb = {0};
	char line[UAUTH_LINE_MAX], verb[8], l[AAA_MAX_USER], r[AAA_MAX_USER];
	const char *arg;
	bool had;

	if (uauth_linebuf_put(&lb, data, size < sizeof(lb.buf) ? size : sizeof(lb.buf)) < 0)
		return;
	while (uauth_linebuf_take(&lb, line, sizeof(line)) > 0) {
		if (uauth_ftp_command(line, verb, sizeof(verb), &arg) == 0)
			uauth_split_at(arg, l, sizeof(l), r, sizeof(r), &had);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_http(data + 1, size - 1);
		break;
	case 1:
		fuzz_telnet(data + 1, size - 1);
		break;
	default:
		fuzz_ftp(data + 1, size - 1);
		break;
	}
	return 0;
}
