/* Reproducer (not part of the build) for why gateway/aaa does not use libradcli: Debian's
 * libradcli 1.2.11 rc_acct() returns OK_RC for an Accounting-Response whose Response
 * Authenticator is wrong. Run, as root or not, on loopback only:
 *
 *   python3 tests/peers/radius_bad_server.py --port 6904 --secret sec --mode badauth &
 *   cc -o /tmp/rfr tests/peers/radcli_forged_reply.c $(pkg-config --cflags --libs radcli)
 *   /tmp/rfr; kill %1
 *
 * Observed on 2026-11-26: "rc_acct with a forged Response Authenticator -> 0 (OK_RC)". */
#include <radcli/radcli.h>
#include <stdio.h>

int
main(void)
{
	VALUE_PAIR *send = NULL;
	uint32_t status = PW_STATUS_START;
	rc_handle *rh = rc_config_init(rc_new());
	int rc;

	if (rh == NULL || rc_add_config(rh, "dictionary", "/etc/radcli/dictionary", "x", 0) ||
	    rc_add_config(rh, "radius_timeout", "2", "x", 0) ||
	    rc_add_config(rh, "radius_retries", "0", "x", 0) ||
	    rc_add_config(rh, "authserver", "127.0.0.1:6904:sec", "x", 0) ||
	    rc_add_config(rh, "acctserver", "127.0.0.1:6904:sec", "x", 0) || rc_apply_config(rh) ||
	    rc_read_dictionary(rh, "/etc/radcli/dictionary")) {
		fprintf(stderr, "radcli setup failed\n");
		return 2;
	}
	rc_avpair_add(rh, &send, PW_ACCT_STATUS_TYPE, &status, 0, 0);
	rc_avpair_add(rh, &send, PW_ACCT_SESSION_ID, "x1", -1, 0);
	rc_avpair_add(rh, &send, PW_USER_NAME, "u", -1, 0);
	rc = rc_acct(rh, 0, send);
	printf("rc_acct with a forged Response Authenticator -> %d (%s)\n", rc,
	       rc == OK_RC ? "OK_RC: accepted" : "refused");
	rc_avpair_free(send);
	rc_destroy(rh);
	return rc == OK_RC ? 1 : 0;
}
