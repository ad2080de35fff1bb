/* daemon_internal: the running daemon, shared by daemon.c (the loop, its
 * signals, reload, run and stop) and daemon_wiring.c (each part's events turned
 * into calls on the others). */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "lib/config/config.h"
#include "sensord/checkpoint/checkpoints.h"
#include "sensord/daemon_options.h"
#include "sensord/kafka/consumer/consumer.h"
#include "sensord/metrics/metrics.h"
#include "sensord/metrics/metrics_file.h"
#include "sensord/metrics/metrics_http.h"
#include "sensord/metrics/status.h"
#include "sensord/output.h"
#include "sensord/pipeline.h"
#include "sensord/triggers.h"

typedef struct Daemon {
        DaemonOptions options;
        Config *config;
        sd_event *event;
        Triggers *triggers;
        Checkpoints *checkpoints;
        Consumer *consumer;
        Pipeline *pipeline;
        Output *output;
        TxnProducer *txn; /* output.guarantee = "exactly_once"; NULL: at least once */
        Status status;
        MetricsHttp *metrics_http;
        MetricsFile *metrics_file;
        MetricsReloads reloads;
        double start_time_seconds;
        bool stopping;
        int exit_code;
} Daemon;

/* Leaves the loop with exit_code; a later failure still turns a clean
 * stop's exit code into its own. why, when not NULL, is logged. */
void daemon_stop(Daemon *d, int exit_code, const char *why);

/* A negative result means a batch's rows or a checkpoint were not written:
 * the offsets stay uncommitted and sensord stops, so the records are read
 * again. */
void daemon_check_close(Daemon *d, int r);

/* --- daemon_wiring.c: what each part calls when something happens --- */

PipelineHooks daemon_wiring_pipeline_hooks(Daemon *d);
CheckpointsEvents daemon_wiring_checkpoints_events(Daemon *d);
KafkaSinkEvents daemon_wiring_sink_events(Daemon *d);
ConsumerEvents daemon_wiring_consumer_events(Daemon *d);
TriggersEvents daemon_wiring_triggers_events(Daemon *d);

/* Every metric, from the parts' counters (metrics.listen, metrics.textfile). */
void daemon_wiring_render_metrics(MetricsText *t, void *userdata);
