/* Mode Config address leases, kept in memory and written to ip_lease behind (ike_int.h).
 *
 * Per pool and address: its state (never leased, released, active) and the user of its last
 * lease. Released addresses are in a list, least recently released first; a hash table (keyed
 * SipHash: user names come from peers) maps a user to the address they released last, so a
 * returning user gets the same address while it is free. Never-leased addresses are found by a
 * cursor that only moves forward (an address never goes back to never-leased). Every change is
 * also queued as a row write; ike_lease_sync() writes the queue in one transaction. */
#include "gateway/ike/ike_int.h"
#include "db/db.h"
#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Written at once when this many changes are pending (else on the next tick). */
#define LEASE_FLUSH_OPS 1024

enum { L_NEVER, L_RELEASED, L_ACTIVE };

struct lease_pool {
	int64_t id;
	uint32_t start, n;
	uint8_t *state;        /* per address: L_* */
	char **owner;          /* per address: the user of its last lease; NULL never leased */
	uint32_t *prev, *next; /* released list: index + 1, 0 none */
	uint32_t head, tail;   /* least / most recently released: index + 1, 0 none */
	uint32_t fresh;        /* every address below this index is or was leased */
	uint32_t *map;         /* user -> index + 1 of the address they released last */
	uint32_t mapmask;
	uint32_t nactive;
};

struct lease_op {
	int64_t pool_id;
	uint32_t addr, peer; /* host order */
	time_t when;
	char *user; /* take; NULL: release */
};

struct ike_leases {
	struct lease_pool *pool;
	int npool;
	uint64_t hkey[2];
	struct lease_op *ops;
	size_t nops, cap;
	bool failing; /* the last flush failed (logged once until one succeeds) */
};

static void
ip_str(uint32_t a, char *buf, size_t n)
{
	struct in_addr in = {htonl(a)};

	inet_ntop(AF_INET, &in, buf, (socklen_t)n);
}

static uint64_t
user_hash(const uint64_t k[2], const char *u)
{
	size_t n = strlen(u);
	uint64_t h = n;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t m = 0;

		memcpy(&m, u + i, n - i < 8 ? n - i : 8);
		h = ike_siphash_u64(k, h ^ m);
	}
	return ike_siphash_u64(k, h);
}

/* ---- one pool ---- */

static void
pool_wipe(struct lease_pool *p)
{
	if (p->owner != NULL)
		for (uint32_t i = 0; i < p->n; i++)
			free(p->owner[i]);
	free(p->owner);
	free(p->state);
	free(p->prev);
	free(p->next);
	free(p->map);
	memset(p, 0, sizeof(*p));
}

static int
pool_init(struct lease_pool *p, const struct ike_pool *c)
{
	uint32_t cap = 16;

	memset(p, 0, sizeof(*p));
	p->id = c->id;
	p->start = c->start;
	p->n = c->end - c->start + 1; /* ip_pool's CHECK keeps it at most 65,536 */
	while (cap < 2 * p->n)
		cap *= 2;
	p->mapmask = cap - 1;
	p->state = calloc(p->n, 1);
	p->owner = calloc(p->n, sizeof(*p->owner));
	p->prev = calloc(p->n, sizeof(*p->prev));
	p->next = calloc(p->n, sizeof(*p->next));
	p->map = calloc(cap, sizeof(*p->map));
	if (p->state == NULL || p->owner == NULL || p->prev == NULL || p->next == NULL ||
	    p->map == NULL) {
		pool_wipe(p);
		return -ENOMEM;
	}
	return 0;
}

static uint32_t
map_find(const struct ike_leases *L, const struct lease_pool *p, const char *user)
{
	for (uint32_t s = (uint32_t)user_hash(L->hkey, user) & p->mapmask;;
	     s = (s + 1) & p->mapmask) {
		uint32_t e = p->map[s];

		if (e == 0 || strcmp(p->owner[e - 1], user) == 0)
			return e;
	}
}

