/* config: libconfig parsing and validation of every setting in
 * interfaces.md, driven by one table of known settings. */
#include "lib/config/config.h"

#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "lib/text/units.h"

typedef enum Kind { KIND_STRING, KIND_DURATION, KIND_DURATION_US, KIND_SIZE, KIND_COUNT, KIND_ENUM, KIND_PROPERTIES } Kind;

/* One row per setting: how it is read, where it goes, and whether a reload
 * (SIGHUP) may apply a change to it. A setting is restart-only when a change
 * would alter the meaning of state or output that already exists: the
 * consumer's identity, the window geometry, the output mode (switching to
 * complete after windows were evicted would print an incomplete table), the
 * state directory, the producer topics. */
typedef struct Setting {
        const char *path; /* "group.name" */
        Kind kind;
        size_t offset;
        const char *const *choices; /* KIND_ENUM: values in enum order */
        ConfigReload reload;
} Setting;

static const char *const starting_choices[] = { "earliest", "latest", NULL };
static const char *const mode_choices[] = { "update", "append", "complete", NULL };
static const char *const sink_choices[] = { "auto", "stdout", "journal", "none", NULL };
static const char *const format_choices[] = { "json", "table", NULL };
static const char *const scope_choices[] = { "process", "partition", NULL };
static const char *const level_choices[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL };

#define AT(field) offsetof(Config, field)
#define LIVE CONFIG_RELOAD_LIVE
#define RESTART CONFIG_RELOAD_RESTART

static const Setting settings[] = {
        { "kafka.brokers", KIND_STRING, AT(brokers), NULL, RESTART },
        { "kafka.topic", KIND_STRING, AT(topic), NULL, RESTART },
        { "kafka.group_id", KIND_STRING, AT(group_id), NULL, RESTART },
        { "kafka.starting_offsets", KIND_ENUM, AT(starting_offsets), starting_choices, RESTART },
        { "kafka.startup_timeout", KIND_DURATION, AT(startup_timeout_ms), NULL, LIVE },
        { "kafka.properties", KIND_PROPERTIES, AT(properties), NULL, RESTART },
        { "input.sensor_id", KIND_STRING, AT(input_sensor_id), NULL, RESTART },
        { "input.value", KIND_STRING, AT(input_value), NULL, RESTART },
        { "input.timestamp", KIND_STRING, AT(input_timestamp), NULL, RESTART },
        { "input.timestamp_format", KIND_ENUM, AT(input_timestamp_format), record_timestamp_formats, RESTART },
        { "batch.max_messages", KIND_COUNT, AT(batch.max_messages), NULL, LIVE },
        { "batch.max_bytes", KIND_SIZE, AT(batch.max_bytes), NULL, LIVE },
        { "batch.max_delay", KIND_DURATION_US, AT(batch.max_delay_us), NULL, LIVE },
        { "window.duration", KIND_DURATION, AT(window.size_ms), NULL, RESTART },
        { "window.slide", KIND_DURATION, AT(window.slide_ms), NULL, RESTART },
        { "window.start_offset", KIND_DURATION, AT(window.offset_ms), NULL, RESTART },
        { "window.watermark", KIND_DURATION, AT(window.watermark_delay_ms), NULL, RESTART },
        { "window.idle_timeout", KIND_DURATION, AT(idle_timeout_ms), NULL, LIVE },
        { "window.watermark_scope", KIND_ENUM, AT(watermark_scope), scope_choices, RESTART },
        { "window.max_future", KIND_DURATION, AT(max_future_ms), NULL, LIVE },
        { "output.mode", KIND_ENUM, AT(mode), mode_choices, RESTART },
        { "output.sink", KIND_ENUM, AT(sink), sink_choices, LIVE },
        { "output.format", KIND_ENUM, AT(format), format_choices, LIVE },
        { "output.kafka_topic", KIND_STRING, AT(output_topic), NULL, RESTART },
        { "output.kafka_properties", KIND_PROPERTIES, AT(output_properties), NULL, RESTART },
        { "state.directory", KIND_STRING, AT(state_directory), NULL, RESTART },
        { "state.checkpoint_interval", KIND_DURATION, AT(checkpoint_interval_ms), NULL, LIVE },
        { "state.changelog_topic", KIND_STRING, AT(changelog_topic), NULL, RESTART },
        { "state.changelog_snapshot_interval", KIND_DURATION, AT(changelog_snapshot_interval_ms), NULL, RESTART },
        { "state.max_keys", KIND_COUNT, AT(max_keys), NULL, LIVE },
        { "limits.max_message_bytes", KIND_SIZE, AT(max_message_bytes), NULL, LIVE },
        { "dead_letter.topic", KIND_STRING, AT(dead_letter_topic), NULL, RESTART },
        { "late_data.topic", KIND_STRING, AT(late_data_topic), NULL, RESTART },
        { "metrics.listen", KIND_STRING, AT(metrics_listen), NULL, RESTART },
        { "metrics.textfile", KIND_STRING, AT(metrics_textfile), NULL, RESTART },
        { "metrics.interval", KIND_DURATION, AT(metrics_interval_ms), NULL, LIVE },
        { "log.level", KIND_ENUM, AT(log_level), level_choices, LIVE },
};

