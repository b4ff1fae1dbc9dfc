/* RADIUS client exchanges, run only on AAA worker threads: one connected UDP socket per attempt,
 * retries+1 transmissions of the same packet, each waiting timeout_ms for a reply that passes
 * radius_check_reply() (length, identifier, code, Response Authenticator, Message-Authenticator);
 * anything else arriving meanwhile is ignored and waited past, as RFC 5080 asks. The packets are
 * our own (radius_pkt.c), not libradcli's: see radius_pkt.h for the two radcli 1.2.11 defects
 * that ruled it out (no Message-Authenticator in PAP requests; a forged Accounting-Response
 * accepted). */
#include "gateway/aaa/aaa_attempt.h"
#include "gateway/aaa/radius_pkt.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void set_result(struct aaa_attempt_result *out, enum aaa_attempt_status st, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

static void
set_result(struct aaa_attempt_result *out, enum aaa_attempt_status st, const char *fmt, ...)
{
	va_list ap;

	out->status = st;
	va_start(ap, fmt);
	vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
	va_end(ap);
}

/* The source address the kernel would use towards the server: our NAS-IP-Address. */
static uint32_t
nas_address(const struct aaa_server_cfg *srv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons(srv->port),
	                         .sin_addr.s_addr = htonl(srv->addr)};
	socklen_t sl = sizeof(sa);
	uint32_t a = 0;
	int fd;

	if (srv->nas_addr != 0)
		return srv->nas_addr;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		a = ntohl(sa.sin_addr.s_addr);
	close(fd);
	return a;
}

/* Sends pkt and waits for a checked reply. Sets out->status to NO_ANSWER/BAD_ANSWER/NOT_SENT
 * on failure; returns 0 with *reply filled when a valid reply came. */
static int
exchange(const struct aaa_server_cfg *srv, const uint8_t *pkt, size_t len, uint8_t code, uint8_t id,
         const uint8_t auth[RADIUS_AUTH_LEN], struct radius_reply *reply,
         struct aaa_attempt_result *out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons(srv->port),
	                         .sin_addr.s_addr = htonl(srv->addr)};
	uint8_t rbuf[RADIUS_MAX_PACKET];
	char last_bad[200] = "";
	int fd, rc = -1, sent = 0, refused = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		set_result(out, AAA_ATT_NOT_SENT, "%s: socket/connect: %s", srv->name,
		           strerror(errno));
		goto out;
	}
	set_result(out, AAA_ATT_NO_ANSWER, "%s: no reply after %d transmission(s)", srv->name,
	           srv->retries + 1);
	for (int try = 0; try <= srv->retries; try++) {
		uint64_t deadline = loop_now_ms() + srv->timeout_ms;

		if (send(fd, pkt, len, 0) < 0) {
			set_result(out, out->transmitted ? AAA_ATT_NO_ANSWER : AAA_ATT_NOT_SENT,
			           "%s: send: %s", srv->name, strerror(errno));
			usleep(100000);
			continue;
		}
		out->transmitted = true;
		sent++;
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			uint64_t now = loop_now_ms();
			char err[160];
			ssize_t n;

			if (now >= deadline)
				break;
			if (poll(&p, 1, (int)(deadline - now)) <= 0)
				continue;
			n = recv(fd, rbuf, sizeof(rbuf), 0);
			if (n < 0) {
				snprintf(last_bad, sizeof(last_bad), "recv: %s", strerror(errno));
				if (errno == ECONNREFUSED) {
					refused++;
					break; /* ICMP port unreachable */
				}
				continue;
			}
			if (radius_check_reply(rbuf, (size_t)n, code, id, auth, srv->key, false,
			                       reply, err, sizeof(err)) < 0) {
				log_debug(LOG_AAA, "%s: reply refused: %s", srv->name, err);
				snprintf(last_bad, sizeof(last_bad), "%s", err);
				continue;
			}
			rc = 0;
			goto out;
		}
		if (loop_now_ms() < deadline) /* refused at once: wait out the try anyway */
			usleep((useconds_t)((deadline - loop_now_ms()) * 1000));
	}
	/* every transmission answered by ICMP port unreachable: nothing reached a server, so a
	 * later re-send is not a possible duplicate */
	if (sent > 0 && refused == sent)
		out->transmitted = false;
	if (last_bad[0] != '\0')
		set_result(out,
		           strncmp(last_bad, "recv:", 5) == 0 ? AAA_ATT_NO_ANSWER
		                                              : AAA_ATT_BAD_ANSWER,
		           "%s: no valid reply after %d transmission(s); last: %s", srv->name,
		           srv->retries + 1, last_bad);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

