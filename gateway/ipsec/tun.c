/* The tun SA backend: see tun.h. */
#include "gateway/ipsec/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "gateway/core/log.h"
#include "gateway/ipsec/cursor.h"
#include "gateway/ipsec/tun_gro.h"
#include "gateway/ipsec/tun_pool.h"
#include "gateway/ipsec/tun_rtnl.h"

#define TUN_SPI_BUCKETS    4096 /* power of two */
#define TUN_HANDLE_BUCKETS 4096 /* power of two; handles are sequential */
#define TUN_ROUTE_BUCKETS  4096 /* power of two */
#define TUN_OUT_BATCH      32
#define TUN_RAW_RCVBUF     (4 * 1024 * 1024)
#define TUN_MAX_LIFETIME_S (UINT64_C(100) * 365 * 86400) /* 100 years: keeps ms in range */
#define TUN_IN_BATCH       16
#define TUN_IN_SLOT        IPSEC_TUN_MAX_PKT /* a whole (reassembled) IPv4 packet */
#define TUN_OUT_SLOT       (ESP_HEADROOM + IPSEC_TUN_MAX_MTU + ESP_TAILROOM)
/* Inbound ESP waits in a queue of up to TUN_INQ packets, decrypted together when it is full or
 * the caller's batch ends (input_done, the end of a raw recvmmsg round, or a zero-delay timer).
 * ESP-in-UDP datagrams up to TUN_USLOT bytes are copied into a slot of their own; a longer one
 * goes alone through buf. */
#define TUN_INQ   32
#define TUN_USLOT (ESP_HEADROOM + 2048)
/* A batch is split over the crypto threads only when it carries this many bytes (smaller ones
 * cost less than waking a thread) and more than one SA. */
#define TUN_PAR_MIN_BYTES 8192
/* Outbound SAs get a soft expiry this many packets before the 32-bit counter runs out. */
#define TUN_SEQ_SOFT_MARGIN (1u << 20)

/* What the data path and the lifetime handling need of an SA's parameters after sa_add (the keys
 * live only in the ESP contexts). The selectors follow struct tun_sa in its allocation, sized to
 * their count (remote_ts first, then local_ts). */
struct tun_sa_conf {
	struct {
		uint32_t spi;
	} in, out;
	struct sockaddr_in local, peer;
	bool udp_encap;
	int n_remote_ts, n_local_ts;
	uint64_t soft_lifetime_s, soft_lifetime_bytes, hard_lifetime_bytes;
	uint64_t owner;
	struct ipsec_prefix *remote_ts, *local_ts;
};

struct tun_sa {
	uint64_t handle;
	struct tun_sa_conf p;
	struct esp_sa *in, *out;
	struct ipsec_sa_stats st;
	struct tun_sa *spi_next;         /* chain in the inbound SPI hash */
	struct tun_sa *handle_next;      /* chain in the handle hash */
	struct tun_sa *prev, *next;      /* all SAs */
	struct loop_timer *soft_timer;   /* soft lifetime by time, NULL when none or fired */
	struct loop_timer *hard_timer;   /* hard lifetime by time */
	bool soft_done;                  /* soft event delivered or queued */
	bool soft_pending, hard_pending; /* queued for the deferred event handler */
	bool dead;                       /* hard limit reached: drops everything */
	uint8_t batch_part;              /* crypto thread of this SA's packets in batch_gen */
	uint32_t batch_gen;
	uint64_t batch_bytes_in; /* inner bytes delivered in this batch, not yet in st */
	struct tun_be *be;
	struct ipsec_prefix ts[]; /* p.n_remote_ts + p.n_local_ts selectors */
};

/* One route via the TUN device: a client-side selector of one or more SAs (a rekey installs the
 * new pair before deleting the old). Outbound traffic uses the newest SA. */
struct tun_route {
	uint32_t addr; /* host order, masked */
	uint8_t plen;
	int refs;
	struct tun_sa *sa;
	struct tun_route *next;
};

/* One packet read from the TUN for an SA (slot: ESP_HEADROOM, then the inner packet of
 * inner_len bytes), encrypted in place (ret, why; the ESP packet at slot + off, len bytes), then
 * waiting for sendmmsg(). */
struct tun_out {
	struct tun_sa *sa;
	uint8_t *slot;
	size_t inner_len;
	unsigned part;
	int ret;
	enum esp_drop why;
	size_t off, len;
	struct sockaddr_in to;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cm;
};

/* One inbound ESP packet (SPI to ICV, with ESP_HEADROOM before it) of the queue: its SA found,
 * decrypted in place (ret, why; the inner packet at pkt + ioff, ilen bytes). */
struct tun_in {
	uint8_t *pkt;
	size_t len;
	uint32_t from;
	struct tun_sa *sa;
	unsigned part;
	int ret; /* < 0: dropped for why (decryption or the checks after it) */
	enum esp_drop why;
	size_t ioff, ilen; /* ilen: the inner packet's total length once checked */
};

/* What one crypto thread writes to the TUN: its segment joining, and the writes the kernel
 * refused (counted as drops on the loop thread afterwards, by wfail_drain()). */
struct tun_part {
	struct tun_be *t;
	struct tun_gro gro;
	bool gro_ok;
	int nfail;
	struct {
		struct tun_sa *sa;
		unsigned npkts;
	} fail[TUN_INQ + TUN_GRO_FLOWS];
	uint64_t fail_lost; /* beyond fail[]: counted without their SA */
};

struct tun_be {
	struct ipsec_backend be; /* first: the generic part */
	struct ipsec_tun_config cfg;
	char ifname[IFNAMSIZ];
	unsigned ifindex;
	int tun_fd, raw_fd;
	bool tun_dead; /* TUN read failed for good: no longer watched */
	struct mnl_socket *nl;
	struct tun_sa *sas;
	int n_sas;
	uint64_t next_handle;
	struct tun_sa *spi_hash[TUN_SPI_BUCKETS];
	struct tun_sa *handle_hash[TUN_HANDLE_BUCKETS];
	struct tun_route *host_routes[TUN_ROUTE_BUCKETS]; /* /32 */
	struct tun_route *prefix_routes;                  /* shorter prefixes, few */
	struct loop_timer *event_timer;
	uint64_t drops[ESP_DROP_COUNT];
	/* Outbound: packets read from the TUN are encrypted in their own slot and sent in
	 * batches of up to TUN_OUT_BATCH with sendmmsg(). */
	uint8_t *slots; /* TUN_OUT_BATCH * TUN_OUT_SLOT bytes */
	struct tun_out out[TUN_OUT_BATCH];
	/* Inbound: raw ESP is received in batches (recvmmsg) into rslots, TUN_IN_BATCH *
	 * TUN_IN_SLOT bytes (NULL without the raw socket); ESP-in-UDP from the IKE engine is
	 * copied to uslots (TUN_INQ * TUN_USLOT bytes), or buf when longer. Queued in inq (only
	 * raw or only UDP packets at a time), decrypted in place. */
	uint8_t *rslots, *uslots;
	struct tun_in inq[TUN_INQ];
	int nin;
	uint8_t buf[ESP_HEADROOM + IPSEC_TUN_MAX_PKT + ESP_TAILROOM];
	/* Crypto threads (the loop's included): a batch's SAs are spread over them. */
	struct tun_pool *pool;
	uint32_t batch_gen;
	size_t part_bytes[TUN_POOL_MAX];
	uint64_t split_batches; /* batches that ran on more than one thread */
	/* Writes to the TUN (IFF_VNET_HDR): TCP segments of a flow in one batch joined
	 * (tun_gro.h), per crypto thread. part[0] is the loop thread's: what a batch run on the
	 * loop thread alone leaves pending there is written at the end of the caller's batch
	 * (input_done), of the raw round or by the timer; a thread of a split batch writes all it
	 * joined before the batch ends. */
	struct tun_part part[TUN_POOL_MAX];
	/* runs the queue and writes what is held back if no input_done comes first */
	struct loop_timer *flush_timer;
};

