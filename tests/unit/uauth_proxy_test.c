/* The cut-through listeners over real loopback sockets: the loop (and uauth) runs on its own
 * thread, the test is the client, and small threaded servers stand in for the real web, telnet
 * and FTP servers behind the gateway. The original destination comes from a hook (no NAT on
 * loopback). Covers the HTTP Basic challenge, retries and the 403 after too many, splicing on to
 * the server with the proxy's Authorization header removed, cached sources passing straight
 * through, `clear uauth`, Telnet prompts (echo off for the password), FTP local@remote with the
 * login as the remote user, prompt deadlines, overlong lines, ten parallel clients from
 * different sources, timeout 0 (no cache), an unavailable AAA server and connections that match
 * no rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gateway/core/loop.h"
#include "gateway/uauth/uauth.h"
#include "gateway/uauth/uauth_parse.h"
#include "unit/uauth_fakes.h"

#define LO(d) ((uint32_t)127 << 24 | (uint32_t)(d))

/* ---- stand-ins for the real servers ---- */

enum srv_kind { SRV_HTTP, SRV_TELNET, SRV_FTP };

struct srv {
	enum srv_kind kind;
	int fd;
	uint16_t port;
	pthread_t th;
	pthread_mutex_t lock;
	char last_req[4096]; /* HTTP: last request head; FTP: USER/PASS lines seen */
	int conns;
};

static void
set_timeouts(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		char ch;
		ssize_t r = recv(fd, &ch, 1, 0);

		if (r <= 0)
			return -1;
		if (ch == '\n')
			break;
		if (ch != '\r')
			buf[n++] = ch;
	}
	buf[n] = '\0';
	return (int)n;
}

static void
sends(int fd, const char *s)
{
	ssize_t n = send(fd, s, strlen(s), MSG_NOSIGNAL);

	(void)n;
}

static void
serve_http(struct srv *s, int fd)
{
	char req[4096];
	size_t n = 0;
	const char *resp = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n"
	                   "\r\nhello-from-server\n";

	while (n + 1 < sizeof(req)) {
		ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);

		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	pthread_mutex_lock(&s->lock);
	snprintf(s->last_req, sizeof(s->last_req), "%s", req);
	pthread_mutex_unlock(&s->lock);
	sends(fd, resp);
}

static void
serve_telnet(struct srv *s, int fd)
{
	char line[256], msg[300];

	sends(fd, "telnet-server-banner\r\n");
	while (read_line(fd, line, sizeof(line)) >= 0) {
		snprintf(msg, sizeof(msg), "echo: %s\r\n", line);
		sends(fd, msg);
		if (strcmp(line, "bye") == 0)
			break;
	}
}

static void
serve_ftp(struct srv *s, int fd)
{
	char line[256];
	bool user_ok = false;

	sends(fd, "220-fake ftp server\r\n220 ready\r\n");
	while (read_line(fd, line, sizeof(line)) >= 0) {
		pthread_mutex_lock(&s->lock);
		if (strlen(s->last_req) + strlen(line) + 2 < sizeof(s->last_req)) {
			strcat(s->last_req, line);
			strcat(s->last_req, "|");
		}
		pthread_mutex_unlock(&s->lock);
		if (strcmp(line, "USER bob") == 0) {
			user_ok = true;
			sends(fd, "331 Password required for bob\r\n");
		} else if (strncmp(line, "USER ", 5) == 0) {
			user_ok = false;
			sends(fd, "331 Password required\r\n");
		} else if (strncmp(line, "PASS ", 5) == 0) {
			sends(fd, user_ok && strcmp(line, "PASS bobpw") == 0
			                  ? "230 bob logged in\r\n"
			                  : "530 Login incorrect\r\n");
		} else if (strcmp(line, "PWD") == 0) {
			sends(fd, "257 \"/srv/ftp\" is the current directory\r\n");
		} else if (strcmp(line, "QUIT") == 0) {
			sends(fd, "221 bye\r\n");
			break;
		} else {
			sends(fd, "500 unknown\r\n");
		}
	}
}

