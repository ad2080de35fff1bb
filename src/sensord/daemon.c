/* daemon: the running sensord. sd-event with the signals, the batch
 * deadline, the idle and STATUS= timers, reload, run and stop; it wires the
 * consumer's events to the pipeline and the pipeline's rows to the emitter.
 * Everything runs on the loop's thread and nothing on it blocks, so the
 * watchdog (sd_event_set_watchdog) stays fed. */
#include "sensord/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "lib/base/log.h"
#include "lib/base/util.h"
#include "sensord-build.h"
#include "sensord/checkpoint/checkpoints.h"
#include "sensord/kafka/consumer.h"
#include "sensord/metrics/metrics.h"
#include "sensord/metrics/metrics_file.h"
#include "sensord/metrics/metrics_http.h"
#include "sensord/metrics/status.h"
#include "sensord/output.h"
#include "sensord/pipeline.h"
#include "sensord/reload.h"

typedef struct Daemon {
        DaemonOptions options;
        Config *config;
        sd_event *event;
        sd_event_source *deadline, *idle, *checkpoint;
        Checkpoints *checkpoints;
        Consumer *consumer;
        Pipeline *pipeline;
        Output *output;
        Status status;
        MetricsHttp *metrics_http;
        MetricsFile *metrics_file;
        MetricsReloads reloads;
        double start_time_seconds;
        uint64_t idle_armed_for; /* the last message time the idle timer counts from */
        bool stopping;
        int exit_code;
} Daemon;

/* A later failure still turns a clean stop's exit code into its own. */
static void daemon_stop(Daemon *d, int exit_code, const char *why) {
        if (d->stopping) {
                if (d->exit_code == EX_OK)
                        d->exit_code = exit_code;
                return;
        }
        d->stopping = true;
        d->exit_code = exit_code;
        if (why)
                log_info("stopping: %s", why);
        sd_notify(0, "STOPPING=1");
        sd_event_exit(d->event, exit_code);
}

/* A negative result means a batch's rows or a checkpoint were not written:
 * the offsets stay uncommitted and sensord stops, so the records are read
 * again. */
static void check_close(Daemon *d, int r) {
        if (r >= 0)
                return;
        log_error("a batch could not be completed: %s", strerror(-r));
        daemon_stop(d, EX_IOERR, NULL);
}

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

static void on_commit(void *userdata, int32_t partition, int64_t offset, const char *metadata, bool sync) {
        Daemon *d = userdata;
        if (d->consumer)
                consumer_commit(d->consumer, partition, offset, metadata, sync);
}

static void on_checkpoints_failed(void *userdata, int exit_code) {
        daemon_stop(userdata, exit_code, NULL);
}

/* --- the Kafka sink's events --- */

