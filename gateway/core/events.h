/* Live events for dashboards (tunnel up/down, uauth added/expired, accounting record, ...): any
 * thread publishes, readers (the API's Server-Sent Events stream) follow by sequence number. A
 * bounded ring: a reader that falls more than EVENTS_RING entries behind skips ahead and is told. */
#ifndef PORTCULLIS_CORE_EVENTS_H
#define PORTCULLIS_CORE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define EVENTS_RING     1024
#define EVENTS_MAX_TYPE 48
#define EVENTS_MAX_DATA 2048

struct event_rec {
	uint64_t seq;  /* 1, 2, 3, ... */
	int64_t at_ms; /* wall clock, epoch ms */
	char type[EVENTS_MAX_TYPE];
	char data[EVENTS_MAX_DATA]; /* JSON object text */
};

void events_init(void);
/* data_json: a JSON object as text (truncated events are dropped with a warning, never cut). */
uint64_t events_publish(const char *type, const char *data_json);
/* Copies events with seq > after into out (at most max); returns how many. *missed is set to the
 * number of events that were overwritten before the reader got them. Waits up to wait_ms for a
 * new event when there is none (0: do not wait). */
size_t events_read(uint64_t after, struct event_rec *out, size_t max, int wait_ms,
                   uint64_t *missed);
uint64_t events_last_seq(void);
/* Wakes every waiting reader (at shutdown). */
void events_shutdown(void);

#endif
