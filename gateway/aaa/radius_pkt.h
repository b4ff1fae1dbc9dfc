/* RADIUS Access-Request codec (RFC 2865, RFC 3579 Message-Authenticator, RFC 5080).
 *
 * Why not radcli for this one: libradcli 1.2.11 (Debian's) adds Message-Authenticator only to
 * requests that carry EAP-Message, and a PAP Access-Request without it is what CVE-2024-3596
 * (BlastRADIUS) exploits and what FreeRADIUS refuses with require_message_authenticator. So
 * Access-Requests are built here (Message-Authenticator first). Accounting-Requests too: our
 * robustness test showed libradcli 1.2.11 reporting success for an Accounting-Response whose
 * Response Authenticator was wrong (tests/integration/aaa_robust_test.sh, R_badauth), so every
 * RADIUS reply is checked here: length, identifier, code, Response Authenticator and
 * Message-Authenticator, before any attribute is read. */
#ifndef PORTCULLIS_AAA_RADIUS_PKT_H
#define PORTCULLIS_AAA_RADIUS_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RADIUS_HDR_LEN      20
#define RADIUS_MAX_PACKET   4096 /* RFC 2865 section 3 */
#define RADIUS_MAX_ATTRS    128  /* attributes walked in a reply */
#define RADIUS_MAX_PASSWORD 128  /* RFC 2865 5.2 */
#define RADIUS_AUTH_LEN     16

enum radius_code {
	RADIUS_ACCESS_REQUEST = 1,
	RADIUS_ACCESS_ACCEPT = 2,
	RADIUS_ACCESS_REJECT = 3,
	RADIUS_ACCOUNTING_REQUEST = 4,
	RADIUS_ACCOUNTING_RESPONSE = 5,
	RADIUS_ACCESS_CHALLENGE = 11,
};

enum radius_attr {
	RADIUS_USER_NAME = 1,
	RADIUS_USER_PASSWORD = 2,
	RADIUS_NAS_IP_ADDRESS = 4,
	RADIUS_SERVICE_TYPE = 6,
	RADIUS_FRAMED_IP_ADDRESS = 8,
	RADIUS_REPLY_MESSAGE = 18,
	RADIUS_CALLING_STATION_ID = 31,
	RADIUS_ACCT_STATUS_TYPE = 40,
	RADIUS_ACCT_DELAY_TIME = 41,
	RADIUS_ACCT_INPUT_OCTETS = 42,
	RADIUS_ACCT_OUTPUT_OCTETS = 43,
	RADIUS_ACCT_SESSION_ID = 44,
	RADIUS_ACCT_AUTHENTIC = 45,
	RADIUS_ACCT_SESSION_TIME = 46,
	RADIUS_ACCT_INPUT_PACKETS = 47,
	RADIUS_ACCT_OUTPUT_PACKETS = 48,
	RADIUS_ACCT_TERMINATE_CAUSE = 49,
	RADIUS_ACCT_INPUT_GIGAWORDS = 52,
	RADIUS_ACCT_OUTPUT_GIGAWORDS = 53,
	RADIUS_EVENT_TIMESTAMP = 55,
	RADIUS_NAS_PORT_TYPE = 61,
	RADIUS_MESSAGE_AUTHENTICATOR = 80,
};

struct radius_access_req {
	uint8_t id;
	uint8_t authenticator[RADIUS_AUTH_LEN]; /* random, chosen by the caller */
	const char *user;
	const char *password;
	uint32_t nas_addr;    /* host order; 0: left out */
	uint32_t peer_addr;   /* Calling-Station-Id; 0: left out */
	uint32_t framed_addr; /* 0: left out */
};

/* Builds the Access-Request (Message-Authenticator first, then User-Name, hidden
 * User-Password, NAS-IP-Address, Service-Type Login, NAS-Port-Type Virtual,
 * Calling-Station-Id, Framed-IP-Address) into buf. Returns the length or a negative errno. */
int radius_build_access_request(const struct radius_access_req *r, const char *secret, uint8_t *buf,
                                size_t cap);

/* An Accounting-Request (RFC 2866). */
struct radius_acct_req {
	uint8_t id;
	uint32_t status_type; /* 1 Start, 2 Stop, 3 Interim-Update */
	const char *session_id;
	const char *user;
	uint32_t nas_addr;    /* 0: left out */
	const char *calling;  /* Calling-Station-Id text; NULL/"": left out */
	uint32_t framed_addr; /* 0: left out */
	uint32_t delay_s;
	uint32_t event_time; /* Event-Timestamp, epoch seconds; 0: left out */
	uint64_t session_time, in_octets, out_octets, in_packets, out_packets; /* Stop, Interim */
	uint32_t terminate_cause; /* Stop; 0: left out */
};

/* Builds the Accounting-Request with its Request Authenticator MD5(Code|ID|Length|16 zero
 * octets|attributes|secret), written to authenticator_out for checking the reply. */
int radius_build_accounting_request(const struct radius_acct_req *r, const char *secret,
                                    uint8_t *buf, size_t cap,
                                    uint8_t authenticator_out[RADIUS_AUTH_LEN]);

/* Acct-Terminate-Cause number for a name ("user-request", "idle-timeout", ...); 0 if unknown. */
uint32_t radius_terminate_cause(const char *name);

struct radius_reply {
	uint8_t code;
	bool has_message_authenticator;
	char reply_message[128]; /* first Reply-Message, printable characters only */
};

/* Pure structure check of a datagram (the fuzz target): header length field between 20 and
 * 4096 and not beyond the datagram, every attribute length >= 2 and inside the packet, at most
 * RADIUS_MAX_ATTRS attributes, Message-Authenticator 18 bytes long. */
int radius_validate_reply(const uint8_t *buf, size_t len, char *err, size_t errlen);

/* Checks a reply to the request (request_code, id, authenticator): structure, identifier, a code
 * that answers that request, Response Authenticator, Message-Authenticator when present or when
 * require_ma; only then reads its attributes. */
int radius_check_reply(const uint8_t *buf, size_t len, uint8_t request_code, uint8_t id,
                       const uint8_t request_auth[RADIUS_AUTH_LEN], const char *secret,
                       bool require_ma, struct radius_reply *out, char *err, size_t errlen);

#endif
