#include "gateway/core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *const subsys_names[LOG_SUBSYS_COUNT] = {
        "core", "ike", "ipsec", "nat", "net", "aaa", "uauth", "api", "db",
};
static const char *const level_names[] = {"error", "warn", "info", "debug"};

static enum log_level levels[LOG_SUBSYS_COUNT] = {
        LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO,
        LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO,
};
static bool use_syslog;
static log_sink_fn sink;
static void *sink_arg;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

const char *
log_subsys_name(enum log_subsys subsys)
{
	if ((unsigned)subsys >= LOG_SUBSYS_COUNT)
		return "?";
	return subsys_names[subsys];
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_LVL_DEBUG)
		return "?";
	return level_names[level];
}

void
log_set_level(enum log_subsys subsys, enum log_level level)
{
	if ((unsigned)subsys < LOG_SUBSYS_COUNT)
		__atomic_store_n(&levels[subsys], level, __ATOMIC_RELAXED);
}

void
log_set_all_levels(enum log_level level)
{
	for (int i = 0; i < LOG_SUBSYS_COUNT; i++)
		log_set_level((enum log_subsys)i, level);
}

bool
log_enabled(enum log_subsys subsys, enum log_level level)
{
	if ((unsigned)subsys >= LOG_SUBSYS_COUNT)
		return false;
	return level <= __atomic_load_n(&levels[subsys], __ATOMIC_RELAXED);
}

static int
parse_level(const char *s, size_t n, enum log_level *out)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (strlen(level_names[i]) == n && strncmp(s, level_names[i], n) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
log_parse_spec(const char *spec, const char **bad, size_t *badlen)
{
	enum log_level parsed[LOG_SUBSYS_COUNT];
	const char *p = spec;

	memcpy(parsed, levels, sizeof(parsed));
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		enum log_level lvl;

		if (eq == NULL) {
			if (parse_level(p, n, &lvl) < 0)
				goto bad;
			for (int i = 0; i < LOG_SUBSYS_COUNT; i++)
				parsed[i] = lvl;
		} else {
			size_t sn = (size_t)(eq - p);
			int found = -1;

			for (int i = 0; i < LOG_SUBSYS_COUNT; i++)
				if (strlen(subsys_names[i]) == sn &&
				    strncmp(p, subsys_names[i], sn) == 0)
					found = i;
			if (found < 0 || parse_level(eq + 1, n - sn - 1, &lvl) < 0)
				goto bad;
			parsed[found] = lvl;
		}
		p += n;
		if (*p == ',')
			p++;
		continue;
	bad:
		if (bad != NULL)
			*bad = p;
		if (badlen != NULL)
			*badlen = n;
		return -EINVAL;
	}
	for (int i = 0; i < LOG_SUBSYS_COUNT; i++)
		log_set_level((enum log_subsys)i, parsed[i]);
	return 0;
}

void
log_use_syslog(bool on)
{
	pthread_mutex_lock(&log_lock);
	if (on && !use_syslog)
		openlog("portcullisd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && use_syslog)
		closelog();
	use_syslog = on;
	pthread_mutex_unlock(&log_lock);
}

void
log_set_sink(log_sink_fn fn, void *arg)
{
	pthread_mutex_lock(&log_lock);
	sink = fn;
	sink_arg = arg;
	pthread_mutex_unlock(&log_lock);
}

void
log_vmsg(enum log_subsys subsys, enum log_level level, const char *fmt, va_list ap)
{
	char msg[2048];
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

	if (!log_enabled(subsys, level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);

	pthread_mutex_lock(&log_lock);
	if (sink != NULL)
		sink(subsys, level, msg, sink_arg);
	if (use_syslog) {
		syslog(prio[level], "%s: %s", log_subsys_name(subsys), msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %-5s %-5s %s\n", when, ts.tv_nsec / 1000000,
		        log_level_name(level), log_subsys_name(subsys), msg);
	}
	pthread_mutex_unlock(&log_lock);
}

void
log_msg(enum log_subsys subsys, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(subsys, level, fmt, ap);
	va_end(ap);
}

void
log_hexdump(enum log_subsys subsys, const char *label, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	char line[16 * 3 + 1];

	if (!log_enabled(subsys, LOG_LVL_DEBUG))
		return;
	log_msg(subsys, LOG_LVL_DEBUG, "%s (%zu bytes)", label, len);
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;

		for (size_t i = 0; i < n; i++)
			snprintf(line + i * 3, 4, "%02x ", b[off + i]);
		line[n * 3 - 1] = '\0';
		log_msg(subsys, LOG_LVL_DEBUG, "  %04zx: %s", off, line);
	}
}
