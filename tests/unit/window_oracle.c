/* window_oracle (test oracle, the layout before one probe per record; see
 * window_oracle.h): sliding event-time windows keyed by (start, sensor_id).
 *
 * Each Kafka partition has its own table (OracleWindowState), so that its state
 * can be checkpointed and moved with the partition; the key budget and the
 * counters are shared (OracleWindows), and so is the watermark in process scope
 * (Spark's rule). In partition scope each table has its own event-time
 * clock instead. When a sensor's records arrive in several partitions, its
 * aggregates are merged when the rows are emitted.
 *
 * Live windows are few (about (W + D) / S), so they sit in an array sorted by
 * start: eviction pops from the front and lookups are a short binary search.
 * Each window has its own open-addressing table of sensors with entries in a
 * dense array (indices stay valid when the table grows) and its own string
 * arena, so freeing a final window is a handful of free() calls. */
#include "window_oracle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"

/* The state is mostly these. */
typedef struct Entry {
        uint32_t hash;
        uint16_t len; /* sensor ids are at most 256 bytes, and a checkpoint's at most 65535 */
        bool dirty;   /* changed in the open batch */
        bool changed; /* changed since the last checkpoint */
        bool in_batch; /* batch_sum holds values of the open batch */
        const char *sensor;
        uint64_t count;
        double sum, min, max;
        double batch_sum; /* Spark's order: the batch's values, added to sum at its end */
} Entry;

typedef struct Block {
        struct Block *next;
        size_t used, size;
        char data[];
} Block;

typedef struct Window {
        int64_t start;
        Entry *entries;
        uint32_t n_entries;
        size_t cap_entries;
        uint32_t *slots; /* entry index + 1; 0 = empty */
        uint32_t slot_mask;
        uint32_t *dirty; /* entry indices changed in the open batch */
        uint32_t n_dirty;
        size_t cap_dirty;
        uint32_t *changed; /* entry indices changed since the last checkpoint */
        uint32_t n_changed;
        size_t cap_changed;
        uint64_t key_bytes; /* sum of the sensor ids' lengths */
        Block *strings;
        /* A Bloom filter of the sensors here (two of 512 bits per sensor,
         * never cleared: entries leave only with their window), so that
         * merging a row across partitions skips, without a probe, the
         * partitions that do not hold its sensor: with a keyed producer,
         * all but one. */
        uint64_t sensors_seen[8];
} Window;

/* One (window, sensor) entry of one partition, to be emitted. */
typedef struct KeyRef {
        int64_t start;
        const Entry *entry;
} KeyRef;

struct OracleWindows {
        WindowSpec spec;
        WatermarkScope scope;
        bool partition_clock_moved; /* partition scope: some partition's clock moved since the last batch end */
        int64_t *final_starts; /* partition scope: the windows final everywhere, at a batch end */
        size_t n_final, cap_final;
        uint64_t max_keys;
        bool track_updates; /* update mode's rows: the entries each batch changed */
        bool has_due;       /* process scope: the watermark the next batch end sets */
        int64_t due_ms;
        WindowStats stats;
        KeyRef *refs; /* the rows of the batch being finished */
        size_t n_refs, cap_refs;
        Window **merge_windows; /* per partition, the window of the rows being merged */
        size_t cap_merge_windows;
};

struct OracleWindowState {
        OracleWindows *all;
        Window **windows; /* sorted by start */
        size_t n_windows, cap_windows;
        Window **touched; /* windows with dirty entries: a batch touches few of many */
        size_t n_touched, cap_touched;
        Window **changed; /* windows with entries changed since the last checkpoint */
        size_t n_changed, cap_changed;
        int64_t *evicted; /* starts of windows evicted since the last checkpoint */
        size_t n_evicted, cap_evicted;
        uint64_t entries, key_bytes; /* the size of the state, for compaction */
        bool has_event_time; /* partition scope: the partition's clock */
        int64_t max_event_time_ms;
};

static uint32_t hash_bytes(const char *s, size_t len) {
        uint64_t h = 14695981039346656037ull; /* FNV-1a: short keys, good spread */
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ull;
        }
        return (uint32_t)(h ^ (h >> 32));
}

