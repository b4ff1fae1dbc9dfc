/* Event loop: timers fire in order on the monotonic clock, cancelled timers never fire, fd watchers
 * see readiness, and the command channel runs work on the loop thread and returns its result. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "gateway/core/loop.h"

struct order {
	int seen[16];
	int n;
};

static void
record(struct loop *loop, void *arg)
{
	struct order *o = *(struct order **)arg;

	o->seen[o->n++] = ((int *)arg)[2];
}

struct rec_arg {
	struct order *o;
	int id;
};

static void
rec(struct loop *loop, void *arg)
{
	struct rec_arg *a = arg;

	a->o->seen[a->o->n++] = a->id;
}

static void
stop_cb(struct loop *loop, void *arg)
{
	loop_stop(loop);
}

static void
test_timers_fire_in_order(void **state)
{
	struct loop *loop;
	struct order o = {0};
	struct rec_arg a[4] = {{&o, 30}, {&o, 10}, {&o, 20}, {&o, 11}};
	uint64_t t0 = loop_now_ms();

	(void)record;
	assert_int_equal(loop_new(&loop), 0);
	assert_non_null(loop_timer_add(loop, 30, rec, &a[0]));
	assert_non_null(loop_timer_add(loop, 10, rec, &a[1]));
	assert_non_null(loop_timer_add(loop, 20, rec, &a[2]));
	assert_non_null(loop_timer_add(loop, 10, rec, &a[3])); /* same due time: creation order */
	assert_non_null(loop_timer_add(loop, 40, stop_cb, NULL));
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(o.n, 4);
	assert_int_equal(o.seen[0], 10);
	assert_int_equal(o.seen[1], 11);
	assert_int_equal(o.seen[2], 20);
	assert_int_equal(o.seen[3], 30);
	assert_true(loop_now_ms() - t0 >= 40);
	assert_int_equal(loop_timer_count(loop), 0);
	loop_free(loop);
}

static void
test_timer_cancel(void **state)
{
	struct loop *loop;
	struct order o = {0};
	struct rec_arg a = {&o, 1};
	struct loop_timer *t;

	assert_int_equal(loop_new(&loop), 0);
	t = loop_timer_add(loop, 5, rec, &a);
	assert_non_null(t);
	loop_timer_cancel(loop, t);
	assert_non_null(loop_timer_add(loop, 20, stop_cb, NULL));
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(o.n, 0);
	loop_free(loop);
}

static void
on_pipe(struct loop *loop, int fd, uint32_t events, void *arg)
{
	char c;

	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &c, 1), 1);
	*(char *)arg = c;
	loop_stop(loop);
}

static void
test_fd_watcher(void **state)
{
	struct loop *loop;
	int p[2];
	char got = 0;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, on_pipe, &got), 0);
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, on_pipe, &got), -EEXIST);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(got, 'x');
	assert_int_equal(loop_del_fd(loop, p[0]), 0);
	assert_int_equal(loop_del_fd(loop, p[0]), -ENOENT);
	loop_free(loop);
	close(p[0]);
	close(p[1]);
}

struct call_arg {
	pthread_t loop_thread;
	int value;
};

static int
on_loop_thread(struct loop *loop, void *arg)
{
	struct call_arg *a = arg;

	assert_true(pthread_equal(pthread_self(), a->loop_thread));
	return a->value * 2;
}

static int
stop_cmd(struct loop *loop, void *arg)
{
	loop_stop(loop);
	return 0;
}

struct client {
	struct loop *loop;
	struct call_arg arg;
	int results[50];
};

static void *
client_main(void *p)
{
	struct client *c = p;

	for (int i = 0; i < 50; i++) {
		c->arg.value = i;
		c->results[i] = loop_call(c->loop, on_loop_thread, &c->arg, 5000);
	}
	loop_call(c->loop, stop_cmd, NULL, 5000);
	return NULL;
}

static void
test_command_channel(void **state)
{
	struct client c = {0};
	pthread_t th;

	assert_int_equal(loop_new(&c.loop), 0);
	c.arg.loop_thread = pthread_self();
	assert_int_equal(pthread_create(&th, NULL, client_main, &c), 0);
	assert_int_equal(loop_run(c.loop), 0);
	pthread_join(th, NULL);
	for (int i = 0; i < 50; i++)
		assert_int_equal(c.results[i], i * 2);
	loop_free(c.loop);
}

static void
test_call_times_out_when_loop_not_running(void **state)
{
	struct loop *loop;
	struct call_arg a = {.loop_thread = pthread_self(), .value = 1};

	assert_int_equal(loop_new(&loop), 0);
	/* nobody runs the loop: the request is withdrawn after the timeout */
	assert_int_equal(loop_call(loop, on_loop_thread, &a, 50), -ETIMEDOUT);
	loop_free(loop);
}

static int
posted(struct loop *loop, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_post_runs_at_free(void **state)
{
	struct loop *loop;
	int n = 0;

	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(loop_post(loop, posted, &n), 0);
	assert_int_equal(loop_post(loop, posted, &n), 0);
	loop_free(loop); /* posted work owns its argument: it still runs */
	assert_int_equal(n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_timers_fire_in_order),
	        cmocka_unit_test(test_timer_cancel),
	        cmocka_unit_test(test_fd_watcher),
	        cmocka_unit_test(test_command_channel),
	        cmocka_unit_test(test_call_times_out_when_loop_not_running),
	        cmocka_unit_test(test_post_runs_at_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
