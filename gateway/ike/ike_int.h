/* Internal to gateway/ike: engine, SA and configuration structures shared by the exchange files
 * (ike_aggr.c, ike_cfg.c, ike_quick.c, ike_info.c), the message layer (ike_msg.c) and the
 * configuration loader (ike_config.c). */
#ifndef PORTCULLIS_IKE_INT_H
#define PORTCULLIS_IKE_INT_H

#include "gateway/ike/ike.h"
#include "gateway/ike/ike_crypto.h"
#include "gateway/ike/ike_pld.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define IKE_MAX_POLICIES     32
#define IKE_MAX_KEYS         64
#define IKE_MAX_GROUPS       64
#define IKE_MAX_POOLS        32
#define IKE_MAX_TSETS        32
#define IKE_MAX_SECRET       128
#define IKE_MAX_NAME         64
#define IKE_MAX_SPLIT        16
#define IKE_MAX_CHILDREN     4
#define IKE_MAX_XCHG         4
#define IKE_MAX_SAS          65536 /* IKE SAs in the table (hash-indexed, grows) */
#define IKE_MAX_HALF_OPEN    256   /* phase 1 not yet authenticated */
#define IKE_HALF_OPEN_S      30
#define IKE_XAUTH_TRIES      3
#define IKE_XAUTH_WAIT_S     120
#define IKE_RETRANS_TRIES    4
#define IKE_NATT_KEEPALIVE_S 20
#define IKE_RETRANS_BASE_MS  2000

/* Authentication methods (RFC 2409, draft xauth). */
enum {
	IKE_AUTH_PSK = 1,
	IKE_AUTH_XAUTH_INIT_PSK = 65001,
};

/* IKE SA attribute types. */
enum {
	IKE_A_ENC = 1,
	IKE_A_HASH = 2,
	IKE_A_AUTH = 3,
	IKE_A_GROUP = 4,
	IKE_A_LIFE_TYPE = 11,
	IKE_A_LIFE_DUR = 12,
	IKE_A_KEYLEN = 14,
};

/* IPsec SA attribute types (RFC 2407 4.5). */
enum {
	IPSEC_A_LIFE_TYPE = 1,
	IPSEC_A_LIFE_DUR = 2,
	IPSEC_A_GROUP = 3,
	IPSEC_A_ENCAP = 4,
	IPSEC_A_AUTH = 5,
	IPSEC_A_KEYLEN = 6,
};

enum {
	ESP_DES = 2,
	ESP_3DES = 3,
	ESP_NULL = 11,
	ESP_AES = 12,
};

enum {
	ENCAP_TUNNEL = 1,
	ENCAP_UDP_TUNNEL = 3,
	ENCAP_UDP_TUNNEL_DRAFT = 61443,
};

/* Mode Config / Xauth attributes. */
enum {
	CFG_IP4_ADDRESS = 1,
	CFG_IP4_NETMASK = 2,
	CFG_IP4_DNS = 3,
	CFG_IP4_NBNS = 4,
	CFG_ADDRESS_EXPIRY = 5,
	CFG_APPLICATION_VERSION = 7,
	CFG_SUPPORTED_ATTRIBUTES = 14,
	XAUTH_TYPE = 0x4088,
	XAUTH_USER_NAME = 0x4089,
	XAUTH_USER_PASSWORD = 0x408a,
	XAUTH_MESSAGE = 0x408c,
	XAUTH_STATUS = 0x408f,
	UNITY_BANNER = 0x7000,
	UNITY_SAVE_PASSWD = 0x7001,
	UNITY_DEF_DOMAIN = 0x7002,
	UNITY_SPLITDNS_NAME = 0x7003,
	UNITY_SPLIT_INCLUDE = 0x7004,
	UNITY_NATT_PORT = 0x7005,
	UNITY_LOCAL_LAN = 0x7006,
	UNITY_PFS = 0x7007,
	UNITY_FW_TYPE = 0x7008,
	UNITY_BACKUP_SERVERS = 0x7009,
	UNITY_DDNS_HOSTNAME = 0x700a,
};

enum {
	CFG_REQUEST = 1,
	CFG_REPLY = 2,
	CFG_SET = 3,
	CFG_ACK = 4,
};

struct ike_policy {
	int prio;
	int auth; /* IKE_AUTH_PSK */
	int enc;
	unsigned keybits; /* AES only */
	int hash;
	int group;
	uint32_t life_s;
};