/* True when def belongs to the group named gname. */
static bool in_group(const Setting *def, const char *gname) {
        size_t n = strlen(gname);
        return strncmp(def->path, gname, n) == 0 && def->path[n] == '.';
}

static const char *setting_name(const Setting *def) {
        return strchr(def->path, '.') + 1;
}

/* librdkafka properties that sensord sets itself from its own settings or
 * needs fixed for its delivery guarantees, in the consumer's list
 * (kafka.properties) or the producer's (output.kafka_properties). */
static const struct {
        bool consumer, producer;
        const char *property;
        const char *instead;
} managed_properties[] = {
        { true, true, "bootstrap.servers", "kafka.brokers" },
        { true, true, "metadata.broker.list", "kafka.brokers" },
        { true, false, "group.id", "kafka.group_id" },
        { true, false, "auto.offset.reset", "kafka.starting_offsets" },
        { true, false, "enable.auto.commit", NULL },
        { true, false, "enable.auto.offset.store", NULL },
        { true, false, "enable.partition.eof", NULL },
        /* a retried row must not be written twice */
        { false, true, "enable.idempotence", NULL },
};

typedef struct Loader {
        const char *path;
        ConfigErrors *errors;
        Config *config;
        bool bad[ARRAY_SIZE(settings)]; /* its value was refused: relations to it are not checked */
        bool available_now;
} Loader;

void config_errors_clear(ConfigErrors *errors) {
        for (size_t i = 0; i < errors->n; i++)
                free(errors->messages[i]);
        free(errors->messages);
        *errors = (ConfigErrors){ 0 };
}

__attribute__((format(printf, 4, 5))) static void add_error(Loader *l, int line, const char *setting,
                                                            const char *fmt, ...) {
        char text[512], *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (asprintf(&msg, "%s:%d: %s%s%s", l->path, line, setting ? setting : "", setting ? ": " : "", text) < 0)
                oom();
        l->errors->messages = xrealloc(l->errors->messages, (l->errors->n + 1) * sizeof(*l->errors->messages));
        l->errors->messages[l->errors->n++] = msg;
}

static int setting_line(const config_setting_t *s) {
        return (int)config_setting_source_line(s);
}

static const char *type_name(int type) {
        switch (type) {
        case CONFIG_TYPE_GROUP:
                return "a group";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "an integer";
        case CONFIG_TYPE_FLOAT:
                return "a floating-point number";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        case CONFIG_TYPE_ARRAY:
                return "an array";
        case CONFIG_TYPE_LIST:
                return "a list";
        default:
                return "something else";
        }
}

static void set_string(char **field, const char *value) {
        free(*field);
        *field = xstrdup(value);
}

