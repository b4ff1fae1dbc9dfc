/* IKEv1 / ISAKMP payload codec: a bounded cursor for reading untrusted bytes, a pure validate step
 * (header and payload chain lengths; what the fuzzer targets), payload interpreters (SA, proposals,
 * transforms, attributes, ID, notify) and a bounded writer for building messages. */
#ifndef PORTCULLIS_IKE_PLD_H
#define PORTCULLIS_IKE_PLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_HDR_LEN      28
#define IKE_MAX_DATAGRAM 8192 /* largest ISAKMP message accepted or built */
#define IKE_MAX_PAYLOADS 40   /* payloads in one message */
#define IKE_MAX_PROPS    32   /* proposals in one SA payload */
#define IKE_MAX_XFORMS   64   /* transforms in one SA payload, all proposals together */

/* Payload types (RFC 2408 3.1, RFC 3947, draft NAT-T). */
enum {
	IKE_PL_NONE = 0,
	IKE_PL_SA = 1,
	IKE_PL_P = 2,
	IKE_PL_T = 3,
	IKE_PL_KE = 4,
	IKE_PL_ID = 5,
	IKE_PL_CERT = 6,
	IKE_PL_CR = 7,
	IKE_PL_HASH = 8,
	IKE_PL_SIG = 9,
	IKE_PL_NONCE = 10,
	IKE_PL_N = 11,
	IKE_PL_D = 12,
	IKE_PL_VID = 13,
	IKE_PL_ATTR = 14,
	IKE_PL_NATD = 20,
	IKE_PL_NATOA = 21,
	IKE_PL_NATD_DRAFT = 130,
	IKE_PL_NATOA_DRAFT = 131,
};

/* Exchange types. */
enum {
	IKE_EX_MAIN = 2,
	IKE_EX_AGGR = 4,
	IKE_EX_INFO = 5,
	IKE_EX_TRANSACTION = 6,
	IKE_EX_QUICK = 32,
};

#define IKE_FLAG_ENC    0x01
#define IKE_FLAG_COMMIT 0x02

/* Notify message types (RFC 2408 3.14.1, RFC 2407 4.6.3, RFC 3706). */
enum {
	IKE_N_INVALID_PAYLOAD_TYPE = 1,
	IKE_N_DOI_NOT_SUPPORTED = 2,
	IKE_N_SITUATION_NOT_SUPPORTED = 3,
	IKE_N_INVALID_COOKIE = 4,
	IKE_N_INVALID_MAJOR_VERSION = 5,
	IKE_N_INVALID_EXCHANGE_TYPE = 7,
	IKE_N_INVALID_FLAGS = 8,
	IKE_N_INVALID_MESSAGE_ID = 9,
	IKE_N_INVALID_PROTOCOL_ID = 10,
	IKE_N_INVALID_SPI = 11,
	IKE_N_INVALID_TRANSFORM_ID = 12,
	IKE_N_ATTRIBUTES_NOT_SUPPORTED = 13,
	IKE_N_NO_PROPOSAL_CHOSEN = 14,
	IKE_N_BAD_PROPOSAL_SYNTAX = 15,
	IKE_N_PAYLOAD_MALFORMED = 16,
	IKE_N_INVALID_KEY_INFORMATION = 17,
	IKE_N_INVALID_ID_INFORMATION = 18,
	IKE_N_INVALID_HASH_INFORMATION = 23,
	IKE_N_AUTHENTICATION_FAILED = 24,
	IKE_N_UNEQUAL_PAYLOAD_LENGTHS = 30,
	IKE_N_RESPONDER_LIFETIME = 24576,
	IKE_N_REPLAY_STATUS = 24577,
	IKE_N_INITIAL_CONTACT = 24578,
	IKE_N_R_U_THERE = 36136,
	IKE_N_R_U_THERE_ACK = 36137,
};

/* Why a message was rejected: the notify to send and a log line saying expected vs got. */
struct ike_perr {
	uint16_t notify;
	char msg[200];
};

