/* portcullis import | export | secret set: PIX configuration text <-> the database. */
#include "cli/cli.h"
#include "db/db.h"
#include "db/pix.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_import(struct cli_ctx *ctx, int argc, char **argv);
int cmd_export(struct cli_ctx *ctx, int argc, char **argv);
int cmd_secret(struct cli_ctx *ctx, int argc, char **argv);

#define SECRETS_MAX 256

static void
import_usage(FILE *f)
{
	fputs("usage: portcullis --db FILE [--json] import FILE|- [--apply] [--strict]\n"
	      "                  [--secret OBJECT=VALUE]... [--secrets-file FILE] [--all-lines]\n"
	      "\n"
	      "Reads a PIX 6.x `show running-config` / `write terminal` text and reports what it\n"
	      "would add, change and remove in the stored configuration. Nothing is written "
	      "unless\n"
	      "--apply is given; then the whole configuration is replaced in one transaction.\n"
	      "\n"
	      "  --apply             write the configuration (default: dry run)\n"
	      "  --strict            any invalid line stops the import (default: keep it "
	      "verbatim)\n"
	      "  --all-lines         list every line in the text report, not only the problems\n"
	      "  --secret OBJ=VALUE  a secret the text shows masked (********); OBJ is one of\n"
	      "                        isakmp-key:ADDRESS/NETMASK   (isakmp key ... address A "
	      "netmask M)\n"
	      "                        vpngroup:NAME                (vpngroup NAME password ...)\n"
	      "                        aaa-server:GROUP/ADDRESS     (aaa-server GROUP (IF) host A "
	      "KEY)\n"
	      "                      e.g. --secret isakmp-key:0.0.0.0/0.0.0.0=cisco1234\n"
	      "  --secrets-file F    one OBJ=VALUE per line ('#' comments), instead of the "
	      "command\n"
	      "                      line, so secrets stay out of the process list\n"
	      "Masked secrets without a value keep the secret already stored for the same object;\n"
	      "objects still without one are listed under \"secrets not set\". Set them later "
	      "with\n"
	      "`portcullis --db FILE secret set OBJ=VALUE`.\n",
	      f);
}

