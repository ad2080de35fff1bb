/* row_json: a result row as semantics.md's JSON object, with no I/O: the
 * stdout sink's line and the Kafka sink's message value. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/input/record.h"
#include "lib/state/window.h"
#include "lib/text/timestamp.h"

/* Room for the longest row: a sensor id of SENSOR_ID_MAX bytes that are all
 * escaped as \u00XX, and everything else. */
#define ROW_JSON_MAX (6 * SENSOR_ID_MAX + 512)

/* Writes the len bytes of s as a JSON string, quotes included, escaped as
 * yajl_gen escapes it, at p (room for 6 * len + 2 bytes). Returns the end. */
char *row_json_string(char *p, const char *s, size_t len);

/* Writes row of batch into buf as one JSON object (no newline, no NUL), its
 * string escaped as yajl_gen escapes it, the window's bounds formatted
 * through times (NULL: each time). Returns the length, or -EINVAL for a
 * sensor id over SENSOR_ID_MAX bytes. */
int row_json(char buf[ROW_JSON_MAX], uint64_t batch, const WindowRow *row, TimestampCache *times);
