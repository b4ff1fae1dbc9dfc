#include "gateway/ike/ike_crypto.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;
/* Algorithms fetched once (an OpenSSL 3 fetch is a locked name lookup; a handshake hashes and
 * encrypts dozens of times): MD5, SHA1, SHA256 and DES, 3DES, AES-128/192/256 in CBC mode. */
static EVP_MD *md_cache[3];
static EVP_CIPHER *cipher_cache[5];
static const char *const cipher_names[5] = {"DES-CBC", "DES-EDE3-CBC", "AES-128-CBC", "AES-192-CBC",
                                            "AES-256-CBC"};
/* Kept for the life of the process (and reachable, so leak checkers see them as in use). */
static OSSL_PROVIDER *prov_legacy, *prov_default;

static void
crypto_init_once(void)
{
	/* Never unloaded: the providers live as long as the process. */
	prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
	if (prov_legacy == NULL) {
		log_error(LOG_IKE, "OSSL_PROVIDER_load legacy: DES unavailable");
		init_result = -ENOENT;
	}
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	if (prov_default == NULL) {
		log_error(LOG_IKE, "OSSL_PROVIDER_load default failed");
		init_result = -ENOENT;
		return;
	}
	md_cache[0] = EVP_MD_fetch(NULL, "MD5", NULL);
	md_cache[1] = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_cache[2] = EVP_MD_fetch(NULL, "SHA256", NULL);
	for (int i = 0; i < 3; i++)
		if (md_cache[i] == NULL) {
			log_error(LOG_IKE, "EVP_MD_fetch (MD5/SHA1/SHA256) failed");
			init_result = -ENOENT;
		}
	/* a missing cipher (no legacy provider: DES) fails only when it is used */
	for (int i = 0; i < 5; i++)
		cipher_cache[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
}

static const EVP_MD *
md_of(int hash)
{
	switch (hash) {
	case IKE_HASH_MD5:
		return md_cache[0];
	case IKE_HASH_SHA1:
		return md_cache[1];
	case IKE_HASH_SHA256:
		return md_cache[2];
	}
	return NULL;
}

int
ike_crypto_init(void)
{
	pthread_once(&init_once, crypto_init_once);
	return init_result;
}

static const char *
md_name(int hash)
{
	switch (hash) {
	case IKE_HASH_MD5:
		return "MD5";
	case IKE_HASH_SHA1:
		return "SHA1";
	case IKE_HASH_SHA256:
		return "SHA256";
	}
	return NULL;
}

const char *
ike_hash_name(int hash)
{
	const char *n = md_name(hash);

	return n != NULL ? n : "unknown";
}

const char *
ike_enc_name(int enc)
{
	switch (enc) {
	case IKE_ENC_DES:
		return "DES-CBC";
	case IKE_ENC_3DES:
		return "3DES-CBC";
	case IKE_ENC_AES:
		return "AES-CBC";
	}
	return "unknown";
}

size_t
ike_hash_len(int hash)
{
	switch (hash) {
	case IKE_HASH_MD5:
		return 16;
	case IKE_HASH_SHA1:
		return 20;
	case IKE_HASH_SHA256:
		return 32;
	}
	return 0;
}

size_t
ike_enc_keylen(int enc, unsigned keybits)
{
	switch (enc) {
	case IKE_ENC_DES:
		return 8;
	case IKE_ENC_3DES:
		return 24;
	case IKE_ENC_AES:
		if (keybits == 0)
			return 16;
		if (keybits == 128 || keybits == 192 || keybits == 256)
			return keybits / 8;
		return 0;
	}
	return 0;
}

size_t
ike_enc_blocklen(int enc)
{
	switch (enc) {
	case IKE_ENC_DES:
	case IKE_ENC_3DES:
		return 8;
	case IKE_ENC_AES:
		return 16;
	}
	return 0;
}

int
ike_hash(int hash, const struct ike_iov *iov, int n, uint8_t *out)
{
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	int r = -EIO;

	if (ike_crypto_init() < 0 || (md = md_of(hash)) == NULL)
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		log_error(LOG_IKE, "EVP_DigestInit_ex %s failed", md_name(hash));
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (EVP_DigestUpdate(ctx, iov[i].p, iov[i].len) != 1)
			goto out;
	if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* HMAC (RFC 2104) over the cached digest: H(K ^ opad | H(K ^ ipad | text)). */
int
ike_prf(int hash, const uint8_t *key, size_t klen, const struct ike_iov *iov, int n, uint8_t *out)
{
	uint8_t k[128], pad[128], inner[EVP_MAX_MD_SIZE];
	unsigned ilen = 0;
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	size_t bs;
	int r = -EIO;

	if (ike_crypto_init() < 0 || (md = md_of(hash)) == NULL)
		return -EINVAL;
	bs = (size_t)EVP_MD_get_block_size(md);
	if (bs == 0 || bs > sizeof(k))
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	memset(k, 0, sizeof(k));
	if (klen > bs) {
		unsigned kl = 0;

		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, key, klen) != 1 || EVP_DigestFinal_ex(ctx, k, &kl) != 1)
			goto out;
	} else if (klen > 0) {
		memcpy(k, key, klen);
	}
	for (size_t i = 0; i < bs; i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, pad, bs) != 1)
		goto out;
	for (int i = 0; i < n; i++)
		if (EVP_DigestUpdate(ctx, iov[i].p, iov[i].len) != 1)
			goto out;
	if (EVP_DigestFinal_ex(ctx, inner, &ilen) != 1)
		goto out;
	for (size_t i = 0; i < bs; i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, pad, bs) != 1 ||
	    EVP_DigestUpdate(ctx, inner, ilen) != 1 || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		goto out;
	r = 0;
