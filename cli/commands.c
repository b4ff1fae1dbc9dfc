/* The table of subcommands: one line each, kept in the order --help lists them. */
#include "cli/cli.h"

#include <stddef.h>

int cmd_version(struct cli_ctx *ctx, int argc, char **argv);
int cmd_db_init(struct cli_ctx *ctx, int argc, char **argv);
int cmd_aaa(struct cli_ctx *ctx, int argc, char **argv);
int cmd_interface(struct cli_ctx *ctx, int argc, char **argv);
int cmd_nat(struct cli_ctx *ctx, int argc, char **argv);
int cmd_uauth(struct cli_ctx *ctx, int argc, char **argv);

const struct cli_command cli_commands[] = {
        {"version", "version                      print the version", false, false, cmd_version},
        {"db-init", "db-init                      create and migrate the database (--db)", true,
         false, cmd_db_init},
        {"aaa", "aaa test|account-test|deliver|outbox|hash  drive AAA servers (--db)", true, false,
         cmd_aaa},
        {"interface", "interface map ethernetN IFNAME|default | list   Linux names (--db)", true,
         false, cmd_interface},
        {"nat", "nat apply|show|counters|uauth|flush [--netns NAME] [--tun IF] [--no-net]", false,
         false, cmd_nat},
        {"uauth",
         "uauth [show|clear [USER|ADDR]] show uauth / clear uauth (--api live, --db stored)", false,
         false, cmd_uauth},
};

const int cli_command_count = (int)(sizeof(cli_commands) / sizeof(cli_commands[0]));
