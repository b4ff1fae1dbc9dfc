/* ESP load generator for bench/esp_scale.sh: brings up C tunnels with the test initiator
 * (tests/peers/ike_initiator.c: Aggressive Mode PSK group + Xauth + Mode Config + Quick Mode),
 * client k from source address BASE + k, NAT-T forced (as vpnc --natt-mode force-natt: the ESP
 * goes in UDP to the server's port 4500), with the chosen ESP transform. Then, for each tunnel,
 * it builds ONE ESP packet (gateway/ipsec/esp.c, esp_sa_new() outbound + esp_encap() with the
 * tunnel's key material) carrying an inner IPv4/UDP packet of S bytes (default 1400, within
 * both gateways' tunnel MTU of 1400) from the tunnel's Mode Config address to SINK port 9, and
 * for SECS seconds sends it over and over, round robin over the tunnels, in batches from each
 * tunnel's own socket (the IKE socket, floated to the server's NAT-T port): sendmmsg(), or with
 * -G one UDP GSO send per batch (UDP_SEGMENT: the kernel cuts it into the same datagrams; one
 * pass through the stack and the bridge per batch instead of per packet, which is most of the
 * sender's cost on veth).
 *
 * What is reused and what is not: the ciphertext (and its IV) is the same in every copy of a
 * tunnel's packet; for each packet sent the generator writes the next ESP sequence number
 * (1, 2, 3, ... per tunnel) and recomputes the 96-bit ICV (HMAC over SPI | sequence | IV |
 * ciphertext, from the SA's precomputed HMAC key states, as esp.c does), so every packet passes
 * the gateway's anti-replay and ICV checks, and the gateway decrypts it in full and forwards the
 * inner packet: the gateway's work per packet is that of real traffic, while the generator's is
 * one HMAC and its share of a send (no encryption). A receiver that checked the inner payloads
 * for repeats would notice; IPsec gateways do not.
 *
 * -W SECS: a warm-up before the measured SECS, sending copies whose inner packet goes to port
 * 10 instead of 9 (the sink counts port 9 only), so the rate has settled when counting starts.
 * -A PID (with -R): adaptive rate. PID is a process in the sink's network namespace; the
 * generator reads the IP counters of that namespace (/proc/PID/net/snmp, InReceives: every inner
 * packet delivered) and the gateway's UDP receive-buffer drops (/proc/GW_PID/net/snmp) every
 * 50 ms and steers its rate to what the gateway takes (see run_phase()): an offer far above it
 * would only burn the generator's CPU, which the gateway needs on a shared machine. -r PPS: a
 * fixed total rate, or the start of the adaptive one (default: as fast as the sockets take them;
 * adaptive: 10000/s, doubling until the first overload).
 *
 * The tunnels stay up while sending (no DELETE until the end, then a DELETE for each). Nothing
 * keeps them alive: the bench configurations have no DPD (charon) or DPD/idle timers of an hour
 * or more (Portcullis: isakmp keepalive 3600, vpngroup idle-time 86400), far beyond a run.
 * Portcullis sends a NAT keepalive every 20 s to a peer behind a NAT: it lands in the socket's
 * receive buffer, unread. Each tunnel presents the same group and user, so the initiator sends
 * no INITIAL_CONTACT (its rekey flag), which would make either gateway clear the other tunnels.
 * Nor does it answer anything: a run long enough to reach an SA's lifetime (Portcullis: the PIX
 * default of 4,608,000 KB per SA, soft at 90%, about 4 GB per tunnel; strongSwan: none in bytes,
 * one hour) would see the gateway's rekey go unanswered and its tunnel end.
 *
 *   espload -s 192.168.1.1 -g GROUP -k PSK -u USER -p PASSWORD [-c 8] [-b 172.16.0.1]
 *           [-T aes128-sha1|3des-md5|des-md5] [-S 1400] [-d 10.89.129.195] [-t SECS] [-W SECS]
 *           [-j THREADS] [-B BATCH] [-G] [-r PPS] [-R GW_PID] [-A SINK_NS_PID] [-P 500] [-N 4500]
 *
 * -j: sending threads (tunnel k is sent by thread k % j; default 1). -B: packets per tunnel per
 * send (default 32; with -G at most 64 and 64 KiB). Prints one line of key=value pairs for the
 * measured time: tunnels (established) sent (packets the kernel accepted) send_err (packets it
 * refused) secs client_cpu_s (this process, user+system, all threads) client_sys_s (its system
 * part: the sends, and the kernel's delivery of each packet up to the gateway's socket, which
 * runs in the sender's context on veth) pps inner_bytes esp_bytes (the ESP packet, SPI to ICV;
 * on the wire 28 more for the outer IP and UDP headers) setup_s warmup_sent; with -A rate_start
 * rate_end rate_cuts (the rate when counting started and ended, the cuts while counting); with
 * -R gw_cpu_s (user+system CPU seconds of process GW_PID, the gateway, all its threads, while
 * counting). ESPLOAD_DEBUG in the environment: the rate controller's every step on stderr.
 * Exit 1 when not every tunnel came up (it still sends on those that did).
 * Build (from the source root, against a Release build of the library): see bench/esp_scale.sh. */
