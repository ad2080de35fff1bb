/* checkpoint_files: one partition's checkpoint on disk, in
 * state.directory/<group_id>/<topic>-<partition>/:
 *
 *   snapshot.<G>  the whole state at the start of generation G (none for 0)
 *   delta.<G>     the checkpoints since, appended and fsynced one by one
 *
 * A checkpoint appends a delta record (the entries changed and windows
 * evicted since the previous one, the offset, the watermark, the batch
 * number). Once the log outgrows the state, the state is also written as
 * snapshot.<G+1> (temp file, fsync, rename, fsync of the directory) with an
 * empty delta.<G+1>, and the files older than generation G are removed:
 * generation G, whose log reaches the same state, stays as the fallback.
 *
 * Loading reads the newest snapshot and replays its deltas, stopping at the
 * first torn or damaged record, whose tail is truncated with a notice. A
 * damaged snapshot falls back to the previous generation. What cannot be
 * recovered is refused, never half-loaded, and nothing is deleted. */
#pragma once

#include <stdint.h>

#include "lib/state/checkpoint_format.h"
#include "lib/state/window.h"

typedef struct CheckpointFiles CheckpointFiles;

/* Opens (creating if need be) the partition's directory and loads its
 * checkpoint into state, an empty WindowState. Returns 1 and *mark when a
 * checkpoint was loaded, 0 when the partition has none yet. Errors, each
 * logged with the file, the offset in it and the way out: -EINVAL when it
 * was written under another topic or window geometry (exit 78), -EBADMSG
 * when it is damaged beyond recovery, another negative errno when it
 * cannot be read or written (exit 74). */
int checkpoint_files_open(CheckpointFiles **out, const char *state_dir, const CheckpointHeader *expect,
                          WindowState *state, CheckpointMark *mark);
CheckpointFiles *checkpoint_files_free(CheckpointFiles *f);

/* Makes the state's changes since the previous checkpoint durable with
 * mark: a delta record, or a new snapshot when the log has outgrown the
 * state. Returns 0 or a negative errno. */
int checkpoint_files_save(CheckpointFiles *f, WindowState *state, const CheckpointMark *mark);

/* Told each record a save made durable: a delta record, or a header and a
 * snapshot record, the bytes as in the file. */
typedef void (*CheckpointWrittenFn)(void *userdata, CheckpointKind kind, const uint8_t *bytes, size_t len);
void checkpoint_files_on_written(CheckpointFiles *f, CheckpointWrittenFn fn, void *userdata);

/* The next save also writes a snapshot, whatever the log's size. */
void checkpoint_files_force_snapshot(CheckpointFiles *f);

/* Replaces every generation with the state as snapshot.1 at mark (not
 * told to the written callback): for a state that came from elsewhere (a
 * changelog). Returns 0 or a negative errno. */
int checkpoint_files_reset(CheckpointFiles *f, WindowState *state, const CheckpointMark *mark);

/* The CRC-32C of the newest record loaded or written; 0 before any. */
uint32_t checkpoint_files_last_crc(const CheckpointFiles *f);

/* Bytes written by the last save, for the benchmark and the debug log. */
uint64_t checkpoint_files_last_bytes(const CheckpointFiles *f);
