/* Interfaces, addresses, MTU, up/down, routes and proxy ARP through rtnetlink (libmnl), in the
 * current network namespace. The PIX interface model (interface ethernetN -> Linux name, nameif,
 * ip address, mtu, shutdown, route, ip local pool) becomes kernel state; every change is logged
 * in an undo list so a failed apply (here or in nat/) puts the kernel back as it was. */
#ifndef PORTCULLIS_NET_NET_H
#define PORTCULLIS_NET_NET_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/core/err.h"

struct db;
struct net;
struct net_undo;
struct nat_model;

#define NET_RTPROT_PORTCULLIS 80 /* rtm_protocol / NDA_PROTOCOL marking Portcullis's entries */
/* Proxied addresses (pool, static, global) get a host route via lo with this metric, because the
 * kernel answers a proxy ARP entry only when the route to the address leaves through another
 * device. SA backends routing a pool address (tun: "/32 dev pcxN") must use a lower metric. */
#define NET_PROXY_ROUTE_METRIC 4000000000u

struct net_config {
	bool enable_forwarding; /* write 1 to /proc/sys/net/ipv4/ip_forward (this namespace) */
	uint8_t protocol;       /* 0: NET_RTPROT_PORTCULLIS */
};

/* Addresses host byte order. */
struct net_route {
	uint32_t dst;
	uint8_t dst_len;
	uint32_t gateway; /* 0: none */
	int oif;          /* 0: none */
	uint32_t priority;
	uint8_t protocol;
	uint8_t table; /* RT_TABLE_MAIN */
	uint8_t scope;
	uint8_t type;
};

struct net_addr {
	int ifindex;
	uint32_t addr;
	uint8_t prefixlen;
	uint32_t broadcast; /* 0: none */
	uint8_t scope;
};

struct net_neigh {
	int ifindex;
	uint32_t dst;
	uint8_t protocol; /* 0: none */
	bool proxy;       /* NTF_PROXY */
};

struct net_link {
	int ifindex;
	int mtu; /* 0: unchanged / unknown */
	int up;  /* 1 up, 0 down, -1 unchanged */
	char name[16];
};

int net_new(const struct net_config *cfg, struct net **out, struct pc_err *err);
void net_free(struct net *net);

/* Programs interfaces, addresses, routes and proxy ARP from the model. On failure everything
 * this call changed is undone before returning. On success *undo (if not NULL) receives the
 * list that reverts this apply (for a later failure elsewhere); free it with net_undo_free. */
int net_apply(struct net *net, const struct nat_model *m, struct net_undo **undo,
              struct pc_err *err);
/* Loads the model from db and applies it (no undo kept). */
int net_apply_db(struct net *net, struct db *db, struct pc_err *err);
/* Reverts the changes in u (last first); returns the first error, continues past it. */
int net_undo_run(struct net *net, struct net_undo *u);
void net_undo_free(struct net_undo *u);
/* Number of changes recorded. */
size_t net_undo_count(const struct net_undo *u);

/* ---- rtnetlink messages (built with mnl_attr_put_*_check, parsed attribute by attribute) ----
 * Builders write one message into buf (len bytes) and return it, or NULL when it does not fit. */
struct nlmsghdr *net_msg_route(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
                               const struct net_route *r);
struct nlmsghdr *net_msg_addr(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
                              const struct net_addr *a);
struct nlmsghdr *net_msg_neigh(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
                               const struct net_neigh *n);
struct nlmsghdr *net_msg_link(void *buf, size_t len, uint16_t flags, uint32_t seq,
                              const struct net_link *l);
/* Parsers: 0, or -EINVAL naming nothing (a malformed or unexpected attribute). */
int net_parse_route(const struct nlmsghdr *nlh, struct net_route *out);
int net_parse_addr(const struct nlmsghdr *nlh, struct net_addr *out);
int net_parse_neigh(const struct nlmsghdr *nlh, struct net_neigh *out);
int net_parse_link(const struct nlmsghdr *nlh, struct net_link *out);

#endif
