/* The cut-through listeners: connections redirected by the NAT rules arrive here, the user is
 * prompted (HTTP Basic challenge, Telnet Username/Password, FTP USER/PASS), the credentials go to
 * the AAA layer, and on success the source joins the uauth set and this connection is spliced on
 * to the real server (learned with SO_ORIGINAL_DST). Non-blocking on the engine loop. */
#include "gateway/uauth/uauth.h"
#include "gateway/uauth/uauth_int.h"
#include "gateway/uauth/uauth_parse.h"

#include "gateway/core/log.h"
#include "gateway/core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define UAUTH_CONN_BUF 16384 /* each splice direction */

enum conn_state {
	CS_PROMPT,  /* reading credentials from the client */
	CS_AAA,     /* waiting for the AAA answer */
	CS_CONNECT, /* connecting to the real server */
	CS_FTP_UP,  /* logging in to the real FTP server as the remote user */
	CS_SPLICE,  /* copying bytes both ways */
	CS_DRAIN,   /* sending a last message, then closing */
};

enum ftp_up_stage {
	FTP_UP_GREETING,
	FTP_UP_USER,
	FTP_UP_PASS,
};

struct uauth_conn {
	struct uauth *u;
	struct uauth_conn *prev, *next;
	enum uauth_method svc;
	bool mux; /* accepted on the redirect listener: svc from the original port */
	enum conn_state state;
	int cfd, sfd;
	bool c_watched, s_watched;
	bool c_eof, s_eof;        /* read EOF from client / server */
	bool c_shut, s_shut;      /* shut down our writing towards client / server */
	uint32_t src, odst, rdst; /* host order */
	uint16_t sport, odport, rdport;
	char src_s[INET_ADDRSTRLEN + 8];
	char group[UAUTH_MAX_GROUP];
	bool counted; /* in u->in_progress */
	int tries;
	struct loop_timer *timer;
	uint64_t last_io_ms;
	bool aaa_pending;
	uint64_t aaa_id;
	/* prompt phase */
	char in[UAUTH_HTTP_MAX_HEAD];
	size_t in_len, head_len;
	bool http_close; /* close after answering this request (body, or not keep-alive) */
	struct uauth_linebuf line;
	struct uauth_telnet_filter tn;
	bool have_user;
	char user[AAA_MAX_USER], pass[AAA_MAX_PASSWORD];
	char ruser[AAA_MAX_USER], rpass[AAA_MAX_PASSWORD];
	enum ftp_up_stage ftp_stage;
	struct uauth_linebuf upline;
	/* towards the client (messages, then server->client bytes) and towards the server */
	char out[UAUTH_CONN_BUF];
	size_t out_len;
	char up[UAUTH_CONN_BUF];
	size_t up_len;
};

static void conn_after(struct uauth_conn *c, int rc);
static const char *listener_name(const struct uauth_listener *l);
static void on_conn_fd(struct loop *loop, int fd, uint32_t ev, void *arg);
static int start_connect(struct uauth_conn *c);
static int start_prompt_or_pass(struct uauth_conn *c);

static void
wipe_creds(struct uauth_conn *c)
{
	explicit_bzero(c->pass, sizeof(c->pass));
	explicit_bzero(c->rpass, sizeof(c->rpass));
	explicit_bzero(&c->line, sizeof(c->line));
}

static void
set_counted(struct uauth_conn *c, bool on)
{
	if (c->counted == on)
		return;
	c->counted = on;
	uauth_progress(c->u, on ? 1 : -1);
}

static void
conn_free(struct uauth_conn *c)
{
	struct uauth *u = c->u;

	if (c->timer != NULL)
		loop_timer_cancel(u->loop, c->timer);
	if (c->aaa_pending && u->hooks.cancel != NULL)
		u->hooks.cancel(u->hooks.aaa_arg, c->aaa_id);
	if (c->c_watched)
		loop_del_fd(u->loop, c->cfd);
	if (c->s_watched)
		loop_del_fd(u->loop, c->sfd);
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->sfd >= 0)
		close(c->sfd);
	set_counted(c, false);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		u->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	u->nconns--;
	wipe_creds(c);
	explicit_bzero(c->in, sizeof(c->in));
	explicit_bzero(c->up, sizeof(c->up));
	free(c);
}

/* ---- output ---- */

