/* Choosing and creating the SA backend: auto probes whether the kernel accepts an ESP state
 * (XFRM over netlink) and then uses the kernel (xfrm) backend, otherwise the userspace tun one. */
#ifndef PORTCULLIS_IPSEC_BACKEND_H
#define PORTCULLIS_IPSEC_BACKEND_H

#include <stddef.h>

#include "gateway/ipsec/ipsec.h"
#include "gateway/ipsec/tun.h"

/* Does the kernel of the current network namespace accept an ESP state? The one probe
 * (ipsec_xfrm_probe: a throwaway tunnel-mode AES-CBC/HMAC-SHA1 state on loopback addresses, added
 * and deleted at once). Returns 0 when the kernel has ESP, else a negative errno with why naming
 * what is missing. */
int ipsec_backend_probe_xfrm(char *why, size_t whylen);

/* Creates the backend of the given kind. tun_cfg configures the tun backend (NULL: defaults).
 * AUTO: xfrm when the kernel has ESP, else tun. XFRM: the kernel backend, or -EPROTONOSUPPORT
 * when the kernel lacks ESP (why names what is missing); no fallback. The choice and the reason
 * are logged and written to why. Returns 0 or a negative errno. */
int ipsec_backend_new(enum ipsec_backend_kind kind, struct loop *loop,
                      const struct ipsec_tun_config *tun_cfg, struct ipsec_backend **out, char *why,
                      size_t whylen);

/* "auto", "tun", "xfrm" <-> the kind; parse returns 0 or -EINVAL. */
const char *ipsec_backend_kind_name(enum ipsec_backend_kind kind);
int ipsec_backend_kind_parse(const char *s, enum ipsec_backend_kind *out);

/* Frees any backend through its ops; NULL is fine. */
void ipsec_backend_free(struct ipsec_backend *be);

#endif
