/* PIX 6.x configuration import/export: `show running-config` text <-> the SQLite config model.
 *
 * Import parses the text into an in-memory model (db/model.h), reports every line that is not plainly
 * mapped (unsupported lines are kept verbatim and re-emitted on export), diffs it against the stored
 * model, and, only when asked, replaces the stored configuration in one transaction.
 *
 * Secrets: a masked secret (********) keeps the stored secret of the same object; otherwise the
 * object is imported with "secret not set" and listed in report->secrets_needed. Secrets can be
 * supplied with struct pix_secret entries whose object names are:
 *   isakmp-key:ADDRESS/NETMASK      isakmp key ... address A netmask M
 *   vpngroup:NAME                   vpngroup NAME password ...
 *   aaa-server:GROUP/ADDRESS        aaa-server GROUP (IF) host ADDRESS KEY ...
 * (pix_secret_parse() reads "OBJECT=VALUE"). */
#ifndef PORTCULLIS_DB_PIX_H
#define PORTCULLIS_DB_PIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/core/err.h"

struct db;
struct model;

#define PIX_MAX_TEXT        (64u * 1024 * 1024) /* largest config accepted */
#define PIX_MAX_LINE        4096                /* longer lines are errors */
#define PIX_MAX_SECRET      128                 /* longest secret value */
#define PIX_REPORT_DIFF_MAX 1000                /* row descriptions kept per diff list */

struct pix_secret {
	char object[192]; /* e.g. "isakmp-key:0.0.0.0/0.0.0.0" */
	char value[PIX_MAX_SECRET + 1];
};

struct pix_import_opts {
	bool apply;                       /* write to the database (else: dry run) */
	bool strict;                      /* any error stops the import */
	const struct pix_secret *secrets; /* supplied secrets, may be NULL */
	size_t nsecrets;
	const char
	        *actor; /* for audit_log on apply (e.g. admin or token name, "cli"); NULL: none */
	const char *source; /* peer address or "cli" */
};

enum pix_line_kind {
	PIX_LINE_MAPPED,      /* stored in the model */
	PIX_LINE_IGNORED,     /* comment, prompt, banner, checksum, `: end` */
	PIX_LINE_WARNING,     /* mapped or kept, with something to look at (legacy, replaced) */
	PIX_LINE_UNSUPPORTED, /* kept verbatim, re-emitted on export */
	PIX_LINE_ERROR,       /* understood but invalid; kept verbatim unless --strict */
};

struct pix_line_entry {
	uint32_t line; /* 1-based physical line (first line of a wrapped command) */
	enum pix_line_kind kind;
	char *text;
	char *reason; /* NULL for plain mapped lines */
};

struct pix_report {
	size_t lines, mapped, ignored, warnings, unsupported, errors;
	struct pix_line_entry *entries; /* one per logical line, in order */
	size_t nentries, cap_entries;
	/* the diff: row counts, and row descriptions (at most PIX_REPORT_DIFF_MAX per list) */
	size_t added_total, changed_total, removed_total;
	char **added, **changed, **removed;
	size_t nadded, nchanged, nremoved;
	char **secrets_needed; /* object names (see above) still without a secret */
	size_t nsecrets_needed;
	bool applied;
	bool stopped; /* --strict and an error: nothing applied */
};

const char *pix_line_kind_name(enum pix_line_kind k);

/* Parses `text` (not NUL-terminated necessarily) into a new model. The report gets the per-line
 * entries. Returns 0, -EINVAL (strict and an error, or text too large), or -ENOMEM. */
int pix_parse(const char *text, size_t len, bool strict, struct model **out,
              struct pix_report *rep);

/* The whole import: parse, merge secrets (stored and supplied), diff against the database, and
 * apply in one transaction when opts->apply. *out is set even on -EINVAL (strict errors) so the
 * caller can show why. */
int pix_import(struct db *db, const char *text, size_t len, const struct pix_import_opts *opts,
               struct pix_report **out, struct pc_err *err);

/* show running-config text of the stored configuration, in PIX order, ending with Cryptochecksum
 * (MD5 of everything before that line) and ": end". Secrets masked unless show_secrets. */
int pix_export(struct db *db, bool show_secrets, char **text_out, struct pc_err *err);
int pix_export_model(const struct model *m, bool show_secrets, char **text_out);

/* Object name of a row's secret (see above), malloc'd, or NULL if the table has no secret. */
char *pix_secret_object(const struct model *m, int table, size_t row);
/* Parses "OBJECT=VALUE" into s. */
int pix_secret_parse(const char *arg, struct pix_secret *s, struct pc_err *err);
/* Sets one secret in the stored configuration (e.g. `portcullis secret set`). */
int pix_secret_set(struct db *db, const struct pix_secret *s, struct pc_err *err);

/* Human-readable report (what a person acts on); returns a malloc'd string. */
char *pix_report_to_text(const struct pix_report *r, bool all_lines);
/* JSON text (jansson), malloc'd. */
char *pix_report_to_json(const struct pix_report *r);
void pix_report_free(struct pix_report *r);

/* PIX-MD5 password hash ("enable password X" / "passwd X" / "username U password X" in clear);
 * out gets 16 characters + NUL ("" for passwords over 16 characters). `username` hashes are
 * salted with the user name; pass user NULL for enable password / passwd. */
void pix_md5_hash(const char *password, const char *user, char out[17]);

#endif
