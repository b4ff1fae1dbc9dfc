/* Per-server health: consecutive failures, dead marking after max_failed_attempts, coming back
 * after the dead time. Pure functions of an explicit clock (milliseconds) so tests can drive it. */
#ifndef PORTCULLIS_AAA_AAA_HEALTH_H
#define PORTCULLIS_AAA_AAA_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

struct aaa_health {
	int consecutive_failures;
	bool dead;
	uint64_t dead_until_ms;
	uint32_t last_latency_ms;
	uint64_t requests;
	uint64_t failures;
	char last_error[128];
};

/* Whether the server may be tried at now_ms; a dead server whose dead time has passed comes back
 * (and gets a fresh failure count). */
bool aaa_health_usable(struct aaa_health *h, uint64_t now_ms);
/* An answer came (accept, reject or an accounting ack). */
void aaa_health_success(struct aaa_health *h, uint32_t latency_ms);
/* No usable answer. Returns true when this failure marked the server dead. */
bool aaa_health_failure(struct aaa_health *h, uint64_t now_ms, int max_failed, uint64_t deadtime_ms,
                        const char *error);

/* Accounting retry delay after `attempts` failed rounds: base * 2^(attempts-1), capped. */
uint64_t aaa_backoff_ms(int attempts, uint64_t base_ms, uint64_t max_ms);

#endif
