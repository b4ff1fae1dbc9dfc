/* The nat module: model -> plan -> one nftables batch, plus counters and the uauth set. */
#include "gateway/nat/nat.h"

#include "db/db.h"
#include "gateway/core/engine.h"
#include "gateway/core/log.h"
#include "gateway/nat/nat_model.h"
#include "gateway/nat/nat_nl.h"
#include "gateway/net/net.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Addresses the uauth writer believes are in the kernel's set: open addressing, 0 = empty slot
 * (0.0.0.0 is never a client), tombstones as UINT32_MAX. */
struct addr_set {
	uint32_t *v;
	size_t cap, n, used; /* used counts tombstones too */
};

/* The uauth set writer: every nftables transaction waits in the kernel for an RCU grace period
 * (10-20 ms), so the engine thread only queues element changes and this thread commits whatever
 * has queued up in one batch, on its own netlink socket. */
/* The writer waits this long after the first change of a batch before it commits. */
#define UAUTH_LINGER_MS 10

struct uauth_writer {
	pthread_t thread;
	bool started, stop, busy;
	pthread_mutex_t lock; /* the queue and the flags */
	pthread_cond_t wake, idle;
	struct nat_uauth_op *q;
	size_t n, cap;
	struct nat_nl *nl; /* the writer's own socket, opened in the engine's namespace */
	struct addr_set
	        in; /* owned by the writer thread (and by nat_apply/nat_flush under apply) */
	uint64_t batches, ops; /* statistics: transactions sent, element operations */
};

struct nat {
	struct nat_config cfg;
	char table[32];
	char tun[IFNAMSIZ + 1];
	struct nat_nl *nl;
	struct net *net;
	bool probed;
	bool missing[NPROBE];
	/* held by whoever changes the table: nat_apply, nat_flush and the uauth writer's batches */
	pthread_mutex_t apply;
	struct uauth_writer uw;
};

static void uauth_writer_stop(struct nat *nat);

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
	pthread_mutex_init(&nat->apply, NULL);
	pthread_mutex_init(&nat->uw.lock, NULL);
	pthread_cond_init(&nat->uw.wake, NULL);
	pthread_cond_init(&nat->uw.idle, NULL);
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
	uauth_writer_stop(nat);
	nat_nl_close(nat->nl);
	net_free(nat->net);
	pthread_cond_destroy(&nat->uw.idle);
	pthread_cond_destroy(&nat->uw.wake);
	pthread_mutex_destroy(&nat->uw.lock);
	pthread_mutex_destroy(&nat->apply);
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
	/* authenticated cut-through users survive a reapply with their remaining time; no uauth
	 * batch may commit between the listing and the replacement */
	pthread_mutex_lock(&nat->apply);
	if (nat_nl_uauth_list(nat->nl, nat->table, &keep, &nkeep, &ignore) < 0) {
		keep = NULL;
		nkeep = 0;
	}
	rc = nat_nl_replace(nat->nl, p, keep, nkeep, err);
	pthread_mutex_unlock(&nat->apply);
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
	nat_uauth_sync(nat);
	pthread_mutex_lock(&nat->apply);
	rc = nat_nl_delete_table(nat->nl, nat->table, err);
	free(nat->uw.in.v);
	memset(&nat->uw.in, 0, sizeof(nat->uw.in));
	pthread_mutex_unlock(&nat->apply);
	return rc;
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

/* ---- the uauth set writer ---- */

static size_t
addr_slot(const struct addr_set *as, uint32_t addr, bool for_insert)
{
	size_t mask = as->cap - 1, i = (addr * 2654435761u) & mask, tomb = SIZE_MAX;

	for (;;) {
		uint32_t v = as->v[i];

		if (v == addr)
			return i;
		if (v == 0)
			return for_insert && tomb != SIZE_MAX ? tomb : i;
		if (v == UINT32_MAX && tomb == SIZE_MAX)
			tomb = i;
		i = (i + 1) & mask;
	}
}

static bool
addr_has(const struct addr_set *as, uint32_t addr)
{
	return as->cap != 0 && as->v[addr_slot(as, addr, false)] == addr;
}

static int
addr_grow(struct addr_set *as)
{
	struct addr_set big = {.cap = as->cap == 0 ? 256 : as->cap * 2};

	if (as->n * 2 < as->cap && as->used * 4 < as->cap * 3)
		big.cap = as->cap; /* same size: only clears the tombstones */
	big.v = calloc(big.cap, sizeof(*big.v));
	if (big.v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < as->cap; i++) {
		uint32_t v = as->v[i];

		if (v != 0 && v != UINT32_MAX) {
			big.v[addr_slot(&big, v, true)] = v;
			big.n++;
		}
	}
	big.used = big.n;
	free(as->v);
	*as = big;
	return 0;
}

static int
addr_put(struct addr_set *as, uint32_t addr)
{
	size_t i;

	if (addr_has(as, addr))
		return 0;
	if ((as->used + 1) * 4 > as->cap * 3 && addr_grow(as) < 0)
		return -ENOMEM;
	i = addr_slot(as, addr, true);
	if (as->v[i] == 0)
		as->used++;
	as->v[i] = addr;
	as->n++;
	return 0;
}

