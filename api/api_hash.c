/* Password hashes for admin logins: PBKDF2-HMAC-SHA256 for new hashes, PIX-MD5 for imported ones
 * (verify only). One implementation serves the whole gateway: gateway/aaa/aaa_hash.c (LOCAL Xauth
 * and cut-through users are verified there too), so a hash written here is one the AAA layer
 * accepts, and the other way round. */
#include "api/api_hash.h"
#include "gateway/aaa/aaa_hash.h"

#include <errno.h>
#include <string.h>

void
api_hash_pix_md5(const char *password, char out[17])
{
	if (aaa_hash_pixmd5(password, NULL, out) < 0)
		out[0] = '\0'; /* longer than 16 characters: no PIX hash exists */
}

int
api_hash_password(const char *password, char *out, size_t outlen)
{
	return aaa_hash_pbkdf2_new(password, API_HASH_ITERATIONS, out, outlen);
}

int
api_hash_verify_user(const char *kind, const char *stored, const char *user, const char *password)
{
	int rc = aaa_hash_verify(kind, stored, user, password);

	if (rc == 0)
		return 1;
	if (rc == -EACCES)
		return 0;
	return rc;
}

int
api_hash_verify(const char *kind, const char *stored, const char *password)
{
	return api_hash_verify_user(kind, stored, NULL, password);
}
