/* log: stderr lines, "<N>"-prefixed when stderr is the journal. */
#include "lib/base/log.h"
#include "lib/base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *log_ident = "sensord";
static int log_max = LOG_INFO;
static bool log_to_journal;

void log_setup(const char *ident, int max_priority) {
        log_ident = ident;
        log_max = max_priority;
        log_to_journal = fd_is_journal_stream(STDERR_FILENO);
}

void log_set_max_priority(int max_priority) {
        log_max = max_priority;
}

int log_level_from_string(const char *s) {
        static const struct {
                const char *name;
                int level;
        } levels[] = { { "debug", LOG_DEBUG },     { "info", LOG_INFO }, { "notice", LOG_NOTICE },
                       { "warning", LOG_WARNING }, { "err", LOG_ERR },   { "error", LOG_ERR } };
        for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
                if (strcasecmp(s, levels[i].name) == 0)
                        return levels[i].level;
        return -1;
}

void log_msg(int priority, const char *fmt, ...) {
        char line[2048];
        va_list ap;

        if (priority > log_max)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        /* One fprintf per line so that lines from librdkafka's threads do not interleave. */
        if (log_to_journal)
                fprintf(stderr, "<%d>%s\n", priority, line);
        else
                fprintf(stderr, "%s: %s\n", log_ident, line);
}

bool ratelimit_allow(RateLimit *rl, uint64_t now_us, uint64_t *suppressed_before) {
        if (rl->window_begin_us == 0 || now_us - rl->window_begin_us >= rl->interval_us) {
                rl->window_begin_us = now_us;
                rl->in_window = 0;
        }
        if (rl->in_window >= rl->burst) {
                rl->suppressed++;
                return false;
        }
        rl->in_window++;
        *suppressed_before = rl->suppressed;
        rl->suppressed = 0;
        return true;
}