static void window_free(Window *w) {
        if (!w)
                return;
        for (Block *b = w->strings, *next; b; b = next) {
                next = b->next;
                free(b);
        }
        free(w->entries);
        free(w->slots);
        free(w->dirty);
        free(w->changed);
        free(w);
}

static const char *window_store_string(Window *w, const char *s, size_t len) {
        Block *b = w->strings;
        if (!b || b->size - b->used < len) {
                /* from 256 bytes, doubling up to a page: most windows of a
                 * partition hold few sensors */
                size_t size = b ? (b->size < 4096 ? b->size * 2 : 4096) : 256;
                if (size < len)
                        size = len;
                b = xmalloc(sizeof(Block) + size);
                b->next = w->strings;
                b->used = 0;
                b->size = size;
                w->strings = b;
        }
        char *dst = b->data + b->used;
        memcpy(dst, s, len);
        b->used += len;
        return dst;
}

static void window_grow_slots(Window *w) {
        uint32_t n_slots = w->slots ? (w->slot_mask + 1) * 2 : 16;
        uint32_t *slots = xcalloc(n_slots, sizeof(*slots));
        for (uint32_t i = 0; i < w->n_entries; i++) {
                uint32_t pos = w->entries[i].hash & (n_slots - 1);
                while (slots[pos])
                        pos = (pos + 1) & (n_slots - 1);
                slots[pos] = i + 1;
        }
        free(w->slots);
        w->slots = slots;
        w->slot_mask = n_slots - 1;
}

/* Finds the entry for a sensor, or the empty slot where it would go. */
static uint32_t *window_find_slot(Window *w, uint32_t hash, const char *sensor, size_t len) {
        uint32_t pos = hash & w->slot_mask;
        for (;;) {
                uint32_t *slot = &w->slots[pos];
                if (*slot == 0)
                        return slot;
                const Entry *e = &w->entries[*slot - 1];
                if (e->hash == hash && e->len == len && memcmp(e->sensor, sensor, len) == 0)
                        return slot;
                pos = (pos + 1) & w->slot_mask;
        }
}

/* The filter's two bits for a sensor come from its hash's top 18 bits (the
 * slots use the bottom ones). */
static void seen_bits(uint32_t hash, unsigned bits[2]) {
        bits[0] = hash >> 23;
        bits[1] = (hash >> 14) & 511u;
}

static bool maybe_holds(const Window *w, uint32_t hash) {
        unsigned bits[2];
        seen_bits(hash, bits);
        return (w->sensors_seen[bits[0] >> 6] >> (bits[0] & 63) & 1) &&
               (w->sensors_seen[bits[1] >> 6] >> (bits[1] & 63) & 1);
}

static Entry *window_insert_entry(Window *w, uint32_t *slot, uint32_t hash, const char *sensor, size_t len) {
        unsigned bits[2];
        seen_bits(hash, bits);
        for (int i = 0; i < 2; i++)
                w->sensors_seen[bits[i] >> 6] |= 1ull << (bits[i] & 63);
        ARRAY_RESERVE(w->entries, w->cap_entries, (size_t)w->n_entries + 1);
        const char *copy = window_store_string(w, sensor, len);
        Entry *e = &w->entries[w->n_entries];
        *e = (Entry){ .hash = hash, .sensor = copy, .len = (uint16_t)len };
        *slot = ++w->n_entries;
        w->key_bytes += len;
        return e;
}

static void window_mark_dirty(OracleWindowState *s, Window *w, Entry *e) {
        if (e->dirty)
                return;
        if (w->n_dirty == 0) {
                ARRAY_RESERVE(s->touched, s->cap_touched, s->n_touched + 1);
                s->touched[s->n_touched++] = w;
        }
        ARRAY_RESERVE(w->dirty, w->cap_dirty, (size_t)w->n_dirty + 1);
        w->dirty[w->n_dirty++] = (uint32_t)(e - w->entries);
        e->dirty = true;
}

static void window_mark_changed(OracleWindowState *s, Window *w, Entry *e) {
        if (e->changed)
                return;
        if (w->n_changed == 0) {
                ARRAY_RESERVE(s->changed, s->cap_changed, s->n_changed + 1);
                s->changed[s->n_changed++] = w;
        }
        ARRAY_RESERVE(w->changed, w->cap_changed, (size_t)w->n_changed + 1);
        w->changed[w->n_changed++] = (uint32_t)(e - w->entries);
        e->changed = true;
}

