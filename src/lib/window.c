/* window: sliding event-time windows keyed by (start, sensor_id).
 *
 * Live windows are few (about (W + D) / S), so they sit in an array sorted by
 * start: eviction pops from the front and lookups are a short binary search.
 * Each window has its own open-addressing table of sensors with entries in a
 * dense array (indices stay valid when the table grows) and its own string
 * arena, so freeing a final window is a handful of free() calls. */
#include "window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "util.h"

typedef struct Entry {
        uint64_t hash;
        const char *sensor;
        uint32_t len;
        bool dirty;
        uint64_t count;
        double sum, min, max;
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
        Block *strings;
} Window;

/* Orders windows by start, for the list of windows a batch touched. */
static int compare_windows(const void *a, const void *b) {
        int64_t x = (*(Window *const *)a)->start, y = (*(Window *const *)b)->start;
        return (x > y) - (x < y);
}

struct WindowState {
        WindowSpec spec;
        uint64_t max_keys;
        Window **windows; /* sorted by start */
        size_t n_windows, cap_windows;
        uint32_t *scratch; /* entry indices to sort for append/complete */
        size_t cap_scratch;
        Window **touched; /* windows with dirty entries: a batch touches few of many */
        size_t n_touched, cap_touched;
        WindowStats stats;
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

static uint64_t hash_bytes(const char *s, size_t len) {
        uint64_t h = 14695981039346656037ull; /* FNV-1a: short keys, good spread */
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ull;
        }
        return h ^ (h >> 29);
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
        free(w);
}

static const char *window_store_string(Window *w, const char *s, size_t len) {
        Block *b = w->strings;
        if (!b || b->size - b->used < len) {
                size_t size = len > 4096 ? len : 4096;
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
                uint32_t pos = (uint32_t)w->entries[i].hash & (n_slots - 1);
                while (slots[pos])
                        pos = (pos + 1) & (n_slots - 1);
                slots[pos] = i + 1;
        }
        free(w->slots);
        w->slots = slots;
        w->slot_mask = n_slots - 1;
}

