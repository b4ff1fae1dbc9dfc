/* TACACS+ packet codec (RFC 8907). Replies are read only through the bounded cursor below; each
 * reply type has a pure validate step (lengths and counts, the fuzz target) and a parse step that
 * gives the bytes meaning. */
#include "gateway/aaa/tacacs.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- bounded reader ---- */

struct cur {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static size_t
cur_left(const struct cur *c)
{
	return c->len - c->off;
}

static int
cur_u8(struct cur *c, uint8_t *v)
{
	if (cur_left(c) < 1)
		return -EBADMSG;
	*v = c->p[c->off++];
	return 0;
}

static int
cur_u16(struct cur *c, uint16_t *v)
{
	if (cur_left(c) < 2)
		return -EBADMSG;
	*v = (uint16_t)(c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return 0;
}

static int
cur_u32(struct cur *c, uint32_t *v)
{
	if (cur_left(c) < 4)
		return -EBADMSG;
	*v = (uint32_t)c->p[c->off] << 24 | (uint32_t)c->p[c->off + 1] << 16 |
	     (uint32_t)c->p[c->off + 2] << 8 | (uint32_t)c->p[c->off + 3];
	c->off += 4;
	return 0;
}

static int
cur_take(struct cur *c, size_t n, const uint8_t **out)
{
	if (cur_left(c) < n)
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

/* ---- obfuscation ---- */

int
tac_obfuscate(const struct tac_hdr *h, const char *key, uint8_t *body, size_t len)
{
	uint8_t pad[16], sid[4];
	size_t keylen = strlen(key), off = 0;
	EVP_MD_CTX *ctx;
	int rc = 0;

	if (keylen == 0 || len == 0)
		return 0;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	sid[0] = (uint8_t)(h->session_id >> 24);
	sid[1] = (uint8_t)(h->session_id >> 16);
	sid[2] = (uint8_t)(h->session_id >> 8);
	sid[3] = (uint8_t)h->session_id;
	while (off < len) {
		unsigned int n = 0;

		if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, sid, sizeof(sid)) != 1 ||
		    EVP_DigestUpdate(ctx, key, keylen) != 1 ||
		    EVP_DigestUpdate(ctx, &h->version, 1) != 1 ||
		    EVP_DigestUpdate(ctx, &h->seq, 1) != 1 ||
		    (off > 0 && EVP_DigestUpdate(ctx, pad, sizeof(pad)) != 1) ||
		    EVP_DigestFinal_ex(ctx, pad, &n) != 1 || n != sizeof(pad)) {
			rc = -EIO;
			break;
		}
		for (size_t i = 0; i < sizeof(pad) && off < len; i++, off++)
			body[off] ^= pad[i];
	}
	OPENSSL_cleanse(pad, sizeof(pad));
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- header ---- */

void
tac_hdr_encode(const struct tac_hdr *h, uint8_t out[TAC_HDR_LEN])
{
	out[0] = h->version;
	out[1] = h->type;
	out[2] = h->seq;
	out[3] = h->flags;
	out[4] = (uint8_t)(h->session_id >> 24);
	out[5] = (uint8_t)(h->session_id >> 16);
	out[6] = (uint8_t)(h->session_id >> 8);
	out[7] = (uint8_t)h->session_id;
	out[8] = (uint8_t)(h->length >> 24);
	out[9] = (uint8_t)(h->length >> 16);
	out[10] = (uint8_t)(h->length >> 8);
	out[11] = (uint8_t)h->length;
}

int
tac_hdr_validate(const uint8_t *buf, size_t len, uint8_t want_type, uint8_t want_seq,
                 uint32_t want_session, bool keyed, struct tac_hdr *out, char *err, size_t errlen)
{
	struct cur c = {.p = buf, .len = len};
	struct tac_hdr h;

	if (cur_u8(&c, &h.version) || cur_u8(&c, &h.type) || cur_u8(&c, &h.seq) ||
	    cur_u8(&c, &h.flags) || cur_u32(&c, &h.session_id) || cur_u32(&c, &h.length))
		return fail(err, errlen, "header too short (got %zu, need %d)", len, TAC_HDR_LEN);
	if (h.version >> 4 != TAC_MAJOR)
		return fail(err, errlen, "major version %u (want %u)", h.version >> 4, TAC_MAJOR);
	if (h.type != want_type)
		return fail(err, errlen, "packet type %u (want %u)", h.type, want_type);
	if (h.seq != want_seq)
		return fail(err, errlen, "sequence number %u (want %u)", h.seq, want_seq);
	if (h.session_id != want_session)
		return fail(err, errlen, "session id %08x (want %08x)", h.session_id, want_session);
	if (keyed && (h.flags & TAC_FLAG_UNENCRYPTED))
		return fail(err, errlen, "unencrypted reply although a key is configured");
	if (!keyed && !(h.flags & TAC_FLAG_UNENCRYPTED))
		return fail(err, errlen, "obfuscated reply although no key is configured");
	if (h.length > TAC_MAX_BODY)
		return fail(err, errlen, "body length %u (at most %d)", h.length, TAC_MAX_BODY);
	if (out != NULL)
		*out = h;
	return 0;
}

/* ---- builders ---- */

static void
put_u8(struct tac_pkt *p, uint8_t v)
{
	if (p->len + 1 > sizeof(p->buf)) {
		p->overflow = true;
		return;
	}
	p->buf[p->len++] = v;
}

static void
put_u16(struct tac_pkt *p, uint16_t v)
{
	put_u8(p, (uint8_t)(v >> 8));
	put_u8(p, (uint8_t)v);
}

static void
put_bytes(struct tac_pkt *p, const void *b, size_t n)
{
	if (n == 0)
		return;
	if (p->len + n > sizeof(p->buf)) {
		p->overflow = true;
		return;
	}
	memcpy(p->buf + p->len, b, n);
	p->len += n;
}

static void
pkt_begin(struct tac_pkt *p)
{
	memset(p->buf, 0, TAC_HDR_LEN);
	p->len = TAC_HDR_LEN;
	p->overflow = false;
}

static int
pkt_finish(struct tac_pkt *p, uint8_t version, uint8_t type, uint8_t seq, uint32_t session_id,
           const char *key)
{
	struct tac_hdr h = {.version = version,
	                    .type = type,
	                    .seq = seq,
	                    .flags = key[0] == '\0' ? TAC_FLAG_UNENCRYPTED : 0,
	                    .session_id = session_id};

	if (p->overflow)
		return -EMSGSIZE;
	h.length = (uint32_t)(p->len - TAC_HDR_LEN);
	tac_hdr_encode(&h, p->buf);
	return tac_obfuscate(&h, key, p->buf + TAC_HDR_LEN, p->len - TAC_HDR_LEN);
}

static size_t
slen(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

static int
check_common(const struct tac_req_common *c)
{
	if (slen(c->user) > TAC_MAX_FIELD_LEN || slen(c->port) > TAC_MAX_FIELD_LEN ||
	    slen(c->rem_addr) > TAC_MAX_FIELD_LEN)
		return -EMSGSIZE;
	return 0;
}

int
tac_build_authen_start(struct tac_pkt *pkt, uint32_t session_id, const char *key, uint8_t action,
                       const struct tac_req_common *c, const uint8_t *data, size_t data_len)
{
	uint8_t version = c->authen_type == TAC_AUTHEN_TYPE_ASCII ? TAC_VER_DEFAULT : TAC_VER_ONE;

	if (check_common(c) < 0 || data_len > TAC_MAX_FIELD_LEN)
		return -EMSGSIZE;
	pkt_begin(pkt);
	put_u8(pkt, action);
	put_u8(pkt, c->priv_lvl);
	put_u8(pkt, c->authen_type);
	put_u8(pkt, c->authen_service);
	put_u8(pkt, (uint8_t)slen(c->user));
	put_u8(pkt, (uint8_t)slen(c->port));
	put_u8(pkt, (uint8_t)slen(c->rem_addr));
	put_u8(pkt, (uint8_t)data_len);
	put_bytes(pkt, c->user, slen(c->user));
	put_bytes(pkt, c->port, slen(c->port));
	put_bytes(pkt, c->rem_addr, slen(c->rem_addr));
	put_bytes(pkt, data, data_len);
	return pkt_finish(pkt, version, TAC_AUTHEN, 1, session_id, key);
}

int
tac_build_authen_continue(struct tac_pkt *pkt, uint32_t session_id, uint8_t seq, uint8_t version,
                          const char *key, const uint8_t *user_msg, size_t user_msg_len,
                          uint8_t flags)
{
	if (user_msg_len > UINT16_MAX)
		return -EMSGSIZE;
	pkt_begin(pkt);
	put_u16(pkt, (uint16_t)user_msg_len);
	put_u16(pkt, 0);
	put_u8(pkt, flags);
	put_bytes(pkt, user_msg, user_msg_len);
	return pkt_finish(pkt, version, TAC_AUTHEN, seq, session_id, key);
}

static int
check_args(const char *const *args, int nargs)
{
	if (nargs < 0 || nargs > TAC_MAX_ARGS)
		return -EMSGSIZE;
	for (int i = 0; i < nargs; i++)
		if (slen(args[i]) > TAC_MAX_ARG_LEN)
			return -EMSGSIZE;
	return 0;
}

static void
put_common_tail(struct tac_pkt *pkt, const struct tac_req_common *c, const char *const *args,
                int nargs)
{
	put_u8(pkt, (uint8_t)slen(c->user));
	put_u8(pkt, (uint8_t)slen(c->port));
	put_u8(pkt, (uint8_t)slen(c->rem_addr));
	put_u8(pkt, (uint8_t)nargs);
	for (int i = 0; i < nargs; i++)
		put_u8(pkt, (uint8_t)slen(args[i]));
	put_bytes(pkt, c->user, slen(c->user));
	put_bytes(pkt, c->port, slen(c->port));
	put_bytes(pkt, c->rem_addr, slen(c->rem_addr));
	for (int i = 0; i < nargs; i++)
		put_bytes(pkt, args[i], slen(args[i]));
}

int
tac_build_author_request(struct tac_pkt *pkt, uint32_t session_id, const char *key,
                         const struct tac_req_common *c, const char *const *args, int nargs)
{
	if (check_common(c) < 0 || check_args(args, nargs) < 0)
		return -EMSGSIZE;
	pkt_begin(pkt);
	put_u8(pkt, TAC_AUTHEN_METH_TACACSPLUS);
	put_u8(pkt, c->priv_lvl);
	put_u8(pkt, c->authen_type);
	put_u8(pkt, c->authen_service);
	put_common_tail(pkt, c, args, nargs);
	return pkt_finish(pkt, TAC_VER_DEFAULT, TAC_AUTHOR, 1, session_id, key);
}

int
tac_build_acct_request(struct tac_pkt *pkt, uint32_t session_id, const char *key,
                       uint8_t acct_flags, const struct tac_req_common *c, const char *const *args,
                       int nargs)
{
	if (check_common(c) < 0 || check_args(args, nargs) < 0)
		return -EMSGSIZE;
	pkt_begin(pkt);
	put_u8(pkt, acct_flags);
	put_u8(pkt, TAC_AUTHEN_METH_TACACSPLUS);
	put_u8(pkt, c->priv_lvl);
	put_u8(pkt, c->authen_type);
	put_u8(pkt, c->authen_service);
	put_common_tail(pkt, c, args, nargs);
	return pkt_finish(pkt, TAC_VER_DEFAULT, TAC_ACCT, 1, session_id, key);
}

/* ---- replies: validate (lengths only), then parse ---- */

static int
walk_authen_reply(const uint8_t *body, size_t len, struct tac_authen_reply *r, char *err,
                  size_t errlen)
{
	struct cur c = {.p = body, .len = len};
	struct tac_authen_reply tmp;

	if (r == NULL)
		r = &tmp;
	if (cur_u8(&c, &r->status) || cur_u8(&c, &r->flags) || cur_u16(&c, &r->server_msg_len) ||
	    cur_u16(&c, &r->data_len))
		return fail(err, errlen, "authentication REPLY too short (got %zu, need 6)", len);
	if (cur_take(&c, r->server_msg_len, &r->server_msg) || cur_take(&c, r->data_len, &r->data))
		return fail(err, errlen,
		            "authentication REPLY fields overrun the body (body %zu, need %zu)",
		            len, (size_t)6 + r->server_msg_len + r->data_len);
	if (cur_left(&c) != 0)
		return fail(err, errlen, "authentication REPLY has %zu trailing bytes (body %zu)",
		            cur_left(&c), len);
	return 0;
}

int
tac_validate_authen_reply(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	return walk_authen_reply(body, len, NULL, err, errlen);
}

int
tac_parse_authen_reply(const uint8_t *body, size_t len, struct tac_authen_reply *r, char *err,
                       size_t errlen)
{
	int rc = walk_authen_reply(body, len, r, err, errlen);

	if (rc < 0)
		return rc;
	switch (r->status) {
	case TAC_AUTHEN_STATUS_PASS:
	case TAC_AUTHEN_STATUS_FAIL:
	case TAC_AUTHEN_STATUS_GETDATA:
	case TAC_AUTHEN_STATUS_GETUSER:
	case TAC_AUTHEN_STATUS_GETPASS:
	case TAC_AUTHEN_STATUS_RESTART:
	case TAC_AUTHEN_STATUS_ERROR:
	case TAC_AUTHEN_STATUS_FOLLOW:
		return 0;
	default:
		return fail(err, errlen, "authentication REPLY status %u unknown", r->status);
	}
}

static int
walk_author_reply(const uint8_t *body, size_t len, struct tac_author_reply *r, char *err,
                  size_t errlen)
{
	struct cur c = {.p = body, .len = len};
	const uint8_t *lens;

	if (cur_u8(&c, &r->status) || cur_u8(&c, &r->arg_cnt) || cur_u16(&c, &r->server_msg_len) ||
	    cur_u16(&c, &r->data_len))
		return fail(err, errlen, "authorization REPLY too short (got %zu, need 6)", len);
	if (cur_take(&c, r->arg_cnt, &lens))
		return fail(err, errlen,
		            "authorization REPLY: %u argument lengths overrun the body",
		            r->arg_cnt);
	if (cur_take(&c, r->server_msg_len, &r->server_msg) || cur_take(&c, r->data_len, &r->data))
		return fail(err, errlen, "authorization REPLY messages overrun the body (body %zu)",
		            len);
	for (int i = 0; i < r->arg_cnt; i++) {
		r->arg_len[i] = lens[i];
		if (cur_take(&c, lens[i], &r->args[i]))
			return fail(err, errlen,
			            "authorization REPLY argument %d (%u bytes) overruns the body",
			            i, lens[i]);
	}
	if (cur_left(&c) != 0)
		return fail(err, errlen, "authorization REPLY has %zu trailing bytes",
		            cur_left(&c));
	return 0;
}

int
tac_validate_author_reply(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	struct tac_author_reply r;

	return walk_author_reply(body, len, &r, err, errlen);
}

int
tac_parse_author_reply(const uint8_t *body, size_t len, struct tac_author_reply *r, char *err,
                       size_t errlen)
{
	int rc = walk_author_reply(body, len, r, err, errlen);

	if (rc < 0)
		return rc;
	switch (r->status) {
	case TAC_AUTHOR_STATUS_PASS_ADD:
	case TAC_AUTHOR_STATUS_PASS_REPL:
	case TAC_AUTHOR_STATUS_FAIL:
	case TAC_AUTHOR_STATUS_ERROR:
	case TAC_AUTHOR_STATUS_FOLLOW:
		return 0;
	default:
		return fail(err, errlen, "authorization REPLY status %u unknown", r->status);
	}
}

static int
walk_acct_reply(const uint8_t *body, size_t len, struct tac_acct_reply *r, char *err, size_t errlen)
{
	struct cur c = {.p = body, .len = len};
	struct tac_acct_reply tmp;

	if (r == NULL)
		r = &tmp;
	if (cur_u16(&c, &r->server_msg_len) || cur_u16(&c, &r->data_len) || cur_u8(&c, &r->status))
		return fail(err, errlen, "accounting REPLY too short (got %zu, need 5)", len);
	if (cur_take(&c, r->server_msg_len, &r->server_msg) || cur_take(&c, r->data_len, &r->data))
		return fail(err, errlen,
		            "accounting REPLY fields overrun the body (body %zu, need %zu)", len,
		            (size_t)5 + r->server_msg_len + r->data_len);
	if (cur_left(&c) != 0)
		return fail(err, errlen, "accounting REPLY has %zu trailing bytes", cur_left(&c));
	return 0;
}

int
tac_validate_acct_reply(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	return walk_acct_reply(body, len, NULL, err, errlen);
}

int
tac_parse_acct_reply(const uint8_t *body, size_t len, struct tac_acct_reply *r, char *err,
                     size_t errlen)
{
	int rc = walk_acct_reply(body, len, r, err, errlen);

	if (rc < 0)
		return rc;
	switch (r->status) {
	case TAC_ACCT_STATUS_SUCCESS:
	case TAC_ACCT_STATUS_ERROR:
	case TAC_ACCT_STATUS_FOLLOW:
		return 0;
	default:
		return fail(err, errlen, "accounting REPLY status %u unknown", r->status);
	}
}

const char *
tac_authen_status_name(uint8_t status)
{
	switch (status) {
	case TAC_AUTHEN_STATUS_PASS:
		return "PASS";
	case TAC_AUTHEN_STATUS_FAIL:
		return "FAIL";
	case TAC_AUTHEN_STATUS_GETDATA:
		return "GETDATA";
	case TAC_AUTHEN_STATUS_GETUSER:
		return "GETUSER";
	case TAC_AUTHEN_STATUS_GETPASS:
		return "GETPASS";
	case TAC_AUTHEN_STATUS_RESTART:
		return "RESTART";
	case TAC_AUTHEN_STATUS_ERROR:
		return "ERROR";
	case TAC_AUTHEN_STATUS_FOLLOW:
		return "FOLLOW";
	default:
		return "unknown";
	}
}
