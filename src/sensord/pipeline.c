/* pipeline: batch -> parse -> window state -> output, and offsets released
 * only for confirmed batches, in batch order. */
#include "sensord/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"
#include "lib/text/timestamp.h"
#include "lib/text/units.h"

/* A closed batch whose output is not confirmed yet, with the offsets it
 * will release. */
typedef struct InFlight {
        uint64_t batch;
        bool confirmed;
        PartitionOffset *offsets;
        size_t n, cap;
} InFlight;

struct Pipeline {
        PipelineSettings settings;
        PipelineOutput output;
        PipelineHooks hooks;
        PipelineCheckpoints checkpoints; /* load NULL: none */
        int revoke_wait_ms; /* 0: PIPELINE_REVOKE_WAIT_MS */
        bool checkpoint_wanted;
        bool checkpoint_forced; /* the wanted one saves even if no batch closed since */
        uint64_t checkpointed_batch; /* batch number at the last checkpoint */
        Batcher batcher;
        Windows *windows;
        Partitions partitions;
        WindowState **states; /* every partition's, for closing a batch */
        size_t cap_states;
        InFlight *in_flight; /* oldest first */
        size_t n_in_flight, cap_in_flight;
        bool failed; /* a batch's rows were not written: release nothing more */
        int64_t idle_base_event_ms; /* max event time at the last message */
        int64_t *batch_times; /* the open batch's message timestamps, for the latency */
        size_t n_batch_times, cap_batch_times;
        /* the open batch's poll times, as runs of messages polled at one
         * clock reading (a drain's), for the own latency */
        struct PolledRun {
                uint64_t at_us, count;
        } *polled;
        size_t n_polled, cap_polled;
        WindowLate late; /* the late pairs of the record being added */
        PipelineStats stats;
};

int pipeline_new(Pipeline **out, const WindowSpec *spec, const PipelineSettings *settings,
                 const PipelineOutput *output, const PipelineHooks *hooks, const PipelineCheckpoints *checkpoints) {
        Pipeline *p = xcalloc(1, sizeof(*p));
        int r = windows_new(&p->windows, spec, settings->max_keys);
        if (r < 0) {
                free(p);
                return r;
        }
        windows_set_mode(p->windows, settings->mode);
        windows_set_scope(p->windows, settings->scope);
        p->settings = *settings;
        p->output = *output;
        p->hooks = *hooks;
        if (checkpoints)
                p->checkpoints = *checkpoints;
        batcher_init(&p->batcher, &settings->batch, 0);
        *out = p;
        return 0;
}

Pipeline *pipeline_free(Pipeline *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_in_flight; i++)
                free(p->in_flight[i].offsets);
        free(p->in_flight);
        partitions_free(&p->partitions);
        free(p->states);
        free(p->batch_times);
        free(p->polled);
        free(p->late.starts);
        free(p->stats.late);
        windows_free(p->windows);
        free(p);
        return NULL;
}

int pipeline_set_settings(Pipeline *p, const PipelineSettings *settings) {
        p->settings.batch = settings->batch;
        p->settings.max_keys = settings->max_keys;
        p->settings.max_message_bytes = settings->max_message_bytes;
        p->settings.max_future_ms = settings->max_future_ms;
        batcher_set_limits(&p->batcher, &settings->batch);
        windows_set_max_keys(p->windows, settings->max_keys);
        return batcher_is_full(&p->batcher) ? pipeline_close_batch(p) : 0;
}

/* Releases the offsets of the confirmed batches at the head of the queue,
 * for the partitions still held: a partition revoked meanwhile has a new
 * owner, which reads from the last offset committed before the revoke. With
 * checkpoints they wait in the partitions for the next checkpoint. */
