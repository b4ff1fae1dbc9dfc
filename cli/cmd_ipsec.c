/* `portcullis ipsec-probe`: which SA backend `auto` picks in this network namespace, and why.
 * Asks the kernel to add (and at once delete) a throwaway ESP state, like the daemon does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "gateway/ipsec/backend.h"

int cmd_ipsec_probe(struct cli_ctx *ctx, int argc, char **argv);

int
cmd_ipsec_probe(struct cli_ctx *ctx, int argc, char **argv)
{
	char why[256];
	int ret;

	if (argc != 1)
		return cli_fail("ipsec-probe takes no arguments (got %d)", argc - 1);
	ret = ipsec_backend_probe_xfrm(why, sizeof(why));
	if (ctx->json) {
		json_t *o = json_pack("{s:b, s:s, s:s}", "kernel_esp", ret == 0, "reason", why,
		                      "auto", ret == 0 ? "xfrm" : "tun");

		if (o == NULL)
			return cli_fail("json_pack: failed");
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return 0;
	}
	printf("kernel ESP: %s (%s)\n", ret == 0 ? "yes" : "no", why);
	printf("auto backend: %s\n", ret == 0 ? "xfrm (kernel ESP)" : "tun (no kernel ESP)");
	return 0;
}
