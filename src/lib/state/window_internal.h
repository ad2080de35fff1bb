/* window_internal: the window state's layout, shared by its files (window.c,
 * window_table.c, window_batch_end.c, window_changes.c) and no caller.
 *
 * Sliding event-time windows keyed by (start, sensor_id).
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
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/state/window.h"

/* One sensor's aggregate over one window, in one partition: 40 bytes, the
 * bulk of the state. The count's top three bits are its flags, which cost
 * no padding; 2^61 records is beyond any window's count. While a batch is
 * open, sum holds only that batch's values of an AGG_OPEN aggregate (see
 * BatchSum). */
typedef struct Agg {
        int64_t start;
        uint64_t count_flags;
        double sum, min, max;
} Agg;

#define AGG_DIRTY (1ull << 63)   /* changed in the open batch */
#define AGG_CHANGED (1ull << 62) /* changed since the last checkpoint */
#define AGG_OPEN (1ull << 61)    /* sum holds the open batch's values only */
#define AGG_COUNT_MAX (AGG_OPEN - 1)

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

/* Spark's order of addition, which the parity test holds sensord to: a
 * batch's values are summed on their own, from 0.0 in offset order, and
 * that sum is added to the aggregate's sum before the batch (Spark's
 * partial aggregate merged with its state store's). The sum before the
 * batch waits here, for each aggregate the batch touched, until the batch
 * ends. */
typedef struct BatchSum {
        int64_t start;
        uint32_t sensor;
        double before;
} BatchSum;

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
        /* process scope: the watermark trails the maximum event time by one
         * batch (Spark's rule): the candidate of the last batch end, which
         * the next one makes the watermark */
        bool has_pending;
        int64_t pending_ms;
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
        BatchSum *batch_sums; /* the aggregates the open batch touched */
        size_t n_batch_sums, cap_batch_sums;
        uint32_t *changed; /* sensors with aggregates changed since the last checkpoint */
        size_t n_changed, cap_changed;
        int64_t *evicted; /* starts of windows evicted since the last checkpoint */
        size_t n_evicted, cap_evicted;
        uint64_t entries, key_bytes; /* the size of the state (key_bytes: of the live sensors' ids), for compaction */
        bool has_event_time; /* partition scope: the partition's clock */
        int64_t max_event_time_ms;
};

/* --- small helpers, inline: the per-record path runs through them --- */

static inline uint32_t hash_bytes(const char *s, size_t len) {
        uint64_t h = 14695981039346656037ull; /* FNV-1a: short keys, good spread */
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ull;
        }
        return (uint32_t)(h ^ (h >> 32));
}

static inline uint64_t agg_count(const Agg *a) {
        return a->count_flags & AGG_COUNT_MAX;
}

static inline size_t id_space(size_t len) {
        return (len + 7) & ~(size_t)7;
}

static inline Agg *sensor_aggs(const Sensor *sn) {
        return (Agg *)(void *)(sn->block + id_space(sn->len));
}

static inline const char *sensor_id(const Sensor *sn) {
        return sn->block;
}

static inline uint32_t live_sensors(const WindowState *s) {
        return (uint32_t)(s->n_sensors - s->n_free);
}

/* Finds the sensor's slot, or the empty slot where it would go. */
static inline uint32_t *find_sensor_slot(const WindowState *s, uint32_t hash, const char *id, size_t len) {
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

static inline Sensor *find_sensor(const WindowState *s, uint32_t hash, const char *id, size_t len) {
        uint32_t *slot = find_sensor_slot(s, hash, id, len);
        return *slot ? &s->sensors[*slot - 1] : NULL;
}

/* The aggregate at start, if the sensor has one, searching down from index
 * hi (exclusive); *pos is where it is or would be inserted. */
static inline Agg *find_agg_below(const Sensor *sn, int64_t start, uint32_t hi, uint32_t *pos) {
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

static inline Agg *find_agg(const Sensor *sn, int64_t start) {
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

/* Process scope: raises the candidate for the next watermark to the
 * maximum event time - D, as a batch end does (window_batch_end.c). */
void windows_raise_pending(Windows *w);

/* --- the table's changes (window_table.c) --- */

/* A sensor with no aggregates yet, in the empty slot. */
Sensor *table_add_sensor(WindowState *s, uint32_t *slot, uint32_t hash, const char *id, size_t len);

/* A zeroed aggregate at index pos of the sensor's, counted as a live key. */
Agg *table_insert_agg(WindowState *s, Sensor *sn, uint32_t pos, int64_t start);

/* Adds the sensor to a list (dirty or changed) unless it is there already. */
void table_list_sensor(uint32_t **list, size_t *n, size_t *cap, uint32_t *at, uint32_t index);

/* Counts again, from every partition's table, the holders of each bucket. */
void table_rebuild_holders(Windows *w);

/* Binary search for the window starting at start; *index is where it is or
 * where it would be inserted. */
Window *table_find_window(const WindowState *s, int64_t start, size_t *index);

/* Takes window index i out of the partition's state with every aggregate
 * in it (a sensor left with none goes too), remembering the eviction for
 * the next checkpoint. */
void table_drop_window(Windows *w, WindowState *s, size_t i);
