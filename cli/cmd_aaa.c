/* portcullis --db FILE aaa ...: drive the AAA layer from outside, like PIX "test aaa-server".
 *   aaa test GROUP USER [opts]        authenticate (password on stdin)
 *   aaa account-test GROUP USER ...   queue one accounting record and wait for its delivery
 *   aaa deliver [--wait MS]           deliver what is pending in the outbox
 *   aaa outbox                        list accounting records
 *   aaa hash [--pix USER|--pix-enable|--pbkdf2]  hash a password read from stdin */
#include "cli/cli.h"
#include "db/db.h"
#include "gateway/aaa/aaa.h"
#include "gateway/aaa/aaa_hash.h"
#include "gateway/core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run_state {
	struct loop *loop;
	struct aaa *aaa;
	struct aaa_auth_result res;
	bool have_res;
	bool drained;
	bool waiting_drain;
	uint64_t wait_ms;
};

static int
parse_ip(const char *s, uint32_t *out)
{
	struct in_addr ia;

	if (inet_pton(AF_INET, s, &ia) != 1)
		return -EINVAL;
	*out = ntohl(ia.s_addr);
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -EINVAL;
	return 0;
}

static int
read_password(char *buf, size_t n)
{
	size_t len;

	if (fgets(buf, (int)n, stdin) == NULL) {
		buf[0] = '\0';
		return 0; /* empty password */
	}
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (len == n - 1)
		return -EMSGSIZE;
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return 0;
}

static void
on_drain(void *arg, bool drained)
{
	struct run_state *s = arg;

	s->drained = drained;
	loop_stop(s->loop);
}

static void
on_auth(void *arg, const struct aaa_auth_result *res)
{
	struct run_state *s = arg;

	s->res = *res;
	s->have_res = true;
	if (s->wait_ms > 0 && aaa_outbox_wait(s->aaa, s->wait_ms, on_drain, s) == 0) {
		s->waiting_drain = true;
		return;
	}
	loop_stop(s->loop);
}

static int
start(struct cli_ctx *ctx, struct run_state *s, uint64_t backoff_ms)
{
	int rc = loop_new(&s->loop);

	if (rc < 0)
		return cli_fail("loop_new: %s", strerror(-rc));
	rc = aaa_new(s->loop, ctx->db_path, &s->aaa);
	if (rc < 0) {
		loop_free(s->loop);
		return cli_fail("aaa_new %s: %s", ctx->db_path, strerror(-rc));
	}
	if (backoff_ms > 0)
		aaa_set_acct_backoff(s->aaa, backoff_ms, backoff_ms * 8);
	return 0;
}

static void
print_health(struct run_state *s)
{
	struct aaa_server_health h[64];
	int n = aaa_server_health(s->aaa, h, 64);

	for (int i = 0; i < n && i < 64; i++)
		printf("server %s %s %s: %s, failures %d (total %" PRIu64 "/%" PRIu64
		       "), latency %u ms%s%s\n",
		       h[i].group, h[i].protocol, h[i].host, h[i].dead ? "DEAD" : "up",
		       h[i].consecutive_failures, h[i].failures, h[i].requests,
		       h[i].last_latency_ms, h[i].last_error[0] ? ", last error: " : "",
		       h[i].last_error);
}

static void
stop(struct run_state *s)
{
	aaa_free(s->aaa);
	loop_free(s->loop);
}

enum { OPT_PEER = 1000, OPT_FRAMED, OPT_TIMEOUT, OPT_PAP, OPT_AUTHOR, OPT_HEALTH, OPT_REPEAT };

