/* checkpoints_restore: a newly held partition's state found. With a
 * changelog: its committed offset and pointer asked for, then the local
 * files when they hold the changelog's latest checkpoint, else the
 * changelog read from the pointer, falling back a generation when the
 * newest is damaged. */
#include "sensord/checkpoint/checkpoints_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/base/log.h"
#include "lib/base/util.h"

/* Between two attempts to read a partition's committed pointer. */
#define ASK_RETRY_USEC (1000 * 1000)
/* Between two asks for a changelog partition that does not exist yet. */
#define MISSING_RETRY_USEC (5 * 1000 * 1000)
/* Before a changelog partition that ended early is read again. */
#define READ_RETRY_USEC (5 * 1000 * 1000)

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
        s->files = checkpoint_files_free(s->files); /* a rebuild asks again with them open */
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
        s->read_end = CHANGELOG_READ_MESSAGE;
        s->read_again_us = 0;
        changelog_read_from(c->changelog, partition, changelog_replay_start(s->replay));
}

static void log_rebuild(Checkpoints *c, int32_t partition) {
        log_warning("%s/%" PRId32 ": rebuilding its state from the earliest record %s still holds (state.lost_state "
                    "\"rebuild\"): the windows of records it no longer holds miss them, and their rows are "
                    "emitted again from what is left",
                    c->header.topic, partition, c->header.topic);
}

/* Starts the partition afresh from the earliest record the input topic
 * still holds: what retention deleted from it is missing from its windows. */
static void rebuild(Checkpoints *c, int32_t partition, Slot *s) {
        if (s->no_commit) {
                /* where the input starts now, and its commit first (see
                 * start_afresh()) */
                s->rebuilding = true;
                s->phase = PHASE_ASKING;
                checkpoints_ask(c, partition, s);
                return;
        }
        log_rebuild(c, partition);
        window_state_discard(s->state);
        s->has_base = false;
        s->lost = NULL;
        s->committed = RD_KAFKA_OFFSET_BEGINNING;
        restored(c, partition, s, NULL);
}

/* The changelog no longer holds the partition's state: the partition is
 * held, unread, and the other partitions flow on; state.lost_state says
 * whether it is rebuilt. */
static void lose(Checkpoints *c, int32_t partition, Slot *s, const char *why, const char *problem) {
        changelog_read_stop(c->changelog, partition);
        s->replay = changelog_replay_free(s->replay);
        window_state_discard(s->state);
        s->phase = PHASE_LOST;
        s->lost = why;
        log_error("%s/%" PRId32 ": its state is %s (changelog %s/%" PRId32 ": %s). sensord holds the partition, "
                  "reading none of it; the others go on. To rebuild it from the earliest record %s still holds, set "
                  "state.lost_state = \"rebuild\" and reload (systemctl reload sensord)",
                  c->header.topic, partition, why, c->changelog_topic, partition, problem, c->header.topic);
        if (c->lost_state == LOST_STATE_REBUILD)
                rebuild(c, partition, s);
}

void checkpoints_rebuild_lost(Checkpoints *c) {
        for (size_t i = 0; i < c->n_slots; i++) {
                Slot *s = &c->slots[i];
                if (s->phase == PHASE_RESTORING && s->early_ends > 0) {
                        /* the operator's word: it is not coming */
                        changelog_read_stop(c->changelog, (int32_t)i);
                        s->replay = changelog_replay_free(s->replay);
                        s->read_again_us = 0;
                } else if (s->phase != PHASE_LOST) {
                        continue;
                }
                rebuild(c, (int32_t)i, s);
        }
}

int checkpoints_on_read_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        Checkpoints *c = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC), next = UINT64_MAX;
        for (size_t i = 0; i < c->n_slots; i++) {
                Slot *s = &c->slots[i];
                if (s->phase != PHASE_RESTORING || !s->read_again_us)
                        continue;
                if (s->read_again_us <= now)
                        start_reading(c, (int32_t)i, s, false);
                else if (s->read_again_us < next)
                        next = s->read_again_us;
        }
        if (next != UINT64_MAX) {
                sd_event_source_set_time(c->read_retry, next);
                sd_event_source_set_enabled(c->read_retry, SD_EVENT_ONESHOT);
        }
        return 0;
}

/* The changelog partition ended before the checkpoint the pointer names: a
 * replica that is behind the one that took the writes, or metadata not yet
 * up to date. Read again later; the partition waits meanwhile. */
