/* PIX import/export against a real SQLite database: the seed round-trips command for command,
 * every corpus config imports and its export is a fixed point, dry runs write nothing, a failing
 * apply or a --strict error leaves the stored configuration untouched, leases survive a re-import,
 * secrets are kept, supplied and reported, and the checksum is the MD5 of the body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "db/model.h"
#include "db/pix.h"

static char dbpath[64];

static int
setup(void **state)
{
	int fd;

	snprintf(dbpath, sizeof(dbpath), "/tmp/pc-pix-test-XXXXXX");
	fd = mkstemp(dbpath);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(dbpath);
	return 0;
}

static int
teardown(void **state)
{
	char p[96];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

static struct db *
open_db(void)
{
	struct pc_err err = {0};
	struct db *db;

	assert_int_equal(db_open(dbpath, &db, &err), 0);
	return db;
}

static char *
slurp(const char *rel, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", PORTCULLIS_SOURCE_DIR, rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static int
count(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(db_prepare(db, sql, &st, NULL), 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static struct pix_report *
import(struct db *db, const char *text, bool apply, bool strict, const struct pix_secret *s,
       size_t ns, int want_rc)
{
	struct pix_import_opts o = {.apply = apply,
	                            .strict = strict,
	                            .secrets = s,
	                            .nsecrets = ns,
	                            .actor = "unit-test",
	                            .source = "cli"};
	struct pix_report *rep = NULL;
	struct pc_err err = {0};
	int rc = pix_import(db, text, strlen(text), &o, &rep, &err);

	if (rc != want_rc)
		fail_msg("pix_import: rc %d (want %d): %s", rc, want_rc, err.msg);
	assert_non_null(rep);
	return rep;
}

static char *export(struct db *db, bool secrets)
{
	struct pc_err err = {0};
	char *t;

	assert_int_equal(pix_export(db, secrets, &t, &err), 0);
	return t;
}

/* ---- normalized multisets of lines ---- */

struct lines {
	char **v;
	size_t n;
};

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* commands of a config: no comments, prompts, checksum; secrets replaced by ********; blanks
 * collapsed */
static struct lines
normalize(const char *text)
{
	struct lines l = {0};
	const char *p = text;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *s = strndup(p, len), *w, *out;
		char *save = NULL;

		p += len + (e ? 1 : 0);
		while (*s && strchr(" \r\t", s[strlen(s) - 1]))
			s[strlen(s) - 1] = '\0';
		if (s[0] == '\0' || s[0] == ':' || s[0] == '!' ||
		    !strncmp(s, "Cryptochecksum", 14) || !strncmp(s, "Building", 8) ||
		    !strcmp(s, "[OK]") || strchr(s, '#')) {
			free(s);
			continue;
		}
		out = calloc(1, strlen(s) + 16);
		for (w = strtok_r(s, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
			if (*out)
				strcat(out, " ");
			strcat(out, w);
		}
		free(s);
		/* the secret words of the three secret-bearing commands */
		if (!strncmp(out, "isakmp key ", 11) || !strncmp(out, "aaa-server ", 11) ||
		    (!strncmp(out, "vpngroup ", 9) && strstr(out, " password "))) {
			char *words[32];
			int n = 0;
			char *copy = strdup(out);

			save = NULL;
			for (w = strtok_r(copy, " ", &save); w && n < 32;
			     w = strtok_r(NULL, " ", &save))
				words[n++] = w;
			int secret = -1;

			if (!strncmp(out, "isakmp key ", 11))
				secret = 2;
			else if (!strncmp(out, "vpngroup ", 9))
				secret = 3;
			else
				for (int i = 0; i + 2 < n; i++)
					if (!strcmp(words[i], "host") &&
					    strcmp(words[i + 2], "timeout"))
						secret = i + 2;
			out[0] = '\0';
			for (int i = 0; i < n; i++) {
				if (i)
					strcat(out, " ");
				strcat(out, i == secret ? "********" : words[i]);
			}
			free(copy);
		}
		l.v = realloc(l.v, (l.n + 1) * sizeof(char *));
		l.v[l.n++] = out;
	}
	qsort(l.v, l.n, sizeof(char *), cmpstr);
	return l;
}