static void *
srv_main(void *arg)
{
	struct srv *s = arg;

	for (;;) {
		int fd = accept(s->fd, NULL, NULL);

		if (fd < 0)
			return NULL;
		set_timeouts(fd, 5000);
		pthread_mutex_lock(&s->lock);
		s->conns++;
		pthread_mutex_unlock(&s->lock);
		if (s->kind == SRV_HTTP)
			serve_http(s, fd);
		else if (s->kind == SRV_TELNET)
			serve_telnet(s, fd);
		else
			serve_ftp(s, fd);
		close(fd);
	}
}

static void
srv_start(struct srv *s, enum srv_kind kind)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(LO(1))};
	socklen_t len = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 64), 0);
	getsockname(s->fd, (struct sockaddr *)&sa, &len);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void
srv_stop(struct srv *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
}

/* ---- fixture: uauth on a loop thread ---- */

struct pfx {
	struct fake_set set; /* first: the fake set functions take set_arg as a fake_set */
	struct fake_aaa aaa;
	struct loop *loop;
	struct uauth *u;
	struct uauth_config cfg;
	struct uauth_hooks hooks;
	struct srv http, telnet, ftp;
	pthread_t loop_th;
	bool no_rule_dst;   /* original_dst answers an address no rule covers */
	uint16_t mux_dport; /* original port of connections to the redirect listener */
};

static int
orig_dst(void *arg, int fd, uint32_t *addr, uint16_t *port)
{
	struct pfx *p = arg;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	uint16_t lport;

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -EINVAL;
	lport = ntohs(sa.sin_port);
	*addr = p->no_rule_dst ? LO(99) : LO(1);
	if (lport == uauth_listen_port(p->u, UAUTH_METHOD_IPSEC))
		*port = p->mux_dport; /* map_dst finds the stand-in server */
	else if (lport == uauth_listen_port(p->u, UAUTH_METHOD_HTTP))
		*port = p->http.port;
	else if (lport == uauth_listen_port(p->u, UAUTH_METHOD_TELNET))
		*port = p->telnet.port;
	else
		*port = p->ftp.port;
	return 0;
}

/* Static NAT stand-in for the redirect listener: well-known port -> stand-in server. */
static int
map_dst(void *arg, uint32_t *addr, uint16_t *port)
{
	struct pfx *p = arg;

	if (*port == 80)
		*port = p->http.port;
	else if (*port == 21)
		*port = p->ftp.port;
	else if (*port == 23)
		*port = p->telnet.port;
	return 0;
}

static void *
loop_main(void *arg)
{
	struct pfx *p = arg;

	loop_run(p->loop);
	return NULL;
}

static int
setup(void **state)
{
	struct pfx *p = calloc(1, sizeof(*p));

	if (p == NULL || loop_new(&p->loop) < 0)
		return -1;
	pthread_mutex_init(&p->set.lock, NULL);
	pthread_mutex_init(&p->aaa.lock, NULL);
	p->aaa.loop = p->loop;
	p->aaa.user = "alice";
	p->aaa.password = "secret";
	p->aaa.delay_ms = 20;
	fake_hooks(&p->hooks, &p->set, &p->aaa);
	p->hooks.original_dst = orig_dst;
	p->hooks.map_dst = map_dst;
	p->hooks.set_arg = p;
	uauth_config_defaults(&p->cfg);
	snprintf(p->cfg.hostname, sizeof(p->cfg.hostname), "testgw");
	p->cfg.listen_addr = INADDR_ANY;
	p->cfg.port = p->cfg.port_http = p->cfg.port_ftp = p->cfg.port_telnet =
	        UAUTH_PORT_EPHEMERAL;
	p->cfg.nrules = 1;
	p->cfg.rules[0] = (struct uauth_rule){.include = true,
	                                      .service = UAUTH_SVC_ANY,
	                                      .local_addr = LO(1),
	                                      .local_mask = 0xffffffffu,
	                                      .group = "AuthInbound"};
	srv_start(&p->http, SRV_HTTP);
	srv_start(&p->telnet, SRV_TELNET);
	srv_start(&p->ftp, SRV_FTP);
	*state = p;
	return 0;
}

