/* The tun SA backend and backend selection, in a private network namespace (the test unshares
 * one, so it needs root like the other kernel-facing tests): routes appear and disappear with
 * SAs, packets routed into the TUN device leave as ESP-in-UDP / raw ESP that an independent
 * esp_sa decapsulates, inbound ESP comes out of the TUN device to a local socket, counters and
 * drop reasons move, rekey overlap keeps the route, and byte/time lifetimes fire events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "gateway/core/log.h"
#include "gateway/core/loop.h"
#include "gateway/ipsec/backend.h"
#include "gateway/ipsec/esp.h"
#include "gateway/ipsec/tun.h"

#define GW_INNER   "10.1.0.1" /* a local address behind the "gateway" */
#define CLIENT_IN  "10.2.0.2" /* the client's inner address, routed into the TUN */
#define CLIENT_IN2 "10.2.0.3"

static uint32_t
ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

static struct sockaddr_in
sin4(const char *s, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(ip4(s));
	return a;
}

static int
udp_bound(const char *addr, uint16_t port)
{
	struct sockaddr_in a = sin4(addr, port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Route for dst/32 via ifname present in /proc/net/route? */
static bool
has_route(const char *ifname, const char *dst)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], dev[64];
	unsigned d;
	bool found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %x", dev, &d) == 2 && strcmp(dev, ifname) == 0 &&
		    d == htonl(ip4(dst)))
			found = true;
	}
	fclose(f);
	return found;
}

static uint16_t
csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* IPv4/UDP packet (UDP checksum 0) into p; returns its length. */
static size_t
build_udp(uint8_t *p, const char *src, uint16_t sport, const char *dst, uint16_t dport,
          const char *payload)
{
	size_t plen = strlen(payload), tot = 28 + plen;
	uint32_t s = ip4(src), d = ip4(dst);
	uint16_t c;

	memset(p, 0, 28);
	p[0] = 0x45;
	p[2] = (uint8_t)(tot >> 8);
	p[3] = (uint8_t)tot;
	p[6] = 0x40;
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(s >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(d >> (24 - 8 * i));
	}
	c = csum(p, 20);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	p[24] = (uint8_t)((8 + plen) >> 8);
	p[25] = (uint8_t)(8 + plen);
	memcpy(p + 28, payload, plen);
	return tot;
}

/* ---- driving the loop until something happened ---- */

struct until {
	bool (*cond)(void *);
	void *arg;
	uint64_t deadline;
	bool met;
};

static void
until_tick(struct loop *loop, void *arg)
{
	struct until *u = arg;

	if (u->cond(u->arg)) {
		u->met = true;
		loop_stop(loop);
		return;
	}
	if (loop_now_ms() >= u->deadline) {
		loop_stop(loop);
		return;
	}
	assert_non_null(loop_timer_add(loop, 5, until_tick, u));
}

static bool
run_until(struct loop *loop, bool (*cond)(void *), void *arg, uint64_t timeout_ms)
{
	struct until u = {cond, arg, loop_now_ms() + timeout_ms, false};

	assert_non_null(loop_timer_add(loop, 0, until_tick, &u));
	assert_int_equal(loop_run(loop), 0);
	return u.met;
}

