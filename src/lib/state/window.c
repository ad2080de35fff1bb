/* window: sliding event-time windows keyed by (start, sensor_id): the
 * window specification, the state shared by the partitions, each record
 * added to its windows, and the event-time clocks. The layout is in
 * window_internal.h.
 *
 *
 * Each Kafka partition has its own table (WindowState), so that its state
 * can be checkpointed and moved with the partition; the key budget and the
 * counters are shared (Windows), and so is the watermark in process scope
 * (Spark's rule). In partition scope each table has its own event-time
 * clock instead. When a sensor's records arrive in several partitions, its
 * aggregates are merged when the rows are emitted.
 *
 * One probe per record: a partition's table maps a sensor to its live
 * windows' aggregates, held together and sorted by window start, so that a
 * record costs one hash lookup and then a walk over contiguous memory,
 * however many windows it falls in. Live windows are few (about (W + D) /
 * S), so they sit in an array sorted by start, each listing the sensors
 * that hold an aggregate in it: eviction pops windows from the front and
 * visits exactly the aggregates it frees. Sensors keep their index for
 * life (freed indices are reused), which is what the windows' lists and
 * the batch's and checkpoint's change lists hold. */
#include "lib/state/window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"
#include "lib/state/window_internal.h"

static int64_t floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;
        if (a % b != 0 && ((a < 0) != (b < 0)))
                q--;
        return q;
}

const char *window_spec_check(const WindowSpec *spec) {
        if (spec->size_ms <= 0)
                return "window duration must be greater than 0";
        if (spec->slide_ms <= 0)
                return "slide must be greater than 0";
        if (spec->slide_ms > spec->size_ms)
                return "slide must not be longer than the window duration";
        if (spec->offset_ms < 0 || spec->offset_ms >= spec->slide_ms)
                return "start_offset must be at least 0 and shorter than the slide";
        if (spec->watermark_delay_ms < 0)
                return "watermark must not be negative";
        return NULL;
}

uint64_t window_spec_windows_per_record(const WindowSpec *spec) {
        return (uint64_t)((spec->size_ms + spec->slide_ms - 1) / spec->slide_ms);
}

int64_t window_last_start(const WindowSpec *spec, int64_t t) {
        return spec->offset_ms + floor_div(t - spec->offset_ms, spec->slide_ms) * spec->slide_ms;
}

static void mark_updated(WindowState *s, Sensor *sn, Agg *a) {
        uint32_t index = (uint32_t)(sn - s->sensors);
        if (s->all->track_updates && !(a->count_flags & AGG_DIRTY)) {
                a->count_flags |= AGG_DIRTY;
                table_list_sensor(&s->dirty, &s->n_dirty, &s->cap_dirty, &sn->dirty_at, index);
        }
        if (!(a->count_flags & AGG_CHANGED)) {
                a->count_flags |= AGG_CHANGED;
                table_list_sensor(&s->changed, &s->n_changed, &s->cap_changed, &sn->changed_at, index);
        }
}

int windows_new(Windows **out, const WindowSpec *spec, uint64_t max_keys) {
        if (window_spec_check(spec))
                return -EINVAL;
        Windows *w = xcalloc(1, sizeof(*w));
        w->spec = *spec;
        w->aggs_per_record = (uint32_t)window_spec_windows_per_record(spec);
        w->max_keys = max_keys;
        w->track_updates = true;
        table_rebuild_holders(w);
        *out = w;
        return 0;
}

Windows *windows_free(Windows *w) {
        if (w) {
                free(w->final_starts);
                free(w->refs);
                free(w->holders);
                free(w->states);
                free(w);
        }
        return NULL;
}

void windows_set_max_keys(Windows *w, uint64_t max_keys) {
        w->max_keys = max_keys;
}

void windows_set_mode(Windows *w, OutputMode mode) {
        w->track_updates = mode == OUTPUT_UPDATE;
}

void windows_set_scope(Windows *w, WatermarkScope scope) {
        w->scope = scope;
}

WatermarkScope windows_scope(const Windows *w) {
        return w->scope;
}

void windows_observe_event_time(Windows *w, int64_t t) {
        if (!w->stats.has_event_time || t > w->stats.max_event_time_ms) {
                w->stats.max_event_time_ms = t;
                w->stats.has_event_time = true;
        }
}

void window_state_observe_event_time(WindowState *s, int64_t t) {
        if (!s->has_event_time || t > s->max_event_time_ms) {
                s->max_event_time_ms = t;
                s->has_event_time = true;
                s->all->partition_clock_moved = true;
        }
        windows_observe_event_time(s->all, t);
}

