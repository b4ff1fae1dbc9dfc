/* portcullis --api URL --token T [--json] show uauth | show crypto isakmp sa |
 *   show crypto ipsec sa | show accounting [USER]
 * Talks to a running portcullisd over a small HTTP/1.1 client (http:// only; no libcurl), prints
 * PIX-style text or, with --json, the API's JSON. */
#include "cli/cli.h"

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

#define HTTP_MAX_RESPONSE (16 * 1024 * 1024)
#define HTTP_TIMEOUT_S    15

int cmd_show(struct cli_ctx *ctx, int argc, char **argv);

struct http_resp {
	int status;
	char *body; /* NUL-terminated */
	size_t len;
};

/* Splits http://HOST[:PORT][/PREFIX]. */
static int
parse_url(const char *url, char *host, size_t hlen, char *port, size_t plen, char *prefix,
          size_t xlen)
{
	const char *p, *slash, *colon;

	if (strncmp(url, "http://", 7) != 0)
		return cli_fail("--api: expected http://HOST:PORT (https needs a TLS client this "
		                "tool does not have), got '%s'",
		                url);
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if ((size_t)((colon != NULL ? colon : slash) - p) >= hlen || slash == p)
		return cli_fail("--api: bad host in '%s'", url);
	snprintf(host, hlen, "%.*s", (int)((colon != NULL ? colon : slash) - p), p);
	if (colon != NULL)
		snprintf(port, plen, "%.*s", (int)(slash - colon - 1), colon + 1);
	else
		snprintf(port, plen, "80");
	snprintf(prefix, xlen, "%s", slash);
	if (strlen(prefix) > 0 && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = '\0';
	return 0;
}

/* Decodes a chunked body in place; returns the decoded length or -1. */
static long
dechunk(char *b, size_t len)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long n = strtoul(b + in, &end, 16);
		char *crlf = strstr(b + in, "\r\n");

		if (end == b + in || crlf == NULL)
			return -1;
		in = (size_t)(crlf - b) + 2;
		if (n == 0)
			return (long)out;
		if (n > len - in)
			return -1;
		memmove(b + out, b + in, n);
		out += n;
		in += n + 2;
		if (in > len)
			return -1;
	}
}

