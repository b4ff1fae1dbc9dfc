/* Aggressive Mode responder (RFC 2409 5.4 with pre-shared keys): AM1 in, AM2 out, AM3 in.
 * The key is chosen by the initiator's ID: KEY_ID names a vpngroup (its password is the PSK),
 * any other ID type uses the most specific `isakmp key` matching the peer's address. */
#include "gateway/ike/ike_int.h"
#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static const uint8_t VID_XAUTH[8] = {0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12};
static const uint8_t VID_UNITY[16] = {0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68, 0xa9,
                                      0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc, 0x01, 0x00};
static const uint8_t VID_DPD[16] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
                                    0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
static const uint8_t VID_NATT_RFC[16] = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
                                         0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f};
static const uint8_t VID_NATT_02[16] = {0xcd, 0x60, 0x46, 0x43, 0x35, 0xdf, 0x21, 0xf8,
                                        0x7c, 0xfd, 0xb2, 0xfc, 0x68, 0xb6, 0xa4, 0x48};
static const uint8_t VID_NATT_02N[16] = {0x90, 0xcb, 0x80, 0x91, 0x3e, 0xbb, 0x69, 0x6e,
                                         0x08, 0x63, 0x81, 0xb5, 0xec, 0x42, 0x7b, 0x1f};
static const uint8_t VID_NATT_03[16] = {0x7d, 0x94, 0x19, 0xa6, 0x53, 0x10, 0xca, 0x6f,
                                        0x2c, 0x17, 0x9d, 0x92, 0x15, 0x52, 0x9d, 0x56};

/* A transform's IKE attributes, in whatever order they came. */
struct p1_attrs {
	int enc, hash, auth, group;
	unsigned keybits;
	uint32_t life_s;
	bool unknown;
	uint16_t unknown_type;
};

static int
p1_attrs_parse(const struct ike_xform *x, struct p1_attrs *a, struct ike_perr *e)
{
	struct ike_cur c;
	struct ike_attr at;
	int life_type = 0, r;

	memset(a, 0, sizeof(*a));
	ike_cur_init(&c, x->attrs, x->attrs_len);
	while ((r = ike_attr_next(&c, &at, e)) > 0) {
		uint64_t v;

		if (ike_attr_num(&at, &v) < 0) {
			a->unknown = true;
			a->unknown_type = at.type;
			continue;
		}
		switch (at.type) {
		case IKE_A_ENC:
			a->enc = (int)v;
			break;
		case IKE_A_HASH:
			a->hash = (int)v;
			break;
		case IKE_A_AUTH:
			a->auth = (int)v;
			break;
		case IKE_A_GROUP:
			a->group = (int)v;
			break;
		case IKE_A_KEYLEN:
			a->keybits = (unsigned)v;
			break;
		case IKE_A_LIFE_TYPE:
			life_type = (int)v;
			break;
		case IKE_A_LIFE_DUR:
			if (life_type == 1)
				a->life_s = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
			break;
		default:
			a->unknown = true;
			a->unknown_type = at.type;
		}
	}
	return r;
}

static const char *
auth_name(int auth)
{
	return auth == IKE_AUTH_PSK              ? "pre-share"
	       : auth == IKE_AUTH_XAUTH_INIT_PSK ? "XAUTHInitPreShared"
	                                         : "other";
}

/* PIX-style check of one transform against one policy; logs why it does not fit. */
static bool
p1_acceptable(const char *peer, const struct p1_attrs *a, const struct ike_policy *pol,
              bool want_xauth)
{
	const char *why = NULL;

	log_debug(LOG_IKE,
	          "%s: ISAKMP: encryption %s, hash %s, auth %s (%d), default group %d, key length "
	          "%u, life %u s",
	          peer, ike_enc_name(a->enc), ike_hash_name(a->hash), auth_name(a->auth), a->auth,
	          a->group, a->keybits, a->life_s);
	if (a->unknown)
		why = "unknown attribute";
	else if (a->enc != pol->enc)
		why = "encryption";
	else if (a->enc == IKE_ENC_AES && (a->keybits ? a->keybits : 128) != pol->keybits)
		why = "key length";
	else if (a->hash != pol->hash)
		why = "hash";
	else if (a->group != pol->group)
		why = "DH group";
	else if (a->auth != (want_xauth ? IKE_AUTH_XAUTH_INIT_PSK : IKE_AUTH_PSK))
		why = want_xauth ? "authentication (Xauth required: XAUTHInitPreShared)"
		                 : "authentication (pre-share)";
	else if (ike_dh_len(a->group) == 0)
		why = "unsupported DH group";
	if (why != NULL) {
		log_info(LOG_IKE, "%s: ISAKMP (0): atts are not acceptable (%s)", peer, why);
		return false;
	}
	log_info(LOG_IKE, "%s: ISAKMP (0): atts are acceptable", peer);
	return true;
}