size_t window_state_add(WindowState *s, const char *sensor, size_t len, double value, int64_t t, WindowLate *late) {
        Windows *all = s->all;
        WindowStats *stats = &all->stats;
        const int64_t W = all->spec.size_ms, S = all->spec.slide_ms;
        const uint32_t hash = hash_bytes(sensor, len);
        /* the watermark that judges this record: the partition's is that of
         * the records before it, so the record is judged before it moves it */
        bool has_watermark = stats->has_watermark;
        int64_t watermark = stats->watermark_ms;
        size_t late_pairs = 0;

        if (all->scope == WATERMARK_PARTITION) {
                has_watermark = s->has_event_time;
                watermark = s->max_event_time_ms - all->spec.watermark_delay_ms;
                window_state_observe_event_time(s, t);
        } else {
                windows_observe_event_time(all, t);
        }
        stats->records++;
        if (late)
                late->n = 0;

        uint32_t *slot = find_sensor_slot(s, hash, sensor, len);
        Sensor *sn = *slot ? &s->sensors[*slot - 1] : NULL;
        uint32_t below = sn ? sn->n_aggs : 0; /* starts come newest first: the search resumes below the last */
        for (int64_t start = window_last_start(&all->spec, t); start > t - W; start -= S) {
                if (has_watermark && start + W <= watermark) {
                        late_pairs++;
                        if (late) {
                                ARRAY_RESERVE(late->starts, late->cap, late->n + 1);
                                late->starts[late->n++] = start;
                                late->watermark_ms = watermark;
                        }
                        continue;
                }
                Agg *a = sn ? find_agg_below(sn, start, below, &below) : NULL;
                if (!a) {
                        if (stats->live_keys >= all->max_keys) {
                                stats->dropped_pairs++;
                                continue;
                        }
                        if (!sn)
                                sn = table_add_sensor(s, slot, hash, sensor, len);
                        a = table_insert_agg(s, sn, below, start);
                }
                uint64_t count = agg_count(a);
                if (count == 0 || value < a->min)
                        a->min = value;
                if (count == 0 || value > a->max)
                        a->max = value;
                a->count_flags++;
                if (!(a->count_flags & AGG_OPEN)) {
                        ARRAY_RESERVE(s->batch_sums, s->cap_batch_sums, s->n_batch_sums + 1);
                        s->batch_sums[s->n_batch_sums++] =
                                (BatchSum){ .start = start, .sensor = (uint32_t)(sn - s->sensors), .before = a->sum };
                        a->count_flags |= AGG_OPEN;
                        a->sum = 0.0;
                }
                a->sum += value;
                mark_updated(s, sn, a);
        }
        stats->late_pairs += late_pairs;
        return late_pairs;
}

/* Orders rows by (window start, sensor_id). */
const WindowStats *windows_stats(const Windows *w) {
        return &w->stats;
}

/* A checkpoint is taken at a batch end, where the candidate for the next
 * watermark is the maximum event time - D. */
void windows_restore_clock(Windows *w, const WindowClock *clock) {
        if (clock->has_event_time) {
                windows_observe_event_time(w, clock->max_event_time_ms);
                windows_raise_pending(w);
        }
        if (clock->has_watermark && (!w->stats.has_watermark || clock->watermark_ms > w->stats.watermark_ms)) {
                w->stats.watermark_ms = clock->watermark_ms;
                w->stats.has_watermark = true;
        }
}

WindowClock window_state_clock(const WindowState *s) {
        return (WindowClock){ .has_watermark = s->has_event_time,
                              .watermark_ms = s->max_event_time_ms - s->all->spec.watermark_delay_ms,
                              .has_event_time = s->has_event_time, .max_event_time_ms = s->max_event_time_ms };
}

/* Not a move of the clock: the checkpoint's state was taken after the
 * batch end that evicted what this clock had passed, so restoring it
 * gives no empty batch anything to do. */
void window_state_restore_clock(WindowState *s, const WindowClock *clock) {
        if (clock->has_event_time && (!s->has_event_time || clock->max_event_time_ms > s->max_event_time_ms)) {
                s->max_event_time_ms = clock->max_event_time_ms;
                s->has_event_time = true;
                windows_observe_event_time(s->all, clock->max_event_time_ms);
        }
}

WindowClock windows_clock(const Windows *w) {
        return (WindowClock){ .has_watermark = w->stats.has_watermark, .watermark_ms = w->stats.watermark_ms,
                              .has_event_time = w->stats.has_event_time,
                              .max_event_time_ms = w->stats.max_event_time_ms };
}