static void read_again_later(Checkpoints *c, int32_t partition, Slot *s, const char *problem) {
        changelog_read_stop(c->changelog, partition);
        s->replay = changelog_replay_free(s->replay);
        window_state_discard(s->state);
        s->early_ends++;
        if (s->early_ends == 1 || s->early_ends % 12 == 0)
                log_warning("changelog %s/%" PRId32 " ends before the checkpoint its pointer names (%s), %u time(s) so "
                            "far: a replica behind, or a log cut short; reading it again every %d s. If it never "
                            "comes, set state.lost_state = \"rebuild\" and reload",
                            c->changelog_topic, partition, problem, s->early_ends, READ_RETRY_USEC / 1000000);
        s->read_again_us = now_usec(CLOCK_MONOTONIC) + READ_RETRY_USEC;
        sd_event_source_set_time(c->read_retry, s->read_again_us);
        sd_event_source_set_enabled(c->read_retry, SD_EVENT_ONESHOT);
}

/* The partition's slot, whose committed-offset request (or start commit)
 * is answered: NULL when the partition was revoked meanwhile. */
static Slot *answered(Checkpoints *c, int32_t partition) {
        Slot *s = (size_t)partition < c->n_slots ? &c->slots[partition] : NULL;
        if (!s || s->phase != PHASE_ASKING || !s->asked)
                return NULL;
        s->asked = false;
        return s;
}

/* Asks again, after ASK_RETRY_USEC, for every partition still asking. */
static void ask_again_later(Checkpoints *c) {
        sd_event_source_set_time_relative(c->ask_retry, ASK_RETRY_USEC);
        sd_event_source_set_enabled(c->ask_retry, SD_EVENT_ONESHOT);
}

void checkpoints_on_missing(void *userdata, int32_t partition, const char *why) {
        Checkpoints *c = userdata;
        Slot *s = answered(c, partition);
        if (!s)
                return; /* revoked meanwhile */
        s->no_changelog_partition = true;
        if (s->missing_asks++ % 60 == 0)
                log_error("%s/%" PRId32 ": changelog %s has no partition %" PRId32 " for its state, so sensord holds "
                          "it, reading none of it, and looks again every %d s; the others go on. %s",
                          c->header.topic, partition, c->changelog_topic, partition, MISSING_RETRY_USEC / 1000000, why);
        if (sd_event_source_get_enabled(c->ask_retry, NULL) == 0) {
                sd_event_source_set_time_relative(c->ask_retry, MISSING_RETRY_USEC);
                sd_event_source_set_enabled(c->ask_retry, SD_EVENT_ONESHOT);
        }
}

/* Before the group has a commit for a partition, none of its checkpoints
 * goes to the changelog: where it starts is committed first (its genesis).
 * A changelog partition written to with no commit for it then means one
 * thing: the pointer is gone (expired or deleted), never a host that died
 * between its first checkpoint's delivery and its commit. */
static void start_afresh(Checkpoints *c, int32_t partition, Slot *s, int64_t offset) {
        s->committed = offset;
        s->genesis_pending = true;
        s->asked = true; /* the commit is the request out */
        c->events.commit_then(c->events.userdata, partition, offset, CHANGELOG_GENESIS, checkpoints_on_genesis, c);
}

void checkpoints_on_genesis(void *userdata, int32_t partition, int64_t offset, const char *error) {
        Checkpoints *c = userdata;
        Slot *s = (size_t)partition < c->n_slots ? &c->slots[partition] : NULL;
        if (!s || s->phase != PHASE_ASKING || !s->genesis_pending || s->committed != offset)
                return; /* revoked meanwhile */
        s->genesis_pending = false;
        s->asked = false;
        if (error) {
                log_notice("%s/%" PRId32 ": cannot commit where it starts (offset %" PRId64 ") yet (%s); asking again",
                           c->header.topic, partition, offset, error);
                ask_again_later(c);
                return;
        }
        s->no_commit = false;
        if (s->rebuilding) {
                s->rebuilding = false;
                s->lost = NULL;
                window_state_discard(s->state);
                restored(c, partition, s, NULL);
                return;
        }
        CheckpointMark mark;
        int r = open_files(c, partition, s, &mark);
        if (r < 0)
                return;
        if (r == 1)
                log_info("%s/%" PRId32 ": state restored from its checkpoint: batch %" PRIu64 ", offset %" PRId64
                         " (nothing committed for it yet)",
                         c->header.topic, partition, mark.next_batch, mark.next_offset);
        restored(c, partition, s, r == 1 ? &mark : NULL);
}

/* A changelog partition that exists again after missing_asks. */
static void changelog_partition_found(Checkpoints *c, int32_t partition, Slot *s) {
        if (!s->no_changelog_partition)
                return;
        log_notice("%s/%" PRId32 ": changelog %s has partition %" PRId32 " now; restoring it", c->header.topic,
                   partition, c->changelog_topic, partition);
        s->no_changelog_partition = false;
}

