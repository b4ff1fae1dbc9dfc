/* rtnetlink message building and parsing (routes, addresses, neighbours, links). */
#include "gateway/net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>

static struct nlmsghdr *
msg_start(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq, size_t hdrlen)
{
	struct nlmsghdr *nlh;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen) + 64)
		return NULL;
	memset(buf, 0, MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

struct nlmsghdr *
net_msg_route(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
              const struct net_route *r)
{
	struct nlmsghdr *nlh = msg_start(buf, len, type, flags, seq, sizeof(struct rtmsg));
	struct rtmsg *rtm;
	uint32_t v;

	if (nlh == NULL)
		return NULL;
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_table = r->table;
	rtm->rtm_protocol = r->protocol;
	rtm->rtm_scope = r->scope;
	rtm->rtm_type = r->type;
	v = htonl(r->dst);
	if (!mnl_attr_put_check(nlh, len, RTA_DST, 4, &v))
		return NULL;
	if (r->gateway != 0) {
		v = htonl(r->gateway);
		if (!mnl_attr_put_check(nlh, len, RTA_GATEWAY, 4, &v))
			return NULL;
	}
	if (r->oif != 0 && !mnl_attr_put_u32_check(nlh, len, RTA_OIF, (uint32_t)r->oif))
		return NULL;
	if (!mnl_attr_put_u32_check(nlh, len, RTA_PRIORITY, r->priority))
		return NULL;
	if (!mnl_attr_put_u32_check(nlh, len, RTA_TABLE, r->table))
		return NULL;
	return nlh;
}

struct nlmsghdr *
net_msg_addr(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
             const struct net_addr *a)
{
	struct nlmsghdr *nlh = msg_start(buf, len, type, flags, seq, sizeof(struct ifaddrmsg));
	struct ifaddrmsg *ifa;
	uint32_t v;

	if (nlh == NULL)
		return NULL;
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = a->prefixlen;
	ifa->ifa_scope = a->scope;
	ifa->ifa_index = (uint32_t)a->ifindex;
	v = htonl(a->addr);
	if (!mnl_attr_put_check(nlh, len, IFA_LOCAL, 4, &v) ||
	    !mnl_attr_put_check(nlh, len, IFA_ADDRESS, 4, &v))
		return NULL;
	if (a->broadcast != 0) {
		v = htonl(a->broadcast);
		if (!mnl_attr_put_check(nlh, len, IFA_BROADCAST, 4, &v))
			return NULL;
	}
	return nlh;
}

struct nlmsghdr *
net_msg_neigh(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
              const struct net_neigh *n)
{
	struct nlmsghdr *nlh = msg_start(buf, len, type, flags, seq, sizeof(struct ndmsg));
	struct ndmsg *nd;
	uint32_t v;

	if (nlh == NULL)
		return NULL;
	nd = mnl_nlmsg_get_payload(nlh);
	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = n->ifindex;
	nd->ndm_flags = n->proxy ? NTF_PROXY : 0;
	nd->ndm_state = NUD_PERMANENT;
	v = htonl(n->dst);
	if (!mnl_attr_put_check(nlh, len, NDA_DST, 4, &v))
		return NULL;
	if (n->protocol != 0 && !mnl_attr_put_u8_check(nlh, len, NDA_PROTOCOL, n->protocol))
		return NULL;
	return nlh;
}

struct nlmsghdr *
net_msg_link(void *buf, size_t len, uint16_t flags, uint32_t seq, const struct net_link *l)
{
	struct nlmsghdr *nlh =
	        msg_start(buf, len, RTM_NEWLINK, flags, seq, sizeof(struct ifinfomsg));
	struct ifinfomsg *ifi;

	if (nlh == NULL)
		return NULL;
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = l->ifindex;
	if (l->up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = l->up ? IFF_UP : 0;
	}
	if (l->mtu > 0 && !mnl_attr_put_u32_check(nlh, len, IFLA_MTU, (uint32_t)l->mtu))
		return NULL;
	return nlh;
}

/* ---- parsing: one callback per nesting level that checks type and length ---- */

struct attrs {
	const struct nlattr *tb[64];
	int max;
};

static int
attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, (uint16_t)t->max) < 0)
		return MNL_CB_OK; /* newer kernel attribute: ignored */
	t->tb[type] = a;
	return MNL_CB_OK;
}

/* Walks every attribute after the fixed header, bounded by nlmsg_len itself (libmnl's walk
 * rounds the end up to the alignment, which may lie past a short buffer); refuses a message whose
 * attributes do not exactly fill it (one running past the end, or a stray tail). */
