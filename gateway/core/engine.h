/* The engine: what portcullisd runs on its loop thread. Each subsystem keeps its own state; this
 * struct only ties them together so they can find each other. Owned by gateway/main.c. */
#ifndef PORTCULLIS_CORE_ENGINE_H
#define PORTCULLIS_CORE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/ipsec/ipsec.h"

struct loop;
struct db;
struct aaa;
struct ike;
struct nat;
struct uauth;
struct acct_ct;
struct engine;
struct pc_err;
typedef struct json_t json_t;

/* What the API asks of the engine. Each is run on the engine thread through loop_call(); a NULL
 * entry means the subsystem is not there yet and the API answers 503 naming it. */
struct engine_ops {
	/* Reprogram the kernel and the engine's tables from the configuration visible through txn
	 * (the caller's connection, inside its open transaction). On failure nothing was changed in
	 * the kernel, err says why, and the caller rolls the transaction back. */
	int (*apply_config)(struct engine *eng, struct db *txn, struct pc_err *err);
	/* After the caller committed: subsystems that keep tables in memory (IKE policies, AAA
	 * servers, uauth rules) re-read the configuration. */
	int (*config_committed)(struct engine *eng);
	/* Live state as JSON arrays/objects (new references). */
	int (*list_ike_sas)(struct engine *eng, json_t **out);
	int (*list_ipsec_sas)(struct engine *eng, json_t **out);
	int (*clear_sa)(struct engine *eng, uint64_t id, struct pc_err *err);
	int (*list_uauth)(struct engine *eng, json_t **out); /* {current, most_seen, ..., items} */
	int (*clear_uauth)(struct engine *eng, const char *user_or_addr, struct pc_err *err);
	int (*stats)(struct engine *eng, json_t **out); /* dashboard counters */
	int (*acl_counters)(struct engine *eng, json_t **out);
	int (*aaa_health)(struct engine *eng, json_t **out);
	/* Writes what the engine holds in memory ahead of ip_lease (Mode Config leases are written
	 * behind, once a second), before the caller reads that table or changes the config. */
	int (*sync_leases)(struct engine *eng);
};

struct engine {
	struct loop *loop;
	struct db *db; /* the engine thread's own connection */
	char db_path[4096];
	char netns[64];          /* "" when the data plane runs in the starting namespace */
	bool allow_host_network; /* may program the root namespace's kernel state */
	bool data_plane_ok;      /* false: kernel programming refused (root namespace) */
	enum ipsec_backend_kind sa_backend_kind;
	unsigned esp_threads; /* tun backend ESP threads, 0: one per CPU (ipsec_tun_config) */
	struct ipsec_backend *ipsec;
	struct aaa *aaa;
	struct ike *ike;
	struct nat *nat;
	struct uauth *uauth;
	struct acct_ct *acct_ct; /* per-connection accounting (conntrack events) */
	struct engine_ops ops;
	bool ike_listening;
	/* when recent handshakes and failures happened (loop_now_ms), for per-minute rates */
#define ENGINE_RATE_RING 1024
	uint64_t hs_ring[ENGINE_RATE_RING], fail_ring[ENGINE_RATE_RING];
	uint64_t hs_count, fail_count;
	uint64_t tunnels_up, tunnels_down;          /* since start */
	uint64_t bytes_in_closed, bytes_out_closed; /* of tunnels already down */
	uint64_t started_ms;                        /* loop_now_ms() at start */
	/* the aaa-server group that accounts VPN tunnels, read once per configuration (reload) */
	bool acct_group_known;
	char acct_group[64];
	int64_t started_epoch; /* wall clock at start */
};

/* gateway/core/engine.c: start every subsystem in order (AAA, SA backend, nftables with the stored
 * configuration, cut-through proxy, connection accounting, IKE), re-read the configuration, stop in reverse order. The
 * data plane parts start only when eng->data_plane_ok. */
int engine_start(struct engine *eng, struct pc_err *err);
int engine_reload(struct engine *eng, struct pc_err *err);
int engine_apply_stored(struct engine *eng, struct pc_err *err);
void engine_stop(struct engine *eng);

#endif
