/* IKE load generator for bench/ike_bench.sh: C concurrent clients, each a thread running the test
 * initiator (tests/peers/ike_initiator.c, built from the responder's own codec) through the full
 * Cisco VPN Client dialogue: Aggressive Mode (DH group 2, PSK + XAUTHInitPreShared), Xauth,
 * Mode Config pull, Quick Mode. Client k uses source address BASE + (k % NADDR) and an ephemeral
 * port, so the gateway sees many peers. Every handshake is timed (first AM packet to QM3 sent).
 *
 *   ikeload -s 192.168.1.1 -g vpn3000 -k PSK -u USER -p PASSWORD -c 64 -n 2000
 *           [-b 192.168.1.20 -a 200] [-P 500] [-t TIMEOUT_MS] [-K [-R GW_PID] [-n N1,N2,...]]
 *
 * Without -K each tunnel is torn down (DELETE) once established, so the gateway stays at about C
 * tunnels: the saturation rate. With -K tunnels are kept (no DELETE; the sockets stay open until
 * ikeload exits, so no later client reuses an established tunnel's address and port): the
 * gateway holds N tunnels at the end, for the memory measurement. The initiator sends no
 * INITIAL_CONTACT (its rekey flag): every client presents the same group and user, and a gateway
 * honouring INITIAL_CONTACT would otherwise clear the other clients' tunnels.
 *
 * With -K, -n may list checkpoints (1000,10000): the clients stop at each, wait a second, and
 * a line is printed for it, with the RSS of process GW_PID (-R) then: the gateway's memory.
 * -X: each client thread uses one DH key pair for all its handshakes (the load generator's own
 * cost per handshake drops by one modexp; the gateways under test still make a fresh one each).
 * -D SECONDS: no new handshake starts in a phase (up to a checkpoint) after that long; the line
 * then says stopped=1 and ok counts what was reached (a gateway whose setup rate collapses would
 * otherwise hold the run for hours).
 *
 * Prints one line of key=value pairs per checkpoint: size ok (so far) fail secs rate p50_ms p99_ms
 * max_ms client_cpu_s (this process, user+system, in the phase) [rss_kb]. rate = successful handshakes / time until the last success (the initiator does
 * not retransmit: a lost packet fails its handshake after the -t timeout, counted in fail).
 * Build (from the source root, against a Release build of the library): see bench/ike_bench.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/loadgen.h"
#include "peers/ike_initiator.h"

#define IKELOAD_MAX_CONC 4096

struct ikeload {
	struct ike_init_cfg cfg;
	uint32_t base;   /* first source address, host order */
	unsigned naddr;  /* source addresses used round-robin */
	bool keep;       /* keep tunnels (no DELETE) */
	int total;       /* handshakes to do (in this phase: up to this client index) */
	atomic_int next; /* next client index */
	atomic_int ok, fail;
	double *lat_ms;     /* per handshake, index = client index; < 0 when it failed */
	double *end_ms;     /* when each successful handshake finished (now_ms()) */
	double deadline_ms; /* no new handshake after this (0: none) */
	atomic_bool stopped;
	bool dh_reuse; /* -X */
	int *kept_fd;  /* with keep: the open sockets of established tunnels (no port reuse) */
	atomic_int errs_printed;
};

static int
handshake(struct ikeload *L, int k, struct ike_init *in, const struct ike_dh *dh, double *ms)
{
	struct ike_init_result res = {0};
	const char *step = "open";
	double t0;
	int r;

	t0 = now_ms();
	r = ike_init_open_from(in, &L->cfg, L->base + (uint32_t)(k % (int)L->naddr));
	in->cfg.dh_fixed = dh;
	if (r == 0) {
		step = "phase 1";
		r = ike_init_phase1(in);
	}
	if (r == 0) {
		step = "xauth";
		r = ike_init_xauth(in, &res);
		if (r == 0 && res.xauth_status != 1) {
			snprintf(in->err, sizeof(in->err), "xauth status %u", res.xauth_status);
			r = -EACCES;
		}
	}
	if (r == 0) {
		step = "mode config";
		r = ike_init_modecfg(in, &res);
	}
	if (r == 0) {
		step = "quick mode";
		r = ike_init_quick(in, &res);
	}
	*ms = now_ms() - t0;
	if (r == 0 && !L->keep) {
		step = "delete";
		r = ike_init_delete(in);
	}
	if (r < 0 && atomic_fetch_add(&L->errs_printed, 1) < 10)
		fprintf(stderr, "ikeload: client %d: %s: %s\n", k, step, in->err);
	return r;
}