#define OPENSSL_SUPPRESS_DEPRECATED /* before any OpenSSL header: the low-level MD5/SHA1 calls */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "gateway/ipsec/esp.h"
#include "bench/loadgen.h"
#include "peers/ike_initiator.h"

#define ESPLOAD_MAX_TUNNELS 256
#define ESPLOAD_MAX_BATCH   256
#define ESPLOAD_ICV_LEN     12 /* HMAC-MD5-96 and HMAC-SHA1-96 */

/* The two packet sets of a tunnel: warm-up (inner UDP to port 10, not counted by the sink) and
 * measured (port 9). The same SA: the sequence numbers run on across both. */
struct pktset {
	uint8_t *pkts; /* batch copies of the ESP packet, esp_len bytes each */
	struct mmsghdr *mm;
	struct iovec *iov;
};

struct tunnel {
	struct ike_init in;
	bool up;
	struct esp_sa *sa;
	uint32_t seq; /* last sequence number used */
	size_t esp_len;
	struct pktset set[2];
};

struct espload {
	struct tunnel *t;
	int ntun;
	int nthreads;
	int batch;
	bool gso;              /* -G: a batch is one UDP GSO send (UDP_SEGMENT) */
	atomic_int phase;      /* 0 warm-up, 1 measured, 2 stop */
	atomic_ullong rate;    /* packets per second offered in total, 0: no limit */
	atomic_ullong sent[2]; /* per phase */
	atomic_ullong send_err[2];
};

struct worker_arg {
	struct espload *L;
	int idx;
};

/* user + system CPU seconds of process pid (all threads), from /proc/pid/stat; < 0 when unread */
static double
proc_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after the command name in brackets: state (3) ... utime (14) stime (15) */
	p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
usage(void)
{
	fprintf(stderr, "usage: espload -s SERVER -g GROUP -k PSK -u USER -p PASSWORD [-c TUNNELS] "
	                "[-b BASE] [-T aes128-sha1|3des-md5|des-md5] [-S INNER_BYTES] [-d SINK] "
	                "[-t SECS] [-W SECS] [-j THREADS] [-B BATCH] [-G] [-r PPS] [-R GW_PID] "
	                "[-A SINK_NS_PID] [-P PORT] [-N NATT_PORT]\n");
	exit(2);
}

static int
handshake(struct tunnel *t, const struct ike_init_cfg *cfg, uint32_t src,
          struct ike_init_result *res, const char **step)
{
	int r;

	*step = "open";
	r = ike_init_open_from(&t->in, cfg, src);
	if (r == 0) {
		*step = "phase 1";
		r = ike_init_phase1(&t->in);
	}
	if (r == 0) {
		*step = "xauth";
		r = ike_init_xauth(&t->in, res);
		if (r == 0 && res->xauth_status != 1) {
			snprintf(t->in.err, sizeof(t->in.err), "xauth status %u",
			         res->xauth_status);
			r = -EACCES;
		}
	}
	if (r == 0) {
		*step = "mode config";
		r = ike_init_modecfg(&t->in, res);
	}
	if (r == 0) {
		*step = "quick mode";
		r = ike_init_quick(&t->in, res);
	}
	return r;
}

