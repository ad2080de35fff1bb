/* pipeline: messages in, result rows out, offsets released, with no I/O.
 *
 * Cuts the consumer's messages into batches (batcher), parses each value
 * (record), updates the window state (window) and, when a batch closes,
 * hands its rows to the output. Closing a batch has two phases:
 *
 *   1. the rows are written (the output's end_batch returns);
 *   2. the output is confirmed, and only then are the batch's offsets
 *      released for storing, in batch order.
 *
 * A stdout or journal output confirms at once (end_batch returns 0); an
 * output that confirms later (a Kafka producer's delivery report) returns
 * PIPELINE_PENDING and calls pipeline_batch_done(). A batch whose rows could
 * not be written releases no offsets, nor does any batch after it: the
 * records are read again after a restart. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/input/batcher.h"
#include "lib/input/record.h"
#include "lib/metrics/latency.h"
#include "lib/state/checkpoint_format.h"
#include "lib/state/window.h"
#include "sensord/partitions.h"

/* end_batch's answer when the output confirms the batch later. */
#define PIPELINE_PENDING 1
/* load's answer when the checkpoint comes later (from a changelog):
 * pipeline_restored() tells when. */
#define PIPELINE_LOAD_LATER 2
/* pipeline_assign()'s seek for a partition being restored: its messages
 * are skipped until pipeline_restored() says where to read it from. */
#define PIPELINE_SEEK_LATER (-2)

typedef struct PipelineMessage {
        int32_t partition;
        int64_t offset;
        const void *payload;
        size_t len;
        const void *key; /* for dead letters */
        size_t key_len;
        int64_t timestamp_ms; /* the message's timestamp; -1: none */
} PipelineMessage;

typedef struct PipelineOutput {
        void *userdata;
        void (*begin_batch)(void *userdata, uint64_t batch);
        WindowRowFn row; /* userdata as above */
        /* 0: written and confirmed; PIPELINE_PENDING: written, confirmed by a
         * later pipeline_batch_done(); negative errno: not written. */
        int (*end_batch)(void *userdata, uint64_t batch);
        /* Optional, for an output that confirms later. congested: it holds
         * too much unconfirmed, take no more messages for now. flush: wait
         * at most timeout_ms for the confirmations, which it hands to
         * pipeline_batch_done() meanwhile. */
        bool (*congested)(void *userdata);
        void (*flush)(void *userdata, int timeout_ms);
} PipelineOutput;

typedef struct PipelineHooks {
        void *userdata;
        /* Offsets of confirmed batches, for the consumer to store and commit. */
        void (*store_offsets)(void *userdata, const PartitionOffset *offsets, size_t n);
        /* An invalid record of batch (the open one): counted in it, reported
         * (and dead-lettered) by the caller. A negative errno fails the
         * batch as an unwritten row would. */
        int (*invalid)(void *userdata, uint64_t batch, const PipelineMessage *m, RecordError error,
                       const char *reason);
        /* Optional: a valid record of batch with late pairs, which late
         * describes (it still counted in its other windows). A negative
         * errno fails the batch as an unwritten row would. */
        int (*late)(void *userdata, uint64_t batch, const PipelineMessage *m, const WindowLate *late);
        /* Optional: the wall clock in milliseconds since the epoch, the
         * clock of Kafka's message timestamps. With it, each message's
         * produce-to-emit latency (its timestamp to the moment its batch's
         * rows are written) is counted in PipelineStats.latency. */
        int64_t (*wall_clock_ms)(void *userdata);
        /* Optional: the clock of pipeline_add()'s now_us. With it, sensord's
         * own share of the latency (each message's now_us, when the consumer
         * polled it, to the moment its batch's rows are written) is counted
         * in PipelineStats.own_latency_us. */
        uint64_t (*monotonic_us)(void *userdata);
} PipelineHooks;

/* Checkpoints, per partition. With them, a partition's state and offsets
 * come from its checkpoint when it is assigned, the offsets of confirmed
 * batches are handed over for committing only once a checkpoint holding
 * them is durable, and a revoked partition's state is checkpointed and
 * dropped (a lost one's is dropped). */
