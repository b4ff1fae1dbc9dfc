/* ESP packet transform: see esp.h. */

/* The HMAC runs on OpenSSL's low-level digest functions (MD5_Init(), SHA1_Update()...),
 * deprecated in OpenSSL 3.0 but present through 3.x: they let esp_icv() start each packet from a
 * struct copy of the precomputed key states, with no allocation and no provider dispatch. Before
 * any OpenSSL header. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "gateway/ipsec/esp.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#ifdef PORTCULLIS_HAVE_GCRYPT
#include <gcrypt.h>
#endif

#include "gateway/core/log.h"
#include "gateway/ipsec/cursor.h"

/* The cipher implementations, fetched once for the process (an EVP_CIPHER_fetch() per SA is a
 * locked lookup); NULL when the provider lacks one. */
enum esp_cipher_id {
	CIPHER_DES,
	CIPHER_3DES,
	CIPHER_AES128,
	CIPHER_AES192,
	CIPHER_AES256,
	CIPHER_COUNT
};

static const char *const cipher_names[CIPHER_COUNT] = {
        [CIPHER_DES] = "DES-CBC",        [CIPHER_3DES] = "DES-EDE3-CBC",
        [CIPHER_AES128] = "AES-128-CBC", [CIPHER_AES192] = "AES-192-CBC",
        [CIPHER_AES256] = "AES-256-CBC",
};

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_status;
static OSSL_PROVIDER *prov_default, *prov_legacy;
static EVP_CIPHER *ciphers[CIPHER_COUNT];

/* Random IVs: a per-thread buffer of DRBG output, so that no SA carries one. */
struct iv_pool {
	size_t used;
	uint8_t b[ESP_IV_POOL];
};
static _Thread_local struct iv_pool iv_pool = {.used = ESP_IV_POOL};

