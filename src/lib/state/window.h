/* window: the event-time window state. Owns the tables of (window, sensor)
 * aggregates, one per Kafka partition, the watermark, late-pair dropping,
 * eviction of final windows, the record of what each batch changed, and the
 * merging of the partitions' aggregates into one row per (window, sensor). Pure data structure: no I/O, no
 * Kafka; rows leave through a callback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum OutputMode {
        OUTPUT_UPDATE,   /* rows changed in the batch */
        OUTPUT_APPEND,   /* rows of windows that became final */
        OUTPUT_COMPLETE, /* every row in state; nothing evicted */
} OutputMode;

/* Whose event time judges lateness and finality (window.watermark_scope). */
typedef enum WatermarkScope {
        WATERMARK_PROCESS,   /* one watermark, advanced at batch ends (Spark) */
        WATERMARK_PARTITION, /* each partition's own, advanced per record (Kafka Streams' stream time) */
} WatermarkScope;

typedef struct WindowSpec {
        int64_t size_ms;            /* W > 0 */
        int64_t slide_ms;           /* 0 < S <= W */
        int64_t offset_ms;          /* 0 <= offset < S */
        int64_t watermark_delay_ms; /* D >= 0 */
} WindowSpec;

typedef struct WindowRow {
        int64_t start_ms, end_ms;
        const char *sensor_id; /* not NUL-terminated; valid during the callback */
        size_t sensor_id_len;
        uint64_t count;
        double sum, min, max, avg;
} WindowRow;

typedef struct WindowStats {
        uint64_t records;       /* valid records added */
        uint64_t late_pairs;    /* (record, window) pairs dropped as late */
        uint64_t dropped_pairs; /* pairs dropped because max_keys was reached */
        uint64_t live_keys;     /* (window, sensor) entries in state */
        uint64_t live_windows;
        uint64_t evicted_windows;
        bool has_watermark;
        int64_t watermark_ms; /* WM of the open batch; in partition scope the lowest partition's */
        bool has_event_time;
        int64_t max_event_time_ms;
} WindowStats;

/* What every partition shares: the window specification, the watermark
 * (in process scope, as in Spark), the budget of live keys and the counters. */
typedef struct Windows Windows;

/* One Kafka partition's table of (window, sensor) aggregates. */
typedef struct WindowState WindowState;

/* Called for each output row, in (window start, sensor_id) order; a negative
 * return is remembered and returned by windows_finish_batch(). */
typedef int (*WindowRowFn)(const WindowRow *row, void *userdata);

/* Checks a window specification; returns NULL or a static reason. */
const char *window_spec_check(const WindowSpec *spec);

/* Number of windows a record belongs to (ceil(W / S), or one less for some
 * offsets when S does not divide W). */
uint64_t window_spec_windows_per_record(const WindowSpec *spec);

/* Start of the latest window that contains t: offset + floor((t - offset) / S) * S. */
int64_t window_last_start(const WindowSpec *spec, int64_t t_ms);

int windows_new(Windows **out, const WindowSpec *spec, uint64_t max_keys);

/* Frees the shared part; free the partitions' states first. */
Windows *windows_free(Windows *w);

/* Takes effect for keys created from now on; existing keys are kept. */
void windows_set_max_keys(Windows *w, uint64_t max_keys);

/* The output mode that windows_finish_batch() will be called with, before
 * the first record: only update mode tracks which entries each batch
 * changed (the default), which append and complete modes do not need. */
void windows_set_mode(Windows *w, OutputMode mode);

/* The watermark's scope, before the first record (default: process). In
 * partition scope each partition judges lateness by its own watermark,
 * WM_p(r) = (max event time of p's records before r) - D, and a window is
 * final, emitted in append mode and freed once every partition holding it
 * has passed it. */
void windows_set_scope(Windows *w, WatermarkScope scope);
WatermarkScope windows_scope(const Windows *w);

/* Raises the process's maximum event time as if a record at t had arrived
 * (idle input advancing the watermark); never lowers it. */
void windows_observe_event_time(Windows *w, int64_t t_ms);

/* True when the event time moved since the last batch end (idle input), so
 * that an otherwise empty batch has something to do: it moves the candidate
 * for the watermark, which the batch end after it makes the watermark. */
bool windows_watermark_would_advance(const Windows *w);

