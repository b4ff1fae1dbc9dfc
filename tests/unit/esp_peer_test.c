/* Two faces in one program (the build turns tests/unit/<name>_test.c into unit tests only):
 *
 * - Normal run: unit tests of the peer's configuration parsing and of its UDP 4500 demultiplexer
 *   (ESP to the backend, IKE with the non-ESP marker and NAT keepalives kept apart).
 * - ESP_PEER_SERVE=1: a tunnel endpoint for tests/integration/esp_tun_test.sh. It creates a tun
 *   backend, installs one SA pair from the environment and carries traffic until SIGTERM/SIGINT,
 *   then writes its counters to $ESP_PEER_STATS. Environment:
 *     ESP_PEER_IFNAME      TUN device name
 *     ESP_PEER_LOCAL       outer local address; ESP_PEER_REMOTE: the other end's
 *     ESP_PEER_UDP=1       ESP-in-UDP on port 4500 (the program owns the 4500 socket, as the IKE
 *                          engine would), else raw ESP
 *     ESP_PEER_ENC         des|3des|aes128|aes192|aes256;  ESP_PEER_AUTH: md5|sha1|sha256
 *     ESP_PEER_SPI_IN / ESP_PEER_SPI_OUT              hex
 *     ESP_PEER_KEY_IN / _OUT, ESP_PEER_AUTHKEY_IN / _OUT  hex (test keys only)
 *     ESP_PEER_REMOTE_TS / ESP_PEER_LOCAL_TS          a.b.c.d/n[,a.b.c.d/n...]
 *     ESP_PEER_READY       file created once the SA is installed
 *     ESP_PEER_STATS       file the counters are written to on exit */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/core/log.h"
#include "gateway/core/loop.h"
#include "gateway/ipsec/backend.h"
#include "gateway/ipsec/esp.h"
#include "gateway/ipsec/tun.h"

/* ---- configuration parsing ---- */

static int
parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);

	if (n == 0 || n % 2 != 0 || n / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		char two[3] = {s[2 * i], s[2 * i + 1], '\0'};
		char *end;

		v = (unsigned)strtoul(two, &end, 16);
		if (*end != '\0' || two[0] == '+' || two[0] == '-' || two[0] == ' ')
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static int
parse_prefixes(const char *s, struct ipsec_prefix *out, int cap, int *n)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(tok, '/'), *end;
		struct in_addr a;
		long plen;

		if (slash == NULL || *n >= cap)
			return -EINVAL;
		*slash = '\0';
		plen = strtol(slash + 1, &end, 10);
		if (inet_pton(AF_INET, tok, &a) != 1 || *end != '\0' || slash[1] == '\0' ||
		    plen < 0 || plen > 32)
			return -EINVAL;
		out[*n].addr = ntohl(a.s_addr);
		out[*n].plen = (uint8_t)plen;
		(*n)++;
	}
	return *n > 0 ? 0 : -EINVAL;
}

static int
parse_algs(const char *enc, const char *auth, enum ipsec_enc *e, enum ipsec_auth *a)
{
	if (strcmp(enc, "des") == 0 || strcmp(enc, "3des") == 0)
		*e = enc[0] == 'd' ? IPSEC_ENC_DES : IPSEC_ENC_3DES;
	else if (strcmp(enc, "aes128") == 0 || strcmp(enc, "aes192") == 0 ||
	         strcmp(enc, "aes256") == 0)
		*e = IPSEC_ENC_AES_CBC;
	else
		return -EINVAL;
	if (strcmp(auth, "md5") == 0)
		*a = IPSEC_AUTH_HMAC_MD5_96;
	else if (strcmp(auth, "sha1") == 0)
		*a = IPSEC_AUTH_HMAC_SHA1_96;
	else if (strcmp(auth, "sha256") == 0)
		*a = IPSEC_AUTH_HMAC_SHA256_128;
	else
		return -EINVAL;
	return 0;
}

static const char *
env(const char *name, int *missing)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "esp_peer: %s not set\n", name);
		(*missing)++;
		return "";
	}
	return v;
}

