/* Known-answer tests for the IKEv1 crypto (gateway/ike/ike_crypto.c and the phase 1 / phase 2
 * helpers in ike_aggr.c and ike_msg.c). Every expected value comes from tests/data/ike_kat.py,
 * which writes RFC 2409's formulas out with Python's hashlib/hmac and runs DES/3DES/AES-CBC
 * through the openssl command line; none is computed by the code under test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "gateway/core/log.h"
#include "gateway/ike/ike_crypto.h"
#include "gateway/ike/ike_int.h"
#include "unit/ike_kat.h"

struct hvec {
	int hash;
	const uint8_t *skeyid, *d, *a, *e, *hash_i, *hash_r, *key32, *iv1, *iv1_aes, *iv2, *keymat,
	        *keymat_pfs, *h1, *h2, *h3;
};

static const struct hvec vecs[] = {
        {IKE_HASH_MD5, kat_md5_skeyid, kat_md5_skeyid_d, kat_md5_skeyid_a, kat_md5_skeyid_e,
         kat_md5_hash_i, kat_md5_hash_r, kat_md5_enckey32, kat_md5_iv1, kat_md5_iv1_aes,
         kat_md5_iv2, kat_md5_keymat, kat_md5_keymat_pfs, kat_md5_qm_hash1, kat_md5_qm_hash2,
         kat_md5_qm_hash3},
        {IKE_HASH_SHA1, kat_sha1_skeyid, kat_sha1_skeyid_d, kat_sha1_skeyid_a, kat_sha1_skeyid_e,
         kat_sha1_hash_i, kat_sha1_hash_r, kat_sha1_enckey32, kat_sha1_iv1, kat_sha1_iv1_aes,
         kat_sha1_iv2, kat_sha1_keymat, kat_sha1_keymat_pfs, kat_sha1_qm_hash1, kat_sha1_qm_hash2,
         kat_sha1_qm_hash3},
};

static void
test_dh_group2(void **state)
{
	struct ike_dh *i = NULL, *r = NULL, *rnd = NULL;
	uint8_t pub[128], s1[128], s2[128], bad[128];

	assert_int_equal(ike_dh_len(2), 128);
	assert_int_equal(ike_dh_len(1), 96);
	assert_int_equal(ike_dh_len(5), 192);
	assert_int_equal(ike_dh_len(14), 256);
	assert_int_equal(ike_dh_len(3), 0);
	assert_int_equal(ike_dh_new_with_priv(2, kat_xi, sizeof(kat_xi), &i), 0);
	assert_int_equal(ike_dh_new_with_priv(2, kat_xr, sizeof(kat_xr), &r), 0);
	assert_int_equal(ike_dh_public(i, pub, sizeof(pub)), 0);
	assert_memory_equal(pub, kat_gxi, 128);
	assert_int_equal(ike_dh_public(r, pub, sizeof(pub)), 0);
	assert_memory_equal(pub, kat_gxr, 128);
	assert_int_equal(ike_dh_shared(i, kat_gxr, 128, s1, 128), 0);
	assert_int_equal(ike_dh_shared(r, kat_gxi, 128, s2, 128), 0);
	assert_memory_equal(s1, kat_gxy, 128);
	assert_memory_equal(s2, kat_gxy, 128);
	/* degenerate peer values are refused */
	memset(bad, 0, sizeof(bad));
	assert_int_not_equal(ike_dh_shared(i, bad, 128, s1, 128), 0);
	bad[127] = 1;
	assert_int_not_equal(ike_dh_shared(i, bad, 128, s1, 128), 0);
	memset(bad, 0xff, sizeof(bad));
	assert_int_not_equal(ike_dh_shared(i, bad, 128, s1, 128), 0);
	assert_int_not_equal(ike_dh_shared(i, kat_gxr, 96, s1, 128), 0);
	/* random keys agree with each other */
	assert_int_equal(ike_dh_new(14, &rnd), 0);
	ike_dh_free(rnd);
	ike_dh_free(i);
	ike_dh_free(r);
	ike_dh_free(NULL);
	/* random pairs, more than the pool holds (pool and inline paths): both ends agree, and
	 * no two public values repeat */
	for (int group = 2; group <= 14; group += 12) {
		uint8_t pa[256], pb[256], sa[256], sb[256], prev[256] = {0};
		size_t len = ike_dh_len(group);

		for (int k = 0; k < 80; k++) {
			struct ike_dh *a = NULL, *b = NULL;

			assert_int_equal(ike_dh_new(group, &a), 0);
			assert_int_equal(ike_dh_new(group, &b), 0);
			assert_int_equal(ike_dh_public(a, pa, len), 0);
			assert_int_equal(ike_dh_public(b, pb, len), 0);
			assert_memory_not_equal(pa, pb, len);
			assert_memory_not_equal(pa, prev, len);
			memcpy(prev, pb, len);
			assert_int_equal(ike_dh_shared(a, pb, len, sa, len), 0);
			assert_int_equal(ike_dh_shared(b, pa, len, sb, len), 0);
			assert_memory_equal(sa, sb, len);
			ike_dh_free(a);
			ike_dh_free(b);
		}
	}
}