out:
	if (r < 0)
		log_error(LOG_IKE, "HMAC-%s failed", md_name(hash));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	EVP_MD_CTX_free(ctx);
	return r;
}

int
ike_skeyid_derive(int hash, const uint8_t *skeyid, const uint8_t *gxy, size_t gxy_len,
                  const uint8_t ci[8], const uint8_t cr[8], uint8_t *d, uint8_t *a, uint8_t *e)
{
	size_t hl = ike_hash_len(hash);
	uint8_t c0 = 0, c1 = 1, c2 = 2;
	struct ike_iov v[5] = {
	        {gxy, gxy_len}, {ci, 8}, {cr, 8}, {&c0, 1}, {NULL, 0},
	};
	struct ike_iov w[5];
	int r;

	if (hl == 0)
		return -EINVAL;
	r = ike_prf(hash, skeyid, hl, v, 4, d);
	if (r < 0)
		return r;
	w[0] = (struct ike_iov){d, hl};
	w[1] = (struct ike_iov){gxy, gxy_len};
	w[2] = (struct ike_iov){ci, 8};
	w[3] = (struct ike_iov){cr, 8};
	w[4] = (struct ike_iov){&c1, 1};
	r = ike_prf(hash, skeyid, hl, w, 5, a);
	if (r < 0)
		return r;
	w[0] = (struct ike_iov){a, hl};
	w[4] = (struct ike_iov){&c2, 1};
	return ike_prf(hash, skeyid, hl, w, 5, e);
}

int
ike_enc_key(int hash, const uint8_t *skeyid_e, size_t keylen, uint8_t *key)
{
	size_t hl = ike_hash_len(hash);
	uint8_t k[IKE_MAX_KEY + IKE_MAX_HASH];
	uint8_t zero = 0;
	size_t have = 0;
	int r = 0;

	if (hl == 0 || keylen > IKE_MAX_KEY)
		return -EINVAL;
	if (keylen <= hl) {
		memcpy(key, skeyid_e, keylen);
		return 0;
	}
	/* Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1) */
	while (have < keylen && r == 0) {
		struct ike_iov v = have == 0 ? (struct ike_iov){&zero, 1}
		                             : (struct ike_iov){k + have - hl, hl};
		r = ike_prf(hash, skeyid_e, hl, &v, 1, k + have);
		have += hl;
	}
	if (r == 0)
		memcpy(key, k, keylen);
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}

int
ike_keymat(int hash, const uint8_t *skeyid_d, const uint8_t *gxy, size_t gxy_len, uint8_t proto,
           const uint8_t spi[4], const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
           uint8_t *out, size_t out_len)
{
	size_t hl = ike_hash_len(hash);
	uint8_t k[128 + IKE_MAX_HASH];
	size_t have = 0;
	int r = 0;

	if (hl == 0 || out_len > 128)
		return -EINVAL;
	/* KEYMAT = K1 | K2 ..., K1 = prf(SKEYID_d, [g^xy] | protocol | SPI | Ni_b | Nr_b),
	 * Kn = prf(SKEYID_d, Kn-1 | [g^xy] | protocol | SPI | Ni_b | Nr_b) */
	while (have < out_len && r == 0) {
		struct ike_iov v[6];
		int n = 0;

		if (have > 0)
			v[n++] = (struct ike_iov){k + have - hl, hl};
		if (gxy != NULL && gxy_len > 0)
			v[n++] = (struct ike_iov){gxy, gxy_len};
		v[n++] = (struct ike_iov){&proto, 1};
		v[n++] = (struct ike_iov){spi, 4};
		v[n++] = (struct ike_iov){ni, ni_len};
		v[n++] = (struct ike_iov){nr, nr_len};
		r = ike_prf(hash, skeyid_d, hl, v, n, k + have);
		have += hl;
	}
	if (r == 0)
		memcpy(out, k, out_len);
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}

