/* gateway/ipsec/tun_gro.c: which decrypted segments are joined, what the joined packet and its
 * virtio-net header say, and that the checksum the kernel completes from it is right. Writes go
 * to a SOCK_SEQPACKET socket pair (one message per write) instead of a TUN device; the TUN and
 * the kernel's side are exercised end to end by the ESP integration tests (TCP through vpnc). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/ipsec/tun_gro.h"

#define SRC 0x0a0000c8u /* 10.0.0.200 */
#define DST 0x0a0000c1u

static struct {
	int sv[2];
	struct tun_gro g;
	int fails;
	uint8_t msg[TUN_GRO_HDR_LEN + TUN_GRO_MAX];
	uint8_t pkt[TUN_GRO_HDR_LEN + 2000]; /* a segment, with the header's room before it */
	int sa_a, sa_b;
} T;

static void
on_fail(void *arg, void *sa, unsigned npkts, int err)
{
	T.fails += (int)npkts;
}

static int
setup(void **state)
{
	int big = 1 << 20;

	memset(&T, 0, sizeof(T));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, T.sv) < 0)
		return -1;
	setsockopt(T.sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(T.sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return tun_gro_init(&T.g, T.sv[0], on_fail, NULL);
}

static int
teardown(void **state)
{
	tun_gro_free(&T.g);
	close(T.sv[0]);
	close(T.sv[1]);
	return 0;
}

static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n == 1)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t
pseudo(size_t tcp_len)
{
	return (SRC >> 16) + (SRC & 0xffff) + (DST >> 16) + (DST & 0xffff) + 6 + (uint32_t)tcp_len;
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* A TCP/IPv4 segment in T.pkt after the header room: sport 40000 -> 5201 (sport + flow),
 * payload bytes (seq + i) & 0xff, timestamps option when opts. Returns its length. */
static size_t
seg(int flow, uint32_t seq, size_t plen, uint8_t flags, bool opts, bool bad_csum)
{
	uint8_t *ip = T.pkt + TUN_GRO_HDR_LEN, *th = ip + 20;
	size_t thlen = opts ? 32 : 20, len = 20 + thlen + plen;

	memset(ip, 0, 20 + thlen);
	ip[0] = 0x45;
	put16(ip + 2, (uint32_t)len);
	put16(ip + 4, seq & 0xffff);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 63;
	ip[9] = 6;
	put32(ip + 12, SRC);
	put32(ip + 16, DST);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
	put16(th, 40000 + (uint32_t)flow);
	put16(th + 2, 5201);
	put32(th + 4, seq);
	put32(th + 8, 777);
	th[12] = (uint8_t)((thlen / 4) << 4);
	th[13] = flags;
	put16(th + 14, 502);
	if (opts) {
		th[20] = 1;
		th[21] = 1;
		th[22] = 8;
		th[23] = 10;
		put32(th + 24, 1234);
		put32(th + 28, 5678);
	}
	for (size_t i = 0; i < plen; i++)
		th[thlen + i] = (uint8_t)((seq + i) & 0xff);
	put16(th + 16, (uint16_t)~fold(sum16(th, thlen + plen, pseudo(thlen + plen))));
	if (bad_csum)
		th[16] ^= 0x55;
	return len;
}

static void
in(void *sa, size_t len)
{
	tun_gro_input(&T.g, sa, T.pkt + TUN_GRO_HDR_LEN, len);
}

/* The next write; its length (header included), 0 when there is none. */
static size_t
next_msg(void)
{
	ssize_t n = recv(T.sv[1], T.msg, sizeof(T.msg), MSG_DONTWAIT);

	return n < 0 ? 0 : (size_t)n;
}

static uint16_t
h16(size_t off)
{
	uint16_t v;

	memcpy(&v, T.msg + off, 2);
	return v;
}

/* A joined packet: header fields, IP header, and the TCP checksum the kernel completes. */
static void
check_joined(size_t n, size_t thlen, uint16_t mss, size_t payload, uint32_t seq0)
{
	uint8_t *ip = T.msg + TUN_GRO_HDR_LEN, *th = ip + 20;
	size_t len = n - TUN_GRO_HDR_LEN;
	uint16_t c;

	assert_int_equal(len, 20 + thlen + payload);
	assert_int_equal(T.msg[0], 1); /* NEEDS_CSUM */
	assert_int_equal(T.msg[1], 1); /* GSO TCPv4 */
	assert_int_equal(h16(2), 20 + thlen);
	assert_int_equal(h16(4), mss);
	assert_int_equal(h16(6), 20);
	assert_int_equal(h16(8), 16);
	assert_int_equal((ip[2] << 8 | ip[3]), len);
	assert_int_equal(fold(sum16(ip, 20, 0)), 0xffff);
	for (size_t i = 0; i < payload; i++)
		if (th[thlen + i] != (uint8_t)((seq0 + i) & 0xff))
			fail_msg("payload byte %zu: %u", i, th[thlen + i]);
	/* what the kernel does with NEEDS_CSUM: sum from csum_start to the end (the field holds
	 * the pseudo-header's sum), invert, store; the result must verify like any segment */
	c = (uint16_t)~fold(sum16(th, len - 20, 0));
	put16(th + 16, c);
	assert_int_equal(fold(sum16(th, len - 20, pseudo(len - 20))), 0xffff);
}

static void
test_contiguous_segments_join(void **state)
{
	size_t n;

	for (int i = 0; i < 10; i++)
		in(&T.sa_a, seg(0, 1000 + (uint32_t)i * 1000, 1000, 0x10, true, false));
	assert_int_equal(next_msg(), 0); /* held until the batch ends */
	tun_gro_flush(&T.g);
	n = next_msg();
	check_joined(n, 32, 1000, 10000, 1000);
	assert_int_equal(next_msg(), 0);
	assert_int_equal(T.g.writes, 1);
	assert_int_equal(T.g.packets, 10);
}

static void
test_short_or_psh_segment_ends_packet(void **state)
{
	size_t n;

	in(&T.sa_a, seg(0, 0, 1000, 0x10, false, false));
	in(&T.sa_a, seg(0, 1000, 1000, 0x10, false, false));
	in(&T.sa_a, seg(0, 2000, 300, 0x18, false, false)); /* PSH, shorter: the last */
	n = next_msg();
	check_joined(n, 20, 1000, 2300, 0);
	assert_int_equal(T.msg[TUN_GRO_HDR_LEN + 20 + 13], 0x18);
	/* after a short one nothing joins: the next starts anew */
	in(&T.sa_a, seg(0, 2300, 500, 0x10, false, false));
	in(&T.sa_a, seg(0, 2800, 1000, 0x10, false, false)); /* longer than the first: not joined */
	n = next_msg();
	assert_int_equal(n, TUN_GRO_HDR_LEN + 40 + 500);
	assert_int_equal(T.msg[1], 0); /* one segment: as it came */
	tun_gro_flush(&T.g);
	assert_int_equal(next_msg(), TUN_GRO_HDR_LEN + 40 + 1000);
}

static void
test_not_joined(void **state)
{
	size_t n;

	/* a gap in the sequence */
	in(&T.sa_a, seg(0, 0, 1000, 0x10, false, false));
	in(&T.sa_a, seg(0, 5000, 1000, 0x10, false, false));
	n = next_msg(); /* the first, written when the second did not continue it */
	assert_int_equal(n, TUN_GRO_HDR_LEN + 1040);
	assert_int_equal(T.msg[0] | T.msg[1], 0);
	/* another SA */
	in(&T.sa_b, seg(0, 6000, 1000, 0x10, false, false));
	assert_int_equal(next_msg(), TUN_GRO_HDR_LEN + 1040);
	/* a bad checksum: written as it came, after what its flow had pending */
	in(&T.sa_b, seg(0, 7000, 1000, 0x10, false, true));
	assert_int_equal(next_msg(), TUN_GRO_HDR_LEN + 1040); /* the pending one */
	n = next_msg();
	assert_int_equal(n, TUN_GRO_HDR_LEN + 1040);
	assert_int_equal(T.msg[0] | T.msg[1], 0);
	assert_int_equal(memcmp(T.msg + TUN_GRO_HDR_LEN, T.pkt + TUN_GRO_HDR_LEN, 1040), 0);
	/* SYN, no payload */
	in(&T.sa_a, seg(0, 0, 0, 0x02, false, false));
	assert_int_equal(next_msg(), TUN_GRO_HDR_LEN + 40);
	/* a truncated TCP header: written as it came (the inside host drops it) */
	seg(0, 0, 0, 0x10, false, false);
	in(&T.sa_a, 30);
	assert_int_equal(next_msg(), TUN_GRO_HDR_LEN + 30);
	tun_gro_flush(&T.g);
	assert_int_equal(next_msg(), 0);
	assert_int_equal(T.fails, 0);
}

static void
test_flows_interleaved_and_evicted(void **state)
{
	int writes = 0;
	size_t total = 0, n;

	/* as many flows as are held at once, interleaved: one packet each */
	for (int k = 0; k < 4; k++)
		for (int f = 0; f < TUN_GRO_FLOWS; f++)
			in(&T.sa_a, seg(f, (uint32_t)k * 100, 100, 0x10, false, false));
	tun_gro_flush(&T.g);
	while ((n = next_msg()) != 0) {
		writes++;
		check_joined(n, 20, 100, 400, 0);
	}
	assert_int_equal(writes, TUN_GRO_FLOWS);
	/* one more flow than that: the oldest is written to make room, every byte once */
	for (int k = 0; k < 4; k++)
		for (int f = 0; f <= TUN_GRO_FLOWS; f++)
			in(&T.sa_a, seg(f, 400 + (uint32_t)k * 100, 100, 0x10, false, false));
	tun_gro_flush(&T.g);
	while ((n = next_msg()) != 0)
		total += n - TUN_GRO_HDR_LEN - 40;
	assert_int_equal(total, (TUN_GRO_FLOWS + 1) * 4 * 100);
	assert_int_equal(T.g.packets, (2 * TUN_GRO_FLOWS + 1) * 4);
}

static void
test_forget_and_udp(void **state)
{
	uint8_t *ip = T.pkt + TUN_GRO_HDR_LEN;
	size_t len;

	in(&T.sa_a, seg(0, 0, 1000, 0x10, false, false));
	in(&T.sa_b, seg(1, 0, 1000, 0x10, false, false));
	/* a UDP packet goes at once and leaves the TCP flows pending */
	len = seg(2, 0, 100, 0x10, false, false);
	ip[9] = 17;
	in(&T.sa_a, len);
	assert_int_equal(next_msg(), len + TUN_GRO_HDR_LEN);
	assert_int_equal(next_msg(), 0);
	/* the SA going away writes its pending packet, not the other's */
	tun_gro_forget(&T.g, &T.sa_b);
	assert_int_equal(next_msg(), TUN_GRO_HDR_LEN + 1040);
	assert_int_equal(next_msg(), 0);
	tun_gro_flush(&T.g);
	assert_int_equal(next_msg(), TUN_GRO_HDR_LEN + 1040);
}

static void
test_write_failure_counted(void **state)
{
	close(T.sv[1]); /* the reader gone: writes fail with EPIPE */
	T.sv[1] = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	for (int i = 0; i < 3; i++)
		in(&T.sa_a, seg(0, (uint32_t)i * 1000, 1000, 0x10, false, false));
	tun_gro_flush(&T.g);
	assert_int_equal(T.fails, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_contiguous_segments_join, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_short_or_psh_segment_ends_packet, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_not_joined, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_flows_interleaved_and_evicted, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_forget_and_udp, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_failure_counted, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