typedef struct PipelineCheckpoints {
        void *userdata;
        /* Loads a newly assigned partition's checkpoint into state (empty):
         * 1 and *mark, 0 when it has none, PIPELINE_LOAD_LATER when it
         * fills state later and calls pipeline_restored(), or a negative
         * errno (-EINVAL: it was written under other settings). */
        int (*load)(void *userdata, int32_t partition, WindowState *state, CheckpointMark *mark);
        /* Makes the partition's changes durable with mark: 0 or a negative errno. */
        int (*save)(void *userdata, int32_t partition, WindowState *state, const CheckpointMark *mark);
        /* The partition is no longer held; lost: another member holds it
         * already (nothing of it may be committed any more). It may wait at
         * most timeout_ms for its last checkpoint to count. */
        void (*close)(void *userdata, int32_t partition, bool lost, int timeout_ms);
        /* Optional: checkpoints cannot be made durable fast enough (their
         * writes stall): take no more messages for now. */
        bool (*congested)(void *userdata);
} PipelineCheckpoints;

typedef struct PipelineSettings {
        BatchLimits batch;
        OutputMode mode;
        uint64_t max_keys;
        uint64_t max_message_bytes;
        bool available_now; /* no time bound; stop at each partition's end */
        RecordShape shape;  /* where each record's fields are (input.*) */
        WatermarkScope scope; /* fixed for the pipeline's life */
        int64_t max_future_ms; /* 0: off; needs the wall_clock_ms hook */
} PipelineSettings;

/* Late data of one partition, counted since the process started. */
typedef struct PipelineLate {
        uint64_t records; /* valid records with at least one late pair */
        uint64_t pairs;
} PipelineLate;

typedef struct PipelineStats {
        uint64_t messages, bytes, invalid;
        uint64_t invalid_by_class[_RECORD_ERROR_MAX];
        uint64_t first_message_us, last_message_us;
        uint64_t batches;      /* closed with their rows written */
        int64_t last_batch_ms; /* wall clock when the last one's rows were written; 0: none */
        uint64_t late_records;
        PipelineLate *late; /* by partition id, n_late of them */
        size_t n_late, cap_late;
        Latency latency; /* produce-to-emit, of messages with a timestamp */
        Latency own_latency_us; /* polled to emitted, in microseconds */
} PipelineStats;

typedef struct Pipeline Pipeline;

/* -EINVAL for an invalid window specification. */
int pipeline_new(Pipeline **out, const WindowSpec *spec, const PipelineSettings *settings,
                 const PipelineOutput *output, const PipelineHooks *hooks, const PipelineCheckpoints *checkpoints);
Pipeline *pipeline_free(Pipeline *p);

/* Batch limits, max_keys and max_message_bytes apply from the next message
 * (an open batch that the new limits make full is closed now); the mode and
 * available_now are fixed for the pipeline's life. Returns as close_batch. */
int pipeline_set_settings(Pipeline *p, const PipelineSettings *settings);

/* Adds one message at clock reading now_us, closing batches as the limits
 * say. Messages of partitions not held, and in available-now mode those at
 * or past their partition's end, are skipped. Returns 0, or the negative
 * errno of a batch whose rows could not be written. */
int pipeline_add(Pipeline *p, const PipelineMessage *m, uint64_t now_us);

/* The consumer reached next_offset, the end of a partition for now. */
void pipeline_partition_eof(Pipeline *p, int32_t partition, int64_t next_offset);

/* Closes the open batch (and runs an empty one when idle input moved the
 * event time). Returns 0 or the output's negative errno. */
int pipeline_close_batch(Pipeline *p);

/* At the end of available-now, after the last batch: Spark's no-data
 * batch. When that batch's end made a watermark due (and the mode evicts),
 * an empty batch moves the watermark, so that append mode emits every
 * window the data finalized. Returns as pipeline_close_batch. */
int pipeline_close_due_watermark(Pipeline *p);

/* The output confirmed batch `batch`: release its offsets and those of the
 * confirmed batches before it, and take a checkpoint that waited for them.
 * Returns as pipeline_checkpoint. */
int pipeline_batch_done(Pipeline *p, uint64_t batch);

/* As pipeline_batch_done(), but a checkpoint that waited for the batch
 * waits on, for the next batch's close or pipeline_checkpoint(): for a
 * confirmation that comes while the partitions may no longer be this
 * process's (after a freeze). */
void pipeline_batch_confirmed(Pipeline *p, uint64_t batch);

/* The output of batch failed for good: nothing more is released or
 * checkpointed, so that the records are read again after a restart. */
void pipeline_batch_failed(Pipeline *p, uint64_t batch);

