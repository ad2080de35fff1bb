/* Window assignment, watermark, late pairs, eviction and the three output
 * modes, driven with plain records (no Kafka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/state/window.h"
#include "lib/text/timestamp.h"

#define MIN 60000LL

typedef struct Row {
        int64_t start, end;
        char sensor[32];
        uint64_t count;
        double sum, min, max, avg;
} Row;

typedef struct Rows {
        Row rows[64];
        size_t n;
} Rows;

static int collect(const WindowRow *r, void *userdata) {
        Rows *rows = userdata;
        assert_true(rows->n < 64);
        Row *row = &rows->rows[rows->n++];
        row->start = r->start_ms;
        row->end = r->end_ms;
        snprintf(row->sensor, sizeof(row->sensor), "%.*s", (int)r->sensor_id_len, r->sensor_id);
        row->count = r->count;
        row->sum = r->sum;
        row->min = r->min;
        row->max = r->max;
        row->avg = r->avg;
        return 0;
}

/* Minutes after 2024-10-22T10:00:00Z. */
static int64_t at(double minutes) {
        return 1729591200000LL + (int64_t)(minutes * MIN);
}

/* The shared part and the tables of up to four partitions. */
typedef struct State {
        Windows *all;
        WindowState *part[4];
        size_t n;
} State;

static State *new_partitions(int64_t w, int64_t s, int64_t offset, int64_t d, uint64_t max_keys, size_t n) {
        static State states[8];
        static size_t used;
        State *st = &states[used++ % 8];
        WindowSpec spec = { .size_ms = w, .slide_ms = s, .offset_ms = offset, .watermark_delay_ms = d };
        assert_null(window_spec_check(&spec));
        assert_int_equal(windows_new(&st->all, &spec, max_keys), 0);
        st->n = n;
        for (size_t i = 0; i < n; i++)
                st->part[i] = window_state_new(st->all);
        return st;
}

/* One partition: what most tests need. */
static State *new_state(int64_t w, int64_t s, int64_t offset, int64_t d, uint64_t max_keys) {
        return new_partitions(w, s, offset, d, max_keys, 1);
}

static void free_state(State *st) {
        for (size_t i = 0; i < st->n; i++)
                window_state_free(st->part[i]);
        assert_int_equal(windows_stats(st->all)->live_keys, 0);
        windows_free(st->all);
}

static void add_to(State *st, size_t partition, const char *sensor, double value, int64_t t) {
        window_state_add(st->part[partition], sensor, strlen(sensor), value, t, NULL);
}

static void add(State *st, const char *sensor, double value, int64_t t) {
        add_to(st, 0, sensor, value, t);
}

static Rows finish(State *st, OutputMode mode) {
        Rows rows = { .n = 0 };
        assert_int_equal(windows_finish_batch(st->all, st->part, st->n, mode, collect, &rows), 0);
        return rows;
}

static void assert_row(const Row *r, double start_min, double end_min, const char *sensor, uint64_t count, double avg,
                       double max, double min) {
        assert_int_equal(r->start, at(start_min));
        assert_int_equal(r->end, at(end_min));
        assert_string_equal(r->sensor, sensor);
        assert_int_equal(r->count, count);
        assert_true(r->avg == avg);
        assert_true(r->max == max);
        assert_true(r->min == min);
}

static void test_spec_check(void **state) {
        WindowSpec ok = { 10 * MIN, 5 * MIN, 0, 5 * MIN };
        assert_null(window_spec_check(&ok));
        WindowSpec bad[] = {
                { 0, 5 * MIN, 0, 0 },          { 10 * MIN, 0, 0, 0 },      { 10 * MIN, 11 * MIN, 0, 0 },
                { 10 * MIN, 5 * MIN, 5 * MIN, 0 }, { 10 * MIN, 5 * MIN, -1, 0 }, { 10 * MIN, 5 * MIN, 0, -1 },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_non_null(window_spec_check(&bad[i]));
        assert_int_equal(window_spec_windows_per_record(&ok), 2);
        WindowSpec odd = { 7 * MIN, 5 * MIN, 0, 0 };
        assert_int_equal(window_spec_windows_per_record(&odd), 2);
}

static void test_sliding_assignment(void **state) {
        State *st = new_state(10 * MIN, 5 * MIN, 0, 5 * MIN, 1000);
        add(st, "sensor_001", 23.5, at(40)); /* 10:40 is in [10:35,10:45) and [10:40,10:50) */
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 2);
        assert_row(&rows.rows[0], 35, 45, "sensor_001", 1, 23.5, 23.5, 23.5);
        assert_row(&rows.rows[1], 40, 50, "sensor_001", 1, 23.5, 23.5, 23.5);
        free_state(st);
}