int oracle_windows_new(OracleWindows **out, const WindowSpec *spec, uint64_t max_keys) {
        if (window_spec_check(spec))
                return -EINVAL;
        OracleWindows *w = xcalloc(1, sizeof(*w));
        w->spec = *spec;
        w->max_keys = max_keys;
        w->track_updates = true;
        *out = w;
        return 0;
}

OracleWindows *oracle_windows_free(OracleWindows *w) {
        if (w) {
                free(w->final_starts);
                free(w->refs);
                free(w->merge_windows);
                free(w);
        }
        return NULL;
}

void oracle_windows_set_max_keys(OracleWindows *w, uint64_t max_keys) {
        w->max_keys = max_keys;
}

void oracle_windows_set_mode(OracleWindows *w, OutputMode mode) {
        w->track_updates = mode == OUTPUT_UPDATE;
}

void oracle_windows_set_scope(OracleWindows *w, WatermarkScope scope) {
        w->scope = scope;
}

WatermarkScope oracle_windows_scope(const OracleWindows *w) {
        return w->scope;
}

OracleWindowState *oracle_window_state_new(OracleWindows *all) {
        OracleWindowState *s = xcalloc(1, sizeof(*s));
        s->all = all;
        return s;
}

OracleWindowState *oracle_window_state_free(OracleWindowState *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_windows; i++) {
                s->all->stats.live_keys -= s->windows[i]->n_entries;
                s->all->stats.live_windows--;
                window_free(s->windows[i]);
        }
        free(s->windows);
        free(s->touched);
        free(s->changed);
        free(s->evicted);
        free(s);
        return NULL;
}

static uint64_t window_bytes(const Window *w) {
        uint64_t bytes = sizeof(*w) + w->cap_entries * sizeof(Entry) +
                         (w->slots ? ((uint64_t)w->slot_mask + 1) * sizeof(uint32_t) : 0) +
                         (w->cap_dirty + w->cap_changed) * sizeof(uint32_t);
        for (const Block *b = w->strings; b; b = b->next)
                bytes += sizeof(*b) + b->size;
        return bytes;
}

uint64_t oracle_window_state_bytes(const OracleWindowState *s) {
        uint64_t bytes = sizeof(*s) + (s->cap_windows + s->cap_touched + s->cap_changed) * sizeof(Window *) +
                         s->cap_evicted * sizeof(int64_t);
        for (size_t i = 0; i < s->n_windows; i++)
                bytes += window_bytes(s->windows[i]);
        return bytes;
}

/* Binary search for the window starting at start; *index is where it is or
 * where it would be inserted. */
static Window *find_window(const OracleWindowState *s, int64_t start, size_t *index) {
        /* Live windows are usually every slide apart with none missing: then
         * the index follows from the newest start, with no search. */
        if (s->n_windows > 0) {
                int64_t newest = s->windows[s->n_windows - 1]->start, slide = s->all->spec.slide_ms;
                if (start <= newest && (newest - start) / slide < (int64_t)s->n_windows) {
                        size_t guess = s->n_windows - 1 - (size_t)((newest - start) / slide);
                        if (s->windows[guess]->start == start) {
                                *index = guess;
                                return s->windows[guess];
                        }
                }
        }
        size_t lo = 0, hi = s->n_windows;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->windows[mid]->start < start)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *index = lo;
        return lo < s->n_windows && s->windows[lo]->start == start ? s->windows[lo] : NULL;
}

static Window *insert_window(OracleWindowState *s, int64_t start, size_t index) {
        ARRAY_RESERVE(s->windows, s->cap_windows, s->n_windows + 1);
        Window *w = xcalloc(1, sizeof(*w));
        window_grow_slots(w);
        w->start = start;
        memmove(&s->windows[index + 1], &s->windows[index], (s->n_windows - index) * sizeof(*s->windows));
        s->windows[index] = w;
        s->n_windows++;
        s->all->stats.live_windows++;
        return w;
}

void oracle_windows_observe_event_time(OracleWindows *w, int64_t t) {
        if (!w->stats.has_event_time || t > w->stats.max_event_time_ms) {
                w->stats.max_event_time_ms = t;
                w->stats.has_event_time = true;
        }
}

