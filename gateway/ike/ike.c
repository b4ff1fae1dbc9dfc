/* The IKE engine: sockets on 500/4500, the SA table, dispatch of incoming messages to the
 * exchange handlers, a one-second tick for half-open limits, retransmission, DPD and idle/max
 * time, and the public API of ike.h. */
#include "gateway/ike/ike_int.h"
#include "db/db.h"
#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define TICK_MS 1000

void
ike_peer_str(const struct sockaddr_in *a, char *buf, size_t n)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(buf, n, "%s:%u", ip, ntohs(a->sin_port));
}

const char *
ike_state_name(enum ike_state st)
{
	switch (st) {
	case ST_AM_SENT2:
		return "AG_INIT_EXCH";
	case ST_MM_SENT2:
		return "MM_SA_SETUP";
	case ST_MM_SENT4:
		return "MM_KEY_EXCH";
	case ST_P1_DONE:
		return "AUTHENTICATED";
	case ST_XAUTH_REQ:
	case ST_XAUTH_WAIT:
	case ST_XAUTH_SET:
		return "XAUTH";
	case ST_CFG:
	case ST_CFG_SET:
		return "CONF_XAUTH";
	case ST_ESTAB:
		return "QM_IDLE";
	case ST_DEAD:
		return "DELETED";
	}
	return "?";
}

int
ike_fail(struct ike_sa *sa, uint16_t notify, const char *fmt, ...)
{
	char msg[256], p[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ike_peer_str(&sa->peer, p, sizeof(p));
	log_warn(LOG_IKE, "%s: SA %llu: %s (notify %u)", p, (unsigned long long)sa->id, msg,
	         notify);
	if (notify != 0)
		ike_info_notify(sa, notify, 1, NULL, 0, NULL, 0);
	if (sa->ike->hooks.failure != NULL)
		sa->ike->hooks.failure(sa->ike->hooks.arg, msg);
	return -EBADMSG;
}

/* SipHash-2-4 of one 64-bit word: bucket choice for values the peer picks (cookies, addresses)
 * cannot be steered into one chain without the engine's random key. */
#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL64(v1, 13);                                                               \
		v1 ^= v0;                                                                          \
		v0 = ROTL64(v0, 32);                                                               \
		v2 += v3;                                                                          \
		v3 = ROTL64(v3, 16);                                                               \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL64(v3, 21);                                                               \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL64(v1, 17);                                                               \
		v1 ^= v2;                                                                          \
		v2 = ROTL64(v2, 32);                                                               \
	} while (0)

uint64_t
ike_siphash_u64(const uint64_t k[2], uint64_t m)
{
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ull, v1 = k[1] ^ 0x646f72616e646f6dull;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ull, v3 = k[1] ^ 0x7465646279746573ull;
	uint64_t b = 8ull << 56;

	v3 ^= m;
	SIPROUND;
	SIPROUND;
	v0 ^= m;
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static size_t
cookie_slot(const struct ike *ike, const uint8_t ci[8])
{
	uint64_t m;

	memcpy(&m, ci, 8);
	return (size_t)ike_siphash_u64(ike->hkey, m) & (ike->nbuckets - 1);
}

static size_t
peer_slot(const struct ike *ike, uint32_t addr)
{
	return (size_t)ike_siphash_u64(ike->hkey, addr) & (ike->nbuckets - 1);
}

static size_t
id_slot(const struct ike *ike, uint64_t id)
{
	return (size_t)id & (ike->nbuckets - 1); /* ids are sequential */
}

static void
index_link(struct ike *ike, struct ike_sa *sa)
{
	size_t c = cookie_slot(ike, sa->ci), i = id_slot(ike, sa->id),
	       p = peer_slot(ike, sa->peer.sin_addr.s_addr);

	sa->hnext_cookie = ike->by_cookie[c];
	ike->by_cookie[c] = sa;
	sa->hnext_id = ike->by_id[i];
	ike->by_id[i] = sa;
	sa->hnext_peer = ike->by_peer[p];
	ike->by_peer[p] = sa;
}

static void
peer_unlink(struct ike *ike, struct ike_sa *sa)
{
	struct ike_sa **pp = &ike->by_peer[peer_slot(ike, sa->peer.sin_addr.s_addr)];

	for (; *pp != NULL; pp = &(*pp)->hnext_peer)
		if (*pp == sa) {
			*pp = sa->hnext_peer;
			break;
		}
	sa->hnext_peer = NULL;
}

static void
index_unlink(struct ike *ike, struct ike_sa *sa)
{
	struct ike_sa **pp;

	for (pp = &ike->by_cookie[cookie_slot(ike, sa->ci)]; *pp != NULL; pp = &(*pp)->hnext_cookie)
		if (*pp == sa) {
			*pp = sa->hnext_cookie;
			break;
		}
	for (pp = &ike->by_id[id_slot(ike, sa->id)]; *pp != NULL; pp = &(*pp)->hnext_id)
		if (*pp == sa) {
			*pp = sa->hnext_id;
			break;
		}
	peer_unlink(ike, sa);
}

/* Doubles the buckets (64 the first time) and re-links every SA. On failure the old indexes
 * stay (correct, only with longer chains). */
static int
index_grow(struct ike *ike)
{
	size_t n = ike->nbuckets ? ike->nbuckets * 2 : 64;
	struct ike_sa **c = calloc(n, sizeof(*c)), **i = calloc(n, sizeof(*i)),
	              **p = calloc(n, sizeof(*p));

	if (c == NULL || i == NULL || p == NULL) {
		free(c);
		free(i);
		free(p);
		log_error(LOG_IKE, "calloc SA index of %zu buckets: out of memory", n);
		return -ENOMEM;
	}
	if (ike->nbuckets == 0 && ike->hkey[0] == 0 && ike->hkey[1] == 0)
		ike_rand(ike->hkey, sizeof(ike->hkey));
	free(ike->by_cookie);
	free(ike->by_id);
	free(ike->by_peer);
	ike->by_cookie = c;
	ike->by_id = i;
	ike->by_peer = p;
	ike->nbuckets = n;
	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next)
		index_link(ike, sa);
	return 0;
}

