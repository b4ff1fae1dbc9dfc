#include "gateway/core/sbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sbuf_init(struct sbuf *s, char *buf, size_t cap)
{
	*s = (struct sbuf){.b = buf, .cap = cap};
	if (cap > 0)
		buf[0] = '\0';
	else
		s->fail = true;
}

void
sbuf_init_heap(struct sbuf *s)
{
	*s = (struct sbuf){.heap = true};
}

/* Room for need more bytes and the NUL; false if there is none (fixed) or no memory (heap). */
static bool
reserve(struct sbuf *s, size_t need)
{
	size_t ncap;
	char *nb;

	if (s->fail)
		return false;
	if (need < s->cap - s->len)
		return true;
	if (!s->heap || need >= SIZE_MAX / 4 || s->len + need >= SIZE_MAX / 4) {
		s->fail = true;
		return false;
	}
	ncap = s->cap > 0 ? s->cap : 128;
	while (ncap <= s->len + need)
		ncap *= 2;
	nb = realloc(s->b, ncap);
	if (nb == NULL) {
		s->fail = true;
		return false;
	}
	s->b = nb;
	s->cap = ncap;
	return true;
}

void
sbuf_add(struct sbuf *s, const char *p, size_t n)
{
	if (!reserve(s, n)) {
		/* fixed: keep what fits, cut short */
		if (!s->heap && s->cap > 0 && s->len < s->cap - 1) {
			size_t k = s->cap - 1 - s->len;

			memcpy(s->b + s->len, p, k);
			s->len += k;
			s->b[s->len] = '\0';
		}
		return;
	}
	memcpy(s->b + s->len, p, n);
	s->len += n;
	s->b[s->len] = '\0';
}

void
sbuf_str(struct sbuf *s, const char *str)
{
	sbuf_add(s, str, strlen(str));
}

void
sbuf_printf(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->fail)
		return;
	if (s->cap > s->len) {
		va_start(ap, fmt);
		n = vsnprintf(s->b + s->len, s->cap - s->len, fmt, ap);
		va_end(ap);
	} else {
		va_start(ap, fmt);
		n = vsnprintf(NULL, 0, fmt, ap);
		va_end(ap);
	}
	if (n < 0) {
		s->fail = true;
		return;
	}
	if ((size_t)n < s->cap - s->len) {
		s->len += (size_t)n;
		return;
	}
	/* did not fit: fixed mode keeps the cut string vsnprintf wrote; heap mode grows and writes again */
	if (!s->heap) {
		s->fail = true;
		if (s->cap > 0)
			s->len = s->cap - 1;
		return;
	}
	if (!reserve(s, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(s->b + s->len, s->cap - s->len, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

char *
sbuf_take(struct sbuf *s)
{
	char *r = s->b;

	if (s->fail || r == NULL) {
		free(r);
		r = s->fail ? NULL : strdup("");
	}
	sbuf_init_heap(s);
	return r;
}

void
sbuf_free(struct sbuf *s)
{
	if (s->heap)
		free(s->b);
	sbuf_init_heap(s);
}