static struct ike_sa *
kat_sa(int hash, int enc, unsigned keybits)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));

	assert_non_null(sa);
	sa->p1 = calloc(1, sizeof(*sa->p1));
	assert_non_null(sa->p1);
	sa->hash = hash;
	sa->hlen = ike_hash_len(hash);
	sa->enc = enc;
	sa->keybits = keybits;
	sa->keylen = ike_enc_keylen(enc, keybits);
	sa->blk = ike_enc_blocklen(enc);
	memcpy(sa->ci, kat_ci, 8);
	memcpy(sa->cr, kat_cr, 8);
	sa->p1->gx_len = 128;
	memcpy(sa->p1->gxi, kat_gxi, 128);
	memcpy(sa->p1->gxr, kat_gxr, 128);
	memcpy(sa->p1->gxy, kat_gxy, 128);
	memcpy(sa->p1->ni, kat_ni, sizeof(kat_ni));
	sa->p1->ni_len = sizeof(kat_ni);
	memcpy(sa->p1->nr, kat_nr, sizeof(kat_nr));
	sa->p1->nr_len = sizeof(kat_nr);
	strcpy(sa->p1->psk, "vpnsecret");
	sa->p1->sai_b = malloc(sizeof(kat_sai));
	assert_non_null(sa->p1->sai_b);
	memcpy(sa->p1->sai_b, kat_sai, sizeof(kat_sai));
	sa->p1->sai_len = sizeof(kat_sai);
	return sa;
}

/* Frees what kat_sa() and the code under test allocated (phase 1 and exchange blocks). */
static void
kat_sa_free(struct ike_sa *sa)
{
	ike_sa_free_blocks(sa);
	assert_null(sa->p1);
	assert_null(sa->xchg);
	free(sa);
}

/* RFC 2202 test cases 2 and 6 (a key longer than the block is hashed first) and RFC 4231 test
 * case 2, through the prf the IKE code uses. */