static int
out_put(struct uauth_conn *c, const void *data, size_t n)
{
	if (n > sizeof(c->out) - c->out_len) {
		log_warn(LOG_UAUTH, "%s: client output buffer full", c->src_s);
		return -ENOBUFS;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
	return 0;
}

static int
out_str(struct uauth_conn *c, const char *s)
{
	return out_put(c, s, strlen(s));
}

/* Writes as much of buf as the socket takes. -errno on a hard error. */
static int
flush(int fd, char *buf, size_t *len)
{
	while (*len > 0) {
		ssize_t n = send(fd, buf, *len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		memmove(buf, buf + n, *len - (size_t)n);
		*len -= (size_t)n;
	}
	return 0;
}

static int
drain_with(struct uauth_conn *c, const char *msg)
{
	out_str(c, msg);
	c->state = CS_DRAIN;
	set_counted(c, false);
	return 0;
}

/* ---- per-service prompts and failures ---- */

static void
http_challenge(struct uauth_conn *c, const char *why, bool close_after)
{
	char body[512], hdr[768];
	int bl;

	bl = snprintf(body, sizeof(body),
	              "<html><head><title>401 Authentication required</title></head><body>"
	              "<h1>Authentication required</h1><p>%s requires you to log in before "
	              "this connection is allowed (%s).</p></body></html>\n",
	              c->u->cfg.hostname, why);
	snprintf(hdr, sizeof(hdr),
	         "HTTP/1.1 401 Unauthorized\r\n"
	         "WWW-Authenticate: Basic realm=\"Portcullis %s\"\r\n"
	         "Content-Type: text/html\r\nContent-Length: %d\r\n"
	         "Cache-Control: no-store\r\nConnection: %s\r\n\r\n",
	         c->u->cfg.hostname, bl, close_after ? "close" : "keep-alive");
	out_str(c, hdr);
	out_str(c, body);
}

static int
http_fail(struct uauth_conn *c, int status, const char *reason, const char *text)
{
	char msg[768];

	snprintf(msg, sizeof(msg),
	         "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
	         "Connection: close\r\n\r\n%s\n",
	         status, reason, strlen(text) + 1, text);
	return drain_with(c, msg);
}

static void
telnet_prompt_user(struct uauth_conn *c)
{
	out_str(c, "Username: ");
}

static int
fail_generic(struct uauth_conn *c, const char *text)
{
	char msg[512];

	switch (c->svc) {
	case UAUTH_METHOD_HTTP:
		return http_fail(c, 403, "Forbidden", text);
	case UAUTH_METHOD_FTP:
		snprintf(msg, sizeof(msg), "421 %s\r\n", text);
		return drain_with(c, msg);
	default:
		snprintf(msg, sizeof(msg), "\r\nError: %s\r\n", text);
		return drain_with(c, msg);
	}
}

/* ---- AAA ---- */

static int http_process(struct uauth_conn *c);
static int telnet_process(struct uauth_conn *c);
static int ftp_process(struct uauth_conn *c);

/* What the client sent ahead while the AAA layer was asked (a pipelined request, typed-ahead
 * lines) is handled now instead of waiting for more bytes. */
static int
process_buffered(struct uauth_conn *c)
{
	if (c->state != CS_PROMPT)
		return 0;
	switch (c->svc) {
	case UAUTH_METHOD_HTTP:
		return c->in_len > 0 ? http_process(c) : 0;
	case UAUTH_METHOD_FTP:
		return c->line.len > 0 ? ftp_process(c) : 0;
	default:
		return c->line.len > 0 ? telnet_process(c) : 0;
	}
}

static void
on_aaa(void *arg, const struct aaa_auth_result *res)
{
	struct uauth_conn *c = arg;
	struct uauth *u = c->u;
	int max = u->cfg.max_tries > 0 ? u->cfg.max_tries : UAUTH_MAX_TRIES;
	int rc = 0;

	c->aaa_pending = false;
	explicit_bzero(c->pass, sizeof(c->pass));
	if (res->result == AAA_ACCEPT) {
		log_info(LOG_UAUTH, "%s: %s user '%s' authenticated (group %s%s%s)", c->src_s,
		         uauth_method_name(c->svc), c->user, c->group, res->server[0] ? ", " : "",
		         res->server);
		rc = uauth_add_cut_through(u, c->user, c->src, c->svc, c->group);
		if (rc < 0)
			log_warn(LOG_UAUTH,
			         "%s: user '%s' not cached (%s): this connection is spliced, "
			         "the next one prompts again",
			         c->src_s, c->user, strerror(-rc));
		if (c->svc == UAUTH_METHOD_TELNET)
			out_str(c, "\r\nAuthentication successful\r\n");
		conn_after(c, start_connect(c));
		return;
	}
	if (res->result != AAA_REJECT) {
		log_warn(LOG_UAUTH, "%s: %s user '%s': authentication not possible: %s", c->src_s,
		         uauth_method_name(c->svc), c->user, res->reason);
		if (c->svc == UAUTH_METHOD_HTTP)
			rc = http_fail(c, 503, "Service Unavailable",
			               "Authentication server unavailable, try again later.");
		else
			rc = fail_generic(c, "authentication server unavailable");
		conn_after(c, rc);
		return;
	}
	c->tries++;
	log_info(LOG_UAUTH, "%s: %s user '%s' rejected (attempt %d of %d): %s", c->src_s,
	         uauth_method_name(c->svc), c->user, c->tries, max, res->reason);
	c->state = CS_PROMPT;
	c->have_user = false;
	if (c->tries >= max) {
		conn_after(c, fail_generic(c, "too many authentication failures"));
		return;
	}
	switch (c->svc) {
	case UAUTH_METHOD_HTTP: {
		bool close_after = c->http_close;

		explicit_bzero(c->in, c->head_len);
		memmove(c->in, c->in + c->head_len, c->in_len - c->head_len);
		c->in_len -= c->head_len;
		c->head_len = 0;
		http_challenge(c, "wrong user name or password", close_after);
		if (close_after)
			c->state = CS_DRAIN;
		break;
	}
	case UAUTH_METHOD_FTP:
		out_str(c, "530 Login incorrect\r\n");
		break;
	default:
		out_str(c, "\r\nError: Authentication failed\r\n\r\n");
		telnet_prompt_user(c);
		break;
	}
	conn_after(c, process_buffered(c));
}

static int
start_aaa(struct uauth_conn *c, enum aaa_service svc)
{
	struct uauth *u = c->u;
	struct aaa_auth_req req = {0};
	int rc;

	snprintf(req.group, sizeof(req.group), "%s", c->group);
	snprintf(req.user, sizeof(req.user), "%s", c->user);
	snprintf(req.password, sizeof(req.password), "%s", c->pass);
	explicit_bzero(c->pass, sizeof(c->pass));
	req.service = svc;
	req.peer_addr = c->src;
	req.timeout_ms = u->cfg.aaa_timeout_ms;
	c->state = CS_AAA;
	c->aaa_pending = true;
	rc = u->hooks.authenticate(u->hooks.aaa_arg, &req, on_aaa, c, &c->aaa_id);
	explicit_bzero(req.password, sizeof(req.password));
	if (rc < 0) {
		c->aaa_pending = false;
		log_error(LOG_UAUTH, "%s: aaa_authenticate for '%s': %s", c->src_s, c->user,
		          strerror(-rc));
		return fail_generic(c, "authentication could not be started");
	}
	return 0;
}

/* ---- HTTP ---- */

/* The request head without Authorization lines (the proxy's credentials are not the web
 * server's business), then what followed it. */
static int
http_forward_request(struct uauth_conn *c)
{
	const char *p = c->in, *end = c->in + c->head_len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol != NULL ? (size_t)(eol - p) + 1 : (size_t)(end - p);

		if (!(l >= 14 && strncasecmp(p, "Authorization:", 14) == 0)) {
			if (l > sizeof(c->up) - c->up_len)
				return -ENOBUFS;
			memcpy(c->up + c->up_len, p, l);
			c->up_len += l;
		}
		p += l;
	}
	if (c->in_len - c->head_len > sizeof(c->up) - c->up_len)
		return -ENOBUFS;
	memcpy(c->up + c->up_len, c->in + c->head_len, c->in_len - c->head_len);
	c->up_len += c->in_len - c->head_len;
	explicit_bzero(c->in, sizeof(c->in));
	c->in_len = c->head_len = 0;
	return 0;
}

static int
http_process(struct uauth_conn *c)
{
	struct uauth_http_req req;
	const char *why = "";
	long hl;
	int rc;

	while (c->state == CS_PROMPT) {
		hl = uauth_http_head_len(c->in, c->in_len);
		if (hl == 0)
			return 0;
		if (hl < 0)
			return http_fail(c, 431, "Request Header Fields Too Large",
			                 "Request head too large.");
		if (uauth_http_parse(c->in, (size_t)hl, &req, &why) < 0) {
			log_info(LOG_UAUTH, "%s: bad HTTP request: %s", c->src_s, why);
			explicit_bzero(&req, sizeof(req));
			return http_fail(c, 400, "Bad Request", why);
		}
		if (!req.has_auth) {
			bool close_after = req.has_body || !req.keep_alive;

			memmove(c->in, c->in + hl, c->in_len - (size_t)hl);
			c->in_len -= (size_t)hl;
			http_challenge(c, "no credentials given", close_after);
			if (close_after) {
				c->state = CS_DRAIN;
				set_counted(c, false);
			}
			continue;
		}
		snprintf(c->user, sizeof(c->user), "%s", req.user);
		snprintf(c->pass, sizeof(c->pass), "%s", req.password);
		c->head_len = (size_t)hl; /* the head stays in c->in until the answer */
		c->http_close = req.has_body || !req.keep_alive;
		explicit_bzero(&req, sizeof(req));
		rc = start_aaa(c, AAA_SVC_HTTP);
		return rc;
	}
	return 0;
}

/* ---- Telnet ---- */

static int
telnet_process(struct uauth_conn *c)
{
	char l[UAUTH_LINE_MAX];
	static const char will_echo[] = {(char)255, (char)251, 1};
	static const char wont_echo[] = {(char)255, (char)252, 1};

	while (c->state == CS_PROMPT) {
		int rc = uauth_linebuf_take(&c->line, l, sizeof(l));

		if (rc == 0)
			return 0;
		if (rc < 0)
			return fail_generic(c, "line too long");
		if (!c->have_user) {
			if (l[0] == '\0') {
				telnet_prompt_user(c);
				continue;
			}
			if (strlen(l) >= sizeof(c->user))
				return fail_generic(c, "user name too long");
			snprintf(c->user, sizeof(c->user), "%s", l);
			c->have_user = true;
			out_put(c, will_echo, sizeof(will_echo));
			out_str(c, "Password: ");
			continue;
		}
		if (strlen(l) >= sizeof(c->pass)) {
			explicit_bzero(l, sizeof(l));
			return fail_generic(c, "password too long");
		}
		snprintf(c->pass, sizeof(c->pass), "%s", l);
		explicit_bzero(l, sizeof(l));
		out_put(c, wont_echo, sizeof(wont_echo));
		return start_aaa(c, AAA_SVC_TELNET);
	}
	return 0;
}

/* ---- FTP ---- */

static int
ftp_process(struct uauth_conn *c)
{
	char l[UAUTH_LINE_MAX], verb[8];
	const char *arg;
	bool had;

	while (c->state == CS_PROMPT) {
		int rc = uauth_linebuf_take(&c->line, l, sizeof(l));

		if (rc == 0)
			return 0;
		if (rc < 0)
			return fail_generic(c, "command line too long");
		if (uauth_ftp_command(l, verb, sizeof(verb), &arg) < 0) {
			out_str(c, "500 Syntax error, command unrecognized\r\n");
			continue;
		}
		if (strcmp(verb, "USER") == 0) {
			if (arg[0] == '\0') {
				out_str(c, "501 USER needs a name\r\n");
				continue;
			}
			if (uauth_split_at(arg, c->user, sizeof(c->user), c->ruser,
			                   sizeof(c->ruser), &had) < 0) {
				out_str(c, "501 User name too long\r\n");
				continue;
			}
			c->have_user = true;
			out_str(c, "331 Password required (PASS localpass@remotepass)\r\n");
		} else if (strcmp(verb, "PASS") == 0) {
			if (!c->have_user) {
				out_str(c, "503 Login with USER first\r\n");
				continue;
			}
			rc = uauth_split_at(arg, c->pass, sizeof(c->pass), c->rpass,
			                    sizeof(c->rpass), &had);
			explicit_bzero(l, sizeof(l));
			if (rc < 0) {
				wipe_creds(c);
				out_str(c, "501 Password too long\r\n");
				c->have_user = false;
				continue;
			}
			return start_aaa(c, AAA_SVC_FTP);
		} else if (strcmp(verb, "QUIT") == 0) {
			return drain_with(c, "221 Goodbye\r\n");
		} else {
			out_str(c, "530 Please login with USER and PASS\r\n");
		}
	}
	return 0;
}

/* Reads a reply line of the real FTP server during our login as the remote user. */
static int
ftp_up_process(struct uauth_conn *c)
{
	char l[UAUTH_LINE_MAX], cmd[UAUTH_LINE_MAX + 16];

	for (;;) {
		int rc = uauth_linebuf_take(&c->upline, l, sizeof(l));

		if (rc == 0)
			return 0;
		if (rc < 0)
			return fail_generic(c, "FTP server reply too long");
		/* Final line of a reply: three digits and a space. */
		if (strlen(l) < 4 || l[3] != ' ' || l[0] < '1' || l[0] > '5')
			continue;
		switch (c->ftp_stage) {
		case FTP_UP_GREETING:
			if (l[0] != '2')
				return fail_generic(c, "FTP server refused the connection");
			snprintf(cmd, sizeof(cmd), "USER %s\r\n", c->ruser);
			c->ftp_stage = FTP_UP_USER;
			break;
		case FTP_UP_USER:
			if (strncmp(l, "331", 3) == 0 || strncmp(l, "332", 3) == 0) {
				snprintf(cmd, sizeof(cmd), "PASS %s\r\n", c->rpass);
				explicit_bzero(c->rpass, sizeof(c->rpass));
				c->ftp_stage = FTP_UP_PASS;
				break;
			}
			/* 230 without password, or a refusal: on to the client, who sees it */
			__attribute__((fallthrough));
		case FTP_UP_PASS:
			snprintf(cmd, sizeof(cmd), "%s\r\n", l);
			if (out_str(c, cmd) < 0)
				return -ENOBUFS;
			explicit_bzero(cmd, sizeof(cmd));
			wipe_creds(c);
			/* The rest of the upstream buffer (rare) goes to the client too. */
			if (out_put(c, c->upline.buf, c->upline.len) < 0)
				return -ENOBUFS;
			c->upline.len = 0;
			c->state = CS_SPLICE;
			log_info(LOG_UAUTH, "%s: ftp logged in to the server, splicing", c->src_s);
			return 0;
		}
		if (strlen(cmd) > sizeof(c->up) - c->up_len) {
			explicit_bzero(cmd, sizeof(cmd));
			return -ENOBUFS;
		}
		memcpy(c->up + c->up_len, cmd, strlen(cmd));
		c->up_len += strlen(cmd);
		explicit_bzero(cmd, sizeof(cmd));
	}
}

/* ---- reading ---- */

static int
read_client_prompt(struct uauth_conn *c)
{
	uint8_t tmp[UAUTH_LINE_MAX], filt[UAUTH_LINE_MAX];
	ssize_t n;

	if (c->svc == UAUTH_METHOD_HTTP) {
		if (c->in_len >= sizeof(c->in))
			return http_fail(c, 431, "Request Header Fields Too Large",
			                 "Request head too large.");
		n = recv(c->cfd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	} else {
		n = recv(c->cfd, tmp, sizeof(tmp), 0);
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		log_info(LOG_UAUTH, "%s: recv from client: %s", c->src_s, strerror(errno));
		return -errno;
	}
	if (n == 0) {
		log_info(LOG_UAUTH, "%s: client closed during the %s prompt", c->src_s,
		         uauth_method_name(c->svc));
		return -ECONNRESET;
	}
	c->last_io_ms = loop_now_ms();
	if (c->svc == UAUTH_METHOD_HTTP) {
		c->in_len += (size_t)n;
		return http_process(c);
	}
	if (c->svc == UAUTH_METHOD_TELNET) {
		size_t m = uauth_telnet_filter(&c->tn, tmp, (size_t)n, filt);

		if (uauth_linebuf_put(&c->line, filt, m) < 0)
			return fail_generic(c, "line too long");
		explicit_bzero(filt, sizeof(filt));
		explicit_bzero(tmp, sizeof(tmp));
		return telnet_process(c);
	}
	if (uauth_linebuf_put(&c->line, tmp, (size_t)n) < 0)
		return fail_generic(c, "command line too long");
	explicit_bzero(tmp, sizeof(tmp));
	return ftp_process(c);
}

/* Splice: fd's bytes go into buf (capacity cap). Sets *eof on EOF. */
static int
read_into(struct uauth_conn *c, int fd, char *buf, size_t *len, size_t cap, bool *eof)
{
	ssize_t n;

	if (*len >= cap || *eof)
		return 0;
	n = recv(fd, buf + *len, cap - *len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return -errno;
	}
	if (n == 0)
		*eof = true;
	*len += (size_t)n;
	c->last_io_ms = loop_now_ms();
	return 0;
}

/* ---- connecting on ---- */

static int
start_connect(struct uauth_conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int rc;

	explicit_bzero(&c->line, sizeof(c->line));
	if (c->svc == UAUTH_METHOD_HTTP) {
		rc = http_forward_request(c);
		if (rc < 0)
			return http_fail(c, 502, "Bad Gateway", "Request too large to forward.");
	}
	c->sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->sfd < 0) {
		rc = -errno;
		log_error(LOG_UAUTH, "%s: socket: %s", c->src_s, strerror(errno));
		return rc;
	}
	sa.sin_addr.s_addr = htonl(c->rdst);
	sa.sin_port = htons(c->rdport);
	c->state = CS_CONNECT;
	if (connect(c->sfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		char msg[160];
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sa.sin_addr, a, sizeof(a));
		log_warn(LOG_UAUTH, "%s: connect %s:%u: %s", c->src_s, a, c->rdport,
		         strerror(errno));
		snprintf(msg, sizeof(msg), "cannot reach %s:%u (%s)", a, c->rdport,
		         strerror(errno));
		close(c->sfd);
		c->sfd = -1;
		if (c->svc == UAUTH_METHOD_HTTP)
			return http_fail(c, 502, "Bad Gateway", msg);
		return fail_generic(c, msg);
	}
	rc = loop_add_fd(c->u->loop, c->sfd, EPOLLOUT, on_conn_fd, c);
	if (rc < 0)
		return rc;
	c->s_watched = true;
	return 0;
}

static int
connected(struct uauth_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS)
		return 0;
	if (err != 0) {
		char msg[160], a[INET_ADDRSTRLEN];
		struct in_addr ia = {.s_addr = htonl(c->rdst)};

		inet_ntop(AF_INET, &ia, a, sizeof(a));
		log_warn(LOG_UAUTH, "%s: connect %s:%u: %s", c->src_s, a, c->rdport, strerror(err));
		snprintf(msg, sizeof(msg), "cannot reach %s:%u (%s)", a, c->rdport, strerror(err));
		loop_del_fd(c->u->loop, c->sfd);
		c->s_watched = false;
		close(c->sfd);
		c->sfd = -1;
		if (c->svc == UAUTH_METHOD_HTTP)
			return http_fail(c, 502, "Bad Gateway", msg);
		return fail_generic(c, msg);
	}
	set_counted(c, false);
	if (c->svc == UAUTH_METHOD_FTP && c->ruser[0] != '\0') {
		c->state = CS_FTP_UP;
		c->ftp_stage = FTP_UP_GREETING;
	} else {
		c->state = CS_SPLICE;
		wipe_creds(c);
	}
	return 0;
}