void
ike_p1_natd_hash(struct ike_sa *sa, const struct sockaddr_in *a, uint8_t *out)
{
	struct ike_iov v[4] = {
	        {sa->ci, 8}, {sa->cr, 8}, {&a->sin_addr.s_addr, 4}, {&a->sin_port, 2}};

	ike_hash(sa->hash, v, 4, out);
}

bool
ike_p1_choose_key(struct ike_sa *sa, const struct ike_id *id, const char *peer, bool *xauth_ok,
                  bool *cfg_ok)
{
	const struct ike_conf *c = &sa->ike->conf;
	uint32_t a = ntohl(sa->peer.sin_addr.s_addr);

	*xauth_ok = true;
	*cfg_ok = true;
	if (id != NULL && id->type == IKE_ID_KEY_ID) {
		char name[IKE_MAX_NAME];

		if (id->len == 0 || id->len >= sizeof(name)) {
			log_warn(LOG_IKE, "%s: KEY_ID of %zu bytes (expected 1..%zu)", peer,
			         id->len, sizeof(name) - 1);
			return false;
		}
		memcpy(name, id->data, id->len);
		name[id->len] = '\0';
		for (int i = 0; i < c->ngrp; i++) {
			if (strcmp(c->grp[i].name, name) != 0)
				continue;
			if (!c->grp[i].has_password) {
				log_warn(LOG_IKE, "%s: vpngroup %s has no password set", peer,
				         name);
				return false;
			}
			if (ike_sa_set_group(sa, name) < 0) {
				log_error(LOG_IKE, "%s: vpngroup name: out of memory", peer);
				return false;
			}
			snprintf(sa->p1->psk, sizeof(sa->p1->psk), "%s", c->grp[i].password);
			return true;
		}
		log_warn(LOG_IKE, "%s: no vpngroup named '%.64s' (KEY_ID)", peer, name);
		return false;
	}
	for (int i = 0; i < c->nkey; i++) {
		if ((a & c->key[i].mask) != (c->key[i].addr & c->key[i].mask))
			continue;
		snprintf(sa->p1->psk, sizeof(sa->p1->psk), "%s", c->key[i].secret);
		*xauth_ok = !c->key[i].no_xauth;
		*cfg_ok = !c->key[i].no_config_mode;
		return true;
	}
	log_warn(LOG_IKE, "%s: no isakmp key matches the peer address", peer);
	return false;
}

void
ike_p1_scan_vids(struct ike_sa *sa, const struct ike_msg *m, const char *peer)
{
	int best = 0;

	for (int i = 0; i < m->n; i++) {
		const struct ike_pl *pl = &m->pl[i];

		if (pl->type != IKE_PL_VID)
			continue;
		if (pl->len == 8 && memcmp(pl->body, VID_XAUTH, 8) == 0) {
			sa->vid_xauth = true;
		} else if (pl->len == 16 && memcmp(pl->body, VID_UNITY, 14) == 0) {
			sa->vid_unity = true;
			log_info(LOG_IKE, "%s: ISAKMP (0): speaking to a Unity client", peer);
		} else if (pl->len == 16 && memcmp(pl->body, VID_DPD, 16) == 0) {
			sa->vid_dpd = true;
			log_info(LOG_IKE,
			         "%s: ISAKMP (0): remote peer supports dead peer detection", peer);
		} else if (pl->len == 16 && memcmp(pl->body, VID_NATT_RFC, 16) == 0) {
			best = 1;
		} else if (pl->len == 16 && (memcmp(pl->body, VID_NATT_02, 16) == 0 ||
		                             memcmp(pl->body, VID_NATT_02N, 16) == 0 ||
		                             memcmp(pl->body, VID_NATT_03, 16) == 0)) {
			if (best == 0)
				best = 2;
		}
	}
	sa->natt_vid = best;
}