static int
cmd_test(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"peer", required_argument, NULL, OPT_PEER},
	        {"framed", required_argument, NULL, OPT_FRAMED},
	        {"timeout", required_argument, NULL, OPT_TIMEOUT},
	        {"pap", no_argument, NULL, OPT_PAP},
	        {"authorize", no_argument, NULL, OPT_AUTHOR},
	        {"health", no_argument, NULL, OPT_HEALTH},
	        {"repeat", required_argument, NULL, OPT_REPEAT},
	        {NULL, 0, NULL, 0},
	};
	struct aaa_auth_req req = {.service = AAA_SVC_TELNET};
	struct run_state s = {0};
	bool pap = false, author = false, health = false;
	uint64_t v, repeat = 1;
	int c, rc, last = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PEER:
			if (parse_ip(optarg, &req.peer_addr) < 0)
				return cli_fail("--peer: expected an IPv4 address, got '%s'",
				                optarg);
			break;
		case OPT_FRAMED:
			if (parse_ip(optarg, &req.framed_addr) < 0)
				return cli_fail("--framed: expected an IPv4 address, got '%s'",
				                optarg);
			break;
		case OPT_TIMEOUT:
			if (parse_u64(optarg, &v) < 0 || v > 600000)
				return cli_fail("--timeout: expected milliseconds, got '%s'",
				                optarg);
			req.timeout_ms = (uint32_t)v;
			break;
		case OPT_PAP:
			pap = true;
			break;
		case OPT_AUTHOR:
			author = true;
			break;
		case OPT_HEALTH:
			health = true;
			break;
		case OPT_REPEAT:
			if (parse_u64(optarg, &repeat) < 0 || repeat < 1 || repeat > 100000)
				return cli_fail("--repeat: expected 1..100000, got '%s'", optarg);
			break;
		default:
			return cli_fail(
			        "usage: aaa test GROUP USER [--peer A] [--framed A] "
			        "[--timeout MS] [--pap] [--authorize] [--health] [--repeat N]");
		}
	}
	if (argc - optind != 2)
		return cli_fail("usage: aaa test GROUP USER (password on stdin)");
	if (strlen(argv[optind]) >= sizeof(req.group) ||
	    strlen(argv[optind + 1]) >= sizeof(req.user))
		return cli_fail("group or user name too long");
	snprintf(req.group, sizeof(req.group), "%s", argv[optind]);
	snprintf(req.user, sizeof(req.user), "%s", argv[optind + 1]);
	if (read_password(req.password, sizeof(req.password)) < 0)
		return cli_fail("password longer than %d bytes", AAA_MAX_PASSWORD - 1);
	if (start(ctx, &s, 0) != 0) {
		explicit_bzero(&req, sizeof(req));
		return 1;
	}
	aaa_set_tacacs_login(s.aaa, pap, author);
	for (uint64_t i = 0; i < repeat; i++) {
		s.have_res = false;
		rc = aaa_authenticate(s.aaa, &req, on_auth, &s, NULL);
		if (rc < 0) {
			explicit_bzero(&req, sizeof(req));
			stop(&s);
			return cli_fail("aaa_authenticate: %s", strerror(-rc));
		}
		loop_run(s.loop);
		if (!s.have_res)
			break;
		printf("%s: %s%s%s\n", aaa_result_name(s.res.result), s.res.reason,
		       s.res.server[0] ? " server=" : "", s.res.server);
		last = s.res.result == AAA_ACCEPT ? 0 : s.res.result == AAA_REJECT ? 2 : 3;
	}
	explicit_bzero(&req, sizeof(req));
	if (health)
		print_health(&s);
	stop(&s);
	return last;
}

enum {
	OPT_TYPE = 2000,
	OPT_SESSION,
	OPT_TASK,
	OPT_CALLER,
	OPT_APEER,
	OPT_SERVICE,
	OPT_PROTO,
	OPT_ELAPSED,
	OPT_BIN,
	OPT_BOUT,
	OPT_PIN,
	OPT_POUT,
	OPT_CAUSE,
	OPT_UGROUP,
	OPT_WAIT,
	OPT_BACKOFF,
	OPT_AHEALTH,
	OPT_COUNT,
};

static int
cmd_account_test(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"type", required_argument, NULL, OPT_TYPE},
	        {"session", required_argument, NULL, OPT_SESSION},
	        {"task", required_argument, NULL, OPT_TASK},
	        {"caller", required_argument, NULL, OPT_CALLER},
	        {"peer", required_argument, NULL, OPT_APEER},
	        {"service", required_argument, NULL, OPT_SERVICE},
	        {"protocol", required_argument, NULL, OPT_PROTO},
	        {"elapsed", required_argument, NULL, OPT_ELAPSED},
	        {"bytes-in", required_argument, NULL, OPT_BIN},
	        {"bytes-out", required_argument, NULL, OPT_BOUT},
	        {"packets-in", required_argument, NULL, OPT_PIN},
	        {"packets-out", required_argument, NULL, OPT_POUT},
	        {"cause", required_argument, NULL, OPT_CAUSE},
	        {"user-group", required_argument, NULL, OPT_UGROUP},
	        {"wait", required_argument, NULL, OPT_WAIT},
	        {"backoff", required_argument, NULL, OPT_BACKOFF},
	        {"health", no_argument, NULL, OPT_AHEALTH},
	        {"count", required_argument, NULL, OPT_COUNT},
	        {NULL, 0, NULL, 0},
	};
	struct aaa_acct_event ev = {.type = AAA_ACCT_START};
	uint64_t count = 1, t0;
	struct run_state s = {0};
	struct pc_err err = {0};
	uint64_t v, wait_ms = 10000, backoff = 0;
	bool health = false;
	int c, rc;

	snprintf(ev.service, sizeof(ev.service), "ipsec");
