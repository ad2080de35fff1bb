/* consumer_conf: the input consumer's librdkafka configuration, from the
 * configuration file: sensord's defaults, kafka.properties, and the
 * properties sensord manages (brokers, group, offsets, partition EOF). */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/config/config.h"

/* A new configuration, or NULL after logging the property that librdkafka
 * refused. *metrics_on says whether librdkafka's statistics are wanted
 * (metrics.listen or metrics.textfile is set); the caller registers the
 * callbacks. */
rd_kafka_conf_t *consumer_conf_new(const Config *config, bool available_now, bool *metrics_on);

/* kafka.group_instance_id's pattern with "%H" as the host name and "%%"
 * as "%" (also the transactional producer's id). */
void consumer_conf_instance_id(const char *pattern, char *out, size_t size);

/* How often the loop polls a consumer that gets no message: a third of
 * max.poll.interval.ms as rk has it (librdkafka's 300,000 unless
 * kafka.properties sets it). */
uint64_t consumer_conf_keep_polling_usec(rd_kafka_t *rk);
