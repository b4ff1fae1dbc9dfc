/* GET /api/v1/events: Server-Sent Events from the event ring (gateway/core/events.h).
 *
 * Design: MHD runs a small thread pool, so a stream must never block an MHD thread while it
 * waits. The content reader copies whatever events are ready; when there are none it suspends
 * its connection (MHD_suspend_connection) and returns 0. One notifier thread waits on the ring
 * (events_read with a timeout) and resumes every suspended stream when something new arrives, or
 * every API_SSE_KEEPALIVE_MS so the stream sends a ": keepalive" comment (proxies and dead peers
 * are noticed). While no stream is open the notifier sleeps until one is (the engine publishes
 * several events per tunnel: waking a thread for each costs the engine a context switch). At
 * most API_SSE_MAX streams are open; more get 503. */
#include "api/api_int.h"
#include "gateway/core/events.h"
#include "gateway/core/log.h"
#include "gateway/core/sbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_SSE_KEEPALIVE_MS 15000
#define SSE_BATCH            16

struct sse_stream {
	struct api_sse *hub;
	struct MHD_Connection *conn;
	uint64_t next; /* last sequence number sent */
	bool suspended;
	bool keepalive_due;
	bool in_use;
	char pending[SSE_BATCH * (EVENTS_MAX_DATA + EVENTS_MAX_TYPE + 64)];
	size_t pending_len, pending_off;
};

struct api_sse {
	pthread_mutex_t lock;
	pthread_cond_t opened; /* a stream was opened, or stop */
	pthread_t thread;
	bool running, stop;
	int nstreams;
	struct sse_stream streams[API_SSE_MAX];
};

/* Resumes suspended streams. Called with hub->lock held. */
static void
wake_all(struct api_sse *hub, bool keepalive)
{
	for (int i = 0; i < API_SSE_MAX; i++) {
		struct sse_stream *s = &hub->streams[i];

		if (!s->in_use)
			continue;
		if (keepalive)
			s->keepalive_due = true;
		if (s->suspended) {
			s->suspended = false;
			MHD_resume_connection(s->conn);
		}
	}
}

static void *
notifier(void *arg)
{
	struct api_sse *hub = arg;
	struct event_rec rec;
	uint64_t seen = events_last_seq(), missed;
	int idle_ms = 0;

	for (;;) {
		size_t n;

		pthread_mutex_lock(&hub->lock);
		if (hub->nstreams == 0 && !hub->stop) {
			while (hub->nstreams == 0 && !hub->stop)
				pthread_cond_wait(&hub->opened, &hub->lock);
			seen = events_last_seq(); /* streams start at their own position */
			idle_ms = 0;
		}
		if (hub->stop) {
			pthread_mutex_unlock(&hub->lock);
			break;
		}
		pthread_mutex_unlock(&hub->lock);
		n = events_read(seen, &rec, 1, 500, &missed);
		pthread_mutex_lock(&hub->lock);
		if (n > 0 || missed > 0) {
			seen = events_last_seq();
			wake_all(hub, false);
			idle_ms = 0;
		} else if ((idle_ms += 500) >= API_SSE_KEEPALIVE_MS) {
			wake_all(hub, true);
			idle_ms = 0;
		}
		pthread_mutex_unlock(&hub->lock);
	}
	return NULL;
}

int
api_sse_start(struct api *api)
{
	struct api_sse *hub = calloc(1, sizeof(*hub));
	int rc;

	if (hub == NULL)
		return -ENOMEM;
	pthread_mutex_init(&hub->lock, NULL);
	pthread_cond_init(&hub->opened, NULL);
	rc = pthread_create(&hub->thread, NULL, notifier, hub);
	if (rc != 0) {
		pthread_cond_destroy(&hub->opened);
		pthread_mutex_destroy(&hub->lock);
		free(hub);
		return -rc;
	}
	hub->running = true;
	api->sse = hub;
	return 0;
}

void
api_sse_stop(struct api *api)
{
	struct api_sse *hub = api->sse;

	if (hub == NULL)
		return;
	pthread_mutex_lock(&hub->lock);
	hub->stop = true;
	pthread_cond_signal(&hub->opened);
	wake_all(hub, false); /* readers see stop and end their streams */
	pthread_mutex_unlock(&hub->lock);
	/* the notifier waits at most 500 ms in events_read; events_shutdown() is not used because
	 * it is global and would end other readers too */
	pthread_join(hub->thread, NULL);
	/* streams still open are ended by MHD_stop_daemon; their free callbacks need the hub */
}

