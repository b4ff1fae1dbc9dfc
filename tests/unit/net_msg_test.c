/* rtnetlink messages for routes, addresses, proxy neighbours and links: built with the
 * mnl_attr_put_*_check helpers, then walked attribute by attribute (type, length, value) and parsed
 * back; truncated or malformed messages are refused; a buffer too small is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "gateway/net/net.h"

struct seen {
	int type[32];
	int len[32];
	const void *val[32];
	int n;
};

static int
walk_cb(const struct nlattr *a, void *data)
{
	struct seen *s = data;

	if (s->n < 32) {
		s->type[s->n] = mnl_attr_get_type(a);
		s->len[s->n] = mnl_attr_get_payload_len(a);
		s->val[s->n] = mnl_attr_get_payload(a);
		s->n++;
	}
	return MNL_CB_OK;
}

static uint32_t
be32_at(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static uint32_t
u32_at(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void
test_route_roundtrip(void **state)
{
	char buf[512];
	struct net_route r = {.dst = 0x0a598180,
	                      .dst_len = 25,
	                      .gateway = 0x0a5981c1,
	                      .oif = 7,
	                      .priority = 1,
	                      .protocol = NET_RTPROT_PORTCULLIS,
	                      .table = RT_TABLE_MAIN,
	                      .scope = RT_SCOPE_UNIVERSE,
	                      .type = RTN_UNICAST};
	struct net_route back;
	struct seen s = {0};
	struct nlmsghdr *nlh =
	        net_msg_route(buf, sizeof(buf), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, 42, &r);
	const struct rtmsg *rtm;

	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	assert_int_equal(nlh->nlmsg_seq, 42);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 25);
	assert_int_equal(rtm->rtm_protocol, NET_RTPROT_PORTCULLIS);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	/* attribute by attribute, in order */
	assert_int_equal(mnl_attr_parse(nlh, sizeof(*rtm), walk_cb, &s), MNL_CB_OK);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.type[0], RTA_DST);
	assert_int_equal(s.len[0], 4);
	assert_int_equal(be32_at(s.val[0]), 0x0a598180);
	assert_int_equal(s.type[1], RTA_GATEWAY);
	assert_int_equal(s.len[1], 4);
	assert_int_equal(be32_at(s.val[1]), 0x0a5981c1);
	assert_int_equal(s.type[2], RTA_OIF);
	assert_int_equal(u32_at(s.val[2]), 7);
	assert_int_equal(s.type[3], RTA_PRIORITY);
	assert_int_equal(u32_at(s.val[3]), 1);
	assert_int_equal(s.type[4], RTA_TABLE);
	assert_int_equal(u32_at(s.val[4]), RT_TABLE_MAIN);
	/* and parsed back */
	assert_int_equal(net_parse_route(nlh, &back), 0);
	assert_memory_equal(&back, &r, sizeof(r));
}

static void
test_route_without_gateway_and_small_buffer(void **state)
{
	char buf[512];
	struct net_route r = {.dst = 0xc0a8010b,
	                      .dst_len = 32,
	                      .oif = 1,
	                      .priority = 4000000000u,
	                      .protocol = NET_RTPROT_PORTCULLIS,
	                      .table = RT_TABLE_MAIN,
	                      .scope = RT_SCOPE_LINK,
	                      .type = RTN_UNICAST};
	struct net_route back;
	struct seen s = {0};
	struct nlmsghdr *nlh = net_msg_route(buf, sizeof(buf), RTM_DELROUTE, 0, 1, &r);

	assert_non_null(nlh);
	assert_int_equal(mnl_attr_parse(nlh, sizeof(struct rtmsg), walk_cb, &s), MNL_CB_OK);
	assert_int_equal(s.n, 4); /* no RTA_GATEWAY */
	for (int i = 0; i < s.n; i++)
		assert_int_not_equal(s.type[i], RTA_GATEWAY);
	assert_int_equal(net_parse_route(nlh, &back), 0);
	assert_int_equal(back.gateway, 0);
	assert_int_equal(back.priority, 4000000000u);
	assert_int_equal(back.scope, RT_SCOPE_LINK);
	/* too small for the header plus attributes: refused, not overrun */
	assert_null(net_msg_route(buf, 40, RTM_NEWROUTE, 0, 1, &r));
	assert_null(net_msg_route(buf, 90, RTM_NEWROUTE, 0, 1, &r));
}

static void
test_addr_roundtrip(void **state)
{
	char buf[512];
	struct net_addr a = {
	        .ifindex = 3, .addr = 0x0a5981c2, .prefixlen = 28, .broadcast = 0x0a5981cf};
	struct net_addr back;
	struct seen s = {0};
	struct nlmsghdr *nlh = net_msg_addr(buf, sizeof(buf), RTM_NEWADDR, NLM_F_CREATE, 9, &a);
	const struct ifaddrmsg *ifa;

	assert_non_null(nlh);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 28);
	assert_int_equal(ifa->ifa_index, 3);
	assert_int_equal(mnl_attr_parse(nlh, sizeof(*ifa), walk_cb, &s), MNL_CB_OK);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.type[0], IFA_LOCAL);
	assert_int_equal(be32_at(s.val[0]), 0x0a5981c2);
	assert_int_equal(s.type[1], IFA_ADDRESS);
	assert_int_equal(be32_at(s.val[1]), 0x0a5981c2);
	assert_int_equal(s.type[2], IFA_BROADCAST);
	assert_int_equal(s.len[2], 4);
	assert_int_equal(be32_at(s.val[2]), 0x0a5981cf);
	assert_int_equal(net_parse_addr(nlh, &back), 0);
	assert_memory_equal(&back, &a, sizeof(a));
}

