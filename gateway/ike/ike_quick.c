/* Quick Mode responder (RFC 2409 5.5): proposals checked one by one against the transform sets
 * of the dynamic crypto map, IDci = the client's Mode Config address, IDcr 0.0.0.0/0 accepted,
 * optional PFS, RESPONDER_LIFETIME, SPI allocation, KEYMAT, then the SA pair goes to the
 * ipsec_backend. */
#include "gateway/ike/ike_int.h"
#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct p2_attrs {
	int auth;
	int encap;
	int group;
	unsigned keybits;
	uint32_t life_s, life_kb;
	bool unknown;
	uint16_t unknown_type;
};

static int
p2_attrs_parse(const struct ike_xform *x, struct p2_attrs *a, struct ike_perr *e)
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
		case IPSEC_A_LIFE_TYPE:
			life_type = (int)v;
			break;
		case IPSEC_A_LIFE_DUR:
			if (life_type == 1)
				a->life_s = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
			else if (life_type == 2)
				a->life_kb = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
			break;
		case IPSEC_A_GROUP:
			a->group = (int)v;
			break;
		case IPSEC_A_ENCAP:
			a->encap = (int)v;
			break;
		case IPSEC_A_AUTH:
			a->auth = (int)v;
			break;
		case IPSEC_A_KEYLEN:
			a->keybits = (unsigned)v;
			break;
		default:
			a->unknown = true;
			a->unknown_type = at.type;
		}
	}
	return r;
}

static const char *esp_name(int id);

void
ike_transform_str(int esp_id, unsigned keybits, int auth_alg, char *out, size_t len)
{
	const char *auth = auth_alg == 1   ? " esp-md5-hmac"
	                   : auth_alg == 2 ? " esp-sha-hmac"
	                   : auth_alg == 5 ? " esp-sha256-hmac"
	                                   : "";

	if (esp_id == ESP_AES && keybits > 128)
		snprintf(out, len, "esp-aes-%u%s", keybits, auth);
	else
		snprintf(out, len, "%s%s", esp_name(esp_id), auth);
}

static const char *
esp_name(int id)
{
	switch (id) {
	case ESP_DES:
		return "esp-des";
	case ESP_3DES:
		return "esp-3des";
	case ESP_AES:
		return "esp-aes";
	case ESP_NULL:
		return "esp-null";
	}
	return "esp-unknown";
}

static bool
tset_match(struct ike_sa *sa, const char *peer, int esp_id, const struct p2_attrs *a,
           const struct ike_tset *t, int pfs_group)
{
	bool udp = a->encap == ENCAP_UDP_TUNNEL || a->encap == ENCAP_UDP_TUNNEL_DRAFT;
	const char *why = NULL;

	if (a->unknown)
		why = "unknown attribute";
	else if (esp_id != t->esp_id)
		why = "encryption";
	else if (esp_id == ESP_AES && (a->keybits ? a->keybits : 128) != t->keybits)
		why = "key length";
	else if (a->auth != t->auth)
		why = "authentication";
	else if (!t->tunnel || (a->encap != ENCAP_TUNNEL && !udp))
		why = "encapsulation mode";
	else if (udp && !sa->natt)
		why = "UDP encapsulation without NAT-T";
	else if (pfs_group != 0 && a->group != pfs_group)
		why = "PFS group";
	else if (a->group != 0 && ike_dh_len(a->group) == 0)
		why = "unsupported PFS group";
	if (why != NULL) {
		log_info(LOG_IKE,
		         "%s: IPSEC(validate_proposal): transform proposal (prot 3, trans %d, "
		         "hmac_alg %d) not supported by transform set %s (%s)",
		         peer, esp_id, a->auth, t->name, why);
		return false;
	}
	return true;
}

static size_t
enc_keylen(int esp_id, unsigned keybits)
{
	switch (esp_id) {
	case ESP_DES:
		return 8;
	case ESP_3DES:
		return 24;
	case ESP_AES:
		return keybits ? keybits / 8 : 16;
	}
	return 0;
}

static size_t
auth_keylen(int auth)
{
	return auth == 1 ? 16 : auth == 2 ? 20 : auth == 5 ? 32 : 0;
}

