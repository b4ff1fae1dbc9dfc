/* The ruleset plan: a pure function from the model to chains, sets, helpers and rules, and its
 * rendering as `nft -f` text. No kernel access here (unit-tested without one).
 *
 * Layout of `table ip portcullis`:
 *   mark_in        filter prerouting -150: iifname X -> meta mark bits (mark_mask) = interface
 *                  number, so postrouting NAT knows where a packet entered
 *   nat_pre        nat prerouting -100: [ip saddr != @uauth jump uauth_redirect] then statics
 *                  (iifname MAPPED ip daddr MAPPED [l4 dport] dnat to REAL[:port])
 *   uauth_redirect aaa authentication include http|ftp|telnet -> redirect to :uauth_port
 *   forward        filter forward 0, policy drop: established,related accept; invalid drop;
 *                  ct helper set for fixups; permit-ipsec (meta secpath exists, iifname TUN);
 *                  iifname X jump in_NAMEIF
 *   in_NAMEIF      [oifname HIGHER, not DNATed -> jump untranslated_HIGHER] then the
 *                  access-group ACL (one counted rule per entry, userdata pc:acl=A:ace=E) and
 *                  its implicit deny, or security levels (higher -> lower accept) and drop
 *   untranslated_H nat 0 access-list exemptions (reversed) return, else drop
 *   nat_post       nat postrouting 100: mark == X -> jump nat_NAMEIF
 *   nat_NAMEIF     jump nat0_NAMEIF (exemption ACL: permit accept, deny return), statics
 *                  (snat to MAPPED), nat 0 ADDR (identity accept), nat N + global N (snat to
 *                  range, or masquerade for global interface)
 *   set uauth      ipv4_addr, flags timeout; sets og_NAME for object groups (interval) */
#include "gateway/nat/nat_model.h"

#include "gateway/core/sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CT_EST   0x02
#define CT_REL   0x04
#define CT_NEW   0x08
#define CT_INV   0x01
#define IPS_DNAT 0x20

struct builder {
	const struct nat_model *m;
	const struct nat_plan_config *cfg;
	struct nat_plan *p;
	struct pc_err *err;
	int mark_shift;
};

static int
vec_push(void **arr, size_t *n, size_t *cap, size_t elem, size_t max, struct pc_err *err,
         const char *what)
{
	if (*n >= max) {
		pc_err_set(err, PC_ERR_INVALID, "", "ruleset: more than %zu %s", max, what);
		return -E2BIG;
	}
	if (*n == *cap) {
		size_t ncap = *cap == 0 ? 16 : *cap * 2;
		void *q = realloc(*arr, ncap * elem);

		if (q == NULL) {
			pc_err_set(err, PC_ERR_INTERNAL, "", "ruleset: out of memory (%s)", what);
			return -ENOMEM;
		}
		*arr = q;
		*cap = ncap;
	}
	memset((char *)*arr + *n * elem, 0, elem);
	(*n)++;
	return 0;
}

static int
add_chain(struct builder *B, const char *name, enum np_hook hook, bool nat, int prio, bool drop)
{
	struct np_chain *c;
	int rc = vec_push((void **)&B->p->chains, &B->p->nchains, &B->p->capchains, sizeof(*c),
	                  4096, B->err, "chains");

	if (rc < 0)
		return rc;
	c = &B->p->chains[B->p->nchains - 1];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->hook = hook;
	c->nat = nat;
	c->priority = prio;
	c->policy_drop = drop;
	return (int)B->p->nchains - 1;
}

int
nat_plan_chain_index(const struct nat_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nchains; i++)
		if (strcmp(p->chains[i].name, name) == 0)
			return (int)i;
	return -1;
}

static struct np_rule *
add_rule(struct builder *B, int chain, int *rc)
{
	*rc = vec_push((void **)&B->p->rules, &B->p->nrules, &B->p->caprules,
	               sizeof(struct np_rule), NAT_PLAN_MAX_RULES, B->err, "rules");
	if (*rc < 0)
		return NULL;
	B->p->rules[B->p->nrules - 1].chain = chain;
	return &B->p->rules[B->p->nrules - 1];
}

static struct np_match *
add_match(struct np_rule *r, enum np_match_kind kind)
{
	struct np_match *mt;

	if (r->nm >= NAT_RULE_MAX_MATCH)
		return NULL; /* callers never put more than NAT_RULE_MAX_MATCH matches in a rule */
	mt = &r->m[r->nm++];
	mt->kind = kind;
	return mt;
}

static void
match_ifname(struct np_rule *r, enum np_match_kind kind, const char *name)
{
	struct np_match *mt = add_match(r, kind);

	snprintf(mt->name, sizeof(mt->name), "%s", name);
}

static void
match_addr(struct np_rule *r, enum np_match_kind kind, uint32_t addr, uint32_t mask)
{
	struct np_match *mt;

	if (mask == 0)
		return; /* any */
	mt = add_match(r, kind);
	mt->v1 = addr & mask;
	mt->v2 = mask;
}

static void
match_set(struct np_rule *r, enum np_match_kind kind, const char *set, bool neg)
{
	struct np_match *mt = add_match(r, kind);

	mt->set = true;
	mt->neg = neg;
	snprintf(mt->name, sizeof(mt->name), "%s", set);
}

static void
match_val(struct np_rule *r, enum np_match_kind kind, uint32_t v)
{
	add_match(r, kind)->v1 = v;
}

static void
match_ports(struct np_rule *r, enum np_match_kind kind, enum nm_port_op op, uint16_t lo,
            uint16_t hi)
{
	struct np_match *mt = add_match(r, kind);

	mt->op = op;
	mt->v1 = lo;
	mt->v2 = hi;
}