int
ike_p1_choose_transform(struct ike_sa *sa, const struct ike_sa_pl *sap, const char *peer,
                        bool want_xauth, const struct ike_xform **chosen, struct ike_perr *e)
{
	const struct ike_conf *c = &sa->ike->conf;
	const struct ike_prop *pr;

	if (sap->nprop != 1)
		return ike_perr_set(e, IKE_N_BAD_PROPOSAL_SYNTAX,
		                    "phase 1 SA has %d proposals (expected 1)", sap->nprop);
	pr = &sap->prop[0];
	if (pr->proto != 1)
		return ike_perr_set(e, IKE_N_INVALID_PROTOCOL_ID,
		                    "phase 1 proposal protocol %u (expected 1, ISAKMP)", pr->proto);
	for (int p = 0; p < c->npol; p++) {
		for (int t = 0; t < pr->nxf; t++) {
			const struct ike_xform *x = &sap->xf[pr->first_xf + t];
			struct p1_attrs a;

			log_info(LOG_IKE,
			         "%s: ISAKMP (0): Checking ISAKMP transform %u against priority %d "
			         "policy",
			         peer, x->num, c->pol[p].prio);
			if (x->id != 1) {
				log_info(LOG_IKE, "%s: ISAKMP (0): transform id %u is not KEY_IKE",
				         peer, x->id);
				continue;
			}
			if (p1_attrs_parse(x, &a, e) < 0)
				return -EBADMSG;
			if (!p1_acceptable(peer, &a, &c->pol[p], want_xauth))
				continue;
			*chosen = x;
			sa->p1->policy_prio = c->pol[p].prio;
			sa->life_s = c->pol[p].life_s;
			sa->p1->life_prop = a.life_s;
			if (a.life_s != 0 && a.life_s < sa->life_s)
				sa->life_s = a.life_s;
			sa->enc = a.enc;
			sa->keybits = a.enc == IKE_ENC_AES ? (a.keybits ? a.keybits : 128) : 0;
			sa->keylen = ike_enc_keylen(a.enc, sa->keybits);
			sa->blk = ike_enc_blocklen(a.enc);
			sa->hash = a.hash;
			sa->hlen = ike_hash_len(a.hash);
			sa->auth = a.auth;
			sa->group = a.group;
			sa->xauth = a.auth == IKE_AUTH_XAUTH_INIT_PSK;
			sa->p1->gx_len = ike_dh_len(a.group);
			return 0;
		}
	}
	return ike_perr_set(e, IKE_N_NO_PROPOSAL_CHOSEN,
	                    "no transform of %d matches any of %d isakmp policies", pr->nxf,
	                    c->npol);
}

int
ike_aggr_derive_keys(struct ike_sa *sa)
{
	struct ike_p1 *p = sa->p1;
	struct ike_iov v[2] = {{p->ni, p->ni_len}, {p->nr, p->nr_len}};
	struct ike_iov iv[2] = {{p->gxi, p->gx_len}, {p->gxr, p->gx_len}};
	uint8_t h[IKE_MAX_HASH];
	int r;

	r = ike_prf(sa->hash, (const uint8_t *)p->psk, strlen(p->psk), v, 2, p->skeyid);
	if (r == 0)
		r = ike_skeyid_derive(sa->hash, p->skeyid, p->gxy, p->gx_len, sa->ci, sa->cr,
		                      sa->skeyid_d, sa->skeyid_a, p->skeyid_e);
	if (r == 0)
		r = ike_enc_key(sa->hash, p->skeyid_e, sa->keylen, sa->key);
	if (r == 0)
		r = ike_hash(sa->hash, iv, 2, h);
	if (r == 0)
		memcpy(sa->iv, h, sa->blk);
	return r;
}