static void test_start_offset(void **state) {
        State *st = new_state(10 * MIN, 5 * MIN, 1 * MIN, 0, 1000);
        add(st, "s", 1, at(40)); /* starts at 1 + 5k minutes: [10:31,10:41) and [10:36,10:46) */
        add(st, "s", 3, at(41)); /* [10:36,10:46) and [10:41,10:51): 10:41 is not in [10:31,10:41) */
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 3);
        assert_row(&rows.rows[0], 31, 41, "s", 1, 1, 1, 1);
        assert_row(&rows.rows[1], 36, 46, "s", 2, 2, 3, 1);
        assert_row(&rows.rows[2], 41, 51, "s", 1, 3, 3, 3);
        free_state(st);
}

static void test_tumbling(void **state) {
        State *st = new_state(5 * MIN, 5 * MIN, 0, 0, 1000);
        add(st, "s", 1, at(40));
        add(st, "s", 2, at(44.99));
        add(st, "s", 4, at(45)); /* half-open: 10:45 starts the next window */
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 2);
        assert_row(&rows.rows[0], 40, 45, "s", 2, 1.5, 2, 1);
        assert_row(&rows.rows[1], 45, 50, "s", 1, 4, 4, 4);
        free_state(st);
}

static void test_slide_not_dividing_window(void **state) {
        State *st = new_state(7 * MIN, 5 * MIN, 0, 0, 1000);
        add(st, "a", 1, at(40)); /* [10:35,10:42) and [10:40,10:47) */
        add(st, "b", 1, at(43)); /* only [10:40,10:47): [10:35,10:42) has ended */
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 3);
        assert_row(&rows.rows[0], 35, 42, "a", 1, 1, 1, 1);
        assert_row(&rows.rows[1], 40, 47, "a", 1, 1, 1, 1);
        assert_row(&rows.rows[2], 40, 47, "b", 1, 1, 1, 1);
        free_state(st);
}

static void test_before_epoch(void **state) {
        State *st = new_state(10 * MIN, 5 * MIN, 0, 0, 1000);
        add(st, "s", 1, -1); /* 1969-12-31T23:59:59.999: floor, not truncation */
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 2);
        assert_int_equal(rows.rows[0].start, -10 * MIN);
        assert_int_equal(rows.rows[1].start, -5 * MIN);
        assert_int_equal(window_last_start(&(WindowSpec){ 10 * MIN, 5 * MIN, 0, 0 }, -5 * MIN), -5 * MIN);
        free_state(st);
}

static void test_update_rows_sorted_and_only_changed(void **state) {
        State *st = new_state(10 * MIN, 5 * MIN, 0, 5 * MIN, 1000);
        add(st, "b", 1, at(41));
        add(st, "aa", 2, at(42));
        add(st, "a", 3, at(43));
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 6);
        const char *order[] = { "a", "aa", "b", "a", "aa", "b" };
        for (int i = 0; i < 6; i++) {
                assert_string_equal(rows.rows[i].sensor, order[i]);
                assert_int_equal(rows.rows[i].start, at(i < 3 ? 35 : 40));
        }
        add(st, "aa", 10, at(44));
        rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 2);
        assert_row(&rows.rows[0], 35, 45, "aa", 2, 6, 10, 2);
        assert_row(&rows.rows[1], 40, 50, "aa", 2, 6, 10, 2);
        rows = finish(st, OUTPUT_UPDATE); /* a batch that updates nothing emits nothing */
        assert_int_equal(rows.n, 0);
        free_state(st);
}