static uint32_t
if_mark(const struct builder *B, int ifidx)
{
	return ((uint32_t)ifidx + 1) << B->mark_shift;
}

static const char *
set_name_for_group(struct builder *B, int g, char *buf, size_t len)
{
	snprintf(buf, len, "og_%s", B->m->groups[g].name);
	return buf;
}

static int
add_group_set(struct builder *B, int g)
{
	const struct nm_group *grp = &B->m->groups[g];
	char name[NP_NAME_LEN];
	struct np_set *s;
	int rc;

	set_name_for_group(B, g, name, sizeof(name));
	for (size_t i = 0; i < B->p->nsets; i++)
		if (strcmp(B->p->sets[i].name, name) == 0)
			return 0;
	if (grp->nranges == 0)
		return pc_err_set(B->err, PC_ERR_INVALID, "", "object-group %s is empty",
		                  grp->name);
	rc = vec_push((void **)&B->p->sets, &B->p->nsets, &B->p->capsets, sizeof(*s), 4096, B->err,
	              "sets");
	if (rc < 0)
		return rc;
	s = &B->p->sets[B->p->nsets - 1];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->type = grp->kind == NM_GROUP_NETWORK    ? NP_SET_IPV4
	          : grp->kind == NM_GROUP_SERVICE  ? NP_SET_SERVICE
	          : grp->kind == NM_GROUP_PROTOCOL ? NP_SET_PROTO
	                                           : NP_SET_ICMP;
	s->interval = true;
	s->ranges = grp->ranges;
	s->nranges = grp->nranges;
	return 0;
}

static int
ep_match(struct builder *B, struct np_rule *r, enum np_match_kind kind,
         const struct nm_endpoint *ep)
{
	char name[NP_NAME_LEN];
	int rc;

	switch (ep->kind) {
	case NM_EP_ANY:
		return 0;
	case NM_EP_NET:
		match_addr(r, kind, ep->address, ep->netmask);
		return 0;
	case NM_EP_GROUP:
		rc = add_group_set(B, ep->group);
		if (rc < 0)
			return rc;
		match_set(r, kind, set_name_for_group(B, ep->group, name, sizeof(name)), false);
		return 0;
	}
	return 0;
}

static int
port_match(struct builder *B, struct np_rule *r, enum np_match_kind kind, const struct nm_ports *pt)
{
	char name[NP_NAME_LEN];
	int rc;

	if (pt->group >= 0) {
		rc = add_group_set(B, pt->group);
		if (rc < 0)
			return rc;
		match_set(r, kind, set_name_for_group(B, pt->group, name, sizeof(name)), false);
		return 0;
	}
	if (pt->op != NM_PORT_NONE)
		match_ports(r, kind, pt->op, pt->lo, pt->hi);
	return 0;
}

/* One ACL entry as one rule: object groups become set lookups, so the rule count equals the
 * entry count and each rule's counter is the entry's hit count. */
static int
ace_rule(struct builder *B, int chain, const struct nm_acl *acl, const struct nm_ace *e,
         const char *pre_oif, enum np_action permit_action, enum np_action deny_action, bool swap)
{
	struct np_rule *r;
	char name[NP_NAME_LEN];
	int rc;
	bool has_ports = e->sport.op != NM_PORT_NONE || e->sport.group >= 0 ||
	                 e->dport.op != NM_PORT_NONE || e->dport.group >= 0;

	r = add_rule(B, chain, &rc);
	if (r == NULL)
		return rc;
	if (pre_oif != NULL)
		match_ifname(r, NP_M_OIF, pre_oif);
	if (e->protocol_group >= 0) {
		rc = add_group_set(B, e->protocol_group);
		if (rc < 0)
			return rc;
		match_set(r, NP_M_L4PROTO,
		          set_name_for_group(B, e->protocol_group, name, sizeof(name)), false);
	} else if (e->protocol >= 0) {
		match_val(r, NP_M_L4PROTO, (uint32_t)e->protocol);
	} else if (has_ports) {
		return pc_err_set(B->err, PC_ERR_INVALID, "",
		                  "access-list %s entry %lld: ports need tcp or udp", acl->name,
		                  (long long)e->id);
	}
	rc = ep_match(B, r, swap ? NP_M_DADDR : NP_M_SADDR, &e->src);
	if (rc == 0)
		rc = ep_match(B, r, swap ? NP_M_SADDR : NP_M_DADDR, &e->dst);
	if (rc == 0)
		rc = port_match(B, r, swap ? NP_M_DPORT : NP_M_SPORT, &e->sport);
	if (rc == 0)
		rc = port_match(B, r, swap ? NP_M_SPORT : NP_M_DPORT, &e->dport);
	if (rc < 0)
		return rc;
	if (e->protocol == 1 && e->icmp_type >= 0)
		match_val(r, NP_M_ICMP, (uint32_t)e->icmp_type);
	if (e->protocol == 1 && e->icmp_group >= 0) {
		rc = add_group_set(B, e->icmp_group);
		if (rc < 0)
			return rc;
		match_set(r, NP_M_ICMP, set_name_for_group(B, e->icmp_group, name, sizeof(name)),
		          false);
	}
	r->counter = true;
	r->action = e->permit ? permit_action : deny_action;
	r->acl_id = e->acl_id;
	r->ace_id = e->id;
	snprintf(r->comment, sizeof(r->comment), "pc:acl=%lld:ace=%lld", (long long)e->acl_id,
	         (long long)e->id);
	return 0;
}

static const struct nm_interface *
ifp(const struct builder *B, int i)
{
	return i >= 0 && (size_t)i < B->m->nifs ? &B->m->ifs[i] : NULL;
}

