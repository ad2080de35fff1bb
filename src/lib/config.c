/* config: libconfig parsing and validation of every setting in
 * interfaces.md, driven by one table of known settings. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "units.h"
#include "util.h"

typedef enum Kind { KIND_STRING, KIND_DURATION, KIND_DURATION_US, KIND_SIZE, KIND_COUNT, KIND_ENUM, KIND_PROPERTIES } Kind;

typedef struct Setting {
        const char *group;
        const char *name;
        Kind kind;
        size_t offset;
        const char *const *choices; /* KIND_ENUM: values in enum order */
} Setting;

static const char *const starting_choices[] = { "earliest", "latest", NULL };
static const char *const mode_choices[] = { "update", "append", "complete", NULL };
static const char *const sink_choices[] = { "auto", "stdout", "journal", NULL };
static const char *const format_choices[] = { "json", "table", NULL };
static const char *const level_choices[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL };

#define AT(field) offsetof(Config, field)

static const Setting settings[] = {
        { "kafka", "brokers", KIND_STRING, AT(brokers), NULL },
        { "kafka", "topic", KIND_STRING, AT(topic), NULL },
        { "kafka", "group_id", KIND_STRING, AT(group_id), NULL },
        { "kafka", "starting_offsets", KIND_ENUM, AT(starting_offsets), starting_choices },
        { "kafka", "startup_timeout", KIND_DURATION, AT(startup_timeout_ms), NULL },
        { "kafka", "properties", KIND_PROPERTIES, 0, NULL },
        { "batch", "max_messages", KIND_COUNT, AT(batch.max_messages), NULL },
        { "batch", "max_bytes", KIND_SIZE, AT(batch.max_bytes), NULL },
        { "batch", "max_delay", KIND_DURATION_US, AT(batch.max_delay_us), NULL },
        { "window", "duration", KIND_DURATION, AT(window.size_ms), NULL },
        { "window", "slide", KIND_DURATION, AT(window.slide_ms), NULL },
        { "window", "start_offset", KIND_DURATION, AT(window.offset_ms), NULL },
        { "window", "watermark", KIND_DURATION, AT(window.watermark_delay_ms), NULL },
        { "window", "idle_timeout", KIND_DURATION, AT(idle_timeout_ms), NULL },
        { "output", "mode", KIND_ENUM, AT(mode), mode_choices },
        { "output", "sink", KIND_ENUM, AT(sink), sink_choices },
        { "output", "format", KIND_ENUM, AT(format), format_choices },
        { "output", "kafka_topic", KIND_STRING, AT(output_topic), NULL },
        { "state", "directory", KIND_STRING, AT(state_directory), NULL },
        { "state", "checkpoint_interval", KIND_DURATION, AT(checkpoint_interval_ms), NULL },
        { "state", "max_keys", KIND_COUNT, AT(max_keys), NULL },
        { "limits", "max_message_bytes", KIND_SIZE, AT(max_message_bytes), NULL },
        { "dead_letter", "topic", KIND_STRING, AT(dead_letter_topic), NULL },
        { "log", "level", KIND_ENUM, AT(log_level), level_choices },
};

/* librdkafka properties that sensord sets itself from its own settings or
 * needs fixed for its delivery guarantees. */
static const struct {
        const char *property;
        const char *instead;
} managed_properties[] = {
        { "bootstrap.servers", "kafka.brokers" },
        { "metadata.broker.list", "kafka.brokers" },
        { "group.id", "kafka.group_id" },
        { "auto.offset.reset", "kafka.starting_offsets" },
        { "enable.auto.commit", NULL },
        { "enable.auto.offset.store", NULL },
        { "enable.partition.eof", NULL },
};

