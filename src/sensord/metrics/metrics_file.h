/* metrics_file: metrics.textfile, for node_exporter's textfile collector:
 * the metrics written every metrics.interval, and once more at the stop,
 * atomically (a temporary file in the same directory, renamed over it), so
 * that a reader never sees half a file. A write that fails is logged (once
 * until one succeeds again) and does not stop sensord. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "sensord/metrics/metrics_http.h"

typedef struct MetricsFile MetricsFile;

int metrics_file_new(MetricsFile **out, sd_event *event, const char *path, int64_t interval_ms,
                     MetricsRenderFn render, void *userdata);
MetricsFile *metrics_file_free(MetricsFile *f);

/* A reloaded metrics.interval, from the next write on. */
void metrics_file_set_interval(MetricsFile *f, int64_t interval_ms);

/* Writes the file now; 0 or a negative errno (logged). */
int metrics_file_write(MetricsFile *f);