/* A new entry in the empty slot, counted in the partition and in the shared
 * key count; the table grows past half full. Returns the entry. */
static Entry *state_insert_entry(OracleWindowState *s, Window *w, uint32_t *slot, uint32_t hash, const char *sensor,
                                 size_t len) {
        Entry *e = window_insert_entry(w, slot, hash, sensor, len);
        s->all->stats.live_keys++;
        s->entries++;
        s->key_bytes += len;
        if (w->n_entries * 2 > w->slot_mask + 1)
                window_grow_slots(w); /* rebuilds the slots only: entries stay where they are */
        return e;
}

void oracle_window_state_observe_event_time(OracleWindowState *s, int64_t t) {
        if (!s->has_event_time || t > s->max_event_time_ms) {
                s->max_event_time_ms = t;
                s->has_event_time = true;
                s->all->partition_clock_moved = true;
        }
        oracle_windows_observe_event_time(s->all, t);
}

size_t oracle_window_state_add(OracleWindowState *s, const char *sensor, size_t len, double value, int64_t t, WindowLate *late) {
        OracleWindows *all = s->all;
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
                oracle_window_state_observe_event_time(s, t);
        } else {
                oracle_windows_observe_event_time(all, t);
        }
        stats->records++;
        if (late)
                late->n = 0;

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
                size_t index;
                Window *w = find_window(s, start, &index);
                uint32_t *slot = w ? window_find_slot(w, hash, sensor, len) : NULL;
                Entry *e = slot && *slot ? &w->entries[*slot - 1] : NULL;
                if (!e) {
                        if (stats->live_keys >= all->max_keys) {
                                stats->dropped_pairs++;
                                continue;
                        }
                        if (!w) {
                                w = insert_window(s, start, index);
                                slot = window_find_slot(w, hash, sensor, len);
                        }
                        e = state_insert_entry(s, w, slot, hash, sensor, len);
                }
                if (e->count == 0 || value < e->min)
                        e->min = value;
                if (e->count == 0 || value > e->max)
                        e->max = value;
                e->count++;
                e->batch_sum += value;
                e->in_batch = true;
                if (all->track_updates)
                        window_mark_dirty(s, w, e);
                window_mark_changed(s, w, e);
        }
        stats->late_pairs += late_pairs;
        return late_pairs;
}

/* Orders rows by (window start, sensor_id). */
static int compare_refs(const void *a, const void *b) {
        const KeyRef *x = a, *y = b;
        if (x->start != y->start)
                return (x->start > y->start) - (x->start < y->start);
        const Entry *p = x->entry, *q = y->entry;
        int c = memcmp(p->sensor, q->sensor, p->len < q->len ? p->len : q->len);
        if (c)
                return c;
        return (p->len > q->len) - (p->len < q->len);
}

static bool same_key(const KeyRef *x, const KeyRef *y) {
        return x->start == y->start && x->entry->len == y->entry->len &&
               memcmp(x->entry->sensor, y->entry->sensor, x->entry->len) == 0;
}

static void merge_entry(WindowRow *row, const Entry *e) {
        if (row->count == 0 || e->min < row->min)
                row->min = e->min;
        if (row->count == 0 || e->max > row->max)
                row->max = e->max;
        row->count += e->count;
        row->sum += e->sum;
}

static void add_ref(OracleWindows *w, int64_t start, const Entry *e) {
        ARRAY_RESERVE(w->refs, w->cap_refs, w->n_refs + 1);
        w->refs[w->n_refs++] = (KeyRef){ start, e };
}

static void add_window_refs(OracleWindows *w, const Window *win) {
        for (uint32_t i = 0; i < win->n_entries; i++)
                add_ref(w, win->start, &win->entries[i]);
}

/* Emits one row per (window, sensor) among the collected refs, in order. A
 * row merges the entries of every partition: with whole_windows the refs
 * already hold every entry of their windows; otherwise (the changed entries
 * of update mode) the other partitions are looked up. */