static void test_watermark_late_and_eviction(void **state) {
        State *st = new_state(10 * MIN, 5 * MIN, 0, 5 * MIN, 1000);
        const WindowStats *stats = windows_stats(st->all);

        /* batch 0: WM(0) unset, nothing is late, however old */
        add(st, "s", 1, at(44));
        add(st, "s", 1, at(1));
        assert_int_equal(stats->late_pairs, 0);
        finish(st, OUTPUT_UPDATE);
        /* the watermark trails by one batch (Spark's rule): WM(1) is still unset */
        assert_false(stats->has_watermark);
        assert_int_equal(stats->live_windows, 4);
        assert_false(windows_watermark_would_advance(st->all)); /* due at the next batch end */

        /* batch 1, empty: WM(2) = 10:44 - 5 min = 10:39: [-05,05) and [00,10) are final and gone */
        finish(st, OUTPUT_UPDATE);
        assert_true(stats->has_watermark);
        assert_int_equal(stats->watermark_ms, at(39));
        assert_int_equal(stats->live_windows, 2);
        assert_int_equal(stats->evicted_windows, 2);

        /* batch 2: 10:33 is in [10:25,10:35) (end <= WM: late) and [10:30,10:40) (kept) */
        add(st, "s", 5, at(33));
        assert_int_equal(stats->late_pairs, 1);
        /* 10:38 sits in [10:30,10:40) and [10:35,10:45): neither late */
        add(st, "s", 7, at(38));
        assert_int_equal(stats->late_pairs, 1);
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 2);
        assert_row(&rows.rows[0], 30, 40, "s", 2, 6, 7, 5);
        assert_row(&rows.rows[1], 35, 45, "s", 2, 4, 7, 1);
        assert_int_equal(stats->watermark_ms, at(39)); /* max event time still 10:44 */

        /* batch 3: an old record does not move the watermark back */
        add(st, "s", 1, at(36));
        finish(st, OUTPUT_UPDATE);
        assert_int_equal(stats->watermark_ms, at(39));

        /* batch 4: 10:50 makes 10:45 the candidate; batch 5's end makes it
         * the watermark: [10:30,10:40) and [10:35,10:45) become final */
        add(st, "s", 1, at(50));
        finish(st, OUTPUT_UPDATE);
        assert_int_equal(stats->watermark_ms, at(39));
        add(st, "s", 2, at(44)); /* judged by 10:39: [10:35,10:45) and [10:40,10:50) take it */
        Rows five = finish(st, OUTPUT_UPDATE);
        assert_int_equal(five.n, 2);
        assert_row(&five.rows[0], 35, 45, "s", 4, 2.75, 7, 1); /* 1, 7, 1 and 2 */
        assert_int_equal(stats->watermark_ms, at(45));
        assert_int_equal(stats->live_windows, 3); /* [10:40,10:50), [10:45,10:55), [10:50,11:00) */
        add(st, "s", 1, at(39)); /* [10:30,10:40) and [10:35,10:45) both end at or before 10:45 */
        assert_int_equal(stats->late_pairs, 3);
        free_state(st);
}

/* Spark's order of addition: a batch's values are summed on their own and
 * then added to the sum before the batch. 0.1 + (0.2 + 0.3) is 0.6, where
 * (0.1 + 0.2) + 0.3, one value after the other, is 0.6000000000000001. */
static void test_batch_sums_in_sparks_order(void **state) {
        State *st = new_partitions(10 * MIN, 10 * MIN, 0, 5 * MIN, 1000, 2);
        add_to(st, 0, "s", 0.1, at(41));
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_true(rows.rows[0].sum == 0.1);
        add_to(st, 0, "s", 0.2, at(42));
        add_to(st, 1, "t", 5, at(42)); /* another partition's batch is its own */
        add_to(st, 0, "s", 0.3, at(43));
        rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 2);
        assert_true(rows.rows[0].sum == 0.6);
        assert_true(rows.rows[0].avg == 0.6 / 3);
        assert_true((0.1 + 0.2) + 0.3 != 0.6); /* the order matters for these values */
        add_to(st, 0, "s", 0.7, at(44)); /* the next batch adds to the whole sum */
        rows = finish(st, OUTPUT_UPDATE);
        assert_true(rows.rows[0].sum == 0.6 + 0.7);
        free_state(st);
}