static void
addr_del(struct addr_set *as, uint32_t addr)
{
	if (!addr_has(as, addr))
		return;
	as->v[addr_slot(as, addr, false)] = UINT32_MAX;
	as->n--;
}

/* Rebuilds the writer's view of the set from the kernel. */
static void
addr_reload(struct nat *nat)
{
	struct nat_uauth_elem *v = NULL;
	struct pc_err err = {0};
	size_t n = 0;

	free(nat->uw.in.v);
	memset(&nat->uw.in, 0, sizeof(nat->uw.in));
	if (nat_nl_uauth_list(nat->uw.nl, nat->table, &v, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		addr_put(&nat->uw.in, v[i].addr);
	free(v);
}

/* The kernel transaction for the final operations ops[0..n) (one per address): an add replaces
 * an element that is there (a fresh login restarts its timeout), a delete of an element that is
 * not there is left out. out has room for 2n. */
static size_t
build_ops(const struct addr_set *in, const struct nat_uauth_op *ops, size_t n,
          struct nat_uauth_op *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		bool there = addr_has(in, ops[i].addr);

		if (there)
			out[k++] = (struct nat_uauth_op){.addr = ops[i].addr, .add = false};
		if (ops[i].add)
			out[k++] = ops[i];
	}
	return k;
}

static void
note_ops(struct addr_set *in, const struct nat_uauth_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ops[i].add)
			addr_put(in, ops[i].addr);
		else
			addr_del(in, ops[i].addr);
	}
}

/* Keeps the last operation per address, in their order. Returns the new count. */
static size_t
coalesce(struct nat_uauth_op *ops, size_t n)
{
	struct addr_set seen = {0};
	size_t k = n; /* ops[k..n) are kept */

	for (size_t i = n; i-- > 0;) {
		if (addr_has(&seen, ops[i].addr))
			continue;
		if (addr_put(&seen, ops[i].addr) < 0) {
			/* out of memory: ops[0..i] stay as they are, in front of the kept ones */
			memmove(ops + i + 1, ops + k, (n - k) * sizeof(*ops));
			free(seen.v);
			return i + 1 + n - k;
		}
		ops[--k] = ops[i];
	}
	free(seen.v);
	memmove(ops, ops + k, (n - k) * sizeof(*ops));
	return n - k;
}

static void
apply_ops(struct nat *nat, struct nat_uauth_op *ops, size_t n)
{
	struct uauth_writer *w = &nat->uw;
	struct nat_uauth_op *tx = malloc(2 * n * sizeof(*tx));
	struct pc_err err = {0};
	size_t k;
	int rc = -ENOMEM;

	n = coalesce(ops, n);
	pthread_mutex_lock(&nat->apply);
	for (int attempt = 0; tx != NULL && attempt < 2; attempt++) {
		k = build_ops(&w->in, ops, n, tx);
		rc = nat_nl_uauth_batch(w->nl, nat->table, tx, k, &err);
		w->batches++;
		if (rc == 0) {
			note_ops(&w->in, ops, n);
			break;
		}
		/* an element expired or the table was replaced: look again */
		addr_reload(nat);
	}
	if (rc < 0) {
		/* one transaction each, so one bad element does not hold back the others */
		log_warn(LOG_NAT,
		         "uauth set: batch of %zu changes refused (%s); applying one by one", n,
		         err.msg);
		for (size_t i = 0; i < n; i++) {
			struct nat_uauth_op one[2];

			k = build_ops(&w->in, &ops[i], 1, one);
			rc = nat_nl_uauth_batch(w->nl, nat->table, one, k, &err);
			if (rc < 0)
				log_error(LOG_NAT, "uauth set: %s", err.msg);
			else
				note_ops(&w->in, &ops[i], 1);
		}
	}
	w->ops += n;
	pthread_mutex_unlock(&nat->apply);
	free(tx);
}

static void *
uauth_writer_main(void *arg)
{
	struct nat *nat = arg;
	struct uauth_writer *w = &nat->uw;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->n == 0 && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->n == 0)
			break; /* stop, and everything queued is done */
		if (!w->stop) {
			/* let a burst gather: one transaction for all of it instead of a wake-up
			 * and a commit for each of the first few */
			struct timespec linger = {0, UAUTH_LINGER_MS * 1000000L};

			pthread_mutex_unlock(&w->lock);
			nanosleep(&linger, NULL);
			pthread_mutex_lock(&w->lock);
		}
		struct nat_uauth_op *ops = w->q;
		size_t n = w->n;

		w->q = NULL;
		w->n = w->cap = 0;
		w->busy = true;
		pthread_mutex_unlock(&w->lock);
		apply_ops(nat, ops, n);
		free(ops);
		pthread_mutex_lock(&w->lock);
		w->busy = false;
		if (w->n == 0)
			pthread_cond_broadcast(&w->idle);
	}
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int
uauth_writer_start(struct nat *nat, struct pc_err *err)
{
	struct uauth_writer *w = &nat->uw;
	int rc;

	if (w->started)
		return 0;
	/* opened here, on the engine thread, so the socket is in the engine's namespace */
	rc = nat_nl_open(&w->nl, err);
	if (rc < 0)
		return rc;
	addr_reload(nat);
	rc = -pthread_create(&w->thread, NULL, uauth_writer_main, nat);
	if (rc < 0) {
		nat_nl_close(w->nl);
		w->nl = NULL;
		return pc_err_set(err, PC_ERR_INTERNAL, "", "uauth set writer: pthread_create: %s",
		                  strerror(-rc));
	}
	w->started = true;
	return 0;
}

