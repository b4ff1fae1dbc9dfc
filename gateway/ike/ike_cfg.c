/* Transaction exchanges (draft-ietf-ipsec-isakmp-mode-cfg-05, draft-ietf-ipsec-isakmp-xauth-06):
 * Xauth (REQUEST user/password, asynchronous verification through hooks->authenticate, STATUS
 * OK/FAIL, bounded retries) and Mode Config (pull: REQUEST/REPLY; push: SET/ACK), with address
 * leases from ike_lease.c (the same address for the same user when it is free). */
#include "gateway/ike/ike_int.h"
#include "db/db.h"
#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static void
ip_str(uint32_t a, char *buf, size_t n)
{
	struct in_addr in = {htonl(a)};

	inet_ntop(AF_INET, &in, buf, (socklen_t)n);
}

static const struct ike_group *
find_group(struct ike_sa *sa)
{
	for (int i = 0; i < sa->ike->conf.ngrp; i++)
		if (strcmp(sa->ike->conf.grp[i].name, ike_sa_group(sa)) == 0)
			return &sa->ike->conf.grp[i];
	return NULL;
}

static struct ike_pool *
find_pool(struct ike_sa *sa)
{
	const struct ike_group *g = find_group(sa);
	int64_t id = g != NULL && g->pool_id != 0 ? g->pool_id : sa->ike->conf.client_pool_id;

	for (int i = 0; i < sa->ike->conf.npool; i++)
		if (sa->ike->conf.pool[i].id == id)
			return &sa->ike->conf.pool[i];
	return NULL;
}

static int
lease_alloc(struct ike_sa *sa)
{
	struct ike_pool *pool = find_pool(sa);
	char peer[32];
	int r;

	if (sa->addr != 0)
		return 0;
	ike_peer_str(&sa->peer, peer, sizeof(peer));
	if (pool == NULL) {
		log_warn(LOG_IKE,
		         "%s: no address pool for vpngroup '%s' or isakmp client "
		         "configuration",
		         peer, ike_sa_group(sa));
		return -ENOENT;
	}
	r = ike_lease_take(sa, pool->id);
	if (r == -ENOSPC)
		log_warn(LOG_IKE, "%s: address pool %s exhausted (%u addresses)", peer, pool->name,
		         pool->end - pool->start + 1);
	else if (r < 0)
		log_warn(LOG_IKE, "%s: no address from pool %s: %s", peer, pool->name,
		         strerror(-r));
	return r;
}

/* Sends a transaction message: HASH, ATTR(type, id, attrs). */
static int
send_attrs(struct ike_sa *sa, uint32_t mid, uint8_t type, uint16_t id, const struct ike_wbuf *a,
           bool expect_reply)
{
	struct ike_wbuf *w = malloc(sizeof(*w));
	size_t hoff, off;
	int r;

	if (w == NULL)
		return -ENOMEM;
	hoff = ike_msg_begin_hashed(sa, w, IKE_EX_TRANSACTION, mid);
	off = ike_w_pl_begin(w, IKE_PL_ATTR);
	ike_w_u8(w, type);
	ike_w_u8(w, 0);
	ike_w_u16(w, id);
	ike_w_bytes(w, a->buf, a->len);
	ike_w_pl_end(w, off);
	r = ike_msg_fill_hash(sa, w, hoff, mid, NULL, 0);
	if (r == 0)
		r = ike_msg_encrypt_send(sa, w, expect_reply);
	OPENSSL_cleanse(w, sizeof(*w));
	free(w);
	return r;
}

static void
xauth_request(struct ike_sa *sa)
{
	struct ike_wbuf a;
	char peer[32];

	ike_peer_str(&sa->peer, peer, sizeof(peer));
	a.len = 0;
	a.err = false;
	ike_w_attr_tv(&a, XAUTH_TYPE, 0);
	ike_w_attr_tlv(&a, XAUTH_USER_NAME, NULL, 0);
	ike_w_attr_tlv(&a, XAUTH_USER_PASSWORD, NULL, 0);
	sa->xauth_mid = ike_new_mid(sa);
	ike_rand(&sa->xauth_id, sizeof(sa->xauth_id));
	ike_sa_set_state(sa, ST_XAUTH_REQ);
	log_info(LOG_IKE,
	         "%s: ISAKMP/xauth: request attribute XAUTH_TYPE, XAUTH_USER_NAME, "
	         "XAUTH_USER_PASSWORD (attempt %d/%d)",
	         peer, sa->xauth_tries + 1, IKE_XAUTH_TRIES);
	log_info(LOG_IKE, "%s: ISAKMP (0:0): initiating peer config. ID = %u", peer, sa->xauth_mid);
	send_attrs(sa, sa->xauth_mid, CFG_REQUEST, sa->xauth_id, &a, true);
}

