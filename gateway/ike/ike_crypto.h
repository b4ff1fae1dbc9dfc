/* IKEv1 cryptography (RFC 2409): PRF/HMAC, SKEYID and its derivatives, encryption key extension,
 * IVs, CBC encryption, Diffie-Hellman (groups 1, 2, 5, 14) and Quick Mode KEYMAT, over OpenSSL 3
 * (DES through the legacy provider). Key material passed in is never logged. */
#ifndef PORTCULLIS_IKE_CRYPTO_H
#define PORTCULLIS_IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_MAX_HASH  32  /* SHA-256 */
#define IKE_MAX_KEY   32  /* AES-256 */
#define IKE_MAX_BLOCK 16  /* AES block */
#define IKE_MAX_DH    256 /* group 14: 2048 bits */

/* IKE SA attribute values (RFC 2409 appendix A). */
enum {
	IKE_ENC_DES = 1,
	IKE_ENC_3DES = 5,
	IKE_ENC_AES = 7,
};
enum {
	IKE_HASH_MD5 = 1,
	IKE_HASH_SHA1 = 2,
	IKE_HASH_SHA256 = 4,
};

struct ike_iov {
	const void *p;
	size_t len;
};

/* Loads the OpenSSL "legacy" (DES) and "default" providers once. */
int ike_crypto_init(void);
size_t ike_hash_len(int hash);
const char *ike_hash_name(int hash);
const char *ike_enc_name(int enc);
/* Cipher key length in bytes (keybits for AES; 0: default 128), block size; 0 if unknown. */
size_t ike_enc_keylen(int enc, unsigned keybits);
size_t ike_enc_blocklen(int enc);

int ike_hash(int hash, const struct ike_iov *iov, int n, uint8_t *out);
int ike_prf(int hash, const uint8_t *key, size_t klen, const struct ike_iov *iov, int n,
            uint8_t *out);

/* Phase 1 derivation (RFC 2409 5): given SKEYID, computes SKEYID_d, SKEYID_a and SKEYID_e. */
int ike_skeyid_derive(int hash, const uint8_t *skeyid, const uint8_t *gxy, size_t gxy_len,
                      const uint8_t ci[8], const uint8_t cr[8], uint8_t *d, uint8_t *a, uint8_t *e);
/* Encryption key from SKEYID_e, extended with prf(SKEYID_e, 0) ... when longer (appendix B). */
int ike_enc_key(int hash, const uint8_t *skeyid_e, size_t keylen, uint8_t *key);
/* KEYMAT for one direction (5.5), [g^xy] optional, out_len bytes. */
int ike_keymat(int hash, const uint8_t *skeyid_d, const uint8_t *gxy, size_t gxy_len, uint8_t proto,
               const uint8_t spi[4], const uint8_t *ni, size_t ni_len, const uint8_t *nr,
               size_t nr_len, uint8_t *out, size_t out_len);

/* CBC over buf[0..len) in place (len a multiple of the block size). iv is updated to the last
 * ciphertext block, as IKEv1 chains IVs between messages. */
int ike_cbc(int enc, const uint8_t *key, size_t keylen, uint8_t *iv, uint8_t *buf, size_t len,
            bool encrypt);

struct ike_dh;
size_t ike_dh_len(int group); /* 0: unsupported */
int ike_dh_new(int group, struct ike_dh **out);
/* For tests: a fixed private value instead of a random one. */
int ike_dh_new_with_priv(int group, const uint8_t *priv, size_t priv_len, struct ike_dh **out);
int ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t len);
/* Checks 1 < peer < p-1 and writes g^xy padded to the group length. */
int ike_dh_shared(const struct ike_dh *dh, const uint8_t *peer, size_t peer_len, uint8_t *out,
                  size_t len);
void ike_dh_free(struct ike_dh *dh);

#endif
