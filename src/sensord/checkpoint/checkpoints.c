/* checkpoints: one CheckpointFiles per held partition, by partition id,
 * and with a changelog each partition's restore and changelog writer. */
#include "sensord/checkpoint/checkpoints.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "lib/state/changelog_format.h"
#include "sensord/checkpoint/checkpoint_files.h"
#include "sensord/kafka/changelog.h"

/* Bounds the wait for a revoked partition's last changelog messages. */
#define REVOKE_FLUSH_MS 10000
/* Between two attempts to read a partition's committed pointer. */
#define ASK_RETRY_USEC (1000 * 1000)

typedef enum Phase {
        PHASE_NONE,      /* not held */
        PHASE_ASKING,    /* waiting for the committed offset and pointer */
        PHASE_RESTORING, /* reading the changelog */
        PHASE_HELD,      /* state in place */
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

        /* restore */
        int64_t committed;
        bool has_pointer;
        ChangelogPointer pointer;
        ChangelogReplay *replay;
        bool with_previous;
        uint64_t restore_start_us;

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
        bool closing; /* commits are synchronous */
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
        uint64_t last_id;
        uint64_t snapshot_interval_us;
        CheckpointsStats stats;
};

static const double seconds_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
static const double bytes_bounds[] = { 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456 };

static Slot *slot(Checkpoints *c, int32_t partition) {
        if ((size_t)partition >= c->n_slots) {
                size_t n = (size_t)partition + 1;
                c->slots = xrealloc(c->slots, n * sizeof(*c->slots));
                memset(c->slots + c->n_slots, 0, (n - c->n_slots) * sizeof(*c->slots));
                c->n_slots = n;
        }
        return &c->slots[partition];
}

static void slot_reset(Checkpoints *c, int32_t partition, Slot *s) {
        if (s->replay && c->changelog)
                changelog_read_stop(c->changelog, partition);
        checkpoint_files_free(s->files);
        changelog_replay_free(s->replay);
        free(s->produced);
        free(s->intents);
        *s = (Slot){ .phase = PHASE_NONE };
}

static void fail(Checkpoints *c, int exit_code) {
        c->events.failed(c->events.userdata, exit_code);
}

static CheckpointHeader header_of(const Checkpoints *c, int32_t partition) {
        CheckpointHeader h = c->header;
        h.partition = partition;
        return h;
}

/* --- writing: checkpoints to the changelog, commits once delivered --- */

static void produce(Checkpoints *c, int32_t partition, Slot *s, CheckpointKind kind, const uint8_t *bytes, size_t len,
                    uint32_t crc) {
        size_t part_max = changelog_part_max(c->changelog);
        uint32_t parts = (uint32_t)(len / part_max + (len % part_max != 0));
        uint64_t seq = ++s->next_seq, id = ++c->last_id;
        ARRAY_RESERVE(s->produced, s->cap_produced, s->n_produced + 1);
        s->produced[s->n_produced++] =
                (Produced){ .id = id, .seq = seq, .kind = kind, .parts_left = parts, .crc = crc, .first_offset = -1,
                            .last_offset = -1 };
        for (uint32_t i = 0; i < parts; i++) {
                size_t n = i + 1 < parts ? part_max : len - (size_t)i * part_max;
                ChangelogFrame f = { kind, s->writer, seq, i, parts };
                changelog_produce(c->changelog, partition, &f, bytes + (size_t)i * part_max, n, id);
        }
}

typedef struct Saving {
        Checkpoints *c;
        int32_t partition;
        Slot *slot;
} Saving;

/* Each record a local save made durable goes to the changelog too, but a
 * writer's first delta: its first checkpoint is the snapshot that follows. */