struct ike_sa *
ike_sa_find(struct ike *ike, const uint8_t ci[8], const uint8_t cr[8])
{
	if (ike->nbuckets == 0)
		return NULL;
	for (struct ike_sa *sa = ike->by_cookie[cookie_slot(ike, ci)]; sa != NULL;
	     sa = sa->hnext_cookie)
		if (memcmp(sa->ci, ci, 8) == 0 && (cr == NULL || memcmp(sa->cr, cr, 8) == 0))
			return sa;
	return NULL;
}

struct ike_sa *
ike_sa_find_id(struct ike *ike, uint64_t id)
{
	if (ike->nbuckets == 0)
		return NULL;
	for (struct ike_sa *sa = ike->by_id[id_slot(ike, id)]; sa != NULL; sa = sa->hnext_id)
		if (sa->id == id)
			return sa;
	return NULL;
}

static struct ike_sa *
peer_from(struct ike_sa *sa, uint32_t addr)
{
	while (sa != NULL && sa->peer.sin_addr.s_addr != addr)
		sa = sa->hnext_peer;
	return sa;
}

struct ike_sa *
ike_sa_peer_first(struct ike *ike, uint32_t addr)
{
	if (ike->nbuckets == 0)
		return NULL;
	return peer_from(ike->by_peer[peer_slot(ike, addr)], addr);
}

struct ike_sa *
ike_sa_peer_next(const struct ike_sa *sa)
{
	return peer_from(sa->hnext_peer, sa->peer.sin_addr.s_addr);
}

void
ike_sa_set_state(struct ike_sa *sa, enum ike_state st)
{
	int was = ike_sa_half_open(sa);

	sa->state = st;
	sa->ike->n_half_open += (int)ike_sa_half_open(sa) - was;
}

void
ike_sa_set_peer(struct ike_sa *sa, const struct sockaddr_in *peer)
{
	struct ike *ike = sa->ike;

	if (peer->sin_addr.s_addr == sa->peer.sin_addr.s_addr || ike->nbuckets == 0) {
		sa->peer = *peer;
		return;
	}
	peer_unlink(ike, sa);
	sa->peer = *peer;
	{
		size_t p = peer_slot(ike, sa->peer.sin_addr.s_addr);

		sa->hnext_peer = ike->by_peer[p];
		ike->by_peer[p] = sa;
	}
}

static int
set_name(char **dst, const char *name)
{
	char *n = NULL;

	if (name != NULL && name[0] != '\0') {
		n = strdup(name);
		if (n == NULL)
			return -ENOMEM;
	}
	free(*dst);
	*dst = n;
	return 0;
}

int
ike_sa_set_user(struct ike_sa *sa, const char *name)
{
	return set_name(&sa->user, name);
}

int
ike_sa_set_group(struct ike_sa *sa, const char *name)
{
	return set_name(&sa->group_name, name);
}