int ike_perr_set(struct ike_perr *e, uint16_t notify, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Bounded reader: can never run past len; a child cursor can never overrun its parent. */
struct ike_cur {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void ike_cur_init(struct ike_cur *c, const uint8_t *p, size_t len);
size_t ike_cur_left(const struct ike_cur *c);
int ike_cur_u8(struct ike_cur *c, uint8_t *v);
int ike_cur_u16(struct ike_cur *c, uint16_t *v);
int ike_cur_u32(struct ike_cur *c, uint32_t *v);
int ike_cur_bytes(struct ike_cur *c, void *out, size_t n);
int ike_cur_ptr(struct ike_cur *c, size_t n, const uint8_t **p);
int ike_cur_sub(struct ike_cur *c, size_t n, struct ike_cur *child);

struct ike_hdr {
	uint8_t icookie[8];
	uint8_t rcookie[8];
	uint8_t np;
	uint8_t version;
	uint8_t exch;
	uint8_t flags;
	uint32_t msgid;
	uint32_t len;
};

struct ike_pl {
	uint8_t type;
	const uint8_t *body; /* without the 4-byte generic header */
	size_t len;
	const uint8_t *raw; /* the whole payload, generic header included */
	size_t raw_len;
};

struct ike_msg {
	struct ike_hdr hdr;
	struct ike_pl pl[IKE_MAX_PAYLOADS];
	int n;
};

/* Pure validation: checks the 28-byte header against the datagram length (version 1.0, length
 * field equal to the datagram, no trailing bytes beyond padding handled by caller). */
int ike_pld_validate_hdr(const uint8_t *buf, size_t len, struct ike_hdr *h, struct ike_perr *e);
/* Walks the payload chain starting with type first over body[0..len): each generic header fits,
 * each length >= 4 and within the rest, at most IKE_MAX_PAYLOADS. Trailing bytes after the last
 * payload are allowed only when allow_pad (decrypted messages carry CBC padding). */
int ike_pld_validate_chain(uint8_t first, const uint8_t *body, size_t len, bool allow_pad,
                           struct ike_msg *m, struct ike_perr *e);
const struct ike_pl *ike_msg_find(const struct ike_msg *m, uint8_t type, int nth);

/* Data attributes (RFC 2408 3.3): TV (AF bit set, 16-bit value) or TLV. */
struct ike_attr {
	uint16_t type; /* without the AF bit */
	bool tv;
	uint16_t v16;       /* TV value */
	const uint8_t *val; /* TLV value */
	uint16_t len;
};

/* Reads the next attribute; returns 1 with *a filled, 0 at the end, negative on malformed. */
int ike_attr_next(struct ike_cur *c, struct ike_attr *a, struct ike_perr *e);
/* Value of a TV or a TLV of 1..8 bytes as a number. */
int ike_attr_num(const struct ike_attr *a, uint64_t *v);

struct ike_xform {
	uint8_t num;
	uint8_t id;
	const uint8_t *attrs;
	size_t attrs_len;
	const uint8_t *raw; /* the whole transform payload, header included */
	size_t raw_len;
};

struct ike_prop {
	uint8_t num;
	uint8_t proto;
	uint8_t spi_size;
	uint8_t spi[16];
	int first_xf;
	int nxf;
};

struct ike_sa_pl {
	uint32_t doi;
	uint32_t sit;
	struct ike_prop prop[IKE_MAX_PROPS];
	int nprop;
	struct ike_xform xf[IKE_MAX_XFORMS];
	int nxf;
};

/* Parses an SA payload body (DOI IPsec, situation identity-only) with its proposals and
 * transforms; checks every length and count and validates each transform's attribute list. */
int ike_pld_parse_sa(const uint8_t *body, size_t len, struct ike_sa_pl *sa, struct ike_perr *e);

struct ike_id {
	uint8_t type;
	uint8_t proto;
	uint16_t port;
	const uint8_t *data;
	size_t len;
};

enum {
	IKE_ID_IPV4_ADDR = 1,
	IKE_ID_FQDN = 2,
	IKE_ID_USER_FQDN = 3,
	IKE_ID_IPV4_SUBNET = 4,
	IKE_ID_IPV4_RANGE = 7,
	IKE_ID_KEY_ID = 11,
};

int ike_pld_parse_id(const uint8_t *body, size_t len, struct ike_id *id, struct ike_perr *e);

struct ike_notify {
	uint32_t doi;
	uint8_t proto;
	uint8_t spi_size;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t data_len;
};

int ike_pld_parse_notify(const uint8_t *body, size_t len, struct ike_notify *n, struct ike_perr *e);

struct ike_delete {
	uint32_t doi;
	uint8_t proto;
	uint8_t spi_size;
	uint16_t nspi;
	const uint8_t *spis;
};

int ike_pld_parse_delete(const uint8_t *body, size_t len, struct ike_delete *d, struct ike_perr *e);

/* Transaction (Mode Config / Xauth) attribute payload header. */
struct ike_cfg_hdr {
	uint8_t type; /* 1 REQUEST, 2 REPLY, 3 SET, 4 ACK */
	uint16_t id;
	const uint8_t *attrs;
	size_t attrs_len;
};

int ike_pld_parse_cfg(const uint8_t *body, size_t len, struct ike_cfg_hdr *c, struct ike_perr *e);

/* Bounded writer. Errors stick: check w->err once at the end. */
struct ike_wbuf {
	uint8_t buf[IKE_MAX_DATAGRAM];
	size_t len;
	bool err;
	size_t np_off; /* where the next-payload byte of the previous payload (or header) lives */
};

void ike_w_hdr(struct ike_wbuf *w, const uint8_t icookie[8], const uint8_t rcookie[8], uint8_t exch,
               uint8_t flags, uint32_t msgid);
void ike_w_u8(struct ike_wbuf *w, uint8_t v);
void ike_w_u16(struct ike_wbuf *w, uint16_t v);
void ike_w_u32(struct ike_wbuf *w, uint32_t v);
void ike_w_bytes(struct ike_wbuf *w, const void *p, size_t n);
/* Starts a payload of type: links it from the previous one; returns its offset for _end. */
size_t ike_w_pl_begin(struct ike_wbuf *w, uint8_t type);
void ike_w_pl_end(struct ike_wbuf *w, size_t off);
void ike_w_pl(struct ike_wbuf *w, uint8_t type, const void *body, size_t n);
void ike_w_attr_tv(struct ike_wbuf *w, uint16_t type, uint16_t v);
void ike_w_attr_tlv(struct ike_wbuf *w, uint16_t type, const void *p, uint16_t n);
/* Writes the header's length field (call last). */
void ike_w_finish(struct ike_wbuf *w);

#endif
