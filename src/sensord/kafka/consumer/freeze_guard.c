/* freeze_guard: the loop's own heartbeat, and the hold after a freeze. */
#include "sensord/kafka/consumer/freeze_guard.h"

#include <inttypes.h>

#include "lib/base/log.h"
#include "lib/base/util.h"

/* How often the loop notes that it runs; a longer gap is a freeze. */
#define ALIVE_USEC (1000 * 1000)

void freeze_guard_note_alive(FreezeGuard *g, uint64_t now) {
        if (!g->holding && g->last_alive_us > 0 && now - g->last_alive_us > g->frozen_usec) {
                log_warning("the event loop did not run for %" PRIu64 " ms (stopped or starved), more than half of "
                            "session.timeout.ms: reading and emitting nothing for %" PRIu64 " ms, until librdkafka "
                            "tells whether the group gave this member's partitions to another",
                            (now - g->last_alive_us) / 1000, g->hold_usec / 1000);
                g->holding = true;
                sd_event_source_set_time(g->hold_end, now + g->hold_usec);
                sd_event_source_set_enabled(g->hold_end, SD_EVENT_ONESHOT);
        }
        g->last_alive_us = now;
}

bool freeze_guard_awake(FreezeGuard *g, uint64_t now) {
        freeze_guard_note_alive(g, now);
        return !g->holding;
}

static int on_alive(sd_event_source *s, uint64_t usec, void *userdata) {
        FreezeGuard *g = userdata;
        freeze_guard_note_alive(g, now_usec(CLOCK_MONOTONIC));
        sd_event_source_set_time(s, now_usec(CLOCK_MONOTONIC) + ALIVE_USEC);
        return 0;
}

static int on_hold_end(sd_event_source *s, uint64_t usec, void *userdata) {
        FreezeGuard *g = userdata;
        g->holding = false;
        g->hold_ended(g->userdata);
        return 0;
}

int freeze_guard_init(FreezeGuard *g, sd_event *event, uint64_t session_ms, uint64_t heartbeat_ms,
                      void (*hold_ended)(void *userdata), void *userdata) {
        int r;
        *g = (FreezeGuard){ .hold_ended = hold_ended, .userdata = userdata };
        g->frozen_usec = session_ms * 1000 / 2 > 2 * ALIVE_USEC + 500000 ? session_ms * 1000 / 2 : 2 * ALIVE_USEC + 500000;
        g->hold_usec = heartbeat_ms * 1000 + 1500000;
        if ((r = sd_event_add_time_relative(event, &g->alive, CLOCK_MONOTONIC, ALIVE_USEC, 100000, on_alive, g)) < 0 ||
            (r = sd_event_source_set_enabled(g->alive, SD_EVENT_ON)) < 0 ||
            (r = sd_event_add_time(event, &g->hold_end, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_hold_end, g)) < 0 ||
            (r = sd_event_source_set_enabled(g->hold_end, SD_EVENT_OFF)) < 0)
                return r;
        return 0;
}

void freeze_guard_free(FreezeGuard *g) {
        g->alive = sd_event_source_disable_unref(g->alive);
        g->hold_end = sd_event_source_disable_unref(g->hold_end);
}
