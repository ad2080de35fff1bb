/* The window state's layout (one probe per record) against the layout it
 * replaced (window_oracle.c): random streams over several partitions, with
 * late and out-of-order records, eviction, max_keys, idle clocks, revoked
 * partitions and restored checkpoints, in every output mode and both
 * watermark scopes, must give the same rows in the same order, the same
 * statistics, the same checkpoint changes and the same snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/state/window.h"
#include "window_oracle.h"

#define MIN 60000LL
#define PARTS 4

/* A row or an entry, flattened so that both layouts' can be compared. */
typedef struct Item {
        int64_t start, end;
        char sensor[24];
        uint64_t count;
        double sum, min, max, avg;
} Item;

typedef struct Items {
        Item *items;
        size_t n, cap;
} Items;

static Item *push(Items *list) {
        if (list->n == list->cap) {
                list->cap = list->cap ? list->cap * 2 : 64;
                list->items = realloc(list->items, list->cap * sizeof(Item));
                assert_non_null(list->items);
        }
        Item *it = &list->items[list->n++];
        memset(it, 0, sizeof(*it));
        return it;
}

static int collect_row(const WindowRow *r, void *userdata) {
        Item *it = push(userdata);
        *it = (Item){ .start = r->start_ms, .end = r->end_ms, .count = r->count, .sum = r->sum, .min = r->min,
                      .max = r->max, .avg = r->avg };
        snprintf(it->sensor, sizeof(it->sensor), "%.*s", (int)r->sensor_id_len, r->sensor_id);
        return 0;
}

static void collect_entry(const WindowEntry *e, void *userdata) {
        Item *it = push(userdata);
        *it = (Item){ .start = e->start_ms, .count = e->count, .sum = e->sum, .min = e->min, .max = e->max };
        snprintf(it->sensor, sizeof(it->sensor), "%.*s", (int)e->sensor_id_len, e->sensor_id);
}

static void collect_evicted(int64_t start, void *userdata) {
        push(userdata)->start = start;
}

static int compare_items(const void *a, const void *b) {
        const Item *x = a, *y = b;
        if (x->start != y->start)
                return (x->start > y->start) - (x->start < y->start);
        return strcmp(x->sensor, y->sensor);
}

static int compare_sensors(const void *a, const void *b) {
        return strcmp(((const Item *)a)->sensor, ((const Item *)b)->sensor);
}

/* Rows must match in order; entries and evictions as sets (each layout
 * hands them over in its own order). */
static void assert_same(Items *got, Items *want, bool as_sets) {
        assert_int_equal(got->n, want->n);
        if (as_sets && got->n > 0) {
                qsort(got->items, got->n, sizeof(Item), compare_items);
                qsort(want->items, want->n, sizeof(Item), compare_items);
        }
        for (size_t i = 0; i < got->n; i++) {
                const Item *g = &got->items[i], *w = &want->items[i];
                assert_int_equal(g->start, w->start);
                assert_int_equal(g->end, w->end);
                assert_string_equal(g->sensor, w->sensor);
                assert_int_equal(g->count, w->count);
                /* the same additions in the same order: bit-identical */
                assert_memory_equal(&g->sum, &w->sum, sizeof(double));
                assert_memory_equal(&g->min, &w->min, sizeof(double));
                assert_memory_equal(&g->max, &w->max, sizeof(double));
                assert_memory_equal(&g->avg, &w->avg, sizeof(double));
        }
        got->n = want->n = 0;
}

static uint64_t rng_state;

static uint32_t next_random(void) {
        rng_state ^= rng_state << 13; /* xorshift64 */
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint32_t)(rng_state >> 32);
}

static uint32_t below(uint32_t n) {
        return next_random() % n;
}

typedef struct Both {
        Windows *all;
        OracleWindows *oracle_all;
        WindowState *parts[PARTS];
        OracleWindowState *oracle_parts[PARTS];
        OutputMode mode;
        Items got, want;
} Both;

static void assert_same_stats(const Both *b) {
        const WindowStats *x = windows_stats(b->all), *y = oracle_windows_stats(b->oracle_all);
        assert_int_equal(x->records, y->records);
        assert_int_equal(x->late_pairs, y->late_pairs);
        assert_int_equal(x->dropped_pairs, y->dropped_pairs);
        assert_int_equal(x->live_keys, y->live_keys);
        assert_int_equal(x->live_windows, y->live_windows);
        assert_int_equal(x->evicted_windows, y->evicted_windows);
        assert_int_equal(x->has_watermark, y->has_watermark);
        if (x->has_watermark)
                assert_int_equal(x->watermark_ms, y->watermark_ms);
        assert_int_equal(x->max_event_time_ms, y->max_event_time_ms);
        for (size_t k = 0; k < PARTS; k++) {
                uint64_t entries, sensors, key_bytes, oracle_entries, oracle_key_bytes;
                window_state_size(b->parts[k], &entries, &sensors, &key_bytes);
                oracle_window_state_size(b->oracle_parts[k], &oracle_entries, &oracle_key_bytes);
                assert_int_equal(entries, oracle_entries);
                WindowClock c = window_state_clock(b->parts[k]), o = oracle_window_state_clock(b->oracle_parts[k]);
                assert_int_equal(c.has_event_time, o.has_event_time);
                if (c.has_event_time)
                        assert_int_equal(c.max_event_time_ms, o.max_event_time_ms);
        }
}

