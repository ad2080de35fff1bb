/* output: the emitter behind the pipeline's two-phase batch close. */
#include "output.h"

#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"

struct Output {
        Emitter *emitter;
        uint64_t rows_before; /* rows of emitters replaced by a reload */
};

Output *output_new(SinkKind sink, OutputFormat format) {
        Output *o = xcalloc(1, sizeof(*o));
        o->emitter = emitter_new(sink, format, stdout);
        return o;
}

Output *output_free(Output *o) {
        if (o) {
                emitter_free(o->emitter);
                free(o);
        }
        return NULL;
}

void output_reconfigure(Output *o, SinkKind sink, OutputFormat format) {
        o->rows_before += emitter_rows(o->emitter);
        emitter_free(o->emitter);
        o->emitter = emitter_new(sink, format, stdout);
}

static void begin(void *userdata, uint64_t batch) {
        emitter_begin_batch(((Output *)userdata)->emitter, batch);
}

static int row(const WindowRow *r, void *userdata) {
        return emitter_row(r, ((Output *)userdata)->emitter);
}

/* Written and flushed is confirmed: nothing further acknowledges stdout or
 * the journal. */
static int end(void *userdata, uint64_t batch) {
        return emitter_end_batch(((Output *)userdata)->emitter);
}

PipelineOutput output_for_pipeline(Output *o) {
        return (PipelineOutput){ .userdata = o, .begin_batch = begin, .row = row, .end_batch = end };
}

uint64_t output_rows(const Output *o) {
        return o->rows_before + emitter_rows(o->emitter);
}

SinkKind output_sink(const Output *o) {
        return emitter_sink(o->emitter);
}
