/* The table of subcommands: one line each, kept in the order --help lists them. */
#include "cli/cli.h"

#include <stddef.h>

int cmd_version(struct cli_ctx *ctx, int argc, char **argv);
int cmd_db_init(struct cli_ctx *ctx, int argc, char **argv);
int cmd_admin(struct cli_ctx *ctx, int argc, char **argv);
int cmd_token(struct cli_ctx *ctx, int argc, char **argv);
int cmd_show(struct cli_ctx *ctx, int argc, char **argv);

const struct cli_command cli_commands[] = {
        {"version", "version                      print the version", false, false, cmd_version},
        {"db-init", "db-init                      create and migrate the database (--db)", true,
         false, cmd_db_init},
        {"admin", "admin add NAME|passwd NAME|del NAME|list   admins (--db; password on stdin)",
         true, false, cmd_admin},
        {"token", "token create NAME [--read-only]|list|revoke NAME   API tokens (--db)", true,
         false, cmd_token},
        {"show", "show uauth|crypto isakmp sa|crypto ipsec sa|accounting [USER]  (--api)", false,
         true, cmd_show},
};

const int cli_command_count = (int)(sizeof(cli_commands) / sizeof(cli_commands[0]));