static void finish_both(Both *b) {
        assert_int_equal(windows_watermark_would_advance(b->all), oracle_windows_watermark_would_advance(b->oracle_all));
        assert_int_equal(windows_finish_batch(b->all, b->parts, PARTS, b->mode, collect_row, &b->got), 0);
        assert_int_equal(oracle_windows_finish_batch(b->oracle_all, b->oracle_parts, PARTS, b->mode, collect_row,
                                                     &b->want),
                         0);
        assert_same(&b->got, &b->want, false);
}

/* A checkpoint's delta from both, then (sometimes) the partition revoked
 * and assigned again from its snapshot, as a restart would. */
static void checkpoint_both(Both *b, size_t k, bool reload) {
        window_state_take_changes(b->parts[k], collect_entry, collect_evicted, &b->got);
        oracle_window_state_take_changes(b->oracle_parts[k], collect_entry, collect_evicted, &b->want);
        assert_same(&b->got, &b->want, true);
        window_state_each_entry(b->parts[k], collect_entry, &b->got);
        oracle_window_state_each_entry(b->oracle_parts[k], collect_entry, &b->want);
        Items snapshot = { 0 };
        for (size_t i = 0; i < b->got.n; i++)
                *push(&snapshot) = b->got.items[i];
        assert_same(&b->got, &b->want, true);
        /* the snapshot's sensors, as a checkpoint sizes them */
        uint64_t entries, sensors, key_bytes, distinct = 0, distinct_bytes = 0;
        window_state_size(b->parts[k], &entries, &sensors, &key_bytes);
        if (snapshot.n > 0) /* qsort's array may not be NULL */
                qsort(snapshot.items, snapshot.n, sizeof(Item), compare_sensors);
        for (size_t i = 0; i < snapshot.n; i++)
                if (i == 0 || strcmp(snapshot.items[i].sensor, snapshot.items[i - 1].sensor) != 0) {
                        distinct++;
                        distinct_bytes += strlen(snapshot.items[i].sensor);
                }
        assert_int_equal(entries, snapshot.n);
        assert_int_equal(sensors, distinct);
        assert_int_equal(key_bytes, distinct_bytes);
        if (!reload) {
                free(snapshot.items);
                return;
        }
        WindowClock clock = window_state_clock(b->parts[k]);
        b->parts[k] = window_state_free(b->parts[k]);
        b->oracle_parts[k] = oracle_window_state_free(b->oracle_parts[k]);
        b->parts[k] = window_state_new(b->all);
        b->oracle_parts[k] = oracle_window_state_new(b->oracle_all);
        for (size_t i = 0; i < snapshot.n; i++) {
                const Item *it = &snapshot.items[i];
                WindowEntry e = { .start_ms = it->start, .sensor_id = it->sensor, .sensor_id_len = strlen(it->sensor),
                                  .count = it->count, .sum = it->sum, .min = it->min, .max = it->max };
                window_state_restore_entry(b->parts[k], &e);
                oracle_window_state_restore_entry(b->oracle_parts[k], &e);
        }
        if (windows_scope(b->all) == WATERMARK_PARTITION) {
                window_state_restore_clock(b->parts[k], &clock);
                oracle_window_state_restore_clock(b->oracle_parts[k], &clock);
        }
        free(snapshot.items);
}

/* Sensor names of several lengths, some the prefix of another, so that the
 * row order's tie-breaks are exercised. */
static void sensor_name(char *buf, size_t size, uint32_t i) {
        static const char *stems[] = { "a", "ab", "abc", "b", "sensor_", "z" };
        snprintf(buf, size, "%s%u", stems[i % 6], i / 6 ? i / 6 : 0);
        if (i % 7 == 3)
                buf[strlen(stems[i % 6])] = '\0'; /* the bare stem */
}