static int
parse_proxy(const struct ike_pl *pl, struct ipsec_prefix *p, struct ike_perr *e)
{
	struct ike_id id;
	uint32_t a, m;

	if (ike_pld_parse_id(pl->body, pl->len, &id, e) < 0)
		return -EBADMSG;
	if (id.type == IKE_ID_IPV4_ADDR) {
		memcpy(&a, id.data, 4);
		p->addr = ntohl(a);
		p->plen = 32;
		return 0;
	}
	if (id.type == IKE_ID_IPV4_SUBNET) {
		int n = 0;

		memcpy(&a, id.data, 4);
		memcpy(&m, id.data + 4, 4);
		m = ntohl(m);
		while (m & 0x80000000u) {
			n++;
			m <<= 1;
		}
		if (m != 0)
			return ike_perr_set(e, IKE_N_INVALID_ID_INFORMATION,
			                    "ID subnet mask is not contiguous");
		p->addr = ntohl(a);
		p->plen = (uint8_t)n;
		return 0;
	}
	return ike_perr_set(e, IKE_N_INVALID_ID_INFORMATION,
	                    "ID type %u (expected IPV4_ADDR or IPV4_ADDR_SUBNET)", id.type);
}

static void
prefix_str(const struct ipsec_prefix *p, char *buf, size_t n)
{
	struct in_addr a = {htonl(p->addr)};
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, s, sizeof(s));
	snprintf(buf, n, "%s/%u", s, p->plen);
}

static int
qm1(struct ike_sa *sa, const struct ike_msg *m, const struct ike_hdr *h, const char *peer,
    struct ike_perr *e)
{
	struct ike *ike = sa->ike;
	struct ike_qm *q = NULL;
	const struct ike_pl *sa_pl, *nonce, *ke, *idci, *idcr;
	struct ike_sa_pl *sap = NULL;
	const struct ike_prop *pr = NULL;
	const struct ike_xform *x = NULL;
	struct p2_attrs a = {0};
	struct ike_wbuf *w = NULL;
	const struct ike_group *g = NULL;
	int pfs_group = ike->conf.pfs_group, r = -EBADMSG;
	uint8_t pfs_pub[IKE_MAX_DH];
	size_t hoff, off;