static void load_properties(Loader *l, const config_setting_t *list, const char *path, KafkaProperties *props) {
        bool producer = strcmp(path, "kafka.properties") != 0;
        int n = config_setting_length(list);
        if (config_setting_type(list) != CONFIG_TYPE_LIST) {
                add_error(l, setting_line(list), path, "must be a list of (\"name\", \"value\") pairs, not %s",
                          type_name(config_setting_type(list)));
                return;
        }
        rd_kafka_conf_t *probe = rd_kafka_conf_new();
        for (int i = 0; i < n; i++) {
                const config_setting_t *pair = config_setting_get_elem(list, (unsigned)i);
                const config_setting_t *k = config_setting_get_elem(pair, 0), *v = config_setting_get_elem(pair, 1);
                int line = setting_line(pair);
                if ((config_setting_type(pair) != CONFIG_TYPE_LIST && config_setting_type(pair) != CONFIG_TYPE_ARRAY) ||
                    config_setting_length(pair) != 2 || config_setting_type(k) != CONFIG_TYPE_STRING ||
                    config_setting_type(v) != CONFIG_TYPE_STRING) {
                        add_error(l, line, path, "entry %d must be a pair of strings (\"name\", \"value\")", i + 1);
                        continue;
                }
                const char *name = config_setting_get_string(k), *value = config_setting_get_string(v);
                bool managed = false;
                for (size_t m = 0; m < ARRAY_SIZE(managed_properties); m++)
                        if ((producer ? managed_properties[m].producer : managed_properties[m].consumer) &&
                            strcmp(name, managed_properties[m].property) == 0) {
                                if (managed_properties[m].instead)
                                        add_error(l, line, path, "'%s' is set by %s", name,
                                                  managed_properties[m].instead);
                                else
                                        add_error(l, line, path, "'%s' is managed by sensord and cannot be set",
                                                  name);
                                managed = true;
                        }
                if (managed)
                        continue;
                char errstr[256];
                if (rd_kafka_conf_set(probe, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                        add_error(l, line, path, "%s", errstr);
                        continue;
                }
                props->items = xrealloc(props->items, (props->n + 1) * sizeof(*props->items));
                props->items[props->n++] = (KafkaProperty){ xstrdup(name), xstrdup(value) };
        }
        rd_kafka_conf_destroy(probe);
}

static void load_setting(Loader *l, const Setting *def, const config_setting_t *s) {
        const char *path = def->path;
        char *base = (char *)l->config;
        int line = setting_line(s), type = config_setting_type(s);
        const char *error = NULL;

        if (def->kind == KIND_PROPERTIES) {
                load_properties(l, s, path, (KafkaProperties *)(base + def->offset));
                return;
        }
        if (def->kind == KIND_COUNT || def->kind == KIND_SIZE) {
                if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
                        long long v = config_setting_get_int64(s);
                        if (v < 0) {
                                add_error(l, line, path, "must not be negative");
                                return;
                        }
                        *(uint64_t *)(base + def->offset) = (uint64_t)v;
                        return;
                }
                if (def->kind == KIND_COUNT || type != CONFIG_TYPE_STRING) {
                        add_error(l, line, path, "must be %s, not %s",
                                  def->kind == KIND_COUNT ? "an integer" : "an integer or a string such as \"10 KiB\"",
                                  type_name(type));
                        return;
                }
                if (parse_size(config_setting_get_string(s), (uint64_t *)(base + def->offset), &error) < 0)
                        add_error(l, line, path, "\"%s\": %s", config_setting_get_string(s), error);
                return;
        }
        if (type != CONFIG_TYPE_STRING) {
                add_error(l, line, path, "must be a string%s, not %s",
                          def->kind == KIND_DURATION || def->kind == KIND_DURATION_US ? " such as \"5 minutes\"" : "", type_name(type));
                return;
        }
        const char *value = config_setting_get_string(s);
        switch (def->kind) {
        case KIND_STRING:
                set_string((char **)(base + def->offset), value);
                break;
        case KIND_DURATION:
        case KIND_DURATION_US: {
                int64_t ms;
                if (parse_duration_ms(value, &ms, &error) < 0)
                        add_error(l, line, path, "\"%s\": %s", value, error);
                else if (def->kind == KIND_DURATION_US && ms > INT64_MAX / 1000)
                        add_error(l, line, path, "\"%s\": duration out of range", value);
                else if (def->kind == KIND_DURATION_US)
                        *(uint64_t *)(base + def->offset) = (uint64_t)ms * 1000;
                else
                        *(int64_t *)(base + def->offset) = ms;
                break;
        }
        case KIND_ENUM: {
                for (int i = 0; def->choices[i]; i++)
                        if (strcmp(value, def->choices[i]) == 0) {
                                *(int *)(base + def->offset) = i;
                                return;
                        }
                char list[128] = "";
                for (int i = 0; def->choices[i]; i++) {
                        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
                        strncat(list, def->choices[i], sizeof(list) - strlen(list) - 1);
                }
                add_error(l, line, path, "\"%s\" is not one of: %s", value, list);
                break;
        }
        default:
                break;
        }
}

