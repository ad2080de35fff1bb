/* kafka_conf: librdkafka properties. Set one with its error logged, for the
 * clients that sensord configures; read one back as a number, the value
 * that librdkafka will use (its default, or kafka.properties' override), for
 * the modules that size themselves by it. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/config/config.h"

/* The property's value, or fallback when librdkafka does not know it. */
uint64_t kafka_conf_u64(const rd_kafka_conf_t *conf, const char *name, uint64_t fallback);

/* rd_kafka_conf_set(), logging librdkafka's error, prefixed with what (the
 * client or the setting it came from; NULL: none). Returns 0 or -EINVAL. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *what, const char *name, const char *value);

/* How every client of sensord's reaches the cluster: kafka.brokers, the
 * password of kafka.sasl_password_file, and for a producer (whose own
 * properties come after, and may override them) kafka.properties' security
 * settings (security.protocol, ssl.*, sasl.*), so that they are written
 * once. Returns 0 or -EINVAL. */
int kafka_conf_cluster(rd_kafka_conf_t *conf, const char *what, const Config *config, bool producer);
