/* changelog_internal: the Changelog's fields, shared by changelog.c (its
 * producer, reader and requests) and changelog_topic.c (the topic created,
 * checked and given partitions), and by no one else. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "sensord/kafka/kafka_worker.h"
#include "sensord/kafka/producers/changelog.h"
#include "sensord/kafka/producers/txn_producer.h"
#include "sensord/kafka/producers/write_stall.h"
#include "sensord/kafka/queue_watch.h"

#define NOT_READING INT64_MIN

/* Room in a message for what the broker adds around the value (record
 * headers, batch overhead), under message.max.bytes. */
#define MESSAGE_OVERHEAD 1024
/* The most bytes of checkpoint parts waiting for their acknowledgement
 * before sensord reads no more records (changelog_congested()). */
#define BACKLOG_MAX (64 * 1024 * 1024)
/* The smallest max.message.bytes a changelog topic can have: a part must
 * hold a few entries besides its frame. */
#define MESSAGE_MIN (4 * MESSAGE_OVERHEAD)
/* How long one committed-offsets request may take before it is an error. */
#define ASK_TIMEOUT_MS 10000

/* A part the producer held when it failed for good, for the new one. */
typedef struct Resend {
        int32_t partition;
        uint64_t token;
        void *value;
        size_t len;
} Resend;

struct Changelog {
        ChangelogEvents events;
        sd_event *event;
        rd_kafka_conf_t *producer_conf; /* a copy, for a new producer */
        Resend *resend; /* in the order of their delivery reports */
        bool replacing; /* a stuck producer is being replaced: keep what comes back */
        size_t n_resend, cap_resend;
        char *topic, *input_topic, *group_id, *brokers;
        int64_t startup_timeout_ms;
        int64_t snapshot_interval_ms;
        int replication_factor; /* of a topic sensord creates; -1: the broker's default */
        bool admin; /* the brokers take admin requests (topic_admin_available()) */
        /* the changelog partitions known to exist: from changelog_start()
         * on, raised on the worker only (changelog_topic_has_partition()) */
        _Atomic int partitions;
        rd_kafka_t *producer, *reader;
        TxnProducer *txn; /* exactly-once: producer is its, and not replaced */
        rd_kafka_topic_t *handle; /* the producer's, from changelog_start() on */
        rd_kafka_topic_t *reader_handle; /* keeps the topic in the reader's metadata */
        rd_kafka_queue_t *reader_queue;
        QueueWatch producer_watch, reader_watch;
        KafkaWorker *worker; /* committed-offset requests */
        sd_event_source *more_read; /* the reader's queue held more than one turn's worth */
        size_t part_max;
        uint64_t read_messages, read_bytes;
        WriteStall stall;       /* the producer's acknowledgements */
        char stall_what[300];   /* "changelog topic NAME" */
        uint64_t backlog_bytes; /* produced, not yet reported */
        int64_t *read_from; /* by partition: where its read began; NOT_READING: none */
        size_t n_read_from;
};

/* Whether changelog partition exists, on the worker thread: asked of the
 * brokers when it is past the partitions known, and given to the topic
 * (CreatePartitions, as many as the input has) when sensord may. Returns 1
 * when it exists; 0 when it does not yet, with why (the fix, as a command)
 * filled in. */
int changelog_topic_has_partition(Changelog *cl, int32_t partition, char *why, size_t size);
