/* A test IKEv1 initiator built from the responder's own codec and crypto (gateway/ike): the
 * Cisco VPN Client profile (Aggressive Mode, KEY_ID group, XAUTHInitPreShared, Xauth, Mode Config
 * pull, Quick Mode) plus DPD and DELETE. Blocking, one socket; for unit tests and as the benchmark
 * load generator. Compile it by including ike_initiator.c (no build rule of its own).
 *
 * NAT-T (cfg.natt) is forced the way `vpnc --natt-mode force-natt` does it: vpnc's NAT-T vendor
 * IDs (RFC 3947, drafts 02\n, 02, 01, 00) in AM1, NAT-D payloads in AM3 whose hash for our own
 * address is deliberately wrong (the responder sees us "behind a NAT"), AM3 and everything after
 * it sent to the server's NAT-T port from the same socket with the 4-byte non-ESP marker, and
 * Quick Mode asking UDP-Encapsulated-Tunnel (3 with RFC 3947, 61443 with the drafts: whichever
 * vendor ID the responder sent back). */
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
	bool natt;          /* force NAT-T (see above); false: plain IKE on the server's port */
	uint16_t natt_port; /* the server's NAT-T port, host order; 0: 4500 */
	bool natt_draft;    /* with natt: only the draft vendor IDs (no RFC 3947) */
	/* Quick Mode ESP transform, one proposal: esp_id ESP_DES/ESP_3DES/ESP_AES, esp_auth 1
	 * HMAC-MD5, 2 HMAC-SHA1, esp_keybits for AES (0: 128). esp_id 0: the default, two proposals
	 * (3DES/HMAC-SHA1, then DES/HMAC-MD5), and DES/HMAC-MD5 expected back. */
	int esp_id;
	int esp_auth;
	int esp_keybits;
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
	/* keymat_in keys spi_in (gateway -> us), keymat_out spi_out (us -> gateway): each is the
	 * cipher key (esp_enc_keylen bytes) then the HMAC key, keymat_len = their sum */
	uint8_t keymat_in[64], keymat_out[64];
	size_t keymat_len;
	int esp_id, esp_auth;  /* what the responder chose */
	size_t esp_enc_keylen; /* bytes of the cipher key at the start of keymat_* */
	uint16_t encap;        /* the encapsulation mode asked for and granted */
	uint32_t responder_life_s;
};

struct ike_init {
	struct ike_init_cfg cfg;
	int fd;
	struct ike_sa sa; /* key material and IV chains, the responder's structure reused */
	bool floated;     /* talking to the NAT-T port with the non-ESP marker */
	uint8_t natt_vid; /* the NAT-T vendor ID the responder sent: 0 none, 1 RFC 3947, 2 draft */
	char err[256];
};

int ike_init_open(struct ike_init *in, const struct ike_init_cfg *cfg);
/* The same from source address src (host order) instead of loopback: the load generators give
 * each client its own address. */
int ike_init_open_from(struct ike_init *in, const struct ike_init_cfg *cfg, uint32_t src);
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
