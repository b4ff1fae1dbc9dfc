#include "gateway/ike/ike_pld.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
ike_perr_set(struct ike_perr *e, uint16_t notify, const char *fmt, ...)
{
	va_list ap;

	if (e != NULL) {
		e->notify = notify;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

void
ike_cur_init(struct ike_cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = p != NULL ? len : 0;
	c->off = 0;
}

size_t
ike_cur_left(const struct ike_cur *c)
{
	return c->len - c->off;
}

int
ike_cur_ptr(struct ike_cur *c, size_t n, const uint8_t **p)
{
	if (n > ike_cur_left(c))
		return -EBADMSG;
	*p = c->p + c->off;
	c->off += n;
	return 0;
}

int
ike_cur_bytes(struct ike_cur *c, void *out, size_t n)
{
	const uint8_t *p;

	if (ike_cur_ptr(c, n, &p) < 0)
		return -EBADMSG;
	if (n > 0)
		memcpy(out, p, n);
	return 0;
}

int
ike_cur_u8(struct ike_cur *c, uint8_t *v)
{
	return ike_cur_bytes(c, v, 1);
}

int
ike_cur_u16(struct ike_cur *c, uint16_t *v)
{
	uint8_t b[2];

	if (ike_cur_bytes(c, b, 2) < 0)
		return -EBADMSG;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return 0;
}

int
ike_cur_u32(struct ike_cur *c, uint32_t *v)
{
	uint8_t b[4];

	if (ike_cur_bytes(c, b, 4) < 0)
		return -EBADMSG;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

int
ike_cur_sub(struct ike_cur *c, size_t n, struct ike_cur *child)
{
	const uint8_t *p;

	if (ike_cur_ptr(c, n, &p) < 0)
		return -EBADMSG;
	ike_cur_init(child, p, n);
	return 0;
}

int
ike_pld_validate_hdr(const uint8_t *buf, size_t len, struct ike_hdr *h, struct ike_perr *e)
{
	struct ike_cur c;

	if (len < IKE_HDR_LEN)
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "ISAKMP header too short (got %zu, need %d)", len, IKE_HDR_LEN);
	if (len > IKE_MAX_DATAGRAM)
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "ISAKMP message too long (got %zu, max %d)", len,
		                    IKE_MAX_DATAGRAM);
	ike_cur_init(&c, buf, len);
	if (ike_cur_bytes(&c, h->icookie, 8) || ike_cur_bytes(&c, h->rcookie, 8) ||
	    ike_cur_u8(&c, &h->np) || ike_cur_u8(&c, &h->version) || ike_cur_u8(&c, &h->exch) ||
	    ike_cur_u8(&c, &h->flags) || ike_cur_u32(&c, &h->msgid) || ike_cur_u32(&c, &h->len))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED, "ISAKMP header truncated");
	if ((h->version >> 4) != 1)
		return ike_perr_set(e, IKE_N_INVALID_MAJOR_VERSION,
		                    "ISAKMP version: expected major 1, got %u.%u", h->version >> 4,
		                    h->version & 0xf);
	if (h->len != len)
		return ike_perr_set(e, IKE_N_UNEQUAL_PAYLOAD_LENGTHS,
		                    "ISAKMP length field %u does not match datagram length %zu",
		                    h->len, len);
	if (h->flags & ~(IKE_FLAG_ENC | IKE_FLAG_COMMIT | 0x04))
		return ike_perr_set(e, IKE_N_INVALID_FLAGS, "ISAKMP flags: unknown bits in 0x%02x",
		                    h->flags);
	return 0;
}

int
ike_pld_validate_chain(uint8_t first, const uint8_t *body, size_t len, bool allow_pad,
                       struct ike_msg *m, struct ike_perr *e)
{
	struct ike_cur c;
	uint8_t type = first;

