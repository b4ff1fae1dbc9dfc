/* RADIUS client, run only on AAA worker threads. Access-Requests use our own codec
 * (radius_pkt.c: libradcli 1.2.11 cannot put a Message-Authenticator in a PAP request) and check
 * replies ourselves. Accounting-Requests use libradcli's blocking API (one rc_handle per attempt,
 * so threads share nothing).
 *
 * Accounting reply checks: radcli does not hand us the raw reply, so we cannot check it ourselves; radcli's
 * rc_check_reply() does, before any attribute is decoded: the Identifier must match the request
 * ("received non-matching id"), the length field must fit the datagram ("invalid length"), and
 * the Response Authenticator MD5(code|id|length|request authenticator|attributes|secret) must
 * match ("invalid reply digest"); attributes are then walked with bounds checks ("attribute
 * overflows the packet"). A reply failing any of these ends as BADRESP_RC/ERROR_RC or, for a
 * wrong id, a timeout, and we treat it as no valid answer from that server. */
#include "gateway/aaa/aaa_attempt.h"
#include "gateway/aaa/radius_attrs.h"
#include "gateway/aaa/radius_pkt.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <radcli/radcli.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RADIUS_DICTIONARY "/etc/radcli/dictionary"

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

int
radius_handle_new(const struct aaa_server_cfg *srv, rc_handle **out, char *err, size_t errlen)
{
	char tmo[16], retries[16], server[64 + AAA_MAX_KEY];
	struct in_addr ia = {.s_addr = htonl(srv->addr)};
	char addr[INET_ADDRSTRLEN];
	rc_handle *rh;

	*out = NULL;
	inet_ntop(AF_INET, &ia, addr, sizeof(addr));
	snprintf(tmo, sizeof(tmo), "%u", (srv->timeout_ms + 999) / 1000);
	snprintf(retries, sizeof(retries), "%d", srv->retries);
	/* radcli looks the secret up by server name in its own server list, so the secret travels in
	 * "host:port:secret"; a key with ':' or blanks cannot be written that way */
	if (strpbrk(srv->key, ": \t\r\n") != NULL) {
		snprintf(err, errlen,
		         "%s: RADIUS key contains ':' or blanks, which radcli cannot use",
		         srv->name);
		return -EINVAL;
	}
	snprintf(server, sizeof(server), "%s:%u:%s", addr, srv->port, srv->key);
	rh = rc_new();
	if (rh == NULL) {
		snprintf(err, errlen, "rc_new failed");
		return -ENOMEM;
	}
	rh = rc_config_init(rh);
	if (rh == NULL) {
		snprintf(err, errlen, "rc_config_init failed");
		return -ENOMEM;
	}
	if (rc_add_config(rh, "dictionary", RADIUS_DICTIONARY, "portcullis", 0) != 0 ||
	    rc_add_config(rh, "radius_timeout", tmo, "portcullis", 0) != 0 ||
	    rc_add_config(rh, "radius_retries", retries, "portcullis", 0) != 0 ||
	    rc_add_config(rh, "authserver", server, "portcullis", 0) != 0 ||
	    rc_add_config(rh, "acctserver", server, "portcullis", 0) != 0 ||
	    rc_add_config(rh, "bindaddr", "*", "portcullis", 0) != 0 || rc_apply_config(rh) != 0) {
		snprintf(err, errlen,
		         "radcli configuration rejected (rc_add_config/rc_apply_config)");
		rc_destroy(rh);
		OPENSSL_cleanse(server, sizeof(server));
		return -EINVAL;
	}
	OPENSSL_cleanse(server, sizeof(server));
	if (rc_read_dictionary(rh, RADIUS_DICTIONARY) != 0) {
		snprintf(err, errlen, "rc_read_dictionary %s failed", RADIUS_DICTIONARY);
		rc_destroy(rh);
		return -EIO;
	}
	*out = rh;
	return 0;
}

static void
run(const struct aaa_server_cfg *srv, rc_handle *rh, rc_type type, VALUE_PAIR *send,
    struct aaa_attempt_result *out)
{
	char addr[INET_ADDRSTRLEN], secret[AAA_MAX_KEY + 1], msg[PW_MAX_MSG_SIZE] = "";
	struct in_addr ia = {.s_addr = htonl(srv->addr)};
	SERVER server = {.max = 1};
	VALUE_PAIR *recv = NULL;
	RC_AAA_CTX *ctx = NULL;
	int rc;

