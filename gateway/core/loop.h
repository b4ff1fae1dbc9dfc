/* The engine's event loop: epoll fd watchers, monotonic timers, a command channel that lets other
 * threads run a function on the engine thread and wait for its result, and signals via signalfd.
 * Everything except loop_call(), loop_post() and loop_stop() must be called on the loop's thread. */
#ifndef PORTCULLIS_CORE_LOOP_H
#define PORTCULLIS_CORE_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_fn)(struct loop *loop, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_fn)(struct loop *loop, void *arg);
typedef int (*loop_cmd_fn)(struct loop *loop, void *arg);
typedef void (*loop_signal_fn)(struct loop *loop, int signo, void *arg);

/* Upper bounds: a loop holds at most this many fd watchers, timers and queued commands. */
#define LOOP_MAX_FDS    4096
#define LOOP_MAX_TIMERS 262144
#define LOOP_MAX_QUEUED 4096

int loop_new(struct loop **out);
void loop_free(struct loop *loop);

int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *arg);
int loop_mod_fd(struct loop *loop, int fd, uint32_t events);
int loop_del_fd(struct loop *loop, int fd);

/* One-shot timer after delay_ms. Returns NULL when the timer table is full. The timer is freed
 * after it fires or when cancelled; never cancel a timer after it fired. */
struct loop_timer *loop_timer_add(struct loop *loop, uint64_t delay_ms, loop_timer_fn fn,
                                  void *arg);
void loop_timer_cancel(struct loop *loop, struct loop_timer *t);
uint64_t loop_now_ms(void); /* CLOCK_MONOTONIC in milliseconds */
int loop_timer_count(struct loop *loop);

/* Deliver a signal through the loop instead of an async handler (blocks it in the calling thread,
 * so call before creating other threads). */
int loop_add_signal(struct loop *loop, int signo, loop_signal_fn fn, void *arg);

/* From any thread: run fn(arg) on the loop thread and wait for its return value. If timeout_ms
 * passes before fn started, it is withdrawn and -ETIMEDOUT returned; once started it runs to the
 * end and the caller waits. Returns -ESHUTDOWN if the loop has stopped. */
int loop_call(struct loop *loop, loop_cmd_fn fn, void *arg, int timeout_ms);
/* From any thread: queue fn(arg) without waiting. If the loop stops first, fn runs from
 * loop_free() so that it can release arg. */
int loop_post(struct loop *loop, loop_cmd_fn fn, void *arg);

int loop_run(struct loop *loop); /* until loop_stop(); returns 0 or a negative errno */
void loop_stop(struct loop *loop);
int loop_is_running(struct loop *loop);

#endif
