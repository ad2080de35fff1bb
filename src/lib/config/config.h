/* config: the libconfig file (/etc/sensord/sensord.conf) to a validated
 * Config. Unknown settings and bad values are errors with file:line and the
 * setting's path; every error in the file is reported, not only the first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/input/batcher.h"
#include "lib/input/record.h"
#include "lib/state/window.h"
#include "lib/text/emitter.h"

typedef enum StartingOffsets { STARTING_EARLIEST, STARTING_LATEST } StartingOffsets;

/* What becomes of a partition whose state the changelog no longer holds:
 * held (not read) until an operator chooses, or rebuilt from the earliest
 * record the input topic still holds. */
typedef enum LostState { LOST_STATE_HOLD, LOST_STATE_REBUILD } LostState;

/* output.guarantee: what a reader of the Kafka outputs sees after a crash,
 * a zombie or an abort (README, "Delivery"). */
typedef enum Guarantee { GUARANTEE_AT_LEAST_ONCE, GUARANTEE_EXACTLY_ONCE } Guarantee;

typedef struct KafkaProperty {
        char *name;
        char *value;
} KafkaProperty;

/* librdkafka properties passed through, in file order. */
typedef struct KafkaProperties {
        KafkaProperty *items;
        size_t n;
} KafkaProperties;

typedef struct Config {
        char *path;

        char *brokers;
        char *topic;
        char *group_id;
        StartingOffsets starting_offsets;
        int64_t startup_timeout_ms;
        KafkaProperties properties; /* the consumer's */
        char *sasl_password_file; /* "": none */
        char *group_instance_id;  /* static membership, "%H" the host name; "": none */
        char *sasl_password;      /* read from it at load time; NULL: none */

        /* input: where each record's fields are, as configured ... */
        char *input_sensor_id, *input_value, *input_timestamp;
        int input_timestamp_format; /* TimestampFormat */
        RecordShape input;          /* ... and as the parser takes them */

        BatchLimits batch;

        WindowSpec window;
        int64_t idle_timeout_ms; /* 0: off */
        WatermarkScope watermark_scope;
        int64_t max_future_ms; /* 0: off */

        OutputMode mode;
        SinkKind sink;
        OutputFormat format;
        char *output_topic; /* "" or NULL: off */
        KafkaProperties output_properties; /* the producer's, for results and dead letters */
        int guarantee; /* Guarantee */

        char *state_directory;
        int64_t checkpoint_interval_ms;
        char *changelog_topic; /* "" or NULL: off */
        int64_t changelog_snapshot_interval_ms;
        uint64_t changelog_replication_factor; /* of a topic sensord creates; 0: the broker's default */
        int lost_state; /* LostState */
        uint64_t max_keys;

        uint64_t max_message_bytes;

        char *dead_letter_topic; /* "" or NULL: off */
        char *late_data_topic;   /* "" or NULL: off */

        char *metrics_listen;   /* "HOST:PORT"; "" or NULL: off */
        char *metrics_textfile; /* an absolute *.prom path; "" or NULL: off */
        int64_t metrics_interval_ms;

        int log_level; /* syslog priority */
} Config;

/* The errors of one load, each "file:line: path: message". */
typedef struct ConfigErrors {
        char **messages;
        size_t n;
} ConfigErrors;

void config_errors_clear(ConfigErrors *errors);

/* Loads and validates path, for a live run or an --available-now one (which
 * has no time bound, so batch.max_delay may be 0). Returns 0 and *out, or
 * -EINVAL with errors filled. */
int config_load(const char *path, bool available_now, Config **out, ConfigErrors *errors);

Config *config_free(Config *c);

/* Whether a reload (SIGHUP) applies a changed setting or refuses it. */
typedef enum ConfigReload { CONFIG_RELOAD_LIVE, CONFIG_RELOAD_RESTART } ConfigReload;

/* Names the first restart-only setting that differs between old and new
 * (the reload column of the settings table), or NULL. */
const char *config_restart_required(const Config *old, const Config *new);

/* The settings table, for --check-config and the documentation test:
 * setting i's path ("batch.max_messages"), its reload rule, and its value
 * in c as configuration-file text. */
size_t config_settings_count(void);
const char *config_setting_path(size_t i);
ConfigReload config_setting_reload(size_t i);
void config_format_setting(const Config *c, size_t i, char *buf, size_t size);

const char *output_mode_to_string(OutputMode mode);