static void release_confirmed(Pipeline *p) {
        size_t done = 0;
        while (done < p->n_in_flight && p->in_flight[done].confirmed) {
                InFlight *b = &p->in_flight[done++];
                size_t kept = 0;
                for (size_t i = 0; i < b->n; i++) {
                        Partition *part = partitions_held(&p->partitions, b->offsets[i].partition);
                        if (part && part->holding == b->offsets[i].holding && !p->failed) {
                                part->confirmed = b->offsets[i].offset;
                                b->offsets[kept++] = b->offsets[i];
                        }
                }
                if (kept > 0 && !p->checkpoints.load)
                        p->hooks.store_offsets(p->hooks.userdata, b->offsets, kept);
                free(b->offsets);
        }
        memmove(p->in_flight, p->in_flight + done, (p->n_in_flight - done) * sizeof(*p->in_flight));
        p->n_in_flight -= done;
}

void pipeline_batch_confirmed(Pipeline *p, uint64_t batch) {
        for (size_t i = 0; i < p->n_in_flight; i++)
                if (p->in_flight[i].batch == batch)
                        p->in_flight[i].confirmed = true;
        release_confirmed(p);
}

int pipeline_batch_done(Pipeline *p, uint64_t batch) {
        pipeline_batch_confirmed(p, batch);
        return p->checkpoint_wanted ? pipeline_checkpoint(p) : 0;
}

void pipeline_batch_failed(Pipeline *p, uint64_t batch) {
        p->failed = true;
}

bool pipeline_accepts(const Pipeline *p) {
        if (p->settings.available_now && !partitions_ends_known(&p->partitions))
                return false; /* a message might lie past an end not known yet */
        if (p->checkpoint_wanted && p->n_in_flight > 0 && batcher_is_empty(&p->batcher) && !p->failed)
                return false;
        if (p->checkpoints.congested && p->checkpoints.congested(p->checkpoints.userdata))
                return false;
        return !p->output.congested || !p->output.congested(p->output.userdata);
}

static int close_batch(Pipeline *p);

int pipeline_close_batch(Pipeline *p) {
        if (batcher_is_empty(&p->batcher) && !windows_watermark_would_advance(p->windows))
                return 0;
        return close_batch(p);
}

int pipeline_close_due_watermark(Pipeline *p) {
        if (!batcher_is_empty(&p->batcher) || p->settings.mode == OUTPUT_COMPLETE ||
            !windows_watermark_due(p->windows))
                return 0;
        return close_batch(p);
}

static int close_batch(Pipeline *p) {
        uint64_t batch = batcher_close(&p->batcher);

        ARRAY_RESERVE(p->in_flight, p->cap_in_flight, p->n_in_flight + 1);
        InFlight *b = &p->in_flight[p->n_in_flight++];
        *b = (InFlight){ .batch = batch };
        partitions_take_pending(&p->partitions, &b->offsets, &b->n, &b->cap);

        p->output.begin_batch(p->output.userdata, batch);
        size_t n_states = 0;
        ARRAY_RESERVE(p->states, p->cap_states, p->partitions.n);
        for (size_t i = 0; i < p->partitions.n; i++)
                if (p->partitions.items[i].state)
                        p->states[n_states++] = p->partitions.items[i].state;
        int result = windows_finish_batch(p->windows, p->states, n_states, p->settings.mode, p->output.row,
                                          p->output.userdata);
        int end = p->output.end_batch(p->output.userdata, batch);
        keep_first_error(&result, end);
        if (result >= 0 && p->hooks.wall_clock_ms) {
                int64_t now = p->hooks.wall_clock_ms(p->hooks.userdata);
                for (size_t i = 0; i < p->n_batch_times; i++)
                        latency_add(&p->stats.latency, now - p->batch_times[i]);
                p->stats.last_batch_ms = now;
        }
        if (result >= 0 && p->hooks.monotonic_us) {
                uint64_t now = p->hooks.monotonic_us(p->hooks.userdata);
                for (size_t i = 0; i < p->n_polled; i++)
                        latency_add_n(&p->stats.own_latency_us, (int64_t)(now - p->polled[i].at_us),
                                      p->polled[i].count);
        }
        p->n_polled = 0;
        if (result >= 0)
                p->stats.batches++;
        p->n_batch_times = 0;
        if (result < 0) {
                /* Phase 1 failed: this batch and every later one keep their
                 * offsets unstored, so the records are read again. */
                p->failed = true;
                free(b->offsets);
                p->n_in_flight--;
                return result;
        }
        if (end == PIPELINE_PENDING)
                return p->checkpoint_wanted ? pipeline_checkpoint(p) : 0;
        return pipeline_batch_done(p, batch);
}

