/* config: a configuration file read with libconfig against the table of
 * known settings (config_settings.c): each value converted and stored,
 * unknown settings refused, then the checks of config_validate.c. */
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
#include "lib/config/config_internal.h"
#include "lib/text/units.h"

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
        /* per host: a "%H" in one shared file gives each its own */
        { true, false, "group.instance.id", "kafka.group_instance_id" },
        { true, false, "auto.offset.reset", "kafka.starting_offsets" },
        { true, false, "enable.auto.commit", NULL },
        { true, false, "enable.auto.offset.store", NULL },
        { true, false, "enable.partition.eof", NULL },
        /* a secret does not belong in a file that --check-config -v prints */
        { true, true, "sasl.password", "kafka.sasl_password_file" },
        /* a retried row must not be written twice */
        { false, true, "enable.idempotence", NULL },
        /* one per host, stable across restarts, so that a restart fences
         * its predecessor's transaction */
        { false, true, "transactional.id", "output.guarantee" },
};

void config_errors_clear(ConfigErrors *errors) {
        for (size_t i = 0; i < errors->n; i++)
                free(errors->messages[i]);
        free(errors->messages);
        *errors = (ConfigErrors){ 0 };
}

void config_add_error(Loader *l, int line, const char *setting,
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
                config_add_error(l, setting_line(list), path, "must be a list of (\"name\", \"value\") pairs, not %s",
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
                        config_add_error(l, line, path, "entry %d must be a pair of strings (\"name\", \"value\")", i + 1);
                        continue;
                }
                const char *name = config_setting_get_string(k), *value = config_setting_get_string(v);
                bool managed = false;
                for (size_t m = 0; m < ARRAY_SIZE(managed_properties); m++)
                        if ((producer ? managed_properties[m].producer : managed_properties[m].consumer) &&
                            strcmp(name, managed_properties[m].property) == 0) {
                                if (managed_properties[m].instead)
                                        config_add_error(l, line, path, "'%s' is set by %s", name,
                                                  managed_properties[m].instead);
                                else
                                        config_add_error(l, line, path, "'%s' is managed by sensord and cannot be set",
                                                  name);
                                managed = true;
                        }
                if (managed)
                        continue;
                char errstr[256];
                if (rd_kafka_conf_set(probe, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                        config_add_error(l, line, path, "%s", errstr);
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
                                config_add_error(l, line, path, "must not be negative");
                                return;
                        }
                        *(uint64_t *)(base + def->offset) = (uint64_t)v;
                        return;
                }
                if (def->kind == KIND_COUNT || type != CONFIG_TYPE_STRING) {
                        config_add_error(l, line, path, "must be %s, not %s",
                                  def->kind == KIND_COUNT ? "an integer" : "an integer or a string such as \"10 KiB\"",
                                  type_name(type));
                        return;
                }
                if (parse_size(config_setting_get_string(s), (uint64_t *)(base + def->offset), &error) < 0)
                        config_add_error(l, line, path, "\"%s\": %s", config_setting_get_string(s), error);
                return;
        }
        if (type != CONFIG_TYPE_STRING) {
                config_add_error(l, line, path, "must be a string%s, not %s",
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
                        config_add_error(l, line, path, "\"%s\": %s", value, error);
                else if (def->kind == KIND_DURATION_US && ms > INT64_MAX / 1000)
                        config_add_error(l, line, path, "\"%s\": duration out of range", value);
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
                config_add_error(l, line, path, "\"%s\" is not one of: %s", value, list);
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
        c->sasl_password_file = xstrdup("");
        c->group_instance_id = xstrdup("");
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
                        config_add_error(&l, 0, NULL, "cannot read the file: %s", strerror(errno));
                else
                        config_add_error(&l, config_error_line(&cf), NULL, "%s", config_error_text(&cf));
                goto finish;
        }

        const config_setting_t *root = config_root_setting(&cf);
        for (int g = 0; g < config_setting_length(root); g++) {
                const config_setting_t *group = config_setting_get_elem(root, (unsigned)g);
                const char *gname = config_setting_name(group);
                bool known_group = false;
                for (size_t i = 0; i < CONFIG_SETTINGS_N; i++)
                        known_group |= in_group(&config_settings[i], gname);
                if (!known_group) {
                        config_add_error(&l, setting_line(group), gname,
                                  "unknown setting (groups are kafka, input, batch, window, output, state, "
                                  "limits, dead_letter, late_data, metrics, log)");
                        continue;
                }
                if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
                        config_add_error(&l, setting_line(group), gname, "must be a group { ... }, not %s",
                                  type_name(config_setting_type(group)));
                        continue;
                }
                for (int k = 0; k < config_setting_length(group); k++) {
                        const config_setting_t *s = config_setting_get_elem(group, (unsigned)k);
                        const Setting *def = NULL;
                        for (size_t i = 0; i < CONFIG_SETTINGS_N; i++)
                                if (in_group(&config_settings[i], gname) &&
                                    strcmp(setting_name(&config_settings[i]), config_setting_name(s)) == 0)
                                        def = &config_settings[i];
                        if (!def) {
                                char spath[128];
                                snprintf(spath, sizeof(spath), "%s.%s", gname, config_setting_name(s));
                                config_add_error(&l, setting_line(s), spath, "unknown setting");
                                continue;
                        }
                        size_t before = errors->n;
                        load_setting(&l, def, s);
                        l.bad[def - config_settings] |= errors->n > before;
                }
        }
        config_validate(&l, &cf);
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
        free(c->sasl_password_file);
        free(c->group_instance_id);
        if (c->sasl_password) {
                explicit_bzero(c->sasl_password, strlen(c->sasl_password));
                free(c->sasl_password);
        }
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
