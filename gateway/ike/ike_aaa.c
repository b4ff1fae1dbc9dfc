/* Adapters from the IKE engine's hooks to the AAA layer (gateway/aaa/aaa.h), so the daemon can
 * plug aaa_authenticate() in with ike_hooks_use_aaa(). Kept in its own file: programs that do not
 * call it (the IKE unit tests, which use a fake) never link against the AAA layer. */
#include "gateway/aaa/aaa.h"
#include "gateway/ike/ike.h"

static int
auth_adapter(void *arg, const struct aaa_auth_req *req, aaa_auth_fn fn, void *fn_arg,
             uint64_t *req_id)
{
	return aaa_authenticate(arg, req, fn, fn_arg, req_id);
}

static void
cancel_adapter(void *arg, uint64_t req_id)
{
	aaa_cancel(arg, req_id);
}

void
ike_hooks_use_aaa(struct ike_hooks *h, struct aaa *aaa)
{
	h->authenticate = auth_adapter;
	h->cancel = cancel_adapter;
	h->auth_arg = aaa;
}
