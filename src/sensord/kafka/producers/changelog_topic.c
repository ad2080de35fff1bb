/* changelog_topic: the changelog topic fit for the input. At start, before
 * sensord joins its group: created when missing, its settings judged, and
 * given as many partitions as the input; later, on the worker, a partition
 * added to the input given to it too. */
#include "sensord/kafka/producers/changelog_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/log.h"
#include "sensord/kafka/admin/topic_admin.h"
#include "sensord/kafka/admin/topic_wait.h"
#include "sensord/topic_rules.h"

static int admin_timeout_ms(const Changelog *cl) {
        return topic_admin_timeout_ms(cl->startup_timeout_ms);
}

/* Creates the missing topic as Kafka Streams creates its internal topics:
 * the input's partition count, records deleted by age only, kept as long
 * as the input keeps its own. Returns 0 when the topic is there now,
 * -EOPNOTSUPP when the broker takes no CreateTopics (then a metadata
 * request by name may make it auto-create the topic), or -EACCES/-EINVAL
 * (logged: an operator must act). */
static int create_if_missing(Changelog *cl, int input_partitions, int found) {
        if (found != 0)
                return 0; /* there, or no answer: topic_wait() says which */
        if (!cl->admin)
                return -EOPNOTSUPP;
        char why[512], retention[32], snapshot_note[64] = "";
        TopicSettings input;
        topic_settings_init(&input);
        (void)topic_admin_describe(cl->producer, cl->input_topic, &input, admin_timeout_ms(cl), why, sizeof(why));
        int64_t retention_ms = topic_rules_changelog_retention(input.retention_ms, cl->snapshot_interval_ms);
        snprintf(retention, sizeof(retention), "%" PRId64, retention_ms);
        if (input.retention_ms > 0 && retention_ms != input.retention_ms)
                snprintf(snapshot_note, sizeof(snapshot_note), ", twice state.changelog_snapshot_interval");
        const char *configs[] = { "cleanup.policy", "delete", "retention.ms", retention, "retention.bytes", "-1",
                                  NULL };
        int r = topic_admin_create(cl->producer, cl->topic, input_partitions, cl->replication_factor, configs,
                                   admin_timeout_ms(cl), why, sizeof(why));
        if (r == 0) {
                log_notice("created topic %s (state.changelog_topic): %d partition(s) as %s, replication factor %s, "
                           "cleanup.policy=delete, retention.ms=%s (%s%s)",
                           cl->topic, input_partitions, cl->input_topic,
                           cl->replication_factor > 0 ? "from state.changelog_replication_factor"
                                                      : "the broker's default",
                           retention, input.retention_ms > 0 ? "as long as the input keeps records" : "a week",
                           snapshot_note);
                return 0;
        }
        if (r == -EEXIST || r == -EOPNOTSUPP)
                return r == -EEXIST ? 0 : r; /* another host was first, or the broker cannot */
        if (r == -EACCES) {
                log_error("topic %s (state.changelog_topic) does not exist, and the ACLs do not let sensord create "
                          "it (%s). Grant sensord's user Create on the topic, or create it: kafka-topics.sh --create "
                          "--topic %s --partitions %d --config cleanup.policy=delete --config retention.ms=%s",
                          cl->topic, why, cl->topic, input_partitions, retention);
                return -EACCES;
        }
        if (r == -EINVAL) {
                log_error("topic %s (state.changelog_topic) does not exist, and the brokers refused to create it "
                          "with %d partition(s), replication factor %d: %s",
                          cl->topic, input_partitions, cl->replication_factor, why);
                return -EINVAL;
        }
        log_warning("creating topic %s (state.changelog_topic) failed: %s", cl->topic, why);
        return 0; /* topic_wait() waits for it, or says it is missing */
}

/* Judges the topic's settings (topic_rules.c); a part is made to fit its
 * max.message.bytes. -EINVAL when one cannot work (logged). */
static int check_settings(Changelog *cl) {
        TopicSettings s;
        TopicProblem problems[TOPIC_PROBLEMS_MAX];
        topic_admin_settings(cl->producer, cl->admin, cl->topic, "state.changelog_topic", &s, admin_timeout_ms(cl));
        size_t n = topic_rules_changelog(&s, cl->topic, cl->snapshot_interval_ms, MESSAGE_MIN, problems);
        if (topic_admin_judge(problems, n) < 0)
                return -EINVAL;
        if (s.described && s.max_message_bytes > 0 && (uint64_t)s.max_message_bytes < cl->part_max + MESSAGE_OVERHEAD) {
                cl->part_max = (size_t)s.max_message_bytes - MESSAGE_OVERHEAD;
                log_info("checkpoint parts for %s are at most %zu bytes (its max.message.bytes is %" PRId64 ")",
                         cl->topic, cl->part_max, s.max_message_bytes);
        }
        return 0;
}

