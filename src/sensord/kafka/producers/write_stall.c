/* write_stall: acknowledgements awaited, and librdkafka's reason why not. */
#include "sensord/kafka/producers/write_stall.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/log.h"

void write_stall_init(WriteStall *w, const char *what) {
        *w = (WriteStall){ .what = what };
        pthread_mutex_init(&w->lock, NULL);
}

void write_stall_free(WriteStall *w) {
        pthread_mutex_destroy(&w->lock);
}

void write_stall_debug_property(const char *value, char *out, size_t size) {
        if (!value || !*value)
                snprintf(out, size, "msg");
        else if (strstr(value, "msg") || strstr(value, "all"))
                snprintf(out, size, "%s", value);
        else
                snprintf(out, size, "%s,msg", value);
}

void write_stall_note_log(WriteStall *w, const char *facility, const char *message) {
        /* librdkafka 2.0: "<broker>: <topic> [<partition>]: MessageSet with
         * N message(s) (MsgId .., BaseSeq ..) encountered error: <error>
         * (actions ...)" */
        const char *error = strcmp(facility, "MSGSET") == 0 ? strstr(message, "encountered error: ") : NULL;
        if (!error)
                return;
        const char *where = strchr(message, ']');
        where = where ? strstr(where, "]: ") : NULL;
        const char *end = strstr(where ? where + 3 : message, ": MessageSet");
        const char *start = where ? where + 3 : message;
        error += strlen("encountered error: ");
        size_t error_len = strcspn(error, "(");
        while (error_len > 0 && error[error_len - 1] == ' ')
                error_len--;
        pthread_mutex_lock(&w->lock);
        if (end && end > start)
                snprintf(w->reason, sizeof(w->reason), "%.*s: %.*s", (int)(end - start), start, (int)error_len, error);
        else
                snprintf(w->reason, sizeof(w->reason), "%.*s", (int)error_len, error);
        pthread_mutex_unlock(&w->lock);
}

void write_stall_produced(WriteStall *w, uint64_t now_us) {
        if (w->outstanding++ == 0)
                w->progress_us = now_us;
}

void write_stall_delivered(WriteStall *w, bool ok, uint64_t now_us) {
        if (w->outstanding > 0)
                w->outstanding--;
        if (ok)
                w->progress_us = now_us;
}

uint64_t write_stall_age_us(const WriteStall *w, uint64_t now_us) {
        return w->outstanding > 0 && now_us > w->progress_us ? now_us - w->progress_us : 0;
}

bool write_stall_stalled(const WriteStall *w, uint64_t now_us) {
        return write_stall_age_us(w, now_us) >= WRITE_STALL_AFTER_US;
}

uint64_t write_stall_seconds(const WriteStall *w, uint64_t now_us) {
        return write_stall_stalled(w, now_us) ? write_stall_age_us(w, now_us) / 1000000 : 0;
}

void write_stall_reason(WriteStall *w, char *buf, size_t size) {
        pthread_mutex_lock(&w->lock);
        snprintf(buf, size, "%s", w->reason);
        pthread_mutex_unlock(&w->lock);
}

bool write_stall_check(WriteStall *w, uint64_t now_us) {
        bool stalled = write_stall_stalled(w, now_us);
        char reason[sizeof(w->reason)];
        if (stalled && !w->told_us) {
                write_stall_reason(w, reason, sizeof(reason));
                log_warning("%s: no write acknowledged for %" PRIu64 " s, %" PRIu64 " waiting (%s); sensord reads no "
                            "more records until it is, keeps its state, and waits however long it takes",
                            w->what, write_stall_age_us(w, now_us) / 1000000, w->outstanding,
                            reason[0] ? reason : "the brokers give no reason: check the topic's leaders");
                w->told_us = now_us;
                w->began_us = w->progress_us;
        } else if (!stalled && w->told_us) {
                log_notice("%s: writes are acknowledged again, after %" PRIu64 " s", w->what,
                           (now_us - w->began_us) / 1000000);
                w->told_us = 0;
                pthread_mutex_lock(&w->lock);
                w->reason[0] = '\0';
                pthread_mutex_unlock(&w->lock);
        }
        return stalled;
}