static void set_defaults(Config *c) {
        c->brokers = xstrdup("localhost:9092");
        c->topic = xstrdup("sensor-data");
        c->group_id = xstrdup("sensord");
        c->starting_offsets = STARTING_EARLIEST;
        c->startup_timeout_ms = 30000;
        c->input_sensor_id = xstrdup("sensor_id");
        c->input_value = xstrdup("value");
        c->input_timestamp = xstrdup("timestamp");
        c->input_timestamp_format = TIMESTAMP_RFC3339;
        c->batch = (BatchLimits){ .max_messages = 5, .max_bytes = 10240, .max_delay_us = 1000000 };
        c->window = (WindowSpec){ .size_ms = 600000, .slide_ms = 300000, .offset_ms = 0, .watermark_delay_ms = 300000 };
        c->idle_timeout_ms = 0;
        c->mode = OUTPUT_UPDATE;
        c->sink = SINK_AUTO;
        c->format = FORMAT_JSON;
        c->output_topic = xstrdup("");
        c->state_directory = xstrdup("/var/lib/sensord");
        c->checkpoint_interval_ms = 5000;
        c->changelog_topic = xstrdup("");
        c->changelog_snapshot_interval_ms = 3600 * 1000;
        c->max_keys = 1000000;
        c->max_message_bytes = 65536;
        c->dead_letter_topic = xstrdup("");
        c->late_data_topic = xstrdup("");
        c->metrics_listen = xstrdup("");
        c->metrics_textfile = xstrdup("");
        c->metrics_interval_ms = 15000;
        c->log_level = LOG_INFO;
}

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
        for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
                if (strcmp(settings[i].path, path) == 0)
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
                add_error(l, line, path, "\"%.40s%s\" %s", topic, strlen(topic) > 40 ? "..." : "", reason);
        return !reason;
}

/* A topic sensord writes to ("" is off): a legal name, and not the topic it
 * reads, which would feed its own `what` back to it. */
static void check_output_topic(Loader *l, int line, const char *path, const char *topic, const char *what) {
        if (usable(l, path) && topic[0] && check_topic_name(l, line, path, topic) &&
            strcmp(topic, l->config->topic) == 0)
                add_error(l, line, path, "must differ from kafka.topic: sensord would read its own %s", what);
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
                        add_error(l, line_of(cf, "input", record_field_name((RecordField)f)), setting, "%s", error);
                        ok = false;
                }
        }
        c->input.timestamp_format = (TimestampFormat)c->input_timestamp_format;
        if (ok && record_shape_check(&c->input, error) < 0)
                add_error(l, line_of(cf, "input", "timestamp"), "input", "%s", error);
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
                        add_error(l, line_of(cf, "metrics", "listen"), "metrics.listen",
                                  "\"%s\" is not HOST:PORT (for example \"127.0.0.1:9464\" or \"[::1]:9464\")",
                                  listen);
        }
        size_t n = strlen(c->metrics_textfile);
        if (usable(l, "metrics.textfile") && n && (c->metrics_textfile[0] != '/' || n < 6 ||
                                                   strcmp(c->metrics_textfile + n - 5, ".prom") != 0))
                add_error(l, line_of(cf, "metrics", "textfile"), "metrics.textfile",
                          "must be an absolute path ending in .prom (node_exporter's textfile collector reads "
                          "only those)");
        if (c->metrics_interval_ms < 1000)
                add_error(l, line_of(cf, "metrics", "interval"), "metrics.interval",
                          "must be at least 1 s");
}

