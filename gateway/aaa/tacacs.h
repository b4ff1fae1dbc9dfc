/* TACACS+ (RFC 8907) packets: header, body obfuscation with the shared key, builders for the
 * client's requests (authentication START/CONTINUE, authorization REQUEST, accounting REQUEST)
 * and a validate-then-parse pair for each reply. Pure functions: no sockets, no logging. */
#ifndef PORTCULLIS_AAA_TACACS_H
#define PORTCULLIS_AAA_TACACS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAC_HDR_LEN       12
#define TAC_MAX_BODY      65536 /* replies longer than this are refused */
#define TAC_MAX_PACKET    (TAC_HDR_LEN + TAC_MAX_BODY)
#define TAC_MAX_ARGS      32 /* arguments in one authorization/accounting packet */
#define TAC_MAX_ARG_LEN   255
#define TAC_MAX_FIELD_LEN 255 /* user, port, rem_addr, data in START */
#define TAC_MAX_KEY       128

#define TAC_MAJOR         0xc
#define TAC_VER_DEFAULT   0xc0
#define TAC_VER_ONE       0xc1

enum tac_type {
	TAC_AUTHEN = 1,
	TAC_AUTHOR = 2,
	TAC_ACCT = 3,
};

#define TAC_FLAG_UNENCRYPTED    0x01
#define TAC_FLAG_SINGLE_CONNECT 0x04

enum tac_authen_action { TAC_AUTHEN_LOGIN = 1, TAC_AUTHEN_CHPASS = 2, TAC_AUTHEN_SENDAUTH = 4 };
enum tac_authen_type { TAC_AUTHEN_TYPE_ASCII = 1, TAC_AUTHEN_TYPE_PAP = 2 };
enum tac_authen_svc {
	TAC_AUTHEN_SVC_NONE = 0,
	TAC_AUTHEN_SVC_LOGIN = 1,
	TAC_AUTHEN_SVC_ENABLE = 2,
	TAC_AUTHEN_SVC_PPP = 3,
	TAC_AUTHEN_SVC_X25 = 7,
};
enum tac_authen_method { TAC_AUTHEN_METH_TACACSPLUS = 6 };

enum tac_authen_status {
	TAC_AUTHEN_STATUS_PASS = 1,
	TAC_AUTHEN_STATUS_FAIL = 2,
	TAC_AUTHEN_STATUS_GETDATA = 3,
	TAC_AUTHEN_STATUS_GETUSER = 4,
	TAC_AUTHEN_STATUS_GETPASS = 5,
	TAC_AUTHEN_STATUS_RESTART = 6,
	TAC_AUTHEN_STATUS_ERROR = 7,
	TAC_AUTHEN_STATUS_FOLLOW = 0x21,
};
#define TAC_REPLY_FLAG_NOECHO   0x01
#define TAC_CONTINUE_FLAG_ABORT 0x01

enum tac_author_status {
	TAC_AUTHOR_STATUS_PASS_ADD = 1,
	TAC_AUTHOR_STATUS_PASS_REPL = 2,
	TAC_AUTHOR_STATUS_FAIL = 0x10,
	TAC_AUTHOR_STATUS_ERROR = 0x11,
	TAC_AUTHOR_STATUS_FOLLOW = 0x21,
};

#define TAC_ACCT_FLAG_START    0x02
#define TAC_ACCT_FLAG_STOP     0x04
#define TAC_ACCT_FLAG_WATCHDOG 0x08

enum tac_acct_status {
	TAC_ACCT_STATUS_SUCCESS = 1,
	TAC_ACCT_STATUS_ERROR = 2,
	TAC_ACCT_STATUS_FOLLOW = 0x21,
};

struct tac_hdr {
	uint8_t version; /* major << 4 | minor */
	uint8_t type;
	uint8_t seq;
	uint8_t flags;
	uint32_t session_id;
	uint32_t length; /* body length */
};