static int
parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, struct attrs *t)
{
	const char *p, *end;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen))
		return -EINVAL;
	p = (const char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen);
	end = (const char *)nlh + nlh->nlmsg_len;
	while (p < end) {
		const struct nlattr *a = (const struct nlattr *)p;

		if ((size_t)(end - p) < MNL_ATTR_HDRLEN || a->nla_len < MNL_ATTR_HDRLEN ||
		    a->nla_len > (size_t)(end - p))
			return -EINVAL;
		attr_cb(a, t);
		if ((size_t)MNL_ALIGN(a->nla_len) >= (size_t)(end - p))
			break;
		p += MNL_ALIGN(a->nla_len);
	}
	return 0;
}

static int
get_ip(const struct nlattr *a, uint32_t *out)
{
	if (a == NULL)
		return 0;
	if (mnl_attr_get_payload_len(a) != 4)
		return -EINVAL;
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(a), 4);
	*out = ntohl(v);
	return 0;
}

static int
get_u32(const struct nlattr *a, uint32_t *out)
{
	if (a == NULL)
		return 0;
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return -EINVAL;
	*out = mnl_attr_get_u32(a);
	return 0;
}

int
net_parse_route(const struct nlmsghdr *nlh, struct net_route *out)
{
	struct attrs t = {.max = RTA_MAX};
	const struct rtmsg *rtm;
	uint32_t oif = 0, table;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return -EINVAL;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET)
		return -EINVAL;
	if (parse_attrs(nlh, sizeof(*rtm), &t) < 0)
		return -EINVAL;
	out->dst_len = rtm->rtm_dst_len;
	out->protocol = rtm->rtm_protocol;
	out->scope = rtm->rtm_scope;
	out->type = rtm->rtm_type;
	table = rtm->rtm_table;
	if (get_ip(t.tb[RTA_DST], &out->dst) < 0 || get_ip(t.tb[RTA_GATEWAY], &out->gateway) < 0 ||
	    get_u32(t.tb[RTA_OIF], &oif) < 0 || get_u32(t.tb[RTA_PRIORITY], &out->priority) < 0 ||
	    get_u32(t.tb[RTA_TABLE], &table) < 0)
		return -EINVAL;
	out->oif = (int)oif;
	out->table = (uint8_t)table;
	return 0;
}

int
net_parse_addr(const struct nlmsghdr *nlh, struct net_addr *out)
{
	struct attrs t = {.max = IFA_MAX};
	const struct ifaddrmsg *ifa;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
		return -EINVAL;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET)
		return -EINVAL;
	if (parse_attrs(nlh, sizeof(*ifa), &t) < 0)
		return -EINVAL;
	out->ifindex = (int)ifa->ifa_index;
	out->prefixlen = ifa->ifa_prefixlen;
	out->scope = ifa->ifa_scope;
	if (get_ip(t.tb[IFA_LOCAL] ? t.tb[IFA_LOCAL] : t.tb[IFA_ADDRESS], &out->addr) < 0 ||
	    get_ip(t.tb[IFA_BROADCAST], &out->broadcast) < 0)
		return -EINVAL;
	return 0;
}

int
net_parse_neigh(const struct nlmsghdr *nlh, struct net_neigh *out)
{
	struct attrs t = {.max = NDA_MAX};
	const struct ndmsg *nd;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nd)))
		return -EINVAL;
	nd = mnl_nlmsg_get_payload(nlh);
	if (nd->ndm_family != AF_INET)
		return -EINVAL;
	if (parse_attrs(nlh, sizeof(*nd), &t) < 0)
		return -EINVAL;
	out->ifindex = nd->ndm_ifindex;
	out->proxy = (nd->ndm_flags & NTF_PROXY) != 0;
	if (get_ip(t.tb[NDA_DST], &out->dst) < 0)
		return -EINVAL;
	if (t.tb[NDA_PROTOCOL] != NULL) {
		if (mnl_attr_validate(t.tb[NDA_PROTOCOL], MNL_TYPE_U8) < 0)
			return -EINVAL;
		out->protocol = mnl_attr_get_u8(t.tb[NDA_PROTOCOL]);
	}
	return 0;
}

int
net_parse_link(const struct nlmsghdr *nlh, struct net_link *out)
{
	struct attrs t = {.max = IFLA_MAX < 63 ? IFLA_MAX : 63};
	const struct ifinfomsg *ifi;
	uint32_t mtu = 0;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -EINVAL;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (parse_attrs(nlh, sizeof(*ifi), &t) < 0)
		return -EINVAL;
	out->ifindex = ifi->ifi_index;
	out->up = (ifi->ifi_flags & IFF_UP) != 0;
	if (get_u32(t.tb[IFLA_MTU], &mtu) < 0)
		return -EINVAL;
	out->mtu = (int)mtu;
	if (t.tb[IFLA_IFNAME] != NULL) {
		if (mnl_attr_validate(t.tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0)
			return -EINVAL;
		snprintf(out->name, sizeof(out->name), "%s", mnl_attr_get_str(t.tb[IFLA_IFNAME]));
	}
	return 0;
}
