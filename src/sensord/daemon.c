/* daemon: the running sensord. sd-event with the signals, reload, run and
 * stop; it starts the parts in order, with the triggers' timers
 * (triggers.c) and each part's events wired to the others (daemon_wiring.c).
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
#include "sensord/daemon_internal.h"
#include "sensord/reload.h"

void daemon_stop(Daemon *d, int exit_code, const char *why) {
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

void daemon_check_close(Daemon *d, int r) {
        if (r >= 0)
                return;
        log_error("a batch could not be completed: %s", strerror(-r));
        daemon_stop(d, EX_IOERR, NULL);
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
                checkpoints_set_lost_state(d->checkpoints, next->lost_state);
                triggers_set_config(d->triggers, next);
                PipelineSettings settings = reload_pipeline_settings(&d->options, next);
                config_free(d->config);
                d->config = next;
                daemon_check_close(d, pipeline_set_settings(d->pipeline, &settings));
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

/* metrics.listen and metrics.textfile, when set; a port that cannot be
 * listened on stops sensord (69), as an operator asked for it. */
static int start_metrics(Daemon *d) {
        const Config *c = d->config;
        if (c->metrics_listen[0] &&
            metrics_http_new(&d->metrics_http, d->event, c->metrics_listen, daemon_wiring_render_metrics, d) < 0)
                return -EADDRNOTAVAIL;
        if (c->metrics_textfile[0]) {
                int r = metrics_file_new(&d->metrics_file, d->event, c->metrics_textfile, c->metrics_interval_ms,
                                         daemon_wiring_render_metrics, d);
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
        return sd_event_set_watchdog(d->event, true);
}

static void daemon_free(Daemon *d) {
        metrics_http_free(d->metrics_http);
        metrics_file_free(d->metrics_file);
        consumer_free(d->consumer);
        status_free(&d->status);
        triggers_free(d->triggers);
        sd_event_unref(d->event);
        pipeline_free(d->pipeline);
        checkpoints_free(d->checkpoints);
        output_free(d->output);
        txn_producer_free(d->txn); /* after the two that write through it */
        config_free(d->config);
}

int daemon_run(const DaemonOptions *options, Config *config) {
        Daemon d = { .options = *options, .config = config,
                     .start_time_seconds = (double)now_usec(CLOCK_REALTIME) / 1e6 };
        const PipelineHooks hooks = daemon_wiring_pipeline_hooks(&d);
        const ConsumerEvents events = daemon_wiring_consumer_events(&d);
        const KafkaSinkEvents sink_events = daemon_wiring_sink_events(&d);
        const CheckpointsEvents checkpoint_events = daemon_wiring_checkpoints_events(&d);
        const TriggersEvents trigger_events = daemon_wiring_triggers_events(&d);
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
        if (config->guarantee == GUARANTEE_EXACTLY_ONCE && txn_producer_new(&d.txn, config, d.event) < 0) {
                r = EX_CONFIG;
                goto out;
        }
        if (output_new(&d.output, config, d.event, &sink_events, d.txn) < 0) {
                r = EX_CONFIG;
                goto out;
        }
        PipelineOutput output = output_for_pipeline(d.output);
        if (checkpoints_new(&d.checkpoints, config, d.event, &checkpoint_events, d.txn) < 0) {
                r = EX_CONFIG;
                goto out;
        }
        PipelineCheckpoints checkpoints = checkpoints_for_pipeline(d.checkpoints);
        if ((r = pipeline_new(&d.pipeline, &config->window, &settings, &output, &hooks, &checkpoints)) < 0) {
                log_error("cannot set up sensord: %s", strerror(-r));
                r = EX_SOFTWARE;
                goto out;
        }
        if ((r = triggers_new(&d.triggers, d.event, config, d.pipeline, d.checkpoints, &trigger_events)) < 0) {
                log_error("cannot set up sensord: %s", strerror(-r));
                r = EX_SOFTWARE;
                goto out;
        }
        status_init(&d.status, d.pipeline, d.output, d.checkpoints);
        d.status.txn = d.txn;
        if (start_metrics(&d) < 0) {
                r = EX_UNAVAILABLE;
                goto out;
        }
        if (consumer_new(&d.consumer, config, options->available_now, d.event, d.pipeline, &events) < 0) {
                r = EX_CONFIG;
                goto out;
        }
        /* -EACCES: credentials, certificate or ACLs refused, which a
         * restart would not change */
        if ((r = consumer_start(d.consumer)) < 0) {
                r = r == -EACCES ? EX_CONFIG : EX_UNAVAILABLE;
                goto out;
        }
        if (d.txn) {
                txn_producer_set_consumer(d.txn, consumer_handle(d.consumer));
                if ((r = txn_producer_start(d.txn)) < 0) {
                        r = r == -EACCES ? EX_CONFIG : EX_UNAVAILABLE;
                        goto out;
                }
        }
        if ((r = checkpoints_start(d.checkpoints, consumer_partition_count(d.consumer))) < 0) {
                r = r == -EINVAL || r == -EACCES ? EX_CONFIG : EX_UNAVAILABLE;
                goto out;
        }
        if ((r = output_start(d.output)) < 0) {
                r = r == -ENOENT                    ? EX_IOERR /* no journal: results cannot be written */
                    : r == -EACCES || r == -EINVAL ? EX_CONFIG /* refused, or a topic setting cannot work */
                                                    : EX_UNAVAILABLE;
                goto out;
        }
        if ((r = consumer_subscribe(d.consumer)) < 0) {
                r = EX_UNAVAILABLE;
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
                daemon_check_close(&d, pipeline_close_batch(d.pipeline)); /* the batch in flight */
                output_wait(d.output, OUTPUT_WAIT_MS);
                daemon_check_close(&d, pipeline_checkpoint(d.pipeline));
        }
        r = d.exit_code;
        status_log_summary(&d.status);
        if (d.metrics_file)
                metrics_file_write(d.metrics_file); /* the counters of the summary */
        consumer_close(d.consumer); /* the revoke commits what the batches stored */
        if (d.metrics_file && d.txn)
                metrics_file_write(d.metrics_file); /* with the revoke's transaction */
out:
        daemon_free(&d);
        return r;
}