static void
xauth_status(struct ike_sa *sa, bool ok)
{
	struct ike_wbuf a;

	a.len = 0;
	a.err = false;
	ike_w_attr_tv(&a, XAUTH_STATUS, ok ? 1 : 0);
	ike_xchg_drop(sa, sa->xauth_mid);
	sa->xauth_mid = ike_new_mid(sa);
	sa->xauth_ok = ok;
	ike_sa_set_state(sa, ST_XAUTH_SET);
	send_attrs(sa, sa->xauth_mid, CFG_SET, sa->xauth_id, &a, true);
}

static void push_config(struct ike_sa *sa);

/* A phase 1 rekey: the client (vpnc does this before its IKE SA expires) negotiated a new IKE
 * SA and authenticated the same user again. The new SA adopts the old one's IPsec SAs and lease,
 * and the old IKE SA goes away alone, so the tunnel survives. */
static bool
adopt_rekeyed(struct ike_sa *sa)
{
	struct ike_sa *o;
	char peer[32];

	for (o = ike_sa_peer_first(sa->ike, sa->peer.sin_addr.s_addr); o != NULL;
	     o = ike_sa_peer_next(o)) {
		if (o == sa || o->state != ST_ESTAB ||
		    strcmp(ike_sa_user(o), ike_sa_user(sa)) != 0 ||
		    strcmp(ike_sa_group(o), ike_sa_group(sa)) != 0)
			continue;
		/* without Xauth nothing tells two clients behind one NAT apart but the port */
		if (sa->user == NULL && o->peer.sin_port != sa->peer.sin_port)
			continue;
		ike_peer_str(&sa->peer, peer, sizeof(peer));
		log_info(LOG_IKE, "%s: SA %llu replaces SA %llu (phase 1 rekey), IPsec SAs kept",
		         peer, (unsigned long long)sa->id, (unsigned long long)o->id);
		memcpy(sa->child, o->child, sizeof(sa->child));
		memset(o->child, 0, sizeof(o->child));
		sa->addr = o->addr;
		sa->lease_pool_id = o->lease_pool_id;
		o->addr = 0;
		o->lease_pool_id = 0;
		ike_sa_set_state(sa, ST_ESTAB);
		sa->established_ms = o->established_ms;
		ike_sa_kill(o, "replaced by a phase 1 rekey", true);
		return true;
	}
	return false;
}

static void
after_xauth(struct ike_sa *sa)
{
	ike_sa_set_state(sa, ST_CFG);
	if (adopt_rekeyed(sa))
		return;
	if (sa->ike->conf.cfg_initiate && sa->cfg_allowed && !sa->vid_unity)
		push_config(sa);
}

void
ike_cfg_start(struct ike_sa *sa)
{
	if (sa->xauth) {
		xauth_request(sa);
		return;
	}
	after_xauth(sa);
}

static void
on_auth(void *arg, const struct aaa_auth_result *res)
{
	struct ike_sa *sa = arg;
	char peer[32];

	sa->auth_pending = false;
	ike_peer_str(&sa->peer, peer, sizeof(peer));
	if (sa->state != ST_XAUTH_WAIT)
		return;
	switch (res->result) {
	case AAA_ACCEPT:
		log_info(LOG_IKE, "%s: Xauth: user '%s' authenticated by %s%s%s", peer,
		         ike_sa_user(sa), sa->ike->conf.auth_group,
		         res->server[0] ? " server " : "", res->server);
		xauth_status(sa, true);
		return;
	case AAA_REJECT:
		sa->xauth_tries++;
		log_warn(LOG_IKE, "%s: Xauth: user '%s' rejected by %s: %s (attempt %d/%d)", peer,
		         ike_sa_user(sa), sa->ike->conf.auth_group, res->reason, sa->xauth_tries,
		         IKE_XAUTH_TRIES);
		if (sa->xauth_tries < IKE_XAUTH_TRIES) {
			ike_xchg_drop(sa, sa->xauth_mid);
			xauth_request(sa);
			return;
		}
		break;
	case AAA_UNAVAILABLE:
	case AAA_ERROR:
		log_warn(LOG_IKE, "%s: Xauth: user '%s' not verified, AAA group %s %s: %s", peer,
		         ike_sa_user(sa), sa->ike->conf.auth_group,
		         res->result == AAA_UNAVAILABLE ? "unavailable" : "error", res->reason);
		break;
	}
	xauth_status(sa, false);
}

