/* config_validate: the checks of the values read and of the relations
 * between settings (topics, windows, input paths, metrics), each error at
 * the line of the setting at fault. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/file_io.h"
#include "lib/config/config_internal.h"

/* Line of group.name, or of its group, or 0 when the default is at fault. */
static int line_of(const config_t *cf, const char *group, const char *name) {
        char path[64];
        snprintf(path, sizeof(path), "%s.%s", group, name);
        const config_setting_t *s = config_lookup(cf, path);
        if (!s)
                s = config_lookup(cf, group);
        return s ? setting_line(s) : 0;
}

/* False when the setting's own value was refused, so that a relation to it
 * would only repeat that error. */
static bool usable(const Loader *l, const char *path) {
        for (size_t i = 0; i < CONFIG_SETTINGS_N; i++)
                if (strcmp(config_settings[i].path, path) == 0)
                        return !l->bad[i];
        return true;
}

/* Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not "." or "..". */
static const char *topic_problem(const char *topic) {
        size_t len = strlen(topic);
        if (len > 249)
                return "is longer than Kafka's limit of 249 characters";
        if (strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0)
                return "cannot be \".\" or \"..\"";
        if (strspn(topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len)
                return "may hold only letters, digits, '.', '_' and '-' (Kafka's rule)";
        return NULL;
}

/* Adds an error, quoting the name, when topic breaks Kafka's rule; true if
 * it is a legal name. */
static bool check_topic_name(Loader *l, int line, const char *path, const char *topic) {
        const char *reason = topic_problem(topic);
        if (reason)
                config_add_error(l, line, path, "\"%.40s%s\" %s", topic, strlen(topic) > 40 ? "..." : "", reason);
        return !reason;
}

/* A topic sensord writes to ("" is off): a legal name, and not the topic it
 * reads, which would feed its own `what` back to it. */
static void check_output_topic(Loader *l, int line, const char *path, const char *topic, const char *what) {
        if (usable(l, path) && topic[0] && check_topic_name(l, line, path, topic) &&
            strcmp(topic, l->config->topic) == 0)
                config_add_error(l, line, path, "must differ from kafka.topic: sensord would read its own %s", what);
}

#define MAX_WATERMARK_MS (365LL * 24 * 3600 * 1000)

/* input.*: each path on its own line, then whether they hold together. */
static void validate_input(Loader *l, const config_t *cf) {
        Config *c = l->config;
        const char *paths[_RECORD_FIELD_MAX] = { c->input_sensor_id, c->input_value, c->input_timestamp };
        char error[RECORD_REASON_MAX], setting[32];
        bool ok = true;
        record_shape_default(&c->input);
        for (int f = 0; f < _RECORD_FIELD_MAX; f++) {
                snprintf(setting, sizeof(setting), "input.%s", record_field_name((RecordField)f));
                if (!usable(l, setting))
                        ok = false;
                else if (record_path_set(&c->input, (RecordField)f, paths[f], error) < 0) {
                        config_add_error(l, line_of(cf, "input", record_field_name((RecordField)f)), setting, "%s", error);
                        ok = false;
                }
        }
        c->input.timestamp_format = (TimestampFormat)c->input_timestamp_format;
        if (ok && record_shape_check(&c->input, error) < 0)
                config_add_error(l, line_of(cf, "input", "timestamp"), "input", "%s", error);
}

/* metrics.listen is HOST:PORT or [IPv6]:PORT with a port number;
 * metrics.textfile an absolute path ending in .prom, which is all that
 * node_exporter's textfile collector reads. */
static void validate_metrics(Loader *l, const config_t *cf) {
        const Config *c = l->config;
        const char *listen = c->metrics_listen, *colon = strrchr(listen, ':');
        if (usable(l, "metrics.listen") && listen[0]) {
                char *end = NULL;
                long port = colon ? strtol(colon + 1, &end, 10) : 0;
                bool bracketed = listen[0] == '[', host_ok = colon && colon > listen &&
                                                             (!bracketed || (colon[-1] == ']' && colon - listen > 2));
                if (!host_ok || !end || *end || end == colon + 1 || port < 1 || port > 65535)
                        config_add_error(l, line_of(cf, "metrics", "listen"), "metrics.listen",
                                  "\"%s\" is not HOST:PORT (for example \"127.0.0.1:9464\" or \"[::1]:9464\")",
                                  listen);
        }
        size_t n = strlen(c->metrics_textfile);
        if (usable(l, "metrics.textfile") && n && (c->metrics_textfile[0] != '/' || n < 6 ||
                                                   strcmp(c->metrics_textfile + n - 5, ".prom") != 0))
                config_add_error(l, line_of(cf, "metrics", "textfile"), "metrics.textfile",
                          "must be an absolute path ending in .prom (node_exporter's textfile collector reads "
                          "only those)");
        if (c->metrics_interval_ms < 1000)
                config_add_error(l, line_of(cf, "metrics", "interval"), "metrics.interval",
                          "must be at least 1 s");
}

/* kafka.sasl_password_file: an absolute path, or a name in
 * $CREDENTIALS_DIRECTORY (systemd's LoadCredential=). The password is the
 * file's first line. */
static void read_sasl_password(Loader *l, int line) {
        Config *c = l->config;
        const char *name = c->sasl_password_file, *dir = getenv("CREDENTIALS_DIRECTORY");
        char path[4096];
        if (!name[0] || !usable(l, "kafka.sasl_password_file"))
                return;
        if (name[0] != '/' && (!dir || !dir[0])) {
                config_add_error(l, line, "kafka.sasl_password_file",
                                 "\"%s\" is a credential name, and $CREDENTIALS_DIRECTORY is not set: give an absolute "
                                 "path, or pass it with LoadCredential=%s:/path in the unit",
                                 name, name);
                return;
        }
        snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : dir, name[0] == '/' ? "" : "/", name);
        uint8_t *data = NULL;
        size_t len = 0;
        int r = file_read_at(AT_FDCWD, path, &data, &len);
        if (r < 0) {
                config_add_error(l, line, "kafka.sasl_password_file", "cannot read %s: %s", path, strerror(-r));
                return;
        }
        size_t end = 0;
        while (end < len && data[end] != '\n' && data[end] != '\r' && data[end] != '\0')
                end++;
        if (end == 0)
                config_add_error(l, line, "kafka.sasl_password_file", "%s holds no password on its first line", path);
        else
                c->sasl_password = xstrndup((const char *)data, end);
        explicit_bzero(data, len);
        free(data);
}