static void test_append_mode(void **state) {
        State *st = new_state(10 * MIN, 5 * MIN, 0, 5 * MIN, 1000);
        add(st, "s", 2, at(41));
        Rows rows = finish(st, OUTPUT_APPEND); /* WM unset, candidate 10:36 */
        assert_int_equal(rows.n, 0);
        add(st, "s", 4, at(44));
        add(st, "t", 1, at(51));
        rows = finish(st, OUTPUT_APPEND); /* WM 10:36: nothing final yet; candidate 10:46 */
        assert_int_equal(rows.n, 0);
        add(st, "t", 1, at(52));
        rows = finish(st, OUTPUT_APPEND); /* WM 10:46: [10:35,10:45) final, emitted once */
        assert_int_equal(rows.n, 1);
        assert_row(&rows.rows[0], 35, 45, "s", 2, 3, 4, 2);
        add(st, "t", 1, at(70));
        rows = finish(st, OUTPUT_APPEND); /* WM 10:47; candidate 11:05 */
        assert_int_equal(rows.n, 0);
        rows = finish(st, OUTPUT_APPEND); /* WM 11:05: [10:40,10:50), [10:45,10:55), [10:50,11:00) final */
        assert_int_equal(rows.n, 3); /* [11:05,11:15) and [11:10,11:20) stay open */
        assert_row(&rows.rows[0], 40, 50, "s", 2, 3, 4, 2);
        assert_row(&rows.rows[1], 45, 55, "t", 2, 1, 1, 1);
        assert_row(&rows.rows[2], 50, 60, "t", 2, 1, 1, 1);
        free_state(st);
}

static void test_append_then_late_is_dropped(void **state) {
        State *st = new_state(10 * MIN, 10 * MIN, 0, 0, 1000);
        add(st, "s", 1, at(45));
        finish(st, OUTPUT_APPEND);
        add(st, "s", 1, at(61));
        Rows rows = finish(st, OUTPUT_APPEND); /* WM 10:45; candidate 11:01 */
        assert_int_equal(rows.n, 0);
        rows = finish(st, OUTPUT_APPEND); /* WM 11:01: [10:40,10:50) is final, emitted and freed */
        assert_int_equal(rows.n, 1);
        add(st, "s", 9, at(49)); /* late: must not produce the window a second time */
        rows = finish(st, OUTPUT_APPEND);
        assert_int_equal(rows.n, 0);
        assert_int_equal(windows_stats(st->all)->late_pairs, 1);
        free_state(st);
}

static void test_complete_mode(void **state) {
        State *st = new_state(10 * MIN, 5 * MIN, 0, 0, 1000);
        add(st, "s", 1, at(41));
        Rows rows = finish(st, OUTPUT_COMPLETE);
        assert_int_equal(rows.n, 2);
        add(st, "t", 1, at(80));
        rows = finish(st, OUTPUT_COMPLETE);
        assert_int_equal(rows.n, 4); /* nothing evicted although WM passed 10:50 */
        assert_string_equal(rows.rows[0].sensor, "s");
        assert_string_equal(rows.rows[3].sensor, "t");
        assert_int_equal(windows_stats(st->all)->live_windows, 4);
        free_state(st);
}

static void test_max_keys(void **state) {
        State *st = new_state(10 * MIN, 10 * MIN, 0, 0, 3);
        add(st, "a", 1, at(41));
        add(st, "b", 1, at(41));
        add(st, "c", 1, at(41));
        add(st, "d", 1, at(41)); /* fourth key: dropped and counted */
        add(st, "a", 2, at(42)); /* existing keys still update */
        const WindowStats *stats = windows_stats(st->all);
        assert_int_equal(stats->live_keys, 3);
        assert_int_equal(stats->dropped_pairs, 1);
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 3);
        assert_row(&rows.rows[0], 40, 50, "a", 2, 1.5, 2, 1);
        windows_set_max_keys(st->all, 4);
        add(st, "d", 1, at(43));
        assert_int_equal(stats->live_keys, 4);
        free_state(st);
}

static void test_many_sensors(void **state) {
        State *st = new_state(10 * MIN, 5 * MIN, 0, 5 * MIN, 1000000);
        char id[32];
        for (int round = 0; round < 3; round++)
                for (int i = 0; i < 5000; i++) {
                        snprintf(id, sizeof(id), "sensor_%05d", i);
                        add(st, id, i + round, at(41));
                }
        const WindowStats *stats = windows_stats(st->all);
        assert_int_equal(stats->live_keys, 10000);
        assert_int_equal(stats->records, 15000);
        free_state(st);
}

