/* output: where the pipeline's rows go, and when they count as confirmed.
 * Today that is the emitter (stdout or the journal), which confirms a batch
 * as soon as its rows are written and flushed. */
#pragma once

#include <stdint.h>

#include "emitter.h"
#include "pipeline.h"

typedef struct Output Output;

Output *output_new(SinkKind sink, OutputFormat format);
Output *output_free(Output *o);

/* Applies a reloaded sink and format from the next batch on. */
void output_reconfigure(Output *o, SinkKind sink, OutputFormat format);

/* The pipeline's view of this output. */
PipelineOutput output_for_pipeline(Output *o);

/* Rows written since start. */
uint64_t output_rows(const Output *o);

SinkKind output_sink(const Output *o);