	inet_ntop(AF_INET, &ia, addr, sizeof(addr));
	snprintf(secret, sizeof(secret), "%s", srv->key);
	server.name[0] = addr;
	server.port[0] = srv->port;
	server.secret[0] = secret;
	rc = rc_aaa_ctx_server(rh, &ctx, &server, type, 0, send, &recv, msg, 0,
	                       type == AUTH ? PW_ACCESS_REQUEST : PW_ACCOUNTING_REQUEST);
	OPENSSL_cleanse(secret, sizeof(secret));
	out->transmitted = true;
	switch (rc) {
	case OK_RC:
		set_result(out, AAA_ATT_ACCEPT, "%s: %s", srv->name,
		           type == AUTH ? "Access-Accept" : "Accounting-Response");
		break;
	case REJECT_RC:
		set_result(out, AAA_ATT_REJECT, "%s: Access-Reject", srv->name);
		break;
	case TIMEOUT_RC:
		set_result(out, AAA_ATT_NO_ANSWER, "%s: no valid reply (timeout after %d tries)",
		           srv->name, srv->retries + 1);
		break;
	case CHALLENGE_RC:
		set_result(out, AAA_ATT_REJECT, "%s: Access-Challenge not supported", srv->name);
		break;
	case BADRESP_RC:
	case BADRESPID_RC:
	default:
		set_result(
		        out, AAA_ATT_BAD_ANSWER,
		        "%s: reply failed radcli's checks (code %d: id, length or authenticator)",
		        srv->name, rc);
		break;
	}
	rc_avpair_free(recv);
	rc_aaa_ctx_free(ctx);
}

/* Access-Request over our own codec (radius_pkt.c, see there why), one connected UDP socket,
 * retries+1 transmissions of the same packet, each waiting timeout_ms for a reply that passes
 * radius_check_reply(); anything else arriving meanwhile is ignored, as RFC 5080 asks. */
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
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons(srv->port),
	                         .sin_addr.s_addr = htonl(srv->addr)};
	uint8_t pkt[RADIUS_MAX_PACKET], rbuf[RADIUS_MAX_PACKET];
	char last_bad[200] = "";
	struct radius_reply reply;
	int fd = -1, len;

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

		if (send(fd, pkt, (size_t)len, 0) < 0) {
			set_result(out, out->transmitted ? AAA_ATT_NO_ANSWER : AAA_ATT_NOT_SENT,
			           "%s: send: %s", srv->name, strerror(errno));
			continue;
		}
		out->transmitted = true;
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			uint64_t now = loop_now_ms();
			ssize_t n;
			char err[160];

			if (now >= deadline)
				break;
			if (poll(&p, 1, (int)(deadline - now)) <= 0)
				continue;
			n = recv(fd, rbuf, sizeof(rbuf), 0);
			if (n < 0) {
				snprintf(last_bad, sizeof(last_bad), "recv: %s", strerror(errno));
				if (errno == ECONNREFUSED)
					break; /* ICMP port unreachable: try again after a pause */
				continue;
			}
			if (radius_check_reply(rbuf, (size_t)n, &req, srv->key, false, &reply, err,
			                       sizeof(err)) < 0) {
				snprintf(last_bad, sizeof(last_bad), "%s", err);
				continue;
			}
			if (reply.code == RADIUS_ACCESS_ACCEPT)
				set_result(out, AAA_ATT_ACCEPT, "%s: Access-Accept%s%s", srv->name,
				           reply.reply_message[0] ? ": " : "", reply.reply_message);
			else if (reply.code == RADIUS_ACCESS_REJECT)
				set_result(out, AAA_ATT_REJECT, "%s: Access-Reject%s%s", srv->name,
				           reply.reply_message[0] ? ": " : "", reply.reply_message);
			else
				set_result(out, AAA_ATT_REJECT,
				           "%s: Access-Challenge (not supported)", srv->name);
			goto out;
		}
		if (loop_now_ms() < deadline)
			usleep((useconds_t)((deadline - loop_now_ms()) * 1000));
	}
	if (last_bad[0] != '\0')
		set_result(out, AAA_ATT_BAD_ANSWER,
		           "%s: no valid reply after %d transmission(s); "
		           "last refused: %s",
		           srv->name, srv->retries + 1, last_bad);
out:
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(pkt, sizeof(pkt));
	out->latency_ms = (uint32_t)(loop_now_ms() - t0);
}

void
radius_client_account(const struct aaa_server_cfg *srv, const struct aaa_acct_record *rec,
                      struct aaa_attempt_result *out)
{
	uint64_t t0 = loop_now_ms();
	VALUE_PAIR *send = NULL;
	rc_handle *rh = NULL;
	char err[160];

	memset(out, 0, sizeof(*out));
	if (radius_handle_new(srv, &rh, err, sizeof(err)) < 0) {
		set_result(out, AAA_ATT_NOT_SENT, "%s", err);
		goto out;
	}
	if (radius_build_acct(rh, rec, nas_address(srv), &send, err, sizeof(err)) < 0) {
		set_result(out, AAA_ATT_NOT_SENT, "%s", err);
		goto out;
	}
	run(srv, rh, ACCT, send, out);
out:
	rc_avpair_free(send);
	if (rh != NULL)
		rc_destroy(rh);
	out->latency_ms = (uint32_t)(loop_now_ms() - t0);
}
