/* changelog_format: a partition's checkpoints as messages of its changelog
 * topic, and the pointer to them that is committed with its offset; no I/O.
 *
 * A changelog message is a frame followed by one part of a checkpoint:
 *
 *   "SNSDCLOG", u8 frame version (1), u8 kind (1 snapshot, 2 delta),
 *   u64 writer, u64 sequence, u32 part, u32 parts, then the part's bytes
 *
 * (little-endian). The parts of one checkpoint, joined in order, are the
 * bytes of checkpoint_format: a delta record, or a header and a snapshot
 * record, exactly as in the checkpoint files. A writer is one holder of
 * the partition (a random id per assignment); its sequence numbers run
 * 1, 2, 3... and its first checkpoint is a snapshot.
 *
 * The pointer goes into the offset commit's metadata, so the group
 * coordinator, which refuses commits of members it no longer knows, is
 * what decides which chain is the partition's state:
 *
 *   "sensord-changelog 1 W S@O L@P C" [" W' S'@O' L'"]
 *
 * W the writer (16 hex digits), S its snapshot's sequence and O the
 * changelog offset of that snapshot's first part, L the last checkpoint the
 * commit covers and P the offset of its last part, C the CRC-32C of that
 * last checkpoint's record (as in its record prefix, 8 hex digits). The
 * optional rest is the previous generation: writer W', snapshot S' at O',
 * whose deltas up to L' reach the state of snapshot S: the fallback when
 * snapshot S is damaged. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/state/checkpoint_format.h"
#include "lib/state/window.h"

#define CHANGELOG_FRAME_BYTES 34
#define CHANGELOG_POINTER_MAX 160
/* The metadata of the commit of where a partition starts, with nothing in
 * the changelog yet: not a pointer (changelog_pointer_parse() says
 * -ENOENT), but a commit, which a partition has before its first
 * checkpoint goes to the changelog. */
#define CHANGELOG_GENESIS "sensord-changelog start"

typedef struct ChangelogFrame {
        CheckpointKind kind;
        uint64_t writer, seq;
        uint32_t part, parts;
} ChangelogFrame;

void changelog_encode_frame(uint8_t out[CHANGELOG_FRAME_BYTES], const ChangelogFrame *f);
/* -EBADMSG if data does not start with a valid frame. */
int changelog_decode_frame(const uint8_t *data, size_t len, ChangelogFrame *f);

/* One writer's run of checkpoints: snapshot first_seq at first_offset, its
 * deltas up to last_seq (whose last part is at last_offset; -1 if unknown). */
typedef struct ChangelogChain {
        uint64_t writer;
        uint64_t first_seq;
        int64_t first_offset;
        uint64_t last_seq;
        int64_t last_offset;
} ChangelogChain;

typedef struct ChangelogPointer {
        ChangelogChain current;
        uint32_t last_crc;
        bool has_previous;
        ChangelogChain previous; /* last_offset unused */
} ChangelogPointer;

void changelog_pointer_format(const ChangelogPointer *p, char buf[CHANGELOG_POINTER_MAX]);
/* 0, -ENOENT when metadata is not a changelog pointer at all (written by
 * sensord without a changelog), -EBADMSG when it is a damaged one. */
int changelog_pointer_parse(const char *metadata, size_t len, ChangelogPointer *p);

/* Rebuilding a partition's state from changelog messages read from
 * chain_start() up to the pointer's last offset. */
typedef struct ChangelogReplay ChangelogReplay;

/* with_previous: from the previous generation's snapshot (the fallback). */
ChangelogReplay *changelog_replay_new(const ChangelogPointer *p, bool with_previous);
ChangelogReplay *changelog_replay_free(ChangelogReplay *r);
int64_t changelog_replay_start(const ChangelogReplay *r);
/* Takes one message; what the chain does not name (another writer's, a
 * zombie's, another generation's) is ignored. Returns true once the message
 * at the pointer's last offset was taken. */
bool changelog_replay_add(ChangelogReplay *r, int64_t offset, const void *value, size_t len);
/* Bytes kept of the messages taken, and how many were taken. */
void changelog_replay_counts(const ChangelogReplay *r, uint64_t *messages, uint64_t *bytes);

/* Loads the chain into state (empty) and *mark: its snapshot, then its
 * deltas in order up to the pointer's last one. A missing or damaged delta
 * ends the chain there: the state and mark are then those of the checkpoint
 * before it (an earlier, complete one), and *notice says what was skipped.
 * Returns 0; -EINVAL when the snapshot was written under another topic or
 * window geometry; -EBADMSG when the snapshot itself is missing, damaged
 * or not the pointer's; problem (and *bad_offset, -1 when no message was
 * there) say why and where. */
int changelog_replay_apply(ChangelogReplay *r, const CheckpointHeader *expect, WindowState *state,
                           CheckpointMark *mark, char *problem, size_t size, int64_t *bad_offset);