struct ike_key {
	uint32_t addr, mask; /* host order */
	char secret[IKE_MAX_SECRET];
	bool no_xauth, no_config_mode;
};

struct ike_pool {
	int64_t id;
	char name[IKE_MAX_NAME];
	uint32_t start, end, mask;
};

struct ike_group {
	char name[IKE_MAX_NAME];
	char password[IKE_MAX_SECRET];
	bool has_password;
	int64_t pool_id; /* 0: the isakmp client pool */
	uint32_t dns[2], wins[2];
	char domain[128];
	char split_dns[256];
	struct ipsec_prefix split[IKE_MAX_SPLIT];
	int nsplit;
	uint32_t idle_s, max_s;
	bool pfs;
	char backup[256];
	char banner[512];
	bool save_pw;
};

struct ike_tset {
	char name[IKE_MAX_NAME];
	int esp_id;       /* ESP_* */
	unsigned keybits; /* AES */
	int auth;         /* 1 HMAC-MD5, 2 HMAC-SHA1, 5 SHA2-256; 0 none */
	bool tunnel;
};

struct ike_conf {
	struct ike_policy pol[IKE_MAX_POLICIES];
	int npol;
	struct ike_key key[IKE_MAX_KEYS];
	int nkey;
	struct ike_group grp[IKE_MAX_GROUPS];
	int ngrp;
	struct ike_pool pool[IKE_MAX_POOLS];
	int npool;
	int64_t client_pool_id; /* isakmp client configuration address-pool, 0 none */
	struct ike_tset tset[IKE_MAX_TSETS];
	int ntset;
	int pfs_group;                 /* crypto map set pfs, 0 none */
	uint32_t qm_life_s;            /* 28800 default */
	uint32_t qm_life_kb;           /* 4608000 default */
	bool cfg_initiate;             /* client configuration address initiate */
	bool cfg_respond;              /* client configuration address respond */
	char auth_group[IKE_MAX_NAME]; /* client authentication GROUP ("" none) */
};

int ike_conf_load(struct db *db, struct ike_conf *c, struct pc_err *err);
void ike_conf_wipe(struct ike_conf *c);

enum ike_state {
	ST_AM_SENT2,   /* AM2 sent, waiting AM3 */
	ST_MM_SENT2,   /* MM2 sent, waiting MM3 */
	ST_MM_SENT4,   /* MM4 sent, waiting MM5 */
	ST_P1_DONE,    /* authenticated */
	ST_XAUTH_REQ,  /* REQUEST sent, waiting REPLY */
	ST_XAUTH_WAIT, /* waiting for the AAA answer */
	ST_XAUTH_SET,  /* STATUS sent, waiting ACK */
	ST_CFG,        /* Xauth done (or none): waiting Mode Config / QM */
	ST_CFG_SET,    /* Mode Config SET pushed, waiting ACK */
	ST_ESTAB,      /* at least one IPsec SA */
	ST_DEAD,
};

/* An exchange with its own message ID and IV chain (transaction, informational, quick). */
struct ike_xchg {
	bool used;
	uint32_t mid;
	uint8_t iv[IKE_MAX_BLOCK];
	uint8_t exch;
};

/* One IPsec SA pair. Its keys and selectors live in the backend only (sa_add copies them; the
 * engine's copy is wiped right after). */
struct ike_child {
	bool used;
	bool backend_gone; /* the backend removed it already (hard lifetime) */
	uint8_t esp_id;    /* negotiated transform, for the SA list */
	uint8_t auth_alg;
	uint16_t keybits;
	uint32_t spi_in, spi_out;
	uint64_t handle;
	uint64_t added_ms;
};

/* Quick Mode in progress (one at a time per IKE SA): allocated when QM1 arrives (first Quick
 * Mode or a client's rekey), wiped and freed when the pair is installed or the exchange fails. */
struct ike_qm {
	uint32_t mid;
	uint8_t ni[256], nr[32];
	size_t ni_len, nr_len;
	uint8_t gxy[IKE_MAX_DH];
	size_t gxy_len;
	int esp_id;
	unsigned keybits;
	int auth_alg;
	int encap;
	uint32_t spi_in, spi_out;
	uint32_t life_s;
	struct ipsec_prefix rem, loc;
};

/* Phase 1 negotiation state: allocated with the SA, wiped and freed once phase 1 is
 * authenticated (or the SA dies). Nothing here is needed by an established tunnel. */
