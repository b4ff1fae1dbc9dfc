/* The part of the configuration model that the data plane needs (interfaces, ACLs, object groups,
 * NAT, statics, routes, fixups, sysopts, pools, aaa rules), loaded from SQLite into plain arrays,
 * and the ruleset plan computed from it: a pure function model -> list of rule descriptions that
 * gateway/nat/nat_nl.c turns into one nftables batch and nat_plan_render() into `nft -f` text. */
#ifndef PORTCULLIS_NAT_MODEL_H
#define PORTCULLIS_NAT_MODEL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "db/model.h"
#include "gateway/core/err.h"

struct db;

/* Caps: a model bigger than this is refused rather than exhausting memory. */
#define NAT_MODEL_MAX_ROWS  200000
#define NAT_PLAN_MAX_RULES  400000
#define NAT_RULE_MAX_MATCH  10
#define NAT_GROUP_MAX_DEPTH 8
/* Longest names the model takes (the API's limits); a longer one in the database fails the load
 * with an error saying so, never cut (two cut names could become one nft set). */
#define NM_NAME_MAX   MODEL_NAME_MAX /* object-group, access-list, ip local pool, hw_name */
#define NM_NAMEIF_MAX MODEL_NAMEIF_MAX
/* nft chain and set names made from those with a prefix ("og_", "untranslated_") */
#define NP_NAME_LEN 72

/* Addresses, masks and ports in the model are host byte order. */

struct nm_interface {
	int64_t id;
	char hw_name[NM_NAME_MAX + 1];
	char linux_name[IFNAMSIZ];      /* explicit, or derived ethernetN -> ethN */
	char nameif[NM_NAMEIF_MAX + 1]; /* "" when not named */
	int security;                   /* -1 when not set */
	bool shutdown;
	bool has_address;
	uint32_t address, netmask;
	int mtu;
};

enum nm_range_kind { NM_GROUP_NETWORK, NM_GROUP_SERVICE, NM_GROUP_PROTOCOL, NM_GROUP_ICMP };

struct nm_range {
	uint32_t lo, hi;
};

/* An object group flattened (nested groups expanded, overlaps merged, sorted). */
struct nm_group {
	int64_t id;
	char name[NM_NAME_MAX + 1];
	enum nm_range_kind kind;
	int service_protocol; /* 6, 17, or 0 for tcp-udp / not a service group */
	struct nm_range *ranges;
	size_t nranges;
};

enum nm_ep_kind { NM_EP_ANY, NM_EP_NET, NM_EP_GROUP };

struct nm_endpoint {
	enum nm_ep_kind kind;
	uint32_t address, netmask;
	int group; /* index into model groups */
};

enum nm_port_op { NM_PORT_NONE, NM_PORT_EQ, NM_PORT_NEQ, NM_PORT_LT, NM_PORT_GT, NM_PORT_RANGE };

struct nm_ports {
	enum nm_port_op op;
	uint16_t lo, hi;
	int group; /* >= 0: service object-group index (op NONE) */
};

struct nm_ace {
	int64_t id;
	int64_t acl_id;
	int position;
	bool permit;
	int protocol;       /* -1: ip (any); else 0-255 */
	int protocol_group; /* -1 or group index */
	struct nm_endpoint src, dst;
	struct nm_ports sport, dport;
	int icmp_type;  /* -1: any */
	int icmp_group; /* -1 or group index */
};

struct nm_acl {
	int64_t id;
	char name[NM_NAME_MAX + 1];
	size_t first, count; /* slice of model aces (remarks and inactive entries left out) */
};

struct nm_access_group {
	int acl;       /* index into acls */
	int interface; /* index into interfaces */
	bool in;
};

enum nm_global_kind { NM_GLOBAL_RANGE, NM_GLOBAL_PAT, NM_GLOBAL_INTERFACE };

struct nm_global {
	int interface;
	int64_t nat_id;
	enum nm_global_kind kind;
	uint32_t start, end;
};

struct nm_nat {
	int interface;
	int64_t nat_id;
	int acl; /* -1 or index into acls (nat 0 access-list) */
	uint32_t address, netmask;
	bool outside;
};

struct nm_static {
	int64_t id;
	int real_if, mapped_if;
	int protocol; /* 0, 6 or 17 */
	bool mapped_interface;
	uint32_t mapped, real, netmask;
	uint16_t mapped_port, real_port;
	int acl; /* policy static: -1 or index (not supported yet: refused) */
};

struct nm_route {
	int interface;
	uint32_t dest, netmask, gateway;
	int metric;
};

struct nm_fixup {
	char protocol[32];
	char qualifier[16];
	int port_lo, port_hi; /* 0 when not given */
	bool enabled;
};

struct nm_pool {
	char name[NM_NAME_MAX + 1];
	uint32_t start, end;
};

struct nm_aaa {
	bool include; /* include or exclude */
	int protocol; /* 6, 17, or 0 any */
	int port;     /* 0: any */
	int interface;
	uint32_t local, local_mask, foreign, foreign_mask;
};

struct nat_model {
	struct nm_interface *ifs;
	size_t nifs;
	struct nm_group *groups;
	size_t ngroups;
	struct nm_ace *aces;
	size_t naces;
	struct nm_acl *acls;
	size_t nacls;
	struct nm_access_group *agroups;
	size_t nagroups;
	struct nm_global *globals;
	size_t nglobals;
	struct nm_nat *nats;
	size_t nnats;
	struct nm_static *statics;
	size_t nstatics;
	struct nm_route *routes;
	size_t nroutes;
	struct nm_fixup *fixups;
	size_t nfixups;
	struct nm_pool *pools;
	size_t npools;
	struct nm_aaa *aaa;
	size_t naaa;
	bool permit_ipsec;
	int uauth_timeout_s;
};

