/* Messages: sending (with the NAT-T non-ESP marker on 4500), CBC encryption with IKEv1's IV
 * chains (phase 1, and one chain per message ID derived from the last phase 1 block), and the
 * prf(SKEYID_a, M-ID | ...) hashes that protect phase 2 messages. */
#include "gateway/ike/ike_int.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

void
ike_rand(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1) {
		/* RAND_bytes failing means the DRBG is broken: never fall back to weak bytes. */
		log_error(LOG_IKE, "RAND_bytes failed");
		memset(p, 0, n);
	}
}

int
ike_msg_send_raw(struct ike *ike, bool natt, const struct sockaddr_in *to, const uint8_t *buf,
                 size_t len)
{
	uint8_t out[IKE_MAX_DATAGRAM + 4];
	size_t off = 0;
	ssize_t n;
	int fd = natt ? ike->fd4500 : ike->fd500;

	if (fd < 0 || len > IKE_MAX_DATAGRAM)
		return -EINVAL;
	if (natt) {
		memset(out, 0, 4);
		off = 4;
	}
	memcpy(out + off, buf, len);
	n = sendto(fd, out, len + off, 0, (const struct sockaddr *)to, sizeof(*to));
	if (n < 0) {
		int r = -errno;
		char p[32];

		ike_peer_str(to, p, sizeof(p));
		log_warn(LOG_IKE, "%s: sendto: %s", p, strerror(errno));
		return r;
	}
	return 0;
}

int
ike_msg_send(struct ike_sa *sa, const uint8_t *buf, size_t len)
{
	/* a resend of the cached reply (buf == last_out) leaves the cache as it is */
	if (len <= IKE_MAX_DATAGRAM && buf != sa->last_out) {
		uint8_t *n = realloc(sa->last_out, len ? len : 1);

		if (n != NULL) {
			sa->last_out = n;
			memcpy(sa->last_out, buf, len);
			sa->last_out_len = (uint32_t)len;
		}
	}
	return ike_msg_send_raw(sa->ike, sa->natt, &sa->peer, buf, len);
}

uint32_t
ike_new_mid(struct ike_sa *sa)
{
	uint32_t mid = 0;

	while (mid == 0 || ike_xchg_get(sa, mid, 0, false) != NULL)
		ike_rand(&mid, sizeof(mid));
	return mid;
}

struct ike_xchg *
ike_xchg_get(struct ike_sa *sa, uint32_t mid, uint8_t exch, bool create)
{
	struct ike_xchg *free_slot = NULL;
	uint8_t h[IKE_MAX_HASH];
	uint8_t m[4] = {(uint8_t)(mid >> 24), (uint8_t)(mid >> 16), (uint8_t)(mid >> 8),
	                (uint8_t)mid};
	struct ike_iov v[2] = {{sa->iv, sa->blk}, {m, 4}};

	for (int i = 0; sa->xchg != NULL && i < IKE_MAX_XCHG; i++) {
		if (sa->xchg[i].used && sa->xchg[i].mid == mid)
			return &sa->xchg[i];
		if (!sa->xchg[i].used && free_slot == NULL)
			free_slot = &sa->xchg[i];
	}
	if (!create)
		return NULL;
	/* IV = hash(last phase 1 CBC block | M-ID) */
	if (ike_hash(sa->hash, v, 2, h) < 0)
		return NULL;
	if (sa->xchg == NULL) {
		/* the slots exist only while an exchange is open (ike_xchg_drop frees them) */
		sa->xchg = calloc(IKE_MAX_XCHG, sizeof(*sa->xchg));
		if (sa->xchg == NULL)
			return NULL;
		free_slot = &sa->xchg[0];
	}
	if (free_slot == NULL) {
		/* Recycle the oldest-looking slot: exchanges are short-lived. */
		memmove(&sa->xchg[0], &sa->xchg[1], sizeof(sa->xchg[0]) * (IKE_MAX_XCHG - 1));
		free_slot = &sa->xchg[IKE_MAX_XCHG - 1];
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->mid = mid;
	free_slot->exch = exch;
	memcpy(free_slot->iv, h, sa->blk);
	return free_slot;
}

void
ike_xchg_drop(struct ike_sa *sa, uint32_t mid)
{
	bool any = false;

	if (sa->xchg == NULL)
		return;
	for (int i = 0; i < IKE_MAX_XCHG; i++) {
		if (sa->xchg[i].used && sa->xchg[i].mid == mid)
			OPENSSL_cleanse(&sa->xchg[i], sizeof(sa->xchg[i]));
		any = any || sa->xchg[i].used;
	}
	if (!any) {
		free(sa->xchg);
		sa->xchg = NULL;
	}
}

static uint8_t *
iv_for(struct ike_sa *sa, uint32_t mid, uint8_t exch)
{
	struct ike_xchg *x;

	/* message ID 0 continues phase 1's CBC chain, except in an informational: that always
	 * starts from hash(last phase 1 block | M-ID), also for M-ID 0 (vpnc draws one random byte
	 * for the message ID of its DELETEs, so 1 in 256 is 0) */
	if (mid == 0 && exch != IKE_EX_INFO)
		return sa->iv;
	x = ike_xchg_get(sa, mid, exch, true);
	return x != NULL ? x->iv : NULL;
}

int
ike_msg_encrypt_send(struct ike_sa *sa, struct ike_wbuf *w, bool expect_reply)
{
	size_t plen;
	uint32_t mid;
	uint8_t *iv;
	int r;

	if (w->err || w->len < IKE_HDR_LEN)
		return -EMSGSIZE;
	plen = w->len - IKE_HDR_LEN;
	while (plen % sa->blk != 0) {
		ike_w_u8(w, 0);
		plen++;
	}
	if (w->err)
		return -EMSGSIZE;
	ike_w_finish(w);
	mid = (uint32_t)w->buf[20] << 24 | (uint32_t)w->buf[21] << 16 | (uint32_t)w->buf[22] << 8 |
	      w->buf[23];
	iv = iv_for(sa, mid, w->buf[18]);
	if (iv == NULL)
		return -EIO;
	r = ike_cbc(sa->enc, sa->key, sa->keylen, iv, w->buf + IKE_HDR_LEN, plen, true);
	if (r < 0)
		return r;
	if (expect_reply) {
		uint8_t *n = realloc(sa->rtx, w->len ? w->len : 1);

		if (n == NULL)
			return -ENOMEM;
		sa->rtx = n;
		memcpy(sa->rtx, w->buf, w->len);
		sa->rtx_len = (uint32_t)w->len;
		sa->rtx_tries = 0;
		sa->rtx_due_ms = loop_now_ms() + sa->ike->rtx_base_ms;
	}
	return ike_msg_send(sa, w->buf, w->len);
}

int
ike_msg_decrypt(struct ike_sa *sa, uint8_t *buf, size_t len, const struct ike_hdr *h,
                struct ike_perr *e)
{
	size_t plen = len - IKE_HDR_LEN;
	uint8_t *iv;

	if (sa->blk == 0 || sa->keylen == 0)
		return ike_perr_set(e, IKE_N_INVALID_FLAGS,
		                    "encrypted message before keys were established");
	if (plen == 0 || plen % sa->blk != 0)
		return ike_perr_set(
		        e, IKE_N_PAYLOAD_MALFORMED,
		        "encrypted part is %zu bytes (expected a non-zero multiple of %zu)", plen,
		        (size_t)sa->blk);
	iv = iv_for(sa, h->msgid, h->exch);
	if (iv == NULL)
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED, "no IV for message ID");
	if (h->exch == IKE_EX_INFO) {
		/* An informational exchange is one message: its IV chain ends here. */
		uint8_t tmp[IKE_MAX_BLOCK];
		int r;

		memcpy(tmp, iv, sa->blk);
		r = ike_cbc(sa->enc, sa->key, sa->keylen, tmp, buf + IKE_HDR_LEN, plen, false);
		ike_xchg_drop(sa, h->msgid);
		return r < 0 ? ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED, "decryption failed")
		             : (int)plen;
	}
	if (ike_cbc(sa->enc, sa->key, sa->keylen, iv, buf + IKE_HDR_LEN, plen, false) < 0)
		return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED, "decryption failed");
	return (int)plen;
}