struct ike_p1 {
	char psk[IKE_MAX_SECRET];
	struct ike_dh *dh;
	uint8_t gxi[IKE_MAX_DH], gxr[IKE_MAX_DH], gxy[IKE_MAX_DH];
	size_t gx_len;
	uint8_t ni[256], nr[32];
	size_t ni_len, nr_len;
	uint8_t *sai_b; /* initiator's SA payload body */
	size_t sai_len;
	uint8_t *idi_b;
	size_t idi_len;
	uint8_t skeyid[IKE_MAX_HASH], skeyid_e[IKE_MAX_HASH];
	uint32_t life_prop; /* what the initiator proposed, 0 none */
	int policy_prio;
};

/* Byte and packet counters of IPsec SAs already replaced (rekeys), for the tunnel's totals. */
struct ike_acct {
	uint64_t bytes_in, bytes_out, packets_in, packets_out;
};

/* An IKE SA. What an established tunnel keeps is inline; handshake and exchange scratch (p1, qm,
 * xchg, rtx, last_out) is allocated only while needed. */
struct ike_sa {
	struct ike *ike;
	struct ike_sa *next, *prev;  /* ike->sas, newest first */
	struct ike_sa *hnext_cookie; /* ike->by_cookie bucket (initiator cookie) */
	struct ike_sa *hnext_id;     /* ike->by_id bucket */
	struct ike_sa *hnext_peer;   /* ike->by_peer bucket (peer address) */
	uint64_t id;
	uint8_t ci[8], cr[8];
	struct sockaddr_in peer, local; /* change peer only through ike_sa_set_peer() */
	enum ike_state state;           /* change only through ike_sa_set_state() */
	bool natt;                      /* talking on 4500 with the non-ESP marker */
	uint8_t natt_vid;               /* 0 none, 1 RFC 3947, 2 drafts */
	bool nat_detected;
	bool aggressive; /* phase 1 was Aggressive Mode (else Main Mode) */
	bool vid_xauth, vid_unity, vid_dpd;
	bool xauth;
	bool cfg_allowed;
	bool auth_pending;
	bool xauth_ok;
	uint8_t xauth_tries;
	uint8_t rtx_tries;
	uint8_t dpd_tries;
	uint64_t created_ms, established_ms;
	uint64_t last_rx_ms; /* last IKE message or, as the tick last saw it, inbound ESP */

	/* negotiated phase 1 */
	uint16_t enc, hash, auth, group; /* IKE_ENC_*, IKE_HASH_*, IKE_AUTH_*, DH group */
	uint16_t keybits;
	uint8_t keylen, blk, hlen; /* bytes: cipher key, cipher block, hash output */
	uint32_t life_s;

	char *group_name; /* vpngroup; NULL for isakmp key peers (ike_sa_group()) */
	char *user;       /* Xauth user; NULL before/without Xauth (ike_sa_user()) */

	uint8_t skeyid_d[IKE_MAX_HASH], skeyid_a[IKE_MAX_HASH];
	uint8_t key[IKE_MAX_KEY];
	uint8_t iv[IKE_MAX_BLOCK]; /* phase 1 chain; after phase 1: the last phase 1 block */

	struct ike_p1 *p1;     /* phase 1 negotiation; NULL once authenticated */
	struct ike_xchg *xchg; /* IKE_MAX_XCHG slots while any exchange is open, else NULL */
	struct ike_qm *qm;     /* Quick Mode in progress, else NULL */

	/* Xauth / Mode Config */
	uint32_t xauth_mid;
	uint16_t xauth_id;
	uint32_t cfg_mid;
	uint64_t auth_req_id;
	uint32_t addr; /* Mode Config address, host order */
	int64_t lease_pool_id;

	struct ike_child child[IKE_MAX_CHILDREN];
	struct ike_acct acct;

	/* retransmission of the last message we sent that expects an answer (freed when answered) */
	uint8_t *rtx; /* malloc'd to the message length */
	uint32_t rtx_len;
	uint32_t last_out_len;
	uint64_t rtx_due_ms;
	/* duplicate detection: SHA-1 of the last datagram received and our reply to it */
	uint8_t last_in_hash[20];
	uint8_t *last_out; /* malloc'd to the message length; freed once a Quick Mode completes */

	uint64_t keepalive_ms;
	uint64_t dpd_sent_ms;
	uint32_t dpd_seq;
};

static inline const char *
ike_sa_user(const struct ike_sa *sa)
{
	return sa->user != NULL ? sa->user : "";
}