static int emit_refs(OracleWindows *w, OracleWindowState *const *states, size_t n, bool whole_windows, WindowRowFn fn,
                     void *userdata) {
        int result = 0;
        if (w->n_refs == 0)
                return 0; /* qsort's array may not be NULL, even when empty */
        qsort(w->refs, w->n_refs, sizeof(*w->refs), compare_refs);
        bool merge = !whole_windows && n > 1;
        if (merge)
                ARRAY_RESERVE(w->merge_windows, w->cap_merge_windows, n);
        for (size_t i = 0, next; i < w->n_refs; i = next) {
                const KeyRef *ref = &w->refs[i];
                const Entry *e = ref->entry;
                WindowRow row = { .start_ms = ref->start, .end_ms = ref->start + w->spec.size_ms,
                                  .sensor_id = e->sensor, .sensor_id_len = e->len };
                for (next = i; next < w->n_refs && same_key(ref, &w->refs[next]); next++)
                        if (whole_windows || n == 1)
                                merge_entry(&row, w->refs[next].entry);
                if (merge && (i == 0 || w->refs[i - 1].start != ref->start))
                        for (size_t k = 0; k < n; k++) { /* rows come by start: look windows up once per start */
                                size_t index;
                                w->merge_windows[k] = find_window(states[k], ref->start, &index);
                        }
                for (size_t k = 0; merge && k < n; k++) {
                        Window *win = w->merge_windows[k];
                        if (!win || !maybe_holds(win, e->hash))
                                continue;
                        uint32_t *slot = window_find_slot(win, e->hash, e->sensor, e->len);
                        if (*slot)
                                merge_entry(&row, &win->entries[*slot - 1]);
                }
                row.avg = row.sum / (double)row.count;
                keep_first_error(&result, fn(&row, userdata));
        }
        w->n_refs = 0;
        return result;
}

static void clear_dirty(Window *w) {
        for (uint32_t i = 0; i < w->n_dirty; i++)
                w->entries[w->dirty[i]].dirty = false;
        w->n_dirty = 0;
}

/* The candidate from the maximum event time, which becomes the watermark
 * one batch end later. */
static bool next_candidate(const OracleWindows *w, int64_t *candidate) {
        if (w->scope == WATERMARK_PARTITION)
                return false; /* each partition's moves with its records */
        if (!w->stats.has_event_time)
                return false;
        *candidate = w->stats.max_event_time_ms - w->spec.watermark_delay_ms;
        return !w->has_due || *candidate > w->due_ms;
}

bool oracle_windows_watermark_would_advance(const OracleWindows *w) {
        int64_t candidate;
        return w->scope == WATERMARK_PARTITION ? w->partition_clock_moved : next_candidate(w, &candidate);
}

/* Every entry's batch sum goes into its sum. */
static void fold_batch_sums(OracleWindowState *s) {
        for (size_t i = 0; i < s->n_windows; i++)
                for (uint32_t k = 0; k < s->windows[i]->n_entries; k++) {
                        Entry *e = &s->windows[i]->entries[k];
                        if (e->in_batch) {
                                e->sum = e->sum + e->batch_sum;
                                e->batch_sum = 0.0;
                                e->in_batch = false;
                        }
                }
}

/* Partition scope: the partition's watermark has passed the window. */
static bool state_passed(const OracleWindows *w, const OracleWindowState *s, int64_t start) {
        return s->has_event_time && start + w->spec.size_ms <= s->max_event_time_ms - w->spec.watermark_delay_ms;
}

static int compare_starts(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
}

/* Partition scope: collects in w->final_starts, in order, the windows that
 * every partition holding them has passed. A partition's passed windows
 * are the front of its sorted array. */