static bool
fd_readable(void *arg)
{
	struct pollfd p = {.fd = *(int *)arg, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static bool
never(void *arg)
{
	return false;
}

/* ---- fixtures ---- */

struct fix {
	struct loop *loop;
	struct ipsec_backend *be;
	int natt_fd;  /* the "IKE engine's" 4500 socket, 127.0.0.1:4500 */
	int peer_fd;  /* the client's ESP-in-UDP socket, 127.0.0.1:4501 */
	int inner_fd; /* a service on the gateway side, GW_INNER:5000 */
	int raw_fd;   /* the client's raw ESP socket */
	struct ipsec_keys k_in, k_out;
	int n_events;
	enum ipsec_event events[8];
	uint64_t ev_handle[8];
	/* When set, the event callback deletes every SA in del_on_event (as an IKE engine tearing
	 * down a whole IKE SA on the first expiry would). */
	uint64_t del_on_event[2];
};

static void
on_event(void *arg, uint64_t owner, uint64_t handle, enum ipsec_event ev)
{
	struct fix *f = arg;

	assert_int_equal(owner, 77);
	if (f->n_events < 8) {
		f->events[f->n_events] = ev;
		f->ev_handle[f->n_events] = handle;
	}
	f->n_events++;
	for (int i = 0; i < 2; i++) {
		if (f->del_on_event[i] != 0) {
			f->be->ops->sa_del(f->be, f->del_on_event[i]);
			f->del_on_event[i] = 0;
		}
	}
}

static void
keys(struct ipsec_keys *k, uint32_t spi)
{
	memset(k, 0, sizeof(*k));
	k->spi = spi;
	k->enc_key_len = 16;
	k->auth_key_len = 20;
	assert_int_equal(RAND_bytes(k->enc_key, 16), 1);
	assert_int_equal(RAND_bytes(k->auth_key, 20), 1);
}

static struct ipsec_sa_params
params(struct fix *f, bool udp, uint32_t spi_in, uint32_t spi_out)
{
	struct ipsec_sa_params p;

	memset(&p, 0, sizeof(p));
	p.enc = IPSEC_ENC_AES_CBC;
	p.auth = IPSEC_AUTH_HMAC_SHA1_96;
	keys(&f->k_in, spi_in);
	keys(&f->k_out, spi_out);
	p.in = f->k_in;
	p.out = f->k_out;
	p.local = sin4("127.0.0.1", udp ? 4500 : 0);
	p.peer = udp ? sin4("127.0.0.1", 4501) : sin4("127.0.0.2", 0);
	p.udp_encap = udp;
	p.remote_ts[0] = (struct ipsec_prefix){ip4(CLIENT_IN), 32};
	p.n_remote_ts = 1;
	p.local_ts[0] = (struct ipsec_prefix){0, 0};
	p.n_local_ts = 1;
	p.replay_window = 64;
	p.owner = 77;
	return p;
}

static int
setup_threads(void **state, unsigned threads)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct ipsec_tun_config cfg = {.ifname = "pctest0", .esp_threads = threads};

	assert_non_null(f);
	assert_int_equal(loop_new(&f->loop), 0);
	assert_int_equal(ipsec_tun_new(f->loop, &cfg, &f->be), 0);
	assert_string_equal(ipsec_tun_ifname(f->be), "pctest0");
	f->be->on_event = on_event;
	f->be->event_arg = f;
	f->natt_fd = udp_bound("127.0.0.1", 4500);
	f->be->natt_fd = f->natt_fd;
	f->peer_fd = udp_bound("127.0.0.1", 4501);
	f->inner_fd = udp_bound(GW_INNER, 5000);
	f->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
	assert_true(f->raw_fd >= 0);
	*state = f;
	return 0;
}

/* Two ESP threads whatever the machine: the loop thread and a worker (the first SA of a test
 * stays on the loop thread, the second goes to the worker). */
static int
setup(void **state)
{
	return setup_threads(state, 2);
}

/* Everything on the loop thread: packets counted as they are sent. */
static int
setup1(void **state)
{
	return setup_threads(state, 1);
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	ipsec_backend_free(f->be);
	close(f->natt_fd);
	close(f->peer_fd);
	close(f->inner_fd);
	close(f->raw_fd);
	loop_free(f->loop);
	free(f);
	return 0;
}

/* The SA's counters once the worker thread's results are counted. */
static int
sa_stats_settled(struct fix *f, uint64_t h, struct ipsec_sa_stats *st)
{
	ipsec_tun_settle(f->be);
	return f->be->ops->sa_stats(f->be, h, st);
}

/* The client's view: decapsulates with the gateway's outbound keys. */
static void
client_decap(struct fix *f, uint8_t *pkt, size_t len, const struct ipsec_keys *k,
             const char *want_src, const char *want_dst, const char *want_payload)
{
	struct esp_sa *in;
	size_t ioff, ilen;
	enum esp_drop why;
	uint8_t *ip;

	assert_int_equal(esp_sa_new(IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA1_96, k, false, 64, &in),
	                 0);
	assert_int_equal(esp_decap(in, pkt, len, &ioff, &ilen, &why), 0);
	ip = pkt + ioff;
	assert_int_equal(ilen, 28 + strlen(want_payload));
	assert_int_equal(ip[9], IPPROTO_UDP);
	assert_int_equal((uint32_t)ip[12] << 24 | ip[13] << 16 | ip[14] << 8 | ip[15],
	                 ip4(want_src));
	assert_int_equal((uint32_t)ip[16] << 24 | ip[17] << 16 | ip[18] << 8 | ip[19],
	                 ip4(want_dst));
	assert_memory_equal(ip + 28, want_payload, strlen(want_payload));
	esp_sa_free(in);
}

/* The client's encapsulation with the gateway's inbound keys; returns the ESP length and
 * leaves the packet at out. */
static size_t
client_encap(const struct ipsec_keys *k, uint32_t seq, const char *src, const char *payload,
             uint8_t *out)
{
	struct esp_sa *sa;
	uint8_t buf[2048];
	size_t ilen, off, len;
	enum esp_drop why;

	assert_int_equal(esp_sa_new(IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA1_96, k, true, 0, &sa),
	                 0);
	sa->seq = seq - 1;
	ilen = build_udp(buf + ESP_HEADROOM, src, 9, GW_INNER, 5000, payload);
	assert_int_equal(esp_encap(sa, buf, sizeof(buf), ESP_HEADROOM, ilen, &off, &len, &why), 0);
	memcpy(out, buf + off, len);
	esp_sa_free(sa);
	return len;
}

static void
send_inner(const char *dst, const char *payload)
{
	struct sockaddr_in to = sin4(dst, 9);
	int fd = udp_bound(GW_INNER, 0);

	assert_int_equal(
	        sendto(fd, payload, strlen(payload), 0, (struct sockaddr *)&to, sizeof(to)),
	        (ssize_t)strlen(payload));
	close(fd);
}

static void
expect_inner(struct fix *f, const char *payload)
{
	char buf[256];
	struct pollfd p = {.fd = f->inner_fd, .events = POLLIN};
	ssize_t n;

	assert_int_equal(poll(&p, 1, 2000), 1);
	n = recv(f->inner_fd, buf, sizeof(buf), 0);
	assert_int_equal(n, (ssize_t)strlen(payload));
	assert_memory_equal(buf, payload, strlen(payload));
}

static bool
inner_quiet(struct fix *f)
{
	struct pollfd p = {.fd = f->inner_fd, .events = POLLIN};

	return poll(&p, 1, 200) == 0;
}

static void
test_natt_round_trip(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p = params(f, true, 0x1001, 0x2001);
	struct ipsec_sa_stats st;
	struct sockaddr_in from = sin4("127.0.0.1", 4501), to = sin4("127.0.0.1", 4500);
	uint64_t h, drops[ESP_DROP_COUNT];
	uint8_t pkt[2048];
	size_t len;
	ssize_t n;

	assert_false(has_route("pctest0", CLIENT_IN));
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), 0);
	assert_true(has_route("pctest0", CLIENT_IN));
	assert_int_equal(ipsec_tun_sa_count(f->be), 1);

	/* Outbound: the kernel routes GW_INNER -> CLIENT_IN into the TUN, out comes ESP-in-UDP
	 * from the natt socket to the client's port. */
	send_inner(CLIENT_IN, "hello client");
	assert_true(run_until(f->loop, fd_readable, &f->peer_fd, 2000));
	{
		struct sockaddr_in src;
		socklen_t sl = sizeof(src);

		n = recvfrom(f->peer_fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&src, &sl);
		assert_true(n > 0);
		assert_int_equal(ntohs(src.sin_port), 4500);
	}
	assert_int_equal(esp_udp_classify(pkt, (size_t)n), ESP_UDP_ESP);
	assert_int_equal(pkt[0] << 24 | pkt[1] << 16 | pkt[2] << 8 | pkt[3], 0x2001);
	client_decap(f, pkt, (size_t)n, &f->k_out, GW_INNER, CLIENT_IN, "hello client");

	/* Inbound: the IKE engine hands over ESP-in-UDP; the inner packet reaches GW_INNER. */
	len = client_encap(&f->k_in, 1, CLIENT_IN, "hello gateway", pkt);
	f->be->ops->udp_input(f->be, pkt, len, &from, &to);
	f->be->ops->input_done(f->be);
	expect_inner(f, "hello gateway");
	assert_int_equal(sa_stats_settled(f, h, &st), 0);
	assert_int_equal(st.packets_in, 1);
	assert_int_equal(st.packets_out, 1);
	assert_int_equal(st.bytes_in, 28 + strlen("hello gateway"));
	assert_int_equal(st.bytes_out, 28 + strlen("hello client"));
	assert_true(st.last_in_ms > 0 && st.last_in_ms <= loop_now_ms());
	assert_true(st.added_ms > 0);

	/* The same packet again: replay. */
	f->be->ops->udp_input(f->be, pkt, len, &from, &to);
	f->be->ops->input_done(f->be);
	/* A forged one: auth. */
	len = client_encap(&f->k_in, 2, CLIENT_IN, "forged", pkt);
	pkt[len - 1] ^= 1;
	f->be->ops->udp_input(f->be, pkt, len, &from, &to);
	f->be->ops->input_done(f->be);
	/* An authentic one from an address outside the client's selector: selector. */
	len = client_encap(&f->k_in, 3, CLIENT_IN2, "spoofed", pkt);
	f->be->ops->udp_input(f->be, pkt, len, &from, &to);
	f->be->ops->input_done(f->be);
	/* Unknown SPI and a truncated datagram. */
	len = client_encap(&f->k_in, 4, CLIENT_IN, "x", pkt);
	pkt[3] ^= 0x40;
	f->be->ops->udp_input(f->be, pkt, len, &from, &to);
	f->be->ops->input_done(f->be);
	f->be->ops->udp_input(f->be, pkt, 3, &from, &to);
	f->be->ops->input_done(f->be);
	assert_true(inner_quiet(f));

	assert_int_equal(sa_stats_settled(f, h, &st), 0);
	assert_int_equal(st.packets_in, 1);
	assert_int_equal(st.replay_drops, 1);
	assert_int_equal(st.auth_failures, 1);
	assert_int_equal(st.other_drops, 1);
	ipsec_tun_get_drops(f->be, drops);
	assert_int_equal(drops[ESP_DROP_REPLAY], 1);
	assert_int_equal(drops[ESP_DROP_AUTH], 1);
	assert_int_equal(drops[ESP_DROP_SELECTOR], 1);
	assert_int_equal(drops[ESP_DROP_NO_SA], 1);
	assert_int_equal(drops[ESP_DROP_TRUNCATED], 1);

	/* Out of order inside the window is still accepted. */
	len = client_encap(&f->k_in, 10, CLIENT_IN, "ten", pkt);
	f->be->ops->udp_input(f->be, pkt, len, &from, &to);
	f->be->ops->input_done(f->be);
	expect_inner(f, "ten");
	len = client_encap(&f->k_in, 5, CLIENT_IN, "five", pkt);
	f->be->ops->udp_input(f->be, pkt, len, &from, &to);
	f->be->ops->input_done(f->be);
	expect_inner(f, "five");

	assert_int_equal(f->be->ops->sa_del(f->be, h), 0);
	assert_false(has_route("pctest0", CLIENT_IN));
	assert_int_equal(f->be->ops->sa_del(f->be, h), -ENOENT);
	assert_int_equal(sa_stats_settled(f, h, &st), -ENOENT);
	assert_int_equal(ipsec_tun_sa_count(f->be), 0);
}

