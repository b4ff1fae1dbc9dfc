/* Test harness for the REST API unit tests: a temporary database, an engine loop on its own
 * thread with an apply_config that can be told to fail, the real API server on 127.0.0.1:<any>,
 * and a minimal HTTP/1.1 client. Included by tests/unit/api_*_test.c only. */
#ifndef PORTCULLIS_TESTS_API_HARNESS_H
#define PORTCULLIS_TESTS_API_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_admin.h"
#include "api/api_int.h"
#include "db/db.h"
#include "gateway/core/engine.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"

struct harness {
	char dbpath[64];
	struct db *db; /* the test's own connection, for checks */
	struct engine eng;
	pthread_t loop_thread;
	bool loop_running;
	struct api *api;
	int port;
	char token[API_TOKEN_LEN + 1];    /* full */
	char ro_token[API_TOKEN_LEN + 1]; /* read-only */
	char cookie[128];                 /* "pc_session=..." after h_login */
	char csrf[80];
	int apply_fail; /* apply_config fails while set */
	int apply_calls;
	int64_t apply_saw_pools; /* count(*) of ip_pool seen through the txn at the last apply */
};

struct h_resp {
	int status;
	char headers[4096];
	char *body;
	size_t len;
	json_t *json; /* parsed body when it is JSON */
};

static struct harness *H_current;
static enum api_tls_mode H_tls = API_TLS_OFF; /* set before h_start() for HTTPS tests */

