/* latency: log-linear buckets, as HdrHistogram lays them out. */
#include "lib/metrics/latency.h"

static unsigned bucket_of(uint64_t ms) {
        if (ms < 128)
                return (unsigned)ms;
        unsigned log2 = 63u - (unsigned)__builtin_clzll(ms); /* >= 7 */
        unsigned sub = (unsigned)(ms >> (log2 - 5)) & 31u;   /* the 5 bits after the leading one */
        return 128u + 32u * (log2 - 7u) + sub;
}

/* The largest latency that falls in bucket b. */
static uint64_t bucket_upper(unsigned b) {
        if (b < 128)
                return b;
        unsigned log2 = 7u + (b - 128u) / 32u, sub = (b - 128u) % 32u;
        uint64_t width = 1ull << (log2 - 5);
        return ((32ull + sub) << (log2 - 5)) + (width - 1);
}

void latency_add_n(Latency *l, int64_t value, uint64_t n) {
        uint64_t v = value > 0 ? (uint64_t)value : 0;
        if (n == 0)
                return;
        l->buckets[bucket_of(v)] += n;
        l->count += n;
        l->sum += v * n;
        if (v > l->max)
                l->max = v;
}

void latency_add(Latency *l, int64_t value) {
        latency_add_n(l, value, 1);
}

uint64_t latency_percentile(const Latency *l, double q) {
        if (l->count == 0)
                return 0;
        uint64_t rank = (uint64_t)(q * (double)l->count + 0.999999999);
        if (rank < 1)
                rank = 1;
        uint64_t seen = 0;
        for (unsigned b = 0; b < LATENCY_BUCKETS; b++) {
                seen += l->buckets[b];
                if (seen >= rank) {
                        uint64_t upper = bucket_upper(b);
                        return upper < l->max ? upper : l->max;
                }
        }
        return l->max;
}

uint64_t latency_count_at_most(const Latency *l, uint64_t value) {
        uint64_t n = 0;
        for (unsigned b = 0; b < LATENCY_BUCKETS && bucket_upper(b) <= value; b++)
                n += l->buckets[b];
        return n;
}
