/* latency: a histogram of latencies in one unit (produce-to-emit in
 * milliseconds, sensord's own share in microseconds), with percentiles.
 * Fixed size (16 KiB), no allocation, no I/O. Values below 128 units are
 * exact; above, buckets are 1/32 of a power of two wide (3%), and a
 * percentile reports its bucket's upper bound. */
#pragma once

#include <stdint.h>

#define LATENCY_BUCKETS (128 + 32 * 57)

typedef struct Latency {
        uint64_t count;
        uint64_t max;
        uint64_t sum; /* for a mean, and Prometheus' _sum */
        uint64_t buckets[LATENCY_BUCKETS];
} Latency;

/* Counts one latency; a negative one (clocks apart) counts as 0. */
void latency_add(Latency *l, int64_t value);
/* Counts n equal latencies. */
void latency_add_n(Latency *l, int64_t value, uint64_t n);

/* The latency that fraction q (0 < q <= 1) of the counted ones do not
 * exceed; 0 when none was counted. */
uint64_t latency_percentile(const Latency *l, double q);

/* How many counted latencies are at most value, to the histogram's precision:
 * a bucket counts when its largest latency is at most value. */
uint64_t latency_count_at_most(const Latency *l, uint64_t value);
