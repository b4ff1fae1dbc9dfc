/* Authentication and the non-configuration routes: PIX-MD5 known answers and the upgrade of an
 * imported hash at first login, session cookie attributes, logout, tokens and admins over the
 * API, login throttling, Server-Sent Events, accounting (filters, ACS CSV), metrics, live state
 * through engine ops, static files (types, traversal) and security headers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api/api_hash.h"
#include "api_harness.h"
#include "gateway/core/events.h"

static struct harness h;
static int parked_fd = -1; /* an event stream left open across api_stop() */

static int
fake_uauth(struct engine *eng, json_t **out)
{
	*out = json_pack("{s:i, s:i, s:i, s:i, s:[{s:i, s:s, s:s, s:s, s:i, s:b}]}", "current", 1,
	                 "most_seen", 1, "in_progress", 0, "in_progress_most_seen", 1, "items",
	                 "id", 1, "user", "cisco_customer", "address", "10.89.129.200", "method",
	                 "ipsec", "timeout_s", 300, "absolute", 1);
	return 0;
}

static char cleared[64];

static int
fake_clear_uauth(struct engine *eng, const char *who, struct pc_err *err)
{
	if (who != NULL && strcmp(who, "9") == 0)
		return pc_err_set(err, PC_ERR_NOTFOUND, "", "no uauth entry 9");
	snprintf(cleared, sizeof(cleared), "%s", who != NULL ? who : "(all)");
	return 0;
}

static int
fake_stats(struct engine *eng, json_t **out)
{
	*out = json_pack("{s:i, s:i, s:{s:i, s:i}}", "tunnels", 3, "handshakes_per_min", 7,
	                 "failures_by_reason", "bad-psk", 2, "no-proposal", 1);
	return 0;
}

static int
setup(void **state)
{
	if (h_start(&h) < 0)
		return -1;
	h.eng.ops.list_uauth = fake_uauth;
	h.eng.ops.clear_uauth = fake_clear_uauth;
	h.eng.ops.stats = fake_stats;
	return 0;
}

static int
teardown(void **state)
{
	h_stop(&h); /* must not hang on the parked stream */
	if (parked_fd >= 0)
		close(parked_fd);
	return 0;
}

static void
test_pix_md5_vectors(void **state)
{
	char out[17], hash[API_HASH_MAX];

	api_hash_pix_md5("cisco", out);
	assert_string_equal(out, "2KFQnbNIdI.2KYOU");
	api_hash_pix_md5("", out);
	assert_string_equal(out, "8Ry2YjIyt7RRXU24");
	assert_int_equal(api_hash_verify("pix-md5", "2KFQnbNIdI.2KYOU", "cisco"), 1);
	assert_int_equal(api_hash_verify("pix-md5", "2KFQnbNIdI.2KYOU", "cisco1"), 0);
	assert_int_equal(api_hash_verify("pix-md5", "short", "cisco"), -EINVAL);
	assert_int_equal(api_hash_password("s3cret pass", hash, sizeof(hash)), 0);
	assert_non_null(strstr(hash, "pbkdf2-sha256$210000$"));
	assert_int_equal(api_hash_verify("pbkdf2-sha256", hash, "s3cret pass"), 1);
	assert_int_equal(api_hash_verify("pbkdf2-sha256", hash, "s3cret pasS"), 0);
	assert_int_equal(api_hash_verify("pbkdf2-sha256", "pbkdf2-sha256$x$y$z", "a"), -EINVAL);
	assert_int_equal(api_hash_verify("md5-crypt", hash, "a"), -EINVAL);
}

static void
test_login_session_logout(void **state)
{
	struct h_resp r;

	assert_int_equal(h_call(&h, H_NONE, "POST", "/api/v1/auth/login",
	                        "{\"username\":\"alice\",\"password\":\"correct horse\"}", &r),
	                 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Set-Cookie: pc_session="));
	assert_non_null(strstr(r.headers, "HttpOnly"));
	assert_non_null(strstr(r.headers, "SameSite=Strict"));
	assert_non_null(strstr(r.headers, "Path=/"));
	assert_null(strstr(r.headers, "Secure")); /* plain HTTP here */
	assert_int_equal(strlen(json_string_value(json_object_get(r.json, "csrf_token"))), 64);
	h_resp_free(&r);
	/* unknown fields and wrong types in the login body are 400 */
	assert_int_equal(h_status(&h, H_NONE, "POST", "/api/v1/auth/login",
	                          "{\"username\":\"alice\",\"password\":\"x\",\"otp\":1}"),
	                 400);
	assert_int_equal(h_login(&h, "alice", "correct horse"), 200);
	assert_int_equal(h_call(&h, H_SESSION_NO_CSRF, "GET", "/api/v1/auth/session", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(r.json, "csrf_token")), h.csrf);
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_SESSION, "POST", "/api/v1/auth/logout", NULL, &r), 0);
	assert_int_equal(r.status, 204);
	assert_non_null(strstr(r.headers, "Max-Age=0"));
	h_resp_free(&r);
	assert_int_equal(h_status(&h, H_SESSION, "GET", "/api/v1/auth/session", NULL), 401);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM audit_log WHERE action = 'login' AND "
	                             "actor = 'alice'"),
	                 2);
}

