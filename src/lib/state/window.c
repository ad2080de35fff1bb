/* window: sliding event-time windows keyed by (start, sensor_id).
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

/* One sensor's aggregate over one window, in one partition: 40 bytes, the
 * bulk of the state. The count's top two bits are its flags, which cost no
 * padding; 2^62 records is beyond any window's count. */
typedef struct Agg {
        int64_t start;
        uint64_t count_flags;
        double sum, min, max;
} Agg;

#define AGG_DIRTY (1ull << 63)   /* changed in the open batch */
#define AGG_CHANGED (1ull << 62) /* changed since the last checkpoint */
#define AGG_COUNT_MAX (AGG_CHANGED - 1)

#define NOT_LISTED UINT32_MAX

typedef struct Sensor {
        uint32_t hash;
        uint16_t len; /* sensor ids are at most 256 bytes, and a checkpoint's at most 65535 */
        uint32_t n_aggs, cap_aggs;
        uint32_t dirty_at;   /* its place in the partition's dirty list, or NOT_LISTED */
        uint32_t changed_at; /* its place in the changed list, or NOT_LISTED */
        char *block;         /* the id, padded to 8 bytes, then cap_aggs Aggs sorted by start; NULL: a free index */
} Sensor;

typedef struct Window {
        int64_t start;
        uint32_t *sensors; /* indices of the sensors with an aggregate here */
        size_t n_sensors, cap_sensors;
} Window;

/* One (window, sensor) aggregate of one partition, to be emitted. */
typedef struct KeyRef {
        const Sensor *sensor;
        const Agg *agg;
} KeyRef;

struct Windows {
        WindowSpec spec;
        uint32_t aggs_per_record; /* a new sensor's first allocation */
        WatermarkScope scope;
        bool partition_clock_moved; /* partition scope: some partition's clock moved since the last batch end */
        int64_t *final_starts; /* partition scope: the windows final everywhere, at a batch end */
        size_t n_final, cap_final;
        uint64_t max_keys;
        bool track_updates; /* update mode's rows: the aggregates each batch changed */
        WindowStats stats;
        KeyRef *refs; /* the rows of the batch being finished */
        size_t n_refs, cap_refs;
        /* How many partitions hold a sensor of each bucket of hashes
         * (saturating at 255): a row whose bucket says one has no other
         * partition to merge, which spares a probe in every partition's
         * table when each sensor has its own partition, as with a keyed
         * producer. At most half the buckets are used. */
        uint8_t *holders;
        uint32_t holders_mask;
        uint64_t held_sensors; /* live sensors of all partitions */
        WindowState **states;  /* every partition's, to rebuild the buckets */
        size_t n_states, cap_states;
};

struct WindowState {
        Windows *all;
        Window *windows; /* sorted by start */
        size_t n_windows, cap_windows;
        Sensor *sensors;
        size_t n_sensors, cap_sensors; /* n_sensors counts free indices too */
        uint32_t *free_sensors;
        size_t n_free, cap_free;
        uint32_t *slots; /* sensor index + 1; 0 = empty; linear probing */
        uint32_t slot_mask;
        uint32_t *dirty; /* sensors with aggregates changed in the open batch */
        size_t n_dirty, cap_dirty;
        uint32_t *changed; /* sensors with aggregates changed since the last checkpoint */
        size_t n_changed, cap_changed;
        int64_t *evicted; /* starts of windows evicted since the last checkpoint */
        size_t n_evicted, cap_evicted;
        uint64_t entries, key_bytes; /* the size of the state (key_bytes: of the live sensors' ids), for compaction */
        bool has_event_time; /* partition scope: the partition's clock */
        int64_t max_event_time_ms;
};

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

static uint32_t hash_bytes(const char *s, size_t len) {
        uint64_t h = 14695981039346656037ull; /* FNV-1a: short keys, good spread */
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ull;
        }
        return (uint32_t)(h ^ (h >> 32));
}

static uint64_t agg_count(const Agg *a) {
        return a->count_flags & AGG_COUNT_MAX;
}

static size_t id_space(size_t len) {
        return (len + 7) & ~(size_t)7;
}

static Agg *sensor_aggs(const Sensor *sn) {
        return (Agg *)(void *)(sn->block + id_space(sn->len));
}

static const char *sensor_id(const Sensor *sn) {
        return sn->block;
}

/* --- a partition's sensors: an open-addressing table over a dense array --- */

static uint32_t live_sensors(const WindowState *s) {
        return (uint32_t)(s->n_sensors - s->n_free);
}

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

