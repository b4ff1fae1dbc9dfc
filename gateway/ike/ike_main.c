/* Main Mode responder (RFC 2409 5 with pre-shared keys): the key is the most specific
 * `isakmp key` for the peer's address (the initiator's ID arrives only in message 5, encrypted).
 *   MM1 SA [VID]          ->  MM2 SA [VID]
 *   MM3 KE Ni [NAT-D]     ->  MM4 KE Nr [NAT-D]
 *   MM5* IDii HASH_I [N]  ->  MM6* IDir HASH_R        (* encrypted) */
#include "gateway/ike/ike_int.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static int
mm1(struct ike_sa *sa, const struct ike_msg *m, const char *peer, struct ike_wbuf *w,
    struct ike_perr *e)
{
	const struct ike_pl *sa_pl = ike_msg_find(m, IKE_PL_SA, 0);
	const struct ike_xform *x = NULL;
	struct ike_sa_pl *sap;
	bool xauth_ok, cfg_ok;
	int r = -EBADMSG;

	if (ike_step_check(STEP_MM1, m, e) < 0)
		return -EBADMSG;
	ike_p1_scan_vids(sa, m, peer);
	if (!ike_p1_choose_key(sa, NULL, peer, &xauth_ok, &cfg_ok))
		return ike_perr_set(e, IKE_N_NO_PROPOSAL_CHOSEN, "no pre-shared key for this peer");
	sa->cfg_allowed = cfg_ok;
	sap = malloc(sizeof(*sap));
	if (sap == NULL)
		return ike_perr_set(e, 0, "out of memory");
	if (ike_pld_parse_sa(sa_pl->body, sa_pl->len, sap, e) < 0)
		goto out;
	log_info(LOG_IKE, "%s: ISAKMP (0): processing SA payload. message ID = 0", peer);
	if (ike_p1_choose_transform(sa, sap, peer, xauth_ok && sa->ike->conf.auth_group[0] != '\0',
	                            &x, e) < 0)
		goto out;
	sa->p1->sai_b = malloc(sa_pl->len);
	if (sa->p1->sai_b == NULL) {
		ike_perr_set(e, 0, "out of memory");
		goto out;
	}
	memcpy(sa->p1->sai_b, sa_pl->body, sa_pl->len);
	sa->p1->sai_len = sa_pl->len;
	ike_w_hdr(w, sa->ci, sa->cr, IKE_EX_MAIN, 0, 0);
	ike_p1_write_sa(w, sap, x);
	ike_p1_write_vids(sa, w);
	ike_p1_write_lifetime(sa, w, peer);
	ike_w_finish(w);
	r = w->err ? ike_perr_set(e, 0, "Main Mode message 2 too large") : 0;
out:
	free(sap);
	return r;
}

void
ike_main_input(struct ike *ike, const uint8_t *buf, size_t len, const struct ike_hdr *h,
               const struct sockaddr_in *from, const struct sockaddr_in *to, bool natt)
{
	struct ike_perr e = {0};
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_wbuf *w = malloc(sizeof(*w));
	struct ike_iov dv = {buf, len};
	struct ike_sa *sa;
	char peer[32];

	ike_peer_str(from, peer, sizeof(peer));
	log_info(LOG_IKE, "%s: crypto_isakmp_process_block: OAK_MM exchange", peer);
	if (m == NULL || w == NULL)
		goto out;
	if (h->flags != 0 || h->msgid != 0) {
		log_warn(LOG_IKE, "%s: MM1 with flags 0x%02x message ID 0x%08x (expected 0, 0)",
		         peer, h->flags, h->msgid);
		ike_info_notify_plain(ike, h, natt, from,
		                      h->flags ? IKE_N_INVALID_FLAGS : IKE_N_INVALID_MESSAGE_ID);
		goto out;
	}
	if (ike_pld_validate_chain(h->np, buf + IKE_HDR_LEN, len - IKE_HDR_LEN, false, m, &e) < 0) {
		log_warn(LOG_IKE, "%s: MM1 rejected: %s", peer, e.msg);
		ike_info_notify_plain(ike, h, natt, from, e.notify);
		goto out;
	}
	sa = ike_sa_new(ike, h->icookie, from, to);
	if (sa == NULL)
		goto out;
	sa->natt = natt;
	ike_sa_set_state(sa, ST_MM_SENT2);
	ike_hash(IKE_HASH_SHA1, &dv, 1, sa->last_in_hash);
	if (mm1(sa, m, peer, w, &e) < 0) {
		log_warn(LOG_IKE, "%s: Main Mode rejected: %s", peer, e.msg);
		ike_info_notify_plain(ike, h, natt, from, e.notify);
		ike_sa_kill(sa, "phase 1 rejected", false);
		goto out;
	}
	log_info(LOG_IKE, "%s: SA %llu: MM2 sent (%s %s group %d, policy %d, lifetime %u s)", peer,
	         (unsigned long long)sa->id, ike_enc_name(sa->enc), ike_hash_name(sa->hash),
	         sa->group, sa->p1->policy_prio, sa->life_s);
	ike_msg_send(sa, w->buf, w->len);
out:
	free(m);
	free(w);
}

