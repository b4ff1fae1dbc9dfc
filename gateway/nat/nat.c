/* The nat module: model -> plan -> one nftables batch, plus counters and the uauth set. */
#include "gateway/nat/nat.h"

#include "db/db.h"
#include "gateway/core/engine.h"
#include "gateway/core/log.h"
#include "gateway/nat/nat_model.h"
#include "gateway/nat/nat_nl.h"
#include "gateway/net/net.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NAT_DEFAULT_MARK_MASK 0x00ff0000u

/* Conntrack helper types the plan may ask for, probed once against the kernel. */
static const struct {
	const char *type;
	int l4proto;
} probe_list[] = {
        {"ftp", 6},  {"tftp", 17}, {"sip", 17}, {"RAS", 17},  {"Q.931", 6},
        {"rtsp", 6}, {"pptp", 6},  {"irc", 6},  {"snmp", 17},
};
#define NPROBE (sizeof(probe_list) / sizeof(probe_list[0]))

struct nat {
	struct nat_config cfg;
	char table[32];
	char tun[IFNAMSIZ + 1];
	struct nat_nl *nl;
	struct net *net;
	bool probed;
	bool missing[NPROBE];
};

int
nat_new(const struct nat_config *cfg, struct nat **out)
{
	struct nat *nat = calloc(1, sizeof(*nat));

	*out = NULL;
	if (nat == NULL)
		return -ENOMEM;
	nat->cfg = *cfg;
	snprintf(nat->table, sizeof(nat->table), "%s", cfg->table ? cfg->table : "portcullis");
	if (cfg->tun_ifname != NULL) {
		if (strlen(cfg->tun_ifname) > IFNAMSIZ) {
			free(nat);
			return -EINVAL;
		}
		snprintf(nat->tun, sizeof(nat->tun), "%s", cfg->tun_ifname);
	}
	nat->cfg.table = nat->table;
	nat->cfg.tun_ifname = nat->tun;
	if (nat->cfg.mark_mask == 0)
		nat->cfg.mark_mask = NAT_DEFAULT_MARK_MASK;
	*out = nat;
	return 0;
}

void
nat_free(struct nat *nat)
{
	if (nat == NULL)
		return;
	nat_nl_close(nat->nl);
	net_free(nat->net);
	free(nat);
}

static int
ensure_nl(struct nat *nat, struct pc_err *err)
{
	if (nat->nl != NULL)
		return 0;
	return nat_nl_open(&nat->nl, err);
}

static bool
helper_missing(const char *type, void *arg)
{
	const struct nat *nat = arg;

	for (size_t i = 0; i < NPROBE; i++)
		if (strcmp(probe_list[i].type, type) == 0)
			return nat->missing[i];
	return false;
}

static int
probe_helpers(struct nat *nat, struct pc_err *err)
{
	if (nat->probed)
		return 0;
	for (size_t i = 0; i < NPROBE; i++) {
		int rc = nat_nl_probe_helper(nat->nl, probe_list[i].type, probe_list[i].l4proto,
		                             err);

		if (rc < 0)
			return rc;
		nat->missing[i] = rc == 0;
		if (rc == 0)
			log_info(LOG_NAT, "kernel has no \"%s\" conntrack helper",
			         probe_list[i].type);
	}
	nat->probed = true;
	return 0;
}

static void
plan_config(const struct nat *nat, struct nat_plan_config *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->table = nat->table;
	pc->tun_ifname = nat->tun[0] ? nat->tun : NULL;
	pc->mark_mask = nat->cfg.mark_mask;
	pc->uauth_port = nat->cfg.uauth_port;
	pc->inject_invalid_rule = nat->cfg.inject_invalid_rule;
	if (nat->probed) {
		pc->unavailable_helper = helper_missing;
		pc->helper_arg = (void *)nat;
	}
}

int
nat_apply(struct nat *nat, struct db *txn, struct pc_err *err)
{
	struct nat_model *m = NULL;
	struct nat_plan *p = NULL;
	struct nat_plan_config pc;
	struct nat_uauth_elem *keep = NULL;
	struct net_undo *undo = NULL;
	size_t nkeep = 0;
	struct pc_err ignore = {0};
	int rc;

	rc = ensure_nl(nat, err);
	if (rc == 0)
		rc = probe_helpers(nat, err);
	if (rc == 0)
		rc = nat_model_load(txn, &m, err);
	if (rc < 0)
		goto out;
	plan_config(nat, &pc);
	rc = nat_plan_build(m, &pc, &p, err);
	if (rc < 0)
		goto out;
	if (p->notes[0] != '\0')
		log_warn(LOG_NAT, "%.*s", (int)strlen(p->notes) - 1, p->notes);
	if (nat->cfg.manage_net) {
		if (nat->net == NULL) {
			struct net_config nc = {.enable_forwarding = true};

			rc = net_new(&nc, &nat->net, err);
			if (rc < 0)
				goto out;
		}
		rc = net_apply(nat->net, m, &undo, err);
		if (rc < 0)
			goto out;
	}
	/* authenticated cut-through users survive a reapply with their remaining time */
	if (nat_nl_uauth_list(nat->nl, nat->table, &keep, &nkeep, &ignore) < 0) {
		keep = NULL;
		nkeep = 0;
	}
	rc = nat_nl_replace(nat->nl, p, keep, nkeep, err);
	if (rc < 0 && undo != NULL) {
		if (net_undo_run(nat->net, undo) < 0)
			log_error(LOG_NET,
			          "nftables apply failed and interface/route changes could "
			          "not all be undone");
	}
out:
	net_undo_free(undo);
	free(keep);
	nat_plan_free(p);
	nat_model_free(m);
	if (rc < 0)
		log_error(LOG_NAT, "apply failed: %s", err != NULL ? err->msg : strerror(-rc));
	return rc;
}

