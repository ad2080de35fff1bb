/* metrics: the metric families, from the modules' counters. */
#include "sensord/metrics/metrics.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/base/util.h"
#include "sensord-build.h"

static void counter(MetricsText *t, const char *name, const char *help, uint64_t value) {
        metrics_family(t, name, "counter", help);
        metrics_sample_u64(t, name, NULL, value);
}

static void gauge(MetricsText *t, const char *name, const char *help, double value) {
        metrics_family(t, name, "gauge", help);
        metrics_sample(t, name, NULL, value);
}

static MetricsLabels partition_label(char buf[16], int32_t partition) {
        snprintf(buf, 16, "%" PRId32, partition);
        return (MetricsLabels){ .name = { "partition" }, .value = { buf } };
}

static void late_counters(MetricsText *t, const PipelineStats *ps) {
        char id[16];
        metrics_family(t, "sensord_late_records_total", "counter",
                       "Valid records with at least one (record, window) pair dropped as late, by partition.");
        for (size_t i = 0; i < ps->n_late; i++) {
                MetricsLabels l = partition_label(id, (int32_t)i);
                if (ps->late[i].records)
                        metrics_sample_u64(t, "sensord_late_records_total", &l, ps->late[i].records);
        }
        metrics_family(t, "sensord_late_pairs_total", "counter",
                       "(record, window) pairs dropped because the window had ended at or before the watermark, "
                       "by partition.");
        for (size_t i = 0; i < ps->n_late; i++) {
                MetricsLabels l = partition_label(id, (int32_t)i);
                if (ps->late[i].records)
                        metrics_sample_u64(t, "sensord_late_pairs_total", &l, ps->late[i].pairs);
        }
}

static void invalid_counters(MetricsText *t, const PipelineStats *ps) {
        metrics_family(t, "sensord_invalid_records_total", "counter",
                       "Invalid records (counted, reported, dead-lettered when configured), by reason.");
        for (int i = 1; i < _RECORD_ERROR_MAX; i++) {
                MetricsLabels l = { .name = { "reason" }, .value = { record_error_name((RecordError)i) } };
                metrics_sample_u64(t, "sensord_invalid_records_total", &l, ps->invalid_by_class[i]);
        }
}

/* 0 while writes are acknowledged: a stall counts once it lasts 5 s. */
static void write_stall_gauge(MetricsText *t, const MetricsSources *s) {
        static const char *const writers[] = { "changelog", "results" };
        const uint64_t seconds[] = { checkpoints_stall_seconds(s->checkpoints), output_stall_seconds(s->output) };
        metrics_family(t, "sensord_write_stall_seconds", "gauge",
                       "How long no write to Kafka has been acknowledged while some wait (0: none stalls), by writer.");
        for (size_t i = 0; i < ARRAY_SIZE(writers); i++) {
                MetricsLabels l = { .name = { "writer" }, .value = { writers[i] } };
                metrics_sample(t, "sensord_write_stall_seconds", &l, (double)seconds[i]);
        }
}

static void event_counter(MetricsText *t, const char *name, const char *help, const char *label,
                          const char *const *events, const uint64_t *values, size_t n) {
        metrics_family(t, name, "counter", help);
        for (size_t i = 0; i < n; i++) {
                MetricsLabels l = { .name = { label }, .value = { events[i] } };
                metrics_sample_u64(t, name, &l, values[i]);
        }
}

/* The partitions held: count, restoring, state bytes, and the watermark
 * of each in partition scope. */
