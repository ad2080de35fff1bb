/* generate: synthetic readings from splitmix64. */
#include "generate.h"

#include <inttypes.h>
#include <stdio.h>

#include "timestamp.h"

static uint64_t splitmix64(uint64_t *state) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

void generator_init(Generator *g, uint64_t seed, uint64_t sensors, bool distinct) {
        *g = (Generator){ .rng = seed, .sensors = sensors, .distinct = distinct };
}

size_t generator_next(Generator *g, char key[GENERATE_KEY_MAX], size_t *key_len, char value[GENERATE_VALUE_MAX]) {
        static const int64_t base_ms = 1729593600000; /* 2024-10-22T10:40:00Z */
        char ts[TIMESTAMP_MAX];
        uint64_t i = g->next++;
        uint64_t draw = splitmix64(&g->rng); /* drawn either way: the values and times stay those of the seed */
        uint64_t sensor = g->distinct ? i % g->sensors : draw % g->sensors;
        int64_t cents = (int64_t)(splitmix64(&g->rng) % 10000) - 2000;
        int64_t jitter = (int64_t)(splitmix64(&g->rng) % 4001) - 2000;
        int64_t abs_cents = cents < 0 ? -cents : cents;
        *key_len = (size_t)snprintf(key, GENERATE_KEY_MAX, "sensor_%04" PRIu64, sensor);
        timestamp_format(base_ms + (int64_t)i * 100 + jitter, ts);
        return (size_t)snprintf(value, GENERATE_VALUE_MAX,
                                "{\"sensor_id\":\"%s\",\"value\":%s%" PRId64 ".%02" PRId64 ",\"timestamp\":\"%s\"}", key,
                                cents < 0 ? "-" : "", abs_cents / 100, abs_cents % 100, ts);
}
