/* The tun SA backend: see tun.h. */
#include "gateway/ipsec/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <netinet/ip.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "gateway/core/log.h"
#include "gateway/ipsec/cursor.h"
#include "gateway/ipsec/tun_gro.h"
#include "gateway/ipsec/tun_wake.h"
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
/* Packets queued to one worker thread per direction (power of two). An inbound packet up to
 * TUN_USLOT - ESP_HEADROOM bytes is copied into the worker's slot, a longer one into a buffer
 * of its own. */
#define TUN_RING         256
#define TUN_PUBLISH      32   /* queued entries handed over at once at most (before a batch ends) */
#define TUN_RING_WAIT_US 2000 /* longest wait for room in a worker's ring */
#define TUN_CHUNK        16   /* entries a worker hands back at once */
#define TUN_USLOT        (ESP_HEADROOM + 2048)
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
	/* The thread that owns the SA's ESP state: 0 the loop thread, k worker k - 1 (given at
	 * sa_add, round robin). Everything else of the SA stays with the loop thread. */
	unsigned thread;
	int inflight;               /* packets with its worker, not yet counted (loop thread) */
	bool zombie;                /* deleted with packets in flight: freed with the last one */
	atomic_bool halted;         /* dead or deleted: its worker drops its packets */
	uint32_t seq_seen;          /* outbound sequence number as of the last packet counted */
	struct tun_sa *zombie_next; /* t->zombies */
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
 * inner_len bytes), encrypted in place (ret, why; the ESP packet at slot + off, len bytes, with
 * sequence number seq), then waiting for sendmmsg(). */
struct tun_out {
	struct tun_sa *sa;
	uint8_t *slot;
	size_t inner_len;
	int ret;
	enum esp_drop why;
	size_t off, len;
	uint32_t seq;
	struct sockaddr_in to;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cm;
};

/* One inbound ESP packet (SPI to ICV, with ESP_HEADROOM before it) handed to a worker: its SA
 * found, decrypted in place and written (ret, why; ilen: the inner packet's total length). */
struct tun_in {
	uint8_t *pkt;
	uint8_t *big; /* the packet's own buffer when it did not fit the slot, else NULL */
	size_t len;
	uint32_t from;
	struct tun_sa *sa;
	int ret; /* < 0: dropped for why (decryption or the checks after it) */
	enum esp_drop why;
	size_t ilen;
};

/* Writes to the TUN of one thread: its segment joining, and the writes the kernel refused
 * (counted as drops on the loop thread, by wfail_drain(); a worker's under lock). */
struct tun_part {
	struct tun_be *t;
	struct tun_gro gro;
	bool gro_ok;
	pthread_mutex_t lock; /* a worker's fail[] */
	bool lock_ok;
	int nfail;
	struct {
		struct tun_sa *sa;
		unsigned npkts;
	} fail[TUN_RING + TUN_GRO_FLOWS];
	uint64_t fail_lost; /* beyond fail[]: counted without their SA */
};

/* A worker thread: it owns some SAs' ESP state and takes their packets from two rings the
 * loop thread fills (in: ESP to decrypt, check and write to the TUN; out: packets read from the
 * TUN to encrypt and send), writing each result into the ring entry; the loop thread counts
 * the results in the entries the worker marked done (worker_reap()). Indices run freely; an
 * entry is at index & (TUN_RING - 1). */
