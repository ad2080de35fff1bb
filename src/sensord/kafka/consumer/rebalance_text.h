/* rebalance_text: a rebalance's partitions as the log says them. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

/* "0, 1, 3". */
void rebalance_list_text(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t size);

/* list: as rebalance_list_text(). holds: "" under the eager protocol, where every
 * assignment is the whole; under the cooperative one, "; holds N now",
 * what the member holds once parts are assigned (err
 * __ASSIGN_PARTITIONS) or revoked. */
void rebalance_text(rd_kafka_t *rk, rd_kafka_resp_err_t err, const rd_kafka_topic_partition_list_t *parts,
                    bool cooperative, char *list, size_t list_size, char *holds, size_t holds_size);
