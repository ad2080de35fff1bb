/* partitions: what sensord knows of each partition it has been assigned,
 * with no I/O. For each partition: whether it is held now, the next offset
 * after the open batch's last message from it (released for storing when
 * that batch's output is confirmed), and in available-now mode the end
 * offset the run stops at. The consumer's rebalance callback drives
 * assignment and revocation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/state/window.h"

typedef struct PartitionOffset {
        int32_t partition;
        int64_t offset;   /* the next offset to read */
        uint64_t holding; /* of which holding of the partition (Partition.holding) */
} PartitionOffset;

typedef struct Partition {
        int32_t id;
        bool held;       /* assigned and not revoked since */
        int64_t pending; /* next offset after the open batch's messages from it; -1: none */
        int64_t end;     /* available-now: first offset not to process; -1 until known */
        bool done;       /* available-now: everything before end was read */
        bool restoring;  /* its state is on its way: its messages are skipped */
        uint64_t holding; /* counts its assignments: a batch read in an earlier
                             one releases no offset into this one */
        int64_t confirmed;  /* next offset after the confirmed batches; -1: none */
        int64_t stored;     /* what was last handed over for committing */
        uint64_t idle_since_us;    /* partition scope: its last message (0: none in this holding yet) */
        int64_t idle_base_event_ms; /* its maximum event time then */
        WindowState *state; /* its (window, sensor) aggregates */
} Partition;

typedef struct Partitions {
        Partition *items; /* sorted by id; revoked partitions stay, with held false */
        size_t n, cap;
        bool settled; /* the last rebalance event was an assignment */
        bool ends_unknown; /* a held partition has no end offset yet */
} Partitions;

/* Frees the partitions and their window states. */
void partitions_free(Partitions *ps);

/* An assignment (the full list for eager rebalancing, the added partitions
 * for cooperative): the partitions are held from now on. A partition
 * without a window state gets an empty one in windows. */
void partitions_assign(Partitions *ps, const int32_t *ids, size_t n, Windows *windows);

/* A revocation: the partitions are no longer held and their pending offset
 * is dropped. With drop_state their window state goes too (it is in their
 * checkpoint, and the next owner loads it from there); otherwise it is kept
 * for when they come back. Until the next assignment the set is not
 * settled. */
void partitions_revoke(Partitions *ps, const int32_t *ids, size_t n, bool drop_state);

/* The held partition id, or NULL. */
Partition *partitions_held(Partitions *ps, int32_t id);

/* Appends the held partitions' pending offsets to *out (capacity *cap) and
 * clears them. Returns how many were appended. */
size_t partitions_take_pending(Partitions *ps, PartitionOffset **out, size_t *n, size_t *cap);

/* Available-now: the end offset of a partition, kept from the first answer
 * for the whole run (a reassigned partition keeps its end). */
void partitions_set_end(Partitions *ps, int32_t id, int64_t end);

/* Available-now: the set is settled and every held partition has reached
 * its end. True for a settled empty set: another member holds the rest. */
bool partitions_all_done(const Partitions *ps);

/* Available-now: every held partition's end offset is known. */
bool partitions_ends_known(const Partitions *ps);
