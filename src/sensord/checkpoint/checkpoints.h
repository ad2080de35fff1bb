/* checkpoints: the checkpoint files of the partitions this process holds,
 * behind the pipeline's checkpoint interface; with state.changelog_topic,
 * also their changelog: where a newly assigned partition's state comes
 * from (its committed pointer, its local files when they hold the same
 * checkpoint, else the changelog), and each checkpoint produced to it and
 * committed, with its pointer, once delivered. */
#pragma once

#include <systemd/sd-event.h>

#include "lib/config/config.h"
#include "lib/metrics/metrics_text.h"
#include "sensord/kafka/producers/txn_producer.h"
#include "sensord/pipeline.h"

typedef struct CheckpointsEvents {
        void *userdata;
        /* A partition whose load said PIPELINE_LOAD_LATER has its state in
         * place: mark (NULL: none), and without one the group's committed
         * offset (-1: none), to tell the pipeline and seek the consumer. */
        void (*restored)(void *userdata, int32_t partition, const CheckpointMark *mark, int64_t committed);
        /* Commit offset for the partition with metadata; a revoke's
         * commit (before the partition goes) waits at most wait_ms for the
         * coordinator's answer, the others (wait_ms < 0) do not wait. */
        void (*commit)(void *userdata, int32_t partition, int64_t offset, const char *metadata, int wait_ms);
        /* Commit offset for the partition with metadata, without waiting:
         * done() is told the coordinator's answer (error NULL: committed). */
        void (*commit_then)(void *userdata, int32_t partition, int64_t offset, const char *metadata,
                            void (*done)(void *done_userdata, int32_t partition, int64_t offset, const char *error),
                            void *done_userdata);
        /* sensord cannot go on: stop with this exit code (logged). */
        void (*failed)(void *userdata, int exit_code);
        /* The changelog takes writes again after checkpoints_congested()
         * held the pipeline: read on. */
        void (*uncongested)(void *userdata);
} CheckpointsEvents;

typedef struct Checkpoints Checkpoints;

/* The partition checkpoints written since the start, for the metrics. */
typedef struct CheckpointsStats {
        uint64_t saves;
        MetricsHistogram seconds; /* writing and fsyncing one */
        MetricsHistogram bytes;   /* of one (a delta record, or a snapshot) */
} CheckpointsStats;

const CheckpointsStats *checkpoints_stats(const Checkpoints *c);

/* With a changelog topic in config, event and events are used; without,
 * they may be NULL. -EINVAL when the changelog's Kafka clients cannot be
 * made (logged). */
int checkpoints_new(Checkpoints **out, const Config *config, sd_event *event, const CheckpointsEvents *events,
                    TxnProducer *txn);

/* With txn (exactly-once), each checkpoint and its input offsets are
 * committed in txn's open transaction, with the rows before it; the
 * pipeline takes no record until then (see checkpoints_txn.c). A
 * transaction ends: no batch may close now. */
bool checkpoints_ending_transaction(const Checkpoints *c);
Checkpoints *checkpoints_free(Checkpoints *c);

/* With a changelog: checks its topic (see changelog_start()). 0, or
 * -EHOSTUNREACH, -EINVAL or -EACCES (logged). */
int checkpoints_start(Checkpoints *c, int input_partitions);

bool checkpoints_have_changelog(const Checkpoints *c);

/* Partitions held because the changelog no longer has their state (see
 * state.lost_state), and the lowest of them in *first. */
size_t checkpoints_lost(const Checkpoints *c, int32_t *first);

/* Partitions held because the changelog has no partition for them yet
 * (added to the input), and the lowest of them in *first. */
size_t checkpoints_waiting(const Checkpoints *c, int32_t *first);

/* A reload's state.lost_state: "rebuild" rebuilds the lost partitions and
 * those whose changelog partition ended early. */
void checkpoints_set_lost_state(Checkpoints *c, int lost_state);

/* With a changelog: logs a stall of its writes that began or ended; how
 * long it has lasted in seconds (0: none, or no changelog) and the
 * broker's last error ("" if none). */
void checkpoints_check_stall(Checkpoints *c);
uint64_t checkpoints_stall_seconds(const Checkpoints *c);
void checkpoints_stall_reason(Checkpoints *c, char *buf, size_t size);

/* A held partition's latest changelog snapshot is older than
 * state.changelog_snapshot_interval: the next checkpoint writes a new one,
 * and should happen even if the input is quiet, so that the changelog's
 * retention never takes a generation that is still needed. */
bool checkpoints_snapshot_due(const Checkpoints *c);

/* Restores in progress (partitions waiting for their committed pointer or
 * reading the changelog), changelog messages read so far and to read. */
void checkpoints_restoring(const Checkpoints *c, size_t *partitions, uint64_t *read, uint64_t *to_read);

PipelineCheckpoints checkpoints_for_pipeline(Checkpoints *c);
