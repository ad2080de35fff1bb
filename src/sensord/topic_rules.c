/* topic_rules: a topic's settings judged against what sensord does with it. */
#include "sensord/topic_rules.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEEK_MS (7 * 24 * 3600 * 1000LL)

void topic_settings_init(TopicSettings *s) {
        *s = (TopicSettings){ .delete = true, .retention_ms = -1, .retention_bytes = -1, .max_message_bytes = -1 };
}

static int parse_i64(const char *value, int64_t *out) {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
                return -EINVAL;
        *out = v;
        return 0;
}

int topic_settings_set(TopicSettings *s, const char *name, const char *value) {
        int64_t v;
        if (!value)
                return 0; /* a sensitive or unknown value: not one sensord judges */
        if (strcmp(name, "cleanup.policy") == 0) {
                /* "delete", "compact" or both, comma-separated */
                s->compact = strstr(value, "compact") != NULL;
                s->delete = strstr(value, "delete") != NULL;
                return s->compact || s->delete ? 0 : -EINVAL;
        }
        int64_t *field = strcmp(name, "retention.ms") == 0      ? &s->retention_ms
                         : strcmp(name, "retention.bytes") == 0 ? &s->retention_bytes
                         : strcmp(name, "max.message.bytes") == 0 ? &s->max_message_bytes
                                                                  : NULL;
        if (field)
                return parse_i64(value, field);
        if (strcmp(name, "min.insync.replicas") == 0) {
                if (parse_i64(value, &v) < 0 || v < 1 || v > 32767)
                        return -EINVAL;
                s->min_insync_replicas = (int)v;
        }
        return 0;
}

static void add(TopicProblem *out, size_t *n, bool fatal, const char *format, ...) {
        if (*n >= TOPIC_PROBLEMS_MAX)
                return;
        va_list ap;
        va_start(ap, format);
        vsnprintf(out[*n].text, sizeof(out[*n].text), format, ap);
        va_end(ap);
        out[(*n)++].fatal = fatal;
}

/* acks=all needs min.insync.replicas in sync. Kafka 4 takes at most the
 * replica count (KIP-966); a broker before it refuses every such write, and
 * the producer would retry it for ever. */
static void check_insync(const TopicSettings *s, const char *topic, const char *setting, TopicProblem *out,
                         size_t *n) {
        if (s->min_insync_replicas > 0 && s->replication_factor > 0 && s->min_insync_replicas > s->replication_factor)
                add(out, n, false,
                    "topic %s (%s) has min.insync.replicas=%d but %d replica(s): Kafka 4 counts %d (KIP-966), but "
                    "a broker before it refuses every write that waits for all in-sync replicas, as sensord's do. "
                    "Lower min.insync.replicas to at most %d, or add replicas",
                    topic, setting, s->min_insync_replicas, s->replication_factor, s->replication_factor,
                    s->replication_factor);
}

size_t topic_rules_changelog(const TopicSettings *s, const char *topic, int64_t snapshot_interval_ms,
                             int64_t part_bytes, TopicProblem out[TOPIC_PROBLEMS_MAX]) {
        size_t n = 0;
        const char *setting = "state.changelog_topic";
        if (s->compact)
                add(out, &n, true,
                    "topic %s (%s) has cleanup.policy=%s: the broker refuses changelog records there, which have "
                    "no key. Set cleanup.policy=delete (kafka-configs.sh --alter --entity-type topics "
                    "--entity-name %s --add-config cleanup.policy=delete)",
                    topic, setting, s->delete ? "compact,delete" : "compact", topic);
        if (s->retention_ms >= 0 && s->retention_ms < snapshot_interval_ms)
                add(out, &n, true,
                    "topic %s (%s) has retention.ms=%" PRId64 ", less than state.changelog_snapshot_interval "
                    "(%" PRId64 " ms): the snapshot a restore starts from can be deleted before the next one is "
                    "written. Set retention.ms to at least %" PRId64 " (twice the interval), or shorten the "
                    "interval",
                    topic, setting, s->retention_ms, snapshot_interval_ms, 2 * snapshot_interval_ms);
        else if (s->retention_ms >= 0 && s->retention_ms < 2 * snapshot_interval_ms)
                add(out, &n, false,
                    "topic %s (%s) has retention.ms=%" PRId64 ", less than twice state.changelog_snapshot_interval "
                    "(%" PRId64 " ms): if every host is down longer than %" PRId64 " ms, the snapshot a restore "
                    "starts from may be gone. Set retention.ms to at least %" PRId64,
                    topic, setting, s->retention_ms, snapshot_interval_ms, s->retention_ms - snapshot_interval_ms,
                    2 * snapshot_interval_ms);
        if (s->retention_bytes >= 0)
                add(out, &n, false,
                    "topic %s (%s) has retention.bytes=%" PRId64 ": the broker deletes its oldest records by size, "
                    "which can take the snapshot a restore starts from. Set retention.bytes=-1 and let retention.ms "
                    "bound the topic",
                    topic, setting, s->retention_bytes);
        if (s->max_message_bytes >= 0 && s->max_message_bytes < part_bytes)
                add(out, &n, true,
                    "topic %s (%s) has max.message.bytes=%" PRId64 ", less than the %" PRId64 " bytes of "
                    "sensord's smallest checkpoint part. Set max.message.bytes to at least 1048588 (Kafka's default)",
                    topic, setting, s->max_message_bytes, part_bytes);
        check_insync(s, topic, setting, out, &n);
        if (s->replication_factor == 1)
                add(out, &n, false,
                    "topic %s (%s) has one replica: losing its broker loses the state of every partition. Give it "
                    "3 replicas (state.changelog_replication_factor, for a topic sensord creates)",
                    topic, setting);
        return n;
}

size_t topic_rules_output(const TopicSettings *s, const char *topic, const char *setting,
                          TopicProblem out[TOPIC_PROBLEMS_MAX]) {
        size_t n = 0;
        check_insync(s, topic, setting, out, &n);
        return n;
}

int64_t topic_rules_changelog_retention(int64_t input_retention_ms, int64_t snapshot_interval_ms) {
        int64_t retention = input_retention_ms > 0 ? input_retention_ms : WEEK_MS;
        return retention < 2 * snapshot_interval_ms ? 2 * snapshot_interval_ms : retention;
}
