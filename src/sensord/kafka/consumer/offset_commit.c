/* offset_commit: rd_kafka_commit_queue() and a bounded wait for its answer. */
#include "sensord/kafka/consumer/offset_commit.h"

#include <inttypes.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"

void offset_commit(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t offset, const char *metadata,
                   int wait_ms) {
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_add(list, topic, partition);
        p->offset = offset;
        p->metadata = xstrdup(metadata); /* freed with the list */
        p->metadata_size = strlen(metadata);
        rd_kafka_resp_err_t err;
        if (wait_ms < 0) {
                err = rd_kafka_commit(rk, list, 1);
        } else {
                /* rd_kafka_commit(sync) waits as long as the coordinator
                 * takes: the answer comes to a queue of its own instead */
                rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
                err = rd_kafka_commit_queue(rk, list, queue, NULL, NULL);
                rd_kafka_event_t *ev = err ? NULL : rd_kafka_queue_poll(queue, wait_ms);
                if (!err)
                        err = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
                if (ev)
                        rd_kafka_event_destroy(ev);
                rd_kafka_queue_destroy(queue);
        }
        if (err)
                log_warning("committing offset %" PRId64 " of %s/%" PRId32 " failed: %s; the next owner restores the "
                            "checkpoint committed before",
                            offset, topic, partition, rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(list);
}