static const struct ipsec_backend_ops tun_ops;

static void inbound_run(struct tun_be *t);
static void wfail_drain(struct tun_be *t);

static struct tun_be *
tun_of(struct ipsec_backend *be)
{
	return (struct tun_be *)be;
}

static uint32_t
prefix_mask(uint8_t plen)
{
	return plen == 0 ? 0 : UINT32_MAX << (32 - plen);
}

static bool
prefix_has(const struct ipsec_prefix *pf, uint32_t addr)
{
	return ((addr ^ pf->addr) & prefix_mask(pf->plen)) == 0;
}

static bool
ts_has(const struct ipsec_prefix *ts, int n, uint32_t addr)
{
	for (int i = 0; i < n; i++)
		if (prefix_has(&ts[i], addr))
			return true;
	return false;
}

static unsigned
hash32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352d;
	v ^= v >> 15;
	v *= 0x846ca68b;
	v ^= v >> 16;
	return v;
}

static const char *
ip_str(uint32_t host_order, char *buf)
{
	struct in_addr a = {.s_addr = htonl(host_order)};

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void
count_drop(struct tun_be *t, struct tun_sa *sa, enum esp_drop why)
{
	if ((unsigned)why >= ESP_DROP_COUNT)
		why = ESP_DROP_NOT_ESP;
	t->drops[why]++;
	if (sa == NULL)
		return;
	if (why == ESP_DROP_REPLAY)
		sa->st.replay_drops++;
	else if (why == ESP_DROP_AUTH)
		sa->st.auth_failures++;
	else
		sa->st.other_drops++;
}

/* ---- SA lookup ---- */

static struct tun_sa *
spi_find(struct tun_be *t, uint32_t spi)
{
	for (struct tun_sa *sa = t->spi_hash[hash32(spi) & (TUN_SPI_BUCKETS - 1)]; sa != NULL;
	     sa = sa->spi_next)
		if (sa->p.in.spi == spi)
			return sa;
	return NULL;
}

static struct tun_route **
route_head(struct tun_be *t, uint32_t addr, uint8_t plen)
{
	if (plen == 32)
		return &t->host_routes[hash32(addr) & (TUN_ROUTE_BUCKETS - 1)];
	return &t->prefix_routes;
}

static struct tun_route *
route_find(struct tun_be *t, uint32_t addr, uint8_t plen)
{
	for (struct tun_route *r = *route_head(t, addr, plen); r != NULL; r = r->next)
		if (r->addr == addr && r->plen == plen)
			return r;
	return NULL;
}

/* Outbound: the newest SA whose client-side selector holds dst, longest prefix first. */
static struct tun_sa *
route_lookup(struct tun_be *t, uint32_t dst)
{
	struct tun_route *best = route_find(t, dst, 32);

	if (best != NULL)
		return best->sa;
	for (struct tun_route *r = t->prefix_routes; r != NULL; r = r->next)
		if (((dst ^ r->addr) & prefix_mask(r->plen)) == 0 &&
		    (best == NULL || r->plen > best->plen))
			best = r;
	return best != NULL ? best->sa : NULL;
}

static int
route_ref(struct tun_be *t, struct tun_sa *sa, const struct ipsec_prefix *pf)
{
	uint32_t addr = pf->addr & prefix_mask(pf->plen);
	struct tun_route *r = route_find(t, addr, pf->plen), **head;
	int ret;

	if (r != NULL) {
		r->refs++;
		r->sa = sa; /* newest wins */
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	ret = tun_rtnl_route(t->nl, true, addr, pf->plen, t->ifindex, t->cfg.route_table);
	if (ret < 0) {
		free(r);
		return ret;
	}
	r->addr = addr;
	r->plen = pf->plen;
	r->refs = 1;
	r->sa = sa;
	head = route_head(t, addr, pf->plen);
	r->next = *head;
	*head = r;
	return 0;
}

static void
route_unref(struct tun_be *t, struct tun_sa *sa, const struct ipsec_prefix *pf)
{
	uint32_t addr = pf->addr & prefix_mask(pf->plen);
	struct tun_route *r = route_find(t, addr, pf->plen), **pp;

	if (r == NULL)
		return;
	if (--r->refs > 0) {
		if (r->sa == sa) {
			/* Hand the route to the newest remaining SA with this selector. */
			r->sa = NULL;
			for (struct tun_sa *o = t->sas; o != NULL; o = o->next) {
				if (o == sa || (r->sa != NULL && r->sa->handle > o->handle))
					continue;
				for (int i = 0; i < o->p.n_remote_ts; i++)
					if (o->p.remote_ts[i].plen == r->plen &&
					    (o->p.remote_ts[i].addr & prefix_mask(r->plen)) == addr)
						r->sa = o;
			}
		}
		return;
	}
	tun_rtnl_route(t->nl, false, addr, pf->plen, t->ifindex, t->cfg.route_table);
	for (pp = route_head(t, addr, pf->plen); *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	free(r);
}

/* ---- SA table ---- */

static void
sa_unlink_free(struct tun_be *t, struct tun_sa *sa)
{
	struct tun_sa **pp;

	/* Queued packets may be this SA's: decrypted and delivered first. */
	inbound_run(t);
	if (t->part[0].gro_ok) {
		tun_gro_forget(&t->part[0].gro, sa); /* its pending packets are written first */
		wfail_drain(t);
	}
	for (pp = &t->spi_hash[hash32(sa->p.in.spi) & (TUN_SPI_BUCKETS - 1)]; *pp != NULL;
	     pp = &(*pp)->spi_next) {
		if (*pp == sa) {
			*pp = sa->spi_next;
			break;
		}
	}
	for (pp = &t->handle_hash[sa->handle & (TUN_HANDLE_BUCKETS - 1)]; *pp != NULL;
	     pp = &(*pp)->handle_next) {
		if (*pp == sa) {
			*pp = sa->handle_next;
			break;
		}
	}
	if (sa->prev != NULL)
		sa->prev->next = sa->next;
	else if (t->sas == sa)
		t->sas = sa->next;
	if (sa->next != NULL)
		sa->next->prev = sa->prev;
	sa->prev = sa->next = NULL;
	/* Unlinked first, so that route_unref() hands routes only to other SAs. */
	for (int i = 0; i < sa->p.n_remote_ts; i++)
		route_unref(t, sa, &sa->p.remote_ts[i]);
	if (sa->soft_timer != NULL)
		loop_timer_cancel(t->be.loop, sa->soft_timer);
	if (sa->hard_timer != NULL)
		loop_timer_cancel(t->be.loop, sa->hard_timer);
	esp_sa_free(sa->in);
	esp_sa_free(sa->out);
	t->n_sas--;
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

static struct tun_sa *
sa_by_handle(struct tun_be *t, uint64_t handle)
{
	for (struct tun_sa *sa = t->handle_hash[handle & (TUN_HANDLE_BUCKETS - 1)]; sa != NULL;
	     sa = sa->handle_next)
		if (sa->handle == handle)
			return sa;
	return NULL;
}

static void
emit(struct tun_be *t, uint64_t owner, uint64_t handle, enum ipsec_event ev)
{
	if (t->be.on_event != NULL)
		t->be.on_event(t->be.event_arg, owner, handle, ev);
}

/* Hard expiry: the SA goes first, then the engine hears about it. */
static void
sa_expire_hard(struct tun_be *t, struct tun_sa *sa, const char *why)
{
	uint64_t owner = sa->p.owner, handle = sa->handle;

	log_info(LOG_IPSEC, "SA %08x/%08x (handle %llu): hard lifetime reached (%s), removed",
	         sa->p.in.spi, sa->p.out.spi, (unsigned long long)handle, why);
	sa_unlink_free(t, sa);
	emit(t, owner, handle, IPSEC_EV_HARD_EXPIRE);
}

/* Events found while handling packets are delivered from a zero-delay timer, so the engine's
 * callback never runs inside the packet path (where it might delete what is in use). */
static void
events_run(struct loop *loop, void *arg)
{
	struct tun_be *t = arg;
	bool again = true;

	t->event_timer = NULL;
	while (again) {
		again = false;
		for (struct tun_sa *sa = t->sas; sa != NULL; sa = sa->next) {
			if (sa->hard_pending) {
				sa->hard_pending = false;
				sa_expire_hard(t, sa, "bytes or sequence numbers");
				again = true; /* the list may have changed under us */
				break;
			}
			if (sa->soft_pending) {
				sa->soft_pending = false;
				log_info(LOG_IPSEC,
				         "SA %08x/%08x (handle %llu): soft lifetime reached",
				         sa->p.in.spi, sa->p.out.spi,
				         (unsigned long long)sa->handle);
				emit(t, sa->p.owner, sa->handle, IPSEC_EV_SOFT_EXPIRE);
				again = true;
				break;
			}
		}
	}
}

static void
events_schedule(struct tun_be *t)
{
	if (t->event_timer == NULL)
		t->event_timer = loop_timer_add(t->be.loop, 0, events_run, t);
	if (t->event_timer == NULL)
		log_error(LOG_IPSEC, "tun: loop_timer_add for SA events: timer table full");
}

static void
check_limits(struct tun_be *t, struct tun_sa *sa)
{
	uint64_t bytes = sa->st.bytes_in > sa->st.bytes_out ? sa->st.bytes_in : sa->st.bytes_out;

	if (sa->dead)
		return;
	if (sa->p.hard_lifetime_bytes != 0 && bytes >= sa->p.hard_lifetime_bytes) {
		sa->dead = true;
		sa->hard_pending = true;
		events_schedule(t);
		return;
	}
	if (!sa->soft_done &&
	    ((sa->p.soft_lifetime_bytes != 0 && bytes >= sa->p.soft_lifetime_bytes) ||
	     sa->out->seq >= UINT32_MAX - TUN_SEQ_SOFT_MARGIN)) {
		sa->soft_done = true;
		sa->soft_pending = true;
		events_schedule(t);
	}
}

static void
soft_timer_fired(struct loop *loop, void *arg)
{
	struct tun_sa *sa = arg;

	sa->soft_timer = NULL;
	if (sa->soft_done || sa->dead)
		return;
	sa->soft_done = true;
	log_info(LOG_IPSEC, "SA %08x/%08x (handle %llu): soft lifetime %llus reached", sa->p.in.spi,
	         sa->p.out.spi, (unsigned long long)sa->handle,
	         (unsigned long long)sa->p.soft_lifetime_s);
	emit(sa->be, sa->p.owner, sa->handle, IPSEC_EV_SOFT_EXPIRE);
}

static void
hard_timer_fired(struct loop *loop, void *arg)
{
	struct tun_sa *sa = arg;

	sa->hard_timer = NULL;
	sa_expire_hard(sa->be, sa, "time");
}

static int
check_params(const struct tun_be *t, const struct ipsec_sa_params *p)
{
	if (p->n_remote_ts < 1 || p->n_remote_ts > IPSEC_MAX_SELECTORS || p->n_local_ts < 1 ||
	    p->n_local_ts > IPSEC_MAX_SELECTORS) {
		log_warn(LOG_IPSEC, "SA %08x: selector counts %d/%d (need 1..%d each)", p->in.spi,
		         p->n_remote_ts, p->n_local_ts, IPSEC_MAX_SELECTORS);
		return -EINVAL;
	}
	for (int i = 0; i < p->n_remote_ts; i++) {
		if (p->remote_ts[i].plen > 32) {
			log_warn(LOG_IPSEC, "SA %08x: remote selector prefix length %u", p->in.spi,
			         p->remote_ts[i].plen);
			return -EINVAL;
		}
	}
	for (int i = 0; i < p->n_local_ts; i++) {
		if (p->local_ts[i].plen > 32) {
			log_warn(LOG_IPSEC, "SA %08x: local selector prefix length %u", p->in.spi,
			         p->local_ts[i].plen);
			return -EINVAL;
		}
	}
	if (p->peer.sin_family != AF_INET || p->peer.sin_addr.s_addr == 0) {
		log_warn(LOG_IPSEC, "SA %08x: no peer address", p->in.spi);
		return -EINVAL;
	}
	if (p->udp_encap && p->peer.sin_port == 0) {
		log_warn(LOG_IPSEC, "SA %08x: UDP encapsulation without a peer port", p->in.spi);
		return -EINVAL;
	}
	if (!p->udp_encap && t->raw_fd < 0) {
		log_warn(LOG_IPSEC, "SA %08x: raw ESP SA but the raw ESP socket is disabled",
		         p->in.spi);
		return -EINVAL;
	}
	if (p->soft_lifetime_s > TUN_MAX_LIFETIME_S || p->hard_lifetime_s > TUN_MAX_LIFETIME_S) {
		log_warn(LOG_IPSEC, "SA %08x: lifetime %llu/%llus beyond %llus", p->in.spi,
		         (unsigned long long)p->soft_lifetime_s,
		         (unsigned long long)p->hard_lifetime_s,
		         (unsigned long long)TUN_MAX_LIFETIME_S);
		return -EINVAL;
	}
	if (p->soft_lifetime_s != 0 && p->hard_lifetime_s != 0 &&
	    p->soft_lifetime_s > p->hard_lifetime_s) {
		log_warn(LOG_IPSEC, "SA %08x: soft lifetime %llus after hard %llus", p->in.spi,
		         (unsigned long long)p->soft_lifetime_s,
		         (unsigned long long)p->hard_lifetime_s);
		return -EINVAL;
	}
	return 0;
}

/* A zeroed SA holding the parts of p the backend keeps (checked by check_params() first: the
 * selector counts are in range). Keys are not copied. */
static struct tun_sa *
sa_alloc(struct tun_be *t, const struct ipsec_sa_params *p)
{
	size_t n = (size_t)p->n_remote_ts + (size_t)p->n_local_ts;
	struct tun_sa *sa = calloc(1, sizeof(*sa) + n * sizeof(sa->ts[0]));

	if (sa == NULL)
		return NULL;
	sa->be = t;
	sa->p.in.spi = p->in.spi;
	sa->p.out.spi = p->out.spi;
	sa->p.local = p->local;
	sa->p.peer = p->peer;
	sa->p.udp_encap = p->udp_encap;
	sa->p.soft_lifetime_s = p->soft_lifetime_s;
	sa->p.soft_lifetime_bytes = p->soft_lifetime_bytes;
	sa->p.hard_lifetime_bytes = p->hard_lifetime_bytes;
	sa->p.owner = p->owner;
	sa->p.n_remote_ts = p->n_remote_ts;
	sa->p.n_local_ts = p->n_local_ts;
	sa->p.remote_ts = sa->ts;
	sa->p.local_ts = sa->ts + p->n_remote_ts;
	memcpy(sa->p.remote_ts, p->remote_ts, (size_t)p->n_remote_ts * sizeof(sa->ts[0]));
	memcpy(sa->p.local_ts, p->local_ts, (size_t)p->n_local_ts * sizeof(sa->ts[0]));
	return sa;
}

static int
tun_sa_add(struct ipsec_backend *be, const struct ipsec_sa_params *p, uint64_t *handle)
{
	struct tun_be *t = tun_of(be);
	struct tun_sa *sa = NULL;
	char pbuf[INET_ADDRSTRLEN];
	int ret, routed = 0;
	unsigned b;

	ret = check_params(t, p);
	if (ret < 0)
		return ret;
	if (t->n_sas >= (int)t->cfg.max_sas) {
		log_warn(LOG_IPSEC, "SA %08x: SA table full (%u pairs)", p->in.spi, t->cfg.max_sas);
		return -ENOSPC;
	}
	if (spi_find(t, p->in.spi) != NULL) {
		log_warn(LOG_IPSEC, "SA %08x: inbound SPI already in use", p->in.spi);
		return -EEXIST;
	}
	sa = sa_alloc(t, p);
	if (sa == NULL)
		return -ENOMEM;
	/* The key schedules live in the ESP contexts; the raw keys are not kept. */
	ret = esp_sa_new(p->enc, p->auth, &p->in, false, p->replay_window, &sa->in);
	if (ret == 0)
		ret = esp_sa_new(p->enc, p->auth, &p->out, true, 0, &sa->out);
	if (ret < 0)
		goto out;
	sa->handle = ++t->next_handle;
	sa->st.added_ms = loop_now_ms();
	/* Linked before routing so that route_ref() can point at it. */
	sa->next = t->sas;
	if (t->sas != NULL)
		t->sas->prev = sa;
	t->sas = sa;
	t->n_sas++;
	b = hash32(p->in.spi) & (TUN_SPI_BUCKETS - 1);
	sa->spi_next = t->spi_hash[b];
	t->spi_hash[b] = sa;
	sa->handle_next = t->handle_hash[sa->handle & (TUN_HANDLE_BUCKETS - 1)];
	t->handle_hash[sa->handle & (TUN_HANDLE_BUCKETS - 1)] = sa;
	for (; routed < p->n_remote_ts; routed++) {
		ret = route_ref(t, sa, &p->remote_ts[routed]);
		if (ret < 0)
			goto unlink;
	}
	if (p->soft_lifetime_s != 0) {
		sa->soft_timer =
		        loop_timer_add(t->be.loop, p->soft_lifetime_s * 1000, soft_timer_fired, sa);
		if (sa->soft_timer == NULL) {
			ret = -ENOSPC;
			goto unlink;
		}
	}
	if (p->hard_lifetime_s != 0) {
		sa->hard_timer =
		        loop_timer_add(t->be.loop, p->hard_lifetime_s * 1000, hard_timer_fired, sa);
		if (sa->hard_timer == NULL) {
			ret = -ENOSPC;
			goto unlink;
		}
	}
	*handle = sa->handle;
	log_info(LOG_IPSEC,
	         "SA %08x/%08x (handle %llu): peer %s:%u %s, %s/%s, %d remote selector(s) via %s",
	         p->in.spi, p->out.spi, (unsigned long long)sa->handle,
	         inet_ntop(AF_INET, &p->peer.sin_addr, pbuf, sizeof(pbuf)), ntohs(p->peer.sin_port),
	         p->udp_encap ? "esp-in-udp" : "esp", esp_enc_name(p->enc, p->in.enc_key_len),
	         esp_auth_name(p->auth), p->n_remote_ts, t->ifname);
	return 0;
unlink:
	/* route_unref() only for the selectors that were referenced. */
	sa->p.n_remote_ts = routed;
	sa_unlink_free(t, sa);
	return ret;
out:
	esp_sa_free(sa->in);
	esp_sa_free(sa->out);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
	return ret;
}

static int
tun_sa_del(struct ipsec_backend *be, uint64_t handle)
{
	struct tun_be *t = tun_of(be);
	struct tun_sa *sa = sa_by_handle(t, handle);

	if (sa == NULL)
		return -ENOENT;
	log_info(LOG_IPSEC, "SA %08x/%08x (handle %llu): deleted, %llu/%llu packets in/out",
	         sa->p.in.spi, sa->p.out.spi, (unsigned long long)handle,
	         (unsigned long long)sa->st.packets_in, (unsigned long long)sa->st.packets_out);
	sa_unlink_free(t, sa);
	return 0;
}

static int
tun_sa_stats(struct ipsec_backend *be, uint64_t handle, struct ipsec_sa_stats *out)
{
	struct tun_sa *sa = sa_by_handle(tun_of(be), handle);

	if (sa == NULL)
		return -ENOENT;
	*out = sa->st;
	return 0;
}

/* ---- packet paths ---- */

/* The validation step for an IPv4 header at p[0, len): version, header length, total length.
 * *tot is the total length (len may be longer: TFC padding or a short read). */
struct ip4_hdr {
	uint8_t ihl_bytes, proto;
	uint16_t tot;
	uint32_t src, dst;
};

static int
ip4_validate(const uint8_t *p, size_t len, struct ip4_hdr *h)
{
	struct ipsec_cur c;
	uint8_t vihl, tos, ttl;
	uint16_t id, frag, csum;

	ipsec_cur_init(&c, p, len);
	if (ipsec_cur_get_u8(&c, &vihl) < 0 || ipsec_cur_get_u8(&c, &tos) < 0 ||
	    ipsec_cur_get_be16(&c, &h->tot) < 0 || ipsec_cur_get_be16(&c, &id) < 0 ||
	    ipsec_cur_get_be16(&c, &frag) < 0 || ipsec_cur_get_u8(&c, &ttl) < 0 ||
	    ipsec_cur_get_u8(&c, &h->proto) < 0 || ipsec_cur_get_be16(&c, &csum) < 0 ||
	    ipsec_cur_get_be32(&c, &h->src) < 0 || ipsec_cur_get_be32(&c, &h->dst) < 0)
		return -EBADMSG;
	h->ihl_bytes = (uint8_t)((vihl & 0x0f) * 4);
	if (vihl >> 4 != 4 || h->ihl_bytes < 20 || h->tot < h->ihl_bytes || h->tot > len)
		return -EBADMSG;
	return 0;
}

/* The socket an SA's ESP leaves on: the IKE engine's 4500 socket for NAT-T, else raw ESP. */
static int
sa_fd(const struct tun_be *t, const struct tun_sa *sa)
{
	return sa->p.udp_encap ? t->be.natt_fd : t->raw_fd;
}

/* Fills the message for one encrypted packet: destination, and the source address as
 * IP_PKTINFO when the SA names one. */
static void
out_msg(struct tun_out *q, struct mmsghdr *m, const uint8_t *pkt, size_t len)
{
	struct tun_sa *sa = q->sa;

	q->to = sa->p.peer;
	if (!sa->p.udp_encap)
		q->to.sin_port = 0;
	q->iov.iov_base = (void *)pkt;
	q->iov.iov_len = len;
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &q->to;
	m->msg_hdr.msg_namelen = sizeof(q->to);
	m->msg_hdr.msg_iov = &q->iov;
	m->msg_hdr.msg_iovlen = 1;
	if (sa->p.local.sin_addr.s_addr != 0) {
		struct cmsghdr *cmsg;
		struct in_pktinfo pi = {.ipi_spec_dst = sa->p.local.sin_addr};

		memset(&q->cm, 0, sizeof(q->cm));
		m->msg_hdr.msg_control = q->cm.buf;
		m->msg_hdr.msg_controllen = sizeof(q->cm.buf);
		cmsg = CMSG_FIRSTHDR(&m->msg_hdr);
		cmsg->cmsg_level = IPPROTO_IP;
		cmsg->cmsg_type = IP_PKTINFO;
		cmsg->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cmsg), &pi, sizeof(pi));
	}
}

/* ---- batches: one SA's packets on one crypto thread ---- */

static void
batch_begin(struct tun_be *t)
{
	if (++t->batch_gen == 0)
		t->batch_gen = 1; /* 0 is "never seen" in a new SA */
	memset(t->part_bytes, 0, sizeof(t->part_bytes));
}

/* The crypto thread of sa's packets in this batch: the least loaded one (by bytes) when sa
 * first appears, so a batch of m SAs uses threads 0..min(m, pool size)-1. *nparts: threads
 * used so far. */
static unsigned
batch_part(struct tun_be *t, struct tun_sa *sa, size_t bytes, unsigned *nparts)
{
	if (sa->batch_gen != t->batch_gen) {
		unsigned k = tun_pool_size(t->pool), best = 0;

		for (unsigned i = 1; i < k; i++)
			if (t->part_bytes[i] < t->part_bytes[best])
				best = i;
		sa->batch_gen = t->batch_gen;
		sa->batch_part = (uint8_t)best;
		sa->batch_bytes_in = 0;
		if (best + 1 > *nparts)
			*nparts = best + 1;
	}
	t->part_bytes[sa->batch_part] += bytes;
	return sa->batch_part;
}

/* What a crypto thread gets: the batch, and which part is its own (all: every packet, when the
 * batch runs on the loop thread alone). */
struct tun_job {
	struct tun_be *t;
	int n;
	bool all;
};

/* Whether a batch of nparts SA groups and bytes is worth splitting. */
static bool
batch_split(unsigned nparts, size_t bytes)
{
	return nparts > 1 && bytes >= TUN_PAR_MIN_BYTES;
}

/* Runs fn over the batch: on the crypto threads when split, else here. */
static void
batch_run(struct tun_be *t, int n, bool split, unsigned nparts, tun_pool_fn fn)
{
	struct tun_job job = {.t = t, .n = n};

	if (split) {
		t->split_batches++;
		tun_pool_run(t->pool, nparts, fn, &job);
	} else {
		job.all = true;
		fn(&job, 0);
	}
}

/* ---- outbound ---- */

/* One packet the kernel routed into the TUN device, at slot + ESP_HEADROOM: checks it and
 * finds its SA; queued as t->out[*nq] for encryption. */
static void
outbound_one(struct tun_be *t, uint8_t *slot, size_t n, int *nq)
{
	uint8_t *inner = slot + ESP_HEADROOM;
	struct tun_out *q = &t->out[*nq];
	struct ip4_hdr h;
	struct tun_sa *sa;
	char sbuf[INET_ADDRSTRLEN], dbuf[INET_ADDRSTRLEN];

	if (ip4_validate(inner, n, &h) < 0) {
		/* IPv6 and anything else we did not route here. */
		count_drop(t, NULL, ESP_DROP_INNER);
		return;
	}
	n = h.tot;
	sa = route_lookup(t, h.dst);
	if (sa == NULL) {
		log_debug(LOG_IPSEC, "tun: %s -> %s: no SA", ip_str(h.src, sbuf),
		          ip_str(h.dst, dbuf));
		count_drop(t, NULL, ESP_DROP_NO_POLICY);
		return;
	}
	if (sa->dead) {
		count_drop(t, sa, ESP_DROP_EXPIRED);
		return;
	}
	if (!ts_has(sa->p.local_ts, sa->p.n_local_ts, h.src)) {
		log_debug(LOG_IPSEC, "SA %08x: outbound %s -> %s outside the local selectors",
		          sa->p.out.spi, ip_str(h.src, sbuf), ip_str(h.dst, dbuf));
		count_drop(t, sa, ESP_DROP_SELECTOR);
		return;
	}
	if (sa_fd(t, sa) < 0) {
		log_debug(LOG_IPSEC, "SA %08x: no socket to send on (NAT-T socket not set)",
		          sa->p.out.spi);
		count_drop(t, sa, ESP_DROP_SEND);
		return;
	}
	q->sa = sa;
	q->slot = slot;
	q->inner_len = n;
	(*nq)++;
}

/* Sends q[0..n) (one thread's encrypted packets, msgs filled), one sendmmsg() per run of
 * packets for the same socket; a message the kernel refused is marked as a drop. */
static void
send_part(struct tun_be *t, struct tun_out **q, struct mmsghdr *msgs, int n)
{
	int i = 0;

	while (i < n) {
		int fd = sa_fd(t, q[i]->sa), j = i, sent;

		while (j < n && sa_fd(t, q[j]->sa) == fd)
			j++;
		sent = sendmmsg(fd, &msgs[i], (unsigned)(j - i), MSG_DONTWAIT);
		if (sent <= 0) {
			/* The first message failed: it is dropped, the rest go on. */
			log_debug(LOG_IPSEC, "SA %08x: sendmmsg to peer: %s", q[i]->sa->p.out.spi,
			          strerror(errno));
			q[i]->ret = -EIO;
			q[i]->why = ESP_DROP_SEND;
			sent = 1;
		}
		i += sent;
	}
}

/* Crypto thread: encrypts its SAs' packets of the batch, in order, and sends them. */
static void
encap_part(void *arg, unsigned part)
{
	struct tun_job *job = arg;
	struct tun_out *q[TUN_OUT_BATCH];
	struct mmsghdr msgs[TUN_OUT_BATCH];
	int n = 0;

	for (int i = 0; i < job->n; i++) {
		struct tun_out *o = &job->t->out[i];

		if (!job->all && o->part != part)
			continue;
		o->ret = esp_encap(o->sa->out, o->slot, TUN_OUT_SLOT, ESP_HEADROOM, o->inner_len,
		                   &o->off, &o->len, &o->why);
		if (o->ret < 0)
			continue;
		out_msg(o, &msgs[n], o->slot + o->off, o->len);
		q[n++] = o;
	}
	send_part(job->t, q, msgs, n);
}

/* Encrypts and sends the queued packets (spread over the crypto threads by SA), then counts
 * them on their SAs. */
static void
outbound_flush(struct tun_be *t, int nq)
{
	unsigned nparts = 0;
	size_t bytes = 0;

	if (nq == 0)
		return;
	batch_begin(t);
	for (int k = 0; k < nq; k++) {
		t->out[k].part = batch_part(t, t->out[k].sa, t->out[k].inner_len, &nparts);
		bytes += t->out[k].inner_len;
	}
	batch_run(t, nq, batch_split(nparts, bytes), nparts, encap_part);
	for (int k = 0; k < nq; k++) {
		struct tun_out *q = &t->out[k];
		struct tun_sa *sa = q->sa;

		if (q->ret < 0) {
			count_drop(t, sa, q->why);
			if (q->why == ESP_DROP_SEQ_OVERFLOW && !sa->dead) {
				sa->dead = true;
				sa->hard_pending = true;
				events_schedule(t);
			}
			continue;
		}
		sa->st.packets_out++;
		sa->st.bytes_out += q->inner_len;
		check_limits(t, sa);
	}
}

/* The virtio-net header of a packet read from the TUN. No offloads are enabled on the device
 * (TUNSETOFFLOAD), so the kernel hands over whole packets with complete checksums (flags at
 * most DATA_VALID, 2); a GSO packet or one whose checksum is left to us (NEEDS_CSUM) is refused. */
static bool
vnet_hdr_plain(const uint8_t *h)
{
	return (h[0] & ~2) == 0 && h[1] == 0;
}

static void
tun_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct tun_be *t = arg;
	const size_t cap = TUN_OUT_SLOT - ESP_HEADROOM - ESP_TAILROOM;
	int nq = 0;

	for (int i = 0; i < IPSEC_TUN_READ_BATCH; i++) {
		uint8_t *slot = t->slots + (size_t)nq * TUN_OUT_SLOT;
		/* the virtio-net header lands just before the packet, in the ESP headroom */
		ssize_t n = read(t->tun_fd, slot + ESP_HEADROOM - TUN_GRO_HDR_LEN,
		                 cap + TUN_GRO_HDR_LEN);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				/* The device was deleted or broke: it never recovers, and a
				 * level-triggered error would spin the loop. */
				log_error(LOG_IPSEC,
				          "tun: read %s: %s; outbound data plane stopped (restart "
				          "the backend)",
				          t->ifname, strerror(errno));
				loop_del_fd(t->be.loop, t->tun_fd);
				t->tun_dead = true;
			}
			break;
		}
		if ((size_t)n > cap + TUN_GRO_HDR_LEN || n < TUN_GRO_HDR_LEN ||
		    !vnet_hdr_plain(slot + ESP_HEADROOM - TUN_GRO_HDR_LEN)) {
			count_drop(t, NULL, ESP_DROP_TOO_BIG);
			continue;
		}
		outbound_one(t, slot, (size_t)n - TUN_GRO_HDR_LEN, &nq);
		if (nq == TUN_OUT_BATCH) {
			outbound_flush(t, nq);
			nq = 0;
		}
	}
	outbound_flush(t, nq);
}

