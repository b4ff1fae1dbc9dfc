/* Password hashes: PBKDF2-HMAC-SHA256 for new hashes, PIX-MD5 for imported ones (verify only).
 *
 * PIX-MD5 (PIX 6.x `passwd`, `enable password`, `username ... encrypted`): MD5 over the password
 * NUL-padded (or cut) to 16 bytes; each 4-byte group of the digest drops its last byte and the
 * remaining 24 bits are written as four characters of the crypt(3) alphabet, low 6 bits first.
 * Known answers from the seed: "cisco" -> 2KFQnbNIdI.2KYOU, "" -> 8Ry2YjIyt7RRXU24. */
#include "api/api_hash.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define DK_LEN   32

static const char crypt64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void
api_hash_pix_md5(const char *password, char out[17])
{
	unsigned char pad[16] = {0}, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = strlen(password);
	int o = 0;

	memcpy(pad, password, n > 16 ? 16 : n);
	EVP_Digest(pad, sizeof(pad), md, &mdlen, EVP_md5(), NULL);
	for (int i = 0; i < 16; i += 4) {
		unsigned long v = (unsigned long)md[i] | (unsigned long)md[i + 1] << 8 |
		                  (unsigned long)md[i + 2] << 16;

		for (int j = 0; j < 4; j++) {
			out[o++] = crypt64[v & 0x3f];
			v >>= 6;
		}
	}
	out[16] = '\0';
	OPENSSL_cleanse(pad, sizeof(pad));
}

static int
pbkdf2(const char *password, const unsigned char *salt, size_t saltlen, int iter, unsigned char *dk,
       size_t dklen)
{
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, iter,
	                      EVP_sha256(), (int)dklen, dk) != 1)
		return -EIO;
	return 0;
}

int
api_hash_password(const char *password, char *out, size_t outlen)
{
	unsigned char salt[SALT_LEN], dk[DK_LEN];
	char salt64[64], dk64[64];
	int rc = -EIO;

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -EIO;
	if (pbkdf2(password, salt, sizeof(salt), API_HASH_ITERATIONS, dk, sizeof(dk)) < 0)
		goto out;
	EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)dk64, dk, sizeof(dk));
	if ((size_t)snprintf(out, outlen, "pbkdf2-sha256$%d$%s$%s", API_HASH_ITERATIONS, salt64,
	                     dk64) >= outlen) {
		rc = -ENOSPC;
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(dk, sizeof(dk));
	return rc;
}

/* Decodes standard base64 of a known decoded length. */
static int
b64_decode(const char *s, unsigned char *out, size_t want)
{
	unsigned char tmp[96];
	size_t len = strlen(s);
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(tmp))
		return -EINVAL;
	n = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	if (n < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts padding bytes as data */
	if (len >= 1 && s[len - 1] == '=')
		n--;
	if (len >= 2 && s[len - 2] == '=')
		n--;
	if ((size_t)n != want)
		return -EINVAL;
	memcpy(out, tmp, want);
	return 0;
}

static int
verify_pbkdf2(const char *stored, const char *password)
{
	char copy[256], *iter_s, *salt_s, *dk_s, *end;
	unsigned char salt[SALT_LEN], want[DK_LEN], got[DK_LEN];
	long iter;
	int rc;

	if (strlen(stored) >= sizeof(copy))
		return -EINVAL;
	snprintf(copy, sizeof(copy), "%s", stored);
	if (strncmp(copy, "pbkdf2-sha256$", 14) != 0)
		return -EINVAL;
	iter_s = copy + 14;
	salt_s = strchr(iter_s, '$');
	if (salt_s == NULL)
		return -EINVAL;
	*salt_s++ = '\0';
	dk_s = strchr(salt_s, '$');
	if (dk_s == NULL)
		return -EINVAL;
	*dk_s++ = '\0';
	iter = strtol(iter_s, &end, 10);
	if (*end != '\0' || iter < 1000 || iter > 10000000)
		return -EINVAL;
	if (b64_decode(salt_s, salt, sizeof(salt)) < 0 || b64_decode(dk_s, want, sizeof(want)) < 0)
		return -EINVAL;
	if (pbkdf2(password, salt, sizeof(salt), (int)iter, got, sizeof(got)) < 0)
		return -EIO;
	rc = CRYPTO_memcmp(got, want, sizeof(got)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
}

int
api_hash_verify(const char *kind, const char *stored, const char *password)
{
	if (kind == NULL || stored == NULL || password == NULL)
		return -EINVAL;
	if (strcmp(kind, "pbkdf2-sha256") == 0)
		return verify_pbkdf2(stored, password);
	if (strcmp(kind, "pix-md5") == 0) {
		char h[17];
		int rc;

		if (strlen(stored) != 16)
			return -EINVAL;
		api_hash_pix_md5(password, h);
		rc = CRYPTO_memcmp(h, stored, 16) == 0;
		OPENSSL_cleanse(h, sizeof(h));
		return rc;
	}
	return -EINVAL;
}