/* Hands the confirmed offsets of the held partitions over for committing. */
static void store_checkpointed(Pipeline *p) {
        PartitionOffset *offsets = NULL;
        size_t n = 0, cap = 0;
        for (size_t i = 0; i < p->partitions.n; i++) {
                Partition *part = &p->partitions.items[i];
                if (!part->held || part->confirmed < 0 || part->confirmed == part->stored)
                        continue;
                ARRAY_RESERVE(offsets, cap, n + 1);
                offsets[n++] = (PartitionOffset){ part->id, part->confirmed, part->holding };
                part->stored = part->confirmed;
        }
        if (n > 0)
                p->hooks.store_offsets(p->hooks.userdata, offsets, n);
        free(offsets);
}

int pipeline_checkpoint(Pipeline *p) {
        if (!p->checkpoints.load || p->failed)
                return 0;
        if (!batcher_is_empty(&p->batcher) || p->n_in_flight > 0) {
                p->checkpoint_wanted = true; /* at the next batch boundary */
                return 0;
        }
        p->checkpoint_wanted = false;
        if (p->batcher.number == p->checkpointed_batch && !p->checkpoint_forced)
                return 0; /* nothing happened since */
        p->checkpoint_forced = false;
        CheckpointMark mark = { .next_batch = p->batcher.number, .clock = windows_clock(p->windows) };
        for (size_t i = 0; i < p->partitions.n; i++) {
                Partition *part = &p->partitions.items[i];
                if (!part->held || part->restoring)
                        continue;
                mark.next_offset = part->confirmed;
                if (p->settings.scope == WATERMARK_PARTITION)
                        mark.clock = window_state_clock(part->state);
                int r = p->checkpoints.save(p->checkpoints.userdata, part->id, part->state, &mark);
                if (r < 0) {
                        p->failed = true; /* the state on disk lags: commit nothing more */
                        return r;
                }
        }
        p->checkpointed_batch = p->batcher.number;
        store_checkpointed(p);
        return 0;
}

int pipeline_checkpoint_now(Pipeline *p) {
        p->checkpoint_forced = true;
        return pipeline_checkpoint(p);
}

/* Available-now: the message lies past what was in the partition at start. */
static bool past_end(const Partition *part, int64_t offset) {
        return part->done || (part->end >= 0 && offset >= part->end);
}

/* window.max_future: a record dated too far ahead of the wall clock would
 * move the watermark past every other record's windows. */
static RecordError check_future(Pipeline *p, const Record *record, char reason[RECORD_REASON_MAX]) {
        int64_t now = p->hooks.wall_clock_ms(p->hooks.userdata);
        if (record->event_time_ms - now <= p->settings.max_future_ms)
                return RECORD_OK;
        char when[TIMESTAMP_MAX], ahead[32], limit[32];
        timestamp_format(record->event_time_ms, when);
        format_duration(record->event_time_ms - now, ahead, sizeof(ahead));
        format_duration(p->settings.max_future_ms, limit, sizeof(limit));
        snprintf(reason, RECORD_REASON_MAX, "event time %s is %s ahead of the wall clock (window.max_future = \"%s\")",
                 when, ahead, limit);
        return RECORD_FUTURE;
}