struct tun_worker {
	struct tun_be *t;
	unsigned idx; /* 1.. (tun_sa.thread) */
	pthread_t th;
	bool started;
	struct tun_part wr;
	struct tun_wake wake;     /* the worker waits on it for work */
	struct tun_wake progress; /* the loop thread waits on it for room (ring_room()) */
	atomic_bool stop;
	struct tun_in in[TUN_RING];
	uint8_t *islots;           /* TUN_RING * TUN_USLOT */
	uint32_t in_next, in_reap; /* loop thread: next entry to fill, next to count */
	_Atomic uint32_t in_head;  /* entries before it are the worker's */
	_Atomic uint32_t in_done;  /* entries before it are done */
	struct tun_out out[TUN_RING];
	uint8_t *oslots; /* TUN_RING * TUN_OUT_SLOT */
	uint32_t out_next, out_reap;
	_Atomic uint32_t out_head, out_done;
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
	 * copied to buf. The loop thread's SAs' packets are decrypted there in place; a
	 * worker's are copied to its ring. */
	uint8_t *rslots;
	uint8_t buf[ESP_HEADROOM + IPSEC_TUN_MAX_PKT + ESP_TAILROOM];
	/* Writes to the TUN (IFF_VNET_HDR) of the loop thread: TCP segments of a flow in one
	 * batch joined (tun_gro.h), written at the end of the batch (input_done, the raw round)
	 * or by the timer. */
	struct tun_part part0;
	/* Worker threads (esp_threads - 1 of them) and what they report. */
	struct tun_worker *workers[IPSEC_TUN_MAX_THREADS];
	unsigned nworkers;
	unsigned thread_sas[IPSEC_TUN_MAX_THREADS]; /* SAs per thread (0: the loop thread) */
	bool unpublished;        /* ring entries filled but not yet handed over */
	int efd;                 /* eventfd: a worker has results to count */
	atomic_bool reap_signal; /* set while efd is signalled and not yet read */
	uint64_t handed;         /* packets handed to workers */
	struct tun_sa *zombies;  /* deleted SAs with packets still at a worker */
	/* publishes the rings and writes what is held back if no input_done comes first */
	struct loop_timer *flush_timer;
};

static const struct ipsec_backend_ops tun_ops;

