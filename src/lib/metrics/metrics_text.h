/* metrics_text: the Prometheus text exposition format (version 0.0.4), into
 * a growing buffer, with no I/O. A family is its # HELP and # TYPE lines,
 * then its samples; label values are escaped as the format says. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct MetricsText {
        char *data;
        size_t len, cap;
} MetricsText;

void metrics_text_free(MetricsText *t);

/* Empties the text, keeping its buffer. */
void metrics_text_reset(MetricsText *t);

/* type: "counter", "gauge" or "histogram". */
void metrics_family(MetricsText *t, const char *name, const char *type, const char *help);

/* Labels, up to 2, as name/value pairs; a NULL name ends them. */
typedef struct MetricsLabels {
        const char *name[2];
        const char *value[2];
} MetricsLabels;

void metrics_sample(MetricsText *t, const char *name, const MetricsLabels *labels, double value);
void metrics_sample_u64(MetricsText *t, const char *name, const MetricsLabels *labels, uint64_t value);

/* A histogram's samples: cumulative counts of the n bounds (upper bounds,
 * increasing), then +Inf, _sum and _count. counts[i] is the count of
 * values in (bounds[i-1], bounds[i]]; counts[n] those above. */
void metrics_histogram(MetricsText *t, const char *name, const MetricsLabels *labels, const double *bounds,
                       const uint64_t *counts, size_t n, double sum);

/* A histogram kept for metrics: fixed bounds, counts and sum. */
#define METRICS_HISTOGRAM_MAX_BOUNDS 16

typedef struct MetricsHistogram {
        const double *bounds;
        size_t n;
        uint64_t counts[METRICS_HISTOGRAM_MAX_BOUNDS + 1];
        double sum;
} MetricsHistogram;

void metrics_histogram_init(MetricsHistogram *h, const double *bounds, size_t n);
void metrics_histogram_add(MetricsHistogram *h, double value);