static void
start(struct pfx *p)
{
	struct pc_err err = {0};

	assert_int_equal(uauth_new(p->loop, NULL, &p->cfg, &p->hooks, &p->u, &err), 0);
	assert_true(uauth_listen_port(p->u, UAUTH_METHOD_HTTP) != 0);
	assert_int_equal(pthread_create(&p->loop_th, NULL, loop_main, p), 0);
}

static int
teardown(void **state)
{
	struct pfx *p = *state;

	if (p->u != NULL) {
		loop_stop(p->loop);
		pthread_join(p->loop_th, NULL);
	}
	uauth_free(p->u);
	srv_stop(&p->http);
	srv_stop(&p->telnet);
	srv_stop(&p->ftp);
	loop_free(p->loop);
	free(p);
	return 0;
}

/* Runs on the loop thread. */
struct q {
	struct pfx *p;
	struct uauth_counts c;
	const char *clear;
	uint32_t addr;
	bool authed;
	int rc;
};

static int
q_counts(struct loop *loop, void *arg)
{
	struct q *q = arg;

	uauth_get_counts(q->p->u, &q->c);
	q->authed = uauth_is_authenticated(q->p->u, q->addr);
	return 0;
}

static int
q_clear(struct loop *loop, void *arg)
{
	struct q *q = arg;

	q->rc = uauth_clear(q->p->u, q->clear, NULL);
	return 0;
}

static struct q
query(struct pfx *p, uint32_t addr)
{
	struct q q = {.p = p, .addr = addr};

	assert_int_equal(loop_call(p->loop, q_counts, &q, 5000), 0);
	return q;
}

/* ---- client side ---- */

static int
cl_connect(struct pfx *p, enum uauth_method m, uint8_t src)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(LO(src))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	set_timeouts(fd, 5000);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sa.sin_addr.s_addr = htonl(LO(1));
	sa.sin_port = htons(uauth_listen_port(p->u, m));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads until needle was seen (or EOF / 5 s); returns the bytes read, NUL-terminated. */
static size_t
cl_until(int fd, char *buf, size_t cap, const char *needle)
{
	size_t n = 0;

	buf[0] = '\0';
	while (n + 1 < cap) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (needle != NULL && memmem(buf, n, needle, strlen(needle)) != NULL)
			break;
	}
	return n;
}

static bool
cl_closed(int fd)
{
	char b[256];

	for (;;) {
		ssize_t r = recv(fd, b, sizeof(b), 0);

		if (r == 0)
			return true;
		if (r < 0)
			return false;
	}
}

static const char basic_alice[] = "Authorization: Basic YWxpY2U6c2VjcmV0\r\n"; /* alice:secret */
static const char basic_wrong[] = "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n"; /* alice:wrong */

static void
http_get(int fd, const char *auth)
{
	char req[512];

	snprintf(req, sizeof(req), "GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n",
	         auth != NULL ? auth : "");
	sends(fd, req);
}

/* ---- tests ---- */