static void
lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
assert_same_commands(const char *a, const char *b, const char *what)
{
	struct lines x = normalize(a), y = normalize(b);
	size_t i = 0, j = 0;
	int bad = 0;

	while (i < x.n || j < y.n) {
		int c = i == x.n ? 1 : j == y.n ? -1 : strcmp(x.v[i], y.v[j]);

		if (c == 0) {
			i++, j++;
			continue;
		}
		print_error("%s: only in %s: %s\n", what, c < 0 ? "input" : "export",
		            c < 0 ? x.v[i] : y.v[j]);
		bad++;
		if (c < 0)
			i++;
		else
			j++;
	}
	lines_free(&x);
	lines_free(&y);
	assert_int_equal(bad, 0);
}

static bool
has_str(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* ---- tests ---- */

static void
test_seed_round_trip(void **state)
{
	struct db *db = open_db();
	char *seed = slurp("tests/data/pix/pix-6.3.3-running-config.cfg", NULL);
	struct pix_report *rep = import(db, seed, true, true, NULL, 0, 0);
	struct model *m1, *m2;
	struct pc_err err = {0};
	char *e1, *e2;

	assert_int_equal(rep->unsupported, 0);
	assert_int_equal(rep->errors, 0);
	assert_true(rep->applied);
	assert_int_equal(rep->removed_total, 0);
	pix_report_free(rep);
	assert_int_equal(count(db, "SELECT count(*) FROM audit_log WHERE actor = 'unit-test' AND "
	                           "action = 'import' AND after_json LIKE '{\"lines\":99,%'"),
	                 1);
	assert_int_equal(model_load(db, &m1, &err), 0);

	e1 = export(db, false);
	/* command for command, ignoring order, secrets and the checksum */
	assert_same_commands(seed, e1, "seed vs export");
	/* and in the seed's order: the lines are the same list */
	{
		struct lines a = {0};
		char *s1 = strdup(seed), *s2 = strdup(e1), *sv1 = NULL, *sv2 = NULL;
		char *l1 = strtok_r(s1, "\n", &sv1), *l2 = strtok_r(s2, "\n", &sv2);
		int n = 0;

		for (; l1 && l2; l1 = strtok_r(NULL, "\n", &sv1), l2 = strtok_r(NULL, "\n", &sv2)) {
			if (strstr(l1, "secretkey") || !strncmp(l1, "Cryptochecksum", 14))
				continue;
			assert_string_equal(l1, l2);
			n++;
		}
		assert_int_equal(n, 97);
		free(s1);
		free(s2);
		(void)a;
	}

	/* import the export again: nothing to add, change or remove; the model is identical */
	rep = import(db, e1, false, true, NULL, 0, 0);
	assert_int_equal(rep->added_total + rep->changed_total + rep->removed_total, 0);
	pix_report_free(rep);
	rep = import(db, e1, true, true, NULL, 0, 0);
	pix_report_free(rep);
	assert_int_equal(model_load(db, &m2, &err), 0);
	for (int t = 0; t < MT_COUNT; t++) {
		assert_int_equal(m1->t[t].n, m2->t[t].n);
		for (size_t i = 0; i < m1->t[t].n; i++)
			assert_true(model_row_equal(&m1->t[t].rows[i], &m2->t[t].rows[i], t));
	}
	e2 = export(db, false);
	assert_string_equal(e1, e2);
	model_free(m1);
	model_free(m2);
	free(e1);
	free(e2);
	free(seed);
	db_close(db);
}

static void
test_checksum_is_md5_of_body(void **state)
{
	struct db *db = open_db();
	char *seed = slurp("tests/data/pix/pix-6.3.3-running-config.cfg", NULL);
	struct pix_report *rep = import(db, seed, true, false, NULL, 0, 0);
	char *e = export(db, false);
	char *cs = strstr(e, "Cryptochecksum:");
	unsigned char d[16];
	unsigned int dl;
	char hex[33];

	assert_non_null(cs);
	EVP_Digest(e, (size_t)(cs - e), d, &dl, EVP_md5(), NULL);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_memory_equal(cs + 15, hex, 32);
	assert_string_equal(cs + 15 + 32, "\n: end\n");
	pix_report_free(rep);
	free(e);
	free(seed);
	db_close(db);
}

static void
check_fixed_point(const char *rel, bool same_commands)
{
	struct db *db;
	char *text = slurp(rel, NULL);
	struct pix_report *rep;
	char *e1, *e2, *rt, *js;
	json_t *j;

	teardown(NULL);
	db = open_db();
	rep = import(db, text, true, false, NULL, 0, 0);
	assert_true(rep->applied);
	/* every line that is not plainly mapped says why */
	for (size_t i = 0; i < rep->nentries; i++) {
		const struct pix_line_entry *le = &rep->entries[i];

		assert_true(le->line >= 1);
		if (le->kind == PIX_LINE_UNSUPPORTED || le->kind == PIX_LINE_ERROR ||
		    le->kind == PIX_LINE_WARNING)
			assert_true(le->reason != NULL && le->reason[0] != '\0');
	}
	assert_int_equal(rep->mapped + rep->ignored + rep->warnings + rep->unsupported +
	                         rep->errors,
	                 rep->nentries);
	rt = pix_report_to_text(rep, false);
	assert_non_null(rt);
	js = pix_report_to_json(rep);
	j = json_loads(js, 0, NULL);
	assert_non_null(j);
	assert_int_equal(
	        json_integer_value(json_object_get(json_object_get(j, "counts"), "errors")),
	        (json_int_t)rep->errors);
	assert_int_equal(json_array_size(json_object_get(j, "entries")), rep->nentries);
	json_decref(j);
	free(js);
	free(rt);
	pix_report_free(rep);

	e1 = export(db, true);
	if (same_commands)
		assert_same_commands(text, e1, rel);
	rep = import(db, e1, false, false, NULL, 0, 0);
	if (rep->added_total + rep->changed_total + rep->removed_total != 0)
		fail_msg("%s: re-import of the export is not a fixed point (%zu/%zu/%zu)", rel,
		         rep->added_total, rep->changed_total, rep->removed_total);
	pix_report_free(rep);
	/* export -> import into an empty database -> export gives the same text */
	db_close(db);
	teardown(NULL);
	db = open_db();
	rep = import(db, e1, true, false, NULL, 0, 0);
	pix_report_free(rep);
	e2 = export(db, true);
	assert_string_equal(e1, e2);
	free(e1);
	free(e2);
	free(text);
	db_close(db);
}

static void
test_corpus_fixed_points(void **state)
{
	char dir[512];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/data/pix/corpus", PORTCULLIS_SOURCE_DIR);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char rel[600];
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".cfg") != 0)
			continue;
		snprintf(rel, sizeof(rel), "tests/data/pix/corpus/%s", de->d_name);
		check_fixed_point(rel, false);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 8);
}