	m->n = 0;
	ike_cur_init(&c, body, len);
	while (type != IKE_PL_NONE) {
		struct ike_pl *pl;
		uint8_t np, reserved;
		uint16_t plen;
		size_t start = c.off;

		if (m->n >= IKE_MAX_PAYLOADS)
			return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
			                    "too many payloads (max %d)", IKE_MAX_PAYLOADS);
		if (ike_cur_u8(&c, &np) || ike_cur_u8(&c, &reserved) || ike_cur_u16(&c, &plen))
			return ike_perr_set(
			        e, IKE_N_PAYLOAD_MALFORMED,
			        "payload %d (type %u): generic header truncated (got %zu "
			        "bytes, need 4)",
			        m->n + 1, type, len - start);
		if (plen < 4)
			return ike_perr_set(
			        e, IKE_N_PAYLOAD_MALFORMED,
			        "payload %d (type %u): length %u below the 4-byte header", m->n + 1,
			        type, plen);
		if (plen - 4u > ike_cur_left(&c))
			return ike_perr_set(
			        e, IKE_N_PAYLOAD_MALFORMED,
			        "payload %d (type %u): length %u exceeds the %zu bytes left",
			        m->n + 1, type, plen, len - start);
		pl = &m->pl[m->n++];
		pl->type = type;
		pl->raw = body + start;
		pl->raw_len = plen;
		if (ike_cur_ptr(&c, plen - 4u, &pl->body) < 0)
			return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED, "payload body truncated");
		pl->len = plen - 4u;
		type = np;
	}
	if (!allow_pad && ike_cur_left(&c) != 0)
		return ike_perr_set(e, IKE_N_UNEQUAL_PAYLOAD_LENGTHS,
		                    "%zu bytes after the last payload (expected 0)",
		                    ike_cur_left(&c));
	return 0;
}

const struct ike_pl *
ike_msg_find(const struct ike_msg *m, uint8_t type, int nth)
{
	for (int i = 0; i < m->n; i++)
		if (m->pl[i].type == type && nth-- == 0)
			return &m->pl[i];
	return NULL;
}

int
ike_attr_next(struct ike_cur *c, struct ike_attr *a, struct ike_perr *e)
{
	uint16_t t, v;

	if (ike_cur_left(c) == 0)
		return 0;
	if (ike_cur_u16(c, &t) || ike_cur_u16(c, &v))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "attribute truncated (got %zu bytes, need 4)", ike_cur_left(c));
	a->type = t & 0x7fff;
	a->tv = (t & 0x8000) != 0;
	a->v16 = v;
	a->val = NULL;
	a->len = 0;
	if (!a->tv) {
		if (ike_cur_ptr(c, v, &a->val) < 0)
			return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
			                    "attribute %u: length %u exceeds the %zu bytes left",
			                    a->type, v, ike_cur_left(c));
		a->len = v;
	}
	return 1;
}

int
ike_attr_num(const struct ike_attr *a, uint64_t *v)
{
	if (a->tv) {
		*v = a->v16;
		return 0;
	}
	if (a->len == 0 || a->len > 8)
		return -EINVAL;
	*v = 0;
	for (size_t i = 0; i < a->len; i++)
		*v = *v << 8 | a->val[i];
	return 0;
}

static int
validate_attrs(const uint8_t *p, size_t len, struct ike_perr *e)
{
	struct ike_cur c;
	struct ike_attr a;
	int r;

	ike_cur_init(&c, p, len);
	while ((r = ike_attr_next(&c, &a, e)) > 0)
		;
	return r;
}

static int
parse_xform(struct ike_cur *pc, struct ike_sa_pl *sa, struct ike_prop *pr, bool last,
            struct ike_perr *e)
{
	struct ike_cur tc;
	struct ike_xform *x;
	uint8_t np, res, num, id;
	uint16_t tlen, res2;
	size_t start = pc->off;

	if (sa->nxf >= IKE_MAX_XFORMS)
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX, "too many transforms (max %d)",
		                    IKE_MAX_XFORMS);
	if (ike_cur_u8(pc, &np) || ike_cur_u8(pc, &res) || ike_cur_u16(pc, &tlen))
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
		                    "proposal %u: transform header truncated", pr->num);
	if (tlen < 8 || tlen - 4u > ike_cur_left(pc))
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
		                    "proposal %u: transform length %u invalid (need 8..%zu)",
		                    pr->num, tlen, ike_cur_left(pc) + 4);
	if (np != (last ? IKE_PL_NONE : IKE_PL_T))
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
		                    "proposal %u: transform next payload %u (expected %u)", pr->num,
		                    np, last ? IKE_PL_NONE : IKE_PL_T);
	if (ike_cur_sub(pc, tlen - 4u, &tc) || ike_cur_u8(&tc, &num) || ike_cur_u8(&tc, &id) ||
	    ike_cur_u16(&tc, &res2))
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX, "transform truncated");
	x = &sa->xf[sa->nxf++];
	x->num = num;
	x->id = id;
	x->attrs = tc.p + tc.off;
	x->attrs_len = ike_cur_left(&tc);
	x->raw = pc->p + start;
	x->raw_len = tlen;
	if (validate_attrs(x->attrs, x->attrs_len, e) < 0)
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
		                    "proposal %u transform %u: attributes malformed", pr->num, num);
	pr->nxf++;
	return 0;
}