static int
build_mark_chain(struct builder *B)
{
	int ch = add_chain(B, "mark_in", NP_HOOK_PREROUTING, false, -150, false), rc;

	if (ch < 0)
		return ch;
	for (size_t i = 0; i < B->m->nifs; i++) {
		const struct nm_interface *it = &B->m->ifs[i];
		struct np_rule *r;

		if (it->nameif[0] == '\0')
			continue;
		if ((if_mark(B, (int)i) & ~B->cfg->mark_mask) != 0)
			return pc_err_set(B->err, PC_ERR_INVALID, "",
			                  "too many interfaces for mark mask 0x%08x",
			                  B->cfg->mark_mask);
		r = add_rule(B, ch, &rc);
		if (r == NULL)
			return rc;
		match_ifname(r, NP_M_IIF, it->linux_name);
		r->action = NP_A_MARK;
		r->a1 = if_mark(B, (int)i);
		r->a2 = B->cfg->mark_mask;
	}
	return 0;
}

static int
build_dnat(struct builder *B)
{
	int ch = add_chain(B, "nat_pre", NP_HOOK_PREROUTING, true, -100, false), rc, uch = -1;
	struct np_rule *r;

	if (ch < 0)
		return ch;
	/* cut-through proxy: new HTTP/FTP/Telnet connections matching `aaa authentication include`
	 * from a source not in @uauth go to the local listener */
	if (B->cfg->uauth_port != 0 && B->m->naaa > 0) {
		uch = add_chain(B, "uauth_redirect", NP_HOOK_NONE, true, 0, false);
		if (uch < 0)
			return uch;
		r = add_rule(B, ch, &rc);
		if (r == NULL)
			return rc;
		match_set(r, NP_M_SADDR, "uauth", true);
		r->action = NP_A_JUMP;
		snprintf(r->target, sizeof(r->target), "uauth_redirect");
		for (size_t i = 0; i < B->m->naaa; i++) {
			const struct nm_aaa *a = &B->m->aaa[i];
			const struct nm_interface *it = ifp(B, a->interface);

			if (it == NULL)
				continue;
			/* the local address is the real one; before DNAT the packet carries the
			 * mapped address of a static that covers it, or the real one (nat 0) */
			for (size_t s = 0; s <= B->m->nstatics; s++) {
				uint32_t daddr = a->local, dmask = a->local_mask;

				if (s < B->m->nstatics) {
					const struct nm_static *st = &B->m->statics[s];

					if (st->mapped_if != a->interface ||
					    (st->real & a->local_mask) != a->local ||
					    st->protocol != 0)
						continue;
					daddr = st->mapped;
					dmask = st->netmask;
				}
				r = add_rule(B, uch, &rc);
				if (r == NULL)
					return rc;
				match_ifname(r, NP_M_IIF, it->linux_name);
				match_addr(r, NP_M_SADDR, a->foreign, a->foreign_mask);
				match_addr(r, NP_M_DADDR, daddr, dmask);
				match_val(r, NP_M_L4PROTO, 6);
				match_ports(r, NP_M_DPORT, NM_PORT_EQ, (uint16_t)a->port,
				            (uint16_t)a->port);
				r->action = a->include ? NP_A_REDIRECT : NP_A_RETURN;
				r->port = B->cfg->uauth_port;
				r->counter = true;
			}
		}
	}
	for (size_t i = 0; i < B->m->nstatics; i++) {
		const struct nm_static *s = &B->m->statics[i];
		const struct nm_interface *mi = ifp(B, s->mapped_if), *ri = ifp(B, s->real_if);

		if (mi == NULL || ri == NULL)
			return pc_err_set(B->err, PC_ERR_INVALID, "",
			                  "static %lld: unknown interface", (long long)s->id);
		if (s->acl >= 0)
			return pc_err_set(B->err, PC_ERR_INVALID, "",
			                  "static %lld: policy static (access-list) not supported",
			                  (long long)s->id);
		r = add_rule(B, ch, &rc);
		if (r == NULL)
			return rc;
		match_ifname(r, NP_M_IIF, mi->linux_name);
		match_addr(r, NP_M_DADDR, s->mapped, s->netmask == 0 ? UINT32_MAX : s->netmask);
		if (s->protocol != 0) {
			match_val(r, NP_M_L4PROTO, (uint32_t)s->protocol);
			match_ports(r, NP_M_DPORT, NM_PORT_EQ, s->mapped_port, s->mapped_port);
			r->port = s->real_port;
		}
		r->action = NP_A_DNAT;
		r->a1 = s->real & s->netmask;
		r->a2 = r->a1;
		if (s->netmask != UINT32_MAX) {
			r->prefix = true;
			r->a2 = s->netmask;
		}
		snprintf(r->comment, sizeof(r->comment), "pc:static=%lld", (long long)s->id);
	}
	return 0;
}

static bool
nat_interfaces_ok(const struct builder *B, int a, int b)
{
	return ifp(B, a) != NULL && ifp(B, b) != NULL;
}

