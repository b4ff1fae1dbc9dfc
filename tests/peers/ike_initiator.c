/* Test IKEv1 initiator (see ike_initiator.h). Deliberately small and strict: every message it
 * receives is checked the way vpnc and strongSwan check them (one proposal and one transform in
 * replies, HASH_R, HASH(2) and transaction hashes verified). */
#include "peers/ike_initiator.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

static int ierr(struct ike_init *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
ierr(struct ike_init *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->err, sizeof(in->err), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

int
ike_init_open(struct ike_init *in, const struct ike_init_cfg *cfg)
{
	return ike_init_open_from(in, cfg, INADDR_LOOPBACK);
}

int
ike_init_open_from(struct ike_init *in, const struct ike_init_cfg *cfg, uint32_t src)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(src)};

	memset(in, 0, sizeof(*in));
	in->cfg = *cfg;
	if (in->cfg.timeout_ms == 0)
		in->cfg.timeout_ms = 3000;
	if (in->cfg.dh_group == 0)
		in->cfg.dh_group = 2;
	in->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (in->fd < 0)
		return -errno;
	if (bind(in->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    connect(in->fd, (const struct sockaddr *)&cfg->server, sizeof(cfg->server)) < 0) {
		int r = -errno;

		snprintf(in->err, sizeof(in->err), "bind/connect: %s", strerror(errno));
		close(in->fd);
		in->fd = -1;
		return r;
	}
	return 0;
}

void
ike_init_close(struct ike_init *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	ike_sa_free_blocks(&in->sa);
	OPENSSL_cleanse(&in->sa, sizeof(in->sa));
}

/* Receives one IKE message; once floated to the NAT-T port, strips the non-ESP marker (and skips
 * NAT keepalives, which a responder that sees us behind a NAT sends). */
static int
recv_raw(struct ike_init *in, uint8_t *buf, size_t cap)
{
	struct pollfd p = {.fd = in->fd, .events = POLLIN};
	ssize_t n;

	for (;;) {
		if (poll(&p, 1, in->cfg.timeout_ms) <= 0)
			return ierr(in, "no answer within %d ms", in->cfg.timeout_ms);
		n = recv(in->fd, buf, cap, 0);
		if (n < 0)
			return ierr(in, "recv: %s", strerror(errno));
		if (!in->floated)
			return (int)n;
		if (n == 1 && buf[0] == 0xff)
			continue; /* NAT keepalive */
		if (n < 4 || buf[0] != 0 || buf[1] != 0 || buf[2] != 0 || buf[3] != 0)
			return ierr(in, "NAT-T port: %zd bytes without the non-ESP marker", n);
		memmove(buf, buf + 4, (size_t)n - 4);
		return (int)n - 4;
	}
}

/* Sends one IKE message, with the non-ESP marker once floated to the NAT-T port. */
static int
send_msg(struct ike_init *in, const uint8_t *buf, size_t len)
{
	static const uint8_t marker[4];
	struct iovec v[2] = {{(void *)marker, sizeof(marker)}, {(void *)buf, len}};
	struct msghdr mh = {.msg_iov = in->floated ? v : v + 1, .msg_iovlen = in->floated ? 2 : 1};

	if (sendmsg(in->fd, &mh, 0) < 0)
		return -errno;
	return 0;
}

int
ike_init_raw(struct ike_init *in, const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
	int r = send_msg(in, buf, len);

	return r < 0 ? r : recv_raw(in, out, cap);
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d != NULL)
		memcpy(d, p, n);
	return d;
}

/* Pads, encrypts with the IV chain of the message ID and sends. */
static int
send_enc(struct ike_init *in, struct ike_wbuf *w)
{
	struct ike_sa *sa = &in->sa;
	uint32_t mid;
	uint8_t *iv;

	while ((w->len - IKE_HDR_LEN) % sa->blk != 0)
		ike_w_u8(w, 0);
	ike_w_finish(w);
	if (w->err)
		return ierr(in, "message too large");
	mid = (uint32_t)w->buf[20] << 24 | (uint32_t)w->buf[21] << 16 | (uint32_t)w->buf[22] << 8 |
	      w->buf[23];
	/* M-ID 0 continues phase 1's chain, except in an informational (as ike_msg.c) */
	iv = mid == 0 && w->buf[18] != IKE_EX_INFO ? sa->iv
	                                           : ike_xchg_get(sa, mid, w->buf[18], true)->iv;
	if (ike_cbc(sa->enc, sa->key, sa->keylen, iv, w->buf + IKE_HDR_LEN, w->len - IKE_HDR_LEN,
	            true) < 0)
		return ierr(in, "encryption failed");
	if (w->buf[18] == IKE_EX_INFO)
		ike_xchg_drop(sa, mid);
	if (send_msg(in, w->buf, w->len) < 0)
		return ierr(in, "send: %s", strerror(errno));
	return 0;
}

