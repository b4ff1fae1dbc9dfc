/* ESP (RFC 4303) tunnel-mode packet transform for one direction of an SA: encapsulation with a
 * fresh random IV per packet, decapsulation with ICV check (CRYPTO_memcmp), anti-replay window
 * (RFC 6479 bitmap) and padding check. Ciphers: DES/3DES/AES-CBC (RFC 2405, 2451, 3602) or NULL
 * (RFC 2410); integrity: HMAC-MD5-96, HMAC-SHA1-96 (RFC 2403/2404), HMAC-SHA256-128 (RFC 4868).
 *
 * No allocation per packet: the cipher context and the HMAC states are keyed once in esp_sa_new();
 * per packet the IV is folded into the running CBC stream and the HMAC continues from copies of
 * its precomputed inner and outer hash states, and both transforms work in place in the caller's
 * buffer. Per SA the memory is one allocation (this struct and its replay bitmap sized to the
 * window) plus OpenSSL's cipher context; the cipher implementations are fetched once per process
 * and the random IVs come from a per-thread buffer refilled from the CSPRNG (RAND_bytes()).
 * The outer IP/UDP header is not part of the transform: the caller's socket adds it. */
#ifndef PORTCULLIS_IPSEC_ESP_H
#define PORTCULLIS_IPSEC_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include "gateway/ipsec/ipsec.h"

#define ESP_HDR_LEN   8  /* SPI + sequence number */
#define ESP_MAX_IV    16 /* AES block */
#define ESP_MAX_BLOCK 16
#define ESP_MAX_ICV   16 /* HMAC-SHA256-128 */
/* Bytes the caller must leave before the inner packet, and after it, for esp_encap(). */
#define ESP_HEADROOM (ESP_HDR_LEN + ESP_MAX_IV)
#define ESP_TAILROOM (ESP_MAX_BLOCK - 1 + 2 + ESP_MAX_ICV)

#define ESP_NH_IPV4  4  /* next header: IPv4 (tunnel mode) */
#define ESP_NH_NONE  59 /* next header: dummy packet (RFC 4303 2.6), dropped silently */

/* Anti-replay: window in packets, at most ESP_MAX_REPLAY_WINDOW; the bitmap holds one more 64-bit
 * word than the window needs (RFC 6479) and its word count is a power of two (at most
 * ESP_REPLAY_WORDS). */
#define ESP_MAX_REPLAY_WINDOW 4096
#define ESP_REPLAY_WORDS      128
#define ESP_DEFAULT_REPLAY    64

/* Random IV bytes fetched from the DRBG at a time into a per-thread buffer (one RAND_bytes() call
 * per ESP_IV_POOL bytes, not per packet); every IV is used once and wiped from the buffer. */
#define ESP_IV_POOL 1024

/* Why a packet was dropped; every drop is counted under exactly one reason. */
enum esp_drop {
	ESP_DROP_TRUNCATED,    /* shorter than header + IV + one block + ICV, or outer header cut */
	ESP_DROP_BAD_LENGTH,   /* ciphertext not a multiple of the cipher block size */
	ESP_DROP_NO_SA,        /* unknown SPI */
	ESP_DROP_REPLAY,       /* sequence number seen already or left of the window */
	ESP_DROP_AUTH,         /* ICV mismatch */
	ESP_DROP_CRYPTO,       /* the cipher or MAC call failed */
	ESP_DROP_PAD,          /* pad length too large or pad bytes not 1, 2, 3, ... */
	ESP_DROP_NEXT_HEADER,  /* next header not IPv4 */
	ESP_DROP_DUMMY,        /* next header 59: a dummy packet, dropped by design */
	ESP_DROP_INNER,        /* the inner IPv4 header is invalid */
	ESP_DROP_SELECTOR,     /* inner addresses outside the SA's traffic selectors */
	ESP_DROP_SEQ_OVERFLOW, /* outbound sequence number would wrap: SA must be rekeyed */
	ESP_DROP_TOO_BIG,      /* does not fit the buffer */
	ESP_DROP_NO_POLICY,    /* outbound: no SA covers the inner destination */
	ESP_DROP_EXPIRED,      /* SA reached its hard lifetime */
	ESP_DROP_SEND,         /* sendmsg() of the ESP packet failed */
	ESP_DROP_TUN_WRITE,    /* write() of the decrypted packet to the TUN device failed */
	ESP_DROP_NOT_ESP,      /* outer packet is not ESP (wrong protocol, bad IP header) */
	ESP_DROP_BUSY,         /* the SA's worker thread is behind: its queue is full */
	ESP_DROP_COUNT
};

struct esp_replay {
	uint32_t window;   /* packets; 0: anti-replay off */
	uint32_t last;     /* highest authenticated sequence number, 0: none yet */
	uint32_t mask;     /* number of bitmap words in use - 1 */
	uint64_t bitmap[]; /* mask + 1 words: see esp_replay_size() */
};

/* HMAC (RFC 2104) precomputed: the hash state after one block of key ^ ipad (inner) or key ^ opad
 * (outer). Low-level OpenSSL digest states: copying one is a struct assignment, where an EVP_MD_CTX
 * copy allocates, and an EVP_MAC_CTX costs about 1 KiB per SA. */
