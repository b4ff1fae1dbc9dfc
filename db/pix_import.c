/* PIX import: parse, merge secrets, diff against the stored model, apply in one transaction; the
 * report in text and JSON; secrets set later. */
#include "db/pix_parse.h"
#include "db/db.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX_ENTRIES (4u * 1024 * 1024)

const char *
pix_line_kind_name(enum pix_line_kind k)
{
	switch (k) {
	case PIX_LINE_MAPPED:
		return "mapped";
	case PIX_LINE_IGNORED:
		return "ignored";
	case PIX_LINE_WARNING:
		return "warning";
	case PIX_LINE_UNSUPPORTED:
		return "unsupported";
	case PIX_LINE_ERROR:
		return "error";
	}
	return "?";
}

int
pix_report_add(struct pix_report *r, uint32_t line, enum pix_line_kind kind, const char *text,
               size_t textlen, const char *reason)
{
	struct pix_line_entry *e;

	if (r->nentries == r->cap_entries) {
		size_t ncap = r->cap_entries ? r->cap_entries * 2 : 64;

		if (ncap > REPORT_MAX_ENTRIES)
			return -E2BIG;
		e = realloc(r->entries, ncap * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		r->entries = e;
		r->cap_entries = ncap;
	}
	e = &r->entries[r->nentries];
	e->line = line;
	e->kind = kind;
	e->text = strndup(text, textlen);
	e->reason = reason && *reason ? strdup(reason) : NULL;
	if (e->text == NULL || (reason && *reason && e->reason == NULL)) {
		free(e->text);
		free(e->reason);
		return -ENOMEM;
	}
	r->nentries++;
	return 0;
}

int
pix_strv_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));

	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (nv[*n] == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
pix_report_free(struct pix_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nentries; i++) {
		free(r->entries[i].text);
		free(r->entries[i].reason);
	}
	free(r->entries);
	strv_free(r->added, r->nadded);
	strv_free(r->changed, r->nchanged);
	strv_free(r->removed, r->nremoved);
	strv_free(r->secrets_needed, r->nsecrets_needed);
	free(r);
}

/* ---- secrets ---- */

static int
secret_col(int table)
{
	switch (table) {
	case MT_ISAKMP_KEY:
		return model_col_index(MT_ISAKMP_KEY, "key_secret");
	case MT_VPNGROUP:
		return model_col_index(MT_VPNGROUP, "password_secret");
	case MT_AAA_HOST:
		return model_col_index(MT_AAA_HOST, "key_secret");
	default:
		return -1;
	}
}

char *
pix_secret_object(const struct model *m, int table, size_t row)
{
	const struct model_row *r;
	char buf[512];

	if (table < 0 || table >= MT_COUNT || row >= m->t[table].n)
		return NULL;
	r = &m->t[table].rows[row];
	switch (table) {
	case MT_ISAKMP_KEY:
		snprintf(buf, sizeof(buf), "isakmp-key:%s/%s", r->v[0], r->v[1]);
		break;
	case MT_VPNGROUP:
		snprintf(buf, sizeof(buf), "vpngroup:%s", r->v[0]);
		break;
	case MT_AAA_HOST:
		snprintf(buf, sizeof(buf), "aaa-server:%s/%s", r->v[0],
		         model_row_get(r, MT_AAA_HOST, "address"));
		break;
	default:
		return NULL;
	}
	return strdup(buf);
}

