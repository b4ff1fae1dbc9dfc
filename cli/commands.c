/* The table of subcommands: one line each, kept in the order --help lists them. */
#include "cli/cli.h"

#include <stddef.h>

int cmd_version(struct cli_ctx *ctx, int argc, char **argv);
int cmd_db_init(struct cli_ctx *ctx, int argc, char **argv);
int cmd_aaa(struct cli_ctx *ctx, int argc, char **argv);
int cmd_import(struct cli_ctx *ctx, int argc, char **argv);
int cmd_export(struct cli_ctx *ctx, int argc, char **argv);
int cmd_secret(struct cli_ctx *ctx, int argc, char **argv);
int cmd_admin(struct cli_ctx *ctx, int argc, char **argv);
int cmd_token(struct cli_ctx *ctx, int argc, char **argv);
int cmd_show(struct cli_ctx *ctx, int argc, char **argv);
int cmd_uauth(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ipsec_probe(struct cli_ctx *ctx, int argc, char **argv);
int cmd_interface(struct cli_ctx *ctx, int argc, char **argv);
int cmd_nat(struct cli_ctx *ctx, int argc, char **argv);
int cmd_interface(struct cli_ctx *ctx, int argc, char **argv);
int cmd_nat(struct cli_ctx *ctx, int argc, char **argv);
int cmd_uauth(struct cli_ctx *ctx, int argc, char **argv);

const struct cli_command cli_commands[] = {
        {"version", "version                      print the version", false, false, cmd_version},
        {"db-init", "db-init                      create and migrate the database (--db)", true,
         false, cmd_db_init},
        {"aaa", "aaa test|account-test|deliver|outbox|hash  drive AAA servers (--db)", true, false,
         cmd_aaa},
        {"import",
         "import FILE|- [--apply] [--strict] [--secret OBJ=VAL]  PIX config (import --help)", true,
         false, cmd_import},
        {"export", "export [--show-secrets]      print the config as PIX show running-config", true,
         false, cmd_export},
        {"secret",
         "secret set OBJECT=VALUE      set a secret (isakmp-key:A/M, vpngroup:N, "
         "aaa-server:G/A)",
         true, false, cmd_secret},
        {"admin", "admin add NAME|passwd NAME|del NAME|list   admins (--db; password on stdin)",
         true, false, cmd_admin},
        {"token", "token create NAME [--read-only]|list|revoke NAME   API tokens (--db)", true,
         false, cmd_token},
        {"show", "show uauth|crypto isakmp sa|crypto ipsec sa|accounting [USER]  (--api)", false,
         true, cmd_show},
        {"uauth",
         "uauth [show|clear [USER|ADDR]] show uauth / clear uauth (--api live, --db stored)", false,
         false, cmd_uauth},
        {"ipsec-probe", "ipsec-probe                  which SA backend auto picks here, and why",
         false, false, cmd_ipsec_probe},
        {"interface", "interface map ethernetN IFNAME|default | list   Linux names (--db)", true,
         false, cmd_interface},
        {"nat", "nat apply|show|counters|uauth|flush [--netns NAME] [--tun IF] [--no-net]", false,
         false, cmd_nat},
        {"uauth",
         "uauth [show|clear [USER|ADDR]] show uauth / clear uauth (--api live, --db stored)", false,
         false, cmd_uauth},
};

const int cli_command_count = (int)(sizeof(cli_commands) / sizeof(cli_commands[0]));
