/* The generic resource layer: list (paging, ?q=, per-field filters), get, create, replace, patch
 * and delete for every descriptor in api/resources.c. Rows travel as JSON objects keyed by SQL
 * column; validation writes into such a row, the row is written with one prepared statement, and
 * the API item is made from the row (secrets become <name>_set, references get their name too). */
#include "api/api_admin.h"
#include "api/api_hash.h"
#include "api/api_int.h"
#include "api/api_res.h"
#include "gateway/core/log.h"
#include "gateway/core/sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_MAX 4096

/* The SQL here is made from the descriptor tables (table and column names; values are always
 * bound), so a statement longer than SQL_MAX is a programming error: it is refused with an
 * internal error, never cut (a cut WHERE could still be valid SQL). */
static int
sql_too_long(struct pc_err *err, const char *sql)
{
	log_error(LOG_API, "SQL statement longer than %d bytes: %.60s...", SQL_MAX, sql);
	return pc_err_set(err, PC_ERR_INTERNAL, "", "SQL statement longer than %d bytes", SQL_MAX);
}

/* Prepares the statement in q (see sql_too_long). */
static int
prepare_sb(struct db *db, const struct sbuf *q, sqlite3_stmt **st, struct pc_err *err)
{
	if (!sbuf_ok(q))
		return sql_too_long(err, q->b);
	return db_prepare(db, q->b, st, err);
}

