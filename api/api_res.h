/* Descriptors for the generic resource layer: one struct api_resource per configuration table,
 * its columns with JSON types and validators, write-only secrets, name<->id references and inline
 * child tables. api/resource.c does list/get/create/replace/patch/delete for all of them. */
#ifndef PORTCULLIS_API_API_RES_H
#define PORTCULLIS_API_API_RES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "gateway/core/err.h"

enum res_type {
	RT_INT,
	RT_BOOL,
	RT_TEXT,
	RT_IP4,
	RT_MASK,
	RT_ENUM,
	RT_REF,      /* integer id of a row in ref_table; alias takes the referent's name */
	RT_SECRET,   /* write-only text; output as <json>_set */
	RT_PASSWORD, /* write-only; stored as a PBKDF2 hash (local_user.password_hash) */
};

#define RF_REQUIRED  0x1  /* must be given (create, replace) */
#define RF_NOTNULL   0x2  /* null refused (SQL NOT NULL with a default) */
#define RF_KEY       0x4  /* the key: read-only "id", or given by the client (name, priority) */
#define RF_READONLY  0x8  /* returned, never written by clients */
#define RF_POSITION  0x10 /* appended at max+1 within the parent when not given */

#define RES_TEXT_MAX 255

struct res_col {
	const char *name; /* SQL column */
	const char *json; /* JSON name when it differs (secrets: key_secret -> "key") */
	enum res_type type;
	unsigned flags;
	int64_t min, max; /* RT_INT range; RT_TEXT maximum length (0: RES_TEXT_MAX) */
	const char *const *enums;
	const char *ref_table; /* RT_REF */
	const char *ref_name;  /* RT_REF: name column of ref_table */
	const char *alias;     /* RT_REF: JSON name that takes the referent's name */
	const char *def;       /* value used when omitted on create/replace (NULL: SQL NULL) */
};

struct api_resource;

struct res_child {
	const char *json;               /* "members" */
	const struct api_resource *res; /* table rows (parent_fk names the link), or NULL */
	/* scalar children (crypto map transform sets, peers): one value per row */
	const char *table, *fk;
	const struct res_col *col;
	const char *match; /* column that identifies a child across a replace (keeps secrets) */
};

struct api_resource {
	const char *path;  /* URL path below /api/v1, e.g. "pools", "access-lists/{id}/entries" */
	const char *table; /* SQL table */
	const char *summary;
	bool routed; /* false: only used inline in its parent */
	const struct res_col *cols;
	size_t ncols;
	const struct res_child *children;
	size_t nchildren;
	const char *order_by;  /* SQL ORDER BY text */
	const char *search;    /* column matched by ?q= */
	const char *parent_fk; /* nested resources and inline children: the parent's id column */
	/* cross-field checks after per-field validation (row: SQL column -> value) */
	int (*check)(struct db *db, json_t *row, struct pc_err *err);
	/* refuse a delete that would leave something dangling (409) */
	int (*before_delete)(struct db *db, json_t *row, struct pc_err *err);
	/* adds "warnings" for settings that weaken security */
	void (*warnings)(json_t *item, json_t *warnings);
	/* adjusts the output item (e.g. write-only settings) */
	void (*fixup)(json_t *item);
};

#endif
