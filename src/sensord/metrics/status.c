/* status: STATUS=, invalid-record reports and the exit summary. */
#include "sensord/metrics/status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "lib/base/util.h"
#include "lib/text/timestamp.h"
#include "sensord/kafka/reachability.h"

#define STATUS_INTERVAL_US (2 * 1000000ull)

void status_init(Status *st, const Pipeline *p, Output *o, Checkpoints *c) {
        *st = (Status){
                .notify = getenv("NOTIFY_SOCKET") != NULL,
                .invalid_limit = { .interval_us = 10 * 1000000ull, .burst = 10 },
                .late_limit = { .interval_us = 10 * 1000000ull, .burst = 10 },
                .cap_limit = { .interval_us = 10 * 1000000ull, .burst = 1 },
                .pipeline = p,
                .output = o,
                .checkpoints = c,
        };
}

void status_free(Status *st) {
        st->timer = sd_event_source_disable_unref(st->timer);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Status *st = userdata;
        output_check_stall(st->output);
        checkpoints_check_stall(st->checkpoints);
        status_notify(st);
        sd_event_source_set_time(s, usec + STATUS_INTERVAL_US);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int status_start(Status *st, sd_event *event, Consumer *c) {
        st->consumer = c;
        status_notify(st);
        if (!st->notify && !output_to_kafka(st->output) && !checkpoints_have_changelog(st->checkpoints))
                return 0;
        return sd_event_add_time_relative(event, &st->timer, CLOCK_MONOTONIC, STATUS_INTERVAL_US, 100000, on_timer,
                                          st);
}

void status_report_invalid(Status *st, const char *topic, const PipelineMessage *m, const char *reason) {
        uint64_t suppressed = 0;
        if (!ratelimit_allow(&st->invalid_limit, now_usec(CLOCK_MONOTONIC), &suppressed))
                return;
        if (suppressed)
                log_warning("%" PRIu64 " more invalid records were not reported", suppressed);
        log_warning("invalid record at %s/%" PRId32 "@%" PRId64 ": %s", topic, m->partition, m->offset, reason);
}

void status_report_late(Status *st, const char *topic, const PipelineMessage *m, const WindowLate *late) {
        uint64_t suppressed = 0;
        char wm[TIMESTAMP_MAX], oldest[TIMESTAMP_MAX];
        if (!ratelimit_allow(&st->late_limit, now_usec(CLOCK_MONOTONIC), &suppressed))
                return;
        if (suppressed)
                log_notice("%" PRIu64 " more late records were not reported", suppressed);
        timestamp_format(late->watermark_ms, wm);
        timestamp_format(late->starts[late->n - 1], oldest);
        log_notice("late record at %s/%" PRId32 "@%" PRId64 ": %zu of its windows (from %s) end at or before the "
                   "watermark %s",
                   topic, m->partition, m->offset, late->n, oldest, wm);
}

/* The late records/pairs of each partition with any: for STATUS=
 * " (partition 0: 3/5, 2: 1/2)", for the summary
 * " late_by_partition=0:3/5,2:1/2"; "" when none. */
static void format_late(const PipelineStats *ps, bool summary, char *buf, size_t size) {
        size_t n = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < ps->n_late && n < size; i++) {
                const PipelineLate *l = &ps->late[i];
                if (!l->records)
                        continue;
                if (summary)
                        n += (size_t)snprintf(buf + n, size - n, "%s%zu:%" PRIu64 "/%" PRIu64,
                                              n ? "," : " late_by_partition=", i, l->records, l->pairs);
                else
                        n += (size_t)snprintf(buf + n, size - n, "%s%zu: %" PRIu64 "/%" PRIu64,
                                              n ? ", " : " (partition ", i, l->records, l->pairs);
        }
        if (n && !summary && n + 2 <= size)
                strcat(buf, ")");
}