int
ike_aggr_auth_hash(struct ike_sa *sa, bool initiator, const uint8_t *id_b, size_t id_len,
                   uint8_t *out)
{
	const struct ike_p1 *p = sa->p1;
	struct ike_iov v[6];

	if (initiator) {
		v[0] = (struct ike_iov){p->gxi, p->gx_len};
		v[1] = (struct ike_iov){p->gxr, p->gx_len};
		v[2] = (struct ike_iov){sa->ci, 8};
		v[3] = (struct ike_iov){sa->cr, 8};
	} else {
		v[0] = (struct ike_iov){p->gxr, p->gx_len};
		v[1] = (struct ike_iov){p->gxi, p->gx_len};
		v[2] = (struct ike_iov){sa->cr, 8};
		v[3] = (struct ike_iov){sa->ci, 8};
	}
	v[4] = (struct ike_iov){p->sai_b, p->sai_len};
	v[5] = (struct ike_iov){id_b, id_len};
	return ike_prf(sa->hash, p->skeyid, sa->hlen, v, 6, out);
}

void
ike_p1_write_sa(struct ike_wbuf *w, const struct ike_sa_pl *sap, const struct ike_xform *x)
{
	size_t off = ike_w_pl_begin(w, IKE_PL_SA);
	/* one proposal, one transform (the initiator's, copied verbatim) */
	size_t poff, toff, plen;

	ike_w_u32(w, 1);
	ike_w_u32(w, 1);
	poff = w->len;
	ike_w_u8(w, 0);
	ike_w_u8(w, 0);
	ike_w_u16(w, 0);
	ike_w_u8(w, sap->prop[0].num);
	ike_w_u8(w, 1);
	ike_w_u8(w, 0);
	ike_w_u8(w, 1);
	toff = w->len;
	ike_w_bytes(w, x->raw, x->raw_len);
	if (!w->err) {
		w->buf[toff] = 0; /* the only transform: next payload none */
		plen = w->len - poff;
		w->buf[poff + 2] = (uint8_t)(plen >> 8);
		w->buf[poff + 3] = (uint8_t)plen;
	}
	ike_w_pl_end(w, off);
}

void
ike_p1_write_vids(struct ike_sa *sa, struct ike_wbuf *w)
{
	if (sa->xauth)
		ike_w_pl(w, IKE_PL_VID, VID_XAUTH, sizeof(VID_XAUTH));
	if (sa->vid_unity)
		ike_w_pl(w, IKE_PL_VID, VID_UNITY, sizeof(VID_UNITY));
	if (sa->vid_dpd)
		ike_w_pl(w, IKE_PL_VID, VID_DPD, sizeof(VID_DPD));
	if (sa->natt_vid != 0)
		ike_w_pl(w, IKE_PL_VID, sa->natt_vid == 1 ? VID_NATT_RFC : VID_NATT_02N, 16);
}

void
ike_p1_write_natd(struct ike_sa *sa, struct ike_wbuf *w)
{
	uint8_t h1[IKE_MAX_HASH], h2[IKE_MAX_HASH];
	uint8_t t = sa->natt_vid == 1 ? IKE_PL_NATD : IKE_PL_NATD_DRAFT;

	if (sa->natt_vid == 0)
		return;
	/* first the receiver's address as we see it, then our own */
	ike_p1_natd_hash(sa, &sa->peer, h1);
	ike_p1_natd_hash(sa, &sa->local, h2);
	ike_w_pl(w, t, h1, sa->hlen);
	ike_w_pl(w, t, h2, sa->hlen);
}

void
ike_p1_write_lifetime(struct ike_sa *sa, struct ike_wbuf *w, const char *peer)
{
	/* RESPONDER_LIFETIME: LIFE_TYPE then LIFE_DURATION, SPI = both cookies */
	uint8_t life[4] = {(uint8_t)(sa->life_s >> 24), (uint8_t)(sa->life_s >> 16),
	                   (uint8_t)(sa->life_s >> 8), (uint8_t)sa->life_s};
	size_t noff;

	if (sa->p1->life_prop != 0 && sa->p1->life_prop <= sa->life_s)
		return;
	noff = ike_w_pl_begin(w, IKE_PL_N);
	ike_w_u32(w, 1);
	ike_w_u8(w, 1);
	ike_w_u8(w, 16);
	ike_w_u16(w, IKE_N_RESPONDER_LIFETIME);
	ike_w_bytes(w, sa->ci, 8);
	ike_w_bytes(w, sa->cr, 8);
	ike_w_attr_tv(w, IKE_A_LIFE_TYPE, 1);
	ike_w_attr_tlv(w, IKE_A_LIFE_DUR, life, 4);
	ike_w_pl_end(w, noff);
	log_info(LOG_IKE, "%s: ISAKMP (0): sending RESPONDER_LIFETIME notify (%u s)", peer,
	         sa->life_s);
}