struct count_arg {
	int fd, want, got;
	bool esp; /* ESP packets: check the sequence numbers */
	uint32_t last_seq;
	bool in_order;
};

static bool
drain_count(void *arg)
{
	struct count_arg *c = arg;
	uint8_t pkt[2048];
	ssize_t n;

	for (;;) {
		uint32_t seq;

		n = recv(c->fd, pkt, sizeof(pkt), MSG_DONTWAIT);
		if (n < 0)
			break;
		c->got++;
		if (!c->esp)
			continue;
		assert_true(n >= 8);
		seq = (uint32_t)pkt[4] << 24 | pkt[5] << 16 | pkt[6] << 8 | pkt[7];
		c->in_order &= seq == c->last_seq + 1;
		c->last_seq = seq;
	}
	return c->got >= c->want;
}

static void
test_raw_esp_round_trip(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p = params(f, false, 0x1002, 0x2002);
	struct ipsec_sa_stats st;
	struct sockaddr_in gw = sin4("127.0.0.1", 0);
	uint64_t h, drops[ESP_DROP_COUNT];
	uint8_t pkt[2048];
	size_t len;
	ssize_t n;
	bool got = false;

	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), 0);
	send_inner(CLIENT_IN, "raw out");
	assert_true(run_until(f->loop, fd_readable, &f->raw_fd, 2000));
	/* The client's raw socket sees IP header + ESP; take the packet to 127.0.0.2. */
	while ((n = recv(f->raw_fd, pkt, sizeof(pkt), 0)) > 0) {
		size_t ihl = (size_t)(pkt[0] & 15) * 4;

		if (pkt[16] != 127 || pkt[19] != 2)
			continue;
		assert_int_equal(pkt[9], IPPROTO_ESP);
		client_decap(f, pkt + ihl, (size_t)n - ihl, &f->k_out, GW_INNER, CLIENT_IN,
		             "raw out");
		got = true;
	}
	assert_true(got);

	len = client_encap(&f->k_in, 1, CLIENT_IN, "raw in", pkt);
	assert_int_equal(sendto(f->raw_fd, pkt, len, 0, (struct sockaddr *)&gw, sizeof(gw)),
	                 (ssize_t)len);
	assert_true(run_until(f->loop, fd_readable, &f->inner_fd, 2000));
	expect_inner(f, "raw in");
	assert_int_equal(sa_stats_settled(f, h, &st), 0);
	assert_int_equal(st.packets_in, 1);
	assert_int_equal(st.packets_out, 1);

	/* A burst: received in batches (recvmmsg), every packet decrypted and delivered. */
	for (uint32_t seq = 2; seq <= 41; seq++) {
		len = client_encap(&f->k_in, seq, CLIENT_IN, "burst", pkt);
		assert_int_equal(sendto(f->raw_fd, pkt, len, 0, (struct sockaddr *)&gw, sizeof(gw)),
		                 (ssize_t)len);
	}
	{
		struct count_arg c = {.fd = f->inner_fd, .want = 40};

		assert_true(run_until(f->loop, drain_count, &c, 3000));
		assert_int_equal(c.got, 40);
	}
	assert_int_equal(sa_stats_settled(f, h, &st), 0);
	assert_int_equal(st.packets_in, 41);
	/* The backend's own raw socket also saw its outbound packet (to a local address): not
	 * one of its inbound SPIs. */
	ipsec_tun_get_drops(f->be, drops);
	assert_true(drops[ESP_DROP_NO_SA] >= 1);
	assert_int_equal(f->be->ops->sa_del(f->be, h), 0);
}