static void
sse_format(struct sse_stream *s)
{
	struct event_rec recs[SSE_BATCH];
	uint64_t missed = 0;
	size_t n = events_read(s->next, recs, SSE_BATCH, 0, &missed), len;
	struct sbuf b;

	/* pending holds SSE_BATCH records at their largest and the missed line */
	sbuf_init(&b, s->pending, sizeof(s->pending));
	if (missed > 0)
		sbuf_printf(&b, "event: missed\ndata: {\"count\":%llu}\n\n",
		            (unsigned long long)missed);
	for (size_t i = 0; i < n; i++) {
		size_t before = b.len;

		sbuf_printf(&b, "id: %llu\nevent: %s\ndata: %s\n\n",
		            (unsigned long long)recs[i].seq, recs[i].type, recs[i].data);
		if (!sbuf_ok(&b)) {
			/* never cut an event: send what fits, this one comes with the next batch */
			b.len = before;
			s->pending[before] = '\0';
			break;
		}
		s->next = recs[i].seq;
	}
	len = b.len;
	if (n == 0 && missed > 0)
		s->next = events_last_seq();
	if (len == 0 && s->keepalive_due)
		len = (size_t)snprintf(s->pending, sizeof(s->pending), ": keepalive\n\n");
	s->keepalive_due = false;
	s->pending_len = len;
	s->pending_off = 0;
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_stream *s = cls;
	struct api_sse *hub = s->hub;
	size_t n;

	pthread_mutex_lock(&hub->lock);
	if (hub->stop) {
		pthread_mutex_unlock(&hub->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (s->pending_off == s->pending_len)
		sse_format(s);
	if (s->pending_off == s->pending_len) {
		/* nothing to send: park the connection until the notifier wakes it */
		s->suspended = true;
		MHD_suspend_connection(s->conn);
		pthread_mutex_unlock(&hub->lock);
		return 0;
	}
	n = s->pending_len - s->pending_off;
	if (n > max)
		n = max;
	memcpy(buf, s->pending + s->pending_off, n);
	s->pending_off += n;
	pthread_mutex_unlock(&hub->lock);
	return (ssize_t)n;
}

static void
sse_free(void *cls)
{
	struct sse_stream *s = cls;
	struct api_sse *hub = s->hub;

	pthread_mutex_lock(&hub->lock);
	if (s->in_use)
		hub->nstreams--;
	s->in_use = false;
	s->suspended = false;
	pthread_mutex_unlock(&hub->lock);
}

void
api_sse_events(struct api_req *req)
{
	struct api_sse *hub = req->api->sse;
	struct sse_stream *s = NULL;
	const char *last = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Last-Event-ID");

	pthread_mutex_lock(&hub->lock);
	for (int i = 0; i < API_SSE_MAX; i++)
		if (!hub->streams[i].in_use) {
			s = &hub->streams[i];
			break;
		}
	if (s != NULL) {
		memset(s, 0, sizeof(*s));
		s->in_use = true;
		if (hub->nstreams++ == 0)
			pthread_cond_signal(&hub->opened);
		s->hub = hub;
		s->conn = req->conn;
		s->next = last != NULL ? strtoull(last, NULL, 10) : events_last_seq();
		/* first chunk: a comment so clients see the stream is open */
		s->pending_len = (size_t)snprintf(s->pending, sizeof(s->pending),
		                                  ": portcullis events\nretry: 3000\n\n");
	}
	pthread_mutex_unlock(&hub->lock);
	if (s == NULL) {
		api_reply_error(req, 503, "too_many_streams", NULL,
		                "at most %d event streams at a time", API_SSE_MAX);
		return;
	}
	req->raw = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
	if (req->raw == NULL) {
		sse_free(s);
		api_reply_error(req, 500, "internal", NULL,
		                "MHD_create_response_from_callback failed");
		return;
	}
	MHD_add_response_header(req->raw, "Content-Type", "text/event-stream");
	MHD_add_response_header(req->raw, "X-Accel-Buffering", "no");
	req->status = 200;
	req->replied = true;
}

void
api_sse_free(struct api *api)
{
	if (api->sse == NULL)
		return;
	pthread_cond_destroy(&api->sse->opened);
	pthread_mutex_destroy(&api->sse->lock);
	free(api->sse);
	api->sse = NULL;
}
