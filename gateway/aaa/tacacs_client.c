/* TACACS+ client exchanges over one TCP connection per request, run on a worker thread with one
 * deadline per attempt (connect, every write and every read share it). Replies are checked by
 * tac_hdr_validate() (version, type, sequence, session, flags, length) before the body is
 * de-obfuscated and parsed. */
#include "gateway/aaa/aaa_attempt.h"
#include "gateway/aaa/tacacs.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TAC_MAX_ROUNDS 8 /* GETUSER/GETPASS/GETDATA prompts answered before giving up */

struct tac_conn {
	int fd;
	uint64_t deadline;
	uint32_t session_id;
	const struct aaa_server_cfg *srv;
	struct aaa_attempt_result *out;
	uint8_t body[TAC_MAX_BODY];
	size_t body_len;
};

static void result(struct tac_conn *c, enum aaa_attempt_status st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
result(struct tac_conn *c, enum aaa_attempt_status st, const char *fmt, ...)
{
	va_list ap;

	c->out->status = st;
	va_start(ap, fmt);
	vsnprintf(c->out->msg, sizeof(c->out->msg), fmt, ap);
	va_end(ap);
}

static int
wait_fd(struct tac_conn *c, short events)
{
	struct pollfd p = {.fd = c->fd, .events = events};

	for (;;) {
		uint64_t now = loop_now_ms();
		int n;

		if (now >= c->deadline)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(c->deadline - now));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int
conn_open(struct tac_conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons(c->srv->port),
	                         .sin_addr.s_addr = htonl(c->srv->addr)};
	int one = 1, soerr = 0, rc;
	socklen_t sl = sizeof(soerr);

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		result(c, AAA_ATT_NOT_SENT, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		result(c, AAA_ATT_NOT_SENT, "connect %s: %s", c->srv->name, strerror(errno));
		return -1;
	}
	rc = wait_fd(c, POLLOUT);
	if (rc < 0) {
		result(c, AAA_ATT_NOT_SENT, "connect %s: %s", c->srv->name, strerror(-rc));
		return -1;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
		result(c, AAA_ATT_NOT_SENT, "connect %s: %s", c->srv->name,
		       strerror(soerr ? soerr : errno));
		return -1;
	}
	return 0;
}

static int
send_all(struct tac_conn *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			c->out->transmitted = true;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			int rc = wait_fd(c, POLLOUT);

			if (rc < 0) {
				result(c, AAA_ATT_NO_ANSWER, "send to %s: %s", c->srv->name,
				       strerror(-rc));
				return -1;
			}
			continue;
		}
		result(c, c->out->transmitted ? AAA_ATT_NO_ANSWER : AAA_ATT_NOT_SENT,
		       "send to %s: %s", c->srv->name, strerror(errno));
		return -1;
	}
	return 0;
}

static int
recv_exact(struct tac_conn *c, uint8_t *buf, size_t len, const char *what)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = recv(c->fd, buf + off, len - off, 0);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0) {
			result(c,
			       off == 0 && strcmp(what, "header") == 0 ? AAA_ATT_NO_ANSWER
			                                               : AAA_ATT_BAD_ANSWER,
			       "%s closed the connection in the reply %s (got %zu of %zu bytes)",
			       c->srv->name, what, off, len);
			return -1;
		}
		if (errno == EAGAIN || errno == EINTR) {
			int rc = wait_fd(c, POLLIN);

			if (rc < 0) {
				result(c, off == 0 ? AAA_ATT_NO_ANSWER : AAA_ATT_BAD_ANSWER,
				       "%s: no complete reply %s before the deadline (got %zu of "
				       "%zu "
				       "bytes)",
				       c->srv->name, what, off, len);
				return -1;
			}
			continue;
		}
		result(c, AAA_ATT_NO_ANSWER, "recv from %s: %s", c->srv->name, strerror(errno));
		return -1;
	}
	return 0;
}

