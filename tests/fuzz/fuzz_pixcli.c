/* libFuzzer harness for the PIX configuration parser. Includes the parser's .c so its static
 * helpers (tokenizer, line joining, handlers) are fuzzed directly. Besides not crashing, checks
 * the round-trip property the importer relies on: an export parses back to a model that exports
 * to the same text. The first export of arbitrary text is a normalisation (it puts commands in PIX
 * order, so a line that referred to something defined later may become valid); from the second
 * export on the text must not change. (Configurations in PIX order, as a PIX prints them, are
 * fixed points from the first export: tests/unit/pix_import_test.c checks that on the corpus.) */
#include "db/pix_parse.c"

#include "db/db.h"

#include <stdio.h>

/* every model the parser accepts must also be accepted by the schema's constraints */
static void
check_saves(const struct model *m)
{
	static struct db *db;
	struct pc_err err = {0};

	if (db == NULL && db_open(":memory:", &db, &err) < 0) {
		fprintf(stderr, "db_open: %s\n", err.msg);
		abort();
	}
	if (db_begin(db, &err) < 0)
		abort();
	if (model_save(db, m, &err) < 0) {
		fprintf(stderr, "model_save refused a parsed model: %s\n", err.msg);
		abort();
	}
	db_rollback(db);
}

static char *
export_of(const char *text, size_t len)
{
	struct pix_report *rep = calloc(1, sizeof(*rep));
	struct model *m = NULL;
	char *out = NULL;

	if (rep == NULL)
		return NULL;
	if (pix_parse(text, len, false, &m, rep) == 0) {
		check_saves(m);
		if (pix_export_model(m, true, &out) < 0)
			out = NULL;
	}
	model_free(m);
	pix_report_free(rep);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pix_report *rep;
	struct model *m = NULL;
	char *e0, *e1, *e2;

	if (size > 256 * 1024)
		return 0;
	/* strict mode on the raw bytes */
	rep = calloc(1, sizeof(*rep));
	if (rep == NULL)
		return 0;
	(void)pix_parse((const char *)data, size, true, &m, rep);
	model_free(m);
	pix_report_free(rep);

	e0 = export_of((const char *)data, size);
	if (e0 == NULL)
		return 0;
	e1 = export_of(e0, strlen(e0));
	free(e0);
	if (e1 == NULL)
		abort();
	e2 = export_of(e1, strlen(e1));
	if (e2 == NULL || strcmp(e1, e2) != 0) {
		fprintf(stderr, "export is not a fixed point:\n--- first\n%s\n--- second\n%s\n", e1,
		        e2 ? e2 : "(null)");
		abort();
	}
	free(e1);
	free(e2);
	return 0;
}
