/* A bounded string builder: appends never write past the buffer, and a string that did not fit
 * is reported (sbuf_ok) instead of being cut silently. Fixed mode writes into the caller's array
 * (SQL, nft text); heap mode grows with realloc and hands the string over (sbuf_take). The
 * string is NUL-terminated after every append, also after a failed one (then cut short). */
#ifndef PORTCULLIS_CORE_SBUF_H
#define PORTCULLIS_CORE_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *b;
	size_t len, cap;
	bool heap; /* grows; b is malloc'd (or NULL before the first append) */
	bool fail; /* an append did not fit (fixed) or memory ran out (heap) */
};

/* Fixed mode over buf[cap] (cap > 0): buf becomes "". */
void sbuf_init(struct sbuf *s, char *buf, size_t cap);
/* Heap mode, empty. */
void sbuf_init_heap(struct sbuf *s);
void sbuf_add(struct sbuf *s, const char *p, size_t n);
void sbuf_str(struct sbuf *s, const char *str);
void sbuf_printf(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* true while every append so far fitted */
static inline bool
sbuf_ok(const struct sbuf *s)
{
	return !s->fail;
}
/* Heap mode: the string (the caller frees it), or NULL if an append failed; s is empty again. */
char *sbuf_take(struct sbuf *s);
/* Heap mode: frees the string. */
void sbuf_free(struct sbuf *s);

#endif