/* Sends pkt and reads the reply with sequence want_seq into c->body (de-obfuscated). */
static int
exchange(struct tac_conn *c, const struct tac_pkt *pkt, uint8_t type, uint8_t want_seq)
{
	uint8_t hb[TAC_HDR_LEN];
	struct tac_hdr h;
	char err[160];

	if (send_all(c, pkt->buf, pkt->len) < 0)
		return -1;
	if (recv_exact(c, hb, sizeof(hb), "header") < 0)
		return -1;
	if (tac_hdr_validate(hb, sizeof(hb), type, want_seq, c->session_id, c->srv->key[0] != '\0',
	                     &h, err, sizeof(err)) < 0) {
		result(c, AAA_ATT_BAD_ANSWER, "%s: bad reply header: %s", c->srv->name, err);
		return -1;
	}
	if (recv_exact(c, c->body, h.length, "body") < 0)
		return -1;
	c->body_len = h.length;
	if (tac_obfuscate(&h, c->srv->key, c->body, c->body_len) < 0) {
		result(c, AAA_ATT_NOT_SENT, "MD5 pad failed");
		return -1;
	}
	return 0;
}

static void
conn_close(struct tac_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	OPENSSL_cleanse(c->body, sizeof(c->body));
}

static struct tac_conn *
conn_new(const struct aaa_server_cfg *srv, struct aaa_attempt_result *out)
{
	struct tac_conn *c = calloc(1, sizeof(*c));

	memset(out, 0, sizeof(*out));
	if (c == NULL) {
		out->status = AAA_ATT_NOT_SENT;
		snprintf(out->msg, sizeof(out->msg), "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->srv = srv;
	c->out = out;
	c->deadline = loop_now_ms() + srv->timeout_ms;
	if (RAND_bytes((unsigned char *)&c->session_id, sizeof(c->session_id)) != 1) {
		out->status = AAA_ATT_NOT_SENT;
		snprintf(out->msg, sizeof(out->msg), "RAND_bytes failed");
		free(c);
		return NULL;
	}
	return c;
}

static void
addr_str(uint32_t a, char *buf, size_t n)
{
	struct in_addr ia = {.s_addr = htonl(a)};

	if (a == 0 || inet_ntop(AF_INET, &ia, buf, (socklen_t)n) == NULL)
		buf[0] = '\0';
}

/* Optional authorization after a PASS: service=<service>; FAIL/ERROR refuses the user. */
static int
authorize_user(struct tac_conn *c, const struct tac_req_common *common, const char *service)
{
	struct tac_author_reply *r;
	char svc[64], err[160];
	const char *args[1] = {svc};
	struct tac_pkt pkt;
	int rc = -1;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		result(c, AAA_ATT_NOT_SENT, "out of memory");
		return -1;
	}
	snprintf(svc, sizeof(svc), "service=%s", service);
	c->session_id ^= 0x5a5a5a5au; /* a new session for the authorization exchange */
	if (tac_build_author_request(&pkt, c->session_id, c->srv->key, common, args, 1) < 0) {
		result(c, AAA_ATT_NOT_SENT, "authorization REQUEST too large");
		goto out;
	}
	if (exchange(c, &pkt, TAC_AUTHOR, 2) < 0)
		goto out;
	if (tac_parse_author_reply(c->body, c->body_len, r, err, sizeof(err)) < 0) {
		result(c, AAA_ATT_BAD_ANSWER, "%s: %s", c->srv->name, err);
		goto out;
	}
	if (r->status == TAC_AUTHOR_STATUS_PASS_ADD || r->status == TAC_AUTHOR_STATUS_PASS_REPL) {
		rc = 0;
		goto out;
	}
	result(c, AAA_ATT_REJECT, "%s: authorization refused (status 0x%02x)", c->srv->name,
	       r->status);
out:
	free(r);
	return rc;
}

void
tac_client_authenticate(const struct aaa_server_cfg *srv, const char *user, const char *password,
                        enum aaa_tac_authen how, bool authorize, const char *service,
                        uint32_t rem_addr, struct aaa_attempt_result *out)
{
	uint64_t t0 = loop_now_ms();
	struct tac_conn *c = conn_new(srv, out);
	struct tac_authen_reply r;
	struct tac_pkt pkt;
	char rem[16], err[160];
	struct tac_req_common common = {.priv_lvl = 1,
	                                .authen_type = how == AAA_TAC_PAP ? TAC_AUTHEN_TYPE_PAP
	                                                                  : TAC_AUTHEN_TYPE_ASCII,
	                                .authen_service = TAC_AUTHEN_SVC_LOGIN,
	                                .user = user,
	                                .port = "vty0",
	                                .rem_addr = rem};
	uint8_t version = how == AAA_TAC_PAP ? TAC_VER_ONE : TAC_VER_DEFAULT, seq = 2;
	int rc;

	if (c == NULL)
		return;
	addr_str(rem_addr, rem, sizeof(rem));
	if (conn_open(c) < 0)
		goto out;
	if (how == AAA_TAC_PAP)
		rc = tac_build_authen_start(&pkt, c->session_id, srv->key, TAC_AUTHEN_LOGIN,
		                            &common, (const uint8_t *)password, strlen(password));
	else
		rc = tac_build_authen_start(&pkt, c->session_id, srv->key, TAC_AUTHEN_LOGIN,
		                            &common, NULL, 0);
	if (rc < 0) {
		result(c, AAA_ATT_NOT_SENT, "authentication START too large (user or password)");
		goto out;
	}
	for (int round = 0;; round++) {
		const char *answer;

		rc = exchange(c, &pkt, TAC_AUTHEN, seq);
		OPENSSL_cleanse(pkt.buf, sizeof(pkt.buf));
		if (rc < 0)
			goto out;
		if (tac_parse_authen_reply(c->body, c->body_len, &r, err, sizeof(err)) < 0) {
			result(c, AAA_ATT_BAD_ANSWER, "%s: %s", srv->name, err);
			goto out;
		}
		switch (r.status) {
		case TAC_AUTHEN_STATUS_PASS:
			if (authorize && authorize_user(c, &common, service) < 0)
				goto out;
			result(c, AAA_ATT_ACCEPT, "%s: PASS", srv->name);
			goto out;
		case TAC_AUTHEN_STATUS_FAIL:
			result(c, AAA_ATT_REJECT, "%s: FAIL", srv->name);
			goto out;
		case TAC_AUTHEN_STATUS_GETUSER:
		case TAC_AUTHEN_STATUS_GETPASS:
		case TAC_AUTHEN_STATUS_GETDATA:
			break;
		default:
			result(c, AAA_ATT_BAD_ANSWER, "%s: authentication status %s", srv->name,
			       tac_authen_status_name(r.status));
			goto out;
		}
		if (how == AAA_TAC_PAP || round >= TAC_MAX_ROUNDS || seq > 250) {
			result(c, AAA_ATT_BAD_ANSWER, "%s: unexpected %s prompt", srv->name,
			       tac_authen_status_name(r.status));
			goto out;
		}
		answer = r.status == TAC_AUTHEN_STATUS_GETUSER ? user : password;
		seq++;
		if (tac_build_authen_continue(&pkt, c->session_id, seq, version, srv->key,
		                              (const uint8_t *)answer, strlen(answer), 0) < 0) {
			result(c, AAA_ATT_NOT_SENT, "authentication CONTINUE too large");
			goto out;
		}
		seq++;
	}
out:
	out->latency_ms = (uint32_t)(loop_now_ms() - t0);
	OPENSSL_cleanse(&pkt, sizeof(pkt));
	conn_close(c);
	free(c);
}

void
tac_client_account(const struct aaa_server_cfg *srv, const struct aaa_acct_record *rec,
                   struct aaa_attempt_result *out)
{
	uint64_t t0 = loop_now_ms();
	struct tac_conn *c = conn_new(srv, out);
	char a_task[32], a_start[40], a_elapsed[40], a_in[40], a_out[40], a_svc[48], a_proto[32],
	        a_addr[32], a_pin[40], a_pout[40], a_cause[48];
	const char *args[TAC_MAX_ARGS];
	struct tac_acct_reply r;
	struct tac_pkt pkt;
	char err[160];
	int n = 0;
	uint8_t flags;
	struct tac_req_common common = {.priv_lvl = 1,
	                                .authen_type = TAC_AUTHEN_TYPE_ASCII,
	                                .authen_service = TAC_AUTHEN_SVC_LOGIN,
	                                .user = rec->user,
	                                .port = "vty0",
	                                .rem_addr = rec->peer_addr};

	if (c == NULL)
		return;
	flags = rec->type == AAA_ACCT_START  ? TAC_ACCT_FLAG_START
	        : rec->type == AAA_ACCT_STOP ? TAC_ACCT_FLAG_STOP
	                                     : TAC_ACCT_FLAG_WATCHDOG;
	snprintf(a_task, sizeof(a_task), "task_id=%" PRIu32, rec->task_id);
	args[n++] = a_task;
	/* start_time is seconds since the epoch when the session started */
	snprintf(a_start, sizeof(a_start), "start_time=%" PRId64,
	         rec->created_at_ms / 1000 -
	                 (rec->type == AAA_ACCT_START ? 0 : (int64_t)rec->elapsed_s));
	args[n++] = a_start;
	snprintf(a_svc, sizeof(a_svc), "service=%s", rec->service);
	args[n++] = a_svc;
	if (rec->protocol[0] != '\0') {
		snprintf(a_proto, sizeof(a_proto), "protocol=%s", rec->protocol);
		args[n++] = a_proto;
	}
	if (rec->caller_addr[0] != '\0') {
		snprintf(a_addr, sizeof(a_addr), "addr=%s", rec->caller_addr);
		args[n++] = a_addr;
	}
	if (rec->type != AAA_ACCT_START) {
		snprintf(a_elapsed, sizeof(a_elapsed), "elapsed_time=%" PRIu64, rec->elapsed_s);
		args[n++] = a_elapsed;
		snprintf(a_in, sizeof(a_in), "bytes_in=%" PRIu64, rec->bytes_in);
		args[n++] = a_in;
		snprintf(a_out, sizeof(a_out), "bytes_out=%" PRIu64, rec->bytes_out);
		args[n++] = a_out;
		snprintf(a_pin, sizeof(a_pin), "paks_in=%" PRIu64, rec->packets_in);
		args[n++] = a_pin;
		snprintf(a_pout, sizeof(a_pout), "paks_out=%" PRIu64, rec->packets_out);
		args[n++] = a_pout;
	}
	if (rec->type == AAA_ACCT_STOP && rec->terminate_cause[0] != '\0') {
		snprintf(a_cause, sizeof(a_cause), "disc-cause-ext=%s", rec->terminate_cause);
		args[n++] = a_cause;
	}
	if (conn_open(c) < 0)
		goto out;
	if (tac_build_acct_request(&pkt, c->session_id, srv->key, flags, &common, args, n) < 0) {
		result(c, AAA_ATT_NOT_SENT, "accounting REQUEST too large");
		goto out;
	}
	if (exchange(c, &pkt, TAC_ACCT, 2) < 0)
		goto out;
	if (tac_parse_acct_reply(c->body, c->body_len, &r, err, sizeof(err)) < 0) {
		result(c, AAA_ATT_BAD_ANSWER, "%s: %s", srv->name, err);
		goto out;
	}
	if (r.status == TAC_ACCT_STATUS_SUCCESS)
		result(c, AAA_ATT_ACCEPT, "%s: accounting SUCCESS", srv->name);
	else
		result(c, AAA_ATT_BAD_ANSWER, "%s: accounting status 0x%02x", srv->name, r.status);
out:
	out->latency_ms = (uint32_t)(loop_now_ms() - t0);
	conn_close(c);
	free(c);
}
