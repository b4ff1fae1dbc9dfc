/* portcullisd: the gateway daemon. */
#include "api/api.h"
#include "db/db.h"
#include "gateway/core/engine.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"
#include "gateway/ipsec/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct options {
	const char *db_path;
	const char *api;
	const char *log_level;
	const char *netns;
	const char *webui_dir;
	const char *sa_backend;
	unsigned esp_threads; /* 0: default */
	int allow_host_network;
	int syslog;
	const char *tls_cert;
	const char *tls_key;
	int tls_auto;
};

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: portcullisd [options]\n"
	        "\n"
	        "  --db FILE              SQLite database (created and migrated if missing)\n"
	        "                         default /var/lib/portcullis/portcullis.db\n"
	        "  --api ADDR:PORT        REST API and web console listen address (default "
	        "127.0.0.1:8080);\n"
	        "                         bound in the namespace portcullisd starts in\n"
	        "  --netns NAME           run the data plane inside network namespace NAME\n"
	        "                         (/var/run/netns/NAME, e.g. made by `ip netns add`)\n"
	        "  --allow-host-network   allow programming the host's own (root namespace) "
	        "network\n"
	        "  --sa-backend KIND      auto|tun|xfrm (default auto)\n"
	        "  --esp-threads N        tun backend: threads for ESP crypto, 1-16 (default: one\n"
	        "                         per CPU, at most 8; 1: all on the main loop)\n"
	        "  --webui DIR            static console files (default the source tree's webui/)\n"
	        "  --tls-cert FILE        serve HTTPS with this PEM certificate (with --tls-key)\n"
	        "  --tls-key FILE         the certificate's PEM private key\n"
	        "  --tls-auto             serve HTTPS with a certificate generated at first start\n"
	        "                         (kept beside the database)\n"
	        "  --log-level SPEC       error|warn|info|debug, or e.g. info,ike=debug,aaa=debug\n"
	        "  --syslog               log to syslog instead of stderr\n"
	        "  --version              print the version and exit\n"
	        "  --help                 this text\n"
	        "\n"
	        "Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the configuration.\n");
}

/* The kernel's initial network namespace (init_net) always has this nsfs inode number
 * (PROC_NET_INIT_INO in include/linux/proc_ns.h). */
#define INIT_NET_INO 0xEFFFFFF9u

/* True when this process runs in the host's own network: the initial namespace, or the one PID 1
 * uses (in containers whose PID 1 has its own namespace). */
static int
in_root_netns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self) < 0)
		return 1; /* cannot tell: assume the worst */
	if (self.st_ino == INIT_NET_INO)
		return 1;
	if (stat("/proc/1/ns/net", &init) == 0 && self.st_ino == init.st_ino &&
	    self.st_dev == init.st_dev)
		return 1;
	return 0;
}

static int
enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (strchr(name, '/') != NULL || strlen(name) > 64) {
		log_error(LOG_CORE, "--netns: expected a namespace name, got '%s'", name);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;

		log_error(LOG_CORE, "--netns %s: open %s: %s (create it with `ip netns add %s`)",
		          name, path, strerror(errno), name);
		return rc;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int rc = -errno;

		log_error(LOG_CORE, "--netns %s: setns: %s", name, strerror(errno));
		close(fd);
		return rc;
	}
	close(fd);
	return 0;
}

static void
on_stop_signal(struct loop *loop, int signo, void *arg)
{
	log_info(LOG_CORE, "received %s, shutting down", strsignal(signo));
	loop_stop(loop);
}