static void run_stream(const WindowSpec *spec, WatermarkScope scope, OutputMode mode, uint64_t max_keys,
                       uint32_t sensors, uint64_t seed) {
        Both b = { .mode = mode };
        rng_state = seed;
        assert_int_equal(windows_new(&b.all, spec, max_keys), 0);
        assert_int_equal(oracle_windows_new(&b.oracle_all, spec, max_keys), 0);
        windows_set_mode(b.all, mode);
        oracle_windows_set_mode(b.oracle_all, mode);
        windows_set_scope(b.all, scope);
        oracle_windows_set_scope(b.oracle_all, scope);
        for (size_t k = 0; k < PARTS; k++) {
                b.parts[k] = window_state_new(b.all);
                b.oracle_parts[k] = oracle_window_state_new(b.oracle_all);
        }
        WindowLate late = { 0 }, oracle_late = { 0 };
        int64_t now = 1729591200000; /* event time moves forward; records lag it a little, stragglers much */
        int ops = mode == OUTPUT_COMPLETE ? 800 : 3000; /* complete mode's rows are every entry, every batch */
        for (int op = 0; op < ops; op++) {
                uint32_t dice = below(100);
                size_t k = below(PARTS);
                if (dice < 80) {
                        char sensor[24];
                        sensor_name(sensor, sizeof(sensor), below(sensors));
                        now += (int64_t)below(40) * 1000;
                        int64_t t = now - (int64_t)below(90) * 1000; /* a little out of order */
                        if (below(40) == 0)
                                t = now - (int64_t)below((uint32_t)(spec->size_ms * 3 / 1000)) * 1000; /* a straggler */
                        double value = (double)(int32_t)below(20001) / 8.0 - 1000.0;
                        size_t n = window_state_add(b.parts[k], sensor, strlen(sensor), value, t, &late);
                        size_t oracle_n =
                                oracle_window_state_add(b.oracle_parts[k], sensor, strlen(sensor), value, t, &oracle_late);
                        assert_int_equal(n, oracle_n);
                        assert_int_equal(late.n, oracle_late.n);
                        for (size_t i = 0; i < late.n; i++)
                                assert_int_equal(late.starts[i], oracle_late.starts[i]);
                        if (n > 0)
                                assert_int_equal(late.watermark_ms, oracle_late.watermark_ms);
                } else if (dice < 92) {
                        finish_both(&b);
                } else if (dice < 96) {
                        checkpoint_both(&b, k, below(4) == 0);
                } else if (dice < 98) { /* idle input moves the clock */
                        int64_t idle = now += (int64_t)below(300) * 1000;
                        if (scope == WATERMARK_PARTITION) {
                                window_state_observe_event_time(b.parts[k], idle);
                                oracle_window_state_observe_event_time(b.oracle_parts[k], idle);
                        } else {
                                windows_observe_event_time(b.all, idle);
                                oracle_windows_observe_event_time(b.oracle_all, idle);
                        }
                } else if (dice < 99) { /* a live change of max_keys */
                        uint64_t keys = max_keys == UINT64_MAX ? max_keys : 1 + below((uint32_t)max_keys * 2);
                        windows_set_max_keys(b.all, keys);
                        oracle_windows_set_max_keys(b.oracle_all, keys);
                } else if (below(4) == 0) { /* a checkpoint that failed to load */
                        window_state_discard(b.parts[k]);
                        oracle_window_state_discard(b.oracle_parts[k]);
                }
                assert_same_stats(&b);
        }
        finish_both(&b);
        for (size_t k = 0; k < PARTS; k++)
                checkpoint_both(&b, k, false);
        for (size_t k = 0; k < PARTS; k++) {
                window_state_free(b.parts[k]);
                oracle_window_state_free(b.oracle_parts[k]);
        }
        assert_int_equal(windows_stats(b.all)->live_keys, 0);
        windows_free(b.all);
        oracle_windows_free(b.oracle_all);
        free(late.starts);
        free(oracle_late.starts);
        free(b.got.items);
        free(b.want.items);
}

static const WindowSpec specs[] = {
        { 10 * MIN, 5 * MIN, 0, 5 * MIN },  /* the seed's */
        { 60 * MIN, 1 * MIN, 0, 5 * MIN },  /* an hour every minute: 60 windows a record */
        { 10 * MIN, 3 * MIN, 1 * MIN, 0 },  /* a slide that does not divide the window, an offset */
        { 5 * MIN, 5 * MIN, 0, 2 * MIN },   /* tumbling */
};

static void run_all(WatermarkScope scope) {
        const OutputMode modes[] = { OUTPUT_UPDATE, OUTPUT_APPEND, OUTPUT_COMPLETE };
        uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)scope;
        for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++)
                for (size_t m = 0; m < 3; m++) {
                        run_stream(&specs[s], scope, modes[m], UINT64_MAX, 40, seed++);
                        run_stream(&specs[s], scope, modes[m], 60, 40, seed++); /* max_keys drops pairs */
                        run_stream(&specs[s], scope, modes[m], UINT64_MAX, 3, seed++); /* few hot sensors */
                        if (s == 0) /* enough sensors to outgrow the tables and the holders' buckets */
                                run_stream(&specs[s], scope, modes[m], UINT64_MAX, 1500, seed++);
                }
}

static void test_process_scope(void **state) {
        (void)state;
        run_all(WATERMARK_PROCESS);
}

static void test_partition_scope(void **state) {
        (void)state;
        run_all(WATERMARK_PARTITION);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_process_scope),
                cmocka_unit_test(test_partition_scope),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
