/* Receive offload for the tun backend's writes: see tun_gro.h. */
#include "gateway/ipsec/tun_gro.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/ipsec/cursor.h"

/* struct virtio_net_hdr (linux/virtio_net.h), in host byte order as TUN uses it by default */
#define VNET_F_NEEDS_CSUM 1
#define VNET_GSO_TCPV4    1

#define TCP_ACK           0x10
#define TCP_PSH           0x08

/* What tun_gro_input reads of a TCP/IPv4 segment. */
struct seg {
	uint32_t src, dst, seq, ack;
	uint16_t sport, dport, win, frag;
	uint8_t tos, ttl, ihl, thlen, flags;
	size_t plen; /* payload bytes */
};

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
pseudo(uint32_t src, uint32_t dst, size_t tcp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)tcp_len;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Reads the headers through the bounded cursor; 0 when pkt is a TCP/IPv4 segment that may be
 * joined (no IP options, not a fragment, ACK or PSH|ACK only, some payload, valid checksum). */
static int
parse(const uint8_t *pkt, size_t len, struct seg *s)
{
	struct ipsec_cur c;
	uint8_t vihl, proto, off, skip8;
	uint16_t tot, id, csum, skip16;

	ipsec_cur_init(&c, pkt, len);
	if (ipsec_cur_get_u8(&c, &vihl) < 0 || ipsec_cur_get_u8(&c, &s->tos) < 0 ||
	    ipsec_cur_get_be16(&c, &tot) < 0 || ipsec_cur_get_be16(&c, &id) < 0 ||
	    ipsec_cur_get_be16(&c, &s->frag) < 0 || ipsec_cur_get_u8(&c, &s->ttl) < 0 ||
	    ipsec_cur_get_u8(&c, &proto) < 0 || ipsec_cur_get_be16(&c, &csum) < 0 ||
	    ipsec_cur_get_be32(&c, &s->src) < 0 || ipsec_cur_get_be32(&c, &s->dst) < 0)
		return -EBADMSG;
	s->ihl = (uint8_t)((vihl & 0x0f) * 4);
	if (vihl != 0x45 || proto != 6 || tot != len || (s->frag & 0x3fff) != 0)
		return -EINVAL; /* options, not TCP, fragment: written as it came */
	if (ipsec_cur_get_be16(&c, &s->sport) < 0 || ipsec_cur_get_be16(&c, &s->dport) < 0 ||
	    ipsec_cur_get_be32(&c, &s->seq) < 0 || ipsec_cur_get_be32(&c, &s->ack) < 0 ||
	    ipsec_cur_get_u8(&c, &off) < 0 || ipsec_cur_get_u8(&c, &s->flags) < 0 ||
	    ipsec_cur_get_be16(&c, &s->win) < 0 || ipsec_cur_get_be16(&c, &skip16) < 0 ||
	    ipsec_cur_get_u8(&c, &skip8) < 0)
		return -EBADMSG;
	s->thlen = (uint8_t)((off >> 4) * 4);
	if (s->thlen < 20 || len < (size_t)s->ihl + s->thlen)
		return -EBADMSG;
	s->plen = len - s->ihl - s->thlen;
	if ((s->flags != TCP_ACK && s->flags != (TCP_ACK | TCP_PSH)) || s->plen == 0)
		return -EINVAL;
	/* a segment with a bad checksum is not laundered into a good one */
	if (fold(sum16(pkt + s->ihl, len - s->ihl, pseudo(s->src, s->dst, len - s->ihl))) != 0xffff)
		return -EINVAL;
	return 0;
}

static void
put_hdr(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
        uint16_t csum_start, uint16_t csum_off)
{
	h[0] = flags;
	h[1] = gso;
	memcpy(h + 2, &hdr_len, 2);
	memcpy(h + 4, &gso_size, 2);
	memcpy(h + 6, &csum_start, 2);
	memcpy(h + 8, &csum_off, 2);
}

static void
write_out(struct tun_gro *g, void *sa, uint8_t *hdr, size_t len, unsigned npkts)
{
	ssize_t n = write(g->fd, hdr, TUN_GRO_HDR_LEN + len);

	g->writes++;
	g->packets += npkts;
	if (n != (ssize_t)(TUN_GRO_HDR_LEN + len) && g->fail != NULL)
		g->fail(g->arg, sa, npkts, n < 0 ? errno : EIO);
}

/* Writes a flow's pending packet: as it came when it is one segment, else as a GSO packet. */
static void
flow_flush(struct tun_gro *g, struct tun_gro_flow *f)
{
	uint8_t *ip = f->buf + TUN_GRO_HDR_LEN, *th = ip + 20;

	if (f->nseg == 0)
		return;
	if (f->nseg == 1) {
		memset(f->buf, 0, TUN_GRO_HDR_LEN);
	} else {
		size_t tcp_len = f->len - 20;

		put16(ip + 2, (uint16_t)f->len);
		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
		/* checksum to be completed by the kernel: the pseudo-header's sum, not inverted */
		put16(th + 16, fold(pseudo(f->src, f->dst, tcp_len)));
		put_hdr(f->buf, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, (uint16_t)(20 + f->thlen),
		        f->mss, 20, 16);
	}
	write_out(g, f->sa, f->buf, f->len, f->nseg);
	f->nseg = 0;
	f->sa = NULL;
}

static bool
same_flow(const struct tun_gro_flow *f, const struct seg *s)
{
	return f->nseg > 0 && f->src == s->src && f->dst == s->dst && f->sport == s->sport &&
	       f->dport == s->dport;
}