static void
xauth_reply(struct ike_sa *sa, const struct ike_cfg_hdr *ch, const char *peer)
{
	struct aaa_auth_req *req;
	struct ike_cur c;
	struct ike_attr at;
	struct ike_perr e = {0};
	bool have_user = false, have_pw = false;
	int r;

	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return;
	ike_cur_init(&c, ch->attrs, ch->attrs_len);
	while ((r = ike_attr_next(&c, &at, &e)) > 0) {
		if (at.type == XAUTH_USER_NAME && !at.tv && at.len < sizeof(req->user)) {
			memcpy(req->user, at.val, at.len);
			have_user = true;
		} else if (at.type == XAUTH_USER_PASSWORD && !at.tv &&
		           at.len < sizeof(req->password)) {
			memcpy(req->password, at.val, at.len);
			have_pw = true;
		}
	}
	if (!have_user || !have_pw || strlen(req->user) == 0) {
		ike_fail(sa, IKE_N_ATTRIBUTES_NOT_SUPPORTED,
		         "Xauth REPLY without %s (expected XAUTH_USER_NAME and "
		         "XAUTH_USER_PASSWORD)",
		         !have_user || strlen(req->user) == 0 ? "a user name" : "a password");
		goto out;
	}
	if (ike_sa_set_user(sa, req->user) < 0) {
		log_error(LOG_IKE, "%s: Xauth: user name: out of memory", peer);
		goto out;
	}
	snprintf(req->group, sizeof(req->group), "%s", sa->ike->conf.auth_group);
	req->service = AAA_SVC_XAUTH;
	req->peer_addr = ntohl(sa->peer.sin_addr.s_addr);
	log_info(LOG_IKE, "%s: Xauth: REPLY from user '%s', asking AAA group %s", peer,
	         ike_sa_user(sa), req->group);
	if (sa->ike->hooks.authenticate == NULL) {
		log_error(LOG_IKE, "%s: Xauth: no authentication function configured", peer);
		ike_sa_set_state(sa, ST_XAUTH_WAIT);
		on_auth(sa, &(struct aaa_auth_result){.result = AAA_ERROR,
		                                      .reason = "no AAA configured"});
		goto out;
	}
	ike_sa_set_state(sa, ST_XAUTH_WAIT);
	sa->auth_pending = true;
	r = sa->ike->hooks.authenticate(sa->ike->hooks.auth_arg, req, on_auth, sa,
	                                &sa->auth_req_id);
	if (r < 0) {
		sa->auth_pending = false;
		on_auth(sa, &(struct aaa_auth_result){.result = AAA_ERROR,
		                                      .reason = "authenticate call failed"});
	}
out:
	OPENSSL_cleanse(req, sizeof(*req));
	free(req);
}

static void
put_addr(struct ike_wbuf *a, uint16_t type, uint32_t addr)
{
	uint32_t n = htonl(addr);

	ike_w_attr_tlv(a, type, &n, 4);
}

static const char *
attr_name(uint16_t t)
{
	switch (t) {
	case CFG_IP4_ADDRESS:
		return "IP4_ADDRESS";
	case CFG_IP4_NETMASK:
		return "IP4_NETMASK";
	case CFG_IP4_DNS:
		return "IP4_DNS";
	case CFG_IP4_NBNS:
		return "IP4_NBNS";
	case CFG_ADDRESS_EXPIRY:
		return "ADDRESS_EXPIRY";
	case CFG_APPLICATION_VERSION:
		return "APPLICATION_VERSION";
	case UNITY_BANNER:
		return "UNITY_BANNER";
	case UNITY_SAVE_PASSWD:
		return "UNITY_SAVE_PASSWD";
	case UNITY_DEF_DOMAIN:
		return "UNITY_DEF_DOMAIN";
	case UNITY_SPLITDNS_NAME:
		return "UNITY_SPLITDNS_NAME";
	case UNITY_SPLIT_INCLUDE:
		return "UNITY_SPLIT_INCLUDE";
	case UNITY_PFS:
		return "UNITY_PFS";
	case UNITY_BACKUP_SERVERS:
		return "UNITY_BACKUP_SERVERS";
	}
	return "UNKNOWN";
}