static void on_written(void *userdata, CheckpointKind kind, const uint8_t *bytes, size_t len) {
        Saving *sv = userdata;
        Slot *s = sv->slot;
        uint32_t crc;
        if (kind == CHECKPOINT_DELTA) {
                if (!s->wrote_snapshot)
                        return;
                crc = checkpoint_record_crc(bytes);
        } else {
                CheckpointHeader h;
                size_t used = 0;
                checkpoint_decode_header(bytes, len, &h, &used);
                crc = checkpoint_record_crc(bytes + used);
                s->wrote_snapshot = true;
                s->snapshot_us = now_usec(CLOCK_MONOTONIC);
        }
        produce(sv->c, sv->partition, s, kind, bytes, len, crc);
}

static void commit(Checkpoints *c, int32_t partition, Slot *s, int64_t offset) {
        char metadata[CHANGELOG_POINTER_MAX];
        changelog_pointer_format(&s->chain, metadata);
        c->events.commit(c->events.userdata, partition, offset, metadata, s->closing);
}

/* The checkpoints at the head of produced[] that are wholly delivered
 * extend the chain, in order; the offsets waiting for them are committed
 * with the pointer to exactly that checkpoint. */
static void advance_chain(Checkpoints *c, int32_t partition, Slot *s) {
        size_t done = 0;
        while (done < s->n_produced && s->produced[done].parts_left == 0) {
                const Produced *p = &s->produced[done++];
                ChangelogPointer *ch = &s->chain;
                if (p->kind == CHECKPOINT_SNAPSHOT) {
                        /* the generation before: this writer's, or the chain
                         * its state was restored from */
                        if (s->has_chain) {
                                ch->previous = ch->current;
                                ch->previous.last_seq = p->seq - 1;
                                ch->has_previous = true;
                        } else if (s->has_base) {
                                ch->previous = s->base;
                                ch->has_previous = true;
                        }
                        ch->current = (ChangelogChain){ .writer = s->writer, .first_seq = p->seq,
                                                        .first_offset = p->first_offset };
                        s->has_chain = true;
                }
                if (!s->has_chain)
                        continue; /* cannot happen: a writer starts with a snapshot */
                ch->current.last_seq = p->seq;
                ch->current.last_offset = p->last_offset;
                ch->last_crc = p->crc;
                int64_t offset = -1;
                size_t used = 0;
                while (used < s->n_intents && s->intents[used].seq <= p->seq)
                        offset = s->intents[used++].offset;
                if (used > 0) {
                        memmove(s->intents, s->intents + used, (s->n_intents - used) * sizeof(*s->intents));
                        s->n_intents -= used;
                }
                if (offset >= 0 && !s->broken)
                        commit(c, partition, s, offset);
        }
        if (done > 0) {
                memmove(s->produced, s->produced + done, (s->n_produced - done) * sizeof(*s->produced));
                s->n_produced -= done;
        }
}

static void on_delivered(void *userdata, int32_t partition, uint64_t token, int64_t offset, const char *error) {
        Checkpoints *c = userdata;
        if (partition < 0 || (size_t)partition >= c->n_slots)
                return;
        Slot *s = &c->slots[partition];
        Produced *p = NULL;
        for (size_t i = 0; i < s->n_produced && !p; i++)
                if (s->produced[i].id == token)
                        p = &s->produced[i];
        if (!p)
                return; /* a partition revoked meanwhile */
        if (error) {
                log_error("a checkpoint of %s/%" PRId32 " was not delivered to changelog %s: %s; its offsets stay "
                          "uncommitted and sensord stops, so that the partition is restored from the last checkpoint "
                          "that was",
                          c->header.topic, partition, c->changelog_topic, error);
                s->broken = true;
                fail(c, EX_IOERR);
                return;
        }
        if (p->first_offset < 0 || offset < p->first_offset)
                p->first_offset = offset;
        if (offset > p->last_offset)
                p->last_offset = offset;
        p->parts_left--;
        advance_chain(c, partition, s);
}

/* --- restoring: the committed pointer, local files, the changelog --- */

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