static void partition_gauges(MetricsText *t, const Pipeline *p) {
        size_t n, held = 0, restoring = 0;
        const Partition *parts = pipeline_partitions(p, &n);
        uint64_t bytes = 0;
        char id[16];
        for (size_t i = 0; i < n; i++)
                if (parts[i].held) {
                        held++;
                        restoring += parts[i].restoring;
                        bytes += parts[i].state ? window_state_bytes(parts[i].state) : 0;
                }
        gauge(t, "sensord_partitions_held", "Partitions of the input topic assigned to this process.", (double)held);
        gauge(t, "sensord_partitions_restoring",
              "Held partitions whose state is still being read from state.changelog_topic.", (double)restoring);
        gauge(t, "sensord_state_bytes", "Bytes of the window state in memory (tables, entries, sensor ids).",
              (double)bytes);
        metrics_family(t, "sensord_watermark_seconds", "gauge",
                       "The watermark, in seconds since the epoch: the process's, or in partition scope each "
                       "partition's (absent while unset).");
        if (pipeline_scope(p) == WATERMARK_PROCESS) {
                const WindowStats *ws = pipeline_window_stats(p);
                if (ws->has_watermark)
                        metrics_sample(t, "sensord_watermark_seconds", NULL, (double)ws->watermark_ms / 1000.0);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                if (!parts[i].held || !parts[i].state)
                        continue;
                WindowClock clock = window_state_clock(parts[i].state);
                MetricsLabels l = partition_label(id, parts[i].id);
                if (clock.has_watermark)
                        metrics_sample(t, "sensord_watermark_seconds", &l, (double)clock.watermark_ms / 1000.0);
        }
}

/* One gauge per partition fetched, from librdkafka's statistics: the lag,
 * or else the committed offset; a value below 0 (unknown) has no sample. */
static void partition_stat_gauge(MetricsText *t, const char *name, const char *help, const char *topic,
                                 const KafkaPartitionStats *stats, size_t n, bool lag) {
        char id[16];
        metrics_family(t, name, "gauge", help);
        for (size_t i = 0; i < n; i++) {
                int64_t value = lag ? stats[i].consumer_lag : stats[i].committed_offset;
                snprintf(id, sizeof(id), "%" PRId32, stats[i].partition);
                MetricsLabels l = { .name = { "topic", "partition" }, .value = { topic, id } };
                if (value >= 0)
                        metrics_sample_u64(t, name, &l, (uint64_t)value);
        }
}

static void consumer_gauges(MetricsText *t, const char *topic, const Consumer *c) {
        size_t n = 0;
        const KafkaPartitionStats *stats = c ? consumer_partition_stats(c, &n) : NULL;
        partition_stat_gauge(t, "sensord_consumer_lag",
                             "Messages in the partition after the group's committed offset (librdkafka's consumer_lag "
                             "statistic).",
                             topic, stats, n, true);
        partition_stat_gauge(t, "sensord_committed_offset",
                             "The group's committed offset of the partition, from librdkafka's statistics.", topic,
                             stats, n, false);
}

