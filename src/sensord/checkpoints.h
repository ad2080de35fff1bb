/* checkpoints: the checkpoint files of the partitions this process holds,
 * behind the pipeline's checkpoint interface. */
#pragma once

#include "config.h"
#include "pipeline.h"

typedef struct Checkpoints Checkpoints;

Checkpoints *checkpoints_new(const Config *config);
Checkpoints *checkpoints_free(Checkpoints *c);

PipelineCheckpoints checkpoints_for_pipeline(Checkpoints *c);
