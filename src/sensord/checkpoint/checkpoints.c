/* checkpoints: one CheckpointFiles per held partition, by partition id,
 * and with a changelog each partition's restore and changelog writer. */
#include "sensord/checkpoint/checkpoints.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "sensord/checkpoint/checkpoints_internal.h"


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
/* --- the pipeline's interface --- */

static int load(void *userdata, int32_t partition, WindowState *state, CheckpointMark *mark) {
        Checkpoints *c = userdata;
        Slot *s = slot(c, partition);
        slot_reset(c, partition, s);
        s->state = state;
        if (c->changelog) {
                s->phase = PHASE_ASKING;
                s->committed = -1;
                checkpoints_ask(c, partition, s);
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
                checkpoint_files_on_written(s->files, checkpoints_on_written, &saving);
        if (c->changelog && s->files && now_usec(CLOCK_MONOTONIC) - s->snapshot_us >= c->snapshot_interval_us)
                checkpoint_files_force_snapshot(s->files); /* see checkpoints_snapshot_due() */
        uint64_t start_us = now_usec(CLOCK_MONOTONIC);
        int r = s->files ? checkpoint_files_save(s->files, state, mark) : -EBADF;
        if (s->files)
                checkpoint_files_on_written(s->files, NULL, NULL);
        if (r == 0) {
                c->stats.saves++;
                c->in_txn |= c->txn && c->changelog; /* its parts are in the open transaction */
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

static void close_partition(void *userdata, int32_t partition, bool lost, int timeout_ms) {
        Checkpoints *c = userdata;
        Slot *s = slot(c, partition);
        if (c->txn) {
                checkpoints_txn_close(c, partition, lost, timeout_ms);
                slot_reset(c, partition, s);
                return;
        }
        if (c->changelog && !lost && s->phase == PHASE_HELD && s->n_produced > 0) {
                /* its last checkpoint counts once delivered, and is committed
                 * before the partition goes */
                s->closing = true;
                c->close_deadline_us = now_usec(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000;
                if (changelog_flush(c->changelog, timeout_ms) < 0)
                        log_warning("%s/%" PRId32 ": its last checkpoint was not delivered to changelog %s within the "
                                    "revocation's wait; the next owner restores the one before",
                                    c->header.topic, partition, c->changelog_topic);
        }
        slot_reset(c, partition, s);
}

static bool congested(void *userdata) {
        Checkpoints *c = userdata;
        bool congested = is_congested(c);
        c->held |= congested;
        return congested;
}

PipelineCheckpoints checkpoints_for_pipeline(Checkpoints *c) {
        return (PipelineCheckpoints){
                .userdata = c, .load = load, .save = save, .close = close_partition, .congested = congested
        };
}

void checkpoints_check_stall(Checkpoints *c) {
        if (c->changelog)
                changelog_check_stall(c->changelog);
}

uint64_t checkpoints_stall_seconds(const Checkpoints *c) {
        return c->changelog ? changelog_stall_seconds(c->changelog) : 0;
}

void checkpoints_stall_reason(Checkpoints *c, char *buf, size_t size) {
        buf[0] = '\0';
        if (c->changelog)
                changelog_stall_reason(c->changelog, buf, size);
}

/* --- life --- */

int checkpoints_new(Checkpoints **out, const Config *config, sd_event *event, const CheckpointsEvents *events,
                    TxnProducer *txn) {
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
                const ChangelogEvents changelog_events = { .userdata = c,
                                                           .committed = checkpoints_on_committed,
                                                           .read = checkpoints_on_read,
                                                           .missing = checkpoints_on_missing,
                                                           .fresh = checkpoints_on_fresh,
                                                           .delivered = checkpoints_on_delivered };
                c->events = *events;
                c->changelog_topic = xstrdup(config->changelog_topic);
                c->snapshot_interval_us = (uint64_t)config->changelog_snapshot_interval_ms * 1000;
                c->lost_state = config->lost_state;
                c->earliest = config->starting_offsets == STARTING_EARLIEST;
                c->txn = txn;
                int r = changelog_new(&c->changelog, config, event, &changelog_events, txn);
                if (r == 0)
                        r = sd_event_add_time(event, &c->ask_retry, CLOCK_MONOTONIC, UINT64_MAX, 100000,
                                              checkpoints_on_ask_retry, c);
                if (r == 0)
                        r = sd_event_add_time(event, &c->read_retry, CLOCK_MONOTONIC, UINT64_MAX, 100000,
                                              checkpoints_on_read_retry, c);
                if (r == 0 && txn)
                        r = sd_event_add_time(event, &c->txn_end, CLOCK_MONOTONIC, UINT64_MAX, 1000,
                                              checkpoints_on_txn_end, c);
                if (r < 0) {
                        checkpoints_free(c);
                        return -EINVAL;
                }
                sd_event_source_set_enabled(c->ask_retry, SD_EVENT_OFF);
                sd_event_source_set_enabled(c->read_retry, SD_EVENT_OFF);
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
        sd_event_source_disable_unref(c->read_retry);
        sd_event_source_disable_unref(c->txn_end);
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

bool checkpoints_ending_transaction(const Checkpoints *c) {
        return c->in_txn;
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

size_t checkpoints_lost(const Checkpoints *c, int32_t *first) {
        size_t n = 0;
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].phase == PHASE_LOST && n++ == 0 && first)
                        *first = (int32_t)i;
        return n;
}

size_t checkpoints_waiting(const Checkpoints *c, int32_t *first) {
        size_t n = 0;
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].phase == PHASE_ASKING && c->slots[i].no_changelog_partition && n++ == 0 && first)
                        *first = (int32_t)i;
        return n;
}

void checkpoints_set_lost_state(Checkpoints *c, int lost_state) {
        c->lost_state = lost_state;
        if (c->changelog && lost_state == LOST_STATE_REBUILD)
                checkpoints_rebuild_lost(c);
}
