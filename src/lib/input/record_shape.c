/* record_shape: where a record's three fields are (the input settings):
 * paths parsed from their configured text, checked against each other,
 * and the default shape. */
#include "lib/input/record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/input/record_internal.h"
#include "lib/text/timestamp.h"

const char *const record_field_names[_RECORD_FIELD_MAX] = { "sensor_id", "value", "timestamp" };

const char *record_field_name(RecordField field) {
        return record_field_names[field];
}

/* What record_path_set() makes of "sensor_id", "value" and "timestamp"
 * (a unit test checks that it is). */
const RecordShape record_default_shape = {
        .field = {
                [RECORD_SENSOR_ID] = { .text = "sensor_id", .n_segments = 1, .len = { 9 }, .names = "sensor_id" },
                [RECORD_VALUE] = { .text = "value", .n_segments = 1, .len = { 5 }, .names = "value" },
                [RECORD_TIMESTAMP] = { .text = "timestamp", .n_segments = 1, .len = { 9 }, .names = "timestamp" },
        },
        .timestamp_format = TIMESTAMP_RFC3339,
};

void record_shape_default(RecordShape *shape) {
        *shape = record_default_shape;
}

__attribute__((format(printf, 2, 3))) static int path_error(char *error, const char *fmt, ...) {
        if (error) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(error, RECORD_REASON_MAX, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int record_path_set(RecordShape *shape, RecordField field, const char *text, char *error) {
        RecordPath path = { .n_segments = 0 };
        size_t len = strlen(text), n = 0;
        if (len == 0)
                return path_error(error, "must not be empty");
        if (len > RECORD_PATH_MAX)
                return path_error(error, "is %zu bytes, over %d", len, RECORD_PATH_MAX);
        memcpy(path.text, text, len + 1);
        if (text[0] == '@') {
                if (strcmp(text, RECORD_KEY) == 0 && field == RECORD_SENSOR_ID) {
                        shape->field[field] = path;
                        return 0;
                }
                if (strcmp(text, RECORD_KAFKA_TIME) == 0 && field == RECORD_TIMESTAMP) {
                        shape->field[field] = path;
                        return 0;
                }
                return path_error(error, "\"%s\": only sensor_id may be \"" RECORD_KEY "\" and only timestamp \"" RECORD_KAFKA_TIME
                                         "\" (a key starting with '@' is written \"\\\\@...\")",
                                  text);
        }
        size_t seg_start = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && text[i] == '\\') {
                        if (i + 1 == len || (text[i + 1] != '.' && text[i + 1] != '\\' && text[i + 1] != '@'))
                                return path_error(error, "\"%s\": a backslash escapes only '.', '\\\\' or '@'", text);
                        path.names[n++] = text[++i];
                        continue;
                }
                if (i < len && text[i] != '.') {
                        path.names[n++] = text[i];
                        continue;
                }
                /* a dot or the end: a segment ends */
                if (n == seg_start)
                        return path_error(error, "\"%s\": empty field name in the path", text);
                if (path.n_segments == RECORD_PATH_SEGMENTS)
                        return path_error(error, "\"%s\": more than %d levels", text, RECORD_PATH_SEGMENTS);
                path.offset[path.n_segments] = (uint16_t)seg_start;
                path.len[path.n_segments++] = (uint16_t)(n - seg_start);
                seg_start = n;
        }
        shape->field[field] = path;
        return 0;
}

/* Whether path a's segments are the first of path b's (a == b included). */
static bool path_prefix(const RecordPath *a, const RecordPath *b) {
        if (a->n_segments == 0 || a->n_segments > b->n_segments)
                return false;
        for (unsigned i = 0; i < a->n_segments; i++)
                if (a->len[i] != b->len[i] || memcmp(a->names + a->offset[i], b->names + b->offset[i], a->len[i]) != 0)
                        return false;
        return true;
}

int record_shape_check(const RecordShape *shape, char *error) {
        for (int a = 0; a < _RECORD_FIELD_MAX; a++)
                for (int b = 0; b < _RECORD_FIELD_MAX; b++) {
                        const RecordPath *pa = &shape->field[a], *pb = &shape->field[b];
                        if (a == b || !path_prefix(pa, pb))
                                continue;
                        if (pa->n_segments == pb->n_segments && a < b)
                                return path_error(error, "%s and %s name the same field \"%s\"", record_field_names[a],
                                                  record_field_names[b], pa->text);
                        if (pa->n_segments < pb->n_segments)
                                return path_error(error, "%s \"%s\" lies inside %s \"%s\", which must be a %s",
                                                  record_field_names[b], pb->text, record_field_names[a], pa->text,
                                                  a == RECORD_VALUE ? "number" : "string or number");
                }
        return 0;
}

int record_epoch_ms(const RecordShape *shape, const char *text, size_t len, int64_t *ms) {
        static const TimestampUnit units[] = { [TIMESTAMP_EPOCH_S] = TIMESTAMP_UNIT_S,
                                               [TIMESTAMP_EPOCH_MS] = TIMESTAMP_UNIT_MS,
                                               [TIMESTAMP_EPOCH_US] = TIMESTAMP_UNIT_US,
                                               [TIMESTAMP_EPOCH_NS] = TIMESTAMP_UNIT_NS };
        return timestamp_parse_epoch(text, len, units[shape->timestamp_format], ms);
}

const char *const record_timestamp_formats[_TIMESTAMP_FORMAT_MAX + 1] = { "rfc3339",  "epoch_s",  "epoch_ms",
                                                                          "epoch_us", "epoch_ns", NULL };