static PipelineLate *late_of(PipelineStats *stats, int32_t partition) {
        size_t need = (size_t)partition + 1;
        if (stats->n_late < need) {
                ARRAY_RESERVE(stats->late, stats->cap_late, need);
                memset(stats->late + stats->n_late, 0, (need - stats->n_late) * sizeof(*stats->late));
                stats->n_late = need;
        }
        return &stats->late[partition];
}

static int count_late(Pipeline *p, const PipelineMessage *m) {
        PipelineLate *late = late_of(&p->stats, m->partition);
        late->records++;
        late->pairs += p->late.n;
        p->stats.late_records++;
        return p->hooks.late ? p->hooks.late(p->hooks.userdata, p->batcher.number, m, &p->late) : 0;
}

int pipeline_add(Pipeline *p, const PipelineMessage *m, uint64_t now_us) {
        Partition *part = partitions_held(&p->partitions, m->partition);
        int result = 0;

        if (!part || part->restoring || (p->settings.available_now && past_end(part, m->offset)))
                return 0;
        if (batcher_must_close_before(&p->batcher, m->len)) {
                result = pipeline_close_batch(p);
                if (result < 0)
                        return result;
        }
        batcher_add(&p->batcher, m->len, now_us);
        if (p->hooks.wall_clock_ms && m->timestamp_ms >= 0) {
                ARRAY_RESERVE(p->batch_times, p->cap_batch_times, p->n_batch_times + 1);
                p->batch_times[p->n_batch_times++] = m->timestamp_ms;
        }
        if (p->hooks.monotonic_us) {
                if (p->n_polled == 0 || p->polled[p->n_polled - 1].at_us != now_us) {
                        ARRAY_RESERVE(p->polled, p->cap_polled, p->n_polled + 1);
                        p->polled[p->n_polled++] = (struct PolledRun){ .at_us = now_us };
                }
                p->polled[p->n_polled - 1].count++;
        }
        if (p->stats.messages++ == 0)
                p->stats.first_message_us = now_us;
        p->stats.bytes += m->len;
        p->stats.last_message_us = now_us;

        Record record;
        char reason[RECORD_REASON_MAX];
        RecordMessage rm = { .value = m->payload, .len = m->len, .key = m->key, .key_len = m->key_len,
                             .timestamp_ms = m->timestamp_ms };
        RecordError err = record_parse_message(&p->settings.shape, &rm, p->settings.max_message_bytes, &record, reason);
        if (err == RECORD_OK && p->settings.max_future_ms > 0 && p->hooks.wall_clock_ms)
                err = check_future(p, &record, reason);
        if (err == RECORD_OK) {
                if (window_state_add(part->state, record.sensor_id, record.sensor_id_len, record.value,
                                     record.event_time_ms, &p->late) > 0) {
                        result = count_late(p, m);
                        if (result < 0) {
                                p->failed = true;
                                return result;
                        }
                }
        } else {
                p->stats.invalid++;
                p->stats.invalid_by_class[err]++;
                result = p->hooks.invalid(p->hooks.userdata, p->batcher.number, m, err, reason);
                if (result < 0) {
                        p->failed = true;
                        return result;
                }
        }
        p->idle_base_event_ms = windows_stats(p->windows)->max_event_time_ms;
        part->idle_since_us = now_us;
        part->idle_base_event_ms = window_state_clock(part->state).max_event_time_ms;
        part->pending = m->offset + 1;
        if (part->end >= 0 && m->offset + 1 >= part->end)
                part->done = true;

        if (batcher_is_full(&p->batcher))
                result = pipeline_close_batch(p);
        return result;
}

void pipeline_partition_eof(Pipeline *p, int32_t partition, int64_t next_offset) {
        Partition *part = partitions_held(&p->partitions, partition);
        if (part && !part->restoring && part->end >= 0 && next_offset >= part->end)
                part->done = true;
}

/* Partition scope: each held partition quiet for idle_timeout moves on by
 * the time since its last message (or since it was first seen quiet). */