/* Receives one encrypted message into buf and parses it into m. */
static int
recv_enc(struct ike_init *in, uint8_t *buf, size_t cap, struct ike_msg *m)
{
	struct ike_sa *sa = &in->sa;
	struct ike_perr e = {0};
	struct ike_xchg *x;
	uint8_t tmp[IKE_MAX_BLOCK];
	int n;

	n = recv_raw(in, buf, cap);
	if (n < 0)
		return n;
	if (ike_pld_validate_hdr(buf, (size_t)n, &m->hdr, &e) < 0)
		return ierr(in, "header: %s", e.msg);
	if (!(m->hdr.flags & IKE_FLAG_ENC))
		return ierr(in, "unencrypted message (exchange %u)", m->hdr.exch);
	if ((n - IKE_HDR_LEN) % sa->blk != 0)
		return ierr(in, "encrypted length %d not a block multiple", n - IKE_HDR_LEN);
	x = ike_xchg_get(sa, m->hdr.msgid, m->hdr.exch, true);
	memcpy(tmp, x->iv, sa->blk);
	if (ike_cbc(sa->enc, sa->key, sa->keylen, m->hdr.exch == IKE_EX_INFO ? tmp : x->iv,
	            buf + IKE_HDR_LEN, (size_t)n - IKE_HDR_LEN, false) < 0)
		return ierr(in, "decryption failed");
	if (m->hdr.exch == IKE_EX_INFO)
		ike_xchg_drop(sa, m->hdr.msgid);
	if (ike_pld_validate_chain(m->hdr.np, buf + IKE_HDR_LEN, (size_t)n - IKE_HDR_LEN, true, m,
	                           &e) < 0)
		return ierr(in, "payloads: %s", e.msg);
	if (ike_msg_verify_hash(sa, m, m->hdr.msgid, NULL, 0, &e) < 0 &&
	    m->hdr.exch != IKE_EX_QUICK)
		return ierr(in, "hash: %s", e.msg);
	return n;
}

static void
p1_transform(struct ike_wbuf *w, uint8_t num, bool last, int enc, int hash, int group)
{
	size_t off = w->len;

	ike_w_u8(w, last ? 0 : IKE_PL_T);
	ike_w_u8(w, 0);
	ike_w_u16(w, 0);
	ike_w_u8(w, num);
	ike_w_u8(w, 1); /* KEY_IKE */
	ike_w_u16(w, 0);
	/* key length first, as real clients do for AES: order must not matter */
	ike_w_attr_tv(w, IKE_A_ENC, (uint16_t)enc);
	ike_w_attr_tv(w, IKE_A_HASH, (uint16_t)hash);
	ike_w_attr_tv(w, IKE_A_GROUP, (uint16_t)group);
	ike_w_attr_tv(w, IKE_A_AUTH, IKE_AUTH_XAUTH_INIT_PSK);
	ike_w_attr_tv(w, IKE_A_LIFE_TYPE, 1);
	ike_w_attr_tlv(w, IKE_A_LIFE_DUR, "\x00\x20\xc4\x9b", 4); /* 2147483 s */
	if (!w->err) {
		w->buf[off + 2] = (uint8_t)((w->len - off) >> 8);
		w->buf[off + 3] = (uint8_t)(w->len - off);
	}
}