void status_check_limits(Status *st) {
        const WindowStats *ws = pipeline_window_stats(st->pipeline);
        uint64_t suppressed;
        if (ws->dropped_pairs == st->dropped_seen ||
            !ratelimit_allow(&st->cap_limit, now_usec(CLOCK_MONOTONIC), &suppressed))
                return;
        log_warning("the state holds %" PRIu64 " (window, sensor) keys, its state.max_keys limit: %" PRIu64
                    " new pairs dropped so far (raise state.max_keys, or shorten the windows or the watermark)",
                    ws->live_keys, ws->dropped_pairs);
        st->dropped_seen = ws->dropped_pairs;
}

/* ", changelog writes stalled 12 s (<broker>: <topic> [<p>]: <error>)", and
 * the same for results; "" when writes flow. */
static void format_stalls(Status *st, char *buf, size_t size) {
        char reason[400];
        size_t n = 0;
        uint64_t seconds = checkpoints_stall_seconds(st->checkpoints);
        int32_t first = -1;
        size_t lost = checkpoints_lost(st->checkpoints, &first);
        buf[0] = '\0';
        if (lost)
                n += (size_t)snprintf(buf, size, ", %zu partition(s) held, their state lost (from partition %" PRId32
                                      "; see the log)",
                                      lost, first);
        size_t waiting = checkpoints_waiting(st->checkpoints, &first);
        if (waiting && n < size)
                n += (size_t)snprintf(buf + n, size - n, ", %zu partition(s) held until the changelog has them (from "
                                      "partition %" PRId32 "; see the log)",
                                      waiting, first);
        if (seconds && n < size) {
                checkpoints_stall_reason(st->checkpoints, reason, sizeof(reason));
                n += (size_t)snprintf(buf + n, size - n, ", changelog writes stalled %" PRIu64 " s (%s)", seconds,
                                      reason[0] ? reason : "no reason given");
        }
        if ((seconds = output_stall_seconds(st->output)) && n < size) {
                output_stall_reason(st->output, reason, sizeof(reason));
                snprintf(buf + n, size - n, ", result writes stalled %" PRIu64 " s (%s)", seconds,
                         reason[0] ? reason : "no reason given");
        }
}

void status_notify(Status *st) {
        if (!st->notify)
                return;
        const Pipeline *p = st->pipeline;
        int64_t lag = st->consumer ? consumer_lag(st->consumer) : -1;
        const PipelineStats *ps = pipeline_stats(p);
        const WindowStats *ws = pipeline_window_stats(p);
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        double rate = st->last_us && now > st->last_us
                              ? (double)(ps->messages - st->last_messages) * 1e6 / (double)(now - st->last_us)
                              : 0.0;
        char wm[TIMESTAMP_MAX] = "unset", lag_text[48] = "", cap_text[64] = "", kafka_text[240] = "",
             journal_text[48] = "", restore_text[96] = "", late_text[256] = "", stall_text[1024] = "";
        size_t restoring = 0;
        uint64_t read = 0, to_read = 0;
        checkpoints_restoring(st->checkpoints, &restoring, &read, &to_read);
        if (restoring)
                snprintf(restore_text, sizeof(restore_text),
                         ", restoring %zu partition(s): %" PRIu64 " of %" PRIu64 " changelog messages read", restoring, read,
                         to_read);
        OutputStats os = output_stats(st->output);
        if (os.journal_rows)
                snprintf(journal_text, sizeof(journal_text), ", %" PRIu64 " rows to the journal", os.journal_rows);
        if (output_to_kafka(st->output))
                snprintf(kafka_text, sizeof(kafka_text),
                         ", %" PRIu64 " rows, %" PRIu64 " dead letters and %" PRIu64 " late records produced, %" PRIu64
                         " producer errors",
                         os.kafka.rows, os.kafka.dead_letters, os.kafka.late_records, os.kafka.errors);
        if (st->txn) {
                size_t used = strlen(kafka_text);
                snprintf(kafka_text + used, sizeof(kafka_text) - used,
                         ", %" PRIu64 " transactions committed and %" PRIu64 " aborted",
                         txn_producer_stats(st->txn)->committed, txn_producer_stats(st->txn)->aborted);
        }
        format_stalls(st, stall_text, sizeof(stall_text));
        format_late(ps, false, late_text, sizeof(late_text));
        if (ws->dropped_pairs)
                snprintf(cap_text, sizeof(cap_text), ", %" PRIu64 " pairs dropped at state.max_keys",
                         ws->dropped_pairs);
        if (ws->has_watermark)
                timestamp_format(ws->watermark_ms, wm);
        if (st->consumer && kafka_is_unreachable())
                snprintf(lag_text, sizeof(lag_text), ", brokers unreachable");
        else if (lag >= 0)
                snprintf(lag_text, sizeof(lag_text), ", lag %" PRId64, lag);
        sd_notifyf(0,
                   "STATUS=%" PRIu64 " records (%.0f/s), %" PRIu64 " batches, %" PRIu64 " late records/%" PRIu64
                   " pairs%s, %" PRIu64 " invalid, %" PRIu64 " keys%s, watermark %s%s%s%s%s%s%s",
                   ps->messages, rate, pipeline_batch_number(p), ps->late_records, ws->late_pairs, late_text, ps->invalid,
                   ws->live_keys, cap_text, pipeline_scope(p) == WATERMARK_PARTITION ? "(lowest partition's) " : "", wm,
                   journal_text, lag_text, kafka_text, restore_text, stall_text);
        st->last_messages = ps->messages;
        st->last_us = now;
}

