/* One try of one request against one server: what the protocol clients (TACACS+, RADIUS) run on a
 * worker thread and what the engine reads back. Internal to gateway/aaa/. */
#ifndef PORTCULLIS_AAA_AAA_ATTEMPT_H
#define PORTCULLIS_AAA_AAA_ATTEMPT_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/aaa/aaa.h"

#define AAA_MAX_KEY 128

enum aaa_attempt_status {
	AAA_ATT_ACCEPT,    /* accepted, or accounting acknowledged */
	AAA_ATT_REJECT,    /* the server answered no */
	AAA_ATT_NOT_SENT,  /* the request never left (connect refused, no route, local error) */
	AAA_ATT_NO_ANSWER, /* sent, no valid answer before the deadline */
	AAA_ATT_BAD_ANSWER /* an answer that failed validation (length, seq, authenticator...) */
};

/* A server as a worker sees it: a copy, so the engine may reload its config meanwhile. */
struct aaa_server_cfg {
	uint32_t addr; /* host order */
	uint16_t port;
	char key[AAA_MAX_KEY + 1];
	uint32_t timeout_ms; /* per try */
	int retries;         /* RADIUS retransmissions */
	uint32_t nas_addr;   /* our address (NAS-IP-Address), host order; 0: unknown */
	char name[64];       /* "10.89.129.134:49" for logs */
};

struct aaa_attempt_result {
	enum aaa_attempt_status status;
	bool transmitted; /* at least one packet reached the wire */
	uint32_t latency_ms;
	char msg[256]; /* for logs; never a password or key */
};

/* An accounting record as read back from the outbox. */
struct aaa_acct_record {
	int64_t id;
	int64_t created_at_ms;
	enum aaa_acct_type type;
	char session_id[64];
	uint32_t task_id;
	char user[AAA_MAX_USER];
	char user_group[64];
	char caller_addr[16];
	char peer_addr[16];
	char service[32];
	char protocol[16];
	uint64_t elapsed_s;
	uint64_t bytes_in, bytes_out, packets_in, packets_out;
	char terminate_cause[32];
	char server_group[64];
	int attempts;
	bool possible_duplicate;
};

enum aaa_tac_authen { AAA_TAC_ASCII, AAA_TAC_PAP };

/* TACACS+ (tacacs_client.c): blocking, for worker threads. */
void tac_client_authenticate(const struct aaa_server_cfg *srv, const char *user,
                             const char *password, enum aaa_tac_authen how, bool authorize,
                             const char *service, uint32_t rem_addr,
                             struct aaa_attempt_result *out);
void tac_client_account(const struct aaa_server_cfg *srv, const struct aaa_acct_record *rec,
                        struct aaa_attempt_result *out);

/* RADIUS (radius_client.c, own codec in radius_pkt.c): blocking, for worker threads. */
void radius_client_authenticate(const struct aaa_server_cfg *srv, const char *user,
                                const char *password, uint32_t peer_addr, uint32_t framed_addr,
                                struct aaa_attempt_result *out);
void radius_client_account(const struct aaa_server_cfg *srv, const struct aaa_acct_record *rec,
                           struct aaa_attempt_result *out);

#endif
