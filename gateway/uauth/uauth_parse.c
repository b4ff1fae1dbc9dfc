#include "gateway/uauth/uauth_parse.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

long
uauth_http_head_len(const char *buf, size_t len)
{
	size_t lim = len < UAUTH_HTTP_MAX_HEAD ? len : UAUTH_HTTP_MAX_HEAD;

	for (size_t i = 0; i + 1 < lim; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return (long)(i + 2);
		if (i + 2 < lim && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return (long)(i + 3);
	}
	if (len >= UAUTH_HTTP_MAX_HEAD)
		return -EMSGSIZE;
	return 0;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
uauth_base64_decode(const char *in, size_t inlen, char *out, size_t outcap, size_t *outlen)
{
	size_t o = 0;

	if (inlen % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < inlen; i += 4) {
		int v[4];
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == inlen && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return -EINVAL; /* data after padding */
			v[k] = b64val(c);
			if (v[k] < 0)
				return -EINVAL;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		int nbytes = 3 - pad;

		if (o + (size_t)nbytes + 1 > outcap)
			return -EMSGSIZE;
		out[o++] = (char)(w >> 16);
		if (nbytes > 1)
			out[o++] = (char)(w >> 8);
		if (nbytes > 2)
			out[o++] = (char)w;
	}
	if (outcap == 0)
		return -EMSGSIZE;
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/* Copies [s, e) trimmed of spaces into dst (cap); -EMSGSIZE if it does not fit. */
static int
copy_trim(char *dst, size_t cap, const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if ((size_t)(e - s) >= cap)
		return -EMSGSIZE;
	memcpy(dst, s, (size_t)(e - s));
	dst[e - s] = '\0';
	return 0;
}

static int
parse_basic(const char *v, const char *e, struct uauth_http_req *req, const char **why)
{
	char dec[AAA_MAX_USER + AAA_MAX_PASSWORD + 2];
	size_t n;
	char *colon;
	int rc;

	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	if ((size_t)(e - v) < 6 || strncasecmp(v, "Basic", 5) != 0 || (v[5] != ' ' && v[5] != '\t'))
		return 0; /* another scheme: treated as no credentials */
	v += 6;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	rc = uauth_base64_decode(v, (size_t)(e - v), dec, sizeof(dec), &n);
	if (rc < 0) {
		*why = rc == -EMSGSIZE ? "Basic credentials too long"
		                       : "Basic credentials not base64";
		return -EINVAL;
	}
	if (memchr(dec, '\0', n) != NULL) {
		*why = "NUL in Basic credentials";
		rc = -EINVAL;
		goto out;
	}
	colon = memchr(dec, ':', n);
	if (colon == NULL) {
		*why = "Basic credentials without ':'";
		rc = -EINVAL;
		goto out;
	}
	if ((size_t)(colon - dec) >= sizeof(req->user) ||
	    n - (size_t)(colon - dec) - 1 >= sizeof(req->password)) {
		*why = "Basic user or password too long";
		rc = -EINVAL;
		goto out;
	}
	memcpy(req->user, dec, (size_t)(colon - dec));
	req->user[colon - dec] = '\0';
	memcpy(req->password, colon + 1, n - (size_t)(colon - dec) - 1);
	req->password[n - (size_t)(colon - dec) - 1] = '\0';
	req->has_auth = req->user[0] != '\0';
	rc = 0;
out:
	explicit_bzero(dec, sizeof(dec));
	return rc;
}

int
uauth_http_parse(const char *buf, size_t head_len, struct uauth_http_req *req, const char **why)
{
	const char *p = buf, *end = buf + head_len, *eol, *sp1, *sp2;
	bool http11;

	memset(req, 0, sizeof(*req));
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL) {
		*why = "no request line";
		return -EINVAL;
	}
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1) {
		*why = "request line is not METHOD TARGET VERSION";
		return -EINVAL;
	}
	if (copy_trim(req->method, sizeof(req->method), p, sp1) < 0 ||
	    copy_trim(req->target, sizeof(req->target), sp1 + 1, sp2) < 0) {
		*why = "method or target too long";
		return -EINVAL;
	}
	for (const char *c = req->target; *c != '\0'; c++) {
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
			*why = "control character in request target";
			return -EINVAL;
		}
	}
	if ((size_t)(eol - sp2 - 1) < 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		*why = "version is not HTTP/1.x";
		return -EINVAL;
	}
	http11 = sp2[8] == '1';
	req->keep_alive = http11;
	p = eol + 1;
	while (p < end) {
		const char *colon;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break; /* blank line: end of head */
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p) {
			*why = "header line without name";
			return -EINVAL;
		}
		size_t nlen = (size_t)(colon - p);
		const char *v = colon + 1;

		if (nlen == 13 && strncasecmp(p, "Authorization", 13) == 0) {
			if (parse_basic(v, eol, req, why) < 0)
				return -EINVAL;
		} else if (nlen == 4 && strncasecmp(p, "Host", 4) == 0) {
			if (copy_trim(req->host, sizeof(req->host), v, eol) < 0) {
				*why = "Host header too long";
				return -EINVAL;
			}
		} else if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (v < eol && *v != '0')
				req->has_body = true;
		} else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			req->has_body = true;
		} else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0) {
			char val[32];

			if (copy_trim(val, sizeof(val), v, eol) == 0) {
				if (strcasecmp(val, "close") == 0)
					req->keep_alive = false;
				else if (strcasecmp(val, "keep-alive") == 0)
					req->keep_alive = true;
			}
		}
		p = eol + 1;
	}
	return 0;
}

