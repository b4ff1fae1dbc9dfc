/* Logging: levels crossed with subsystems, to stderr or syslog. */
#ifndef PORTCULLIS_CORE_LOG_H
#define PORTCULLIS_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_subsys {
	LOG_CORE,
	LOG_IKE,
	LOG_IPSEC,
	LOG_NAT,
	LOG_NET,
	LOG_AAA,
	LOG_UAUTH,
	LOG_API,
	LOG_DB,
	LOG_SUBSYS_COUNT
};

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* A sink receives every message that passes the level filter (tests capture logs this way). */
typedef void (*log_sink_fn)(enum log_subsys, enum log_level, const char *msg, void *arg);

void log_set_level(enum log_subsys subsys, enum log_level level);
void log_set_all_levels(enum log_level level);
/* "info", "debug", or "info,ike=debug,aaa=warn". Returns 0 or -EINVAL with *bad naming the
 * offending word. */
int log_parse_spec(const char *spec, const char **bad, size_t *badlen);
bool log_enabled(enum log_subsys subsys, enum log_level level);
void log_use_syslog(bool on);
void log_set_sink(log_sink_fn fn, void *arg);
const char *log_subsys_name(enum log_subsys subsys);
const char *log_level_name(enum log_level level);

void log_msg(enum log_subsys subsys, enum log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_subsys subsys, enum log_level level, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));
/* Hex dump of packet bytes, only at debug level. Never pass keys or secrets. */
void log_hexdump(enum log_subsys subsys, const char *label, const void *buf, size_t len);

#define log_error(s, ...) log_msg((s), LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(s, ...)  log_msg((s), LOG_LVL_WARN, __VA_ARGS__)
#define log_info(s, ...)                                                                           \
	do {                                                                                       \
		if (log_enabled((s), LOG_LVL_INFO))                                                \
			log_msg((s), LOG_LVL_INFO, __VA_ARGS__);                                   \
	} while (0)
#define log_debug(s, ...)                                                                          \
	do {                                                                                       \
		if (log_enabled((s), LOG_LVL_DEBUG))                                               \
			log_msg((s), LOG_LVL_DEBUG, __VA_ARGS__);                                  \
	} while (0)

#endif
