/* checkpoints: one CheckpointFiles per held partition, by partition id. */
#include "checkpoints.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "checkpoint_files.h"
#include "log.h"

struct Checkpoints {
        char *directory;
        CheckpointHeader header; /* partition filled in per use */
        CheckpointFiles **files; /* by partition id */
        size_t n_files;
};

Checkpoints *checkpoints_new(const Config *config) {
        Checkpoints *c = xcalloc(1, sizeof(*c));
        /* one directory per consumer group: two groups are two queries */
        if (asprintf(&c->directory, "%s/%s", config->state_directory, config->group_id) < 0)
                oom();
        c->header.version = CHECKPOINT_FORMAT_VERSION;
        snprintf(c->header.topic, sizeof(c->header.topic), "%s", config->topic);
        c->header.spec = config->window;
        return c;
}

Checkpoints *checkpoints_free(Checkpoints *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_files; i++)
                checkpoint_files_free(c->files[i]);
        free(c->files);
        free(c->directory);
        free(c);
        return NULL;
}

static CheckpointFiles **slot(Checkpoints *c, int32_t partition) {
        if ((size_t)partition >= c->n_files) {
                size_t n = (size_t)partition + 1;
                c->files = xrealloc(c->files, n * sizeof(*c->files));
                memset(c->files + c->n_files, 0, (n - c->n_files) * sizeof(*c->files));
                c->n_files = n;
        }
        return &c->files[partition];
}

static int load(void *userdata, int32_t partition, WindowState *state, CheckpointMark *mark) {
        Checkpoints *c = userdata;
        CheckpointFiles **f = slot(c, partition);
        CheckpointHeader header = c->header;
        header.partition = partition;
        *f = checkpoint_files_free(*f);
        int r = checkpoint_files_open(f, c->directory, &header, state, mark);
        if (r == 1)
                log_info("%s/%" PRId32 ": state restored from its checkpoint: batch %" PRIu64 ", offset %" PRId64,
                         c->header.topic, partition, mark->next_batch, mark->next_offset);
        return r;
}

static int save(void *userdata, int32_t partition, WindowState *state, const CheckpointMark *mark) {
        Checkpoints *c = userdata;
        CheckpointFiles *f = *slot(c, partition);
        int r = f ? checkpoint_files_save(f, state, mark) : -EBADF;
        if (r < 0)
                log_error("cannot write the checkpoint of %s/%" PRId32 " in %s: %s", c->header.topic, partition,
                          c->directory, strerror(-r));
        return r;
}

static void close_partition(void *userdata, int32_t partition) {
        CheckpointFiles **f = slot(userdata, partition);
        *f = checkpoint_files_free(*f);
}

PipelineCheckpoints checkpoints_for_pipeline(Checkpoints *c) {
        return (PipelineCheckpoints){ .userdata = c, .load = load, .save = save, .close = close_partition };
}