static void
on_reload_signal(struct loop *loop, int signo, void *arg)
{
	struct engine *eng = arg;

	struct pc_err err = {0};

	log_info(LOG_CORE, "received SIGHUP, reloading configuration from %s", eng->db_path);
	if (engine_apply_stored(eng, &err) < 0)
		log_error(LOG_CORE,
		          "reload: applying the stored configuration failed, the previous "
		          "one stays: %s",
		          err.msg);
	engine_reload(eng, NULL);
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
	        {"db", required_argument, NULL, 'd'},
	        {"api", required_argument, NULL, 'a'},
	        {"log-level", required_argument, NULL, 'l'},
	        {"netns", required_argument, NULL, 'n'},
	        {"allow-host-network", no_argument, NULL, 'H'},
	        {"sa-backend", required_argument, NULL, 'b'},
	        {"esp-threads", required_argument, NULL, 'E'},
	        {"webui", required_argument, NULL, 'w'},
	        {"syslog", no_argument, NULL, 's'},
	        {"tls-cert", required_argument, NULL, 'C'},
	        {"tls-key", required_argument, NULL, 'K'},
	        {"tls-auto", no_argument, NULL, 'T'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->db_path = optarg;
			break;
		case 'a':
			o->api = optarg;
			break;
		case 'l':
			o->log_level = optarg;
			break;
		case 'n':
			o->netns = optarg;
			break;
		case 'H':
			o->allow_host_network = 1;
			break;
		case 'b':
			o->sa_backend = optarg;
			break;
		case 'E': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' ||
			    v < 1 || v > IPSEC_TUN_MAX_THREADS) {
				fprintf(stderr,
				        "portcullisd: --esp-threads: expected a number from 1 to "
				        "%d, got '%s'\n",
				        IPSEC_TUN_MAX_THREADS, optarg);
				return -EINVAL;
			}
			o->esp_threads = (unsigned)v;
			break;
		}
		case 'w':
			o->webui_dir = optarg;
			break;
		case 's':
			o->syslog = 1;
			break;
		case 'C':
			o->tls_cert = optarg;
			break;
		case 'K':
			o->tls_key = optarg;
			break;
		case 'T':
			o->tls_auto = 1;
			break;
		case 'V':
			printf("portcullisd %s (schema %d)\n", PORTCULLIS_VERSION,
			       db_latest_version());
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "portcullisd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if ((o->tls_cert != NULL) != (o->tls_key != NULL)) {
		fprintf(stderr, "portcullisd: --tls-cert and --tls-key go together (got only %s)\n",
		        o->tls_cert != NULL ? "--tls-cert" : "--tls-key");
		return -EINVAL;
	}
	if (o->tls_auto && o->tls_cert != NULL) {
		fprintf(stderr, "portcullisd: --tls-auto generates a certificate; it cannot be "
		                "combined with --tls-cert/--tls-key\n");
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = {
	        .db_path = "/var/lib/portcullis/portcullis.db",
	        .api = "127.0.0.1:8080",
	        .webui_dir = PORTCULLIS_SOURCE_DIR "/webui",
	        .sa_backend = "auto",
	};
	struct engine eng = {0};
	struct api_config acfg = {0};
	struct api *api = NULL;
	struct pc_err err = {0};
	const char *bad;
	size_t badlen;
	int api_fd = -1, rc = 1;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (o.log_level != NULL && log_parse_spec(o.log_level, &bad, &badlen) < 0) {
		fprintf(stderr,
		        "portcullisd: --log-level: expected error|warn|info|debug or "
		        "SUBSYS=LEVEL (subsystems core ike ipsec nat net aaa uauth api db), got "
		        "'%.*s'\n",
		        (int)badlen, bad);
		return 2;
	}
	if (strcmp(o.sa_backend, "auto") == 0)
		eng.sa_backend_kind = IPSEC_BACKEND_AUTO;
	else if (strcmp(o.sa_backend, "tun") == 0)
		eng.sa_backend_kind = IPSEC_BACKEND_TUN;
	else if (strcmp(o.sa_backend, "xfrm") == 0)
		eng.sa_backend_kind = IPSEC_BACKEND_XFRM;
	else {
		fprintf(stderr, "portcullisd: --sa-backend: expected auto, tun or xfrm, got '%s'\n",
		        o.sa_backend);
		return 2;
	}
	log_use_syslog(o.syslog);
	snprintf(eng.db_path, sizeof(eng.db_path), "%s", o.db_path);
	eng.esp_threads = o.esp_threads;
	eng.allow_host_network = o.allow_host_network;
	signal(SIGPIPE, SIG_IGN);

	/* The API socket belongs to the namespace we start in; everything after --netns runs in
	 * the data plane's namespace (threads inherit it from this one). */
	api_fd = api_listen(o.api, &err);
	if (api_fd < 0) {
		log_error(LOG_CORE, "%s", err.msg);
		return 1;
	}
	if (o.netns != NULL) {
		if (enter_netns(o.netns) < 0)
			goto out;
		snprintf(eng.netns, sizeof(eng.netns), "%s", o.netns);
	}
	eng.data_plane_ok = o.allow_host_network || !in_root_netns();
	if (!eng.data_plane_ok)
		log_warn(LOG_CORE,
		         "data plane disabled: refusing to program the host's own network (root "
		         "namespace); run with --netns NAME, inside a namespace, or pass "
		         "--allow-host-network");

	if (db_open(o.db_path, &eng.db, &err) < 0) {
		log_error(LOG_DB, "%s", err.msg);
		goto out;
	}
	log_info(LOG_DB, "%s: schema version %d", o.db_path, db_schema_version(eng.db));

	if (loop_new(&eng.loop) < 0)
		goto out;
	eng.started_ms = loop_now_ms();
	eng.started_epoch = (int64_t)time(NULL);
	if (loop_add_signal(eng.loop, SIGTERM, on_stop_signal, &eng) < 0 ||
	    loop_add_signal(eng.loop, SIGINT, on_stop_signal, &eng) < 0 ||
	    loop_add_signal(eng.loop, SIGHUP, on_reload_signal, &eng) < 0)
		goto out;

	if (engine_start(&eng, &err) < 0) {
		log_error(LOG_CORE, "%s", err.msg);
		goto out;
	}

	acfg.listen_fd = api_fd;
	acfg.db_path = o.db_path;
	acfg.webui_dir = o.webui_dir;
	acfg.engine = &eng;
	acfg.tls = o.tls_auto ? API_TLS_AUTO : o.tls_cert != NULL ? API_TLS_FILES : API_TLS_OFF;
	acfg.tls_cert = o.tls_cert;
	acfg.tls_key = o.tls_key;
	if (api_start(&acfg, &api, &err) < 0) {
		log_error(LOG_API, "%s", err.msg);
		goto out;
	}
	api_fd = -1; /* owned by the API server now */
	log_info(LOG_CORE, "portcullisd %s running; API on %s://%s%s%s", PORTCULLIS_VERSION,
	         acfg.tls != API_TLS_OFF ? "https" : "http", o.api,
	         eng.netns[0] != '\0' ? ", data plane in netns " : "", eng.netns);

	if (loop_run(eng.loop) == 0)
		rc = 0;
	log_info(LOG_CORE, "stopped");
out:
	api_stop(api);
	engine_stop(&eng);
	if (api_fd >= 0)
		close(api_fd);
	loop_free(eng.loop);
	db_close(eng.db);
	return rc;
}