int
ike_init_phase1(struct ike_init *in)
{
	static const uint8_t vid_xauth[8] = {0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12};
	static const uint8_t vid_unity[16] = {0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68, 0xa9,
	                                      0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc, 0x01, 0x00};
	static const uint8_t vid_dpd[16] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
	                                    0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
	/* NAT-T, what vpnc sends (RFC 3947, drafts 02\n, 02, 01, 00), then draft 03, which a
	 * responder may send back */
	static const uint8_t vid_natt[6][16] = {{0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
	                                         0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f},
	                                        {0x90, 0xcb, 0x80, 0x91, 0x3e, 0xbb, 0x69, 0x6e,
	                                         0x08, 0x63, 0x81, 0xb5, 0xec, 0x42, 0x7b, 0x1f},
	                                        {0xcd, 0x60, 0x46, 0x43, 0x35, 0xdf, 0x21, 0xf8,
	                                         0x7c, 0xfd, 0xb2, 0xfc, 0x68, 0xb6, 0xa4, 0x48},
	                                        {0x16, 0xf6, 0xca, 0x16, 0xe4, 0xa4, 0x06, 0x6d,
	                                         0x83, 0x82, 0x1a, 0x0f, 0x0a, 0xea, 0xa8, 0x62},
	                                        {0x44, 0x85, 0x15, 0x2d, 0x18, 0xb6, 0xbb, 0xcd,
	                                         0x0b, 0xe8, 0xa8, 0x46, 0x95, 0x79, 0xdd, 0xcc},
	                                        {0x7d, 0x94, 0x19, 0xa6, 0x53, 0x10, 0xca, 0x6f,
	                                         0x2c, 0x17, 0x9d, 0x92, 0x15, 0x52, 0x9d, 0x56}};
	static const uint8_t zero[8];
	struct ike_sa *sa = &in->sa;
	struct ike_p1 *p1;
	struct ike_wbuf *w = calloc(1, sizeof(*w)), body = {0};
	uint8_t *buf = malloc(IKE_MAX_DATAGRAM);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_perr e = {0};
	struct ike_sa_pl *sap = malloc(sizeof(*sap));
	const struct ike_pl *ke, *no, *id, *hp, *sp;
	uint8_t h[IKE_MAX_HASH];
	size_t off, poff;
	int n, r = -EPROTO;

	if (w == NULL || buf == NULL || m == NULL || sap == NULL)
		goto out;
	/* the responder's phase 1 block (ike_sa_free_blocks() in ike_init_close() frees it) */
	if (sa->p1 == NULL)
		sa->p1 = calloc(1, sizeof(*sa->p1));
	if (sa->p1 == NULL)
		goto out;
	p1 = sa->p1;
	ike_rand(sa->ci, 8);
	sa->hash = IKE_HASH_MD5;
	sa->hlen = 16;
	sa->enc = IKE_ENC_DES;
	sa->keylen = 8;
	sa->blk = 8;
	sa->group = in->cfg.dh_group;
	p1->gx_len = ike_dh_len(sa->group);
	snprintf(p1->psk, sizeof(p1->psk), "%s", in->cfg.psk);
	if (in->cfg.dh_fixed != NULL ? ike_dh_public(in->cfg.dh_fixed, p1->gxi, p1->gx_len) < 0
	                             : ike_dh_new(sa->group, &p1->dh) < 0 ||
	                                       ike_dh_public(p1->dh, p1->gxi, p1->gx_len) < 0) {
		r = ierr(in, "DH setup failed");
		goto out;
	}
	p1->ni_len = 20;
	ike_rand(p1->ni, p1->ni_len);

	/* SA body: an unacceptable 3DES/SHA transform first, then DES/MD5 */
	ike_w_u32(&body, 1);
	ike_w_u32(&body, 1);
	poff = body.len;
	ike_w_u8(&body, 0);
	ike_w_u8(&body, 0);
	ike_w_u16(&body, 0);
	ike_w_u8(&body, 1);
	ike_w_u8(&body, 1);
	ike_w_u8(&body, 0);
	ike_w_u8(&body, 2);
	p1_transform(&body, 1, false, IKE_ENC_3DES, IKE_HASH_SHA1, sa->group);
	p1_transform(&body, 2, true, IKE_ENC_DES, IKE_HASH_MD5, sa->group);
	body.buf[poff + 2] = (uint8_t)((body.len - poff) >> 8);
	body.buf[poff + 3] = (uint8_t)(body.len - poff);
	p1->sai_b = dup_bytes(body.buf, body.len);
	p1->sai_len = body.len;
	{
		uint8_t idb[64 + 4] = {IKE_ID_KEY_ID, 17, 500 >> 8, 500 & 0xff};
		size_t gl = strlen(in->cfg.group);

		memcpy(idb + 4, in->cfg.group, gl);
		p1->idi_b = dup_bytes(idb, gl + 4);
		p1->idi_len = gl + 4;
	}
	ike_w_hdr(w, sa->ci, zero, IKE_EX_AGGR, 0, 0);
	ike_w_pl(w, IKE_PL_SA, p1->sai_b, p1->sai_len);
	ike_w_pl(w, IKE_PL_KE, p1->gxi, p1->gx_len);
	ike_w_pl(w, IKE_PL_NONCE, p1->ni, p1->ni_len);
	ike_w_pl(w, IKE_PL_ID, p1->idi_b, p1->idi_len);
	ike_w_pl(w, IKE_PL_VID, vid_xauth, sizeof(vid_xauth));
	if (in->cfg.unity)
		ike_w_pl(w, IKE_PL_VID, vid_unity, sizeof(vid_unity));
	ike_w_pl(w, IKE_PL_VID, vid_dpd, sizeof(vid_dpd));
	for (int i = in->cfg.natt_draft ? 1 : 0; in->cfg.natt && i < 5; i++)
		ike_w_pl(w, IKE_PL_VID, vid_natt[i], 16);
	ike_w_finish(w);
	in->floated = false;
	if (send_msg(in, w->buf, w->len) < 0) {
		r = ierr(in, "send AM1: %s", strerror(errno));
		goto out;
	}

	n = recv_raw(in, buf, IKE_MAX_DATAGRAM);
	if (n < 0) {
		r = n;
		goto out;
	}
	if (ike_pld_validate_hdr(buf, (size_t)n, &m->hdr, &e) < 0 ||
	    ike_pld_validate_chain(m->hdr.np, buf + IKE_HDR_LEN, (size_t)n - IKE_HDR_LEN, false, m,
	                           &e) < 0) {
		r = ierr(in, "AM2: %s", e.msg);
		goto out;
	}
	if (m->hdr.exch != IKE_EX_AGGR || m->hdr.flags != 0) {
		r = ierr(in, "AM2: exchange %u flags %u (expected 4, 0)", m->hdr.exch,
		         m->hdr.flags);
		goto out;
	}
	memcpy(sa->cr, m->hdr.rcookie, 8);
	sp = ike_msg_find(m, IKE_PL_SA, 0);
	ke = ike_msg_find(m, IKE_PL_KE, 0);
	no = ike_msg_find(m, IKE_PL_NONCE, 0);
	id = ike_msg_find(m, IKE_PL_ID, 0);
	hp = ike_msg_find(m, IKE_PL_HASH, 0);
	if (sp == NULL || ke == NULL || no == NULL || id == NULL || hp == NULL ||
	    ke->len != p1->gx_len || hp->len != sa->hlen || no->len > sizeof(p1->nr)) {
		r = ierr(in, "AM2: payload missing or of wrong size");
		goto out;
	}
	if (ike_pld_parse_sa(sp->body, sp->len, sap, &e) < 0 || sap->nprop != 1 || sap->nxf != 1 ||
	    sap->xf[0].num != 2) {
		r = ierr(in, "AM2: SA must carry one proposal with transform 2 (%s)", e.msg);
		goto out;
	}
	in->natt_vid = 0;
	for (int i = 0; i < m->n; i++) {
		if (m->pl[i].type != IKE_PL_VID || m->pl[i].len != 16)
			continue;
		if (memcmp(m->pl[i].body, vid_natt[0], 16) == 0)
			in->natt_vid = 1;
		else if (in->natt_vid == 0 && (memcmp(m->pl[i].body, vid_natt[1], 16) == 0 ||
		                               memcmp(m->pl[i].body, vid_natt[2], 16) == 0 ||
		                               memcmp(m->pl[i].body, vid_natt[5], 16) == 0))
			in->natt_vid = 2;
	}
	if (in->cfg.natt) {
		int natd = 0;

		for (int i = 0; i < m->n; i++)
			natd += m->pl[i].type ==
			        (in->natt_vid == 1 ? IKE_PL_NATD : IKE_PL_NATD_DRAFT);
		if (in->natt_vid == 0 || natd != 2) {
			r = ierr(in,
			         "AM2: NAT-T vendor ID %s, %d NAT-D payloads (expected one of ours "
			         "and 2)",
			         in->natt_vid == 0 ? "missing" : "present", natd);
			goto out;
		}
	}
	memcpy(p1->gxr, ke->body, p1->gx_len);
	memcpy(p1->nr, no->body, no->len);
	p1->nr_len = no->len;
	if (ike_dh_shared(in->cfg.dh_fixed != NULL ? in->cfg.dh_fixed : p1->dh, p1->gxr, p1->gx_len,
	                  p1->gxy, p1->gx_len) < 0 ||
	    ike_aggr_derive_keys(sa) < 0) {
		r = ierr(in, "AM2: key derivation failed");
		goto out;
	}
	if (ike_aggr_auth_hash(sa, false, id->body, id->len, h) < 0 ||
	    CRYPTO_memcmp(h, hp->body, sa->hlen) != 0) {
		r = ierr(in, "AM2: HASH_R does not verify (wrong group password?)");
		goto out;
	}
	if (ike_aggr_auth_hash(sa, true, p1->idi_b, p1->idi_len, h) < 0) {
		r = ierr(in, "HASH_I failed");
		goto out;
	}
	ike_w_hdr(w, sa->ci, sa->cr, IKE_EX_AGGR, IKE_FLAG_ENC, 0);
	ike_w_pl(w, IKE_PL_HASH, h, sa->hlen);
	if (!in->cfg.rekey) {
		off = ike_w_pl_begin(w, IKE_PL_N);
		ike_w_u32(w, 1);
		ike_w_u8(w, 1);
		ike_w_u8(w, 16);
		ike_w_u16(w, IKE_N_INITIAL_CONTACT);
		ike_w_bytes(w, sa->ci, 8);
		ike_w_bytes(w, sa->cr, 8);
		ike_w_pl_end(w, off);
	}
	if (in->cfg.natt) {
		/* NAT-D: the responder's address as we see it, then ours, deliberately wrong so
		 * that the responder finds us behind a NAT; then float to its NAT-T port */
		uint8_t t = in->natt_vid == 1 ? IKE_PL_NATD : IKE_PL_NATD_DRAFT;
		struct sockaddr_in me, srv = in->cfg.server;
		socklen_t ml = sizeof(me);

		if (getsockname(in->fd, (struct sockaddr *)&me, &ml) < 0) {
			r = ierr(in, "getsockname: %s", strerror(errno));
			goto out;
		}
		ike_p1_natd_hash(sa, &srv, h);
		ike_w_pl(w, t, h, sa->hlen);
		ike_p1_natd_hash(sa, &me, h);
		h[0] ^= 0xff;
		ike_w_pl(w, t, h, sa->hlen);
		srv.sin_port = htons(in->cfg.natt_port ? in->cfg.natt_port : 4500);
		if (connect(in->fd, (const struct sockaddr *)&srv, sizeof(srv)) < 0) {
			r = ierr(in, "connect to the NAT-T port: %s", strerror(errno));
			goto out;
		}
		in->floated = true;
	}
	r = send_enc(in, w);
out:
	free(sap);
	free(m);
	free(buf);
	free(w);
	return r;
}