/* ---- events ---- */

static void
watch(struct uauth_conn *c, int fd, bool *watched, uint32_t ev, bool done)
{
	if (fd < 0 || !*watched)
		return;
	if (done) {
		loop_del_fd(c->u->loop, fd);
		*watched = false;
		return;
	}
	loop_mod_fd(c->u->loop, fd, ev);
}

static void
update_events(struct uauth_conn *c)
{
	uint32_t cev = 0, sev = 0;

	switch (c->state) {
	case CS_PROMPT:
		cev = EPOLLIN;
		break;
	case CS_SPLICE:
		if (!c->c_eof && c->up_len < sizeof(c->up))
			cev |= EPOLLIN;
		if (!c->s_eof && c->out_len < sizeof(c->out))
			sev |= EPOLLIN;
		if (c->up_len > 0)
			sev |= EPOLLOUT;
		break;
	case CS_CONNECT:
		sev = EPOLLOUT;
		break;
	case CS_FTP_UP:
		sev = EPOLLIN;
		if (c->up_len > 0)
			sev |= EPOLLOUT;
		break;
	case CS_AAA:
	case CS_DRAIN:
		break;
	}
	if (c->out_len > 0)
		cev |= EPOLLOUT;
	watch(c, c->cfd, &c->c_watched, cev, c->c_eof && c->c_shut);
	watch(c, c->sfd, &c->s_watched, sev, c->s_eof && c->s_shut);
}

