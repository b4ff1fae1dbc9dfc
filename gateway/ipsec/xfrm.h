/* The kernel SA backend: XFRM states and policies over netlink (libmnl). Message building and
 * parsing are separate pure functions so tests can build a message and parse it back. */
#ifndef PORTCULLIS_IPSEC_XFRM_H
#define PORTCULLIS_IPSEC_XFRM_H

#include <linux/xfrm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/ipsec/ipsec.h"

/* Portcullis marks every state and policy it owns with a reqid in this range, so stale ones from a
 * previous run can be found and removed at startup without touching anyone else's. */
#define XFRM_PC_REQID_BASE 0x50430000u
#define XFRM_PC_REQID_MASK 0xffff0000u
#define XFRM_PC_PRIORITY   0x2000u /* policy priority (lower wins; strongSwan uses larger) */
#define XFRM_MSG_BUF       8192

enum xfrm_pc_dir {
	XFRM_PC_IN,  /* peer -> us */
	XFRM_PC_OUT, /* us -> peer */
};

/* What a NEWSA message says, as parsed back. */
struct xfrm_sa_view {
	uint32_t spi;      /* host order */
	uint32_t src, dst; /* outer addresses, host order */
	uint32_t reqid;
	uint8_t mode;
	uint8_t replay_window;
	char enc_name[64];
	unsigned enc_key_bits;
	char auth_name[64];
	unsigned auth_key_bits;
	unsigned auth_trunc_bits;
	bool has_encap;
	uint16_t encap_type, encap_sport, encap_dport; /* ports host order */
	uint64_t soft_bytes, hard_bytes, soft_add_s, hard_add_s;
	uint64_t cur_bytes, cur_packets;
};

struct xfrm_policy_view {
	uint8_t dir; /* XFRM_POLICY_IN/OUT/FWD */
	uint32_t sel_src, sel_dst;
	uint8_t sel_src_plen, sel_dst_plen;
	uint32_t priority;
	int n_tmpl;
	uint32_t tmpl_src, tmpl_dst, tmpl_reqid;
	uint8_t tmpl_mode;
};

/* Builders: write one message into buf (XFRM_MSG_BUF bytes) and return its length, or a negative
 * errno when the parameters cannot be expressed (unknown algorithm, key too long). */
int xfrm_build_newsa(void *buf, size_t size, uint32_t seq, const struct ipsec_sa_params *p,
                     enum xfrm_pc_dir dir, uint32_t reqid);
int xfrm_build_delsa(void *buf, size_t size, uint32_t seq, uint32_t dst, uint32_t spi);
int xfrm_build_getsa(void *buf, size_t size, uint32_t seq, uint32_t dst, uint32_t spi);
int xfrm_build_newpolicy(void *buf, size_t size, uint32_t seq, const struct ipsec_sa_params *p,
                         uint8_t policy_dir, int ts_index_local, int ts_index_remote,
                         uint32_t reqid);
int xfrm_build_delpolicy(void *buf, size_t size, uint32_t seq, uint8_t policy_dir,
                         const struct ipsec_prefix *src, const struct ipsec_prefix *dst);
int xfrm_build_allocspi(void *buf, size_t size, uint32_t seq, uint32_t src, uint32_t dst,
                        uint32_t reqid);

/* Parsers: check every attribute's type and length; return 0 or -EBADMSG with why. */
int xfrm_parse_sa(const void *buf, size_t len, struct xfrm_sa_view *out, char *why, size_t whylen);
int xfrm_parse_policy(const void *buf, size_t len, struct xfrm_policy_view *out, char *why,
                      size_t whylen);

/* Kernel names of our algorithms ("cbc(des)", "hmac(sha1)", ...) and truncation lengths. */
const char *xfrm_enc_name(enum ipsec_enc enc);
const char *xfrm_auth_name(enum ipsec_auth auth, unsigned *trunc_bits);

/* Does this kernel (in the current network namespace) accept an ESP state? Adds a throwaway
 * state on loopback addresses and deletes it at once. 0 if yes; otherwise a negative errno and
 * why names what is missing. */
int ipsec_xfrm_probe(char *why, size_t whylen);

/* The backend: probes first (-EPROTONOSUPPORT with why naming what the kernel lacks), then opens
 * the request and event sockets and removes stale Portcullis states/policies. Counters come from
 * the kernel (GETSA; the last values are kept once a state expired); soft expiry is reported to
 * on_event, hard expiry too and then everything of the pair is removed. Freeing removes every
 * state and policy the backend owns. */
int ipsec_xfrm_new(struct loop *loop, struct ipsec_backend **out, char *why, size_t whylen);
/* Asks the kernel for an inbound SPI (XFRM_MSG_ALLOCSPI) from peer to local. */
int ipsec_xfrm_alloc_spi(struct ipsec_backend *be, uint32_t peer, uint32_t local, uint32_t *spi);
/* Sets UDP_ENCAP_ESPINUDP on the IKE engine's port 4500 socket so the kernel takes ESP-in-UDP. */
int ipsec_xfrm_setup_natt_socket(int fd);
/* Removes every state and policy carrying a Portcullis reqid (startup and shutdown). Returns how
 * many were removed, or a negative errno. */
int ipsec_xfrm_flush_owned(struct ipsec_backend *be);

#endif