static void
crypto_load(void)
{
	/* Loading "legacy" explicitly disables the implicit "default", so load both. The
	 * providers stay loaded for the process lifetime (OPENSSL_cleanup() releases them). */
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	if (prov_default == NULL) {
		log_error(LOG_IPSEC, "OSSL_PROVIDER_load default: failed");
		crypto_status = -ENOTSUP;
		return;
	}
	prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
	if (prov_legacy == NULL)
		log_warn(LOG_IPSEC, "OSSL_PROVIDER_load legacy: failed; single DES unavailable");
	/* Kept for the process lifetime, like the providers. A missing one is reported when an
	 * SA asks for it. */
	for (int i = 0; i < CIPHER_COUNT; i++)
		ciphers[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
#ifdef PORTCULLIS_HAVE_GCRYPT
	/* libgcrypt for 3DES: its x86-64 assembly decrypts three CBC blocks at a time, about
	 * twice OpenSSL 3.0's portable C DES (bench/esp_bench.c); single DES stays on OpenSSL
	 * (faster there, and smaller). No secure memory: the key schedules live in ordinary heap,
	 * as OpenSSL's do. */
	if (gcry_check_version(GCRYPT_VERSION) == NULL) {
		log_error(LOG_IPSEC, "gcry_check_version %s: failed", GCRYPT_VERSION);
		crypto_status = -ENOTSUP;
		return;
	}
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
#endif
	crypto_status = 0;
}

int
esp_crypto_init(void)
{
	pthread_once(&crypto_once, crypto_load);
	return crypto_status;
}

const char *
esp_drop_name(enum esp_drop why)
{
	static const char *const names[ESP_DROP_COUNT] = {
	        [ESP_DROP_TRUNCATED] = "truncated", [ESP_DROP_BAD_LENGTH] = "bad-length",
	        [ESP_DROP_NO_SA] = "no-sa",         [ESP_DROP_REPLAY] = "replay",
	        [ESP_DROP_AUTH] = "auth",           [ESP_DROP_CRYPTO] = "crypto",
	        [ESP_DROP_PAD] = "padding",         [ESP_DROP_NEXT_HEADER] = "next-header",
	        [ESP_DROP_DUMMY] = "dummy",         [ESP_DROP_INNER] = "inner-header",
	        [ESP_DROP_SELECTOR] = "selector",   [ESP_DROP_SEQ_OVERFLOW] = "seq-overflow",
	        [ESP_DROP_TOO_BIG] = "too-big",     [ESP_DROP_NO_POLICY] = "no-policy",
	        [ESP_DROP_EXPIRED] = "expired",     [ESP_DROP_SEND] = "send",
	        [ESP_DROP_TUN_WRITE] = "tun-write", [ESP_DROP_NOT_ESP] = "not-esp",
	        [ESP_DROP_BUSY] = "busy",
	};

	if ((unsigned)why >= ESP_DROP_COUNT || names[why] == NULL)
		return "unknown";
	return names[why];
}

const char *
esp_enc_name(enum ipsec_enc enc, size_t key_len)
{
	switch (enc) {
	case IPSEC_ENC_NULL:
		return "null";
	case IPSEC_ENC_DES:
		return "des-cbc";
	case IPSEC_ENC_3DES:
		return "3des-cbc";
	case IPSEC_ENC_AES_CBC:
		if (key_len == 16)
			return "aes128-cbc";
		if (key_len == 24)
			return "aes192-cbc";
		return key_len == 32 ? "aes256-cbc" : "aes-cbc";
	}
	return "unknown";
}

const char *
esp_auth_name(enum ipsec_auth auth)
{
	switch (auth) {
	case IPSEC_AUTH_NONE:
		return "none";
	case IPSEC_AUTH_HMAC_MD5_96:
		return "hmac-md5-96";
	case IPSEC_AUTH_HMAC_SHA1_96:
		return "hmac-sha1-96";
	case IPSEC_AUTH_HMAC_SHA256_128:
		return "hmac-sha256-128";
	}
	return "unknown";
}

/* The cipher for enc with key_len: 0 with *id (-1 for NULL encryption), or -EINVAL with *want
 * set when the pair is invalid. */
static int
cipher_id(enum ipsec_enc enc, size_t key_len, int *id, size_t *want)
{
	*id = -1;
	switch (enc) {
	case IPSEC_ENC_NULL:
		*want = 0;
		return key_len == 0 ? 0 : -EINVAL;
	case IPSEC_ENC_DES:
		*want = 8;
		*id = CIPHER_DES;
		return key_len == 8 ? 0 : -EINVAL;
	case IPSEC_ENC_3DES:
		*want = 24;
		*id = CIPHER_3DES;
		return key_len == 24 ? 0 : -EINVAL;
	case IPSEC_ENC_AES_CBC:
		*want = 16;
		*id = key_len == 16   ? CIPHER_AES128
		      : key_len == 24 ? CIPHER_AES192
		      : key_len == 32 ? CIPHER_AES256
		                      : -1;
		return *id >= 0 ? 0 : -EINVAL;
	}
	*want = 0;
	return -EINVAL;
}

static const char *
digest_name(enum ipsec_auth auth, size_t *key_len, size_t *icv_len)
{
	switch (auth) {
	case IPSEC_AUTH_NONE:
		*key_len = 0;
		*icv_len = 0;
		return "";
	case IPSEC_AUTH_HMAC_MD5_96:
		*key_len = 16;
		*icv_len = 12;
		return "MD5";
	case IPSEC_AUTH_HMAC_SHA1_96:
		*key_len = 20;
		*icv_len = 12;
		return "SHA1";
	case IPSEC_AUTH_HMAC_SHA256_128:
		*key_len = 32;
		*icv_len = 16;
		return "SHA256";
	}
	return NULL;
}

/* Bitmap words for window: one more than the window spans, rounded up to a power of two
 * (RFC 6479). */
static uint32_t
replay_words(uint32_t window)
{
	uint32_t words = 1;

	if (window > ESP_MAX_REPLAY_WINDOW)
		window = ESP_MAX_REPLAY_WINDOW;
	while (words < (window + 63) / 64 + 1)
		words <<= 1;
	return words;
}

size_t
esp_replay_size(uint32_t window)
{
	return offsetof(struct esp_replay, bitmap) + replay_words(window) * sizeof(uint64_t);
}

void
esp_replay_init(struct esp_replay *r, uint32_t window)
{
	uint32_t words = replay_words(window);

	memset(r, 0, offsetof(struct esp_replay, bitmap) + words * sizeof(uint64_t));
	r->window = window > ESP_MAX_REPLAY_WINDOW ? ESP_MAX_REPLAY_WINDOW : window;
	r->mask = words - 1;
}

int
esp_replay_check(const struct esp_replay *r, uint32_t seq)
{
	if (r->window == 0)
		return 0;
	if (seq == 0)
		return -ERANGE;
	if (seq > r->last)
		return 0;
	if (r->last - seq >= r->window)
		return -ERANGE;
	if (r->bitmap[(seq >> 6) & r->mask] & (UINT64_C(1) << (seq & 63)))
		return -EALREADY;
	return 0;
}

void
esp_replay_update(struct esp_replay *r, uint32_t seq)
{
	if (r->window == 0)
		return;
	if (seq > r->last) {
		uint32_t cur = r->last >> 6, idx = seq >> 6;
		uint32_t diff = idx - cur;

		if (diff > r->mask + 1)
			diff = r->mask + 1;
		for (uint32_t i = 1; i <= diff; i++)
			r->bitmap[(cur + i) & r->mask] = 0;
		r->last = seq;
	}
	r->bitmap[(seq >> 6) & r->mask] |= UINT64_C(1) << (seq & 63);
}

void
esp_sa_free(struct esp_sa *sa)
{
	if (sa == NULL)
		return;
	/* The cipher context holds the key schedule and its free function cleanses it; the HMAC
	 * states are in sa itself. */
	EVP_CIPHER_CTX_free(sa->cctx);
#ifdef PORTCULLIS_HAVE_GCRYPT
	gcry_cipher_close(sa->gctx); /* wipes the context */
#endif
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* HMAC block size of MD5, SHA-1 and SHA-256 alike. */
#define HMAC_BLOCK 64

static void
hash_init(enum ipsec_auth auth, union esp_hash *h)
{
	switch (auth) {
	case IPSEC_AUTH_HMAC_MD5_96:
		MD5_Init(&h->md5);
		break;
	case IPSEC_AUTH_HMAC_SHA1_96:
		SHA1_Init(&h->sha1);
		break;
	case IPSEC_AUTH_HMAC_SHA256_128:
		SHA256_Init(&h->sha256);
		break;
	case IPSEC_AUTH_NONE:
		break;
	}
}

static void
hash_update(enum ipsec_auth auth, union esp_hash *h, const void *data, size_t len)
{
	switch (auth) {
	case IPSEC_AUTH_HMAC_MD5_96:
		MD5_Update(&h->md5, data, len);
		break;
	case IPSEC_AUTH_HMAC_SHA1_96:
		SHA1_Update(&h->sha1, data, len);
		break;
	case IPSEC_AUTH_HMAC_SHA256_128:
		SHA256_Update(&h->sha256, data, len);
		break;
	case IPSEC_AUTH_NONE:
		break;
	}
}

/* Writes the digest (16, 20 or 32 bytes) to md; returns its length. */
static size_t
hash_final(enum ipsec_auth auth, union esp_hash *h, uint8_t *md)
{
	switch (auth) {
	case IPSEC_AUTH_HMAC_MD5_96:
		MD5_Final(md, &h->md5);
		return MD5_DIGEST_LENGTH;
	case IPSEC_AUTH_HMAC_SHA1_96:
		SHA1_Final(md, &h->sha1);
		return SHA_DIGEST_LENGTH;
	case IPSEC_AUTH_HMAC_SHA256_128:
		SHA256_Final(md, &h->sha256);
		return SHA256_DIGEST_LENGTH;
	case IPSEC_AUTH_NONE:
		break;
	}
	return 0;
}

/* The inner and outer HMAC states for key (at most HMAC_BLOCK bytes: every ESP key length is). */
static void
hmac_key(struct esp_sa *sa, const uint8_t *key, size_t len)
{
	uint8_t ipad[HMAC_BLOCK], opad[HMAC_BLOCK];

	for (size_t i = 0; i < HMAC_BLOCK; i++) {
		uint8_t k = i < len ? key[i] : 0;

		ipad[i] = k ^ 0x36;
		opad[i] = k ^ 0x5c;
	}
	hash_init(sa->auth, &sa->hmac_inner);
	hash_update(sa->auth, &sa->hmac_inner, ipad, sizeof(ipad));
	hash_init(sa->auth, &sa->hmac_outer);
	hash_update(sa->auth, &sa->hmac_outer, opad, sizeof(opad));
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
}

#ifdef PORTCULLIS_HAVE_GCRYPT
/* A libgcrypt CBC context for 3DES, keyed. Weak DES subkeys are accepted, as OpenSSL's EVP
 * accepts them (keys come from the IKE PRF: a weak one is a 2^-52 event). */
static int
gcry_3des_new(struct esp_sa *sa, const struct ipsec_keys *keys)
{
	const int cid = CIPHER_3DES;
	gcry_cipher_hd_t h = NULL;
	gcry_error_t err;

	err = gcry_cipher_open(&h, GCRY_CIPHER_3DES, GCRY_CIPHER_MODE_CBC, 0);
	if (err != 0) {
		log_warn(LOG_IPSEC, "SA %08x: gcry_cipher_open %s: %s", keys->spi,
		         cipher_names[cid], gcry_strerror(err));
		return -ENOTSUP;
	}
	sa->gctx = h;
	err = gcry_cipher_ctl(h, GCRYCTL_SET_ALLOW_WEAK_KEY, NULL, 1);
	if (err == 0)
		err = gcry_cipher_setkey(h, keys->enc_key, keys->enc_key_len);
	if (err != 0) {
		log_warn(LOG_IPSEC, "SA %08x: gcry_cipher_setkey %s: %s", keys->spi,
		         cipher_names[cid], gcry_strerror(err));
		return -EINVAL;
	}
	return 0;
}
#endif

int
esp_sa_new(enum ipsec_enc enc, enum ipsec_auth auth, const struct ipsec_keys *keys, bool outbound,
           uint32_t replay_window, struct esp_sa **out)
{
	struct esp_sa *sa = NULL;
	const char *dname;
	size_t want_key = 0, want_auth = 0, icv = 0;
	uint32_t window;
	int ret, cid;

	*out = NULL;
	ret = esp_crypto_init();
	if (ret < 0)
		return ret;
	if (cipher_id(enc, keys->enc_key_len, &cid, &want_key) < 0) {
		log_warn(LOG_IPSEC, "SA %08x: %s key length %zu invalid (expected %zu)", keys->spi,
		         esp_enc_name(enc, keys->enc_key_len), keys->enc_key_len, want_key);
		return -EINVAL;
	}
	dname = digest_name(auth, &want_auth, &icv);
	if (dname == NULL || keys->auth_key_len != want_auth) {
		log_warn(LOG_IPSEC, "SA %08x: %s key length %zu invalid (expected %zu)", keys->spi,
		         esp_auth_name(auth), keys->auth_key_len, want_auth);
		return -EINVAL;
	}
	if (enc == IPSEC_ENC_NULL && auth == IPSEC_AUTH_NONE) {
		log_warn(LOG_IPSEC, "SA %08x: ESP with neither encryption nor integrity refused",
		         keys->spi);
		return -EINVAL;
	}
	if (keys->spi < 256) {
		/* RFC 4303 2.1: SPIs 1-255 are reserved, 0 is never sent. */
		log_warn(LOG_IPSEC, "SA %08x: reserved SPI", keys->spi);
		return -EINVAL;
	}
	if (replay_window > ESP_MAX_REPLAY_WINDOW) {
		log_warn(LOG_IPSEC, "SA %08x: replay window %u too large (max %d)", keys->spi,
		         replay_window, ESP_MAX_REPLAY_WINDOW);
		return -EINVAL;
	}
	if (cid >= 0 && ciphers[cid] == NULL) {
		log_warn(LOG_IPSEC, "SA %08x: EVP_CIPHER_fetch %s: not available", keys->spi,
		         cipher_names[cid]);
		return -ENOTSUP;
	}
	/* Without integrity anti-replay means nothing (RFC 4303 3.4.3). */
	window = auth == IPSEC_AUTH_NONE || outbound ? 0 : replay_window;
	sa = calloc(1, sizeof(*sa) + esp_replay_size(window));
	if (sa == NULL)
		return -ENOMEM;
	sa->spi = keys->spi;
	sa->outbound = outbound;
	sa->enc = enc;
	sa->auth = auth;
	sa->icv_len = icv;
	sa->replay = (struct esp_replay *)(sa + 1);
	esp_replay_init(sa->replay, window);

	if (cid < 0) {
		sa->block = 4;
		sa->iv_len = 0;
	} else {
		const EVP_CIPHER *cipher = ciphers[cid];

		sa->block = (size_t)EVP_CIPHER_get_block_size(cipher);
		sa->iv_len = (size_t)EVP_CIPHER_get_iv_length(cipher);
#ifdef PORTCULLIS_HAVE_GCRYPT
		if (cid == CIPHER_3DES) {
			ret = gcry_3des_new(sa, keys);
			if (ret < 0)
				goto out;
			goto keyed;
		}
#endif
		sa->cctx = EVP_CIPHER_CTX_new();
		if (sa->cctx == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		/* A zero IV to start the CBC stream esp_cbc() continues (sa->chain is zero). */
		if (!EVP_CipherInit_ex2(sa->cctx, cipher, keys->enc_key, sa->chain,
		                        outbound ? 1 : 0, NULL) ||
		    !EVP_CIPHER_CTX_set_padding(sa->cctx, 0)) {
			log_warn(LOG_IPSEC, "SA %08x: EVP_CipherInit_ex2 %s: failed", keys->spi,
			         cipher_names[cid]);
			ret = -EINVAL;
			goto out;
		}
	}
#ifdef PORTCULLIS_HAVE_GCRYPT
keyed:
#endif
	if (auth != IPSEC_AUTH_NONE)
		hmac_key(sa, keys->auth_key, keys->auth_key_len);
	*out = sa;
	sa = NULL;
	ret = 0;
out:
	esp_sa_free(sa);
	return ret;
}

/* HMAC over data[0, len) into icv (at least sa->icv_len bytes are written), from copies of the
 * precomputed key states. */
static int
esp_icv(const struct esp_sa *sa, const uint8_t *data, size_t len, uint8_t icv[EVP_MAX_MD_SIZE])
{
	union esp_hash h = sa->hmac_inner;
	uint8_t inner[EVP_MAX_MD_SIZE];
	size_t n;

	hash_update(sa->auth, &h, data, len);
	n = hash_final(sa->auth, &h, inner);
	h = sa->hmac_outer;
	hash_update(sa->auth, &h, inner, n);
	if (hash_final(sa->auth, &h, icv) < sa->icv_len)
		return -EIO;
	return 0;
}

int
esp_sa_icv(const struct esp_sa *sa, const uint8_t *data, size_t len, uint8_t *icv)
{
	uint8_t md[EVP_MAX_MD_SIZE];

	if (sa->icv_len == 0)
		return -EINVAL;
	if (esp_icv(sa, data, len, md) < 0)
		return -EIO;
	memcpy(icv, md, sa->icv_len);
	return 0;
}

/* CBC in place over p[0, len) (a multiple of the block size, at least one block) with iv,
 * without re-IV'ing the context. Successive EVP_CipherUpdate() calls on one context form one CBC
 * stream whose chaining value after each packet is that packet's last ciphertext block
 * (sa->chain). Folding iv ^ chain into the first block makes each packet CBC with its own iv:
 *   encrypt: C1 = E((P1 ^ iv ^ chain) ^ chain) = E(P1 ^ iv)
 *   decrypt: P1 = (D(C1) ^ chain) ^ chain ^ iv = D(C1) ^ iv
 * This saves an EVP_CipherInit_ex2() per packet, whose parameter handling costs more than the
 * cipher itself on small packets. After a failure the context is re-synchronised. */
static int
esp_cbc(struct esp_sa *sa, const uint8_t *iv, uint8_t *p, size_t len)
{
	static const uint8_t zero[ESP_MAX_BLOCK];
	uint8_t last[ESP_MAX_BLOCK];
	size_t b = sa->block;
	int outl = 0, ok;

	if (len > INT32_MAX || len < b || len % b != 0)
		return -EMSGSIZE;
#ifdef PORTCULLIS_HAVE_GCRYPT
	if (sa->gctx != NULL) {
		gcry_cipher_hd_t h = sa->gctx;
		gcry_error_t err = gcry_cipher_setiv(h, iv, b);

		if (err == 0)
			err = sa->outbound ? gcry_cipher_encrypt(h, p, len, NULL, 0)
			                   : gcry_cipher_decrypt(h, p, len, NULL, 0);
		if (err != 0) {
			log_error(LOG_IPSEC, "SA %08x: gcry_cipher_%s: %s", sa->spi,
			          sa->outbound ? "encrypt" : "decrypt", gcry_strerror(err));
			return -EIO;
		}
		return 0;
	}
#endif
	if (sa->outbound) {
		for (size_t i = 0; i < b; i++)
			p[i] ^= iv[i] ^ sa->chain[i];
		ok = EVP_CipherUpdate(sa->cctx, p, &outl, p, (int)len) && (size_t)outl == len;
		memcpy(sa->chain, p + len - b, b);
	} else {
		memcpy(last, p + len - b, b);
		ok = EVP_CipherUpdate(sa->cctx, p, &outl, p, (int)len) && (size_t)outl == len;
		for (size_t i = 0; i < b; i++)
			p[i] ^= iv[i] ^ sa->chain[i];
		memcpy(sa->chain, last, b);
	}
	if (!ok) {
		memset(sa->chain, 0, sizeof(sa->chain));
		if (!EVP_CipherInit_ex2(sa->cctx, NULL, NULL, zero, -1, NULL))
			log_error(LOG_IPSEC, "SA %08x: EVP_CipherInit_ex2 resync: failed", sa->spi);
		return -EIO;
	}
	return 0;
}

/* The next len random bytes of this thread's pool (len <= ESP_MAX_IV). */
static int
esp_next_iv(uint8_t *iv, size_t len)
{
	struct iv_pool *p = &iv_pool;

	if (p->used + len > ESP_IV_POOL) {
		if (RAND_bytes(p->b, ESP_IV_POOL) != 1) {
			log_error(LOG_IPSEC, "RAND_bytes for ESP IVs: failed");
			return -EIO;
		}
		p->used = 0;
	}
	memcpy(iv, p->b + p->used, len);
	/* An IV leaves the pool once. */
	OPENSSL_cleanse(p->b + p->used, len);
	p->used += len;
	return 0;
}

static int
encap(struct esp_sa *sa, const uint8_t *fixed_iv, uint8_t *buf, size_t cap, size_t off, size_t len,
      size_t *pkt_off, size_t *pkt_len, enum esp_drop *why)
{
	size_t hdr = ESP_HDR_LEN + sa->iv_len, pad, plen, start, end;
	uint8_t *p, icv[EVP_MAX_MD_SIZE];

	if (!sa->outbound || off < hdr || off > cap || len > cap - off) {
		*why = ESP_DROP_TOO_BIG;
		return -EINVAL;
	}
	pad = (sa->block - (len + 2) % sa->block) % sa->block;
	plen = len + pad + 2;
	if (cap - off < plen + sa->icv_len) {
		*why = ESP_DROP_TOO_BIG;
		return -EMSGSIZE;
	}
	if (sa->seq == UINT32_MAX) {
		/* RFC 4303 3.3.3: the counter must not cycle; the SA has to be replaced. */
		*why = ESP_DROP_SEQ_OVERFLOW;
		return -EOVERFLOW;
	}
	start = off - hdr;
	p = buf + start;
	ipsec_put_be32(p, sa->spi);
	ipsec_put_be32(p + 4, sa->seq + 1);
	if (sa->iv_len > 0) {
		if (fixed_iv != NULL)
			memcpy(p + ESP_HDR_LEN, fixed_iv, sa->iv_len);
		else if (esp_next_iv(p + ESP_HDR_LEN, sa->iv_len) < 0) {
			*why = ESP_DROP_CRYPTO;
			return -EIO;
		}
	}
	p = buf + off + len;
	for (size_t i = 0; i < pad; i++)
		p[i] = (uint8_t)(i + 1);
	p[pad] = (uint8_t)pad;
	p[pad + 1] = ESP_NH_IPV4;
	if (sa->iv_len > 0 && esp_cbc(sa, buf + start + ESP_HDR_LEN, buf + off, plen) < 0) {
		*why = ESP_DROP_CRYPTO;
		return -EIO;
	}
	end = off + plen;
	if (sa->icv_len > 0) {
		if (esp_icv(sa, buf + start, end - start, icv) < 0) {
			*why = ESP_DROP_CRYPTO;
			return -EIO;
		}
		memcpy(buf + end, icv, sa->icv_len);
		end += sa->icv_len;
	}
	sa->seq++;
	*pkt_off = start;
	*pkt_len = end - start;
	return 0;
}

int
esp_encap(struct esp_sa *sa, uint8_t *buf, size_t cap, size_t off, size_t len, size_t *pkt_off,
          size_t *pkt_len, enum esp_drop *why)
{
	return encap(sa, NULL, buf, cap, off, len, pkt_off, pkt_len, why);
}

int
esp_encap_iv(struct esp_sa *sa, const uint8_t *iv, uint8_t *buf, size_t cap, size_t off, size_t len,
             size_t *pkt_off, size_t *pkt_len, enum esp_drop *why)
{
	return encap(sa, iv, buf, cap, off, len, pkt_off, pkt_len, why);
}

int
esp_peek_spi(const uint8_t *pkt, size_t len, uint32_t *spi)
{
	struct ipsec_cur c;

	ipsec_cur_init(&c, pkt, len);
	if (len < ESP_HDR_LEN)
		return -EBADMSG;
	return ipsec_cur_get_be32(&c, spi);
}

/* The validation step: splits pkt into header, IV, encrypted payload and ICV, checking every
 * length. Interprets nothing. */
struct esp_parts {
	uint32_t spi, seq;
	const uint8_t *iv;
	struct ipsec_cur payload; /* encrypted: inner packet, padding, pad length, next header */
	const uint8_t *icv;
	size_t authed_len; /* SPI to the end of the payload */
};

static int
esp_validate(const struct esp_sa *sa, const uint8_t *pkt, size_t len, struct esp_parts *parts,
             enum esp_drop *why)
{
	struct ipsec_cur c;
	size_t body;

	ipsec_cur_init(&c, pkt, len);
	if (len < ESP_HDR_LEN + sa->iv_len + sa->icv_len + sa->block) {
		log_debug(LOG_IPSEC, "SA %08x: ESP packet too short (got %zu, need %zu)", sa->spi,
		          len, ESP_HDR_LEN + sa->iv_len + sa->icv_len + sa->block);
		*why = ESP_DROP_TRUNCATED;
		return -EBADMSG;
	}
	body = len - ESP_HDR_LEN - sa->iv_len - sa->icv_len;
	if (body % sa->block != 0) {
		log_debug(LOG_IPSEC, "SA %08x: ESP payload %zu not a multiple of block size %zu",
		          sa->spi, body, sa->block);
		*why = ESP_DROP_BAD_LENGTH;
		return -EBADMSG;
	}
	if (ipsec_cur_get_be32(&c, &parts->spi) < 0 || ipsec_cur_get_be32(&c, &parts->seq) < 0 ||
	    ipsec_cur_get_ptr(&c, sa->iv_len, &parts->iv) < 0 ||
	    ipsec_cur_get_child(&c, body, &parts->payload) < 0 ||
	    ipsec_cur_get_ptr(&c, sa->icv_len, &parts->icv) < 0 || ipsec_cur_left(&c) != 0) {
		*why = ESP_DROP_TRUNCATED;
		return -EBADMSG;
	}
	parts->authed_len = len - sa->icv_len;
	return 0;
}

int
esp_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, size_t *inner_off, size_t *inner_len,
          enum esp_drop *why)
{
	struct esp_parts parts;
	struct ipsec_cur c, inner;
	uint8_t icv[EVP_MAX_MD_SIZE], padlen = 0, nh = 0;
	const uint8_t *pad;
	size_t plen, poff;
	uint8_t *payload;
	int ret;

	if (sa->outbound) {
		*why = ESP_DROP_NO_SA;
		return -EINVAL;
	}
	ret = esp_validate(sa, pkt, len, &parts, why);
	if (ret < 0)
		return ret;
	if (parts.spi != sa->spi) {
		*why = ESP_DROP_NO_SA;
		return -ENOENT;
	}
	/* Cheap reject of known duplicates before spending the MAC; the window itself only moves
	 * for packets whose ICV verified (RFC 4303 3.4.3). */
	if (sa->icv_len > 0 && esp_replay_check(sa->replay, parts.seq) < 0) {
		*why = ESP_DROP_REPLAY;
		return -EALREADY;
	}
	if (sa->icv_len > 0) {
		if (esp_icv(sa, pkt, parts.authed_len, icv) < 0) {
			*why = ESP_DROP_CRYPTO;
			return -EIO;
		}
		if (CRYPTO_memcmp(icv, parts.icv, sa->icv_len) != 0) {
			*why = ESP_DROP_AUTH;
			return -EBADMSG;
		}
		if (esp_replay_check(sa->replay, parts.seq) < 0) {
			*why = ESP_DROP_REPLAY;
			return -EALREADY;
		}
		esp_replay_update(sa->replay, parts.seq);
	}
	poff = (size_t)(ipsec_cur_pos(&parts.payload) - pkt);
	plen = ipsec_cur_left(&parts.payload);
	payload = pkt + poff;
	if (sa->iv_len > 0 && esp_cbc(sa, parts.iv, payload, plen) < 0) {
		*why = ESP_DROP_CRYPTO;
		return -EIO;
	}
	/* Trailer: inner packet, padding, pad length, next header; read through cursors over the
	 * decrypted payload (plen >= block >= 4 from validation). */
	ipsec_cur_init(&c, payload, plen);
	if (ipsec_cur_skip(&c, plen - 2) < 0 || ipsec_cur_get_u8(&c, &padlen) < 0 ||
	    ipsec_cur_get_u8(&c, &nh) < 0) {
		*why = ESP_DROP_TRUNCATED;
		return -EBADMSG;
	}
	ipsec_cur_init(&c, payload, plen - 2);
	if (padlen > plen - 2 || ipsec_cur_get_child(&c, plen - 2 - padlen, &inner) < 0 ||
	    ipsec_cur_get_ptr(&c, padlen, &pad) < 0) {
		log_debug(LOG_IPSEC, "SA %08x seq %u: pad length %u exceeds payload %zu", sa->spi,
		          parts.seq, padlen, plen);
		*why = ESP_DROP_PAD;
		return -EBADMSG;
	}
	for (size_t i = 0; i < padlen; i++) {
		if (pad[i] != (uint8_t)(i + 1)) {
			log_debug(LOG_IPSEC, "SA %08x seq %u: pad byte %zu is %u, expected %zu",
			          sa->spi, parts.seq, i, pad[i], i + 1);
			*why = ESP_DROP_PAD;
			return -EBADMSG;
		}
	}
	if (nh == ESP_NH_NONE) {
		*why = ESP_DROP_DUMMY;
		return -ENODATA;
	}
	if (nh != ESP_NH_IPV4) {
		log_debug(LOG_IPSEC, "SA %08x seq %u: next header %u, expected %u", sa->spi,
		          parts.seq, nh, ESP_NH_IPV4);
		*why = ESP_DROP_NEXT_HEADER;
		return -EPROTONOSUPPORT;
	}
	*inner_off = poff;
	*inner_len = ipsec_cur_left(&inner);
	return 0;
}

enum esp_udp_kind
esp_udp_classify(const uint8_t *pkt, size_t len)
{
	struct ipsec_cur c;
	uint32_t first = 0;

	if (len == 1 && pkt[0] == 0xff)
		return ESP_UDP_KEEPALIVE;
	ipsec_cur_init(&c, pkt, len);
	if (ipsec_cur_get_be32(&c, &first) < 0)
		return ESP_UDP_INVALID;
	if (first == 0)
		return ESP_UDP_IKE;
	if (len < ESP_HDR_LEN)
		return ESP_UDP_INVALID;
	return ESP_UDP_ESP;
}
