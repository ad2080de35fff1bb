/* Topic settings judged for a changelog and an output topic: what exits
 * 78, what only warns, and a created changelog's retention. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>

#include "sensord/topic_rules.h"

#define HOUR_MS (3600 * 1000LL)

/* A changelog as sensord creates it: three replicas, two in sync. */
static TopicSettings healthy(void) {
        TopicSettings s;
        topic_settings_init(&s);
        assert_int_equal(topic_settings_set(&s, "cleanup.policy", "delete"), 0);
        assert_int_equal(topic_settings_set(&s, "retention.ms", "604800000"), 0);
        assert_int_equal(topic_settings_set(&s, "retention.bytes", "-1"), 0);
        assert_int_equal(topic_settings_set(&s, "max.message.bytes", "1048588"), 0);
        assert_int_equal(topic_settings_set(&s, "min.insync.replicas", "2"), 0);
        assert_int_equal(topic_settings_set(&s, "segment.bytes", "1073741824"), 0); /* not judged */
        s.replication_factor = 3;
        s.described = true;
        return s;
}

static size_t judge(const TopicSettings *s, TopicProblem *out, size_t *fatal) {
        size_t n = topic_rules_changelog(s, "state", HOUR_MS, 4096, out);
        *fatal = 0;
        for (size_t i = 0; i < n; i++)
                *fatal += out[i].fatal;
        return n;
}

static void test_healthy_changelog(void **state) {
        TopicSettings s = healthy();
        TopicProblem p[TOPIC_PROBLEMS_MAX];
        size_t fatal;
        assert_int_equal(judge(&s, p, &fatal), 0);
        /* nothing described (the mock, or DescribeConfigs refused): nothing judged */
        topic_settings_init(&s);
        assert_int_equal(judge(&s, p, &fatal), 0);
}

static void test_compacted_changelog_is_fatal(void **state) {
        TopicSettings s = healthy();
        TopicProblem p[TOPIC_PROBLEMS_MAX];
        size_t fatal;
        assert_int_equal(topic_settings_set(&s, "cleanup.policy", "compact,delete"), 0);
        assert_int_equal(judge(&s, p, &fatal), 1);
        assert_int_equal(fatal, 1);
        assert_non_null(strstr(p[0].text, "topic state (state.changelog_topic) has cleanup.policy=compact,delete"));
        assert_non_null(strstr(p[0].text, "--add-config cleanup.policy=delete"));
        assert_int_equal(topic_settings_set(&s, "cleanup.policy", "compact"), 0);
        assert_int_equal(judge(&s, p, &fatal), 1);
        assert_non_null(strstr(p[0].text, "cleanup.policy=compact:"));
}

static void test_retention(void **state) {
        TopicSettings s = healthy();
        TopicProblem p[TOPIC_PROBLEMS_MAX];
        size_t fatal;
        /* below the interval: the pointer's snapshot can go */
        assert_int_equal(topic_settings_set(&s, "retention.ms", "3599999"), 0);
        assert_int_equal(judge(&s, p, &fatal), 1);
        assert_int_equal(fatal, 1);
        assert_non_null(strstr(p[0].text, "retention.ms=3599999, less than state.changelog_snapshot_interval"));
        assert_non_null(strstr(p[0].text, "at least 7200000"));
        /* at the interval, under twice it: a warning */
        assert_int_equal(topic_settings_set(&s, "retention.ms", "3600000"), 0);
        assert_int_equal(judge(&s, p, &fatal), 1);
        assert_int_equal(fatal, 0);
        assert_non_null(strstr(p[0].text, "down longer than 0 ms"));
        assert_int_equal(topic_settings_set(&s, "retention.ms", "7200000"), 0);
        assert_int_equal(judge(&s, p, &fatal), 0);
        /* unlimited */
        assert_int_equal(topic_settings_set(&s, "retention.ms", "-1"), 0);
        assert_int_equal(judge(&s, p, &fatal), 0);
        /* any bound by size: a warning */
        assert_int_equal(topic_settings_set(&s, "retention.bytes", "1073741824"), 0);
        assert_int_equal(judge(&s, p, &fatal), 1);
        assert_int_equal(fatal, 0);
        assert_non_null(strstr(p[0].text, "retention.bytes=1073741824"));
}

