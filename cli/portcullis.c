/* portcullis: the admin command line. */
#include "cli/cli.h"
#include "db/db.h"
#include "gateway/core/log.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("portcullis: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: portcullis [--db FILE | --api URL --token T] [--json] COMMAND [ARGS]\n"
	           "\n"
	           "  --db FILE      work offline on a Portcullis SQLite database\n"
	           "  --api URL      talk to a running portcullisd (e.g. http://127.0.0.1:8080)\n"
	           "  --token T      API token (or set PORTCULLIS_TOKEN)\n"
	           "  --json         machine-readable output where a command supports it\n"
	           "  --log-level L  error|warn|info|debug (default warn)\n"
	           "\n"
	           "commands:\n");
	for (int i = 0; i < cli_command_count; i++)
		fprintf(f, "  %s\n", cli_commands[i].usage);
}

int
cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
	printf("portcullis %s (schema %d)\n", PORTCULLIS_VERSION, db_latest_version());
	return 0;
}

int
cmd_db_init(struct cli_ctx *ctx, int argc, char **argv)
{
	struct pc_err err = {0};
	struct db *db;

	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	printf("%s: schema version %d\n", ctx->db_path, db_schema_version(db));
	db_close(db);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"db", required_argument, NULL, 'd'},        {"api", required_argument, NULL, 'a'},
	        {"token", required_argument, NULL, 't'},     {"json", no_argument, NULL, 'j'},
	        {"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
	};
	struct cli_ctx ctx = {.token = getenv("PORTCULLIS_TOKEN")};
	const char *bad;
	size_t badlen;
	int c;

	log_set_all_levels(LOG_LVL_WARN);
	/* '+': stop at the first non-option, so subcommands parse their own flags */
	while ((c = getopt_long(argc, argv, "+d:a:t:jl:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ctx.db_path = optarg;
			break;
		case 'a':
			ctx.api_url = optarg;
			break;
		case 't':
			ctx.token = optarg;
			break;
		case 'j':
			ctx.json = true;
			break;
		case 'l':
			if (log_parse_spec(optarg, &bad, &badlen) < 0)
				return cli_fail("--log-level: expected error|warn|info|debug or "
				                "SUBSYS=LEVEL, got '%.*s'",
				                (int)badlen, bad);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return cmd_version(&ctx, 0, NULL);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < cli_command_count; i++) {
		const struct cli_command *cmd = &cli_commands[i];

		if (strcmp(argv[optind], cmd->name) != 0)
			continue;
		if (cmd->needs_db && ctx.db_path == NULL)
			return cli_fail("%s needs --db FILE", cmd->name);
		if (cmd->needs_api && ctx.api_url == NULL)
			return cli_fail("%s needs --api URL (and --token T)", cmd->name);
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;

		optind = 0; /* the subcommand may use getopt on its own argv (argv[0] = name) */
		return cmd->run(&ctx, sub_argc, sub_argv) == 0 ? 0 : 1;
	}
	return cli_fail("unknown command '%s' (see portcullis --help)", argv[optind]);
}
