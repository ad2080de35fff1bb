/* topic_wait: the topic in the cluster's metadata, retried until a deadline. */
#include "sensord/kafka/admin/topic_wait.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "lib/base/log.h"
#include "lib/base/util.h"
#include "sensord/kafka/refusal.h"

/* Looks the topic up in the cluster's full topic list: asking for it by
 * name would make brokers with auto-creation (the devbroker among them)
 * create it. Returns its partition count, 0 if absent, or -1 with *problem. */
static int topic_partitions(rd_kafka_t *rk, const char *topic, const char **problem, bool *denied) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 2000);
        if (err) {
                *problem = rd_kafka_err2str(err);
                return -1;
        }
        int partitions = 0;
        *problem = "no such topic";
        for (int i = 0; i < md->topic_cnt; i++)
                if (strcmp(md->topics[i].topic, topic) == 0) {
                        partitions = md->topics[i].err ? 0 : md->topics[i].partition_cnt;
                        if (md->topics[i].err)
                                *problem = rd_kafka_err2str(md->topics[i].err);
                        *denied = md->topics[i].err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
                }
        rd_kafka_metadata_destroy(md);
        return partitions;
}

/* A metadata request naming the topic: what lets a broker auto-create it.
 * (A broker leaves the topics a client may not describe out of the full
 * list; asked by name, it says so.) */
static void ask_for(rd_kafka_t *rk, const char *topic, bool *denied) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (!rkt)
                return;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                *denied = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
                rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
}

/* What no retry fixes: refused credentials or certificate, or a topic the
 * ACLs hide. */
static bool refused(const char *topic, const char *brokers, bool denied) {
        char why[512];
        if (kafka_refusal(why, sizeof(why))) {
                if (strstr(why, "SSL handshake failed"))
                        log_error("sensord does not trust the brokers %s (%s): check ssl.ca.location in "
                                  "kafka.properties",
                                  brokers, why);
                else
                        log_error("the brokers %s refused sensord's credentials (%s): check sasl.username and "
                                  "sasl.mechanisms in kafka.properties, and kafka.sasl_password_file%s",
                                  brokers, why,
                                  strstr(why, "SCRAM") && rd_kafka_version() < 0x020601ff
                                          ? ". Note: librdkafka before 2.6.1 cannot authenticate with SCRAM to "
                                            "Kafka 4.0 or later (its issue 4895); use PLAIN over TLS there"
                                          : "");
                return true;
        }
        if (denied) {
                log_error("topic %s on %s: not authorized: the ACLs do not let sensord's user describe it "
                          "(it needs Describe and Read on the input topic and its group, Describe and Write on "
                          "every topic it produces to, and Read on the changelog topic)",
                          topic, brokers);
                return true;
        }
        return false;
}

int topic_find(rd_kafka_t *rk, const char *topic) {
        const char *problem;
        bool denied = false;
        int partitions = topic_partitions(rk, topic, &problem, &denied);
        return partitions < 0 ? -EHOSTUNREACH : partitions;
}

int topic_wait(rd_kafka_t *rk, const char *topic, const char *brokers, int64_t timeout_ms, bool ask_by_name) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000;
        const char *problem = "no answer";
        bool asked = false, denied = false;

        for (unsigned attempt = 1;; attempt++) {
                int partitions = topic_partitions(rk, topic, &problem, &denied);
                if (partitions > 0) {
                        if (asked)
                                log_notice("topic %s did not exist; the broker created it, with %d partition(s), "
                                           "when sensord asked for it (auto-creation)",
                                           topic, partitions);
                        else
                                log_info("topic %s has %d partition(s) on %s", topic, partitions, brokers);
                        return partitions;
                }
                if (partitions == 0 && ask_by_name && !asked) {
                        ask_for(rk, topic, &denied);
                        asked = true;
                }
                if (refused(topic, brokers, denied))
                        return -EACCES;
                if (asked && attempt == 1)
                        continue;
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        break;
                log_notice("waiting for topic %s on %s (attempt %u): %s", topic, brokers, attempt, problem);
                sd_notify(0, "WATCHDOG=1");
                usleep(500000);
        }
        if (asked)
                log_error("topic %s is not available on %s after %" PRId64 " ms: %s; the broker did not create it "
                          "on request (auto.create.topics.enable is off): create it",
                          topic, brokers, timeout_ms, problem);
        else
                log_error("topic %s is not available on %s after %" PRId64 " ms: %s", topic, brokers, timeout_ms,
                          problem);
        return -EHOSTUNREACH;
}