/* Called after every step: rc < 0 closes the connection; otherwise flush and re-arm. */
static void
conn_after(struct uauth_conn *c, int rc)
{
	if (rc >= 0 && c->out_len > 0)
		rc = flush(c->cfd, c->out, &c->out_len);
	if (rc >= 0 && c->sfd >= 0 && c->up_len > 0 &&
	    (c->state == CS_SPLICE || c->state == CS_FTP_UP))
		rc = flush(c->sfd, c->up, &c->up_len);
	if (rc >= 0 && c->state == CS_SPLICE) {
		if (c->c_eof && c->up_len == 0 && !c->s_shut) {
			shutdown(c->sfd, SHUT_WR);
			c->s_shut = true;
		}
		if (c->s_eof && c->out_len == 0 && !c->c_shut) {
			shutdown(c->cfd, SHUT_WR);
			c->c_shut = true;
		}
		if (c->c_shut && c->s_shut) {
			conn_free(c);
			return;
		}
	}
	if (rc < 0 || (c->state == CS_DRAIN && c->out_len == 0)) {
		conn_free(c);
		return;
	}
	update_events(c);
}

static void
on_conn_fd(struct loop *loop, int fd, uint32_t ev, void *arg)
{
	struct uauth_conn *c = arg;
	int rc = 0;

	if (fd == c->cfd) {
		if (ev & EPOLLERR) {
			rc = -ECONNRESET;
		} else if (c->state == CS_PROMPT && (ev & (EPOLLIN | EPOLLHUP))) {
			rc = read_client_prompt(c);
		} else if (c->state == CS_SPLICE && (ev & (EPOLLIN | EPOLLHUP))) {
			rc = read_into(c, c->cfd, c->up, &c->up_len, sizeof(c->up), &c->c_eof);
			if ((ev & EPOLLHUP) && !(ev & EPOLLIN) && !c->c_eof)
				rc = -ECONNRESET;
		} else if ((ev & EPOLLHUP) && c->state != CS_SPLICE) {
			rc = -ECONNRESET; /* client gone while we wait */
		}
	} else {
		if (c->state == CS_CONNECT) {
			rc = connected(c);
		} else if (ev & EPOLLERR) {
			rc = -ECONNRESET;
		} else if (c->state == CS_SPLICE && (ev & (EPOLLIN | EPOLLHUP))) {
			rc = read_into(c, c->sfd, c->out, &c->out_len, sizeof(c->out), &c->s_eof);
			if ((ev & EPOLLHUP) && !(ev & EPOLLIN) && !c->s_eof)
				rc = -ECONNRESET;
		} else if (c->state == CS_FTP_UP && (ev & (EPOLLIN | EPOLLHUP))) {
			char tmp[UAUTH_LINE_MAX];
			ssize_t n = recv(c->sfd, tmp, sizeof(tmp), 0);

			if (n > 0 && uauth_linebuf_put(&c->upline, tmp, (size_t)n) == 0)
				rc = ftp_up_process(c);
			else if (n > 0)
				rc = fail_generic(c, "FTP server reply too long");
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				rc = fail_generic(c, "FTP server closed the connection");
		}
	}
	conn_after(c, rc);
}

