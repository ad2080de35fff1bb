/* window_batch_end: what ends a batch. The rows the output mode asks for,
 * one per (window, sensor) with the partitions' aggregates merged, in
 * (window start, sensor_id) order; the watermark's advance; the windows
 * that became final, emitted in append mode and evicted. */
#include "lib/state/window_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"

static int compare_refs(const void *a, const void *b) {
        const KeyRef *x = a, *y = b;
        if (x->agg->start != y->agg->start)
                return (x->agg->start > y->agg->start) - (x->agg->start < y->agg->start);
        const Sensor *p = x->sensor, *q = y->sensor;
        int c = memcmp(sensor_id(p), sensor_id(q), p->len < q->len ? p->len : q->len);
        if (c)
                return c;
        return (p->len > q->len) - (p->len < q->len);
}

static bool same_key(const KeyRef *x, const KeyRef *y) {
        return x->agg->start == y->agg->start && x->sensor->len == y->sensor->len &&
               memcmp(sensor_id(x->sensor), sensor_id(y->sensor), x->sensor->len) == 0;
}

static void merge_agg(WindowRow *row, const Agg *a) {
        if (row->count == 0 || a->min < row->min)
                row->min = a->min;
        if (row->count == 0 || a->max > row->max)
                row->max = a->max;
        row->count += agg_count(a);
        row->sum += a->sum;
}

static void add_ref(Windows *w, const Sensor *sn, const Agg *a) {
        ARRAY_RESERVE(w->refs, w->cap_refs, w->n_refs + 1);
        w->refs[w->n_refs++] = (KeyRef){ sn, a };
}

static void add_window_refs(Windows *w, const WindowState *s, const Window *win) {
        for (size_t i = 0; i < win->n_sensors; i++) {
                const Sensor *sn = &s->sensors[win->sensors[i]];
                add_ref(w, sn, find_agg(sn, win->start));
        }
}

/* Emits one row per (window, sensor) among the collected refs, in order. A
 * row merges the aggregates of every partition: with whole_windows the refs
 * already hold every one; otherwise (the changed ones of update mode) the
 * other partitions are looked up. */
static int emit_refs(Windows *w, WindowState *const *states, size_t n, bool whole_windows, WindowRowFn fn,
                     void *userdata) {
        int result = 0;
        if (w->n_refs == 0)
                return 0; /* qsort's array may not be NULL, even when empty */
        qsort(w->refs, w->n_refs, sizeof(*w->refs), compare_refs);
        bool merge = !whole_windows && n > 1;
        for (size_t i = 0, next; i < w->n_refs; i = next) {
                const KeyRef *ref = &w->refs[i];
                const Sensor *sn = ref->sensor;
                WindowRow row = { .start_ms = ref->agg->start, .end_ms = ref->agg->start + w->spec.size_ms,
                                  .sensor_id = sensor_id(sn), .sensor_id_len = sn->len };
                bool look_up = merge && w->holders[sn->hash & w->holders_mask] > 1;
                for (next = i; next < w->n_refs && same_key(ref, &w->refs[next]); next++)
                        if (!look_up)
                                merge_agg(&row, w->refs[next].agg);
                for (size_t k = 0; look_up && k < n; k++) {
                        const Sensor *held = find_sensor(states[k], sn->hash, sensor_id(sn), sn->len);
                        const Agg *a = held ? find_agg(held, row.start_ms) : NULL;
                        if (a)
                                merge_agg(&row, a);
                }
                row.avg = row.sum / (double)row.count;
                keep_first_error(&result, fn(&row, userdata));
        }
        w->n_refs = 0;
        return result;
}

/* Update mode's rows: the aggregates of the partition's batch, whose marks
 * it then clears. */
static void take_dirty(Windows *w, WindowState *s) {
        for (size_t i = 0; i < s->n_dirty; i++) {
                Sensor *sn = &s->sensors[s->dirty[i]];
                Agg *aggs = sensor_aggs(sn);
                for (uint32_t k = 0; k < sn->n_aggs; k++)
                        if (aggs[k].count_flags & AGG_DIRTY) {
                                aggs[k].count_flags &= ~AGG_DIRTY;
                                add_ref(w, sn, &aggs[k]);
                        }
                sn->dirty_at = NOT_LISTED;
        }
        s->n_dirty = 0;
}

/* Adds each aggregate's sum before the batch to the batch's own sum. */
static void close_batch_sums(WindowState *s) {
        for (size_t i = 0; i < s->n_batch_sums; i++) {
                const BatchSum *b = &s->batch_sums[i];
                Agg *a = find_agg(&s->sensors[b->sensor], b->start);
                a->sum = b->before + a->sum;
                a->count_flags &= ~AGG_OPEN;
        }
        s->n_batch_sums = 0;
}

/* Process scope, Spark's rule: the watermark of batch N + 1 is the
 * candidate of batch N - 1's end (its maximum event time - D), so that a
 * pair is judged late by the watermark of the batch before. */
static bool next_watermark(const Windows *w, int64_t *wm) {
        if (w->scope == WATERMARK_PARTITION)
                return false; /* each partition's moves with its records */
        if (!w->has_pending)
                return false;
        if (w->stats.has_watermark && w->pending_ms <= w->stats.watermark_ms)
                return false;
        *wm = w->pending_ms;
        return true;
}

static bool next_pending(const Windows *w, int64_t *pending) {
        if (!w->stats.has_event_time)
                return false;
        *pending = w->stats.max_event_time_ms - w->spec.watermark_delay_ms;
        return !w->has_pending || *pending > w->pending_ms;
}

void windows_raise_pending(Windows *w) {
        int64_t pending;
        if (next_pending(w, &pending)) {
                w->pending_ms = pending;
                w->has_pending = true;
        }
}

