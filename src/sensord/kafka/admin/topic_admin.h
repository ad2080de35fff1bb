/* topic_admin: the admin requests sensord makes, most at start, before it
 * joins its group: create a topic, describe a topic's settings for
 * topic_rules, give a topic more partitions. Each blocks for at most its
 * timeout, pinging the watchdog, as the rest of the start does (later, on
 * a worker thread). */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensord/topic_rules.h"

/* How long one request may take at start: at most this, and at most
 * kafka.startup_timeout. */
#define TOPIC_ADMIN_TIMEOUT_MS 10000
static inline int topic_admin_timeout_ms(int64_t startup_timeout_ms) {
        return startup_timeout_ms < TOPIC_ADMIN_TIMEOUT_MS ? (int)startup_timeout_ms : TOPIC_ADMIN_TIMEOUT_MS;
}

/* Whether the brokers take admin requests: they name as controller, which
 * librdkafka sends the requests to, one of the brokers they list
 * (librdkafka's mock names broker 0, which it does not have). Waits at
 * most timeout_ms for the metadata. */
bool topic_admin_available(rd_kafka_t *rk, int timeout_ms);

/* Creates topic with partitions, replication_factor (-1: the broker's
 * default) and configs (name, value, ..., NULL). Returns 0; -EEXIST when it
 * exists already; -EACCES when the ACLs refuse; -EOPNOTSUPP when the broker
 * does not take the request (librdkafka's mock); -EINVAL when the broker
 * refuses the settings; -ETIMEDOUT. why gets the broker's words. */
int topic_admin_create(rd_kafka_t *rk, const char *topic, int partitions, int replication_factor,
                       const char *const *configs, int timeout_ms, char *why, size_t size);

/* Gives topic total partitions (CreatePartitions). Returns as
 * topic_admin_create(); -EINVAL too when it has that many already. */
int topic_admin_add_partitions(rd_kafka_t *rk, const char *topic, int total, int timeout_ms, char *why,
                               size_t size);

/* The topic's partition count, from a metadata request by name (which a
 * broker that auto-creates topics takes as a wish to create it: ask only
 * for topics that exist). -ENOENT when the broker does not know it, -EIO
 * when it did not answer within timeout_ms. */
int topic_admin_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms);

/* Fills *s (topic_settings_init() first) with the topic's settings and its
 * replication factor. Returns 0; -EACCES when the ACLs refuse
 * DescribeConfigs; -EOPNOTSUPP when the broker does not take it; -ETIMEDOUT
 * or -EIO; why says which. */
int topic_admin_describe(rd_kafka_t *rk, const char *topic, TopicSettings *s, int timeout_ms, char *why,
                         size_t size);

/* The topic's settings for the rules: described when admin (the brokers
 * take admin requests), with a warning naming setting (the configuration
 * key that names the topic) when they cannot be. */
void topic_admin_settings(rd_kafka_t *rk, bool admin, const char *topic, const char *setting, TopicSettings *s,
                          int timeout_ms);

/* Logs the problems the rules found. -EINVAL if one is fatal. */
int topic_admin_judge(const TopicProblem *problems, size_t n);