static void on_confirmed(void *userdata, uint64_t batch) {
        Daemon *d = userdata;
        check_close(d, pipeline_batch_done(d->pipeline, batch));
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

static void arm_timer(sd_event_source *s, uint64_t usec) {
        sd_event_source_set_time(s, usec);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void on_drained(void *userdata) {
        Daemon *d = userdata;
        if (d->stopping)
                return;
        status_check_limits(&d->status);
        if (d->options.available_now && pipeline_available_now_done(d->pipeline)) {
                check_close(d, pipeline_close_batch(d->pipeline));
                daemon_stop(d, EX_OK, "all data available at start has been processed");
                return;
        }
        uint64_t deadline = pipeline_deadline(d->pipeline);
        if (deadline == UINT64_MAX)
                sd_event_source_set_enabled(d->deadline, SD_EVENT_OFF);
        else
                arm_timer(d->deadline, deadline);
        uint64_t last = pipeline_stats(d->pipeline)->last_message_us;
        if (d->config->idle_timeout_ms > 0 && d->config->watermark_scope == WATERMARK_PARTITION) {
                /* each partition's quiet is its own: look every second,
                 * whatever the others do */
                int enabled = SD_EVENT_OFF;
                sd_event_source_get_enabled(d->idle, &enabled);
                if (enabled == SD_EVENT_OFF)
                        arm_timer(d->idle, now_usec(CLOCK_MONOTONIC) + 1000000);
        } else if (d->config->idle_timeout_ms > 0 && last != d->idle_armed_for) {
                d->idle_armed_for = last;
                arm_timer(d->idle, last + (uint64_t)d->config->idle_timeout_ms * 1000);
        }
}

static void on_failed(void *userdata, int exit_code) {
        daemon_stop(userdata, exit_code, NULL);
}

/* --- timers and signals --- */

/* Not while the consumer makes sure, after a freeze, that its partitions
 * are still its own (consumer_awake()): it drains again afterwards, and
 * drained() arms the deadline anew. */
static bool awake(Daemon *d) {
        return !d->consumer || consumer_awake(d->consumer);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        if (awake(d))
                check_close(d, pipeline_close_batch(d->pipeline));
        return 0;
}

/* state.checkpoint_interval: at the next batch boundary. */
static int on_checkpoint(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        if (awake(d))
                check_close(d, checkpoints_snapshot_due(d->checkpoints) ? pipeline_checkpoint_now(d->pipeline)
                                                                         : pipeline_checkpoint(d->pipeline));
        arm_timer(s, usec + (uint64_t)d->config->checkpoint_interval_ms * 1000);
        return 0;
}

/* Idle input: event time moves on with the wall clock; look again a second
 * later while still idle. */
static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        if (awake(d))
                check_close(d, pipeline_advance_idle(d->pipeline, now, (uint64_t)d->config->idle_timeout_ms * 1000));
        arm_timer(d->idle, now + 1000000);
        return 0;
}

/* SIGHUP: RELOADING=1, the new configuration swapped in when reload_config()
 * accepts it, READY=1 either way. */
static void reload(Daemon *d) {
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec(CLOCK_MONOTONIC));
        Config *next = reload_config(&d->options, d->config);
        if (next) {
                d->reloads.applied++;
                if (d->metrics_file)
                        metrics_file_set_interval(d->metrics_file, next->metrics_interval_ms);
                output_reconfigure(d->output, next);
                if (next->idle_timeout_ms == 0)
                        sd_event_source_set_enabled(d->idle, SD_EVENT_OFF);
                PipelineSettings settings = reload_pipeline_settings(&d->options, next);
                config_free(d->config);
                d->config = next;
                check_close(d, pipeline_set_settings(d->pipeline, &settings));
        } else {
                d->reloads.refused++;
        }
        sd_notify(0, "READY=1");
        status_notify(&d->status);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        if (si->ssi_signo == SIGHUP)
                reload(d);
        else
                daemon_stop(d, EX_OK, si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return 0;
}

/* --- metrics --- */

static void render_metrics(MetricsText *t, void *userdata) {
        Daemon *d = userdata;
        const MetricsSources sources = { .topic = d->config->topic,
                                         .pipeline = d->pipeline,
                                         .output = d->output,
                                         .checkpoints = d->checkpoints,
                                         .consumer = d->consumer,
                                         .reloads = &d->reloads,
                                         .start_time_seconds = d->start_time_seconds };
        metrics_render(t, &sources);
}

/* metrics.listen and metrics.textfile, when set; a port that cannot be
 * listened on stops sensord (69), as an operator asked for it. */
static int start_metrics(Daemon *d) {
        const Config *c = d->config;
        if (c->metrics_listen[0] &&
            metrics_http_new(&d->metrics_http, d->event, c->metrics_listen, render_metrics, d) < 0)
                return -EADDRNOTAVAIL;
        if (c->metrics_textfile[0]) {
                int r = metrics_file_new(&d->metrics_file, d->event, c->metrics_textfile, c->metrics_interval_ms,
                                         render_metrics, d);
                if (r < 0)
                        return r;
                metrics_file_write(d->metrics_file);
        }
        return 0;
}

static const int loop_signals[] = { SIGHUP, SIGTERM, SIGINT };

static int setup_event_loop(Daemon *d) {
        int r;
        if ((r = sd_event_default(&d->event)) < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(loop_signals); i++)
                if ((r = sd_event_add_signal(d->event, NULL, loop_signals[i], on_signal, d)) < 0)
                        return r;
        if ((r = sd_event_add_time(d->event, &d->deadline, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_deadline, d)) < 0 ||
            (r = sd_event_add_time(d->event, &d->idle, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_idle, d)) < 0 ||
            (r = sd_event_add_time_relative(d->event, &d->checkpoint, CLOCK_MONOTONIC,
                                            (uint64_t)d->config->checkpoint_interval_ms * 1000, 10000, on_checkpoint,
                                            d)) < 0)
                return r;
        sd_event_source_set_enabled(d->deadline, SD_EVENT_OFF);
        sd_event_source_set_enabled(d->idle, SD_EVENT_OFF);
        return sd_event_set_watchdog(d->event, true);
}

static void daemon_free(Daemon *d) {
        metrics_http_free(d->metrics_http);
        metrics_file_free(d->metrics_file);
        consumer_free(d->consumer);
        status_free(&d->status);
        sd_event_source_unref(d->deadline);
        sd_event_source_unref(d->idle);
        sd_event_source_unref(d->checkpoint);
        sd_event_unref(d->event);
        pipeline_free(d->pipeline);
        checkpoints_free(d->checkpoints);
        output_free(d->output);
        config_free(d->config);
}

int daemon_run(const DaemonOptions *options, Config *config) {
        Daemon d = { .options = *options, .config = config,
                     .start_time_seconds = (double)now_usec(CLOCK_REALTIME) / 1e6 };
        const PipelineHooks hooks = { .userdata = &d, .store_offsets = store_offsets, .invalid = report_invalid,
                                      .late = report_late, .wall_clock_ms = wall_clock_ms,
                                      .monotonic_us = monotonic_us };
        const ConsumerEvents events = { &d, on_drained, on_failed };
        const KafkaSinkEvents sink_events = { &d, on_confirmed, on_output_failed, on_uncongested };
        PipelineSettings settings = reload_pipeline_settings(options, config);
        sigset_t mask;
        int r;

        reload_apply_options(options, config);
        signal(SIGPIPE, SIG_IGN);
        /* Blocked before librdkafka starts its threads, so only the loop sees them. */
        sigemptyset(&mask);
        for (size_t i = 0; i < ARRAY_SIZE(loop_signals); i++)
                sigaddset(&mask, loop_signals[i]);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        if ((r = setup_event_loop(&d)) < 0) {
                log_error("cannot set up sensord: %s", strerror(-r));
                r = EX_SOFTWARE;
                goto out;
        }
        if (output_new(&d.output, config, d.event, &sink_events) < 0) {
                r = EX_CONFIG;
                goto out;
        }
        PipelineOutput output = output_for_pipeline(d.output);
        const CheckpointsEvents checkpoint_events = { &d, on_restored, on_commit, on_checkpoints_failed };
        if (checkpoints_new(&d.checkpoints, config, d.event, &checkpoint_events) < 0) {
                r = EX_CONFIG;
                goto out;
        }
        PipelineCheckpoints checkpoints = checkpoints_for_pipeline(d.checkpoints);
        if ((r = pipeline_new(&d.pipeline, &config->window, &settings, &output, &hooks, &checkpoints)) < 0) {
                log_error("cannot set up sensord: %s", strerror(-r));
                r = EX_SOFTWARE;
                goto out;
        }
        status_init(&d.status, d.pipeline, d.output, d.checkpoints);
        if (start_metrics(&d) < 0) {
                r = EX_UNAVAILABLE;
                goto out;
        }
        if (consumer_new(&d.consumer, config, options->available_now, d.event, d.pipeline, &events) < 0) {
                r = EX_CONFIG;
                goto out;
        }
        if (consumer_start(d.consumer) < 0) {
                r = EX_UNAVAILABLE;
                goto out;
        }
        if ((r = checkpoints_start(d.checkpoints, consumer_partition_count(d.consumer))) < 0) {
                r = r == -EINVAL ? EX_CONFIG : EX_UNAVAILABLE;
                goto out;
        }
        if ((r = output_start(d.output)) < 0) {
                r = r == -ENOENT ? EX_IOERR : EX_UNAVAILABLE; /* no journal: results cannot be written */
                goto out;
        }
        char results[300];
        output_describe(d.output, results, sizeof(results));
        log_info("sensord %s started: topic %s, group %s, %s mode, results to %s%s", SENSORD_VERSION, config->topic,
                 config->group_id, output_mode_to_string(config->mode), results,
                 options->available_now ? " (available-now)" : "");
        sd_notify(0, "READY=1");
        if ((r = status_start(&d.status, d.event, d.consumer)) < 0)
                log_warning("STATUS= will not be refreshed: %s", strerror(-r));

        r = sd_event_loop(d.event);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                daemon_stop(&d, EX_SOFTWARE, NULL);
        } else if (d.exit_code == EX_OK) {
                check_close(&d, pipeline_close_batch(d.pipeline)); /* the batch in flight */
                output_wait(d.output, OUTPUT_WAIT_MS);
                check_close(&d, pipeline_checkpoint(d.pipeline));
        }
        r = d.exit_code;
        status_log_summary(&d.status);
        if (d.metrics_file)
                metrics_file_write(d.metrics_file); /* the counters of the summary */
        consumer_close(d.consumer); /* the revoke commits what the batches stored */
out:
        daemon_free(&d);
        return r;
}
