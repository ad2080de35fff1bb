/* window_table: a partition's table. Sensors in an open-addressing table
 * over a dense array, each with its aggregates sorted by start; the live
 * windows, each listing its sensors; the dirty and changed lists; the
 * buckets that count each sensor's partitions. Inserting and removing
 * them, and the table's life. */
#include "lib/state/window_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"

static void grow_slots(WindowState *s) {
        uint32_t n_slots = s->slots ? (s->slot_mask + 1) * 2 : 16;
        uint32_t *slots = xcalloc(n_slots, sizeof(*slots));
        for (size_t i = 0; i < s->n_sensors; i++) {
                if (!s->sensors[i].block)
                        continue;
                uint32_t pos = s->sensors[i].hash & (n_slots - 1);
                while (slots[pos])
                        pos = (pos + 1) & (n_slots - 1);
                slots[pos] = (uint32_t)i + 1;
        }
        free(s->slots);
        s->slots = slots;
        s->slot_mask = n_slots - 1;
}

static void count_holder(Windows *w, uint32_t hash) {
        if (w->holders[hash & w->holders_mask] < UINT8_MAX)
                w->holders[hash & w->holders_mask]++;
}

void table_rebuild_holders(Windows *w) {
        uint32_t n_buckets = 1024;
        while (n_buckets < w->held_sensors * 4)
                n_buckets *= 2;
        free(w->holders);
        w->holders = xcalloc(n_buckets, 1);
        w->holders_mask = n_buckets - 1;
        for (size_t k = 0; k < w->n_states; k++)
                for (size_t i = 0; i < w->states[k]->n_sensors; i++)
                        if (w->states[k]->sensors[i].block)
                                count_holder(w, w->states[k]->sensors[i].hash);
}

static void hold(Windows *w, uint32_t hash) {
        if (++w->held_sensors * 2 > (uint64_t)w->holders_mask + 1)
                table_rebuild_holders(w); /* counts this sensor too */
        else
                count_holder(w, hash);
}

static void release(Windows *w, uint32_t hash) {
        w->held_sensors--;
        if (w->holders[hash & w->holders_mask] < UINT8_MAX) /* a saturated count no longer says how many */
                w->holders[hash & w->holders_mask]--;
}

/* A sensor with no aggregates yet, in the empty slot. */
Sensor *table_add_sensor(WindowState *s, uint32_t *slot, uint32_t hash, const char *id, size_t len) {
        uint32_t index;
        if (s->n_free > 0) {
                index = s->free_sensors[--s->n_free];
        } else {
                ARRAY_RESERVE(s->sensors, s->cap_sensors, s->n_sensors + 1);
                index = (uint32_t)s->n_sensors++;
        }
        Sensor *sn = &s->sensors[index];
        uint32_t cap = s->all->aggs_per_record;
        *sn = (Sensor){ .hash = hash, .len = (uint16_t)len, .cap_aggs = cap, .dirty_at = NOT_LISTED,
                        .changed_at = NOT_LISTED, .block = xmalloc(id_space(len) + cap * sizeof(Agg)) };
        memcpy(sn->block, id, len);
        *slot = index + 1;
        s->key_bytes += len;
        hold(s->all, hash);
        if (live_sensors(s) * 2 > s->slot_mask + 1)
                grow_slots(s);
        return sn;
}

void table_list_sensor(uint32_t **list, size_t *n, size_t *cap, uint32_t *at, uint32_t index) {
        if (*at != NOT_LISTED)
                return;
        array_reserve(list, cap, *n + 1, sizeof(**list));
        *at = (uint32_t)*n;
        (*list)[(*n)++] = index;
}

/* Takes the sensor out of a list, moving the list's last sensor into its place. */
static void unlist_sensor(WindowState *s, uint32_t *list, size_t *n, uint32_t *at, bool dirty_list) {
        if (*at == NOT_LISTED)
                return;
        uint32_t last = list[--*n];
        if (*at < *n) {
                list[*at] = last;
                Sensor *moved = &s->sensors[last];
                *(dirty_list ? &moved->dirty_at : &moved->changed_at) = *at;
        }
        *at = NOT_LISTED;
}

