/* portcullis uauth show|clear: the PIX `show uauth` / `clear uauth` commands.
 *   --api URL: live state from a running portcullisd (GET /api/v1/uauth, DELETE /api/v1/uauth[/id])
 *   --db FILE: offline, the entries stored in table uauth_entry (what a restart restores) */
#include "cli/cli.h"
#include "db/db.h"
#include "gateway/uauth/uauth.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CLI_HTTP_MAX_REPLY (4u << 20) /* the API's replies are far smaller */

int cmd_uauth(struct cli_ctx *ctx, int argc, char **argv);

/* ---- a minimal HTTP/1.1 client for http:// URLs (the API on loopback or a management LAN) ---- */

static int
http_split_url(const char *url, char *host, size_t hlen, char *port, size_t plen)
{
	const char *p, *end, *colon;

	if (strncmp(url, "http://", 7) != 0)
		return -EINVAL;
	p = url + 7;
	end = p + strcspn(p, "/");
	colon = memchr(p, ':', (size_t)(end - p));
	if (colon == NULL) {
		colon = end;
		snprintf(port, plen, "80");
	} else {
		if ((size_t)(end - colon - 1) >= plen || end - colon - 1 == 0)
			return -EINVAL;
		snprintf(port, plen, "%.*s", (int)(end - colon - 1), colon + 1);
	}
	if ((size_t)(colon - p) >= hlen || colon == p)
		return -EINVAL;
	snprintf(host, hlen, "%.*s", (int)(colon - p), p);
	return 0;
}

/* Decodes a chunked body in place; returns the new length or -EINVAL. */
static long
http_dechunk(char *b, size_t len)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long n;

		if (in >= len)
			return -EINVAL;
		n = strtoul(b + in, &end, 16);
		if (end == b + in)
			return -EINVAL;
		end = memchr(end, '\n', len - (size_t)(end - b));
		if (end == NULL)
			return -EINVAL;
		in = (size_t)(end - b) + 1;
		if (n == 0)
			return (long)out;
		if (n > len - in)
			return -EINVAL;
		memmove(b + out, b + in, n);
		out += n;
		in += n;
		if (in < len && b[in] == '\r')
			in++;
		if (in < len && b[in] == '\n')
			in++;
	}
}