/* Checks of values and of relations between settings, each reported at the
 * line of the setting at fault; run even when other settings were refused,
 * so that one pass reports every mistake. */
static void validate(Loader *l, const config_t *cf) {
        Config *c = l->config;
        const char *reason;
#define LINE(g, n) line_of(cf, g, n)

        if (!c->brokers[0])
                add_error(l, LINE("kafka", "brokers"), "kafka.brokers", "must not be empty");
        if (usable(l, "kafka.topic") && !c->topic[0])
                add_error(l, LINE("kafka", "topic"), "kafka.topic", "must not be empty");
        else if (usable(l, "kafka.topic"))
                check_topic_name(l, LINE("kafka", "topic"), "kafka.topic", c->topic);
        if (!c->group_id[0])
                add_error(l, LINE("kafka", "group_id"), "kafka.group_id", "must not be empty");
        validate_input(l, cf);
        if (c->batch.max_messages < 1)
                add_error(l, LINE("batch", "max_messages"), "batch.max_messages", "must be at least 1");
        if (usable(l, "batch.max_delay") && c->batch.max_delay_us == 0 && !l->available_now)
                add_error(l, LINE("batch", "max_delay"), "batch.max_delay",
                          "must be greater than 0: a quiet stream would hold its open batch forever (only "
                          "--available-now runs without a time bound)");
        if (c->batch.max_bytes < 1)
                add_error(l, LINE("batch", "max_bytes"), "batch.max_bytes", "must be at least 1 byte");
        bool duration = usable(l, "window.duration"), slide = usable(l, "window.slide"),
             offset = usable(l, "window.start_offset"), watermark = usable(l, "window.watermark");
        if (duration && c->window.size_ms <= 0)
                add_error(l, LINE("window", "duration"), "window.duration", "must be greater than 0");
        else if (duration && slide && (c->window.slide_ms <= 0 || c->window.slide_ms > c->window.size_ms))
                add_error(l, LINE("window", "slide"), "window.slide",
                          "must be greater than 0 and not longer than window.duration");
        else if (duration && slide && offset && watermark && (reason = window_spec_check(&c->window)))
                add_error(l, LINE("window", "start_offset"), "window.start_offset", "%s", reason);
        else if (duration && slide && window_spec_windows_per_record(&c->window) > 10000)
                add_error(l, LINE("window", "slide"), "window.slide",
                          "each record would fall in %" PRIu64 " windows (at most 10000): use a longer slide",
                          window_spec_windows_per_record(&c->window));
        if (watermark && c->window.watermark_delay_ms > MAX_WATERMARK_MS)
                add_error(l, LINE("window", "watermark"), "window.watermark",
                          "%" PRId64 " days is more than 365: windows would stay open, and in memory, for that long",
                          c->window.watermark_delay_ms / (24 * 3600 * 1000));
        if (c->max_keys < 1)
                add_error(l, LINE("state", "max_keys"), "state.max_keys", "must be at least 1");
        if (c->max_message_bytes < 1)
                add_error(l, LINE("limits", "max_message_bytes"), "limits.max_message_bytes", "must be at least 1 byte");
        if (c->changelog_snapshot_interval_ms <= 0)
                add_error(l, LINE("state", "changelog_snapshot_interval"), "state.changelog_snapshot_interval",
                          "must be greater than 0");
        if (c->checkpoint_interval_ms <= 0)
                add_error(l, LINE("state", "checkpoint_interval"), "state.checkpoint_interval", "must be greater than 0");
        if (c->startup_timeout_ms <= 0)
                add_error(l, LINE("kafka", "startup_timeout"), "kafka.startup_timeout", "must be greater than 0");
        if (c->format == FORMAT_TABLE && c->sink == SINK_JOURNAL)
                add_error(l, LINE("output", "format"), "output.format",
                          "\"table\" applies to the stdout sink only; the journal gets one entry per row");
        check_output_topic(l, LINE("output", "kafka_topic"), "output.kafka_topic", c->output_topic, "results");
        if (usable(l, "output.sink") && usable(l, "output.kafka_topic") && c->sink == SINK_NONE && !c->output_topic[0])
                add_error(l, LINE("output", "sink"), "output.sink",
                          "\"none\" needs output.kafka_topic: the results would go nowhere");
        check_output_topic(l, LINE("dead_letter", "topic"), "dead_letter.topic", c->dead_letter_topic, "dead letters");
        check_output_topic(l, LINE("late_data", "topic"), "late_data.topic", c->late_data_topic, "late records");
        check_output_topic(l, LINE("state", "changelog_topic"), "state.changelog_topic", c->changelog_topic,
                           "checkpoints");
        if (usable(l, "state.changelog_topic") && c->changelog_topic[0] &&
            ((usable(l, "output.kafka_topic") && strcmp(c->changelog_topic, c->output_topic) == 0) ||
             (usable(l, "dead_letter.topic") && strcmp(c->changelog_topic, c->dead_letter_topic) == 0) ||
             (usable(l, "late_data.topic") && strcmp(c->changelog_topic, c->late_data_topic) == 0)))
                add_error(l, LINE("state", "changelog_topic"), "state.changelog_topic",
                          "must differ from output.kafka_topic, dead_letter.topic and late_data.topic: it holds "
                          "checkpoints only");
        validate_metrics(l, cf);
#undef LINE
}

