/* row_json: keys in semantics.md's order, numbers in their shortest exact
 * form. Written straight into the caller's buffer: the row's layout is
 * fixed, so only the sensor id needs a JSON encoder, and a generator object
 * per row cost more than the rest of the row. */
#include "lib/text/row_json.h"

#include <errno.h>
#include <string.h>

#include "lib/base/util.h"
#include "lib/text/format_double.h"
#include "lib/text/timestamp.h"

#define PUT_LITERAL(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

/* The string's bytes as yajl_gen writes them: the two-character escapes,
 * \u00XX for the other control characters, everything else as it is. */
char *row_json_string(char *p, const char *s, size_t len) {
        static const char hex[] = "0123456789ABCDEF";
        *p++ = '"';
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                char escape = 0;
                switch (c) {
                case '"': escape = '"'; break;
                case '\\': escape = '\\'; break;
                case '\b': escape = 'b'; break;
                case '\f': escape = 'f'; break;
                case '\n': escape = 'n'; break;
                case '\r': escape = 'r'; break;
                case '\t': escape = 't'; break;
                default:
                        if (c < 0x20) {
                                p = PUT_LITERAL(p, "\\u00");
                                *p++ = hex[c >> 4];
                                *p++ = hex[c & 15];
                                continue;
                        }
                        *p++ = (char)c;
                        continue;
                }
                *p++ = '\\';
                *p++ = escape;
        }
        *p++ = '"';
        return p;
}

static char *put_time(char *p, int64_t ms, TimestampCache *times) {
        *p++ = '"';
        p += timestamp_format_cached(times, ms, p);
        *p++ = '"';
        return p;
}

static char *put_number(char *p, double v) {
        return p + format_double(v, p);
}

int row_json(char buf[ROW_JSON_MAX], uint64_t batch, const WindowRow *row, TimestampCache *times) {
        if (row->sensor_id_len > SENSOR_ID_MAX)
                return -EINVAL;
        char *p = buf;
        p = PUT_LITERAL(p, "{\"batch\":");
        p = format_u64(p, batch);
        p = PUT_LITERAL(p, ",\"window\":{\"start\":");
        p = put_time(p, row->start_ms, times);
        p = PUT_LITERAL(p, ",\"end\":");
        p = put_time(p, row->end_ms, times);
        p = PUT_LITERAL(p, "},\"sensor_id\":");
        p = row_json_string(p, row->sensor_id, row->sensor_id_len);
        p = PUT_LITERAL(p, ",\"avg_value\":");
        p = put_number(p, row->avg);
        p = PUT_LITERAL(p, ",\"max_value\":");
        p = put_number(p, row->max);
        p = PUT_LITERAL(p, ",\"min_value\":");
        p = put_number(p, row->min);
        p = PUT_LITERAL(p, ",\"count\":");
        p = format_u64(p, row->count);
        p = PUT_LITERAL(p, ",\"sum\":");
        p = put_number(p, row->sum);
        *p++ = '}';
        return (int)(p - buf);
}