static uint32_t
recv_spi(struct fix *f)
{
	uint8_t pkt[2048];
	ssize_t n;

	assert_true(run_until(f->loop, fd_readable, &f->peer_fd, 2000));
	n = recv(f->peer_fd, pkt, sizeof(pkt), 0);
	assert_true(n >= 8);
	return (uint32_t)pkt[0] << 24 | pkt[1] << 16 | pkt[2] << 8 | pkt[3];
}

static void
test_rekey_overlap(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p1 = params(f, true, 0x1003, 0x2003);
	struct ipsec_sa_params p2 = params(f, true, 0x1004, 0x2004);
	uint64_t h1, h2, h3, drops[ESP_DROP_COUNT];

	assert_int_equal(f->be->ops->sa_add(f->be, &p1, &h1), 0);
	assert_int_equal(f->be->ops->sa_add(f->be, &p2, &h2), 0);
	assert_true(h2 != h1);
	/* Same inbound SPI twice is refused. */
	assert_int_equal(f->be->ops->sa_add(f->be, &p2, &h3), -EEXIST);
	send_inner(CLIENT_IN, "new");
	assert_int_equal(recv_spi(f), 0x2004);
	/* Deleting the new pair hands the route back to the old one. */
	assert_int_equal(f->be->ops->sa_del(f->be, h2), 0);
	assert_true(has_route("pctest0", CLIENT_IN));
	send_inner(CLIENT_IN, "old");
	assert_int_equal(recv_spi(f), 0x2003);
	assert_int_equal(f->be->ops->sa_del(f->be, h1), 0);
	assert_false(has_route("pctest0", CLIENT_IN));

	/* A prefix selector and a more specific host one: longest match wins. */
	p1 = params(f, true, 0x1005, 0x2005);
	p1.remote_ts[0] = (struct ipsec_prefix){ip4("10.3.0.0"), 16};
	p2 = params(f, true, 0x1006, 0x2006);
	p2.remote_ts[0] = (struct ipsec_prefix){ip4("10.3.1.1"), 32};
	assert_int_equal(f->be->ops->sa_add(f->be, &p1, &h1), 0);
	assert_int_equal(f->be->ops->sa_add(f->be, &p2, &h2), 0);
	send_inner("10.3.1.1", "host");
	assert_int_equal(recv_spi(f), 0x2006);
	send_inner("10.3.7.7", "net");
	assert_int_equal(recv_spi(f), 0x2005);
	assert_int_equal(f->be->ops->sa_del(f->be, h1), 0);
	assert_int_equal(f->be->ops->sa_del(f->be, h2), 0);

	/* NAT-T SA with no natt socket: counted as a send failure, not a crash. */
	f->be->natt_fd = -1;
	p1 = params(f, true, 0x1007, 0x2007);
	assert_int_equal(f->be->ops->sa_add(f->be, &p1, &h1), 0);
	send_inner(CLIENT_IN, "nowhere");
	run_until(f->loop, never, NULL, 200);
	ipsec_tun_get_drops(f->be, drops);
	assert_int_equal(drops[ESP_DROP_SEND], 1);
	f->be->natt_fd = f->natt_fd;
	assert_int_equal(f->be->ops->sa_del(f->be, h1), 0);
}

/* Thousands of SA pairs (hashed by handle and SPI, routes hashed by prefix): each is found by
 * its handle and carries its own traffic; deleted ones are gone, the others stay. */
static void
test_many_sas(void **state)
{
	struct fix *f = *state;
	enum { N = 5000 };
	uint64_t *h = calloc(N, sizeof(*h));
	struct ipsec_sa_stats st;

	assert_non_null(h);
	for (uint32_t i = 0; i < N; i++) {
		struct ipsec_sa_params p = params(f, true, 0x100000 + i, 0x200000 + i);

		p.remote_ts[0] = (struct ipsec_prefix){ip4("10.4.0.0") + i, 32};
		assert_int_equal(f->be->ops->sa_add(f->be, &p, &h[i]), 0);
	}
	assert_int_equal(ipsec_tun_sa_count(f->be), N);
	for (uint32_t i = 0; i < N; i += 2)
		assert_int_equal(f->be->ops->sa_del(f->be, h[i]), 0);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(sa_stats_settled(f, h[i], &st), i % 2 ? 0 : -ENOENT);
	/* the route of a remaining pair leads to its own SA */
	send_inner("10.4.19.135", "late"); /* 10.4.0.0 + 4999 */
	assert_int_equal(recv_spi(f), 0x200000 + 4999);
	for (uint32_t i = 1; i < N; i += 2)
		assert_int_equal(f->be->ops->sa_del(f->be, h[i]), 0);
	assert_int_equal(ipsec_tun_sa_count(f->be), 0);
	free(h);
}

/* Many packets queued in the TUN at once leave in batches (sendmmsg), in sequence order, and
 * a batch that mixes NAT-T and raw ESP SAs reaches both sockets. */
