/* The configuration model in memory: one array of rows per config table of
 * migrations/0001_initial.sql, loaded from and saved to SQLite as a whole.
 *
 * A row holds its column values as text (NULL is SQL NULL; integers in decimal). A reference column
 * (e.g. interface_id) holds the referenced object's name instead of its id (interface: nameif;
 * crypto_map_entry: "map\x1fis_dynamic\x1fseq"; others: name); model_save() turns names into ids.
 * The `position` column is not held: it is the row's index in its array.
 *
 * Setting keys (table `setting`): version, hostname, domain-name, enable-password,
 * enable-password-kind, passwd, passwd-kind, names (on|off), pager-lines (N, or off for
 * `no pager`), arp-timeout, floodguard
 * (enable|disable), isakmp-identity, isakmp-keepalive, isakmp-nat-traversal,
 * ipsec-sa-lifetime-seconds, ipsec-sa-lifetime-kb, telnet-timeout, ssh-timeout, console-timeout,
 * terminal-width, http-server (on).
 *
 * passthrough_line.section is one of pix_sections[] (db/pix_parse.h: "interface", "access-list",
 * "logging", ...) or "object-group:NAME" for a line inside that object-group block; export prints
 * the kept lines of a section after the section's modelled commands, in position order. */
#ifndef PORTCULLIS_DB_MODEL_H
#define PORTCULLIS_DB_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/core/err.h"

struct db;

/* In save (dependency) order. */
enum model_table {
	MT_SETTING,
	MT_INTERFACE,
	MT_NAME,
	MT_OBJECT_GROUP,
	MT_OG_MEMBER,
	MT_ACCESS_LIST,
	MT_ACE,
	MT_ACCESS_GROUP,
	MT_NAT_GLOBAL,
	MT_NAT_RULE,
	MT_NAT_STATIC,
	MT_ROUTE,
	MT_TIMEOUT,
	MT_AAA_GROUP,
	MT_AAA_HOST,
	MT_AAA_RULE,
	MT_AAA_CONSOLE,
	MT_LOCAL_USER,
	MT_IP_POOL,
	MT_ISAKMP_IF,
	MT_ISAKMP_POLICY,
	MT_ISAKMP_KEY,
	MT_ISAKMP_CLIENT_POOL,
	MT_TRANSFORM_SET,
	MT_CRYPTO_MAP,
	MT_CRYPTO_MAP_TRANSFORM,
	MT_CRYPTO_MAP_PEER,
	MT_CRYPTO_MAP_OPTION,
	MT_CRYPTO_MAP_IF,
	MT_VPNGROUP,
	MT_FIXUP,
	MT_SYSOPT,
	MT_MGMT_ACCESS,
	MT_PASSTHROUGH,
	MT_COUNT
};

#define MODEL_MAX_COLS 32
/* Longest names (characters) of object-groups, access-lists, ip local pools and interfaces'
 * hardware names, and of nameif: PIX's own limits, the API's, and what the NAT model holds. */
#define MODEL_NAME_MAX   64
#define MODEL_NAMEIF_MAX 48

enum model_col_type {
	MC_TEXT,
	MC_INT,
	MC_REF,    /* text in memory (the referenced key), integer id in SQL */
	MC_SECRET, /* text; never printed unless asked for */
};

struct model_col {
	const char *name;
	enum model_col_type type;
	const char *def;      /* default value (text), NULL: SQL NULL */
	enum model_table ref; /* MC_REF only */
};

struct model_table_desc {
	const char *sql_name;
	const char *label; /* for reports: "route", "access-list entry", ... */
	bool has_position;
	bool has_id;
	unsigned key_mask;     /* columns that identify a row for the diff (0: the whole row) */
	unsigned ref_key_mask; /* columns whose values (joined by \x1f) other rows reference */
	int ncols;
	struct model_col cols[MODEL_MAX_COLS];
};

struct model_row {
	char **v;
	uint32_t line;      /* source line (import) or 0 */
	bool secret_masked; /* the text had a masked secret (********) for this row */
};

struct model_rows {
	struct model_row *rows;
	size_t n, cap;
};

struct model {
	struct model_rows t[MT_COUNT];
};

const struct model_table_desc *model_table_desc(enum model_table t);
/* Column index by name, -1 if the table has no such column. */
int model_col_index(enum model_table t, const char *col);

struct model *model_new(void);
void model_free(struct model *m);

/* Appends a row with every column at its default; returns NULL on allocation failure. */
struct model_row *model_row_add(struct model *m, enum model_table t);
/* Sets (a copy of) a value; val NULL sets SQL NULL. Returns 0 or -ENOMEM/-EINVAL (no such column). */
int model_row_set(struct model_row *r, enum model_table t, const char *col, const char *val);
int model_row_setf(struct model_row *r, enum model_table t, const char *col, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
const char *model_row_get(const struct model_row *r, enum model_table t, const char *col);
/* Removes row i of table t, keeping order. */
void model_row_remove(struct model *m, enum model_table t, size_t i);

/* Identity key of a row for the diff (table-local), malloc'd. */
char *model_row_key(const struct model_row *r, enum model_table t);
/* The key other rows use to reference this one, malloc'd; NULL if none (e.g. no nameif). */
char *model_row_ref_key(const struct model_row *r, enum model_table t);
/* "col=value col=value" with secrets shown as (set)/(not set), malloc'd. */
char *model_row_describe(const struct model_row *r, enum model_table t);
bool model_row_equal(const struct model_row *a, const struct model_row *b, enum model_table t);

/* Loads every config table. */
int model_load(struct db *db, struct model **out, struct pc_err *err);
/* Replaces the config tables' contents with m inside the caller's transaction. ip_pool rows are
 * kept by name and updated in place so ip_lease rows survive; pools no longer present are deleted
 * (with their leases). Runtime and admin tables are not touched. */
int model_save(struct db *db, const struct model *m, struct pc_err *err);

#endif