static void
map_set(const struct ike_leases *L, struct lease_pool *p, uint32_t idx)
{
	const char *user = p->owner[idx];
	uint32_t s = (uint32_t)user_hash(L->hkey, user) & p->mapmask;

	/* at most one entry per address and n addresses in 2n slots: an empty one is there */
	while (p->map[s] != 0 && strcmp(p->owner[p->map[s] - 1], user) != 0)
		s = (s + 1) & p->mapmask;
	p->map[s] = idx + 1;
}

/* Removes the entry that points at idx, if there is one (backward-shift deletion). */
static void
map_del(const struct ike_leases *L, struct lease_pool *p, uint32_t idx)
{
	uint32_t s = (uint32_t)user_hash(L->hkey, p->owner[idx]) & p->mapmask;

	while (p->map[s] != 0 && p->map[s] != idx + 1)
		s = (s + 1) & p->mapmask;
	if (p->map[s] == 0)
		return;
	for (uint32_t j = (s + 1) & p->mapmask; p->map[j] != 0; j = (j + 1) & p->mapmask) {
		uint32_t home = (uint32_t)user_hash(L->hkey, p->owner[p->map[j] - 1]) & p->mapmask;

		/* the entry at j may move to the hole at s when s is between home and j (cyclic) */
		if (((j - home) & p->mapmask) >= ((j - s) & p->mapmask)) {
			p->map[s] = p->map[j];
			s = j;
		}
	}
	p->map[s] = 0;
}

static void
list_unlink(struct lease_pool *p, uint32_t idx)
{
	uint32_t pr = p->prev[idx], nx = p->next[idx];

	if (pr != 0)
		p->next[pr - 1] = nx;
	else
		p->head = nx;
	if (nx != 0)
		p->prev[nx - 1] = pr;
	else
		p->tail = pr;
	p->prev[idx] = p->next[idx] = 0;
}

static void
list_append(struct lease_pool *p, uint32_t idx)
{
	p->prev[idx] = p->tail;
	p->next[idx] = 0;
	if (p->tail != 0)
		p->next[p->tail - 1] = idx + 1;
	else
		p->head = idx + 1;
	p->tail = idx + 1;
}

/* Marks idx active for user (owner string already checked or replaced by the caller). */
static int
pool_take(const struct ike_leases *L, struct lease_pool *p, uint32_t idx, const char *user)
{
	if (p->owner[idx] == NULL || strcmp(p->owner[idx], user) != 0) {
		char *u = strdup(user);

		if (u == NULL)
			return -ENOMEM;
		if (p->owner[idx] != NULL) {
			map_del(L, p, idx);
			free(p->owner[idx]);
		}
		p->owner[idx] = u;
	}
	if (p->state[idx] == L_RELEASED)
		list_unlink(p, idx);
	p->state[idx] = L_ACTIVE;
	p->nactive++;
	return 0;
}

static void
pool_release(const struct ike_leases *L, struct lease_pool *p, uint32_t idx)
{
	if (p->state[idx] != L_ACTIVE)
		return;
	p->state[idx] = L_RELEASED;
	p->nactive--;
	list_append(p, idx);
	map_set(L, p, idx);
}

static struct lease_pool *
pool_find(struct ike_leases *L, int64_t id)
{
	for (int i = 0; L != NULL && i < L->npool; i++)
		if (L->pool[i].id == id)
			return &L->pool[i];
	return NULL;
}

/* ---- the write-behind queue ---- */

static void
ops_free(struct ike_leases *L, size_t from)
{
	for (size_t i = from; i < L->nops; i++)
		free(L->ops[i].user);
	L->nops = from;
}

static int flush(struct ike *ike, bool wait);

