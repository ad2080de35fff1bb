/* refetch: a seek to the position reached, after a full queue is drained. */
#include "sensord/kafka/consumer/refetch.h"

#include <inttypes.h>

#include "lib/base/log.h"
#include "sensord/kafka/kafka_conf.h"

void refetch_init(Refetch *r, const rd_kafka_conf_t *conf) {
        *r = (Refetch){ .min_messages = kafka_conf_u64(conf, "queued.min.messages", 100000),
                        .max_bytes = kafka_conf_u64(conf, "queued.max.messages.kbytes", 65536) * 1024 };
}

static void seek_to_positions(Refetch *r, rd_kafka_t *rk) {
        rd_kafka_topic_partition_list_t *assigned = NULL;
        if (rd_kafka_assignment(rk, &assigned) || !assigned)
                return;
        rd_kafka_position(rk, assigned); /* local: what was handed over */
        rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new(assigned->cnt);
        for (int i = 0; i < assigned->cnt; i++)
                if (assigned->elems[i].offset >= 0) /* nothing consumed yet: nothing to wake */
                        rd_kafka_topic_partition_list_add(seek, assigned->elems[i].topic, assigned->elems[i].partition)
                                ->offset = assigned->elems[i].offset;
        if (seek->cnt > 0) {
                rd_kafka_error_t *error = rd_kafka_seek_partitions(rk, seek, 0); /* 0: asynchronous */
                if (error) {
                        log_debug("refetch: seek failed: %s", rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                } else {
                        r->seeks++;
                        log_debug("refetch: %d partition(s) sought to their positions after %" PRIu64
                                  " messages drained",
                                  seek->cnt, r->messages);
                }
        }
        rd_kafka_topic_partition_list_destroy(seek);
        rd_kafka_topic_partition_list_destroy(assigned);
}

void refetch_queue_empty(Refetch *r, rd_kafka_t *rk) {
        if (r->messages >= r->min_messages || r->bytes >= r->max_bytes)
                seek_to_positions(r, rk);
        r->messages = r->bytes = 0;
}