/* One request; *body (malloc'd, NUL-terminated) and *status on success. */
static int
http_request(struct cli_ctx *ctx, const char *method, const char *path, int *status, char **body)
{
	char host[256], port[16], req[1024];
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct timeval tv = {.tv_sec = 10};
	char *buf = NULL, *hend;
	size_t len = 0, cap = 0;
	int fd = -1, rc, n;

	*body = NULL;
	if (http_split_url(ctx->api_url, host, sizeof(host), port, sizeof(port)) < 0) {
		cli_fail("--api: expected http://HOST[:PORT], got '%s'", ctx->api_url);
		return -EINVAL;
	}
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		cli_fail("--api %s: %s", ctx->api_url, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0) ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		rc = -errno;
		cli_fail("--api %s: connect: %s", ctx->api_url, strerror(errno));
		goto out;
	}
	n = snprintf(req, sizeof(req),
	             "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
	             "Connection: close\r\n%s%s%s\r\n",
	             method, path, host, ctx->token != NULL ? "Authorization: Bearer " : "",
	             ctx->token != NULL ? ctx->token : "", ctx->token != NULL ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		rc = -EIO;
		cli_fail("--api %s: sending the request failed", ctx->api_url);
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len + 4096 + 1 > cap) {
			char *nb;

			if (cap >= CLI_HTTP_MAX_REPLY) {
				rc = -EMSGSIZE;
				cli_fail("--api: reply larger than %u bytes", CLI_HTTP_MAX_REPLY);
				goto out;
			}
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0) {
			rc = -errno;
			cli_fail("--api %s: recv: %s", ctx->api_url, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (buf == NULL) {
		rc = -EPROTO;
		cli_fail("--api %s: empty reply", ctx->api_url);
		goto out;
	}
	buf[len] = '\0';
	hend = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || len < 12 || hend == NULL) {
		rc = -EPROTO;
		cli_fail("--api %s: not an HTTP reply", ctx->api_url);
		goto out;
	}
	*status = atoi(buf + 9);
	hend += 4;
	len -= (size_t)(hend - buf);
	memmove(buf, hend, len + 1);
	*body = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (ai != NULL)
		freeaddrinfo(ai);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
api_json(struct cli_ctx *ctx, const char *method, const char *path, json_t **out)
{
	json_error_t jerr;
	char *body = NULL;
	int status = 0, rc;

	*out = NULL;
	rc = http_request(ctx, method, path, &status, &body);
	if (rc < 0)
		return rc;
	if (body[0] != '{' && body[0] != '[' && body[0] != '\0') {
		long n = http_dechunk(body, strlen(body));

		if (n >= 0)
			body[n] = '\0';
	}
	if (status < 200 || status > 299) {
		json_t *e = json_loads(body, 0, NULL);
		const char *msg =
		        json_string_value(json_object_get(json_object_get(e, "error"), "message"));

		cli_fail("%s %s: HTTP %d%s%s", method, path, status, msg ? ": " : "",
		         msg ? msg : "");
		json_decref(e);
		free(body);
		return status == 404 ? -ENOENT : -EIO;
	}
	if (body[0] != '\0') {
		*out = json_loads(body, 0, &jerr);
		if (*out == NULL) {
			cli_fail("%s %s: reply is not JSON (%s)", method, path, jerr.text);
			free(body);
			return -EPROTO;
		}
	}
	free(body);
	return 0;
}

/* ---- offline view from the database ---- */

static void
iso(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
db_view(struct cli_ctx *ctx, json_t **out)
{
	struct pc_err err = {0};
	struct db *db;
	sqlite3_stmt *st;
	json_t *items = json_array();
	struct timespec now;
	int64_t now_ms;
	int n = 0, rc;

	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (db_open(ctx->db_path, &db, &err) < 0) {
		json_decref(items);
		cli_fail("%s", err.msg);
		return -EIO;
	}
	rc = db_prepare(db,
	                "SELECT e.id, e.username, e.address, e.method, e.group_name, "
	                "e.created_at_ms, e.expires_at_ms, e.inactivity, "
	                "(SELECT seconds FROM timeout WHERE name = 'uauth') "
	                "FROM uauth_entry e WHERE e.expires_at_ms IS NULL OR e.expires_at_ms > ? "
	                "ORDER BY e.id",
	                &st, &err);
	if (rc < 0) {
		cli_fail("%s", err.msg);
		json_decref(items);
		db_close(db);
		return rc;
	}
	sqlite3_bind_int64(st, 1, now_ms);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char since[32], exp[32];
		bool ipsec = strcmp((const char *)sqlite3_column_text(st, 3), "ipsec") == 0;

		iso(sqlite3_column_int64(st, 5), since, sizeof(since));
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			iso(sqlite3_column_int64(st, 6), exp, sizeof(exp));
		json_array_append_new(
		        items,
		        json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:o, s:I, s:b}", "id",
		                  (json_int_t)sqlite3_column_int64(st, 0), "user",
		                  (const char *)sqlite3_column_text(st, 1), "address",
		                  (const char *)sqlite3_column_text(st, 2), "method",
		                  (const char *)sqlite3_column_text(st, 3), "group",
		                  sqlite3_column_type(st, 4) == SQLITE_NULL
		                          ? json_null()
		                          : json_string((const char *)sqlite3_column_text(st, 4)),
		                  "since", since, "expires",
		                  sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null()
		                                                            : json_string(exp),
		                  "timeout_s",
		                  (json_int_t)(ipsec ? 0 : sqlite3_column_int64(st, 8)), "absolute",
		                  !ipsec && sqlite3_column_int(st, 7) == 0));
		n++;
	}
	sqlite3_finalize(st);
	db_close(db);
	/* Offline there is no "most seen" or "in progress": the stored entries are shown. */
	*out = json_pack("{s:i, s:i, s:i, s:i, s:o}", "current", n, "most_seen", n, "in_progress",
	                 0, "in_progress_most_seen", 0, "items", items);
	return *out != NULL ? 0 : -ENOMEM;
}

