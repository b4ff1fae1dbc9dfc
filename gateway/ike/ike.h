/* The IKEv1 remote-access responder: Aggressive Mode with group (vpngroup) or wildcard
 * (isakmp key) pre-shared keys, Xauth, Mode Config, Quick Mode, informational exchanges. Runs on
 * the engine's loop thread; policies come from the SQLite model (ike_reload). Negotiated SA pairs
 * go to the ipsec_backend; user authentication goes through hooks->authenticate (the daemon plugs
 * in aaa_authenticate()). */
#ifndef PORTCULLIS_IKE_IKE_H
#define PORTCULLIS_IKE_IKE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/aaa/aaa.h"
#include "gateway/core/err.h"
#include "gateway/core/loop.h"
#include "gateway/ipsec/ipsec.h"

struct ike;
struct db;

/* What the daemon learns when a client's tunnel comes up or goes down. */
struct ike_tunnel_info {
	uint64_t ike_sa_id;
	char user[AAA_MAX_USER]; /* Xauth user, "" without Xauth */
	char group[64];          /* vpngroup name, "" for wildcard-key peers */
	uint32_t assigned_addr;  /* Mode Config address, host order; 0 if none */
	struct sockaddr_in peer; /* client's outer address and port */
	uint32_t spi_in, spi_out;
	uint64_t backend_handle;
	struct ipsec_sa_stats stats; /* final counters (down); zero on up */
};

/* Same contract as aaa_authenticate(): fn is called exactly once later on the loop thread,
 * unless cancel(req_id) is called first. */
typedef int (*ike_auth_fn)(void *arg, const struct aaa_auth_req *req, aaa_auth_fn fn, void *fn_arg,
                           uint64_t *req_id);
typedef void (*ike_auth_cancel_fn)(void *arg, uint64_t req_id);
typedef void (*ike_tunnel_fn)(void *arg, const struct ike_tunnel_info *t, const char *reason);

struct ike_hooks {
	ike_auth_fn authenticate; /* Xauth; NULL: every Xauth fails ("no AAA configured") */
	ike_auth_cancel_fn cancel;
	void *auth_arg;            /* for authenticate and cancel (the struct aaa *) */
	ike_tunnel_fn tunnel_up;   /* reason NULL; once per tunnel (not per Quick Mode rekey) */
	ike_tunnel_fn tunnel_down; /* reason: "peer delete", "dpd: peer dead", "idle-time",
	                            * "max-time", "clear", "lifetime expired", ...; stats summed
	                            * over the tunnel's IPsec SAs */
	/* Optional: a negotiation failed (a notify was sent or the exchange dropped); reason
	 * as logged. For dashboards (failures per minute). */
	void (*failure)(void *arg, const char *reason);
	void *arg; /* for tunnel_up, tunnel_down and failure */
};

/* Fills authenticate/cancel/auth_arg with adapters to aaa_authenticate()/aaa_cancel() of
 * gateway/aaa (ike_aaa.c). */
void ike_hooks_use_aaa(struct ike_hooks *h, struct aaa *aaa);

/* One row of show crypto isakmp sa / show crypto ipsec sa. */
struct ike_sa_info {
	uint64_t id;
	struct sockaddr_in peer;
	struct sockaddr_in local;
	char state[24]; /* "AG_INIT_EXCH", "XAUTH", "QM_IDLE", ... */
	char user[AAA_MAX_USER];
	char group[64];
	uint32_t assigned_addr;
	int enc, hash, dh_group, auth_method;
	uint32_t lifetime_s;
	uint64_t age_s;
	bool natt;
	char mode[12]; /* "aggressive" or "main" */
	int n_ipsec;
	uint32_t spi_in[4], spi_out[4];
	char transform[4][40]; /* PIX transform-set words, e.g. "esp-aes-256 esp-sha-hmac" */
	struct ipsec_sa_stats stats[4];
};

int ike_new(struct loop *loop, struct db *db, const struct ike_hooks *hooks, struct ike **out);
void ike_free(struct ike *ike);
/* Binds UDP 500 and 4500 on bind_addr's address (its port is ignored); port_base != 0 in tests
 * binds port_base and port_base+1 instead. */
int ike_listen(struct ike *ike, const struct sockaddr_in *bind_addr);
int ike_listen_ports(struct ike *ike, const struct sockaddr_in *bind_addr, uint16_t port,
                     uint16_t natt_port);
/* Re-reads policies, keys, groups, pools, transform sets and crypto maps. Existing SAs keep the
 * parameters they negotiated. */
int ike_reload(struct ike *ike, struct pc_err *err);
/* Mode Config leases are kept in memory and written to ip_lease behind (within a second): this
 * writes what is pending now. 0, or < 0 when it could not (-EBUSY: another connection is writing;
 * it is not waited for): the changes stay pending for the next try. */
int ike_lease_sync(struct ike *ike);
void ike_set_backend(struct ike *ike, struct ipsec_backend *be);
/* How long a phase 1 may stay unauthenticated (default 30 s). */
void ike_set_half_open_timeout(struct ike *ike, unsigned seconds);
/* Dead peer detection for peers that sent the DPD vendor ID: R-U-THERE after idle_s seconds
 * without inbound traffic, teardown after retries unanswered ones; idle_s 0 disables. */
void ike_set_dpd(struct ike *ike, unsigned idle_s, int retries);
/* Seconds between unanswered R-U-THEREs (PIX `isakmp keepalive S RETRY`); 0: min(idle_s, 5). */
void ike_set_dpd_retry_interval(struct ike *ike, unsigned retry_s);
/* Tears down SAs (sending DELETE to the peer): all when peer is NULL, else those of that peer
 * address. Returns the number cleared. */
int ike_clear_sa(struct ike *ike, const struct in_addr *peer);
/* Fills up to max rows; returns the number of SAs (which may exceed max). */
int ike_list_sas(struct ike *ike, struct ike_sa_info *out, int max);

#endif
