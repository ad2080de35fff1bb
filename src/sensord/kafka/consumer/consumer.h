/* consumer: the librdkafka consumer's life, from creation to leaving the
 * group, feeding the pipeline. Turns librdkafka's rebalance callback into
 * pipeline_assign() (which says where to read from) and pipeline_revoke(lost)
 * calls (as kcat's rebalance_cb does), wakes the event loop when messages
 * are queued and drains them into the pipeline without blocking, stores the
 * offsets the pipeline releases, and in available-now mode has the end
 * offsets of newly assigned partitions asked for. It makes no
 * blocking broker call on the loop's thread once started. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "lib/config/config.h"
#include "lib/metrics/kafka_stats.h"
#include "sensord/kafka/consumer/offset_commit.h"
#include "sensord/pipeline.h"

typedef struct ConsumerEvents {
        void *userdata;
        /* A drain ended (the queue is empty, or it yields to timers and signals). */
        void (*drained)(void *userdata);
        /* sensord cannot go on: stop with this exit code. */
        void (*failed)(void *userdata, int exit_code);
} ConsumerEvents;

typedef struct Consumer Consumer;

/* Creates the consumer from the configuration. -EINVAL for a property
 * librdkafka refuses (logged). */
int consumer_new(Consumer **out, const Config *config, bool available_now, sd_event *event, Pipeline *pipeline,
                 const ConsumerEvents *events);

/* Frees; leaves the group first only if consumer_close() did. */
Consumer *consumer_free(Consumer *c);

/* Waits (bounded by kafka.startup_timeout) until the brokers answer and know
 * the topic. -EHOSTUNREACH when they did not in time, -EACCES when they
 * refused sensord (both logged). */
int consumer_start(Consumer *c);

/* Joins the consumer group. Last at start, once every other topic is
 * checked: a host that cannot start never makes the group rebalance.
 * -EHOSTUNREACH when librdkafka refuses (logged). */
int consumer_subscribe(Consumer *c);

/* The librdkafka consumer, whose group metadata a transaction's offsets carry. */
rd_kafka_t *consumer_handle(Consumer *c);

/* Hands the offsets to librdkafka, which commits them on its auto-commit
 * interval, when the partitions are revoked and at close. */
void consumer_store_offsets(Consumer *c, const PartitionOffset *offsets, size_t n);

/* With a changelog (no auto-commit): commits the partition's offset with
 * metadata, waiting at most wait_ms for the coordinator's answer (wait_ms
 * < 0: asynchronously). The group coordinator refuses it from a member
 * that is no longer in the group. */
void consumer_commit(Consumer *c, int32_t partition, int64_t offset, const char *metadata, int wait_ms);
/* The same without waiting: done() is told the coordinator's answer. */
void consumer_commit_then(Consumer *c, int32_t partition, int64_t offset, const char *metadata,
                          OffsetCommitDone done, void *userdata);

/* A partition being restored at assignment (PIPELINE_SEEK_LATER) has its state:
 * reading resumes from offset, or when that is -1 from committed (which may
 * be RD_KAFKA_OFFSET_BEGINNING: a rebuild), or when that is -1 too from
 * kafka.starting_offsets. */
void consumer_restored(Consumer *c, int32_t partition, int64_t offset, int64_t committed);

/* Whether this member may act on its assignment now (close batches, emit
 * rows, checkpoint). Not while it makes sure, after the loop was frozen
 * (SIGSTOP, a starved host) for longer than half of session.timeout.ms,
 * that the group did not give its partitions to another member meanwhile:
 * for heartbeat.interval.ms and 1.5 s it reads nothing, then, if librdkafka
 * reports the assignment lost, drops the partitions as lost (their state
 * and open rows with them) before it reads on. */
bool consumer_awake(Consumer *c);

/* The input topic's partition count, known after consumer_start(). */
int consumer_partition_count(const Consumer *c);

/* Drains again after the pipeline stopped accepting messages (they wait
 * in librdkafka's queue, which wakes the loop only when it fills anew). */
void consumer_resume(Consumer *c);

/* Messages between the fetch positions and the high watermarks, from what
 * librdkafka already knows (no broker round trip); -1 while unknown. */
int64_t consumer_lag(Consumer *c);

/* Rebalance events so far: partitions assigned, revoked, lost. */
typedef struct ConsumerRebalances {
        uint64_t assigned, revoked, lost;
} ConsumerRebalances;
ConsumerRebalances consumer_rebalances(const Consumer *c);

/* The input topic's partitions this consumer fetches, with their lag and
 * committed offset, from librdkafka's last statistics (every second while
 * metrics are on; none before the first, or with metrics off). */
const KafkaPartitionStats *consumer_partition_stats(const Consumer *c, size_t *n);

/* Leaves the group (the revoke commits the stored offsets), waiting at most
 * CONSUMER_CLOSE_TIMEOUT_MS: brokers that are gone must not block a stop. */
#define CONSUMER_CLOSE_TIMEOUT_MS 5000
void consumer_close(Consumer *c);
