/* kafka_conf: rd_kafka_conf_set() with a logged error, rd_kafka_conf_get() and a number. */
#include "sensord/kafka/kafka_conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"

uint64_t kafka_conf_u64(const rd_kafka_conf_t *conf, const char *name, uint64_t fallback) {
        char value[32];
        size_t size = sizeof(value);
        return rd_kafka_conf_get(conf, name, value, &size) == RD_KAFKA_CONF_OK ? strtoull(value, NULL, 10) : fallback;
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *what, const char *name, const char *value) {
        char errstr[256];
        if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                bool secret = strstr(name, "password") || strstr(name, "secret");
                log_error("%s%skafka property %s=%s: %s", what ? what : "", what ? ": " : "", name,
                          secret ? "(not shown)" : value, errstr);
                return -EINVAL;
        }
        return 0;
}

static bool is_security_property(const char *name) {
        return strcmp(name, "security.protocol") == 0 || strncmp(name, "ssl.", 4) == 0 ||
               strncmp(name, "ssl_", 4) == 0 || strncmp(name, "sasl.", 5) == 0;
}

int kafka_conf_cluster(rd_kafka_conf_t *conf, const char *what, const Config *config, bool producer) {
        int r = kafka_conf_set(conf, what, "bootstrap.servers", config->brokers);
        for (size_t i = 0; producer && i < config->properties.n && r == 0; i++)
                if (is_security_property(config->properties.items[i].name))
                        r = kafka_conf_set(conf, "kafka.properties", config->properties.items[i].name,
                                           config->properties.items[i].value);
        if (r == 0 && config->sasl_password)
                r = kafka_conf_set(conf, what, "sasl.password", config->sasl_password);
        return r;
}