/* Finds the entry for a sensor, or the empty slot where it would go. */
static uint32_t *window_find_slot(Window *w, uint64_t hash, const char *sensor, size_t len) {
        uint32_t pos = (uint32_t)hash & w->slot_mask;
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

static Entry *window_insert_entry(Window *w, uint32_t *slot, uint64_t hash, const char *sensor, size_t len) {
        ARRAY_RESERVE(w->entries, w->cap_entries, (size_t)w->n_entries + 1);
        const char *copy = window_store_string(w, sensor, len);
        Entry *e = &w->entries[w->n_entries];
        *e = (Entry){ .hash = hash, .sensor = copy, .len = (uint32_t)len };
        *slot = ++w->n_entries;
        return e;
}

static void window_mark_dirty(WindowState *s, Window *w, Entry *e) {
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

int window_state_new(WindowState **out, const WindowSpec *spec, uint64_t max_keys) {
        if (window_spec_check(spec))
                return -EINVAL;
        WindowState *s = xcalloc(1, sizeof(*s));
        s->spec = *spec;
        s->max_keys = max_keys;
        *out = s;
        return 0;
}

WindowState *window_state_free(WindowState *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_windows; i++)
                window_free(s->windows[i]);
        free(s->windows);
        free(s->scratch);
        free(s->touched);
        free(s);
        return NULL;
}

void window_state_set_max_keys(WindowState *s, uint64_t max_keys) {
        s->max_keys = max_keys;
}

/* Binary search for the window starting at start; *index is where it is or
 * where it would be inserted. */
static Window *find_window(WindowState *s, int64_t start, size_t *index) {
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

static Window *insert_window(WindowState *s, int64_t start, size_t index) {
        ARRAY_RESERVE(s->windows, s->cap_windows, s->n_windows + 1);
        Window *w = xcalloc(1, sizeof(*w));
        window_grow_slots(w);
        w->start = start;
        memmove(&s->windows[index + 1], &s->windows[index], (s->n_windows - index) * sizeof(*s->windows));
        s->windows[index] = w;
        s->n_windows++;
        s->stats.live_windows++;
        return w;
}

void window_state_observe_event_time(WindowState *s, int64_t t) {
        if (!s->stats.has_event_time || t > s->stats.max_event_time_ms) {
                s->stats.max_event_time_ms = t;
                s->stats.has_event_time = true;
        }
}

void window_state_add(WindowState *s, const char *sensor, size_t len, double value, int64_t t) {
        const int64_t W = s->spec.size_ms, S = s->spec.slide_ms;
        const uint64_t hash = hash_bytes(sensor, len);

        s->stats.records++;
        window_state_observe_event_time(s, t);

        for (int64_t start = window_last_start(&s->spec, t); start > t - W; start -= S) {
                if (s->stats.has_watermark && start + W <= s->stats.watermark_ms) {
                        s->stats.late_pairs++;
                        continue;
                }
                size_t index;
                Window *w = find_window(s, start, &index);
                uint32_t *slot = w ? window_find_slot(w, hash, sensor, len) : NULL;
                Entry *e = slot && *slot ? &w->entries[*slot - 1] : NULL;
                if (!e) {
                        if (s->stats.live_keys >= s->max_keys) {
                                s->stats.dropped_pairs++;
                                continue;
                        }
                        if (!w) {
                                w = insert_window(s, start, index);
                                slot = window_find_slot(w, hash, sensor, len);
                        }
                        e = window_insert_entry(w, slot, hash, sensor, len);
                        s->stats.live_keys++;
                        if (w->n_entries * 2 > w->slot_mask + 1)
                                window_grow_slots(w);
                        e = &w->entries[w->n_entries - 1];
                }
                if (e->count == 0 || value < e->min)
                        e->min = value;
                if (e->count == 0 || value > e->max)
                        e->max = value;
                e->count++;
                e->sum += value;
                window_mark_dirty(s, w, e);
        }
}

static int compare_entries(const void *a, const void *b, void *userdata) {
        const Entry *entries = userdata;
        const Entry *x = &entries[*(const uint32_t *)a], *y = &entries[*(const uint32_t *)b];
        int c = memcmp(x->sensor, y->sensor, x->len < y->len ? x->len : y->len);
        if (c)
                return c;
        return (x->len > y->len) - (x->len < y->len);
}

/* Emits the given entries of one window in sensor_id order. */
static int emit_entries(const WindowState *s, const Window *w, uint32_t *indices, uint32_t n, WindowRowFn fn,
                        void *userdata) {
        int result = 0;
        qsort_r(indices, n, sizeof(*indices), compare_entries, w->entries);
        for (uint32_t i = 0; i < n; i++) {
                const Entry *e = &w->entries[indices[i]];
                WindowRow row = {
                        .start_ms = w->start,
                        .end_ms = w->start + s->spec.size_ms,
                        .sensor_id = e->sensor,
                        .sensor_id_len = e->len,
                        .count = e->count,
                        .sum = e->sum,
                        .min = e->min,
                        .max = e->max,
                        .avg = e->sum / (double)e->count,
                };
                keep_first_error(&result, fn(&row, userdata));
        }
        return result;
}

static int emit_all(WindowState *s, const Window *w, WindowRowFn fn, void *userdata) {
        ARRAY_RESERVE(s->scratch, s->cap_scratch, w->n_entries);
        for (uint32_t i = 0; i < w->n_entries; i++)
                s->scratch[i] = i;
        return emit_entries(s, w, s->scratch, w->n_entries, fn, userdata);
}

static void clear_dirty(Window *w) {
        for (uint32_t i = 0; i < w->n_dirty; i++)
                w->entries[w->dirty[i]].dirty = false;
        w->n_dirty = 0;
}

static bool next_watermark(const WindowState *s, int64_t *wm) {
        if (!s->stats.has_event_time)
                return false;
        int64_t candidate = s->stats.max_event_time_ms - s->spec.watermark_delay_ms;
        if (s->stats.has_watermark && candidate <= s->stats.watermark_ms)
                return false;
        *wm = candidate;
        return true;
}

bool window_state_watermark_would_advance(const WindowState *s) {
        int64_t wm;
        return next_watermark(s, &wm);
}

int window_state_finish_batch(WindowState *s, OutputMode mode, WindowRowFn fn, void *userdata) {
        int result = 0;
        int64_t wm;

        if (mode == OUTPUT_COMPLETE) {
                for (size_t i = 0; i < s->n_windows; i++)
                        keep_first_error(&result, emit_all(s, s->windows[i], fn, userdata));
        }
        qsort(s->touched, s->n_touched, sizeof(*s->touched), compare_windows);
        for (size_t i = 0; i < s->n_touched; i++) {
                Window *w = s->touched[i];
                if (mode == OUTPUT_UPDATE)
                        keep_first_error(&result, emit_entries(s, w, w->dirty, w->n_dirty, fn, userdata));
                clear_dirty(w);
        }
        s->n_touched = 0;

        if (next_watermark(s, &wm)) {
                s->stats.watermark_ms = wm;
                s->stats.has_watermark = true;
        }
        if (mode == OUTPUT_COMPLETE || !s->stats.has_watermark)
                return result;

        size_t n_final = 0;
        while (n_final < s->n_windows && s->windows[n_final]->start + s->spec.size_ms <= s->stats.watermark_ms) {
                Window *w = s->windows[n_final++];
                if (mode == OUTPUT_APPEND)
                        keep_first_error(&result, emit_all(s, w, fn, userdata));
                s->stats.live_keys -= w->n_entries;
                s->stats.live_windows--;
                s->stats.evicted_windows++;
                window_free(w);
        }
        memmove(s->windows, s->windows + n_final, (s->n_windows - n_final) * sizeof(*s->windows));
        s->n_windows -= n_final;
        return result;
}

const WindowStats *window_state_stats(const WindowState *s) {
        return &s->stats;
}
