/* output: the emitter and the Kafka sink behind the pipeline's two-phase
 * batch close. */
#include "sensord/output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"

struct Output {
        Emitter *emitter; /* NULL: output.sink "none" */
        KafkaSink *kafka; /* NULL: no Kafka topic */
        char *kafka_topic;
        uint64_t batch; /* the batch being written */
        uint64_t rows_before; /* rows of emitters replaced by a reload */
        uint64_t journal_rows_before; /* of those, the journal's */
        uint64_t batch_start_us;
        MetricsHistogram batch_seconds;
};

static const double batch_seconds_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                               0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10 };

static Emitter *make_emitter(SinkKind sink, OutputFormat format) {
        return sink == SINK_NONE ? NULL : emitter_new(sink, format, stdout);
}

static bool to_journal(const Output *o) {
        return o->emitter && emitter_sink(o->emitter) == SINK_JOURNAL;
}

/* One batch writing more rows than journald takes in about a second: the
 * upper bound of rows per batch is a row per (message, window it falls
 * in), and complete mode writes every live key every batch. */
#define JOURNAL_ROWS_PER_BATCH_WARN 20000

/* The journal is for reading results, not for volume: say so when the
 * settings make large bursts likely (journald keeps them all, but slowly,
 * and rotates old entries away). */
static void check_journal_volume(const Output *o, const Config *config) {
        if (!to_journal(o))
                return;
        uint64_t windows_per_record = window_spec_windows_per_record(&config->window);
        uint64_t rows = config->batch.max_messages * windows_per_record;
        if (config->mode == OUTPUT_COMPLETE)
                log_warning("output.mode=complete writes every live key to the journal after every batch; for more "
                            "than a few thousand keys, set output.kafka_topic (and output.sink=\"none\") instead");
        else if (rows > JOURNAL_ROWS_PER_BATCH_WARN)
                log_warning("batch.max_messages=%" PRIu64 " with %" PRIu64 " windows per record: a batch may write "
                            "up to %" PRIu64 " rows to the journal at once; journald keeps about 20,000 a second and "
                            "rotates old entries away (SystemMaxUse=): for volume, set output.kafka_topic",
                            config->batch.max_messages, windows_per_record, rows);
}

int output_new(Output **out, const Config *config, sd_event *event, const KafkaSinkEvents *events,
               TxnProducer *txn) {
        Output *o = xcalloc(1, sizeof(*o));
        int r = kafka_sink_new(&o->kafka, config, event, events, txn);
        if (r < 0) {
                free(o);
                return r;
        }
        o->emitter = make_emitter(config->sink, config->format);
        if (to_journal(o) && config->format == FORMAT_TABLE)
                log_notice("output.format=table applies to stdout only; the journal gets one entry per row");
        check_journal_volume(o, config);
        o->kafka_topic = xstrdup(config->output_topic ? config->output_topic : "");
        metrics_histogram_init(&o->batch_seconds, batch_seconds_bounds, ARRAY_SIZE(batch_seconds_bounds));
        *out = o;
        return 0;
}

Output *output_free(Output *o) {
        if (o) {
                emitter_free(o->emitter);
                kafka_sink_free(o->kafka);
                free(o->kafka_topic);
                free(o);
        }
        return NULL;
}

/* sd_journal_send() reports success when the journal's socket does not
 * exist (no journald), so rows would vanish without a word: refuse to start. */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

int output_start(Output *o) {
        if (to_journal(o) && access(JOURNAL_SOCKET, F_OK) < 0) {
                log_error("results cannot go to the journal: %s: %s (is systemd-journald running?)", JOURNAL_SOCKET,
                          strerror(errno));
                return -ENOENT;
        }
        return o->kafka ? kafka_sink_start(o->kafka) : 0;
}

void output_reconfigure(Output *o, const Config *config) {
        if (o->emitter) {
                o->rows_before += emitter_rows(o->emitter);
                if (to_journal(o))
                        o->journal_rows_before += emitter_rows(o->emitter);
        }
        emitter_free(o->emitter);
        o->emitter = make_emitter(config->sink, config->format);
        check_journal_volume(o, config);
}

