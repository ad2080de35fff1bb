/* kafka_conf: rd_kafka_conf_get() and a number. */
#include "sensord/kafka/kafka_conf.h"

#include <stdlib.h>

uint64_t kafka_conf_u64(const rd_kafka_conf_t *conf, const char *name, uint64_t fallback) {
        char value[32];
        size_t size = sizeof(value);
        return rd_kafka_conf_get(conf, name, value, &size) == RD_KAFKA_CONF_OK ? strtoull(value, NULL, 10) : fallback;
}
