/* HTTPS: with API_TLS_AUTO the API generates a self-signed certificate beside the database at
 * first start (key file mode 0600), serves TLS with it (OpenSSL client), sends HSTS, marks the
 * session cookie Secure, and reuses the same certificate at the next start. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include "api_harness.h"

static struct harness h;

/* One HTTPS request with OpenSSL; returns the whole response text (headers and body). */
static char *
tls_request(const char *req)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h.port)};
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	char *buf = calloc(1, 65536);
	size_t n = 0;
	int fd;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	if (SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		fail_msg("TLS handshake failed");
	}
	assert_int_equal(SSL_write(ssl, req, (int)strlen(req)), (int)strlen(req));
	for (;;) {
		int got = SSL_read(ssl, buf + n, (int)(65535 - n));

		if (got <= 0)
			break;
		n += (size_t)got;
	}
	{
		X509 *peer = SSL_get1_peer_certificate(ssl);
		char cn[64] = "";

		assert_non_null(peer);
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
		                          sizeof(cn));
		assert_string_equal(cn, "portcullis");
		X509_free(peer);
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return buf;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	assert_true(fread(buf, 1, 65535, f) > 0);
	fclose(f);
	return buf;
}

static void
test_auto_certificate(void **state)
{
	char path[96], *resp, *cert1, *cert2, req[256];
	struct stat st;
	struct pc_err err = {0};
	struct api_config cfg = {0};

	H_tls = API_TLS_AUTO;
	assert_int_equal(h_start(&h), 0);
	snprintf(path, sizeof(path), "%s.key", h.dbpath);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s.crt", h.dbpath);
	cert1 = slurp(path);
	assert_non_null(strstr(cert1, "-----BEGIN CERTIFICATE-----"));

	resp = tls_request("GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: "
	                   "close\r\n\r\n");
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "Strict-Transport-Security: max-age="));
	assert_non_null(strstr(resp, "\"status\":\"ok\""));
	free(resp);
	snprintf(req, sizeof(req),
	         "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
	         "Content-Length: %zu\r\n\r\n%s",
	         strlen("{\"username\":\"alice\",\"password\":\"correct horse\"}"),
	         "{\"username\":\"alice\",\"password\":\"correct horse\"}");
	resp = tls_request(req);
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(strstr(resp, "; Secure"));
	assert_non_null(strstr(resp, "HttpOnly"));
	free(resp);

	/* restart on the same database: the certificate is reused, not regenerated */
	api_stop(h.api);
	h.api = NULL;
	{
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t sl = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(fd, 8), 0);
		getsockname(fd, (struct sockaddr *)&sa, &sl);
		h.port = ntohs(sa.sin_port);
		cfg.listen_fd = fd;
	}
	cfg.db_path = h.dbpath;
	cfg.engine = &h.eng;
	cfg.tls = API_TLS_AUTO;
	assert_int_equal(api_start(&cfg, &h.api, &err), 0);
	cert2 = slurp(path);
	assert_string_equal(cert1, cert2);
	resp = tls_request("GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: "
	                   "close\r\n\r\n");
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	free(resp);
	free(cert1);
	free(cert2);
	h_stop(&h);
}

static void
test_missing_files_refused(void **state)
{
	struct api_config cfg = {.listen_fd = -1,
	                         .db_path = "/tmp/none.db",
	                         .tls = API_TLS_FILES,
	                         .tls_cert = "/nonexistent/cert.pem",
	                         .tls_key = "/nonexistent/key.pem"};
	struct pc_err err = {0};
	struct api *api = NULL;

	assert_true(api_start(&cfg, &api, &err) < 0);
	assert_null(api);
	assert_non_null(strstr(err.msg, "/nonexistent/cert.pem"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_auto_certificate),
	        cmocka_unit_test(test_missing_files_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
