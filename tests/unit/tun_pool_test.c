/* The tun backend's crypto threads (tun_pool): every part of a job runs exactly once, parts
 * 1..n-1 on helper threads at the same time as part 0 on the caller, the call returns only when
 * all are done (through spinning and through futex sleeps), and a pool of one has no helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/ipsec/tun_pool.h"

struct job {
	atomic_int calls[TUN_POOL_MAX];
	pthread_t who[TUN_POOL_MAX];
	atomic_int arrived; /* parts that have started */
	unsigned nparts;
	bool rendezvous; /* each part waits until every part has started */
	bool timed_out;
	int work_us;
};

static void
part_fn(void *arg, unsigned part)
{
	struct job *j = arg;

	atomic_fetch_add(&j->calls[part], 1);
	j->who[part] = pthread_self();
	atomic_fetch_add(&j->arrived, 1);
	if (j->rendezvous) {
		/* only possible if the parts run at the same time */
		for (int i = 0; i < 2000 && atomic_load(&j->arrived) < (int)j->nparts; i++)
			usleep(1000);
		if (atomic_load(&j->arrived) < (int)j->nparts)
			j->timed_out = true;
	}
	if (j->work_us > 0)
		usleep((useconds_t)j->work_us);
}

static void
test_parts_run_concurrently(void **state)
{
	struct tun_pool *p;
	struct job j;

	(void)state;
	assert_int_equal(tun_pool_new(4, &p), 0);
	assert_int_equal(tun_pool_size(p), 4);
	memset(&j, 0, sizeof(j));
	j.nparts = 4;
	j.rendezvous = true;
	tun_pool_run(p, 4, part_fn, &j);
	assert_false(j.timed_out);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(atomic_load(&j.calls[i]), 1);
	assert_true(pthread_equal(j.who[0], pthread_self()));
	for (unsigned i = 1; i < 4; i++) {
		assert_false(pthread_equal(j.who[i], pthread_self()));
		for (unsigned k = 1; k < i; k++)
			assert_false(pthread_equal(j.who[i], j.who[k]));
	}
	/* fewer parts than threads: the others are not called; more are clamped */
	memset(&j, 0, sizeof(j));
	tun_pool_run(p, 2, part_fn, &j);
	assert_int_equal(atomic_load(&j.calls[0]) + atomic_load(&j.calls[1]), 2);
	assert_int_equal(atomic_load(&j.calls[2]) + atomic_load(&j.calls[3]), 0);
	memset(&j, 0, sizeof(j));
	tun_pool_run(p, 9, part_fn, &j);
	assert_int_equal(atomic_load(&j.arrived), 4);
	tun_pool_free(p);
}

/* Back-to-back jobs (helpers spinning) and jobs after a pause (helpers asleep on the futex);
 * the caller returns only after the slow parts have finished. */
static void
test_many_jobs_and_sleeps(void **state)
{
	struct tun_pool *p;

	(void)state;
	assert_int_equal(tun_pool_new(3, &p), 0);
	for (int round = 0; round < 2000; round++) {
		struct job j;

		memset(&j, 0, sizeof(j));
		j.nparts = 3;
		if (round % 500 == 0) {
			usleep(20000); /* long enough for the helpers to sleep */
			j.work_us = 3000;
		}
		tun_pool_run(p, 3, part_fn, &j);
		/* everything done when run returns */
		assert_int_equal(atomic_load(&j.arrived), 3);
		for (unsigned i = 0; i < 3; i++)
			assert_int_equal(atomic_load(&j.calls[i]), 1);
	}
	tun_pool_free(p);
}

static void
test_single_thread_and_limits(void **state)
{
	struct tun_pool *p;
	struct job j;

	(void)state;
	assert_int_equal(tun_pool_new(0, &p), -EINVAL);
	assert_null(p);
	assert_int_equal(tun_pool_new(TUN_POOL_MAX + 1, &p), -EINVAL);
	assert_int_equal(tun_pool_new(1, &p), 0);
	memset(&j, 0, sizeof(j));
	tun_pool_run(p, 3, part_fn, &j);
	assert_int_equal(atomic_load(&j.calls[0]), 1);
	assert_int_equal(atomic_load(&j.calls[1]), 0);
	assert_true(pthread_equal(j.who[0], pthread_self()));
	tun_pool_free(p);
	tun_pool_free(NULL);
	assert_true(tun_pool_default_threads(8) >= 1 && tun_pool_default_threads(8) <= 8);
	assert_int_equal(tun_pool_default_threads(1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parts_run_concurrently),
	        cmocka_unit_test(test_many_jobs_and_sleeps),
	        cmocka_unit_test(test_single_thread_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