static inline const char *
ike_sa_group(const struct ike_sa *sa)
{
	return sa->group_name != NULL ? sa->group_name : "";
}

/* Receive buffers for recvmmsg on ports 500 and 4500 (ike.c on_read). */
#define IKE_RX_BATCH  16
#define IKE_RX_ROUNDS 4
struct ike_rx {
	uint8_t buf[IKE_RX_BATCH][IKE_MAX_DATAGRAM + 64];
	struct sockaddr_in from[IKE_RX_BATCH];
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} cbuf[IKE_RX_BATCH];
	struct iovec iov[IKE_RX_BATCH];
	struct mmsghdr m[IKE_RX_BATCH];
};

struct ike {
	struct loop *loop;
	struct db *db;
	struct ike_hooks hooks;
	struct ipsec_backend *be;
	struct ike_conf conf;
	struct ike_leases *leases; /* ike_lease.c: Mode Config addresses in memory */
	struct ike_rx *rx;         /* allocated at the first read */
	int fd500, fd4500;
	struct sockaddr_in bind_addr;
	uint16_t port, natt_port;
	struct ike_sa *sas; /* every SA, newest first */
	int nsas;
	int n_half_open; /* SAs in ike_sa_half_open() states */
	/* Hash indexes over ike->sas, all with nbuckets (a power of two; 0 until the first SA):
	 * initiator cookie, SA id (backend events) and peer address. */
	struct ike_sa **by_cookie, **by_id, **by_peer;
	size_t nbuckets;
	uint64_t hkey[2]; /* SipHash key for cookies and addresses (they come from the peer) */
	uint64_t next_id;
	struct loop_timer *tick;
	unsigned half_open_s;
	uint64_t rtx_base_ms; /* first retransmission after this; doubles each time */
	uint32_t dpd_idle_s;  /* R-U-THERE after this long without traffic; 0 off */
	int dpd_retries;
	uint32_t dpd_retry_s; /* between unanswered R-U-THEREs; 0: min(idle, 5 s) */
};

/* SipHash-2-4 of one 64-bit word under key k (ike.c). */
uint64_t ike_siphash_u64(const uint64_t k[2], uint64_t m);

/* ike.c: SA table and lifecycle */
/* By initiator cookie (and responder cookie unless cr is NULL). */
struct ike_sa *ike_sa_find(struct ike *ike, const uint8_t ci[8], const uint8_t cr[8]);
/* By SA id (the backend's owner). */
struct ike_sa *ike_sa_find_id(struct ike *ike, uint64_t id);
/* SAs whose peer address is addr (network order): the first, then the next after sa. */
struct ike_sa *ike_sa_peer_first(struct ike *ike, uint32_t addr);
struct ike_sa *ike_sa_peer_next(const struct ike_sa *sa);
/* A new half-open SA (state ST_AM_SENT2, phase 1 block allocated); NULL when the table or the
 * half-open limit is full. */
struct ike_sa *ike_sa_new(struct ike *ike, const uint8_t ci[8], const struct sockaddr_in *peer,
                          const struct sockaddr_in *local);
/* Every state change goes through here (keeps the half-open count). */
void ike_sa_set_state(struct ike_sa *sa, enum ike_state st);
/* Every peer address change goes through here (keeps the peer index). */
void ike_sa_set_peer(struct ike_sa *sa, const struct sockaddr_in *peer);
/* Copies name (NULL or "": none); -ENOMEM. */
int ike_sa_set_user(struct ike_sa *sa, const char *name);
int ike_sa_set_group(struct ike_sa *sa, const char *name);
/* Phase 1 authenticated: wipes and frees the phase 1 block. */
void ike_sa_p1_done(struct ike_sa *sa);
/* Wipes and frees the Quick Mode block. */
void ike_qm_free(struct ike_qm *q);
/* The message awaiting an answer got it: stop retransmitting and free the copy. */
void ike_rtx_stop(struct ike_sa *sa);
/* Frees everything an SA allocated besides itself (phase 1, Quick Mode and exchange blocks,
 * retransmission and reply copies, names), wiping secrets. ike_sa_kill() calls it. */
void ike_sa_free_blocks(struct ike_sa *sa);
/* Tears down: deletes IPsec SAs in the backend, releases the lease, reports tunnel down, sends
 * DELETE when notify_peer, and frees the SA. */