static void
test_imported_pix_md5_admin_upgraded(void **state)
{
	assert_int_equal(db_exec(h.db,
	                         "INSERT INTO admin_user(name, password_hash, hash_kind) VALUES "
	                         "('pixadmin', '2KFQnbNIdI.2KYOU', 'pix-md5')",
	                         NULL),
	                 0);
	assert_int_equal(h_login(&h, "pixadmin", "wrong"), 401);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM admin_user WHERE name = 'pixadmin' AND "
	                             "hash_kind = 'pix-md5'"),
	                 1);
	assert_int_equal(h_login(&h, "pixadmin", "cisco"), 200);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM admin_user WHERE name = 'pixadmin' AND "
	                             "hash_kind = 'pbkdf2-sha256' AND password_hash LIKE "
	                             "'pbkdf2-sha256$%'"),
	                 1);
	assert_int_equal(h_login(&h, "pixadmin", "cisco"), 200);
}

static void
test_imported_local_user_and_enable(void **state)
{
	/* username cisco_customer password 3USUcOPFUiMCO4Jk encrypted privilege 15: PIX-MD5 of
	 * "cisco" salted with the user name (`portcullis aaa hash --pix cisco_customer`); an
	 * unsalted hash (enable/passwd style) must not log a username in */
	assert_int_equal(
	        db_exec(h.db,
	                "INSERT INTO local_user(name, password_hash, hash_kind, privilege) "
	                "VALUES ('cisco_customer', '3USUcOPFUiMCO4Jk', 'pix-md5', 15), "
	                "('helpdesk', '2KFQnbNIdI.2KYOU', 'pix-md5', 2), "
	                "('unsalted', '2KFQnbNIdI.2KYOU', 'pix-md5', 15);"
	                "INSERT INTO setting(name, value) VALUES ('enable_password', "
	                "'8Ry2YjIyt7RRXU24')",
	                NULL),
	        0);
	assert_int_equal(h_login(&h, "helpdesk", "cisco"), 401); /* privilege 2: no admin */
	assert_int_equal(h_login(&h, "unsalted", "cisco"), 401);
	assert_int_equal(h_login(&h, "cisco_customer", "cisco"), 200);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM local_user WHERE name = "
	                             "'cisco_customer' AND hash_kind = 'pbkdf2-sha256'"),
	                 1);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM local_user WHERE name = 'helpdesk' AND "
	                             "hash_kind = 'pix-md5'"),
	                 1);
	assert_int_equal(h_login(&h, "cisco_customer", "cisco"), 200);
	/* the seed's enable password is the empty one: never accepted */
	assert_int_equal(h_login(&h, "enable_15", ""), 401);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM admin_user WHERE name = 'enable_15'"),
	                 0);
	assert_int_equal(db_exec(h.db,
	                         "UPDATE setting SET value = '2KFQnbNIdI.2KYOU' WHERE name = "
	                         "'enable_password'",
	                         NULL),
	                 0);
	assert_int_equal(h_login(&h, "enable_15", "cisco"), 200);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM admin_user WHERE name = 'enable_15' AND "
	                             "hash_kind = 'pbkdf2-sha256'"),
	                 1);
	/* the setting stays as imported (the PIX export prints it back) */
	assert_int_equal(h_count(&h, "SELECT count(*) FROM setting WHERE value = "
	                             "'2KFQnbNIdI.2KYOU'"),
	                 1);
	assert_int_equal(h_login(&h, "enable_15", "cisco"), 200);
}