static int
read_all(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return -errno;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;

			if (ncap > (size_t)PIX_MAX_TEXT + 1) {
				free(buf);
				if (f != stdin)
					fclose(f);
				return -EFBIG;
			}
			nb = realloc(buf, ncap);
			if (nb == NULL) {
				free(buf);
				if (f != stdin)
					fclose(f);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (r == 0)
			break;
	}
	int err = ferror(f) ? -EIO : 0;

	if (f != stdin)
		fclose(f);
	if (err < 0) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int
add_secret(struct pix_secret *v, size_t *n, const char *arg)
{
	struct pc_err err = {0};

	if (*n == SECRETS_MAX)
		return cli_fail("more than %d secrets", SECRETS_MAX);
	if (pix_secret_parse(arg, &v[*n], &err) < 0)
		return cli_fail("%s", err.msg);
	(*n)++;
	return 0;
}

static int
read_secrets_file(const char *path, struct pix_secret *v, size_t *n)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int lineno = 0;

	if (f == NULL)
		return cli_fail("--secrets-file %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t l = strlen(line);

		lineno++;
		while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if (add_secret(v, n, line) != 0) {
			fclose(f);
			explicit_bzero(line, sizeof(line));
			return cli_fail("--secrets-file %s: line %d", path, lineno);
		}
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return 0;
}

int
cmd_import(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"apply", no_argument, NULL, 'a'},
	        {"strict", no_argument, NULL, 's'},
	        {"secret", required_argument, NULL, 'S'},
	        {"secrets-file", required_argument, NULL, 'F'},
	        {"json", no_argument, NULL, 'j'},
	        {"all-lines", no_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct pix_import_opts io = {0};
	struct pix_secret *secrets = calloc(SECRETS_MAX, sizeof(*secrets));
	size_t nsecrets = 0;
	struct pc_err err = {0};
	struct pix_report *rep = NULL;
	struct db *db = NULL;
	char *text = NULL, *out;
	size_t len = 0;
	bool json = ctx->json, all = false;
	int c, rc = 1;

	if (secrets == NULL)
		return cli_fail("out of memory");
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			io.apply = true;
			break;
		case 's':
			io.strict = true;
			break;
		case 'S':
			if (add_secret(secrets, &nsecrets, optarg) != 0)
				goto out;
			break;
		case 'F':
			if (read_secrets_file(optarg, secrets, &nsecrets) != 0)
				goto out;
			break;
		case 'j':
			json = true;
			break;
		case 'l':
			all = true;
			break;
		case 'h':
			import_usage(stdout);
			rc = 0;
			goto out;
		default:
			import_usage(stderr);
			goto out;
		}
	}
	/* options may also follow the file name */
	if (optind >= argc) {
		import_usage(stderr);
		goto out;
	}
	const char *path = argv[optind++];

	while (optind < argc) {
		c = getopt_long(argc, argv, "+", opts, NULL);
		if (c == -1) {
			cli_fail("unexpected argument '%s'", argv[optind]);
			goto out;
		}
		if (c == 'a')
			io.apply = true;
		else if (c == 's')
			io.strict = true;
		else if (c == 'j')
			json = true;
		else if (c == 'l')
			all = true;
		else if (c == 'S' && add_secret(secrets, &nsecrets, optarg) != 0)
			goto out;
		else if (c == 'F' && read_secrets_file(optarg, secrets, &nsecrets) != 0)
			goto out;
		else if (c == '?' || c == 'h') {
			import_usage(stderr);
			goto out;
		}
	}
	int r = read_all(path, &text, &len);

	if (r < 0) {
		cli_fail("%s: %s", path,
		         r == -EFBIG ? "larger than the 64 MiB limit" : strerror(-r));
		goto out;
	}
	if (db_open(ctx->db_path, &db, &err) < 0) {
		cli_fail("%s", err.msg);
		goto out;
	}
	io.secrets = secrets;
	io.nsecrets = nsecrets;
	io.actor = "cli";
	io.source = "cli";
	r = pix_import(db, text, len, &io, &rep, &err);
	/* the report is meaningful when the text was parsed (and, strict, when it stopped) */
	if (rep != NULL && (r == 0 || rep->stopped)) {
		out = json ? pix_report_to_json(rep) : pix_report_to_text(rep, all);
		if (out != NULL) {
			fputs(out, stdout);
			if (json)
				fputc('\n', stdout);
			free(out);
		}
	}
	if (r < 0) {
		cli_fail("import: %s", err.msg);
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(secrets, SECRETS_MAX * sizeof(*secrets));
	free(secrets);
	pix_report_free(rep);
	free(text);
	db_close(db);
	return rc;
}

int
cmd_export(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"show-secrets", no_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct pc_err err = {0};
	struct db *db;
	bool show = false;
	char *text;
	int c;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 's') {
			show = true;
		} else {
			fputs("usage: portcullis --db FILE export [--show-secrets]\n"
			      "  prints the stored configuration as PIX `show running-config` "
			      "text;\n"
			      "  secrets are masked (********) unless --show-secrets\n",
			      c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 1;
		}
	}
	if (optind < argc)
		return cli_fail("export: unexpected argument '%s'", argv[optind]);
	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	if (pix_export(db, show, &text, &err) < 0) {
		db_close(db);
		return cli_fail("export: %s", err.msg);
	}
	fputs(text, stdout);
	if (show)
		explicit_bzero(text, strlen(text));
	free(text);
	db_close(db);
	return 0;
}

int
cmd_secret(struct cli_ctx *ctx, int argc, char **argv)
{
	struct pc_err err = {0};
	struct pix_secret s;
	struct db *db;
	int rc;

	if (argc != 3 || strcmp(argv[1], "set") != 0)
		return cli_fail("usage: portcullis --db FILE secret set OBJECT=VALUE (OBJECT: "
		                "isakmp-key:ADDR/MASK, vpngroup:NAME, aaa-server:GROUP/ADDR)");
	if (pix_secret_parse(argv[2], &s, &err) < 0)
		return cli_fail("%s", err.msg);
	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	rc = pix_secret_set(db, &s, &err);
	explicit_bzero(s.value, sizeof(s.value));
	db_close(db);
	if (rc < 0)
		return cli_fail("secret set: %s", err.msg);
	printf("secret set for %s\n", s.object);
	return 0;
}