/* Appends the value of one requested attribute; false when unsupported. */
static bool
put_value(struct ike_sa *sa, uint16_t t, struct ike_wbuf *a, const char *peer)
{
	const struct ike_group *g = find_group(sa);
	const struct ike_pool *pool = find_pool(sa);
	bool unity = sa->vid_unity;

	switch (t) {
	case CFG_IP4_ADDRESS:
		put_addr(a, t, sa->addr);
		return true;
	case CFG_IP4_NETMASK:
		if (pool != NULL && pool->mask != 0)
			put_addr(a, t, pool->mask);
		return true;
	case CFG_IP4_DNS:
	case CFG_IP4_NBNS:
		for (int i = 0; g != NULL && i < 2; i++) {
			uint32_t v = t == CFG_IP4_DNS ? g->dns[i] : g->wins[i];

			if (v != 0)
				put_addr(a, t, v);
		}
		return true;
	}
	if (!unity)
		return false;
	switch (t) {
	case UNITY_BANNER:
		if (g != NULL && g->banner[0])
			ike_w_attr_tlv(a, t, g->banner, (uint16_t)strlen(g->banner));
		return true;
	case UNITY_SAVE_PASSWD:
		if (g != NULL)
			ike_w_attr_tv(a, t, g->save_pw ? 1 : 0);
		return true;
	case UNITY_DEF_DOMAIN:
		if (g != NULL && g->domain[0])
			ike_w_attr_tlv(a, t, g->domain, (uint16_t)strlen(g->domain));
		return true;
	case UNITY_SPLITDNS_NAME:
		if (g != NULL && g->split_dns[0]) {
			char s[256];

			/* the model keeps names space-separated; Unity wants commas */
			snprintf(s, sizeof(s), "%s", g->split_dns);
			for (char *p = s; *p; p++)
				if (*p == ' ')
					*p = ',';
			ike_w_attr_tlv(a, t, s, (uint16_t)strlen(s));
		}
		return true;
	case UNITY_SPLIT_INCLUDE:
		if (g != NULL && g->nsplit > 0) {
			uint8_t v[IKE_MAX_SPLIT * 14];

			memset(v, 0, sizeof(v));
			for (int i = 0; i < g->nsplit; i++) {
				uint32_t ad = htonl(g->split[i].addr);
				uint32_t m =
				        htonl(g->split[i].plen == 0
				                      ? 0
				                      : 0xffffffffu << (32 - g->split[i].plen));

				memcpy(v + i * 14, &ad, 4);
				memcpy(v + i * 14 + 4, &m, 4);
			}
			ike_w_attr_tlv(a, t, v, (uint16_t)(g->nsplit * 14));
		}
		return true;
	case UNITY_PFS:
		if (g != NULL)
			ike_w_attr_tv(a, t, g->pfs ? 1 : 0);
		return true;
	case UNITY_BACKUP_SERVERS:
		if (g != NULL && g->backup[0])
			ike_w_attr_tlv(a, t, g->backup, (uint16_t)strlen(g->backup));
		return true;
	}
	return false;
}

static void
cfg_request(struct ike_sa *sa, const struct ike_hdr *h, const struct ike_cfg_hdr *ch,
            const char *peer)
{
	struct ike_wbuf *a = malloc(sizeof(*a));
	struct ike_cur c;
	struct ike_attr at;
	struct ike_perr e = {0};
	bool want_addr = false;
	int r;

	if (a == NULL)
		return;
	a->len = 0;
	a->err = false;
	log_info(LOG_IKE, "%s: ISAKMP (0:0): processing transaction payload. message ID = %u", peer,
	         h->msgid);
	ike_cur_init(&c, ch->attrs, ch->attrs_len);
	while ((r = ike_attr_next(&c, &at, &e)) > 0)
		if (at.type == CFG_IP4_ADDRESS)
			want_addr = true;
	if (want_addr && lease_alloc(sa) < 0) {
		ike_fail(sa, IKE_N_ATTRIBUTES_NOT_SUPPORTED, "Mode Config: no address to assign");
		goto out;
	}
	ike_cur_init(&c, ch->attrs, ch->attrs_len);
	while ((r = ike_attr_next(&c, &at, &e)) > 0) {
		log_info(LOG_IKE, "%s: ISAKMP: attribute %s (%u)", peer, attr_name(at.type),
		         at.type);
		if (!put_value(sa, at.type, a, peer))
			log_info(LOG_IKE, "%s: Unsupported Attr: %u", peer, at.type);
	}
	if (sa->addr != 0) {
		char s[INET_ADDRSTRLEN];

		ip_str(sa->addr, s, sizeof(s));
		log_info(LOG_IKE, "%s: Mode Config: assigned %s to %s%s%s", peer, s,
		         ike_sa_group(sa), sa->user != NULL ? "/" : "", ike_sa_user(sa));
	}
	log_info(LOG_IKE, "%s: ISAKMP (0:0): responding to peer config. ID = %u", peer, h->msgid);
	if (send_attrs(sa, h->msgid, CFG_REPLY, ch->id, a, false) < 0)
		log_warn(LOG_IKE, "%s: Mode Config REPLY did not fit", peer);
	ike_xchg_drop(sa, h->msgid);
out:
	free(a);
}

