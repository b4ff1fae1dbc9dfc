/* libFuzzer: the rtnetlink parsers (routes, addresses, neighbours, links) on arbitrary bytes taken
 * as one netlink message whose nlmsg_len is bounded by the input size. */
#include <libmnl/libmnl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlmsghdr *nlh;
	struct net_route r;
	struct net_addr a;
	struct net_neigh n;
	struct net_link l;
	void *buf;

	if (size < sizeof(struct nlmsghdr) || size > 65536)
		return 0;
	buf = malloc(size); /* exact size: ASan sees any read past the end */
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	nlh = buf;
	if (nlh->nlmsg_len > size)
		nlh->nlmsg_len = (uint32_t)size;
	if (nlh->nlmsg_len >= sizeof(struct nlmsghdr)) {
		net_parse_route(nlh, &r);
		net_parse_addr(nlh, &a);
		net_parse_neigh(nlh, &n);
		net_parse_link(nlh, &l);
	}
	free(buf);
	return 0;
}