/* Reads the model through db (any connection, in or out of a transaction). */
int nat_model_load(struct db *db, struct nat_model **out, struct pc_err *err);
void nat_model_free(struct nat_model *m);
/* ethernetN -> ethN; anything else is copied. -ENAMETOOLONG (out cut) if it does not fit. */
int nat_model_default_linux_name(const char *hw_name, char *out, size_t outlen);

/* ---- the plan ---- */

enum np_match_kind {
	NP_M_IIF,      /* meta iifname (name ending in '*' is a prefix match) */
	NP_M_OIF,      /* meta oifname */
	NP_M_MARK,     /* meta mark & mask == value */
	NP_M_SADDR,    /* ip saddr (prefix) or @set */
	NP_M_DADDR,    /* ip daddr (prefix) or @set */
	NP_M_L4PROTO,  /* meta l4proto value or @set */
	NP_M_SPORT,    /* th sport op value(s) or @set */
	NP_M_DPORT,    /* th dport */
	NP_M_ICMP,     /* icmp type value or @set */
	NP_M_CTSTATE,  /* ct state & value != 0 */
	NP_M_SECPATH,  /* meta secpath exists */
	NP_M_CTSTATUS, /* ct status & v1 == v1 (neg: == 0) */
};

struct np_match {
	enum np_match_kind kind;
	bool neg;           /* != / not in set */
	enum nm_port_op op; /* ports: EQ NEQ LT GT RANGE */
	uint32_t v1, v2;    /* address+netmask, mark value+mask, port lo+hi, proto, icmp, ct bits */
	char name[NP_NAME_LEN]; /* interface name, or set name when set is true */
	bool set;
};

enum np_action {
	NP_A_NONE, /* no verdict: continue (helper assignment, mark) */
	NP_A_ACCEPT,
	NP_A_DROP,
	NP_A_RETURN,
	NP_A_JUMP,
	NP_A_DNAT, /* to a1[:port] */
	NP_A_SNAT, /* to a1-a2[:port] */
	NP_A_MASQ,
	NP_A_REDIRECT, /* to :port */
	NP_A_HELPER,   /* ct helper set "name" */
	NP_A_MARK,     /* meta mark set mark & ~a2 | a1 */
};

struct np_rule {
	int chain; /* index into plan chains */
	struct np_match m[NAT_RULE_MAX_MATCH];
	int nm;
	bool counter;
	enum np_action action;
	uint32_t a1, a2;
	uint16_t port;
	bool prefix; /* DNAT/SNAT of a whole prefix: a1 = address, a2 = netmask (netmap) */
	char target[NP_NAME_LEN]; /* jump chain or helper name */
	/* ACL entry this rule enforces (0 when none): rule userdata "pc:acl=A:ace=E" */
	int64_t acl_id, ace_id;
	char comment[96];
};

enum np_hook { NP_HOOK_NONE, NP_HOOK_PREROUTING, NP_HOOK_FORWARD, NP_HOOK_POSTROUTING };

struct np_chain {
	char name[NP_NAME_LEN];
	enum np_hook hook;
	bool nat; /* type nat (else filter) */
	int priority;
	bool policy_drop;
};

enum np_set_type { NP_SET_IPV4, NP_SET_SERVICE, NP_SET_PROTO, NP_SET_ICMP };

struct np_set {
	char name[NP_NAME_LEN];
	enum np_set_type type;
	bool interval;
	bool timeout;
	const struct nm_range *ranges; /* borrowed from the model */
	size_t nranges;
};

struct np_helper {
	char name[32]; /* object name */
	char type[16]; /* kernel helper name: ftp, tftp, sip, RAS, Q.931, ... */
	int l4proto;
};

struct nat_plan_config {
	const char *table;        /* "portcullis" */
	const char *tun_ifname;   /* permit-ipsec for the tun backend: "pcx*" or exact; NULL none */
	uint32_t mark_mask;       /* meta mark bits used to remember the ingress interface */
	uint16_t uauth_port;      /* cut-through listener; 0 = no redirect rules */
	bool inject_invalid_rule; /* tests: append a rule the kernel rejects */
	/* true when the kernel lacks conntrack helper type (fixups for it are noted, not enforced);
	 * NULL: assume every helper exists */
	bool (*unavailable_helper)(const char *type, void *arg);
	void *helper_arg;
};

struct nat_plan {
	char table[32];
	struct np_chain *chains;
	size_t nchains, capchains;
	struct np_rule *rules;
	size_t nrules, caprules;
	struct np_set *sets;
	size_t nsets, capsets;
	struct np_helper *helpers;
	size_t nhelpers, caphelpers;
	/* what the model asked for that has no kernel equivalent (fixups without a helper) */
	char notes[1024];
};

int nat_plan_build(const struct nat_model *m, const struct nat_plan_config *cfg,
                   struct nat_plan **out, struct pc_err *err);
void nat_plan_free(struct nat_plan *p);
/* `nft -f` text for the plan (table add + delete + full table), for `nat show` and the benchmark. */
int nat_plan_render(const struct nat_plan *p, FILE *f);
/* One rule as nft text (no trailing newline) into buf. */
int nat_plan_render_rule(const struct nat_plan *p, const struct np_rule *r, char *buf, size_t len);
/* Index of the chain called name, or -1. */
int nat_plan_chain_index(const struct nat_plan *p, const char *name);

#endif