static void *
worker(void *arg)
{
	struct ikeload *L = arg;
	struct ike_init *in = malloc(sizeof(*in));
	struct ike_dh *dh = NULL;

	if (in == NULL || (L->dh_reuse && ike_dh_new(L->cfg.dh_group, &dh) < 0)) {
		free(in);
		return NULL;
	}
	for (;;) {
		int k = atomic_load(&L->next);
		double ms = 0;

		/* claim index k only below this phase's end, so the next phase starts there */
		if (k >= L->total)
			break;
		if (L->deadline_ms > 0 && now_ms() > L->deadline_ms) {
			atomic_store(&L->stopped, true);
			break;
		}
		if (!atomic_compare_exchange_weak(&L->next, &k, k + 1))
			continue;
		if (handshake(L, k, in, dh, &ms) == 0) {
			atomic_fetch_add(&L->ok, 1);
			L->lat_ms[k] = ms;
			L->end_ms[k] = now_ms();
			if (L->keep) {
				L->kept_fd[k] = in->fd;
				in->fd = -1;
			}
		} else {
			atomic_fetch_add(&L->fail, 1);
			L->lat_ms[k] = -1;
		}
		ike_init_close(in);
	}
	ike_dh_free(dh);
	free(in);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, int n, double p)
{
	int i;

	if (n == 0)
		return 0;
	i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

static long
rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Runs clients [L->next, upto) with conc threads; returns 0 or -errno. */
static int
run_phase(struct ikeload *L, int upto, int conc, pthread_attr_t *attr)
{
	pthread_t th[IKELOAD_MAX_CONC];
	int n = conc;

	L->total = upto;
	for (int i = 0; i < conc; i++) {
		int r = pthread_create(&th[i], attr, worker, L);

		if (r != 0) {
			fprintf(stderr, "ikeload: pthread_create: %s\n", strerror(r));
			n = i;
			break;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return n == conc ? 0 : -EAGAIN;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ikeload -s SERVER -g GROUP -k PSK -u USER -p PASSWORD [-c CONC] "
	                "[-n TOTAL] [-b SRC_BASE -a NADDR] [-P PORT] [-t TIMEOUT_MS] [-K [-R PID]] "
	                "[-D SECONDS] [-X]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct ikeload L = {.naddr = 1};
	struct in_addr base = {.s_addr = htonl(INADDR_ANY)};
	const char *server = NULL, *sizes = "100";
	int conc = 16, port = 500, opt, gw_pid = 0, nsizes = 0, size[16], done = 0, rc = 0;
	double deadline_s = 0;
	struct rlimit rl;
	pthread_attr_t attr;
	double t0;

	L.cfg.server.sin_family = AF_INET;
	L.cfg.dh_group = 2;
	L.cfg.unity = true;
	L.cfg.rekey = true; /* no INITIAL_CONTACT: see the header */
	L.cfg.timeout_ms = 10000;
	while ((opt = getopt(argc, argv, "s:g:k:u:p:c:n:b:a:P:t:KR:D:X")) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'g':
			L.cfg.group = optarg;
			break;
		case 'k':
			L.cfg.psk = optarg;
			break;
		case 'u':
			L.cfg.user = optarg;
			break;
		case 'p':
			L.cfg.password = optarg;
			break;
		case 'c':
			conc = atoi(optarg);
			break;
		case 'n':
			sizes = optarg;
			break;
		case 'b':
			if (inet_pton(AF_INET, optarg, &base) != 1)
				usage();
			break;
		case 'a':
			L.naddr = (unsigned)atoi(optarg);
			break;
		case 'P':
			port = atoi(optarg);
			break;
		case 't':
			L.cfg.timeout_ms = atoi(optarg);
			break;
		case 'K':
			L.keep = true;
			break;
		case 'R':
			gw_pid = atoi(optarg);
			break;
		case 'D':
			deadline_s = atof(optarg);
			break;
		case 'X':
			L.dh_reuse = true;
			break;
		default:
			usage();
		}
	}
	for (const char *p = sizes; *p != '\0' && nsizes < 16;) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v <= (nsizes ? size[nsizes - 1] : 0) || v > 1000000)
			usage();
		size[nsizes++] = (int)v;
		p = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			usage();
	}
	if (server == NULL || L.cfg.group == NULL || L.cfg.psk == NULL || L.cfg.user == NULL ||
	    L.cfg.password == NULL || conc < 1 || conc > IKELOAD_MAX_CONC || nsizes == 0 ||
	    L.naddr < 1 || inet_pton(AF_INET, server, &L.cfg.server.sin_addr) != 1 ||
	    (nsizes > 1 && !L.keep))
		usage();
	L.cfg.server.sin_port = htons((uint16_t)port);
	L.base = ntohl(base.s_addr);
	int total = size[nsizes - 1];

	/* with -K one socket per tunnel stays open */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)total + 64) {
		rl.rlim_cur = (rlim_t)total + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			fprintf(stderr, "ikeload: setrlimit NOFILE %d: %s\n", total + 64,
			        strerror(errno));
	}
	L.lat_ms = calloc((size_t)total, sizeof(double));
	L.kept_fd = calloc((size_t)total, sizeof(int));
	L.end_ms = calloc((size_t)total, sizeof(double));
	double *lat = calloc((size_t)total, sizeof(double));

	if (L.lat_ms == NULL || lat == NULL || L.kept_fd == NULL || L.end_ms == NULL) {
		fprintf(stderr, "ikeload: out of memory\n");
		return 1;
	}
	for (int i = 0; i < total; i++)
		L.lat_ms[i] = -1; /* not (yet) done */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int s = 0; s < nsizes; s++) {
		int ok0 = atomic_load(&L.ok), fail0 = atomic_load(&L.fail), nl = 0, c;
		double secs, cpu0, u0, s0;

		c = conc < size[s] - done ? conc : size[s] - done;
		self_cpu(&u0, &s0);
		cpu0 = u0 + s0;
		t0 = now_ms();
		L.deadline_ms = deadline_s > 0 ? t0 + deadline_s * 1e3 : 0;
		atomic_store(&L.stopped, false);
		if (c > 0 && run_phase(&L, size[s], c, &attr) < 0)
			rc = 1;
		secs = (now_ms() - t0) / 1e3;
		/* the rate counts up to the last success: a client whose packet was lost waits
		 * for its timeout (the initiator does not retransmit) and would stretch the run */
		double last = t0;

		for (int i = done; i < size[s]; i++)
			if (L.lat_ms[i] >= 0) {
				lat[nl++] = L.lat_ms[i];
				if (L.end_ms[i] > last)
					last = L.end_ms[i];
			}
		qsort(lat, (size_t)nl, sizeof(double), cmp_double);
		printf("size=%d ok=%d fail=%d secs=%.3f rate=%.1f p50_ms=%.1f p99_ms=%.1f "
		       "max_ms=%.1f",
		       size[s], atomic_load(&L.ok), atomic_load(&L.fail) - fail0, secs,
		       last > t0 ? (atomic_load(&L.ok) - ok0) / ((last - t0) / 1e3) : 0.0,
		       pct(lat, nl, 0.50), pct(lat, nl, 0.99), nl ? lat[nl - 1] : 0.0);
		self_cpu(&u0, &s0);
		printf(" client_cpu_s=%.3f", u0 + s0 - cpu0);
		if (atomic_load(&L.stopped))
			printf(" stopped=1");
		if (gw_pid > 0) {
			sleep(1);
			printf(" rss_kb=%ld", rss_kb(gw_pid));
		}
		printf("\n");
		fflush(stdout);
		done = size[s];
		atomic_store(&L.next, done);
	}
	if (atomic_load(&L.fail) != 0)
		rc = 1;
	for (int i = 0; i < total; i++)
		if (L.kept_fd[i] > 0)
			close(L.kept_fd[i]);
	free(L.kept_fd);
	free(L.end_ms);
	pthread_attr_destroy(&attr);
	free(lat);
	free(L.lat_ms);
	return rc;
}