/* Frees a sensor whose last aggregate has gone: its slot is emptied by
 * shifting back the entries after it (no tombstones), its index reused. */
static void remove_sensor(WindowState *s, Sensor *sn) {
        uint32_t index = (uint32_t)(sn - s->sensors);
        unlist_sensor(s, s->dirty, &s->n_dirty, &sn->dirty_at, true);
        unlist_sensor(s, s->changed, &s->n_changed, &sn->changed_at, false);
        uint32_t hole = sn->hash & s->slot_mask;
        while (s->slots[hole] != index + 1)
                hole = (hole + 1) & s->slot_mask;
        for (uint32_t next = (hole + 1) & s->slot_mask; s->slots[next]; next = (next + 1) & s->slot_mask) {
                uint32_t home = s->sensors[s->slots[next] - 1].hash & s->slot_mask;
                /* the entry at next may fill the hole when its home is not in (hole, next] */
                bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
                if (!stays) {
                        s->slots[hole] = s->slots[next];
                        hole = next;
                }
        }
        s->slots[hole] = 0;
        release(s->all, sn->hash);
        s->key_bytes -= sn->len;
        free(sn->block);
        sn->block = NULL;
        if (live_sensors(s) == 1) { /* the last one: start afresh, so churn leaves no holes */
                s->n_sensors = 0;
                s->n_free = 0;
                return;
        }
        ARRAY_RESERVE(s->free_sensors, s->cap_free, s->n_free + 1);
        s->free_sensors[s->n_free++] = index;
}

/* --- a partition's live windows --- */

/* Binary search for the window starting at start; *index is where it is or
 * where it would be inserted. */
Window *table_find_window(const WindowState *s, int64_t start, size_t *index) {
        /* Live windows are usually every slide apart with none missing: then
         * the index follows from the newest start, with no search. */
        if (s->n_windows > 0) {
                int64_t newest = s->windows[s->n_windows - 1].start, slide = s->all->spec.slide_ms, gap;
                /* starts from a damaged checkpoint can lie further apart
                 * than an int64_t reaches: then search */
                if (start <= newest && !__builtin_sub_overflow(newest, start, &gap) &&
                    gap / slide < (int64_t)s->n_windows) {
                        size_t guess = s->n_windows - 1 - (size_t)(gap / slide);
                        if (s->windows[guess].start == start) {
                                *index = guess;
                                return &s->windows[guess];
                        }
                }
        }
        size_t lo = 0, hi = s->n_windows;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->windows[mid].start < start)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *index = lo;
        return lo < s->n_windows && s->windows[lo].start == start ? &s->windows[lo] : NULL;
}

/* Lists the sensor in the window starting at start, creating the window. */
static void window_add_sensor(WindowState *s, int64_t start, uint32_t sensor) {
        size_t index;
        Window *win = table_find_window(s, start, &index);
        if (!win) {
                ARRAY_RESERVE(s->windows, s->cap_windows, s->n_windows + 1);
                memmove(&s->windows[index + 1], &s->windows[index], (s->n_windows - index) * sizeof(*s->windows));
                win = &s->windows[index];
                *win = (Window){ .start = start };
                s->n_windows++;
                s->all->stats.live_windows++;
        }
        ARRAY_RESERVE(win->sensors, win->cap_sensors, win->n_sensors + 1);
        win->sensors[win->n_sensors++] = sensor;
}

