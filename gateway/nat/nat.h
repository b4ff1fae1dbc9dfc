/* NAT, ACLs, permit-ipsec, fixups and the uauth set: one nftables table owned by Portcullis,
 * programmed through libnftnl + libmnl in the current network namespace, replaced atomically in one
 * netlink batch on every apply. Nothing outside that table is touched. */
#ifndef PORTCULLIS_NAT_NAT_H
#define PORTCULLIS_NAT_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gateway/core/err.h"

struct db;
struct nat;
struct net;

struct nat_config {
	const char *table; /* nftables table (family ip); NULL: "portcullis" */
	const char *
	        tun_ifname; /* tun SA backend's device: exact name or prefix "pcx*"; NULL/"": none */
	uint32_t mark_mask;  /* packet mark bits for the ingress interface; 0: 0x00ff0000 */
	uint16_t uauth_port; /* cut-through listener port for redirects; 0: no redirect rules */
	bool manage_net;     /* nat_apply also applies interfaces/addresses/routes (net_apply) */
	bool inject_invalid_rule; /* tests only: the batch ends with a rule the kernel rejects */
};

/* Hit counter of one ACL entry (access_list_entry.id), or of an ACL's implicit deny
 * (ace_id 0). */
struct nat_acl_counter {
	int64_t acl_id;
	int64_t ace_id;
	uint64_t packets, bytes;
};

struct nat_uauth_elem {
	uint32_t addr;       /* host byte order */
	uint64_t timeout_ms; /* as added */
	uint64_t expires_ms; /* remaining */
};

int nat_new(const struct nat_config *cfg, struct nat **out);
void nat_free(struct nat *nat);

/* Computes the desired state from txn (a connection inside its open transaction) and programs the
 * kernel: with manage_net, interfaces/addresses/routes/proxy ARP first (undone on failure), then
 * the whole table in one batch. On failure the kernel is as it was and err says why. */
int nat_apply(struct nat *nat, struct db *txn, struct pc_err *err);
/* Same, as engine_ops.apply_config would call it (eng->nat must be set). */
struct engine;
int nat_engine_apply(struct engine *eng, struct db *txn, struct pc_err *err);

/* engine_ops.acl_counters: [{"acl_id", "entry_id" (null for the implicit deny), "packets",
 * "bytes"}, ...] (new reference). */
struct json_t;
int nat_engine_acl_counters(struct engine *eng, struct json_t **out);

/* Removes the table (daemon shutdown, tests). Missing table is not an error. */
int nat_flush(struct nat *nat, struct pc_err *err);

/* Reads every ACL rule's counter back (one GETRULE dump of the table). *out is malloc'd. */
int nat_acl_counters(struct nat *nat, struct nat_acl_counter **out, size_t *n, struct pc_err *err);

/* The cut-through proxy's set of authenticated sources (set "uauth", flags timeout).
 * add and del only queue the change for a writer thread (started by the first call, in the
 * caller's network namespace) that commits everything queued so far in one transaction: a
 * kernel commit takes 10-20 ms and must not stall the engine. add replaces an element that is
 * there (its timeout starts again); timeout_s 0: no expiry (removed explicitly). Errors the
 * kernel reports later are logged. list (and nat_flush) first wait for the queue to drain. */
int nat_uauth_add(struct nat *nat, uint32_t addr, uint32_t timeout_s, struct pc_err *err);
int nat_uauth_del(struct nat *nat, uint32_t addr, struct pc_err *err);
int nat_uauth_list(struct nat *nat, struct nat_uauth_elem **out, size_t *n, struct pc_err *err);
/* The same change at once, in the caller's thread, with the kernel's answer (the CLI);
 * del_now of an address not in the set: -ENOENT, err PC_ERR_NOTFOUND. */
int nat_uauth_add_now(struct nat *nat, uint32_t addr, uint32_t timeout_s, struct pc_err *err);
int nat_uauth_del_now(struct nat *nat, uint32_t addr, struct pc_err *err);
/* Waits until every queued uauth change is in the kernel (or was refused and logged). */
void nat_uauth_sync(struct nat *nat);
/* After a sync: element changes the writer applied and transactions it sent for them. */
void nat_uauth_stats(struct nat *nat, uint64_t *ops, uint64_t *batches);

/* Asks the kernel (of the current namespace) which conntrack helpers it has, with a throwaway
 * table created and deleted in one batch; nat_apply does this itself, nat_render uses the result
 * when it is there. */
int nat_probe_helpers(struct nat *nat, struct pc_err *err);

/* Writes the ruleset the model in db would produce as `nft -f` text (for `nat show` and the
 * benchmark); notes about unenforced fixups go to notes (may be NULL). */
int nat_render(struct nat *nat, struct db *db, FILE *f, FILE *notes, struct pc_err *err);

#endif