/* ---- inbound ---- */

/* Counts the TUN writes the kernel refused (recorded by the threads' gro_write_failed()). */
static void
wfail_drain(struct tun_be *t)
{
	for (unsigned p = 0; p < TUN_POOL_MAX; p++) {
		struct tun_part *wp = &t->part[p];

		for (int i = 0; i < wp->nfail; i++)
			for (unsigned k = 0; k < wp->fail[i].npkts; k++)
				count_drop(t, wp->fail[i].sa, ESP_DROP_TUN_WRITE);
		for (; wp->fail_lost > 0; wp->fail_lost--)
			count_drop(t, NULL, ESP_DROP_TUN_WRITE);
		wp->nfail = 0;
	}
}

/* Writes what the loop thread's joining holds back: the end of a batch. */
static void
gro_flush0(struct tun_be *t)
{
	if (!t->part[0].gro_ok)
		return;
	tun_gro_flush(&t->part[0].gro);
	wfail_drain(t);
}

static void
flush_timer_fired(struct loop *loop, void *arg)
{
	struct tun_be *t = arg;

	t->flush_timer = NULL;
	inbound_run(t);
	gro_flush0(t);
}

static void
flush_timer_arm(struct tun_be *t)
{
	if (t->flush_timer == NULL)
		t->flush_timer = loop_timer_add(t->be.loop, 0, flush_timer_fired, t);
}

