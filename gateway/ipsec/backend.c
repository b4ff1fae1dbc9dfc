/* SA backend selection: see backend.h. */
#include "gateway/ipsec/backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <openssl/rand.h>

#include "gateway/core/log.h"

const char *
ipsec_backend_kind_name(enum ipsec_backend_kind kind)
{
	switch (kind) {
	case IPSEC_BACKEND_AUTO:
		return "auto";
	case IPSEC_BACKEND_TUN:
		return "tun";
	case IPSEC_BACKEND_XFRM:
		return "xfrm";
	}
	return "unknown";
}

int
ipsec_backend_kind_parse(const char *s, enum ipsec_backend_kind *out)
{
	if (strcmp(s, "auto") == 0)
		*out = IPSEC_BACKEND_AUTO;
	else if (strcmp(s, "tun") == 0)
		*out = IPSEC_BACKEND_TUN;
	else if (strcmp(s, "xfrm") == 0)
		*out = IPSEC_BACKEND_XFRM;
	else
		return -EINVAL;
	return 0;
}

void
ipsec_backend_free(struct ipsec_backend *be)
{
	if (be != NULL)
		be->ops->free(be);
}

/* Sends nlh with NLM_F_ACK on nl and returns the kernel's answer (0 or -errno). */
static int
xfrm_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int ret;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int
put_algo(struct nlmsghdr *nlh, size_t cap, uint16_t type, const char *name, size_t key_bytes,
         uint32_t trunc_bits)
{
	/* struct xfrm_algo / xfrm_algo_auth followed by the key; the key is random and never used. */
	uint8_t attr[sizeof(struct xfrm_algo_auth) + 32];
	size_t len;

	memset(attr, 0, sizeof(attr));
	if (type == XFRMA_ALG_AUTH_TRUNC) {
		struct xfrm_algo_auth a;

		memset(&a, 0, sizeof(a));
		snprintf(a.alg_name, sizeof(a.alg_name), "%s", name);
		a.alg_key_len = (unsigned)(key_bytes * 8);
		a.alg_trunc_len = trunc_bits;
		memcpy(attr, &a, sizeof(a));
		len = sizeof(a) + key_bytes;
		if (RAND_bytes(attr + sizeof(a), (int)key_bytes) != 1)
			return -EIO;
	} else {
		struct xfrm_algo a;

		memset(&a, 0, sizeof(a));
		snprintf(a.alg_name, sizeof(a.alg_name), "%s", name);
		a.alg_key_len = (unsigned)(key_bytes * 8);
		memcpy(attr, &a, sizeof(a));
		len = sizeof(a) + key_bytes;
		if (RAND_bytes(attr + sizeof(a), (int)key_bytes) != 1)
			return -EIO;
	}
	if (!mnl_attr_put_check(nlh, cap, type, len, attr))
		return -EMSGSIZE;
	return 0;
}