static int
mm3(struct ike_sa *sa, const struct ike_msg *m, const char *peer, struct ike_wbuf *w,
    struct ike_perr *e)
{
	const struct ike_pl *ke = ike_msg_find(m, IKE_PL_KE, 0);
	const struct ike_pl *nonce = ike_msg_find(m, IKE_PL_NONCE, 0);
	struct ike_p1 *p1 = sa->p1;

	if (ike_step_check(STEP_MM3, m, e) < 0)
		return -EBADMSG;
	if (ke->len != p1->gx_len)
		return ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION,
		                    "KE is %zu bytes (expected %zu for group %d)", ke->len,
		                    p1->gx_len, sa->group);
	if (nonce->len < 8 || nonce->len > sizeof(p1->ni))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "Nonce is %zu bytes (expected 8..%zu)", nonce->len,
		                    sizeof(p1->ni));
	memcpy(p1->gxi, ke->body, p1->gx_len);
	memcpy(p1->ni, nonce->body, nonce->len);
	p1->ni_len = nonce->len;
	p1->nr_len = 20;
	ike_rand(p1->nr, p1->nr_len);
	if (ike_dh_new(sa->group, &p1->dh) < 0 || ike_dh_public(p1->dh, p1->gxr, p1->gx_len) < 0 ||
	    ike_dh_shared(p1->dh, p1->gxi, p1->gx_len, p1->gxy, p1->gx_len) < 0)
		return ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION,
		                    "DH group %d failed (peer value out of range?)", sa->group);
	ike_dh_free(p1->dh);
	p1->dh = NULL;
	if (ike_aggr_derive_keys(sa) < 0)
		return ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION, "key derivation failed");
	ike_p1_process_final(sa, m, peer); /* NAT-D */
	ike_w_hdr(w, sa->ci, sa->cr, IKE_EX_MAIN, 0, 0);
	ike_w_pl(w, IKE_PL_KE, p1->gxr, p1->gx_len);
	ike_w_pl(w, IKE_PL_NONCE, p1->nr, p1->nr_len);
	ike_p1_write_natd(sa, w);
	ike_w_finish(w);
	return w->err ? ike_perr_set(e, 0, "Main Mode message 4 too large") : 0;
}

static int
mm5(struct ike_sa *sa, const struct ike_msg *m, const char *peer, struct ike_wbuf *w,
    struct ike_perr *e)
{
	const struct ike_pl *idp = ike_msg_find(m, IKE_PL_ID, 0);
	const struct ike_pl *hp = ike_msg_find(m, IKE_PL_HASH, 0);
	uint8_t h[IKE_MAX_HASH], idr[8];
	struct ike_id id;