static void
uauth_writer_stop(struct nat *nat)
{
	struct uauth_writer *w = &nat->uw;

	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	log_debug(LOG_NAT,
	          "uauth set writer: %" PRIu64 " element changes in %" PRIu64 " transactions",
	          w->ops, w->batches);
	nat_nl_close(w->nl);
	free(w->q);
	free(w->in.v);
	w->started = false;
}

static int
uauth_queue(struct nat *nat, const struct nat_uauth_op *op, struct pc_err *err)
{
	struct uauth_writer *w = &nat->uw;
	int rc = uauth_writer_start(nat, err);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&w->lock);
	if (w->n == w->cap) {
		size_t ncap = w->cap == 0 ? 64 : w->cap * 2;
		struct nat_uauth_op *q = realloc(w->q, ncap * sizeof(*q));

		if (q == NULL) {
			pthread_mutex_unlock(&w->lock);
			return pc_err_set(err, PC_ERR_INTERNAL, "", "uauth set: out of memory");
		}
		w->q = q;
		w->cap = ncap;
	}
	w->q[w->n++] = *op;
	if (w->n == 1)
		pthread_cond_signal(&w->wake); /* it only waits on an empty queue */
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void
nat_uauth_sync(struct nat *nat)
{
	struct uauth_writer *w = &nat->uw;

	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	while (w->n != 0 || w->busy)
		pthread_cond_wait(&w->idle, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

int
nat_uauth_add(struct nat *nat, uint32_t addr, uint32_t timeout_s, struct pc_err *err)
{
	/* timeout_s 0: an element without its own timeout, which the kernel never expires (IPsec
	 * users stay while their tunnel lasts; the engine removes them at teardown) */
	struct nat_uauth_op op = {
	        .addr = addr, .timeout_ms = (uint64_t)timeout_s * 1000, .add = true};

	if (addr == 0 || addr == UINT32_MAX)
		return pc_err_set(err, PC_ERR_INVALID, "address",
		                  "uauth: %u.%u.%u.%u is not a host", addr >> 24,
		                  (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
	return uauth_queue(nat, &op, err);
}

int
nat_uauth_del(struct nat *nat, uint32_t addr, struct pc_err *err)
{
	struct nat_uauth_op op = {.addr = addr, .add = false};

	if (addr == 0 || addr == UINT32_MAX)
		return pc_err_set(err, PC_ERR_NOTFOUND, "address",
		                  "uauth: %u.%u.%u.%u is not in the set", addr >> 24,
		                  (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
	return uauth_queue(nat, &op, err);
}

void
nat_uauth_stats(struct nat *nat, uint64_t *ops, uint64_t *batches)
{
	nat_uauth_sync(nat);
	*ops = nat->uw.ops;
	*batches = nat->uw.batches;
}

int
nat_uauth_add_now(struct nat *nat, uint32_t addr, uint32_t timeout_s, struct pc_err *err)
{
	struct nat_uauth_op ops[2] = {
	        {.addr = addr, .add = false},
	        {.addr = addr, .timeout_ms = (uint64_t)timeout_s * 1000, .add = true},
	};
	int rc = ensure_nl(nat, err);

	if (rc < 0)
		return rc;
	nat_uauth_sync(nat);
	pthread_mutex_lock(&nat->apply);
	/* replace when it is there, else add */
	rc = nat_nl_uauth_batch(nat->nl, nat->table, ops, 2, NULL);
	if (rc == -ENOENT)
		rc = nat_nl_uauth_batch(nat->nl, nat->table, &ops[1], 1, err);
	else if (rc < 0)
		rc = nat_nl_uauth_batch(nat->nl, nat->table, ops, 2, err);
	pthread_mutex_unlock(&nat->apply);
	return rc;
}

int
nat_uauth_del_now(struct nat *nat, uint32_t addr, struct pc_err *err)
{
	int rc = ensure_nl(nat, err);

	if (rc < 0)
		return rc;
	nat_uauth_sync(nat);
	pthread_mutex_lock(&nat->apply);
	rc = nat_nl_uauth(nat->nl, nat->table, false, addr, 0, err);
	pthread_mutex_unlock(&nat->apply);
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
	nat_uauth_sync(nat);
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