static int
peer_params(struct ipsec_sa_params *p, char *ifname, size_t iflen)
{
	int missing = 0, bad = 0;
	const char *local = env("ESP_PEER_LOCAL", &missing);
	const char *remote = env("ESP_PEER_REMOTE", &missing);
	const char *enc = env("ESP_PEER_ENC", &missing), *auth = env("ESP_PEER_AUTH", &missing);
	const char *udp = getenv("ESP_PEER_UDP");
	uint8_t spi[4];
	size_t l;

	memset(p, 0, sizeof(*p));
	snprintf(ifname, iflen, "%s", env("ESP_PEER_IFNAME", &missing));
	p->udp_encap = udp != NULL && strcmp(udp, "1") == 0;
	p->local.sin_family = AF_INET;
	p->peer.sin_family = AF_INET;
	p->local.sin_port = p->peer.sin_port = p->udp_encap ? htons(4500) : 0;
	bad |= inet_pton(AF_INET, local, &p->local.sin_addr) != 1;
	bad |= inet_pton(AF_INET, remote, &p->peer.sin_addr) != 1;
	bad |= parse_algs(enc, auth, &p->enc, &p->auth) < 0;
	bad |= parse_hex(env("ESP_PEER_SPI_IN", &missing), spi, 4, &l) < 0 || l != 4;
	p->in.spi = (uint32_t)spi[0] << 24 | spi[1] << 16 | spi[2] << 8 | spi[3];
	bad |= parse_hex(env("ESP_PEER_SPI_OUT", &missing), spi, 4, &l) < 0 || l != 4;
	p->out.spi = (uint32_t)spi[0] << 24 | spi[1] << 16 | spi[2] << 8 | spi[3];
	bad |= parse_hex(env("ESP_PEER_KEY_IN", &missing), p->in.enc_key, sizeof(p->in.enc_key),
	                 &p->in.enc_key_len) < 0;
	bad |= parse_hex(env("ESP_PEER_KEY_OUT", &missing), p->out.enc_key, sizeof(p->out.enc_key),
	                 &p->out.enc_key_len) < 0;
	bad |= parse_hex(env("ESP_PEER_AUTHKEY_IN", &missing), p->in.auth_key,
	                 sizeof(p->in.auth_key), &p->in.auth_key_len) < 0;
	bad |= parse_hex(env("ESP_PEER_AUTHKEY_OUT", &missing), p->out.auth_key,
	                 sizeof(p->out.auth_key), &p->out.auth_key_len) < 0;
	bad |= parse_prefixes(env("ESP_PEER_REMOTE_TS", &missing), p->remote_ts,
	                      IPSEC_MAX_SELECTORS, &p->n_remote_ts) < 0;
	bad |= parse_prefixes(env("ESP_PEER_LOCAL_TS", &missing), p->local_ts, IPSEC_MAX_SELECTORS,
	                      &p->n_local_ts) < 0;
	p->replay_window = 64;
	p->owner = 1;
	if (missing > 0 || bad) {
		fprintf(stderr, "esp_peer: bad or missing configuration\n");
		return -EINVAL;
	}
	return 0;
}

/* ---- the UDP 4500 demultiplexer (what the IKE engine does on its 4500 socket) ---- */

struct udp_counts {
	uint64_t esp, ike, keepalive, invalid;
};

static void
udp_dispatch(struct ipsec_backend *be, struct udp_counts *c, const uint8_t *pkt, size_t len,
             const struct sockaddr_in *from, const struct sockaddr_in *to)
{
	switch (esp_udp_classify(pkt, len)) {
	case ESP_UDP_ESP:
		c->esp++;
		be->ops->udp_input(be, pkt, len, from, to);
		break;
	case ESP_UDP_IKE:
		c->ike++; /* an IKE engine would strip the marker and parse */
		break;
	case ESP_UDP_KEEPALIVE:
		c->keepalive++;
		break;
	case ESP_UDP_INVALID:
		c->invalid++;
		break;
	}
}

/* ---- serve mode ---- */

struct peer {
	struct ipsec_backend *be;
	int udp_fd;
	struct sockaddr_in local;
	struct udp_counts udp;
};

static void
udp_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct peer *pr = arg;
	uint8_t buf[65536];

	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		        recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		udp_dispatch(pr->be, &pr->udp, buf, (size_t)n, &from, &pr->local);
	}
}

static void
on_signal(struct loop *loop, int signo, void *arg)
{
	loop_stop(loop);
}

