/* consumer_conf: the consumer's librdkafka configuration, in the order that
 * lets the operator win where sensord allows it: sensord's defaults, then
 * kafka.properties, then the settings sensord manages itself. */
#include "sensord/kafka/consumer/consumer_conf.h"

#include <stdio.h>
#include <unistd.h>

#include "lib/base/util.h"
#include "sensord/kafka/kafka_conf.h"

/* sensord's defaults, before kafka.properties, which may override them;
 * the figures are from tests/bench/run.sh's data on the devbroker (README,
 * Performance). fetch.wait.max.ms stays librdkafka's 500: a broker answers a
 * waiting fetch as soon as records arrive, and a shorter wait costs idle
 * CPU (100 ms: 190 ms a minute against 130). */
static const char *const consumer_defaults[][2] = {
        /* librdkafka's 100,000 queued messages cost about 0.4 KiB each;
         * with refetch.c, 30,000 keep the same rate (1M records in 1.74 and
         * 1.87 s against 1.64 and 1.94 s) at 10 MiB less. */
        { "queued.min.messages", "30000" },
};

/* kafka.group_instance_id with "%H" as the host name and "%%" as "%". */
void consumer_conf_instance_id(const char *pattern, char *out, size_t size) {
        char host[256] = "";
        if (gethostname(host, sizeof(host)) < 0 || !host[0])
                snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        size_t n = 0;
        for (const char *p = pattern; *p && n + 1 < size; p++) {
                if (p[0] == '%' && p[1] == 'H') {
                        n += (size_t)snprintf(out + n, size - n, "%s", host);
                        p++;
                        continue;
                }
                if (p[0] == '%' && p[1] == '%')
                        p++;
                out[n++] = *p;
        }
        out[n < size ? n : size - 1] = '\0';
}

rd_kafka_conf_t *consumer_conf_new(const Config *config, bool available_now, bool *metrics_on) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        bool changelog = config->changelog_topic && config->changelog_topic[0];
        int r = kafka_conf_cluster(conf, NULL, config, false);
        *metrics_on = (config->metrics_listen && config->metrics_listen[0]) ||
                      (config->metrics_textfile && config->metrics_textfile[0]);
        for (size_t i = 0; i < ARRAY_SIZE(consumer_defaults) && r == 0; i++)
                r = kafka_conf_set(conf, NULL, consumer_defaults[i][0], consumer_defaults[i][1]);
        /* With a changelog a partition that moves costs a snapshot and a
         * restore; under the eager protocol every rebalance moves them all
         * (tests/bench/assignors.sh). Not before librdkafka 2.10: an offset
         * commit that meets a cooperative rebalance makes it drop the whole
         * assignment (its issue 4059), and sensord commits every checkpoint */
        if (changelog && rd_kafka_version() >= 0x020a0000 && r == 0)
                r = kafka_conf_set(conf, NULL, "partition.assignment.strategy", "cooperative-sticky");
        /* the consumer lag of the metrics; kafka.properties may change it */
        if (*metrics_on && r == 0)
                r = kafka_conf_set(conf, NULL, "statistics.interval.ms", "1000");
        for (size_t i = 0; i < config->properties.n && r == 0; i++)
                r = kafka_conf_set(conf, NULL, config->properties.items[i].name, config->properties.items[i].value);
        char instance[512];
        consumer_conf_instance_id(config->group_instance_id, instance, sizeof(instance));
        if (instance[0] && r == 0)
                r = kafka_conf_set(conf, NULL, "group.instance.id", instance);
        if (r < 0 || kafka_conf_set(conf, NULL, "group.id", config->group_id) < 0 ||
            kafka_conf_set(conf, NULL, "client.id", "sensord") < 0 ||
            kafka_conf_set(conf, NULL, "auto.offset.reset",
                           config->starting_offsets == STARTING_EARLIEST ? "earliest" : "latest") < 0 ||
            kafka_conf_set(conf, NULL, "enable.auto.commit", changelog ? "false" : "true") < 0 ||
            kafka_conf_set(conf, NULL, "enable.auto.offset.store", "false") < 0 ||
            kafka_conf_set(conf, NULL, "enable.partition.eof", available_now ? "true" : "false") < 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        return conf;
}

uint64_t consumer_conf_keep_polling_usec(rd_kafka_t *rk) {
        uint64_t ms = kafka_conf_u64(rd_kafka_conf(rk), "max.poll.interval.ms", 300000);
        return (ms > 3 ? ms : 3) * 1000 / 3;
}