static void ask(Checkpoints *c, int32_t partition, Slot *s) {
        s->asked = true;
        changelog_ask_committed(c->changelog, &partition, 1);
}

static int on_ask_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        Checkpoints *c = userdata;
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].phase == PHASE_ASKING && !c->slots[i].asked)
                        ask(c, (int32_t)i, &c->slots[i]);
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

static void on_committed(void *userdata, int32_t partition, int64_t offset, const char *metadata, size_t len,
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

static void on_read(void *userdata, int32_t partition, int64_t offset, const void *value, size_t len, bool end) {
        Checkpoints *c = userdata;
        Slot *s = (size_t)partition < c->n_slots ? &c->slots[partition] : NULL;
        if (!s || s->phase != PHASE_RESTORING || !s->replay)
                return;
        /* the end of what is there (before the pointer's offset: lost to
         * retention) ends the read as well as the pointer's offset does */
        if (end || changelog_replay_add(s->replay, offset, value, len))
                finish_restore(c, partition, s);
}

/* --- the pipeline's interface --- */

static int load(void *userdata, int32_t partition, WindowState *state, CheckpointMark *mark) {
        Checkpoints *c = userdata;
        Slot *s = slot(c, partition);
        slot_reset(c, partition, s);
        s->state = state;
        if (c->changelog) {
                s->phase = PHASE_ASKING;
                s->committed = -1;
                ask(c, partition, s);
                return PIPELINE_LOAD_LATER;
        }
        s->phase = PHASE_HELD;
        CheckpointHeader header = header_of(c, partition);
        int r = checkpoint_files_open(&s->files, c->directory, &header, state, mark);
        if (r == 1)
                log_info("%s/%" PRId32 ": state restored from its checkpoint: batch %" PRIu64 ", offset %" PRId64,
                         c->header.topic, partition, mark->next_batch, mark->next_offset);
        return r;
}

static int save(void *userdata, int32_t partition, WindowState *state, const CheckpointMark *mark) {
        Checkpoints *c = userdata;
        Slot *s = slot(c, partition);
        Saving saving = { c, partition, s };
        if (c->changelog && s->files)
                checkpoint_files_on_written(s->files, on_written, &saving);
        if (c->changelog && s->files && now_usec(CLOCK_MONOTONIC) - s->snapshot_us >= c->snapshot_interval_us)
                checkpoint_files_force_snapshot(s->files); /* see checkpoints_snapshot_due() */
        uint64_t start_us = now_usec(CLOCK_MONOTONIC);
        int r = s->files ? checkpoint_files_save(s->files, state, mark) : -EBADF;
        if (s->files)
                checkpoint_files_on_written(s->files, NULL, NULL);
        if (r == 0) {
                c->stats.saves++;
                metrics_histogram_add(&c->stats.seconds, (double)(now_usec(CLOCK_MONOTONIC) - start_us) / 1e6);
                metrics_histogram_add(&c->stats.bytes, (double)checkpoint_files_last_bytes(s->files));
        }
        if (c->changelog && r == 0 && mark->next_offset >= 0 && s->next_seq > 0) {
                /* committed, with the pointer to this checkpoint, once the
                 * changelog holds it */
                ARRAY_RESERVE(s->intents, s->cap_intents, s->n_intents + 1);
                s->intents[s->n_intents++] = (Intent){ .seq = s->next_seq, .offset = mark->next_offset };
        }
        if (r < 0)
                log_error("cannot write the checkpoint of %s/%" PRId32 " in %s: %s", c->header.topic, partition,
                          c->directory, strerror(-r));
        return r;
}

static void close_partition(void *userdata, int32_t partition, bool lost) {
        Checkpoints *c = userdata;
        Slot *s = slot(c, partition);
        if (c->changelog && !lost && s->phase == PHASE_HELD && s->n_produced > 0) {
                /* its last checkpoint counts once delivered, and is committed
                 * before the partition goes */
                s->closing = true;
                if (changelog_flush(c->changelog, REVOKE_FLUSH_MS) < 0)
                        log_warning("%s/%" PRId32 ": its last checkpoint was not delivered to changelog %s within %d ms; "
                                    "the next owner restores the one before",
                                    c->header.topic, partition, c->changelog_topic, REVOKE_FLUSH_MS);
        }
        slot_reset(c, partition, s);
}

PipelineCheckpoints checkpoints_for_pipeline(Checkpoints *c) {
        return (PipelineCheckpoints){ .userdata = c, .load = load, .save = save, .close = close_partition };
}

/* --- life --- */

int checkpoints_new(Checkpoints **out, const Config *config, sd_event *event, const CheckpointsEvents *events) {
        Checkpoints *c = xcalloc(1, sizeof(*c));
        /* one directory per consumer group: two groups are two queries */
        if (asprintf(&c->directory, "%s/%s", config->state_directory, config->group_id) < 0)
                oom();
        c->header.version = CHECKPOINT_FORMAT_VERSION;
        snprintf(c->header.topic, sizeof(c->header.topic), "%s", config->topic);
        c->header.spec = config->window;
        c->header.scope = config->watermark_scope;
        metrics_histogram_init(&c->stats.seconds, seconds_bounds, ARRAY_SIZE(seconds_bounds));
        metrics_histogram_init(&c->stats.bytes, bytes_bounds, ARRAY_SIZE(bytes_bounds));
        if (config->changelog_topic && config->changelog_topic[0]) {
                const ChangelogEvents changelog_events = { c, on_committed, on_read, on_delivered };
                c->events = *events;
                c->changelog_topic = xstrdup(config->changelog_topic);
                c->snapshot_interval_us = (uint64_t)config->changelog_snapshot_interval_ms * 1000;
                int r = changelog_new(&c->changelog, config, event, &changelog_events);
                if (r == 0)
                        r = sd_event_add_time(event, &c->ask_retry, CLOCK_MONOTONIC, UINT64_MAX, 100000, on_ask_retry, c);
                if (r < 0) {
                        checkpoints_free(c);
                        return -EINVAL;
                }
                sd_event_source_set_enabled(c->ask_retry, SD_EVENT_OFF);
        }
        *out = c;
        return 0;
}

Checkpoints *checkpoints_free(Checkpoints *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_slots; i++)
                slot_reset(c, (int32_t)i, &c->slots[i]);
        sd_event_source_disable_unref(c->ask_retry);
        changelog_free(c->changelog);
        free(c->slots);
        free(c->directory);
        free(c->changelog_topic);
        free(c);
        return NULL;
}