static int
show(struct cli_ctx *ctx)
{
	json_t *v = NULL;
	int rc;

	rc = ctx->api_url != NULL ? api_json(ctx, "GET", "/api/v1/uauth", &v) : db_view(ctx, &v);
	if (rc < 0 || v == NULL)
		return 1;
	if (ctx->json) {
		char *t = json_dumps(v, JSON_INDENT(2));

		printf("%s\n", t != NULL ? t : "{}");
		free(t);
	} else {
		size_t need = uauth_format_text(v, NULL, 0) + 1;
		char *buf = malloc(need);

		if (buf != NULL) {
			uauth_format_text(v, buf, need);
			fputs(buf, stdout);
		}
		free(buf);
	}
	json_decref(v);
	return 0;
}

static bool
item_matches(json_t *it, const char *sel)
{
	const char *u = json_string_value(json_object_get(it, "user"));
	const char *a = json_string_value(json_object_get(it, "address"));

	return sel == NULL || (u != NULL && strcmp(u, sel) == 0) ||
	       (a != NULL && strcmp(a, sel) == 0);
}

static int
clear_api(struct cli_ctx *ctx, const char *sel)
{
	json_t *v = NULL, *it, *none = NULL;
	size_t i;
	int n = 0, rc;
	char path[64];

	if (sel == NULL) {
		rc = api_json(ctx, "DELETE", "/api/v1/uauth", &none);
		json_decref(none);
		if (rc < 0)
			return 1;
		printf("cleared all uauth entries\n");
		return 0;
	}
	if (api_json(ctx, "GET", "/api/v1/uauth", &v) < 0 || v == NULL)
		return 1;
	json_array_foreach(json_object_get(v, "items"), i, it)
	{
		if (!item_matches(it, sel))
			continue;
		snprintf(path, sizeof(path), "/api/v1/uauth/%lld",
		         (long long)json_integer_value(json_object_get(it, "id")));
		if (api_json(ctx, "DELETE", path, &none) == 0)
			n++;
		json_decref(none);
		none = NULL;
	}
	json_decref(v);
	if (n == 0)
		return cli_fail("clear uauth: no authenticated user or address '%s'", sel);
	printf("cleared %d uauth entr%s\n", n, n == 1 ? "y" : "ies");
	return 0;
}

static int
clear_db(struct cli_ctx *ctx, const char *sel)
{
	struct pc_err err = {0};
	struct db *db;
	sqlite3_stmt *st;
	int n;

	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	if (db_prepare(db,
	               "DELETE FROM uauth_entry WHERE ?1 IS NULL OR username = ?1 OR address = ?1",
	               &st, &err) < 0) {
		db_close(db);
		return cli_fail("%s", err.msg);
	}
	if (sel != NULL)
		sqlite3_bind_text(st, 1, sel, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(db, &err, "delete uauth_entry");
		sqlite3_finalize(st);
		db_close(db);
		return cli_fail("%s", err.msg);
	}
	sqlite3_finalize(st);
	n = sqlite3_changes(db_sqlite(db));
	db_close(db);
	if (n == 0 && sel != NULL)
		return cli_fail("clear uauth: no stored entry for user or address '%s'", sel);
	printf("removed %d stored uauth entr%s (not restored at the next start)\n", n,
	       n == 1 ? "y" : "ies");
	return 0;
}

int
cmd_uauth(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *sel;

	if (ctx->api_url == NULL && ctx->db_path == NULL)
		return cli_fail("uauth needs --api URL (live) or --db FILE (stored entries)");
	if (argc < 2 || strcmp(argv[1], "show") == 0) {
		if (argc > 2)
			return cli_fail("uauth show: unexpected argument '%s'", argv[2]);
		return show(ctx);
	}
	if (strcmp(argv[1], "clear") == 0) {
		if (argc > 3)
			return cli_fail("uauth clear: expected at most one user or address, got %d "
			                "arguments",
			                argc - 2);
		sel = argc == 3 ? argv[2] : NULL;
		return ctx->api_url != NULL ? clear_api(ctx, sel) : clear_db(ctx, sel);
	}
	return cli_fail("uauth: expected 'show' or 'clear [user|address]', got '%s'", argv[1]);
}