static uint16_t
csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t
csum_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* The inner IPv4/UDP packet of len bytes (len >= 28) from src to dst:dport, checksums filled. */
static void
inner_packet(uint8_t *p, size_t len, uint32_t src, uint32_t dst, uint16_t sport, uint8_t dport)
{
	uint8_t ph[12];
	uint16_t c;
	size_t ul = len - 20;

	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	c = csum_fold(csum_add(0, p, 20));
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[23] = dport;
	p[24] = (uint8_t)(ul >> 8);
	p[25] = (uint8_t)ul;
	for (size_t i = 28; i < len; i++)
		p[i] = (uint8_t)i;
	memcpy(ph, p + 12, 8);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	ph[10] = (uint8_t)(ul >> 8);
	ph[11] = (uint8_t)ul;
	c = csum_fold(csum_add(csum_add(0, ph, 12), p + 20, ul));
	if (c == 0)
		c = 0xffff;
	p[26] = (uint8_t)(c >> 8);
	p[27] = (uint8_t)c;
}

/* The next sequence number and its ICV into one copy of the tunnel's packet (esp.c's HMAC from
 * the SA's precomputed inner and outer key states). */
static void
restamp(struct tunnel *t, uint8_t *pkt)
{
	size_t alen = t->esp_len - ESPLOAD_ICV_LEN;
	uint32_t s = ++t->seq;

	pkt[4] = (uint8_t)(s >> 24);
	pkt[5] = (uint8_t)(s >> 16);
	pkt[6] = (uint8_t)(s >> 8);
	pkt[7] = (uint8_t)s;
	/* icv_len was checked when the tunnel was set up; the digest of a keyed SA cannot fail */
	(void)esp_sa_icv(t->sa, pkt, alen, pkt + alen);
}

/* Keys the outbound SA from the Quick Mode result and builds the tunnel's two packets (batch
 * copies of each): inner UDP to port 10 (warm-up) and 9 (measured). */
static int
tunnel_packets(struct tunnel *t, const struct ike_init_result *res, uint32_t sink, size_t inner,
               int batch, uint16_t sport)
{
	struct ipsec_keys k = {.spi = res->spi_out};
	enum ipsec_enc enc = res->esp_id == ESP_AES    ? IPSEC_ENC_AES_CBC
	                     : res->esp_id == ESP_3DES ? IPSEC_ENC_3DES
	                                               : IPSEC_ENC_DES;
	enum ipsec_auth auth =
	        res->esp_auth == 2 ? IPSEC_AUTH_HMAC_SHA1_96 : IPSEC_AUTH_HMAC_MD5_96;
	size_t cap = ESP_HEADROOM + inner + ESP_TAILROOM, off, len = 0;
	uint8_t *buf = malloc(cap);
	enum esp_drop why;
	int r;

	if (buf == NULL)
		return -ENOMEM;
	k.enc_key_len = res->esp_enc_keylen;
	memcpy(k.enc_key, res->keymat_out, k.enc_key_len);
	k.auth_key_len = res->keymat_len - res->esp_enc_keylen;
	memcpy(k.auth_key, res->keymat_out + k.enc_key_len, k.auth_key_len);
	r = esp_sa_new(enc, auth, &k, true, 0, &t->sa);
	OPENSSL_cleanse(&k, sizeof(k));
	if (r < 0) {
		fprintf(stderr, "espload: esp_sa_new: %s\n", strerror(-r));
		free(buf);
		return r;
	}
	for (int s = 0; s < 2; s++) {
		struct pktset *ps = &t->set[s];

		inner_packet(buf + ESP_HEADROOM, inner, res->addr, sink, sport, s == 0 ? 10 : 9);
		r = esp_encap(t->sa, buf, cap, ESP_HEADROOM, inner, &off, &len, &why);
		if (r < 0 || t->sa->icv_len != ESPLOAD_ICV_LEN) {
			fprintf(stderr, "espload: esp_encap: %s (%s)\n", strerror(-r),
			        esp_drop_name(why));
			free(buf);
			return r < 0 ? r : -EINVAL;
		}
		ps->pkts = malloc(len * (size_t)batch);
		ps->mm = calloc((size_t)batch, sizeof(*ps->mm));
		ps->iov = calloc((size_t)batch, sizeof(*ps->iov));
		if (ps->pkts == NULL || ps->mm == NULL || ps->iov == NULL) {
			free(buf);
			return -ENOMEM;
		}
		for (int i = 0; i < batch; i++) {
			memcpy(ps->pkts + (size_t)i * len, buf + off, len);
			ps->iov[i] = (struct iovec){ps->pkts + (size_t)i * len, len};
			ps->mm[i].msg_hdr.msg_iov = &ps->iov[i];
			ps->mm[i].msg_hdr.msg_iovlen = 1;
		}
	}
	t->seq = 0;
	t->esp_len = len;
	free(buf);
	return 0;
}

