/* The tun SA backend: userspace ESP (tunnel mode) on a TUN device, for kernels or containers
 * without kernel ESP. Packets the kernel routes into the TUN device are matched by inner
 * destination against the SAs' client-side selectors, encrypted and sent as raw ESP (IP
 * protocol 50) or, for NAT-T SAs, as ESP-in-UDP through the IKE engine's port 4500 socket
 * (be->natt_fd). Inbound raw ESP arrives on the backend's own raw socket; inbound ESP-in-UDP is
 * handed over by the IKE engine through ops->udp_input. Decrypted packets are written to the TUN
 * device (IFF_VNET_HDR: TCP segments of one flow in a batch are joined into one GSO packet,
 * tun_gro.h), so the kernel routes them to the inside network. Each SA's client-side selectors
 * (remote_ts) get a route via the TUN device while the SA exists. Each SA's ESP runs on one of
 * esp_threads threads (the caller's loop thread or a worker; README.md, "Threads"). */
#ifndef PORTCULLIS_IPSEC_TUN_H
#define PORTCULLIS_IPSEC_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/ipsec/esp.h"
#include "gateway/ipsec/ipsec.h"

#define IPSEC_TUN_DEFAULT_IFNAME      "pcx0"
#define IPSEC_TUN_DEFAULT_MTU         1400 /* 1500 minus the worst ESP-in-UDP overhead, rounded */
#define IPSEC_TUN_DEFAULT_MAX_SAS     65536
#define IPSEC_TUN_MAX_PKT             65535 /* largest IPv4 packet decrypted and written to the TUN */
#define IPSEC_TUN_MAX_MTU             9000 /* largest TUN MTU, so largest packet read from it */
#define IPSEC_TUN_READ_BATCH          64   /* packets handled per readiness event, per socket */
#define IPSEC_TUN_DEFAULT_MAX_THREADS 8    /* ESP threads by default: CPUs, at most this */
#define IPSEC_TUN_MAX_THREADS         16   /* TUN_POOL_MAX */

/* A zeroed struct gives the defaults. */
struct ipsec_tun_config {
	char ifname[IFNAMSIZ]; /* "" -> IPSEC_TUN_DEFAULT_IFNAME */
	uint32_t mtu;          /* 0 -> IPSEC_TUN_DEFAULT_MTU */
	uint32_t max_sas;      /* SA pairs; 0 -> IPSEC_TUN_DEFAULT_MAX_SAS */
	uint32_t route_table;  /* 0 -> main */
	bool no_raw_esp;       /* do not open the raw ESP socket (NAT-T only) */
	/* Threads that encrypt and decrypt, the loop's included: SAs are given to them round
	 * robin, each SA's ESP on one of them; 0 -> the CPUs this process may use, at most
	 * IPSEC_TUN_DEFAULT_MAX_THREADS; 1 -> all on the loop thread. */
	unsigned esp_threads;
};

/* Creates the TUN device (up, with the MTU), the raw ESP socket and the rtnetlink socket, and
 * watches them on loop. be->natt_fd starts at -1; the IKE engine sets it to its port 4500 socket.
 * Needs CAP_NET_ADMIN and CAP_NET_RAW. Returns 0 or a negative errno (logged). */
int ipsec_tun_new(struct loop *loop, const struct ipsec_tun_config *cfg,
                  struct ipsec_backend **out);

/* Backend-wide drop counters by reason (ESP_DROP_*), including drops no SA can be blamed for
 * (unknown SPI, no policy). out has ESP_DROP_COUNT entries. be must be a tun backend. */
void ipsec_tun_get_drops(struct ipsec_backend *be, uint64_t out[ESP_DROP_COUNT]);
/* Writes of decrypted packets to the TUN device and the packets they carried (more packets than
 * writes: TCP segments joined, tun_gro.h). */
void ipsec_tun_get_writes(struct ipsec_backend *be, uint64_t *writes, uint64_t *packets);
/* Waits (up to about a second) until the worker threads have done what was handed to them, and
 * counts it: statistics read afterwards include every packet handed over before. Tests. */
void ipsec_tun_settle(struct ipsec_backend *be);
/* ESP threads (the loop's included) and the packets handed to worker threads so far. */
void ipsec_tun_get_crypto(struct ipsec_backend *be, unsigned *threads, uint64_t *handed);
/* The TUN device's name and interface index. */
const char *ipsec_tun_ifname(struct ipsec_backend *be);
unsigned ipsec_tun_ifindex(struct ipsec_backend *be);
/* Number of SA pairs installed. */
int ipsec_tun_sa_count(struct ipsec_backend *be);

#endif