static void
push_config(struct ike_sa *sa)
{
	struct ike_wbuf *a = malloc(sizeof(*a));
	char peer[32], s[INET_ADDRSTRLEN];

	if (a == NULL)
		return;
	ike_peer_str(&sa->peer, peer, sizeof(peer));
	if (lease_alloc(sa) < 0) {
		ike_sa_kill(sa, "Mode Config: no address to assign", true);
		free(a);
		return;
	}
	a->len = 0;
	a->err = false;
	put_value(sa, CFG_IP4_ADDRESS, a, peer);
	put_value(sa, CFG_IP4_DNS, a, peer);
	put_value(sa, CFG_IP4_NBNS, a, peer);
	sa->cfg_mid = ike_new_mid(sa);
	ike_sa_set_state(sa, ST_CFG_SET);
	ip_str(sa->addr, s, sizeof(s));
	log_info(LOG_IKE, "%s: Mode Config: pushing address %s (SET), ID = %u", peer, s,
	         sa->cfg_mid);
	send_attrs(sa, sa->cfg_mid, CFG_SET, 0, a, true);
	free(a);
}

void
ike_cfg_input(struct ike_sa *sa, const struct ike_msg *m, const struct ike_hdr *h)
{
	struct ike_perr e = {0};
	struct ike_cfg_hdr ch;
	char peer[32];

	ike_peer_str(&sa->peer, peer, sizeof(peer));
	if (ike_msg_verify_hash(sa, m, h->msgid, NULL, 0, &e) < 0) {
		ike_fail(sa, e.notify, "transaction: %s", e.msg);
		return;
	}
	if (ike_step_check(STEP_TRANS, m, &e) < 0) {
		ike_fail(sa, e.notify, "%s", e.msg);
		return;
	}
	if (m->pl[1].type != IKE_PL_ATTR) {
		ike_fail(sa, IKE_N_INVALID_PAYLOAD_TYPE,
		         "transaction: second payload is %u (expected ATTR, 14)", m->pl[1].type);
		return;
	}
	if (ike_pld_parse_cfg(m->pl[1].body, m->pl[1].len, &ch, &e) < 0) {
		ike_fail(sa, e.notify, "transaction: %s", e.msg);
		return;
	}
	ike_rtx_stop(sa);
	if (ch.type == CFG_REPLY && sa->state == ST_XAUTH_REQ && h->msgid == sa->xauth_mid) {
		xauth_reply(sa, &ch, peer);
		return;
	}
	if (ch.type == CFG_ACK && sa->state == ST_XAUTH_SET && h->msgid == sa->xauth_mid) {
		ike_xchg_drop(sa, h->msgid);
		log_info(LOG_IKE, "%s: ISAKMP: Config payload CFG_ACK (Xauth status)", peer);
		if (!sa->xauth_ok) {
			ike_sa_kill(sa, "Xauth failed", true);
			return;
		}
		after_xauth(sa);
		return;
	}
	if (ch.type == CFG_ACK && sa->cfg_mid != 0 && h->msgid == sa->cfg_mid) {
		ike_xchg_drop(sa, h->msgid);
		log_info(LOG_IKE, "%s: ISAKMP: Config payload CFG_ACK (address accepted)", peer);
		sa->cfg_mid = 0;
		if (sa->state == ST_CFG_SET)
			ike_sa_set_state(sa, ST_CFG);
		return;
	}
	if (ch.type == CFG_REQUEST && sa->state == ST_CFG_SET) {
		/* A pull client answers our push with its own REQUEST: serve the pull (same
		 * lease) and stop retransmitting the SET; a late ACK is still accepted. */
		log_info(LOG_IKE, "%s: Mode Config: peer pulls while our SET is outstanding", peer);
		ike_sa_set_state(sa, ST_CFG);
	}
	if (ch.type == CFG_REQUEST && (sa->state == ST_CFG || sa->state == ST_ESTAB)) {
		if (!sa->cfg_allowed || !sa->ike->conf.cfg_respond) {
			ike_fail(sa, IKE_N_ATTRIBUTES_NOT_SUPPORTED,
			         "Mode Config REQUEST refused (client configuration address "
			         "respond not configured)");
			return;
		}
		cfg_request(sa, h, &ch, peer);
		return;
	}
	ike_fail(sa, 0, "transaction type %u unexpected in state %s", ch.type,
	         ike_state_name(sa->state));
}
