/* topic_rules: which settings of a Kafka topic sensord can work with, and
 * the settings it gives a changelog topic it creates, with no I/O. The
 * settings come from the broker's DescribeConfigs answer and its metadata
 * (kafka/topic_admin.c); each problem is fatal (sensord exits 78 before it
 * joins its group) or a warning, and its text names the topic, the setting
 * and the fix. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct TopicSettings {
        bool described; /* the broker answered DescribeConfigs */
        bool compact, delete; /* cleanup.policy */
        int64_t retention_ms, retention_bytes; /* -1: unlimited */
        int64_t max_message_bytes;
        int min_insync_replicas;
        int replication_factor; /* of partition 0, from the metadata; 0: unknown */
} TopicSettings;

/* The settings before any is known: unlimited, nothing described. */
void topic_settings_init(TopicSettings *s);

/* Takes one entry of DescribeConfigs' answer; the names sensord does not
 * judge are ignored. -EINVAL for a value that is not what Kafka sends. */
int topic_settings_set(TopicSettings *s, const char *name, const char *value);

typedef struct TopicProblem {
        bool fatal;
        char text[640];
} TopicProblem;

#define TOPIC_PROBLEMS_MAX 6

/* What a changelog topic needs: records without a key, each up to
 * part_bytes long, a snapshot at least every snapshot_interval_ms, and
 * acks=all. Returns the number of problems written to out. */
size_t topic_rules_changelog(const TopicSettings *s, const char *topic, int64_t snapshot_interval_ms,
                             int64_t part_bytes, TopicProblem out[TOPIC_PROBLEMS_MAX]);

/* What a topic that sensord produces results or record copies to needs
 * (acks=all); setting names it in the configuration. */
size_t topic_rules_output(const TopicSettings *s, const char *topic, const char *setting,
                          TopicProblem out[TOPIC_PROBLEMS_MAX]);

/* The retention.ms a created changelog topic gets: the input topic's,
 * so that every host can be down as long as the input keeps records, and
 * at least twice the snapshot interval; a week when the input's is
 * unlimited or unknown (-1). */
int64_t topic_rules_changelog_retention(int64_t input_retention_ms, int64_t snapshot_interval_ms);