int
ipsec_backend_probe_xfrm(char *why, size_t whylen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct xfrm_usersa_info *sa;
	struct xfrm_usersa_id *id;
	uint32_t spi, seq = (uint32_t)time(NULL);
	struct in_addr daddr, saddr;
	int ret;

	inet_pton(AF_INET, "192.0.2.1", &daddr);
	inet_pton(AF_INET, "192.0.2.2", &saddr);
	if (RAND_bytes((unsigned char *)&spi, sizeof(spi)) != 1)
		spi = (uint32_t)time(NULL);
	spi |= 0x80000000u; /* never a reserved SPI */

	nl = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC);
	if (nl == NULL) {
		ret = -errno;
		snprintf(why, whylen,
		         "socket NETLINK_XFRM: %s (kernel without CONFIG_XFRM_USER, or netlink "
		         "refused in this namespace)",
		         strerror(errno));
		return ret;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		snprintf(why, whylen, "bind NETLINK_XFRM: %s", strerror(errno));
		goto out;
	}

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	sa = mnl_nlmsg_put_extra_header(nlh, sizeof(*sa));
	sa->sel.family = AF_INET;
	sa->id.daddr.a4 = daddr.s_addr;
	sa->id.spi = htonl(spi);
	sa->id.proto = IPPROTO_ESP;
	sa->saddr.a4 = saddr.s_addr;
	sa->lft.soft_byte_limit = XFRM_INF;
	sa->lft.hard_byte_limit = XFRM_INF;
	sa->lft.soft_packet_limit = XFRM_INF;
	sa->lft.hard_packet_limit = XFRM_INF;
	sa->family = AF_INET;
	sa->mode = XFRM_MODE_TUNNEL;
	ret = put_algo(nlh, sizeof(buf), XFRMA_ALG_CRYPT, "cbc(aes)", 16, 0);
	if (ret == 0)
		ret = put_algo(nlh, sizeof(buf), XFRMA_ALG_AUTH_TRUNC, "hmac(sha1)", 20, 96);
	if (ret < 0) {
		snprintf(why, whylen, "building XFRM_MSG_NEWSA: %s", strerror(-ret));
		goto out;
	}
	ret = xfrm_talk(nl, nlh, seq);
	if (ret < 0) {
		snprintf(why, whylen,
		         "kernel refused an ESP state (XFRM_MSG_NEWSA: %s): no ESP support "
		         "(CONFIG_INET_ESP / esp4 module, or cbc(aes)/hmac(sha1) crypto) in this "
		         "kernel",
		         strerror(-ret));
		goto out;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_DELSA;
	id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
	id->daddr.a4 = daddr.s_addr;
	id->spi = htonl(spi);
	id->family = AF_INET;
	id->proto = IPPROTO_ESP;
	if (mnl_attr_put_check(nlh, sizeof(buf), XFRMA_SRCADDR, sizeof(xfrm_address_t),
	                       &(xfrm_address_t){.a4 = saddr.s_addr})) {
		int dret = xfrm_talk(nl, nlh, seq + 1);

		if (dret < 0)
			log_warn(LOG_IPSEC, "xfrm probe: XFRM_MSG_DELSA spi %08x: %s", spi,
			         strerror(-dret));
	}
	snprintf(why, whylen, "kernel accepts ESP states (XFRM)");
	ret = 0;
out:
	mnl_socket_close(nl);
	return ret;
}

int
ipsec_backend_new(enum ipsec_backend_kind kind, struct loop *loop,
                  const struct ipsec_tun_config *tun_cfg, struct ipsec_backend **out, char *why,
                  size_t whylen)
{
	char probe[256], local_why[512];
	int ret;

	*out = NULL;
	if (why == NULL || whylen == 0) {
		why = local_why;
		whylen = sizeof(local_why);
	}
	why[0] = '\0';
	switch (kind) {
	case IPSEC_BACKEND_TUN:
		snprintf(why, whylen, "tun backend configured");
		break;
	case IPSEC_BACKEND_XFRM:
		ret = ipsec_backend_probe_xfrm(probe, sizeof(probe));
		if (ret < 0) {
			snprintf(why, whylen, "xfrm backend unavailable: %s", probe);
			log_error(LOG_IPSEC, "%s", why);
			return -EPROTONOSUPPORT;
		}
		snprintf(why, whylen,
		         "xfrm backend not built yet (the kernel has ESP: %s); use tun or auto",
		         probe);
		log_error(LOG_IPSEC, "%s", why);
		return -ENOTSUP;
	case IPSEC_BACKEND_AUTO:
		ret = ipsec_backend_probe_xfrm(probe, sizeof(probe));
		if (ret < 0)
			snprintf(why, whylen, "auto: tun, because %s", probe);
		else
			snprintf(why, whylen,
			         "auto: tun, because the xfrm backend is not built yet (%s)",
			         probe);
		break;
	default:
		snprintf(why, whylen, "unknown backend kind %d", (int)kind);
		return -EINVAL;
	}
	ret = ipsec_tun_new(loop, tun_cfg, out);
	if (ret < 0) {
		size_t used = strlen(why);

		snprintf(why + used, whylen - used, "; creating the tun backend failed: %s",
		         strerror(-ret));
		log_error(LOG_IPSEC, "SA backend: %s", why);
		return ret;
	}
	log_info(LOG_IPSEC, "SA backend: %s", why);
	return 0;
}
