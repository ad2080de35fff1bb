/* config_settings: the table of every setting in interfaces.md (how it is
 * read, where it goes, whether a reload may change it) and what is read
 * off it: the restart-only settings a reload changed, and each setting's
 * value as text. */
#include "lib/config/config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/util.h"
#include "lib/config/config_internal.h"
#include "lib/text/units.h"

static const char *const starting_choices[] = { "earliest", "latest", NULL };
static const char *const mode_choices[] = { "update", "append", "complete", NULL };
static const char *const sink_choices[] = { "auto", "stdout", "journal", "none", NULL };
static const char *const format_choices[] = { "json", "table", NULL };
static const char *const scope_choices[] = { "process", "partition", NULL };
static const char *const lost_state_choices[] = { "hold", "rebuild", NULL };
static const char *const guarantee_choices[] = { "at_least_once", "exactly_once", NULL };
static const char *const level_choices[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL };

#define AT(field) offsetof(Config, field)
#define LIVE CONFIG_RELOAD_LIVE
#define RESTART CONFIG_RELOAD_RESTART

const Setting config_settings[] = {
        { "kafka.brokers", KIND_STRING, AT(brokers), NULL, RESTART },
        { "kafka.topic", KIND_STRING, AT(topic), NULL, RESTART },
        { "kafka.group_id", KIND_STRING, AT(group_id), NULL, RESTART },
        { "kafka.starting_offsets", KIND_ENUM, AT(starting_offsets), starting_choices, RESTART },
        { "kafka.startup_timeout", KIND_DURATION, AT(startup_timeout_ms), NULL, LIVE },
        { "kafka.properties", KIND_PROPERTIES, AT(properties), NULL, RESTART },
        { "kafka.sasl_password_file", KIND_STRING, AT(sasl_password_file), NULL, RESTART },
        { "kafka.group_instance_id", KIND_STRING, AT(group_instance_id), NULL, RESTART },
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
        { "output.guarantee", KIND_ENUM, AT(guarantee), guarantee_choices, RESTART },
        { "state.directory", KIND_STRING, AT(state_directory), NULL, RESTART },
        { "state.checkpoint_interval", KIND_DURATION, AT(checkpoint_interval_ms), NULL, LIVE },
        { "state.changelog_topic", KIND_STRING, AT(changelog_topic), NULL, RESTART },
        { "state.changelog_snapshot_interval", KIND_DURATION, AT(changelog_snapshot_interval_ms), NULL, RESTART },
        { "state.changelog_replication_factor", KIND_COUNT, AT(changelog_replication_factor), NULL, RESTART },
        { "state.lost_state", KIND_ENUM, AT(lost_state), lost_state_choices, LIVE },
        { "state.max_keys", KIND_COUNT, AT(max_keys), NULL, LIVE },
        { "limits.max_message_bytes", KIND_SIZE, AT(max_message_bytes), NULL, LIVE },
        { "dead_letter.topic", KIND_STRING, AT(dead_letter_topic), NULL, RESTART },
        { "late_data.topic", KIND_STRING, AT(late_data_topic), NULL, RESTART },
        { "metrics.listen", KIND_STRING, AT(metrics_listen), NULL, RESTART },
        { "metrics.textfile", KIND_STRING, AT(metrics_textfile), NULL, RESTART },
        { "metrics.interval", KIND_DURATION, AT(metrics_interval_ms), NULL, LIVE },
        { "log.level", KIND_ENUM, AT(log_level), level_choices, LIVE },
};

_Static_assert(ARRAY_SIZE(config_settings) == CONFIG_SETTINGS_N, "CONFIG_SETTINGS_N counts the table's rows");

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
        for (size_t i = 0; i < CONFIG_SETTINGS_N; i++)
                if (config_settings[i].reload == CONFIG_RELOAD_RESTART && !setting_equal(&config_settings[i], a, b))
                        return config_settings[i].path;
        return NULL;
}

size_t config_settings_count(void) {
        return CONFIG_SETTINGS_N;
}

const char *config_setting_path(size_t i) {
        return i < CONFIG_SETTINGS_N ? config_settings[i].path : NULL;
}

ConfigReload config_setting_reload(size_t i) {
        return config_settings[i].reload;
}

void config_format_setting(const Config *c, size_t i, char *buf, size_t size) {
        const Setting *def = &config_settings[i];
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