static void
test_http_challenge_retry_splice(void **state)
{
	struct pfx *p = *state;
	char buf[4096];
	struct q q;
	int fd;

	start(p);
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 2);
	http_get(fd, NULL);
	cl_until(fd, buf, sizeof(buf), "</html>\n");
	assert_non_null(strstr(buf, "HTTP/1.1 401 Unauthorized\r\n"));
	assert_non_null(strstr(buf, "WWW-Authenticate: Basic realm=\"Portcullis testgw\"\r\n"));
	assert_non_null(strstr(buf, "Connection: keep-alive\r\n"));
	q = query(p, LO(2));
	assert_false(q.authed);
	assert_int_equal(q.c.in_progress, 1);

	/* same connection (as a browser does): wrong password, then the right one */
	http_get(fd, basic_wrong);
	cl_until(fd, buf, sizeof(buf), "</html>\n");
	assert_non_null(strstr(buf, "401 Unauthorized"));
	assert_non_null(strstr(buf, "wrong user name or password"));
	assert_int_equal(fake_set_count(&p->set), 0);
	http_get(fd, basic_alice);
	cl_until(fd, buf, sizeof(buf), NULL);
	assert_non_null(strstr(buf, "HTTP/1.0 200 OK"));
	assert_non_null(strstr(buf, "hello-from-server"));
	close(fd);
	/* the server got the request, without the proxy's credentials */
	pthread_mutex_lock(&p->http.lock);
	assert_non_null(strstr(p->http.last_req, "GET /page HTTP/1.1\r\n"));
	assert_null(strcasestr(p->http.last_req, "Authorization"));
	pthread_mutex_unlock(&p->http.lock);
	assert_int_equal(fake_set_timeout(&p->set, LO(2)), 300);
	assert_string_equal(p->aaa.last_group, "AuthInbound");
	assert_int_equal(p->aaa.last_service, AAA_SVC_HTTP);
	assert_int_equal(p->aaa.last_peer, LO(2));
	q = query(p, LO(2));
	assert_true(q.authed);
	assert_int_equal(q.c.current, 1);
	assert_int_equal(q.c.in_progress, 0);
	assert_int_equal(q.c.in_progress_most_seen, 1);

	/* a cached source that still reaches the listener passes without a prompt */
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 2);
	http_get(fd, NULL);
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "hello-from-server"));

	/* clear uauth: prompted again */
	q.clear = "127.0.0.2";
	assert_int_equal(loop_call(p->loop, q_clear, &q, 5000), 0);
	assert_int_equal(q.rc, 1);
	assert_int_equal(fake_set_count(&p->set), 0);
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 2);
	http_get(fd, NULL);
	cl_until(fd, buf, sizeof(buf), "</html>\n");
	close(fd);
	assert_non_null(strstr(buf, "401 Unauthorized"));
}

static void
test_http_too_many_failures(void **state)
{
	struct pfx *p = *state;
	char buf[4096];
	int fd;

	start(p);
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 3);
	for (int i = 0; i < 2; i++) {
		http_get(fd, basic_wrong);
		cl_until(fd, buf, sizeof(buf), "</html>\n");
		assert_non_null(strstr(buf, "401 Unauthorized"));
	}
	http_get(fd, basic_wrong);
	cl_until(fd, buf, sizeof(buf), NULL); /* until the proxy closes */
	assert_non_null(strstr(buf, "HTTP/1.1 403 Forbidden"));
	assert_non_null(strstr(buf, "too many authentication failures"));
	close(fd);
	assert_int_equal(fake_set_count(&p->set), 0);
	assert_int_equal(p->aaa.requests, 3);
	assert_false(query(p, LO(3)).authed);
}

static void
test_http_bad_and_oversized(void **state)
{
	struct pfx *p = *state;
	static char big[UAUTH_HTTP_MAX_HEAD + 100];
	char buf[4096];
	int fd;

	start(p);
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 4);
	sends(fd, "BLAH\r\n\r\n");
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request"));

	fd = cl_connect(p, UAUTH_METHOD_HTTP, 4);
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "GET /", 5);
	sends(fd, big);
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "431"));
	assert_int_equal(p->aaa.requests, 0);
}

static void
test_telnet(void **state)
{
	struct pfx *p = *state;
	char buf[4096];
	const char *pw;
	int fd;

	start(p);
	fd = cl_connect(p, UAUTH_METHOD_TELNET, 5);
	cl_until(fd, buf, sizeof(buf), "Username: ");
	assert_non_null(strstr(buf, "testgw: authentication required"));
	/* a real client's option negotiation is ignored */
	sends(fd, "\xff\xfd\x03\xff\xfb\x18"
	          "alice\r\n");
	cl_until(fd, buf, sizeof(buf), "Password: ");
	pw = strstr(buf, "Password: ");
	assert_non_null(pw);
	assert_true(pw - buf >= 3);
	assert_memory_equal(pw - 3, "\xff\xfb\x01",
	                    3); /* IAC WILL ECHO: the client stops echoing */
	sends(fd, "wrong\r\n");
	cl_until(fd, buf, sizeof(buf), "Username: ");
	assert_non_null(strstr(buf, "Error: Authentication failed"));
	assert_int_equal(fake_set_count(&p->set), 0);
	sends(fd, "alice\r\n");
	cl_until(fd, buf, sizeof(buf), "Password: ");
	sends(fd, "secret\r\n");
	cl_until(fd, buf, sizeof(buf), "telnet-server-banner\r\n");
	assert_non_null(strstr(buf, "Authentication successful"));
	assert_non_null(strstr(buf, "telnet-server-banner"));
	sends(fd, "ping\r\n");
	cl_until(fd, buf, sizeof(buf), "echo: ping\r\n");
	assert_non_null(strstr(buf, "echo: ping"));
	sends(fd, "bye\r\n");
	assert_true(cl_closed(fd)); /* server closed: the proxy closes the client side */
	close(fd);
	assert_int_equal(fake_set_timeout(&p->set, LO(5)), 300);
	assert_int_equal(p->aaa.last_service, AAA_SVC_TELNET);
}

