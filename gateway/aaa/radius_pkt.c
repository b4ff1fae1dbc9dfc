/* RADIUS Access-Request encoding and reply checking. Replies are read through a bounded cursor:
 * validate (structure), then authenticate (Response Authenticator, Message-Authenticator), then
 * interpret (code, Reply-Message). */
#include "gateway/aaa/radius_pkt.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct cur {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static int
cur_u8(struct cur *c, uint8_t *v)
{
	if (c->len - c->off < 1)
		return -EBADMSG;
	*v = c->p[c->off++];
	return 0;
}

static int
cur_u16(struct cur *c, uint16_t *v)
{
	if (c->len - c->off < 2)
		return -EBADMSG;
	*v = (uint16_t)(c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return 0;
}

static int
cur_take(struct cur *c, size_t n, const uint8_t **out)
{
	if (c->len - c->off < n)
		return -EBADMSG;
	*out = c->p + c->off;
	c->off += n;
	return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static int
md5(const void *a, size_t alen, const void *b, size_t blen, const void *c, size_t clen,
    uint8_t out[16])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (ctx == NULL)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 && EVP_DigestUpdate(ctx, a, alen) == 1 &&
	     (blen == 0 || EVP_DigestUpdate(ctx, b, blen) == 1) &&
	     (clen == 0 || EVP_DigestUpdate(ctx, c, clen) == 1) &&
	     EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 16;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static int
hmac_md5(const char *secret, const uint8_t *data, size_t len, uint8_t out[16])
{
	unsigned int n = 0;

	if (HMAC(EVP_md5(), secret, (int)strlen(secret), data, len, out, &n) == NULL || n != 16)
		return -EIO;
	return 0;
}

struct wr {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

static void
put_attr(struct wr *w, uint8_t type, const void *val, size_t n)
{
	if (n > 253 || w->len + 2 + n > w->cap) {
		w->overflow = true;
		return;
	}
	w->buf[w->len] = type;
	w->buf[w->len + 1] = (uint8_t)(n + 2);
	memcpy(w->buf + w->len + 2, val, n);
	w->len += 2 + n;
}

static void
put_u32(struct wr *w, uint8_t type, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	put_attr(w, type, b, 4);
}

/* RFC 2865 5.2: c(i) = p(i) xor MD5(S + c(i-1)), c(0) = Request Authenticator. */
static int
hide_password(const char *pw, const char *secret, const uint8_t ra[16], uint8_t *out,
              size_t *outlen)
{
	size_t n = strlen(pw), padded = n == 0 ? 16 : (n + 15) / 16 * 16;
	const uint8_t *prev = ra;
	uint8_t b[16];
	int rc = 0;

	if (n > RADIUS_MAX_PASSWORD)
		return -EMSGSIZE;
	memset(out, 0, padded);
	memcpy(out, pw, n);
	for (size_t off = 0; off < padded; off += 16) {
		rc = md5(secret, strlen(secret), prev, 16, NULL, 0, b);
		if (rc < 0)
			break;
		for (int i = 0; i < 16; i++)
			out[off + i] ^= b[i];
		prev = out + off;
	}
	OPENSSL_cleanse(b, sizeof(b));
	*outlen = padded;
	return rc;
}

int
radius_build_access_request(const struct radius_access_req *r, const char *secret, uint8_t *buf,
                            size_t cap)
{
	struct wr w = {.buf = buf, .cap = cap < RADIUS_MAX_PACKET ? cap : RADIUS_MAX_PACKET};
	uint8_t hidden[RADIUS_MAX_PASSWORD], zero[16] = {0}, mac[16];
	char calling[16];
	size_t hlen = 0, ma_off;
	int rc;

	if (w.cap < RADIUS_HDR_LEN || strlen(r->user) == 0 || strlen(r->user) > 253)
		return -EMSGSIZE;
	buf[0] = RADIUS_ACCESS_REQUEST;
	buf[1] = r->id;
	memcpy(buf + 4, r->authenticator, RADIUS_AUTH_LEN);
	w.len = RADIUS_HDR_LEN;
	ma_off = w.len;
	put_attr(&w, RADIUS_MESSAGE_AUTHENTICATOR, zero, sizeof(zero));
	put_attr(&w, RADIUS_USER_NAME, r->user, strlen(r->user));
	rc = hide_password(r->password, secret, r->authenticator, hidden, &hlen);
	if (rc < 0)
		goto out;
	put_attr(&w, RADIUS_USER_PASSWORD, hidden, hlen);
	if (r->nas_addr != 0)
		put_u32(&w, RADIUS_NAS_IP_ADDRESS, r->nas_addr);
	put_u32(&w, RADIUS_SERVICE_TYPE, 1);  /* Login */
	put_u32(&w, RADIUS_NAS_PORT_TYPE, 5); /* Virtual */
	if (r->peer_addr != 0) {
		snprintf(calling, sizeof(calling), "%u.%u.%u.%u", r->peer_addr >> 24,
		         (r->peer_addr >> 16) & 255, (r->peer_addr >> 8) & 255, r->peer_addr & 255);
		put_attr(&w, RADIUS_CALLING_STATION_ID, calling, strlen(calling));
	}
	if (r->framed_addr != 0)
		put_u32(&w, RADIUS_FRAMED_IP_ADDRESS, r->framed_addr);
	if (w.overflow) {
		rc = -EMSGSIZE;
		goto out;
	}
	buf[2] = (uint8_t)(w.len >> 8);
	buf[3] = (uint8_t)w.len;
	rc = hmac_md5(secret, buf, w.len, mac);
	if (rc < 0)
		goto out;
	memcpy(buf + ma_off + 2, mac, sizeof(mac));
	rc = (int)w.len;
out:
	OPENSSL_cleanse(hidden, sizeof(hidden));
	return rc;
}

/* Walks the attributes; with out != NULL also notes where Message-Authenticator sits. */
static int
walk(const uint8_t *buf, size_t len, size_t *ma_off, char *err, size_t errlen)
{
	struct cur c = {.p = buf, .len = len};
	uint8_t code, id;
	uint16_t plen;
	const uint8_t *auth;
	int nattrs = 0;

	if (ma_off != NULL)
		*ma_off = 0;
	if (cur_u8(&c, &code) || cur_u8(&c, &id) || cur_u16(&c, &plen) ||
	    cur_take(&c, RADIUS_AUTH_LEN, &auth))
		return fail(err, errlen, "reply too short (got %zu, need %d)", len, RADIUS_HDR_LEN);
	if (plen < RADIUS_HDR_LEN || plen > RADIUS_MAX_PACKET)
		return fail(err, errlen, "length field %u outside %d..%d", plen, RADIUS_HDR_LEN,
		            RADIUS_MAX_PACKET);
	if (plen > len)
		return fail(err, errlen, "length field %u beyond the datagram (%zu bytes)", plen,
		            len);
	c.len = plen; /* RFC 2865: octets beyond Length are padding, ignored */
	while (c.off < c.len) {
		uint8_t type, alen;
		const uint8_t *val;
		size_t at = c.off;

		if (++nattrs > RADIUS_MAX_ATTRS)
			return fail(err, errlen, "more than %d attributes", RADIUS_MAX_ATTRS);
		if (cur_u8(&c, &type) || cur_u8(&c, &alen))
			return fail(err, errlen, "attribute header cut at offset %zu", at);
		if (alen < 2)
			return fail(err, errlen,
			            "attribute %u at offset %zu: length %u (need >= 2)", type, at,
			            alen);
		if (cur_take(&c, (size_t)alen - 2, &val))
			return fail(
			        err, errlen,
			        "attribute %u at offset %zu: length %u overruns the packet (%u)",
			        type, at, alen, plen);
		if (type == RADIUS_MESSAGE_AUTHENTICATOR) {
			if (alen != 18)
				return fail(err, errlen,
				            "Message-Authenticator length %u (need 18)", alen);
			if (ma_off != NULL)
				*ma_off = at;
		}
	}
	return 0;
}

int
radius_validate_reply(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return walk(buf, len, NULL, err, errlen);
}

int
radius_check_reply(const uint8_t *buf, size_t len, uint8_t request_code, uint8_t id,
                   const uint8_t request_auth[RADIUS_AUTH_LEN], const char *secret, bool require_ma,
                   struct radius_reply *out, char *err, size_t errlen)
{
	uint8_t pkt[RADIUS_MAX_PACKET], want[16], mac[16];
	size_t plen, ma_off;
	struct cur c;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = walk(buf, len, &ma_off, err, errlen);
	if (rc < 0)
		return rc;
	plen = (size_t)buf[2] << 8 | buf[3];
	if (buf[1] != id)
		return fail(err, errlen, "identifier %u (want %u)", buf[1], id);
	if (request_code == RADIUS_ACCESS_REQUEST && buf[0] != RADIUS_ACCESS_ACCEPT &&
	    buf[0] != RADIUS_ACCESS_REJECT && buf[0] != RADIUS_ACCESS_CHALLENGE)
		return fail(err, errlen, "code %u is not Access-Accept/Reject/Challenge", buf[0]);
	if (request_code == RADIUS_ACCOUNTING_REQUEST && buf[0] != RADIUS_ACCOUNTING_RESPONSE)
		return fail(err, errlen, "code %u is not Accounting-Response", buf[0]);
	/* Response Authenticator = MD5(Code|ID|Length|Request Authenticator|Attributes|Secret) */
	memcpy(pkt, buf, plen);
	memcpy(pkt + 4, request_auth, RADIUS_AUTH_LEN);
	rc = md5(pkt, plen, secret, strlen(secret), NULL, 0, want);
	if (rc < 0)
		return fail(err, errlen, "MD5 failed");
	if (CRYPTO_memcmp(want, buf + 4, RADIUS_AUTH_LEN) != 0)
		return fail(err, errlen, "Response Authenticator does not match (wrong secret?)");
	if (ma_off != 0) {
		memset(pkt + ma_off + 2, 0, 16);
		if (hmac_md5(secret, pkt, plen, mac) < 0)
			return fail(err, errlen, "HMAC-MD5 failed");
		if (CRYPTO_memcmp(mac, buf + ma_off + 2, 16) != 0)
			return fail(err, errlen, "Message-Authenticator does not match");
		out->has_message_authenticator = true;
	} else if (require_ma) {
		return fail(err, errlen, "reply without Message-Authenticator");
	}
	/* checked: now the attributes may be read */
	out->code = buf[0];
	c = (struct cur){.p = buf, .len = plen, .off = RADIUS_HDR_LEN};
	while (c.off < c.len) {
		uint8_t type, alen;
		const uint8_t *val;

		if (cur_u8(&c, &type) || cur_u8(&c, &alen) || cur_take(&c, (size_t)alen - 2, &val))
			break; /* cannot happen after walk() */
		if (type == RADIUS_REPLY_MESSAGE && out->reply_message[0] == '\0') {
			size_t k = 0;

			for (size_t i = 0; i + 2 < alen && k + 1 < sizeof(out->reply_message); i++)
				if (val[i] >= 0x20 && val[i] < 0x7f)
					out->reply_message[k++] = (char)val[i];
			out->reply_message[k] = '\0';
		}
	}
	return 0;
}

static const struct {
	const char *name;
	uint32_t value;
} causes[] = {
        {"user-request", 1},    {"lost-carrier", 2},    {"lost-service", 3},
        {"idle-timeout", 4},    {"session-timeout", 5}, {"admin-reset", 6},
        {"admin-reboot", 7},    {"port-error", 8},      {"nas-error", 9},
        {"nas-request", 10},    {"nas-reboot", 11},     {"port-unneeded", 12},
        {"port-preempted", 13}, {"port-suspended", 14}, {"service-unavailable", 15},
        {"callback", 16},       {"user-error", 17},     {"host-request", 18},
};

uint32_t
radius_terminate_cause(const char *name)
{
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (strcmp(causes[i].name, name) == 0)
			return causes[i].value;
	return 0;
}

int
radius_build_accounting_request(const struct radius_acct_req *r, const char *secret, uint8_t *buf,
                                size_t cap, uint8_t authenticator_out[RADIUS_AUTH_LEN])
{
	struct wr w = {.buf = buf, .cap = cap < RADIUS_MAX_PACKET ? cap : RADIUS_MAX_PACKET};
	bool counters = r->status_type != 1;
	uint8_t ra[16];

	if (w.cap < RADIUS_HDR_LEN || r->user == NULL || r->session_id == NULL)
		return -EINVAL;
	buf[0] = RADIUS_ACCOUNTING_REQUEST;
	buf[1] = r->id;
	memset(buf + 4, 0, RADIUS_AUTH_LEN);
	w.len = RADIUS_HDR_LEN;
	put_u32(&w, RADIUS_ACCT_STATUS_TYPE, r->status_type);
	put_attr(&w, RADIUS_ACCT_SESSION_ID, r->session_id, strlen(r->session_id));
	put_attr(&w, RADIUS_USER_NAME, r->user, strlen(r->user));
	if (r->nas_addr != 0)
		put_u32(&w, RADIUS_NAS_IP_ADDRESS, r->nas_addr);
	put_u32(&w, RADIUS_NAS_PORT_TYPE, 5);  /* Virtual */
	put_u32(&w, RADIUS_ACCT_AUTHENTIC, 1); /* RADIUS */
	if (r->calling != NULL && r->calling[0] != '\0')
		put_attr(&w, RADIUS_CALLING_STATION_ID, r->calling, strlen(r->calling));
	if (r->framed_addr != 0)
		put_u32(&w, RADIUS_FRAMED_IP_ADDRESS, r->framed_addr);
	put_u32(&w, RADIUS_ACCT_DELAY_TIME, r->delay_s);
	if (r->event_time != 0)
		put_u32(&w, RADIUS_EVENT_TIMESTAMP, r->event_time);
	if (counters) {
		put_u32(&w, RADIUS_ACCT_SESSION_TIME,
		        r->session_time > UINT32_MAX ? UINT32_MAX : (uint32_t)r->session_time);
		put_u32(&w, RADIUS_ACCT_INPUT_OCTETS, (uint32_t)r->in_octets);
		put_u32(&w, RADIUS_ACCT_OUTPUT_OCTETS, (uint32_t)r->out_octets);
		if (r->in_octets >> 32)
			put_u32(&w, RADIUS_ACCT_INPUT_GIGAWORDS, (uint32_t)(r->in_octets >> 32));
		if (r->out_octets >> 32)
			put_u32(&w, RADIUS_ACCT_OUTPUT_GIGAWORDS, (uint32_t)(r->out_octets >> 32));
		put_u32(&w, RADIUS_ACCT_INPUT_PACKETS, (uint32_t)r->in_packets);
		put_u32(&w, RADIUS_ACCT_OUTPUT_PACKETS, (uint32_t)r->out_packets);
	}
	if (r->status_type == 2 && r->terminate_cause != 0)
		put_u32(&w, RADIUS_ACCT_TERMINATE_CAUSE, r->terminate_cause);
	if (w.overflow)
		return -EMSGSIZE;
	buf[2] = (uint8_t)(w.len >> 8);
	buf[3] = (uint8_t)w.len;
	if (md5(buf, w.len, secret, strlen(secret), NULL, 0, ra) < 0)
		return -EIO;
	memcpy(buf + 4, ra, sizeof(ra));
	memcpy(authenticator_out, ra, sizeof(ra));
	return (int)w.len;
}