/* Whether to hand over more messages now. Not in available-now mode while
 * a held partition's end offset is unknown (the caller resumes after
 * pipeline_set_end()). Not while a checkpoint waits for
 * the batches in flight to be confirmed (the barrier that keeps their rows
 * out of any checkpoint until delivered), nor while the output is
 * congested. The caller resumes after pipeline_batch_done(), or when the
 * output is no longer congested. */
bool pipeline_accepts(const Pipeline *p);

/* Idle input: moves event time on by the time since the last message, as
 * if a record had arrived that much later, and closes an empty batch so that
 * windows the watermark passes are finalized. In process scope the caller
 * calls it once the input was quiet for idle_timeout; in partition scope it
 * may call it at any time, and each partition quiet for idle_timeout_us
 * moves on. Returns as close_batch. */
int pipeline_advance_idle(Pipeline *p, uint64_t now_us, uint64_t idle_timeout_us);

/* An assignment. With checkpoints, each new partition's checkpoint is
 * loaded and seek[i] receives the offset to read partitions[i] from (-1:
 * the group's committed offset, for a partition with no checkpoint yet;
 * PIPELINE_SEEK_LATER: its messages are skipped until pipeline_restored()); the watermark and the batch number continue from the checkpoints.
 * Returns 0 or the negative errno of a checkpoint that cannot be used (the
 * partition is then not held). */
int pipeline_assign(Pipeline *p, const int32_t *partitions, size_t n, int64_t *seek);

/* A partition whose load said PIPELINE_LOAD_LATER has its state: loaded
 * with mark, or none (then mark is NULL). Returns the offset to read it
 * from (mark's, or -1: the committed offset); messages of the partition
 * before this were skipped. */
int64_t pipeline_restored(Pipeline *p, int32_t partition, const CheckpointMark *mark);

/* Held partitions still being restored. */
size_t pipeline_restoring(const Pipeline *p);

/* Checkpoints every held partition at the current batch boundary, or at the
 * next one when a batch is open or unconfirmed (then messages wait, see
 * pipeline_accepts); nothing when no batch closed since the last checkpoint. Then hands the offsets it holds over
 * for committing. Returns 0 or the negative errno of a failed save. */
int pipeline_checkpoint(Pipeline *p);

/* How long a revocation waits in all, for the output's confirmations and
 * then for the revoked partitions' checkpoints, however many partitions
 * go: the rebalance callback runs on the loop's thread, so this stays well
 * under the unit's WatchdogSec (30 s) and the group's rebalance timeout.
 * pipeline_set_revoke_wait() may shorten it. */
#define PIPELINE_REVOKE_WAIT_MS 5000

/* A shorter bound than PIPELINE_REVOKE_WAIT_MS, for a short session (the
 * consumer's: a third of session.timeout.ms, so that a revocation never
 * looks like a frozen loop). */
void pipeline_set_revoke_wait(Pipeline *p, int wait_ms);
/* Revocation. The open batch is closed first, so that what was read from
 * the partitions is emitted, confirmed (the output's flush), checkpointed
 * and its offsets stored before they are given up, all within
 * PIPELINE_REVOKE_WAIT_MS. A batch still
 * unconfirmed after the flush keeps them from being checkpointed: the next
 * owner reads them again from the last checkpoint. A lost assignment
 * already belongs to another member: its offsets are dropped, never stored
 * or checkpointed, and with checkpoints its state is dropped before the
 * batch closes, so no row of it is emitted. Returns as close_batch or
 * checkpoint. */
int pipeline_revoke(Pipeline *p, const int32_t *partitions, size_t n, bool lost);

/* As pipeline_checkpoint(), even when no batch closed since the last one
 * (a changelog's periodic snapshot of an idle process). */
int pipeline_checkpoint_now(Pipeline *p);

/* Available-now: the end offset of a partition at assignment. */
void pipeline_set_end(Pipeline *p, int32_t partition, int64_t end);

/* Available-now: every partition still held has reached its end. */
bool pipeline_available_now_done(const Pipeline *p);

/* Clock reading at which the open batch must close; UINT64_MAX for none. */
uint64_t pipeline_deadline(const Pipeline *p);

/* Number of the open (or next) batch: the count of batches closed so far. */
uint64_t pipeline_batch_number(const Pipeline *p);

const PipelineStats *pipeline_stats(const Pipeline *p);
WatermarkScope pipeline_scope(const Pipeline *p);
const WindowStats *pipeline_window_stats(const Pipeline *p);

/* Every partition assigned so far (held or not), n of them. */
const Partition *pipeline_partitions(const Pipeline *p, size_t *n);