static void
test_tokens_and_admins_over_api(void **state)
{
	struct h_resp r;
	char tok[API_TOKEN_LEN + 1], saved[API_TOKEN_LEN + 1], url[64];
	int64_t id;

	assert_int_equal(h_login(&h, "alice", "correct horse"), 200);
	assert_int_equal(h_call(&h, H_SESSION, "POST", "/api/v1/tokens",
	                        "{\"name\":\"ci\",\"read_only\":true}", &r),
	                 0);
	assert_int_equal(r.status, 201);
	snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(r.json, "token")));
	id = json_integer_value(json_object_get(r.json, "id"));
	h_resp_free(&r);
	assert_int_equal(strlen(tok), API_TOKEN_LEN);
	/* the list never shows the token */
	assert_int_equal(h_call(&h, H_SESSION, "GET", "/api/v1/tokens", NULL, &r), 0);
	assert_null(strstr(r.body, tok));
	assert_non_null(strstr(r.body, "\"ci\""));
	h_resp_free(&r);
	memcpy(saved, h.ro_token, sizeof(saved));
	memcpy(h.ro_token, tok, sizeof(tok));
	assert_int_equal(h_status(&h, H_RO_TOKEN, "GET", "/api/v1/pools", NULL), 200);
	assert_int_equal(h_status(&h, H_RO_TOKEN, "POST", "/api/v1/tokens", "{\"name\":\"x\"}"),
	                 403);
	snprintf(url, sizeof(url), "/api/v1/tokens/%lld", (long long)id);
	assert_int_equal(h_status(&h, H_SESSION, "DELETE", url, NULL), 204);
	assert_int_equal(h_status(&h, H_RO_TOKEN, "GET", "/api/v1/pools", NULL), 401);
	memcpy(h.ro_token, saved, sizeof(saved));
	assert_int_equal(h_status(&h, H_SESSION, "DELETE", url, NULL), 404);

	/* admins */
	assert_int_equal(h_call(&h, H_SESSION, "POST", "/api/v1/admins",
	                        "{\"name\":\"bob\",\"password\":\"short\"}", &r),
	                 0);
	assert_int_equal(r.status, 422);
	assert_non_null(strstr(r.body, "\"field\":\"password\""));
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_SESSION, "POST", "/api/v1/admins",
	                        "{\"name\":\"bob\",\"password\":\"bob password\"}", &r),
	                 0);
	assert_int_equal(r.status, 201);
	id = json_integer_value(json_object_get(r.json, "id"));
	h_resp_free(&r);
	assert_int_equal(h_status(&h, H_SESSION, "POST", "/api/v1/admins",
	                          "{\"name\":\"bob\",\"password\":\"bob password\"}"),
	                 409);
	snprintf(url, sizeof(url), "/api/v1/admins/%lld", (long long)id);
	assert_int_equal(h_status(&h, H_SESSION, "PATCH", url, "{\"password\":\"new bob pass\"}"),
	                 200);
	assert_int_equal(h_login(&h, "bob", "new bob pass"), 200);
	assert_int_equal(h_call(&h, H_SESSION, "GET", "/api/v1/admins", NULL, &r), 0);
	assert_null(strstr(r.body, "pbkdf2"));
	h_resp_free(&r);
}

/* Reads from fd until needle shows up (or 5 s pass). */
static bool
read_until(int fd, const char *needle, char *buf, size_t len)
{
	size_t n = 0;
	struct timeval tv = {.tv_sec = 20}; /* generous: CI runs tests in parallel */

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n + 1 < len) {
		ssize_t got = read(fd, buf + n, len - n - 1);

		if (got <= 0)
			return false;
		n += (size_t)got;
		buf[n] = '\0';
		if (strstr(buf, needle) != NULL)
			return true;
	}
	return false;
}

