/* row_json: a result row as semantics.md's JSON object, with no I/O: the
 * stdout sink's line and the Kafka sink's message value. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "window.h"

/* Formats row of batch with g (reset first). *text stays valid until g is
 * used again. Returns 0 or -EINVAL. */
int row_json(yajl_gen g, uint64_t batch, const WindowRow *row, const unsigned char **text, size_t *len);
