/* A string -> index hash map (open addressing) used by the PIX parser and importer. */
#include "db/pix_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- string -> index map ---- */

static uint64_t
shash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void
pix_smap_free(struct pix_smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->e[i].key);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

bool
pix_smap_get(const struct pix_smap *m, const char *key, size_t *val)
{
	if (m->cap == 0 || key == NULL)
		return false;
	size_t j = shash(key) & (m->cap - 1);

	while (m->e[j].key != NULL) {
		if (strcmp(m->e[j].key, key) == 0) {
			if (val != NULL)
				*val = m->e[j].val;
			return true;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return false;
}

int
pix_smap_put(struct pix_smap *m, const char *key, size_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct pix_smap_ent *ne = calloc(ncap, sizeof(*ne));

		if (ne == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++) {
			if (m->e[i].key == NULL)
				continue;
			size_t j = shash(m->e[i].key) & (ncap - 1);

			while (ne[j].key != NULL)
				j = (j + 1) & (ncap - 1);
			ne[j] = m->e[i];
		}
		free(m->e);
		m->e = ne;
		m->cap = ncap;
	}
	size_t j = shash(key) & (m->cap - 1);

	while (m->e[j].key != NULL) {
		if (strcmp(m->e[j].key, key) == 0) {
			m->e[j].val = val;
			return 0;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->e[j].key = strdup(key);
	if (m->e[j].key == NULL)
		return -ENOMEM;
	m->e[j].val = val;
	m->n++;
	return 0;
}