int
pix_secret_parse(const char *arg, struct pix_secret *s, struct pc_err *err)
{
	const char *eq = strchr(arg, '=');
	size_t ol, vl;

	memset(s, 0, sizeof(*s));
	if (eq == NULL)
		return pc_err_set(
		               err, PC_ERR_INVALID, "secret",
		               "expected OBJECT=VALUE (e.g. vpngroup:vpn3000=secret), got no '='"),
		       -EINVAL;
	ol = (size_t)(eq - arg);
	vl = strlen(eq + 1);
	if (ol == 0 || ol >= sizeof(s->object))
		return pc_err_set(err, PC_ERR_INVALID, "secret", "object name empty or too long"),
		       -EINVAL;
	if (strncmp(arg, "isakmp-key:", 11) != 0 && strncmp(arg, "vpngroup:", 9) != 0 &&
	    strncmp(arg, "aaa-server:", 11) != 0)
		return pc_err_set(err, PC_ERR_INVALID, "secret",
		                  "unknown secret object '%.*s' (expected isakmp-key:ADDR/MASK, "
		                  "vpngroup:NAME or aaa-server:GROUP/ADDR)",
		                  (int)ol, arg),
		       -EINVAL;
	if (vl == 0 || vl > PIX_MAX_SECRET)
		return pc_err_set(err, PC_ERR_INVALID, "secret",
		                  "secret for %.*s must be 1-%d characters (got %zu)", (int)ol, arg,
		                  PIX_MAX_SECRET, vl),
		       -EINVAL;
	if (strpbrk(eq + 1, " \t\r\n") != NULL || pix_is_masked(eq + 1))
		return pc_err_set(err, PC_ERR_INVALID, "secret",
		                  "secret for %.*s must not contain blanks or be all '*'", (int)ol,
		                  arg),
		       -EINVAL;
	memcpy(s->object, arg, ol);
	memcpy(s->value, eq + 1, vl);
	return 0;
}

