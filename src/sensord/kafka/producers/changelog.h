/* changelog: the Kafka side of state.changelog_topic, on sd-event. Three
 * librdkafka jobs, none blocking the loop:
 *
 *   - producing checkpoint parts to the changelog partition of the input
 *     partition's number (idempotent, acks=all, lz4), each delivery told
 *     back with its offset;
 *   - asking the group coordinator for partitions' committed offsets and
 *     their metadata (where the changelog pointer is), on a worker thread;
 *   - reading a changelog partition from an offset, for a restore, on a
 *     consumer of its own that never joins the group (assign() only).
 *
 * What the messages mean is checkpoints.c's business (and changelog_format's). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "lib/config/config.h"
#include "lib/state/changelog_format.h"
#include "sensord/kafka/producers/txn_producer.h"

/* How a read for a restore goes on. */
typedef enum ChangelogRead {
        CHANGELOG_READ_MESSAGE, /* a message */
        CHANGELOG_READ_END,     /* the partition ends here, for now */
        CHANGELOG_READ_GONE,    /* its start moved past the offset asked for (retention) */
} ChangelogRead;

/* An input partition the group has no committed offset for. */
typedef struct ChangelogFresh {
        /* its changelog partition's end offset: above 0, it was written to,
         * which happens only after a commit (see checkpoints_restore.c) */
        int64_t changelog_end;
        int64_t input_low, input_high; /* the input partition's bounds now */
} ChangelogFresh;

typedef struct ChangelogEvents {
        void *userdata;
        /* A partition's committed offset and metadata; or error, when the
         * coordinator could not be asked (ask again later). */
        void (*committed)(void *userdata, int32_t partition, int64_t offset, const char *metadata, size_t len,
                          const char *error);
        /* A changelog message read for a restore, or the end of what there
         * is to read (value NULL). */
        void (*read)(void *userdata, int32_t partition, int64_t offset, const void *value, size_t len,
                     ChangelogRead what);
        /* The changelog has no partition for the input partition asked
         * about (committed() is not called): the input has more partitions
         * than it, and sensord could not add them; why says how to. Ask
         * again later. */
        void (*missing)(void *userdata, int32_t partition, const char *why);
        /* The group has no committed offset for the partition at all
         * (committed() is not called). */
        void (*fresh)(void *userdata, int32_t partition, const ChangelogFresh *fresh);
        /* A produced part was delivered at offset, or failed for good. */
        void (*delivered)(void *userdata, int32_t partition, uint64_t token, int64_t offset, const char *error);
} ChangelogEvents;

typedef struct Changelog Changelog;

/* The producer and the reader, from the configuration (kafka.properties
 * apply to the reader, output.kafka_properties to the producer). -EINVAL
 * for a property librdkafka refuses (logged). */
int changelog_new(Changelog **out, const Config *config, sd_event *event, const ChangelogEvents *events,
                  TxnProducer *txn);
Changelog *changelog_free(Changelog *cl);

/* Waits (bounded by kafka.startup_timeout) for the changelog topic, which
 * a broker that auto-creates topics creates when asked, creating it when
 * missing and sensord may; judges its settings (topic_rules.h); gives it
 * input_partitions partitions when it has fewer, if sensord may (else the
 * input partitions it lacks are held: missing()). -EHOSTUNREACH when it is
 * not there in time, -EINVAL when a setting cannot work, -EACCES when it
 * may not be created (all logged). */
int changelog_start(Changelog *cl, int input_partitions);

/* Asks for the committed offsets of the input topic's partitions in the
 * consumer group; answers come through committed(). */
void changelog_ask_committed(Changelog *cl, const int32_t *partitions, size_t n);

/* Reads changelog partition from offset on (read() for each message) until
 * changelog_read_stop(). */
void changelog_read_from(Changelog *cl, int32_t partition, int64_t offset);
void changelog_read_stop(Changelog *cl, int32_t partition);

/* The largest checkpoint part that fits a message, frame included. */
size_t changelog_part_max(const Changelog *cl);

/* Produces one message to the partition; delivered() tells with token. */
void changelog_produce(Changelog *cl, int32_t partition, const ChangelogFrame *frame, const uint8_t *part, size_t len,
                       uint64_t token);

/* Waits at most timeout_ms for every produced message's delivery,
 * telling delivered() meanwhile. Returns 0 or -ETIMEDOUT. */
int changelog_flush(Changelog *cl, int timeout_ms);

/* Its writes wait too long (no acknowledgement for WRITE_STALL_AFTER_US)
 * or hold more than 64 MiB: sensord should read no more records. */
bool changelog_congested(const Changelog *cl);

/* Logs a stall of its writes that began or ended (write_stall.h). */
void changelog_check_stall(Changelog *cl);

/* How long its writes have been stalled, in seconds (0: they are not),
 * and the broker's last error about them. */
uint64_t changelog_stall_seconds(const Changelog *cl);
void changelog_stall_reason(Changelog *cl, char *buf, size_t size);

/* Messages and bytes read for restores, for the log and the benchmark. */
void changelog_read_counts(const Changelog *cl, uint64_t *messages, uint64_t *bytes);
