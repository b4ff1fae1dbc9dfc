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
	}
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
	EVP_MD *md = NULL;
	int r = -EIO;

	if (ike_crypto_init() < 0 || md_name(hash) == NULL)
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	md = EVP_MD_fetch(NULL, md_name(hash), NULL);
	if (md == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
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
	EVP_MD_free(md);
	EVP_MD_CTX_free(ctx);
	return r;
}

int
ike_prf(int hash, const uint8_t *key, size_t klen, const struct ike_iov *iov, int n, uint8_t *out)
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int r = -EIO;

	if (ike_crypto_init() < 0 || md_name(hash) == NULL)
		return -EINVAL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto out;
	params[0] =
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md_name(hash), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key, klen, params) != 1) {
		log_error(LOG_IKE, "EVP_MAC_init HMAC-%s failed", md_name(hash));
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (EVP_MAC_update(ctx, iov[i].p, iov[i].len) != 1)
			goto out;
	if (EVP_MAC_final(ctx, out, &outl, IKE_MAX_HASH) != 1)
		goto out;
	r = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
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
	EVP_CIPHER *c = NULL;
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
	c = EVP_CIPHER_fetch(NULL, cipher_name(enc, keylen), NULL);
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
	EVP_CIPHER_free(c);
	return r;
}

/* ---- Diffie-Hellman over BN (MODP groups of RFC 2409 and RFC 3526, generator 2) ---- */

struct ike_dh {
	int group;
	size_t len;
	BIGNUM *p;
	BIGNUM *priv;
	BIGNUM *pub;
};

size_t
ike_dh_len(int group)
{
	switch (group) {
	case 1:
		return 96;
	case 2:
		return 128;
	case 5:
		return 192;
	case 14:
		return 256;
	}
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

void
ike_dh_free(struct ike_dh *dh)
{
	if (dh == NULL)
		return;
	BN_free(dh->p);
	BN_clear_free(dh->priv);
	BN_free(dh->pub);
	OPENSSL_free(dh);
}

static int
dh_setup(int group, const uint8_t *priv, size_t priv_len, struct ike_dh **out)
{
	struct ike_dh *dh;
	BN_CTX *bctx = NULL;
	BIGNUM *g = NULL;
	int r = -EIO;

	if (ike_dh_len(group) == 0)
		return -EINVAL;
	dh = OPENSSL_zalloc(sizeof(*dh));
	if (dh == NULL)
		return -ENOMEM;
	dh->group = group;
	dh->len = ike_dh_len(group);
	dh->p = group_prime(group);
	dh->priv = BN_new();
	dh->pub = BN_new();
	g = BN_new();
	bctx = BN_CTX_new();
	if (dh->p == NULL || dh->priv == NULL || dh->pub == NULL || g == NULL || bctx == NULL ||
	    BN_set_word(g, 2) != 1)
		goto out;
	if (priv != NULL) {
		if (BN_bin2bn(priv, (int)priv_len, dh->priv) == NULL)
			goto out;
	} else if (BN_priv_rand_ex(dh->priv, (int)(dh->len * 8 - 1), BN_RAND_TOP_ONE,
	                           BN_RAND_BOTTOM_ANY, 0, bctx) != 1) {
		log_error(LOG_IKE, "BN_priv_rand_ex failed");
		goto out;
	}
	if (BN_mod_exp_mont_consttime(dh->pub, g, dh->priv, dh->p, bctx, NULL) != 1) {
		log_error(LOG_IKE, "BN_mod_exp (DH group %d public value) failed", group);
		goto out;
	}
	*out = dh;
	dh = NULL;
	r = 0;
out:
	BN_free(g);
	BN_CTX_free(bctx);
	ike_dh_free(dh);
	return r;
}

int
ike_dh_new(int group, struct ike_dh **out)
{
	return dh_setup(group, NULL, 0, out);
}

int
ike_dh_new_with_priv(int group, const uint8_t *priv, size_t priv_len, struct ike_dh **out)
{
	return dh_setup(group, priv, priv_len, out);
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
	BIGNUM *y = NULL, *s = NULL, *pm1 = NULL;
	BN_CTX *bctx = NULL;
	int r = -EINVAL;

	if (peer_len != dh->len || len != dh->len)
		return -EINVAL;
	y = BN_bin2bn(peer, (int)peer_len, NULL);
	s = BN_new();
	pm1 = BN_dup(dh->p);
	bctx = BN_CTX_new();
	if (y == NULL || s == NULL || pm1 == NULL || bctx == NULL || BN_sub_word(pm1, 1) != 1) {
		r = -ENOMEM;
		goto out;
	}
	/* Reject 0, 1 and p-1 and anything >= p (small-subgroup and invalid values). */
	if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0)
		goto out;
	if (BN_mod_exp_mont_consttime(s, y, dh->priv, dh->p, bctx, NULL) != 1 ||
	    BN_bn2binpad(s, out, (int)len) < 0) {
		r = -EIO;
		goto out;
	}
	r = 0;
out:
	BN_free(y);
	BN_clear_free(s);
	BN_free(pm1);
	BN_CTX_free(bctx);
	return r;
}