const CheckpointsStats *checkpoints_stats(const Checkpoints *c) {
        return &c->stats;
}

int checkpoints_start(Checkpoints *c, int input_partitions) {
        return c->changelog ? changelog_start(c->changelog, input_partitions) : 0;
}

bool checkpoints_snapshot_due(const Checkpoints *c) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; c->changelog && i < c->n_slots; i++)
                if (c->slots[i].phase == PHASE_HELD && now - c->slots[i].snapshot_us >= c->snapshot_interval_us)
                        return true;
        return false;
}

bool checkpoints_have_changelog(const Checkpoints *c) {
        return c->changelog != NULL;
}

void checkpoints_restoring(const Checkpoints *c, size_t *partitions, uint64_t *read, uint64_t *to_read) {
        *partitions = 0;
        *read = *to_read = 0;
        for (size_t i = 0; i < c->n_slots; i++) {
                const Slot *s = &c->slots[i];
                if (s->phase != PHASE_ASKING && s->phase != PHASE_RESTORING)
                        continue;
                (*partitions)++;
                if (s->replay) {
                        uint64_t m = 0, b = 0;
                        changelog_replay_counts(s->replay, &m, &b);
                        *read += m;
                        *to_read += (uint64_t)(s->pointer.current.last_offset - changelog_replay_start(s->replay) + 1);
                }
        }
}