static void
test_server_sent_events(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h.port)};
	char req[512], buf[16384];
	int fd;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req),
	         "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
	         h.ro_token);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	assert_true(read_until(fd, ": portcullis events", buf, sizeof(buf)));
	assert_non_null(strstr(buf, "text/event-stream"));
	/* while the stream is parked, the API still answers other requests */
	assert_int_equal(h_status(&h, H_TOKEN, "POST", "/api/v1/pools",
	                          "{\"name\":\"EvPool\",\"start_address\":\"10.5.0.1\","
	                          "\"end_address\":\"10.5.0.2\"}"),
	                 201);
	assert_true(read_until(fd, "\"object\":\"/api/v1/pools/", buf, sizeof(buf)));
	assert_non_null(strstr(buf, "event: config-applied\ndata: {"));
	events_publish("tunnel-up", "{\"user\":\"cisco_customer\",\"peer\":\"192.168.1.2\"}");
	assert_true(read_until(fd, "cisco_customer", buf, sizeof(buf)));
	assert_non_null(strstr(buf, "event: tunnel-up\ndata: {\"user\""));
	close(fd);
	/* at most API_SSE_MAX streams: one more is refused with 503, not queued. (The stream
	 * closed above may still hold its slot until its next keepalive finds the peer gone.) */
	{
		int fds[API_SSE_MAX + 1], opened = 0;
		bool refused = false;

		for (int i = 0; i <= API_SSE_MAX && !refused; i++) {
			fds[i] = socket(AF_INET, SOCK_STREAM, 0);
			assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
			assert_int_equal(write(fds[i], req, strlen(req)), (ssize_t)strlen(req));
			assert_true(read_until(fds[i], "\r\n\r\n", buf, sizeof(buf)));
			if (strncmp(buf, "HTTP/1.1 503", 12) == 0) {
				assert_non_null(strstr(buf, "Content-Type: application/json"));
				refused = true;
			} else {
				assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
				opened++;
			}
		}
		assert_true(refused);
		assert_in_range(opened, API_SSE_MAX - 1, API_SSE_MAX);
		parked_fd = fds[0]; /* stays open: api_stop() must end it without hanging */
		for (int i = 1; i < opened + 1; i++)
			close(fds[i]);
	}
}

static void
test_accounting_and_csv(void **state)
{
	struct h_resp r;

	/* 07/27/2004 15:17:39 start and 15:17:54 stop, as in the seed */
	assert_int_equal(
	        db_exec(h.db,
	                "INSERT INTO acct_record(created_at_ms, record_type, session_id, task_id, "
	                "username, caller_address, nas_address, service, elapsed_s, bytes_in, "
	                "bytes_out, state) VALUES "
	                "(1090941459000, 'start', 's1', 5, 'cisco_customer', '10.89.129.200', "
	                "'10.89.129.194', 'telnet', 0, 0, 0, 'delivered'), "
	                "(1090941474000, 'stop', 's1', 5, 'cisco_customer', '10.89.129.200', "
	                "'10.89.129.194', 'telnet', 15, 99, 1879, 'pending'), "
	                "(1090941500000, 'start', 's2', 6, '=cmd|evil', '10.89.129.201', "
	                "'10.89.129.194', 'ftp', 0, 0, 0, 'pending')",
	                NULL),
	        0);
	assert_int_equal(h_call(&h, H_TOKEN, "GET",
	                        "/api/v1/accounting?user=cisco_customer&type=stop", NULL, &r),
	                 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 1);
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "GET",
	                        "/api/v1/accounting?from=2004-07-27T15:17:40Z&to=2004-07-28", NULL,
	                        &r),
	                 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 2);
	h_resp_free(&r);
	/* the unfiltered total is kept incrementally: check it follows appends */
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/accounting?limit=1", NULL, &r), 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 3);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
	h_resp_free(&r);
	assert_int_equal(db_exec(h.db,
	                         "INSERT INTO acct_record(created_at_ms, record_type, session_id, "
	                         "task_id, username, service, state) VALUES (1, 'start', 's0', 1, "
	                         "'old', 'http', 'delivered')",
	                         NULL),
	                 0);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/accounting?offset=3", NULL, &r), 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 4);
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_array_get(json_object_get(r.json, "items"), 0), "username")),
	        "old");
	h_resp_free(&r);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/accounting?type=bogus", NULL), 400);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/accounting?from=yesterday", NULL),
	                 400);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/accounting.csv", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Content-Type: text/csv"));
	assert_non_null(strstr(r.body, "Date,Time,User-Name,Group-Name,Caller-Id,Acct-Flags,"
	                               "elapsed_time,bytes_in,bytes_out,task_id,NAS-IP-Address,"
	                               "service\n"));
	assert_non_null(strstr(r.body, "07/27/2004,15:17:54,cisco_customer,Default Group,"
	                               "10.89.129.200,stop,15,99,1879,0x5,10.89.129.194,telnet\n"));
	assert_non_null(strstr(r.body, "07/27/2004,15:17:39,cisco_customer,Default Group,"
	                               "10.89.129.200,start,,,,0x5,10.89.129.194,telnet\n"));
	assert_non_null(strstr(r.body, ",'=cmd|evil,")); /* no spreadsheet formula */
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/accounting.csv?limit=50000&type=stop",
	                        NULL, &r),
	                 0);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.body, ",start,"));
	h_resp_free(&r);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/accounting?limit=50000", NULL), 400);
	/* metrics and stats: database counters plus the engine's */
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/metrics", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\nportcullis_acct_backlog 2\n"));
	assert_non_null(strstr(r.body, "\nportcullis_tunnels 3\n"));
	assert_non_null(strstr(r.body, "portcullis_failures_by_reason{key=\"bad-psk\"} 2\n"));
	assert_non_null(strstr(r.body, "# TYPE portcullis_tunnels gauge"));
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/stats", NULL, &r), 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "tunnels")), 3);
	assert_int_equal(json_integer_value(json_object_get(r.json, "acct_backlog")), 2);
	h_resp_free(&r);
}