int
pix_secret_set(struct db *db, const struct pix_secret *s, struct pc_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *o = s->object;
	char a[256] = "", b[256] = "";
	const char *slash;
	int rc;

	if (!strncmp(o, "vpngroup:", 9)) {
		rc = db_prepare(db,
		                "UPDATE vpngroup SET password_secret = ?1, has_password = 1 WHERE "
		                "name = ?2",
		                &st, err);
		snprintf(a, sizeof(a), "%s", o + 9);
	} else {
		bool isakmp = !strncmp(o, "isakmp-key:", 11);
		const char *body = o + 11;

		slash = strchr(body, '/');
		if (slash == NULL)
			return pc_err_set(err, PC_ERR_INVALID, "secret",
			                  "expected %s with a '/' in it",
			                  isakmp ? "isakmp-key:ADDR/MASK"
			                         : "aaa-server:GROUP/ADDR"),
			       -EINVAL;
		snprintf(a, sizeof(a), "%.*s", (int)(slash - body), body);
		snprintf(b, sizeof(b), "%s", slash + 1);
		rc = db_prepare(
		        db,
		        isakmp ? "UPDATE isakmp_key SET key_secret = ?1 WHERE address = ?2 AND "
		                 "netmask = ?3"
		               : "UPDATE aaa_server_host SET key_secret = ?1 WHERE group_id = "
		                 "(SELECT id FROM aaa_server_group WHERE name = ?2) AND address "
		                 "= ?3",
		        &st, err);
	}
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, s->value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
	if (*b)
		sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_error(db, err, "UPDATE secret");
	} else if (sqlite3_changes(db_sqlite(db)) == 0) {
		rc = pc_err_set(err, PC_ERR_NOTFOUND, "secret",
		                "no %s in the stored configuration (see portcullis export)", o),
		rc = -ENOENT;
	} else {
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
merge_secrets(struct model *nm, const struct model *old, const struct pix_import_opts *opts,
              struct pix_report *rep, struct pc_err *err)
{
	static const int tables[] = {MT_AAA_HOST, MT_ISAKMP_KEY, MT_VPNGROUP};
	bool *used = opts->nsecrets ? calloc(opts->nsecrets, sizeof(bool)) : NULL;
	int rc = 0;

	if (opts->nsecrets && used == NULL)
		return -ENOMEM;
	for (size_t ti = 0; ti < 3; ti++) {
		int t = tables[ti], col = secret_col(t);
		struct pix_smap oldkeys = {0};

		for (size_t i = 0; old != NULL && i < old->t[t].n; i++) {
			char *k = model_row_key(&old->t[t].rows[i], t);

			if (k == NULL || pix_smap_put(&oldkeys, k, i) < 0) {
				free(k);
				pix_smap_free(&oldkeys);
				rc = -ENOMEM;
				goto out;
			}
			free(k);
		}
		for (size_t i = 0; i < nm->t[t].n; i++) {
			struct model_row *r = &nm->t[t].rows[i];
			char *obj = pix_secret_object(nm, t, i);
			bool needs;
			size_t oi;

			if (obj == NULL) {
				rc = -ENOMEM;
				pix_smap_free(&oldkeys);
				goto out;
			}
			for (size_t s = 0; s < opts->nsecrets; s++) {
				if (strcmp(opts->secrets[s].object, obj) != 0)
					continue;
				used[s] = true;
				free(r->v[col]);
				r->v[col] = strdup(opts->secrets[s].value);
				if (t == MT_VPNGROUP)
					model_row_set(r, t, "has_password", "1");
			}
			if (r->v[col] == NULL && r->secret_masked) {
				char *k = model_row_key(r, t);

				if (k != NULL && pix_smap_get(&oldkeys, k, &oi) &&
				    old->t[t].rows[oi].v[col] != NULL)
					r->v[col] = strdup(old->t[t].rows[oi].v[col]);
				free(k);
			}
			needs = r->v[col] == NULL &&
			        (t != MT_VPNGROUP ||
			         !strcmp(model_row_get(r, t, "has_password"), "1"));
			if (needs &&
			    pix_strv_add(&rep->secrets_needed, &rep->nsecrets_needed, obj) < 0)
				rc = -ENOMEM;
			free(obj);
			if (rc < 0) {
				pix_smap_free(&oldkeys);
				goto out;
			}
		}
		pix_smap_free(&oldkeys);
	}
	for (size_t s = 0; s < opts->nsecrets; s++) {
		if (!used[s]) {
			rc = pc_err_set(err, PC_ERR_NOTFOUND, "secret",
			                "--secret %s: no such object in the imported configuration",
			                opts->secrets[s].object);
			rc = -ENOENT;
			break;
		}
	}
out:
	free(used);
	return rc;
}

/* ---- diff ---- */

static int
diff_table(const struct model *old, const struct model *nm, int t, struct pix_report *rep)
{
	const struct model_rows *o = &old->t[t], *n = &nm->t[t];
	struct pix_smap first = {0};
	size_t *next = calloc(o->n + 1, sizeof(size_t));
	bool *used = calloc(o->n + 1, sizeof(bool));
	size_t nadd = rep->added_total, nrem = rep->removed_total, nchg = rep->changed_total;
	int rc = -ENOMEM;

	if (next == NULL || used == NULL)
		goto out;
	/* chain old rows with equal keys: first[key] -> i -> next[i] ... (SIZE_MAX ends) */
	for (size_t i = o->n; i-- > 0;) {
		char *k = model_row_key(&o->rows[i], t);
		size_t head;

		if (k == NULL)
			goto out;
		next[i] = pix_smap_get(&first, k, &head) ? head : SIZE_MAX;
		rc = pix_smap_put(&first, k, i);
		free(k);
		if (rc < 0)
			goto out;
	}
	rc = -ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		char *k = model_row_key(&n->rows[i], t);
		size_t j = SIZE_MAX;
		char *d, *line = NULL;

		if (k == NULL)
			goto out;
		if (pix_smap_get(&first, k, &j))
			while (j != SIZE_MAX && used[j])
				j = next[j];
		free(k);
		if (j != SIZE_MAX) {
			used[j] = true;
			if (model_row_equal(&o->rows[j], &n->rows[i], t))
				continue;
			if (rep->changed_total++ >= PIX_REPORT_DIFF_MAX)
				continue;
			char *od = model_row_describe(&o->rows[j], t);

			d = model_row_describe(&n->rows[i], t);
			if (od != NULL && d != NULL &&
			    asprintf(&line, "%s  =>  %s%s", od,
			             strchr(d, ':') ? strchr(d, ':') + 2 : d,
			             strcmp(od, d) == 0 ? " (secret changed)" : "") < 0)
				line = NULL;
			free(od);
			free(d);
			if (line == NULL || pix_strv_add(&rep->changed, &rep->nchanged, line) < 0) {
				free(line);
				goto out;
			}
			free(line);
			continue;
		}
		if (rep->added_total++ >= PIX_REPORT_DIFF_MAX)
			continue;
		d = model_row_describe(&n->rows[i], t);
		if (d == NULL || pix_strv_add(&rep->added, &rep->nadded, d) < 0) {
			free(d);
			goto out;
		}
		free(d);
	}
	for (size_t j = 0; j < o->n; j++) {
		if (used[j] || rep->removed_total++ >= PIX_REPORT_DIFF_MAX)
			continue;
		char *d = model_row_describe(&o->rows[j], t);

		if (d == NULL || pix_strv_add(&rep->removed, &rep->nremoved, d) < 0) {
			free(d);
			goto out;
		}
		free(d);
	}
	/* same rows, other order: order matters (access lists, nat, object groups) */
	if (model_table_desc(t)->has_position && nadd == rep->added_total &&
	    nrem == rep->removed_total && nchg == rep->changed_total && o->n == n->n) {
		for (size_t i = 0; i < n->n; i++) {
			if (!model_row_equal(&o->rows[i], &n->rows[i], t)) {
				char line[200];

				snprintf(line, sizeof(line), "%s: order changed",
				         model_table_desc(t)->label);
				rep->changed_total++;
				if (pix_strv_add(&rep->changed, &rep->nchanged, line) < 0)
					goto out;
				break;
			}
		}
	}
	rc = 0;
out:
	pix_smap_free(&first);
	free(next);
	free(used);
	return rc;
}