static int
write_stats(const char *path, struct peer *pr, uint64_t handle)
{
	struct ipsec_sa_stats st;
	uint64_t drops[ESP_DROP_COUNT], writes, wpackets;
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -errno;
	memset(&st, 0, sizeof(st));
	pr->be->ops->sa_stats(pr->be, handle, &st);
	ipsec_tun_get_drops(pr->be, drops);
	fprintf(f, "packets_in=%llu\npackets_out=%llu\nbytes_in=%llu\nbytes_out=%llu\n",
	        (unsigned long long)st.packets_in, (unsigned long long)st.packets_out,
	        (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);
	fprintf(f, "replay_drops=%llu\nauth_failures=%llu\nother_drops=%llu\nlast_in_ms=%llu\n",
	        (unsigned long long)st.replay_drops, (unsigned long long)st.auth_failures,
	        (unsigned long long)st.other_drops, (unsigned long long)st.last_in_ms);
	fprintf(f, "udp_esp=%llu\nudp_ike=%llu\nudp_keepalive=%llu\nudp_invalid=%llu\n",
	        (unsigned long long)pr->udp.esp, (unsigned long long)pr->udp.ike,
	        (unsigned long long)pr->udp.keepalive, (unsigned long long)pr->udp.invalid);
	for (int i = 0; i < ESP_DROP_COUNT; i++)
		fprintf(f, "drop_%s=%llu\n", esp_drop_name((enum esp_drop)i),
		        (unsigned long long)drops[i]);
	ipsec_tun_get_writes(pr->be, &writes, &wpackets);
	fprintf(f, "tun_writes=%llu\ntun_write_packets=%llu\n", (unsigned long long)writes,
	        (unsigned long long)wpackets);
	return fclose(f) == 0 ? 0 : -errno;
}

static int
serve(void)
{
	struct ipsec_tun_config cfg;
	struct ipsec_sa_params p;
	struct peer pr = {.udp_fd = -1};
	struct loop *loop = NULL;
	const char *ready = getenv("ESP_PEER_READY"), *stats = getenv("ESP_PEER_STATS");
	uint64_t handle = 0;
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	if (peer_params(&p, cfg.ifname, sizeof(cfg.ifname)) < 0)
		return 2;
	log_set_all_levels(LOG_LVL_INFO);
	ret = loop_new(&loop);
	if (ret == 0)
		ret = loop_add_signal(loop, SIGTERM, on_signal, NULL);
	if (ret == 0)
		ret = loop_add_signal(loop, SIGINT, on_signal, NULL);
	if (ret == 0)
		ret = ipsec_tun_new(loop, &cfg, &pr.be);
	if (ret < 0)
		goto out;
	if (p.udp_encap) {
		int one = 1;

		pr.local = p.local;
		pr.udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (pr.udp_fd < 0 ||
		    setsockopt(pr.udp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(pr.udp_fd, (struct sockaddr *)&p.local, sizeof(p.local)) < 0) {
			ret = -errno;
			fprintf(stderr, "esp_peer: UDP 4500 socket: %s\n", strerror(errno));
			goto out;
		}
		pr.be->natt_fd = pr.udp_fd;
		ret = loop_add_fd(loop, pr.udp_fd, EPOLLIN, udp_readable, &pr);
		if (ret < 0)
			goto out;
	}
	ret = pr.be->ops->sa_add(pr.be, &p, &handle);
	if (ret < 0)
		goto out;
	if (ready != NULL) {
		FILE *f = fopen(ready, "w");

		if (f != NULL)
			fclose(f);
	}
	ret = loop_run(loop);
	if (stats != NULL && write_stats(stats, &pr, handle) < 0)
		fprintf(stderr, "esp_peer: writing %s failed\n", stats);
out:
	if (ret < 0)
		fprintf(stderr, "esp_peer: %s\n", strerror(-ret));
	ipsec_backend_free(pr.be);
	if (pr.udp_fd >= 0) {
		if (loop != NULL)
			loop_del_fd(loop, pr.udp_fd);
		close(pr.udp_fd);
	}
	loop_free(loop);
	return ret < 0 ? 1 : 0;
}

/* ---- unit tests of the above ---- */

static void
test_parse_hex(void **state)
{
	uint8_t b[4];
	size_t l;

	assert_int_equal(parse_hex("c0ffee01", b, sizeof(b), &l), 0);
	assert_int_equal(l, 4);
	assert_int_equal(b[0], 0xc0);
	assert_int_equal(b[3], 0x01);
	assert_int_equal(parse_hex("c0ffee0", b, sizeof(b), &l), -EINVAL);    /* odd */
	assert_int_equal(parse_hex("c0ffee0102", b, sizeof(b), &l), -EINVAL); /* too long */
	assert_int_equal(parse_hex("zz", b, sizeof(b), &l), -EINVAL);
	assert_int_equal(parse_hex("-1", b, sizeof(b), &l), -EINVAL);
	assert_int_equal(parse_hex("", b, sizeof(b), &l), -EINVAL);
}

static void
test_parse_prefixes(void **state)
{
	struct ipsec_prefix pf[2];
	int n;

	assert_int_equal(parse_prefixes("10.89.129.200/32,0.0.0.0/0", pf, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pf[0].addr, 0x0a5981c8);
	assert_int_equal(pf[0].plen, 32);
	assert_int_equal(pf[1].plen, 0);
	assert_int_equal(parse_prefixes("10.0.0.0/33", pf, 2, &n), -EINVAL);
	assert_int_equal(parse_prefixes("10.0.0.0", pf, 2, &n), -EINVAL);
	assert_int_equal(parse_prefixes("10.0.0.0/", pf, 2, &n), -EINVAL);
	assert_int_equal(parse_prefixes("1.1.1.1/1,2.2.2.2/2,3.3.3.3/3", pf, 2, &n), -EINVAL);
	assert_int_equal(parse_prefixes("", pf, 2, &n), -EINVAL);
}

static void
test_parse_params(void **state)
{
	struct ipsec_sa_params p;
	char ifname[IFNAMSIZ];

	setenv("ESP_PEER_IFNAME", "pcp0", 1);
	setenv("ESP_PEER_LOCAL", "192.168.1.1", 1);
	setenv("ESP_PEER_REMOTE", "192.168.1.5", 1);
	setenv("ESP_PEER_UDP", "1", 1);
	setenv("ESP_PEER_ENC", "3des", 1);
	setenv("ESP_PEER_AUTH", "sha256", 1);
	setenv("ESP_PEER_SPI_IN", "00001001", 1);
	setenv("ESP_PEER_SPI_OUT", "00002001", 1);
	setenv("ESP_PEER_KEY_IN", "000102030405060708090a0b0c0d0e0f1011121314151617", 1);
	setenv("ESP_PEER_KEY_OUT", "101112131415161718191a1b1c1d1e1f2021222324252627", 1);
	setenv("ESP_PEER_AUTHKEY_IN",
	       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
	setenv("ESP_PEER_AUTHKEY_OUT",
	       "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", 1);
	setenv("ESP_PEER_REMOTE_TS", "10.89.129.200/32", 1);
	setenv("ESP_PEER_LOCAL_TS", "10.89.129.128/28,10.0.0.0/8", 1);
	assert_int_equal(peer_params(&p, ifname, sizeof(ifname)), 0);
	assert_string_equal(ifname, "pcp0");
	assert_true(p.udp_encap);
	assert_int_equal(ntohs(p.peer.sin_port), 4500);
	assert_int_equal(p.enc, IPSEC_ENC_3DES);
	assert_int_equal(p.auth, IPSEC_AUTH_HMAC_SHA256_128);
	assert_int_equal(p.in.spi, 0x1001);
	assert_int_equal(p.out.spi, 0x2001);
	assert_int_equal(p.in.enc_key_len, 24);
	assert_int_equal(p.out.auth_key_len, 32);
	assert_int_equal(p.out.enc_key[0], 0x10);
	assert_int_equal(p.n_local_ts, 2);
	setenv("ESP_PEER_ENC", "blowfish", 1);
	assert_int_equal(peer_params(&p, ifname, sizeof(ifname)), -EINVAL);
	setenv("ESP_PEER_ENC", "aes128", 1);
	unsetenv("ESP_PEER_SPI_OUT");
	assert_int_equal(peer_params(&p, ifname, sizeof(ifname)), -EINVAL);
}

struct stub_be {
	struct ipsec_backend be;
	int calls;
	size_t last_len;
};

static void
stub_udp_input(struct ipsec_backend *be, const uint8_t *pkt, size_t len,
               const struct sockaddr_in *from, const struct sockaddr_in *to)
{
	struct stub_be *s = (struct stub_be *)be;

	s->calls++;
	s->last_len = len;
}

static void
test_udp_dispatch(void **state)
{
	static const struct ipsec_backend_ops ops = {.name = "stub", .udp_input = stub_udp_input};
	struct stub_be s = {.be = {.ops = &ops, .natt_fd = -1}};
	struct udp_counts c = {0};
	const uint8_t ike[28] = {0, 0, 0, 0, 0xaa}, esp[40] = {0, 0, 0x10, 0x01, 0, 0, 0, 1};
	const uint8_t ka[1] = {0xff};

	udp_dispatch(&s.be, &c, esp, sizeof(esp), NULL, NULL);
	udp_dispatch(&s.be, &c, ike, sizeof(ike), NULL, NULL);
	udp_dispatch(&s.be, &c, ka, sizeof(ka), NULL, NULL);
	udp_dispatch(&s.be, &c, esp, 5, NULL, NULL);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.last_len, sizeof(esp));
	assert_int_equal(c.esp, 1);
	assert_int_equal(c.ike, 1);
	assert_int_equal(c.keepalive, 1);
	assert_int_equal(c.invalid, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_hex),
	        cmocka_unit_test(test_parse_prefixes),
	        cmocka_unit_test(test_parse_params),
	        cmocka_unit_test(test_udp_dispatch),
	};
	const char *serve_env = getenv("ESP_PEER_SERVE");

	if (serve_env != NULL && strcmp(serve_env, "1") == 0)
		return serve();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
