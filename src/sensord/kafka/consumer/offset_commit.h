/* offset_commit: one partition's offset committed with its metadata (the
 * changelog pointer), waited for at most a bound. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* Commits offset and metadata for topic/partition in rk's group, waiting
 * at most wait_ms for the coordinator's answer (wait_ms < 0: not at all).
 * A failure is logged: the next owner restores the checkpoint committed
 * before. */
void offset_commit(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t offset, const char *metadata,
                   int wait_ms);