static void test_idle_event_time(void **state) {
        State *st = new_state(10 * MIN, 10 * MIN, 0, 0, 1000);
        add(st, "s", 1, at(41));
        Rows rows = finish(st, OUTPUT_APPEND);
        assert_int_equal(rows.n, 0);
        assert_false(windows_watermark_would_advance(st->all));
        windows_observe_event_time(st->all, at(50));
        assert_true(windows_watermark_would_advance(st->all));
        rows = finish(st, OUTPUT_APPEND); /* WM 10:41 (the candidate of batch 0's end) */
        assert_int_equal(rows.n, 0);
        assert_false(windows_watermark_would_advance(st->all));
        windows_observe_event_time(st->all, at(50.5)); /* idle time goes on */
        assert_true(windows_watermark_would_advance(st->all));
        rows = finish(st, OUTPUT_APPEND); /* WM 10:50: [10:40,10:50) final */
        assert_int_equal(rows.n, 1);
        windows_observe_event_time(st->all, at(10)); /* never back */
        assert_false(windows_watermark_would_advance(st->all));
        free_state(st);
}

/* One sensor's records in two partitions (a producer without keys): one
 * row per (window, sensor) with the aggregates of both merged, also when
 * only one partition changed in the batch. */
static void test_partitions_merge_in_update_mode(void **state) {
        State *st = new_partitions(10 * MIN, 5 * MIN, 0, 5 * MIN, 1000, 2);
        add_to(st, 0, "s", 1, at(41));
        add_to(st, 1, "s", 5, at(42));
        add_to(st, 1, "t", 2, at(42));
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 4);
        assert_row(&rows.rows[0], 35, 45, "s", 2, 3, 5, 1);
        assert_row(&rows.rows[1], 35, 45, "t", 1, 2, 2, 2);
        assert_row(&rows.rows[2], 40, 50, "s", 2, 3, 5, 1);
        assert_row(&rows.rows[3], 40, 50, "t", 1, 2, 2, 2);

        add_to(st, 0, "s", 9, at(43)); /* only partition 0 changes "s" */
        rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 2);
        assert_row(&rows.rows[0], 35, 45, "s", 3, 5, 9, 1);
        assert_row(&rows.rows[1], 40, 50, "s", 3, 5, 9, 1);
        assert_int_equal(windows_stats(st->all)->live_keys, 6); /* entries: 2 partitions x ("s", "t") */
        free_state(st);
}

/* The watermark is one for all partitions: a late record in one partition
 * is late because of event time seen in another, and final windows are
 * emitted once, merged, and freed in every partition. */
static void test_partitions_share_the_watermark(void **state) {
        State *st = new_partitions(10 * MIN, 10 * MIN, 0, 0, 1000, 3);
        add_to(st, 0, "s", 1, at(41));
        add_to(st, 2, "s", 3, at(45));
        add_to(st, 1, "u", 4, at(49));
        Rows rows = finish(st, OUTPUT_APPEND);
        assert_int_equal(rows.n, 0);
        add_to(st, 1, "s", 7, at(51)); /* partition 1: WM moves to 10:51 a batch later */
        rows = finish(st, OUTPUT_APPEND);
        assert_int_equal(rows.n, 0);
        rows = finish(st, OUTPUT_APPEND);
        assert_int_equal(rows.n, 2); /* [10:40, 10:50) is final everywhere */
        assert_row(&rows.rows[0], 40, 50, "s", 2, 2, 3, 1);
        assert_row(&rows.rows[1], 40, 50, "u", 1, 4, 4, 4);
        add_to(st, 2, "s", 1, at(48)); /* partition 2 never saw 10:51, still late */
        assert_int_equal(windows_stats(st->all)->late_pairs, 1);
        rows = finish(st, OUTPUT_COMPLETE);
        assert_int_equal(rows.n, 1);
        assert_row(&rows.rows[0], 50, 60, "s", 1, 7, 7, 7);
        free_state(st);
}

/* Partition scope: a record is judged by its partition's watermark, that
 * of the records before it, even within one batch; the late pairs are
 * described with the watermark that judged them. */
static void test_partition_scope_judges_each_record(void **state) {
        State *st = new_partitions(10 * MIN, 5 * MIN, 0, 0, 1000, 1);
        WindowLate late = { 0 };
        windows_set_scope(st->all, WATERMARK_PARTITION);
        assert_int_equal(window_state_add(st->part[0], "s", 1, 1, at(41), &late), 0); /* nothing before it */
        assert_int_equal(window_state_add(st->part[0], "s", 1, 2, at(55), &late), 0);
        /* WM_p = 10:55: [10:40,10:50) and [10:45,10:55) are late, in the same batch */
        assert_int_equal(window_state_add(st->part[0], "s", 1, 3, at(48), &late), 2);
        assert_int_equal(late.n, 2);
        assert_int_equal(late.starts[0], at(45));
        assert_int_equal(late.starts[1], at(40));
        assert_int_equal(late.watermark_ms, at(55));
        WindowClock clock = window_state_clock(st->part[0]);
        assert_true(clock.has_watermark && clock.watermark_ms == at(55));
        Rows rows = finish(st, OUTPUT_UPDATE);
        assert_int_equal(rows.n, 4); /* [35,45) [40,50) from 10:41, [50,60) [55,65) from 10:55 */
        assert_row(&rows.rows[1], 40, 50, "s", 1, 1, 1, 1);
        /* the windows the partition passed are evicted at the batch end */
        assert_int_equal(windows_stats(st->all)->live_windows, 2);
        free(late.starts);
        free_state(st);
}

