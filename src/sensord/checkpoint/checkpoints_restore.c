/* checkpoints_restore: a newly held partition's state found. With a
 * changelog: its committed offset and pointer asked for, then the local
 * files when they hold the changelog's latest checkpoint, else the
 * changelog read from the pointer, falling back a generation when the
 * newest is damaged. */
#include "sensord/checkpoint/checkpoints_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/base/log.h"
#include "lib/base/util.h"

/* Between two attempts to read a partition's committed pointer. */
#define ASK_RETRY_USEC (1000 * 1000)

static uint64_t new_writer_id(void) {
        uint64_t id = 0;
        while (id == 0)
                if (getrandom(&id, sizeof(id), 0) != sizeof(id))
                        id = now_usec(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);
        return id;
}

/* The partition's state is in place: a new writer starts its chain with a
 * snapshot at its first save. */
static void restored(Checkpoints *c, int32_t partition, Slot *s, const CheckpointMark *mark) {
        s->phase = PHASE_HELD;
        s->writer = new_writer_id();
        s->next_seq = 0;
        s->wrote_snapshot = false;
        s->snapshot_us = now_usec(CLOCK_MONOTONIC);
        checkpoint_files_force_snapshot(s->files);
        /* a checkpoint's own offset, never the committed one, goes with its
         * state: after a fallback they differ, and a checkpoint taken before
         * anything was read (offset -1) reads from kafka.starting_offsets */
        c->events.restored(c->events.userdata, partition, mark, mark ? -1 : s->committed);
}

void checkpoints_ask(Checkpoints *c, int32_t partition, Slot *s) {
        s->asked = true;
        changelog_ask_committed(c->changelog, &partition, 1);
}

int checkpoints_on_ask_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        Checkpoints *c = userdata;
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].phase == PHASE_ASKING && !c->slots[i].asked)
                        checkpoints_ask(c, (int32_t)i, &c->slots[i]);
        return 0;
}

/* Opens the local files, loading them into the slot's state. Returns as
 * checkpoint_files_open() (logged), failing sensord on an error. */
static int open_files(Checkpoints *c, int32_t partition, Slot *s, CheckpointMark *mark) {
        CheckpointHeader header = header_of(c, partition);
        int r = checkpoint_files_open(&s->files, c->directory, &header, s->state, mark);
        if (r < 0)
                fail(c, r == -EINVAL ? EX_CONFIG : EX_IOERR);
        return r;
}

static void start_reading(Checkpoints *c, int32_t partition, Slot *s, bool with_previous) {
        changelog_replay_free(s->replay);
        s->replay = changelog_replay_new(&s->pointer, with_previous);
        s->with_previous = with_previous;
        s->phase = PHASE_RESTORING;
        changelog_read_from(c->changelog, partition, changelog_replay_start(s->replay));
}

void checkpoints_on_committed(void *userdata, int32_t partition, int64_t offset, const char *metadata, size_t len,
                              const char *error) {
        Checkpoints *c = userdata;
        Slot *s = (size_t)partition < c->n_slots ? &c->slots[partition] : NULL;
        if (!s || s->phase != PHASE_ASKING || !s->asked)
                return; /* revoked meanwhile */
        s->asked = false;
        if (error) {
                log_notice("%s/%" PRId32 ": cannot read the committed offset yet (%s); asking again", c->header.topic,
                           partition, error);
                sd_event_source_set_time_relative(c->ask_retry, ASK_RETRY_USEC);
                sd_event_source_set_enabled(c->ask_retry, SD_EVENT_ONESHOT);
                return;
        }
        s->committed = offset;
        int p = metadata ? changelog_pointer_parse(metadata, len, &s->pointer) : -ENOENT;
        if (p == -EBADMSG) {
                log_error("%s/%" PRId32 ": the committed offset's metadata is a damaged changelog pointer (\"%.*s\"); "
                          "the partition's state cannot be found",
                          c->header.topic, partition, (int)len, metadata);
                fail(c, EX_IOERR);
                return;
        }
        s->has_pointer = p == 0;

        CheckpointMark mark;
        int r = open_files(c, partition, s, &mark);
        if (r < 0)
                return;
        if (!s->has_pointer) {
                /* nothing in the changelog for it yet: the local files, as
                 * without a changelog */
                if (r == 1)
                        log_info("%s/%" PRId32 ": state restored from its checkpoint: batch %" PRIu64 ", offset %" PRId64
                                 " (no changelog checkpoint committed yet)",
                                 c->header.topic, partition, mark.next_batch, mark.next_offset);
                restored(c, partition, s, r == 1 ? &mark : NULL);
                return;
        }
        s->has_base = true;
        s->base = s->pointer.current;
        if (r == 1 && checkpoint_files_last_crc(s->files) == s->pointer.last_crc && mark.next_offset == offset) {
                log_info("%s/%" PRId32 ": state restored from its local checkpoint, the changelog's latest: batch %" PRIu64
                         ", offset %" PRId64,
                         c->header.topic, partition, mark.next_batch, mark.next_offset);
                restored(c, partition, s, &mark);
                return;
        }
        if (r == 1)
                log_info("%s/%" PRId32 ": the local checkpoint (offset %" PRId64 ") is not the changelog's latest "
                         "(offset %" PRId64 "); restoring from changelog %s",
                         c->header.topic, partition, mark.next_offset, offset, c->changelog_topic);
        window_state_discard(s->state);
        s->restore_start_us = now_usec(CLOCK_MONOTONIC);
        start_reading(c, partition, s, false);
}

