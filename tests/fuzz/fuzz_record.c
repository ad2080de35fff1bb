/* libFuzzer target: the record parser. Any bytes give a record or a reason,
 * a record always satisfies semantics.md's rules, and the fast path gives
 * yajl's answer exactly (the record, or the error and its reason). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Record r, y;
        char reason[RECORD_REASON_MAX] = "", yajl_reason[RECORD_REASON_MAX] = "";
        RecordError e = record_parse(data, size, 65536, &r, reason);
        if (e == RECORD_OK) {
                if (r.sensor_id_len == 0 || r.sensor_id_len > SENSOR_ID_MAX || !isfinite(r.value) ||
                    memchr(r.sensor_id, '\0', r.sensor_id_len) || r.sensor_id[r.sensor_id_len] != '\0')
                        abort();
        } else if (e >= _RECORD_ERROR_MAX || strnlen(reason, RECORD_REASON_MAX) == RECORD_REASON_MAX) {
                abort();
        }
        if (record_parse_with_yajl(data, size, 65536, &y, yajl_reason) != e)
                abort();
        if (e == RECORD_OK ? r.sensor_id_len != y.sensor_id_len || memcmp(r.sensor_id, y.sensor_id, r.sensor_id_len) ||
                                     memcmp(&r.value, &y.value, sizeof(double)) || r.event_time_ms != y.event_time_ms
                           : strcmp(reason, yajl_reason) != 0)
                abort();
        return 0;
}