/* Formats and prepares one statement (see sql_too_long). */
static int prepare_fmt(struct db *db, sqlite3_stmt **st, struct pc_err *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
prepare_fmt(struct db *db, sqlite3_stmt **st, struct pc_err *err, const char *fmt, ...)
{
	char sql[SQL_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return sql_too_long(err, sql);
	return db_prepare(db, sql, st, err);
}

/* "field[i]" for error messages, cut to len if need be. */
static const char *
field_index(char *buf, size_t len, const char *field, size_t i)
{
	struct sbuf b;

	sbuf_init(&b, buf, len);
	sbuf_printf(&b, "%s[%zu]", field, i);
	return buf;
}

/* "prefix.key" (or "key") for error messages, cut to len if need be. */
static const char *
field_path(char *buf, size_t len, const char *prefix, const char *key)
{
	struct sbuf b;

	sbuf_init(&b, buf, len);
	sbuf_printf(&b, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key);
	return buf;
}

const char *
api_resource_path(const struct api_resource *res)
{
	return res->routed ? res->path : NULL;
}

const char *
api_resource_summary(const struct api_resource *res)
{
	return res->summary;
}

bool
api_resource_nested(const struct api_resource *res)
{
	return res->parent_fk != NULL && res->routed;
}

static const char *
col_json(const struct res_col *c)
{
	return c->json != NULL ? c->json : c->name;
}

static const struct res_col *
key_col(const struct api_resource *res)
{
	for (size_t i = 0; i < res->ncols; i++)
		if (res->cols[i].flags & RF_KEY)
			return &res->cols[i];
	return NULL;
}

static bool
key_is_id(const struct api_resource *res)
{
	const struct res_col *k = key_col(res);

	return k != NULL && (k->flags & RF_READONLY);
}

/* ---- SQL helpers ---- */

static void
bind_json(sqlite3_stmt *st, int idx, json_t *v)
{
	if (v == NULL || json_is_null(v))
		sqlite3_bind_null(st, idx);
	else if (json_is_integer(v))
		sqlite3_bind_int64(st, idx, json_integer_value(v));
	else if (json_is_boolean(v))
		sqlite3_bind_int(st, idx, json_is_true(v));
	else
		sqlite3_bind_text(st, idx, json_string_value(v), -1, SQLITE_TRANSIENT);
}

/* The column list of res into q. */
static void
select_list(const struct api_resource *res, struct sbuf *q)
{
	for (size_t i = 0; i < res->ncols; i++)
		sbuf_printf(q, "%s%s", i > 0 ? ", " : "", res->cols[i].name);
	if (res->parent_fk != NULL)
		sbuf_printf(q, ", %s", res->parent_fk);
}

static json_t *
row_from_stmt(const struct api_resource *res, sqlite3_stmt *st)
{
	json_t *row = json_object();

	for (size_t i = 0; i < res->ncols; i++)
		json_object_set_new(row, res->cols[i].name, api_sql_value(st, (int)i));
	if (res->parent_fk != NULL)
		json_object_set_new(row, res->parent_fk, api_sql_value(st, (int)res->ncols));
	return row;
}

/* Loads the row whose key is key (within parent when nested). 1 found, 0 not, <0 error. */
static int
load_row(struct db *db, const struct api_resource *res, json_t *key, json_t *parent, json_t **out,
         struct pc_err *err)
{
	char sql[SQL_MAX];
	struct sbuf q;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	sbuf_init(&q, sql, sizeof(sql));
	sbuf_str(&q, "SELECT ");
	select_list(res, &q);
	sbuf_printf(&q, " FROM %s WHERE %s = ?", res->table, key_col(res)->name);
	if (parent != NULL)
		sbuf_printf(&q, " AND %s = ?", res->parent_fk);
	rc = prepare_sb(db, &q, &st, err);
	if (rc < 0)
		return rc;
	bind_json(st, 1, key);
	if (parent != NULL)
		bind_json(st, 2, parent);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = row_from_stmt(res, st);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(db, err, res->table);
	}
	sqlite3_finalize(st);
	return rc;
}

static json_t *
ref_name(struct db *db, const struct res_col *c, json_t *id)
{
	sqlite3_stmt *st;
	json_t *out = json_null();

	if (!json_is_integer(id))
		return out;
	if (prepare_fmt(db, &st, NULL, "SELECT %s FROM %s WHERE id = ?", c->ref_name,
	                c->ref_table) < 0)
		return out;
	bind_json(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_decref(out);
		out = api_sql_value(st, 0);
	}
	sqlite3_finalize(st);
	return out;
}

/* 1 found (*id set), 0 not found, <0 error */
static int
ref_lookup(struct db *db, const struct res_col *c, const char *name, int64_t *id)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (prepare_fmt(db, &st, NULL, "SELECT id FROM %s WHERE %s = ?", c->ref_table,
	                c->ref_name) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 1;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
ref_exists(struct db *db, const struct res_col *c, int64_t id)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (prepare_fmt(db, &st, NULL, "SELECT 1 FROM %s WHERE id = ?", c->ref_table) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc;
}

/* ---- output ---- */

static json_t *item_from_row(struct db *db, const struct api_resource *res, json_t *row);

static json_t *
scalar_out(struct db *db, const struct res_col *c, json_t *v)
{
	if (c->type == RT_REF)
		return ref_name(db, c, v);
	if (c->type == RT_BOOL)
		return json_boolean(json_integer_value(v) != 0);
	return json_incref(v);
}

static json_t *
children_out(struct db *db, const struct res_child *ch, json_t *parent_id)
{
	char sql[SQL_MAX];
	struct sbuf q;
	sqlite3_stmt *st;
	json_t *arr = json_array();

	sbuf_init(&q, sql, sizeof(sql));
	if (ch->res != NULL) {
		sbuf_str(&q, "SELECT ");
		select_list(ch->res, &q);
		sbuf_printf(&q, " FROM %s WHERE %s = ? ORDER BY %s", ch->res->table,
		            ch->res->parent_fk, ch->res->order_by);
	} else {
		sbuf_printf(&q, "SELECT %s FROM %s WHERE %s = ? ORDER BY position", ch->col->name,
		            ch->table, ch->fk);
	}
	if (prepare_sb(db, &q, &st, NULL) < 0)
		return arr;
	bind_json(st, 1, parent_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (ch->res != NULL) {
			json_t *row = row_from_stmt(ch->res, st);

			json_array_append_new(arr, item_from_row(db, ch->res, row));
			json_decref(row);
		} else {
			json_t *v = api_sql_value(st, 0);

			json_array_append_new(arr, scalar_out(db, ch->col, v));
			json_decref(v);
		}
	}
	sqlite3_finalize(st);
	return arr;
}

static json_t *
item_from_row(struct db *db, const struct api_resource *res, json_t *row)
{
	json_t *item = json_object(), *warn;

	for (size_t i = 0; i < res->ncols; i++) {
		const struct res_col *c = &res->cols[i];
		json_t *v = json_object_get(row, c->name);
		char name[96];

		switch (c->type) {
		case RT_SECRET:
		case RT_PASSWORD:
			snprintf(name, sizeof(name), "%s_set", col_json(c));
			json_object_set_new(item, name,
			                    json_boolean(v != NULL && !json_is_null(v)));
			break;
		case RT_BOOL:
			json_object_set_new(item, col_json(c),
			                    json_boolean(json_integer_value(v) != 0));
			break;
		case RT_REF:
			json_object_set(item, col_json(c), v);
			if (c->alias != NULL)
				json_object_set_new(item, c->alias, ref_name(db, c, v));
			break;
		default:
			json_object_set(item, col_json(c), v);
		}
	}
	if (res->parent_fk != NULL && res->routed)
		json_object_set(item, res->parent_fk, json_object_get(row, res->parent_fk));
	for (size_t i = 0; i < res->nchildren; i++)
		json_object_set_new(item, res->children[i].json,
		                    children_out(db, &res->children[i],
		                                 json_object_get(row, key_col(res)->name)));
	if (res->fixup != NULL)
		res->fixup(item);
	if (res->warnings != NULL) {
		warn = json_array();
		res->warnings(item, warn);
		json_object_set_new(item, "warnings", warn);
	}
	return item;
}

/* ---- validation ---- */

static bool
text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* -EBADMSG: 400 (type); -EINVAL: 422 (value). */
static int
validate_value(struct db *db, const struct res_col *c, const char *field, json_t *v, bool by_name,
               json_t *row, struct pc_err *err)
{
	uint32_t a;
	int64_t id;
	int rc;

	if (json_is_null(v)) {
		if (c->flags & (RF_NOTNULL | RF_REQUIRED))
			return pc_err_set(err, PC_ERR_INVALID, field, "%s: must not be null",
			                  field);
		json_object_set_new(row, c->name, json_null());
		return 0;
	}
	switch (c->type) {
	case RT_INT:
		if (!json_is_integer(v))
			goto type;
		if (json_integer_value(v) < c->min || json_integer_value(v) > c->max)
			return pc_err_set(err, PC_ERR_INVALID, field,
			                  "%s: expected %lld-%lld, got %lld", field,
			                  (long long)c->min, (long long)c->max,
			                  (long long)json_integer_value(v));
		json_object_set(row, c->name, v);
		return 0;
	case RT_BOOL:
		if (!json_is_boolean(v))
			goto type;
		json_object_set_new(row, c->name, json_integer(json_is_true(v)));
		return 0;
	case RT_REF:
		if (json_is_string(v) && by_name) {
			rc = ref_lookup(db, c, json_string_value(v), &id);
			if (rc < 0)
				return pc_err_set(err, PC_ERR_INTERNAL, field, "lookup failed");
			if (rc == 0)
				return pc_err_set(err, PC_ERR_INVALID, field,
				                  "%s: no %s named '%.64s'", field, c->ref_table,
				                  json_string_value(v));
			json_object_set_new(row, c->name, json_integer(id));
			return 0;
		}
		if (!json_is_integer(v))
			goto type;
		rc = ref_exists(db, c, json_integer_value(v));
		if (rc <= 0)
			return pc_err_set(err, PC_ERR_INVALID, field, "%s: no %s with id %lld",
			                  field, c->ref_table, (long long)json_integer_value(v));
		json_object_set(row, c->name, v);
		return 0;
	default:
		break;
	}
	if (!json_is_string(v))
		goto type;
	{
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		int64_t max = c->max > 0 ? c->max : RES_TEXT_MAX;

		if (strlen(s) != len || !text_ok(s))
			return pc_err_set(err, PC_ERR_INVALID, field,
			                  "%s: control characters are not allowed", field);
		if ((int64_t)len > max)
			return pc_err_set(err, PC_ERR_INVALID, field,
			                  "%s: expected at most %lld characters, got %zu", field,
			                  (long long)max, len);
		switch (c->type) {
		case RT_IP4:
			if (db_ip4_parse(s, &a) < 0)
				return pc_err_set(
				        err, PC_ERR_INVALID, field,
				        "%s: expected a dotted-quad IPv4 address, got '%.40s'",
				        field, s);
			break;
		case RT_MASK:
			if (db_ip4_parse(s, &a) < 0 || !db_ip4_mask_ok(a))
				return pc_err_set(err, PC_ERR_INVALID, field,
				                  "%s: expected a contiguous netmask such as "
				                  "255.255.255.0, got '%.40s'",
				                  field, s);
			break;
		case RT_ENUM: {
			char allowed[512];
			struct sbuf al;

			for (int i = 0; c->enums[i] != NULL; i++)
				if (strcmp(c->enums[i], s) == 0)
					goto ok;
			sbuf_init(&al, allowed, sizeof(allowed));
			for (int i = 0; c->enums[i] != NULL; i++)
				sbuf_printf(&al, "%s%s", i > 0 ? ", " : "", c->enums[i]);
			return pc_err_set(err, PC_ERR_INVALID, field,
			                  "%s: expected one of %s, got '%.40s'", field, allowed, s);
		}
		case RT_SECRET:
			if (len == 0)
				return pc_err_set(err, PC_ERR_INVALID, field,
				                  "%s: must not be empty (use null to unset)",
				                  field);
			break;
		case RT_PASSWORD: {
			char hash[API_HASH_MAX];

			if (len < 1)
				return pc_err_set(err, PC_ERR_INVALID, field,
				                  "%s: must not be empty", field);
			if (api_hash_password(s, hash, sizeof(hash)) < 0)
				return pc_err_set(err, PC_ERR_INTERNAL, field, "hashing failed");
			json_object_set_new(row, c->name, json_string(hash));
			json_object_set_new(row, "hash_kind", json_string("pbkdf2-sha256"));
			OPENSSL_cleanse(hash, sizeof(hash));
			return 0;
		}
		default:
			break;
		}
	}
ok:
	json_object_set(row, c->name, v);
	return 0;
type : {
	static const char *const tn[] = {
	        [RT_INT] = "an integer",
	        [RT_BOOL] = "true or false",
	        [RT_TEXT] = "a string",
	        [RT_IP4] = "an IPv4 address string",
	        [RT_MASK] = "a netmask string",
	        [RT_ENUM] = "a string",
	        [RT_REF] = "an integer id or a name",
	        [RT_SECRET] = "a string",
	        [RT_PASSWORD] = "a string",
	};

	pc_err_set(err, PC_ERR_INVALID, field, "%s: expected %s, got %s", field, tn[c->type],
	           json_is_object(v)    ? "an object"
	           : json_is_array(v)   ? "an array"
	           : json_is_string(v)  ? "a string"
	           : json_is_boolean(v) ? "a boolean"
	           : json_is_real(v)    ? "a number with a fraction"
	                                : "a number");
	return -EBADMSG;
}
}

static void
row_defaults(const struct api_resource *res, json_t *row)
{
	for (size_t i = 0; i < res->ncols; i++) {
		const struct res_col *c = &res->cols[i];
		json_t *v = json_null();

		if (c->def != NULL) {
			if (c->type == RT_INT || c->type == RT_BOOL)
				v = json_integer(strtoll(c->def, NULL, 10));
			else
				v = json_string(c->def);
		}
		json_object_set_new(row, c->name, v);
	}
}

static bool
is_output_only(const struct api_resource *res, const char *key)
{
	size_t n = strlen(key);

	if (strcmp(key, "warnings") == 0)
		return true;
	if (res->parent_fk != NULL && strcmp(key, res->parent_fk) == 0)
		return true;
	for (size_t i = 0; i < res->ncols; i++) {
		const struct res_col *c = &res->cols[i];
		const char *j = col_json(c);

		if ((c->type == RT_SECRET || c->type == RT_PASSWORD) && n == strlen(j) + 4 &&
		    strncmp(key, j, strlen(j)) == 0 && strcmp(key + strlen(j), "_set") == 0)
			return true;
		if ((c->flags & RF_READONLY) && strcmp(key, j) == 0)
			return true;
	}
	return false;
}

struct child_input {
	const struct res_child *ch;
	json_t *items; /* validated rows (or scalar values) */
};

static int validate_object(struct db *db, const struct api_resource *res, json_t *in, json_t *row,
                           const char *prefix, struct child_input *kids, struct pc_err *err);

static int
validate_children(struct db *db, const struct res_child *ch, json_t *arr, const char *field,
                  json_t **out, struct pc_err *err)
{
	size_t i;
	json_t *v;
	int rc;

	if (!json_is_array(arr)) {
		pc_err_set(err, PC_ERR_INVALID, field, "%s: expected an array", field);
		return -EBADMSG;
	}
	if (json_array_size(arr) > 10000)
		return pc_err_set(err, PC_ERR_INVALID, field, "%s: at most 10000 entries", field);
	*out = json_array();
	json_array_foreach(arr, i, v)
	{
		char f[192];
		json_t *row = json_object();

		field_index(f, sizeof(f), field, i);
		if (ch->res != NULL) {
			row_defaults(ch->res, row);
			if (!json_is_object(v)) {
				pc_err_set(err, PC_ERR_INVALID, f, "%s: expected an object", f);
				rc = -EBADMSG;
			} else {
				rc = validate_object(db, ch->res, v, row, f, NULL, err);
			}
			if (rc == 0 && ch->res->check != NULL) {
				rc = ch->res->check(db, row, err);
				if (rc < 0 && strncmp(err->field, f, strlen(f)) != 0) {
					char inner[sizeof(err->field)];

					memcpy(inner, err->field, sizeof(inner));
					field_path(err->field, sizeof(err->field), f, inner);
				}
			}
		} else {
			rc = validate_value(db, ch->col, f, v, true, row, err);
			if (rc == 0 && json_is_null(json_object_get(row, ch->col->name)))
				rc = pc_err_set(err, PC_ERR_INVALID, f, "%s: must not be null", f);
		}
		if (rc < 0) {
			json_decref(row);
			json_decref(*out);
			*out = NULL;
			return rc;
		}
		/* the ref alias was resolved into the column; keep whether a secret was given */
		if (ch->res != NULL && json_is_object(v))
			json_object_set_new(row, "\x01given", json_deep_copy(v));
		json_array_append_new(*out, row);
	}
	return 0;
}

/* Finds the column a JSON key names (directly or as a reference alias). */
static const struct res_col *
col_by_key(const struct api_resource *res, const char *key, bool *by_alias)
{
	*by_alias = false;
	for (size_t i = 0; i < res->ncols; i++) {
		if (strcmp(col_json(&res->cols[i]), key) == 0)
			return &res->cols[i];
		if (res->cols[i].alias != NULL && strcmp(res->cols[i].alias, key) == 0) {
			*by_alias = true;
			return &res->cols[i];
		}
	}
	return NULL;
}

static const struct res_child *
child_by_key(const struct api_resource *res, const char *key, size_t *idx)
{
	for (size_t i = 0; i < res->nchildren; i++)
		if (strcmp(res->children[i].json, key) == 0) {
			*idx = i;
			return &res->children[i];
		}
	return NULL;
}

static int
validate_object(struct db *db, const struct api_resource *res, json_t *in, json_t *row,
                const char *prefix, struct child_input *kids, struct pc_err *err)
{
	const char *key;
	json_t *v;
	int rc;

	/* unknown fields first, so they are reported whatever else is wrong */
	json_object_foreach(in, key, v)
	{
		char field[160];
		bool by_alias;
		size_t idx;

		if (col_by_key(res, key, &by_alias) != NULL ||
		    child_by_key(res, key, &idx) != NULL || is_output_only(res, key))
			continue;
		field_path(field, sizeof(field), prefix, key);
		pc_err_set(err, PC_ERR_INVALID, field, "%s: unknown field", field);
		return -EBADMSG;
	}
	json_object_foreach(in, key, v)
	{
		char field[160];
		const struct res_col *c;
		const struct res_child *ch;
		bool by_alias = false;
		size_t idx = 0;

		field_path(field, sizeof(field), prefix, key);
		c = col_by_key(res, key, &by_alias);
		if (c == NULL) {
			ch = child_by_key(res, key, &idx);
			if (ch == NULL)
				continue; /* output-only field: ignored */
			if (kids == NULL) {
				pc_err_set(err, PC_ERR_INVALID, field,
				           "%s: nested arrays are not accepted here", field);
				return -EBADMSG;
			}
			rc = validate_children(db, ch, v, field, &kids[idx].items, err);
			if (rc < 0)
				return rc;
			kids[idx].ch = ch;
			continue;
		}
		if (c->flags & RF_READONLY)
			continue;
		if (by_alias && !json_is_string(v) && !json_is_null(v)) {
			pc_err_set(err, PC_ERR_INVALID, field,
			           "%s: expected a name (string), got %s", field,
			           json_is_integer(v) ? "a number" : "another type");
			return -EBADMSG;
		}
		if ((c->flags & RF_KEY) && json_object_get(row, "\x01key_fixed") != NULL) {
			/* the key of an existing item: same type checks, but it may not change */
			json_t *tmp = json_object();

			rc = validate_value(db, c, field, v, by_alias, tmp, err);
			if (rc == 0 && !json_equal(json_object_get(tmp, c->name),
			                           json_object_get(row, c->name)))
				rc = pc_err_set(err, PC_ERR_INVALID, field,
				                "%s: the key cannot be changed (delete and create)",
				                field);
			json_decref(tmp);
			if (rc < 0)
				return rc;
			continue;
		}
		rc = validate_value(db, c, field, v, by_alias, row, err);
		if (rc < 0)
			return rc;
	}
	/* both the id and the name given: they must agree */
	for (size_t i = 0; i < res->ncols; i++) {
		const struct res_col *c = &res->cols[i];
		json_t *byid, *byname;
		int64_t id;

		if (c->type != RT_REF || c->alias == NULL)
			continue;
		byid = json_object_get(in, c->name);
		byname = json_object_get(in, c->alias);
		if (json_is_integer(byid) && json_is_string(byname) &&
		    (ref_lookup(db, c, json_string_value(byname), &id) != 1 ||
		     id != json_integer_value(byid)))
			return pc_err_set(err, PC_ERR_INVALID, c->alias,
			                  "%s and %s name different objects", c->name, c->alias);
	}
	json_object_del(row, "\x01key_fixed");
	for (size_t i = 0; i < res->ncols; i++) {
		const struct res_col *c = &res->cols[i];
		char field[160];

		if (!(c->flags & RF_REQUIRED) || c->flags & RF_READONLY)
			continue;
		if (json_is_null(json_object_get(row, c->name))) {
			field_path(field, sizeof(field), prefix,
			           c->alias != NULL ? c->alias : col_json(c));
			return pc_err_set(err, PC_ERR_INVALID, field, "%s: required", field);
		}
	}
	return 0;
}

/* ---- writes ---- */

static int
write_row(struct db *db, const struct api_resource *res, json_t *row, bool insert, json_t *key,
          int64_t *new_id, struct pc_err *err)
{
	char sql[SQL_MAX];
	struct sbuf q;
	sqlite3_stmt *st;
	int idx = 1, rc;
	bool auto_id = key_is_id(res);

	sbuf_init(&q, sql, sizeof(sql));
	if (insert) {
		size_t vals = 0;

		sbuf_printf(&q, "INSERT INTO %s (", res->table);
		for (size_t i = 0; i < res->ncols; i++) {
			if (auto_id && (res->cols[i].flags & RF_KEY))
				continue;
			sbuf_printf(&q, "%s%s", vals++ > 0 ? ", " : "", res->cols[i].name);
		}
		if (res->parent_fk != NULL)
			sbuf_printf(&q, ", %s", res->parent_fk);
		sbuf_str(&q, ") VALUES (");
		for (size_t i = 0; i < vals + (res->parent_fk != NULL); i++)
			sbuf_str(&q, i > 0 ? ", ?" : "?");
		sbuf_str(&q, ")");
	} else {
		size_t sets = 0;

		sbuf_printf(&q, "UPDATE %s SET ", res->table);
		for (size_t i = 0; i < res->ncols; i++) {
			if (res->cols[i].flags & RF_KEY)
				continue;
			sbuf_printf(&q, "%s%s = ?", sets++ > 0 ? ", " : "", res->cols[i].name);
		}
		if (sets == 0)
			return 0; /* only the key (isakmp-interfaces): nothing to update */
		sbuf_printf(&q, " WHERE %s = ?", key_col(res)->name);
	}
	rc = prepare_sb(db, &q, &st, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < res->ncols; i++) {
		if ((res->cols[i].flags & RF_KEY) && (auto_id || !insert))
			continue;
		bind_json(st, idx++, json_object_get(row, res->cols[i].name));
	}
	if (insert && res->parent_fk != NULL)
		bind_json(st, idx++, json_object_get(row, res->parent_fk));
	if (!insert)
		bind_json(st, idx++, key);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(db, err, res->path);
	else if (new_id != NULL)
		*new_id = sqlite3_last_insert_rowid(db_sqlite(db));
	sqlite3_finalize(st);
	return rc;
}

static int
next_position(struct db *db, const struct api_resource *res, const char *col, json_t *parent,
              int64_t *pos)
{
	sqlite3_stmt *st;
	int rc;

	if (parent != NULL)
		rc = prepare_fmt(db, &st, NULL,
		                 "SELECT coalesce(max(%s), 0) + 1 FROM %s WHERE %s = ?", col,
		                 res->table, res->parent_fk);
	else
		rc = prepare_fmt(db, &st, NULL, "SELECT coalesce(max(%s), 0) + 1 FROM %s", col,
		                 res->table);
	if (rc < 0)
		return -EIO;
	if (parent != NULL)
		bind_json(st, 1, parent);
	*pos = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
	sqlite3_finalize(st);
	return 0;
}

static int
write_children(struct db *db, const struct res_child *ch, json_t *parent_id, json_t *items,
               struct pc_err *err)
{
	sqlite3_stmt *st;
	json_t *old = json_array(), *row;
	size_t i;
	int rc = 0;

	/* remember secrets of the rows being replaced, by their match column */
	if (ch->res != NULL && ch->match != NULL) {
		char sql[SQL_MAX];
		struct sbuf q;

		sbuf_init(&q, sql, sizeof(sql));
		sbuf_str(&q, "SELECT ");
		select_list(ch->res, &q);
		sbuf_printf(&q, " FROM %s WHERE %s = ?", ch->res->table, ch->res->parent_fk);
		if (prepare_sb(db, &q, &st, err) < 0) {
			json_decref(old);
			return -EIO;
		}
		bind_json(st, 1, parent_id);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(old, row_from_stmt(ch->res, st));
		sqlite3_finalize(st);
	}
	rc = prepare_fmt(db, &st, err, "DELETE FROM %s WHERE %s = ?",
	                 ch->res != NULL ? ch->res->table : ch->table,
	                 ch->res != NULL ? ch->res->parent_fk : ch->fk);
	if (rc < 0)
		goto out;
	bind_json(st, 1, parent_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(db, err, "replace children");
	sqlite3_finalize(st);
	if (rc < 0)
		goto out;
	json_array_foreach(items, i, row)
	{
		if (ch->res == NULL) {
			rc = prepare_fmt(db, &st, err,
			                 "INSERT INTO %s (%s, position, %s) VALUES (?, ?, ?)",
			                 ch->table, ch->fk, ch->col->name);
			if (rc < 0)
				goto out;
			bind_json(st, 1, parent_id);
			sqlite3_bind_int64(st, 2, (int64_t)i + 1);
			bind_json(st, 3, json_object_get(row, ch->col->name));
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = db_error(db, err, ch->json);
			sqlite3_finalize(st);
			if (rc < 0)
				goto out;
			continue;
		}
		json_t *given = json_object_get(row, "\x01given");

		for (size_t c = 0; c < ch->res->ncols; c++) {
			const struct res_col *col = &ch->res->cols[c];
			size_t j;
			json_t *o;

			if (col->flags & RF_POSITION)
				json_object_set_new(row, col->name,
				                    json_integer((json_int_t)i + 1));
			if (col->type != RT_SECRET || ch->match == NULL ||
			    json_object_get(given, col_json(col)) != NULL)
				continue;
			json_array_foreach(old, j, o)
			{
				if (json_equal(json_object_get(o, ch->match),
				               json_object_get(row, ch->match)))
					json_object_set(row, col->name,
					                json_object_get(o, col->name));
			}
		}
		json_object_del(row, "\x01given");
		json_object_set(row, ch->res->parent_fk, parent_id);
		rc = write_row(db, ch->res, row, true, NULL, NULL, err);
		if (rc < 0) {
			field_index(err->field, sizeof(err->field), ch->json, i);
			goto out;
		}
	}
out:
	json_decref(old);
	return rc;
}

/* SQLite constraint messages -> 409 with the field named where the message names a column. */
static void
constraint_err(const struct api_resource *res, struct pc_err *err)
{
	const char *u = strstr(err->msg, "UNIQUE constraint failed: ");

	if (strstr(err->msg, "FOREIGN KEY constraint failed") != NULL) {
		err->kind = PC_ERR_CONFLICT;
		return;
	}
	if (u == NULL)
		return;
	err->kind = PC_ERR_CONFLICT;
	u = strchr(u + 26, '.');
	for (size_t i = 0; u != NULL && i < res->ncols; i++) {
		size_t n = strlen(res->cols[i].name);

		if (strncmp(u + 1, res->cols[i].name, n) == 0 &&
		    (u[1 + n] == '\0' || u[1 + n] == ',' || u[1 + n] == ')')) {
			const char *j = res->cols[i].alias != NULL ? res->cols[i].alias
			                                           : col_json(&res->cols[i]);

			snprintf(err->field, sizeof(err->field), "%s", j);
			break;
		}
	}
}

/* ---- request plumbing ---- */

struct target {
	const struct api_resource *res;
	json_t *parent; /* nested: the parent id */
	json_t *key;    /* item key from the path, or NULL for the collection */
};

static int
parse_int_arg(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Resolves the path arguments; replies 404 and returns -ENOENT on a malformed id. */
static int
target_of(struct api_req *req, struct target *t)
{
	const struct api_resource *res = req->route->res;
	const struct res_col *k = key_col(res);
	int a = 0;
	int64_t v;

	t->res = res;
	t->parent = NULL;
	t->key = NULL;
	if (res->parent_fk != NULL) {
		if (req->nargs < 1 || parse_int_arg(req->args[0], &v) < 0)
			goto notfound;
		t->parent = json_integer(v);
		a = 1;
		/* the parent must exist */
		{
			sqlite3_stmt *st;
			int found = 0;
			const char *ptable =
			        strcmp(res->table, "access_list_entry") == 0 ? "access_list" : NULL;

			if (ptable != NULL) {
				if (prepare_fmt(req->db, &st, NULL, "SELECT 1 FROM %s WHERE id = ?",
				                ptable) == 0) {
					sqlite3_bind_int64(st, 1, v);
					found = sqlite3_step(st) == SQLITE_ROW;
					sqlite3_finalize(st);
				}
				if (!found)
					goto notfound;
			}
		}
	}
	if (req->nargs > a) {
		if (k->type == RT_TEXT || k->type == RT_ENUM) {
			t->key = json_string(req->args[a]);
		} else {
			if (parse_int_arg(req->args[a], &v) < 0)
				goto notfound;
			t->key = json_integer(v);
		}
	}
	return 0;
notfound:
	json_decref(t->parent);
	t->parent = NULL;
	api_reply_error(req, 404, "not_found", NULL, "no %s at %s", res->table, req->url);
	return -ENOENT;
}

static void
target_free(struct target *t)
{
	json_decref(t->parent);
	json_decref(t->key);
}

static json_t *
item_load(struct api_req *req, struct target *t, json_t *key, struct pc_err *err, int *rc)
{
	json_t *row = NULL, *item;

	*rc = load_row(req->db, t->res, key, t->parent, &row, err);
	if (*rc <= 0)
		return NULL;
	item = item_from_row(req->db, t->res, row);
	json_decref(row);
	return item;
}

void
api_res_get(struct api_req *req)
{
	struct target t;
	struct pc_err err = {0};
	json_t *item;
	int rc;

	if (target_of(req, &t) < 0)
		return;
	item = item_load(req, &t, t.key, &err, &rc);
	if (rc < 0)
		api_reply_err(req, &err);
	else if (item == NULL)
		api_reply_error(req, 404, "not_found", NULL, "no %s at %s", t.res->table, req->url);
	else
		api_reply_json(req, 200, item);
	target_free(&t);
}

void
api_res_list(struct api_req *req)
{
	struct target t;
	char sql[SQL_MAX], where[SQL_MAX];
	struct sbuf w, sq;
	json_t *binds = json_array(), *items = json_array(), *v;
	sqlite3_stmt *st = NULL;
	int64_t offset, limit, total = 0;
	const char *q;
	size_t i;
	int rc;

	if (target_of(req, &t) < 0 || api_query_paging(req, &offset, &limit, API_PAGE_MAX) < 0)
		goto out;
	sbuf_init(&w, where, sizeof(where));
	sbuf_str(&w, " WHERE 1 = 1");
	if (t.parent != NULL) {
		sbuf_printf(&w, " AND %s = ?", t.res->parent_fk);
		json_array_append(binds, t.parent);
	}
	q = api_query(req, "q");
	if (q != NULL && q[0] != '\0' && t.res->search != NULL) {
		sbuf_printf(&w, " AND %s LIKE '%%' || ? || '%%' ESCAPE '\\'", t.res->search);
		json_array_append_new(binds, json_string(q));
	}
	for (size_t c = 0; c < t.res->ncols; c++) {
		const struct res_col *col = &t.res->cols[c];
		const char *fv = NULL;

		if (col->type == RT_SECRET || col->type == RT_PASSWORD)
			continue;
		fv = api_query(req, col_json(col));
		if (fv != NULL) {
			sbuf_printf(&w, " AND %s = ?", col->name);
			if (col->type == RT_BOOL)
				json_array_append_new(binds, json_integer(strcmp(fv, "true") == 0 ||
				                                          strcmp(fv, "1") == 0));
			else if (col->type == RT_INT || col->type == RT_REF)
				json_array_append_new(binds, json_integer(strtoll(fv, NULL, 10)));
			else
				json_array_append_new(binds, json_string(fv));
		}
		if (col->alias != NULL && (fv = api_query(req, col->alias)) != NULL) {
			sbuf_printf(&w, " AND %s IN (SELECT id FROM %s WHERE %s = ?)", col->name,
			            col->ref_table, col->ref_name);
			json_array_append_new(binds, json_string(fv));
		}
	}
	sbuf_init(&sq, sql, sizeof(sql));
	sbuf_printf(&sq, "SELECT count(*) FROM %s%s", t.res->table, where);
	if (!sbuf_ok(&w) || prepare_sb(req->db, &sq, &st, NULL) < 0)
		goto dberr;
	json_array_foreach(binds, i, v) bind_json(st, (int)i + 1, v);
	if (sqlite3_step(st) == SQLITE_ROW)
		total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sbuf_init(&sq, sql, sizeof(sql));
	sbuf_str(&sq, "SELECT ");
	select_list(t.res, &sq);
	sbuf_printf(&sq, " FROM %s%s ORDER BY %s LIMIT ? OFFSET ?", t.res->table, where,
	            t.res->order_by);
	if (prepare_sb(req->db, &sq, &st, NULL) < 0)
		goto dberr;
	json_array_foreach(binds, i, v) bind_json(st, (int)i + 1, v);
	sqlite3_bind_int64(st, (int)json_array_size(binds) + 1, limit);
	sqlite3_bind_int64(st, (int)json_array_size(binds) + 2, offset);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = row_from_stmt(t.res, st);

		json_array_append_new(items, item_from_row(req->db, t.res, row));
		json_decref(row);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto dberr;
	api_reply_json(req, 200,
	               json_pack("{s:O, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total,
	                         "offset", (json_int_t)offset, "limit", (json_int_t)limit));
	goto out;
dberr:
	api_reply_error(req, 500, "internal", NULL, "listing %s: %s", t.res->table,
	                sqlite3_errmsg(db_sqlite(req->db)));
out:
	json_decref(binds);
	json_decref(items);
	target_free(&t);
}

enum write_mode { W_CREATE, W_REPLACE, W_PATCH };

static void
res_write(struct api_req *req, enum write_mode mode)
{
	static const char *const actions[] = {"create", "replace", "patch"};
	struct target t;
	struct pc_err err = {0};
	struct child_input kids[8] = {{0}};
	json_t *in = NULL, *row = NULL, *before = NULL, *after = NULL, *key = NULL, *old = NULL;
	char object[256];
	int64_t new_id = 0;
	int rc;

	if (target_of(req, &t) < 0)
		return;
	in = api_body_object(req);
	if (in == NULL)
		goto out;
	rc = api_change_begin(req, &err);
	if (rc < 0)
		goto fail;
	row = json_object();
	if (mode != W_CREATE) {
		rc = load_row(req->db, t.res, t.key, t.parent, &old, &err);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			api_reply_error(req, 404, "not_found", NULL, "no %s at %s", t.res->table,
			                req->url);
			goto out;
		}
		before = item_from_row(req->db, t.res, old);
		if (mode == W_PATCH) {
			json_object_update(row, old);
		} else {
			row_defaults(t.res, row);
			/* replace keeps the key and secrets that were not given */
			json_object_set(row, key_col(t.res)->name, t.key);
			for (size_t i = 0; i < t.res->ncols; i++)
				if (t.res->cols[i].type == RT_SECRET ||
				    t.res->cols[i].type == RT_PASSWORD)
					json_object_set(row, t.res->cols[i].name,
					                json_object_get(old, t.res->cols[i].name));
			if (json_object_get(old, "hash_kind") != NULL)
				json_object_set(row, "hash_kind",
				                json_object_get(old, "hash_kind"));
		}
		json_object_set_new(row, "\x01key_fixed", json_true());
	} else {
		row_defaults(t.res, row);
	}
	rc = validate_object(req->db, t.res, in, row, "", kids, &err);
	if (rc == 0 && t.res->check != NULL)
		rc = t.res->check(req->db, row, &err);
	if (rc < 0)
		goto fail;
	if (t.parent != NULL)
		json_object_set(row, t.res->parent_fk, t.parent);
	for (size_t i = 0; i < t.res->ncols; i++) {
		const struct res_col *c = &t.res->cols[i];
		int64_t pos;

		if ((c->flags & RF_POSITION) && mode == W_CREATE &&
		    json_object_get(in, col_json(c)) == NULL &&
		    next_position(req->db, t.res, c->name, t.parent, &pos) == 0)
			json_object_set_new(row, c->name, json_integer(pos));
	}
	if (mode == W_CREATE) {
		rc = write_row(req->db, t.res, row, true, NULL, &new_id, &err);
		key = key_is_id(t.res) ? json_integer(new_id)
		                       : json_incref(json_object_get(row, key_col(t.res)->name));
	} else {
		rc = write_row(req->db, t.res, row, false, t.key, NULL, &err);
		key = json_incref(t.key);
	}
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < t.res->nchildren; i++) {
		json_t *pid;

		if (kids[i].ch == NULL)
			continue;
		pid = json_object_get(row, key_col(t.res)->name);
		pid = mode == W_CREATE && key_is_id(t.res) ? key : pid;
		rc = write_children(req->db, kids[i].ch, pid, kids[i].items, &err);
		if (rc < 0)
			goto fail;
	}
	after = item_load(req, &t, key, &err, &rc);
	if (after == NULL) {
		if (rc == 0)
			rc = pc_err_set(&err, PC_ERR_INTERNAL, "", "row vanished after write");
		goto fail;
	}
	if (mode != W_CREATE)
		snprintf(object, sizeof(object), "%s", req->url);
	else if (json_is_integer(key))
		snprintf(object, sizeof(object), "%s/%lld", req->url,
		         (long long)json_integer_value(key));
	else
		snprintf(object, sizeof(object), "%s/%s", req->url, json_string_value(key));
	rc = api_change_finish(req, actions[mode], object, before, after, &err);
	if (rc < 0)
		goto fail;
	api_reply_json(req, mode == W_CREATE ? 201 : 200, json_incref(after));
	goto out;
fail:
	db_rollback(req->db);
	constraint_err(t.res, &err);
	api_reply_rc(req, rc, &err);
out:
	db_rollback(req->db);
	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
		json_decref(kids[i].items);
	json_decref(in);
	json_decref(row);
	json_decref(old);
	json_decref(before);
	json_decref(after);
	json_decref(key);
	target_free(&t);
}

void
api_res_create(struct api_req *req)
{
	res_write(req, W_CREATE);
}

void
api_res_replace(struct api_req *req)
{
	res_write(req, W_REPLACE);
}

void
api_res_patch(struct api_req *req)
{
	res_write(req, W_PATCH);
}

void
api_res_delete(struct api_req *req)
{
	struct target t;
	struct pc_err err = {0};
	json_t *old = NULL, *before = NULL;
	sqlite3_stmt *st;
	int rc;

	if (target_of(req, &t) < 0)
		return;
	rc = api_change_begin(req, &err);
	if (rc < 0)
		goto fail;
	rc = load_row(req->db, t.res, t.key, t.parent, &old, &err);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		api_reply_error(req, 404, "not_found", NULL, "no %s at %s", t.res->table, req->url);
		goto out;
	}
	before = item_from_row(req->db, t.res, old);
	if (t.res->before_delete != NULL) {
		rc = t.res->before_delete(req->db, old, &err);
		if (rc < 0)
			goto fail;
	}
	rc = prepare_fmt(req->db, &st, &err, "DELETE FROM %s WHERE %s = ?", t.res->table,
	                 key_col(t.res)->name);
	if (rc < 0)
		goto fail;
	bind_json(st, 1, t.key);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(req->db, &err, req->url);
	sqlite3_finalize(st);
	if (rc < 0) {
		constraint_err(t.res, &err);
		if (err.kind == PC_ERR_CONFLICT)
			pc_err_set(&err, PC_ERR_CONFLICT, "",
			           "%s is still in use by other configuration; remove those "
			           "references first",
			           req->url);
		goto fail;
	}
	rc = api_change_finish(req, "delete", req->url, before, NULL, &err);
	if (rc < 0)
		goto fail;
	api_reply_text(req, 204, NULL, NULL, 0);
	goto out;
fail:
	db_rollback(req->db);
	api_reply_rc(req, rc, &err);
out:
	db_rollback(req->db);
	json_decref(old);
	json_decref(before);
	target_free(&t);
}

/* ---- OpenAPI schema of one resource ---- */

json_t *
api_resource_schema(const struct api_resource *res)
{
	json_t *props = json_object(), *req = json_array();

	for (size_t i = 0; i < res->ncols; i++) {
		const struct res_col *c = &res->cols[i];
		json_t *p = json_object();

		switch (c->type) {
		case RT_INT:
			json_object_set_new(p, "type", json_string("integer"));
			json_object_set_new(p, "minimum", json_integer(c->min));
			json_object_set_new(p, "maximum", json_integer(c->max));
			break;
		case RT_BOOL:
			json_object_set_new(p, "type", json_string("boolean"));
			break;
		case RT_IP4:
		case RT_MASK:
			json_object_set_new(p, "type", json_string("string"));
			json_object_set_new(
			        p, "format",
			        json_string(c->type == RT_IP4 ? "ipv4" : "ipv4-netmask"));
			break;
		case RT_ENUM: {
			json_t *e = json_array();

			for (int j = 0; c->enums[j] != NULL; j++)
				json_array_append_new(e, json_string(c->enums[j]));
			json_object_set_new(p, "type", json_string("string"));
			json_object_set_new(p, "enum", e);
			break;
		}
		case RT_REF:
			json_object_set_new(p, "type", json_string("integer"));
			json_object_set_new(
			        p, "description",
			        json_sprintf("id of a %s row%s%s%s", c->ref_table,
			                     c->alias != NULL ? "; or give its name as '" : "",
			                     c->alias != NULL ? c->alias : "",
			                     c->alias != NULL ? "'" : ""));
			break;
		case RT_SECRET:
		case RT_PASSWORD:
			json_object_set_new(p, "type", json_string("string"));
			json_object_set_new(p, "writeOnly", json_true());
			break;
		default:
			json_object_set_new(p, "type", json_string("string"));
		}
		if (c->flags & RF_READONLY)
			json_object_set_new(p, "readOnly", json_true());
		if (!(c->flags & (RF_NOTNULL | RF_REQUIRED | RF_READONLY)))
			json_object_set_new(p, "nullable", json_true());
		json_object_set_new(props, col_json(c), p);
		if (c->type == RT_REF && c->alias != NULL)
			json_object_set_new(props, c->alias, json_pack("{s:s}", "type", "string"));
		if (c->type == RT_SECRET || c->type == RT_PASSWORD) {
			char n[96];

			snprintf(n, sizeof(n), "%s_set", col_json(c));
			json_object_set_new(
			        props, n,
			        json_pack("{s:s, s:b}", "type", "boolean", "readOnly", 1));
		}
		if ((c->flags & RF_REQUIRED) && !(c->flags & RF_READONLY))
			json_array_append_new(
			        req, json_string(c->alias != NULL ? c->alias : col_json(c)));
	}
	for (size_t i = 0; i < res->nchildren; i++) {
		const struct res_child *ch = &res->children[i];

		json_object_set_new(
		        props, ch->json,
		        json_pack("{s:s, s:o}", "type", "array", "items",
		                  ch->res != NULL ? api_resource_schema(ch->res)
		                                  : json_pack("{s:s}", "type",
		                                              ch->col->type == RT_REF ? "string"
		                                                                      : "string")));
	}
	if (res->warnings != NULL)
		json_object_set_new(props, "warnings",
		                    json_pack("{s:s, s:b, s:{s:s}}", "type", "array", "readOnly", 1,
		                              "items", "type", "string"));
	return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required",
	                 req, "additionalProperties", 0);
}