/* Why sensord cannot give the changelog total partitions, with the way
 * out, or 0 when it just did. */
static int add_partitions(Changelog *cl, rd_kafka_t *rk, int total, char *why, size_t size) {
        char reason[512];
        int r = cl->admin ? topic_admin_add_partitions(rk, cl->topic, total, admin_timeout_ms(cl), reason, sizeof(reason))
                          : -EOPNOTSUPP;
        if (r == 0) {
                log_notice("changelog topic %s now has %d partition(s), as many as %s: sensord added them", cl->topic,
                           total, cl->input_topic);
                return 0;
        }
        if (r == -EOPNOTSUPP)
                snprintf(reason, sizeof(reason), "the brokers take no admin requests");
        snprintf(why, size, "%s%s; add them by hand: kafka-topics.sh --alter --topic %s --partitions %d",
                 r == -EACCES ? "the ACLs do not let sensord add partitions: grant its user Alter on the topic, or "
                              : "sensord could not add partitions: ",
                 reason, cl->topic, total);
        return r;
}

static void known_partitions(Changelog *cl, int n) {
        int known = atomic_load(&cl->partitions);
        while (n > known && !atomic_compare_exchange_weak(&cl->partitions, &known, n))
                ;
}

int changelog_topic_has_partition(Changelog *cl, int32_t partition, char *why, size_t size) {
        if (partition < atomic_load(&cl->partitions))
                return 1;
        int n = topic_admin_partition_count(cl->reader, cl->topic, ASK_TIMEOUT_MS);
        if (n > partition) {
                known_partitions(cl, n);
                return 1;
        }
        if (n < 0) {
                snprintf(why, size, "its metadata could not be read (%s)", strerror(-n));
                return 0;
        }
        /* the input's count: its other new partitions come next */
        int input = topic_admin_partition_count(cl->reader, cl->input_topic, ASK_TIMEOUT_MS);
        if (add_partitions(cl, cl->reader, input > partition ? input : partition + 1, why, size) < 0)
                return 0;
        n = topic_admin_partition_count(cl->reader, cl->topic, ASK_TIMEOUT_MS);
        known_partitions(cl, n);
        if (n > partition)
                return 1;
        snprintf(why, size, "partitions were added, not yet in the brokers' metadata");
        return 0;
}

int changelog_start(Changelog *cl, int input_partitions) {
        int found = topic_find(cl->producer, cl->topic);
        cl->admin = topic_admin_available(cl->producer, 2000);
        int r = create_if_missing(cl, input_partitions, found);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        int partitions = topic_wait(cl->producer, cl->topic, cl->brokers, cl->startup_timeout_ms, r == -EOPNOTSUPP);
        if (partitions < 0)
                return partitions;
        char why[800];
        if (partitions < input_partitions && add_partitions(cl, cl->producer, input_partitions, why, sizeof(why)) == 0)
                partitions = input_partitions;
        else if (partitions < input_partitions)
                log_warning("state.changelog_topic %s has %d partition(s), fewer than the %d of %s: each input "
                            "partition's state goes to the changelog partition of the same number, so sensord holds "
                            "partitions %d to %d of %s, reading none of them, until it has them (%s)",
                            cl->topic, partitions, input_partitions, cl->input_topic, partitions,
                            input_partitions - 1, cl->input_topic, why);
        atomic_store(&cl->partitions, partitions);
        if ((r = check_settings(cl)) < 0)
                return r;
        if (!(cl->handle = rd_kafka_topic_new(cl->producer, cl->topic, NULL)) ||
            !(cl->reader_handle = rd_kafka_topic_new(cl->reader, cl->topic, NULL))) {
                log_error("cannot open topic %s: %s", cl->topic, rd_kafka_err2str(rd_kafka_last_error()));
                return -EINVAL;
        }
        /* Known to the reader from the start: a topic it first meets at a
         * restore's assign waits for librdkafka's once-a-second topic scan
         * (a second added to every restore). */
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(cl->reader, 0, cl->reader_handle, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
                rd_kafka_metadata_destroy(md);
        return 0;
}