static void
test_neigh_proxy_roundtrip(void **state)
{
	char buf[512];
	struct net_neigh n = {
	        .ifindex = 4, .dst = 0x0a5981c8, .protocol = NET_RTPROT_PORTCULLIS, .proxy = true};
	struct net_neigh back;
	struct seen s = {0};
	struct nlmsghdr *nlh = net_msg_neigh(buf, sizeof(buf), RTM_NEWNEIGH, NLM_F_CREATE, 5, &n);
	const struct ndmsg *nd;

	assert_non_null(nlh);
	nd = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nd->ndm_flags, NTF_PROXY);
	assert_int_equal(nd->ndm_ifindex, 4);
	assert_int_equal(nd->ndm_state, NUD_PERMANENT);
	assert_int_equal(mnl_attr_parse(nlh, sizeof(*nd), walk_cb, &s), MNL_CB_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.type[0], NDA_DST);
	assert_int_equal(be32_at(s.val[0]), 0x0a5981c8);
	assert_int_equal(s.type[1], NDA_PROTOCOL);
	assert_int_equal(s.len[1], 1);
	assert_int_equal(*(const uint8_t *)s.val[1], NET_RTPROT_PORTCULLIS);
	assert_int_equal(net_parse_neigh(nlh, &back), 0);
	assert_memory_equal(&back, &n, sizeof(n));
}

static void
test_link_roundtrip(void **state)
{
	char buf[512];
	struct net_link l = {.ifindex = 2, .mtu = 1400, .up = 0};
	struct net_link back;
	struct nlmsghdr *nlh = net_msg_link(buf, sizeof(buf), 0, 3, &l);
	const struct ifinfomsg *ifi;

	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	ifi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifi->ifi_change, IFF_UP);
	assert_int_equal(ifi->ifi_flags & IFF_UP, 0);
	assert_int_equal(net_parse_link(nlh, &back), 0);
	assert_int_equal(back.ifindex, 2);
	assert_int_equal(back.mtu, 1400);
	assert_int_equal(back.up, 0);
	/* up, mtu unchanged: no IFLA_MTU at all */
	l.up = 1;
	l.mtu = 0;
	nlh = net_msg_link(buf, sizeof(buf), 0, 4, &l);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_len, mnl_nlmsg_size(sizeof(struct ifinfomsg)));
	assert_int_equal(net_parse_link(nlh, &back), 0);
	assert_int_equal(back.up, 1);
	assert_int_equal(back.mtu, 0);
}

static void
test_malformed_refused(void **state)
{
	char buf[512];
	struct net_route r = {
	        .dst = 0x0a000000, .dst_len = 8, .gateway = 0x0a000001, .table = RT_TABLE_MAIN};
	struct net_route back;
	struct nlmsghdr *nlh = net_msg_route(buf, sizeof(buf), RTM_NEWROUTE, 0, 1, &r);
	struct nlattr *a;

	assert_non_null(nlh);
	/* RTA_DST shortened to 3 bytes: wrong length for an IPv4 address */
	a = (struct nlattr *)((char *)mnl_nlmsg_get_payload(nlh) + MNL_ALIGN(sizeof(struct rtmsg)));
	assert_int_equal(mnl_attr_get_type(a), RTA_DST);
	a->nla_len = MNL_ATTR_HDRLEN + 3;
	assert_int_equal(net_parse_route(nlh, &back), -EINVAL);
	/* header claims less than the fixed rtmsg */
	nlh = net_msg_route(buf, sizeof(buf), RTM_NEWROUTE, 0, 1, &r);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	assert_int_equal(net_parse_route(nlh, &back), -EINVAL);
	/* an IPv6 route is not ours to parse */
	nlh = net_msg_route(buf, sizeof(buf), RTM_NEWROUTE, 0, 1, &r);
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_family = AF_INET6;
	assert_int_equal(net_parse_route(nlh, &back), -EINVAL);
	/* attribute running past the message end */
	nlh = net_msg_route(buf, sizeof(buf), RTM_NEWROUTE, 0, 1, &r);
	a = (struct nlattr *)((char *)mnl_nlmsg_get_payload(nlh) + MNL_ALIGN(sizeof(struct rtmsg)));
	a->nla_len = 200;
	assert_int_equal(net_parse_route(nlh, &back), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_route_roundtrip),
	        cmocka_unit_test(test_route_without_gateway_and_small_buffer),
	        cmocka_unit_test(test_addr_roundtrip),
	        cmocka_unit_test(test_neigh_proxy_roundtrip),
	        cmocka_unit_test(test_link_roundtrip),
	        cmocka_unit_test(test_malformed_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