/* Process scope: the last batch end made a watermark due that is ahead of
 * the current one, so that an empty batch would move it and free (in
 * append mode: emit) the windows it passed. */
bool windows_watermark_due(const Windows *w);

/* Ends the open batch over the given partitions' states: adds each
 * aggregate's batch sum to its sum (Spark's order), emits the rows the mode
 * asks for through fn, each (window, sensor) once with the aggregates of
 * every partition merged, moves the watermark and frees every final window
 * (except in complete mode). In process scope the watermark trails by one
 * batch, as Spark's does: the end of batch N makes the watermark
 * max(WM, maxEventTime(batches 0..N-1) - D). Returns 0 or the first
 * negative value fn returned. */
int windows_finish_batch(Windows *w, WindowState *const *states, size_t n, OutputMode mode, WindowRowFn fn,
                         void *userdata);

const WindowStats *windows_stats(const Windows *w);

/* A partition's empty table. Freeing it removes its keys from the counts. */
WindowState *window_state_new(Windows *all);
WindowState *window_state_free(WindowState *s);

/* Bytes the table holds in memory: windows, entries, hash slots, sensor
 * ids and bookkeeping (what sensord_state_bytes reports). */
uint64_t window_state_bytes(const WindowState *s);

/* The late pairs of one record: the watermark that judged them and the
 * starts of the windows missed, newest first. The caller frees starts. */
typedef struct WindowLate {
        int64_t watermark_ms;
        int64_t *starts;
        size_t n, cap;
} WindowLate;

/* Adds one valid record of the partition to the open batch: every window
 * containing t that is not late gets the value; late pairs, and new pairs
 * beyond max_keys, are dropped and counted. Returns the number of late
 * pairs, described in *late when it is not NULL. */
size_t window_state_add(WindowState *s, const char *sensor_id, size_t len, double value, int64_t t_ms,
                        WindowLate *late);

/* Partition scope: raises the partition's maximum event time as if a
 * record at t had arrived (idle input); never lowers it. */
void window_state_observe_event_time(WindowState *s, int64_t t_ms);

/* --- checkpoints: what changed, and loading it back --- */

/* One (window, sensor) aggregate of a partition. */
typedef struct WindowEntry {
        int64_t start_ms;
        const char *sensor_id; /* not NUL-terminated */
        size_t sensor_id_len;
        uint64_t count;
        double sum, min, max;
} WindowEntry;

/* The event-time clock a checkpoint records and a restart restores: the
 * process's in process scope, the partition's in partition scope. */
typedef struct WindowClock {
        bool has_watermark;
        int64_t watermark_ms;
        bool has_event_time;
        int64_t max_event_time_ms;
} WindowClock;

typedef void (*WindowEntryFn)(const WindowEntry *entry, void *userdata);
typedef void (*WindowEvictedFn)(int64_t start_ms, void *userdata);

/* Hands over the windows evicted and the entries changed since the last
 * call (a checkpoint's delta), with their whole aggregates, and forgets
 * them. */
void window_state_take_changes(WindowState *s, WindowEntryFn changed, WindowEvictedFn evicted, void *userdata);

/* Every entry of the partition, sensor by sensor (a snapshot). */
void window_state_each_entry(const WindowState *s, WindowEntryFn fn, void *userdata);

/* Loading a checkpoint: sets an entry's aggregate, creating it (beyond
 * max_keys too: restored state is never dropped), or drops a window that
 * was evicted. Neither counts as a change. */
void window_state_restore_entry(WindowState *s, const WindowEntry *entry);
void window_state_restore_evicted(WindowState *s, int64_t start_ms);

/* Empties the partition's state (a checkpoint that failed to load). */
void window_state_discard(WindowState *s);

/* The entries, the sensors and the bytes of their ids in the partition's
 * state (what a snapshot holds). */
void window_state_size(const WindowState *s, uint64_t *entries, uint64_t *sensors, uint64_t *key_bytes);

/* The process's clock, and restoring one: neither the maximum event time
 * nor the watermark ever goes back. */
WindowClock windows_clock(const Windows *w);
void windows_restore_clock(Windows *w, const WindowClock *clock);

/* Partition scope: the partition's clock (its watermark is its maximum
 * event time - D), and restoring one; the event time never goes back. */
WindowClock window_state_clock(const WindowState *s);
void window_state_restore_clock(WindowState *s, const WindowClock *clock);