int config_load(const char *path, bool available_now, Config **out, ConfigErrors *errors) {
        config_t cf;
        Loader l = { .path = path, .errors = errors, .available_now = available_now };
        int r = -EINVAL;

        *errors = (ConfigErrors){ 0 };
        l.config = xcalloc(1, sizeof(Config));
        set_defaults(l.config);
        l.config->path = xstrdup(path);

        config_init(&cf);
        if (config_read_file(&cf, path) != CONFIG_TRUE) {
                if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
                        add_error(&l, 0, NULL, "cannot read the file: %s", strerror(errno));
                else
                        add_error(&l, config_error_line(&cf), NULL, "%s", config_error_text(&cf));
                goto finish;
        }

        const config_setting_t *root = config_root_setting(&cf);
        for (int g = 0; g < config_setting_length(root); g++) {
                const config_setting_t *group = config_setting_get_elem(root, (unsigned)g);
                const char *gname = config_setting_name(group);
                bool known_group = false;
                for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
                        known_group |= in_group(&settings[i], gname);
                if (!known_group) {
                        add_error(&l, setting_line(group), gname,
                                  "unknown setting (groups are kafka, input, batch, window, output, state, "
                                  "limits, dead_letter, late_data, metrics, log)");
                        continue;
                }
                if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
                        add_error(&l, setting_line(group), gname, "must be a group { ... }, not %s",
                                  type_name(config_setting_type(group)));
                        continue;
                }
                for (int k = 0; k < config_setting_length(group); k++) {
                        const config_setting_t *s = config_setting_get_elem(group, (unsigned)k);
                        const Setting *def = NULL;
                        for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
                                if (in_group(&settings[i], gname) &&
                                    strcmp(setting_name(&settings[i]), config_setting_name(s)) == 0)
                                        def = &settings[i];
                        if (!def) {
                                char spath[128];
                                snprintf(spath, sizeof(spath), "%s.%s", gname, config_setting_name(s));
                                add_error(&l, setting_line(s), spath, "unknown setting");
                                continue;
                        }
                        size_t before = errors->n;
                        load_setting(&l, def, s);
                        l.bad[def - settings] |= errors->n > before;
                }
        }
        validate(&l, &cf);
        if (errors->n == 0) {
                *out = l.config;
                l.config = NULL;
                r = 0;
        }