static void advance_idle_partitions(Pipeline *p, uint64_t now_us, uint64_t idle_timeout_us) {
        for (size_t i = 0; i < p->partitions.n; i++) {
                Partition *part = &p->partitions.items[i];
                WindowClock clock;
                if (!part->held || part->restoring || !(clock = window_state_clock(part->state)).has_event_time)
                        continue;
                if (part->idle_since_us == 0) {
                        part->idle_since_us = now_us;
                        part->idle_base_event_ms = clock.max_event_time_ms;
                }
                if (now_us - part->idle_since_us >= idle_timeout_us)
                        window_state_observe_event_time(
                                part->state, part->idle_base_event_ms + (int64_t)((now_us - part->idle_since_us) / 1000));
        }
}

int pipeline_advance_idle(Pipeline *p, uint64_t now_us, uint64_t idle_timeout_us) {
        if (p->settings.scope == WATERMARK_PARTITION)
                advance_idle_partitions(p, now_us, idle_timeout_us);
        else if (windows_stats(p->windows)->has_event_time)
                windows_observe_event_time(p->windows,
                                           p->idle_base_event_ms + (int64_t)((now_us - p->stats.last_message_us) / 1000));
        else
                return 0;
        return batcher_is_empty(&p->batcher) ? pipeline_close_batch(p) : 0;
}

int pipeline_assign(Pipeline *p, const int32_t *partitions, size_t n, int64_t *seek) {
        bool restored = false;
        CheckpointMark oldest = { 0 };
        WindowClock newest_event = { 0 };

        partitions_assign(&p->partitions, partitions, n, p->windows);
        for (size_t i = 0; i < n; i++) {
                Partition *part = partitions_held(&p->partitions, partitions[i]);
                CheckpointMark mark;
                seek[i] = -1;
                part->idle_since_us = 0;
                if (!p->checkpoints.load)
                        continue;
                int r = p->checkpoints.load(p->checkpoints.userdata, part->id, part->state, &mark);
                if (r < 0) {
                        partitions_revoke(&p->partitions, &partitions[i], 1, true);
                        return r;
                }
                if (r == PIPELINE_LOAD_LATER) {
                        part->restoring = true;
                        seek[i] = PIPELINE_SEEK_LATER;
                        continue;
                }
                if (r == 0)
                        continue;
                seek[i] = part->confirmed = part->stored = mark.next_offset;
                if (p->settings.scope == WATERMARK_PARTITION)
                        window_state_restore_clock(part->state, &mark.clock);
                /* The oldest checkpoint sets the watermark and the batch
                 * number: its partition's records after it are read again
                 * as they were first read. The event time seen only grows. */
                if (!restored || mark.next_batch < oldest.next_batch)
                        oldest = mark;
                if (mark.clock.has_event_time &&
                    (!newest_event.has_event_time || mark.clock.max_event_time_ms > newest_event.max_event_time_ms))
                        newest_event = mark.clock;
                restored = true;
        }
        if (restored && p->settings.scope == WATERMARK_PARTITION) {
                if (oldest.next_batch > p->batcher.number)
                        p->batcher.number = p->checkpointed_batch = oldest.next_batch;
        } else if (restored) {
                windows_restore_clock(p->windows, &oldest.clock);
                windows_restore_clock(p->windows, &(WindowClock){ .has_event_time = newest_event.has_event_time,
                                                                 .max_event_time_ms = newest_event.max_event_time_ms });
                if (oldest.next_batch > p->batcher.number)
                        p->batcher.number = p->checkpointed_batch = oldest.next_batch;
        }
        return 0;
}

int64_t pipeline_restored(Pipeline *p, int32_t partition, const CheckpointMark *mark) {
        Partition *part = partitions_held(&p->partitions, partition);
        if (!part || !part->restoring)
                return -1;
        part->restoring = false;
        part->pending = -1;
        part->idle_since_us = 0;
        if (!mark) {
                part->confirmed = part->stored = -1;
                return -1;
        }
        part->confirmed = part->stored = mark->next_offset;
        /* The event time seen and the watermark only grow: a partition
         * restored behind the process's clock finds its late windows late. */
        if (p->settings.scope == WATERMARK_PARTITION)
                window_state_restore_clock(part->state, &mark->clock);
        else
                windows_restore_clock(p->windows, &mark->clock);
        if (mark->next_batch > p->batcher.number && batcher_is_empty(&p->batcher) && p->n_in_flight == 0)
                p->batcher.number = p->checkpointed_batch = mark->next_batch;
        return mark->next_offset;
}