static int
queue(struct ike *ike, int64_t pool_id, uint32_t addr, const char *user, uint32_t peer)
{
	struct ike_leases *L = ike->leases;
	struct lease_op *op;

	if (L->nops == L->cap) {
		size_t ncap = L->cap == 0 ? 64 : 2 * L->cap;
		struct lease_op *o = realloc(L->ops, ncap * sizeof(*o));

		if (o == NULL)
			return -ENOMEM;
		L->ops = o;
		L->cap = ncap;
	}
	op = &L->ops[L->nops];
	*op = (struct lease_op){.pool_id = pool_id, .addr = addr, .peer = peer, .when = time(NULL)};
	if (user != NULL && (op->user = strdup(user)) == NULL)
		return -ENOMEM;
	L->nops++;
	if (L->nops >= LEASE_FLUSH_OPS)
		flush(ike, false);
	return 0;
}

static void
iso_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char sql_take[] =
        "INSERT INTO ip_lease (pool_id, address, username, peer_address, state, assigned_at) "
        "VALUES (?1, ?2, ?3, ?4, 'active', ?5) ON CONFLICT (pool_id, address) DO UPDATE SET "
        "state = 'active', username = excluded.username, peer_address = "
        "excluded.peer_address, assigned_at = excluded.assigned_at, released_at = NULL";
static const char sql_release[] = "UPDATE ip_lease SET state = 'released', released_at = ?3 "
                                  "WHERE pool_id = ?1 AND address = ?2 AND state = 'active'";

/* One row write; 1 when SQLite refused that row alone (a constraint: its pool was deleted),
 * < 0 when the transaction cannot go on. */
static int
write_op(struct db *db, const struct lease_op *op)
{
	char a[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN], t[32];
	sqlite3_stmt *st;
	int r = db_prepare_cached(db, op->user != NULL ? sql_take : sql_release, &st, NULL);

	if (r < 0)
		return r;
	ip_str(op->addr, a, sizeof(a));
	iso_time(op->when, t, sizeof(t));
	sqlite3_bind_int64(st, 1, op->pool_id);
	sqlite3_bind_text(st, 2, a, -1, SQLITE_TRANSIENT);
	if (op->user != NULL) {
		ip_str(op->peer, p, sizeof(p));
		sqlite3_bind_text(st, 3, op->user, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, p, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, t, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_text(st, 3, t, -1, SQLITE_TRANSIENT);
	}
	r = sqlite3_step(st);
	db_done(db, st);
	if (r == SQLITE_DONE)
		return 0;
	if ((r & 0xff) == SQLITE_CONSTRAINT) {
		log_warn(LOG_IKE, "ip_lease %s %s (pool %lld) not written: %s",
		         op->user != NULL ? "take" : "release", a, (long long)op->pool_id,
		         sqlite3_errmsg(db_sqlite(db)));
		return 1;
	}
	return -EIO;
}

/* Writes the queue in one transaction. Without wait, a database another connection is writing
 * to is not waited for (the engine must not stall, and that writer may itself be waiting for the
 * engine): the changes stay queued for the next try. */
static int
flush(struct ike *ike, bool wait)
{
	struct ike_leases *L = ike->leases;
	sqlite3 *h = db_sqlite(ike->db);
	struct pc_err err = {0};
	int r;

	if (L == NULL || L->nops == 0)
		return 0;
	if (db_in_transaction(ike->db))
		return -EBUSY; /* someone else's transaction on the engine's connection */
	if (!wait)
		sqlite3_busy_timeout(h, 0);
	r = db_begin(ike->db, &err);
	if (!wait)
		sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
	if (r == -EBUSY && !wait) {
		log_debug(LOG_IKE, "ip_lease: database busy, %zu changes stay queued", L->nops);
		return r;
	}
	for (size_t i = 0; r == 0 && i < L->nops; i++)
		r = write_op(ike->db, &L->ops[i]) < 0 ? -EIO : 0;
	if (r == 0)
		r = db_commit(ike->db, &err);
	if (r < 0) {
		if (!L->failing)
			log_warn(LOG_IKE,
			         "ip_lease: %zu changes not written yet (%s); trying again",
			         L->nops, err.msg[0] ? err.msg : sqlite3_errmsg(h));
		db_rollback(ike->db);
		L->failing = true;
		return r;
	}
	if (L->failing)
		log_info(LOG_IKE, "ip_lease: %zu pending changes written", L->nops);
	L->failing = false;
	ops_free(L, 0);
	return 0;
}

int
ike_lease_sync(struct ike *ike)
{
	return flush(ike, false);
}

/* ---- load ---- */

static int
load_pool(struct ike_leases *L, struct db *db, struct lease_pool *p, struct pc_err *err)
{
	sqlite3_stmt *st;
	int r;

	/* released ones in the order they were released, so the list and the user map end up as if
	 * they had been released here */
	r = db_prepare(db,
	               "SELECT ip4(address), state, username FROM ip_lease WHERE pool_id = ? "
	               "ORDER BY state = 'released', released_at, id",
	               &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, p->id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t a = (uint32_t)sqlite3_column_int64(st, 0), idx = a - p->start;
		const char *s = (const char *)sqlite3_column_text(st, 1);
		const char *u = (const char *)sqlite3_column_text(st, 2);

		if (a < p->start || idx >= p->n || s == NULL || u == NULL ||
		    p->state[idx] != L_NEVER)
			continue; /* outside the pool's range now: kept in the table, not handed out */
		if (pool_take(L, p, idx, u) < 0) {
			r = -ENOMEM;
			break;
		}
		if (strcmp(s, "released") == 0)
			pool_release(L, p, idx);
	}
	sqlite3_finalize(st);
	if (r == -ENOMEM)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "ip_lease: out of memory");
	if (r != SQLITE_DONE)
		return db_error(db, err, "ip_lease");
	return 0;
}