enum {
	TN_DATA,
	TN_IAC,
	TN_OPT,    /* after WILL/WONT/DO/DONT: one option byte */
	TN_SB,     /* in subnegotiation */
	TN_SB_IAC, /* IAC inside subnegotiation */
	TN_CR,     /* after CR */
};

size_t
uauth_telnet_filter(struct uauth_telnet_filter *f, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];

		switch (f->state) {
		case TN_CR:
			f->state = TN_DATA;
			if (c == '\n' || c == '\0')
				break; /* CR LF / CR NUL: the LF was already emitted */
			               /* fall through */
		case TN_DATA:
			if (c == 255)
				f->state = TN_IAC;
			else if (c == '\r') {
				out[o++] = '\n';
				f->state = TN_CR;
			} else
				out[o++] = c;
			break;
		case TN_IAC:
			if (c == 255) {
				out[o++] = 255;
				f->state = TN_DATA;
			} else if (c >= 251 && c <= 254)
				f->state = TN_OPT;
			else if (c == 250)
				f->state = TN_SB;
			else
				f->state = TN_DATA; /* two-byte command (NOP, AYT, ...) */
			break;
		case TN_OPT:
			f->state = TN_DATA;
			break;
		case TN_SB:
			if (c == 255)
				f->state = TN_SB_IAC;
			break;
		case TN_SB_IAC:
			f->state = c == 240 ? TN_DATA : TN_SB; /* IAC SE ends it */
			break;
		default:
			f->state = TN_DATA;
		}
	}
	return o;
}

int
uauth_linebuf_put(struct uauth_linebuf *lb, const void *data, size_t n)
{
	if (n > sizeof(lb->buf) - lb->len)
		return -EMSGSIZE;
	memcpy(lb->buf + lb->len, data, n);
	lb->len += n;
	return 0;
}

int
uauth_linebuf_take(struct uauth_linebuf *lb, char *line, size_t cap)
{
	char *nl = memchr(lb->buf, '\n', lb->len);
	size_t l, used;

	if (nl == NULL)
		return lb->len >= sizeof(lb->buf) ? -EMSGSIZE : 0;
	used = (size_t)(nl - lb->buf) + 1;
	l = used - 1;
	if (l > 0 && lb->buf[l - 1] == '\r')
		l--;
	if (l >= cap) {
		explicit_bzero(lb->buf, used);
		memmove(lb->buf, lb->buf + used, lb->len - used);
		lb->len -= used;
		return -EMSGSIZE;
	}
	memcpy(line, lb->buf, l);
	line[l] = '\0';
	explicit_bzero(lb->buf, used); /* lines may be passwords */
	memmove(lb->buf, lb->buf + used, lb->len - used);
	lb->len -= used;
	return 1;
}

int
uauth_split_at(const char *s, char *local, size_t lcap, char *remote, size_t rcap, bool *had)
{
	const char *at = strchr(s, '@');
	size_t ll = at != NULL ? (size_t)(at - s) : strlen(s);
	const char *r = at != NULL ? at + 1 : s;
	size_t rl = strlen(r);

	*had = at != NULL;
	if (ll >= lcap || rl >= rcap)
		return -EMSGSIZE;
	memcpy(local, s, ll);
	local[ll] = '\0';
	memcpy(remote, r, rl);
	remote[rl] = '\0';
	return 0;
}

int
uauth_ftp_command(const char *line, char *verb, size_t vcap, const char **arg)
{
	size_t i = 0;

	while (line[i] != '\0' && line[i] != ' ' && i + 1 < vcap && i < 4) {
		if (!isalpha((unsigned char)line[i]))
			return -EINVAL;
		verb[i] = (char)toupper((unsigned char)line[i]);
		i++;
	}
	if (i == 0 || (line[i] != '\0' && line[i] != ' '))
		return -EINVAL;
	verb[i] = '\0';
	*arg = line[i] == ' ' ? line + i + 1 : line + i;
	return 0;
}