static void
tunnel_free(struct tunnel *t)
{
	esp_sa_free(t->sa);
	for (int s = 0; s < 2; s++) {
		free(t->set[s].pkts);
		free(t->set[s].mm);
		free(t->set[s].iov);
	}
}

/* The batch as one datagram of n * esp_len bytes that the kernel cuts into n ESP-in-UDP
 * datagrams (UDP_SEGMENT): one pass through the sender's stack, the bridge and the gateway
 * namespace's routing and netfilter for the whole batch, segmented at the gateway's socket
 * (which, without UDP_GRO, receives n ordinary datagrams). Returns n or -1. */
static int
send_gso(int fd, uint8_t *pkts, size_t esp_len, int n)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} u;
	struct iovec v = {pkts, esp_len * (size_t)n};
	struct msghdr mh = {.msg_iov = &v, .msg_iovlen = 1};
	struct cmsghdr *cm;
	uint16_t seg = (uint16_t)esp_len;

	if (n == 1)
		return send(fd, pkts, esp_len, 0) < 0 ? -1 : 1;
	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	return sendmsg(fd, &mh, 0) < 0 ? -1 : n;
}

static void
sleep_ms(double ms)
{
	long long ns = (long long)(ms * 1e6);
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000),
	                      .tv_nsec = (long)(ns % 1000000000)};

	nanosleep(&ts, NULL);
}

/* Sends rounds (one batch per tunnel of this thread) until the phase is 2; with a rate, each
 * batch is due its share of the rate's time after the previous one, so that the batches are
 * spread evenly (a gateway with a small socket receive buffer would lose a round's burst), with
 * no catching up on more than 5 ms of delay. */
static void *
worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct espload *L = wa->L;
	double due = now_ms();
	int phase;

	while ((phase = atomic_load(&L->phase)) < 2) {
		unsigned long long sent = 0, err = 0, rate;

		for (int k = wa->idx; k < L->ntun; k += L->nthreads) {
			struct tunnel *t = &L->t[k];
			struct pktset *ps = &t->set[phase];
			int n;

			if (!t->up)
				continue;
			rate = atomic_load(&L->rate);
			if (rate > 0) {
				double now = now_ms();

				due += (double)L->batch * 1e3 * L->nthreads / (double)rate;
				if (due < now - 5)
					due = now;
				else if (due > now)
					sleep_ms(due - now);
			}
			for (int i = 0; i < L->batch; i++)
				restamp(t, ps->pkts + (size_t)i * t->esp_len);
			if (L->gso)
				n = send_gso(t->in.fd, ps->pkts, t->esp_len, L->batch);
			else
				n = sendmmsg(t->in.fd, ps->mm, (unsigned)L->batch, 0);
			if (n < 0) {
				err += (unsigned long long)L->batch;
				continue;
			}
			sent += (unsigned long long)n;
			err += (unsigned long long)(L->batch - n);
		}
		atomic_fetch_add(&L->sent[phase], sent);
		atomic_fetch_add(&L->send_err[phase], err);
	}
	return NULL;
}

/* Field `field` (0: the first number) of the `proto` line ("Ip: ", "Udp: ") of the SNMP MIB in
 * the network namespace of process pid; < 0 when unread. */
static long long
snmp_field(int pid, const char *proto, int field)
{
	char path[64], line[1024];
	long long v = -1;
	size_t plen = strlen(proto);
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/net/snmp", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line + plen, *end;

		/* the second line of a protocol has the values */
		if (strncmp(line, proto, plen) != 0 || ++n != 2)
			continue;
		for (int i = 0; i < field && p != NULL; i++)
			p = strchr(p + 1, ' ');
		if (p != NULL) {
			v = strtoll(p, &end, 10);
			if (end == p)
				v = -1;
		}
	}
	fclose(f);
	return v;
}

