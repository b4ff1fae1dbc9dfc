/* A test IKEv1 initiator built from the responder's own codec and crypto (gateway/ike): the
 * Cisco VPN Client profile (Aggressive Mode, KEY_ID group, XAUTHInitPreShared, Xauth, Mode Config
 * pull, Quick Mode) plus DPD and DELETE. Blocking, one socket; for unit tests and as the benchmark
 * load generator. Compile it by including ike_initiator.c (no build rule of its own). */
#ifndef PORTCULLIS_TESTS_IKE_INITIATOR_H
#define PORTCULLIS_TESTS_IKE_INITIATOR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/ike/ike_int.h"

struct ike_init_cfg {
	struct sockaddr_in server;
	const char *group;    /* KEY_ID */
	const char *psk;      /* group password */
	const char *user;     /* Xauth */
	const char *password; /* Xauth */
	int dh_group;         /* phase 1 group (2) */
	bool unity;           /* send the Cisco Unity VID */
	int pfs_group;        /* Quick Mode PFS group, 0 none */
	int timeout_ms;       /* per receive */
	bool rekey;           /* a phase 1 rekey: no INITIAL_CONTACT in AM3 (as vpnc) */
	/* load generators only: this phase 1 key pair for every handshake instead of a fresh one
	 * (saves the client one modexp per handshake; not freed by the initiator) */
	const struct ike_dh *dh_fixed;
};

struct ike_init_result {
	uint32_t addr, netmask, dns;
	bool got_split, got_banner, got_domain;
	struct ipsec_prefix split[4];
	int nsplit;
	bool pushed; /* the gateway sent a Mode Config SET before our REPLY */
	uint16_t xauth_status;
	int xauth_rounds;
	uint32_t spi_in, spi_out; /* the initiator's view: in = what the gateway sends to us */
	uint8_t keymat_in[64], keymat_out[64];
	size_t keymat_len;
	uint32_t responder_life_s;
};

struct ike_init {
	struct ike_init_cfg cfg;
	int fd;
	struct ike_sa sa; /* key material and IV chains, the responder's structure reused */
	char err[256];
};

int ike_init_open(struct ike_init *in, const struct ike_init_cfg *cfg);
void ike_init_close(struct ike_init *in);
/* Aggressive Mode; returns 0 when HASH_R verified and AM3 sent. */
int ike_init_phase1(struct ike_init *in);
/* Answers Xauth requests until a SET arrives; res->xauth_status is its status. */
int ike_init_xauth(struct ike_init *in, struct ike_init_result *res);
int ike_init_modecfg(struct ike_init *in, struct ike_init_result *res);
int ike_init_quick(struct ike_init *in, struct ike_init_result *res);
/* DPD R-U-THERE; returns 0 when the matching ACK came back. */
int ike_init_dpd(struct ike_init *in, uint32_t seq);
int ike_init_delete(struct ike_init *in);
/* The same with a chosen message ID (vpnc's are one random byte: 0 happens). */
int ike_init_delete_mid(struct ike_init *in, uint32_t mid);
/* Waits for the gateway's informational DELETE of one ESP SA; *spi is the SPI it names. */
int ike_init_expect_delete_esp(struct ike_init *in, uint32_t *spi);
/* Waits for the gateway's R-U-THERE; answers it when answer. */
int ike_init_expect_dpd(struct ike_init *in, bool answer, uint32_t *seq);
/* Sends raw bytes (malformed-input tests) and waits for any answer; returns its length. */
int ike_init_raw(struct ike_init *in, const uint8_t *buf, size_t len, uint8_t *out, size_t cap);

#endif