void
radius_client_authenticate(const struct aaa_server_cfg *srv, const char *user, const char *password,
                           uint32_t peer_addr, uint32_t framed_addr, struct aaa_attempt_result *out)
{
	uint64_t t0 = loop_now_ms();
	struct radius_access_req req = {.user = user,
	                                .password = password,
	                                .nas_addr = nas_address(srv),
	                                .peer_addr = peer_addr,
	                                .framed_addr = framed_addr};
	uint8_t pkt[RADIUS_MAX_PACKET];
	struct radius_reply reply;
	int len;

	memset(out, 0, sizeof(*out));
	if (RAND_bytes(req.authenticator, sizeof(req.authenticator)) != 1 ||
	    RAND_bytes(&req.id, 1) != 1) {
		set_result(out, AAA_ATT_NOT_SENT, "RAND_bytes failed");
		goto out;
	}
	len = radius_build_access_request(&req, srv->key, pkt, sizeof(pkt));
	if (len < 0) {
		set_result(out, AAA_ATT_NOT_SENT, "%s: Access-Request too large (user or password)",
		           srv->name);
		goto out;
	}
	if (exchange(srv, pkt, (size_t)len, RADIUS_ACCESS_REQUEST, req.id, req.authenticator,
	             &reply, out) < 0)
		goto out;
	if (reply.code == RADIUS_ACCESS_ACCEPT)
		set_result(out, AAA_ATT_ACCEPT, "%s: Access-Accept%s%s", srv->name,
		           reply.reply_message[0] ? ": " : "", reply.reply_message);
	else if (reply.code == RADIUS_ACCESS_REJECT)
		set_result(out, AAA_ATT_REJECT, "%s: Access-Reject%s%s", srv->name,
		           reply.reply_message[0] ? ": " : "", reply.reply_message);
	else
		set_result(out, AAA_ATT_REJECT, "%s: Access-Challenge (not supported)", srv->name);
out:
	OPENSSL_cleanse(pkt, sizeof(pkt));
	out->latency_ms = (uint32_t)(loop_now_ms() - t0);
}

void
radius_client_account(const struct aaa_server_cfg *srv, const struct aaa_acct_record *rec,
                      struct aaa_attempt_result *out)
{
	uint64_t t0 = loop_now_ms();
	int64_t now_s = (int64_t)time(NULL), delay = now_s - rec->created_at_ms / 1000;
	struct radius_acct_req req = {
	        .status_type = rec->type == AAA_ACCT_START  ? 1
	                       : rec->type == AAA_ACCT_STOP ? 2
	                                                    : 3,
	        .session_id = rec->session_id,
	        .user = rec->user,
	        .nas_addr = nas_address(srv),
	        .calling = rec->peer_addr,
	        .delay_s = delay > 0 ? (uint32_t)delay : 0,
	        .event_time = (uint32_t)(rec->created_at_ms / 1000),
	        .session_time = rec->elapsed_s,
	        .in_octets = rec->bytes_in,
	        .out_octets = rec->bytes_out,
	        .in_packets = rec->packets_in,
	        .out_packets = rec->packets_out,
	        .terminate_cause = radius_terminate_cause(rec->terminate_cause),
	};
	uint8_t pkt[RADIUS_MAX_PACKET], auth[RADIUS_AUTH_LEN];
	struct radius_reply reply;
	struct in_addr ia;
	int len;

	memset(out, 0, sizeof(*out));
	if (rec->caller_addr[0] != '\0' && inet_pton(AF_INET, rec->caller_addr, &ia) == 1)
		req.framed_addr = ntohl(ia.s_addr);
	if (req.status_type == 2 && req.terminate_cause == 0)
		req.terminate_cause = 1; /* User-Request when the cause is not known */
	if (RAND_bytes(&req.id, 1) != 1) {
		set_result(out, AAA_ATT_NOT_SENT, "RAND_bytes failed");
		goto out;
	}
	len = radius_build_accounting_request(&req, srv->key, pkt, sizeof(pkt), auth);
	if (len < 0) {
		set_result(out, AAA_ATT_NOT_SENT, "%s: Accounting-Request too large", srv->name);
		goto out;
	}
	if (exchange(srv, pkt, (size_t)len, RADIUS_ACCOUNTING_REQUEST, req.id, auth, &reply, out) <
	    0)
		goto out;
	set_result(out, AAA_ATT_ACCEPT, "%s: Accounting-Response", srv->name);
out:
	out->latency_ms = (uint32_t)(loop_now_ms() - t0);
}