static int
send_attrs(struct ike_init *in, uint32_t mid, uint8_t type, uint16_t id, const struct ike_wbuf *a)
{
	struct ike_wbuf *w = calloc(1, sizeof(*w));
	size_t hoff, off;
	int r;

	if (w == NULL)
		return -ENOMEM;
	hoff = ike_msg_begin_hashed(&in->sa, w, IKE_EX_TRANSACTION, mid);
	off = ike_w_pl_begin(w, IKE_PL_ATTR);
	ike_w_u8(w, type);
	ike_w_u8(w, 0);
	ike_w_u16(w, id);
	ike_w_bytes(w, a->buf, a->len);
	ike_w_pl_end(w, off);
	r = ike_msg_fill_hash(&in->sa, w, hoff, mid, NULL, 0);
	if (r == 0)
		r = send_enc(in, w);
	free(w);
	return r;
}

int
ike_init_xauth(struct ike_init *in, struct ike_init_result *res)
{
	uint8_t *buf = malloc(IKE_MAX_DATAGRAM);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_wbuf *a = calloc(1, sizeof(*a));
	int r = -EPROTO;

	if (buf == NULL || m == NULL || a == NULL)
		goto out;
	for (int round = 0; round < 8; round++) {
		struct ike_perr e = {0};
		struct ike_cfg_hdr ch;
		struct ike_cur c;
		struct ike_attr at;

		r = recv_enc(in, buf, IKE_MAX_DATAGRAM, m);
		if (r < 0)
			goto out;
		r = -EPROTO;
		if (m->hdr.exch != IKE_EX_TRANSACTION || m->n != 2 ||
		    m->pl[1].type != IKE_PL_ATTR ||
		    ike_pld_parse_cfg(m->pl[1].body, m->pl[1].len, &ch, &e) < 0) {
			r = ierr(in,
			         "Xauth: expected HASH + ATTR transaction (exchange %u, %d "
			         "payloads)",
			         m->hdr.exch, m->n);
			goto out;
		}
		a->len = 0;
		a->err = false;
		ike_cur_init(&c, ch.attrs, ch.attrs_len);
		if (ch.type == CFG_SET) {
			int nattr = 0;

			while (ike_attr_next(&c, &at, &e) > 0) {
				nattr++;
				if (at.type == XAUTH_STATUS && at.tv)
					res->xauth_status = at.v16;
			}
			if (nattr != 1) {
				r = ierr(in, "Xauth SET carries %d attributes (expected 1)", nattr);
				goto out;
			}
			ike_w_attr_tv(a, XAUTH_STATUS, res->xauth_status);
			r = send_attrs(in, m->hdr.msgid, CFG_ACK, ch.id, a);
			goto out;
		}
		if (ch.type != CFG_REQUEST) {
			r = ierr(in, "Xauth: attribute payload type %u", ch.type);
			goto out;
		}
		res->xauth_rounds++;
		while (ike_attr_next(&c, &at, &e) > 0) {
			if (at.type == XAUTH_TYPE)
				ike_w_attr_tv(a, XAUTH_TYPE, 0);
			else if (at.type == XAUTH_USER_NAME)
				ike_w_attr_tlv(a, at.type, in->cfg.user,
				               (uint16_t)strlen(in->cfg.user));
			else if (at.type == XAUTH_USER_PASSWORD)
				ike_w_attr_tlv(a, at.type, in->cfg.password,
				               (uint16_t)strlen(in->cfg.password));
		}
		r = send_attrs(in, m->hdr.msgid, CFG_REPLY, ch.id, a);
		if (r < 0)
			goto out;
	}
	r = ierr(in, "Xauth: no SET after 8 rounds");
out:
	free(a);
	free(m);
	free(buf);
	return r;
}

