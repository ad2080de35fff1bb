/* topic_wait: at start, before the event loop runs, waits until the
 * brokers answer and know a topic, so that a wrong address or topic name is
 * an exit 69 with its reason rather than a silent hang. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

/* Asks rk's brokers for the topic every 0.5 s, for at most timeout_ms,
 * pinging the watchdog meanwhile. With ask_by_name, a topic missing from
 * the cluster's list is also asked for by name once: a broker that
 * auto-creates topics (auto.create.topics.enable) then creates it, and the
 * log says so. Returns the topic's partition count, or -EHOSTUNREACH (logged). */
int topic_wait(rd_kafka_t *rk, const char *topic, const char *brokers, int64_t timeout_ms, bool ask_by_name);

/* Asks once, without asking for the topic by name: its partition count, 0
 * when the cluster has no such topic, or -EHOSTUNREACH with no answer. */
int topic_find(rd_kafka_t *rk, const char *topic);