typedef struct Loader {
        const char *path;
        ConfigErrors *errors;
        Config *config;
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
                return;
        char **m = realloc(l->errors->messages, (l->errors->n + 1) * sizeof(*m));
        if (!m) {
                free(msg);
                return;
        }
        m[l->errors->n++] = msg;
        l->errors->messages = m;
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

static int set_string(Loader *l, char **field, const char *value) {
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static void load_properties(Loader *l, const config_setting_t *list, const char *path) {
        Config *c = l->config;
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
                        if (strcmp(name, managed_properties[m].property) == 0) {
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
                KafkaProperty *p = realloc(c->properties, (c->n_properties + 1) * sizeof(*p));
                if (!p)
                        break;
                c->properties = p;
                p[c->n_properties] = (KafkaProperty){ strdup(name), strdup(value) };
                c->n_properties++;
        }
        rd_kafka_conf_destroy(probe);
}

static void load_setting(Loader *l, const Setting *def, const config_setting_t *s) {
        char path[64];
        char *base = (char *)l->config;
        int line = setting_line(s), type = config_setting_type(s);
        const char *error = NULL;

        snprintf(path, sizeof(path), "%s.%s", def->group, def->name);

        if (def->kind == KIND_PROPERTIES) {
                load_properties(l, s, path);
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
                if (set_string(l, (char **)(base + def->offset), value) < 0)
                        add_error(l, line, path, "out of memory");
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
        c->brokers = strdup("localhost:9092");
        c->topic = strdup("sensor-data");
        c->group_id = strdup("sensord");
        c->starting_offsets = STARTING_EARLIEST;
        c->startup_timeout_ms = 30000;
        c->batch = (BatchLimits){ .max_messages = 5, .max_bytes = 10240, .max_delay_us = 1000000 };
        c->window = (WindowSpec){ .size_ms = 600000, .slide_ms = 300000, .offset_ms = 0, .watermark_delay_ms = 300000 };
        c->idle_timeout_ms = 0;
        c->mode = OUTPUT_UPDATE;
        c->sink = SINK_AUTO;
        c->format = FORMAT_JSON;
        c->output_topic = strdup("");
        c->state_directory = strdup("/var/lib/sensord");
        c->checkpoint_interval_ms = 5000;
        c->max_keys = 1000000;
        c->max_message_bytes = 65536;
        c->dead_letter_topic = strdup("");
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

/* Cross-setting checks, each reported at the line of the setting at fault. */
static void validate(Loader *l, const config_t *cf) {
        const Config *c = l->config;
        const char *reason;
#define LINE(g, n) line_of(cf, g, n)

        if (!c->brokers[0])
                add_error(l, LINE("kafka", "brokers"), "kafka.brokers", "must not be empty");
        if (!c->topic[0])
                add_error(l, LINE("kafka", "topic"), "kafka.topic", "must not be empty");
        if (!c->group_id[0])
                add_error(l, LINE("kafka", "group_id"), "kafka.group_id", "must not be empty");
        if (c->batch.max_messages < 1)
                add_error(l, LINE("batch", "max_messages"), "batch.max_messages", "must be at least 1");
        if (c->batch.max_bytes < 1)
                add_error(l, LINE("batch", "max_bytes"), "batch.max_bytes", "must be at least 1 byte");
        if (c->window.size_ms <= 0)
                add_error(l, LINE("window", "duration"), "window.duration", "must be greater than 0");
        else if (c->window.slide_ms <= 0 || c->window.slide_ms > c->window.size_ms)
                add_error(l, LINE("window", "slide"), "window.slide",
                          "must be greater than 0 and not longer than window.duration");
        else if ((reason = window_spec_check(&c->window)))
                add_error(l, LINE("window", "start_offset"), "window.start_offset", "%s", reason);
        else if (window_spec_windows_per_record(&c->window) > 10000)
                add_error(l, LINE("window", "slide"), "window.slide",
                          "each record would fall in %" PRIu64 " windows (at most 10000): use a longer slide",
                          window_spec_windows_per_record(&c->window));
        if (c->max_keys < 1)
                add_error(l, LINE("state", "max_keys"), "state.max_keys", "must be at least 1");
        if (c->max_message_bytes < 1)
                add_error(l, LINE("limits", "max_message_bytes"), "limits.max_message_bytes", "must be at least 1 byte");
        if (c->checkpoint_interval_ms <= 0)
                add_error(l, LINE("state", "checkpoint_interval"), "state.checkpoint_interval", "must be greater than 0");
        if (c->startup_timeout_ms <= 0)
                add_error(l, LINE("kafka", "startup_timeout"), "kafka.startup_timeout", "must be greater than 0");
        if (c->format == FORMAT_TABLE && c->sink == SINK_JOURNAL)
                add_error(l, LINE("output", "format"), "output.format",
                          "\"table\" applies to the stdout sink only; the journal gets one entry per row");
        if (c->output_topic[0])
                add_error(l, LINE("output", "kafka_topic"), "output.kafka_topic",
                          "producing results to Kafka is not supported by this version; leave it \"\"");
        if (c->dead_letter_topic[0])
                add_error(l, LINE("dead_letter", "topic"), "dead_letter.topic",
                          "dead-letter output is not supported by this version; leave it \"\"");
#undef LINE
}

int config_load(const char *path, Config **out, ConfigErrors *errors) {
        config_t cf;
        Loader l = { .path = path, .errors = errors };
        int r = -EINVAL;

        *errors = (ConfigErrors){ 0 };
        l.config = calloc(1, sizeof(Config));
        if (!l.config)
                return -ENOMEM;
        set_defaults(l.config);
        l.config->path = strdup(path);

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
                        known_group |= strcmp(settings[i].group, gname) == 0;
                if (!known_group) {
                        add_error(&l, setting_line(group), gname,
                                  "unknown setting (groups are kafka, batch, window, output, state, limits, "
                                  "dead_letter, log)");
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
                                if (strcmp(settings[i].group, gname) == 0 &&
                                    strcmp(settings[i].name, config_setting_name(s)) == 0)
                                        def = &settings[i];
                        if (!def) {
                                char spath[128];
                                snprintf(spath, sizeof(spath), "%s.%s", gname, config_setting_name(s));
                                add_error(&l, setting_line(s), spath, "unknown setting");
                                continue;
                        }
                        load_setting(&l, def, s);
                }
        }
        if (errors->n == 0)
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

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->brokers);
        free(c->topic);
        free(c->group_id);
        for (size_t i = 0; i < c->n_properties; i++) {
                free(c->properties[i].name);
                free(c->properties[i].value);
        }
        free(c->properties);
        free(c->output_topic);
        free(c->state_directory);
        free(c->dead_letter_topic);
        free(c);
        return NULL;
}

const char *config_restart_required(const Config *a, const Config *b) {
        if (strcmp(a->brokers, b->brokers) != 0)
                return "kafka.brokers";
        if (strcmp(a->topic, b->topic) != 0)
                return "kafka.topic";
        if (strcmp(a->group_id, b->group_id) != 0)
                return "kafka.group_id";
        if (a->starting_offsets != b->starting_offsets)
                return "kafka.starting_offsets";
        if (a->n_properties != b->n_properties)
                return "kafka.properties";
        for (size_t i = 0; i < a->n_properties; i++)
                if (strcmp(a->properties[i].name, b->properties[i].name) != 0 ||
                    strcmp(a->properties[i].value, b->properties[i].value) != 0)
                        return "kafka.properties";
        if (a->window.size_ms != b->window.size_ms)
                return "window.duration";
        if (a->window.slide_ms != b->window.slide_ms)
                return "window.slide";
        if (a->window.offset_ms != b->window.offset_ms)
                return "window.start_offset";
        if (a->window.watermark_delay_ms != b->window.watermark_delay_ms)
                return "window.watermark";
        if (strcmp(a->state_directory, b->state_directory) != 0)
                return "state.directory";
        return NULL;
}

const char *output_mode_to_string(OutputMode mode) {
        return mode_choices[mode];
}