int
ike_init_modecfg(struct ike_init *in, struct ike_init_result *res)
{
	uint8_t *buf = malloc(IKE_MAX_DATAGRAM);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_wbuf *a = calloc(1, sizeof(*a));
	struct ike_perr e = {0};
	struct ike_cfg_hdr ch;
	struct ike_cur c;
	struct ike_attr at;
	uint32_t mid = ike_new_mid(&in->sa);
	int r = -EPROTO;

	if (buf == NULL || m == NULL || a == NULL)
		goto out;
	ike_w_attr_tlv(a, CFG_IP4_ADDRESS, NULL, 0);
	ike_w_attr_tlv(a, CFG_IP4_NETMASK, NULL, 0);
	ike_w_attr_tlv(a, CFG_IP4_DNS, NULL, 0);
	ike_w_attr_tlv(a, CFG_ADDRESS_EXPIRY, NULL, 0);
	ike_w_attr_tlv(a, UNITY_SPLIT_INCLUDE, NULL, 0);
	ike_w_attr_tlv(a, UNITY_BANNER, NULL, 0);
	ike_w_attr_tlv(a, UNITY_DEF_DOMAIN, NULL, 0);
	ike_w_attr_tlv(a, UNITY_SAVE_PASSWD, NULL, 0);
	r = send_attrs(in, mid, CFG_REQUEST, 20, a);
	if (r < 0)
		goto out;
	for (int tries = 0;; tries++) {
		r = recv_enc(in, buf, IKE_MAX_DATAGRAM, m);
		if (r < 0)
			goto out;
		r = -EPROTO;
		if (m->n != 2 || m->pl[1].type != IKE_PL_ATTR ||
		    ike_pld_parse_cfg(m->pl[1].body, m->pl[1].len, &ch, &e) < 0) {
			r = ierr(in, "Mode Config: expected an attribute payload");
			goto out;
		}
		if (ch.type == CFG_SET && tries == 0) {
			/* the gateway pushes (client configuration address initiate): ACK it
			 * empty, as strongSwan does, and keep waiting for our REPLY */
			struct ike_wbuf ack = {0};

			res->pushed = true;
			r = send_attrs(in, m->hdr.msgid, CFG_ACK, ch.id, &ack);
			if (r < 0)
				goto out;
			continue;
		}
		if (m->hdr.msgid != mid || ch.type != CFG_REPLY) {
			r = ierr(in, "Mode Config: expected a REPLY with message ID %u", mid);
			goto out;
		}
		break;
	}
	ike_cur_init(&c, ch.attrs, ch.attrs_len);
	while (ike_attr_next(&c, &at, &e) > 0) {
		uint32_t v = 0;

		if (!at.tv && at.len == 4)
			v = (uint32_t)at.val[0] << 24 | (uint32_t)at.val[1] << 16 |
			    (uint32_t)at.val[2] << 8 | at.val[3];
		switch (at.type) {
		case CFG_IP4_ADDRESS:
			res->addr = v;
			break;
		case CFG_IP4_NETMASK:
			res->netmask = v;
			break;
		case CFG_IP4_DNS:
			res->dns = v;
			break;
		case CFG_ADDRESS_EXPIRY:
			r = ierr(in, "unsupported ADDRESS_EXPIRY came back");
			goto out;
		case UNITY_SPLIT_INCLUDE:
			res->got_split = true;
			for (size_t i = 0; i + 14 <= at.len && res->nsplit < 4; i += 14) {
				uint32_t ad, mk;

				memcpy(&ad, at.val + i, 4);
				memcpy(&mk, at.val + i + 4, 4);
				mk = ntohl(mk);
				res->split[res->nsplit].addr = ntohl(ad);
				res->split[res->nsplit].plen = 0;
				while (mk & 0x80000000u) {
					res->split[res->nsplit].plen++;
					mk <<= 1;
				}
				res->nsplit++;
			}
			break;
		case UNITY_BANNER:
			res->got_banner = true;
			break;
		case UNITY_DEF_DOMAIN:
			res->got_domain = true;
			break;
		}
	}
	r = res->addr != 0 ? 0 : ierr(in, "Mode Config REPLY without INTERNAL_IP4_ADDRESS");
out:
	free(a);
	free(m);
	free(buf);
	return r;
}

