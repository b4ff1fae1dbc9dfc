/* Receive offload for the tun backend's writes: decrypted TCP/IPv4 segments of one flow that
 * follow each other in a batch are joined into one packet carrying a virtio-net header (GSO
 * TCPv4, checksum to be completed), so the kernel forwards and delivers one large packet instead
 * of many (what GRO does for a network card). The TUN device must be opened with IFF_VNET_HDR:
 * every write starts with the header, zero for a packet written as it came.
 *
 * Joined are only segments that a receiver's own GRO would join: IPv4 without options, not
 * fragmented, same addresses, TOS and TTL; TCP with only ACK (PSH on the last one), the same
 * ports, acknowledgment, window and options, contiguous sequence numbers, a payload no larger
 * than the first one's (a smaller one ends the packet), a valid checksum each, from the same
 * SA. Everything else is written as it came, after what is pending for its flow. */
#ifndef PORTCULLIS_IPSEC_TUN_GRO_H
#define PORTCULLIS_IPSEC_TUN_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUN_GRO_HDR_LEN 10 /* struct virtio_net_hdr */
#define TUN_GRO_FLOWS   16 /* flows joined at once */
#define TUN_GRO_MAX     65535

/* Called for a write the kernel refused: sa as given to tun_gro_input, the number of inner
 * packets the write carried, the errno. */
typedef void (*tun_gro_fail_fn)(void *arg, void *sa, unsigned npkts, int err);

struct tun_gro_flow {
	void *sa;
	uint32_t src, dst, ack, next_seq;
	uint16_t sport, dport, win, mss;
	uint8_t tos, ttl, thlen;
	bool closed; /* its last segment came (shorter, or PSH): nothing joins any more */
	unsigned nseg;
	size_t len; /* IP packet length in buf, after the header */
	uint64_t age;
	uint8_t *buf; /* TUN_GRO_HDR_LEN + TUN_GRO_MAX bytes */
};

struct tun_gro {
	int fd;
	tun_gro_fail_fn fail;
	void *arg;
	uint64_t clock;
	struct tun_gro_flow flow[TUN_GRO_FLOWS];
	/* statistics: writes to the device, inner packets in them */
	uint64_t writes, packets;
};

/* Allocates the flows' buffers; writes go to fd. 0 or -ENOMEM. */
int tun_gro_init(struct tun_gro *g, int fd, tun_gro_fail_fn fail, void *arg);
void tun_gro_free(struct tun_gro *g);
/* A decrypted, validated IPv4 packet at pkt[0, len) (len its total length), with
 * TUN_GRO_HDR_LEN writable bytes before pkt: joined to its flow's pending packet, or written now
 * (after that flow's pending one). */
void tun_gro_input(struct tun_gro *g, void *sa, uint8_t *pkt, size_t len);
/* Writes every pending packet (the end of a batch). */
void tun_gro_flush(struct tun_gro *g);
/* True while some packet is held back. */
bool tun_gro_pending(const struct tun_gro *g);
/* Forgets pending packets of sa (being deleted): they are written first. */
void tun_gro_forget(struct tun_gro *g, void *sa);

#endif