union esp_hash {
	MD5_CTX md5;
	SHA_CTX sha1;
	SHA256_CTX sha256;
};

/* One direction of an SA. Fields are read-only outside esp.c (tests read them). */
struct esp_sa {
	uint32_t spi; /* host order */
	bool outbound;
	enum ipsec_enc enc;
	enum ipsec_auth auth;
	size_t block;                 /* cipher block size; 4 (alignment) for NULL */
	size_t iv_len;                /* 0 for NULL */
	size_t icv_len;               /* 0 without integrity */
	uint32_t seq;                 /* outbound: the last sequence number sent */
	EVP_CIPHER_CTX *cctx;         /* NULL for NULL encryption (and 3DES with libgcrypt) */
	void *gctx;                   /* gcry_cipher_hd_t for 3DES with PORTCULLIS_HAVE_GCRYPT */
	uint8_t chain[ESP_MAX_BLOCK]; /* CBC chaining value of cctx (see esp_cbc()) */
	union esp_hash hmac_inner, hmac_outer;
	struct esp_replay *replay; /* in the same allocation, after this struct */
};

/* Loads the OpenSSL "default" and "legacy" providers (single DES needs legacy) once per process.
 * Returns 0 or -ENOTSUP when a provider cannot be loaded. Called by esp_sa_new(). */
int esp_crypto_init(void);

/* Keys one direction. Checks the key lengths against the algorithms (DES 8, 3DES 24, AES 16/24/32,
 * MD5 16, SHA1 20, SHA256 32). replay_window is used for inbound SAs with integrity only; it is
 * capped at ESP_MAX_REPLAY_WINDOW (-EINVAL above). Returns 0, -EINVAL or -ENOMEM/-ENOTSUP. */
int esp_sa_new(enum ipsec_enc enc, enum ipsec_auth auth, const struct ipsec_keys *keys,
               bool outbound, uint32_t replay_window, struct esp_sa **out);
void esp_sa_free(struct esp_sa *sa);

/* Encapsulates the inner IPv4 packet at buf[off, off+len) in place. off must be at least
 * ESP_HEADROOM and cap - (off + len) at least ESP_TAILROOM. On success the ESP packet (SPI to ICV)
 * is at buf[*pkt_off, *pkt_off + *pkt_len). Returns 0 or a negative errno with *why set. */
int esp_encap(struct esp_sa *sa, uint8_t *buf, size_t cap, size_t off, size_t len, size_t *pkt_off,
              size_t *pkt_len, enum esp_drop *why);
/* The same with a caller-chosen IV (iv_len bytes) instead of a random one: for known-answer tests
 * only. Never use a predictable IV on the wire. */
int esp_encap_iv(struct esp_sa *sa, const uint8_t *iv, uint8_t *buf, size_t cap, size_t off,
                 size_t len, size_t *pkt_off, size_t *pkt_len, enum esp_drop *why);

/* Checks and decrypts the ESP packet pkt[0, len) (SPI to ICV) in place: length, replay (a cheap
 * check first), ICV, then the window update, decryption, padding and next header. On success the
 * inner packet is at pkt[*inner_off, *inner_off + *inner_len). Returns 0 or a negative errno
 * with *why set. */
int esp_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, size_t *inner_off, size_t *inner_len,
              enum esp_drop *why);

/* The ICV (sa->icv_len bytes, truncated HMAC) of data[0, len) with sa's integrity key, into icv.
 * Returns 0, or -EINVAL for an SA without integrity, -EIO when the digest fails. For load
 * generators that re-sign one packet with new sequence numbers. */
int esp_sa_icv(const struct esp_sa *sa, const uint8_t *data, size_t len, uint8_t *icv);

/* Reads the SPI of an ESP packet (host order). Returns 0 or -EBADMSG when shorter than 8 bytes. */
int esp_peek_spi(const uint8_t *pkt, size_t len, uint32_t *spi);

/* Anti-replay window (exposed for tests). size: bytes a struct esp_replay for window (capped at
 * ESP_MAX_REPLAY_WINDOW) needs; init: r must have that many. check: 0 if seq may be accepted,
 * -EALREADY for a duplicate, -ERANGE left of the window or seq 0. update: marks seq as seen
 * (after the ICV). */
size_t esp_replay_size(uint32_t window);
void esp_replay_init(struct esp_replay *r, uint32_t window);
int esp_replay_check(const struct esp_replay *r, uint32_t seq);
void esp_replay_update(struct esp_replay *r, uint32_t seq);

/* What a datagram on UDP 4500 is (RFC 3948): a NAT keepalive (one 0xff byte), IKE (4 zero bytes,
 * the non-ESP marker, first), ESP (a non-zero SPI and at least an ESP header), or invalid. */
enum esp_udp_kind {
	ESP_UDP_INVALID,
	ESP_UDP_KEEPALIVE,
	ESP_UDP_IKE,
	ESP_UDP_ESP,
};
enum esp_udp_kind esp_udp_classify(const uint8_t *pkt, size_t len);

const char *esp_drop_name(enum esp_drop why);
const char *esp_enc_name(enum ipsec_enc enc, size_t key_len);
const char *esp_auth_name(enum ipsec_auth auth);

#endif
