/* Admin and local-user password hashes: PBKDF2-HMAC-SHA256 (OpenSSL) for everything we write,
 * and the PIX 6.3 "encrypted" MD5 form that imported configurations carry (verify only). */
#ifndef PORTCULLIS_API_API_HASH_H
#define PORTCULLIS_API_API_HASH_H

#include <stdbool.h>
#include <stddef.h>

#define API_HASH_ITERATIONS 210000 /* PBKDF2-SHA256 rounds (OWASP 2023: >= 210,000... 600,000) */
#define API_HASH_MAX        160    /* "pbkdf2-sha256$ITER$SALT$HASH" fits in this */

/* Writes "pbkdf2-sha256$210000$<salt b64>$<hash b64>" into out. 0 or -errno. */
int api_hash_password(const char *password, char *out, size_t outlen);
/* kind: "pbkdf2-sha256" or "pix-md5". Returns 1 match, 0 no match, <0 malformed stored hash. */
int api_hash_verify(const char *kind, const char *stored, const char *password);
/* The same for `username NAME password HASH encrypted` entries: PIX-MD5 salts those with the
 * user name (user NULL: enable password / passwd). Returns 1 match, 0 no match, -EINVAL. */
int api_hash_verify_user(const char *kind, const char *stored, const char *user,
                         const char *password);
/* The 16-character PIX-MD5 form of password (passwords longer than 16 bytes are cut to 16, as
 * the PIX did). out must hold 17 bytes. */
void api_hash_pix_md5(const char *password, char out[17]);

#endif