static const char *
cipher_name(int enc, size_t keylen)
{
	switch (enc) {
	case IKE_ENC_DES:
		return "DES-CBC";
	case IKE_ENC_3DES:
		return "DES-EDE3-CBC";
	case IKE_ENC_AES:
		return keylen == 32 ? "AES-256-CBC" : keylen == 24 ? "AES-192-CBC" : "AES-128-CBC";
	}
	return NULL;
}

int
ike_cbc(int enc, const uint8_t *key, size_t keylen, uint8_t *iv, uint8_t *buf, size_t len,
        bool encrypt)
{
	const EVP_CIPHER *c = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t bl = ike_enc_blocklen(enc);
	uint8_t next_iv[IKE_MAX_BLOCK];
	int outl = 0, r = -EIO;

	if (ike_crypto_init() < 0 || bl == 0 || cipher_name(enc, keylen) == NULL)
		return -EINVAL;
	if (len == 0 || len % bl != 0)
		return -EINVAL;
	if (!encrypt)
		memcpy(next_iv, buf + len - bl, bl);
	for (int i = 0; i < 5; i++)
		if (strcmp(cipher_names[i], cipher_name(enc, keylen)) == 0)
			c = cipher_cache[i];
	ctx = EVP_CIPHER_CTX_new();
	if (c == NULL || ctx == NULL) {
		log_error(LOG_IKE, "EVP_CIPHER_fetch %s failed", cipher_name(enc, keylen));
		goto out;
	}
	if (EVP_CipherInit_ex2(ctx, c, key, iv, encrypt ? 1 : 0, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) != 1 || (size_t)outl != len) {
		log_error(LOG_IKE, "EVP_CipherUpdate %s failed", cipher_name(enc, keylen));
		goto out;
	}
	if (encrypt)
		memcpy(iv, buf + len - bl, bl);
	else
		memcpy(iv, next_iv, bl);
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* ---- Diffie-Hellman over BN (MODP groups of RFC 2409 and RFC 3526, generator 2) ----
 *
 * Private values are DH_PRIV_BITS long, not as long as the prime: an exponent of twice the
 * group's security strength is what NIST SP 800-56A and RFC 3526 section 8 ask for, and what
 * OpenSSL 3 itself uses for safe-prime named groups. Both modular exponentiations of a
 * handshake cost in proportion to the exponent's length, so this makes each about 4x cheaper for
 * group 2 (1024-bit prime, ~80-bit strength). The prime, its Montgomery context and p-1 are
 * computed once per group; a background thread keeps a few fresh key pairs per group in use
 * ready, so the engine's thread does only the shared-secret exponentiation. */

#define DH_NGROUPS 4
#define DH_POOL    32 /* ready key pairs per group */

struct ike_dh {
	int group;
	size_t len;
	const BIGNUM *p; /* the group's, shared */
	BIGNUM *priv;
	BIGNUM *pub;
};

struct dh_group {
	int id;
	size_t len;
	int priv_bits;
	BIGNUM *p, *pm1, *g;
	BN_MONT_CTX *mont;
	/* pre-computed key pairs, filled by the pool thread */
	struct ike_dh *ready[DH_POOL];
	int nready;
	bool wanted; /* ike_dh_new() was asked for this group: keep its pool full */
};

static struct dh_group dh_groups[DH_NGROUPS] = {
        {.id = 1, .len = 96, .priv_bits = 256},
        {.id = 2, .len = 128, .priv_bits = 256},
        {.id = 5, .len = 192, .priv_bits = 256},
        {.id = 14, .len = 256, .priv_bits = 320},
};
static pthread_once_t dh_once = PTHREAD_ONCE_INIT;
static int dh_init_result;
static pthread_mutex_t dh_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dh_cond = PTHREAD_COND_INITIALIZER;
static bool dh_thread_started, dh_stop;
static pthread_t dh_thread;

size_t
ike_dh_len(int group)
{
	for (int i = 0; i < DH_NGROUPS; i++)
		if (dh_groups[i].id == group)
			return dh_groups[i].len;
	return 0;
}

static BIGNUM *
group_prime(int group)
{
	switch (group) {
	case 1:
		return BN_get_rfc2409_prime_768(NULL);
	case 2:
		return BN_get_rfc2409_prime_1024(NULL);
	case 5:
		return BN_get_rfc3526_prime_1536(NULL);
	case 14:
		return BN_get_rfc3526_prime_2048(NULL);
	}
	return NULL;
}

static void
dh_init_once(void)
{
	BN_CTX *bctx;

	/* OpenSSL registers its exit-time cleanup on its first full initialisation (a call with
	 * no option it has not seen yet returns early): that must come before dh_pool_exit() is
	 * registered, so that it runs after it */
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) != 1) {
		dh_init_result = -ENOMEM;
		return;
	}
	bctx = BN_CTX_new();
	dh_init_result = bctx != NULL ? 0 : -ENOMEM;
	for (int i = 0; i < DH_NGROUPS && dh_init_result == 0; i++) {
		struct dh_group *g = &dh_groups[i];

		g->p = group_prime(g->id);
		g->pm1 = BN_new();
		g->g = BN_new();
		g->mont = BN_MONT_CTX_new();
		if (g->p == NULL || g->pm1 == NULL || g->g == NULL || g->mont == NULL ||
		    BN_copy(g->pm1, g->p) == NULL || BN_sub_word(g->pm1, 1) != 1 ||
		    BN_set_word(g->g, 2) != 1 || BN_MONT_CTX_set(g->mont, g->p, bctx) != 1) {
			log_error(LOG_IKE, "DH group %d: setting up the prime failed", g->id);
			dh_init_result = -ENOMEM;
		}
	}
	BN_CTX_free(bctx);
}

