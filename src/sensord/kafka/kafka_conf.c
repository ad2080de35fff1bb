/* kafka_conf: rd_kafka_conf_set() with a logged error, rd_kafka_conf_get() and a number. */
#include "sensord/kafka/kafka_conf.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/base/log.h"

uint64_t kafka_conf_u64(const rd_kafka_conf_t *conf, const char *name, uint64_t fallback) {
        char value[32];
        size_t size = sizeof(value);
        return rd_kafka_conf_get(conf, name, value, &size) == RD_KAFKA_CONF_OK ? strtoull(value, NULL, 10) : fallback;
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *what, const char *name, const char *value) {
        char errstr[256];
        if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                log_error("%s%skafka property %s=%s: %s", what ? what : "", what ? ": " : "", name, value, errstr);
                return -EINVAL;
        }
        return 0;
}