#define STR_OPT(field)                                                                             \
	do {                                                                                       \
		if (strlen(optarg) >= sizeof(ev.field))                                            \
			return cli_fail("--%s: at most %zu characters", #field,                    \
			                sizeof(ev.field) - 1);                                     \
		snprintf(ev.field, sizeof(ev.field), "%s", optarg);                                \
	} while (0)
#define NUM_OPT(field, name)                                                                       \
	do {                                                                                       \
		if (parse_u64(optarg, &v) < 0)                                                     \
			return cli_fail("--%s: expected a number, got '%s'", name, optarg);        \
		ev.field = v;                                                                      \
	} while (0)
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TYPE:
			if (strcmp(optarg, "start") == 0)
				ev.type = AAA_ACCT_START;
			else if (strcmp(optarg, "stop") == 0)
				ev.type = AAA_ACCT_STOP;
			else if (strcmp(optarg, "interim") == 0)
				ev.type = AAA_ACCT_INTERIM;
			else
				return cli_fail("--type: expected start|stop|interim, got '%s'",
				                optarg);
			break;
		case OPT_SESSION:
			STR_OPT(session_id);
			break;
		case OPT_TASK:
			if (parse_u64(optarg, &v) < 0 || v > UINT32_MAX)
				return cli_fail("--task: expected a 32-bit number, got '%s'",
				                optarg);
			ev.task_id = (uint32_t)v;
			break;
		case OPT_CALLER:
			if (parse_ip(optarg, &ev.caller_addr) < 0)
				return cli_fail("--caller: expected an IPv4 address, got '%s'",
				                optarg);
			break;
		case OPT_APEER:
			if (parse_ip(optarg, &ev.peer_addr) < 0)
				return cli_fail("--peer: expected an IPv4 address, got '%s'",
				                optarg);
			break;
		case OPT_SERVICE:
			STR_OPT(service);
			break;
		case OPT_PROTO:
			STR_OPT(protocol);
			break;
		case OPT_ELAPSED:
			NUM_OPT(elapsed_s, "elapsed");
			break;
		case OPT_BIN:
			NUM_OPT(bytes_in, "bytes-in");
			break;
		case OPT_BOUT:
			NUM_OPT(bytes_out, "bytes-out");
			break;
		case OPT_PIN:
			NUM_OPT(packets_in, "packets-in");
			break;
		case OPT_POUT:
			NUM_OPT(packets_out, "packets-out");
			break;
		case OPT_CAUSE:
			STR_OPT(terminate_cause);
			break;
		case OPT_UGROUP:
			STR_OPT(user_group);
			break;
		case OPT_WAIT:
			if (parse_u64(optarg, &wait_ms) < 0)
				return cli_fail("--wait: expected milliseconds, got '%s'", optarg);
			break;
		case OPT_BACKOFF:
			if (parse_u64(optarg, &backoff) < 0 || backoff == 0)
				return cli_fail("--backoff: expected milliseconds, got '%s'",
				                optarg);
			break;
		case OPT_AHEALTH:
			health = true;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, &count) < 0 || count < 1 || count > 100000)
				return cli_fail("--count: expected 1..100000, got '%s'", optarg);
			break;
		default:
			return cli_fail(
			        "usage: aaa account-test GROUP USER --type start|stop|interim "
			        "--session ID [--task N] [--caller A] [--peer A] [--service S] "
			        "[--protocol P] [--elapsed S] [--bytes-in N] [--bytes-out N] "
			        "[--packets-in N] [--packets-out N] [--cause C] [--wait MS] "
			        "[--backoff MS] [--count N]");
		}
	}
#undef STR_OPT
#undef NUM_OPT
	if (argc - optind != 2)
		return cli_fail("usage: aaa account-test GROUP USER --type ... --session ID");
	if (strlen(argv[optind]) >= sizeof(ev.group) || strlen(argv[optind + 1]) >= sizeof(ev.user))
		return cli_fail("group or user name too long");
	snprintf(ev.group, sizeof(ev.group), "%s", argv[optind]);
	snprintf(ev.user, sizeof(ev.user), "%s", argv[optind + 1]);
	if (ev.session_id[0] == '\0')
		return cli_fail("--session ID is required");
	if (start(ctx, &s, backoff) != 0)
		return 1;
	t0 = loop_now_ms();
	for (uint64_t i = 0; i < count; i++) {
		struct aaa_acct_event e = ev;

		/* --count N: N sessions, "ID-1".."ID-N" (benchmarks) */
		if (count > 1 && snprintf(e.session_id, sizeof(e.session_id), "%.40s-%" PRIu64,
		                          ev.session_id, i + 1) >= (int)sizeof(e.session_id)) {
			stop(&s);
			return cli_fail("--session too long for --count");
		}
		rc = aaa_account(s.aaa, &e, &err);
		if (rc < 0) {
			stop(&s);
			return cli_fail("aaa_account: %s", err.msg);
		}
	}
	printf("queued %" PRIu64 " %s record(s) for session %s%s in %" PRIu64 " ms\n", count,
	       ev.type == AAA_ACCT_START  ? "start"
	       : ev.type == AAA_ACCT_STOP ? "stop"
	                                  : "interim",
	       ev.session_id, count > 1 ? "-N" : "", loop_now_ms() - t0);
	if (wait_ms > 0) {
		aaa_outbox_wait(s.aaa, wait_ms, on_drain, &s);
		loop_run(s.loop);
		printf("waited %" PRIu64 " ms\n", loop_now_ms() - t0);
	}
	rc = aaa_outbox_pending(s.aaa);
	printf("outbox: %d pending\n", rc);
	if (health)
		print_health(&s);
	stop(&s);
	return wait_ms > 0 && rc != 0 ? 3 : 0;
}