finish:
        config_destroy(&cf);
        config_free(l.config);
        return r;
}

static void properties_free(KafkaProperties *props) {
        for (size_t i = 0; i < props->n; i++) {
                free(props->items[i].name);
                free(props->items[i].value);
        }
        free(props->items);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->brokers);
        free(c->topic);
        free(c->group_id);
        properties_free(&c->properties);
        free(c->input_sensor_id);
        free(c->input_value);
        free(c->input_timestamp);
        properties_free(&c->output_properties);
        free(c->output_topic);
        free(c->state_directory);
        free(c->changelog_topic);
        free(c->dead_letter_topic);
        free(c->late_data_topic);
        free(c->metrics_listen);
        free(c->metrics_textfile);
        free(c);
        return NULL;
}

static bool properties_equal(const KafkaProperties *a, const KafkaProperties *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->items[i].name, b->items[i].name) != 0 || strcmp(a->items[i].value, b->items[i].value) != 0)
                        return false;
        return true;
}

static bool setting_equal(const Setting *def, const Config *a, const Config *b) {
        const char *x = (const char *)a + def->offset, *y = (const char *)b + def->offset;
        switch (def->kind) {
        case KIND_STRING:
                return strcmp(*(char *const *)x, *(char *const *)y) == 0;
        case KIND_DURATION:
                return *(const int64_t *)x == *(const int64_t *)y;
        case KIND_DURATION_US:
        case KIND_SIZE:
        case KIND_COUNT:
                return *(const uint64_t *)x == *(const uint64_t *)y;
        case KIND_ENUM:
                return *(const int *)x == *(const int *)y;
        case KIND_PROPERTIES:
                return properties_equal((const KafkaProperties *)x, (const KafkaProperties *)y);
        }
        return false;
}

const char *config_restart_required(const Config *a, const Config *b) {
        for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
                if (settings[i].reload == CONFIG_RELOAD_RESTART && !setting_equal(&settings[i], a, b))
                        return settings[i].path;
        return NULL;
}

size_t config_settings_count(void) {
        return ARRAY_SIZE(settings);
}

const char *config_setting_path(size_t i) {
        return i < ARRAY_SIZE(settings) ? settings[i].path : NULL;
}

ConfigReload config_setting_reload(size_t i) {
        return settings[i].reload;
}

void config_format_setting(const Config *c, size_t i, char *buf, size_t size) {
        const Setting *def = &settings[i];
        const char *field = (const char *)c + def->offset;
        char text[64];
        switch (def->kind) {
        case KIND_STRING:
                snprintf(buf, size, "\"%s\"", *(char *const *)field);
                break;
        case KIND_DURATION:
                snprintf(buf, size, "\"%s\"", format_duration(*(const int64_t *)field, text, sizeof(text)));
                break;
        case KIND_DURATION_US: /* read in whole milliseconds */
                snprintf(buf, size, "\"%s\"",
                         format_duration((int64_t)(*(const uint64_t *)field / 1000), text, sizeof(text)));
                break;
        case KIND_SIZE:
                snprintf(buf, size, "\"%s\"", format_size(*(const uint64_t *)field, text, sizeof(text)));
                break;
        case KIND_COUNT:
                snprintf(buf, size, "%" PRIu64, *(const uint64_t *)field);
                break;
        case KIND_ENUM:
                snprintf(buf, size, "\"%s\"", def->choices[*(const int *)field]);
                break;
        case KIND_PROPERTIES: {
                const KafkaProperties *props = (const KafkaProperties *)field;
                size_t n = (size_t)snprintf(buf, size, "(");
                for (size_t k = 0; k < props->n && n < size; k++)
                        n += (size_t)snprintf(buf + n, size - n, "%s(\"%s\", \"%s\")", k ? ", " : " ",
                                              props->items[k].name, props->items[k].value);
                if (n < size)
                        snprintf(buf + n, size - n, " )");
                break;
        }
        }
}

const char *output_mode_to_string(OutputMode mode) {
        return mode_choices[mode];
}