static void
test_batch(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p1 = params(f, true, 0x1050, 0x2050);
	struct ipsec_sa_params p2 = params(f, false, 0x1051, 0x2051);
	struct count_arg c = {.fd = f->peer_fd, .want = 150, .esp = true, .in_order = true};
	struct ipsec_sa_stats st;
	uint64_t h1, h2;
	int raw_seen = 0;
	uint8_t pkt[2048];
	ssize_t n;

	assert_int_equal(f->be->ops->sa_add(f->be, &p1, &h1), 0);
	p2.remote_ts[0] = (struct ipsec_prefix){ip4(CLIENT_IN2), 32};
	assert_int_equal(f->be->ops->sa_add(f->be, &p2, &h2), 0);
	for (int i = 0; i < 150; i++) {
		send_inner(CLIENT_IN, "batch");
		if (i % 10 == 0)
			send_inner(CLIENT_IN2, "raw");
	}
	assert_true(run_until(f->loop, drain_count, &c, 3000));
	assert_int_equal(c.got, 150);
	assert_true(c.in_order);
	assert_int_equal(c.last_seq, 150);
	assert_int_equal(sa_stats_settled(f, h1, &st), 0);
	assert_int_equal(st.packets_out, 150);
	assert_int_equal(st.bytes_out, 150 * (28 + 5));
	while ((n = recv(f->raw_fd, pkt, sizeof(pkt), MSG_DONTWAIT)) > 0)
		if (pkt[16] == 127 && pkt[19] == 2)
			raw_seen++;
	assert_int_equal(raw_seen, 15);
	assert_int_equal(sa_stats_settled(f, h2, &st), 0);
	assert_int_equal(st.packets_out, 15);
}

/* ---- SAs on the loop thread and on a worker ---- */

#define PAR_SAS 4

struct par_out {
	int fd;
	struct esp_sa *dec[PAR_SAS]; /* the clients' inbound SAs (the gateway's outbound keys) */
	uint32_t spi[PAR_SAS];
	uint32_t last_seq[PAR_SAS];
	int next[PAR_SAS]; /* next payload number expected per SA */
	int got, want;
	bool ok;
};

static bool
par_drain(void *arg)
{
	struct par_out *c = arg;
	uint8_t pkt[2048];
	ssize_t n;

	while ((n = recv(c->fd, pkt, sizeof(pkt), MSG_DONTWAIT)) > 0) {
		uint32_t spi = (uint32_t)pkt[0] << 24 | pkt[1] << 16 | pkt[2] << 8 | pkt[3];
		uint32_t seq = (uint32_t)pkt[4] << 24 | pkt[5] << 16 | pkt[6] << 8 | pkt[7];
		size_t ioff, ilen;
		enum esp_drop why;
		char want[32];
		int s = 0;

		while (s < PAR_SAS && c->spi[s] != spi)
			s++;
		if (s == PAR_SAS || esp_decap(c->dec[s], pkt, (size_t)n, &ioff, &ilen, &why) < 0) {
			c->ok = false;
			continue;
		}
		/* each SA's packets leave numbered 1, 2, ... in the order they were routed */
		snprintf(want, sizeof(want), "s%d q%03d", s, c->next[s]);
		c->ok &= seq == c->last_seq[s] + 1 && ilen > 28 + strlen(want) &&
		         memcmp(pkt + ioff + 28, want, strlen(want)) == 0;
		c->last_seq[s] = seq;
		c->next[s]++;
		c->got++;
	}
	return c->got >= c->want;
}

static void
par_payload(char *buf, size_t cap, int s, int q)
{
	int n = snprintf(buf, cap, "s%d q%03d ", s, q);

	memset(buf + n, '.', cap - 1 - (size_t)n);
	buf[cap - 1] = '\0';
}

/* Four SAs' packets interleaved in batches of 32 (about 1 KB each), two SAs on the loop thread
 * and two on the worker: decrypted and written on both threads, each SA's in arrival order,
 * with a replay and a forgery inside a batch caught by the thread that owns the SA; outbound,
 * each SA's packets leave with consecutive sequence numbers in the order the kernel routed
 * them, and the counters add up once the worker's results are counted. */
