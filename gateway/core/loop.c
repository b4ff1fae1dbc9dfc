#include "gateway/core/loop.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct loop_timer {
	uint64_t due;
	uint64_t seq; /* ties broken by creation order */
	size_t heap_idx;
	loop_timer_fn fn;
	void *arg;
};

struct watcher {
	int fd;
	loop_fd_fn fn;
	void *arg;
	bool used;
};

struct cmd {
	loop_cmd_fn fn;
	void *arg;
	bool wait; /* a caller waits in loop_call() */
	bool started;
	bool done;
	int result;
	struct cmd *next;
};

struct sigwatch {
	int signo;
	loop_signal_fn fn;
	void *arg;
};

struct loop {
	int epfd;
	int evfd;  /* wakes the loop for commands and stop */
	int sigfd; /* -1 until a signal is added */
	sigset_t sigmask;
	struct sigwatch sigs[8];
	int nsigs;

	struct watcher *watchers; /* indexed by fd */
	int nwatchers;

	struct loop_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t timer_seq;

	pthread_mutex_t lock; /* guards the command queue and running */
	pthread_cond_t cond;
	struct cmd *q_head;
	struct cmd *q_tail;
	int q_len;
	bool running;
	bool stopping;
	bool stopped;
};

uint64_t
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
loop_new(struct loop **out)
{
	struct loop *loop;
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	*out = NULL;
	loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return -ENOMEM;
	loop->epfd = -1;
	loop->evfd = -1;
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	pthread_mutex_init(&loop->lock, NULL);
	pthread_cond_init(&loop->cond, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		rc = -errno;
		log_error(LOG_CORE, "epoll_create1: %s", strerror(errno));
		goto fail;
	}
	loop->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->evfd < 0) {
		rc = -errno;
		log_error(LOG_CORE, "eventfd: %s", strerror(errno));
		goto fail;
	}
	ev.data.fd = loop->evfd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->evfd, &ev) < 0) {
		rc = -errno;
		log_error(LOG_CORE, "epoll_ctl ADD eventfd: %s", strerror(errno));
		goto fail;
	}
	*out = loop;
	return 0;
fail:
	loop_free(loop);
	return rc;
}

static void
drain_queue_on_free(struct loop *loop)
{
	struct cmd *c;

	pthread_mutex_lock(&loop->lock);
	while ((c = loop->q_head) != NULL) {
		loop->q_head = c->next;
		pthread_mutex_unlock(&loop->lock);
		if (c->wait) {
			pthread_mutex_lock(&loop->lock);
			c->done = true;
			c->result = -ESHUTDOWN;
			pthread_cond_broadcast(&loop->cond);
			pthread_mutex_unlock(&loop->lock);
		} else {
			/* Posted work owns its argument: let it run so it can free it. */
			c->fn(loop, c->arg);
			free(c);
		}
		pthread_mutex_lock(&loop->lock);
	}
	loop->q_tail = NULL;
	loop->q_len = 0;
	pthread_mutex_unlock(&loop->lock);
}

void
loop_free(struct loop *loop)
{
	if (loop == NULL)
		return;
	pthread_mutex_lock(&loop->lock);
	loop->stopped = true;
	pthread_mutex_unlock(&loop->lock);
	drain_queue_on_free(loop);
	for (size_t i = 0; i < loop->heap_len; i++)
		free(loop->heap[i]);
	free(loop->heap);
	free(loop->watchers);
	if (loop->sigfd >= 0) {
		close(loop->sigfd);
		pthread_sigmask(SIG_UNBLOCK, &loop->sigmask, NULL);
	}
	if (loop->evfd >= 0)
		close(loop->evfd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	pthread_cond_destroy(&loop->cond);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

/* ---- fd watchers ---- */

int
loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	if (fd < 0 || fd >= LOOP_MAX_FDS) {
		log_error(LOG_CORE, "loop_add_fd: fd %d outside 0..%d", fd, LOOP_MAX_FDS - 1);
		return -EMFILE;
	}
	if (fd >= loop->nwatchers) {
		int n = loop->nwatchers ? loop->nwatchers : 64;
		struct watcher *w;

		while (n <= fd)
			n *= 2;
		if (n > LOOP_MAX_FDS)
			n = LOOP_MAX_FDS;
		w = realloc(loop->watchers, (size_t)n * sizeof(*w));
		if (w == NULL)
			return -ENOMEM;
		memset(w + loop->nwatchers, 0, (size_t)(n - loop->nwatchers) * sizeof(*w));
		loop->watchers = w;
		loop->nwatchers = n;
	}
	if (loop->watchers[fd].used)
		return -EEXIST;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int rc = -errno;

		log_error(LOG_CORE, "epoll_ctl ADD fd %d: %s", fd, strerror(errno));
		return rc;
	}
	loop->watchers[fd] = (struct watcher){.fd = fd, .fn = fn, .arg = arg, .used = true};
	return 0;
}