static void
esp_proposal(struct ike_wbuf *w, uint8_t num, bool last, uint32_t spi, uint8_t esp_id, int auth,
             int keybits, int pfs_group, uint16_t encap)
{
	size_t poff = w->len, toff;

	ike_w_u8(w, last ? 0 : IKE_PL_P);
	ike_w_u8(w, 0);
	ike_w_u16(w, 0);
	ike_w_u8(w, num);
	ike_w_u8(w, 3);
	ike_w_u8(w, 4);
	ike_w_u8(w, 1);
	ike_w_u32(w, spi);
	toff = w->len;
	ike_w_u8(w, 0);
	ike_w_u8(w, 0);
	ike_w_u16(w, 0);
	ike_w_u8(w, 1);
	ike_w_u8(w, esp_id);
	ike_w_u16(w, 0);
	ike_w_attr_tv(w, IPSEC_A_LIFE_TYPE, 1);
	ike_w_attr_tlv(w, IPSEC_A_LIFE_DUR, "\x00\x20\xc4\x9b", 4);
	if (pfs_group)
		ike_w_attr_tv(w, IPSEC_A_GROUP, (uint16_t)pfs_group);
	ike_w_attr_tv(w, IPSEC_A_AUTH, (uint16_t)auth);
	ike_w_attr_tv(w, IPSEC_A_ENCAP, encap);
	if (keybits)
		ike_w_attr_tv(w, IPSEC_A_KEYLEN, (uint16_t)keybits);
	if (!w->err) {
		w->buf[toff + 2] = (uint8_t)((w->len - toff) >> 8);
		w->buf[toff + 3] = (uint8_t)(w->len - toff);
		w->buf[poff + 2] = (uint8_t)((w->len - poff) >> 8);
		w->buf[poff + 3] = (uint8_t)(w->len - poff);
	}
}

