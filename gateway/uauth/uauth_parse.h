/* Bounded parsers for what cut-through clients send: HTTP request heads with Basic credentials,
 * Telnet option negotiation (stripped), the FTP `local@remote` user convention. Pure functions,
 * no I/O: the unit tests and the fuzzer drive them directly. */
#ifndef PORTCULLIS_UAUTH_PARSE_H
#define PORTCULLIS_UAUTH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/aaa/aaa.h"

#define UAUTH_HTTP_MAX_HEAD 8192 /* request line + headers */
#define UAUTH_LINE_MAX      512  /* one Telnet/FTP line from a client */
#define UAUTH_URL_MAX       1024

struct uauth_http_req {
	char method[16];
	char target[UAUTH_URL_MAX];
	char host[256];
	bool has_auth; /* an Authorization: Basic header with user:password */
	char user[AAA_MAX_USER];
	char password[AAA_MAX_PASSWORD];
	bool has_body; /* Content-Length > 0 or Transfer-Encoding */
	bool keep_alive;
};

/* Length of the head (up to and including the blank line) when buf holds a complete head, 0 when
 * more bytes are needed, -EMSGSIZE when no head end within UAUTH_HTTP_MAX_HEAD. */
long uauth_http_head_len(const char *buf, size_t len);
/* Parses a complete head of head_len bytes. -EINVAL with why (static text) on a malformed head. */
int uauth_http_parse(const char *buf, size_t head_len, struct uauth_http_req *req,
                     const char **why);
/* Strict RFC 4648 base64 (padding required). -EINVAL on bad input, -EMSGSIZE if it does not fit
 * (out is always NUL-terminated on success). */
int uauth_base64_decode(const char *in, size_t inlen, char *out, size_t outcap, size_t *outlen);

/* Telnet: strips IAC sequences (options, subnegotiation), keeps IAC IAC as 255, maps CR NUL and
 * CR LF to LF. State carries across calls. Returns bytes written to out (<= n). */
struct uauth_telnet_filter {
	int state;
};
size_t uauth_telnet_filter(struct uauth_telnet_filter *f, const uint8_t *in, size_t n,
                           uint8_t *out);

/* A client line buffer of UAUTH_LINE_MAX bytes. */
struct uauth_linebuf {
	char buf[UAUTH_LINE_MAX];
	size_t len;
};
/* Appends; -EMSGSIZE when the line would exceed the buffer. */
int uauth_linebuf_put(struct uauth_linebuf *lb, const void *data, size_t n);
/* Takes one line (without CR/LF) into line (cap bytes, NUL-terminated): 1 when a line was taken,
 * 0 when no complete line yet, -EMSGSIZE when the line does not fit in cap. */
int uauth_linebuf_take(struct uauth_linebuf *lb, char *line, size_t cap);

/* "local@remote" -> local, remote (split at the first '@'); without '@' both are s.
 * -EMSGSIZE when a part does not fit. */
int uauth_split_at(const char *s, char *local, size_t lcap, char *remote, size_t rcap, bool *had);

/* FTP command line: verb (upper-cased, <= 4 letters) and argument. -EINVAL if no verb. */
int uauth_ftp_command(const char *line, char *verb, size_t vcap, const char **arg);

#endif