/* Partition scope: a lagging partition's records are not late because of
 * another partition's event time, and a window is final (emitted in append
 * mode, once, merged) when every partition holding it has passed it. */
static void test_partition_scope_lagging_partition(void **state) {
        State *st = new_partitions(10 * MIN, 10 * MIN, 0, 0, 1000, 2);
        windows_set_scope(st->all, WATERMARK_PARTITION);
        add_to(st, 0, "s", 1, at(41));
        add_to(st, 0, "s", 3, at(52)); /* partition 0 passes [10:40,10:50) */
        add_to(st, 1, "u", 4, at(12));
        add_to(st, 1, "s", 5, at(44)); /* partition 1 passes [10:10,10:20) only */
        Rows rows = finish(st, OUTPUT_APPEND);
        assert_int_equal(rows.n, 1);
        assert_row(&rows.rows[0], 10, 20, "u", 1, 4, 4, 4);
        add_to(st, 1, "s", 7, at(47)); /* not late in partition 1 */
        assert_int_equal(windows_stats(st->all)->late_pairs, 0);
        add_to(st, 1, "v", 1, at(55));
        rows = finish(st, OUTPUT_APPEND);
        assert_int_equal(rows.n, 1); /* [10:40,10:50) now final in both */
        assert_row(&rows.rows[0], 40, 50, "s", 3, 13.0 / 3, 7, 1);
        assert_int_equal(windows_stats(st->all)->watermark_ms, at(52)); /* the lowest partition's */
        free_state(st);
}

/* max_keys bounds the entries of all partitions together; dropping a
 * partition's state gives its keys back. */
static void test_partitions_share_max_keys(void **state) {
        State *st = new_partitions(10 * MIN, 10 * MIN, 0, 0, 2, 2);
        add_to(st, 0, "a", 1, at(41));
        add_to(st, 1, "b", 1, at(41));
        add_to(st, 1, "c", 1, at(41));
        const WindowStats *stats = windows_stats(st->all);
        assert_int_equal(stats->live_keys, 2);
        assert_int_equal(stats->dropped_pairs, 1);
        st->part[1] = window_state_free(st->part[1]);
        assert_int_equal(stats->live_keys, 1);
        st->part[1] = window_state_new(st->all);
        add_to(st, 1, "c", 1, at(41));
        assert_int_equal(stats->live_keys, 2);
        Rows rows = finish(st, OUTPUT_COMPLETE);
        assert_int_equal(rows.n, 2);
        assert_row(&rows.rows[1], 40, 50, "c", 1, 1, 1, 1);
        free_state(st);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spec_check),
                cmocka_unit_test(test_sliding_assignment),
                cmocka_unit_test(test_start_offset),
                cmocka_unit_test(test_tumbling),
                cmocka_unit_test(test_slide_not_dividing_window),
                cmocka_unit_test(test_before_epoch),
                cmocka_unit_test(test_update_rows_sorted_and_only_changed),
                cmocka_unit_test(test_watermark_late_and_eviction),
                cmocka_unit_test(test_batch_sums_in_sparks_order),
                cmocka_unit_test(test_append_mode),
                cmocka_unit_test(test_append_then_late_is_dropped),
                cmocka_unit_test(test_complete_mode),
                cmocka_unit_test(test_max_keys),
                cmocka_unit_test(test_many_sensors),
                cmocka_unit_test(test_idle_event_time),
                cmocka_unit_test(test_partitions_merge_in_update_mode),
                cmocka_unit_test(test_partitions_share_the_watermark),
                cmocka_unit_test(test_partitions_share_max_keys),
                cmocka_unit_test(test_partition_scope_judges_each_record),
                cmocka_unit_test(test_partition_scope_lagging_partition),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