/* On the thread that writes: recorded, counted by wfail_drain() on the loop thread. */
static void
gro_write_failed(void *arg, void *sa_arg, unsigned npkts, int err)
{
	struct tun_part *wp = arg;

	log_debug(LOG_IPSEC, "tun: write %s (%u packets): %s", wp->t->ifname, npkts, strerror(err));
	if (wp->nfail < (int)(sizeof(wp->fail) / sizeof(wp->fail[0]))) {
		wp->fail[wp->nfail].sa = sa_arg;
		wp->fail[wp->nfail].npkts = npkts;
		wp->nfail++;
	} else {
		wp->fail_lost += npkts;
	}
}

/* An ESP packet (SPI to ICV) at pkt[0, len), in one of our buffers (with ESP_HEADROOM before
 * it, at least TUN_GRO_HDR_LEN): its SA is looked up now, and it is queued for decryption in
 * place by inbound_run(). */
static void
esp_input(struct tun_be *t, uint8_t *pkt, size_t len, uint32_t from)
{
	struct tun_sa *sa;
	struct tun_in *e;
	uint32_t spi;
	char sbuf[INET_ADDRSTRLEN];

	if (esp_peek_spi(pkt, len, &spi) < 0) {
		count_drop(t, NULL, ESP_DROP_TRUNCATED);
		return;
	}
	sa = spi_find(t, spi);
	if (sa == NULL) {
		log_debug(LOG_IPSEC, "tun: ESP from %s: unknown SPI %08x", ip_str(from, sbuf), spi);
		count_drop(t, NULL, ESP_DROP_NO_SA);
		return;
	}
	if (sa->dead) {
		count_drop(t, sa, ESP_DROP_EXPIRED);
		return;
	}
	if (t->nin == TUN_INQ)
		inbound_run(t); /* callers run the queue before it fills; kept safe anyway */
	e = &t->inq[t->nin++];
	*e = (struct tun_in){.pkt = pkt, .len = len, .from = from, .sa = sa};
	flush_timer_arm(t);
}

