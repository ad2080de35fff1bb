/* checkpoints_internal: what the checkpoint orchestration's files share,
 * and no caller needs. A slot per partition id, in one of four phases; the
 * restore (checkpoints_restore.c) moves it from asking to held, the
 * changelog writer (checkpoints_writer.c) produces its checkpoints and
 * commits their offsets once delivered, checkpoints.c serves the pipeline. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/state/changelog_format.h"
#include "sensord/checkpoint/checkpoint_files.h"
#include "sensord/checkpoint/checkpoints.h"
#include "sensord/kafka/producers/changelog.h"

typedef enum Phase {
        PHASE_NONE,      /* not held */
        PHASE_ASKING,    /* waiting for the committed offset and pointer */
        PHASE_RESTORING, /* reading the changelog, or waiting to read it again */
        PHASE_HELD,      /* state in place */
        PHASE_LOST,      /* the changelog no longer has its state: not read until state.lost_state says */
} Phase;

/* A checkpoint produced to the changelog, not yet wholly delivered. */
typedef struct Produced {
        uint64_t id; /* the delivery reports' token */
        uint64_t seq;
        CheckpointKind kind;
        uint32_t parts_left, crc;
        int64_t first_offset, last_offset;
} Produced;

/* Offsets to commit once the changelog holds checkpoint seq. */
typedef struct Intent {
        uint64_t seq;
        int64_t offset;
} Intent;

typedef struct Slot {
        CheckpointFiles *files;
        Phase phase;
        WindowState *state; /* the pipeline's, from load to close */
        bool asked;         /* a committed-offset request is out */
        /* the changelog has no partition for it (yet): asked again every
         * MISSING_RETRY_USEC, told at the first and every 60th */
        bool no_changelog_partition;
        unsigned missing_asks;

        /* restore */
        int64_t committed;
        bool has_pointer;
        ChangelogPointer pointer;
        ChangelogReplay *replay;
        bool with_previous;
        uint64_t restore_start_us;
        ChangelogRead read_end;  /* how the read ended */
        uint64_t read_again_us;  /* the changelog partition ended early: read again then; 0: not waiting */
        unsigned early_ends;     /* of this restore, for the log */
        const char *lost;        /* PHASE_LOST: why */
        /* the group has no committed offset for it at all: starting afresh
         * (or rebuilding) waits for the commit of where it starts */
        bool no_commit, genesis_pending, rebuilding;

        /* writer: this holder's chain of checkpoints in the changelog */
        uint64_t writer, next_seq;
        bool wrote_snapshot;      /* the first checkpoint of a writer is a snapshot */
        uint64_t snapshot_us;     /* when the chain's latest snapshot was written (or taken over) */
        bool has_chain;           /* a checkpoint of this writer was delivered */
        ChangelogPointer chain;   /* where the delivered checkpoints are */
        bool has_base;            /* the chain this holder's state came from */
        ChangelogChain base;
        Produced *produced;
        size_t n_produced, cap_produced;
        Intent *intents;
        size_t n_intents, cap_intents;
        bool closing; /* commits wait for their answer, until close_deadline_us */
        bool txn_stale; /* exactly-once: a transaction with its changes was aborted */
        bool broken;  /* a delivery failed: nothing more is committed */
} Slot;

struct Checkpoints {
        char *directory;
        char *changelog_topic;
        CheckpointHeader header; /* partition filled in per use */
        Slot *slots;             /* by partition id */
        size_t n_slots;
        Changelog *changelog; /* NULL: none */
        CheckpointsEvents events;
        sd_event_source *ask_retry;
        sd_event_source *read_retry; /* reads again the partitions that ended early */
        int lost_state;              /* LostState */
        bool earliest;               /* kafka.starting_offsets */
        uint64_t last_id;
        uint64_t snapshot_interval_us;
        uint64_t close_deadline_us; /* a revocation's, for the closing commits */
        bool held; /* congested() held the pipeline: tell uncongested() */
        /* exactly-once: the producer whose transactions hold each
         * checkpoint; a checkpoint is in its open transaction, which the
         * pipeline waits for (congested()) until committed */
        TxnProducer *txn;
        bool in_txn;
        sd_event_source *txn_end; /* ends the transaction once its parts are delivered */
        CheckpointsStats stats;
};

static inline void fail(Checkpoints *c, int exit_code) {
        c->events.failed(c->events.userdata, exit_code);
}

/* The changelog cannot take more now, or a transaction ends. */
static inline bool is_congested(const Checkpoints *c) {
        return c->changelog && (changelog_congested(c->changelog) || c->in_txn);
}

/* Tells uncongested() when congested() held the pipeline and no longer would. */
static inline void release_hold(Checkpoints *c) {
        if (c->held && !is_congested(c)) {
                c->held = false;
                c->events.uncongested(c->events.userdata);
        }
}

static inline CheckpointHeader header_of(const Checkpoints *c, int32_t partition) {
        CheckpointHeader h = c->header;
        h.partition = partition;
        return h;
}

/* --- the restore (checkpoints_restore.c) --- */

/* Asks for the partition's committed offset and pointer. */
void checkpoints_ask(Checkpoints *c, int32_t partition, Slot *s);

/* The changelog's events while restoring, and the retry of a failed ask. */
int checkpoints_on_ask_retry(sd_event_source *source, uint64_t usec, void *userdata);
void checkpoints_on_committed(void *userdata, int32_t partition, int64_t offset, const char *metadata, size_t len,
                              const char *error);
void checkpoints_on_missing(void *userdata, int32_t partition, const char *why);
void checkpoints_on_fresh(void *userdata, int32_t partition, const ChangelogFresh *fresh);
/* The answer to the commit of where a partition starts afresh. */
void checkpoints_on_genesis(void *userdata, int32_t partition, int64_t offset, const char *error);
void checkpoints_on_read(void *userdata, int32_t partition, int64_t offset, const void *value, size_t len,
                         ChangelogRead what);
/* The read_retry timer's. */
int checkpoints_on_read_retry(sd_event_source *source, uint64_t usec, void *userdata);
/* Rebuilds every lost partition, and those waiting for a changelog
 * partition that ended early (state.lost_state "rebuild", at a reload). */
void checkpoints_rebuild_lost(Checkpoints *c);

/* --- the changelog writer (checkpoints_writer.c) --- */

/* A local save in progress, for checkpoints_on_written(). */
typedef struct Saving {
        Checkpoints *c;
        int32_t partition;
        Slot *slot;
} Saving;

/* Each record a local save made durable goes to the changelog too. */
void checkpoints_on_written(void *userdata, CheckpointKind kind, const uint8_t *bytes, size_t len);

/* --- exactly-once (checkpoints_txn.c) --- */

/* Every part produced is delivered: no checkpoint waits in the changelog. */
bool checkpoints_all_delivered(const Checkpoints *c);
/* The txn_end source's: commits the open transaction, again a little
 * later while librdkafka says to, and stops sensord when it was aborted. */
int checkpoints_on_txn_end(sd_event_source *source, uint64_t usec, void *userdata);
/* Runs the txn_end source after delay_us. */
void checkpoints_txn_end_after(Checkpoints *c, uint64_t delay_us);
/* A revocation's (or a stop's): the open transaction committed within
 * timeout_ms when it holds a checkpoint wholly delivered, else aborted;
 * lost: aborted, the partitions are another member's. */
void checkpoints_txn_close(Checkpoints *c, int32_t partition, bool lost, int timeout_ms);

/* A changelog message's delivery report. */
void checkpoints_on_delivered(void *userdata, int32_t partition, uint64_t token, int64_t offset, const char *error);