void ike_sa_kill(struct ike_sa *sa, const char *reason, bool notify_peer);
const char *ike_state_name(enum ike_state st);
void ike_peer_str(const struct sockaddr_in *a, char *buf, size_t n);
/* Removes one IPsec SA pair from the backend and reports it down. */
void ike_child_kill(struct ike_sa *sa, struct ike_child *c, const char *reason);
/* Reports a newly installed IPsec SA pair through hooks->tunnel_up. */
void ike_tunnel_up(struct ike_sa *sa, struct ike_child *c);

/* ike_msg.c: sending, encryption, hashes over messages */
int ike_msg_send(struct ike_sa *sa, const uint8_t *buf, size_t len);
int ike_msg_send_raw(struct ike *ike, bool natt, const struct sockaddr_in *to, const uint8_t *buf,
                     size_t len);
/* Encrypts w (header already written, payloads after it) in place with the IV for its message
 * ID (phase 1 chain when mid 0) and sends it. */
int ike_msg_encrypt_send(struct ike_sa *sa, struct ike_wbuf *w, bool expect_reply);
/* Decrypts buf in place using the right IV; returns the plaintext length (payload area). */
int ike_msg_decrypt(struct ike_sa *sa, uint8_t *buf, size_t len, const struct ike_hdr *h,
                    struct ike_perr *e);
struct ike_xchg *ike_xchg_get(struct ike_sa *sa, uint32_t mid, uint8_t exch, bool create);
void ike_xchg_drop(struct ike_sa *sa, uint32_t mid);
uint32_t ike_new_mid(struct ike_sa *sa);
/* prf(SKEYID_a, M-ID | extra | rest): HASH(1), HASH(2) (extra = Ni_b), transaction and
 * informational hashes; rest = the payloads after the HASH payload. */
int ike_msg_hash(struct ike_sa *sa, uint32_t mid, const uint8_t *extra, size_t extra_len,
                 const uint8_t *rest, size_t rest_len, uint8_t *out);
/* Checks that m starts with a HASH payload equal to prf(SKEYID_a, M-ID | extra | rest). */
int ike_msg_verify_hash(struct ike_sa *sa, const struct ike_msg *m, uint32_t mid,
                        const uint8_t *extra, size_t extra_len, struct ike_perr *e);
/* Begins an encrypted message with a zero HASH placeholder; returns the hash payload offset. */
size_t ike_msg_begin_hashed(struct ike_sa *sa, struct ike_wbuf *w, uint8_t exch, uint32_t mid);
int ike_msg_fill_hash(struct ike_sa *sa, struct ike_wbuf *w, size_t hash_off, uint32_t mid,
                      const uint8_t *extra, size_t extra_len);
void ike_rand(void *p, size_t n);

/* Phase 1 keys from psk, nonces, g^xy, cookies: SKEYID, SKEYID_d/a/e, the cipher key and the
 * phase 1 IV = hash(g^xi | g^xr). */
int ike_aggr_derive_keys(struct ike_sa *sa);
/* HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b), HASH_R with the DH values
 * and cookies swapped and IDir_b. */
int ike_aggr_auth_hash(struct ike_sa *sa, bool initiator, const uint8_t *id_b, size_t id_len,
                       uint8_t *out);

/* ike_step.c: the table of responder steps and the payloads each requires. */
enum ike_step_id {
	STEP_AM1,
	STEP_AM3,
	STEP_MM1,
	STEP_MM3,
	STEP_MM5,
	STEP_TRANS,
	STEP_QM1,
	STEP_QM3,
	STEP_INFO,
	STEP_COUNT
};

struct ike_step {
	uint8_t exch;
	const char *name;
	uint64_t need; /* bit (1 << payload type) per required payload */
	uint8_t first; /* required first payload, IKE_PL_NONE: any */
};

extern const struct ike_step ike_steps[STEP_COUNT];
int ike_step_check(enum ike_step_id id, const struct ike_msg *m, struct ike_perr *e);

/* Phase 1 pieces shared by Aggressive and Main Mode (ike_aggr.c). */
void ike_p1_scan_vids(struct ike_sa *sa, const struct ike_msg *m, const char *peer);
/* PSK by ID: KEY_ID names a vpngroup; otherwise (or id NULL) the most specific isakmp key for
 * the peer's address. */
bool ike_p1_choose_key(struct ike_sa *sa, const struct ike_id *id, const char *peer, bool *xauth_ok,
                       bool *cfg_ok);
