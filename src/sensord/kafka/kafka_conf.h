/* kafka_conf: a librdkafka property read back as a number, the value that
 * librdkafka will use (its default, or kafka.properties' override), for the
 * modules that size themselves by it. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* The property's value, or fallback when librdkafka does not know it. */
uint64_t kafka_conf_u64(const rd_kafka_conf_t *conf, const char *name, uint64_t fallback);
