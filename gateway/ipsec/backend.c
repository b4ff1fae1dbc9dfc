/* SA backend selection: see backend.h. */
#include "gateway/ipsec/backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/log.h"
#include "gateway/ipsec/xfrm.h"

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

int
ipsec_backend_probe_xfrm(char *why, size_t whylen)
{
	return ipsec_xfrm_probe(why, whylen);
}

int
ipsec_backend_new(enum ipsec_backend_kind kind, struct loop *loop,
                  const struct ipsec_tun_config *tun_cfg, struct ipsec_backend **out, char *why,
                  size_t whylen)
{
	char xwhy[384], local_why[512];
	int ret;

	*out = NULL;
	if (why == NULL || whylen == 0) {
		why = local_why;
		whylen = sizeof(local_why);
	}
	why[0] = '\0';
	xwhy[0] = '\0';
	switch (kind) {
	case IPSEC_BACKEND_TUN:
		snprintf(why, whylen, "tun backend configured");
		break;
	case IPSEC_BACKEND_XFRM:
		ret = ipsec_xfrm_new(loop, out, xwhy, sizeof(xwhy));
		if (ret < 0) {
			snprintf(why, whylen, "xfrm backend unavailable: %s", xwhy);
			log_error(LOG_IPSEC, "SA backend: %s", why);
			return ret;
		}
		snprintf(why, whylen, "xfrm backend configured: %s", xwhy);
		log_info(LOG_IPSEC, "SA backend: %s", why);
		return 0;
	case IPSEC_BACKEND_AUTO:
		ret = ipsec_xfrm_new(loop, out, xwhy, sizeof(xwhy));
		if (ret == 0) {
			snprintf(why, whylen, "auto: xfrm, because %s", xwhy);
			log_info(LOG_IPSEC, "SA backend: %s", why);
			return 0;
		}
		snprintf(why, whylen, "auto: tun, because %s", xwhy);
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