static int
http_get(const struct cli_ctx *ctx, const char *path, struct http_resp *r)
{
	char host[256], port[16], prefix[256], req[2048];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct timeval tv = {.tv_sec = HTTP_TIMEOUT_S};
	char *buf = NULL, *hdr_end;
	size_t len = 0, cap = 0;
	int fd = -1, rc = 1, n;

	memset(r, 0, sizeof(*r));
	if (parse_url(ctx->api_url, host, sizeof(host), port, sizeof(port), prefix,
	              sizeof(prefix)) != 0)
		return 1;
	if (ctx->token == NULL)
		return cli_fail("show: needs --token T (or PORTCULLIS_TOKEN)");
	n = snprintf(req, sizeof(req),
	             "GET %s%s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\nAccept: "
	             "application/json\r\nConnection: close\r\nUser-Agent: portcullis-cli\r\n\r\n",
	             prefix, path, host, port, ctx->token);
	if (n < 0 || (size_t)n >= sizeof(req))
		return cli_fail("show: request too long");
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		return cli_fail("show: cannot resolve %s", host);
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		cli_fail("show: connect %s:%s: %s", host, port, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (write(fd, req, (size_t)n) != n) {
		cli_fail("show: write: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t got;

		if (cap - len < 4097) {
			char *nb;

			if (cap >= HTTP_MAX_RESPONSE) {
				cli_fail("show: response larger than %d bytes", HTTP_MAX_RESPONSE);
				goto out;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			nb = realloc(buf, cap);
			if (nb == NULL)
				goto out;
			buf = nb;
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got < 0) {
			cli_fail("show: read: %s", strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (buf == NULL) {
		cli_fail("show: empty response");
		goto out;
	}
	buf[len] = '\0';
	hdr_end = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || hdr_end == NULL ||
	    sscanf(buf + 8, " %d", &r->status) != 1) {
		cli_fail("show: expected an HTTP/1.x response");
		goto out;
	}
	*hdr_end = '\0';
	r->len = len - (size_t)(hdr_end + 4 - buf);
	r->body = malloc(r->len + 1);
	if (r->body == NULL)
		goto out;
	memcpy(r->body, hdr_end + 4, r->len);
	r->body[r->len] = '\0';
	if (strcasestr(buf, "\r\ntransfer-encoding: chunked") != NULL) {
		long d = dechunk(r->body, r->len);

		if (d < 0) {
			cli_fail("show: malformed chunked body");
			goto out;
		}
		r->len = (size_t)d;
		r->body[r->len] = '\0';
	}
	rc = 0;
out:
	if (rc != 0) {
		free(r->body);
		r->body = NULL;
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

static json_t *
get_json(const struct cli_ctx *ctx, const char *path)
{
	struct http_resp r;
	json_error_t jerr;
	json_t *j;

	if (http_get(ctx, path, &r) != 0)
		return NULL;
	j = json_loadb(r.body, r.len, 0, &jerr);
	if (r.status != 200) {
		const char *msg =
		        json_string_value(json_object_get(json_object_get(j, "error"), "message"));

		cli_fail("%s: HTTP %d: %s", path, r.status, msg != NULL ? msg : r.body);
		json_decref(j);
		free(r.body);
		return NULL;
	}
	free(r.body);
	if (j == NULL)
		cli_fail("%s: expected JSON, got a parse error at %d: %s", path, jerr.line,
		         jerr.text);
	return j;
}

static const char *
s_of(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "-";
}

static long long
i_of(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void
hms(long long s, char *out, size_t len)
{
	if (s < 0)
		s = 0;
	snprintf(out, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

static void
print_uauth(json_t *j)
{
	json_t *items = json_object_get(j, "items"), *u;
	size_t i;

	printf("                        Current    Most Seen\n");
	printf("Authenticated Users     %-10lld %lld\n", i_of(j, "current"), i_of(j, "most_seen"));
	printf("Authen In Progress      %-10lld %lld\n", i_of(j, "in_progress"),
	       i_of(j, "in_progress_most_seen"));
	json_array_foreach(items, i, u)
	{
		char t[32];
		const char *m = s_of(u, "method");

		printf("%s%suser '%s' at %s, authenticated\n",
		       strcmp(m, "ipsec") == 0 ? "ipsec " : "", "", s_of(u, "user"),
		       s_of(u, "address"));
		hms(i_of(u, "timeout_s"), t, sizeof(t));
		printf("   %s timeout: %s\n",
		       json_is_true(json_object_get(u, "absolute")) ? "absolute  " : "inactivity",
		       t);
	}
}

/* PIX 6.3 `show crypto isakmp sa` counts, then one line per SA with the fields the API has. */
static void
print_isakmp(json_t *j)
{
	json_t *items = json_object_get(j, "items"), *sa;
	size_t i, embryonic = 0;

	json_array_foreach(items, i, sa)
	{
		if (strcmp(s_of(sa, "state"), "QM_IDLE") != 0)
			embryonic++;
	}
	printf("Total     : %zu\nEmbryonic : %zu\n", json_array_size(items), embryonic);
	printf("%15s %12s %-16s %-10s %-14s %s\n", "src", "state", "user", "group", "proposal",
	       "created");
	json_array_foreach(items, i, sa)
	{
		char prop[64];

		snprintf(prop, sizeof(prop), "%s/%s/%lld", s_of(sa, "encryption"), s_of(sa, "hash"),
		         i_of(sa, "dh_group"));
		printf("%15s %12s %-16s %-10s %-14s %s\n", s_of(sa, "peer"), s_of(sa, "state"),
		       s_of(sa, "user"), s_of(sa, "group"), prop, s_of(sa, "created"));
	}
}

static void
print_ipsec(json_t *j)
{
	json_t *items = json_object_get(j, "items"), *sa;
	size_t i;

	if (json_array_size(items) == 0)
		printf("No IPsec SAs\n");
	json_array_foreach(items, i, sa)
	{
		printf("\n   user: %s   assigned address: %s\n", s_of(sa, "user"),
		       s_of(sa, "assigned_address"));
		printf("   current_peer: %s\n", s_of(sa, "peer"));
		printf("     #pkts encaps: %lld, #pkts encrypt: %lld, #pkts digest %lld\n",
		       i_of(sa, "packets_out"), i_of(sa, "packets_out"), i_of(sa, "packets_out"));
		printf("     #pkts decaps: %lld, #pkts decrypt: %lld, #pkts verify %lld\n",
		       i_of(sa, "packets_in"), i_of(sa, "packets_in"), i_of(sa, "packets_in"));
		printf("     bytes in: %lld, bytes out: %lld\n", i_of(sa, "bytes_in"),
		       i_of(sa, "bytes_out"));
		printf("     inbound esp sas:\n      spi: %s\n        transform: %s ,\n",
		       s_of(sa, "spi_in"), s_of(sa, "transform"));
		printf("     outbound esp sas:\n      spi: %s\n        transform: %s ,\n",
		       s_of(sa, "spi_out"), s_of(sa, "transform"));
	}
}

/* ACS-style lines as in the seed: date time user group caller flags elapsed .. in out .. task */
static void
print_accounting(json_t *j)
{
	json_t *items = json_object_get(j, "items"), *r;
	size_t i;

	json_array_foreach(items, i, r)
	{
		time_t t = (time_t)(i_of(r, "created_at_ms") / 1000);
		struct tm tm;
		char when[32];
		bool stop = strcmp(s_of(r, "record_type"), "start") != 0;
		const char *g = json_string_value(json_object_get(r, "group_name"));

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%m/%d/%Y %H:%M:%S", &tm);
		if (stop)
			printf("%s %s %s %s %s %lld .. %lld %lld .. .. 0x%llx .. PIX %s %s\n", when,
			       s_of(r, "username"), g != NULL ? g : "Default Group",
			       s_of(r, "caller_address"), s_of(r, "record_type"),
			       i_of(r, "elapsed_s"), i_of(r, "bytes_in"), i_of(r, "bytes_out"),
			       i_of(r, "task_id"), s_of(r, "nas_address"), s_of(r, "service"));
		else
			printf("%s %s %s %s start .. .. .. .. .. 0x%llx .. PIX %s %s\n", when,
			       s_of(r, "username"), g != NULL ? g : "Default Group",
			       s_of(r, "caller_address"), i_of(r, "task_id"),
			       s_of(r, "nas_address"), s_of(r, "service"));
	}
	printf("(%zu of %lld records)\n", json_array_size(items), i_of(j, "total"));
}

int
cmd_show(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct {
		const char *words[3];
		const char *path;
		void (*print)(json_t *j);
	} views[] = {
	        {{"uauth", NULL, NULL}, "/api/v1/uauth", print_uauth},
	        {{"crypto", "isakmp", "sa"}, "/api/v1/sa/ike", print_isakmp},
	        {{"crypto", "ipsec", "sa"}, "/api/v1/sa/ipsec", print_ipsec},
	        {{"accounting", NULL, NULL}, "/api/v1/accounting?limit=100", print_accounting},
	};

	for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
		int nw = 0;
		bool match = true;
		char path[512];
		json_t *j;

		while (nw < 3 && views[v].words[nw] != NULL)
			nw++;
		for (int w = 0; w < nw && match; w++)
			match = argc > w + 1 && strcmp(argv[w + 1], views[v].words[w]) == 0;
		if (!match)
			continue;
		snprintf(path, sizeof(path), "%s", views[v].path);
		if (argc == nw + 2 && strcmp(views[v].words[0], "accounting") == 0) {
			/* show accounting USER: user names are [A-Za-z0-9._@-] in practice */
			for (const char *p = argv[nw + 1]; *p != '\0'; p++)
				if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				      (*p >= '0' && *p <= '9') || strchr("._@-", *p) != NULL))
					return cli_fail("show accounting: unexpected character in "
					                "user name '%s'",
					                argv[nw + 1]);
			snprintf(path, sizeof(path), "%s&user=%s", views[v].path, argv[nw + 1]);
		} else if (argc != nw + 1) {
			return cli_fail("show %s: unexpected argument '%s'", views[v].words[0],
			                argv[nw + 1]);
		}
		j = get_json(ctx, path);
		if (j == NULL)
			return 1;
		if (ctx->json) {
			char *s = json_dumps(j, JSON_INDENT(2));

			printf("%s\n", s);
			free(s);
		} else {
			views[v].print(j);
		}
		json_decref(j);
		return 0;
	}
	return cli_fail("show: expected uauth | crypto isakmp sa | crypto ipsec sa | accounting "
	                "[USER]");
}
