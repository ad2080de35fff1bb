/* generate: deterministic synthetic sensor readings, the load of
 * sensor-replay --generate and of the benchmarks. No I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GENERATE_KEY_MAX 32
#define GENERATE_VALUE_MAX 160

typedef struct Generator {
        uint64_t rng;
        uint64_t sensors;
        bool distinct; /* record i is sensor i mod sensors, not a random one */
        uint64_t next; /* index of the next record */
} Generator;

void generator_init(Generator *g, uint64_t seed, uint64_t sensors, bool distinct);

/* The next record: its key (the sensor id) and its JSON value. Event time
 * advances 100 ms per record from 2024-10-22T10:40:00Z with up to 2 s of
 * jitter either way (mildly out of order); values lie in [-20, 80) with two
 * decimals. The same seed gives the same records. Returns the value's
 * length; *key_len receives the key's. */
size_t generator_next(Generator *g, char key[GENERATE_KEY_MAX], size_t *key_len, char value[GENERATE_VALUE_MAX]);
