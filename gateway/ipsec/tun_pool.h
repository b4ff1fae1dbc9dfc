/* Fork-join threads for the tun backend's ESP crypto: tun_pool_run() runs part 0 of a job on
 * the calling (loop) thread and parts 1..n-1 on helper threads at the same time, and returns
 * when every part is done. The backend splits a batch of packets by SA, so one SA's cipher
 * context, CBC chaining value, sequence number and replay window are only ever touched by one
 * thread at a time, in packet order; everything else (lookups, counters, writes) stays on the
 * loop thread.
 *
 * Helpers wait on a futex: they spin briefly after a job (the next batch usually follows within
 * microseconds), then sleep. The pool holds no locks while a part runs. */
#ifndef PORTCULLIS_IPSEC_TUN_POOL_H
#define PORTCULLIS_IPSEC_TUN_POOL_H

#define TUN_POOL_MAX 16 /* threads, the caller's included */

struct tun_pool;

typedef void (*tun_pool_fn)(void *arg, unsigned part);

/* A pool of nthreads threads in all: the caller plus nthreads - 1 helpers (1 <= nthreads <=
 * TUN_POOL_MAX; with 1 there are no helpers and tun_pool_run() calls fn itself). Returns 0,
 * -EINVAL or the pthread_create() error as a negative errno (logged). */
int tun_pool_new(unsigned nthreads, struct tun_pool **out);
/* Stops and joins the helpers. NULL is fine. */
void tun_pool_free(struct tun_pool *p);
/* Threads in the pool, the caller's included. */
unsigned tun_pool_size(const struct tun_pool *p);
/* Runs fn(arg, 0) here and fn(arg, 1..nparts-1) on helpers; returns when all have returned.
 * nparts is clamped to the pool size; not reentrant (one caller thread). */
void tun_pool_run(struct tun_pool *p, unsigned nparts, tun_pool_fn fn, void *arg);
/* Threads the tun backend uses when none is configured: the CPUs this process may run on,
 * at most max. */
unsigned tun_pool_default_threads(unsigned max);

#endif
