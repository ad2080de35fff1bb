/* kafka_sink: the producer behind output.kafka_topic (result rows),
 * dead_letter.topic (invalid records, byte for byte) and late_data.topic
 * (records with late pairs, byte for byte). It counts each
 * batch's messages and tells, from the event loop, when every one of them
 * was delivered or when one failed for good: that is when the batch's
 * output is confirmed (the second phase of the pipeline's batch close).
 * The loop never waits on it, except when one batch holds more messages
 * than the producer's queue (queue.buffering.max.messages), and when a
 * stop or a revoke waits for deliveries before its checkpoint. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "lib/config/config.h"
#include "lib/state/window.h"
#include "sensord/kafka/producers/txn_producer.h"
#include "sensord/pipeline.h"

typedef struct KafkaSinkEvents {
        void *userdata;
        /* Every message of batch was delivered. Batches confirm in order. */
        void (*confirmed)(void *userdata, uint64_t batch);
        /* A message of batch could not be delivered, after librdkafka's own
         * retries; called once, after which nothing more is confirmed. */
        void (*failed)(void *userdata, uint64_t batch, const char *error);
        /* Deliveries caught up after kafka_sink_congested() said true. */
        void (*uncongested)(void *userdata);
} KafkaSinkEvents;

typedef struct KafkaSinkStats {
        uint64_t rows;          /* result rows delivered */
        uint64_t dead_letters;  /* invalid records delivered to dead_letter.topic */
        uint64_t late_records;  /* records delivered to late_data.topic */
        uint64_t errors;        /* messages that failed for good */
        uint64_t copies_truncated; /* dead letters and late records cut to fit their topic */
        uint64_t copies_skipped;   /* dead letters and late records refused for their size */
} KafkaSinkStats;

/* A dead letter: the invalid message and why it was refused. */
typedef struct DeadLetter {
        const char *topic; /* where it was read */
        const PipelineMessage *message;
        const char *reason_class; /* record_error_name() */
        const char *reason;
} DeadLetter;

/* A record with late pairs: the message and what it missed. */
typedef struct LateRecord {
        const char *topic; /* where it was read */
        const PipelineMessage *message;
        const WindowLate *late;
} LateRecord;

typedef struct KafkaSink KafkaSink;

/* Creates the producer when output.kafka_topic, dead_letter.topic or
 * late_data.topic is set;
 * *out is NULL otherwise. -EINVAL for a property librdkafka refuses (logged).
 * With txn (exactly-once), its messages go through that producer, each in
 * its open transaction. */
int kafka_sink_new(KafkaSink **out, const Config *config, sd_event *event, const KafkaSinkEvents *events,
                   TxnProducer *txn);
KafkaSink *kafka_sink_free(KafkaSink *k);

/* Waits, for at most kafka.startup_timeout, until each topic exists, or the
 * broker created it on the producer's request. -EHOSTUNREACH (logged)
 * when one does not. */
int kafka_sink_start(KafkaSink *k);

bool kafka_sink_has_results(const KafkaSink *k);

/* Produces a row of batch, keyed "<window start>|<sensor_id>". 0 or a
 * negative errno (logged) when the producer refuses it at once. */
int kafka_sink_row(KafkaSink *k, uint64_t batch, const WindowRow *row);

/* Produces a dead letter belonging to batch (the open one); as above. */
int kafka_sink_dead_letter(KafkaSink *k, uint64_t batch, const DeadLetter *dl);

/* Produces a record with late pairs belonging to batch (the open one),
 * with the dead letter's headers plus sensord-watermark and
 * sensord-late-windows; as above. */
int kafka_sink_late_record(KafkaSink *k, uint64_t batch, const LateRecord *lr);

/* Every message of batch has been produced: 0 when they are all delivered
 * already (or there were none), PIPELINE_PENDING when confirmed() follows. */
int kafka_sink_end_batch(KafkaSink *k, uint64_t batch);

/* Delivers what is outstanding, serving delivery reports (and so the
 * events) for at most timeout_ms; true when nothing is outstanding. */
bool kafka_sink_wait(KafkaSink *k, int timeout_ms);

/* More messages outstanding than half the producer's queue: the consumer
 * should stop handing over messages until deliveries catch up. */
bool kafka_sink_congested(const KafkaSink *k);

const KafkaSinkStats *kafka_sink_stats(const KafkaSink *k);

/* Logs a stall of its writes that began or ended (write_stall.h). */
void kafka_sink_check_stall(KafkaSink *k);

/* How long its writes have been stalled, in seconds (0: they are not),
 * and the broker's last error about them. */
uint64_t kafka_sink_stall_seconds(const KafkaSink *k);
void kafka_sink_stall_reason(KafkaSink *k, char *buf, size_t size);
