/* txn_producer: under output.guarantee = "exactly_once", the one
 * transactional librdkafka producer of the process. The result sink
 * (kafka_sink.c) and the changelog (changelog.c) write through it, each to
 * its own topics, whose delivery reports it routes back to them by topic
 * name; checkpoints.c ends each transaction with the input offsets and the
 * changelog pointer, for the group's current generation, so that the
 * brokers refuse the commit of a member the group has moved on from.
 *
 * Its transactional.id is stable across restarts of one host (see
 * txn_producer_new()), so a restart fences the open transaction of the
 * life before at once (init_transactions). Its calls that wait for a
 * broker are bounded by their timeout_ms and made on the loop's thread:
 * the pipeline takes no record while a transaction ends, and a commit that
 * times out is called again (librdkafka resumes it). */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "lib/config/config.h"
#include "lib/metrics/metrics_text.h"
#include "sensord/kafka/producers/write_stall.h"

typedef struct TxnProducer TxnProducer;

typedef struct TxnProducerStats {
        uint64_t committed, aborted;
        MetricsHistogram commit_seconds; /* offsets sent to the commit's answer */
} TxnProducerStats;

/* The producer, from output.kafka_properties, with transactional.id
 * "<group_id>-<instance>": kafka.group_instance_id (its %H the host name),
 * or the host name and a hash of state.directory. -EINVAL for a property
 * librdkafka refuses (logged). */
int txn_producer_new(TxnProducer **out, const Config *config, sd_event *event);
TxnProducer *txn_producer_free(TxnProducer *tp);

/* Registers the producer with the transaction coordinator, which aborts
 * the open transaction of the same transactional.id (bounded by
 * kafka.startup_timeout). 0, -ETIMEDOUT, or -EACCES (a transactional id
 * ACL missing) (logged). */
int txn_producer_start(TxnProducer *tp);

/* The librdkafka handle that the sink and the changelog produce with. */
rd_kafka_t *txn_producer_handle(TxnProducer *tp);

/* What one owner of topics hears: the delivery reports of messages to
 * them (as librdkafka's dr_msg_cb, with userdata as its opaque); polled,
 * after each serving of the producer's queue; and its write-stall tracker
 * gets librdkafka's log lines that name one of its topics (on librdkafka's
 * threads too). Each may be NULL but on_delivery. */
typedef struct TxnRoute {
        void (*on_delivery)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *userdata);
        void (*polled)(void *userdata);
        WriteStall *stall;
        void *userdata;
} TxnRoute;
void txn_producer_route(TxnProducer *tp, const char *topic, const TxnRoute *route);

/* The consumer whose group metadata (generation, member id) each commit
 * carries. */
void txn_producer_set_consumer(TxnProducer *tp, rd_kafka_t *consumer);

/* Before each message: begins a transaction unless one is open. 0, or
 * -EIO when the producer failed (logged). */
int txn_producer_begin(TxnProducer *tp);

/* A transaction is open: something was produced since the last commit. */
bool txn_producer_open(const TxnProducer *tp);

/* An input offset (with its changelog pointer as metadata) to commit with
 * the open transaction; a later one for the same partition replaces it. */
void txn_producer_add_offset(TxnProducer *tp, const char *topic, int32_t partition, int64_t offset,
                             const char *metadata);

/* Ends the open transaction: its offsets sent, then committed, each call
 * waiting at most timeout_ms. 0: committed, or none was open. -EAGAIN: not
 * yet (timed out, or a retriable error): call again. -ECANCELED: it was
 * aborted (the brokers fenced this member, or a write failed): nothing of
 * it is visible to read_committed readers, so the records must be read
 * again from the last committed offsets, with the last committed state.
 * -EIO: the producer failed for good (fenced by a newer life of the same
 * transactional.id, or a fatal error); why is logged. */
int txn_producer_commit(TxnProducer *tp, int timeout_ms);

/* Aborts the open transaction (nothing of it becomes visible). 0 (also
 * when none was open), -EAGAIN (call again) or -EIO (logged). */
int txn_producer_abort(TxnProducer *tp, int timeout_ms);

const TxnProducerStats *txn_producer_stats(const TxnProducer *tp);