static void finish_restore(Checkpoints *c, int32_t partition, Slot *s) {
        CheckpointHeader header = header_of(c, partition);
        CheckpointMark mark;
        char problem[1024];
        int64_t bad;
        uint64_t messages, bytes;
        changelog_read_stop(c->changelog, partition);
        changelog_replay_counts(s->replay, &messages, &bytes);
        window_state_discard(s->state);
        int r = changelog_replay_apply(s->replay, &header, s->state, &mark, problem, sizeof(problem), &bad);
        s->replay = changelog_replay_free(s->replay);
        if (r == -EBADMSG && !s->with_previous && s->pointer.has_previous) {
                log_warning("changelog %s/%" PRId32 ": %s; falling back to the previous generation", c->changelog_topic,
                            partition, problem);
                window_state_discard(s->state);
                start_reading(c, partition, s, true);
                return;
        }
        if (r < 0) {
                window_state_discard(s->state);
                log_error("changelog %s/%" PRId32 " at offset %" PRId64 ": %s. Nothing was loaded. %s",
                          c->changelog_topic, partition, bad, problem,
                          r == -EINVAL ? "Restore it with the settings it was written under"
                                       : "The partition's state is lost; to start it afresh from the committed offset, "
                                         "commit that offset without metadata (kafka-consumer-groups --reset-offsets)");
                fail(c, r == -EINVAL ? EX_CONFIG : EX_IOERR);
                return;
        }
        if (problem[0])
                log_warning("changelog %s/%" PRId32 ": %s", c->changelog_topic, partition, problem);
        log_info("%s/%" PRId32 ": state restored from changelog %s in %" PRIu64 " ms (%" PRIu64 " messages, %" PRIu64
                 " bytes read): batch %" PRIu64 ", offset %" PRId64,
                 c->header.topic, partition, c->changelog_topic, (now_usec(CLOCK_MONOTONIC) - s->restore_start_us) / 1000,
                 messages, bytes, mark.next_batch, mark.next_offset);
        r = checkpoint_files_reset(s->files, s->state, &mark);
        if (r < 0) {
                log_error("cannot write the restored checkpoint of %s/%" PRId32 " in %s: %s", c->header.topic, partition,
                          c->directory, strerror(-r));
                fail(c, EX_IOERR);
                return;
        }
        restored(c, partition, s, &mark);
}

void checkpoints_on_read(void *userdata, int32_t partition, int64_t offset, const void *value, size_t len, bool end) {
        Checkpoints *c = userdata;
        Slot *s = (size_t)partition < c->n_slots ? &c->slots[partition] : NULL;
        if (!s || s->phase != PHASE_RESTORING || !s->replay)
                return;
        /* the end of what is there (before the pointer's offset: lost to
         * retention) ends the read as well as the pointer's offset does */
        if (end || changelog_replay_add(s->replay, offset, value, len))
                finish_restore(c, partition, s);
}
