/* The rtnetlink calls the tun backend needs (libmnl): bring its TUN device up with an MTU, and add
 * or remove host/prefix routes through it. Synchronous: every request waits for its ACK. */
#ifndef PORTCULLIS_IPSEC_TUN_RTNL_H
#define PORTCULLIS_IPSEC_TUN_RTNL_H

#include <stdbool.h>
#include <stdint.h>

struct mnl_socket;

/* Routes the tun backend installs carry this protocol number, so they can be told apart. */
#define TUN_RTNL_PROTO 0x9e

int tun_rtnl_open(struct mnl_socket **out);
void tun_rtnl_close(struct mnl_socket *nl);
/* Sets the MTU, turns off IPv6 link-local address generation (best effort) and sets IFF_UP. */
int tun_rtnl_link_up(struct mnl_socket *nl, unsigned ifindex, uint32_t mtu);
/* Adds (-EEXIST when the same route exists already: another owner's routes are never replaced) or
 * deletes the route dst/plen via ifindex in table (0: main).
 * dst in host byte order. */
int tun_rtnl_route(struct mnl_socket *nl, bool add, uint32_t dst, uint8_t plen, unsigned ifindex,
                   uint32_t table);

#endif
