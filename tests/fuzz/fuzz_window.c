/* libFuzzer target: the window state of up to 4 partitions, driven by a byte
 * stream decoded into add, finish-batch and check calls (append mode, so
 * every evicted window's rows come out). After every call: the counts of
 * the live entries plus those emitted for evicted windows equal the pairs
 * added, min <= avg <= max, and the live keys stay within max_keys. In
 * process scope also: no live window ends at or before the watermark, and
 * no emitted one after it. The first byte's top bit selects partition
 * scope, where each partition's watermark is its own (and a window a
 * partition has passed stays while another holding it has not). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/state/window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIN 60000LL
#define MAX_KEYS 64

typedef struct Model {
        uint64_t pairs_added;   /* pairs that joined an entry */
        uint64_t pairs_evicted; /* counts of the rows of evicted windows */
        uint64_t live_count;
        bool partition_scope;
        const Windows *all;
} Model;

static int on_row(const WindowRow *row, void *userdata) {
        Model *m = userdata;
        const WindowStats *st = windows_stats(m->all);
        if (row->count == 0 || !(row->min <= row->max) || row->avg < row->min - 1e-9 * fabs(row->min) - 1e-9 ||
            row->avg > row->max + 1e-9 * fabs(row->max) + 1e-9 || (!m->partition_scope && row->end_ms > st->watermark_ms))
                abort(); /* append mode emits only final windows */
        m->pairs_evicted += row->count;
        return 0;
}

static void count_entry(const WindowEntry *e, void *userdata) {
        Model *m = userdata;
        const WindowStats *st = windows_stats(m->all);
        if (e->count == 0 || e->min > e->max ||
            (!m->partition_scope && st->has_watermark && e->start_ms + 10 * MIN <= st->watermark_ms))
                abort();
        m->live_count += e->count;
}

static void check(Model *m, WindowState *const *parts, size_t n) {
        const WindowStats *st = windows_stats(m->all);
        m->live_count = 0;
        for (size_t i = 0; i < n; i++)
                window_state_each_entry(parts[i], count_entry, m);
        if (m->live_count + m->pairs_evicted != m->pairs_added || st->live_keys > MAX_KEYS)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        WindowSpec spec = { .size_ms = 10 * MIN, .slide_ms = 5 * MIN, .watermark_delay_ms = 5 * MIN };
        Windows *all = NULL;
        WindowState *parts[4];
        Model m = { 0 };
        if (windows_new(&all, &spec, MAX_KEYS) < 0)
                abort();
        m.all = all;
        m.partition_scope = size > 0 && (data[0] & 0x80);
        if (m.partition_scope)
                windows_set_scope(all, WATERMARK_PARTITION);
        for (size_t i = 0; i < 4; i++)
                parts[i] = window_state_new(all);
        int64_t t = 1729591200000; /* event time moves with the input, back and forth */
        for (size_t i = 0; i + 3 <= size; i += 3) {
                uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
                if (op % 8 < 6) { /* add a reading */
                        char sensor[2] = { (char)('a' + a % 16), '\0' };
                        t += ((int64_t)(int8_t)b) * 20000;
                        const WindowStats *st = windows_stats(all);
                        uint64_t before = st->late_pairs + st->dropped_pairs;
                        window_state_add(parts[op % 4], sensor, 1, (double)(int8_t)a / 4.0, t, NULL);
                        m.pairs_added += 2 - (st->late_pairs + st->dropped_pairs - before);
                } else if (op % 8 == 6) {
                        if (windows_finish_batch(all, parts, 4, OUTPUT_APPEND, on_row, &m) != 0)
                                abort();
                } else {
                        check(&m, parts, 4);
                }
        }
        windows_finish_batch(all, parts, 4, OUTPUT_APPEND, on_row, &m);
        check(&m, parts, 4);
        for (size_t i = 0; i < 4; i++)
                window_state_free(parts[i]);
        if (windows_stats(all)->live_keys != 0)
                abort();
        windows_free(all);
        return 0;
}
