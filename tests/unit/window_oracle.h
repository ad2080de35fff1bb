/* window_oracle: the window state's layout before one probe per record
 * (one hash table per window), kept as a test oracle: the same API under
 * oracle_ names, sharing window.h's value types. Not built into sensord. */
#pragma once

#include "lib/state/window.h"

/* see window.h for what each does */
typedef struct OracleWindows OracleWindows;
typedef struct OracleWindowState OracleWindowState;
int oracle_windows_new(OracleWindows **out, const WindowSpec *spec, uint64_t max_keys);
OracleWindows *oracle_windows_free(OracleWindows *w);
void oracle_windows_set_max_keys(OracleWindows *w, uint64_t max_keys);
void oracle_windows_set_mode(OracleWindows *w, OutputMode mode);
void oracle_windows_set_scope(OracleWindows *w, WatermarkScope scope);
WatermarkScope oracle_windows_scope(const OracleWindows *w);
void oracle_windows_observe_event_time(OracleWindows *w, int64_t t_ms);
bool oracle_windows_watermark_would_advance(const OracleWindows *w);
int oracle_windows_finish_batch(OracleWindows *w, OracleWindowState *const *states, size_t n, OutputMode mode, WindowRowFn fn,
                         void *userdata);
const WindowStats *oracle_windows_stats(const OracleWindows *w);
OracleWindowState *oracle_window_state_new(OracleWindows *all);
OracleWindowState *oracle_window_state_free(OracleWindowState *s);
uint64_t oracle_window_state_bytes(const OracleWindowState *s);
size_t oracle_window_state_add(OracleWindowState *s, const char *sensor_id, size_t len, double value, int64_t t_ms,
                        WindowLate *late);
void oracle_window_state_observe_event_time(OracleWindowState *s, int64_t t_ms);
void oracle_window_state_take_changes(OracleWindowState *s, WindowEntryFn changed, WindowEvictedFn evicted, void *userdata);
void oracle_window_state_each_entry(const OracleWindowState *s, WindowEntryFn fn, void *userdata);
void oracle_window_state_restore_entry(OracleWindowState *s, const WindowEntry *entry);
void oracle_window_state_restore_evicted(OracleWindowState *s, int64_t start_ms);
void oracle_window_state_discard(OracleWindowState *s);
void oracle_window_state_size(const OracleWindowState *s, uint64_t *entries, uint64_t *key_bytes);
WindowClock oracle_windows_clock(const OracleWindows *w);
void oracle_windows_restore_clock(OracleWindows *w, const WindowClock *clock);
WindowClock oracle_window_state_clock(const OracleWindowState *s);
void oracle_window_state_restore_clock(OracleWindowState *s, const WindowClock *clock);