void
ike_sa_p1_done(struct ike_sa *sa)
{
	struct ike_p1 *p = sa->p1;

	if (p == NULL)
		return;
	sa->p1 = NULL;
	ike_dh_free(p->dh);
	free(p->sai_b);
	free(p->idi_b);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

void
ike_qm_free(struct ike_qm *q)
{
	if (q == NULL)
		return;
	OPENSSL_cleanse(q, sizeof(*q));
	free(q);
}

void
ike_rtx_stop(struct ike_sa *sa)
{
	free(sa->rtx);
	sa->rtx = NULL;
	sa->rtx_len = 0;
	sa->rtx_tries = 0;
}

void
ike_sa_free_blocks(struct ike_sa *sa)
{
	ike_sa_p1_done(sa);
	ike_qm_free(sa->qm);
	sa->qm = NULL;
	if (sa->xchg != NULL) {
		OPENSSL_cleanse(sa->xchg, IKE_MAX_XCHG * sizeof(*sa->xchg));
		free(sa->xchg);
		sa->xchg = NULL;
	}
	ike_rtx_stop(sa);
	free(sa->last_out);
	sa->last_out = NULL;
	sa->last_out_len = 0;
	set_name(&sa->user, NULL);
	set_name(&sa->group_name, NULL);
}

struct ike_sa *
ike_sa_new(struct ike *ike, const uint8_t ci[8], const struct sockaddr_in *peer,
           const struct sockaddr_in *local)
{
	struct ike_sa *sa;
	char p[32];

	ike_peer_str(peer, p, sizeof(p));
	if (ike->nsas >= IKE_MAX_SAS) {
		log_warn(LOG_IKE, "%s: SA table full (%d SAs), new negotiation dropped", p,
		         ike->nsas);
		return NULL;
	}
	if (ike->n_half_open >= IKE_MAX_HALF_OPEN) {
		log_warn(LOG_IKE, "%s: half-open limit %d reached, new negotiation dropped", p,
		         IKE_MAX_HALF_OPEN);
		return NULL;
	}
	/* chains of at most 2 on average */
	if ((size_t)ike->nsas >= 2 * ike->nbuckets && index_grow(ike) < 0 && ike->nbuckets == 0)
		return NULL;
	sa = calloc(1, sizeof(*sa));
	if (sa != NULL)
		sa->p1 = calloc(1, sizeof(*sa->p1));
	if (sa == NULL || sa->p1 == NULL) {
		log_error(LOG_IKE, "%s: calloc IKE SA: %s", p, strerror(errno));
		free(sa);
		return NULL;
	}
	sa->ike = ike;
	sa->id = ++ike->next_id;
	memcpy(sa->ci, ci, 8);
	do
		ike_rand(sa->cr, 8);
	while (ike_sa_find(ike, ci, sa->cr) != NULL);
	sa->peer = *peer;
	sa->local = *local;
	sa->state = ST_AM_SENT2; /* half-open until authenticated */
	ike->n_half_open++;
	sa->created_ms = sa->last_rx_ms = loop_now_ms();
	sa->next = ike->sas;
	if (ike->sas != NULL)
		ike->sas->prev = sa;
	ike->sas = sa;
	ike->nsas++;
	index_link(ike, sa);
	return sa;
}

static void
fill_tunnel(struct ike_sa *sa, struct ike_child *c, struct ike_tunnel_info *t)
{
	memset(t, 0, sizeof(*t));
	t->ike_sa_id = sa->id;
	snprintf(t->user, sizeof(t->user), "%s", ike_sa_user(sa));
	snprintf(t->group, sizeof(t->group), "%s", ike_sa_group(sa));
	t->assigned_addr = sa->addr;
	t->peer = sa->peer;
	if (c != NULL) {
		t->spi_in = c->spi_in;
		t->spi_out = c->spi_out;
		t->backend_handle = c->handle;
	}
}

static int
live_children(const struct ike_sa *sa)
{
	int n = 0;

	for (int i = 0; i < IKE_MAX_CHILDREN; i++)
		n += sa->child[i].used;
	return n;
}

/* Removes one IPsec SA pair from the backend. The tunnel is reported down only with the last
 * pair (earlier ones were replaced by Quick Mode rekeys); its counters include the replaced
 * pairs'. */
void
ike_child_kill(struct ike_sa *sa, struct ike_child *c, const char *reason)
{
	struct ike *ike = sa->ike;
	struct ike_tunnel_info t;
	bool last = live_children(sa) <= 1;
	char p[32];

	fill_tunnel(sa, c, &t);
	if (ike->be != NULL) {
		if (ike->be->ops->sa_stats != NULL)
			ike->be->ops->sa_stats(ike->be, c->handle, &t.stats);
		if (!c->backend_gone)
			ike->be->ops->sa_del(ike->be, c->handle);
	}
	sa->acct.bytes_in += t.stats.bytes_in;
	sa->acct.bytes_out += t.stats.bytes_out;
	sa->acct.packets_in += t.stats.packets_in;
	sa->acct.packets_out += t.stats.packets_out;
	OPENSSL_cleanse(c, sizeof(*c));
	if (!last) {
		ike_peer_str(&sa->peer, p, sizeof(p));
		log_info(LOG_IKE,
		         "%s: IPsec SA spi 0x%08x removed (%s); a newer one carries the tunnel", p,
		         t.spi_in, reason);
		return;
	}
	t.stats.bytes_in = sa->acct.bytes_in;
	t.stats.bytes_out = sa->acct.bytes_out;
	t.stats.packets_in = sa->acct.packets_in;
	t.stats.packets_out = sa->acct.packets_out;
	memset(&sa->acct, 0, sizeof(sa->acct));
	if (ike->hooks.tunnel_down != NULL)
		ike->hooks.tunnel_down(ike->hooks.arg, &t, reason);
}

void
ike_sa_kill(struct ike_sa *sa, const char *reason, bool notify_peer)
{
	struct ike *ike = sa->ike;
	char p[32];

	ike_peer_str(&sa->peer, p, sizeof(p));
	log_info(LOG_IKE, "%s: SA %llu (%s%s%s) deleted: %s", p, (unsigned long long)sa->id,
	         ike_sa_group(sa), sa->user != NULL ? "/" : "", ike_sa_user(sa), reason);
	for (int i = 0; i < IKE_MAX_CHILDREN; i++) {
		if (!sa->child[i].used)
			continue;
		if (notify_peer)
			ike_info_delete_esp(sa, sa->child[i].spi_in);
		ike_child_kill(sa, &sa->child[i], reason);
	}
	if (notify_peer && sa->keylen > 0 && !ike_sa_half_open(sa))
		ike_info_delete_ike(sa);
	if (sa->auth_pending && ike->hooks.cancel != NULL)
		ike->hooks.cancel(ike->hooks.auth_arg, sa->auth_req_id);
	ike_lease_release(sa);
	index_unlink(ike, sa);
	if (sa->prev != NULL)
		sa->prev->next = sa->next;
	else
		ike->sas = sa->next;
	if (sa->next != NULL)
		sa->next->prev = sa->prev;
	ike->nsas--;
	if (ike_sa_half_open(sa))
		ike->n_half_open--;
	ike_sa_free_blocks(sa);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

void
ike_tunnel_up(struct ike_sa *sa, struct ike_child *c)
{
	struct ike_tunnel_info t;

	if (live_children(sa) != 1)
		return; /* a Quick Mode rekey: the tunnel is already up */
	fill_tunnel(sa, c, &t);
	if (sa->ike->hooks.tunnel_up != NULL)
		sa->ike->hooks.tunnel_up(sa->ike->hooks.arg, &t, NULL);
}

static void
sha1_of(const uint8_t *buf, size_t len, uint8_t out[32])
{
	struct ike_iov v = {buf, len};

	memset(out, 0, 32);
	ike_hash(IKE_HASH_SHA1, &v, 1, out);
}

/* An unencrypted informational: only logged (it is unauthenticated), except that a peer
 * refusing our phase 1 proof ends a half-open SA. */
static void
plain_info(struct ike_sa *sa, const uint8_t *buf, size_t len, const struct ike_hdr *h,
           const char *p)
{
	struct ike_perr e = {0};
	struct ike_msg m;
	struct ike_notify n;

	if (ike_pld_validate_chain(h->np, buf + IKE_HDR_LEN, len - IKE_HDR_LEN, true, &m, &e) < 0) {
		log_warn(LOG_IKE, "%s: plain informational dropped: %s", p, e.msg);
		return;
	}
	for (int i = 0; i < m.n; i++) {
		if (m.pl[i].type != IKE_PL_N ||
		    ike_pld_parse_notify(m.pl[i].body, m.pl[i].len, &n, &e) < 0)
			continue;
		log_warn(LOG_IKE, "%s: peer sent unencrypted notify %u", p, n.type);
		if (ike_sa_half_open(sa) && (n.type == IKE_N_INVALID_HASH_INFORMATION ||
		                             n.type == IKE_N_AUTHENTICATION_FAILED)) {
			ike_sa_kill(
			        sa,
			        "peer rejected HASH_R (wrong pre-shared key or group password?)",
			        false);
			return;
		}
	}
}

static void
input(struct ike *ike, uint8_t *buf, size_t len, const struct sockaddr_in *from,
      const struct sockaddr_in *to, bool natt)
{
	static const uint8_t zero[8];
	struct ike_perr e = {0};
	struct ike_hdr h;
	struct ike_sa *sa;
	struct ike_msg m;
	uint8_t digest[32];
	char p[32];
	int plen;

	ike_peer_str(from, p, sizeof(p));
	log_hexdump(LOG_IKE, "ISAKMP in", buf, len);
	if (ike_pld_validate_hdr(buf, len, &h, &e) < 0) {
		log_warn(LOG_IKE, "%s: dropped: %s", p, e.msg);
		return;
	}
	if (memcmp(h.rcookie, zero, 8) == 0) {
		sa = ike_sa_find(ike, h.icookie, NULL);
		if (sa != NULL) {
			sha1_of(buf, len, digest);
			if (memcmp(digest, sa->last_in_hash, 20) == 0 && sa->last_out_len > 0) {
				log_debug(LOG_IKE,
				          "%s: retransmitted first message, resending reply", p);
				ike_msg_send(sa, sa->last_out, sa->last_out_len);
			}
			return;
		}
		if (h.exch == IKE_EX_AGGR)
			ike_aggr_input(ike, buf, len, &h, from, to, natt);
		else if (h.exch == IKE_EX_MAIN)
			ike_main_input(ike, buf, len, &h, from, to, natt);
		else
			log_warn(LOG_IKE, "%s: dropped exchange %u with zero responder cookie", p,
			         h.exch);
		return;
	}
	sa = ike_sa_find(ike, h.icookie, h.rcookie);
	if (sa == NULL) {
		log_info(LOG_IKE, "%s: exchange %u for unknown cookies dropped", p, h.exch);
		return;
	}
	sha1_of(buf, len, digest);
	if (memcmp(digest, sa->last_in_hash, 20) == 0) {
		if (sa->last_out_len > 0)
			ike_msg_send(sa, sa->last_out, sa->last_out_len);
		log_debug(LOG_IKE, "%s: duplicate message dropped", p);
		return;
	}
	memcpy(sa->last_in_hash, digest, sizeof(sa->last_in_hash));
	if (ike_sa_half_open(sa)) {
		/* phase 1 in progress: the peer may float to 4500 between messages; a forged
		 * message fails its HASH and ends the half-open SA anyway */
		if (natt && !sa->natt)
			log_info(LOG_IKE, "%s: SA %llu floated to NAT-T port", p,
			         (unsigned long long)sa->id);
		sa->natt = sa->natt || natt;
		ike_sa_set_peer(sa, from);
	}
	if (!(h.flags & IKE_FLAG_ENC) && h.exch == IKE_EX_INFO) {
		plain_info(sa, buf, len, &h, p);
		return;
	}
	if (h.exch == IKE_EX_MAIN && (sa->state == ST_MM_SENT2 || sa->state == ST_MM_SENT4)) {
		ike_main_input_next(sa, buf, len, &h);
		return;
	}
	if (!(h.flags & IKE_FLAG_ENC)) {
		ike_fail(sa, IKE_N_INVALID_FLAGS,
		         "exchange %u: expected an encrypted message (flags 0x%02x)", h.exch,
		         h.flags);
		return;
	}
	if (h.exch == IKE_EX_AGGR) {
		if (sa->state != ST_AM_SENT2 || h.msgid != 0) {
			log_info(LOG_IKE, "%s: unexpected Aggressive Mode message in state %s", p,
			         ike_state_name(sa->state));
			return;
		}
		ike_aggr_input3(sa, buf, len, &h);
		return;
	}
	if (ike_sa_half_open(sa)) {
		ike_fail(sa, 0, "exchange %u before phase 1 completed", h.exch);
		return;
	}
	if (h.msgid == 0 && h.exch != IKE_EX_INFO) {
		ike_fail(sa, IKE_N_INVALID_MESSAGE_ID, "exchange %u with message ID 0", h.exch);
		return;
	}
	plen = ike_msg_decrypt(sa, buf, len, &h, &e);
	if (plen < 0 ||
	    ike_pld_validate_chain(h.np, buf + IKE_HDR_LEN, (size_t)plen, true, &m, &e) < 0) {
		ike_fail(sa, e.notify, "exchange %u: %s", h.exch, e.msg);
		return;
	}
	m.hdr = h;
	sa->last_rx_ms = loop_now_ms();
	sa->dpd_tries = 0;
	/* Only a message that decrypted and parsed may move the peer (NAT rebinding). */
	if (sa->peer.sin_addr.s_addr != from->sin_addr.s_addr ||
	    sa->peer.sin_port != from->sin_port || sa->natt != natt) {
		char np[32];

		ike_peer_str(from, np, sizeof(np));
		log_info(LOG_IKE, "%s: SA %llu: peer moved to %s%s", p, (unsigned long long)sa->id,
		         np, natt ? " (NAT-T)" : "");
		ike_sa_set_peer(sa, from);
		sa->natt = sa->natt || natt;
	}
	switch (h.exch) {
	case IKE_EX_TRANSACTION:
		ike_cfg_input(sa, &m, &h);
		break;
	case IKE_EX_QUICK:
		ike_quick_input(sa, &m, &h);
		break;
	case IKE_EX_INFO:
		ike_info_input(sa, &m, &h);
		break;
	default:
		ike_fail(sa, IKE_N_INVALID_EXCHANGE_TYPE, "exchange type %u not supported", h.exch);
	}
}

/* One datagram from port 500 or 4500 (natt). */
static void
on_datagram(struct ike *ike, uint8_t *buf, size_t n, struct msghdr *mh, bool natt)
{
	struct sockaddr_in *from = mh->msg_name, to = ike->bind_addr;

	if (from->sin_family != AF_INET)
		return;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			to.sin_addr = pi.ipi_addr;
		}
	}
	to.sin_family = AF_INET;
	to.sin_port = htons(natt ? ike->natt_port : ike->port);
	if (n > IKE_MAX_DATAGRAM + 4 || (mh->msg_flags & MSG_TRUNC)) {
		log_warn(LOG_IKE, "datagram of more than %d bytes dropped", IKE_MAX_DATAGRAM);
		return;
	}
	if (!natt) {
		input(ike, buf, n, from, &to, false);
		return;
	}
	if (n == 1 && buf[0] == 0xff)
		return; /* NAT-T keepalive */
	if (n < 4)
		return;
	if (buf[0] | buf[1] | buf[2] | buf[3]) {
		if (ike->be != NULL && ike->be->ops->udp_input != NULL)
			ike->be->ops->udp_input(ike->be, buf, n, from, &to);
		return;
	}
	input(ike, buf + 4, n - 4, from, &to, true);
}