static void
test_live_state_through_engine(void **state)
{
	struct h_resp r;

	assert_int_equal(h_call(&h, H_RO_TOKEN, "GET", "/api/v1/uauth", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "most_seen")), 1);
	h_resp_free(&r);
	assert_int_equal(h_status(&h, H_TOKEN, "DELETE", "/api/v1/uauth/1", NULL), 204);
	assert_string_equal(cleared, "1");
	assert_int_equal(h_status(&h, H_TOKEN, "DELETE", "/api/v1/uauth", NULL), 204);
	assert_string_equal(cleared, "(all)");
	assert_int_equal(h_status(&h, H_TOKEN, "DELETE", "/api/v1/uauth/9", NULL), 404);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/sa/ipsec", NULL, &r), 0);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "ipsec subsystem not running"));
	h_resp_free(&r);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM audit_log WHERE action = 'clear'"), 2);
}

static void
test_static_files(void **state)
{
	static const char *const bad[] = {
	        "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
	        "/..%2f..%2fetc/passwd",   "/nope.html",
	        "/index.html/..",          "/.",
	};
	struct h_resp r;

	assert_int_equal(h_call(&h, H_NONE, "GET", "/", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Content-Type: text/html"));
	assert_non_null(strstr(r.body, "test console"));
	assert_non_null(strstr(r.headers, "X-Frame-Options: DENY"));
	assert_non_null(strstr(r.headers, "Content-Security-Policy: default-src 'self'"));
	assert_non_null(strstr(r.headers, "X-Content-Type-Options: nosniff"));
	assert_non_null(strstr(r.headers, "Referrer-Policy: no-referrer"));
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_NONE, "GET", "/app.js", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Content-Type: text/javascript"));
	h_resp_free(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(h_call(&h, H_NONE, "GET", bad[i], NULL, &r), 0);
		if (r.status != 404)
			fail_msg("GET %s: expected 404, got %d", bad[i], r.status);
		assert_null(strstr(r.body, "root:"));
		assert_non_null(strstr(r.headers, "X-Frame-Options: DENY"));
		h_resp_free(&r);
	}
	assert_int_equal(h_status(&h, H_NONE, "POST", "/index.html", "{}"), 405);
}

/* Last: it blocks 127.0.0.1 from logging in. */
static void
test_login_throttle(void **state)
{
	struct h_resp r;

	for (int i = 0; i < 5; i++)
		assert_int_equal(h_login(&h, "alice", "guess"), 401);
	/* now even the right password is refused for a while, with Retry-After */
	assert_int_equal(h_call(&h, H_NONE, "POST", "/api/v1/auth/login",
	                        "{\"username\":\"alice\",\"password\":\"correct horse\"}", &r),
	                 0);
	assert_int_equal(r.status, 429);
	assert_non_null(strstr(r.headers, "Retry-After:"));
	h_resp_free(&r);
	assert_true(h_count(&h, "SELECT count(*) FROM audit_log WHERE action = 'login-failed'") >=
	            5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pix_md5_vectors),
	        cmocka_unit_test(test_login_session_logout),
	        cmocka_unit_test(test_imported_pix_md5_admin_upgraded),
	        cmocka_unit_test(test_imported_local_user_and_enable),
	        cmocka_unit_test(test_tokens_and_admins_over_api),
	        cmocka_unit_test(test_server_sent_events),
	        cmocka_unit_test(test_accounting_and_csv),
	        cmocka_unit_test(test_live_state_through_engine),
	        cmocka_unit_test(test_static_files),
	        cmocka_unit_test(test_login_throttle),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
