/* metrics: every metric sensord exposes, rendered in the Prometheus text
 * format from the counters the pipeline, the window state, the output,
 * the checkpoints and the consumer keep. No I/O: metrics_http.c serves
 * the text, metrics_file.c writes it for node_exporter. sensord(8) lists
 * every metric. */
#pragma once

#include <stdint.h>

#include "lib/metrics/metrics_text.h"
#include "sensord/checkpoint/checkpoints.h"
#include "sensord/kafka/consumer/consumer.h"
#include "sensord/kafka/producers/txn_producer.h"
#include "sensord/output.h"
#include "sensord/pipeline.h"

typedef struct MetricsReloads {
        uint64_t applied, refused;
} MetricsReloads;

typedef struct MetricsSources {
        const char *topic;
        const Pipeline *pipeline;
        const Output *output;
        const Checkpoints *checkpoints;
        const Consumer *consumer; /* NULL before it exists */
        const TxnProducer *txn;   /* output.guarantee = "exactly_once"; NULL: at least once */
        const MetricsReloads *reloads;
        double start_time_seconds; /* the process's, since the epoch */
} MetricsSources;

/* Replaces t's text with the metrics as they stand now. */
void metrics_render(MetricsText *t, const MetricsSources *s);