/* Finds the sensor's slot, or the empty slot where it would go. */
static uint32_t *find_sensor_slot(const WindowState *s, uint32_t hash, const char *id, size_t len) {
        uint32_t pos = hash & s->slot_mask;
        for (;;) {
                uint32_t *slot = &s->slots[pos];
                if (*slot == 0)
                        return slot;
                const Sensor *sn = &s->sensors[*slot - 1];
                if (sn->hash == hash && sn->len == len && memcmp(sensor_id(sn), id, len) == 0)
                        return slot;
                pos = (pos + 1) & s->slot_mask;
        }
}

static Sensor *find_sensor(const WindowState *s, uint32_t hash, const char *id, size_t len) {
        uint32_t *slot = find_sensor_slot(s, hash, id, len);
        return *slot ? &s->sensors[*slot - 1] : NULL;
}

static void count_holder(Windows *w, uint32_t hash) {
        if (w->holders[hash & w->holders_mask] < UINT8_MAX)
                w->holders[hash & w->holders_mask]++;
}

static void rebuild_holders(Windows *w) {
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
                rebuild_holders(w); /* counts this sensor too */
        else
                count_holder(w, hash);
}

static void release(Windows *w, uint32_t hash) {
        w->held_sensors--;
        if (w->holders[hash & w->holders_mask] < UINT8_MAX) /* a saturated count no longer says how many */
                w->holders[hash & w->holders_mask]--;
}