static void
leases_wipe(struct ike_leases *L)
{
	for (int i = 0; i < L->npool; i++)
		pool_wipe(&L->pool[i]);
	free(L->pool);
	L->pool = NULL;
	L->npool = 0;
}

/* Replays the queued changes onto leases just read from the table (they are not in it yet). */
static int
replay(struct ike_leases *n, const struct ike_leases *L)
{
	for (size_t i = 0; i < L->nops; i++) {
		const struct lease_op *op = &L->ops[i];
		struct lease_pool *p = pool_find(n, op->pool_id);
		uint32_t idx;

		if (p == NULL || op->addr < p->start || op->addr - p->start >= p->n)
			continue;
		idx = op->addr - p->start;
		if (op->user == NULL)
			pool_release(n, p, idx);
		else if (p->state[idx] != L_ACTIVE && pool_take(n, p, idx, op->user) < 0)
			return -ENOMEM;
	}
	return 0;
}

int
ike_lease_load(struct ike *ike, const struct ike_conf *c, struct pc_err *err)
{
	struct ike_leases *L = ike->leases, n = {0};
	int r;

	if (L == NULL) {
		/* the first load: what a previous run left active ended with it */
		L = calloc(1, sizeof(*L));
		if (L == NULL)
			return -ENOMEM;
		ike_rand(L->hkey, sizeof(L->hkey));
		r = db_exec(ike->db,
		            "UPDATE ip_lease SET state = 'released', released_at = "
		            "strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE state = 'active'",
		            err);
		if (r < 0) {
			free(L);
			return r;
		}
		if (sqlite3_changes(db_sqlite(ike->db)) > 0)
			log_info(LOG_IKE, "ip_lease: %d leases of a previous run released",
			         sqlite3_changes(db_sqlite(ike->db)));
		ike->leases = L;
	} else {
		flush(ike, false); /* what cannot be written now is replayed below */
	}
	memcpy(n.hkey, L->hkey, sizeof(n.hkey));
	n.pool = calloc(c->npool > 0 ? (size_t)c->npool : 1, sizeof(*n.pool));
	if (n.pool == NULL)
		return -ENOMEM;
	for (int i = 0; i < c->npool; i++) {
		r = pool_init(&n.pool[i], &c->pool[i]);
		if (r == 0) {
			n.npool++;
			r = load_pool(&n, ike->db, &n.pool[i], err);
		} else {
			pc_err_set(err, PC_ERR_INTERNAL, "", "ip_lease: out of memory");
		}
		if (r < 0) {
			leases_wipe(&n);
			return r;
		}
	}
	if (replay(&n, L) < 0) {
		leases_wipe(&n);
		return pc_err_set(err, PC_ERR_INTERNAL, "", "ip_lease: out of memory");
	}
	leases_wipe(L);
	L->pool = n.pool;
	L->npool = n.npool;
	return 0;
}