static void
test_parallel_batches(void **state)
{
	struct fix *f = *state;
	static const char *const addr[PAR_SAS] = {"10.2.0.20", "10.2.0.21", "10.2.0.22",
	                                          "10.2.0.23"};
	struct ipsec_keys kin[PAR_SAS];
	struct par_out out = {.fd = f->peer_fd, .want = 64, .ok = true};
	struct ipsec_sa_stats st;
	uint64_t h[PAR_SAS], handed0, handed1;
	uint32_t seq[PAR_SAS] = {0};
	int qn[PAR_SAS] = {0}, delivered[PAR_SAS] = {0};
	uint8_t pkt[2048], kept[2048];
	size_t len, kept_len = 0;
	char payload[1000];
	int nexp = 0, next_rx[PAR_SAS] = {0}, rs, rq;
	unsigned threads;

	ipsec_tun_get_crypto(f->be, &threads, &handed0);
	assert_int_equal(threads, 2);
	for (int s = 0; s < PAR_SAS; s++) {
		struct ipsec_sa_params p =
		        params(f, true, 0x1100 + (uint32_t)s, 0x2100 + (uint32_t)s);

		p.remote_ts[0] = (struct ipsec_prefix){ip4(addr[s]), 32};
		kin[s] = f->k_in;
		out.spi[s] = f->k_out.spi;
		assert_int_equal(esp_sa_new(IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA1_96, &f->k_out,
		                            false, 64, &out.dec[s]),
		                 0);
		assert_int_equal(f->be->ops->sa_add(f->be, &p, &h[s]), 0);
	}

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 32; i++) {
			int s = (i * 3 + round) % PAR_SAS;
			bool forge = round == 1 && i == 6, replay = round == 1 && i == 13;
			/* round 3: SA 0 jumps 200 ahead at i == 7; its next number, sent at i == 10,
			 * is then left of the 64-packet window: a replay, if the two are checked in
			 * arrival order */
			bool jump = round == 3 && i == 7, late = round == 3 && i == 10;
			uint32_t sq;

			if (replay) {
				/* the packet of i == 5 again, same batch, same SA */
				assert_int_equal((5 * 3 + 1) % PAR_SAS, s);
				f->be->ops->udp_input(f->be, kept, kept_len, NULL, NULL);
				continue;
			}
			if (jump || late)
				s = 0;
			sq = late ? seq[0] - 199 : jump ? (seq[0] += 200) : ++seq[s];
			par_payload(payload, sizeof(payload), s, qn[s]);
			len = client_encap(&kin[s], sq, addr[s], payload, pkt);
			if (forge)
				pkt[len - 1] ^= 1;
			if (!forge && !late) {
				nexp++;
				qn[s]++;
				delivered[s]++;
			}
			if (round == 1 && i == 5) {
				memcpy(kept, pkt, len);
				kept_len = len;
			}
			f->be->ops->udp_input(f->be, pkt, len, NULL, NULL);
		}
		f->be->ops->input_done(f->be);
		/* read per round: three rounds would overflow the socket's receive buffer */
		for (int k = 0; k < nexp; k++) {
			char buf[2048];
			struct pollfd pf = {.fd = f->inner_fd, .events = POLLIN};
			ssize_t n;

			assert_int_equal(poll(&pf, 1, 2000), 1);
			n = recv(f->inner_fd, buf, sizeof(buf), 0);
			assert_int_equal(n, (ssize_t)sizeof(payload) - 1);
			/* each SA's packets in the order they came (SAs on different threads
			 * may overtake each other) */
			assert_int_equal(sscanf(buf, "s%d q%d", &rs, &rq), 2);
			assert_true(rs >= 0 && rs < PAR_SAS);
			assert_int_equal(rq, next_rx[rs]);
			next_rx[rs]++;
		}
		nexp = 0;
	}
	assert_true(inner_quiet(f));
	for (int s = 0; s < PAR_SAS; s++)
		assert_int_equal(next_rx[s], qn[s]);
	ipsec_tun_get_crypto(f->be, &threads, &handed1);
	/* both threads had SAs (which ones is the backend's choice) */
	assert_true(handed1 > handed0 && handed1 - handed0 < (uint64_t)4 * 32);
	run_until(f->loop, never, NULL, 100); /* its results are counted */
	for (int s = 0; s < PAR_SAS; s++) {
		assert_int_equal(sa_stats_settled(f, h[s], &st), 0);
		assert_int_equal(st.packets_in, delivered[s]);
		assert_int_equal(st.auth_failures, s == (6 * 3 + 1) % PAR_SAS ? 1 : 0);
		/* the resent packet's SA, and SA 0's late one */
		assert_int_equal(st.replay_drops, (s == (5 * 3 + 1) % PAR_SAS) + (s == 0));
	}

	/* Outbound: 64 packets round robin over the SAs, read from the TUN in batches. */
	for (int i = 0; i < 64; i++) {
		par_payload(payload, sizeof(payload), i % PAR_SAS, i / PAR_SAS);
		send_inner(addr[i % PAR_SAS], payload);
	}
	assert_true(run_until(f->loop, par_drain, &out, 3000));
	assert_int_equal(out.got, 64);
	assert_true(out.ok);
	ipsec_tun_get_crypto(f->be, &threads, &handed0);
	assert_true(handed0 > handed1 && handed0 - handed1 < 64); /* some SAs' 16 packets each */
	run_until(f->loop, never, NULL, 100);
	for (int s = 0; s < PAR_SAS; s++) {
		assert_int_equal(sa_stats_settled(f, h[s], &st), 0);
		assert_int_equal(st.packets_out, 16);
		esp_sa_free(out.dec[s]);
	}
}

static void
test_bad_params(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p = params(f, true, 0x1010, 0x2010);
	uint64_t h;

	p.n_remote_ts = 0;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), -EINVAL);
	p = params(f, true, 0x1010, 0x2010);
	p.remote_ts[0].plen = 33;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), -EINVAL);
	p = params(f, true, 0x1010, 0x2010);
	p.in.enc_key_len = 5;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), -EINVAL);
	p = params(f, true, 0x1010, 0x2010);
	p.peer.sin_port = 0;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), -EINVAL);
	p = params(f, true, 0x1010, 0x2010);
	p.soft_lifetime_s = 10;
	p.hard_lifetime_s = 5;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), -EINVAL);
	p = params(f, true, 0x1010, 0x2010);
	p.hard_lifetime_s = UINT64_MAX / 10;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), -EINVAL);
	p = params(f, false, 0x1010, 0x2010);
	p.peer.sin_addr.s_addr = 0;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), -EINVAL);
	assert_int_equal(ipsec_tun_sa_count(f->be), 0);
	assert_false(has_route("pctest0", CLIENT_IN));

	/* A route to the selector that someone else owns is left alone and fails the SA. */
	assert_int_equal(system("ip route add 10.2.0.9/32 dev lo"), 0);
	p = params(f, true, 0x1010, 0x2010);
	p.remote_ts[1] = (struct ipsec_prefix){ip4("10.2.0.9"), 32};
	p.n_remote_ts = 2;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), -EEXIST);
	assert_true(has_route("lo", "10.2.0.9"));
	assert_false(has_route("pctest0", CLIENT_IN)); /* the first selector's route rolled back */
	assert_int_equal(ipsec_tun_sa_count(f->be), 0);
	assert_int_equal(system("ip route del 10.2.0.9/32 dev lo"), 0);
}

