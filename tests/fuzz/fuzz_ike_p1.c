/* libFuzzer harness for the responder's first-message handling: Aggressive Mode message 1 and
 * Main Mode message 1 go through the real ike_aggr_input / ike_main_input (ID and key choice,
 * SA payload interpretation, PIX-style policy matching, DH, key derivation, AM2 construction)
 * against an in-memory engine with the seed policy and no sockets. */
#include "gateway/core/log.h"
#include "gateway/ike/ike_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ike *
engine(void)
{
	static struct ike *e;
	struct ike_conf *c;

	if (e != NULL)
		return e;
	log_set_all_levels(LOG_LVL_ERROR);
	ike_crypto_init();
	e = calloc(1, sizeof(*e));
	e->fd500 = e->fd4500 = -1;
	e->half_open_s = IKE_HALF_OPEN_S;
	e->rtx_base_ms = IKE_RETRANS_BASE_MS;
	c = &e->conf;
	c->pol[0] = (struct ike_policy){10, IKE_AUTH_PSK, IKE_ENC_DES, 0, IKE_HASH_MD5, 2, 86400};
	c->pol[1] = (struct ike_policy){20, IKE_AUTH_PSK, IKE_ENC_DES, 0, IKE_HASH_MD5, 1, 86400};
	c->pol[2] = (struct ike_policy){30, IKE_AUTH_PSK, IKE_ENC_AES, 256, IKE_HASH_SHA1, 2, 3600};
	c->npol = 3;
	strcpy(c->key[0].secret, "cisco1234");
	c->nkey = 1;
	strcpy(c->grp[0].name, "vpn3000");
	strcpy(c->grp[0].password, "vpnsecret");
	c->grp[0].has_password = true;
	c->ngrp = 1;
	strcpy(c->auth_group, "AuthInbound");
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[8];
	struct ike *e = engine();
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(500)};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(500)};
	struct ike_perr pe;
	struct ike_hdr h;

	from.sin_addr.s_addr = htonl(0xc0a80102);
	to.sin_addr.s_addr = htonl(0xc0a80101);
	if (ike_pld_validate_hdr(data, size, &h, &pe) < 0 || memcmp(h.rcookie, zero, 8) != 0)
		return 0;
	if (h.exch == IKE_EX_AGGR)
		ike_aggr_input(e, data, size, &h, &from, &to, false);
	else if (h.exch == IKE_EX_MAIN)
		ike_main_input(e, data, size, &h, &from, &to, false);
	while (e->sas != NULL)
		ike_sa_kill(e->sas, "fuzz", false);
	return 0;
}
