/* A bounded reader over untrusted bytes: every read checks what is left, and a child cursor
 * carved from a parent can never reach past the parent's end. On failure a read returns
 * -EBADMSG and leaves the cursor where it was. */
#ifndef PORTCULLIS_IPSEC_CURSOR_H
#define PORTCULLIS_IPSEC_CURSOR_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct ipsec_cur {
	const uint8_t *p;
	size_t len; /* total bytes */
	size_t off; /* bytes consumed */
};

static inline void
ipsec_cur_init(struct ipsec_cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
}

static inline size_t
ipsec_cur_left(const struct ipsec_cur *c)
{
	return c->len - c->off;
}

static inline const uint8_t *
ipsec_cur_pos(const struct ipsec_cur *c)
{
	return c->p + c->off;
}

static inline int
ipsec_cur_skip(struct ipsec_cur *c, size_t n)
{
	if (ipsec_cur_left(c) < n)
		return -EBADMSG;
	c->off += n;
	return 0;
}

/* Points *out at the next n bytes and consumes them. */
static inline int
ipsec_cur_get_ptr(struct ipsec_cur *c, size_t n, const uint8_t **out)
{
	if (ipsec_cur_left(c) < n)
		return -EBADMSG;
	*out = c->p + c->off;
	c->off += n;
	return 0;
}

static inline int
ipsec_cur_get_u8(struct ipsec_cur *c, uint8_t *v)
{
	if (ipsec_cur_left(c) < 1)
		return -EBADMSG;
	*v = c->p[c->off];
	c->off += 1;
	return 0;
}

static inline int
ipsec_cur_get_be16(struct ipsec_cur *c, uint16_t *v)
{
	if (ipsec_cur_left(c) < 2)
		return -EBADMSG;
	*v = (uint16_t)((uint16_t)c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return 0;
}

static inline int
ipsec_cur_get_be32(struct ipsec_cur *c, uint32_t *v)
{
	const uint8_t *b = c->p + c->off;

	if (ipsec_cur_left(c) < 4)
		return -EBADMSG;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	c->off += 4;
	return 0;
}

/* Carves the next n bytes into a child cursor and consumes them from the parent. */
static inline int
ipsec_cur_get_child(struct ipsec_cur *c, size_t n, struct ipsec_cur *child)
{
	const uint8_t *p;

	if (ipsec_cur_get_ptr(c, n, &p) < 0)
		return -EBADMSG;
	ipsec_cur_init(child, p, n);
	return 0;
}

static inline void
ipsec_put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

#endif
