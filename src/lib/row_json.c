/* row_json: keys in semantics.md's order, numbers in their shortest exact form. */
#include "row_json.h"

#include <errno.h>

#include "format_double.h"
#include "timestamp.h"
#include "util.h"

#define GEN_KEY(g, k) yajl_gen_string((g), (const unsigned char *)(k), sizeof(k) - 1)

static void gen_number(yajl_gen g, double v) {
        char buf[32];
        size_t n = format_double(v, buf);
        yajl_gen_number(g, buf, n);
}

static void gen_u64(yajl_gen g, uint64_t v) {
        char num[24];
        yajl_gen_number(g, num, (size_t)(format_u64(num, v) - num));
}

int row_json(yajl_gen g, uint64_t batch, const WindowRow *row, const unsigned char **text, size_t *len) {
        char start[TIMESTAMP_MAX], end[TIMESTAMP_MAX];

        yajl_gen_clear(g);
        yajl_gen_reset(g, NULL);
        yajl_gen_map_open(g);
        GEN_KEY(g, "batch");
        gen_u64(g, batch);
        GEN_KEY(g, "window");
        yajl_gen_map_open(g);
        GEN_KEY(g, "start");
        yajl_gen_string(g, (const unsigned char *)start, timestamp_format(row->start_ms, start));
        GEN_KEY(g, "end");
        yajl_gen_string(g, (const unsigned char *)end, timestamp_format(row->end_ms, end));
        yajl_gen_map_close(g);
        GEN_KEY(g, "sensor_id");
        yajl_gen_string(g, (const unsigned char *)row->sensor_id, row->sensor_id_len);
        GEN_KEY(g, "avg_value");
        gen_number(g, row->avg);
        GEN_KEY(g, "max_value");
        gen_number(g, row->max);
        GEN_KEY(g, "min_value");
        gen_number(g, row->min);
        GEN_KEY(g, "count");
        gen_u64(g, row->count);
        GEN_KEY(g, "sum");
        gen_number(g, row->sum);
        yajl_gen_map_close(g);
        return yajl_gen_get_buf(g, text, len) == yajl_gen_status_ok ? 0 : -EINVAL;
}
