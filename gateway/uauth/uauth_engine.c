#include "gateway/uauth/uauth_engine.h"

#include "db/db.h"
#include "gateway/aaa/aaa.h"
#include "gateway/core/engine.h"
#include "gateway/core/log.h"
#include "gateway/nat/nat.h"

#include <errno.h>
#include <stdlib.h>

static int
hook_set_add(void *arg, uint32_t addr, uint32_t timeout_s)
{
	struct pc_err err = {0};
	int rc;

	/* replaces an element that is still there (a new login restarts its timeout);
	 * timeout 0: an Xauth entry, no expiry; uauth_remove_ipsec() removes it with the tunnel */
	rc = nat_uauth_add(arg, addr, timeout_s, &err);
	if (rc < 0)
		log_error(LOG_UAUTH, "nat_uauth_add: %s", err.msg);
	return rc;
}

static int
hook_set_del(void *arg, uint32_t addr)
{
	struct pc_err err = {0};
	int rc = nat_uauth_del(arg, addr, &err);

	if (rc < 0)
		log_error(LOG_UAUTH, "nat_uauth_del: %s", err.msg);
	return rc;
}

static void
hook_set_sync(void *arg)
{
	nat_uauth_sync(arg);
}

static int
hook_set_get(void *arg, uint32_t addr, uint64_t *left_ms)
{
	struct nat_uauth_elem *v = NULL;
	struct pc_err err = {0};
	size_t n = 0;
	int rc = -ENOENT;

	if (nat_uauth_list(arg, &v, &n, &err) < 0) {
		log_error(LOG_UAUTH, "nat_uauth_list: %s", err.msg);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].addr == addr) {
			*left_ms = v[i].expires_ms;
			rc = 0;
		}
	}
	free(v);
	return rc;
}

static int
hook_authenticate(void *arg, const struct aaa_auth_req *req, aaa_auth_fn fn, void *cb_arg,
                  uint64_t *req_id)
{
	return aaa_authenticate(arg, req, fn, cb_arg, req_id);
}

static void
hook_cancel(void *arg, uint64_t req_id)
{
	aaa_cancel(arg, req_id);
}

void
uauth_engine_hooks(struct uauth_hooks *h, struct nat *nat, struct aaa *aaa)
{
	*h = (struct uauth_hooks){
	        .authenticate = hook_authenticate,
	        .cancel = hook_cancel,
	        .aaa_arg = aaa,
	};
	if (nat != NULL) {
		h->set_add = hook_set_add;
		h->set_del = hook_set_del;
		h->set_get = hook_set_get;
		h->set_sync = hook_set_sync;
		h->set_arg = nat;
	}
}

int
uauth_engine_start(struct engine *eng, struct pc_err *err)
{
	struct uauth_config cfg;
	struct uauth_hooks hooks;
	int rc;

	if (eng->aaa == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "uauth: the AAA layer is not running");
	rc = uauth_config_load(eng->db, &cfg, err);
	if (rc < 0)
		return rc;
	uauth_engine_hooks(&hooks, eng->nat, eng->aaa);
	return uauth_new(eng->loop, eng->db, &cfg, &hooks, &eng->uauth, err);
}

int
uauth_engine_apply(struct engine *eng, struct db *txn, struct pc_err *err)
{
	struct uauth_config cfg;
	int rc;

	if (eng->uauth == NULL)
		return 0;
	rc = uauth_config_load(txn, &cfg, err);
	if (rc < 0)
		return rc;
	return uauth_reload(eng->uauth, &cfg, err);
}

void
uauth_engine_stop(struct engine *eng)
{
	uauth_free(eng->uauth);
	eng->uauth = NULL;
}

int
uauth_engine_list(struct engine *eng, json_t **out)
{
	if (eng->uauth == NULL)
		return -ESRCH;
	return uauth_to_json(eng->uauth, out);
}

int
uauth_engine_clear(struct engine *eng, const char *user_or_addr, struct pc_err *err)
{
	int rc;

	if (eng->uauth == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "uauth is not running");
	rc = uauth_clear(eng->uauth, user_or_addr, err);
	return rc < 0 ? rc : 0;
}