int
ike_pld_parse_sa(const uint8_t *body, size_t len, struct ike_sa_pl *sa, struct ike_perr *e)
{
	struct ike_cur c;
	uint8_t np = IKE_PL_P;

	memset(sa, 0, sizeof(*sa));
	ike_cur_init(&c, body, len);
	if (ike_cur_u32(&c, &sa->doi) || ike_cur_u32(&c, &sa->sit))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "SA payload too short (got %zu, need 8)", len);
	if (sa->doi != 1)
		return ike_perr_set(e, IKE_N_DOI_NOT_SUPPORTED,
		                    "SA DOI: expected 1 (IPsec), got %u", sa->doi);
	if (sa->sit != 1)
		return ike_perr_set(e, IKE_N_SITUATION_NOT_SUPPORTED,
		                    "SA situation: expected 1 (identity only), got %u", sa->sit);
	if (ike_cur_left(&c) == 0)
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX, "SA payload has no proposal");
	while (np == IKE_PL_P) {
		struct ike_cur pc;
		struct ike_prop *pr;
		uint8_t res, ntrans;
		uint16_t plen;

		if (sa->nprop >= IKE_MAX_PROPS)
			return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
			                    "too many proposals (max %d)", IKE_MAX_PROPS);
		if (ike_cur_u8(&c, &np) || ike_cur_u8(&c, &res) || ike_cur_u16(&c, &plen))
			return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
			                    "proposal header truncated (got %zu bytes, need 4)",
			                    ike_cur_left(&c));
		if (np != IKE_PL_P && np != IKE_PL_NONE)
			return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
			                    "proposal next payload %u (expected 2 or 0)", np);
		if (plen < 8 || plen - 4u > ike_cur_left(&c))
			return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
			                    "proposal length %u invalid (need 8..%zu)", plen,
			                    ike_cur_left(&c) + 4);
		pr = &sa->prop[sa->nprop++];
		if (ike_cur_sub(&c, plen - 4u, &pc) || ike_cur_u8(&pc, &pr->num) ||
		    ike_cur_u8(&pc, &pr->proto) || ike_cur_u8(&pc, &pr->spi_size) ||
		    ike_cur_u8(&pc, &ntrans))
			return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX, "proposal truncated");
		if (pr->spi_size > sizeof(pr->spi))
			return ike_perr_set(e, IKE_N_INVALID_SPI,
			                    "proposal %u: SPI size %u (max %zu)", pr->num,
			                    pr->spi_size, sizeof(pr->spi));
		if (ike_cur_bytes(&pc, pr->spi, pr->spi_size))
			return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
			                    "proposal %u: SPI truncated", pr->num);
		if (ntrans == 0)
			return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
			                    "proposal %u has no transforms", pr->num);
		pr->first_xf = sa->nxf;
		for (unsigned i = 0; i < ntrans; i++)
			if (parse_xform(&pc, sa, pr, i + 1 == ntrans, e) < 0)
				return -EBADMSG;
		if (ike_cur_left(&pc) != 0)
			return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
			                    "proposal %u: %zu bytes after %u transforms", pr->num,
			                    ike_cur_left(&pc), ntrans);
	}
	if (ike_cur_left(&c) != 0)
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
		                    "SA payload: %zu bytes after the last proposal",
		                    ike_cur_left(&c));
	return 0;
}

int
ike_pld_parse_id(const uint8_t *body, size_t len, struct ike_id *id, struct ike_perr *e)
{
	struct ike_cur c;

	ike_cur_init(&c, body, len);
	if (ike_cur_u8(&c, &id->type) || ike_cur_u8(&c, &id->proto) || ike_cur_u16(&c, &id->port))
		return ike_perr_set(e, IKE_N_INVALID_ID_INFORMATION,
		                    "ID payload too short (got %zu, need 4)", len);
	id->len = ike_cur_left(&c);
	id->data = body + 4;
	if ((id->type == IKE_ID_IPV4_ADDR && id->len != 4) ||
	    ((id->type == IKE_ID_IPV4_SUBNET || id->type == IKE_ID_IPV4_RANGE) && id->len != 8))
		return ike_perr_set(e, IKE_N_INVALID_ID_INFORMATION,
		                    "ID type %u: data length %zu (expected %d)", id->type, id->len,
		                    id->type == IKE_ID_IPV4_ADDR ? 4 : 8);
	return 0;
}

int
ike_pld_parse_notify(const uint8_t *body, size_t len, struct ike_notify *n, struct ike_perr *e)
{
	struct ike_cur c;

	ike_cur_init(&c, body, len);
	if (ike_cur_u32(&c, &n->doi) || ike_cur_u8(&c, &n->proto) || ike_cur_u8(&c, &n->spi_size) ||
	    ike_cur_u16(&c, &n->type))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "notify payload too short (got %zu, need 8)", len);
	if (ike_cur_ptr(&c, n->spi_size, &n->spi) < 0)
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "notify %u: SPI size %u exceeds the %zu bytes left", n->type,
		                    n->spi_size, ike_cur_left(&c));
	n->data_len = ike_cur_left(&c);
	n->data = c.p + c.off;
	return 0;
}