int
loop_mod_fd(struct loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	if (fd < 0 || fd >= loop->nwatchers || !loop->watchers[fd].used)
		return -ENOENT;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
		int rc = -errno;

		log_error(LOG_CORE, "epoll_ctl MOD fd %d: %s", fd, strerror(errno));
		return rc;
	}
	return 0;
}

int
loop_del_fd(struct loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nwatchers || !loop->watchers[fd].used)
		return -ENOENT;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&loop->watchers[fd], 0, sizeof(loop->watchers[fd]));
	return 0;
}

/* ---- timers: a binary min-heap on (due, seq) ---- */

static bool
timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_swap(struct loop *loop, size_t i, size_t j)
{
	struct loop_timer *t = loop->heap[i];

	loop->heap[i] = loop->heap[j];
	loop->heap[j] = t;
	loop->heap[i]->heap_idx = i;
	loop->heap[j]->heap_idx = j;
}

static void
heap_up(struct loop *loop, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!timer_before(loop->heap[i], loop->heap[p]))
			break;
		heap_swap(loop, i, p);
		i = p;
	}
}

static void
heap_down(struct loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop->heap_len && timer_before(loop->heap[l], loop->heap[m]))
			m = l;
		if (r < loop->heap_len && timer_before(loop->heap[r], loop->heap[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(loop, i, m);
		i = m;
	}
}

static void
heap_remove(struct loop *loop, size_t i)
{
	size_t last = loop->heap_len - 1;

	if (i != last) {
		heap_swap(loop, i, last);
		loop->heap_len--;
		heap_down(loop, i);
		heap_up(loop, i);
	} else {
		loop->heap_len--;
	}
}

struct loop_timer *
loop_timer_add(struct loop *loop, uint64_t delay_ms, loop_timer_fn fn, void *arg)
{
	struct loop_timer *t;

	if (loop->heap_len >= LOOP_MAX_TIMERS) {
		log_error(LOG_CORE, "timer table full (%d timers)", LOOP_MAX_TIMERS);
		return NULL;
	}
	if (loop->heap_len == loop->heap_cap) {
		size_t n = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct loop_timer **h = realloc(loop->heap, n * sizeof(*h));

		if (h == NULL)
			return NULL;
		loop->heap = h;
		loop->heap_cap = n;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->due = loop_now_ms() + delay_ms;
	t->seq = loop->timer_seq++;
	t->fn = fn;
	t->arg = arg;
	t->heap_idx = loop->heap_len;
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, t->heap_idx);
	return t;
}

void
loop_timer_cancel(struct loop *loop, struct loop_timer *t)
{
	if (t == NULL)
		return;
	if (t->heap_idx < loop->heap_len && loop->heap[t->heap_idx] == t)
		heap_remove(loop, t->heap_idx);
	free(t);
}

int
loop_timer_count(struct loop *loop)
{
	return (int)loop->heap_len;
}

static void
run_due_timers(struct loop *loop)
{
	uint64_t now = loop_now_ms();

	while (loop->heap_len > 0 && loop->heap[0]->due <= now) {
		struct loop_timer *t = loop->heap[0];
		loop_timer_fn fn = t->fn;
		void *arg = t->arg;

		heap_remove(loop, 0);
		free(t);
		fn(loop, arg);
		if (loop->stopping)
			break;
	}
}

static int
next_timeout(struct loop *loop)
{
	uint64_t now, due;

	if (loop->heap_len == 0)
		return -1;
	now = loop_now_ms();
	due = loop->heap[0]->due;
	if (due <= now)
		return 0;
	if (due - now > 60000)
		return 60000;
	return (int)(due - now);
}

/* ---- signals ---- */

static void
on_signal_fd(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (int i = 0; i < loop->nsigs; i++)
			if ((int)si.ssi_signo == loop->sigs[i].signo)
				loop->sigs[i].fn(loop, (int)si.ssi_signo, loop->sigs[i].arg);
	}
}

int
loop_add_signal(struct loop *loop, int signo, loop_signal_fn fn, void *arg)
{
	int fd;

	if (loop->nsigs >= (int)(sizeof(loop->sigs) / sizeof(loop->sigs[0])))
		return -ENOSPC;
	sigaddset(&loop->sigmask, signo);
	if (pthread_sigmask(SIG_BLOCK, &loop->sigmask, NULL) != 0)
		return -EINVAL;
	fd = signalfd(loop->sigfd, &loop->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		int rc = -errno;

		log_error(LOG_CORE, "signalfd: %s", strerror(errno));
		return rc;
	}
	if (loop->sigfd < 0) {
		int rc = loop_add_fd(loop, fd, EPOLLIN, on_signal_fd, NULL);

		if (rc < 0) {
			close(fd);
			return rc;
		}
		loop->sigfd = fd;
	}
	loop->sigs[loop->nsigs++] = (struct sigwatch){.signo = signo, .fn = fn, .arg = arg};
	return 0;
}

