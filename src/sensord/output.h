/* output: where the pipeline's rows go, and when they count as confirmed.
 * The emitter (stdout or the journal, unless output.sink is "none")
 * confirms a batch as soon as its rows are written and flushed. With
 * output.kafka_topic or dead_letter.topic, the Kafka sink confirms it
 * later, once every message of the batch is delivered. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "lib/config/config.h"
#include "lib/metrics/metrics_text.h"
#include "lib/text/emitter.h"
#include "sensord/kafka/producers/kafka_sink.h"
#include "sensord/pipeline.h"

/* At a stop, or before partitions are revoked, how long to wait for
 * deliveries before checkpointing what they confirmed. */
#define OUTPUT_WAIT_MS 10000

typedef struct Output Output;

typedef struct OutputStats {
        uint64_t rows;         /* written to stdout or the journal */
        uint64_t journal_rows; /* of those, to the journal (compare with journalctl's count) */
        KafkaSinkStats kafka;  /* delivered to Kafka */
} OutputStats;

/* -EINVAL for a producer property librdkafka refuses (logged). */
int output_new(Output **out, const Config *config, sd_event *event, const KafkaSinkEvents *events,
               TxnProducer *txn);
Output *output_free(Output *o);

/* Checks that the Kafka topics exist (see kafka_sink_start), and -ENOENT
 * when the sink is the journal and there is no journald to write to. */
int output_start(Output *o);

/* Applies a reloaded output.sink and output.format from the next batch on. */
void output_reconfigure(Output *o, const Config *config);

/* The pipeline's view of this output. */
PipelineOutput output_for_pipeline(Output *o);

/* Copies an invalid record of batch to dead_letter.topic, if set. */
int output_dead_letter(Output *o, uint64_t batch, const char *topic, const PipelineMessage *m, RecordError error,
                       const char *reason);

/* Waits at most timeout_ms for outstanding deliveries (their events are
 * told meanwhile); true when none is left. */
bool output_wait(Output *o, int timeout_ms);

OutputStats output_stats(const Output *o);

/* How long each batch took from its first row computed to its last written
 * (confirmation by Kafka not included), for the metrics. */
const MetricsHistogram *output_batch_seconds(const Output *o);

/* Copies a record with late pairs of batch to late_data.topic, if set. */
int output_late_record(Output *o, uint64_t batch, const char *topic, const PipelineMessage *m, const WindowLate *late);

/* Whether a Kafka topic (results, dead letters or late records) is configured. */
bool output_to_kafka(const Output *o);

/* With a Kafka sink: logs a stall of its writes that began or ended; how
 * long it has lasted in seconds (0: none) and the broker's last error. */
void output_check_stall(Output *o);
uint64_t output_stall_seconds(const Output *o);
void output_stall_reason(Output *o, char *buf, size_t size);

/* "stdout", "the journal and Kafka topic results", ... for the log. */
void output_describe(const Output *o, char *buf, size_t size);
