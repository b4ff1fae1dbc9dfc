/* AAA: one asynchronous interface (authenticate, account) over LOCAL, RADIUS and TACACS+ server
 * groups. Requests are made on the engine (loop) thread and their results are delivered on the same
 * thread through the loop's command channel; the engine never blocks on a server. */
#ifndef PORTCULLIS_AAA_AAA_H
#define PORTCULLIS_AAA_AAA_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/core/err.h"
#include "gateway/core/loop.h"

#define AAA_MAX_USER     128
#define AAA_MAX_PASSWORD 128

enum aaa_result {
	AAA_ACCEPT,
	AAA_REJECT,      /* the server said no (wrong password, unknown user) */
	AAA_UNAVAILABLE, /* no server answered in time, or the group has no usable server */
	AAA_ERROR,       /* bad configuration or internal failure */
};

enum aaa_service {
	AAA_SVC_XAUTH, /* IPsec Xauth */
	AAA_SVC_HTTP,
	AAA_SVC_FTP,
	AAA_SVC_TELNET,
	AAA_SVC_ADMIN, /* console / web admin login */
};

struct aaa_auth_req {
	char group[64]; /* aaa-server group tag, e.g. "AuthInbound", or "LOCAL" */
	char user[AAA_MAX_USER];
	char password[AAA_MAX_PASSWORD]; /* copied: the AAA layer wipes its copies after use;
	                                  * the caller wipes its own (explicit_bzero) */
	enum aaa_service service;
	uint32_t peer_addr;   /* client's public address, host order (Calling-Station-Id) */
	uint32_t framed_addr; /* assigned address if known, else 0 */
	uint32_t timeout_ms;  /* overall deadline; 0: the group's own timeouts */
};

struct aaa_auth_result {
	enum aaa_result result;
	char reason[256]; /* for logs: never contains the password */
	char server[64];  /* which server answered, "" if none */
};

typedef void (*aaa_auth_fn)(void *arg, const struct aaa_auth_result *res);

struct aaa;

#endif

#ifndef PORTCULLIS_AAA_AAA_API
#define PORTCULLIS_AAA_AAA_API
/* Creates the AAA layer; server groups are read from the database at db_path (its own
 * connection). Must be called on the loop thread; aaa_free() must come before loop_free().
 * Accounting records left pending by an earlier run are picked up and delivered. */
int aaa_new(struct loop *loop, const char *db_path, struct aaa **out);
/* Stops the workers (waiting for exchanges in progress) and drops pending requests without
 * calling their callbacks; undelivered accounting records stay in the outbox for the next
 * aaa_new(). */
void aaa_free(struct aaa *aaa);
/* Re-reads server groups and hosts after a configuration change. Servers whose address and
 * ports did not change keep their health (dead marks, counters); accounting records that could
 * not be sent are retried at once. Loop thread. */
int aaa_reload(struct aaa *aaa, struct pc_err *err);

/* Starts an authentication. fn(arg, result) is called exactly once, later, on the loop thread,
 * unless aaa_cancel() is called first. *req_id identifies the request for aaa_cancel(). */
int aaa_authenticate(struct aaa *aaa, const struct aaa_auth_req *req, aaa_auth_fn fn, void *arg,
                     uint64_t *req_id);
void aaa_cancel(struct aaa *aaa, uint64_t req_id);

enum aaa_acct_type {
	AAA_ACCT_START,
	AAA_ACCT_STOP,
	AAA_ACCT_INTERIM,
};

struct aaa_acct_event {
	enum aaa_acct_type type;
	char group[64];      /* server group the record goes to */
	char session_id[64]; /* same for start and stop of one session */
	uint32_t task_id;
	char user[AAA_MAX_USER];
	char user_group[64];  /* vpngroup name for ipsec sessions */
	uint32_t caller_addr; /* pool address (ipsec) or source address (cut-through), host order */
	uint32_t peer_addr;   /* client's public address */
	char service[32];     /* ipsec, telnet, http, ftp, tcp/PORT */
	char protocol[16];
	uint64_t elapsed_s;
	uint64_t bytes_in, bytes_out, packets_in, packets_out;
	char terminate_cause[32];
};

/* Writes the record to the SQLite outbox (durable before this returns) and schedules delivery. */
int aaa_account(struct aaa *aaa, const struct aaa_acct_event *ev, struct pc_err *err);

/* ---- additions (compatible): health for the API, options, test hooks ---- */

#define AAA_MAX_GROUPS          64
#define AAA_MAX_HOSTS_PER_GROUP 16
#define AAA_MAX_PENDING_AUTH    4096 /* authentication requests in progress */
#define AAA_WORKERS             8    /* threads that talk to servers */
#define AAA_OUTBOX_INFLIGHT     16   /* accounting records being delivered at once */
#define AAA_TACACS_PORT         49
#define AAA_RADIUS_AUTH_PORT    1645 /* PIX 6.3 defaults (radius-authport / radius-acctport) */
#define AAA_RADIUS_ACCT_PORT    1646

struct aaa_server_health {
	char group[64];
	char protocol[12]; /* "tacacs+", "radius" */
	char host[64];     /* "10.89.129.134:49" */
	bool dead;
	uint32_t dead_for_s; /* seconds left before it is tried again */
	int consecutive_failures;
	uint32_t last_latency_ms;
	uint64_t requests, failures;
	char last_error[128];
};

/* Fills out[0..max) with one entry per configured server, in group and host order; returns the
 * number of servers (which may exceed max). Loop thread. */
int aaa_server_health(struct aaa *aaa, struct aaa_server_health *out, int max);

/* TACACS+ login style: ASCII (GETUSER/GETPASS prompts, the PIX default) or PAP; optionally an
 * authorization REQUEST (service=<service>) after a PASS. */
void aaa_set_tacacs_login(struct aaa *aaa, bool pap, bool authorize);
/* Accounting retry delay: base_ms doubling per failed round up to max_ms (defaults 5 s, 10 min). */
void aaa_set_acct_backoff(struct aaa *aaa, uint64_t base_ms, uint64_t max_ms);
/* Number of accounting records not yet delivered (state pending), or a negative errno. */
int aaa_outbox_pending(struct aaa *aaa);
/* Calls fn(arg) on the loop thread once no accounting record is pending or in flight, or when
 * timeout_ms passes (drained = false). For the CLI and tests. */
typedef void (*aaa_drain_fn)(void *arg, bool drained);
int aaa_outbox_wait(struct aaa *aaa, uint64_t timeout_ms, aaa_drain_fn fn, void *arg);

const char *aaa_result_name(enum aaa_result r);
#endif