static void collect_final_everywhere(OracleWindows *w, OracleWindowState *const *states, size_t n) {
        w->n_final = 0;
        for (size_t k = 0; k < n; k++)
                for (size_t i = 0; i < states[k]->n_windows && state_passed(w, states[k], states[k]->windows[i]->start);
                     i++) {
                        int64_t start = states[k]->windows[i]->start;
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
static void note_lowest_watermark(OracleWindows *w, OracleWindowState *const *states, size_t n) {
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

static bool is_final(const OracleWindows *w, const Window *win) {
        return win->start + w->spec.size_ms <= w->stats.watermark_ms;
}

/* Takes window index i out of the partition's state, remembering the
 * eviction for the next checkpoint. */
static void drop_window(OracleWindows *w, OracleWindowState *s, size_t i) {
        Window *win = s->windows[i];
        for (size_t k = 0; win->n_changed > 0 && k < s->n_changed; k++)
                if (s->changed[k] == win) {
                        s->changed[k] = s->changed[--s->n_changed];
                        break;
                }
        ARRAY_RESERVE(s->evicted, s->cap_evicted, s->n_evicted + 1);
        s->evicted[s->n_evicted++] = win->start;
        w->stats.live_keys -= win->n_entries;
        w->stats.live_windows--;
        s->entries -= win->n_entries;
        s->key_bytes -= win->key_bytes;
        window_free(win);
        memmove(&s->windows[i], &s->windows[i + 1], (s->n_windows - i - 1) * sizeof(*s->windows));
        s->n_windows--;
}

/* Frees the partition's final windows, at the front of its sorted array. */
static void evict_final(OracleWindows *w, OracleWindowState *s) {
        while (s->n_windows > 0 && is_final(w, s->windows[0])) {
                w->stats.evicted_windows++;
                drop_window(w, s, 0);
        }
}

int oracle_windows_finish_batch(OracleWindows *w, OracleWindowState *const *states, size_t n, OutputMode mode, WindowRowFn fn,
                         void *userdata) {
        int result = 0;
        int64_t candidate;

        for (size_t k = 0; k < n; k++)
                fold_batch_sums(states[k]);
        for (size_t k = 0; k < n; k++) {
                OracleWindowState *s = states[k];
                for (size_t i = 0; mode == OUTPUT_COMPLETE && i < s->n_windows; i++)
                        add_window_refs(w, s->windows[i]);
                for (size_t i = 0; i < s->n_touched; i++) {
                        Window *win = s->touched[i];
                        for (uint32_t d = 0; mode == OUTPUT_UPDATE && d < win->n_dirty; d++)
                                add_ref(w, win->start, &win->entries[win->dirty[d]]);
                }
        }
        keep_first_error(&result, emit_refs(w, states, n, mode == OUTPUT_COMPLETE, fn, userdata));
        for (size_t k = 0; k < n; k++) {
                for (size_t i = 0; i < states[k]->n_touched; i++)
                        clear_dirty(states[k]->touched[i]);
                states[k]->n_touched = 0;
        }

        if (w->scope == WATERMARK_PARTITION) {
                w->partition_clock_moved = false;
                note_lowest_watermark(w, states, n);
                if (mode == OUTPUT_COMPLETE)
                        return result;
                collect_final_everywhere(w, states, n);
                for (size_t f = 0; f < w->n_final; f++)
                        for (size_t k = 0; k < n; k++) {
                                size_t index;
                                Window *win = find_window(states[k], w->final_starts[f], &index);
                                if (win && mode == OUTPUT_APPEND)
                                        add_window_refs(w, win);
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
        if (w->has_due && (!w->stats.has_watermark || w->due_ms > w->stats.watermark_ms)) {
                w->stats.watermark_ms = w->due_ms;
                w->stats.has_watermark = true;
        }
        if (next_candidate(w, &candidate)) {
                w->due_ms = candidate;
                w->has_due = true;
        }
        if (mode == OUTPUT_COMPLETE || !w->stats.has_watermark)
                return result;
        for (size_t k = 0; mode == OUTPUT_APPEND && k < n; k++)
                for (size_t i = 0; i < states[k]->n_windows && is_final(w, states[k]->windows[i]); i++)
                        add_window_refs(w, states[k]->windows[i]);
        keep_first_error(&result, emit_refs(w, states, n, true, fn, userdata));
        for (size_t k = 0; k < n; k++)
                evict_final(w, states[k]);
        return result;
}

const WindowStats *oracle_windows_stats(const OracleWindows *w) {
        return &w->stats;
}

static WindowEntry entry_view(int64_t start, const Entry *e) {
        return (WindowEntry){ .start_ms = start, .sensor_id = e->sensor, .sensor_id_len = e->len,
                              .count = e->count, .sum = e->in_batch ? e->sum + e->batch_sum : e->sum,
                              .min = e->min, .max = e->max };
}

void oracle_window_state_take_changes(OracleWindowState *s, WindowEntryFn changed, WindowEvictedFn evicted, void *userdata) {
        for (size_t i = 0; i < s->n_evicted; i++)
                evicted(s->evicted[i], userdata);
        s->n_evicted = 0;
        for (size_t i = 0; i < s->n_changed; i++) {
                Window *win = s->changed[i];
                for (uint32_t k = 0; k < win->n_changed; k++) {
                        Entry *e = &win->entries[win->changed[k]];
                        WindowEntry view = entry_view(win->start, e);
                        changed(&view, userdata);
                        e->changed = false;
                }
                win->n_changed = 0;
        }
        s->n_changed = 0;
}

void oracle_window_state_each_entry(const OracleWindowState *s, WindowEntryFn fn, void *userdata) {
        for (size_t i = 0; i < s->n_windows; i++)
                for (uint32_t k = 0; k < s->windows[i]->n_entries; k++) {
                        WindowEntry view = entry_view(s->windows[i]->start, &s->windows[i]->entries[k]);
                        fn(&view, userdata);
                }
}

void oracle_window_state_restore_entry(OracleWindowState *s, const WindowEntry *in) {
        uint32_t hash = hash_bytes(in->sensor_id, in->sensor_id_len);
        size_t index;
        Window *w = find_window(s, in->start_ms, &index);
        if (!w)
                w = insert_window(s, in->start_ms, index);
        uint32_t *slot = window_find_slot(w, hash, in->sensor_id, in->sensor_id_len);
        Entry *e = *slot ? &w->entries[*slot - 1] : state_insert_entry(s, w, slot, hash, in->sensor_id, in->sensor_id_len);
        e->count = in->count;
        e->sum = in->sum;
        e->min = in->min;
        e->max = in->max;
}

void oracle_window_state_restore_evicted(OracleWindowState *s, int64_t start) {
        size_t index;
        if (find_window(s, start, &index)) {
                drop_window(s->all, s, index);
                s->n_evicted--; /* already durable */
        }
}

void oracle_window_state_size(const OracleWindowState *s, uint64_t *entries, uint64_t *key_bytes) {
        *entries = s->entries;
        *key_bytes = s->key_bytes;
}

void oracle_windows_restore_clock(OracleWindows *w, const WindowClock *clock) {
        if (clock->has_event_time) {
                oracle_windows_observe_event_time(w, clock->max_event_time_ms);
                w->due_ms = w->stats.max_event_time_ms - w->spec.watermark_delay_ms;
                w->has_due = true;
        }
        if (clock->has_watermark && (!w->stats.has_watermark || clock->watermark_ms > w->stats.watermark_ms)) {
                w->stats.watermark_ms = clock->watermark_ms;
                w->stats.has_watermark = true;
        }
}

WindowClock oracle_window_state_clock(const OracleWindowState *s) {
        return (WindowClock){ .has_watermark = s->has_event_time,
                              .watermark_ms = s->max_event_time_ms - s->all->spec.watermark_delay_ms,
                              .has_event_time = s->has_event_time, .max_event_time_ms = s->max_event_time_ms };
}

/* Not a move of the clock: the checkpoint's state was taken after the
 * batch end that evicted what this clock had passed, so restoring it
 * gives no empty batch anything to do. */
void oracle_window_state_restore_clock(OracleWindowState *s, const WindowClock *clock) {
        if (clock->has_event_time && (!s->has_event_time || clock->max_event_time_ms > s->max_event_time_ms)) {
                s->max_event_time_ms = clock->max_event_time_ms;
                s->has_event_time = true;
                oracle_windows_observe_event_time(s->all, clock->max_event_time_ms);
        }
}

WindowClock oracle_windows_clock(const OracleWindows *w) {
        return (WindowClock){ .has_watermark = w->stats.has_watermark, .watermark_ms = w->stats.watermark_ms,
                              .has_event_time = w->stats.has_event_time,
                              .max_event_time_ms = w->stats.max_event_time_ms };
}

void oracle_window_state_discard(OracleWindowState *s) {
        while (s->n_windows > 0)
                drop_window(s->all, s, s->n_windows - 1);
        s->has_event_time = false;
        s->n_touched = 0;
        s->n_changed = 0;
        s->n_evicted = 0;
}