int
nat_engine_apply(struct engine *eng, struct db *txn, struct pc_err *err)
{
	if (eng->nat == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "nat: not initialised");
	if (!eng->data_plane_ok)
		return pc_err_set(
		        err, PC_ERR_FORBIDDEN, "",
		        "data plane disabled (root namespace without --allow-host-network)");
	return nat_apply(eng->nat, txn, err);
}

int
nat_engine_acl_counters(struct engine *eng, json_t **out)
{
	struct nat_acl_counter *v = NULL;
	struct pc_err err = {0};
	json_t *arr;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (eng->nat == NULL)
		return -ENODEV;
	rc = nat_acl_counters(eng->nat, &v, &n, &err);
	if (rc < 0) {
		log_warn(LOG_NAT, "acl counters: %s", err.msg);
		return rc;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *o = json_pack(
		        "{s:I, s:o, s:I, s:I}", "acl_id", (json_int_t)v[i].acl_id, "entry_id",
		        v[i].ace_id != 0 ? json_integer((json_int_t)v[i].ace_id) : json_null(),
		        "packets", (json_int_t)v[i].packets, "bytes", (json_int_t)v[i].bytes);

		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(v);
	if (arr == NULL)
		return -ENOMEM;
	*out = arr;
	return 0;
}

int
nat_flush(struct nat *nat, struct pc_err *err)
{
	int rc = ensure_nl(nat, err);

	if (rc < 0)
		return rc;
	return nat_nl_delete_table(nat->nl, nat->table, err);
}

int
nat_acl_counters(struct nat *nat, struct nat_acl_counter **out, size_t *n, struct pc_err *err)
{
	int rc = ensure_nl(nat, err);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	return nat_nl_counters(nat->nl, nat->table, out, n, err);
}

int
nat_uauth_add(struct nat *nat, uint32_t addr, uint32_t timeout_s, struct pc_err *err)
{
	int rc = ensure_nl(nat, err);

	if (rc < 0)
		return rc;
	/* timeout_s 0: an element without its own timeout, which the kernel never expires (IPsec
	 * users stay while their tunnel lasts; the engine removes them at teardown) */
	return nat_nl_uauth(nat->nl, nat->table, true, addr, (uint64_t)timeout_s * 1000, err);
}

int
nat_uauth_del(struct nat *nat, uint32_t addr, struct pc_err *err)
{
	int rc = ensure_nl(nat, err);

	if (rc < 0)
		return rc;
	rc = nat_nl_uauth(nat->nl, nat->table, false, addr, 0, err);
	if (rc == -ENOENT)
		pc_err_set(err, PC_ERR_NOTFOUND, "address", "uauth: %u.%u.%u.%u is not in the set",
		           addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
	return rc;
}

int
nat_uauth_list(struct nat *nat, struct nat_uauth_elem **out, size_t *n, struct pc_err *err)
{
	int rc = ensure_nl(nat, err);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	return nat_nl_uauth_list(nat->nl, nat->table, out, n, err);
}

int
nat_probe_helpers(struct nat *nat, struct pc_err *err)
{
	int rc = ensure_nl(nat, err);

	return rc < 0 ? rc : probe_helpers(nat, err);
}

int
nat_render(struct nat *nat, struct db *db, FILE *f, FILE *notes, struct pc_err *err)
{
	struct nat_model *m = NULL;
	struct nat_plan *p = NULL;
	struct nat_plan_config pc;
	int rc = nat_model_load(db, &m, err);

	if (rc < 0)
		return rc;
	plan_config(nat, &pc);
	rc = nat_plan_build(m, &pc, &p, err);
	if (rc == 0) {
		rc = nat_plan_render(p, f);
		if (rc < 0)
			pc_err_set(err, PC_ERR_INTERNAL, "", "render: %s", strerror(-rc));
		if (notes != NULL && p->notes[0] != '\0')
			fputs(p->notes, notes);
	}
	nat_plan_free(p);
	nat_model_free(m);
	return rc;
}
