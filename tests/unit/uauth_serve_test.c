/* Driver for the cut-through integration test, and its own unit test.
 *
 * With UAUTH_SERVE=1 it runs the real uauth module in the current network namespace until
 * SIGTERM: configuration (timeout uauth, aaa authentication rules, hostname) from the SQLite
 * database UAUTH_SERVE_DB (entries persisted there too), the nftables set operations done with
 * the `nft` CLI on set UAUTH_SERVE_SET ("ip pcuauth uauth") standing in for the NAT module, the
 * real SO_ORIGINAL_DST, static NAT UAUTH_SERVE_STATIC ("192.168.1.11=10.89.129.131") for the
 * connect-on, and a fake AAA layer that accepts UAUTH_SERVE_USER / UAUTH_SERVE_PASSWORD. A unix
 * socket UAUTH_SERVE_CTL answers one command per connection: `show`, `json`, `clear [sel]`,
 * `ipsec-add USER ADDR GROUP`, `ipsec-del ADDR`. UAUTH_SERVE_AAA=real uses gateway/aaa/ (the
 * server groups in the database) instead of the fake; UAUTH_SERVE_SET_BACKEND=nat does the set
 * operations with gateway/nat/ (table "portcullis") instead of the nft CLI. UAUTH_SERVE_SQL names an SQL file run on the
 * database first (configuration rows). Prints "READY" when listening.
 *
 * Without UAUTH_SERVE it checks the driver's pieces (static map parsing, nft command text) and
 * that the real SO_ORIGINAL_DST path refuses a connection that was not redirected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "gateway/aaa/aaa.h"
#include "gateway/nat/nat.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"
#include "gateway/uauth/uauth.h"
#include "gateway/uauth/uauth_engine.h"
#include "unit/uauth_fakes.h"

extern char **environ;

#define MAX_STATIC 8

struct serve {
	char set[128]; /* "ip pcuauth uauth" */
	int nstatic;
	uint32_t from[MAX_STATIC], to[MAX_STATIC];
	struct uauth *u;
	struct loop *loop;
	struct nat *nat; /* UAUTH_SERVE_SET_BACKEND=nat: gateway/nat/'s set operations */
};

/* "A=B,C=D" -> pairs. */
static int
parse_static(const char *s, struct serve *sv)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	sv->nstatic = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL || sv->nstatic >= MAX_STATIC)
			return -EINVAL;
		*eq = '\0';
		if (db_ip4_parse(tok, &sv->from[sv->nstatic]) < 0 ||
		    db_ip4_parse(eq + 1, &sv->to[sv->nstatic]) < 0)
			return -EINVAL;
		sv->nstatic++;
	}
	return 0;
}

static int
map_dst(void *arg, uint32_t *addr, uint16_t *port)
{
	struct serve *sv = arg;

	for (int i = 0; i < sv->nstatic; i++) {
		if (sv->from[i] == *addr) {
			*addr = sv->to[i];
			return 0;
		}
	}
	return -ENOENT;
}

static void
ip_str(uint32_t a, char *buf, size_t len)
{
	struct in_addr ia = {.s_addr = htonl(a)};

	inet_ntop(AF_INET, &ia, buf, (socklen_t)len);
}

/* The nft command for an element operation (what the NAT module does through libnftnl). Not
 * inlined: test_nft_cmd passes a buffer too small on purpose, which gcc would see at compile time. */