	for (int i = 0; i < ike->conf.ngrp; i++)
		if (strcmp(ike->conf.grp[i].name, ike_sa_group(sa)) == 0)
			g = &ike->conf.grp[i];
	if (pfs_group == 0 && g != NULL && g->pfs)
		pfs_group = sa->group;
	if (sa->xauth && !sa->xauth_ok)
		return ike_perr_set(e, IKE_N_AUTHENTICATION_FAILED,
		                    "Quick Mode before Xauth completed");
	if (ike_msg_verify_hash(sa, m, h->msgid, NULL, 0, e) < 0)
		return -EBADMSG;
	if (ike_step_check(STEP_QM1, m, e) < 0)
		return -EBADMSG;
	if (m->pl[1].type != IKE_PL_SA)
		return ike_perr_set(e, IKE_N_INVALID_PAYLOAD_TYPE,
		                    "Quick Mode: second payload is %u (expected SA)",
		                    m->n < 2 ? 0 : m->pl[1].type);
	sa_pl = &m->pl[1];
	nonce = ike_msg_find(m, IKE_PL_NONCE, 0);
	ke = ike_msg_find(m, IKE_PL_KE, 0);
	idci = ike_msg_find(m, IKE_PL_ID, 0);
	idcr = ike_msg_find(m, IKE_PL_ID, 1);
	if (nonce == NULL || nonce->len < 8 || nonce->len > sizeof(q->ni))
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED,
		                    "Quick Mode nonce %s (expected 8..%zu bytes)",
		                    nonce == NULL ? "missing" : "of bad length", sizeof(q->ni));
	if ((idci == NULL) != (idcr == NULL))
		return ike_perr_set(e, IKE_N_INVALID_ID_INFORMATION,
		                    "Quick Mode with one ID payload (expected none or two)");
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return ike_perr_set(e, 0, "out of memory");
	if (idci != NULL) {
		if (parse_proxy(idci, &q->rem, e) < 0 || parse_proxy(idcr, &q->loc, e) < 0)
			goto out;
	} else {
		q->rem.addr = ntohl(sa->peer.sin_addr.s_addr);
		q->rem.plen = 32;
		q->loc.addr = ntohl(sa->local.sin_addr.s_addr);
		q->loc.plen = 32;
	}
	{
		char ci[32], cr[32];

		prefix_str(&q->rem, ci, sizeof(ci));
		prefix_str(&q->loc, cr, sizeof(cr));
		log_info(LOG_IKE, "%s: ISAKMP (0): ID src %s dst %s", peer, ci, cr);
	}
	if (sa->addr != 0 && (q->rem.addr != sa->addr || q->rem.plen != 32)) {
		ike_perr_set(e, IKE_N_INVALID_ID_INFORMATION,
		             "IDci is not the client's assigned address");
		goto out;
	}
	sap = malloc(sizeof(*sap));
	if (sap == NULL) {
		ike_perr_set(e, 0, "out of memory");
		goto out;
	}
	if (ike_pld_parse_sa(sa_pl->body, sa_pl->len, sap, e) < 0)
		goto out;
	log_info(LOG_IKE, "%s: ISAKMP (0): processing SA payload. message ID = %u", peer, h->msgid);
	for (int p = 0; p < sap->nprop && x == NULL; p++) {
		const struct ike_prop *cp = &sap->prop[p];
		bool anded = (p + 1 < sap->nprop && sap->prop[p + 1].num == cp->num) ||
		             (p > 0 && sap->prop[p - 1].num == cp->num);

		log_info(LOG_IKE, "%s: ISAKMP : Checking IPsec proposal %u", peer, cp->num);
		if (anded) {
			log_info(LOG_IKE, "%s: ISAKMP (0): skipping ANDED proposal %u", peer,
			         cp->num);
			continue;
		}
		if (cp->proto != 3 || cp->spi_size != 4) {
			log_info(
			        LOG_IKE,
			        "%s: ISAKMP (0): proposal %u protocol %u SPI size %u (need ESP, 4)",
			        peer, cp->num, cp->proto, cp->spi_size);
			continue;
		}
		for (int t = 0; t < cp->nxf && x == NULL; t++) {
			const struct ike_xform *cx = &sap->xf[cp->first_xf + t];
			struct p2_attrs ca;

			if (p2_attrs_parse(cx, &ca, e) < 0)
				goto out;
			for (int s = 0; s < ike->conf.ntset; s++) {
				if (!tset_match(sa, peer, cx->id, &ca, &ike->conf.tset[s],
				                pfs_group))
					continue;
				x = cx;
				pr = cp;
				a = ca;
				log_info(LOG_IKE,
				         "%s: ISAKMP (0): atts are acceptable (transform set %s)",
				         peer, ike->conf.tset[s].name);
				break;
			}
		}
	}
	if (x == NULL) {
		ike_perr_set(e, IKE_N_NO_PROPOSAL_CHOSEN,
		             "no IPsec proposal of %d matches the %d transform sets", sap->nprop,
		             ike->conf.ntset);
		goto out;
	}
	q->esp_id = x->id;
	q->keybits = x->id == ESP_AES ? (a.keybits ? a.keybits : 128) : 0;
	q->auth_alg = a.auth;
	q->encap = a.encap;
	q->spi_out = (uint32_t)pr->spi[0] << 24 | (uint32_t)pr->spi[1] << 16 |
	             (uint32_t)pr->spi[2] << 8 | pr->spi[3];
	do
		ike_rand(&q->spi_in, sizeof(q->spi_in));
	while (q->spi_in < 256);
	q->life_s = ike->conf.qm_life_s;
	if (a.life_s != 0 && a.life_s < q->life_s)
		q->life_s = a.life_s;
	memcpy(q->ni, nonce->body, nonce->len);
	q->ni_len = nonce->len;
	q->nr_len = 20;
	ike_rand(q->nr, q->nr_len);
	if (a.group != 0) {
		struct ike_dh *dh = NULL;

		q->gxy_len = ike_dh_len(a.group);
		if (ke == NULL || ke->len != q->gxy_len) {
			ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION,
			             "PFS group %d: KE %s (expected %zu bytes)", a.group,
			             ke == NULL ? "missing" : "of wrong length", q->gxy_len);
			goto out;
		}
		if (ike_dh_new(a.group, &dh) < 0 || ike_dh_public(dh, pfs_pub, q->gxy_len) < 0 ||
		    ike_dh_shared(dh, ke->body, ke->len, q->gxy, q->gxy_len) < 0) {
			ike_dh_free(dh);
			ike_perr_set(e, IKE_N_INVALID_KEY_INFORMATION, "PFS DH failed");
			goto out;
		}
		ike_dh_free(dh);
	}
	w = malloc(sizeof(*w));
	if (w == NULL) {
		ike_perr_set(e, 0, "out of memory");
		goto out;
	}
	q->mid = h->msgid;
	hoff = ike_msg_begin_hashed(sa, w, IKE_EX_QUICK, h->msgid);
	off = ike_w_pl_begin(w, IKE_PL_SA);
	ike_w_u32(w, 1);
	ike_w_u32(w, 1);
	{
		size_t poff = w->len, toff, plen;

		ike_w_u8(w, 0);
		ike_w_u8(w, 0);
		ike_w_u16(w, 0);
		ike_w_u8(w, pr->num);
		ike_w_u8(w, 3);
		ike_w_u8(w, 4);
		ike_w_u8(w, 1);
		ike_w_u32(w, q->spi_in);
		toff = w->len;
		ike_w_bytes(w, x->raw, x->raw_len);
		if (!w->err) {
			w->buf[toff] = 0;
			plen = w->len - poff;
			w->buf[poff + 2] = (uint8_t)(plen >> 8);
			w->buf[poff + 3] = (uint8_t)plen;
		}
	}
	ike_w_pl_end(w, off);
	ike_w_pl(w, IKE_PL_NONCE, q->nr, q->nr_len);
	if (a.group != 0)
		ike_w_pl(w, IKE_PL_KE, pfs_pub, q->gxy_len);
	if (idci != NULL) {
		ike_w_pl(w, IKE_PL_ID, idci->body, idci->len);
		ike_w_pl(w, IKE_PL_ID, idcr->body, idcr->len);
	}
	if (a.life_s == 0 || a.life_s > q->life_s) {
		size_t noff = ike_w_pl_begin(w, IKE_PL_N);
		uint8_t life[4] = {(uint8_t)(q->life_s >> 24), (uint8_t)(q->life_s >> 16),
		                   (uint8_t)(q->life_s >> 8), (uint8_t)q->life_s};

		ike_w_u32(w, 1);
		ike_w_u8(w, 3);
		ike_w_u8(w, 4);
		ike_w_u16(w, IKE_N_RESPONDER_LIFETIME);
		ike_w_u32(w, q->spi_in);
		ike_w_attr_tv(w, IPSEC_A_LIFE_TYPE, 1);
		ike_w_attr_tlv(w, IPSEC_A_LIFE_DUR, life, 4);
		ike_w_pl_end(w, noff);
		log_info(LOG_IKE, "%s: ISAKMP (0): sending RESPONDER_LIFETIME notify (%u s)", peer,
		         q->life_s);
	}
	if (ike_msg_fill_hash(sa, w, hoff, h->msgid, q->ni, q->ni_len) < 0 ||
	    ike_msg_encrypt_send(sa, w, true) < 0) {
		ike_perr_set(e, 0, "Quick Mode message 2 could not be built");
		goto out;
	}
	log_info(LOG_IKE, "%s: IPSEC(spi_response): getting spi 0x%08x for SA from %s", peer,
	         q->spi_in, peer);
	sa->qm = q;
	q = NULL;
	r = 0;