static int
build_snat(struct builder *B)
{
	int ch = add_chain(B, "nat_post", NP_HOOK_POSTROUTING, true, 100, false), rc;
	struct np_rule *r;

	if (ch < 0)
		return ch;
	for (size_t i = 0; i < B->m->nifs; i++) {
		const struct nm_interface *it = &B->m->ifs[i];
		char cname[NP_NAME_LEN], n0name[NP_NAME_LEN];
		int ich = -1, n0 = -1;

		if (it->nameif[0] == '\0')
			continue;
		snprintf(cname, sizeof(cname), "nat_%s", it->nameif);
		snprintf(n0name, sizeof(n0name), "nat0_%s", it->nameif);
		/* 1: nat 0 access-list (exemption) */
		for (size_t n = 0; n < B->m->nnats; n++) {
			const struct nm_nat *nt = &B->m->nats[n];
			const struct nm_acl *acl;

			if (nt->interface != (int)i || nt->nat_id != 0 || nt->acl < 0)
				continue;
			if (n0 < 0) {
				n0 = add_chain(B, n0name, NP_HOOK_NONE, true, 0, false);
				if (n0 < 0)
					return n0;
			}
			acl = &B->m->acls[nt->acl];
			for (size_t e = 0; e < acl->count; e++) {
				rc = ace_rule(B, n0, acl, &B->m->aces[acl->first + e], NULL,
				              NP_A_ACCEPT, NP_A_RETURN, false);
				if (rc < 0)
					return rc;
			}
		}
		if (ich < 0) {
			ich = add_chain(B, cname, NP_HOOK_NONE, true, 0, false);
			if (ich < 0)
				return ich;
		}
		if (n0 >= 0) {
			r = add_rule(B, ich, &rc);
			if (r == NULL)
				return rc;
			r->action = NP_A_JUMP;
			snprintf(r->target, sizeof(r->target), "%s", n0name);
		}
		/* 2: statics from this (real) interface */
		for (size_t s = 0; s < B->m->nstatics; s++) {
			const struct nm_static *st = &B->m->statics[s];

			if (st->real_if != (int)i ||
			    !nat_interfaces_ok(B, st->real_if, st->mapped_if))
				continue;
			r = add_rule(B, ich, &rc);
			if (r == NULL)
				return rc;
			match_ifname(r, NP_M_OIF, B->m->ifs[st->mapped_if].linux_name);
			match_addr(r, NP_M_SADDR, st->real,
			           st->netmask == 0 ? UINT32_MAX : st->netmask);
			if (st->protocol != 0) {
				match_val(r, NP_M_L4PROTO, (uint32_t)st->protocol);
				match_ports(r, NP_M_SPORT, NM_PORT_EQ, st->real_port,
				            st->real_port);
				r->port = st->mapped_port;
			}
			r->action = NP_A_SNAT;
			r->a1 = st->mapped & st->netmask;
			r->a2 = r->a1;
			if (st->netmask != UINT32_MAX) {
				r->prefix = true;
				r->a2 = st->netmask;
			}
			snprintf(r->comment, sizeof(r->comment), "pc:static=%lld",
			         (long long)st->id);
		}
		/* 3: nat 0 ADDR MASK (identity), then nat N + global (IF) N */
		for (size_t n = 0; n < B->m->nnats; n++) {
			const struct nm_nat *nt = &B->m->nats[n];

			if (nt->interface != (int)i || nt->acl >= 0)
				continue;
			if (nt->nat_id == 0) {
				r = add_rule(B, ich, &rc);
				if (r == NULL)
					return rc;
				match_addr(r, NP_M_SADDR, nt->address, nt->netmask);
				r->action = NP_A_ACCEPT;
				continue;
			}
			for (size_t g = 0; g < B->m->nglobals; g++) {
				const struct nm_global *gl = &B->m->globals[g];
				const struct nm_interface *gi = ifp(B, gl->interface);

				if (gl->nat_id != nt->nat_id || gi == NULL ||
				    gl->interface == (int)i)
					continue;
				r = add_rule(B, ich, &rc);
				if (r == NULL)
					return rc;
				match_ifname(r, NP_M_OIF, gi->linux_name);
				match_addr(r, NP_M_SADDR, nt->address, nt->netmask);
				if (gl->kind == NM_GLOBAL_INTERFACE) {
					r->action = NP_A_MASQ;
				} else {
					r->action = NP_A_SNAT;
					r->a1 = gl->start;
					r->a2 = gl->kind == NM_GLOBAL_RANGE ? gl->end : gl->start;
				}
				snprintf(r->comment, sizeof(r->comment), "pc:nat=%lld:global=%s",
				         (long long)nt->nat_id, gi->nameif);
			}
		}
		r = add_rule(B, ch, &rc);
		if (r == NULL)
			return rc;
		match_val(r, NP_M_MARK, if_mark(B, (int)i));
		r->m[r->nm - 1].v2 = B->cfg->mark_mask;
		r->action = NP_A_JUMP;
		snprintf(r->target, sizeof(r->target), "%s", cname);
	}
	return 0;
}

struct helper_map {
	const char *fixup, *qualifier; /* qualifier NULL: any */
	const char *name, *type;
	int l4proto, lo, hi;
};

static const struct helper_map helpers[] = {
        {"ftp", NULL, "ftp", "ftp", 6, 21, 21},
        {"tftp", NULL, "tftp", "tftp", 17, 69, 69},
        {"sip", "udp", "sip-udp", "sip", 17, 5060, 5060},
        {"sip", NULL, "sip-tcp", "sip", 6, 5060, 5060},
        {"h323", "ras", "h323-ras", "RAS", 17, 1718, 1719},
        {"h323", NULL, "h323-q931", "Q.931", 6, 1720, 1720},
        {"rtsp", NULL, "rtsp", "rtsp", 6, 554, 554},
        {"pptp", NULL, "pptp", "pptp", 6, 1723, 1723},
        {"irc", NULL, "irc", "irc", 6, 6667, 6667},
        {"snmp", NULL, "snmp", "snmp", 17, 161, 161},
};

