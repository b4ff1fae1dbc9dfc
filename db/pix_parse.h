/* Internal interface between the PIX parser, exporter and importer (db/pix_*.c). */
#ifndef PORTCULLIS_DB_PIX_PARSE_H
#define PORTCULLIS_DB_PIX_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/model.h"
#include "db/pix.h"

/* Export sections in PIX `show running-config` order; passthrough rows name one of these. */
extern const char *const pix_sections[];
extern const size_t pix_nsections;

/* Well-known port and ICMP type names. */
int pix_port_lookup(const char *name); /* -1 if unknown */
const char *pix_port_name(long port);  /* NULL if none */

/* String -> index map (keys copied). */
struct pix_smap_ent {
	char *key;
	size_t val;
};

struct pix_smap {
	struct pix_smap_ent *e;
	size_t n, cap;
};

bool pix_smap_get(const struct pix_smap *m, const char *key, size_t *val);
int pix_smap_put(struct pix_smap *m, const char *key, size_t val);
void pix_smap_free(struct pix_smap *m);

/* Report helpers. */
int pix_report_add(struct pix_report *r, uint32_t line, enum pix_line_kind kind, const char *text,
                   size_t textlen, const char *reason);
int pix_strv_add(char ***v, size_t *n, const char *s);
bool pix_is_masked(const char *s); /* "********", "*****", ... */

#endif
