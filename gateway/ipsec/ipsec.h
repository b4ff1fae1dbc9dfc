/* The SA backend interface: the IKE engine hands a negotiated SA pair to a backend (tun: userspace
 * ESP on a TUN device; xfrm: the kernel), which carries the traffic and reports counters and
 * lifetime events back. All calls happen on the engine (loop) thread. */
#ifndef PORTCULLIS_IPSEC_IPSEC_H
#define PORTCULLIS_IPSEC_IPSEC_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/core/loop.h"

enum ipsec_enc {
	IPSEC_ENC_NULL,
	IPSEC_ENC_DES,
	IPSEC_ENC_3DES,
	IPSEC_ENC_AES_CBC, /* key length 16, 24 or 32 */
};

enum ipsec_auth {
	IPSEC_AUTH_NONE,
	IPSEC_AUTH_HMAC_MD5_96,
	IPSEC_AUTH_HMAC_SHA1_96,
	IPSEC_AUTH_HMAC_SHA256_128,
};

#define IPSEC_MAX_ENC_KEY   32
#define IPSEC_MAX_AUTH_KEY  32
#define IPSEC_MAX_SELECTORS 16

struct ipsec_prefix {
	uint32_t addr; /* host byte order */
	uint8_t plen;
};

/* Keys for one direction. */
struct ipsec_keys {
	uint32_t spi; /* network order on the wire; stored here in host order */
	uint8_t enc_key[IPSEC_MAX_ENC_KEY];
	size_t enc_key_len;
	uint8_t auth_key[IPSEC_MAX_AUTH_KEY];
	size_t auth_key_len;
};

/* One negotiated SA pair (tunnel mode). "in" = traffic from the client to us. */
struct ipsec_sa_params {
	enum ipsec_enc enc;
	enum ipsec_auth auth;
	struct ipsec_keys in;
	struct ipsec_keys out;
	struct sockaddr_in local; /* gateway's outer address and port (500/4500) */
	struct sockaddr_in peer;  /* client's outer address and port */
	bool udp_encap;           /* NAT-T: ESP in UDP (RFC 3948) from/to local/peer ports */
	/* Inner selectors: the client's side (usually its Mode Config address /32) and the networks
	 * behind the gateway it may reach (0.0.0.0/0 or the split-tunnel networks). */
	struct ipsec_prefix remote_ts[IPSEC_MAX_SELECTORS]; /* client side */
	int n_remote_ts;
	struct ipsec_prefix local_ts[IPSEC_MAX_SELECTORS]; /* gateway side */
	int n_local_ts;
	uint64_t soft_lifetime_s, hard_lifetime_s; /* 0: none */
	uint64_t soft_lifetime_bytes, hard_lifetime_bytes;
	uint32_t replay_window; /* packets, 0 disables anti-replay; default 64 */
	uint64_t owner;         /* opaque id the IKE engine uses to find its SA again */
};

struct ipsec_sa_stats {
	uint64_t bytes_in, bytes_out; /* inner (plaintext) bytes */
	uint64_t packets_in, packets_out;
	uint64_t replay_drops, auth_failures, other_drops;
	uint64_t last_in_ms; /* loop_now_ms() of the last valid inbound packet, 0: never */
	uint64_t added_ms;
};

enum ipsec_event {
	IPSEC_EV_SOFT_EXPIRE, /* soft lifetime reached: rekey or tear down */
	IPSEC_EV_HARD_EXPIRE, /* hard lifetime reached: the backend has already removed the SA */
};

struct ipsec_backend;

/* Called on the loop thread for lifetime events. */
typedef void (*ipsec_event_fn)(void *arg, uint64_t owner, uint64_t handle, enum ipsec_event ev);

struct ipsec_backend_ops {
	const char *name;
	/* Adds the SA pair; *handle identifies it for del/stats. */
	int (*sa_add)(struct ipsec_backend *be, const struct ipsec_sa_params *p, uint64_t *handle);
	int (*sa_del)(struct ipsec_backend *be, uint64_t handle);
	int (*sa_stats)(struct ipsec_backend *be, uint64_t handle, struct ipsec_sa_stats *out);
	/* An ESP-in-UDP datagram (non-ESP marker already checked: first 4 bytes non-zero) that
	 * arrived on the IKE engine's port 4500 socket. */
	void (*udp_input)(struct ipsec_backend *be, const uint8_t *pkt, size_t len,
	                  const struct sockaddr_in *from, const struct sockaddr_in *to);
	/* Optional: the end of a batch of udp_input calls. The backend may hold packets back
	 * until then (the tun backend hands them to its worker threads and joins TCP segments);
	 * without this call they wait for the next loop iteration. */
	void (*input_done)(struct ipsec_backend *be);
	void (*free)(struct ipsec_backend *be);
};

struct ipsec_backend {
	const struct ipsec_backend_ops *ops;
	struct loop *loop;
	ipsec_event_fn on_event;
	void *event_arg;
	/* The IKE engine's UDP 4500 socket, for sending ESP-in-UDP; -1 until set. */
	int natt_fd;
};

/* Which backend: auto probes for kernel ESP. */
enum ipsec_backend_kind {
	IPSEC_BACKEND_AUTO,
	IPSEC_BACKEND_TUN,
	IPSEC_BACKEND_XFRM,
};

#endif
