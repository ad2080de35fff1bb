/* emitter: turns a batch's rows into the configured sink: JSON lines or a
 * table on stdout, or one structured journal entry per row. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "lib/state/window.h"

/* SINK_NONE: no rows here (they go to output.kafka_topic only). */
typedef enum SinkKind { SINK_AUTO, SINK_STDOUT, SINK_JOURNAL, SINK_NONE } SinkKind;
typedef enum OutputFormat { FORMAT_JSON, FORMAT_TABLE } OutputFormat;

/* The MESSAGE_ID of every result row in the journal (see sensord.catalog). */
#define SENSORD_RESULT_MESSAGE_ID "3f5d0e2a8c6b4e1f9a7d2c4b6e8f0a13"

typedef struct Emitter Emitter;

/* Resolves SINK_AUTO: the journal when started by systemd (INVOCATION_ID set
 * or stdout connected to the journal), stdout otherwise. */
SinkKind sink_resolve(SinkKind sink);

/* stream is where the stdout sink writes (normally stdout). */
Emitter *emitter_new(SinkKind sink, OutputFormat format, FILE *stream);
Emitter *emitter_free(Emitter *e);

void emitter_begin_batch(Emitter *e, uint64_t batch);

/* A WindowRowFn: userdata is the Emitter. */
int emitter_row(const WindowRow *row, void *userdata);

/* Writes out what the batch buffered (the table) and flushes. Returns 0, or
 * a negative errno if the sink failed for any row of the batch. */
int emitter_end_batch(Emitter *e);

/* Rows written since creation. */
uint64_t emitter_rows(const Emitter *e);

SinkKind emitter_sink(const Emitter *e);