static int
process_am1(struct ike_sa *sa, const struct ike_msg *m, const char *peer, struct ike_perr *e,
            struct ike_wbuf *w)
{
	const struct ike_pl *sa_pl = ike_msg_find(m, IKE_PL_SA, 0);
	const struct ike_pl *ke = ike_msg_find(m, IKE_PL_KE, 0);
	const struct ike_pl *nonce = ike_msg_find(m, IKE_PL_NONCE, 0);
	const struct ike_pl *idp = ike_msg_find(m, IKE_PL_ID, 0);
	const struct ike_xform *x = NULL;
	struct ike_p1 *p1 = sa->p1;
	struct ike_sa_pl *sap = NULL;
	struct ike_id id;
	uint8_t idr[8], hash_r[IKE_MAX_HASH];
	bool xauth_ok, cfg_ok, want_xauth;
	int r = -EBADMSG;

	if (ike_step_check(STEP_AM1, m, e) < 0)
		return -EBADMSG;
	if (ike_pld_parse_id(idp->body, idp->len, &id, e) < 0)
		return -EBADMSG;
	ike_p1_scan_vids(sa, m, peer);
	if (!ike_p1_choose_key(sa, &id, peer, &xauth_ok, &cfg_ok))
		return ike_perr_set(e, IKE_N_INVALID_ID_INFORMATION,
		                    "no pre-shared key for this peer");
	want_xauth = xauth_ok && sa->ike->conf.auth_group[0] != '\0';
	sa->cfg_allowed = cfg_ok;
	sap = malloc(sizeof(*sap));
	if (sap == NULL)
		return ike_perr_set(e, 0, "out of memory");
	if (ike_pld_parse_sa(sa_pl->body, sa_pl->len, sap, e) < 0)
		goto out;
	log_info(LOG_IKE, "%s: ISAKMP (0): processing SA payload. message ID = 0", peer);
	if (ike_p1_choose_transform(sa, sap, peer, want_xauth, &x, e) < 0)
		goto out;
	if (ke->len != p1->gx_len) {
		ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION,
		             "KE is %zu bytes (expected %zu for group %d)", ke->len, p1->gx_len,
		             sa->group);
		goto out;
	}
	if (nonce->len < 8 || nonce->len > sizeof(p1->ni)) {
		ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED, "Nonce is %zu bytes (expected 8..%zu)",
		             nonce->len, sizeof(p1->ni));
		goto out;
	}
	memcpy(p1->gxi, ke->body, p1->gx_len);
	memcpy(p1->ni, nonce->body, nonce->len);
	p1->ni_len = nonce->len;
	p1->nr_len = 20;
	ike_rand(p1->nr, p1->nr_len);
	p1->sai_b = malloc(sa_pl->len);
	p1->idi_b = malloc(idp->len);
	if (p1->sai_b == NULL || p1->idi_b == NULL) {
		ike_perr_set(e, 0, "out of memory");
		goto out;
	}
	memcpy(p1->sai_b, sa_pl->body, sa_pl->len);
	p1->sai_len = sa_pl->len;
	memcpy(p1->idi_b, idp->body, idp->len);
	p1->idi_len = idp->len;
	if (ike_dh_new(sa->group, &p1->dh) < 0 || ike_dh_public(p1->dh, p1->gxr, p1->gx_len) < 0) {
		ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION, "DH group %d setup failed",
		             sa->group);
		goto out;
	}
	if (ike_dh_shared(p1->dh, p1->gxi, p1->gx_len, p1->gxy, p1->gx_len) < 0) {
		ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION,
		             "peer's DH public value is out of range");
		goto out;
	}
	ike_dh_free(p1->dh);
	p1->dh = NULL;
	if (ike_aggr_derive_keys(sa) < 0) {
		ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION, "key derivation failed");
		goto out;
	}
	/* IDir: our address, UDP 500, as the PIX sends it. */
	idr[0] = IKE_ID_IPV4_ADDR;
	idr[1] = 17;
	idr[2] = 500 >> 8;
	idr[3] = 500 & 0xff;
	memcpy(idr + 4, &sa->local.sin_addr.s_addr, 4);
	if (ike_aggr_auth_hash(sa, false, idr, sizeof(idr), hash_r) < 0) {
		ike_perr_set(e, IKE_N_INVALID_HASH_INFORMATION, "HASH_R computation failed");
		goto out;
	}

	ike_w_hdr(w, sa->ci, sa->cr, IKE_EX_AGGR, 0, 0);
	ike_p1_write_sa(w, sap, x);
	ike_w_pl(w, IKE_PL_KE, p1->gxr, p1->gx_len);
	ike_w_pl(w, IKE_PL_NONCE, p1->nr, p1->nr_len);
	ike_w_pl(w, IKE_PL_ID, idr, sizeof(idr));
	ike_w_pl(w, IKE_PL_HASH, hash_r, sa->hlen);
	ike_p1_write_vids(sa, w);
	ike_p1_write_natd(sa, w);
	ike_p1_write_lifetime(sa, w, peer);
	ike_w_finish(w);
	if (w->err) {
		ike_perr_set(e, 0, "Aggressive Mode message 2 does not fit in %d bytes",
		             IKE_MAX_DATAGRAM);
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(hash_r, sizeof(hash_r));
	free(sap);
	return r;
}