static void
test_own_configs_command_for_command(void **state)
{
	check_fixed_point("tests/data/pix/own/og-heavy.cfg", true);
	check_fixed_point("tests/data/pix/own/site-to-site.cfg", true);
	check_fixed_point("tests/data/pix/own/many-interfaces.cfg", true);
	check_fixed_point("tests/data/pix/own/invalid.cfg", false);
}

static void
test_dry_run_writes_nothing(void **state)
{
	struct db *db = open_db();
	char *seed = slurp("tests/data/pix/pix-6.3.3-running-config.cfg", NULL);
	struct pix_report *rep = import(db, seed, false, false, NULL, 0, 0);

	assert_false(rep->applied);
	assert_true(rep->added_total > 80);
	assert_true(has_str(rep->added, rep->nadded,
	                    "route: interface_id=outside destination=0.0.0.0 netmask=0.0.0.0 "
	                    "gateway=192.168.1.3"));
	assert_int_equal(count(db, "SELECT count(*) FROM interface"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM setting"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM audit_log"), 0);
	pix_report_free(rep);
	free(seed);
	db_close(db);
}

static void
test_diff_added_changed_removed(void **state)
{
	struct db *db = open_db();
	struct pix_report *rep;
	static const char a[] = "nameif ethernet0 outside security0\n"
	                        "route outside 0.0.0.0 0.0.0.0 192.0.2.1 1\n"
	                        "route outside 10.0.0.0 255.0.0.0 192.0.2.2 1\n"
	                        "hostname one\n";
	static const char b[] = "nameif ethernet0 outside security0\n"
	                        "route outside 0.0.0.0 0.0.0.0 192.0.2.1 5\n"
	                        "route outside 172.16.0.0 255.240.0.0 192.0.2.2 1\n"
	                        "hostname one\n";

	pix_report_free(import(db, a, true, true, NULL, 0, 0));
	rep = import(db, b, false, true, NULL, 0, 0);
	assert_int_equal(rep->added_total, 1);
	assert_int_equal(rep->changed_total, 1);
	assert_int_equal(rep->removed_total, 1);
	assert_string_equal(rep->changed[0],
	                    "route: interface_id=outside destination=0.0.0.0 netmask=0.0.0.0 "
	                    "gateway=192.0.2.1  =>  interface_id=outside destination=0.0.0.0 "
	                    "netmask=0.0.0.0 gateway=192.0.2.1 metric=5");
	assert_non_null(strstr(rep->removed[0], "destination=10.0.0.0"));
	assert_non_null(strstr(rep->added[0], "destination=172.16.0.0"));
	pix_report_free(rep);
	db_close(db);
}