static void
test_byte_lifetimes(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p = params(f, true, 0x1020, 0x2020);
	struct ipsec_sa_stats st;
	uint64_t h;

	/* Each packet carries 28 + 10 inner bytes. */
	p.soft_lifetime_bytes = 60;
	p.hard_lifetime_bytes = 100;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), 0);
	send_inner(CLIENT_IN, "0123456789");
	recv_spi(f);
	assert_int_equal(f->n_events, 0);
	send_inner(CLIENT_IN, "0123456789");
	recv_spi(f);
	run_until(f->loop, never, NULL, 50);
	assert_int_equal(f->n_events, 1);
	assert_int_equal(f->events[0], IPSEC_EV_SOFT_EXPIRE);
	assert_int_equal(f->ev_handle[0], h);
	send_inner(CLIENT_IN, "0123456789");
	recv_spi(f);
	run_until(f->loop, never, NULL, 50);
	assert_int_equal(f->n_events, 2);
	assert_int_equal(f->events[1], IPSEC_EV_HARD_EXPIRE);
	/* Hard expiry removed the SA and its route. */
	assert_int_equal(sa_stats_settled(f, h, &st), -ENOENT);
	assert_false(has_route("pctest0", CLIENT_IN));
}

/* Soft events for two SAs pending at once; the first callback deletes both SAs. The second SA's
 * pending event must simply not be delivered (ASan checks that nothing freed is touched). One
 * ESP thread: with a worker the second SA's packet may still be with it when the first event
 * deletes both (test_worker_delete_in_flight). */
static void
test_event_callback_deletes(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p1 = params(f, true, 0x1070, 0x2070);
	struct ipsec_sa_params p2 = params(f, true, 0x1071, 0x2071);
	struct count_arg c = {.fd = f->peer_fd, .want = 2, .esp = false};
	uint64_t h1, h2;

	p1.soft_lifetime_bytes = 10;
	p2.soft_lifetime_bytes = 10;
	p2.remote_ts[0] = (struct ipsec_prefix){ip4(CLIENT_IN2), 32};
	assert_int_equal(f->be->ops->sa_add(f->be, &p1, &h1), 0);
	assert_int_equal(f->be->ops->sa_add(f->be, &p2, &h2), 0);
	f->del_on_event[0] = h1;
	f->del_on_event[1] = h2;
	send_inner(CLIENT_IN, "one");
	send_inner(CLIENT_IN2, "two");
	/* Both packets leave in the same batch, so both soft events are pending together. */
	assert_true(run_until(f->loop, drain_count, &c, 2000));
	run_until(f->loop, never, NULL, 50);
	assert_int_equal(f->n_events, 1);
	assert_int_equal(f->events[0], IPSEC_EV_SOFT_EXPIRE);
	assert_int_equal(ipsec_tun_sa_count(f->be), 0);
	assert_false(has_route("pctest0", CLIENT_IN));
	assert_false(has_route("pctest0", CLIENT_IN2));
}

/* A worker's SA deleted while its packets are with the worker: they are counted or dropped,
 * the SA is freed with the last one (ASan: nothing freed is touched), and a new SA reusing its
 * selector works at once. */
static void
test_worker_delete_in_flight(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p0 = params(f, true, 0x1080, 0x2080);
	struct ipsec_sa_params p1 = params(f, true, 0x1081, 0x2081);
	struct ipsec_keys kin;
	uint64_t h0, h1, drops0[ESP_DROP_COUNT], drops1[ESP_DROP_COUNT], handed0, handed1;
	unsigned threads;
	uint8_t pkt[2048];
	char payload[1000];
	size_t len;
	int got = 0;

	p0.remote_ts[0] = (struct ipsec_prefix){ip4(CLIENT_IN2), 32};
	kin = p1.in;
	/* the first SA stays on the loop thread, the second goes to the worker */
	assert_int_equal(f->be->ops->sa_add(f->be, &p0, &h0), 0);
	assert_int_equal(f->be->ops->sa_add(f->be, &p1, &h1), 0);
	ipsec_tun_get_drops(f->be, drops0);
	ipsec_tun_get_crypto(f->be, &threads, &handed0);
	memset(payload, 'x', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	for (int round = 0; round < 20; round++) {
		for (uint32_t i = 1; i <= 32; i++) {
			len = client_encap(&kin, (uint32_t)round * 32 + i, CLIENT_IN, payload, pkt);
			f->be->ops->udp_input(f->be, pkt, len, NULL, NULL);
		}
		f->be->ops->input_done(f->be);
	}
	/* gone while the worker is (most likely) still on them */
	assert_int_equal(f->be->ops->sa_del(f->be, h1), 0);
	assert_int_equal(sa_stats_settled(f, h1, &(struct ipsec_sa_stats){0}), -ENOENT);
	ipsec_tun_get_crypto(f->be, &threads, &handed1);
	ipsec_tun_get_drops(f->be, drops1);
	/* handed over, or dropped because the worker's ring was full */
	assert_int_equal(handed1 - handed0 + drops1[ESP_DROP_BUSY] - drops0[ESP_DROP_BUSY], 640);
	/* the new pair takes over the selector */
	p1 = params(f, true, 0x1082, 0x2082);
	assert_int_equal(f->be->ops->sa_add(f->be, &p1, &h1), 0);
	len = client_encap(&f->k_in, 1, CLIENT_IN, "after", pkt);
	run_until(f->loop, never, NULL, 100); /* the worker's results are counted */
	while (inner_quiet(f) == false) {
		char buf[2048];

		if (recv(f->inner_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			got++;
	}
	f->be->ops->udp_input(f->be, pkt, len, NULL, NULL);
	f->be->ops->input_done(f->be);
	expect_inner(f, "after");
	/* every packet handed over was written or dropped as expired (the inner socket's buffer
	 * holds about 90 of them) */
	ipsec_tun_get_drops(f->be, drops1);
	assert_true(got > 0);
	assert_true(drops1[ESP_DROP_EXPIRED] - drops0[ESP_DROP_EXPIRED] <= handed1 - handed0);
	assert_int_equal(f->be->ops->sa_del(f->be, h1), 0);
	assert_int_equal(f->be->ops->sa_del(f->be, h0), 0);
	assert_int_equal(ipsec_tun_sa_count(f->be), 0);
}

static void
test_time_lifetimes(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p = params(f, true, 0x1030, 0x2030);
	struct ipsec_sa_stats st;
	uint64_t h, t0 = loop_now_ms();

	p.soft_lifetime_s = 1;
	p.hard_lifetime_s = 2;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), 0);
	run_until(f->loop, never, NULL, 1500);
	assert_int_equal(f->n_events, 1);
	assert_int_equal(f->events[0], IPSEC_EV_SOFT_EXPIRE);
	assert_int_equal(sa_stats_settled(f, h, &st), 0);
	run_until(f->loop, never, NULL, 800);
	assert_int_equal(f->n_events, 2);
	assert_int_equal(f->events[1], IPSEC_EV_HARD_EXPIRE);
	assert_true(loop_now_ms() - t0 >= 2000);
	assert_int_equal(sa_stats_settled(f, h, &st), -ENOENT);
}

static void
count_read_errors(enum log_subsys subsys, enum log_level level, const char *msg, void *arg)
{
	if (subsys == LOG_IPSEC && strstr(msg, "tun: read pctest0") != NULL)
		(*(int *)arg)++;
}

/* The TUN device deleted under the backend: the loop must not spin on the dead fd, SAs can still
 * be deleted (their routes went with the device) and the backend freed. */
static void
test_device_deleted(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p = params(f, true, 0x1060, 0x2060);
	int read_errors = 0;
	uint64_t h;

	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), 0);
	assert_int_equal(system("ip link del pctest0"), 0);
	assert_false(has_route("pctest0", CLIENT_IN));
	/* 300 ms of loop: a loop spinning on the dead fd would call the reader (and log) again
	 * and again; it must stop watching it after the first failure. */
	log_set_sink(count_read_errors, &read_errors);
	run_until(f->loop, never, NULL, 300);
	log_set_sink(NULL, NULL);
	assert_int_equal(read_errors, 1);
	assert_int_equal(f->be->ops->sa_del(f->be, h), 0);
}