void status_log_summary(const Status *st) {
        const Pipeline *p = st->pipeline;
        const PipelineStats *ps = pipeline_stats(p);
        const WindowStats *ws = pipeline_window_stats(p);
        char classes[512] = "", late[512] = "";
        size_t n = 0;
        for (int i = 1; i < _RECORD_ERROR_MAX; i++)
                if (ps->invalid_by_class[i] && n < sizeof(classes))
                        n += (size_t)snprintf(classes + n, sizeof(classes) - n, " invalid_%s=%" PRIu64,
                                              record_error_name((RecordError)i), ps->invalid_by_class[i]);
        format_late(ps, true, late, sizeof(late));
        OutputStats os = output_stats(st->output);
        uint64_t busy_ms = ps->messages ? (now_usec(CLOCK_MONOTONIC) - ps->first_message_us) / 1000 : 0;
        log_info("summary: messages=%" PRIu64 " bytes=%" PRIu64 " invalid=%" PRIu64 " late_pairs=%" PRIu64
                 " late_records=%" PRIu64 " dropped_pairs=%" PRIu64 " batches=%" PRIu64 " rows=%" PRIu64
                 " produced_rows=%" PRIu64 " dead_lettered=%" PRIu64 " late_produced=%" PRIu64
                 " producer_errors=%" PRIu64 " copies_truncated=%" PRIu64 " copies_skipped=%" PRIu64
                 " journal_rows=%" PRIu64
                 " ms_since_first_message=%" PRIu64
                 " latency_ms_p50=%" PRIu64 " latency_ms_p99=%" PRIu64 " latency_ms_max=%" PRIu64
                 " own_us_p50=%" PRIu64 " own_us_p99=%" PRIu64 " own_us_max=%" PRIu64 "%s%s",
                 ps->messages, ps->bytes, ps->invalid, ws->late_pairs, ps->late_records, ws->dropped_pairs,
                 pipeline_batch_number(p), os.rows, os.kafka.rows, os.kafka.dead_letters, os.kafka.late_records,
                 os.kafka.errors, os.kafka.copies_truncated, os.kafka.copies_skipped, os.journal_rows, busy_ms, latency_percentile(&ps->latency, 0.5),
                 latency_percentile(&ps->latency, 0.99), ps->latency.max,
                 latency_percentile(&ps->own_latency_us, 0.5), latency_percentile(&ps->own_latency_us, 0.99),
                 ps->own_latency_us.max, classes, late);
}