static void
test_strict_error_writes_nothing(void **state)
{
	struct db *db = open_db();
	char *seed = slurp("tests/data/pix/pix-6.3.3-running-config.cfg", NULL);
	char *bad = slurp("tests/data/pix/own/invalid.cfg", NULL);
	struct pix_report *rep;
	char *before, *after;

	pix_report_free(import(db, seed, true, true, NULL, 0, 0));
	before = export(db, true);
	rep = import(db, bad, true, true, NULL, 0, -EINVAL);
	assert_true(rep->stopped);
	assert_false(rep->applied);
	assert_int_equal(rep->errors, 6);
	pix_report_free(rep);
	after = export(db, true);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(seed);
	free(bad);
	db_close(db);
}

static void
test_failed_apply_rolls_back(void **state)
{
	struct db *db = open_db();
	char *seed = slurp("tests/data/pix/pix-6.3.3-running-config.cfg", NULL);
	char *other = slurp("tests/data/pix/own/site-to-site.cfg", NULL);
	struct pix_import_opts o = {.apply = true};
	struct pix_report *rep = NULL;
	struct pc_err err = {0};
	char *before, *after;

	pix_report_free(import(db, seed, true, true, NULL, 0, 0));
	before = export(db, true);
	/* make the database refuse the routes, after the other tables have been rewritten */
	assert_int_equal(db_exec(db,
	                         "CREATE TEMP TRIGGER pc_fail BEFORE INSERT ON route BEGIN SELECT "
	                         "RAISE(ABORT, 'injected failure'); END",
	                         &err),
	                 0);
	assert_true(pix_import(db, other, strlen(other), &o, &rep, &err) < 0);
	assert_non_null(strstr(err.msg, "injected failure"));
	assert_false(rep->applied);
	pix_report_free(rep);
	assert_false(db_in_transaction(db));
	assert_int_equal(db_exec(db, "DROP TRIGGER pc_fail", &err), 0);
	/* only the first import is in the audit log */
	assert_int_equal(count(db, "SELECT count(*) FROM audit_log"), 1);
	after = export(db, true);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(seed);
	free(other);
	db_close(db);
}