/* Prometheus buckets over the latency histogram's finer ones. */
static void latency_histogram(MetricsText *t, const Latency *latency) {
        static const double bounds[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
        uint64_t counts[ARRAY_SIZE(bounds) + 1], below = 0;
        for (size_t i = 0; i < ARRAY_SIZE(bounds); i++) {
                uint64_t at_most = latency_count_at_most(latency, (uint64_t)(bounds[i] * 1000 + 0.5));
                counts[i] = at_most - below;
                below = at_most;
        }
        counts[ARRAY_SIZE(bounds)] = latency->count - below;
        metrics_family(t, "sensord_produce_to_emit_latency_seconds", "histogram",
                       "From each message's Kafka timestamp to the moment its batch's rows were written.");
        metrics_histogram(t, "sensord_produce_to_emit_latency_seconds", NULL, bounds, counts, ARRAY_SIZE(bounds),
                          (double)latency->sum / 1000.0);
}

static void histogram(MetricsText *t, const char *name, const char *help, const MetricsHistogram *h) {
        metrics_family(t, name, "histogram", help);
        metrics_histogram(t, name, NULL, h->bounds, h->counts, h->n, h->sum);
}

void metrics_render(MetricsText *t, const MetricsSources *s) {
        const PipelineStats *ps = pipeline_stats(s->pipeline);
        const WindowStats *ws = pipeline_window_stats(s->pipeline);
        OutputStats os = output_stats(s->output);
        const CheckpointsStats *cs = checkpoints_stats(s->checkpoints);
        ConsumerRebalances rb = s->consumer ? consumer_rebalances(s->consumer) : (ConsumerRebalances){ 0 };
        static const char *const rebalance_events[] = { "assigned", "revoked", "lost" };
        static const char *const reload_results[] = { "applied", "refused" };
        const uint64_t rebalances[] = { rb.assigned, rb.revoked, rb.lost },
                       reloads[] = { s->reloads->applied, s->reloads->refused };

        metrics_text_reset(t);
        counter(t, "sensord_messages_total", "Messages read from the input topic (the summary's messages=).",
                ps->messages);
        counter(t, "sensord_message_bytes_total", "Bytes of message values read.", ps->bytes);
        counter(t, "sensord_batches_total", "Micro-batches closed by this process.", ps->batches);
        counter(t, "sensord_rows_total", "Result rows written to stdout or the journal.", os.rows);
        counter(t, "sensord_produced_rows_total", "Result rows delivered to output.kafka_topic.", os.kafka.rows);
        counter(t, "sensord_dead_letters_total", "Invalid records delivered to dead_letter.topic.",
                os.kafka.dead_letters);
        counter(t, "sensord_late_produced_total", "Records with late pairs delivered to late_data.topic.",
                os.kafka.late_records);
        late_counters(t, ps);
        invalid_counters(t, ps);
        counter(t, "sensord_dropped_pairs_total", "(record, window) pairs dropped because state.max_keys was reached.",
                ws->dropped_pairs);
        counter(t, "sensord_producer_errors_total", "Messages the Kafka producer could not deliver.", os.kafka.errors);
        counter(t, "sensord_record_copies_truncated_total",
                "Dead letters and late records whose value was cut to fit their topic's message size.",
                os.kafka.copies_truncated);
        counter(t, "sensord_record_copies_skipped_total",
                "Dead letters and late records the brokers refused for their size, and skipped.",
                os.kafka.copies_skipped);
        counter(t, "sensord_checkpoints_total", "Partition checkpoints written.", cs->saves);
        event_counter(t, "sensord_rebalances_total", "Consumer group rebalance events, by kind.", "event",
                      rebalance_events, rebalances, ARRAY_SIZE(rebalances));
        event_counter(t, "sensord_reloads_total", "Configuration reloads (SIGHUP), by result.", "result", reload_results,
                      reloads, ARRAY_SIZE(reloads));

        if (s->txn) {
                const TxnProducerStats *ts = txn_producer_stats(s->txn);
                static const char *const outcomes[] = { "committed", "aborted" };
                const uint64_t ended[] = { ts->committed, ts->aborted };
                event_counter(t, "sensord_transactions_total",
                              "Transactions ended (output.guarantee = \"exactly_once\"), by outcome.", "outcome",
                              outcomes, ended, ARRAY_SIZE(ended));
                histogram(t, "sensord_transaction_commit_seconds",
                          "From a transaction's first commit call (its checkpoint delivered) to its commit.",
                          &ts->commit_seconds);
        }
        gauge(t, "sensord_live_keys", "(window, sensor) entries in the window state.", (double)ws->live_keys);
        write_stall_gauge(t, s);
        gauge(t, "sensord_partitions_lost",
              "Partitions held unread because the changelog no longer has their state (see state.lost_state).",
              (double)checkpoints_lost(s->checkpoints, NULL));
        gauge(t, "sensord_partitions_waiting_changelog",
              "Partitions held unread because the changelog topic has no partition for them yet (added to the input).",
              (double)checkpoints_waiting(s->checkpoints, NULL));
        partition_gauges(t, s->pipeline);
        consumer_gauges(t, s->topic, s->consumer);
        gauge(t, "sensord_last_batch_timestamp_seconds",
              "When the last batch's rows were written, in seconds since the epoch (0: none yet).",
              (double)ps->last_batch_ms / 1000.0);

        latency_histogram(t, &ps->latency);
        histogram(t, "sensord_batch_duration_seconds", "Time to compute and write one batch's rows.",
                  output_batch_seconds(s->output));
        histogram(t, "sensord_checkpoint_duration_seconds", "Time to write and fsync one partition's checkpoint.",
                  &cs->seconds);
        histogram(t, "sensord_checkpoint_bytes", "Bytes of one partition's checkpoint record or snapshot.", &cs->bytes);

        metrics_family(t, "sensord_build_info", "gauge", "Always 1, labelled with the version of sensord.");
        MetricsLabels version = { .name = { "version" }, .value = { SENSORD_VERSION } };
        metrics_sample(t, "sensord_build_info", &version, 1);
        gauge(t, "process_start_time_seconds", "Start time of the process since the epoch, in seconds.",
              s->start_time_seconds);
}
