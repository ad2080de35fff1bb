/* freeze_guard: notices that the event loop did not run for longer than half
 * of session.timeout.ms (a stopped process, a starved host), and then holds
 * reading and emitting until librdkafka can tell whether the group gave this
 * member's partitions to another meanwhile. The consumer owns one. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct FreezeGuard {
        sd_event_source *alive, *hold_end;
        uint64_t last_alive_us, frozen_usec, hold_usec;
        bool holding;
        void (*hold_ended)(void *userdata); /* after a hold: look at the assignment, read on */
        void *userdata;
} FreezeGuard;

/* Starts noting, every second, that the loop runs. A gap longer than half
 * of session_ms (at least 2.5 s) starts a hold of heartbeat_ms + 1.5 s, at
 * whose end hold_ended is called. */
int freeze_guard_init(FreezeGuard *g, sd_event *event, uint64_t session_ms, uint64_t heartbeat_ms,
                      void (*hold_ended)(void *userdata), void *userdata);
void freeze_guard_free(FreezeGuard *g);

/* Notes that the loop runs at now (CLOCK_MONOTONIC); a gap longer than the
 * limit since it last did starts a hold. */
void freeze_guard_note_alive(FreezeGuard *g, uint64_t now);

/* Notes that the loop runs at now; false while a hold lasts. */
bool freeze_guard_awake(FreezeGuard *g, uint64_t now);