static __attribute__((unused)) int
h_apply(struct engine *eng, struct db *txn, struct pc_err *err)
{
	struct harness *h = H_current;
	sqlite3_stmt *st;

	h->apply_calls++;
	if (db_prepare(txn, "SELECT count(*) FROM ip_pool", &st, NULL) == 0) {
		if (sqlite3_step(st) == SQLITE_ROW)
			h->apply_saw_pools = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (h->apply_fail)
		return pc_err_set(err, PC_ERR_APPLY, "", "test engine: nftables refused the batch");
	return 0;
}

static void *
h_loop_main(void *arg)
{
	struct harness *h = arg;

	loop_run(h->eng.loop);
	return NULL;
}

static __attribute__((unused)) void
h_resp_free(struct h_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* Sends one request; extra_headers is "Name: value\r\n..." or NULL. */
static __attribute__((unused)) int
h_request(struct harness *h, const char *method, const char *path, const char *extra_headers,
          const char *body, size_t body_len, struct h_resp *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
	struct timeval tv = {.tv_sec = 20};
	char head[8192], *buf = NULL, *he;
	size_t len = 0, cap = 0;
	int fd, n;

	memset(r, 0, sizeof(*r));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = snprintf(head, sizeof(head),
	             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
	             "Content-Length: %zu\r\n\r\n",
	             method, path, extra_headers != NULL ? extra_headers : "", body_len);
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return -EIO;
	}
	for (size_t off = 0; off < body_len;) {
		ssize_t w = send(fd, body + off, body_len - off, MSG_NOSIGNAL);

		if (w <= 0)
			break; /* the server may answer (413) and close before reading it all */
		off += (size_t)w;
	}
	for (;;) {
		ssize_t got;

		if (cap - len < 65536) {
			cap = cap == 0 ? 262144 : cap * 2;
			buf = realloc(buf, cap);
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	if (buf == NULL)
		return -EIO;
	buf[len] = '\0';
	he = strstr(buf, "\r\n\r\n");
	if (he == NULL || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
		free(buf);
		return -EPROTO;
	}
	snprintf(r->headers, sizeof(r->headers), "%.*s", (int)(he - buf), buf);
	r->len = len - (size_t)(he + 4 - buf);
	r->body = malloc(r->len + 1);
	memcpy(r->body, he + 4, r->len);
	r->body[r->len] = '\0';
	r->json = json_loadb(r->body, r->len, 0, NULL);
	free(buf);
	return 0;
}

enum h_auth { H_NONE, H_TOKEN, H_RO_TOKEN, H_SESSION, H_SESSION_NO_CSRF };

static __attribute__((unused)) int
h_call(struct harness *h, enum h_auth auth, const char *method, const char *path, const char *body,
       struct h_resp *r)
{
	char hdr[512] = "";

	switch (auth) {
	case H_TOKEN:
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", h->token);
		break;
	case H_RO_TOKEN:
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", h->ro_token);
		break;
	case H_SESSION:
		snprintf(hdr, sizeof(hdr), "Cookie: %s\r\nX-CSRF-Token: %s\r\n", h->cookie,
		         h->csrf);
		break;
	case H_SESSION_NO_CSRF:
		snprintf(hdr, sizeof(hdr), "Cookie: %s\r\n", h->cookie);
		break;
	default:
		break;
	}
	if (body != NULL)
		strncat(hdr, "Content-Type: application/json\r\n", sizeof(hdr) - strlen(hdr) - 1);
	return h_request(h, method, path, hdr, body, body != NULL ? strlen(body) : 0, r);
}

/* Sends a request and returns only its status (or -1). */
static __attribute__((unused)) int
h_status(struct harness *h, enum h_auth auth, const char *method, const char *path,
         const char *body)
{
	struct h_resp r;
	int status;

	if (h_call(h, auth, method, path, body, &r) < 0)
		return -1;
	status = r.status;
	h_resp_free(&r);
	return status;
}

static __attribute__((unused)) int
h_login(struct harness *h, const char *user, const char *pass)
{
	struct h_resp r;
	char body[256];
	const char *c;
	int status;

	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, pass);
	if (h_call(h, H_NONE, "POST", "/api/v1/auth/login", body, &r) < 0)
		return -1;
	status = r.status;
	c = strstr(r.headers, "Set-Cookie: ");
	if (status == 200 && c != NULL) {
		snprintf(h->cookie, sizeof(h->cookie), "%.*s", (int)strcspn(c + 12, ";\r"), c + 12);
		snprintf(h->csrf, sizeof(h->csrf), "%s",
		         json_string_value(json_object_get(r.json, "csrf_token")));
	}
	h_resp_free(&r);
	return status;
}

static __attribute__((unused)) int
h_start(struct harness *h)
{
	struct api_config cfg = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct pc_err err = {0};
	int fd, fdw;

	memset(h, 0, sizeof(*h));
	H_current = h;
	log_set_all_levels(LOG_LVL_ERROR);
	snprintf(h->dbpath, sizeof(h->dbpath), "/tmp/pc-api-test-XXXXXX");
	fdw = mkstemp(h->dbpath);
	if (fdw < 0)
		return -1;
	close(fdw);
	unlink(h->dbpath);
	if (db_open(h->dbpath, &h->db, &err) < 0)
		return -1;
	if (api_admin_add(h->db, "alice", "correct horse", NULL, &err) < 0 ||
	    api_token_create(h->db, "auto", false, "test", NULL, h->token, &err) < 0 ||
	    api_token_create(h->db, "viewer", true, "test", NULL, h->ro_token, &err) < 0)
		return -1;
	if (loop_new(&h->eng.loop) < 0)
		return -1;
	h->eng.started_ms = loop_now_ms();
	h->eng.ops.apply_config = h_apply;
	if (pthread_create(&h->loop_thread, NULL, h_loop_main, h) != 0)
		return -1;
	h->loop_running = true;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	h->port = ntohs(sa.sin_port);
	cfg.listen_fd = fd;
	cfg.db_path = h->dbpath;
	cfg.webui_dir = PORTCULLIS_SOURCE_DIR "/tests/data/webui";
	cfg.engine = &h->eng;
	cfg.tls = H_tls;
	if (api_start(&cfg, &h->api, &err) < 0) {
		fprintf(stderr, "api_start: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static __attribute__((unused)) void
h_stop_loop(struct harness *h)
{
	if (!h->loop_running)
		return;
	loop_stop(h->eng.loop);
	pthread_join(h->loop_thread, NULL);
	h->loop_running = false;
}

static __attribute__((unused)) void
h_stop(struct harness *h)
{
	char p[96];

	api_stop(h->api);
	h_stop_loop(h);
	loop_free(h->eng.loop);
	db_close(h->db);
	unlink(h->dbpath);
	snprintf(p, sizeof(p), "%s.crt", h->dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s.key", h->dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-wal", h->dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", h->dbpath);
	unlink(p);
}

/* Every configuration table's rows as one string: equal strings = unchanged configuration. */
static __attribute__((unused)) char *
h_config_snapshot(struct harness *h)
{
	static const char *const skip[] = {"audit_log",  "admin_session",     "api_token",
	                                   "admin_user", "schema_migrations", "sqlite_sequence",
	                                   NULL};
	sqlite3_stmt *tables, *rows;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	db_prepare(h->db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
	           &tables, NULL);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);
		char sql[256];
		bool skipped = false;

		for (int i = 0; skip[i] != NULL; i++)
			skipped = skipped || strcmp(skip[i], t) == 0;
		if (skipped)
			continue;
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1", t);
		fprintf(f, "[%s]\n", t);
		if (db_prepare(h->db, sql, &rows, NULL) < 0)
			continue;
		while (sqlite3_step(rows) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(rows); c++)
				fprintf(f, "%s|",
				        sqlite3_column_text(rows, c) != NULL
				                ? (const char *)sqlite3_column_text(rows, c)
				                : "NULL");
			fputc('\n', f);
		}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tables);
	fclose(f);
	return buf;
}

static __attribute__((unused)) int64_t
h_count(struct harness *h, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (db_prepare(h->db, sql, &st, NULL) < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* One valid item per resource, created in dependency order: the fixture every test builds on.
 * path -> body */
static const char *const h_fixture[][2] = {
        {"interfaces", "{\"hw_name\":\"ethernet0\",\"nameif\":\"outside\",\"security\":0,"
                       "\"ip_mode\":\"static\",\"address\":\"192.168.1.1\","
                       "\"netmask\":\"255.255.255.0\"}"},
        {"names", "{\"address\":\"10.89.129.131\",\"name\":\"web\"}"},
        {"object-groups", "{\"name\":\"inside-nets\",\"kind\":\"network\",\"members\":[{\"kind\":"
                          "\"network\",\"address\":\"10.89.129.128\",\"netmask\":"
                          "\"255.255.255.128\"}]}"},
        {"access-lists", "{\"name\":\"101\",\"entries\":[{\"action\":\"permit\",\"protocol\":"
                         "\"ip\",\"src_kind\":\"group\",\"src_group\":\"inside-nets\","
                         "\"dst_kind\":\"network\",\"dst_address\":\"10.89.129.200\","
                         "\"dst_netmask\":\"255.255.255.248\"}]}"},
        {"access-lists/1/entries", "{\"action\":\"remark\",\"remark\":\"vpn pool\"}"},
        {"access-groups", "{\"access_list\":\"101\",\"interface\":\"outside\"}"},
        {"nat-globals", "{\"interface\":\"outside\",\"nat_id\":1,\"kind\":\"range\","
                        "\"start_address\":\"192.168.1.6\",\"end_address\":\"192.168.1.10\"}"},
        {"nat-rules", "{\"interface\":\"outside\",\"nat_id\":0,\"access_list\":\"101\"}"},
        {"statics", "{\"real_interface\":\"outside\",\"mapped_interface\":\"outside\","
                    "\"mapped_address\":\"192.168.1.11\",\"real_address\":\"10.89.129.131\"}"},
        {"routes", "{\"interface\":\"outside\",\"destination\":\"0.0.0.0\",\"netmask\":"
                   "\"0.0.0.0\",\"gateway\":\"192.168.1.3\"}"},
        {"timeouts", "{\"name\":\"uauth\",\"seconds\":300,\"option\":\"absolute\"}"},
        {"aaa-server-groups", "{\"name\":\"AuthInbound\",\"protocol\":\"tacacs+\",\"hosts\":[{"
                              "\"interface\":\"outside\",\"address\":\"10.89.129.134\","
                              "\"key\":\"secretkey\",\"timeout_s\":10}]}"},
        {"aaa-rules", "{\"kind\":\"authentication\",\"action\":\"include\",\"service\":\"http\","
                      "\"interface\":\"outside\",\"local_address\":\"10.89.129.131\","
                      "\"local_netmask\":\"255.255.255.255\",\"foreign_address\":\"0.0.0.0\","
                      "\"foreign_netmask\":\"0.0.0.0\",\"server_group\":\"AuthInbound\"}"},
        {"aaa-console", "{\"service\":\"http\",\"server_group\":\"AuthInbound\"}"},
        {"local-users", "{\"name\":\"cisco_customer\",\"password\":\"cisco\",\"privilege\":2}"},
        {"pools", "{\"name\":\"VPNpool\",\"start_address\":\"10.89.129.200\","
                  "\"end_address\":\"10.89.129.204\"}"},
        {"isakmp-policies", "{\"priority\":10,\"authentication\":\"pre-share\",\"encryption\":"
                            "\"des\",\"hash\":\"md5\",\"dh_group\":2}"},
        {"isakmp-keys", "{\"address\":\"0.0.0.0\",\"netmask\":\"0.0.0.0\",\"key\":\"cisco1234\"}"},
        {"isakmp-interfaces", "{\"interface\":\"outside\"}"},
        {"isakmp-client-pools", "{\"pool\":\"VPNpool\",\"interface\":\"outside\"}"},
        {"transform-sets", "{\"name\":\"myset\",\"esp_encryption\":\"esp-des\","
                           "\"esp_authentication\":\"esp-md5-hmac\"}"},
        {"crypto-maps", "{\"map_name\":\"dynmap\",\"is_dynamic\":true,\"seq\":10,"
                        "\"transform_sets\":[\"myset\"]}"},
        {"crypto-map-options", "{\"map_name\":\"mymap\",\"client_config_initiate\":true,"
                               "\"client_auth_group\":\"AuthInbound\"}"},
        {"crypto-map-interfaces", "{\"interface\":\"outside\",\"map_name\":\"mymap\"}"},
        {"vpngroups", "{\"name\":\"vpn3000\",\"pool\":\"VPNpool\",\"password\":\"grouppw\","
                      "\"idle_time_s\":1800}"},
        {"fixups", "{\"protocol\":\"ftp\",\"port_low\":21}"},
        {"sysopts", "{\"name\":\"connection permit-ipsec\"}"},
        {"settings", "{\"name\":\"hostname\",\"value\":\"pixfirewall\"}"},
        {"mgmt-access", "{\"service\":\"http\",\"address\":\"10.89.129.128\",\"netmask\":"
                        "\"255.255.255.128\",\"interface\":\"outside\"}"},
};
#define H_FIXTURES (sizeof(h_fixture) / sizeof(h_fixture[0]))

/* The key of the fixture item of a resource path (for {id}). */
static __attribute__((unused)) const char *
h_fixture_key(const char *path)
{
	if (strcmp(path, "timeouts") == 0)
		return "uauth";
	if (strcmp(path, "isakmp-policies") == 0)
		return "10";
	if (strcmp(path, "crypto-map-options") == 0)
		return "mymap";
	if (strcmp(path, "sysopts") == 0)
		return "connection%20permit-ipsec";
	if (strcmp(path, "settings") == 0)
		return "hostname";
	if (strcmp(path, "access-lists/1/entries") == 0)
		return "2";
	return "1";
}

static __attribute__((unused)) int
h_create_fixture(struct harness *h)
{
	for (size_t i = 0; i < H_FIXTURES; i++) {
		struct h_resp r;
		char path[128];

		snprintf(path, sizeof(path), "/api/v1/%s", h_fixture[i][0]);
		if (h_call(h, H_TOKEN, "POST", path, h_fixture[i][1], &r) < 0)
			return -1;
		if (r.status != 201) {
			fprintf(stderr, "fixture %s: HTTP %d %s\n", path, r.status, r.body);
			h_resp_free(&r);
			return -1;
		}
		h_resp_free(&r);
	}
	return 0;
}

#endif