static void reap_all(struct tun_be *t);
struct tun_worker;
static void worker_reap(struct tun_be *t, struct tun_worker *w);
static void wfail_drain(struct tun_be *t, struct tun_part *wp);

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
sa_free(struct tun_sa *sa)
{
	esp_sa_free(sa->in);
	esp_sa_free(sa->out);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* One packet of sa counted after its worker: a deleted SA goes with its last one. */
static void
sa_put(struct tun_be *t, struct tun_sa *sa)
{
	if (--sa->inflight > 0 || !sa->zombie)
		return;
	for (struct tun_sa **pp = &t->zombies; *pp != NULL; pp = &(*pp)->zombie_next) {
		if (*pp == sa) {
			*pp = sa->zombie_next;
			break;
		}
	}
	sa_free(sa);
}

static void
sa_unlink_free(struct tun_be *t, struct tun_sa *sa)
{
	struct tun_sa **pp;

	if (t->part0.gro_ok) {
		tun_gro_forget(&t->part0.gro, sa); /* its pending packets are written first */
		wfail_drain(t, &t->part0);
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
	sa->soft_timer = sa->hard_timer = NULL;
	t->n_sas--;
	t->thread_sas[sa->thread]--;
	/* Its worker drops what it has not started on; what it has is counted first. */
	atomic_store(&sa->halted, true);
	if (sa->inflight > 0)
		reap_all(t);
	if (sa->inflight > 0) {
		sa->zombie = true;
		sa->zombie_next = t->zombies;
		t->zombies = sa;
		return;
	}
	sa_free(sa);
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

	if (sa->dead || sa->zombie)
		return;
	if (sa->p.hard_lifetime_bytes != 0 && bytes >= sa->p.hard_lifetime_bytes) {
		sa->dead = true;
		atomic_store(&sa->halted, true);
		sa->hard_pending = true;
		events_schedule(t);
		return;
	}
	if (!sa->soft_done &&
	    ((sa->p.soft_lifetime_bytes != 0 && bytes >= sa->p.soft_lifetime_bytes) ||
	     sa->seq_seen >= UINT32_MAX - TUN_SEQ_SOFT_MARGIN)) {
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

/* The thread for a new SA: the one with the fewest SAs, the loop thread's counted twice (it
 * also receives every packet, counts the workers' results and runs IKE). The first SA stays on
 * the loop thread: one tunnel alone costs least without a hand-over. */
static unsigned
pick_thread(const struct tun_be *t)
{
	unsigned best = 0;
	uint64_t best_cost = 2 * (uint64_t)t->thread_sas[0] + 1;

	for (unsigned i = 1; i <= t->nworkers; i++) {
		uint64_t cost = (uint64_t)t->thread_sas[i] + 1;

		if (cost < best_cost) {
			best = i;
			best_cost = cost;
		}
	}
	return best;
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
	sa->thread = pick_thread(t);
	t->thread_sas[sa->thread]++;
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
	struct tun_sa *sa;

	reap_all(tun_of(be)); /* what the workers have done so far */
	sa = sa_by_handle(tun_of(be), handle);
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

/* ---- writes to the TUN ---- */

/* Counts the TUN writes the kernel refused, as recorded by gro_write_failed(). */
static void
wfail_drain(struct tun_be *t, struct tun_part *wp)
{
	if (wp->lock_ok)
		pthread_mutex_lock(&wp->lock);
	for (int i = 0; i < wp->nfail; i++)
		for (unsigned k = 0; k < wp->fail[i].npkts; k++)
			count_drop(t, wp->fail[i].sa, ESP_DROP_TUN_WRITE);
	for (; wp->fail_lost > 0; wp->fail_lost--)
		count_drop(t, NULL, ESP_DROP_TUN_WRITE);
	wp->nfail = 0;
	if (wp->lock_ok)
		pthread_mutex_unlock(&wp->lock);
}

/* On the thread that writes: recorded, counted by wfail_drain() on the loop thread. */
static void
gro_write_failed(void *arg, void *sa_arg, unsigned npkts, int err)
{
	struct tun_part *wp = arg;

	log_debug(LOG_IPSEC, "tun: write %s (%u packets): %s", wp->t->ifname, npkts, strerror(err));
	if (wp->lock_ok)
		pthread_mutex_lock(&wp->lock);
	if (wp->nfail < (int)(sizeof(wp->fail) / sizeof(wp->fail[0]))) {
		wp->fail[wp->nfail].sa = sa_arg;
		wp->fail[wp->nfail].npkts = npkts;
		wp->nfail++;
	} else {
		wp->fail_lost += npkts;
	}
	if (wp->lock_ok)
		pthread_mutex_unlock(&wp->lock);
}

/* The checks of a decrypted inner packet at p[0, len): IPv4, and within the SA's selectors.
 * Returns its total length (TFC padding dropped), or 0 with *why set. */
static size_t
inner_check(const struct tun_sa *sa, const uint8_t *p, size_t len, enum esp_drop *why)
{
	struct ip4_hdr h;
	char sbuf[INET_ADDRSTRLEN], dbuf[INET_ADDRSTRLEN];

	if (ip4_validate(p, len, &h) < 0) {
		log_debug(LOG_IPSEC, "SA %08x: inner packet is not valid IPv4", sa->p.in.spi);
		*why = ESP_DROP_INNER;
		return 0;
	}
	if (!ts_has(sa->p.remote_ts, sa->p.n_remote_ts, h.src) ||
	    !ts_has(sa->p.local_ts, sa->p.n_local_ts, h.dst)) {
		log_debug(LOG_IPSEC, "SA %08x: inbound %s -> %s outside the selectors",
		          sa->p.in.spi, ip_str(h.src, sbuf), ip_str(h.dst, dbuf));
		*why = ESP_DROP_SELECTOR;
		return 0;
	}
	return h.tot;
}

/* ---- handing packets to workers ---- */

static void flush_timer_arm(struct tun_be *t);

/* Hands w what was queued for it since the last time (the loop thread alone writes the
 * heads). */
static void
publish(struct tun_worker *w)
{
	if (atomic_load_explicit(&w->in_head, memory_order_relaxed) == w->in_next &&
	    atomic_load_explicit(&w->out_head, memory_order_relaxed) == w->out_next)
		return;
	atomic_store(&w->in_head, w->in_next);
	atomic_store(&w->out_head, w->out_next);
	tun_wake_up(&w->wake);
}

/* Hands the filled ring entries to the workers. */
static void
publish_all(struct tun_be *t)
{
	if (!t->unpublished)
		return;
	t->unpublished = false;
	for (unsigned i = 0; i < t->nworkers; i++)
		publish(t->workers[i]);
}

/* Room for one more entry in a ring of w: what is queued is published every TUN_PUBLISH
 * entries so the worker starts early. A full ring is counted (reaped); if the worker is still
 * on all of it, the loop thread sleeps on the worker's progress for up to TUN_RING_WAIT_US
 * rather than drop: the socket buffers then fill and the kernel drops what comes in meanwhile,
 * as without workers, instead of the loop thread copying packets only to drop them. */
static bool
ring_room(struct tun_be *t, struct tun_worker *w, const uint32_t *next, const uint32_t *reap,
          _Atomic uint32_t *head)
{
	if (*next - atomic_load_explicit(head, memory_order_relaxed) >= TUN_PUBLISH)
		publish(w);
	for (int tries = 0; *next - *reap >= TUN_RING; tries++) {
		uint32_t seen = tun_wake_gen(&w->progress);

		publish(w);
		worker_reap(t, w);
		if (*next - *reap < TUN_RING)
			break;
		if (tries > 0)
			return false;
		/* the worker hands entries back every TUN_CHUNK */
		tun_wake_wait_us(&w->progress, seen, TUN_RING_WAIT_US);
	}
	return true;
}

/* A packet of a worker's SA (at slot + ESP_HEADROOM, n bytes) goes to the worker's ring. */
static void
hand_out(struct tun_be *t, struct tun_sa *sa, const uint8_t *slot, size_t n)
{
	struct tun_worker *w = t->workers[sa->thread - 1];
	struct tun_out *q;
	uint8_t *dst;

	if (!ring_room(t, w, &w->out_next, &w->out_reap, &w->out_head)) {
		/* the worker is behind: like a full socket buffer */
		count_drop(t, sa, ESP_DROP_BUSY);
		return;
	}
	q = &w->out[w->out_next & (TUN_RING - 1)];
	dst = w->oslots + (size_t)(w->out_next & (TUN_RING - 1)) * TUN_OUT_SLOT;
	memcpy(dst + ESP_HEADROOM, slot + ESP_HEADROOM, n);
	memset(q, 0, sizeof(*q));
	q->sa = sa;
	q->slot = dst;
	q->inner_len = n;
	sa->inflight++;
	w->out_next++;
	t->handed++;
	t->unpublished = true;
}

/* An ESP packet of a worker's SA goes to the worker's ring (copied). */
static void
hand_in(struct tun_be *t, struct tun_sa *sa, const uint8_t *pkt, size_t len, uint32_t from)
{
	struct tun_worker *w = t->workers[sa->thread - 1];
	struct tun_in *e;
	uint8_t *dst, *big = NULL;

	if (!ring_room(t, w, &w->in_next, &w->in_reap, &w->in_head)) {
		/* the worker is behind: like a full socket buffer */
		count_drop(t, sa, ESP_DROP_BUSY);
		return;
	}
	dst = w->islots + (size_t)(w->in_next & (TUN_RING - 1)) * TUN_USLOT;
	if (len > TUN_USLOT - ESP_HEADROOM) {
		dst = big = malloc(ESP_HEADROOM + len);
		if (big == NULL) {
			count_drop(t, sa, ESP_DROP_TOO_BIG);
			return;
		}
	}
	memcpy(dst + ESP_HEADROOM, pkt, len);
	e = &w->in[w->in_next & (TUN_RING - 1)];
	*e = (struct tun_in){
	        .pkt = dst + ESP_HEADROOM, .big = big, .len = len, .from = from, .sa = sa};
	sa->inflight++;
	w->in_next++;
	t->handed++;
	t->unpublished = true;
	flush_timer_arm(t);
}

/* ---- outbound ---- */

/* Sends q[0..n) (encrypted packets, msgs filled), one sendmmsg() per run of packets for the
 * same socket; a message the kernel refused is marked as a drop. */
static void
send_run(struct tun_be *t, struct tun_out **q, struct mmsghdr *msgs, int n)
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

/* Encrypts q[0..n) in place (each SA's packets in order) and sends those that could be. */
static void
encap_send(struct tun_be *t, struct tun_out **q, int n)
{
	struct tun_out *ok[TUN_OUT_BATCH];
	struct mmsghdr msgs[TUN_OUT_BATCH];
	int m = 0;

	for (int i = 0; i < n; i++) {
		struct tun_out *o = q[i];

		o->ret = esp_encap(o->sa->out, o->slot, TUN_OUT_SLOT, ESP_HEADROOM, o->inner_len,
		                   &o->off, &o->len, &o->why);
		o->seq = o->sa->out->seq;
		if (o->ret < 0)
			continue;
		out_msg(o, &msgs[m], o->slot + o->off, o->len);
		ok[m++] = o;
	}
	send_run(t, ok, msgs, m);
}

/* Counts one outbound packet on the loop thread, after whoever encrypted it. */
static void
out_count(struct tun_be *t, struct tun_out *q)
{
	struct tun_sa *sa = q->sa;

	if (!sa->zombie && q->seq > sa->seq_seen)
		sa->seq_seen = q->seq;
	if (q->ret < 0) {
		count_drop(t, sa, q->why);
		if (q->why == ESP_DROP_SEQ_OVERFLOW && !sa->dead && !sa->zombie) {
			sa->dead = true;
			atomic_store(&sa->halted, true);
			sa->hard_pending = true;
			events_schedule(t);
		}
		return;
	}
	sa->st.packets_out++;
	sa->st.bytes_out += q->inner_len;
	check_limits(t, sa);
}

/* One packet the kernel routed into the TUN device, at slot + ESP_HEADROOM: checks it, finds
 * its SA; queued as t->out[*nq] (the loop thread's SAs) or handed to the SA's worker. */
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
	if (sa->thread != 0) {
		hand_out(t, sa, slot, n);
		return;
	}
	memset(q, 0, sizeof(*q));
	q->sa = sa;
	q->slot = slot;
	q->inner_len = n;
	(*nq)++;
}

/* Encrypts and sends the loop thread's queued packets, then counts them on their SAs. */
static void
outbound_flush(struct tun_be *t, int nq)
{
	struct tun_out *q[TUN_OUT_BATCH];

	for (int k = 0; k < nq; k++)
		q[k] = &t->out[k];
	encap_send(t, q, nq);
	for (int k = 0; k < nq; k++)
		out_count(t, &t->out[k]);
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
	publish_all(t);
}

/* ---- inbound ---- */

/* Writes what the loop thread's joining holds back: the end of a batch. */
static void
gro_flush0(struct tun_be *t)
{
	if (!t->part0.gro_ok)
		return;
	tun_gro_flush(&t->part0.gro);
	wfail_drain(t, &t->part0);
}

/* The end of a batch: the workers get what was queued for them, the loop thread's joined
 * segments are written. */
static void
batch_end(struct tun_be *t)
{
	publish_all(t);
	gro_flush0(t);
}

static void
flush_timer_fired(struct loop *loop, void *arg)
{
	struct tun_be *t = arg;

	t->flush_timer = NULL;
	batch_end(t);
}

static void
flush_timer_arm(struct tun_be *t)
{
	if (t->flush_timer == NULL)
		t->flush_timer = loop_timer_add(t->be.loop, 0, flush_timer_fired, t);
}

/* Counts one inbound packet on the loop thread, after its worker. */
static void
in_count(struct tun_be *t, struct tun_in *e, uint64_t now)
{
	struct tun_sa *sa = e->sa;
	char sbuf[INET_ADDRSTRLEN];

	if (e->ret < 0) {
		log_debug(LOG_IPSEC, "SA %08x: ESP from %s dropped: %s", sa->p.in.spi,
		          ip_str(e->from, sbuf), esp_drop_name(e->why));
		count_drop(t, sa, e->why);
		return;
	}
	/* Authentic: it counts as traffic for idle detection even if the TUN write failed. */
	sa->st.last_in_ms = now;
	sa->st.packets_in++;
	sa->st.bytes_in += e->ilen;
	check_limits(t, sa);
}

/* An ESP packet (SPI to ICV) at pkt[0, len), in one of our buffers (with ESP_HEADROOM before
 * it, at least TUN_GRO_HDR_LEN): the loop thread's SAs' packets are decrypted in place and
 * written now (or joined, and written at the end of the batch; a failed write is counted as a
 * drop then), a worker's are handed to it. */
static void
esp_input(struct tun_be *t, uint8_t *pkt, size_t len, uint32_t from)
{
	struct tun_sa *sa;
	uint32_t spi;
	size_t ioff, ilen;
	enum esp_drop why;
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
	if (sa->thread != 0) {
		hand_in(t, sa, pkt, len, from);
		return;
	}
	if (esp_decap(sa->in, pkt, len, &ioff, &ilen, &why) < 0) {
		log_debug(LOG_IPSEC, "SA %08x: ESP from %s dropped: %s", spi, ip_str(from, sbuf),
		          esp_drop_name(why));
		count_drop(t, sa, why);
		return;
	}
	ilen = inner_check(sa, pkt + ioff, ilen, &why);
	if (ilen == 0) {
		count_drop(t, sa, why);
		return;
	}
	/* The packet is authentic: it counts as traffic for idle detection even if the TUN
	 * write fails. */
	sa->st.last_in_ms = loop_now_ms();
	tun_gro_input(&t->part0.gro, sa, pkt + ioff, ilen);
	if (tun_gro_pending(&t->part0.gro))
		flush_timer_arm(t);
	sa->st.packets_in++;
	sa->st.bytes_in += ilen;
	check_limits(t, sa);
}

static void
raw_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct tun_be *t = arg;
	struct mmsghdr m[TUN_IN_BATCH];
	struct iovec iov[TUN_IN_BATCH];

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
		if (n < TUN_IN_BATCH)
			break;
	}
	batch_end(t);
}

static void
tun_udp_input(struct ipsec_backend *be, const uint8_t *pkt, size_t len,
              const struct sockaddr_in *from, const struct sockaddr_in *to)
{
	struct tun_be *t = tun_of(be);
	uint32_t src = from != NULL ? ntohl(from->sin_addr.s_addr) : 0, spi;
	struct tun_sa *sa;

	if (len > sizeof(t->buf) - ESP_HEADROOM) {
		count_drop(t, NULL, ESP_DROP_TOO_BIG);
		return;
	}
	/* a worker's SA: copied once, straight into its ring */
	if (t->nworkers > 0 && esp_peek_spi(pkt, len, &spi) == 0 &&
	    (sa = spi_find(t, spi)) != NULL && sa->thread != 0 && !sa->dead) {
		hand_in(t, sa, pkt, len, src);
		return;
	}
	memcpy(t->buf + ESP_HEADROOM, pkt, len);
	esp_input(t, t->buf + ESP_HEADROOM, len, src);
}

static void
tun_input_done(struct ipsec_backend *be)
{
	batch_end(tun_of(be));
}

/* ---- worker threads ---- */

/* Worker: one ESP packet of its SA: decrypted, checked, written (or joined). */
static void
worker_in(struct tun_worker *w, struct tun_in *e)
{
	struct tun_sa *sa = e->sa;
	size_t ioff, ilen;

	if (atomic_load_explicit(&sa->halted, memory_order_relaxed)) {
		e->ret = -ESTALE;
		e->why = ESP_DROP_EXPIRED;
		return;
	}
	e->ret = esp_decap(sa->in, e->pkt, e->len, &ioff, &ilen, &e->why);
	if (e->ret < 0)
		return;
	e->ilen = inner_check(sa, e->pkt + ioff, ilen, &e->why);
	if (e->ilen == 0) {
		e->ret = -EBADMSG;
		return;
	}
	tun_gro_input(&w->wr.gro, sa, e->pkt + ioff, e->ilen);
}

/* Worker: its outbound entries [from, to), encrypted and sent in runs of TUN_OUT_BATCH. */
static void
worker_out(struct tun_worker *w, uint32_t from, uint32_t to)
{
	while (from != to) {
		struct tun_out *q[TUN_OUT_BATCH];
		int n = 0;

		for (; from != to && n < TUN_OUT_BATCH; from++) {
			struct tun_out *o = &w->out[from & (TUN_RING - 1)];

			if (atomic_load_explicit(&o->sa->halted, memory_order_relaxed)) {
				o->ret = -ESTALE;
				o->why = ESP_DROP_EXPIRED;
				o->seq = 0;
				continue;
			}
			q[n++] = o;
		}
		encap_send(w->t, q, n);
	}
}

/* Worker: hands entries back (everything it joined is written first: the loop thread may free
 * an SA once it has counted its last packet) and tells the loop thread. */
static void
worker_done(struct tun_worker *w, uint32_t in_d, uint32_t out_d)
{
	struct tun_be *t = w->t;

	tun_gro_flush(&w->wr.gro);
	atomic_store(&w->in_done, in_d);
	atomic_store(&w->out_done, out_d);
	tun_wake_up(&w->progress);
	if (!atomic_exchange(&t->reap_signal, true)) {
		uint64_t one = 1;

		if (write(t->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn(LOG_IPSEC, "tun: eventfd write: %s", strerror(errno));
	}
}

static void *
worker_main(void *arg)
{
	struct tun_worker *w = arg;
	uint32_t in_d = 0, out_d = 0;

	for (;;) {
		uint32_t seen = tun_wake_gen(&w->wake);
		uint32_t ih = atomic_load(&w->in_head), oh = atomic_load(&w->out_head);

		if (ih == in_d && oh == out_d) {
			/* stopping: what was published before the stop is done first */
			if (atomic_load(&w->stop)) {
				if (atomic_load(&w->in_head) == in_d &&
				    atomic_load(&w->out_head) == out_d)
					return NULL;
				continue;
			}
			tun_wake_wait(&w->wake, seen);
			continue;
		}
		/* in chunks, each handed back at once: a full ring gets room early */
		while (in_d != ih || out_d != oh) {
			uint32_t n = ih - in_d < TUN_CHUNK ? ih - in_d : TUN_CHUNK;
			uint32_t m = oh - out_d < TUN_CHUNK ? oh - out_d : TUN_CHUNK;

			for (uint32_t i = 0; i < n; i++, in_d++)
				worker_in(w, &w->in[in_d & (TUN_RING - 1)]);
			worker_out(w, out_d, out_d + m);
			out_d += m;
			worker_done(w, in_d, out_d);
		}
	}
}

/* Counts what one worker has done. */
static void
worker_reap(struct tun_be *t, struct tun_worker *w)
{
	uint32_t in_d = atomic_load(&w->in_done), out_d = atomic_load(&w->out_done);
	uint64_t now = loop_now_ms();

	/* first: failures name SAs whose entries are counted (and may be freed) below */
	wfail_drain(t, &w->wr);
	for (; w->in_reap != in_d; w->in_reap++) {
		struct tun_in *e = &w->in[w->in_reap & (TUN_RING - 1)];

		in_count(t, e, now);
		free(e->big);
		e->big = NULL;
		sa_put(t, e->sa);
	}
	for (; w->out_reap != out_d; w->out_reap++) {
		struct tun_out *q = &w->out[w->out_reap & (TUN_RING - 1)];

		out_count(t, q);
		sa_put(t, q->sa);
	}
}

static void
reap_all(struct tun_be *t)
{
	for (unsigned i = 0; i < t->nworkers; i++)
		worker_reap(t, t->workers[i]);
}

static void
efd_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct tun_be *t = arg;
	uint64_t v;

	atomic_store(&t->reap_signal, false);
	if (read(t->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn(LOG_IPSEC, "tun: eventfd read: %s", strerror(errno));
	reap_all(t);
}

/* A thread's TUN writer (its joining buffers, and a worker's lock). */
static void
part_free(struct tun_part *wp)
{
	if (wp->gro_ok)
		tun_gro_free(&wp->gro);
	if (wp->lock_ok)
		pthread_mutex_destroy(&wp->lock);
	wp->gro_ok = wp->lock_ok = false;
}

/* Stops the worker once it has done what was published. */
static void
worker_stop(struct tun_worker *w)
{
	if (w == NULL || !w->started)
		return;
	atomic_store(&w->stop, true);
	tun_wake_up(&w->wake);
	pthread_join(w->th, NULL);
	w->started = false;
}

static void
worker_free(struct tun_worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w);
	part_free(&w->wr);
	free(w->islots);
	free(w->oslots);
	free(w);
}

static int
worker_new(struct tun_be *t, unsigned idx, struct tun_worker **out)
{
	struct tun_worker *w = calloc(1, sizeof(*w));
	int ret;

	*out = NULL;
	if (w == NULL)
		return -ENOMEM;
	w->t = t;
	w->idx = idx;
	w->wr.t = t;
	w->islots = malloc((size_t)TUN_RING * TUN_USLOT);
	w->oslots = malloc((size_t)TUN_RING * TUN_OUT_SLOT);
	if (w->islots == NULL || w->oslots == NULL) {
		worker_free(w);
		return -ENOMEM;
	}
	ret = pthread_mutex_init(&w->wr.lock, NULL);
	if (ret != 0) {
		worker_free(w);
		return -ret;
	}
	w->wr.lock_ok = true;
	ret = tun_gro_init(&w->wr.gro, t->tun_fd, gro_write_failed, &w->wr);
	if (ret < 0) {
		worker_free(w);
		return ret;
	}
	w->wr.gro_ok = true;
	ret = pthread_create(&w->th, NULL, worker_main, w);
	if (ret != 0) {
		log_error(LOG_IPSEC, "tun: ESP worker thread %u: pthread_create: %s", idx,
		          strerror(ret));
		worker_free(w);
		return -ret;
	}
	w->started = true;
	*out = w;
	return 0;
}

/* ---- life cycle ---- */

static void
tun_free(struct ipsec_backend *be)
{
	struct tun_be *t = tun_of(be);

	if (t == NULL)
		return;
	/* The workers finish what they have, then it is counted. */
	publish_all(t);
	for (unsigned i = 0; i < t->nworkers; i++)
		worker_stop(t->workers[i]);
	reap_all(t);
	while (t->sas != NULL)
		sa_unlink_free(t, t->sas);
	while (t->zombies != NULL) { /* none: every packet was counted */
		struct tun_sa *z = t->zombies;

		t->zombies = z->zombie_next;
		sa_free(z);
	}
	for (unsigned i = 0; i < t->nworkers; i++)
		worker_free(t->workers[i]);
	if (t->efd >= 0) {
		loop_del_fd(t->be.loop, t->efd);
		close(t->efd);
	}
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
	part_free(&t->part0);
	free(t->slots);
	free(t->rslots);
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
	t->efd = -1;
	t->slots = calloc(TUN_OUT_BATCH, TUN_OUT_SLOT);
	if (t->slots == NULL) {
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
		t->cfg.esp_threads = tun_wake_default_threads(IPSEC_TUN_DEFAULT_MAX_THREADS);
	if (t->cfg.esp_threads > IPSEC_TUN_MAX_THREADS) {
		log_error(LOG_IPSEC, "tun: %u ESP threads: at most %d", t->cfg.esp_threads,
		          IPSEC_TUN_MAX_THREADS);
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
	ret = tun_open(t);
	if (ret < 0)
		goto out;
	t->part0.t = t;
	ret = tun_gro_init(&t->part0.gro, t->tun_fd, gro_write_failed, &t->part0);
	if (ret < 0)
		goto out;
	t->part0.gro_ok = true;
	if (t->cfg.esp_threads > 1) {
		t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->efd < 0) {
			ret = -errno;
			log_error(LOG_IPSEC, "tun: eventfd: %s", strerror(errno));
			goto out;
		}
		ret = loop_add_fd(loop, t->efd, EPOLLIN, efd_readable, t);
		if (ret < 0) {
			log_error(LOG_IPSEC, "tun: loop_add_fd eventfd: %s", strerror(-ret));
			close(t->efd);
			t->efd = -1;
			goto out;
		}
		for (unsigned i = 1; i < t->cfg.esp_threads; i++) {
			ret = worker_new(t, i, &t->workers[t->nworkers]);
			if (ret < 0)
				goto out;
			t->nworkers++;
		}
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
ipsec_tun_settle(struct ipsec_backend *be)
{
	struct tun_be *t = tun_of(be);

	publish_all(t);
	for (unsigned i = 0; i < t->nworkers; i++) {
		struct tun_worker *w = t->workers[i];

		for (int tries = 0; tries < 1000; tries++) {
			uint32_t seen = tun_wake_gen(&w->progress);

			if (atomic_load(&w->in_done) == w->in_next &&
			    atomic_load(&w->out_done) == w->out_next)
				break;
			tun_wake_wait_us(&w->progress, seen, 1000);
		}
	}
	reap_all(t);
}

void
ipsec_tun_get_crypto(struct ipsec_backend *be, unsigned *threads, uint64_t *handed)
{
	struct tun_be *t = tun_of(be);

	*threads = t->nworkers + 1;
	*handed = t->handed;
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

	*writes = t->part0.gro.writes;
	*packets = t->part0.gro.packets;
	for (unsigned i = 0; i < t->nworkers; i++) {
		/* a worker's counters, read while it may write them: a statistic, off by the
		 * writes of the moment at most */
		*writes += __atomic_load_n(&t->workers[i]->wr.gro.writes, __ATOMIC_RELAXED);
		*packets += __atomic_load_n(&t->workers[i]->wr.gro.packets, __ATOMIC_RELAXED);
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