/* InReceives of the IP MIB in process pid's namespace (one in the sink's): every inner packet
 * the gateway delivered, counted before the sink's filter drops it. */
static long long
ip_in_receives(int pid)
{
	return snmp_field(pid, "Ip: ", 2);
}

/* RcvbufErrors of the UDP MIB in process pid's namespace (the gateway's): what its sockets
 * dropped for a full receive buffer. */
static long long
udp_rcvbuf_errors(int pid)
{
	return snmp_field(pid, "Udp: ", 4);
}

/* The rate controller's state (adaptive rate: -A with -R). */
struct ctl {
	int sink_pid, gw_pid;
	bool slow_start;
	unsigned long long s_base;
	long long d_base, x_base, backlog, d_last;
	int cuts;
	bool debug; /* ESPLOAD_DEBUG set: one line per interval on stderr */
};

/* Runs phase `phase` for ms milliseconds; with a sink process (adaptive rate), steers the
 * offered rate every 50 ms. Overload is either the gateway's socket dropping (its UDP receive
 * buffer errors grew by more than 2% of what was sent in the interval: a gateway that is
 * descheduled for a few milliseconds on the shared CPUs loses a burst now and then below its
 * rate, and a stricter mark would measure that rather than the rate) or a queue inside the
 * gateway growing (charon's libipsec queues packets: an offer above its rate would build an
 * unbounded backlog): the backlog, sent - delivered at the sink - dropped at the socket, above
 * 20 ms of the rate (at least four batches per tunnel) and still growing. On overload the rate
 * goes down: by the share dropped and 2% more (at most 30%), or 10% for a growing backlog; with a backlog above that mark but shrinking it holds; else it goes up 3%, or
 * doubles until the first overload (slow start, from the -r rate or 10000/s). So the offer
 * follows what the gateway takes, and the generator spends little CPU on packets that are lost.
 * Packets lost anywhere else (none are expected here) would read as a backlog. */
static void
run_phase(struct espload *L, int phase, double ms, struct ctl *c, bool count)
{
	double end = now_ms() + ms;
	unsigned long long s0 = atomic_load(&L->sent[0]) + atomic_load(&L->sent[1]);
	long long x0 = c->sink_pid > 0 ? udp_rcvbuf_errors(c->gw_pid) : -1;

	atomic_store(&L->phase, phase);
	while (now_ms() < end) {
		sleep_ms(50);
		if (c->sink_pid <= 0)
			continue;
		unsigned long long s1 = atomic_load(&L->sent[0]) + atomic_load(&L->sent[1]);
		unsigned long long rate = atomic_load(&L->rate);
		long long d1 = ip_in_receives(c->sink_pid), x1 = udp_rcvbuf_errors(c->gw_pid);
		long long backlog, cap;
		bool dropping, growing;

		if (d1 < 0 || x1 < 0 || x0 < 0)
			continue;
		backlog = (long long)(s1 - c->s_base) - (d1 - c->d_base) - (x1 - c->x_base);
		cap = (long long)(rate / 50);
		if (cap < 4LL * L->batch * L->ntun)
			cap = 4LL * L->batch * L->ntun;
		dropping = (double)(x1 - x0) > 0.02 * (double)(s1 - s0);
		growing = backlog > cap && backlog > c->backlog;
		if (c->debug)
			fprintf(stderr,
			        "espload: phase %d rate %llu sent %llu delivered %lld dropped %lld "
			        "backlog %lld cap %lld%s%s\n",
			        phase, rate, s1 - s0, d1 - c->d_last, x1 - x0, backlog, cap,
			        dropping ? " dropping" : "", growing ? " growing" : "");
		c->d_last = d1;
		if (dropping || growing) {
			/* dropping: down by the share dropped (to about what was taken) and 2%
			 * more, at most 30%; a growing backlog: 10% */
			double f = dropping ? (1.0 - (double)(x1 - x0) / (double)(s1 - s0)) * 0.98
			                    : 0.9;

			c->slow_start = false;
			rate = (unsigned long long)((double)rate * (f < 0.7 ? 0.7 : f));
			c->cuts += count;
		} else if (backlog <= cap) {
			rate = c->slow_start ? rate * 2 : rate * 103 / 100;
		}
		atomic_store(&L->rate, rate < 1000 ? 1000 : rate > 10000000 ? 10000000 : rate);
		c->backlog = backlog;
		s0 = s1;
		x0 = x1;
	}
}