int
ike_pld_parse_delete(const uint8_t *body, size_t len, struct ike_delete *d, struct ike_perr *e)
{
	struct ike_cur c;

	ike_cur_init(&c, body, len);
	if (ike_cur_u32(&c, &d->doi) || ike_cur_u8(&c, &d->proto) || ike_cur_u8(&c, &d->spi_size) ||
	    ike_cur_u16(&c, &d->nspi))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "delete payload too short (got %zu, need 8)", len);
	if ((size_t)d->spi_size * d->nspi != ike_cur_left(&c))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "delete payload: %u SPIs of %u bytes need %zu, got %zu",
		                    d->nspi, d->spi_size, (size_t)d->spi_size * d->nspi,
		                    ike_cur_left(&c));
	d->spis = c.p + c.off;
	return 0;
}

int
ike_pld_parse_cfg(const uint8_t *body, size_t len, struct ike_cfg_hdr *h, struct ike_perr *e)
{
	struct ike_cur c;
	uint8_t res;

	ike_cur_init(&c, body, len);
	if (ike_cur_u8(&c, &h->type) || ike_cur_u8(&c, &res) || ike_cur_u16(&c, &h->id))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "attribute payload too short (got %zu, need 4)", len);
	if (h->type < 1 || h->type > 4)
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "attribute payload type %u (expected 1..4)", h->type);
	h->attrs = c.p + c.off;
	h->attrs_len = ike_cur_left(&c);
	if (validate_attrs(h->attrs, h->attrs_len, e) < 0)
		return -EBADMSG;
	return 0;
}

/* ---- writer ---- */

void
ike_w_bytes(struct ike_wbuf *w, const void *p, size_t n)
{
	if (w->err || n > sizeof(w->buf) - w->len) {
		w->err = true;
		return;
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void
ike_w_u8(struct ike_wbuf *w, uint8_t v)
{
	ike_w_bytes(w, &v, 1);
}

void
ike_w_u16(struct ike_wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	ike_w_bytes(w, b, 2);
}

void
ike_w_u32(struct ike_wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	ike_w_bytes(w, b, 4);
}

void
ike_w_hdr(struct ike_wbuf *w, const uint8_t icookie[8], const uint8_t rcookie[8], uint8_t exch,
          uint8_t flags, uint32_t msgid)
{
	w->len = 0;
	w->err = false;
	ike_w_bytes(w, icookie, 8);
	ike_w_bytes(w, rcookie, 8);
	w->np_off = w->len;
	ike_w_u8(w, 0);
	ike_w_u8(w, 0x10);
	ike_w_u8(w, exch);
	ike_w_u8(w, flags);
	ike_w_u32(w, msgid);
	ike_w_u32(w, 0);
}

size_t
ike_w_pl_begin(struct ike_wbuf *w, uint8_t type)
{
	size_t off = w->len;

	if (!w->err && w->np_off < w->len)
		w->buf[w->np_off] = type;
	w->np_off = off;
	ike_w_u8(w, 0);
	ike_w_u8(w, 0);
	ike_w_u16(w, 0);
	return off;
}

void
ike_w_pl_end(struct ike_wbuf *w, size_t off)
{
	size_t n = w->len - off;

	if (w->err || n > 0xffff) {
		w->err = true;
		return;
	}
	w->buf[off + 2] = (uint8_t)(n >> 8);
	w->buf[off + 3] = (uint8_t)n;
}

void
ike_w_pl(struct ike_wbuf *w, uint8_t type, const void *body, size_t n)
{
	size_t off = ike_w_pl_begin(w, type);

	ike_w_bytes(w, body, n);
	ike_w_pl_end(w, off);
}

void
ike_w_attr_tv(struct ike_wbuf *w, uint16_t type, uint16_t v)
{
	ike_w_u16(w, 0x8000 | type);
	ike_w_u16(w, v);
}

void
ike_w_attr_tlv(struct ike_wbuf *w, uint16_t type, const void *p, uint16_t n)
{
	ike_w_u16(w, type & 0x7fff);
	ike_w_u16(w, n);
	ike_w_bytes(w, p, n);
}

void
ike_w_finish(struct ike_wbuf *w)
{
	if (w->err || w->len < IKE_HDR_LEN)
		return;
	w->buf[24] = (uint8_t)(w->len >> 24);
	w->buf[25] = (uint8_t)(w->len >> 16);
	w->buf[26] = (uint8_t)(w->len >> 8);
	w->buf[27] = (uint8_t)w->len;
}