static void
test_hmac_vectors(void **state)
{
	static const uint8_t md5_2[] = {0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03,
	                                0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d, 0xb7, 0x38};
	static const uint8_t md5_6[] = {0x6b, 0x1a, 0xb7, 0xfe, 0x4b, 0xd7, 0xbf, 0x8f,
	                                0x0b, 0x62, 0xe6, 0xce, 0x61, 0xb9, 0xd0, 0xcd};
	static const uint8_t sha1_6[] = {0xaa, 0x4a, 0xe5, 0xe1, 0x52, 0x72, 0xd0,
	                                 0x0e, 0x95, 0x70, 0x56, 0x37, 0xce, 0x8a,
	                                 0x3b, 0x55, 0xed, 0x40, 0x21, 0x12};
	static const uint8_t sha256_2[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
	                                   0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
	                                   0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
	                                   0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
	const char *jefe = "Jefe", *what = "what do ya want for nothing?";
	const char *big = "Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key80[80], out[32];
	struct ike_iov v[2] = {{(const uint8_t *)what, 10}, {(const uint8_t *)what + 10, 18}};
	struct ike_iov w = {(const uint8_t *)big, strlen(big)};

	(void)state;
	memset(key80, 0xaa, sizeof(key80));
	assert_int_equal(ike_prf(IKE_HASH_MD5, (const uint8_t *)jefe, 4, v, 2, out), 0);
	assert_memory_equal(out, md5_2, 16);
	assert_int_equal(ike_prf(IKE_HASH_SHA256, (const uint8_t *)jefe, 4, v, 2, out), 0);
	assert_memory_equal(out, sha256_2, 32);
	assert_int_equal(ike_prf(IKE_HASH_MD5, key80, 80, &w, 1, out), 0);
	assert_memory_equal(out, md5_6, 16);
	assert_int_equal(ike_prf(IKE_HASH_SHA1, key80, 80, &w, 1, out), 0);
	assert_memory_equal(out, sha1_6, 20);
	assert_int_equal(ike_prf(99, key80, 16, &w, 1, out), -EINVAL);
}

static void
test_phase1_derivation(void **state)
{
	for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
		const struct hvec *k = &vecs[v];
		size_t hl = ike_hash_len(k->hash);
		struct ike_sa *sa = kat_sa(k->hash, IKE_ENC_DES, 0);
		uint8_t out[IKE_MAX_HASH];

		assert_int_equal(ike_aggr_derive_keys(sa), 0);
		assert_memory_equal(sa->p1->skeyid, k->skeyid, hl);
		assert_memory_equal(sa->skeyid_d, k->d, hl);
		assert_memory_equal(sa->skeyid_a, k->a, hl);
		assert_memory_equal(sa->p1->skeyid_e, k->e, hl);
		/* DES key: the first 8 bytes of SKEYID_e; phase 1 IV = H(g^xi | g^xr) */
		assert_memory_equal(sa->key, k->e, 8);
		assert_memory_equal(sa->iv, k->iv1, 8);
		assert_int_equal(ike_aggr_auth_hash(sa, true, kat_idii, sizeof(kat_idii), out), 0);
		assert_memory_equal(out, k->hash_i, hl);
		assert_int_equal(ike_aggr_auth_hash(sa, false, kat_idir, sizeof(kat_idir), out), 0);
		assert_memory_equal(out, k->hash_r, hl);
		kat_sa_free(sa);
	}
}

static void
test_key_extension(void **state)
{
	for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
		const struct hvec *k = &vecs[v];
		struct ike_sa *sa;
		uint8_t key[32];

		/* 3DES (24 bytes) and AES-256 (32 bytes) exceed MD5's and SHA-1's output */
		assert_int_equal(ike_enc_key(k->hash, k->e, 24, key), 0);
		assert_memory_equal(key, k->key32, 24);
		assert_int_equal(ike_enc_key(k->hash, k->e, 32, key), 0);
		assert_memory_equal(key, k->key32, 32);
		/* through the phase 1 path with AES-256: key extended, 16-byte IV */
		sa = kat_sa(k->hash, IKE_ENC_AES, 256);
		assert_int_equal(ike_aggr_derive_keys(sa), 0);
		assert_memory_equal(sa->key, k->key32, 32);
		assert_memory_equal(sa->iv, k->iv1_aes, 16);
		kat_sa_free(sa);
	}
}