void
ike_aggr_input(struct ike *ike, const uint8_t *buf, size_t len, const struct ike_hdr *h,
               const struct sockaddr_in *from, const struct sockaddr_in *to, bool natt)
{
	struct ike_perr e = {0};
	struct ike_msg *m = NULL;
	struct ike_wbuf *w = NULL;
	struct ike_sa *sa;
	uint8_t digest[32] = {0};
	struct ike_iov dv = {buf, len};
	char peer[32];

	ike_peer_str(from, peer, sizeof(peer));
	log_info(LOG_IKE, "%s: crypto_isakmp_process_block: OAK_AG exchange", peer);
	if (h->flags != 0 || h->msgid != 0) {
		log_warn(LOG_IKE, "%s: AM1 with flags 0x%02x message ID 0x%08x (expected 0, 0)",
		         peer, h->flags, h->msgid);
		ike_info_notify_plain(ike, h, natt, from,
		                      h->flags ? IKE_N_INVALID_FLAGS : IKE_N_INVALID_MESSAGE_ID);
		return;
	}
	m = malloc(sizeof(*m));
	w = malloc(sizeof(*w));
	if (m == NULL || w == NULL) {
		log_error(LOG_IKE, "%s: malloc: out of memory", peer);
		goto out;
	}
	if (ike_pld_validate_chain(h->np, buf + IKE_HDR_LEN, len - IKE_HDR_LEN, false, m, &e) < 0) {
		log_warn(LOG_IKE, "%s: AM1 rejected: %s", peer, e.msg);
		ike_info_notify_plain(ike, h, natt, from, e.notify);
		goto out;
	}
	sa = ike_sa_new(ike, h->icookie, from, to);
	if (sa == NULL)
		goto out;
	sa->natt = natt;
	sa->aggressive = true;
	ike_sa_set_state(sa, ST_AM_SENT2);
	ike_hash(IKE_HASH_SHA1, &dv, 1, digest);
	memcpy(sa->last_in_hash, digest, sizeof(sa->last_in_hash));
	if (process_am1(sa, m, peer, &e, w) < 0) {
		log_warn(LOG_IKE, "%s: Aggressive Mode rejected: %s", peer, e.msg);
		if (e.notify != 0)
			ike_info_notify_plain(ike, h, natt, from, e.notify);
		ike_sa_kill(sa, "phase 1 rejected", false);
		goto out;
	}
	log_info(LOG_IKE,
	         "%s: SA %llu: AM2 sent (%s %s group %d, auth %s, policy %d, lifetime %u s%s)",
	         peer, (unsigned long long)sa->id, ike_enc_name(sa->enc), ike_hash_name(sa->hash),
	         sa->group, auth_name(sa->auth), sa->p1->policy_prio, sa->life_s,
	         sa->group_name != NULL ? ", vpngroup key" : ", isakmp key");
	ike_msg_send(sa, w->buf, w->len);
out:
	free(m);
	if (w != NULL) {
		OPENSSL_cleanse(w, sizeof(*w));
		free(w);
	}
}

