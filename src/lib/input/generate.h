/* generate: deterministic synthetic sensor readings, the load of
 * sensor-replay --generate and of the benchmarks. No I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/input/record.h"

#define GENERATE_KEY_MAX 32
#define GENERATE_VALUE_MAX 160

/* The record shapes sensor-replay writes and sensord's input settings read
 * (README, "Record shapes"):
 *   flat             {"sensor_id":"s1","value":21.5,"timestamp":"2024-10-22T10:40:00Z"}
 *   nested-epoch-ms  {"device":{"id":"s1","site":"north"},"metrics":{"temp":21.5,"hum":40.2},"ts":1729593600000}
 *   key-timestamp    {"value":21.5}, the sensor id as the message key and the
 *                    event time as the message's Kafka timestamp */
typedef enum GenerateShape { SHAPE_FLAT, SHAPE_NESTED_EPOCH_MS, SHAPE_KEY_TIMESTAMP, _SHAPE_MAX } GenerateShape;

/* The shape named name ("nested-epoch-ms"); -EINVAL for another name. */
int generate_shape_from_name(const char *name, GenerateShape *out);
const char *generate_shape_name(GenerateShape shape);

/* The input settings that read shape (README, "Record shapes"). */
void generate_shape_input(GenerateShape shape, RecordShape *out);

/* Writes one reading in shape: value_text is its JSON number as text, and
 * the id is escaped as JSON needs. Returns the length, or 0 when it does
 * not fit in size. (The key and the Kafka timestamp are the caller's: the
 * sensor id and event_ms.) */
size_t generate_render(GenerateShape shape, const char *sensor_id, size_t sensor_id_len, const char *value_text,
                       int64_t event_ms, char *out, size_t size);

typedef struct Generator {
        uint64_t rng;
        uint64_t sensors;
        bool distinct; /* record i is sensor i mod sensors, not a random one */
        uint64_t next; /* index of the next record */
        GenerateShape shape; /* SHAPE_FLAT unless set */
        int64_t event_ms; /* the event time of the record generator_next() made last */
} Generator;

void generator_init(Generator *g, uint64_t seed, uint64_t sensors, bool distinct);

/* The next record: its key (the sensor id) and its JSON value in g->shape
 * (g->event_ms is its event time, the Kafka timestamp of key-timestamp).
 * Event time advances 100 ms per record from 2024-10-22T10:40:00Z with up
 * to 2 s of jitter either way (mildly out of order); values lie in
 * [-20, 80) with two decimals. The same seed gives the same readings in
 * every shape. Returns the value's length; *key_len receives the key's. */
size_t generator_next(Generator *g, char key[GENERATE_KEY_MAX], size_t *key_len, char value[GENERATE_VALUE_MAX]);