static struct dh_group *
dh_group_get(int group)
{
	pthread_once(&dh_once, dh_init_once);
	if (dh_init_result < 0)
		return NULL;
	for (int i = 0; i < DH_NGROUPS; i++)
		if (dh_groups[i].id == group)
			return &dh_groups[i];
	return NULL;
}

void
ike_dh_free(struct ike_dh *dh)
{
	if (dh == NULL)
		return;
	BN_clear_free(dh->priv);
	BN_free(dh->pub);
	OPENSSL_free(dh);
}

static int
dh_setup(struct dh_group *grp, const uint8_t *priv, size_t priv_len, struct ike_dh **out)
{
	struct ike_dh *dh;
	BN_CTX *bctx = NULL;
	int r = -EIO;

	dh = OPENSSL_zalloc(sizeof(*dh));
	if (dh == NULL)
		return -ENOMEM;
	dh->group = grp->id;
	dh->len = grp->len;
	dh->p = grp->p;
	dh->priv = BN_secure_new();
	dh->pub = BN_new();
	bctx = BN_CTX_new();
	if (dh->priv == NULL || dh->pub == NULL || bctx == NULL)
		goto out;
	if (priv != NULL) {
		if (BN_bin2bn(priv, (int)priv_len, dh->priv) == NULL)
			goto out;
	} else if (BN_priv_rand_ex(dh->priv, grp->priv_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY, 0,
	                           bctx) != 1) {
		log_error(LOG_IKE, "BN_priv_rand_ex failed");
		goto out;
	}
	if (BN_mod_exp_mont_consttime(dh->pub, grp->g, dh->priv, grp->p, bctx, grp->mont) != 1) {
		log_error(LOG_IKE, "BN_mod_exp (DH group %d public value) failed", grp->id);
		goto out;
	}
	*out = dh;
	dh = NULL;
	r = 0;
out:
	BN_CTX_free(bctx);
	ike_dh_free(dh);
	return r;
}