void
ike_p1_process_final(struct ike_sa *sa, const struct ike_msg *m, const char *peer)
{
	struct ike_perr e = {0};
	int natd_n = 0;

	for (int i = 0; i < m->n; i++) {
		struct ike_notify n;

		if ((m->pl[i].type == IKE_PL_NATD || m->pl[i].type == IKE_PL_NATD_DRAFT) &&
		    m->pl[i].len == sa->hlen) {
			uint8_t exp[IKE_MAX_HASH];

			/* first: our address as the peer sees it; then the peer's own */
			ike_p1_natd_hash(sa, natd_n == 0 ? &sa->local : &sa->peer, exp);
			if (CRYPTO_memcmp(exp, m->pl[i].body, sa->hlen) != 0) {
				sa->nat_detected = true;
				log_info(LOG_IKE, "%s: NAT-D: %s is behind a NAT", peer,
				         natd_n == 0 ? "this end" : "the peer");
			}
			natd_n++;
		}
		if (m->pl[i].type == IKE_PL_N &&
		    ike_pld_parse_notify(m->pl[i].body, m->pl[i].len, &n, &e) == 0 &&
		    n.type == IKE_N_INITIAL_CONTACT) {
			struct ike_sa *o, *next;

			log_info(LOG_IKE, "%s: ISAKMP (0): processing notify INITIAL_CONTACT",
			         peer);
			o = ike_sa_peer_first(sa->ike, sa->peer.sin_addr.s_addr);
			for (; o != NULL; o = next) {
				next = ike_sa_peer_next(o);
				if (o != sa && !ike_sa_half_open(o))
					ike_sa_kill(o, "INITIAL_CONTACT from the same peer", false);
			}
		}
	}
}

void
ike_aggr_input3(struct ike_sa *sa, uint8_t *buf, size_t len, const struct ike_hdr *h)
{
	struct ike_perr e = {0};
	struct ike_msg m;
	const struct ike_pl *hp;
	uint8_t hash_i[IKE_MAX_HASH];
	char peer[32];
	int plen;

	ike_peer_str(&sa->peer, peer, sizeof(peer));
	plen = ike_msg_decrypt(sa, buf, len, h, &e);
	if (plen < 0 ||
	    ike_pld_validate_chain(h->np, buf + IKE_HDR_LEN, (size_t)plen, true, &m, &e) < 0) {
		log_warn(LOG_IKE, "%s: AM3 rejected: %s", peer, e.msg);
		ike_info_notify_plain(sa->ike, h, sa->natt, &sa->peer, e.notify);
		ike_sa_kill(sa, "bad AM3", false);
		return;
	}
	hp = ike_msg_find(&m, IKE_PL_HASH, 0);
	if (ike_step_check(STEP_AM3, &m, &e) < 0 || hp->len != sa->hlen) {
		if (e.msg[0] == '\0')
			ike_perr_set(&e, IKE_N_INVALID_HASH_INFORMATION,
			             "HASH payload is %zu bytes (expected %zu)", hp->len,
			             (size_t)sa->hlen);
		log_warn(LOG_IKE, "%s: AM3 rejected: %s", peer, e.msg);
		ike_info_notify_plain(sa->ike, h, sa->natt, &sa->peer, e.notify);
		ike_sa_kill(sa, "bad AM3", false);
		return;
	}
	if (ike_aggr_auth_hash(sa, true, sa->p1->idi_b, sa->p1->idi_len, hash_i) < 0 ||
	    CRYPTO_memcmp(hash_i, hp->body, sa->hlen) != 0) {
		log_warn(LOG_IKE,
		         "%s: AM3 rejected: HASH_I mismatch (wrong pre-shared key for %s%s?)", peer,
		         sa->group_name != NULL ? "vpngroup " : "isakmp key", ike_sa_group(sa));
		ike_info_notify_plain(sa->ike, h, sa->natt, &sa->peer, IKE_N_AUTHENTICATION_FAILED);
		ike_sa_kill(sa, "authentication failed", false);
		return;
	}
	OPENSSL_cleanse(hash_i, sizeof(hash_i));
	ike_p1_process_final(sa, &m, peer);
	ike_sa_set_state(sa, ST_P1_DONE);
	ike_sa_p1_done(sa);
	ike_rtx_stop(sa);
	log_info(LOG_IKE, "%s: ISAKMP (0): SA %llu has been authenticated%s", peer,
	         (unsigned long long)sa->id, sa->natt ? " (NAT-T)" : "");
	ike_cfg_start(sa);
}
