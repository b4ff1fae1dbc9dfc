#include "gateway/core/events.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct event_rec ring[EVENTS_RING];
static uint64_t last_seq;
static bool shutting_down;
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;

void
events_init(void)
{
	pthread_mutex_lock(&ev_lock);
	shutting_down = false;
	pthread_mutex_unlock(&ev_lock);
}

uint64_t
events_publish(const char *type, const char *data_json)
{
	struct event_rec *r;
	struct timespec ts;
	uint64_t seq;

	if (strlen(type) >= EVENTS_MAX_TYPE || strlen(data_json) >= EVENTS_MAX_DATA) {
		log_warn(LOG_CORE, "event %.40s dropped: type or data too long (%zu bytes, max %d)",
		         type, strlen(data_json), EVENTS_MAX_DATA - 1);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&ev_lock);
	seq = ++last_seq;
	r = &ring[seq % EVENTS_RING];
	r->seq = seq;
	r->at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(r->type, sizeof(r->type), "%s", type);
	snprintf(r->data, sizeof(r->data), "%s", data_json);
	pthread_cond_broadcast(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
	return seq;
}

size_t
events_read(uint64_t after, struct event_rec *out, size_t max, int wait_ms, uint64_t *missed)
{
	size_t n = 0;
	uint64_t first;

	pthread_mutex_lock(&ev_lock);
	if (wait_ms > 0 && last_seq <= after && !shutting_down) {
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += wait_ms / 1000;
		dl.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		while (last_seq <= after && !shutting_down)
			if (pthread_cond_timedwait(&ev_cond, &ev_lock, &dl) == ETIMEDOUT)
				break;
	}
	first = last_seq > EVENTS_RING ? last_seq - EVENTS_RING + 1 : 1;
	if (missed != NULL)
		*missed = after + 1 < first ? first - (after + 1) : 0;
	if (after + 1 > first)
		first = after + 1;
	for (uint64_t s = first; s <= last_seq && n < max; s++)
		out[n++] = ring[s % EVENTS_RING];
	pthread_mutex_unlock(&ev_lock);
	return n;
}

uint64_t
events_last_seq(void)
{
	uint64_t s;

	pthread_mutex_lock(&ev_lock);
	s = last_seq;
	pthread_mutex_unlock(&ev_lock);
	return s;
}

void
events_shutdown(void)
{
	pthread_mutex_lock(&ev_lock);
	shutting_down = true;
	pthread_cond_broadcast(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
}