	if (ike_step_check(STEP_MM5, m, e) < 0)
		return -EBADMSG;
	if (ike_pld_parse_id(idp->body, idp->len, &id, e) < 0)
		return -EBADMSG;
	if (hp->len != sa->hlen)
		return ike_perr_set(e, IKE_N_INVALID_HASH_INFORMATION,
		                    "HASH_I is %zu bytes (expected %zu)", hp->len,
		                    (size_t)sa->hlen);
	if (ike_aggr_auth_hash(sa, true, idp->body, idp->len, h) < 0 ||
	    CRYPTO_memcmp(h, hp->body, sa->hlen) != 0) {
		OPENSSL_cleanse(h, sizeof(h));
		return ike_perr_set(e, IKE_N_AUTHENTICATION_FAILED,
		                    "HASH_I mismatch (wrong isakmp key for this peer?)");
	}
	ike_p1_process_final(sa, m, peer); /* INITIAL_CONTACT */
	idr[0] = IKE_ID_IPV4_ADDR;
	idr[1] = 17;
	idr[2] = 500 >> 8;
	idr[3] = 500 & 0xff;
	memcpy(idr + 4, &sa->local.sin_addr.s_addr, 4);
	if (ike_aggr_auth_hash(sa, false, idr, sizeof(idr), h) < 0)
		return ike_perr_set(e, 0, "HASH_R computation failed");
	ike_w_hdr(w, sa->ci, sa->cr, IKE_EX_MAIN, IKE_FLAG_ENC, 0);
	ike_w_pl(w, IKE_PL_ID, idr, sizeof(idr));
	ike_w_pl(w, IKE_PL_HASH, h, sa->hlen);
	OPENSSL_cleanse(h, sizeof(h));
	return 0;
}

void
ike_main_input_next(struct ike_sa *sa, uint8_t *buf, size_t len, const struct ike_hdr *h)
{
	struct ike_perr e = {0};
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_wbuf *w = malloc(sizeof(*w));
	char peer[32];
	int r = -EBADMSG;

	ike_peer_str(&sa->peer, peer, sizeof(peer));
	if (m == NULL || w == NULL)
		goto out;
	if (h->msgid != 0) {
		ike_perr_set(&e, IKE_N_INVALID_MESSAGE_ID,
		             "Main Mode message ID 0x%08x (expected 0)", h->msgid);
	} else if (sa->state == ST_MM_SENT2) {
		if (h->flags & IKE_FLAG_ENC)
			ike_perr_set(&e, IKE_N_INVALID_FLAGS, "MM3 must not be encrypted");
		else if (ike_pld_validate_chain(h->np, buf + IKE_HDR_LEN, len - IKE_HDR_LEN, false,
		                                m, &e) == 0)
			r = mm3(sa, m, peer, w, &e);
		if (r == 0) {
			ike_sa_set_state(sa, ST_MM_SENT4);
			ike_msg_send(sa, w->buf, w->len);
		}
	} else {
		int plen = -1;

		if (!(h->flags & IKE_FLAG_ENC))
			ike_perr_set(&e, IKE_N_INVALID_FLAGS, "MM5 must be encrypted");
		else
			plen = ike_msg_decrypt(sa, buf, len, h, &e);
		if (plen >= 0 && ike_pld_validate_chain(h->np, buf + IKE_HDR_LEN, (size_t)plen,
		                                        true, m, &e) == 0)
			r = mm5(sa, m, peer, w, &e);
		if (r == 0)
			r = ike_msg_encrypt_send(sa, w, false);
		if (r == 0) {
			ike_sa_set_state(sa, ST_P1_DONE);
			ike_sa_p1_done(sa);
			log_info(LOG_IKE,
			         "%s: ISAKMP (0): SA %llu has been authenticated (Main Mode)", peer,
			         (unsigned long long)sa->id);
			ike_cfg_start(sa);
		}
	}
	if (r < 0) {
		struct ike_hdr hh = *h;

		log_warn(LOG_IKE, "%s: Main Mode rejected: %s", peer, e.msg);
		ike_info_notify_plain(sa->ike, &hh, sa->natt, &sa->peer, e.notify);
		ike_sa_kill(sa, "Main Mode failed", false);
	}
out:
	free(m);
	if (w != NULL) {
		OPENSSL_cleanse(w, sizeof(*w));
		free(w);
	}
}