static void
test_ftp(void **state)
{
	struct pfx *p = *state;
	char buf[4096];
	int fd;

	start(p);
	fd = cl_connect(p, UAUTH_METHOD_FTP, 6);
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_non_null(strstr(buf, "220 testgw cut-through authentication"));
	sends(fd, "PASS x\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_non_null(strstr(buf, "503"));
	sends(fd, "LIST\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_non_null(strstr(buf, "530 Please login"));
	sends(fd, "USER alice@bob\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_non_null(strstr(buf, "331"));
	sends(fd, "PASS nope@bobpw\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_non_null(strstr(buf, "530 Login incorrect"));
	assert_int_equal(fake_set_count(&p->set), 0);
	sends(fd, "user alice@bob\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	sends(fd, "PASS secret@bobpw\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_string_equal(buf, "230 bob logged in\r\n");
	sends(fd, "PWD\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_non_null(strstr(buf, "257 \"/srv/ftp\""));
	sends(fd, "QUIT\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_non_null(strstr(buf, "221"));
	close(fd);
	pthread_mutex_lock(&p->ftp.lock);
	assert_string_equal(p->ftp.last_req, "USER bob|PASS bobpw|PWD|QUIT|");
	pthread_mutex_unlock(&p->ftp.lock);
	assert_int_equal(fake_set_timeout(&p->set, LO(6)), 300);
	assert_int_equal(p->aaa.last_service, AAA_SVC_FTP);
}

static void
test_silent_client_timed_out(void **state)
{
	struct pfx *p = *state;
	char buf[1024];
	uint64_t t0;
	struct q q;
	int fd;

	p->cfg.prompt_timeout_ms = 300;
	start(p);
	fd = cl_connect(p, UAUTH_METHOD_TELNET, 7);
	cl_until(fd, buf, sizeof(buf), "Username: ");
	assert_int_equal(query(p, LO(7)).c.in_progress, 1);
	t0 = loop_now_ms();
	cl_until(fd, buf, sizeof(buf), NULL);
	assert_true(loop_now_ms() - t0 >= 200);
	assert_true(loop_now_ms() - t0 < 3000);
	assert_non_null(strstr(buf, "authentication timed out"));
	close(fd);
	q = query(p, LO(7));
	assert_int_equal(q.c.in_progress, 0);
	assert_int_equal(q.c.in_progress_most_seen, 1);

	/* HTTP client that never finishes its head */
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 7);
	sends(fd, "GET / HTTP/1.1\r\nHost: x\r\n");
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "408 Request Timeout"));
}

static void
test_overlong_line(void **state)
{
	struct pfx *p = *state;
	char buf[1024], line[UAUTH_LINE_MAX + 50];
	int fd;

	start(p);
	fd = cl_connect(p, UAUTH_METHOD_TELNET, 8);
	cl_until(fd, buf, sizeof(buf), "Username: ");
	memset(line, 'x', sizeof(line));
	send(fd, line, sizeof(line), MSG_NOSIGNAL);
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "Error: line too long"));
	assert_int_equal(p->aaa.requests, 0);
}

struct par {
	struct pfx *p;
	uint8_t src;
	bool right;
	bool ok;
};