static void
on_conn_timer(struct loop *loop, void *arg)
{
	struct uauth_conn *c = arg;
	uint64_t now = loop_now_ms(), idle;
	uint32_t lim = c->u->cfg.splice_idle_ms ? c->u->cfg.splice_idle_ms : UAUTH_SPLICE_IDLE_MS;

	c->timer = NULL;
	if (c->state == CS_SPLICE) {
		idle = now - c->last_io_ms;
		if (idle < lim) {
			c->timer = loop_timer_add(loop, lim - idle, on_conn_timer, c);
			if (c->timer != NULL)
				return;
		}
		log_info(LOG_UAUTH, "%s: spliced connection idle, closed", c->src_s);
		conn_free(c);
		return;
	}
	if (c->state == CS_DRAIN) {
		conn_free(c);
		return;
	}
	log_info(LOG_UAUTH, "%s: %s authentication timed out", c->src_s, uauth_method_name(c->svc));
	if (c->aaa_pending && c->u->hooks.cancel != NULL)
		c->u->hooks.cancel(c->u->hooks.aaa_arg, c->aaa_id);
	c->aaa_pending = false;
	if (c->svc == UAUTH_METHOD_HTTP)
		http_fail(c, 408, "Request Timeout", "Authentication timed out.");
	else
		fail_generic(c, "authentication timed out");
	/* one last try to send the message, then give up */
	flush(c->cfd, c->out, &c->out_len);
	conn_free(c);
}