out:
	ike_qm_free(q);
	free(sap);
	if (w != NULL) {
		OPENSSL_cleanse(w, sizeof(*w));
		free(w);
	}
	return r;
}

/* Derives the pair's keys into a temporary ipsec_sa_params, hands it to the backend and wipes
 * it: the child keeps only the SPIs and the backend handle. */
static int
install(struct ike_sa *sa, const struct ike_qm *q, const char *peer)
{
	struct ike *ike = sa->ike;
	struct ike_child *c = NULL;
	struct ipsec_sa_params params, *p = &params;
	bool udp;
	size_t ek = enc_keylen(q->esp_id, q->keybits), ak = auth_keylen(q->auth_alg);
	uint8_t km[128], spi[4];
	int r;

	for (int i = 0; i < IKE_MAX_CHILDREN; i++)
		if (!sa->child[i].used) {
			c = &sa->child[i];
			break;
		}
	if (c == NULL) {
		/* every slot holds a pair: the oldest is superseded by this rekey */
		c = &sa->child[0];
		for (int i = 1; i < IKE_MAX_CHILDREN; i++)
			if (sa->child[i].added_ms < c->added_ms)
				c = &sa->child[i];
		log_info(LOG_IKE,
		         "%s: %d IPsec SAs on one IKE SA: deleting the oldest (spi 0x%08x)", peer,
		         IKE_MAX_CHILDREN, c->spi_in);
		ike_info_delete_esp(sa, c->spi_in);
		ike_child_kill(sa, c, "superseded");
	}
	memset(c, 0, sizeof(*c));
	memset(p, 0, sizeof(*p));
	p->enc = q->esp_id == ESP_DES    ? IPSEC_ENC_DES
	         : q->esp_id == ESP_3DES ? IPSEC_ENC_3DES
	         : q->esp_id == ESP_AES  ? IPSEC_ENC_AES_CBC
	                                 : IPSEC_ENC_NULL;
	p->auth = q->auth_alg == 1   ? IPSEC_AUTH_HMAC_MD5_96
	          : q->auth_alg == 2 ? IPSEC_AUTH_HMAC_SHA1_96
	          : q->auth_alg == 5 ? IPSEC_AUTH_HMAC_SHA256_128
	                             : IPSEC_AUTH_NONE;
	for (int dir = 0; dir < 2; dir++) {
		struct ipsec_keys *k = dir == 0 ? &p->in : &p->out;
		uint32_t s = dir == 0 ? q->spi_in : q->spi_out;

		spi[0] = (uint8_t)(s >> 24);
		spi[1] = (uint8_t)(s >> 16);
		spi[2] = (uint8_t)(s >> 8);
		spi[3] = (uint8_t)s;
		r = ike_keymat(sa->hash, sa->skeyid_d, q->gxy_len ? q->gxy : NULL, q->gxy_len, 3,
		               spi, q->ni, q->ni_len, q->nr, q->nr_len, km, ek + ak);
		if (r < 0) {
			OPENSSL_cleanse(km, sizeof(km));
			OPENSSL_cleanse(p, sizeof(*p));
			return r;
		}
		k->spi = s;
		memcpy(k->enc_key, km, ek);
		k->enc_key_len = ek;
		memcpy(k->auth_key, km + ek, ak);
		k->auth_key_len = ak;
	}
	OPENSSL_cleanse(km, sizeof(km));
	p->local = sa->local;
	p->peer = sa->peer;
	p->udp_encap = q->encap == ENCAP_UDP_TUNNEL || q->encap == ENCAP_UDP_TUNNEL_DRAFT;
	if (p->udp_encap)
		p->local.sin_port = htons(ike->natt_port);
	p->remote_ts[0] = q->rem;
	p->n_remote_ts = 1;
	p->local_ts[0] = q->loc;
	p->n_local_ts = 1;
	/* IDcr 0.0.0.0/0 from a client of a split-tunnel vpngroup: narrow what the SA carries to
	 * the split-tunnel networks (the reply echoes the client's IDs, which clients insist on) */
	for (int i = 0; q->loc.plen == 0 && i < ike->conf.ngrp; i++) {
		const struct ike_group *g = &ike->conf.grp[i];

		if (strcmp(g->name, ike_sa_group(sa)) != 0 || g->nsplit == 0)
			continue;
		for (int k = 0; k < g->nsplit && k < IPSEC_MAX_SELECTORS; k++)
			p->local_ts[k] = g->split[k];
		p->n_local_ts = g->nsplit < IPSEC_MAX_SELECTORS ? g->nsplit : IPSEC_MAX_SELECTORS;
		log_info(LOG_IKE, "%s: IDcr 0.0.0.0/0 narrowed to %d split-tunnel network%s of %s",
		         peer, p->n_local_ts, p->n_local_ts == 1 ? "" : "s", g->name);
	}
	p->hard_lifetime_s = q->life_s;
	p->soft_lifetime_s = q->life_s - q->life_s / 10;
	p->hard_lifetime_bytes = (uint64_t)ike->conf.qm_life_kb * 1024;
	p->soft_lifetime_bytes = p->hard_lifetime_bytes - p->hard_lifetime_bytes / 10;
	p->replay_window = 64;
	p->owner = sa->id;
	c->spi_in = q->spi_in;
	c->spi_out = q->spi_out;
	c->added_ms = loop_now_ms();
	c->esp_id = (uint8_t)q->esp_id;
	c->auth_alg = (uint8_t)q->auth_alg;
	c->keybits = (uint16_t)q->keybits;
	if (ike->be == NULL) {
		log_error(LOG_IKE, "%s: no IPsec backend", peer);
		r = -ENODEV;
	} else {
		r = ike->be->ops->sa_add(ike->be, p, &c->handle);
		if (r < 0)
			log_error(LOG_IKE, "%s: backend %s sa_add: %s", peer, ike->be->ops->name,
			          strerror(-r));
	}
	udp = p->udp_encap;
	OPENSSL_cleanse(p, sizeof(*p));
	if (r < 0) {
		uint32_t spi_in = c->spi_in;

		OPENSSL_cleanse(c, sizeof(*c));
		/* the client installed its side at QM2/QM3: a DELETE tells it at once that this
		 * SA pair does not exist here, instead of a tunnel that carries nothing */
		ike_info_delete_esp(sa, spi_in);
		ike_fail(sa, 0,
		         "IPsec SA pair spi in 0x%08x not installed (backend: %s); DELETE sent",
		         spi_in, strerror(-r));
		return r;
	}
	c->used = true;
	{
		char rem[32], loc[32];

		prefix_str(&q->rem, rem, sizeof(rem));
		prefix_str(&q->loc, loc, sizeof(loc));
		log_info(LOG_IKE,
		         "%s: ISAKMP (0): Creating IPsec SAs: inbound SA spi 0x%08x, outbound SA "
		         "spi 0x%08x, %s/%s, proxy %s <-> %s, lifetime %u s%s",
		         peer, c->spi_in, c->spi_out, esp_name(q->esp_id),
		         q->auth_alg == 1   ? "esp-md5-hmac"
		         : q->auth_alg == 2 ? "esp-sha-hmac"
		                            : "?",
		         loc, rem, q->life_s, udp ? ", UDP-encapsulated" : "");
	}
	if (sa->state != ST_ESTAB) {
		ike_sa_set_state(sa, ST_ESTAB);
		sa->established_ms = loop_now_ms();
	}
	ike_tunnel_up(sa, c);
	return 0;
}