bool windows_watermark_due(const Windows *w) {
        int64_t wm;
        return next_watermark(w, &wm);
}

/* Only a clock moved since the last batch end (idle input) gives an empty
 * batch something to do: the watermark that a batch end moves to was due
 * since that end, and waits for the next batch rather than closing one of
 * its own at every stop, rebalance or end of the data. */
bool windows_watermark_would_advance(const Windows *w) {
        int64_t pending;
        if (w->scope == WATERMARK_PARTITION)
                return w->partition_clock_moved;
        return next_pending(w, &pending);
}

/* Partition scope: the partition's watermark has passed the window. */
static bool state_passed(const Windows *w, const WindowState *s, int64_t start) {
        return s->has_event_time && start + w->spec.size_ms <= s->max_event_time_ms - w->spec.watermark_delay_ms;
}

static int compare_starts(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
}

/* Partition scope: collects in w->final_starts, in order, the windows that
 * every partition holding them has passed. A partition's passed windows
 * are the front of its sorted array. */
static void collect_final_everywhere(Windows *w, WindowState *const *states, size_t n) {
        w->n_final = 0;
        for (size_t k = 0; k < n; k++)
                for (size_t i = 0; i < states[k]->n_windows && state_passed(w, states[k], states[k]->windows[i].start);
                     i++) {
                        int64_t start = states[k]->windows[i].start;
                        bool everywhere = true;
                        for (size_t q = 0; everywhere && q < n; q++) {
                                size_t index;
                                everywhere = q == k || !table_find_window(states[q], start, &index) ||
                                             state_passed(w, states[q], start);
                        }
                        if (everywhere) {
                                ARRAY_RESERVE(w->final_starts, w->cap_final, w->n_final + 1);
                                w->final_starts[w->n_final++] = start;
                        }
                }
        if (w->n_final == 0)
                return;
        qsort(w->final_starts, w->n_final, sizeof(*w->final_starts), compare_starts);
        size_t unique = 1;
        for (size_t i = 1; i < w->n_final; i++)
                if (w->final_starts[i] != w->final_starts[unique - 1])
                        w->final_starts[unique++] = w->final_starts[i];
        w->n_final = unique;
}

/* Partition scope: the process's watermark, for the record, is the lowest
 * of its partitions'. */
static void note_lowest_watermark(Windows *w, WindowState *const *states, size_t n) {
        bool any = false;
        int64_t lowest = 0;
        for (size_t k = 0; k < n; k++)
                if (states[k]->has_event_time) {
                        int64_t wm = states[k]->max_event_time_ms - w->spec.watermark_delay_ms;
                        lowest = any && lowest < wm ? lowest : wm;
                        any = true;
                }
        w->stats.has_watermark = any;
        if (any)
                w->stats.watermark_ms = lowest;
}

static bool is_final(const Windows *w, const Window *win) {
        return win->start + w->spec.size_ms <= w->stats.watermark_ms;
}

/* Frees the partition's final windows, at the front of its sorted array. */
static void evict_final(Windows *w, WindowState *s) {
        while (s->n_windows > 0 && is_final(w, &s->windows[0])) {
                w->stats.evicted_windows++;
                table_drop_window(w, s, 0);
        }
}

int windows_finish_batch(Windows *w, WindowState *const *states, size_t n, OutputMode mode, WindowRowFn fn,
                         void *userdata) {
        int result = 0;
        int64_t wm;

        for (size_t k = 0; k < n; k++) {
                WindowState *s = states[k];
                close_batch_sums(s);
                for (size_t i = 0; mode == OUTPUT_COMPLETE && i < s->n_sensors; i++)
                        for (uint32_t a = 0; s->sensors[i].block && a < s->sensors[i].n_aggs; a++)
                                add_ref(w, &s->sensors[i], &sensor_aggs(&s->sensors[i])[a]);
                if (mode == OUTPUT_UPDATE)
                        take_dirty(w, s);
        }
        keep_first_error(&result, emit_refs(w, states, n, mode == OUTPUT_COMPLETE, fn, userdata));

        if (w->scope == WATERMARK_PARTITION) {
                w->partition_clock_moved = false;
                note_lowest_watermark(w, states, n);
                if (mode == OUTPUT_COMPLETE)
                        return result;
                collect_final_everywhere(w, states, n);
                for (size_t f = 0; mode == OUTPUT_APPEND && f < w->n_final; f++)
                        for (size_t k = 0; k < n; k++) {
                                size_t index;
                                const Window *win = table_find_window(states[k], w->final_starts[f], &index);
                                if (win)
                                        add_window_refs(w, states[k], win);
                        }
                keep_first_error(&result, emit_refs(w, states, n, true, fn, userdata));
                for (size_t f = 0; f < w->n_final; f++)
                        for (size_t k = 0; k < n; k++) {
                                size_t index;
                                if (table_find_window(states[k], w->final_starts[f], &index)) {
                                        w->stats.evicted_windows++;
                                        table_drop_window(w, states[k], index);
                                }
                        }
                return result;
        }
        if (next_watermark(w, &wm)) {
                w->stats.watermark_ms = wm;
                w->stats.has_watermark = true;
        }
        windows_raise_pending(w);
        if (mode == OUTPUT_COMPLETE || !w->stats.has_watermark)
                return result;
        for (size_t k = 0; mode == OUTPUT_APPEND && k < n; k++)
                for (size_t i = 0; i < states[k]->n_windows && is_final(w, &states[k]->windows[i]); i++)
                        add_window_refs(w, states[k], &states[k]->windows[i]);
        keep_first_error(&result, emit_refs(w, states, n, true, fn, userdata));
        for (size_t k = 0; k < n; k++)
                evict_final(w, states[k]);
        return result;
}
