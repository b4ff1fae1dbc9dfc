/* Waking a thread that waits for work: a generation counter the waker bumps, the waiter polls
 * briefly, then yields the CPU (sched_yield(): it stays runnable, so the scheduler does not move
 * it next to the thread that wakes it), then sleeps on the counter with FUTEX_WAIT. A wake-up
 * costs a system call only when the waiter sleeps. */
#ifndef PORTCULLIS_IPSEC_TUN_WAKE_H
#define PORTCULLIS_IPSEC_TUN_WAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct tun_wake {
	_Atomic uint32_t gen;
	atomic_int sleepers;
};

/* The generation to pass to tun_wake_wait(): read it before checking for work. */
uint32_t tun_wake_gen(struct tun_wake *w);
/* Returns once the generation differs from seen (or, rarely, spuriously: re-check). */
void tun_wake_wait(struct tun_wake *w, uint32_t seen);
/* The same, giving up after about max_us microseconds asleep. */
void tun_wake_wait_us(struct tun_wake *w, uint32_t seen, unsigned max_us);
/* After publishing work: moves the generation and wakes sleepers. */
void tun_wake_up(struct tun_wake *w);
/* Threads the tun backend uses when none is configured: the CPUs this process may run on,
 * at most max. */
unsigned tun_wake_default_threads(unsigned max);

#endif