static void test_message_size_and_replicas(void **state) {
        TopicSettings s = healthy();
        TopicProblem p[TOPIC_PROBLEMS_MAX];
        size_t fatal;
        assert_int_equal(topic_settings_set(&s, "max.message.bytes", "4095"), 0);
        assert_int_equal(judge(&s, p, &fatal), 1);
        assert_int_equal(fatal, 1);
        assert_int_equal(topic_settings_set(&s, "max.message.bytes", "4096"), 0);
        assert_int_equal(judge(&s, p, &fatal), 0);
        /* more in sync than there are replicas: Kafka 4 counts the
         * replicas, an older broker refuses every acks=all write */
        s.replication_factor = 1;
        assert_int_equal(judge(&s, p, &fatal), 2);
        assert_int_equal(fatal, 0);
        assert_false(p[0].fatal);
        assert_non_null(strstr(p[0].text, "min.insync.replicas=2 but 1 replica(s): Kafka 4 counts 1 (KIP-966)"));
        assert_false(p[1].fatal);
        assert_non_null(strstr(p[1].text, "has one replica"));
        /* the same for an output topic, named by its own setting */
        assert_int_equal(topic_rules_output(&s, "results", "output.kafka_topic", p), 1);
        assert_non_null(strstr(p[0].text, "topic results (output.kafka_topic) has min.insync.replicas=2"));
        s.replication_factor = 0; /* unknown: not judged */
        assert_int_equal(topic_rules_output(&s, "results", "output.kafka_topic", p), 0);
}

static void test_every_problem_at_once(void **state) {
        TopicSettings s;
        TopicProblem p[TOPIC_PROBLEMS_MAX];
        size_t fatal;
        topic_settings_init(&s);
        assert_int_equal(topic_settings_set(&s, "cleanup.policy", "compact"), 0);
        assert_int_equal(topic_settings_set(&s, "retention.ms", "1000"), 0);
        assert_int_equal(topic_settings_set(&s, "retention.bytes", "1"), 0);
        assert_int_equal(topic_settings_set(&s, "max.message.bytes", "100"), 0);
        assert_int_equal(topic_settings_set(&s, "min.insync.replicas", "2"), 0);
        s.replication_factor = 1;
        assert_int_equal(judge(&s, p, &fatal), 6);
        assert_int_equal(fatal, 3);
}

static void test_values_kafka_never_sends(void **state) {
        TopicSettings s;
        topic_settings_init(&s);
        assert_int_equal(topic_settings_set(&s, "cleanup.policy", "forever"), -EINVAL);
        assert_int_equal(topic_settings_set(&s, "retention.ms", "a week"), -EINVAL);
        assert_int_equal(topic_settings_set(&s, "retention.ms", ""), -EINVAL);
        assert_int_equal(topic_settings_set(&s, "min.insync.replicas", "0"), -EINVAL);
        assert_int_equal(topic_settings_set(&s, "retention.ms", NULL), 0); /* a sensitive value: not sent */
}

static void test_created_retention(void **state) {
        /* the input's, when it has one */
        assert_int_equal(topic_rules_changelog_retention(172800000, HOUR_MS), 172800000);
        /* at least twice the snapshot interval */
        assert_int_equal(topic_rules_changelog_retention(HOUR_MS, HOUR_MS), 2 * HOUR_MS);
        /* a week when the input keeps records for ever, or is not known */
        assert_int_equal(topic_rules_changelog_retention(-1, HOUR_MS), 7 * 24 * HOUR_MS);
        assert_int_equal(topic_rules_changelog_retention(-1, 30 * 24 * HOUR_MS), 60 * 24 * HOUR_MS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_healthy_changelog),
                cmocka_unit_test(test_compacted_changelog_is_fatal),
                cmocka_unit_test(test_retention),
                cmocka_unit_test(test_message_size_and_replicas),
                cmocka_unit_test(test_every_problem_at_once),
                cmocka_unit_test(test_values_kafka_never_sends),
                cmocka_unit_test(test_created_retention),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