size_t pipeline_restoring(const Pipeline *p) {
        size_t n = 0;
        for (size_t i = 0; i < p->partitions.n; i++)
                n += p->partitions.items[i].held && p->partitions.items[i].restoring;
        return n;
}

/* With checkpoints, a partition that leaves takes its state with it: the
 * next owner loads it from its checkpoint. */
/* What is left of a revocation's wait at deadline_us. */
static int remaining_ms(const Pipeline *p, uint64_t deadline_us) {
        uint64_t now = p->hooks.monotonic_us ? p->hooks.monotonic_us(p->hooks.userdata) : 0;
        return now >= deadline_us ? 0 : (int)((deadline_us - now) / 1000);
}

static void drop_partitions(Pipeline *p, const int32_t *partitions, size_t n, bool lost, uint64_t deadline_us) {
        partitions_revoke(&p->partitions, partitions, n, p->checkpoints.load != NULL);
        for (size_t i = 0; p->checkpoints.close && i < n; i++)
                p->checkpoints.close(p->checkpoints.userdata, partitions[i], lost, remaining_ms(p, deadline_us));
}

void pipeline_set_revoke_wait(Pipeline *p, int wait_ms) {
        p->revoke_wait_ms = wait_ms < PIPELINE_REVOKE_WAIT_MS ? wait_ms : PIPELINE_REVOKE_WAIT_MS;
}

int pipeline_revoke(Pipeline *p, const int32_t *partitions, size_t n, bool lost) {
        uint64_t deadline_us = (p->hooks.monotonic_us ? p->hooks.monotonic_us(p->hooks.userdata) : 0) +
                               (uint64_t)(p->revoke_wait_ms ? p->revoke_wait_ms : PIPELINE_REVOKE_WAIT_MS) * 1000;
        int r;
        if (lost) {
                /* Another member holds them already and emits their rows
                 * from their last checkpoint on: with checkpoints their
                 * state goes before the batch closes, so that this member
                 * emits no row of theirs that could land after the new
                 * owner's (a member that was frozen, waking up). */
                drop_partitions(p, partitions, n, true, deadline_us);
                return pipeline_close_batch(p);
        }
        r = pipeline_close_batch(p);
        if (r == 0 && p->n_in_flight > 0 && p->output.flush)
                p->output.flush(p->output.userdata, remaining_ms(p, deadline_us));
        if (r == 0)
                r = pipeline_checkpoint(p);
        drop_partitions(p, partitions, n, false, deadline_us);
        return r;
}

void pipeline_set_end(Pipeline *p, int32_t partition, int64_t end) {
        partitions_set_end(&p->partitions, partition, end);
}

bool pipeline_available_now_done(const Pipeline *p) {
        return partitions_all_done(&p->partitions);
}

uint64_t pipeline_deadline(const Pipeline *p) {
        return p->settings.available_now ? UINT64_MAX : batcher_deadline(&p->batcher);
}

uint64_t pipeline_batch_number(const Pipeline *p) {
        return p->batcher.number;
}

const PipelineStats *pipeline_stats(const Pipeline *p) {
        return &p->stats;
}

WatermarkScope pipeline_scope(const Pipeline *p) {
        return p->settings.scope;
}

const WindowStats *pipeline_window_stats(const Pipeline *p) {
        return windows_stats(p->windows);
}

const Partition *pipeline_partitions(const Pipeline *p, size_t *n) {
        *n = p->partitions.n;
        return p->partitions.items;
}
