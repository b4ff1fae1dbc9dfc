#include "gateway/aaa/aaa_health.h"

#include <stdio.h>

bool
aaa_health_usable(struct aaa_health *h, uint64_t now_ms)
{
	if (!h->dead)
		return true;
	if (now_ms < h->dead_until_ms)
		return false;
	h->dead = false;
	h->consecutive_failures = 0;
	return true;
}

void
aaa_health_success(struct aaa_health *h, uint32_t latency_ms)
{
	h->requests++;
	h->consecutive_failures = 0;
	h->dead = false;
	h->last_latency_ms = latency_ms;
}

bool
aaa_health_failure(struct aaa_health *h, uint64_t now_ms, int max_failed, uint64_t deadtime_ms,
                   const char *error)
{
	h->requests++;
	h->failures++;
	h->consecutive_failures++;
	snprintf(h->last_error, sizeof(h->last_error), "%s", error != NULL ? error : "");
	if (h->dead || h->consecutive_failures < (max_failed > 0 ? max_failed : 1))
		return false;
	h->dead = true;
	h->dead_until_ms = now_ms + deadtime_ms;
	return true;
}

uint64_t
aaa_backoff_ms(int attempts, uint64_t base_ms, uint64_t max_ms)
{
	uint64_t d = base_ms;

	for (int i = 1; i < attempts && d < max_ms; i++)
		d *= 2;
	return d < max_ms ? d : max_ms;
}