/* ---- accepting ---- */

static int
original_dst(struct uauth_conn *c)
{
	struct uauth *u = c->u;
	struct sockaddr_in sa, self;
	socklen_t len = sizeof(sa), slen = sizeof(self);
	int rc;

	if (u->hooks.original_dst != NULL) {
		rc = u->hooks.original_dst(u->hooks.set_arg, c->cfd, &c->odst, &c->odport);
		if (rc < 0)
			return rc;
	} else {
		if (getsockopt(c->cfd, SOL_IP, SO_ORIGINAL_DST, &sa, &len) < 0) {
			rc = -errno;
			log_warn(LOG_UAUTH, "%s: getsockopt SO_ORIGINAL_DST: %s", c->src_s,
			         strerror(errno));
			return rc;
		}
		c->odst = ntohl(sa.sin_addr.s_addr);
		c->odport = ntohs(sa.sin_port);
		if (getsockname(c->cfd, (struct sockaddr *)&self, &slen) == 0 &&
		    self.sin_addr.s_addr == sa.sin_addr.s_addr && self.sin_port == sa.sin_port) {
			log_warn(LOG_UAUTH, "%s: connection to the listener itself, not redirected",
			         c->src_s);
			return -EDESTADDRREQ;
		}
	}
	c->rdst = c->odst;
	c->rdport = c->odport;
	if (u->hooks.map_dst != NULL) {
		rc = u->hooks.map_dst(u->hooks.set_arg, &c->rdst, &c->rdport);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	} else {
		uauth_static_map(&u->cfg, &c->rdst, &c->rdport); /* -ENOENT: connect as addressed */
	}
	return 0;
}