/* Reads up to IKE_RX_ROUNDS batches of IKE_RX_BATCH datagrams (recvmmsg), then tells the SA
 * backend the ESP-in-UDP batch is over. */
static void
on_read(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct ike *ike = arg;
	struct ike_rx *rx = ike->rx;
	bool natt = fd == ike->fd4500;

	if (rx == NULL && (rx = ike->rx = calloc(1, sizeof(*rx))) == NULL) {
		log_error(LOG_IKE, "receive buffers: out of memory");
		return;
	}
	for (int round = 0; round < IKE_RX_ROUNDS; round++) {
		int n;

		for (int i = 0; i < IKE_RX_BATCH; i++) {
			rx->iov[i] = (struct iovec){rx->buf[i], sizeof(rx->buf[i])};
			rx->m[i].msg_hdr = (struct msghdr){.msg_name = &rx->from[i],
			                                   .msg_namelen = sizeof(rx->from[i]),
			                                   .msg_iov = &rx->iov[i],
			                                   .msg_iovlen = 1,
			                                   .msg_control = rx->cbuf[i].b,
			                                   .msg_controllen = sizeof(rx->cbuf[i].b)};
			memset(&rx->from[i], 0, sizeof(rx->from[i]));
		}
		n = recvmmsg(fd, rx->m, IKE_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn(LOG_IKE, "recvmmsg: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			on_datagram(ike, rx->buf[i], rx->m[i].msg_len, &rx->m[i].msg_hdr, natt);
		if (n < IKE_RX_BATCH)
			break;
	}
	if (natt && ike->be != NULL && ike->be->ops->input_done != NULL)
		ike->be->ops->input_done(ike->be);
}

static void
retransmit(struct ike_sa *sa, uint64_t now)
{
	char p[32];

	if (sa->rtx_len == 0 || now < sa->rtx_due_ms)
		return;
	ike_peer_str(&sa->peer, p, sizeof(p));
	if (sa->rtx_tries >= IKE_RETRANS_TRIES) {
		ike_rtx_stop(sa);
		ike_sa_kill(sa, "no answer to retransmissions", false);
		return;
	}
	sa->rtx_tries++;
	log_debug(LOG_IKE, "%s: retransmission %d", p, sa->rtx_tries);
	ike_msg_send_raw(sa->ike, sa->natt, &sa->peer, sa->rtx, sa->rtx_len);
	sa->rtx_due_ms = now + (sa->ike->rtx_base_ms << sa->rtx_tries);
}

static const struct ike_group *
sa_group(struct ike_sa *sa)
{
	for (int i = 0; i < sa->ike->conf.ngrp; i++)
		if (strcmp(sa->ike->conf.grp[i].name, ike_sa_group(sa)) == 0)
			return &sa->ike->conf.grp[i];
	return NULL;
}

/* Returns true when the SA was freed. */
static bool
check_sa(struct ike_sa *sa, uint64_t now)
{
	struct ike *ike = sa->ike;
	const struct ike_group *g;
	uint64_t last_in = sa->last_rx_ms, quiet_ms = UINT64_MAX;

	if (ike_sa_half_open(sa) && now - sa->created_ms > ike->half_open_s * 1000ull) {
		ike_sa_kill(sa,
		            sa->state == ST_AM_SENT2
		                    ? "half-open timeout: no Aggressive Mode message 3 (the peer "
		                      "probably rejected HASH_R: wrong pre-shared key or group "
		                      "password?)"
		                    : "half-open timeout: Main Mode did not complete",
		            false);
		return true;
	}
	if (sa->state < ST_ESTAB && !ike_sa_half_open(sa) &&
	    now - sa->created_ms > IKE_XAUTH_WAIT_S * 1000ull) {
		ike_sa_kill(sa, "negotiation did not complete in time", true);
		return true;
	}
	if (sa->life_s > 0 && now - sa->created_ms > sa->life_s * 1000ull) {
		ike_sa_kill(sa, "phase 1 lifetime expired", true);
		return true;
	}
	g = sa_group(sa);
	if (sa->state == ST_ESTAB) {
		if (g != NULL && g->idle_s > 0)
			quiet_ms = g->idle_s * 1000ull;
		if (sa->vid_dpd && ike->dpd_idle_s > 0 && ike->dpd_idle_s * 1000ull < quiet_ms)
			quiet_ms = ike->dpd_idle_s * 1000ull;
	}
	/* Inbound ESP counts as traffic too, but the backend is asked (a lookup per IPsec SA) only
	 * when the IKE messages alone leave the peer quiet long enough for idle-time or DPD; what
	 * it says is kept in last_rx_ms, so a busy tunnel is asked once per such period. */
	if (now - last_in > quiet_ms) {
		for (int i = 0; i < IKE_MAX_CHILDREN; i++) {
			struct ipsec_sa_stats st = {0};

			if (!sa->child[i].used || ike->be == NULL || ike->be->ops->sa_stats == NULL)
				continue;
			if (ike->be->ops->sa_stats(ike->be, sa->child[i].handle, &st) == 0 &&
			    st.last_in_ms > last_in)
				last_in = st.last_in_ms;
		}
		/* a backend that reads its counters now (xfrm) may stamp them after `now` */
		if (last_in > now)
			last_in = now;
		sa->last_rx_ms = last_in;
	}
	if (g != NULL && sa->state == ST_ESTAB) {
		if (g->idle_s > 0 && now - last_in > g->idle_s * 1000ull) {
			ike_sa_kill(sa, "idle-time", true);
			return true;
		}
		if (g->max_s > 0 && now - sa->established_ms > g->max_s * 1000ull) {
			ike_sa_kill(sa, "max-time", true);
			return true;
		}
	}
	if (sa->natt && sa->nat_detected && sa->state == ST_ESTAB &&
	    now - sa->keepalive_ms >= IKE_NATT_KEEPALIVE_S * 1000ull) {
		/* RFC 3948 keepalive: one 0xff byte, keeps the client's NAT mapping open */
		static const uint8_t ka = 0xff;

		sa->keepalive_ms = now;
		if (sendto(ike->fd4500, &ka, 1, 0, (const struct sockaddr *)&sa->peer,
		           sizeof(sa->peer)) < 0)
			log_debug(LOG_IKE, "NAT-T keepalive sendto: %s", strerror(errno));
	}
	if (sa->vid_dpd && ike->dpd_idle_s > 0 && sa->state == ST_ESTAB &&
	    now - last_in > ike->dpd_idle_s * 1000ull) {
		uint64_t retry_ms = ike->dpd_idle_s < 5 ? ike->dpd_idle_s * 1000ull : 5000;

		if (ike->dpd_retry_s > 0)
			retry_ms = ike->dpd_retry_s * 1000ull;

		if (sa->dpd_sent_ms != 0 && now - sa->dpd_sent_ms < retry_ms)
			return false;
		if (sa->dpd_tries >= ike->dpd_retries) {
			ike_sa_kill(sa, "dpd: peer dead", false);
			return true;
		}
		sa->dpd_tries++;
		sa->dpd_sent_ms = now;
		ike_info_dpd(sa, IKE_N_R_U_THERE, ++sa->dpd_seq);
		return false;
	}
	retransmit(sa, now);
	return false;
}

static void
on_tick(struct loop *loop, void *arg)
{
	struct ike *ike = arg;
	uint64_t now = loop_now_ms();
	struct ike_sa *sa = ike->sas, *next;

	for (; sa != NULL; sa = next) {
		next = sa->next;
		if (sa->rtx_len > 0 && sa->rtx_tries >= IKE_RETRANS_TRIES &&
		    now >= sa->rtx_due_ms) {
			ike_sa_kill(sa, "no answer to retransmissions", true);
			continue;
		}
		check_sa(sa, now);
	}
	ike_lease_sync(ike);
	ike->tick = loop_timer_add(loop, TICK_MS, on_tick, ike);
}

int
ike_new(struct loop *loop, struct db *db, const struct ike_hooks *hooks, struct ike **out)
{
	struct ike *ike;
	struct pc_err err = {0};
	int r;

	r = ike_crypto_init();
	if (r < 0)
		return r;
	ike = calloc(1, sizeof(*ike));
	if (ike == NULL)
		return -ENOMEM;
	ike->loop = loop;
	ike->db = db;
	if (hooks != NULL)
		ike->hooks = *hooks;
	ike->fd500 = ike->fd4500 = -1;
	ike->dpd_idle_s = 0;
	ike->dpd_retries = 3;
	ike->half_open_s = IKE_HALF_OPEN_S;
	ike->rtx_base_ms = IKE_RETRANS_BASE_MS;
	r = ike_reload(ike, &err);
	if (r < 0) {
		log_error(LOG_IKE, "loading IKE configuration: %s", err.msg);
		ike_lease_free(ike);
		free(ike);
		return r;
	}
	ike->tick = loop_timer_add(loop, TICK_MS, on_tick, ike);
	if (ike->tick == NULL) {
		ike_lease_free(ike);
		ike_conf_wipe(&ike->conf);
		free(ike);
		return -ENOMEM;
	}
	*out = ike;
	return 0;
}

void
ike_free(struct ike *ike)
{
	if (ike == NULL)
		return;
	while (ike->sas != NULL)
		ike_sa_kill(ike->sas, "shutdown", true);
	ike_lease_free(ike);
	free(ike->rx);
	free(ike->by_cookie);
	free(ike->by_id);
	free(ike->by_peer);
	if (ike->tick != NULL)
		loop_timer_cancel(ike->loop, ike->tick);
	if (ike->fd500 >= 0) {
		loop_del_fd(ike->loop, ike->fd500);
		close(ike->fd500);
	}
	if (ike->fd4500 >= 0) {
		loop_del_fd(ike->loop, ike->fd4500);
		close(ike->fd4500);
	}
	if (ike->be != NULL)
		ike->be->natt_fd = -1;
	ike_conf_wipe(&ike->conf);
	free(ike);
}

static int
open_udp(struct ike *ike, const struct sockaddr_in *addr, uint16_t port, int *fdp)
{
	struct sockaddr_in a = *addr;
	int one = 1, fd, r;
	char p[32];

	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	ike_peer_str(&a, p, sizeof(p));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		log_error(LOG_IKE, "socket UDP: %s", strerror(errno));
		return r;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) {
		r = -errno;
		log_error(LOG_IKE, "setsockopt IP_PKTINFO: %s", strerror(errno));
		close(fd);
		return r;
	}
	{
		/* room for a burst of handshakes while the loop is busy with DH (bench/FINDINGS.md) */
		int rcvbuf = 1 << 20;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
			log_warn(LOG_IKE, "setsockopt SO_RCVBUF %d: %s", rcvbuf, strerror(errno));
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		log_error(LOG_IKE, "bind %s: %s", p, strerror(errno));
		close(fd);
		return r;
	}
	r = loop_add_fd(ike->loop, fd, EPOLLIN, on_read, ike);
	if (r < 0) {
		log_error(LOG_IKE, "loop_add_fd %s: %s", p, strerror(-r));
		close(fd);
		return r;
	}
	*fdp = fd;
	log_info(LOG_IKE, "listening on %s", p);
	return 0;
}

int
ike_listen_ports(struct ike *ike, const struct sockaddr_in *bind_addr, uint16_t port,
                 uint16_t natt_port)
{
	int r;

	if (ike->fd500 >= 0)
		return -EALREADY;
	ike->bind_addr = *bind_addr;
	ike->bind_addr.sin_family = AF_INET;
	ike->port = port;
	ike->natt_port = natt_port;
	r = open_udp(ike, bind_addr, port, &ike->fd500);
	if (r < 0)
		return r;
	r = open_udp(ike, bind_addr, natt_port, &ike->fd4500);
	if (r < 0) {
		loop_del_fd(ike->loop, ike->fd500);
		close(ike->fd500);
		ike->fd500 = -1;
		return r;
	}
	if (ike->be != NULL)
		ike->be->natt_fd = ike->fd4500;
	return 0;
}

int
ike_listen(struct ike *ike, const struct sockaddr_in *bind_addr)
{
	return ike_listen_ports(ike, bind_addr, 500, 4500);
}

int
ike_reload(struct ike *ike, struct pc_err *err)
{
	struct ike_conf *c = malloc(sizeof(*c));
	int r;

	if (c == NULL)
		return -ENOMEM;
	r = ike_conf_load(ike->db, c, err);
	if (r == 0)
		r = ike_lease_load(ike, c, err); /* on failure, the old configuration stays */
	if (r == 0) {
		ike_conf_wipe(&ike->conf);
		memcpy(&ike->conf, c, sizeof(*c));
	}
	ike_conf_wipe(c);
	free(c);
	return r;
}

static bool
backend_event_sa(struct ike_sa *sa, uint64_t handle, enum ipsec_event ev)
{
	for (int i = 0; i < IKE_MAX_CHILDREN; i++) {
		struct ike_child *c = &sa->child[i];

		if (!c->used || c->handle != handle)
			continue;
		if (ev == IPSEC_EV_SOFT_EXPIRE) {
			/* the client rekeys (the PIX never initiates Quick Mode to it) */
			log_debug(LOG_IKE, "IPsec SA spi 0x%08x soft lifetime reached", c->spi_in);
			return true;
		}
		c->backend_gone = true;
		ike_child_kill(sa, c, "lifetime expired");
		return true;
	}
	return false;
}

static void
on_backend_event(void *arg, uint64_t owner, uint64_t handle, enum ipsec_event ev)
{
	struct ike *ike = arg;
	struct ike_sa *sa = ike_sa_find_id(ike, owner);

	if (sa != NULL && backend_event_sa(sa, handle, ev))
		return;
	/* a pair adopted by a phase 1 rekey still carries the old SA's id as its owner */
	for (sa = ike->sas; sa != NULL; sa = sa->next)
		if (backend_event_sa(sa, handle, ev))
			return;
}

void
ike_set_backend(struct ike *ike, struct ipsec_backend *be)
{
	ike->be = be;
	if (be != NULL) {
		be->natt_fd = ike->fd4500;
		be->on_event = on_backend_event;
		be->event_arg = ike;
	}
}

void
ike_set_half_open_timeout(struct ike *ike, unsigned seconds)
{
	ike->half_open_s = seconds > 0 ? seconds : IKE_HALF_OPEN_S;
}

void
ike_set_dpd(struct ike *ike, unsigned idle_s, int retries)
{
	ike->dpd_idle_s = idle_s;
	ike->dpd_retries = retries > 0 ? retries : 3;
}

void
ike_set_dpd_retry_interval(struct ike *ike, unsigned retry_s)
{
	ike->dpd_retry_s = retry_s;
}

int
ike_clear_sa(struct ike *ike, const struct in_addr *peer)
{
	struct ike_sa *sa, *next;
	int n = 0;

	sa = peer != NULL ? ike_sa_peer_first(ike, peer->s_addr) : ike->sas;
	for (; sa != NULL; sa = next) {
		next = peer != NULL ? ike_sa_peer_next(sa) : sa->next;
		ike_sa_kill(sa, "clear", true);
		n++;
	}
	return n;
}

int
ike_list_sas(struct ike *ike, struct ike_sa_info *out, int max)
{
	uint64_t now = loop_now_ms();
	int n = 0;

	for (struct ike_sa *sa = ike->sas; sa != NULL; sa = sa->next, n++) {
		struct ike_sa_info *i;

		if (n >= max)
			continue;
		i = &out[n];
		memset(i, 0, sizeof(*i));
		i->id = sa->id;
		i->peer = sa->peer;
		i->local = sa->local;
		snprintf(i->state, sizeof(i->state), "%s", ike_state_name(sa->state));
		snprintf(i->user, sizeof(i->user), "%s", ike_sa_user(sa));
		snprintf(i->group, sizeof(i->group), "%s", ike_sa_group(sa));
		i->assigned_addr = sa->addr;
		i->enc = sa->enc;
		i->hash = sa->hash;
		i->dh_group = sa->group;
		i->auth_method = sa->auth;
		i->lifetime_s = sa->life_s;
		i->age_s = (now - sa->created_ms) / 1000;
		i->natt = sa->natt;
		snprintf(i->mode, sizeof(i->mode), "%s", sa->aggressive ? "aggressive" : "main");
		for (int c = 0; c < IKE_MAX_CHILDREN && i->n_ipsec < 4; c++) {
			if (!sa->child[c].used)
				continue;
			i->spi_in[i->n_ipsec] = sa->child[c].spi_in;
			i->spi_out[i->n_ipsec] = sa->child[c].spi_out;
			ike_transform_str(sa->child[c].esp_id, sa->child[c].keybits,
			                  sa->child[c].auth_alg, i->transform[i->n_ipsec],
			                  sizeof(i->transform[0]));
			if (ike->be != NULL && ike->be->ops->sa_stats != NULL)
				ike->be->ops->sa_stats(ike->be, sa->child[c].handle,
				                       &i->stats[i->n_ipsec]);
			i->n_ipsec++;
		}
	}
	return n;
}
