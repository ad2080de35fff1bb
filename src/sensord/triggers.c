/* triggers: the batch deadline, idle input and the checkpoint interval. */
#include "sensord/triggers.h"

#include <stdint.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"

struct Triggers {
        sd_event_source *deadline, *idle, *checkpoint;
        Pipeline *pipeline;
        Checkpoints *checkpoints;
        TriggersEvents events;
        int64_t idle_timeout_ms, checkpoint_interval_ms;
        WatermarkScope scope;
        uint64_t idle_armed_for; /* the last message time the idle timer counts from */
};

static void arm_timer(sd_event_source *s, uint64_t usec) {
        sd_event_source_set_time(s, usec);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static bool awake(Triggers *t) {
        return t->events.awake(t->events.userdata);
}

static void closed(Triggers *t, int r) {
        t->events.closed(t->events.userdata, r);
}

void triggers_after_drain(Triggers *t) {
        uint64_t deadline = pipeline_deadline(t->pipeline);
        if (deadline == UINT64_MAX)
                sd_event_source_set_enabled(t->deadline, SD_EVENT_OFF);
        else
                arm_timer(t->deadline, deadline);
        uint64_t last = pipeline_stats(t->pipeline)->last_message_us;
        if (t->idle_timeout_ms > 0 && t->scope == WATERMARK_PARTITION) {
                /* each partition's quiet is its own: look every second,
                 * whatever the others do */
                int enabled = SD_EVENT_OFF;
                sd_event_source_get_enabled(t->idle, &enabled);
                if (enabled == SD_EVENT_OFF)
                        arm_timer(t->idle, now_usec(CLOCK_MONOTONIC) + 1000000);
        } else if (t->idle_timeout_ms > 0 && last != t->idle_armed_for) {
                t->idle_armed_for = last;
                arm_timer(t->idle, last + (uint64_t)t->idle_timeout_ms * 1000);
        }
}

/* Not while the consumer is not awake: it drains again afterwards, and
 * triggers_after_drain() arms the deadline anew. */
static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Triggers *t = userdata;
        if (awake(t))
                closed(t, pipeline_close_batch(t->pipeline));
        return 0;
}

/* state.checkpoint_interval: at the next batch boundary. */
static int on_checkpoint(sd_event_source *s, uint64_t usec, void *userdata) {
        Triggers *t = userdata;
        if (awake(t))
                closed(t, checkpoints_snapshot_due(t->checkpoints) ? pipeline_checkpoint_now(t->pipeline)
                                                                   : pipeline_checkpoint(t->pipeline));
        arm_timer(s, usec + (uint64_t)t->checkpoint_interval_ms * 1000);
        return 0;
}

/* Idle input: event time moves on with the wall clock; look again a second
 * later while still idle. */
static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Triggers *t = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        if (awake(t))
                closed(t, pipeline_advance_idle(t->pipeline, now, (uint64_t)t->idle_timeout_ms * 1000));
        arm_timer(t->idle, now + 1000000);
        return 0;
}

void triggers_set_config(Triggers *t, const Config *config) {
        t->idle_timeout_ms = config->idle_timeout_ms;
        t->checkpoint_interval_ms = config->checkpoint_interval_ms;
        t->scope = config->watermark_scope;
        if (t->idle_timeout_ms == 0)
                sd_event_source_set_enabled(t->idle, SD_EVENT_OFF);
}

int triggers_new(Triggers **out, sd_event *event, const Config *config, Pipeline *pipeline,
                 Checkpoints *checkpoints, const TriggersEvents *events) {
        Triggers *t = xcalloc(1, sizeof(*t));
        int r;
        *t = (Triggers){ .pipeline = pipeline, .checkpoints = checkpoints, .events = *events };
        if ((r = sd_event_add_time(event, &t->deadline, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_deadline, t)) < 0 ||
            (r = sd_event_add_time(event, &t->idle, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_idle, t)) < 0 ||
            (r = sd_event_add_time_relative(event, &t->checkpoint, CLOCK_MONOTONIC,
                                            (uint64_t)config->checkpoint_interval_ms * 1000, 10000, on_checkpoint,
                                            t)) < 0) {
                triggers_free(t);
                return r;
        }
        sd_event_source_set_enabled(t->deadline, SD_EVENT_OFF);
        sd_event_source_set_enabled(t->idle, SD_EVENT_OFF);
        triggers_set_config(t, config);
        *out = t;
        return 0;
}

Triggers *triggers_free(Triggers *t) {
        if (t) {
                sd_event_source_unref(t->deadline);
                sd_event_source_unref(t->idle);
                sd_event_source_unref(t->checkpoint);
                free(t);
        }
        return NULL;
}