/* The pool thread: tops up the pool of every group in use, sleeps while they are full. */
static void *
dh_pool_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&dh_lock);
	for (;;) {
		struct dh_group *need = NULL;
		struct ike_dh *dh = NULL;

		for (int i = 0; i < DH_NGROUPS && need == NULL; i++)
			if (dh_groups[i].wanted && dh_groups[i].nready < DH_POOL)
				need = &dh_groups[i];
		if (dh_stop)
			break;
		if (need == NULL) {
			pthread_cond_wait(&dh_cond, &dh_lock);
			continue;
		}
		pthread_mutex_unlock(&dh_lock);
		if (dh_setup(need, NULL, 0, &dh) < 0) {
			/* an RNG failure: leave the work to ike_dh_new(), which reports it */
			pthread_mutex_lock(&dh_lock);
			need->wanted = false;
			continue;
		}
		pthread_mutex_lock(&dh_lock);
		if (need->nready < DH_POOL)
			need->ready[need->nready++] = dh;
		else
			ike_dh_free(dh);
	}
	pthread_mutex_unlock(&dh_lock);
	OPENSSL_thread_stop(); /* its DRBGs */
	return NULL;
}

/* At exit, before OpenSSL's own cleanup (registered earlier, so it runs later): the pool thread
 * must not be inside OpenSSL when that frees its state. */
static void
dh_pool_exit(void)
{
	pthread_mutex_lock(&dh_lock);
	dh_stop = true;
	pthread_cond_signal(&dh_cond);
	pthread_mutex_unlock(&dh_lock);
	pthread_join(dh_thread, NULL);
	for (int i = 0; i < DH_NGROUPS; i++) {
		struct dh_group *g = &dh_groups[i];

		while (g->nready > 0)
			ike_dh_free(g->ready[--g->nready]);
		BN_MONT_CTX_free(g->mont);
		BN_free(g->g);
		BN_free(g->pm1);
		BN_free(g->p);
		g->mont = NULL;
		g->g = g->pm1 = g->p = NULL;
	}
}

int
ike_dh_new(int group, struct ike_dh **out)
{
	struct dh_group *grp = dh_group_get(group);
	struct ike_dh *dh = NULL;

	if (grp == NULL)
		return ike_dh_len(group) == 0 ? -EINVAL : -ENOMEM;
	pthread_mutex_lock(&dh_lock);
	if (grp->nready > 0)
		dh = grp->ready[--grp->nready];
	if (!grp->wanted || grp->nready < DH_POOL / 2) {
		grp->wanted = true;
		if (!dh_thread_started && !dh_stop) {
			/* lives as long as the process; without it every key pair is made here, on
			 * the caller's thread */
			dh_thread_started =
			        pthread_create(&dh_thread, NULL, dh_pool_main, NULL) == 0;
			if (dh_thread_started && atexit(dh_pool_exit) != 0)
				log_warn(LOG_IKE,
				         "atexit: the DH pool thread is not stopped at exit");
		}
		pthread_cond_signal(&dh_cond);
	}
	pthread_mutex_unlock(&dh_lock);
	if (dh != NULL) {
		*out = dh;
		return 0;
	}
	return dh_setup(grp, NULL, 0, out);
}

int
ike_dh_new_with_priv(int group, const uint8_t *priv, size_t priv_len, struct ike_dh **out)
{
	struct dh_group *grp = dh_group_get(group);

	if (grp == NULL)
		return ike_dh_len(group) == 0 ? -EINVAL : -ENOMEM;
	return dh_setup(grp, priv, priv_len, out);
}

int
ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t len)
{
	if (len != dh->len || BN_bn2binpad(dh->pub, out, (int)len) < 0)
		return -EINVAL;
	return 0;
}

int
ike_dh_shared(const struct ike_dh *dh, const uint8_t *peer, size_t peer_len, uint8_t *out,
              size_t len)
{
	struct dh_group *grp = dh_group_get(dh->group);
	BIGNUM *y = NULL, *s = NULL;
	BN_CTX *bctx = NULL;
	int r = -EINVAL;

	if (grp == NULL || peer_len != dh->len || len != dh->len)
		return -EINVAL;
	y = BN_bin2bn(peer, (int)peer_len, NULL);
	s = BN_secure_new();
	bctx = BN_CTX_new();
	if (y == NULL || s == NULL || bctx == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* Reject 0, 1 and p-1 and anything >= p (small-subgroup and invalid values). */
	if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, grp->pm1) >= 0)
		goto out;
	if (BN_mod_exp_mont_consttime(s, y, dh->priv, grp->p, bctx, grp->mont) != 1 ||
	    BN_bn2binpad(s, out, (int)len) < 0) {
		r = -EIO;
		goto out;
	}
	r = 0;
out:
	BN_free(y);
	BN_clear_free(s);
	BN_CTX_free(bctx);
	return r;
}