/* One audit_log row for an applied import, in the import's transaction. */
static int
audit(struct db *db, const struct pix_import_opts *opts, const struct pix_report *rep,
      struct pc_err *err)
{
	sqlite3_stmt *st = NULL;
	char after[256];
	int rc;

	snprintf(after, sizeof(after),
	         "{\"lines\":%zu,\"unsupported\":%zu,\"errors\":%zu,\"added\":%zu,"
	         "\"changed\":%zu,\"removed\":%zu}",
	         rep->lines, rep->unsupported, rep->errors, rep->added_total, rep->changed_total,
	         rep->removed_total);
	rc = db_prepare(db,
	                "INSERT INTO audit_log (actor, action, object, after_json, source) VALUES "
	                "(?1, 'import', '/config', ?2, ?3)",
	                &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, opts->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
	if (opts->source != NULL)
		sqlite3_bind_text(st, 3, opts->source, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(db, err, "INSERT INTO audit_log");
	sqlite3_finalize(st);
	return rc;
}

int
pix_import(struct db *db, const char *text, size_t len, const struct pix_import_opts *opts,
           struct pix_report **out, struct pc_err *err)
{
	struct pix_report *rep = calloc(1, sizeof(*rep));
	struct model *nm = NULL, *old = NULL;
	int rc;

	*out = NULL;
	if (rep == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "out of memory"), -ENOMEM;
	rc = pix_parse(text, len, opts->strict, &nm, rep);
	if (rc == -EFBIG) {
		pc_err_set(err, PC_ERR_INVALID, "config", "configuration larger than %u bytes",
		           PIX_MAX_TEXT);
		goto out;
	}
	if (rc == -EINVAL) {
		rep->stopped = true;
		pc_err_set(err, PC_ERR_INVALID, "config",
		           "%zu error(s) in the configuration and --strict: nothing imported",
		           rep->errors);
		goto out;
	}
	if (rc < 0) {
		pc_err_set(err, PC_ERR_INTERNAL, "", "pix_parse: %s", strerror(-rc));
		goto out;
	}
	rc = model_load(db, &old, err);
	if (rc < 0)
		goto out;
	rc = merge_secrets(nm, old, opts, rep, err);
	if (rc < 0) {
		if (rc == -ENOMEM)
			pc_err_set(err, PC_ERR_INTERNAL, "", "merging secrets: out of memory");
		goto out;
	}
	for (int t = 0; t < MT_COUNT; t++) {
		rc = diff_table(old, nm, t, rep);
		if (rc < 0) {
			pc_err_set(err, PC_ERR_INTERNAL, "", "diff: out of memory");
			goto out;
		}
	}
	if (opts->apply && db_in_transaction(db)) {
		/* the caller's transaction (the API applies to the kernel before committing):
		 * write, and leave commit or rollback to the caller */
		rc = model_save(db, nm, err);
		if (rc < 0)
			goto out;
		rep->applied = true;
	} else if (opts->apply) {
		rc = db_begin(db, err);
		if (rc < 0)
			goto out;
		rc = model_save(db, nm, err);
		if (rc == 0 && opts->actor != NULL)
			rc = audit(db, opts, rep, err);
		if (rc == 0)
			rc = db_commit(db, err);
		if (rc < 0) {
			db_rollback(db);
			goto out;
		}
		rep->applied = true;
	}
	rc = 0;
out:
	model_free(nm);
	model_free(old);
	*out = rep;
	return rc;
}

/* ---- report output ---- */

char *
pix_report_to_text(const struct pix_report *r, bool all_lines)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (f == NULL)
		return NULL;
	fprintf(f,
	        "%zu lines: %zu mapped, %zu warnings, %zu unsupported (kept verbatim), %zu errors, "
	        "%zu comments/prompts ignored\n",
	        r->lines, r->mapped, r->warnings, r->unsupported, r->errors, r->ignored);
	for (size_t i = 0; i < r->nentries; i++) {
		const struct pix_line_entry *e = &r->entries[i];

		if (!all_lines && (e->kind == PIX_LINE_MAPPED || e->kind == PIX_LINE_IGNORED))
			continue;
		fprintf(f, "line %u: %s: %s\n", e->line, pix_line_kind_name(e->kind), e->text);
		if (e->reason != NULL)
			fprintf(f, "    %s\n", e->reason);
	}
	if (r->stopped) {
		fputs("--strict: errors found, nothing imported\n", f);
	} else {
		fprintf(f, "%s: %zu added, %zu changed, %zu removed\n",
		        r->applied ? "applied" : "dry run (nothing written; use --apply)",
		        r->nadded, r->nchanged, r->nremoved);
		for (size_t i = 0; i < r->nadded; i++)
			fprintf(f, "  + %s\n", r->added[i]);
		for (size_t i = 0; i < r->nchanged; i++)
			fprintf(f, "  ~ %s\n", r->changed[i]);
		for (size_t i = 0; i < r->nremoved; i++)
			fprintf(f, "  - %s\n", r->removed[i]);
		if (r->nadded < r->added_total || r->nchanged < r->changed_total ||
		    r->nremoved < r->removed_total)
			fprintf(f, "  (only the first %d rows of each list are shown)\n",
			        PIX_REPORT_DIFF_MAX);
	}
	if (r->nsecrets_needed > 0) {
		fputs("secrets not set (supply with --secret OBJECT=VALUE or `portcullis secret "
		      "set "
		      "OBJECT=VALUE`):\n",
		      f);
		for (size_t i = 0; i < r->nsecrets_needed; i++)
			fprintf(f, "  %s\n", r->secrets_needed[i]);
	}
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static json_t *
strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

char *
pix_report_to_json(const struct pix_report *r)
{
	json_t *o, *entries;
	char *s;

	entries = json_array();
	if (entries == NULL)
		return NULL;
	for (size_t i = 0; i < r->nentries; i++) {
		const struct pix_line_entry *e = &r->entries[i];
		json_t *je = json_pack("{s:I, s:s, s:s?, s:s?}", "line", (json_int_t)e->line,
		                       "kind", pix_line_kind_name(e->kind), "text", e->text,
		                       "reason", e->reason);

		if (je == NULL || json_array_append_new(entries, je) < 0) {
			json_decref(entries);
			return NULL;
		}
	}
	o = json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:b, s:b, s:o, s:o, s:o, "
	              "s:o, s:o}",
	              "counts", "lines", (json_int_t)r->lines, "mapped", (json_int_t)r->mapped,
	              "warnings", (json_int_t)r->warnings, "unsupported",
	              (json_int_t)r->unsupported, "errors", (json_int_t)r->errors, "ignored",
	              (json_int_t)r->ignored, "added", (json_int_t)r->added_total, "changed",
	              (json_int_t)r->changed_total, "removed", (json_int_t)r->removed_total,
	              "applied", r->applied, "stopped", r->stopped, "entries", entries, "added",
	              strv_json(r->added, r->nadded), "changed", strv_json(r->changed, r->nchanged),
	              "removed", strv_json(r->removed, r->nremoved), "secrets_needed",
	              strv_json(r->secrets_needed, r->nsecrets_needed));
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	return s;
}