static void
test_phase2_iv_and_hashes(void **state)
{
	for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
		const struct hvec *k = &vecs[v];
		size_t hl = ike_hash_len(k->hash);
		struct ike_sa *sa = kat_sa(k->hash, IKE_ENC_DES, 0);
		uint32_t mid = (uint32_t)kat_mid[0] << 24 | (uint32_t)kat_mid[1] << 16 |
		               (uint32_t)kat_mid[2] << 8 | kat_mid[3];
		uint8_t rest[24], out[IKE_MAX_HASH];
		struct ike_xchg *x;

		for (int i = 0; i < 24; i++)
			rest[i] = (uint8_t)(0x40 + i);
		/* last phase 1 CBC block = c0..c7 */
		for (int i = 0; i < 8; i++)
			sa->iv[i] = (uint8_t)(0xc0 + i);
		memcpy(sa->skeyid_a, k->a, hl);
		x = ike_xchg_get(sa, mid, IKE_EX_TRANSACTION, true);
		assert_non_null(x);
		assert_memory_equal(x->iv, k->iv2, 8);
		/* the phase 1 chain is not disturbed */
		assert_int_equal(sa->iv[0], 0xc0);
		assert_int_equal(ike_msg_hash(sa, mid, NULL, 0, rest, sizeof(rest), out), 0);
		assert_memory_equal(out, k->h1, hl);
		assert_int_equal(
		        ike_msg_hash(sa, mid, kat_ni, sizeof(kat_ni), rest, sizeof(rest), out), 0);
		assert_memory_equal(out, k->h2, hl);
		{
			uint8_t zero = 0;
			struct ike_iov iov[4] = {{&zero, 1},
			                         {kat_mid, 4},
			                         {kat_ni, sizeof(kat_ni)},
			                         {kat_nr, sizeof(kat_nr)}};

			assert_int_equal(ike_prf(k->hash, k->a, hl, iov, 4, out), 0);
			assert_memory_equal(out, k->h3, hl);
		}
		kat_sa_free(sa);
	}
}

static void
test_keymat(void **state)
{
	static const uint8_t spi[4] = {0xfe, 0x03, 0xe5, 0xf0};

	for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
		const struct hvec *k = &vecs[v];
		uint8_t km[36];

		/* DES (8) + HMAC-MD5 (16) = 24; 3DES + HMAC-SHA1 = 44 > 36 tested up to 36 */
		assert_int_equal(ike_keymat(k->hash, k->d, NULL, 0, 3, spi, kat_ni, sizeof(kat_ni),
		                            kat_nr, sizeof(kat_nr), km, 24),
		                 0);
		assert_memory_equal(km, k->keymat, 24);
		assert_int_equal(ike_keymat(k->hash, k->d, NULL, 0, 3, spi, kat_ni, sizeof(kat_ni),
		                            kat_nr, sizeof(kat_nr), km, 36),
		                 0);
		assert_memory_equal(km, k->keymat, 36);
		/* with PFS: g^xy(qm) before the protocol byte */
		assert_int_equal(ike_keymat(k->hash, k->d, kat_gxy, sizeof(kat_gxy), 3, spi, kat_ni,
		                            sizeof(kat_ni), kat_nr, sizeof(kat_nr), km, 36),
		                 0);
		assert_memory_equal(km, k->keymat_pfs, 36);
	}
}

static void
cbc_case(int enc, const uint8_t *key, size_t keylen, const uint8_t *iv, const uint8_t *ct)
{
	size_t bl = ike_enc_blocklen(enc);
	uint8_t buf[32], ivb[16];

	memcpy(buf, kat_plain, 32);
	memcpy(ivb, iv, bl);
	assert_int_equal(ike_cbc(enc, key, keylen, ivb, buf, 32, true), 0);
	assert_memory_equal(buf, ct, 32);
	/* the IV chains on: it is now the last ciphertext block */
	assert_memory_equal(ivb, ct + 32 - bl, bl);
	memcpy(ivb, iv, bl);
	assert_int_equal(ike_cbc(enc, key, keylen, ivb, buf, 32, false), 0);
	assert_memory_equal(buf, kat_plain, 32);
	assert_memory_equal(ivb, ct + 32 - bl, bl);
	/* not a multiple of the block size */
	assert_int_not_equal(ike_cbc(enc, key, keylen, ivb, buf, 31, true), 0);
}

static void
test_cbc(void **state)
{
	cbc_case(IKE_ENC_DES, kat_des_key, 8, kat_des_iv, kat_des_ct);
	cbc_case(IKE_ENC_3DES, kat_3des_key, 24, kat_3des_iv, kat_3des_ct);
	cbc_case(IKE_ENC_AES, kat_aes128_key, 16, kat_aes128_iv, kat_aes128_ct);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dh_group2),     cmocka_unit_test(test_phase1_derivation),
	        cmocka_unit_test(test_key_extension), cmocka_unit_test(test_phase2_iv_and_hashes),
	        cmocka_unit_test(test_keymat),        cmocka_unit_test(test_cbc),
	        cmocka_unit_test(test_hmac_vectors),
	};

	log_set_all_levels(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
