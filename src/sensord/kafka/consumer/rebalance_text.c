/* rebalance_text: the partition list, and the count after an increment. */
#include "sensord/kafka/consumer/rebalance_text.h"

#include <inttypes.h>
#include <stdio.h>

void rebalance_list_text(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t size) {
        size_t n = 0;
        buf[0] = '\0';
        for (int i = 0; i < parts->cnt && n < size; i++)
                n += (size_t)snprintf(buf + n, size - n, "%s%" PRId32, i ? ", " : "", parts->elems[i].partition);
}

void rebalance_text(rd_kafka_t *rk, rd_kafka_resp_err_t err, const rd_kafka_topic_partition_list_t *parts,
                    bool cooperative, char *list, size_t list_size, char *holds, size_t holds_size) {
        rebalance_list_text(parts, list, list_size);
        holds[0] = '\0';
        rd_kafka_topic_partition_list_t *now = NULL;
        if (cooperative && rd_kafka_assignment(rk, &now) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(holds, holds_size, "; holds %d now",
                         now->cnt + (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? parts->cnt : -parts->cnt));
                rd_kafka_topic_partition_list_destroy(now);
        }
}
