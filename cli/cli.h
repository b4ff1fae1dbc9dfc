/* The admin command line. Each subcommand lives in its own cli/cmd_*.c file and is listed in
 * cli/commands.c. */
#ifndef PORTCULLIS_CLI_CLI_H
#define PORTCULLIS_CLI_CLI_H

#include <stdbool.h>

struct cli_ctx {
	const char *db_path; /* --db FILE: offline work on a database */
	const char *api_url; /* --api URL: against a running daemon */
	const char *token;   /* --token T (or $PORTCULLIS_TOKEN) */
	bool json;           /* --json */
};

struct cli_command {
	const char *name;  /* first word(s), e.g. "import", "show" */
	const char *usage; /* one line for --help */
	bool needs_db;     /* needs --db */
	bool needs_api;    /* needs --api */
	int (*run)(struct cli_ctx *ctx, int argc, char **argv); /* argv[0] is the command name */
};

extern const struct cli_command cli_commands[];
extern const int cli_command_count;

/* Prints "portcullis: <msg>" to stderr; returns 1 (the exit status for usage/input errors). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