/* Policies in priority order, transforms in order; on success fills the SA's algorithms. */
int ike_p1_choose_transform(struct ike_sa *sa, const struct ike_sa_pl *sap, const char *peer,
                            bool want_xauth, const struct ike_xform **chosen, struct ike_perr *e);
void ike_p1_natd_hash(struct ike_sa *sa, const struct sockaddr_in *a, uint8_t *out);
void ike_p1_write_sa(struct ike_wbuf *w, const struct ike_sa_pl *sap, const struct ike_xform *x);
void ike_p1_write_vids(struct ike_sa *sa, struct ike_wbuf *w);
void ike_p1_write_natd(struct ike_sa *sa, struct ike_wbuf *w);
void ike_p1_write_lifetime(struct ike_sa *sa, struct ike_wbuf *w, const char *peer);
/* NAT-D and INITIAL_CONTACT in the initiator's last phase 1 message. */
void ike_p1_process_final(struct ike_sa *sa, const struct ike_msg *m, const char *peer);
static inline bool
ike_sa_half_open(const struct ike_sa *sa)
{
	return sa->state == ST_AM_SENT2 || sa->state == ST_MM_SENT2 || sa->state == ST_MM_SENT4;
}

/* exchange handlers */
void ike_aggr_input(struct ike *ike, const uint8_t *buf, size_t len, const struct ike_hdr *h,
                    const struct sockaddr_in *from, const struct sockaddr_in *to, bool natt);
void ike_aggr_input3(struct ike_sa *sa, uint8_t *buf, size_t len, const struct ike_hdr *h);
void ike_main_input(struct ike *ike, const uint8_t *buf, size_t len, const struct ike_hdr *h,
                    const struct sockaddr_in *from, const struct sockaddr_in *to, bool natt);
/* Main Mode messages 3 and 5 on an existing SA. */
void ike_main_input_next(struct ike_sa *sa, uint8_t *buf, size_t len, const struct ike_hdr *h);
void ike_cfg_start(struct ike_sa *sa);
void ike_cfg_input(struct ike_sa *sa, const struct ike_msg *m, const struct ike_hdr *h);

/* ike_lease.c: Mode Config address leases. The engine is the only writer of ip_lease: the leases
 * live in memory (loaded with the configuration) and changes are written behind, many in one
 * transaction, on the next tick (at most a second later), before a reload, at shutdown and when
 * asked (ike_lease_sync in ike.h). */
/* (Re)builds the leases of c's pools from ip_lease, with the changes not written yet on top. The
 * first load also releases the leases a previous run left active (no tunnel survives a restart;
 * the address stays remembered for its user). */
int ike_lease_load(struct ike *ike, const struct ike_conf *c, struct pc_err *err);
/* An address for sa from its pool: the one its user had last when it is free, else one never
 * leased, else the one released longest ago. Sets sa->addr and sa->lease_pool_id; -ENOSPC when
 * the pool is exhausted. */
int ike_lease_take(struct ike_sa *sa, int64_t pool_id);
/* Gives sa's address back (nothing when it has none). */
void ike_lease_release(struct ike_sa *sa);
/* Active leases in memory (all pools). */
uint32_t ike_lease_active(const struct ike *ike);
void ike_lease_free(struct ike *ike);
void ike_quick_input(struct ike_sa *sa, const struct ike_msg *m, const struct ike_hdr *h);
void ike_info_input(struct ike_sa *sa, const struct ike_msg *m, const struct ike_hdr *h);
/* Sends an informational notify; encrypted (with HASH) once phase 1 keys exist. */
void ike_info_notify(struct ike_sa *sa, uint16_t type, uint8_t proto, const uint8_t *spi,
                     size_t spi_len, const uint8_t *data, size_t data_len);
void ike_info_notify_plain(struct ike *ike, const struct ike_hdr *h, bool natt,
                           const struct sockaddr_in *to, uint16_t type);
void ike_info_delete_ike(struct ike_sa *sa);
void ike_info_delete_esp(struct ike_sa *sa, uint32_t spi_in);
void ike_info_dpd(struct ike_sa *sa, uint16_t type, uint32_t seq);

/* Rejects with a notify and a log line; returns -EBADMSG. */
int ike_fail(struct ike_sa *sa, uint16_t notify, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The negotiated ESP transform in PIX transform-set words ("esp-aes-256 esp-sha-hmac"). */
void ike_transform_str(int esp_id, unsigned keybits, int auth_alg, char *out, size_t len);

#endif