static __attribute__((noinline)) int
nft_cmd(char *buf, size_t len, const char *verb, const char *set, uint32_t addr, uint32_t timeout_s)
{
	char a[INET_ADDRSTRLEN];
	int n;

	ip_str(addr, a, sizeof(a));
	if (timeout_s > 0)
		n = snprintf(buf, len, "%s element %s { %s timeout %us }", verb, set, a, timeout_s);
	else
		n = snprintf(buf, len, "%s element %s { %s }", verb, set, a);
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Runs `nft [-j] CMD`, output (if out) captured. Returns the exit status or -errno. */
static int
run_nft(const char *cmd, bool json, bool quiet, char *out, size_t outlen)
{
	posix_spawn_file_actions_t fa;
	char *argv[5];
	int pfd[2], st, i = 0;
	pid_t pid;
	size_t n = 0;

	if (pipe(pfd) < 0)
		return -errno;
	argv[i++] = "nft";
	if (json)
		argv[i++] = "-j";
	argv[i++] = (char *)cmd;
	argv[i] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	if (quiet) /* "No such file or directory" for elements the kernel expired: expected */
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	st = posix_spawnp(&pid, "nft", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (st != 0) {
		close(pfd[0]);
		return -st;
	}
	for (;;) {
		char tmp[4096];
		ssize_t r = read(pfd[0], tmp, sizeof(tmp));

		if (r <= 0)
			break;
		if (out != NULL && n + (size_t)r < outlen) {
			memcpy(out + n, tmp, (size_t)r);
			n += (size_t)r;
		}
	}
	if (out != NULL)
		out[n] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (!quiet)
			fprintf(stderr, "uauth serve: `nft %s` failed (status %d)\n", cmd, st);
		return -EIO;
	}
	return 0;
}

static int
nft_set_add(void *arg, uint32_t addr, uint32_t timeout_s)
{
	struct serve *sv = arg;
	char cmd[256];

	if (nft_cmd(cmd, sizeof(cmd), "add", sv->set, addr, timeout_s) < 0)
		return -EINVAL;
	/* replace: an existing element keeps its old timeout on `add` */
	if (nft_cmd(cmd, sizeof(cmd), "delete", sv->set, addr, 0) == 0)
		run_nft(cmd, false, true, NULL, 0);
	nft_cmd(cmd, sizeof(cmd), "add", sv->set, addr, timeout_s);
	return run_nft(cmd, false, false, NULL, 0);
}

static int
nft_set_del(void *arg, uint32_t addr)
{
	struct serve *sv = arg;
	char cmd[256];

	if (nft_cmd(cmd, sizeof(cmd), "delete", sv->set, addr, 0) < 0)
		return -EINVAL;
	return run_nft(cmd, false, true, NULL, 0) == 0 ? 0 : -ENOENT;
}

/* Remaining lifetime from `nft -j list set`: elem {"val": A, "timeout": T, "expires": E}. */
static int
nft_set_get(void *arg, uint32_t addr, uint64_t *left_ms)
{
	struct serve *sv = arg;
	static char out[65536];
	char cmd[256], a[INET_ADDRSTRLEN];
	json_t *root, *arr, *it;
	size_t i;
	int rc = -ENOENT;

	snprintf(cmd, sizeof(cmd), "list set %s", sv->set);
	if (run_nft(cmd, true, false, out, sizeof(out)) != 0)
		return -EIO;
	root = json_loads(out, 0, NULL);
	if (root == NULL)
		return -EIO;
	ip_str(addr, a, sizeof(a));
	arr = json_object_get(root, "nftables");
	json_array_foreach(arr, i, it)
	{
		json_t *elems = json_object_get(json_object_get(it, "set"), "elem"), *e;
		size_t j;

		json_array_foreach(elems, j, e)
		{
			json_t *el = json_object_get(e, "elem");
			const char *v = json_string_value(json_object_get(el, "val"));

			if (v != NULL && strcmp(v, a) == 0) {
				*left_ms = (uint64_t)json_integer_value(
				                   json_object_get(el, "expires")) *
				           1000;
				rc = 0;
			}
		}
	}
	json_decref(root);
	return rc;
}

/* ---- control socket ---- */

static void
on_ctl(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct serve *sv = arg;
	char cmd[256], resp[16384], *nl;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = {.tv_sec = 2};
	ssize_t n;

	if (c < 0)
		return;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(c, cmd, sizeof(cmd) - 1, 0);
	if (n <= 0) {
		close(c);
		return;
	}
	cmd[n] = '\0';
	nl = strpbrk(cmd, "\r\n");
	if (nl != NULL)
		*nl = '\0';
	resp[0] = '\0';
	if (strcmp(cmd, "show") == 0) {
		uauth_show_text(sv->u, resp, sizeof(resp));
	} else if (strcmp(cmd, "json") == 0) {
		json_t *v;

		if (uauth_to_json(sv->u, &v) == 0) {
			char *t = json_dumps(v, JSON_COMPACT);

			snprintf(resp, sizeof(resp), "%s\n", t != NULL ? t : "");
			free(t);
			json_decref(v);
		}
	} else if (strncmp(cmd, "clear", 5) == 0) {
		struct pc_err err = {0};
		int r = uauth_clear(sv->u, cmd[5] == ' ' ? cmd + 6 : NULL, &err);

		if (r < 0)
			snprintf(resp, sizeof(resp), "error: %s\n", err.msg);
		else
			snprintf(resp, sizeof(resp), "cleared %d\n", r);
	} else if (strncmp(cmd, "ipsec-add ", 10) == 0) {
		char user[64], addr[32], group[64];
		uint32_t a;

		if (sscanf(cmd + 10, "%63s %31s %63s", user, addr, group) == 3 &&
		    db_ip4_parse(addr, &a) == 0)
			snprintf(resp, sizeof(resp), "rc %d\n",
			         uauth_add_ipsec(sv->u, user, a, group));
		else
			snprintf(resp, sizeof(resp), "error: usage ipsec-add USER ADDR GROUP\n");
	} else if (strncmp(cmd, "ipsec-del ", 10) == 0) {
		uint32_t a;

		if (db_ip4_parse(cmd + 10, &a) == 0)
			snprintf(resp, sizeof(resp), "rc %d\n", uauth_remove_ipsec(sv->u, a));
	} else {
		snprintf(resp, sizeof(resp), "error: unknown command '%s'\n", cmd);
	}
	n = send(c, resp, strlen(resp), MSG_NOSIGNAL);
	(void)n;
	close(c);
}

static int
run_sql_file(struct db *db, const char *path)
{
	struct pc_err err = {0};
	static char sql[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "uauth serve: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	n = fread(sql, 1, sizeof(sql) - 1, f);
	fclose(f);
	sql[n] = '\0';
	if (db_exec(db, sql, &err) < 0) {
		fprintf(stderr, "uauth serve: %s: %s\n", path, err.msg);
		return -EINVAL;
	}
	return 0;
}

static void
on_term(struct loop *loop, int signo, void *arg)
{
	loop_stop(loop);
}

static int
serve(void)
{
	const char *dbp = getenv("UAUTH_SERVE_DB"), *ctl = getenv("UAUTH_SERVE_CTL");
	const char *st = getenv("UAUTH_SERVE_STATIC"), *set = getenv("UAUTH_SERVE_SET");
	static struct serve sv;
	static struct fake_aaa aaa;
	struct aaa *real = NULL;
	const char *mode = getenv("UAUTH_SERVE_AAA");
	struct uauth_hooks hooks, eh;
	struct uauth_config cfg;
	struct pc_err err = {0};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct db *db = NULL;
	int cfd = -1, rc = 1;

	if (dbp == NULL || ctl == NULL || getenv("UAUTH_SERVE_USER") == NULL ||
	    getenv("UAUTH_SERVE_PASSWORD") == NULL) {
		fprintf(stderr, "uauth serve: set UAUTH_SERVE_DB, UAUTH_SERVE_CTL, "
		                "UAUTH_SERVE_USER and UAUTH_SERVE_PASSWORD\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_set_all_levels(LOG_LVL_INFO);
	snprintf(sv.set, sizeof(sv.set), "%s", set != NULL ? set : "ip pcuauth uauth");
	if (st != NULL && parse_static(st, &sv) < 0) {
		fprintf(stderr, "uauth serve: UAUTH_SERVE_STATIC: expected A=B[,C=D], got '%s'\n",
		        st);
		return 2;
	}
	if (db_open(dbp, &db, &err) < 0) {
		fprintf(stderr, "uauth serve: %s\n", err.msg);
		goto out;
	}
	/* Configuration rows to add first (the sqlite3 shell lacks the ip4() check functions). */
	if (getenv("UAUTH_SERVE_SQL") != NULL && run_sql_file(db, getenv("UAUTH_SERVE_SQL")) < 0)
		goto out;
	if (uauth_config_load(db, &cfg, &err) < 0) {
		fprintf(stderr, "uauth serve: %s\n", err.msg);
		goto out;
	}
	if (loop_new(&sv.loop) < 0)
		goto out;
	loop_add_signal(sv.loop, SIGTERM, on_term, NULL);
	loop_add_signal(sv.loop, SIGINT, on_term, NULL);
	pthread_mutex_init(&aaa.lock, NULL);
	aaa.loop = sv.loop;
	aaa.user = getenv("UAUTH_SERVE_USER");
	aaa.password = getenv("UAUTH_SERVE_PASSWORD");
	aaa.delay_ms = 50;
	fake_hooks(&hooks, NULL, &aaa);
	if (mode != NULL && strcmp(mode, "real") == 0) {
		/* gateway/aaa/ with the server groups of the database (TACACS+, RADIUS, LOCAL) */
		int arc = aaa_new(sv.loop, dbp, &real);

		if (arc < 0) {
			fprintf(stderr, "uauth serve: aaa_new: %s\n", strerror(-arc));
			goto out;
		}
		/* exactly the engine's wiring (gateway/uauth/uauth_engine.c) */
		uauth_engine_hooks(&eh, NULL, real);
		hooks.authenticate = eh.authenticate;
		hooks.cancel = eh.cancel;
		hooks.aaa_arg = eh.aaa_arg;
	}
	hooks.set_add = nft_set_add;
	hooks.set_del = nft_set_del;
	hooks.set_get = nft_set_get;
	hooks.set_arg = &sv;
	if (st != NULL)
		hooks.map_dst = map_dst; /* else: the statics of the model (uauth_config_load) */
	if (getenv("UAUTH_SERVE_SET_BACKEND") != NULL &&
	    strcmp(getenv("UAUTH_SERVE_SET_BACKEND"), "nat") == 0) {
		struct nat_config ncfg = {0}; /* table "portcullis", as `portcullis nat apply` */
		int nrc = nat_new(&ncfg, &sv.nat);

		if (nrc < 0) {
			fprintf(stderr, "uauth serve: nat_new: %s\n", strerror(-nrc));
			goto out;
		}
		if (st != NULL) {
			fprintf(stderr,
			        "uauth serve: UAUTH_SERVE_STATIC is for the nft CLI backend; "
			        "with gateway/nat/ the model's statics are used\n");
			goto out;
		}
		uauth_engine_hooks(&eh, sv.nat, NULL); /* the engine's wiring */
		hooks.set_add = eh.set_add;
		hooks.set_del = eh.set_del;
		hooks.set_get = eh.set_get;
		hooks.set_sync = eh.set_sync;
		hooks.set_arg = eh.set_arg;
	}
	if (uauth_new(sv.loop, db, &cfg, &hooks, &sv.u, &err) < 0) {
		fprintf(stderr, "uauth serve: %s\n", err.msg);
		goto out;
	}
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl);
	unlink(ctl);
	if (cfd < 0 || bind(cfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(cfd, 8) < 0 ||
	    loop_add_fd(sv.loop, cfd, EPOLLIN, on_ctl, &sv) < 0) {
		fprintf(stderr, "uauth serve: control socket %s: %s\n", ctl, strerror(errno));
		goto out;
	}
	printf("READY timeout=%u inactivity=%d rules=%d port=%u aaa=%s\n", cfg.timeout_s,
	       cfg.inactivity, cfg.nrules, uauth_listen_port(sv.u, UAUTH_METHOD_IPSEC),
	       real != NULL ? "gateway/aaa" : "fake");
	printf("SET %s\n", sv.nat != NULL ? "gateway/nat" : "nft CLI");
	fflush(stdout);
	rc = loop_run(sv.loop) == 0 ? 0 : 1;
out:
	uauth_free(sv.u);
	aaa_free(real);
	nat_free(sv.nat);
	if (cfd >= 0) {
		close(cfd);
		unlink(ctl);
	}
	loop_free(sv.loop);
	db_close(db);
	return rc;
}

/* ---- unit run ---- */

static void
test_parse_static(void **state)
{
	struct serve sv = {0};
	uint32_t a = 0xc0a8010b; /* 192.168.1.11 */
	uint16_t port = 80;

	assert_int_equal(parse_static("192.168.1.11=10.89.129.131,192.168.1.12=10.0.0.1", &sv), 0);
	assert_int_equal(sv.nstatic, 2);
	assert_int_equal(map_dst(&sv, &a, &port), 0);
	assert_int_equal(a, 0x0a598183); /* 10.89.129.131 */
	assert_int_equal(port, 80);
	a = 0x01020304;
	assert_int_equal(map_dst(&sv, &a, &port), -ENOENT);
	assert_int_equal(a, 0x01020304);
	assert_int_equal(parse_static("192.168.1.11", &sv), -EINVAL);
	assert_int_equal(parse_static("192.168.1.11=10.1", &sv), -EINVAL);
}

static void
test_nft_cmd(void **state)
{
	char buf[128];

	assert_int_equal(nft_cmd(buf, sizeof(buf), "add", "ip pcuauth uauth", 0xc0a80102, 300), 0);
	assert_string_equal(buf, "add element ip pcuauth uauth { 192.168.1.2 timeout 300s }");
	assert_int_equal(nft_cmd(buf, sizeof(buf), "add", "ip pcuauth uauth", 0x0a5981c8, 0), 0);
	assert_string_equal(buf, "add element ip pcuauth uauth { 10.89.129.200 }");
	assert_int_equal(nft_cmd(buf, 20, "delete", "ip pcuauth uauth", 0x0a5981c8, 0),
	                 -ENAMETOOLONG);
}

static void *
loop_thread(void *arg)
{
	loop_run(arg);
	return NULL;
}

/* The real SO_ORIGINAL_DST path: a connection straight to the listener (no redirect) must not
 * be proxied to itself; the client is told and the AAA layer never asked. */
static void
test_direct_connection_refused(void **state)
{
	struct loop *loop;
	struct uauth *u;
	struct uauth_config cfg;
	struct uauth_hooks hooks;
	struct fake_set set = {0};
	struct fake_aaa aaa = {0};
	struct pc_err err = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 5};
	char buf[1024];
	size_t n = 0;
	pthread_t th;
	int fd;

	assert_int_equal(loop_new(&loop), 0);
	pthread_mutex_init(&set.lock, NULL);
	pthread_mutex_init(&aaa.lock, NULL);
	aaa.loop = loop;
	aaa.user = "alice";
	aaa.password = "secret";
	fake_hooks(&hooks, &set, &aaa);
	uauth_config_defaults(&cfg);
	cfg.listen_addr = INADDR_LOOPBACK;
	cfg.port = UAUTH_PORT_EPHEMERAL;
	cfg.nrules = 1;
	cfg.rules[0] = (struct uauth_rule){.include = true, .group = "LOCAL"};
	assert_int_equal(uauth_new(loop, NULL, &cfg, &hooks, &u, &err), 0);
	assert_int_equal(uauth_listen_port(u, UAUTH_METHOD_FTP), 0);
	assert_int_equal(uauth_listen_port(u, UAUTH_METHOD_HTTP), 0);
	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sa.sin_port = htons(uauth_listen_port(u, UAUTH_METHOD_IPSEC)); /* the redirect port */
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	send(fd, "GET / HTTP/1.1\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n", 57,
	     MSG_NOSIGNAL);
	for (;;) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	loop_stop(loop);
	pthread_join(th, NULL);
	uauth_free(u);
	loop_free(loop);
	assert_non_null(strstr(buf, "403 Forbidden"));
	assert_non_null(strstr(buf, "not a redirected connection"));
	assert_int_equal(aaa.requests, 0);
	assert_int_equal(set.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_static),
	        cmocka_unit_test(test_nft_cmd),
	        cmocka_unit_test(test_direct_connection_refused),
	};
	const char *s = getenv("UAUTH_SERVE");

	if (s != NULL && strcmp(s, "1") == 0)
		return serve();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