/* ---- command channel ---- */

static void
wake(struct loop *loop)
{
	uint64_t one = 1;
	ssize_t n = write(loop->evfd, &one, sizeof(one));

	(void)n; /* EAGAIN means the counter is already non-zero: the loop wakes anyway */
}

static int
enqueue(struct loop *loop, struct cmd *c)
{
	if (loop->stopped) {
		return -ESHUTDOWN;
	}
	if (loop->q_len >= LOOP_MAX_QUEUED)
		return -EAGAIN;
	c->next = NULL;
	if (loop->q_tail != NULL)
		loop->q_tail->next = c;
	else
		loop->q_head = c;
	loop->q_tail = c;
	loop->q_len++;
	return 0;
}

static void
unlink_cmd(struct loop *loop, struct cmd *c)
{
	struct cmd **pp = &loop->q_head, *prev = NULL;

	while (*pp != NULL && *pp != c) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp == NULL)
		return;
	*pp = c->next;
	if (loop->q_tail == c)
		loop->q_tail = prev;
	loop->q_len--;
}

int
loop_call(struct loop *loop, loop_cmd_fn fn, void *arg, int timeout_ms)
{
	struct cmd c = {.fn = fn, .arg = arg, .wait = true};
	struct timespec deadline;
	int rc;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&loop->lock);
	rc = enqueue(loop, &c);
	if (rc < 0) {
		pthread_mutex_unlock(&loop->lock);
		return rc;
	}
	wake(loop);
	while (!c.done) {
		if (!c.started && timeout_ms >= 0) {
			if (pthread_cond_timedwait(&loop->cond, &loop->lock, &deadline) ==
			            ETIMEDOUT &&
			    !c.started && !c.done) {
				unlink_cmd(loop, &c);
				pthread_mutex_unlock(&loop->lock);
				return -ETIMEDOUT;
			}
		} else {
			pthread_cond_wait(&loop->cond, &loop->lock);
		}
	}
	rc = c.result;
	pthread_mutex_unlock(&loop->lock);
	return rc;
}

int
loop_post(struct loop *loop, loop_cmd_fn fn, void *arg)
{
	struct cmd *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	pthread_mutex_lock(&loop->lock);
	rc = enqueue(loop, c);
	if (rc == 0)
		wake(loop);
	pthread_mutex_unlock(&loop->lock);
	if (rc < 0)
		free(c);
	return rc;
}

static void
run_commands(struct loop *loop)
{
	uint64_t cnt;
	int budget = LOOP_MAX_QUEUED;

	while (read(loop->evfd, &cnt, sizeof(cnt)) == (ssize_t)sizeof(cnt))
		;
	pthread_mutex_lock(&loop->lock);
	while (loop->q_head != NULL && budget-- > 0 && !loop->stopping) {
		struct cmd *c = loop->q_head;
		int result;

		loop->q_head = c->next;
		if (loop->q_head == NULL)
			loop->q_tail = NULL;
		loop->q_len--;
		c->started = true;
		pthread_mutex_unlock(&loop->lock);
		result = c->fn(loop, c->arg);
		pthread_mutex_lock(&loop->lock);
		if (c->wait) {
			c->result = result;
			c->done = true;
			pthread_cond_broadcast(&loop->cond);
		} else {
			free(c);
		}
	}
	if (loop->q_head != NULL)
		wake(loop);
	pthread_mutex_unlock(&loop->lock);
}

/* ---- running ---- */

int
loop_run(struct loop *loop)
{
	struct epoll_event evs[64];

	pthread_mutex_lock(&loop->lock);
	loop->running = true;
	pthread_mutex_unlock(&loop->lock);
	while (!loop->stopping) {
		int n = epoll_wait(loop->epfd, evs, 64, next_timeout(loop));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error(LOG_CORE, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n && !loop->stopping; i++) {
			int fd = evs[i].data.fd;

			if (fd == loop->evfd) {
				run_commands(loop);
				continue;
			}
			if (fd < loop->nwatchers && loop->watchers[fd].used)
				loop->watchers[fd].fn(loop, fd, evs[i].events,
				                      loop->watchers[fd].arg);
		}
		if (!loop->stopping)
			run_due_timers(loop);
	}
	pthread_mutex_lock(&loop->lock);
	loop->running = false;
	loop->stopping = false;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

void
loop_stop(struct loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	loop->stopping = true;
	wake(loop);
	pthread_mutex_unlock(&loop->lock);
}

int
loop_is_running(struct loop *loop)
{
	int r;

	pthread_mutex_lock(&loop->lock);
	r = loop->running;
	pthread_mutex_unlock(&loop->lock);
	return r;
}