static int
cmd_deliver(struct cli_ctx *ctx, int argc, char **argv)
{
	struct run_state s = {0};
	uint64_t wait_ms = 10000, backoff = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &wait_ms) < 0)
				return cli_fail("--wait: expected milliseconds");
		} else if (strcmp(argv[i], "--backoff") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &backoff) < 0 || backoff == 0)
				return cli_fail("--backoff: expected milliseconds");
		} else {
			return cli_fail("usage: aaa deliver [--wait MS] [--backoff MS]");
		}
	}
	if (start(ctx, &s, backoff) != 0)
		return 1;
	aaa_outbox_wait(s.aaa, wait_ms, on_drain, &s);
	loop_run(s.loop);
	rc = aaa_outbox_pending(s.aaa);
	printf("outbox: %d pending\n", rc);
	stop(&s);
	return rc == 0 ? 0 : 3;
}

static int
cmd_outbox(struct cli_ctx *ctx, int argc, char **argv)
{
	struct pc_err err = {0};
	sqlite3_stmt *st = NULL;
	struct db *db;

	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	if (db_prepare(
	            db,
	            "SELECT id, record_type, session_id, username, server_group, state, attempts,"
	            " delivered_to, possible_duplicate, last_error FROM acct_record ORDER BY id",
	            &st, &err) < 0) {
		db_close(db);
		return cli_fail("%s", err.msg);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *to = (const char *)sqlite3_column_text(st, 7);
		const char *le = (const char *)sqlite3_column_text(st, 9);

		printf("%lld %s session=%s user=%s group=%s state=%s attempts=%d to=%s dup=%d "
		       "error=%s\n",
		       (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
		       sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
		       sqlite3_column_text(st, 4), sqlite3_column_text(st, 5),
		       sqlite3_column_int(st, 6), to ? to : "-", sqlite3_column_int(st, 8),
		       le ? le : "-");
	}
	sqlite3_finalize(st);
	db_close(db);
	return 0;
}

static int
cmd_hash(struct cli_ctx *ctx, int argc, char **argv)
{
	char pw[AAA_MAX_PASSWORD], out[AAA_PBKDF2_STR_MAX];
	int rc;

	if (read_password(pw, sizeof(pw)) < 0)
		return cli_fail("password too long");
	if (argc == 3 && strcmp(argv[1], "--pix") == 0)
		rc = aaa_hash_pixmd5(pw, argv[2], out);
	else if (argc == 2 && strcmp(argv[1], "--pix-enable") == 0)
		rc = aaa_hash_pixmd5(pw, NULL, out);
	else if (argc == 1 || (argc == 2 && strcmp(argv[1], "--pbkdf2") == 0))
		rc = aaa_hash_pbkdf2_new(pw, 0, out, sizeof(out));
	else
		rc = -EINVAL;
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0)
		return cli_fail(
		        "usage: aaa hash [--pix USER | --pix-enable | --pbkdf2] (password on "
		        "stdin, at most 16 bytes for PIX-MD5): %s",
		        strerror(-rc));
	printf("%s\n", out);
	return 0;
}

int
cmd_aaa(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return cli_fail("usage: aaa test|account-test|deliver|outbox|hash ...");
	if (strcmp(argv[1], "test") == 0)
		return cmd_test(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "account-test") == 0)
		return cmd_account_test(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "deliver") == 0)
		return cmd_deliver(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "outbox") == 0)
		return cmd_outbox(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "hash") == 0)
		return cmd_hash(ctx, argc - 1, argv + 1);
	return cli_fail("aaa: unknown subcommand '%s' (test, account-test, deliver, outbox, hash)",
	                argv[1]);
}
