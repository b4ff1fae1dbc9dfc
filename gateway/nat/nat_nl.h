/* nftables over netlink (libnftnl + libmnl): the batch that replaces the table, dumps. Internal to
 * gateway/nat/. */
#ifndef PORTCULLIS_NAT_NL_H
#define PORTCULLIS_NAT_NL_H

#include "gateway/nat/nat.h"
#include "gateway/nat/nat_model.h"

struct nat_nl;

int nat_nl_open(struct nat_nl **out, struct pc_err *err);
void nat_nl_close(struct nat_nl *nl);

/* One batch: add table (no-op if it exists) + delete table + add the plan's table with
 * the uauth elements keep[0..nkeep) re-added; every ACK is read. */
int nat_nl_replace(struct nat_nl *nl, const struct nat_plan *p, const struct nat_uauth_elem *keep,
                   size_t nkeep, struct pc_err *err);
int nat_nl_delete_table(struct nat_nl *nl, const char *table, struct pc_err *err);
/* 1: the kernel knows conntrack helper type/l4proto, 0: not, <0: error. */
int nat_nl_probe_helper(struct nat_nl *nl, const char *type, int l4proto, struct pc_err *err);
int nat_nl_counters(struct nat_nl *nl, const char *table, struct nat_acl_counter **out, size_t *n,
                    struct pc_err *err);
/* One element operation on the uauth set: add (timeout_ms 0: no expiry) or delete. */
struct nat_uauth_op {
	uint32_t addr; /* host byte order */
	uint64_t timeout_ms;
	bool add;
};

/* ops[0..n) in one transaction: all applied or none (err names the refused one). */
int nat_nl_uauth_batch(struct nat_nl *nl, const char *table, const struct nat_uauth_op *ops,
                       size_t n, struct pc_err *err);
int nat_nl_uauth(struct nat_nl *nl, const char *table, bool add, uint32_t addr, uint64_t timeout_ms,
                 struct pc_err *err);
/* -ENOENT when the table or set does not exist. */
int nat_nl_uauth_list(struct nat_nl *nl, const char *table, struct nat_uauth_elem **out, size_t *n,
                      struct pc_err *err);

#endif