/* ---- take and release ---- */

static void
lease_user(const struct ike_sa *sa, char *buf, size_t n)
{
	char p[32];

	if (sa->user != NULL) {
		snprintf(buf, n, "%s", sa->user);
		return;
	}
	ike_peer_str(&sa->peer, p, sizeof(p));
	snprintf(buf, n, "%s@%s", sa->group_name != NULL ? sa->group_name : "peer", p);
}

int
ike_lease_take(struct ike_sa *sa, int64_t pool_id)
{
	struct ike *ike = sa->ike;
	struct ike_leases *L = ike->leases;
	struct lease_pool *p = pool_find(L, pool_id);
	char user[AAA_MAX_USER + 64];
	uint32_t e, idx;
	int r;

	if (p == NULL)
		return -ENOENT;
	lease_user(sa, user, sizeof(user));
	e = map_find(L, p, user);
	if (e != 0 && p->state[e - 1] == L_RELEASED) {
		idx = e - 1; /* the same address as last time */
	} else {
		while (p->fresh < p->n && p->state[p->fresh] != L_NEVER)
			p->fresh++;
		if (p->fresh < p->n)
			idx = p->fresh; /* never-leased ones first: released ones stay with their users */
		else if (p->head != 0)
			idx = p->head - 1; /* the one released longest ago */
		else
			return -ENOSPC;
	}
	r = pool_take(L, p, idx, user);
	if (r < 0)
		return r;
	sa->addr = p->start + idx;
	sa->lease_pool_id = p->id;
	if (queue(ike, p->id, sa->addr, user, ntohl(sa->peer.sin_addr.s_addr)) < 0)
		log_warn(LOG_IKE, "ip_lease: out of memory, lease %u.%u.%u.%u not recorded",
		         sa->addr >> 24, (sa->addr >> 16) & 255, (sa->addr >> 8) & 255,
		         sa->addr & 255);
	return 0;
}

void
ike_lease_release(struct ike_sa *sa)
{
	struct ike *ike = sa->ike;
	struct lease_pool *p;
	char a[INET_ADDRSTRLEN];

	if (sa->addr == 0 || sa->lease_pool_id == 0)
		return;
	p = pool_find(ike->leases, sa->lease_pool_id);
	if (p != NULL && sa->addr >= p->start && sa->addr - p->start < p->n)
		pool_release(ike->leases, p, sa->addr - p->start);
	ip_str(sa->addr, a, sizeof(a));
	if (queue(ike, sa->lease_pool_id, sa->addr, NULL, 0) < 0)
		log_warn(LOG_IKE, "ip_lease: out of memory, release of %s not recorded", a);
	log_info(LOG_IKE, "lease %s released", a);
	sa->addr = 0;
	sa->lease_pool_id = 0;
}

uint32_t
ike_lease_active(const struct ike *ike)
{
	uint32_t n = 0;

	for (int i = 0; ike->leases != NULL && i < ike->leases->npool; i++)
		n += ike->leases->pool[i].nactive;
	return n;
}

void
ike_lease_free(struct ike *ike)
{
	struct ike_leases *L = ike->leases;

	if (L == NULL)
		return;
	if (flush(ike, true) < 0)
		log_error(LOG_IKE, "ip_lease: %zu lease changes lost at shutdown", L->nops);
	ops_free(L, 0);
	free(L->ops);
	leases_wipe(L);
	free(L);
	ike->leases = NULL;
}
