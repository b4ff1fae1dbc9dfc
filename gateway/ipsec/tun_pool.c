#include "gateway/ipsec/tun_pool.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gateway/core/log.h"

/* Waiting for the next job or for the helpers: TUN_POOL_SPIN polls, then TUN_POOL_YIELD
 * sched_yield()s (a thread on the same CPU runs; we stay runnable, so the scheduler does not
 * move us next to the thread that wakes us), then sleep on the futex. */
#define TUN_POOL_SPIN  100
#define TUN_POOL_YIELD 200

struct tun_pool_helper {
	struct tun_pool *p;
	unsigned idx;
};

struct tun_pool {
	unsigned n;       /* threads, the caller's included */
	unsigned started; /* helpers running */
	pthread_t th[TUN_POOL_MAX];
	struct tun_pool_helper h[TUN_POOL_MAX];
	/* The job: written by the caller while no helper is inside one (pending == 0), published
	 * by the increment of gen. */
	unsigned nparts;
	tun_pool_fn fn;
	void *arg;
	bool stop;
	_Atomic uint32_t gen;     /* one per job; helpers wait for it to move */
	_Atomic uint32_t pending; /* helpers that have not finished the current job */
	atomic_int sleepers;      /* helpers in FUTEX_WAIT on gen */
	atomic_int caller_sleeps; /* the caller is in FUTEX_WAIT on pending */
};

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void
futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
	/* EAGAIN (the value moved), EINTR and spurious wake-ups: the callers re-check. */
	(void)syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void
futex_wake(_Atomic uint32_t *addr, int n)
{
	(void)syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static void *
helper_main(void *arg)
{
	struct tun_pool_helper *h = arg;
	struct tun_pool *p = h->p;
	uint32_t seen = 0;

	for (;;) {
		uint32_t g;
		int spins = 0;

		while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen) {
			if (++spins < TUN_POOL_SPIN) {
				cpu_relax();
				continue;
			}
			if (spins < TUN_POOL_SPIN + TUN_POOL_YIELD) {
				sched_yield();
				continue;
			}
			/* seq_cst increment, then the kernel compares gen: either the caller
			 * sees a sleeper and wakes us, or FUTEX_WAIT sees the new gen. */
			atomic_fetch_add(&p->sleepers, 1);
			futex_wait(&p->gen, seen);
			atomic_fetch_sub(&p->sleepers, 1);
			spins = 0;
		}
		seen = g;
		if (p->stop)
			return NULL;
		if (h->idx < p->nparts)
			p->fn(p->arg, h->idx);
		if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_sleeps) > 0)
			futex_wake(&p->pending, 1);
	}
}

/* Publishes the job (fields already written) and wakes sleeping helpers. */
static void
publish(struct tun_pool *p)
{
	atomic_store(&p->pending, p->started);
	atomic_fetch_add(&p->gen, 1);
	if (atomic_load(&p->sleepers) > 0)
		futex_wake(&p->gen, INT_MAX);
}

static void
wait_helpers(struct tun_pool *p)
{
	int spins = 0;
	uint32_t left;

	while ((left = atomic_load_explicit(&p->pending, memory_order_acquire)) != 0) {
		if (++spins < TUN_POOL_SPIN) {
			cpu_relax();
			continue;
		}
		if (spins < TUN_POOL_SPIN + TUN_POOL_YIELD) {
			sched_yield();
			continue;
		}
		atomic_fetch_add(&p->caller_sleeps, 1);
		futex_wait(&p->pending, left);
		atomic_fetch_sub(&p->caller_sleeps, 1);
		spins = 0;
	}
}

void
tun_pool_free(struct tun_pool *p)
{
	if (p == NULL)
		return;
	if (p->started > 0) {
		p->stop = true;
		publish(p);
		for (unsigned i = 0; i < p->started; i++)
			pthread_join(p->th[i], NULL);
	}
	free(p);
}

int
tun_pool_new(unsigned nthreads, struct tun_pool **out)
{
	struct tun_pool *p;

	*out = NULL;
	if (nthreads < 1 || nthreads > TUN_POOL_MAX)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->n = nthreads;
	for (unsigned i = 1; i < nthreads; i++) {
		int err;

		p->h[i - 1] = (struct tun_pool_helper){.p = p, .idx = i};
		err = pthread_create(&p->th[i - 1], NULL, helper_main, &p->h[i - 1]);
		if (err != 0) {
			log_error(LOG_IPSEC, "ESP crypto thread %u of %u: pthread_create: %s", i,
			          nthreads - 1, strerror(err));
			tun_pool_free(p);
			return -err;
		}
		p->started++;
	}
	*out = p;
	return 0;
}

unsigned
tun_pool_size(const struct tun_pool *p)
{
	return p->n;
}

void
tun_pool_run(struct tun_pool *p, unsigned nparts, tun_pool_fn fn, void *arg)
{
	if (nparts > p->n)
		nparts = p->n;
	if (nparts <= 1 || p->started == 0) {
		for (unsigned i = 0; i < nparts; i++)
			fn(arg, i);
		return;
	}
	p->nparts = nparts;
	p->fn = fn;
	p->arg = arg;
	publish(p);
	fn(arg, 0);
	wait_helpers(p);
}

unsigned
tun_pool_default_threads(unsigned max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c > 0 && c < INT_MAX ? (int)c : 1;
	}
	return (unsigned)n < max ? (unsigned)n : max;
}
