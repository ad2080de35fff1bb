/* libFuzzer target: the record parser. Any bytes give a record or a reason,
 * and a record always satisfies semantics.md's rules. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Record r;
        char reason[RECORD_REASON_MAX];
        RecordError e = record_parse(data, size, 65536, &r, reason);
        if (e == RECORD_OK) {
                if (r.sensor_id_len == 0 || r.sensor_id_len > SENSOR_ID_MAX || !isfinite(r.value) ||
                    memchr(r.sensor_id, '\0', r.sensor_id_len) || r.sensor_id[r.sensor_id_len] != '\0')
                        abort();
        } else if (e >= _RECORD_ERROR_MAX || strnlen(reason, RECORD_REASON_MAX) == RECORD_REASON_MAX) {
                abort();
        }
        return 0;
}