/* A zeroed aggregate at index pos of the sensor's, counted as a live key. */
Agg *table_insert_agg(WindowState *s, Sensor *sn, uint32_t pos, int64_t start) {
        if (sn->n_aggs == sn->cap_aggs) {
                /* a quarter more: a sensor's live windows are about (W + D) / S,
                 * and doubling would waste nearly as many */
                sn->cap_aggs += sn->cap_aggs / 4 + 1;
                sn->block = xrealloc(sn->block, id_space(sn->len) + sn->cap_aggs * sizeof(Agg));
        }
        Agg *aggs = sensor_aggs(sn);
        memmove(&aggs[pos + 1], &aggs[pos], (sn->n_aggs - pos) * sizeof(*aggs));
        aggs[pos] = (Agg){ .start = start };
        sn->n_aggs++;
        window_add_sensor(s, start, (uint32_t)(sn - s->sensors));
        s->all->stats.live_keys++;
        s->entries++;
        return &aggs[pos];
}
WindowState *window_state_new(Windows *all) {
        WindowState *s = xcalloc(1, sizeof(*s));
        s->all = all;
        grow_slots(s);
        ARRAY_RESERVE(all->states, all->cap_states, all->n_states + 1);
        all->states[all->n_states++] = s;
        return s;
}

WindowState *window_state_free(WindowState *s) {
        if (!s)
                return NULL;
        s->all->stats.live_keys -= s->entries;
        s->all->stats.live_windows -= s->n_windows;
        for (size_t i = 0; i < s->n_windows; i++)
                free(s->windows[i].sensors);
        for (size_t i = 0; i < s->n_sensors; i++)
                if (s->sensors[i].block) {
                        release(s->all, s->sensors[i].hash);
                        free(s->sensors[i].block);
                }
        for (size_t k = 0; k < s->all->n_states; k++)
                if (s->all->states[k] == s)
                        s->all->states[k] = s->all->states[--s->all->n_states];
        free(s->windows);
        free(s->sensors);
        free(s->free_sensors);
        free(s->slots);
        free(s->dirty);
        free(s->batch_sums);
        free(s->changed);
        free(s->evicted);
        free(s);
        return NULL;
}

uint64_t window_state_bytes(const WindowState *s) {
        uint64_t bytes = sizeof(*s) + s->cap_windows * sizeof(Window) + s->cap_sensors * sizeof(Sensor) +
                         ((uint64_t)s->slot_mask + 1 + s->cap_free + s->cap_dirty + s->cap_changed) * sizeof(uint32_t) +
                         s->cap_evicted * sizeof(int64_t);
        for (size_t i = 0; i < s->n_windows; i++)
                bytes += s->windows[i].cap_sensors * sizeof(uint32_t);
        for (size_t i = 0; i < s->n_sensors; i++)
                if (s->sensors[i].block)
                        bytes += id_space(s->sensors[i].len) + s->sensors[i].cap_aggs * sizeof(Agg);
        return bytes;
}

void table_drop_window(Windows *w, WindowState *s, size_t i) {
        Window *win = &s->windows[i];
        for (size_t k = 0; k < win->n_sensors; k++) {
                Sensor *sn = &s->sensors[win->sensors[k]];
                Agg *aggs = sensor_aggs(sn);
                uint32_t pos = 0; /* windows go oldest first: the front, as a rule */
                while (aggs[pos].start != win->start)
                        pos++;
                memmove(&aggs[pos], &aggs[pos + 1], (sn->n_aggs - pos - 1) * sizeof(*aggs));
                if (--sn->n_aggs == 0)
                        remove_sensor(s, sn);
        }
        ARRAY_RESERVE(s->evicted, s->cap_evicted, s->n_evicted + 1);
        s->evicted[s->n_evicted++] = win->start;
        w->stats.live_keys -= win->n_sensors;
        w->stats.live_windows--;
        s->entries -= win->n_sensors;
        free(win->sensors);
        memmove(&s->windows[i], &s->windows[i + 1], (s->n_windows - i - 1) * sizeof(*s->windows));
        s->n_windows--;
}

void window_state_size(const WindowState *s, uint64_t *entries, uint64_t *sensors, uint64_t *key_bytes) {
        *entries = s->entries;
        *sensors = live_sensors(s);
        *key_bytes = s->key_bytes;
}

void window_state_discard(WindowState *s) {
        while (s->n_windows > 0)
                table_drop_window(s->all, s, s->n_windows - 1);
        s->has_event_time = false;
        s->n_evicted = 0;
        s->n_batch_sums = 0;
}
