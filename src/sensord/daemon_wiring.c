/* daemon_wiring: how the daemon's parts hear each other. Each part reports what
 * happens through a table of callbacks; here each event becomes calls on
 * the parts it concerns (the pipeline, the consumer, the output, the
 * status), or a stop. */
#include "sensord/daemon_internal.h"

#include <inttypes.h>
#include <string.h>
#include <sysexits.h>

#include "lib/base/log.h"
#include "lib/base/util.h"

/* --- the pipeline's hooks --- */

static void store_offsets(void *userdata, const PartitionOffset *offsets, size_t n) {
        Daemon *d = userdata;
        /* with a changelog, checkpoints.c commits each checkpoint's offsets
         * itself, once its changelog messages are delivered */
        if (!checkpoints_have_changelog(d->checkpoints))
                consumer_store_offsets(d->consumer, offsets, n);
}

static int64_t wall_clock_ms(void *userdata) {
        return (int64_t)(now_usec(CLOCK_REALTIME) / 1000);
}

static uint64_t monotonic_us(void *userdata) {
        return now_usec(CLOCK_MONOTONIC);
}

static int report_invalid(void *userdata, uint64_t batch, const PipelineMessage *m, RecordError error,
                          const char *reason) {
        Daemon *d = userdata;
        status_report_invalid(&d->status, d->config->topic, m, reason);
        return output_dead_letter(d->output, batch, d->config->topic, m, error, reason);
}

static int report_late(void *userdata, uint64_t batch, const PipelineMessage *m, const WindowLate *late) {
        Daemon *d = userdata;
        status_report_late(&d->status, d->config->topic, m, late);
        return output_late_record(d->output, batch, d->config->topic, m, late);
}

/* --- the changelog's events --- */

static void on_restored(void *userdata, int32_t partition, const CheckpointMark *mark, int64_t committed) {
        Daemon *d = userdata;
        int64_t offset = pipeline_restored(d->pipeline, partition, mark);
        if (d->consumer)
                consumer_restored(d->consumer, partition, offset, committed);
}

static void on_commit(void *userdata, int32_t partition, int64_t offset, const char *metadata, int wait_ms) {
        Daemon *d = userdata;
        if (d->consumer)
                consumer_commit(d->consumer, partition, offset, metadata, wait_ms);
}

static void on_commit_then(void *userdata, int32_t partition, int64_t offset, const char *metadata,
                           OffsetCommitDone done, void *done_userdata) {
        Daemon *d = userdata;
        if (d->consumer)
                consumer_commit_then(d->consumer, partition, offset, metadata, done, done_userdata);
        else
                done(done_userdata, partition, offset, "no consumer");
}

static void on_checkpoints_failed(void *userdata, int exit_code) {
        daemon_stop(userdata, exit_code, NULL);
}

static void on_changelog_uncongested(void *userdata) {
        Daemon *d = userdata;
        if (d->consumer)
                consumer_resume(d->consumer);
}

/* --- the Kafka sink's events --- */

static bool awake(void *userdata);

static void on_confirmed(void *userdata, uint64_t batch) {
        Daemon *d = userdata;
        /* a delivery report can come first after a freeze: no checkpoint of
         * partitions the group may have given away meanwhile */
        if (awake(d))
                daemon_check_close(d, pipeline_batch_done(d->pipeline, batch));
        else
                pipeline_batch_confirmed(d->pipeline, batch);
        if (d->consumer)
                consumer_resume(d->consumer); /* a checkpoint may have held it */
}

static void on_output_failed(void *userdata, uint64_t batch, const char *error) {
        Daemon *d = userdata;
        log_error("%s; batch %" PRIu64 " stays unconfirmed: its records are read and produced again after a restart",
                  error, batch);
        pipeline_batch_failed(d->pipeline, batch);
        daemon_stop(d, EX_IOERR, NULL);
}

static void on_uncongested(void *userdata) {
        Daemon *d = userdata;
        if (d->consumer)
                consumer_resume(d->consumer);
}

/* --- the consumer's events --- */

static void on_drained(void *userdata) {
        Daemon *d = userdata;
        if (d->stopping)
                return;
        status_check_limits(&d->status);
        if (d->options.available_now && pipeline_available_now_done(d->pipeline)) {
                daemon_check_close(d, pipeline_close_batch(d->pipeline));
                daemon_check_close(d, pipeline_close_due_watermark(d->pipeline));
                daemon_stop(d, EX_OK, "all data available at start has been processed");
                return;
        }
        triggers_after_drain(d->triggers);
}

static void on_failed(void *userdata, int exit_code) {
        daemon_stop(userdata, exit_code, NULL);
}

/* --- the triggers' events --- */

/* Not while the consumer makes sure, after a freeze, that its partitions
 * are still its own (consumer_awake()), nor while a transaction ends (no
 * row may join it then). */
static bool awake(void *userdata) {
        Daemon *d = userdata;
        return (!d->consumer || consumer_awake(d->consumer)) && !checkpoints_ending_transaction(d->checkpoints);
}

static void on_closed(void *userdata, int r) {
        daemon_check_close(userdata, r);
}

void daemon_wiring_render_metrics(MetricsText *t, void *userdata) {
        Daemon *d = userdata;
        const MetricsSources sources = { .topic = d->config->topic,
                                         .pipeline = d->pipeline,
                                         .output = d->output,
                                         .checkpoints = d->checkpoints,
                                         .consumer = d->consumer,
                                         .txn = d->txn,
                                         .reloads = &d->reloads,
                                         .start_time_seconds = d->start_time_seconds };
        metrics_render(t, &sources);
}

PipelineHooks daemon_wiring_pipeline_hooks(Daemon *d) {
        return (PipelineHooks){ .userdata = d, .store_offsets = store_offsets, .invalid = report_invalid,
                                .late = report_late, .wall_clock_ms = wall_clock_ms, .monotonic_us = monotonic_us };
}

CheckpointsEvents daemon_wiring_checkpoints_events(Daemon *d) {
        return (CheckpointsEvents){ d, on_restored, on_commit, on_commit_then, on_checkpoints_failed,
                                    on_changelog_uncongested };
}

KafkaSinkEvents daemon_wiring_sink_events(Daemon *d) {
        return (KafkaSinkEvents){ d, on_confirmed, on_output_failed, on_uncongested };
}

ConsumerEvents daemon_wiring_consumer_events(Daemon *d) {
        return (ConsumerEvents){ d, on_drained, on_failed };
}

TriggersEvents daemon_wiring_triggers_events(Daemon *d) {
        return (TriggersEvents){ d, awake, on_closed };
}
