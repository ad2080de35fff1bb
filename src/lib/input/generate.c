/* generate: synthetic readings from splitmix64. */
#include "lib/input/generate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/input/record.h"
#include "lib/text/row_json.h"
#include "lib/text/timestamp.h"

static uint64_t splitmix64(uint64_t *state) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

void generator_init(Generator *g, uint64_t seed, uint64_t sensors, bool distinct) {
        *g = (Generator){ .rng = seed, .sensors = sensors, .distinct = distinct };
}

static const char *const shape_names[_SHAPE_MAX] = { "flat", "nested-epoch-ms", "key-timestamp" };

int generate_shape_from_name(const char *name, GenerateShape *out) {
        for (int i = 0; i < _SHAPE_MAX; i++)
                if (strcmp(name, shape_names[i]) == 0) {
                        *out = (GenerateShape)i;
                        return 0;
                }
        return -EINVAL;
}

const char *generate_shape_name(GenerateShape shape) {
        return shape_names[shape];
}

void generate_shape_input(GenerateShape shape, RecordShape *out) {
        static const char *const paths[_SHAPE_MAX][_RECORD_FIELD_MAX] = {
                [SHAPE_FLAT] = { "sensor_id", "value", "timestamp" },
                [SHAPE_NESTED_EPOCH_MS] = { "device.id", "metrics.temp", "ts" },
                [SHAPE_KEY_TIMESTAMP] = { RECORD_KEY, "value", RECORD_KAFKA_TIME },
        };
        record_shape_default(out);
        for (int f = 0; f < _RECORD_FIELD_MAX; f++)
                record_path_set(out, (RecordField)f, paths[shape][f], NULL);
        out->timestamp_format = shape == SHAPE_NESTED_EPOCH_MS ? TIMESTAMP_EPOCH_MS : TIMESTAMP_RFC3339;
}

size_t generate_render(GenerateShape shape, const char *sensor_id, size_t sensor_id_len, const char *value_text,
                       int64_t event_ms, char *out, size_t size) {
        char stack[6 * SENSOR_ID_MAX + 2], ts[TIMESTAMP_MAX];
        char *id = 6 * sensor_id_len + 2 <= sizeof(stack) ? stack : xmalloc(6 * sensor_id_len + 2);
        int id_len = (int)(row_json_string(id, sensor_id, sensor_id_len) - id), n;
        switch (shape) {
        case SHAPE_NESTED_EPOCH_MS:
                n = snprintf(out, size,
                             "{\"device\":{\"id\":%.*s,\"site\":\"north\"},\"metrics\":{\"temp\":%s,\"hum\":40.2},"
                             "\"ts\":%" PRId64 "}",
                             id_len, id, value_text, event_ms);
                break;
        case SHAPE_KEY_TIMESTAMP:
                n = snprintf(out, size, "{\"value\":%s}", value_text);
                break;
        default:
                timestamp_format(event_ms, ts);
                n = snprintf(out, size, "{\"sensor_id\":%.*s,\"value\":%s,\"timestamp\":\"%s\"}", id_len, id,
                             value_text, ts);
                break;
        }
        if (id != stack)
                free(id);
        return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t generator_next(Generator *g, char key[GENERATE_KEY_MAX], size_t *key_len, char value[GENERATE_VALUE_MAX]) {
        static const int64_t base_ms = 1729593600000; /* 2024-10-22T10:40:00Z */
        char number[32];
        uint64_t i = g->next++;
        uint64_t draw = splitmix64(&g->rng); /* drawn either way: the values and times stay those of the seed */
        uint64_t sensor = g->distinct ? i % g->sensors : draw % g->sensors;
        int64_t cents = (int64_t)(splitmix64(&g->rng) % 10000) - 2000;
        int64_t jitter = (int64_t)(splitmix64(&g->rng) % 4001) - 2000;
        int64_t abs_cents = cents < 0 ? -cents : cents;
        *key_len = (size_t)snprintf(key, GENERATE_KEY_MAX, "sensor_%04" PRIu64, sensor);
        snprintf(number, sizeof(number), "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "", abs_cents / 100,
                 abs_cents % 100);
        g->event_ms = base_ms + (int64_t)i * 100 + jitter;
        return generate_render(g->shape, key, *key_len, number, g->event_ms, value, GENERATE_VALUE_MAX);
}
