/* libFuzzer target: the record parser. Any bytes give a record or a reason,
 * a record always satisfies semantics.md's rules, and the fast path gives
 * yajl's answer exactly (the record, or the error and its reason).
 * An input starting with a byte 1 to 4 is read in a configured shape (that
 * byte picks it; the rest is the message value, and its length picks the
 * Kafka key and timestamp); any other input is a message value in the
 * default shape. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/input/record.h"
#include "lib/text/timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void set_shape(RecordShape *shape, const char *sensor_id, const char *value, const char *timestamp,
                      TimestampFormat format) {
        record_shape_default(shape);
        if (record_path_set(shape, RECORD_SENSOR_ID, sensor_id, NULL) < 0 ||
            record_path_set(shape, RECORD_VALUE, value, NULL) < 0 ||
            record_path_set(shape, RECORD_TIMESTAMP, timestamp, NULL) < 0 || record_shape_check(shape, NULL) < 0)
                abort();
        shape->timestamp_format = format;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const keys[] = { NULL, "", "sensor_1", "s\xc3\xa9", "\xff", "a\0b" };
        static const int64_t times[] = { -1, 0, 1729593600123, -62135596800001, 253402300799999 };
        RecordShape shape;
        RecordMessage m = { .value = data, .len = size, .timestamp_ms = -1 };
        if (size > 0 && data[0] >= 1 && data[0] <= 4) {
                switch (data[0]) {
                case 1:
                        set_shape(&shape, "device.id", "metrics.temp", "ts", TIMESTAMP_EPOCH_MS);
                        break;
                case 2:
                        set_shape(&shape, "@key", "value", "@timestamp", TIMESTAMP_RFC3339);
                        break;
                case 3:
                        set_shape(&shape, "a.b\\.c", "v", "t.s", TIMESTAMP_EPOCH_S);
                        break;
                default:
                        set_shape(&shape, "id", "x.y.z", "t", TIMESTAMP_EPOCH_NS);
                        break;
                }
                m.value = data + 1;
                m.len = size - 1;
                m.key = keys[size % 6];
                m.key_len = m.key ? (size % 6 == 5 ? 3 : strlen(m.key)) : 0;
                m.timestamp_ms = times[size % 5];
        } else {
                record_shape_default(&shape);
        }
        Record r, y;
        char reason[RECORD_REASON_MAX] = "", yajl_reason[RECORD_REASON_MAX] = "";
        RecordError e = record_parse_message(&shape, &m, 65536, &r, reason);
        if (e == RECORD_OK) {
                if (r.sensor_id_len == 0 || r.sensor_id_len > SENSOR_ID_MAX || !isfinite(r.value) ||
                    memchr(r.sensor_id, '\0', r.sensor_id_len) || r.sensor_id[r.sensor_id_len] != '\0' ||
                    !timestamp_in_range(r.event_time_ms))
                        abort();
        } else if (e >= _RECORD_ERROR_MAX || strnlen(reason, RECORD_REASON_MAX) == RECORD_REASON_MAX) {
                abort();
        }
        if (record_parse_message_with_yajl(&shape, &m, 65536, &y, yajl_reason) != e)
                abort();
        if (e == RECORD_OK ? r.sensor_id_len != y.sensor_id_len || memcmp(r.sensor_id, y.sensor_id, r.sensor_id_len) ||
                                     memcmp(&r.value, &y.value, sizeof(double)) || r.event_time_ms != y.event_time_ms
                           : strcmp(reason, yajl_reason) != 0)
                abort();
        return 0;
}