/* A packet under construction; the body is obfuscated by tac_pkt_finish(). */
struct tac_pkt {
	uint8_t buf[TAC_HDR_LEN + 4096]; /* requests are small: a cap, not a guess */
	size_t len;
	bool overflow;
};

/* Fields shared by the requests the client sends. */
struct tac_req_common {
	uint8_t priv_lvl;
	uint8_t authen_type;
	uint8_t authen_service;
	const char *user;
	const char *port;
	const char *rem_addr;
};

/* Parsed replies. Strings point into the caller's body buffer and are not NUL-terminated. */
struct tac_authen_reply {
	uint8_t status;
	uint8_t flags;
	const uint8_t *server_msg;
	uint16_t server_msg_len;
	const uint8_t *data;
	uint16_t data_len;
};

struct tac_author_reply {
	uint8_t status;
	uint8_t arg_cnt;
	const uint8_t *server_msg;
	uint16_t server_msg_len;
	const uint8_t *data;
	uint16_t data_len;
	const uint8_t *args[255];
	uint8_t arg_len[255];
};

struct tac_acct_reply {
	uint8_t status;
	const uint8_t *server_msg;
	uint16_t server_msg_len;
	const uint8_t *data;
	uint16_t data_len;
};

/* XORs body with the MD5 pseudo-pad of RFC 8907 section 4.5 (the same call obfuscates and
 * restores). key "" leaves the body alone (the caller sets TAC_FLAG_UNENCRYPTED). */
int tac_obfuscate(const struct tac_hdr *h, const char *key, uint8_t *body, size_t len);

void tac_hdr_encode(const struct tac_hdr *h, uint8_t out[TAC_HDR_LEN]);
/* Validates the 12 header bytes against what the client expects: major version 0xc, type, seq,
 * session id, the unencrypted flag matching whether a key is used, and a body length within
 * TAC_MAX_BODY. err gets what was expected and what came. */
int tac_hdr_validate(const uint8_t *buf, size_t len, uint8_t want_type, uint8_t want_seq,
                     uint32_t want_session, bool keyed, struct tac_hdr *out, char *err,
                     size_t errlen);

/* Builders: each writes header and body (obfuscated with key) into pkt. */
int tac_build_authen_start(struct tac_pkt *pkt, uint32_t session_id, const char *key,
                           uint8_t action, const struct tac_req_common *c, const uint8_t *data,
                           size_t data_len);
int tac_build_authen_continue(struct tac_pkt *pkt, uint32_t session_id, uint8_t seq,
                              uint8_t version, const char *key, const uint8_t *user_msg,
                              size_t user_msg_len, uint8_t flags);
int tac_build_author_request(struct tac_pkt *pkt, uint32_t session_id, const char *key,
                             const struct tac_req_common *c, const char *const *args, int nargs);
int tac_build_acct_request(struct tac_pkt *pkt, uint32_t session_id, const char *key,
                           uint8_t acct_flags, const struct tac_req_common *c,
                           const char *const *args, int nargs);

/* Validate: lengths and counts of a de-obfuscated reply body, nothing else (fuzzed).
 * Parse: the same walk, filling the struct; calls validate first. */
int tac_validate_authen_reply(const uint8_t *body, size_t len, char *err, size_t errlen);
int tac_parse_authen_reply(const uint8_t *body, size_t len, struct tac_authen_reply *r, char *err,
                           size_t errlen);
int tac_validate_author_reply(const uint8_t *body, size_t len, char *err, size_t errlen);
int tac_parse_author_reply(const uint8_t *body, size_t len, struct tac_author_reply *r, char *err,
                           size_t errlen);
int tac_validate_acct_reply(const uint8_t *body, size_t len, char *err, size_t errlen);
int tac_parse_acct_reply(const uint8_t *body, size_t len, struct tac_acct_reply *r, char *err,
                         size_t errlen);

const char *tac_authen_status_name(uint8_t status);

#endif