void checkpoints_on_fresh(void *userdata, int32_t partition, const ChangelogFresh *fresh) {
        Checkpoints *c = userdata;
        Slot *s = answered(c, partition);
        if (!s)
                return; /* revoked meanwhile */
        changelog_partition_found(c, partition, s);
        s->no_commit = true;
        if (fresh->changelog_end <= 0) {
                start_afresh(c, partition, s, c->earliest ? fresh->input_low : fresh->input_high);
                return;
        }
        CheckpointMark mark;
        if (s->rebuilding || c->lost_state == LOST_STATE_REBUILD) {
                if (!s->files && open_files(c, partition, s, &mark) < 0)
                        return;
                s->rebuilding = true;
                log_rebuild(c, partition);
                start_afresh(c, partition, s, fresh->input_low);
                return;
        }
        char problem[1024];
        snprintf(problem, sizeof(problem),
                 "it was written up to offset %" PRId64 ", but the group has no committed offset for %s/%" PRId32
                 ": the brokers dropped it (offsets.retention.minutes after the group last emptied), or it was "
                 "deleted, and the local files cannot tell whether they are the latest",
                 fresh->changelog_end, c->header.topic, partition);
        if (open_files(c, partition, s, &mark) >= 0)
                lose(c, partition, s, "not to be found: its committed pointer is gone", problem);
}

void checkpoints_on_committed(void *userdata, int32_t partition, int64_t offset, const char *metadata, size_t len,
                              const char *error) {
        Checkpoints *c = userdata;
        Slot *s = answered(c, partition);
        if (!s)
                return; /* revoked meanwhile */
        if (!error)
                changelog_partition_found(c, partition, s);
        if (error) {
                log_notice("%s/%" PRId32 ": cannot read the committed offset yet (%s); asking again", c->header.topic,
                           partition, error);
                ask_again_later(c);
                return;
        }
        s->committed = offset;
        s->no_commit = s->rebuilding = false;
        int p = metadata ? changelog_pointer_parse(metadata, len, &s->pointer) : -ENOENT;
        if (p == -EBADMSG) {
                char problem[CHANGELOG_POINTER_MAX + 64];
                snprintf(problem, sizeof(problem), "the committed pointer is damaged: \"%.*s\"",
                         (int)(len < CHANGELOG_POINTER_MAX ? len : CHANGELOG_POINTER_MAX), metadata);
                CheckpointMark mark;
                if (open_files(c, partition, s, &mark) >= 0)
                        lose(c, partition, s, "not to be found", problem);
                return;
        }
        s->has_pointer = p == 0;

        CheckpointMark mark;
        int r = open_files(c, partition, s, &mark);
        if (r < 0)
                return;
        if (!s->has_pointer && r == 1 && c->txn) {
                /* exactly-once: only a committed checkpoint counts, and none
                 * is; these files hold one whose transaction was aborted (its
                 * rows never visible), so the partition starts where it
                 * started, and its first save writes a snapshot over them */
                log_info("%s/%" PRId32 ": its local checkpoint (offset %" PRId64 ") was never committed; starting "
                         "from the start commit",
                         c->header.topic, partition, mark.next_offset);
                window_state_discard(s->state);
                restored(c, partition, s, NULL);
                return;
        }
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
        if (r == -EBADMSG && !s->with_previous && s->read_end == CHANGELOG_READ_END) {
                read_again_later(c, partition, s, problem);
                return;
        }
        if (r == -EBADMSG && !s->with_previous && s->pointer.has_previous) {
                log_warning("changelog %s/%" PRId32 ": %s; falling back to the previous generation", c->changelog_topic,
                            partition, problem);
                window_state_discard(s->state);
                start_reading(c, partition, s, true);
                return;
        }
        if (r == -EINVAL) {
                window_state_discard(s->state);
                log_error("changelog %s/%" PRId32 " at offset %" PRId64 ": %s. Nothing was loaded. Restore it with the "
                          "settings it was written under",
                          c->changelog_topic, partition, bad, problem);
                fail(c, EX_CONFIG);
                return;
        }
        if (r < 0) {
                lose(c, partition, s, s->read_end == CHANGELOG_READ_GONE ? "lost to the changelog's retention" : "damaged",
                     problem);
                return;
        }
        s->early_ends = 0;
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

void checkpoints_on_read(void *userdata, int32_t partition, int64_t offset, const void *value, size_t len,
                         ChangelogRead what) {
        Checkpoints *c = userdata;
        Slot *s = (size_t)partition < c->n_slots ? &c->slots[partition] : NULL;
        if (!s || s->phase != PHASE_RESTORING || !s->replay)
                return;
        /* the end of what is there (before the pointer's offset: the
         * partition ends early, or retention took its start) ends the read
         * as well as the pointer's offset does */
        s->read_end = what;
        if (what != CHANGELOG_READ_MESSAGE || changelog_replay_add(s->replay, offset, value, len))
                finish_restore(c, partition, s);
}