int
ike_init_quick(struct ike_init *in, struct ike_init_result *res)
{
	struct ike_sa *sa = &in->sa;
	struct ike_wbuf *w = calloc(1, sizeof(*w)), *body = calloc(1, sizeof(*body));
	uint8_t *buf = malloc(IKE_MAX_DATAGRAM);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_sa_pl *sap = malloc(sizeof(*sap));
	struct ike_dh *dh = NULL;
	struct ike_perr e = {0};
	uint8_t ni[20], nr[64], gx[IKE_MAX_DH], gxy[IKE_MAX_DH], idci[8], idcr[12];
	size_t nr_len = 0, gl = 0, hoff;
	uint32_t mid = ike_new_mid(sa), a;
	const struct ike_pl *no, *ke;
	int r = -EPROTO, want_id, want_auth, keybits = 0;
	size_t ek, ak;

	if (w == NULL || body == NULL || buf == NULL || m == NULL || sap == NULL)
		goto out;
	ike_rand(ni, sizeof(ni));
	do
		ike_rand(&res->spi_in, 4);
	while (res->spi_in < 256);
	if (in->cfg.pfs_group) {
		gl = ike_dh_len(in->cfg.pfs_group);
		if (ike_dh_new(in->cfg.pfs_group, &dh) < 0 || ike_dh_public(dh, gx, gl) < 0)
			goto out;
	}
	ike_w_u32(body, 1);
	ike_w_u32(body, 1);
	res->encap = !in->cfg.natt       ? ENCAP_TUNNEL
	             : in->natt_vid == 1 ? ENCAP_UDP_TUNNEL
	                                 : ENCAP_UDP_TUNNEL_DRAFT;
	if (in->cfg.esp_id == 0) {
		want_id = ESP_DES;
		want_auth = 1;
		esp_proposal(body, 1, false, res->spi_in, ESP_3DES, 2, 0, in->cfg.pfs_group,
		             res->encap);
		esp_proposal(body, 2, true, res->spi_in, ESP_DES, 1, 0, in->cfg.pfs_group,
		             res->encap);
	} else {
		want_id = in->cfg.esp_id;
		want_auth = in->cfg.esp_auth;
		keybits =
		        want_id == ESP_AES ? (in->cfg.esp_keybits ? in->cfg.esp_keybits : 128) : 0;
		esp_proposal(body, 1, true, res->spi_in, (uint8_t)want_id, want_auth, keybits,
		             in->cfg.pfs_group, res->encap);
	}
	ek = want_id == ESP_DES ? 8 : want_id == ESP_3DES ? 24 : (size_t)keybits / 8;
	ak = want_auth == 1 ? 16 : want_auth == 2 ? 20 : want_auth == 5 ? 32 : 0;
	if (ek == 0 || ak == 0 || ek + ak > sizeof(res->keymat_in)) {
		r = ierr(in, "unsupported ESP transform %d/%d/%d", want_id, want_auth, keybits);
		goto out;
	}
	idci[0] = IKE_ID_IPV4_ADDR;
	idci[1] = 0;
	idci[2] = idci[3] = 0;
	a = htonl(res->addr);
	memcpy(idci + 4, &a, 4);
	memset(idcr, 0, sizeof(idcr));
	idcr[0] = IKE_ID_IPV4_SUBNET; /* 0.0.0.0/0 */
	hoff = ike_msg_begin_hashed(sa, w, IKE_EX_QUICK, mid);
	ike_w_pl(w, IKE_PL_SA, body->buf, body->len);
	ike_w_pl(w, IKE_PL_NONCE, ni, sizeof(ni));
	if (gl)
		ike_w_pl(w, IKE_PL_KE, gx, gl);
	ike_w_pl(w, IKE_PL_ID, idci, sizeof(idci));
	ike_w_pl(w, IKE_PL_ID, idcr, sizeof(idcr));
	if (ike_msg_fill_hash(sa, w, hoff, mid, NULL, 0) < 0 || send_enc(in, w) < 0)
		goto out;
	r = recv_enc(in, buf, IKE_MAX_DATAGRAM, m);
	if (r < 0)
		goto out;
	r = -EPROTO;
	if (m->hdr.exch != IKE_EX_QUICK || m->hdr.msgid != mid || m->hdr.flags != IKE_FLAG_ENC) {
		r = ierr(in, "QM2: exchange %u message ID %u flags %u", m->hdr.exch, m->hdr.msgid,
		         m->hdr.flags);
		goto out;
	}
	if (ike_msg_verify_hash(sa, m, mid, ni, sizeof(ni), &e) < 0) {
		r = ierr(in, "QM2: HASH(2): %s", e.msg);
		goto out;
	}
	if (m->n < 2 || m->pl[1].type != IKE_PL_SA ||
	    ike_pld_parse_sa(m->pl[1].body, m->pl[1].len, sap, &e) < 0 || sap->nprop != 1 ||
	    sap->nxf != 1 || sap->prop[0].spi_size != 4 || sap->xf[0].id != want_id) {
		r = ierr(in, "QM2: expected one proposal with one transform, ESP id %d", want_id);
		goto out;
	}
	{
		struct ike_cur c;
		struct ike_attr at;
		int auth = 0, encap = 0, kb = 0;

		ike_cur_init(&c, sap->xf[0].attrs, sap->xf[0].attrs_len);
		while (ike_attr_next(&c, &at, &e) > 0) {
			if (at.type == IPSEC_A_AUTH && at.tv)
				auth = at.v16;
			else if (at.type == IPSEC_A_ENCAP && at.tv)
				encap = at.v16;
			else if (at.type == IPSEC_A_KEYLEN && at.tv)
				kb = at.v16;
		}
		if (auth != want_auth || encap != res->encap || (keybits && kb != keybits)) {
			r = ierr(in,
			         "QM2: transform auth %d encapsulation %d key bits %d (expected %d "
			         "%u %d)",
			         auth, encap, kb, want_auth, res->encap, keybits);
			goto out;
		}
	}
	res->esp_id = want_id;
	res->esp_auth = want_auth;
	res->esp_enc_keylen = ek;
	res->spi_out = (uint32_t)sap->prop[0].spi[0] << 24 | (uint32_t)sap->prop[0].spi[1] << 16 |
	               (uint32_t)sap->prop[0].spi[2] << 8 | sap->prop[0].spi[3];
	for (int i = 0; i < m->n; i++) {
		struct ike_notify nt;

		if (m->pl[i].type == IKE_PL_N &&
		    ike_pld_parse_notify(m->pl[i].body, m->pl[i].len, &nt, &e) == 0 &&
		    nt.type == IKE_N_RESPONDER_LIFETIME && nt.data_len == 12)
			res->responder_life_s = (uint32_t)nt.data[8] << 24 |
			                        (uint32_t)nt.data[9] << 16 |
			                        (uint32_t)nt.data[10] << 8 | nt.data[11];
	}
	no = ike_msg_find(m, IKE_PL_NONCE, 0);
	ke = ike_msg_find(m, IKE_PL_KE, 0);
	if (no == NULL || no->len > sizeof(nr) || (gl && (ke == NULL || ke->len != gl))) {
		r = ierr(in, "QM2: nonce or KE missing");
		goto out;
	}
	memcpy(nr, no->body, no->len);
	nr_len = no->len;
	if (gl && ike_dh_shared(dh, ke->body, gl, gxy, gl) < 0) {
		r = ierr(in, "QM2: PFS DH failed");
		goto out;
	}
	{
		uint8_t zero = 0, mb[4] = {(uint8_t)(mid >> 24), (uint8_t)(mid >> 16),
		                           (uint8_t)(mid >> 8), (uint8_t)mid};
		struct ike_iov v[4] = {{&zero, 1}, {mb, 4}, {ni, sizeof(ni)}, {nr, nr_len}};
		uint8_t h3[IKE_MAX_HASH];
		size_t off;

		ike_prf(sa->hash, sa->skeyid_a, sa->hlen, v, 4, h3);
		ike_w_hdr(w, sa->ci, sa->cr, IKE_EX_QUICK, IKE_FLAG_ENC, mid);
		off = ike_w_pl_begin(w, IKE_PL_HASH);
		ike_w_bytes(w, h3, sa->hlen);
		ike_w_pl_end(w, off);
		r = send_enc(in, w);
		if (r < 0)
			goto out;
	}
	/* cipher key then HMAC key, for each direction */
	res->keymat_len = ek + ak;
	for (int dir = 0; dir < 2; dir++) {
		uint32_t s = dir == 0 ? res->spi_in : res->spi_out;
		uint8_t sb[4] = {(uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8),
		                 (uint8_t)s};

		r = ike_keymat(sa->hash, sa->skeyid_d, gl ? gxy : NULL, gl, 3, sb, ni, sizeof(ni),
		               nr, nr_len, dir == 0 ? res->keymat_in : res->keymat_out,
		               res->keymat_len);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	ike_dh_free(dh);
	free(sap);
	free(m);
	free(buf);
	free(body);
	free(w);
	return r;
}

static int
send_info_mid(struct ike_init *in, uint8_t type, const struct ike_wbuf *pl, uint32_t mid)
{
	struct ike_wbuf *w = calloc(1, sizeof(*w));
	size_t hoff;
	int r;

	if (w == NULL)
		return -ENOMEM;
	hoff = ike_msg_begin_hashed(&in->sa, w, IKE_EX_INFO, mid);
	ike_w_pl(w, type, pl->buf, pl->len);
	r = ike_msg_fill_hash(&in->sa, w, hoff, mid, NULL, 0);
	if (r == 0)
		r = send_enc(in, w);
	free(w);
	return r;
}

static int
send_info(struct ike_init *in, uint8_t type, const struct ike_wbuf *pl)
{
	return send_info_mid(in, type, pl, ike_new_mid(&in->sa));
}

int
ike_init_dpd(struct ike_init *in, uint32_t seq)
{
	struct ike_wbuf pl = {0};
	uint8_t *buf = malloc(IKE_MAX_DATAGRAM);
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_perr e = {0};
	struct ike_notify nt;
	int r = -ENOMEM;

	if (buf == NULL || m == NULL)
		goto out;
	ike_w_u32(&pl, 1);
	ike_w_u8(&pl, 1);
	ike_w_u8(&pl, 16);
	ike_w_u16(&pl, IKE_N_R_U_THERE);
	ike_w_bytes(&pl, in->sa.ci, 8);
	ike_w_bytes(&pl, in->sa.cr, 8);
	ike_w_u32(&pl, seq);
	r = send_info(in, IKE_PL_N, &pl);
	if (r == 0)
		r = recv_enc(in, buf, IKE_MAX_DATAGRAM, m);
	if (r < 0)
		goto out;
	if (m->hdr.exch != IKE_EX_INFO || m->n != 2 || m->pl[1].type != IKE_PL_N ||
	    ike_pld_parse_notify(m->pl[1].body, m->pl[1].len, &nt, &e) < 0 ||
	    nt.type != IKE_N_R_U_THERE_ACK || nt.data_len != 4 ||
	    ((uint32_t)nt.data[0] << 24 | (uint32_t)nt.data[1] << 16 | (uint32_t)nt.data[2] << 8 |
	     nt.data[3]) != seq) {
		r = ierr(in, "DPD: no R-U-THERE-ACK for sequence %u", seq);
		goto out;
	}
	r = 0;
out:
	free(m);
	free(buf);
	return r;
}

int
ike_init_delete_mid(struct ike_init *in, uint32_t mid)
{
	struct ike_wbuf pl = {0};

	ike_w_u32(&pl, 1);
	ike_w_u8(&pl, 1);
	ike_w_u8(&pl, 16);
	ike_w_u16(&pl, 1);
	ike_w_bytes(&pl, in->sa.ci, 8);
	ike_w_bytes(&pl, in->sa.cr, 8);
	return send_info_mid(in, IKE_PL_D, &pl, mid);
}

int
ike_init_delete(struct ike_init *in)
{
	return ike_init_delete_mid(in, ike_new_mid(&in->sa));
}

/* Receives one encrypted informational whose second payload is of type pl_type; *m and *buf are
 * the caller's to free (also on failure). */
static int
recv_info(struct ike_init *in, uint8_t pl_type, struct ike_msg **m, uint8_t **buf)
{
	int r;

	*buf = malloc(IKE_MAX_DATAGRAM);
	*m = malloc(sizeof(**m));
	if (*buf == NULL || *m == NULL)
		return -ENOMEM;
	r = recv_enc(in, *buf, IKE_MAX_DATAGRAM, *m);
	if (r < 0)
		return r;
	if ((*m)->hdr.exch != IKE_EX_INFO || (*m)->n != 2 || (*m)->pl[1].type != pl_type)
		return ierr(in,
		            "expected an informational with payload %u, got exchange %u with %d "
		            "payloads",
		            pl_type, (*m)->hdr.exch, (*m)->n);
	return 0;
}

int
ike_init_expect_delete_esp(struct ike_init *in, uint32_t *spi)
{
	uint8_t *buf = NULL;
	struct ike_msg *m = NULL;
	struct ike_perr e = {0};
	struct ike_delete d;
	int r = recv_info(in, IKE_PL_D, &m, &buf);

	if (r < 0)
		goto out;
	if (ike_pld_parse_delete(m->pl[1].body, m->pl[1].len, &d, &e) < 0 || d.proto != 3 ||
	    d.spi_size != 4 || d.nspi != 1) {
		r = ierr(in, "expected a DELETE of one ESP SPI");
		goto out;
	}
	*spi = (uint32_t)d.spis[0] << 24 | (uint32_t)d.spis[1] << 16 | (uint32_t)d.spis[2] << 8 |
	       d.spis[3];
out:
	free(m);
	free(buf);
	return r;
}

int
ike_init_expect_dpd(struct ike_init *in, bool answer, uint32_t *seq)
{
	uint8_t *buf = NULL;
	struct ike_msg *m = NULL;
	struct ike_perr e = {0};
	struct ike_notify nt;
	int r = recv_info(in, IKE_PL_N, &m, &buf);

	if (r < 0)
		goto out;
	if (ike_pld_parse_notify(m->pl[1].body, m->pl[1].len, &nt, &e) < 0 ||
	    nt.type != IKE_N_R_U_THERE || nt.data_len != 4 || nt.spi_size != 16 ||
	    memcmp(nt.spi, in->sa.ci, 8) != 0 || memcmp(nt.spi + 8, in->sa.cr, 8) != 0) {
		r = ierr(in, "expected an R-U-THERE with both cookies as SPI");
		goto out;
	}
	*seq = (uint32_t)nt.data[0] << 24 | (uint32_t)nt.data[1] << 16 | (uint32_t)nt.data[2] << 8 |
	       nt.data[3];
	r = 0;
	if (answer) {
		struct ike_wbuf pl = {0};

		ike_w_u32(&pl, 1);
		ike_w_u8(&pl, 1);
		ike_w_u8(&pl, 16);
		ike_w_u16(&pl, IKE_N_R_U_THERE_ACK);
		ike_w_bytes(&pl, in->sa.ci, 8);
		ike_w_bytes(&pl, in->sa.cr, 8);
		ike_w_u32(&pl, *seq);
		r = send_info(in, IKE_PL_N, &pl);
	}
out:
	free(m);
	free(buf);
	return r;
}