/* Whether the SA has reached its hard byte limit with what this batch delivered so far (what
 * check_limits() would have found had each packet been counted as it went). */
static bool
batch_expired(const struct tun_sa *sa)
{
	uint64_t in = sa->st.bytes_in + sa->batch_bytes_in;
	uint64_t bytes = in > sa->st.bytes_out ? in : sa->st.bytes_out;

	return sa->dead || (sa->p.hard_lifetime_bytes != 0 && bytes >= sa->p.hard_lifetime_bytes);
}

/* A decrypted packet: inner header and selectors checked, then written by wp (or joined to its
 * flow's pending segments). On the thread that owns the SA in this batch; the counters are
 * left to inbound_run() on the loop thread. */
static void
inbound_write(struct tun_part *wp, struct tun_in *e)
{
	struct tun_sa *sa = e->sa;
	struct ip4_hdr h;
	char sbuf[INET_ADDRSTRLEN], dbuf[INET_ADDRSTRLEN];

	if (batch_expired(sa)) {
		e->ret = -ESTALE;
		e->why = ESP_DROP_EXPIRED;
		return;
	}
	if (ip4_validate(e->pkt + e->ioff, e->ilen, &h) < 0) {
		log_debug(LOG_IPSEC, "SA %08x: inner packet is not valid IPv4", sa->p.in.spi);
		e->ret = -EBADMSG;
		e->why = ESP_DROP_INNER;
		return;
	}
	if (!ts_has(sa->p.remote_ts, sa->p.n_remote_ts, h.src) ||
	    !ts_has(sa->p.local_ts, sa->p.n_local_ts, h.dst)) {
		log_debug(LOG_IPSEC, "SA %08x: inbound %s -> %s outside the selectors",
		          sa->p.in.spi, ip_str(h.src, sbuf), ip_str(h.dst, dbuf));
		e->ret = -EACCES;
		e->why = ESP_DROP_SELECTOR;
		return;
	}
	e->ilen = h.tot; /* drops TFC padding */
	tun_gro_input(&wp->gro, sa, e->pkt + e->ioff, e->ilen);
	sa->batch_bytes_in += e->ilen;
}