static void
test_leases_survive_reimport(void **state)
{
	struct db *db = open_db();
	char *seed = slurp("tests/data/pix/pix-6.3.3-running-config.cfg", NULL);
	char *wider, *p;
	struct pc_err err = {0};
	int pool_id;

	pix_report_free(import(db, seed, true, true, NULL, 0, 0));
	pool_id = count(db, "SELECT id FROM ip_pool WHERE name = 'VPNpool'");
	assert_int_equal(db_exec(db,
	                         "INSERT INTO ip_lease (pool_id, address, username, state) SELECT "
	                         "id, '10.89.129.200', 'cisco_customer', 'active' FROM ip_pool",
	                         &err),
	                 0);
	/* same pool name, wider range: updated in place, the lease stays */
	wider = strdup(seed);
	p = strstr(wider, "10.89.129.200-10.89.129.204");
	assert_non_null(p);
	memcpy(p, "10.89.129.200-10.89.129.209", 27);
	pix_report_free(import(db, wider, true, true, NULL, 0, 0));
	assert_int_equal(count(db, "SELECT id FROM ip_pool WHERE name = 'VPNpool'"), pool_id);
	assert_int_equal(count(db, "SELECT count(*) FROM ip_lease WHERE username = "
	                           "'cisco_customer'"),
	                 1);
	assert_int_equal(count(db, "SELECT count(*) FROM ip_pool WHERE end_address = "
	                           "'10.89.129.209'"),
	                 1);
	/* a configuration without the pool removes it and its leases */
	pix_report_free(import(db, "hostname empty\n", true, true, NULL, 0, 0));
	assert_int_equal(count(db, "SELECT count(*) FROM ip_pool"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM ip_lease"), 0);
	free(wider);
	free(seed);
	db_close(db);
}

static void
test_secrets(void **state)
{
	struct db *db = open_db();
	char *seed = slurp("tests/data/pix/pix-6.3.3-running-config.cfg", NULL);
	struct pix_secret s[3];
	struct pc_err err = {0};
	struct pix_report *rep;
	char *e;

	/* masked secrets with nothing stored: reported */
	rep = import(db, seed, true, true, NULL, 0, 0);
	assert_int_equal(rep->nsecrets_needed, 2);
	assert_true(has_str(rep->secrets_needed, 2, "isakmp-key:0.0.0.0/0.0.0.0"));
	assert_true(has_str(rep->secrets_needed, 2, "vpngroup:vpn3000"));
	pix_report_free(rep);

	/* supplied: stored, and shown only when asked */
	assert_int_equal(pix_secret_parse("isakmp-key:0.0.0.0/0.0.0.0=cisco1234", &s[0], &err), 0);
	assert_int_equal(pix_secret_parse("vpngroup:vpn3000=vpnsecret", &s[1], &err), 0);
	assert_int_equal(
	        pix_secret_parse("aaa-server:AuthInbound/10.89.129.134=secretkey2", &s[2], &err),
	        0);
	rep = import(db, seed, true, true, s, 3, 0);
	assert_int_equal(rep->nsecrets_needed, 0);
	assert_int_equal(rep->changed_total, 3);
	pix_report_free(rep);
	e = export(db, false);
	assert_null(strstr(e, "cisco1234"));
	assert_null(strstr(e, "secretkey"));
	assert_non_null(strstr(e, "isakmp key ******** address 0.0.0.0 netmask 0.0.0.0"));
	free(e);
	e = export(db, true);
	assert_non_null(strstr(e, "isakmp key cisco1234 address 0.0.0.0 netmask 0.0.0.0"));
	assert_non_null(strstr(e, "vpngroup vpn3000 password vpnsecret"));
	assert_non_null(strstr(e, "host 10.89.129.134 secretkey2 timeout 10"));
	free(e);

	/* the masked text again: the stored secrets are kept (the clear aaa key replaces its one) */
	rep = import(db, seed, true, true, NULL, 0, 0);
	assert_int_equal(rep->nsecrets_needed, 0);
	assert_int_equal(rep->changed_total, 1);
	assert_non_null(strstr(rep->changed[0], "(secret changed)"));
	pix_report_free(rep);
	e = export(db, true);
	assert_non_null(strstr(e, "isakmp key cisco1234 address"));
	free(e);

	/* set later, from the CLI path */
	assert_int_equal(pix_secret_parse("vpngroup:vpn3000=other", &s[0], &err), 0);
	assert_int_equal(pix_secret_set(db, &s[0], &err), 0);
	e = export(db, true);
	assert_non_null(strstr(e, "vpngroup vpn3000 password other"));
	free(e);
	assert_int_equal(pix_secret_parse("vpngroup:nosuch=x", &s[0], &err), 0);
	assert_int_equal(pix_secret_set(db, &s[0], &err), -ENOENT);
	assert_non_null(strstr(err.msg, "vpngroup:nosuch"));

	/* bad secret arguments and unknown objects are refused */
	assert_int_equal(pix_secret_parse("novalue", &s[0], &err), -EINVAL);
	assert_int_equal(pix_secret_parse("foo:bar=x", &s[0], &err), -EINVAL);
	assert_int_equal(pix_secret_parse("vpngroup:a=has space", &s[0], &err), -EINVAL);
	assert_int_equal(pix_secret_parse("vpngroup:a=", &s[0], &err), -EINVAL);
	assert_int_equal(pix_secret_parse("isakmp-key:1.2.3.4/255.255.255.255=k", &s[0], &err), 0);
	rep = import(db, seed, true, true, s, 1, -ENOENT);
	assert_false(rep->applied);
	pix_report_free(rep);
	free(seed);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_seed_round_trip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_checksum_is_md5_of_body, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_corpus_fixed_points, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_own_configs_command_for_command, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_diff_added_changed_removed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_strict_error_writes_nothing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failed_apply_rolls_back, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_leases_survive_reimport, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
