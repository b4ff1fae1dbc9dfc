/* PIX-MD5 (as documented by passlib's cisco_pix, checked against the seed's "passwd" and
 * "enable password" hashes of "cisco" and ""): the password, followed for user accounts by the
 * first four bytes of the user name (repeated when shorter), NUL-padded or truncated to 16 bytes,
 * is hashed with MD5; bytes 3, 7, 11 and 15 of the digest are dropped and the remaining twelve are
 * written as 16 characters of the crypt "./0-9A-Za-z" alphabet, three bytes (little endian) per
 * four characters, low bits first. */
#include "gateway/aaa/aaa_hash.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char h64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int
aaa_hash_pixmd5(const char *password, const char *user, char out[AAA_PIXMD5_LEN + 1])
{
	unsigned char buf[16] = {0}, md[EVP_MAX_MD_SIZE], keep[12];
	unsigned int mdlen = 0;
	size_t plen = strlen(password), ulen = user != NULL ? strlen(user) : 0;
	int rc = 0;

	out[0] = '\0';
	if (plen > AAA_PIXMD5_MAX_PASSWORD)
		return -EINVAL;
	memcpy(buf, password, plen);
	if (ulen > 0) {
		/* 4 bytes of user name go after the password; past 16 bytes they are cut off */
		for (size_t i = 0; i < 4 && plen + i < sizeof(buf); i++)
			buf[plen + i] = (unsigned char)user[i < ulen ? i : ulen - 1];
	}
	if (EVP_Digest(buf, sizeof(buf), md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16) {
		log_error(LOG_AAA, "EVP_Digest md5 failed");
		rc = -EIO;
		goto out;
	}
	for (int i = 0, k = 0; i < 16; i++)
		if (i % 4 != 3)
			keep[k++] = md[i];
	for (int g = 0; g < 4; g++) {
		uint32_t v = (uint32_t)keep[3 * g] | (uint32_t)keep[3 * g + 1] << 8 |
		             (uint32_t)keep[3 * g + 2] << 16;

		for (int c = 0; c < 4; c++) {
			out[4 * g + c] = h64[v & 0x3f];
			v >>= 6;
		}
	}
	out[AAA_PIXMD5_LEN] = '\0';
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_cleanse(keep, sizeof(keep));
	return rc;
}

static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes exactly n hex characters from s into out (at most cap bytes). */
static int
hex_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
	if (n % 2 != 0 || n / 2 > cap || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

static int
pbkdf2(const char *password, const unsigned char *salt, size_t saltlen, unsigned iter,
       unsigned char *out, size_t outlen)
{
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, (int)iter,
	                      EVP_sha256(), (int)outlen, out) != 1) {
		log_error(LOG_AAA, "PKCS5_PBKDF2_HMAC failed");
		return -EIO;
	}
	return 0;
}

int
aaa_hash_pbkdf2_new(const char *password, unsigned iterations, char *out, size_t outlen)
{
	unsigned char salt[AAA_PBKDF2_SALT_LEN], dk[AAA_PBKDF2_HASH_LEN];
	char salt_hex[2 * AAA_PBKDF2_SALT_LEN + 1], dk_hex[2 * AAA_PBKDF2_HASH_LEN + 1];
	int rc, n;

	if (iterations == 0)
		iterations = AAA_PBKDF2_DEFAULT_ITER;
	if (iterations < AAA_PBKDF2_MIN_ITER || iterations > AAA_PBKDF2_MAX_ITER)
		return -EINVAL;
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		log_error(LOG_AAA, "RAND_bytes failed");
		return -EIO;
	}
	rc = pbkdf2(password, salt, sizeof(salt), iterations, dk, sizeof(dk));
	if (rc < 0)
		goto out;
	hex_encode(salt, sizeof(salt), salt_hex);
	hex_encode(dk, sizeof(dk), dk_hex);
	n = snprintf(out, outlen, "pbkdf2-sha256$%u$%s$%s", iterations, salt_hex, dk_hex);
	if (n < 0 || (size_t)n >= outlen)
		rc = -ENOSPC;
out:
	OPENSSL_cleanse(dk, sizeof(dk));
	OPENSSL_cleanse(dk_hex, sizeof(dk_hex));
	return rc;
}

static int
verify_pbkdf2(const char *stored, const char *password)
{
	static const char prefix[] = "pbkdf2-sha256$";
	unsigned char salt[64], want[64], got[64];
	size_t saltlen, wantlen;
	const char *p, *d1, *d2;
	unsigned long iter = 0;
	int rc;

	if (strncmp(stored, prefix, sizeof(prefix) - 1) != 0)
		return -EINVAL;
	p = stored + sizeof(prefix) - 1;
	d1 = strchr(p, '$');
	if (d1 == NULL || d1 == p || d1 - p > 8)
		return -EINVAL;
	for (const char *q = p; q < d1; q++) {
		if (*q < '0' || *q > '9')
			return -EINVAL;
		iter = iter * 10 + (unsigned long)(*q - '0');
	}
	if (iter < 1 || iter > AAA_PBKDF2_MAX_ITER)
		return -EINVAL;
	d2 = strchr(d1 + 1, '$');
	if (d2 == NULL)
		return -EINVAL;
	if (hex_decode(d1 + 1, (size_t)(d2 - d1 - 1), salt, sizeof(salt), &saltlen) < 0 ||
	    hex_decode(d2 + 1, strlen(d2 + 1), want, sizeof(want), &wantlen) < 0)
		return -EINVAL;
	rc = pbkdf2(password, salt, saltlen, (unsigned)iter, got, wantlen);
	if (rc == 0)
		rc = CRYPTO_memcmp(got, want, wantlen) == 0 ? 0 : -EACCES;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
}

int
aaa_hash_verify(const char *kind, const char *stored, const char *user, const char *password)
{
	char got[AAA_PIXMD5_LEN + 1];
	int rc;

	if (kind == NULL || stored == NULL || password == NULL)
		return -EINVAL;
	if (strcmp(kind, "pbkdf2-sha256") == 0)
		return verify_pbkdf2(stored, password);
	if (strcmp(kind, "pix-md5") != 0)
		return -EINVAL;
	if (strlen(stored) != AAA_PIXMD5_LEN)
		return -EINVAL;
	rc = aaa_hash_pixmd5(password, user, got);
	if (rc == -EINVAL)
		return -EACCES; /* longer than the PIX accepts: cannot match */
	if (rc < 0)
		return rc;
	rc = CRYPTO_memcmp(got, stored, AAA_PIXMD5_LEN) == 0 ? 0 : -EACCES;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
}