static void *
par_client(void *arg)
{
	struct par *c = arg;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(LO(c->src))};
	char req[256], buf[4096];
	size_t n = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	set_timeouts(fd, 5000);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	sa.sin_addr.s_addr = htonl(LO(1));
	sa.sin_port = htons(uauth_listen_port(c->p->u, UAUTH_METHOD_HTTP));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n",
	         c->right ? basic_alice : basic_wrong);
	sends(fd, req);
	for (;;) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	c->ok = c->right ? strstr(buf, "hello-from-server") != NULL
	                 : strstr(buf, "401 Unauthorized") != NULL;
out:
	close(fd);
	return NULL;
}

static void
test_parallel_clients(void **state)
{
	struct pfx *p = *state;
	struct par c[12];
	pthread_t th[12];
	struct q q;

	p->aaa.delay_ms = 100; /* all of them wait for the AAA layer at the same time */
	start(p);
	for (int i = 0; i < 12; i++) {
		c[i] = (struct par){.p = p, .src = (uint8_t)(10 + i), .right = i < 10};
		assert_int_equal(pthread_create(&th[i], NULL, par_client, &c[i]), 0);
	}
	for (int i = 0; i < 12; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 12; i++) {
		if (!c[i].ok)
			fail_msg("client 127.0.0.%u (%s password) got the wrong answer", c[i].src,
			         c[i].right ? "right" : "wrong");
	}
	assert_int_equal(fake_set_count(&p->set), 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(fake_set_timeout(&p->set, LO(10 + i)), 300);
	assert_int_equal(fake_set_timeout(&p->set, LO(20)), -1);
	q = query(p, LO(10));
	assert_int_equal(q.c.current, 10);
	assert_true(q.c.in_progress_most_seen >= 5);
	assert_int_equal(q.c.in_progress, 0);
}

static void
test_timeout_zero_no_cache(void **state)
{
	struct pfx *p = *state;
	char buf[4096];
	int fd;

	p->cfg.timeout_s = 0;
	start(p);
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 9);
	http_get(fd, basic_alice);
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "hello-from-server"));
	assert_int_equal(fake_set_count(&p->set), 0);
	assert_false(query(p, LO(9)).authed);
	/* the next connection authenticates again */
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 9);
	http_get(fd, NULL);
	cl_until(fd, buf, sizeof(buf), "</html>\n");
	close(fd);
	assert_non_null(strstr(buf, "401 Unauthorized"));
}

static void
test_aaa_unavailable_and_no_rule(void **state)
{
	struct pfx *p = *state;
	char buf[4096];
	int fd;

	p->aaa.unavailable = true;
	start(p);
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 2);
	http_get(fd, basic_alice);
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "503 Service Unavailable"));
	assert_int_equal(fake_set_count(&p->set), 0);

	p->no_rule_dst = true;
	fd = cl_connect(p, UAUTH_METHOD_FTP, 2);
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "421 no authentication rule for this connection"));
}