void
ike_quick_input(struct ike_sa *sa, const struct ike_msg *m, const struct ike_hdr *h)
{
	struct ike_perr e = {0};
	struct ike_qm *q = sa->qm;
	char peer[32];

	ike_peer_str(&sa->peer, peer, sizeof(peer));
	if (h->flags != IKE_FLAG_ENC) {
		ike_fail(sa, IKE_N_INVALID_FLAGS, "Quick Mode flags 0x%02x (expected 0x01)",
		         h->flags);
		return;
	}
	log_info(LOG_IKE, "%s: crypto_isakmp_process_block: OAK_QM exchange, message ID %u", peer,
	         h->msgid);
	if (q != NULL && h->msgid == q->mid) {
		uint8_t zero = 0, hb[IKE_MAX_HASH];
		uint8_t mid[4] = {(uint8_t)(h->msgid >> 24), (uint8_t)(h->msgid >> 16),
		                  (uint8_t)(h->msgid >> 8), (uint8_t)h->msgid};
		struct ike_iov v[4] = {
		        {&zero, 1}, {mid, 4}, {q->ni, q->ni_len}, {q->nr, q->nr_len}};

		if (ike_step_check(STEP_QM3, m, &e) < 0 || m->pl[0].len != sa->hlen ||
		    ike_prf(sa->hash, sa->skeyid_a, sa->hlen, v, 4, hb) < 0 ||
		    CRYPTO_memcmp(hb, m->pl[0].body, sa->hlen) != 0) {
			ike_fail(sa, IKE_N_INVALID_HASH_INFORMATION,
			         "Quick Mode HASH(3) missing or wrong (message ID %u)", h->msgid);
			return;
		}
		ike_rtx_stop(sa);
		sa->qm = NULL;
		ike_xchg_drop(sa, h->msgid);
		install(sa, q, peer);
		ike_qm_free(q);
		/* nothing answers QM3: the cached QM2 (or Mode Config reply) is no longer needed */
		free(sa->last_out);
		sa->last_out = NULL;
		sa->last_out_len = 0;
		return;
	}
	if (q != NULL) {
		log_info(LOG_IKE, "%s: Quick Mode %u replaces unfinished %u", peer, h->msgid,
		         q->mid);
		ike_xchg_drop(sa, q->mid);
		sa->qm = NULL;
		ike_qm_free(q);
	}
	if (sa->state != ST_CFG && sa->state != ST_ESTAB) {
		ike_fail(sa, 0, "Quick Mode in state %s ignored", ike_state_name(sa->state));
		return;
	}
	if (qm1(sa, m, h, peer, &e) < 0) {
		ike_xchg_drop(sa, h->msgid);
		ike_fail(sa, e.notify, "Quick Mode rejected: %s", e.msg);
	}
}