/* Crypto thread: checks, decrypts and writes its SAs' packets of the queue, in order (the
 * replay window moves with each). A thread of a split batch writes everything it joined
 * before returning: the next batch may give its SAs to another thread. */
static void
decap_part(void *arg, unsigned part)
{
	struct tun_job *job = arg;
	struct tun_part *wp = &job->t->part[part];

	for (int i = 0; i < job->n; i++) {
		struct tun_in *e = &job->t->inq[i];

		if (!job->all && e->part != part)
			continue;
		e->ret = esp_decap(e->sa->in, e->pkt, e->len, &e->ioff, &e->ilen, &e->why);
		if (e->ret == 0)
			inbound_write(wp, e);
	}
	if (!job->all)
		tun_gro_flush(&wp->gro);
}

/* Decrypts and writes the queue (spread over the crypto threads by SA), then counts it in
 * arrival order. Every SA in the queue is alive: sa_unlink_free() runs the queue first. */
static void
inbound_run(struct tun_be *t)
{
	int n = t->nin;
	unsigned nparts = 0;
	size_t bytes = 0;
	uint64_t now = loop_now_ms();
	bool split;
	char sbuf[INET_ADDRSTRLEN];

	if (n == 0)
		return;
	batch_begin(t);
	for (int i = 0; i < n; i++) {
		t->inq[i].part = batch_part(t, t->inq[i].sa, t->inq[i].len, &nparts);
		bytes += t->inq[i].len;
	}
	split = batch_split(nparts, bytes);
	if (split)
		gro_flush0(t); /* segments held from earlier batches go first */
	batch_run(t, n, split, nparts, decap_part);
	t->nin = 0;
	for (int i = 0; i < n; i++) {
		struct tun_in *e = &t->inq[i];
		struct tun_sa *sa = e->sa;

		if (e->ret < 0) {
			log_debug(LOG_IPSEC, "SA %08x: ESP from %s dropped: %s", sa->p.in.spi,
			          ip_str(e->from, sbuf), esp_drop_name(e->why));
			count_drop(t, sa, e->why);
			continue;
		}
		/* Authentic: it counts as traffic for idle detection even if the TUN write
		 * failed. */
		sa->st.last_in_ms = now;
		sa->st.packets_in++;
		sa->st.bytes_in += e->ilen;
		check_limits(t, sa);
	}
	wfail_drain(t);
	if (tun_gro_pending(&t->part[0].gro))
		flush_timer_arm(t);
}