static void note(struct nat_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct nat_plan *p, const char *fmt, ...)
{
	size_t len = strlen(p->notes);
	va_list ap;

	if (len + 2 >= sizeof(p->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(p->notes + len, sizeof(p->notes) - len, fmt, ap);
	va_end(ap);
	len = strlen(p->notes);
	if (len + 1 < sizeof(p->notes)) {
		p->notes[len] = '\n';
		p->notes[len + 1] = '\0';
	}
}

static int
build_helpers(struct builder *B, int fwd)
{
	for (size_t i = 0; i < B->m->nfixups; i++) {
		const struct nm_fixup *f = &B->m->fixups[i];
		const struct helper_map *h = NULL;
		struct np_rule *r;
		bool have = false;
		int rc;

		if (!f->enabled)
			continue;
		for (size_t k = 0; k < sizeof(helpers) / sizeof(helpers[0]); k++) {
			if (strcmp(helpers[k].fixup, f->protocol) != 0)
				continue;
			if (helpers[k].qualifier != NULL &&
			    strcmp(helpers[k].qualifier, f->qualifier) != 0)
				continue;
			h = &helpers[k];
			break;
		}
		if (h == NULL) {
			note(B->p, "fixup protocol %s%s%s: no Linux conntrack helper, not enforced",
			     f->protocol, f->qualifier[0] ? " " : "", f->qualifier);
			continue;
		}
		if (B->cfg->unavailable_helper != NULL &&
		    B->cfg->unavailable_helper(h->type, B->cfg->helper_arg)) {
			note(B->p,
			     "fixup protocol %s: the kernel has no \"%s\" conntrack helper, not "
			     "enforced",
			     f->protocol, h->type);
			continue;
		}
		for (size_t k = 0; k < B->p->nhelpers; k++)
			if (strcmp(B->p->helpers[k].name, h->name) == 0)
				have = true;
		if (!have) {
			struct np_helper *hp;

			rc = vec_push((void **)&B->p->helpers, &B->p->nhelpers, &B->p->caphelpers,
			              sizeof(*hp), 64, B->err, "helpers");
			if (rc < 0)
				return rc;
			hp = &B->p->helpers[B->p->nhelpers - 1];
			snprintf(hp->name, sizeof(hp->name), "%s", h->name);
			snprintf(hp->type, sizeof(hp->type), "%s", h->type);
			hp->l4proto = h->l4proto;
		}
		r = add_rule(B, fwd, &rc);
		if (r == NULL)
			return rc;
		match_val(r, NP_M_CTSTATE, CT_NEW);
		match_val(r, NP_M_L4PROTO, (uint32_t)h->l4proto);
		if (f->port_lo > 0 && f->port_hi > f->port_lo)
			match_ports(r, NP_M_DPORT, NM_PORT_RANGE, (uint16_t)f->port_lo,
			            (uint16_t)f->port_hi);
		else if (f->port_lo > 0)
			match_ports(r, NP_M_DPORT, NM_PORT_EQ, (uint16_t)f->port_lo,
			            (uint16_t)f->port_lo);
		else if (h->hi > h->lo)
			match_ports(r, NP_M_DPORT, NM_PORT_RANGE, (uint16_t)h->lo, (uint16_t)h->hi);
		else
			match_ports(r, NP_M_DPORT, NM_PORT_EQ, (uint16_t)h->lo, (uint16_t)h->lo);
		r->action = NP_A_HELPER;
		snprintf(r->target, sizeof(r->target), "%s", h->name);
	}
	return 0;
}

/* PIX 6.3 inbound ACLs name the mapped (global) address of a static; the forward hook sees the
 * packet after DNAT, so such a destination is matched as the real address. ACLs naming the real
 * address (as the seed does) are used as they are. */
static void
ace_to_real(const struct builder *B, int ifidx, struct nm_ace *e)
{
	if (e->dst.kind != NM_EP_NET)
		return;
	for (size_t s = 0; s < B->m->nstatics; s++) {
		const struct nm_static *st = &B->m->statics[s];

		if (st->mapped_if != ifidx || st->protocol != 0 || st->acl >= 0 ||
		    e->dst.netmask != st->netmask || e->dst.address != (st->mapped & st->netmask))
			continue;
		e->dst.address = st->real & st->netmask;
		return;
	}
}

/* untranslated_<IF>: traffic towards the higher-security interface IF that no static
 * translated: allowed back to the ACL only when a nat 0 access-list on IF exempts the pair
 * (entries reversed: the ACL names IF's side as source), else dropped. */
static int
untranslated_chain(struct builder *B, int h)
{
	const struct nm_interface *hi = &B->m->ifs[h];
	char name[NP_NAME_LEN];
	struct np_rule *r;
	int ch, rc;

	snprintf(name, sizeof(name), "untranslated_%s", hi->nameif);
	if (nat_plan_chain_index(B->p, name) >= 0)
		return 0;
	ch = add_chain(B, name, NP_HOOK_NONE, false, 0, false);
	if (ch < 0)
		return ch;
	for (size_t n = 0; n < B->m->nnats; n++) {
		const struct nm_nat *nt = &B->m->nats[n];
		const struct nm_acl *acl;

		if (nt->interface != h || nt->nat_id != 0 || nt->acl < 0)
			continue;
		acl = &B->m->acls[nt->acl];
		for (size_t e = 0; e < acl->count; e++) {
			rc = ace_rule(B, ch, acl, &B->m->aces[acl->first + e], NULL, NP_A_RETURN,
			              NP_A_DROP, true);
			if (rc < 0)
				return rc;
		}
	}
	r = add_rule(B, ch, &rc);
	if (r == NULL)
		return rc;
	r->counter = true;
	r->action = NP_A_DROP;
	snprintf(r->comment, sizeof(r->comment), "pc:no-translation:%s", hi->nameif);
	return 0;
}

static int
build_forward(struct builder *B)
{
	int fwd = add_chain(B, "forward", NP_HOOK_FORWARD, false, 0, true), rc;
	struct np_rule *r;

	if (fwd < 0)
		return fwd;
	r = add_rule(B, fwd, &rc);
	if (r == NULL)
		return rc;
	match_val(r, NP_M_CTSTATE, CT_EST | CT_REL);
	r->action = NP_A_ACCEPT;
	r = add_rule(B, fwd, &rc);
	if (r == NULL)
		return rc;
	match_val(r, NP_M_CTSTATE, CT_INV);
	r->action = NP_A_DROP;
	rc = build_helpers(B, fwd);
	if (rc < 0)
		return rc;
	if (B->m->permit_ipsec) {
		/* sysopt connection permit-ipsec: decrypted tunnel traffic bypasses the ACLs */
		r = add_rule(B, fwd, &rc);
		if (r == NULL)
			return rc;
		add_match(r, NP_M_SECPATH);
		r->counter = true;
		r->action = NP_A_ACCEPT;
		snprintf(r->comment, sizeof(r->comment), "pc:permit-ipsec:xfrm");
		if (B->cfg->tun_ifname != NULL && B->cfg->tun_ifname[0] != '\0') {
			r = add_rule(B, fwd, &rc);
			if (r == NULL)
				return rc;
			match_ifname(r, NP_M_IIF, B->cfg->tun_ifname);
			r->counter = true;
			r->action = NP_A_ACCEPT;
			snprintf(r->comment, sizeof(r->comment), "pc:permit-ipsec:tun");
		}
	}
	for (size_t i = 0; i < B->m->nifs; i++) {
		const struct nm_interface *it = &B->m->ifs[i];
		const struct nm_access_group *ag = NULL;
		char cname[NP_NAME_LEN];
		int ich;

		if (it->nameif[0] == '\0')
			continue;
		snprintf(cname, sizeof(cname), "in_%s", it->nameif);
		ich = add_chain(B, cname, NP_HOOK_NONE, false, 0, false);
		if (ich < 0)
			return ich;
		r = add_rule(B, fwd, &rc);
		if (r == NULL)
			return rc;
		match_ifname(r, NP_M_IIF, it->linux_name);
		r->action = NP_A_JUMP;
		snprintf(r->target, sizeof(r->target), "%s", cname);

		/* lower to higher security needs a translation (static) or a nat 0 access-list
		 * exemption covering the pair, as on the PIX */
		for (size_t h = 0; h < B->m->nifs; h++) {
			const struct nm_interface *hi = &B->m->ifs[h];
			struct np_match *mt;

			if (hi->nameif[0] == '\0' || h == i || hi->security <= it->security)
				continue;
			rc = untranslated_chain(B, (int)h);
			if (rc < 0)
				return rc;
			r = add_rule(B, ich, &rc);
			if (r == NULL)
				return rc;
			match_ifname(r, NP_M_OIF, hi->linux_name);
			mt = add_match(r, NP_M_CTSTATUS);
			mt->v1 = IPS_DNAT;
			mt->neg = true;
			r->action = NP_A_JUMP;
			snprintf(r->target, sizeof(r->target), "untranslated_%s", hi->nameif);
		}
		for (size_t g = 0; g < B->m->nagroups; g++) {
			if (B->m->agroups[g].interface != (int)i || B->m->agroups[g].acl < 0)
				continue;
			if (B->m->agroups[g].in)
				ag = &B->m->agroups[g];
			else
				note(B->p,
				     "access-group %s out interface %s: outbound ACLs are not "
				     "enforced (PIX 6.3 applies ACLs inbound)",
				     B->m->acls[B->m->agroups[g].acl].name, it->nameif);
		}
		if (ag != NULL) {
			const struct nm_acl *acl = &B->m->acls[ag->acl];

			for (size_t e = 0; e < acl->count; e++) {
				struct nm_ace ace = B->m->aces[acl->first + e];

				ace_to_real(B, (int)i, &ace);
				rc = ace_rule(B, ich, acl, &ace, NULL, NP_A_ACCEPT, NP_A_DROP,
				              false);
				if (rc < 0)
					return rc;
			}
			r = add_rule(B, ich, &rc);
			if (r == NULL)
				return rc;
			r->counter = true;
			r->action = NP_A_DROP;
			r->acl_id = acl->id;
			snprintf(r->comment, sizeof(r->comment), "pc:acl=%lld:implicit-deny",
			         (long long)acl->id);
			continue;
		}
		/* no access-group: higher to lower security is allowed */
		for (size_t o = 0; o < B->m->nifs; o++) {
			const struct nm_interface *lo = &B->m->ifs[o];

			if (lo->nameif[0] == '\0' || o == i || lo->security >= it->security)
				continue;
			r = add_rule(B, ich, &rc);
			if (r == NULL)
				return rc;
			match_ifname(r, NP_M_OIF, lo->linux_name);
			r->action = NP_A_ACCEPT;
		}
		/* VPN clients behind the tun device count as security 0 */
		if (B->cfg->tun_ifname != NULL && B->cfg->tun_ifname[0] != '\0' &&
		    it->security > 0) {
			r = add_rule(B, ich, &rc);
			if (r == NULL)
				return rc;
			match_ifname(r, NP_M_OIF, B->cfg->tun_ifname);
			r->action = NP_A_ACCEPT;
		}
		r = add_rule(B, ich, &rc);
		if (r == NULL)
			return rc;
		r->counter = true;
		r->action = NP_A_DROP;
		snprintf(r->comment, sizeof(r->comment), "pc:security-level:%s", it->nameif);
	}
	return 0;
}

int
nat_plan_build(const struct nat_model *m, const struct nat_plan_config *cfg, struct nat_plan **out,
               struct pc_err *err)
{
	struct builder B = {.m = m, .cfg = cfg, .err = err};
	int rc;

	*out = NULL;
	if (cfg->mark_mask == 0)
		return pc_err_set(err, PC_ERR_INVALID, "mark_mask", "mark mask must not be 0");
	B.mark_shift = __builtin_ctz(cfg->mark_mask);
	B.p = calloc(1, sizeof(*B.p));
	if (B.p == NULL)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "ruleset: out of memory");
	snprintf(B.p->table, sizeof(B.p->table), "%s", cfg->table ? cfg->table : "portcullis");
	/* the cut-through proxy's set of authenticated sources lives in the table */
	rc = vec_push((void **)&B.p->sets, &B.p->nsets, &B.p->capsets, sizeof(struct np_set), 4096,
	              err, "sets");
	if (rc == 0) {
		snprintf(B.p->sets[0].name, sizeof(B.p->sets[0].name), "uauth");
		B.p->sets[0].type = NP_SET_IPV4;
		B.p->sets[0].timeout = true;
		rc = build_mark_chain(&B);
	}
	if (rc == 0)
		rc = build_dnat(&B);
	if (rc == 0)
		rc = build_forward(&B);
	if (rc == 0)
		rc = build_snat(&B);
	if (rc == 0 && cfg->inject_invalid_rule) {
		struct np_rule *r = add_rule(&B, nat_plan_chain_index(B.p, "forward"), &rc);

		if (r != NULL) {
			r->action = NP_A_JUMP;
			snprintf(r->target, sizeof(r->target), "pc_no_such_chain");
			snprintf(r->comment, sizeof(r->comment), "pc:injected-failure");
		}
	}
	if (rc < 0) {
		nat_plan_free(B.p);
		return rc;
	}
	*out = B.p;
	return 0;
}

void
nat_plan_free(struct nat_plan *p)
{
	if (p == NULL)
		return;
	free(p->chains);
	free(p->rules);
	free(p->sets);
	free(p->helpers);
	free(p);
}

/* ---- rendering as nft text ---- */

static void
sb_ip(struct sbuf *s, uint32_t a)
{
	sbuf_printf(s, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int
prefix_len(uint32_t mask)
{
	return mask == 0 ? 0 : 32 - __builtin_ctz(mask);
}

static void
render_match(struct sbuf *s, const struct np_match *mt)
{
	static const char *const ops[] = {"", "", "!= ", "< ", "> ", ""};
	const char *what = NULL;

	switch (mt->kind) {
	case NP_M_IIF:
	case NP_M_OIF:
		sbuf_printf(s, "%s \"%s\" ", mt->kind == NP_M_IIF ? "iifname" : "oifname",
		            mt->name);
		return;
	case NP_M_MARK:
		sbuf_printf(s, "meta mark & 0x%08x == 0x%08x ", mt->v2, mt->v1);
		return;
	case NP_M_SADDR:
	case NP_M_DADDR:
		sbuf_printf(s, "ip %s ", mt->kind == NP_M_SADDR ? "saddr" : "daddr");
		if (mt->set) {
			sbuf_printf(s, "%s@%s ", mt->neg ? "!= " : "", mt->name);
			return;
		}
		if (mt->neg)
			sbuf_printf(s, "!= ");
		sb_ip(s, mt->v1);
		if (mt->v2 != UINT32_MAX)
			sbuf_printf(s, "/%d", prefix_len(mt->v2));
		sbuf_printf(s, " ");
		return;
	case NP_M_L4PROTO:
		what = "meta l4proto";
		break;
	case NP_M_ICMP:
		what = "icmp type";
		break;
	case NP_M_SPORT:
	case NP_M_DPORT:
		sbuf_printf(s, "th %s ", mt->kind == NP_M_SPORT ? "sport" : "dport");
		if (mt->set) {
			sbuf_printf(s, "@%s ", mt->name);
		} else if (mt->op == NM_PORT_RANGE) {
			sbuf_printf(s, "%u-%u ", mt->v1, mt->v2);
		} else {
			sbuf_printf(s, "%s%u ", ops[mt->op], mt->v1);
		}
		return;
	case NP_M_CTSTATE:
		sbuf_printf(s, "ct state ");
		{
			const char *sep = "";

			if (mt->v1 & CT_INV) {
				sbuf_printf(s, "%sinvalid", sep);
				sep = ",";
			}
			if (mt->v1 & CT_EST) {
				sbuf_printf(s, "%sestablished", sep);
				sep = ",";
			}
			if (mt->v1 & CT_REL) {
				sbuf_printf(s, "%srelated", sep);
				sep = ",";
			}
			if (mt->v1 & CT_NEW)
				sbuf_printf(s, "%snew", sep);
		}
		sbuf_printf(s, " ");
		return;
	case NP_M_CTSTATUS:
		sbuf_printf(s, "ct status & 0x%x %s 0x%x ", mt->v1, mt->neg ? "!=" : "==", mt->v1);
		return;
	case NP_M_SECPATH:
		sbuf_printf(s, "meta secpath exists ");
		return;
	}
	if (mt->set)
		sbuf_printf(s, "%s %s@%s ", what, mt->neg ? "!= " : "", mt->name);
	else
		sbuf_printf(s, "%s %s%u ", what, mt->neg ? "!= " : "", mt->v1);
}

int
nat_plan_render_rule(const struct nat_plan *p, const struct np_rule *r, char *buf, size_t len)
{
	struct sbuf s;

	if (len == 0)
		return -ENOSPC;
	sbuf_init(&s, buf, len);
	for (int i = 0; i < r->nm; i++)
		render_match(&s, &r->m[i]);
	if (r->counter)
		sbuf_printf(&s, "counter ");
	switch (r->action) {
	case NP_A_NONE:
		break;
	case NP_A_ACCEPT:
		sbuf_printf(&s, "accept");
		break;
	case NP_A_DROP:
		sbuf_printf(&s, "drop");
		break;
	case NP_A_RETURN:
		sbuf_printf(&s, "return");
		break;
	case NP_A_JUMP:
		sbuf_printf(&s, "jump %s", r->target);
		break;
	case NP_A_DNAT:
	case NP_A_SNAT:
		sbuf_printf(&s, "%s ", r->action == NP_A_DNAT ? "dnat" : "snat");
		if (r->prefix) {
			sbuf_printf(&s, "ip prefix to ");
			sb_ip(&s, r->a1);
			sbuf_printf(&s, "/%d", prefix_len(r->a2));
			break;
		}
		sbuf_printf(&s, "to ");
		sb_ip(&s, r->a1);
		if (r->action == NP_A_SNAT && r->a2 != r->a1) {
			sbuf_printf(&s, "-");
			sb_ip(&s, r->a2);
		}
		if (r->port != 0)
			sbuf_printf(&s, ":%u", r->port);
		break;
	case NP_A_MASQ:
		sbuf_printf(&s, "masquerade");
		break;
	case NP_A_REDIRECT:
		sbuf_printf(&s, "redirect to :%u", r->port);
		break;
	case NP_A_HELPER:
		sbuf_printf(&s, "ct helper set \"%s\"", r->target);
		break;
	case NP_A_MARK:
		sbuf_printf(&s, "meta mark set meta mark & 0x%08x | 0x%08x", ~r->a2, r->a1);
		break;
	}
	while (s.len > 0 && s.len < s.cap && buf[s.len - 1] == ' ')
		buf[--s.len] = '\0';
	if (r->comment[0] != '\0')
		sbuf_printf(&s, " comment \"%s\"", r->comment);
	return sbuf_ok(&s) ? 0 : -ENOSPC;
}

static const char *
hook_name(enum np_hook h)
{
	switch (h) {
	case NP_HOOK_PREROUTING:
		return "prerouting";
	case NP_HOOK_FORWARD:
		return "forward";
	case NP_HOOK_POSTROUTING:
		return "postrouting";
	case NP_HOOK_NONE:
		break;
	}
	return "";
}

static void
render_range(FILE *f, const struct np_set *s, const struct nm_range *r)
{
	if (s->type == NP_SET_IPV4) {
		fprintf(f, "%u.%u.%u.%u", r->lo >> 24, (r->lo >> 16) & 255, (r->lo >> 8) & 255,
		        r->lo & 255);
		if (r->hi != r->lo)
			fprintf(f, "-%u.%u.%u.%u", r->hi >> 24, (r->hi >> 16) & 255,
			        (r->hi >> 8) & 255, r->hi & 255);
		return;
	}
	fprintf(f, "%u", r->lo);
	if (r->hi != r->lo)
		fprintf(f, "-%u", r->hi);
}

int
nat_plan_render(const struct nat_plan *p, FILE *f)
{
	static const char *const set_types[] = {"ipv4_addr", "inet_service", "inet_proto",
	                                        "icmp_type"};
	char line[1024];

	fprintf(f, "table ip %s\ndelete table ip %s\ntable ip %s {\n", p->table, p->table,
	        p->table);
	for (size_t i = 0; i < p->nhelpers; i++)
		fprintf(f, "\tct helper %s {\n\t\ttype \"%s\" protocol %s\n\t\tl3proto ip\n\t}\n",
		        p->helpers[i].name, p->helpers[i].type,
		        p->helpers[i].l4proto == 6 ? "tcp" : "udp");
	for (size_t i = 0; i < p->nsets; i++) {
		const struct np_set *s = &p->sets[i];

		fprintf(f, "\tset %s {\n\t\ttype %s\n", s->name, set_types[s->type]);
		if (s->interval || s->timeout)
			fprintf(f, "\t\tflags %s%s%s\n", s->interval ? "interval" : "",
			        s->interval && s->timeout ? "," : "", s->timeout ? "timeout" : "");
		if (s->nranges > 0) {
			fprintf(f, "\t\telements = { ");
			for (size_t k = 0; k < s->nranges; k++) {
				if (k > 0)
					fprintf(f, ", ");
				render_range(f, s, &s->ranges[k]);
			}
			fprintf(f, " }\n");
		}
		fprintf(f, "\t}\n");
	}
	for (size_t c = 0; c < p->nchains; c++) {
		const struct np_chain *ch = &p->chains[c];

		fprintf(f, "\tchain %s {\n", ch->name);
		if (ch->hook != NP_HOOK_NONE)
			fprintf(f, "\t\ttype %s hook %s priority %d; policy %s;\n",
			        ch->nat ? "nat" : "filter", hook_name(ch->hook), ch->priority,
			        ch->policy_drop ? "drop" : "accept");
		for (size_t i = 0; i < p->nrules; i++) {
			if (p->rules[i].chain != (int)c)
				continue;
			if (nat_plan_render_rule(p, &p->rules[i], line, sizeof(line)) < 0)
				return -ENOSPC;
			fprintf(f, "\t\t%s\n", line);
		}
		fprintf(f, "\t}\n");
	}
	fprintf(f, "}\n");
	return ferror(f) ? -EIO : 0;
}
