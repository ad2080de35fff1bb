/* producer_reset: replaces an idempotent producer that failed for good.
 * librdkafka raises a fatal error when an idempotent producer can no longer
 * keep its order (2.0.2 does so after NOT_ENOUGH_REPLICAS retries on a real
 * cluster, "sequence desynchronization"); the handle then refuses every
 * message. The changelog also replaces one that is stuck (see
 * changelog_check_stall()). What it still held comes back in delivery
 * reports with an error, which the owner keeps while rd_kafka_fatal_error()
 * is set (or while it replaces a stuck one), to produce again, in the same
 * order, on the new handle. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "sensord/kafka/queue_watch.h"

/* True once the handle failed for good. */
bool producer_failed(rd_kafka_t *rk);

/* Purges *rk and serves its delivery reports (the owner's callback keeps
 * the messages), destroys it (the owner has destroyed its topic handles),
 * and creates a new producer from a copy of conf (why, for the log: NULL
 * for the fatal error), whose main queue watch
 * takes the old one's place (none once the loop has finished: the owner's
 * stop polls the producer itself). Returns 0; -ETIMEDOUT when reports were still
 * missing after 10 s, or -EINVAL when no new producer could be made (*rk is
 * then NULL). */
int producer_reset(rd_kafka_t **rk, const rd_kafka_conf_t *conf, QueueWatch *watch, sd_event *event,
                   const char *what, const char *why);