static void
raw_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct tun_be *t = arg;
	struct mmsghdr m[TUN_IN_BATCH];
	struct iovec iov[TUN_IN_BATCH];

	inbound_run(t); /* ESP-in-UDP still queued: the queue holds one kind at a time */
	for (int round = 0; round < IPSEC_TUN_READ_BATCH / TUN_IN_BATCH; round++) {
		int n;

		memset(m, 0, sizeof(m));
		for (int i = 0; i < TUN_IN_BATCH; i++) {
			iov[i].iov_base = t->rslots + (size_t)i * TUN_IN_SLOT;
			iov[i].iov_len = TUN_IN_SLOT;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(t->raw_fd, m, TUN_IN_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn(LOG_IPSEC, "tun: recvmmsg raw ESP: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint8_t *p = iov[i].iov_base;
			struct ip4_hdr h;

			if (m[i].msg_hdr.msg_flags & MSG_TRUNC) {
				count_drop(t, NULL, ESP_DROP_TOO_BIG);
				continue;
			}
			/* Raw IPv4 sockets deliver the IP header; the kernel has reassembled
			 * fragments. */
			if (ip4_validate(p, m[i].msg_len, &h) < 0 || h.proto != IPPROTO_ESP) {
				count_drop(t, NULL, ESP_DROP_NOT_ESP);
				continue;
			}
			esp_input(t, p + h.ihl_bytes, (size_t)h.tot - h.ihl_bytes, h.src);
		}
		inbound_run(t); /* before the next round reuses rslots */
		if (n < TUN_IN_BATCH)
			break;
	}
	gro_flush0(t);
}

static void
tun_udp_input(struct ipsec_backend *be, const uint8_t *pkt, size_t len,
              const struct sockaddr_in *from, const struct sockaddr_in *to)
{
	struct tun_be *t = tun_of(be);
	uint32_t src = from != NULL ? ntohl(from->sin_addr.s_addr) : 0;
	uint8_t *slot;

	if (len > sizeof(t->buf) - ESP_HEADROOM) {
		count_drop(t, NULL, ESP_DROP_TOO_BIG);
		return;
	}
	if (len > TUN_USLOT - ESP_HEADROOM) {
		/* too long for a queue slot: alone, through buf */
		inbound_run(t);
		memcpy(t->buf + ESP_HEADROOM, pkt, len);
		esp_input(t, t->buf + ESP_HEADROOM, len, src);
		inbound_run(t);
		return;
	}
	if (t->nin == TUN_INQ)
		inbound_run(t);
	slot = t->uslots + (size_t)t->nin * TUN_USLOT;
	memcpy(slot + ESP_HEADROOM, pkt, len);
	esp_input(t, slot + ESP_HEADROOM, len, src);
}

static void
tun_input_done(struct ipsec_backend *be)
{
	struct tun_be *t = tun_of(be);

	inbound_run(t);
	gro_flush0(t);
}

/* ---- life cycle ---- */

static void
tun_free(struct ipsec_backend *be)
{
	struct tun_be *t = tun_of(be);

	if (t == NULL)
		return;
	t->nin = 0; /* what is still queued goes with the backend */
	while (t->sas != NULL)
		sa_unlink_free(t, t->sas);
	if (t->event_timer != NULL)
		loop_timer_cancel(t->be.loop, t->event_timer);
	if (t->tun_fd >= 0) {
		if (!t->tun_dead)
			loop_del_fd(t->be.loop, t->tun_fd);
		close(t->tun_fd); /* the device and its routes go with it */
	}
	if (t->raw_fd >= 0) {
		loop_del_fd(t->be.loop, t->raw_fd);
		close(t->raw_fd);
	}
	tun_rtnl_close(t->nl);
	if (t->flush_timer != NULL)
		loop_timer_cancel(t->be.loop, t->flush_timer);
	for (unsigned p = 0; p < TUN_POOL_MAX; p++)
		if (t->part[p].gro_ok)
			tun_gro_free(&t->part[p].gro);
	tun_pool_free(t->pool);
	free(t->slots);
	free(t->rslots);
	free(t->uslots);
	free(t);
}

static int
tun_open(struct tun_be *t)
{
	struct ifreq ifr;
	int ret;

	t->tun_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->tun_fd < 0) {
		ret = -errno;
		log_error(LOG_IPSEC, "tun: open /dev/net/tun: %s", strerror(errno));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	/* each read and write starts with a struct virtio_net_hdr: writes may carry GSO packets */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, t->cfg.ifname, sizeof(ifr.ifr_name));
	if (ioctl(t->tun_fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		log_error(LOG_IPSEC, "tun: ioctl TUNSETIFF %s: %s", t->cfg.ifname, strerror(errno));
		return ret;
	}
	memcpy(t->ifname, ifr.ifr_name, sizeof(t->ifname));
	t->ifname[sizeof(t->ifname) - 1] = '\0';
	t->ifindex = if_nametoindex(t->ifname);
	if (t->ifindex == 0) {
		ret = -errno;
		log_error(LOG_IPSEC, "tun: if_nametoindex %s: %s", t->ifname, strerror(errno));
		return ret;
	}
	return 0;
}

static int
raw_open(struct tun_be *t)
{
	int ret, pmtu = IP_PMTUDISC_DONT, rcvbuf = TUN_RAW_RCVBUF;

	t->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
	if (t->raw_fd < 0) {
		ret = -errno;
		log_error(LOG_IPSEC, "tun: socket SOCK_RAW IPPROTO_ESP: %s", strerror(errno));
		return ret;
	}
	/* The ESP packet may exceed the path MTU when the inner one did not: let IP fragment. */
	if (setsockopt(t->raw_fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) < 0) {
		ret = -errno;
		log_error(LOG_IPSEC, "tun: setsockopt IP_MTU_DISCOVER: %s", strerror(errno));
		return ret;
	}
	/* Room for bursts: FORCE passes rmem_max with CAP_NET_ADMIN, else the capped size. */
	if (setsockopt(t->raw_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
	    setsockopt(t->raw_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		log_warn(LOG_IPSEC, "tun: setsockopt SO_RCVBUF %d: %s", rcvbuf, strerror(errno));
	return 0;
}

int
ipsec_tun_new(struct loop *loop, const struct ipsec_tun_config *cfg, struct ipsec_backend **out)
{
	struct tun_be *t;
	int ret;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->be.ops = &tun_ops;
	t->be.loop = loop;
	t->be.natt_fd = -1;
	t->tun_fd = -1;
	t->raw_fd = -1;
	t->slots = calloc(TUN_OUT_BATCH, TUN_OUT_SLOT);
	t->uslots = malloc((size_t)TUN_INQ * TUN_USLOT);
	if (t->slots == NULL || t->uslots == NULL) {
		free(t->slots);
		free(t->uslots);
		free(t);
		return -ENOMEM;
	}
	if (cfg != NULL)
		t->cfg = *cfg;
	t->cfg.ifname[sizeof(t->cfg.ifname) - 1] = '\0';
	if (t->cfg.ifname[0] == '\0')
		snprintf(t->cfg.ifname, sizeof(t->cfg.ifname), "%s", IPSEC_TUN_DEFAULT_IFNAME);
	if (t->cfg.mtu == 0)
		t->cfg.mtu = IPSEC_TUN_DEFAULT_MTU;
	if (t->cfg.max_sas == 0)
		t->cfg.max_sas = IPSEC_TUN_DEFAULT_MAX_SAS;
	if (t->cfg.esp_threads == 0)
		t->cfg.esp_threads = tun_pool_default_threads(IPSEC_TUN_DEFAULT_MAX_THREADS);
	if (t->cfg.esp_threads > TUN_POOL_MAX) {
		log_error(LOG_IPSEC, "tun: %u ESP crypto threads: at most %d", t->cfg.esp_threads,
		          TUN_POOL_MAX);
		ret = -EINVAL;
		goto out;
	}
	if (t->cfg.mtu < 576 || t->cfg.mtu > IPSEC_TUN_MAX_MTU) {
		log_error(LOG_IPSEC, "tun: MTU %u out of range (576..%d)", t->cfg.mtu,
		          IPSEC_TUN_MAX_MTU);
		ret = -EINVAL;
		goto out;
	}
	ret = esp_crypto_init();
	if (ret < 0)
		goto out;
	ret = tun_pool_new(t->cfg.esp_threads, &t->pool);
	if (ret < 0)
		goto out;
	ret = tun_open(t);
	if (ret < 0)
		goto out;
	for (unsigned p = 0; p < tun_pool_size(t->pool); p++) {
		t->part[p].t = t;
		ret = tun_gro_init(&t->part[p].gro, t->tun_fd, gro_write_failed, &t->part[p]);
		if (ret < 0)
			goto out;
		t->part[p].gro_ok = true;
	}
	ret = tun_rtnl_open(&t->nl);
	if (ret < 0)
		goto out;
	ret = tun_rtnl_link_up(t->nl, t->ifindex, t->cfg.mtu);
	if (ret < 0)
		goto out;
	if (!t->cfg.no_raw_esp) {
		t->rslots = calloc(TUN_IN_BATCH, TUN_IN_SLOT);
		if (t->rslots == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		ret = raw_open(t);
		if (ret < 0)
			goto out;
	}
	ret = loop_add_fd(loop, t->tun_fd, EPOLLIN, tun_readable, t);
	if (ret < 0) {
		log_error(LOG_IPSEC, "tun: loop_add_fd %s: %s", t->ifname, strerror(-ret));
		close(t->tun_fd);
		t->tun_fd = -1; /* not watched: tun_free() must not loop_del_fd() it */
		goto out;
	}
	if (t->raw_fd >= 0) {
		ret = loop_add_fd(loop, t->raw_fd, EPOLLIN, raw_readable, t);
		if (ret < 0) {
			log_error(LOG_IPSEC, "tun: loop_add_fd raw ESP: %s", strerror(-ret));
			close(t->raw_fd);
			t->raw_fd = -1;
			goto out;
		}
	}
	log_info(LOG_IPSEC,
	         "tun backend: device %s (ifindex %u, mtu %u), raw ESP %s, ESP crypto on %u "
	         "thread%s",
	         t->ifname, t->ifindex, t->cfg.mtu, t->raw_fd >= 0 ? "on" : "off",
	         t->cfg.esp_threads, t->cfg.esp_threads == 1 ? "" : "s");
	*out = &t->be;
	return 0;
out:
	/* Before loop_add_fd() succeeded the fds are not watched; loop_del_fd() on them fails
	 * harmlessly. */
	tun_free(&t->be);
	return ret;
}

void
ipsec_tun_get_crypto(struct ipsec_backend *be, unsigned *threads, uint64_t *split_batches)
{
	struct tun_be *t = tun_of(be);

	*threads = tun_pool_size(t->pool);
	*split_batches = t->split_batches;
}

void
ipsec_tun_get_drops(struct ipsec_backend *be, uint64_t out[ESP_DROP_COUNT])
{
	if (be == NULL || be->ops != &tun_ops) {
		memset(out, 0, sizeof(uint64_t) * ESP_DROP_COUNT);
		return;
	}
	memcpy(out, tun_of(be)->drops, sizeof(tun_of(be)->drops));
}

void
ipsec_tun_get_writes(struct ipsec_backend *be, uint64_t *writes, uint64_t *packets)
{
	struct tun_be *t = tun_of(be);

	*writes = *packets = 0;
	for (unsigned p = 0; p < TUN_POOL_MAX; p++) {
		*writes += t->part[p].gro.writes;
		*packets += t->part[p].gro.packets;
	}
}

const char *
ipsec_tun_ifname(struct ipsec_backend *be)
{
	return tun_of(be)->ifname;
}

unsigned
ipsec_tun_ifindex(struct ipsec_backend *be)
{
	return tun_of(be)->ifindex;
}

int
ipsec_tun_sa_count(struct ipsec_backend *be)
{
	return tun_of(be)->n_sas;
}

static const struct ipsec_backend_ops tun_ops = {
        .name = "tun",
        .sa_add = tun_sa_add,
        .sa_del = tun_sa_del,
        .sa_stats = tun_sa_stats,
        .udp_input = tun_udp_input,
        .input_done = tun_input_done,
        .free = tun_free,
};