/* The addresses and ports of a TCP/IPv4 packet that parse() did not take; false for others. */
static bool
flow_key(const uint8_t *pkt, size_t len, struct seg *s)
{
	size_t ihl;

	if (len < 20 || pkt[0] >> 4 != 4 || pkt[9] != 6)
		return false;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	if (ihl < 20 || len < ihl + 4)
		return false;
	s->src = (uint32_t)pkt[12] << 24 | (uint32_t)pkt[13] << 16 | (uint32_t)pkt[14] << 8 |
	         pkt[15];
	s->dst = (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 | (uint32_t)pkt[18] << 8 |
	         pkt[19];
	s->sport = (uint16_t)(pkt[ihl] << 8 | pkt[ihl + 1]);
	s->dport = (uint16_t)(pkt[ihl + 2] << 8 | pkt[ihl + 3]);
	return true;
}

/* True when s continues f's packet. */
static bool
joins(const struct tun_gro_flow *f, void *sa, const struct seg *s, const uint8_t *pkt)
{
	const uint8_t *th = f->buf + TUN_GRO_HDR_LEN + 20;

	return f->sa == sa && !f->closed && s->seq == f->next_seq && s->ack == f->ack &&
	       s->win == f->win && s->tos == f->tos && s->ttl == f->ttl && s->thlen == f->thlen &&
	       memcmp(pkt + 20 + 20, th + 20, (size_t)s->thlen - 20) == 0 && s->plen <= f->mss &&
	       f->len + s->plen <= TUN_GRO_MAX;
}

void
tun_gro_input(struct tun_gro *g, void *sa, uint8_t *pkt, size_t len)
{
	struct tun_gro_flow *f = NULL, *free_f = NULL, *old = NULL;
	struct seg s;

	g->clock++;
	if (parse(pkt, len, &s) < 0) {
		/* written as it came, after its flow's pending segments if it is TCP */
		if (flow_key(pkt, len, &s))
			for (int i = 0; i < TUN_GRO_FLOWS; i++)
				if (same_flow(&g->flow[i], &s))
					flow_flush(g, &g->flow[i]);
		memset(pkt - TUN_GRO_HDR_LEN, 0, TUN_GRO_HDR_LEN);
		write_out(g, sa, pkt - TUN_GRO_HDR_LEN, len, 1);
		return;
	}
	for (int i = 0; i < TUN_GRO_FLOWS; i++) {
		struct tun_gro_flow *c = &g->flow[i];

		if (same_flow(c, &s))
			f = c;
		else if (c->nseg == 0 && free_f == NULL)
			free_f = c;
		else if (c->nseg > 0 && (old == NULL || c->age < old->age))
			old = c;
	}
	if (f != NULL && joins(f, sa, &s, pkt)) {
		memcpy(f->buf + TUN_GRO_HDR_LEN + f->len, pkt + 20 + s.thlen, s.plen);
		f->len += s.plen;
		f->nseg++;
		f->next_seq += (uint32_t)s.plen;
		if (s.flags & TCP_PSH)
			f->buf[TUN_GRO_HDR_LEN + 20 + 13] |= TCP_PSH;
		if (s.plen < f->mss || (s.flags & TCP_PSH))
			flow_flush(g, f); /* the last segment: nothing may follow it */
		return;
	}
	if (f != NULL)
		flow_flush(g, f); /* the same flow, but it does not continue: in order */
	else if (free_f != NULL)
		f = free_f;
	else {
		f = old;
		flow_flush(g, f);
	}
	memcpy(f->buf + TUN_GRO_HDR_LEN, pkt, len);
	f->sa = sa;
	f->src = s.src;
	f->dst = s.dst;
	f->sport = s.sport;
	f->dport = s.dport;
	f->ack = s.ack;
	f->win = s.win;
	f->tos = s.tos;
	f->ttl = s.ttl;
	f->thlen = s.thlen;
	f->next_seq = s.seq + (uint32_t)s.plen;
	f->mss = (uint16_t)s.plen;
	f->closed = false;
	f->len = len;
	f->nseg = 1;
	f->age = g->clock;
	if (s.flags & TCP_PSH)
		flow_flush(g, f); /* PSH: nothing joins it */
}

void
tun_gro_flush(struct tun_gro *g)
{
	for (int i = 0; i < TUN_GRO_FLOWS; i++)
		flow_flush(g, &g->flow[i]);
}

bool
tun_gro_pending(const struct tun_gro *g)
{
	for (int i = 0; i < TUN_GRO_FLOWS; i++)
		if (g->flow[i].nseg > 0)
			return true;
	return false;
}

void
tun_gro_forget(struct tun_gro *g, void *sa)
{
	for (int i = 0; i < TUN_GRO_FLOWS; i++)
		if (g->flow[i].nseg > 0 && g->flow[i].sa == sa)
			flow_flush(g, &g->flow[i]);
}

int
tun_gro_init(struct tun_gro *g, int fd, tun_gro_fail_fn fail, void *arg)
{
	memset(g, 0, sizeof(*g));
	g->fd = fd;
	g->fail = fail;
	g->arg = arg;
	for (int i = 0; i < TUN_GRO_FLOWS; i++) {
		g->flow[i].buf = malloc(TUN_GRO_HDR_LEN + TUN_GRO_MAX);
		if (g->flow[i].buf == NULL) {
			tun_gro_free(g);
			return -ENOMEM;
		}
	}
	return 0;
}

void
tun_gro_free(struct tun_gro *g)
{
	for (int i = 0; i < TUN_GRO_FLOWS; i++) {
		free(g->flow[i].buf);
		g->flow[i].buf = NULL;
	}
}
