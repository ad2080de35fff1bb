/* record_internal: what the record parser's files share, and no caller
 * needs: the default shape, a key matched against the shape's paths, the
 * number and epoch conversions, and the fields that come from the Kafka
 * message itself. The matching runs for every key of every record, so it
 * is inline here rather than a call away. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/input/record.h"

#define FIELD_OTHER (-1)

extern const char *const record_field_names[_RECORD_FIELD_MAX];

/* What record_path_set() makes of "sensor_id", "value" and "timestamp". */
extern const RecordShape record_default_shape;

/* The fields the JSON holds (not @key, @timestamp). */
static inline unsigned json_fields(const RecordShape *shape) {
        unsigned mask = 0;
        for (int f = 0; f < _RECORD_FIELD_MAX; f++)
                if (shape->field[f].n_segments)
                        mask |= 1u << f;
        return mask;
}

/* A key of the object at depth (1: the top level), among the fields whose
 * paths go on there (live): the field whose path ends at it (or
 * FIELD_OTHER), and in *inner the fields whose paths go on inside it. */
static inline int match_key(const RecordShape *shape, unsigned live, unsigned depth, const char *key, size_t len,
                     unsigned *inner) {
        int leaf = FIELD_OTHER;
        *inner = 0;
        for (unsigned m = live; m; m &= m - 1) {
                int f = __builtin_ctz(m);
                const RecordPath *p = &shape->field[f];
                const char *name = p->names + p->offset[depth - 1];
                /* (live holds only fields whose paths reach this depth) */
                if (p->len[depth - 1] != len)
                        continue;
                size_t i = 0; /* names are short: a loop beats a call to memcmp */
                while (i < len && name[i] == key[i])
                        i++;
                if (i != len)
                        continue;
                if (depth == p->n_segments)
                        leaf = f;
                else
                        *inner |= 1u << f;
        }
        return leaf;
}

static inline bool timestamp_is_string(const RecordShape *shape) {
        return shape->timestamp_format == TIMESTAMP_RFC3339;
}

/* An epoch number of the shape's timestamp_format, in milliseconds. */
int record_epoch_ms(const RecordShape *shape, const char *text, size_t len, int64_t *ms);

/* Clinger's fast path: a JSON number (yajl checked its grammar) with at most
 * 15 significant digits and a decimal exponent within 22 is an exact
 * integer and an exact power of ten, so one IEEE multiplication or division
 * rounds it correctly, as strtod would. Returns false for the rest. */
bool record_number_fast(const char *text, size_t len, double *out);

/* The fields that come from the message itself (@key, @timestamp), after
 * the JSON's; both paths take them here. reason may be NULL. */
RecordError record_take_from_message(const RecordShape *shape, const RecordMessage *m, Record *out, char *reason);