static int
parse_transform(const char *s, struct ike_init_cfg *cfg)
{
	if (strcmp(s, "aes128-sha1") == 0) {
		cfg->esp_id = ESP_AES;
		cfg->esp_auth = 2;
		cfg->esp_keybits = 128;
	} else if (strcmp(s, "3des-md5") == 0) {
		cfg->esp_id = ESP_3DES;
		cfg->esp_auth = 1;
	} else if (strcmp(s, "des-md5") == 0) {
		cfg->esp_id = ESP_DES;
		cfg->esp_auth = 1;
	} else {
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct espload L = {.nthreads = 1, .batch = 32};
	struct ike_init_cfg cfg = {0};
	struct in_addr base = {htonl(0xac100001)}, sink = {htonl(0x0a5981c3)}; /* 172.16.0.1 */
	const char *server = NULL;
	int opt, ntun = 8, port = 500, up = 0, rc = 0, gw_pid = 0;
	size_t inner = 1400;
	double secs = 5, warm = 0, pps = 0, setup_s, usr0, sys0, usr, sys, t0, t1, gw0 = -1,
	       gw1 = -1;
	int sink_pid = 0;
	struct ctl ctl = {.slow_start = true};
	unsigned long long rate_warm = 0;
	pthread_t th[64];
	struct worker_arg wa[64];

	cfg.dh_group = 2;
	cfg.unity = true;
	cfg.rekey = true; /* no INITIAL_CONTACT: see the header */
	cfg.timeout_ms = 10000;
	cfg.natt = true;
	cfg.natt_port = 4500;
	parse_transform("aes128-sha1", &cfg);
	while ((opt = getopt(argc, argv, "s:g:k:u:p:c:b:T:S:d:t:j:B:r:P:N:R:GA:W:")) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'g':
			cfg.group = optarg;
			break;
		case 'k':
			cfg.psk = optarg;
			break;
		case 'u':
			cfg.user = optarg;
			break;
		case 'p':
			cfg.password = optarg;
			break;
		case 'c':
			ntun = atoi(optarg);
			break;
		case 'b':
			if (inet_pton(AF_INET, optarg, &base) != 1)
				usage();
			break;
		case 'T':
			if (parse_transform(optarg, &cfg) < 0)
				usage();
			break;
		case 'S':
			inner = (size_t)atol(optarg);
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &sink) != 1)
				usage();
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'j':
			L.nthreads = atoi(optarg);
			break;
		case 'B':
			L.batch = atoi(optarg);
			break;
		case 'r':
			pps = atof(optarg);
			break;
		case 'P':
			port = atoi(optarg);
			break;
		case 'N':
			cfg.natt_port = (uint16_t)atoi(optarg);
			break;
		case 'R':
			gw_pid = atoi(optarg);
			break;
		case 'G':
			L.gso = true;
			break;
		case 'A':
			sink_pid = atoi(optarg);
			break;
		case 'W':
			warm = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (server == NULL || cfg.group == NULL || cfg.psk == NULL || cfg.user == NULL ||
	    cfg.password == NULL || ntun < 1 || ntun > ESPLOAD_MAX_TUNNELS || inner < 28 ||
	    inner > 9000 || secs <= 0 || L.nthreads < 1 || L.nthreads > 64 || L.batch < 1 ||
	    L.batch > ESPLOAD_MAX_BATCH || pps < 0 || warm < 0 || sink_pid < 0 ||
	    (sink_pid > 0 && gw_pid <= 0) || inet_pton(AF_INET, server, &cfg.server.sin_addr) != 1)
		usage();
	if (L.nthreads > ntun)
		L.nthreads = ntun;
	/* a GSO send is at most 64 segments and 64 KiB */
	if (L.gso && (L.batch > 64 || (inner + 96) * (size_t)L.batch > 65000)) {
		fprintf(stderr,
		        "espload: -G: %d packets of %zu bytes exceed one GSO send (64 KiB)\n",
		        L.batch, inner);
		return 2;
	}
	cfg.server.sin_family = AF_INET;
	cfg.server.sin_port = htons((uint16_t)port);
	L.ntun = ntun;
	/* adaptive: from the -r rate, or 20000/s */
	atomic_store(&L.rate, (unsigned long long)(sink_pid > 0 && pps == 0 ? 10000 : pps));
	L.t = calloc((size_t)ntun, sizeof(*L.t));
	if (L.t == NULL)
		return 1;

	t0 = now_ms();
	for (int k = 0; k < ntun; k++) {
		struct tunnel *t = &L.t[k];
		struct ike_init_result res = {0};
		const char *step = "";

		t->in.fd = -1;
		if (handshake(t, &cfg, ntohl(base.s_addr) + (uint32_t)k, &res, &step) < 0) {
			fprintf(stderr, "espload: tunnel %d: %s: %s\n", k, step, t->in.err);
			continue;
		}
		if (tunnel_packets(t, &res, ntohl(sink.s_addr), inner, L.batch,
		                   (uint16_t)(10000 + k)) < 0) {
			fprintf(stderr, "espload: tunnel %d: building its ESP packet failed\n", k);
			continue;
		}
		t->up = true;
		up++;
	}
	setup_s = (now_ms() - t0) / 1e3;
	if (up < ntun)
		rc = 1;

	if (sink_pid > 0) {
		ctl.sink_pid = sink_pid;
		ctl.gw_pid = gw_pid;
		ctl.d_base = ctl.d_last = ip_in_receives(sink_pid);
		ctl.debug = getenv("ESPLOAD_DEBUG") != NULL;
		ctl.x_base = udp_rcvbuf_errors(gw_pid);
		if (ctl.d_base < 0 || ctl.x_base < 0) {
			fprintf(stderr,
			        "espload: -A: cannot read /proc/%d/net/snmp or /proc/%d/net/snmp\n",
			        sink_pid, gw_pid);
			return 2;
		}
	}
	for (int i = 0; i < L.nthreads; i++) {
		wa[i] = (struct worker_arg){&L, i};
		if (pthread_create(&th[i], NULL, worker, &wa[i]) != 0) {
			fprintf(stderr, "espload: pthread_create failed\n");
			return 1;
		}
	}
	if (warm > 0)
		run_phase(&L, 0, warm * 1e3, &ctl, false);
	rate_warm = atomic_load(&L.rate);
	if (gw_pid > 0)
		gw0 = proc_cpu_s(gw_pid);
	self_cpu(&usr0, &sys0);
	t0 = now_ms();
	run_phase(&L, 1, secs * 1e3, &ctl, true);
	atomic_store(&L.phase, 2);
	for (int i = 0; i < L.nthreads; i++)
		pthread_join(th[i], NULL);
	t1 = now_ms();
	self_cpu(&usr, &sys);
	usr -= usr0;
	sys -= sys0;
	if (gw_pid > 0)
		gw1 = proc_cpu_s(gw_pid);
	printf("tunnels=%d sent=%llu send_err=%llu secs=%.3f client_cpu_s=%.3f client_sys_s=%.3f "
	       "pps=%.0f inner_bytes=%zu esp_bytes=%zu setup_s=%.3f warmup_sent=%llu",
	       up, (unsigned long long)atomic_load(&L.sent[1]),
	       (unsigned long long)atomic_load(&L.send_err[1]), (t1 - t0) / 1e3, usr + sys, sys,
	       atomic_load(&L.sent[1]) / ((t1 - t0) / 1e3), inner, up ? L.t[0].esp_len : 0, setup_s,
	       (unsigned long long)atomic_load(&L.sent[0]));
	if (sink_pid > 0)
		printf(" rate_start=%llu rate_end=%llu rate_cuts=%d", rate_warm,
		       (unsigned long long)atomic_load(&L.rate), ctl.cuts);
	if (gw0 >= 0 && gw1 >= 0)
		printf(" gw_cpu_s=%.3f", gw1 - gw0);
	printf("\n");
	fflush(stdout);

	for (int k = 0; k < ntun; k++) {
		struct tunnel *t = &L.t[k];

		if (t->up && ike_init_delete(&t->in) < 0)
			fprintf(stderr, "espload: tunnel %d: delete: %s\n", k, t->in.err);
		if (t->in.fd >= 0 || t->up)
			ike_init_close(&t->in);
		tunnel_free(t);
	}
	free(L.t);
	return rc;
}
