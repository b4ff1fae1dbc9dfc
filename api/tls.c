/* HTTPS: the admin's certificate and key (PEM files), or a self-signed ECDSA P-256 certificate
 * generated at first start with OpenSSL and kept beside the database (DB.crt, DB.key 0600). */
#include "api/api_int.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TLS_PEM_MAX (64 * 1024)

static int
read_pem(const char *path, char **out, struct pc_err *err)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	*out = NULL;
	if (f == NULL)
		return pc_err_set(err, PC_ERR_INVALID, "tls", "%s: %s", path, strerror(errno));
	buf = calloc(1, TLS_PEM_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, TLS_PEM_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > TLS_PEM_MAX || strstr(buf, "-----BEGIN ") == NULL) {
		free(buf);
		return pc_err_set(err, PC_ERR_INVALID, "tls",
		                  "%s: expected a PEM file of at most %d bytes", path, TLS_PEM_MAX);
	}
	*out = buf;
	return 0;
}

static int
write_file(const char *path, const char *data, mode_t mode, struct pc_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t len = strlen(data);

	if (fd < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "tls", "create %s: %s", path,
		                  strerror(errno));
	if (write(fd, data, len) != (ssize_t)len) {
		int e = errno;

		close(fd);
		unlink(path);
		return pc_err_set(err, PC_ERR_INTERNAL, "tls", "write %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

static char *
bio_string(BIO *b)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	out = malloc((size_t)n + 1);
	if (out != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	return out;
}

static int
generate(const char *crt, const char *key, struct pc_err *err)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	char *kpem = NULL, *cpem = NULL;
	int rc = -EIO;

	if (pk == NULL || x == NULL || kb == NULL || cb == NULL) {
		pc_err_set(err, PC_ERR_INTERNAL, "tls", "EVP_PKEY_Q_keygen/X509_new failed");
		goto out;
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"portcullis",
	                           -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
	                          "DNS:localhost,DNS:portcullis,IP:127.0.0.1");
	if (ext != NULL) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, pk, EVP_sha256()) == 0 ||
	    PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cb, x) != 1) {
		pc_err_set(err, PC_ERR_INTERNAL, "tls", "X509_sign/PEM_write failed");
		goto out;
	}
	kpem = bio_string(kb);
	cpem = bio_string(cb);
	if (kpem == NULL || cpem == NULL)
		goto out;
	rc = write_file(key, kpem, 0600, err);
	if (rc == 0)
		rc = write_file(crt, cpem, 0644, err);
	if (rc == 0)
		log_info(LOG_API, "generated a self-signed certificate %s (key %s)", crt, key);
out:
	if (kpem != NULL)
		OPENSSL_cleanse(kpem, strlen(kpem));
	free(kpem);
	free(cpem);
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

int
api_tls_load(struct api *api, struct pc_err *err)
{
	char crt[4200], key[4200];
	const char *c = api->cfg.tls_cert, *k = api->cfg.tls_key;
	int rc;

	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return pc_err_set(err, PC_ERR_INTERNAL, "tls",
		                  "this libmicrohttpd was built without TLS support");
	if (api->cfg.tls == API_TLS_AUTO) {
		snprintf(crt, sizeof(crt), "%s.crt", api->cfg.db_path);
		snprintf(key, sizeof(key), "%s.key", api->cfg.db_path);
		if (access(crt, R_OK) != 0 || access(key, R_OK) != 0) {
			rc = generate(crt, key, err);
			if (rc < 0)
				return rc;
		}
		c = crt;
		k = key;
	} else if (c == NULL || k == NULL) {
		return pc_err_set(err, PC_ERR_INVALID, "tls",
		                  "--tls-cert and --tls-key go together");
	}
	rc = read_pem(c, &api->tls_cert_pem, err);
	if (rc == 0)
		rc = read_pem(k, &api->tls_key_pem, err);
	return rc;
}
