/* Password hashes for LOCAL users and admin logins: Cisco PIX-MD5 ("passwd ... encrypted",
 * "username ... password ... encrypted") and pbkdf2-sha256$ITER$SALT_HEX$HASH_HEX. */
#ifndef PORTCULLIS_AAA_AAA_HASH_H
#define PORTCULLIS_AAA_AAA_HASH_H

#include <stddef.h>

#define AAA_PIXMD5_LEN          16 /* characters, without the NUL */
#define AAA_PIXMD5_MAX_PASSWORD 16 /* longer passwords are refused, as on the PIX */
#define AAA_PBKDF2_DEFAULT_ITER 100000u
#define AAA_PBKDF2_MIN_ITER     1000u
#define AAA_PBKDF2_MAX_ITER     10000000u
#define AAA_PBKDF2_SALT_LEN     16
#define AAA_PBKDF2_HASH_LEN     32
/* "pbkdf2-sha256$" + 8 digits + "$" + 32 hex + "$" + 64 hex + NUL */
#define AAA_PBKDF2_STR_MAX 128

/* PIX-MD5 of password; user is NULL or "" for the enable password and "passwd", the account name
 * for "username" entries (its first four bytes salt the hash). out gets 16 characters and a NUL.
 * Returns -EINVAL for a password longer than 16 bytes. */
int aaa_hash_pixmd5(const char *password, const char *user, char out[AAA_PIXMD5_LEN + 1]);

/* New pbkdf2-sha256 string with a random salt; iterations 0 means the default. */
int aaa_hash_pbkdf2_new(const char *password, unsigned iterations, char *out, size_t outlen);

/* Checks password against a stored hash of kind "pix-md5" or "pbkdf2-sha256" (the local_user and
 * admin_user hash_kind values). Returns 0 on a match, -EACCES on a mismatch, -EINVAL for an
 * unknown kind or a malformed stored hash. Compares in constant time. */
int aaa_hash_verify(const char *kind, const char *stored, const char *user, const char *password);

#endif
