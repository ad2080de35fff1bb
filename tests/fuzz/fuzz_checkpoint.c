/* libFuzzer target: the checkpoint reader, fed corrupted checkpoint files:
 * a header, then records until the first bad one, each loaded into a window
 * state as recovery does. It must never crash, and a record it accepts
 * in the format this build writes must encode back to exactly its bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/state/checkpoint_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITEMS 4096

typedef struct Load {
        WindowState *state;
        int64_t evicted[MAX_ITEMS];
        size_t n_evicted;
        WindowEntry entries[MAX_ITEMS];
        size_t n_entries;
} Load;

static void on_evicted(int64_t start, void *userdata) {
        Load *l = userdata;
        window_state_restore_evicted(l->state, start);
        if (l->n_evicted < MAX_ITEMS)
                l->evicted[l->n_evicted++] = start;
}

static void on_entry(const WindowEntry *e, void *userdata) {
        Load *l = userdata;
        window_state_restore_entry(l->state, e);
        if (l->n_entries < MAX_ITEMS)
                l->entries[l->n_entries++] = *e; /* sensor_id points into the input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static Load l;
        CheckpointHeader h;
        size_t pos = 0, used;
        uint32_t version = CHECKPOINT_FORMAT_VERSION;
        if (checkpoint_decode_header(data, size, &h, &pos) == 0)
                version = h.version;
        else
                pos = 0; /* records alone */
        WindowSpec spec = { .size_ms = 600000, .slide_ms = 300000 };
        Windows *all = NULL;
        windows_new(&all, &spec, 1000);
        l.state = window_state_new(all);
        CheckpointVisitor v = { &l, on_evicted, on_entry };
        CheckpointBuf again = { 0 };
        for (;;) {
                CheckpointKind kind;
                CheckpointMark mark;
                l.n_evicted = l.n_entries = 0;
                if (checkpoint_decode_record(data + pos, size - pos, version, &v, &kind, &mark, &used) != 0)
                        break;
                /* what this build writes must encode back to the same bytes */
                if (version == CHECKPOINT_FORMAT_VERSION && l.n_evicted < MAX_ITEMS && l.n_entries < MAX_ITEMS) {
                        again.len = 0;
                        checkpoint_record_begin(&again, kind, &mark);
                        for (size_t i = 0; i < l.n_evicted; i++)
                                checkpoint_record_evicted(&again, l.evicted[i]);
                        for (size_t i = 0; i < l.n_entries; i++)
                                checkpoint_record_entry(&again, &l.entries[i]);
                        checkpoint_record_end(&again);
                        if (again.len != used || memcmp(again.data, data + pos, used) != 0)
                                abort();
                }
                pos += used;
        }
        checkpoint_buf_free(&again);
        window_state_free(l.state);
        if (windows_stats(all)->live_keys != 0)
                abort();
        windows_free(all);
        return 0;
}
