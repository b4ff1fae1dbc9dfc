/* What bench/ikeload.c and bench/espload.c both need: a monotonic clock in milliseconds and the
 * process's own CPU time. Header-only: each load generator is one cc command (see the bench
 * scripts). */
#ifndef PORTCULLIS_BENCH_LOADGEN_H
#define PORTCULLIS_BENCH_LOADGEN_H

#include <sys/resource.h>
#include <time.h>

static inline double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* User and system CPU seconds of this process, all threads. */
static inline void
self_cpu(double *user_s, double *sys_s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys_s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

#endif
