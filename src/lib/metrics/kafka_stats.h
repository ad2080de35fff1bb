/* kafka_stats: what sensord reads from librdkafka's statistics JSON
 * (statistics.interval.ms), parsed with yajl, no I/O: per partition of the
 * input topic, the consumer lag and the committed offset, as librdkafka
 * computes them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct KafkaPartitionStats {
        int32_t partition;
        int64_t consumer_lag;     /* -1: unknown */
        int64_t committed_offset; /* -1001 (librdkafka's INVALID): none */
} KafkaPartitionStats;

/* The partitions of topic that this consumer fetches (fetch_state
 * "active"), into *out (capacity *cap, grown as needed), in partition
 * order. Returns how many, or -EBADMSG when json is not librdkafka's
 * statistics. */
int kafka_stats_parse(const char *json, size_t len, const char *topic, KafkaPartitionStats **out, size_t *cap);