/* A sensor with no aggregates yet, in the empty slot. */
static Sensor *add_sensor(WindowState *s, uint32_t *slot, uint32_t hash, const char *id, size_t len) {
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

static void list_sensor(uint32_t **list, size_t *n, size_t *cap, uint32_t *at, uint32_t index) {
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

/* --- a sensor's aggregates, sorted by start --- */

/* The aggregate at start, if the sensor has one, searching down from index
 * hi (exclusive); *pos is where it is or would be inserted. */
static Agg *find_agg_below(const Sensor *sn, int64_t start, uint32_t hi, uint32_t *pos) {
        Agg *aggs = sensor_aggs(sn);
        while (hi > 0 && aggs[hi - 1].start > start)
                hi--;
        if (hi > 0 && aggs[hi - 1].start == start) {
                *pos = hi - 1;
                return &aggs[hi - 1];
        }
        *pos = hi;
        return NULL;
}

static Agg *find_agg(const Sensor *sn, int64_t start) {
        const Agg *aggs = sensor_aggs(sn);
        uint32_t lo = 0, hi = sn->n_aggs;
        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (aggs[mid].start < start)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < sn->n_aggs && aggs[lo].start == start ? &sensor_aggs(sn)[lo] : NULL;
}

/* --- a partition's live windows --- */

/* Binary search for the window starting at start; *index is where it is or
 * where it would be inserted. */
static Window *find_window(const WindowState *s, int64_t start, size_t *index) {
        /* Live windows are usually every slide apart with none missing: then
         * the index follows from the newest start, with no search. */
        if (s->n_windows > 0) {
                int64_t newest = s->windows[s->n_windows - 1].start, slide = s->all->spec.slide_ms;
                if (start <= newest && (newest - start) / slide < (int64_t)s->n_windows) {
                        size_t guess = s->n_windows - 1 - (size_t)((newest - start) / slide);
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
        Window *win = find_window(s, start, &index);
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
static Agg *insert_agg(WindowState *s, Sensor *sn, uint32_t pos, int64_t start) {
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

static void mark_updated(WindowState *s, Sensor *sn, Agg *a) {
        uint32_t index = (uint32_t)(sn - s->sensors);
        if (s->all->track_updates && !(a->count_flags & AGG_DIRTY)) {
                a->count_flags |= AGG_DIRTY;
                list_sensor(&s->dirty, &s->n_dirty, &s->cap_dirty, &sn->dirty_at, index);
        }
        if (!(a->count_flags & AGG_CHANGED)) {
                a->count_flags |= AGG_CHANGED;
                list_sensor(&s->changed, &s->n_changed, &s->cap_changed, &sn->changed_at, index);
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
        rebuild_holders(w);
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
                                sn = add_sensor(s, slot, hash, sensor, len);
                        a = insert_agg(s, sn, below, start);
                }
                uint64_t count = agg_count(a);
                if (count == 0 || value < a->min)
                        a->min = value;
                if (count == 0 || value > a->max)
                        a->max = value;
                a->count_flags++;
                a->sum += value;
                mark_updated(s, sn, a);
        }
        stats->late_pairs += late_pairs;
        return late_pairs;
}

/* Orders rows by (window start, sensor_id). */
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

static bool next_watermark(const Windows *w, int64_t *wm) {
        if (w->scope == WATERMARK_PARTITION)
                return false; /* each partition's moves with its records */
        if (!w->stats.has_event_time)
                return false;
        int64_t candidate = w->stats.max_event_time_ms - w->spec.watermark_delay_ms;
        if (w->stats.has_watermark && candidate <= w->stats.watermark_ms)
                return false;
        *wm = candidate;
        return true;
}

bool windows_watermark_would_advance(const Windows *w) {
        int64_t wm;
        return w->scope == WATERMARK_PARTITION ? w->partition_clock_moved : next_watermark(w, &wm);
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
                                everywhere = q == k || !find_window(states[q], start, &index) ||
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

/* Takes window index i out of the partition's state with every aggregate
 * in it (a sensor left with none goes too), remembering the eviction for
 * the next checkpoint. */
static void drop_window(Windows *w, WindowState *s, size_t i) {
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

/* Frees the partition's final windows, at the front of its sorted array. */
static void evict_final(Windows *w, WindowState *s) {
        while (s->n_windows > 0 && is_final(w, &s->windows[0])) {
                w->stats.evicted_windows++;
                drop_window(w, s, 0);
        }
}

int windows_finish_batch(Windows *w, WindowState *const *states, size_t n, OutputMode mode, WindowRowFn fn,
                         void *userdata) {
        int result = 0;
        int64_t wm;

        for (size_t k = 0; k < n; k++) {
                WindowState *s = states[k];
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
                                const Window *win = find_window(states[k], w->final_starts[f], &index);
                                if (win)
                                        add_window_refs(w, states[k], win);
                        }
                keep_first_error(&result, emit_refs(w, states, n, true, fn, userdata));
                for (size_t f = 0; f < w->n_final; f++)
                        for (size_t k = 0; k < n; k++) {
                                size_t index;
                                if (find_window(states[k], w->final_starts[f], &index)) {
                                        w->stats.evicted_windows++;
                                        drop_window(w, states[k], index);
                                }
                        }
                return result;
        }
        if (next_watermark(w, &wm)) {
                w->stats.watermark_ms = wm;
                w->stats.has_watermark = true;
        }
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

const WindowStats *windows_stats(const Windows *w) {
        return &w->stats;
}

static WindowEntry entry_view(const Sensor *sn, const Agg *a) {
        return (WindowEntry){ .start_ms = a->start, .sensor_id = sensor_id(sn), .sensor_id_len = sn->len,
                              .count = agg_count(a), .sum = a->sum, .min = a->min, .max = a->max };
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
                                WindowEntry view = entry_view(sn, &aggs[k]);
                                changed(&view, userdata);
                        }
                sn->changed_at = NOT_LISTED;
        }
        s->n_changed = 0;
}

void window_state_each_entry(const WindowState *s, WindowEntryFn fn, void *userdata) {
        for (size_t i = 0; i < s->n_sensors; i++)
                for (uint32_t k = 0; s->sensors[i].block && k < s->sensors[i].n_aggs; k++) {
                        WindowEntry view = entry_view(&s->sensors[i], &sensor_aggs(&s->sensors[i])[k]);
                        fn(&view, userdata);
                }
}

void window_state_restore_entry(WindowState *s, const WindowEntry *in) {
        uint32_t hash = hash_bytes(in->sensor_id, in->sensor_id_len);
        uint32_t *slot = find_sensor_slot(s, hash, in->sensor_id, in->sensor_id_len);
        Sensor *sn = *slot ? &s->sensors[*slot - 1] : add_sensor(s, slot, hash, in->sensor_id, in->sensor_id_len);
        uint32_t pos;
        Agg *a = find_agg_below(sn, in->start_ms, sn->n_aggs, &pos);
        if (!a)
                a = insert_agg(s, sn, pos, in->start_ms);
        a->count_flags = (a->count_flags & ~AGG_COUNT_MAX) | (in->count < AGG_COUNT_MAX ? in->count : AGG_COUNT_MAX);
        a->sum = in->sum;
        a->min = in->min;
        a->max = in->max;
}

void window_state_restore_evicted(WindowState *s, int64_t start) {
        size_t index;
        if (find_window(s, start, &index)) {
                drop_window(s->all, s, index);
                s->n_evicted--; /* already durable */
        }
}

void window_state_size(const WindowState *s, uint64_t *entries, uint64_t *sensors, uint64_t *key_bytes) {
        *entries = s->entries;
        *sensors = live_sensors(s);
        *key_bytes = s->key_bytes;
}

void windows_restore_clock(Windows *w, const WindowClock *clock) {
        if (clock->has_event_time)
                windows_observe_event_time(w, clock->max_event_time_ms);
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

void window_state_discard(WindowState *s) {
        while (s->n_windows > 0)
                drop_window(s->all, s, s->n_windows - 1);
        s->has_event_time = false;
        s->n_evicted = 0;
}
