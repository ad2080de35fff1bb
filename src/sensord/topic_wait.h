/* topic_wait: at start, before the event loop runs, waits until the
 * brokers answer and know a topic, so that a wrong address or topic name is
 * an exit 69 with its reason rather than a silent hang. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* Asks rk's brokers for the topic every 0.5 s, for at most timeout_ms,
 * pinging the watchdog meanwhile. Returns 0, or -EHOSTUNREACH (logged). */
int topic_wait(rd_kafka_t *rk, const char *topic, const char *brokers, int64_t timeout_ms);