static void begin(void *userdata, uint64_t batch) {
        Output *o = userdata;
        o->batch = batch;
        o->batch_start_us = now_usec(CLOCK_MONOTONIC);
        if (o->emitter)
                emitter_begin_batch(o->emitter, batch);
}

static int row(const WindowRow *r, void *userdata) {
        Output *o = userdata;
        int result = 0;
        if (o->emitter)
                result = emitter_row(r, o->emitter);
        if (kafka_sink_has_results(o->kafka))
                keep_first_error(&result, kafka_sink_row(o->kafka, o->batch, r));
        return result;
}

/* Written and flushed is confirmed for stdout and the journal: nothing
 * further acknowledges them. Kafka confirms at the delivery reports. */
static int end(void *userdata, uint64_t batch) {
        Output *o = userdata;
        int result = o->emitter ? emitter_end_batch(o->emitter) : 0;
        if (result < 0 && to_journal(o))
                log_error("the journal refused result rows of batch %" PRIu64 " (sd_journal_send: %s)", batch,
                          strerror(-result));
        if (result >= 0 && o->kafka)
                result = kafka_sink_end_batch(o->kafka, batch);
        if (result >= 0)
                metrics_histogram_add(&o->batch_seconds, (double)(now_usec(CLOCK_MONOTONIC) - o->batch_start_us) / 1e6);
        return result;
}

static bool congested(void *userdata) {
        Output *o = userdata;
        return o->kafka && kafka_sink_congested(o->kafka);
}

static void flush(void *userdata, int timeout_ms) {
        output_wait(userdata, timeout_ms);
}

PipelineOutput output_for_pipeline(Output *o) {
        return (PipelineOutput){ .userdata = o, .begin_batch = begin, .row = row, .end_batch = end,
                                 .congested = congested, .flush = flush };
}

int output_dead_letter(Output *o, uint64_t batch, const char *topic, const PipelineMessage *m, RecordError error,
                       const char *reason) {
        if (!o->kafka)
                return 0;
        DeadLetter dl = { .topic = topic, .message = m, .reason_class = record_error_name(error), .reason = reason };
        return kafka_sink_dead_letter(o->kafka, batch, &dl);
}

int output_late_record(Output *o, uint64_t batch, const char *topic, const PipelineMessage *m, const WindowLate *late) {
        if (!o->kafka)
                return 0;
        LateRecord lr = { .topic = topic, .message = m, .late = late };
        return kafka_sink_late_record(o->kafka, batch, &lr);
}

bool output_wait(Output *o, int timeout_ms) {
        if (!o->kafka || kafka_sink_wait(o->kafka, timeout_ms))
                return true;
        log_warning("deliveries to Kafka did not complete within %d ms: their batches stay unconfirmed, and are "
                    "read and produced again after a restart",
                    timeout_ms);
        return false;
}

OutputStats output_stats(const Output *o) {
        OutputStats s = { .rows = o->rows_before + (o->emitter ? emitter_rows(o->emitter) : 0),
                          .journal_rows = o->journal_rows_before + (to_journal(o) ? emitter_rows(o->emitter) : 0) };
        if (o->kafka)
                s.kafka = *kafka_sink_stats(o->kafka);
        return s;
}

bool output_to_kafka(const Output *o) {
        return o->kafka != NULL;
}

void output_describe(const Output *o, char *buf, size_t size) {
        const char *local = !o->emitter ? NULL : to_journal(o) ? "the journal" : "stdout";
        if (kafka_sink_has_results(o->kafka))
                snprintf(buf, size, "%s%sKafka topic %s", local ? local : "", local ? " and " : "", o->kafka_topic);
        else
                snprintf(buf, size, "%s", local ? local : "nowhere");
}

const MetricsHistogram *output_batch_seconds(const Output *o) {
        return &o->batch_seconds;
}

void output_check_stall(Output *o) {
        if (o->kafka)
                kafka_sink_check_stall(o->kafka);
}

uint64_t output_stall_seconds(const Output *o) {
        return o->kafka ? kafka_sink_stall_seconds(o->kafka) : 0;
}

void output_stall_reason(Output *o, char *buf, size_t size) {
        buf[0] = '\0';
        if (o->kafka)
                kafka_sink_stall_reason(o->kafka, buf, size);
}
