/* rtnetlink for the tun backend: see tun_rtnl.h. */
#include "gateway/ipsec/tun_rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "gateway/core/log.h"

int
tun_rtnl_open(struct mnl_socket **out)
{
	struct mnl_socket *nl;
	int ret;

	*out = NULL;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl == NULL) {
		ret = -errno;
		log_error(LOG_IPSEC, "tun: mnl_socket_open NETLINK_ROUTE: %s", strerror(errno));
		return ret;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		log_error(LOG_IPSEC, "tun: mnl_socket_bind NETLINK_ROUTE: %s", strerror(errno));
		mnl_socket_close(nl);
		return ret;
	}
	*out = nl;
	return 0;
}

void
tun_rtnl_close(struct mnl_socket *nl)
{
	if (nl != NULL)
		mnl_socket_close(nl);
}

/* Sends nlh (with NLM_F_ACK) and waits for its ACK. Returns 0 or the kernel's -errno. */
static int
rtnl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq, portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	static uint32_t next_seq;

	if (next_seq == 0)
		next_seq = (uint32_t)time(NULL);
	seq = ++next_seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

int
tun_rtnl_link_up(struct mnl_socket *nl, unsigned ifindex, uint32_t mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *spec, *af;
	int ret;

	/* IPv6 link-local generation off, so the kernel does not send router solicitations into
	 * the tunnel; best effort (no IPv6 in the kernel is fine). */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	af = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, af);
	mnl_attr_nest_end(nlh, spec);
	ret = rtnl_talk(nl, nlh);
	if (ret < 0)
		log_debug(LOG_IPSEC, "tun: RTM_NEWLINK ifindex %u IPv6 addr_gen_mode none: %s",
		          ifindex, strerror(-ret));

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (mtu != 0 && !mnl_attr_put_u32_check(nlh, sizeof(buf), IFLA_MTU, mtu))
		return -EMSGSIZE;
	ret = rtnl_talk(nl, nlh);
	if (ret < 0)
		log_error(LOG_IPSEC, "tun: RTM_NEWLINK ifindex %u up mtu %u: %s", ifindex, mtu,
		          strerror(-ret));
	return ret;
}

int
tun_rtnl_route(struct mnl_socket *nl, bool add, uint32_t dst, uint8_t plen, unsigned ifindex,
               uint32_t table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], astr[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct in_addr a = {.s_addr = htonl(dst)};
	int ret;

	if (plen > 32)
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	/* Never replace a route someone else installed: a clash fails the SA instead. */
	if (add)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = plen;
	rtm->rtm_protocol = TUN_RTNL_PROTO;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_table = table != 0 && table < 256 ? (uint8_t)table : RT_TABLE_MAIN;
	if (!mnl_attr_put_check(nlh, sizeof(buf), RTA_DST, sizeof(a), &a) ||
	    !mnl_attr_put_u32_check(nlh, sizeof(buf), RTA_OIF, ifindex) ||
	    (table >= 256 && !mnl_attr_put_u32_check(nlh, sizeof(buf), RTA_TABLE, table)))
		return -EMSGSIZE;
	ret = rtnl_talk(nl, nlh);
	if (ret < 0 && !add && (ret == -ESRCH || ret == -ENODEV))
		/* Already gone, typically with the device itself. */
		log_debug(LOG_IPSEC, "tun: RTM_DELROUTE %s/%u dev ifindex %u: %s",
		          inet_ntop(AF_INET, &a, astr, sizeof(astr)), plen, ifindex,
		          strerror(-ret));
	else if (ret < 0)
		log_warn(LOG_IPSEC, "tun: %s %s/%u dev ifindex %u: %s",
		         add ? "RTM_NEWROUTE" : "RTM_DELROUTE",
		         inet_ntop(AF_INET, &a, astr, sizeof(astr)), plen, ifindex, strerror(-ret));
	return ret;
}