int
ike_msg_hash(struct ike_sa *sa, uint32_t mid, const uint8_t *extra, size_t extra_len,
             const uint8_t *rest, size_t rest_len, uint8_t *out)
{
	uint8_t m[4] = {(uint8_t)(mid >> 24), (uint8_t)(mid >> 16), (uint8_t)(mid >> 8),
	                (uint8_t)mid};
	struct ike_iov v[3] = {{m, 4}, {extra, extra_len}, {rest, rest_len}};

	return ike_prf(sa->hash, sa->skeyid_a, sa->hlen, v, 3, out);
}

int
ike_msg_verify_hash(struct ike_sa *sa, const struct ike_msg *m, uint32_t mid, const uint8_t *extra,
                    size_t extra_len, struct ike_perr *e)
{
	uint8_t h[IKE_MAX_HASH];
	const uint8_t *rest, *end;

	if (m->n == 0 || m->pl[0].type != IKE_PL_HASH)
		return ike_perr_set(e, IKE_N_INVALID_HASH_INFORMATION,
		                    "first payload is type %u (expected HASH)",
		                    m->n > 0 ? m->pl[0].type : 0);
	if (m->pl[0].len != sa->hlen)
		return ike_perr_set(e, IKE_N_INVALID_HASH_INFORMATION,
		                    "HASH payload is %zu bytes (expected %zu)", m->pl[0].len,
		                    (size_t)sa->hlen);
	rest = m->pl[0].raw + m->pl[0].raw_len;
	end = m->pl[m->n - 1].raw + m->pl[m->n - 1].raw_len;
	if (ike_msg_hash(sa, mid, extra, extra_len, rest, (size_t)(end - rest), h) < 0)
		return ike_perr_set(e, IKE_N_INVALID_HASH_INFORMATION, "prf failed");
	if (CRYPTO_memcmp(h, m->pl[0].body, sa->hlen) != 0)
		return ike_perr_set(e, IKE_N_INVALID_HASH_INFORMATION,
		                    "HASH mismatch (message ID 0x%08x)", mid);
	return 0;
}

size_t
ike_msg_begin_hashed(struct ike_sa *sa, struct ike_wbuf *w, uint8_t exch, uint32_t mid)
{
	static const uint8_t zero[IKE_MAX_HASH];
	size_t off;

	ike_w_hdr(w, sa->ci, sa->cr, exch, IKE_FLAG_ENC, mid);
	off = ike_w_pl_begin(w, IKE_PL_HASH);
	ike_w_bytes(w, zero, sa->hlen);
	ike_w_pl_end(w, off);
	return off;
}

int
ike_msg_fill_hash(struct ike_sa *sa, struct ike_wbuf *w, size_t hash_off, uint32_t mid,
                  const uint8_t *extra, size_t extra_len)
{
	size_t rest = hash_off + 4 + sa->hlen;

	if (w->err || rest > w->len)
		return -EMSGSIZE;
	return ike_msg_hash(sa, mid, extra, extra_len, w->buf + rest, w->len - rest,
	                    w->buf + hash_off + 4);
}
