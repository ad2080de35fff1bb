/* window_changes: a partition's state for its checkpoints. What changed
 * since the last one (a delta), every entry (a snapshot), and a loaded
 * checkpoint's entries and evictions put back. */
#include "lib/state/window_internal.h"

/* The whole sum, also of an aggregate the open batch touched: sensord
 * takes its checkpoints between batches, where there is none, but a view
 * must never show a batch's part of a sum alone. */
static double whole_sum(const WindowState *s, const Sensor *sn, const Agg *a) {
        if (!(a->count_flags & AGG_OPEN))
                return a->sum;
        uint32_t index = (uint32_t)(sn - s->sensors);
        for (size_t i = 0; i < s->n_batch_sums; i++)
                if (s->batch_sums[i].sensor == index && s->batch_sums[i].start == a->start)
                        return s->batch_sums[i].before + a->sum;
        return a->sum;
}

static WindowEntry entry_view(const WindowState *s, const Sensor *sn, const Agg *a) {
        return (WindowEntry){ .start_ms = a->start, .sensor_id = sensor_id(sn), .sensor_id_len = sn->len,
                              .count = agg_count(a), .sum = whole_sum(s, sn, a), .min = a->min, .max = a->max };
}

void window_state_take_changes(WindowState *s, WindowEntryFn changed, WindowEvictedFn evicted, void *userdata) {
        for (size_t i = 0; i < s->n_evicted; i++)
                evicted(s->evicted[i], userdata);
        s->n_evicted = 0;
        for (size_t i = 0; i < s->n_changed; i++) {
                Sensor *sn = &s->sensors[s->changed[i]];
                Agg *aggs = sensor_aggs(sn);
                for (uint32_t k = 0; k < sn->n_aggs; k++)
                        if (aggs[k].count_flags & AGG_CHANGED) {
                                aggs[k].count_flags &= ~AGG_CHANGED;
                                WindowEntry view = entry_view(s, sn, &aggs[k]);
                                changed(&view, userdata);
                        }
                sn->changed_at = NOT_LISTED;
        }
        s->n_changed = 0;
}

void window_state_each_entry(const WindowState *s, WindowEntryFn fn, void *userdata) {
        for (size_t i = 0; i < s->n_sensors; i++)
                for (uint32_t k = 0; s->sensors[i].block && k < s->sensors[i].n_aggs; k++) {
                        WindowEntry view = entry_view(s, &s->sensors[i], &sensor_aggs(&s->sensors[i])[k]);
                        fn(&view, userdata);
                }
}

void window_state_restore_entry(WindowState *s, const WindowEntry *in) {
        uint32_t hash = hash_bytes(in->sensor_id, in->sensor_id_len);
        uint32_t *slot = find_sensor_slot(s, hash, in->sensor_id, in->sensor_id_len);
        Sensor *sn = *slot ? &s->sensors[*slot - 1] : table_add_sensor(s, slot, hash, in->sensor_id, in->sensor_id_len);
        uint32_t pos;
        Agg *a = find_agg_below(sn, in->start_ms, sn->n_aggs, &pos);
        if (!a)
                a = table_insert_agg(s, sn, pos, in->start_ms);
        a->count_flags = (a->count_flags & ~AGG_COUNT_MAX) | (in->count < AGG_COUNT_MAX ? in->count : AGG_COUNT_MAX);
        a->sum = in->sum;
        a->min = in->min;
        a->max = in->max;
}

void window_state_restore_evicted(WindowState *s, int64_t start) {
        size_t index;
        if (table_find_window(s, start, &index)) {
                table_drop_window(s->all, s, index);
                s->n_evicted--; /* already durable */
        }
}