static int
start_prompt_or_pass(struct uauth_conn *c)
{
	struct uauth *u = c->u;
	char greet[256];
	int rc;

	rc = original_dst(c);
	if (rc < 0)
		return fail_generic(c, "not a redirected connection");
	if (c->mux) {
		/* One redirect port for every service: the original port says which. */
		c->svc = c->odport == 21   ? UAUTH_METHOD_FTP
		         : c->odport == 23 ? UAUTH_METHOD_TELNET
		                           : UAUTH_METHOD_HTTP;
	}
	rc = uauth_rule_lookup(&u->cfg, c->svc, c->src, c->odst, c->rdst, c->odport, c->group,
	                       sizeof(c->group));
	if (rc == -ENOENT) {
		log_warn(LOG_UAUTH, "%s: %s connection matches no aaa authentication include rule",
		         c->src_s, uauth_method_name(c->svc));
		return fail_generic(c, "no authentication rule for this connection");
	}
	/* Excluded, or already authenticated (redirected before the set caught up): pass. */
	if (rc == 0 || uauth_is_authenticated(u, c->src))
		return start_connect(c);
	set_counted(c, true);
	switch (c->svc) {
	case UAUTH_METHOD_TELNET:
		snprintf(greet, sizeof(greet), "\r\n%s: authentication required\r\n\r\n",
		         u->cfg.hostname);
		out_str(c, greet);
		telnet_prompt_user(c);
		break;
	case UAUTH_METHOD_FTP:
		snprintf(greet, sizeof(greet),
		         "220 %s cut-through authentication: USER local@remote, PASS "
		         "localpass@remotepass\r\n",
		         u->cfg.hostname);
		out_str(c, greet);
		break;
	default:
		break;
	}
	return 0;
}

#define UAUTH_ACCEPT_PAUSE_MS 200

static void
on_listen_resume(struct loop *loop, void *arg)
{
	struct uauth_listener *l = arg;

	l->pause = NULL;
	if (l->fd >= 0)
		loop_mod_fd(loop, l->fd, EPOLLIN);
}

