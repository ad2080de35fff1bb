/* triggers: what acts on the pipeline without a message arriving. The batch
 * deadline (batch.max_delay from a batch's first message), idle input
 * (window.idle_timeout: event time moves on with the wall clock), and the
 * checkpoint interval (state.checkpoint_interval, at a batch boundary), as
 * sd-event timers. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "lib/config/config.h"
#include "sensord/checkpoint/checkpoints.h"
#include "sensord/pipeline.h"

typedef struct TriggersEvents {
        void *userdata;
        /* false while the consumer makes sure, after a freeze, that its
         * partitions are still its own: nothing is closed meanwhile */
        bool (*awake)(void *userdata);
        /* the result of a batch close or a checkpoint the triggers made */
        void (*closed)(void *userdata, int r);
} TriggersEvents;

typedef struct Triggers Triggers;

int triggers_new(Triggers **out, sd_event *event, const Config *config, Pipeline *pipeline,
                 Checkpoints *checkpoints, const TriggersEvents *events);
Triggers *triggers_free(Triggers *t);

/* After the consumer drained what was queued: the open batch's deadline,
 * and the idle timer counted from the last message. */
void triggers_after_drain(Triggers *t);

/* A reloaded configuration's intervals; an idle_timeout of 0 stops the idle timer. */
void triggers_set_config(Triggers *t, const Config *config);