static void
test_client_gone_during_aaa(void **state)
{
	struct pfx *p = *state;
	char buf[1024];
	struct q q;
	int fd;

	p->aaa.delay_ms = 2000;
	start(p);
	fd = cl_connect(p, UAUTH_METHOD_TELNET, 3);
	cl_until(fd, buf, sizeof(buf), "Username: ");
	sends(fd, "alice\r\n");
	cl_until(fd, buf, sizeof(buf), "Password: ");
	sends(fd, "secret\r\n");
	usleep(100000);
	/* RST while the AAA request is pending: the request is cancelled */
	{
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	for (int i = 0; i < 50 && p->aaa.cancels == 0; i++)
		usleep(20000);
	assert_int_equal(p->aaa.cancels, 1);
	q = query(p, LO(3));
	assert_int_equal(q.c.in_progress, 0);
	assert_false(q.authed);
}

/* FTP without '@': the same name and password go to the proxy and to the server; the server's
 * refusal reaches the client, which then talks to the server directly (already authenticated). */
static void
test_ftp_same_credentials(void **state)
{
	struct pfx *p = *state;
	char buf[4096];
	int fd;

	start(p);
	fd = cl_connect(p, UAUTH_METHOD_FTP, 41);
	cl_until(fd, buf, sizeof(buf), "\r\n");
	sends(fd, "USER alice\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	sends(fd, "PASS secret\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_string_equal(buf, "530 Login incorrect\r\n"); /* from the server: no alice there */
	sends(fd, "USER bob\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_string_equal(buf, "331 Password required for bob\r\n");
	sends(fd, "PASS bobpw\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_string_equal(buf, "230 bob logged in\r\n");
	close(fd);
	pthread_mutex_lock(&p->ftp.lock);
	assert_string_equal(p->ftp.last_req, "USER alice|PASS secret|USER bob|PASS bobpw|");
	pthread_mutex_unlock(&p->ftp.lock);
	assert_int_equal(fake_set_timeout(&p->set, LO(41)), 300);
}

/* Two pipelined requests, the first with a wrong password: the second is answered after the
 * first's rejection without waiting for more bytes. */
static void
test_http_pipelined_after_reject(void **state)
{
	struct pfx *p = *state;
	char buf[4096], req[1024];
	int fd;

	start(p);
	fd = cl_connect(p, UAUTH_METHOD_HTTP, 40);
	snprintf(req, sizeof(req),
	         "GET /a HTTP/1.1\r\nHost: x\r\n%s\r\nGET /b HTTP/1.1\r\nHost: x\r\n%s\r\n",
	         basic_wrong, basic_alice);
	sends(fd, req);
	cl_until(fd, buf, sizeof(buf), "hello-from-server");
	close(fd);
	assert_non_null(strstr(buf, "401 Unauthorized"));
	assert_non_null(strstr(buf, "hello-from-server"));
	pthread_mutex_lock(&p->http.lock);
	assert_non_null(strstr(p->http.last_req, "GET /b HTTP/1.1"));
	pthread_mutex_unlock(&p->http.lock);
	assert_int_equal(p->aaa.requests, 2);
}

/* One redirect port for all services (what gateway/nat/ emits): the original destination port
 * picks the dialogue. */
static void
test_redirect_port_picks_service(void **state)
{
	struct pfx *p = *state;
	char buf[4096];
	int fd;

	start(p);
	p->mux_dport = 23;
	fd = cl_connect(p, UAUTH_METHOD_IPSEC, 30);
	cl_until(fd, buf, sizeof(buf), "Username: ");
	close(fd);
	assert_non_null(strstr(buf, "testgw: authentication required"));

	p->mux_dport = 21;
	fd = cl_connect(p, UAUTH_METHOD_IPSEC, 30);
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_non_null(strstr(buf, "220 testgw cut-through authentication"));
	sends(fd, "USER alice@bob\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	sends(fd, "PASS secret@bobpw\r\n");
	cl_until(fd, buf, sizeof(buf), "\r\n");
	assert_string_equal(buf, "230 bob logged in\r\n");
	close(fd);
	assert_int_equal(p->aaa.last_service, AAA_SVC_FTP);
	assert_int_equal(fake_set_timeout(&p->set, LO(30)), 300);

	p->mux_dport = 80;
	fd = cl_connect(p, UAUTH_METHOD_IPSEC, 31);
	http_get(fd, NULL);
	cl_until(fd, buf, sizeof(buf), "</html>\n");
	assert_non_null(strstr(buf, "401 Unauthorized"));
	http_get(fd, basic_alice);
	cl_until(fd, buf, sizeof(buf), NULL);
	close(fd);
	assert_non_null(strstr(buf, "hello-from-server"));
	assert_int_equal(p->aaa.last_service, AAA_SVC_HTTP);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_http_challenge_retry_splice, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_http_too_many_failures, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_http_bad_and_oversized, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_telnet, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ftp, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_silent_client_timed_out, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_overlong_line, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_parallel_clients, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout_zero_no_cache, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_aaa_unavailable_and_no_rule, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_client_gone_during_aaa, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_redirect_port_picks_service, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_http_pipelined_after_reject, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ftp_same_credentials, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
