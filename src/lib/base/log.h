/* log: operational messages (not results) to stderr. Under systemd, stderr
 * is a journal stream and each line carries a "<N>" priority prefix. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* ident prefixes lines on a terminal; max_priority is LOG_INFO by default. */
void log_setup(const char *ident, int max_priority);
void log_set_max_priority(int max_priority);

/* Parses "debug", "info", "notice", "warning", "err"/"error"; -1 if unknown. */
int log_level_from_string(const char *s);

__attribute__((format(printf, 2, 3))) void log_msg(int priority, const char *fmt, ...);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)

/* At most `burst` events per `interval_us`; the rest are counted. */
typedef struct RateLimit {
        uint64_t interval_us;
        unsigned burst;
        uint64_t window_begin_us;
        unsigned in_window;
        uint64_t suppressed; /* since the last allowed event */
} RateLimit;

/* True when the event may be logged. *suppressed_before receives how many
 * events were swallowed since the last allowed one (to say so once). */
bool ratelimit_allow(RateLimit *rl, uint64_t now_us, uint64_t *suppressed_before);
