#include "gateway/ipsec/tun_wake.h"

#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Polls, then sched_yield()s, before sleeping: together a few microseconds to a few tens,
 * about the gap between two batches under load. */
#define TUN_WAKE_SPIN  100
#define TUN_WAKE_YIELD 200

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

uint32_t
tun_wake_gen(struct tun_wake *w)
{
	return atomic_load(&w->gen);
}

static void
wait_for(struct tun_wake *w, uint32_t seen, const struct timespec *timeout)
{
	for (int i = 0; i < TUN_WAKE_SPIN; i++) {
		if (atomic_load(&w->gen) != seen)
			return;
		cpu_relax();
	}
	for (int i = 0; i < TUN_WAKE_YIELD; i++) {
		if (atomic_load(&w->gen) != seen)
			return;
		sched_yield();
	}
	/* seq_cst increment, then the kernel compares gen: either the waker sees a sleeper and
	 * wakes us, or FUTEX_WAIT sees the new generation and returns at once (EAGAIN). EINTR and
	 * spurious wake-ups return too; the caller re-checks. */
	atomic_fetch_add(&w->sleepers, 1);
	(void)syscall(SYS_futex, &w->gen, FUTEX_WAIT_PRIVATE, seen, timeout, NULL, 0);
	atomic_fetch_sub(&w->sleepers, 1);
}

void
tun_wake_wait(struct tun_wake *w, uint32_t seen)
{
	wait_for(w, seen, NULL);
}

void
tun_wake_wait_us(struct tun_wake *w, uint32_t seen, unsigned max_us)
{
	struct timespec ts = {.tv_sec = max_us / 1000000,
	                      .tv_nsec = (long)(max_us % 1000000) * 1000};

	wait_for(w, seen, &ts);
}

void
tun_wake_up(struct tun_wake *w)
{
	atomic_fetch_add(&w->gen, 1);
	if (atomic_load(&w->sleepers) > 0)
		(void)syscall(SYS_futex, &w->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

unsigned
tun_wake_default_threads(unsigned max)
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