static void
test_free_with_sas(void **state)
{
	struct fix *f = *state;
	struct ipsec_sa_params p = params(f, true, 0x1040, 0x2040);
	uint64_t h;

	p.soft_lifetime_s = 100;
	p.hard_lifetime_s = 200;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), 0);
	p = params(f, false, 0x1041, 0x2041);
	p.remote_ts[1] = (struct ipsec_prefix){ip4("10.9.0.0"), 24};
	p.n_remote_ts = 2;
	assert_int_equal(f->be->ops->sa_add(f->be, &p, &h), 0);
	assert_int_equal(ipsec_tun_sa_count(f->be), 2);
	/* teardown frees the backend with both SAs and their timers: ASan checks for leaks. */
}

static void
test_backend_select(void **state)
{
	struct loop *loop;
	struct ipsec_backend *be = NULL;
	struct ipsec_tun_config cfg = {.ifname = "pcsel0"};
	char why[512], probe[256];
	enum ipsec_backend_kind k;
	int pr;

	assert_int_equal(loop_new(&loop), 0);
	pr = ipsec_backend_probe_xfrm(probe, sizeof(probe));
	assert_true(probe[0] != '\0');
	print_message("xfrm probe in this kernel: %d (%s)\n", pr, probe);
	if (pr == 0) {
		/* a kernel with ESP: xfrm is built and chosen, by name and by auto */
		assert_int_equal(
		        ipsec_backend_new(IPSEC_BACKEND_XFRM, loop, &cfg, &be, why, sizeof(why)),
		        0);
		assert_string_equal(be->ops->name, "xfrm");
		ipsec_backend_free(be);
		assert_int_equal(
		        ipsec_backend_new(IPSEC_BACKEND_AUTO, loop, &cfg, &be, why, sizeof(why)),
		        0);
		assert_string_equal(be->ops->name, "xfrm");
		assert_non_null(strstr(why, "auto: xfrm"));
		ipsec_backend_free(be);
	} else {
		/* no ESP: xfrm refuses, naming what is missing; auto falls back to tun */
		assert_int_equal(
		        ipsec_backend_new(IPSEC_BACKEND_XFRM, loop, &cfg, &be, why, sizeof(why)),
		        -EPROTONOSUPPORT);
		assert_null(be);
		assert_non_null(strstr(why, "xfrm backend unavailable"));
		assert_non_null(strstr(why, "ESP"));
		assert_int_equal(
		        ipsec_backend_new(IPSEC_BACKEND_AUTO, loop, &cfg, &be, why, sizeof(why)),
		        0);
		assert_string_equal(be->ops->name, "tun");
		assert_non_null(strstr(why, "auto: tun"));
		ipsec_backend_free(be);
	}
	assert_int_equal(ipsec_backend_new(IPSEC_BACKEND_TUN, loop, &cfg, &be, NULL, 0), 0);
	assert_string_equal(be->ops->name, "tun");
	ipsec_backend_free(be);
	ipsec_backend_free(NULL);

	assert_int_equal(ipsec_backend_kind_parse("auto", &k), 0);
	assert_int_equal(k, IPSEC_BACKEND_AUTO);
	assert_int_equal(ipsec_backend_kind_parse("xfrm", &k), 0);
	assert_int_equal(k, IPSEC_BACKEND_XFRM);
	assert_int_equal(ipsec_backend_kind_parse("kernel", &k), -EINVAL);
	assert_string_equal(ipsec_backend_kind_name(IPSEC_BACKEND_TUN), "tun");
	loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_natt_round_trip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_raw_esp_round_trip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rekey_overlap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many_sas, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_parallel_batches, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_byte_lifetimes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_event_callback_deletes, setup1, teardown),
	        cmocka_unit_test_setup_teardown(test_worker_delete_in_flight, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_time_lifetimes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_device_deleted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_free_with_sas, setup, teardown),
	        cmocka_unit_test(test_backend_select),
	};

	/* Everything below runs in a network namespace of our own: TUN devices, routes, the xfrm
	 * probe and all traffic stay there. */
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "ipsec_tun_test: unshare(CLONE_NEWNET): %s (needs root)\n",
		        strerror(errno));
		return 1;
	}
	if (system("ip link set lo up && ip addr add " GW_INNER "/32 dev lo") != 0) {
		fprintf(stderr, "ipsec_tun_test: setting up lo in the test namespace failed\n");
		return 1;
	}
	log_set_all_levels(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
