/* Main Mode (RFC 2409 5.1 with pre-shared keys): not implemented yet. Refused with a notify and
 * a log line so the administrator sees why a Main Mode client (Cisco Secure VPN Client 1.1,
 * site-to-site peers) cannot connect. */
#include "gateway/ike/ike_int.h"
#include "gateway/core/log.h"

void
ike_main_input(struct ike *ike, const uint8_t *buf, size_t len, const struct ike_hdr *h,
               const struct sockaddr_in *from, const struct sockaddr_in *to, bool natt)
{
	char peer[32];

	ike_peer_str(from, peer, sizeof(peer));
	log_warn(LOG_IKE,
	         "%s: Main Mode is not supported by this responder yet (use Aggressive "
	         "Mode with a vpngroup); sending NO_PROPOSAL_CHOSEN",
	         peer);
	ike_info_notify_plain(ike, h, natt, from, IKE_N_NO_PROPOSAL_CHOSEN);
}