void config_validate(Loader *l, const config_t *cf) {
        Config *c = l->config;
        const char *reason;
#define LINE(g, n) line_of(cf, g, n)

        if (!c->brokers[0])
                config_add_error(l, LINE("kafka", "brokers"), "kafka.brokers", "must not be empty");
        if (usable(l, "kafka.topic") && !c->topic[0])
                config_add_error(l, LINE("kafka", "topic"), "kafka.topic", "must not be empty");
        else if (usable(l, "kafka.topic"))
                check_topic_name(l, LINE("kafka", "topic"), "kafka.topic", c->topic);
        if (!c->group_id[0])
                config_add_error(l, LINE("kafka", "group_id"), "kafka.group_id", "must not be empty");
        for (const char *p = strchr(c->group_instance_id, '%'); p; p = strchr(p + 2, '%'))
                if (p[1] != 'H' && p[1] != '%') {
                        config_add_error(l, LINE("kafka", "group_instance_id"), "kafka.group_instance_id",
                                         "\"%%%.1s\" is not a specifier: %%H is the host name, %%%% a %%", p + 1);
                        break;
                }
        validate_input(l, cf);
        if (c->batch.max_messages < 1)
                config_add_error(l, LINE("batch", "max_messages"), "batch.max_messages", "must be at least 1");
        if (usable(l, "batch.max_delay") && c->batch.max_delay_us == 0 && !l->available_now)
                config_add_error(l, LINE("batch", "max_delay"), "batch.max_delay",
                          "must be greater than 0: a quiet stream would hold its open batch forever (only "
                          "--available-now runs without a time bound)");
        if (c->batch.max_bytes < 1)
                config_add_error(l, LINE("batch", "max_bytes"), "batch.max_bytes", "must be at least 1 byte");
        bool duration = usable(l, "window.duration"), slide = usable(l, "window.slide"),
             offset = usable(l, "window.start_offset"), watermark = usable(l, "window.watermark");
        if (duration && c->window.size_ms <= 0)
                config_add_error(l, LINE("window", "duration"), "window.duration", "must be greater than 0");
        else if (duration && slide && (c->window.slide_ms <= 0 || c->window.slide_ms > c->window.size_ms))
                config_add_error(l, LINE("window", "slide"), "window.slide",
                          "must be greater than 0 and not longer than window.duration");
        else if (duration && slide && offset && watermark && (reason = window_spec_check(&c->window)))
                config_add_error(l, LINE("window", "start_offset"), "window.start_offset", "%s", reason);
        else if (duration && slide && window_spec_windows_per_record(&c->window) > 10000)
                config_add_error(l, LINE("window", "slide"), "window.slide",
                          "each record would fall in %" PRIu64 " windows (at most 10000): use a longer slide",
                          window_spec_windows_per_record(&c->window));
        if (watermark && c->window.watermark_delay_ms > MAX_WATERMARK_MS)
                config_add_error(l, LINE("window", "watermark"), "window.watermark",
                          "%" PRId64 " days is more than 365: windows would stay open, and in memory, for that long",
                          c->window.watermark_delay_ms / (24 * 3600 * 1000));
        if (c->max_keys < 1)
                config_add_error(l, LINE("state", "max_keys"), "state.max_keys", "must be at least 1");
        if (c->max_message_bytes < 1)
                config_add_error(l, LINE("limits", "max_message_bytes"), "limits.max_message_bytes", "must be at least 1 byte");
        if (c->changelog_snapshot_interval_ms <= 0)
                config_add_error(l, LINE("state", "changelog_snapshot_interval"), "state.changelog_snapshot_interval",
                          "must be greater than 0");
        if (c->changelog_replication_factor > 32767)
                config_add_error(l, LINE("state", "changelog_replication_factor"), "state.changelog_replication_factor",
                          "must be at most 32767 (0: the broker's default)");
        if (c->checkpoint_interval_ms <= 0)
                config_add_error(l, LINE("state", "checkpoint_interval"), "state.checkpoint_interval", "must be greater than 0");
        if (c->startup_timeout_ms <= 0)
                config_add_error(l, LINE("kafka", "startup_timeout"), "kafka.startup_timeout", "must be greater than 0");
        if (c->format == FORMAT_TABLE && c->sink == SINK_JOURNAL)
                config_add_error(l, LINE("output", "format"), "output.format",
                          "\"table\" applies to the stdout sink only; the journal gets one entry per row");
        check_output_topic(l, LINE("output", "kafka_topic"), "output.kafka_topic", c->output_topic, "results");
        if (usable(l, "output.sink") && usable(l, "output.kafka_topic") && c->sink == SINK_NONE && !c->output_topic[0])
                config_add_error(l, LINE("output", "sink"), "output.sink",
                          "\"none\" needs output.kafka_topic: the results would go nowhere");
        check_output_topic(l, LINE("dead_letter", "topic"), "dead_letter.topic", c->dead_letter_topic, "dead letters");
        check_output_topic(l, LINE("late_data", "topic"), "late_data.topic", c->late_data_topic, "late records");
        check_output_topic(l, LINE("state", "changelog_topic"), "state.changelog_topic", c->changelog_topic,
                           "checkpoints");
        if (usable(l, "state.changelog_topic") && c->changelog_topic[0] &&
            ((usable(l, "output.kafka_topic") && strcmp(c->changelog_topic, c->output_topic) == 0) ||
             (usable(l, "dead_letter.topic") && strcmp(c->changelog_topic, c->dead_letter_topic) == 0) ||
             (usable(l, "late_data.topic") && strcmp(c->changelog_topic, c->late_data_topic) == 0)))
                config_add_error(l, LINE("state", "changelog_topic"), "state.changelog_topic",
                          "must differ from output.kafka_topic, dead_letter.topic and late_data.topic: it holds "
                          "checkpoints only");
        if (c->guarantee == GUARANTEE_EXACTLY_ONCE) {
                /* one transaction holds the rows, the copies, the checkpoint
                 * and the input offsets: each must be in Kafka */
                if (usable(l, "output.kafka_topic") && !c->output_topic[0])
                        config_add_error(l, LINE("output", "guarantee"), "output.guarantee",
                                  "\"exactly_once\" needs output.kafka_topic: the results are what is exactly once");
                if (usable(l, "state.changelog_topic") && !c->changelog_topic[0])
                        config_add_error(l, LINE("output", "guarantee"), "output.guarantee",
                                  "\"exactly_once\" needs state.changelog_topic: the state must be committed in "
                                  "the same transaction as the results and the offsets");
                if (usable(l, "output.sink") && c->sink != SINK_NONE)
                        config_add_error(l, LINE("output", "sink"), "output.sink",
                                  "must be \"none\" with output.guarantee = \"exactly_once\": the journal and "
                                  "stdout take no part in a transaction, so they would show the rows of aborted "
                                  "attempts and repeat rows after a crash");
        }
        validate_metrics(l, cf);
        read_sasl_password(l, LINE("kafka", "sasl_password_file"));
#undef LINE
}