static void
on_listen(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct uauth_listener *l = arg;
	struct uauth *u = l->u;

	for (int i = 0; i < 16; i++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		struct uauth_conn *c;
		uint32_t tmo;
		int cfd = accept4(fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The pending connection stays queued: pause instead of spinning. */
				log_warn(LOG_UAUTH, "accept on port %u: %s; pausing %d ms",
				         l->bound_port, strerror(errno), UAUTH_ACCEPT_PAUSE_MS);
				l->pause = loop_timer_add(loop, UAUTH_ACCEPT_PAUSE_MS,
				                          on_listen_resume, l);
				if (l->pause != NULL)
					loop_mod_fd(loop, fd, 0);
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				log_warn(LOG_UAUTH, "accept on port %u: %s", l->bound_port,
				         strerror(errno));
			}
			return;
		}
		if (u->nconns >= UAUTH_MAX_CONNS) {
			log_warn(LOG_UAUTH, "%s listener: %d connections already, refusing one",
			         listener_name(l), UAUTH_MAX_CONNS);
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(cfd);
			return;
		}
		c->u = u;
		c->mux = l->svc == UAUTH_METHOD_IPSEC;
		c->svc = c->mux ? UAUTH_METHOD_HTTP
		                : l->svc; /* mux: until the original port is known */
		c->cfd = cfd;
		c->sfd = -1;
		c->src = ntohl(sa.sin_addr.s_addr);
		c->sport = ntohs(sa.sin_port);
		c->last_io_ms = loop_now_ms();
		{
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &sa.sin_addr, a, sizeof(a));
			snprintf(c->src_s, sizeof(c->src_s), "%s:%u", a, c->sport);
		}
		if (loop_add_fd(loop, cfd, EPOLLIN, on_conn_fd, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->c_watched = true;
		c->next = u->conns;
		if (u->conns != NULL)
			u->conns->prev = c;
		u->conns = c;
		u->nconns++;
		tmo = u->cfg.prompt_timeout_ms ? u->cfg.prompt_timeout_ms : UAUTH_PROMPT_TIMEOUT_MS;
		c->timer = loop_timer_add(loop, tmo, on_conn_timer, c);
		if (c->timer == NULL) {
			conn_free(c);
			continue;
		}
		log_debug(LOG_UAUTH, "%s: %s connection accepted", c->src_s,
		          uauth_method_name(c->svc));
		conn_after(c, start_prompt_or_pass(c));
	}
}

static const char *
listener_name(const struct uauth_listener *l)
{
	return l->svc == UAUTH_METHOD_IPSEC ? "redirect" : uauth_method_name(l->svc);
}

static int
open_listener(struct uauth *u, struct uauth_listener *l, struct pc_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int one = 1, rc;

	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "uauth %s listener: socket: %s",
		                  listener_name(l), strerror(errno));
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(u->cfg.listen_addr);
	sa.sin_port = htons(l->port == UAUTH_PORT_EPHEMERAL ? 0 : l->port);
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l->fd, 128) < 0) {
		rc = pc_err_set(err, PC_ERR_INTERNAL, "",
		                "uauth %s listener: bind/listen port %u: %s", listener_name(l),
		                l->port, strerror(errno));
		close(l->fd);
		l->fd = -1;
		return rc;
	}
	getsockname(l->fd, (struct sockaddr *)&sa, &len);
	l->bound_port = ntohs(sa.sin_port);
	rc = loop_add_fd(u->loop, l->fd, EPOLLIN, on_listen, l);
	if (rc < 0) {
		close(l->fd);
		l->fd = -1;
		return pc_err_set(err, PC_ERR_INTERNAL, "", "uauth %s listener: loop_add_fd: %s",
		                  listener_name(l), strerror(-rc));
	}
	log_info(LOG_UAUTH, "%s cut-through listener on port %u", listener_name(l), l->bound_port);
	return 0;
}

int
uauth_proxy_open(struct uauth *u, struct pc_err *err)
{
	const uint16_t ports[UAUTH_NLISTENERS] = {u->cfg.port_http, u->cfg.port_ftp,
	                                          u->cfg.port_telnet, u->cfg.port};
	const enum uauth_method svcs[UAUTH_NLISTENERS] = {UAUTH_METHOD_HTTP, UAUTH_METHOD_FTP,
	                                                  UAUTH_METHOD_TELNET, UAUTH_METHOD_IPSEC};
	int rc;

	for (int i = 0; i < UAUTH_NLISTENERS; i++) {
		u->lst[i] =
		        (struct uauth_listener){.u = u, .svc = svcs[i], .fd = -1, .port = ports[i]};
		if (ports[i] == 0)
			continue;
		rc = open_listener(u, &u->lst[i], err);
		if (rc < 0) {
			uauth_proxy_close_listeners(u);
			return rc;
		}
	}
	return 0;
}

void
uauth_proxy_close_listeners(struct uauth *u)
{
	for (int i = 0; i < UAUTH_NLISTENERS; i++) {
		if (u->lst[i].pause != NULL)
			loop_timer_cancel(u->loop, u->lst[i].pause);
		u->lst[i].pause = NULL;
		if (u->lst[i].fd < 0)
			continue;
		loop_del_fd(u->loop, u->lst[i].fd);
		close(u->lst[i].fd);
		u->lst[i].fd = -1;
		u->lst[i].bound_port = 0;
	}
}

void
uauth_proxy_close_all(struct uauth *u)
{
	while (u->conns != NULL)
		conn_free(u->conns);
}

uint16_t
uauth_listen_port(struct uauth *u, enum uauth_method m)
{
	for (int i = 0; i < UAUTH_NLISTENERS; i++)
		if (u->lst[i].svc == m && u->lst[i].fd >= 0)
			return u->lst[i].bound_port;
	return 0;
}
