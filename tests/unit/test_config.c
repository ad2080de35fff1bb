/* The configuration file: defaults, every setting, unknown keys and bad
 * values reported with file:line and path, reload compatibility. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/base/util.h"
#include "lib/config/config.h"

static char path[64];


static int load_text(const char *text, Config **out, ConfigErrors *errors) {
        snprintf(path, sizeof(path), "/tmp/sensord-test-config-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fputs(text, f);
        fclose(f);
        int r = config_load(path, false, out, errors);
        unlink(path);
        return r;
}

static void expect_errors(const char *text, const char *const *parts) {
        Config *c = NULL;
        ConfigErrors errors;
        assert_true(load_text(text, &c, &errors) < 0);
        assert_null(c);
        size_t n = 0;
        for (; parts[n]; n++) {
                bool found = false;
                for (size_t i = 0; i < errors.n; i++)
                        found |= strstr(errors.messages[i], parts[n]) != NULL;
                if (!found)
                        fail_msg("no error mentions \"%s\" (first error: %s)", parts[n],
                                 errors.n ? errors.messages[0] : "none");
        }
        for (size_t i = 0; i < errors.n; i++)
                assert_non_null(strstr(errors.messages[i], path)); /* every error names the file */
        config_errors_clear(&errors);
}

static void test_shipped_file(void **state) {
        Config *c = NULL;
        ConfigErrors errors;
        int r = config_load(SHIPPED_CONFIG, false, &c, &errors);
        if (r < 0)
                fail_msg("%s", errors.n ? errors.messages[0] : "?");
        assert_string_equal(c->topic, "sensor-data");
        assert_int_equal(c->batch.max_messages, 5);
        assert_int_equal(c->batch.max_bytes, 10240);
        assert_int_equal(c->batch.max_delay_us, 1000000);
        assert_int_equal(c->window.size_ms, 600000);
        assert_int_equal(c->window.slide_ms, 300000);
        assert_int_equal(c->window.watermark_delay_ms, 300000);
        assert_int_equal(c->mode, OUTPUT_UPDATE);
        assert_int_equal(c->sink, SINK_AUTO);
        assert_int_equal(c->max_message_bytes, 65536);
        config_free(c);
}

static void test_all_settings(void **state) {
        Config *c = NULL;
        ConfigErrors errors;
        assert_int_equal(load_text("kafka = { brokers = \"127.0.0.1:1\"; topic = \"t\"; group_id = \"g\";\n"
                                   "  starting_offsets = \"latest\"; startup_timeout = \"2 s\";\n"
                                   "  properties = ( (\"security.protocol\", \"plaintext\"), (\"client.rack\", \"r1\") ); };\n"
                                   "batch = { max_messages = 7; max_bytes = 2048; max_delay = \"250ms\"; };\n"
                                   "window = { duration = \"1 hour\"; slide = \"15 minutes\"; start_offset = \"1m\";\n"
                                   "  watermark = \"0 s\"; idle_timeout = \"30 s\"; };\n"
                                   "output = { mode = \"append\"; sink = \"none\"; format = \"table\"; kafka_topic = \"results\";\n"
                                   "  kafka_properties = ( (\"linger.ms\", \"20\") ); };\n"
                                   "state = { directory = \"/tmp/x\"; checkpoint_interval = \"10 s\"; max_keys = 12; };\n"
                                   "limits = { max_message_bytes = \"1 KiB\"; };\n"
                                   "dead_letter = { topic = \"bad-records\"; };\n"
                                   "metrics = { listen = \"[::1]:9464\";\n"
                                   "  textfile = \"/var/lib/prometheus/node-exporter/sensord.prom\"; interval = \"1 s\"; };\n"
                                   "log = { level = \"debug\"; };\n",
                                   &c, &errors),
                         0);
        assert_string_equal(c->brokers, "127.0.0.1:1");
        assert_int_equal(c->starting_offsets, STARTING_LATEST);
        assert_int_equal(c->startup_timeout_ms, 2000);
        assert_int_equal(c->properties.n, 2);
        assert_string_equal(c->properties.items[1].name, "client.rack");
        assert_int_equal(c->batch.max_messages, 7);
        assert_int_equal(c->batch.max_bytes, 2048);
        assert_int_equal(c->batch.max_delay_us, 250000);
        assert_int_equal(c->window.size_ms, 3600000);
        assert_int_equal(c->window.slide_ms, 900000);
        assert_int_equal(c->window.offset_ms, 60000);
        assert_int_equal(c->window.watermark_delay_ms, 0);
        assert_int_equal(c->idle_timeout_ms, 30000);
        assert_int_equal(c->mode, OUTPUT_APPEND);
        assert_int_equal(c->sink, SINK_NONE);
        assert_int_equal(c->format, FORMAT_TABLE);
        assert_string_equal(c->output_topic, "results");
        assert_int_equal(c->output_properties.n, 1);
        assert_string_equal(c->output_properties.items[0].value, "20");
        assert_string_equal(c->dead_letter_topic, "bad-records");
        assert_int_equal(c->max_keys, 12);
        assert_int_equal(c->max_message_bytes, 1024);
        assert_string_equal(c->metrics_listen, "[::1]:9464");
        assert_string_equal(c->metrics_textfile, "/var/lib/prometheus/node-exporter/sensord.prom");
        assert_int_equal(c->metrics_interval_ms, 1000);
        assert_int_equal(c->log_level, 7);
        config_free(c);
}

static void test_exactly_once(void **state) {
        Config *c = NULL;
        ConfigErrors errors;
        assert_int_equal(load_text("output = { guarantee = \"exactly_once\"; sink = \"none\"; kafka_topic = \"r\"; };\n"
                                   "state = { changelog_topic = \"c\"; };\n",
                                   &c, &errors),
                         0);
        assert_int_equal(c->guarantee, GUARANTEE_EXACTLY_ONCE);
        config_free(c);
        assert_int_equal(load_text("# nothing\n", &c, &errors), 0);
        assert_int_equal(c->guarantee, GUARANTEE_AT_LEAST_ONCE);
        config_free(c);
}

static void test_empty_file_gives_defaults(void **state) {
        Config *c = NULL;
        ConfigErrors errors;
        assert_int_equal(load_text("# nothing\n", &c, &errors), 0);
        assert_string_equal(c->brokers, "localhost:9092");
        assert_string_equal(c->group_id, "sensord");
        assert_int_equal(c->batch.max_messages, 5);
        assert_string_equal(c->metrics_listen, "");
        assert_string_equal(c->metrics_textfile, "");
        assert_int_equal(c->metrics_interval_ms, 15000);
        config_free(c);
}

static void test_errors(void **state) {
        expect_errors("batch = {\n  max_mesages = 5;\n};\n", (const char *[]){ ":2: batch.max_mesages: unknown setting", NULL });
        expect_errors("bacth = { };\n", (const char *[]){ ":1: bacth: unknown setting", NULL });
        expect_errors("batch = { max_messages = \"5\"; };\n", (const char *[]){ "batch.max_messages: must be an integer", NULL });
        expect_errors("batch = { max_messages = 0; };\n", (const char *[]){ ":1: batch.max_messages: must be at least 1", NULL });
        expect_errors("batch = { max_bytes = \"10 kib\"; };\n", (const char *[]){ "batch.max_bytes: \"10 kib\"", NULL });
        expect_errors("batch = { max_delay = 5; };\n", (const char *[]){ "batch.max_delay: must be a string", NULL });
        expect_errors("window = {\n duration = \"10 minutes\";\n slide = \"20 minutes\";\n};\n",
                      (const char *[]){ ":3: window.slide", NULL });
        expect_errors("window = { slide = \"0 s\"; };\n", (const char *[]){ "window.slide: must be greater than 0", NULL });
        expect_errors("window = { start_offset = \"5 minutes\"; };\n", (const char *[]){ "window.start_offset", NULL });
        expect_errors("window = { duration = \"10 fortnights\"; };\n", (const char *[]){ "window.duration: \"10 fortnights\": unknown unit", NULL });
        expect_errors("window = { duration = \"1 day\"; slide = \"1 s\"; };\n", (const char *[]){ "86400 windows", NULL });
        expect_errors("output = { mode = \"upsert\"; };\n", (const char *[]){ "output.mode: \"upsert\" is not one of: update, append, complete", NULL });
        expect_errors("output = { sink = \"journal\"; format = \"table\"; };\n", (const char *[]){ "output.format", NULL });
        expect_errors("kafka = { properties = ( (\"group.id\", \"x\") ); };\n", (const char *[]){ "'group.id' is set by kafka.group_id", NULL });
        expect_errors("kafka = { properties = ( (\"no.such.property\", \"x\") ); };\n", (const char *[]){ "kafka.properties", "no.such.property", NULL });
        expect_errors("kafka = { properties = ( (\"group.instance.id\", \"x\") ); };\n",
                      (const char *[]){ "'group.instance.id' is set by kafka.group_instance_id", NULL });
        expect_errors("kafka = { group_instance_id = \"sensord-%h\"; };\n",
                      (const char *[]){ "kafka.group_instance_id: \"%h\" is not a specifier", NULL });
        expect_errors("kafka = { group_instance_id = \"sensord-%\"; };\n",
                      (const char *[]){ "kafka.group_instance_id: \"%\" is not a specifier", NULL });
        expect_errors("kafka = { properties = ( \"security.protocol\" ); };\n", (const char *[]){ "pair of strings", NULL });
        expect_errors("kafka = { properties = ( (\"sasl.password\", \"x\") ); };\n",
                      (const char *[]){ "'sasl.password' is set by kafka.sasl_password_file", NULL });
        expect_errors("output = { kafka_properties = ( (\"sasl.password\", \"x\") ); };\n",
                      (const char *[]){ "'sasl.password' is set by kafka.sasl_password_file", NULL });
        expect_errors("kafka = { sasl_password_file = \"/nonexistent/pw\"; };\n",
                      (const char *[]){ "kafka.sasl_password_file: cannot read /nonexistent/pw: No such file", NULL });
        expect_errors("kafka = { topic = \"\"; };\n", (const char *[]){ "kafka.topic: must not be empty", NULL });
        expect_errors("batch = {\n max_messages = ;\n};\n", (const char *[]){ ":2: syntax error", NULL });
        expect_errors("output = { sink = \"none\"; };\n", (const char *[]){ "output.sink: \"none\" needs output.kafka_topic", NULL });
        expect_errors("output = { kafka_topic = \"sensor-data\"; };\n",
                      (const char *[]){ "output.kafka_topic: must differ from kafka.topic", NULL });
        expect_errors("output = { kafka_topic = \"re sults\"; };\n", (const char *[]){ "output.kafka_topic: \"re sults\" may hold only", NULL });
        expect_errors("dead_letter = { topic = \"sensor-data\"; };\n",
                      (const char *[]){ "dead_letter.topic: must differ from kafka.topic", NULL });
        expect_errors("output = { kafka_properties = ( (\"enable.idempotence\", \"false\") ); };\n",
                      (const char *[]){ "output.kafka_properties: 'enable.idempotence' is managed by sensord", NULL });
        expect_errors("output = { kafka_properties = ( (\"bootstrap.servers\", \"x:1\") ); };\n",
                      (const char *[]){ "'bootstrap.servers' is set by kafka.brokers", NULL });
        expect_errors("output = { guarantee = \"exactly_once\"; };\n",
                      (const char *[]){ "output.guarantee: \"exactly_once\" needs output.kafka_topic",
                                        "output.guarantee: \"exactly_once\" needs state.changelog_topic",
                                        "output.sink: must be \"none\" with output.guarantee", NULL });
        expect_errors("output = { guarantee = \"exactly_once\"; sink = \"journal\"; kafka_topic = \"r\"; };\n"
                      "state = { changelog_topic = \"c\"; };\n",
                      (const char *[]){ "output.sink: must be \"none\"", NULL });
        expect_errors("output = { guarantee = \"at_most_once\"; };\n",
                      (const char *[]){ "output.guarantee: \"at_most_once\" is not one of: at_least_once, exactly_once",
                                        NULL });
        expect_errors("output = { kafka_properties = ( (\"transactional.id\", \"x\") ); };\n",
                      (const char *[]){ "'transactional.id' is set by output.guarantee", NULL });
        /* input: each path at its line, all in one run */
        expect_errors("input = {\n sensor_id = \"\";\n value = \"metrics..temp\";\n timestamp = \"@key\";\n"
                      " timestamp_format = \"epoch_days\";\n};\n",
                      (const char *[]){ ":2: input.sensor_id: must not be empty",
                                        ":3: input.value: \"metrics..temp\": empty field name in the path",
                                        ":4: input.timestamp: \"@key\": only sensor_id may be",
                                        ":5: input.timestamp_format: \"epoch_days\" is not one of: rfc3339, epoch_s, "
                                        "epoch_ms, epoch_us, epoch_ns",
                                        NULL });
        expect_errors("input = {\n sensor_id = \"device\";\n timestamp = \"device.ts\";\n};\n",
                      (const char *[]){ ":3: input: timestamp \"device.ts\" lies inside sensor_id \"device\"", NULL });
        expect_errors("input = { value = \"@timestamp\"; };\n", (const char *[]){ "input.value", NULL });
        expect_errors("metrics = {\n listen = \"localhost\";\n textfile = \"sensord.prom\";\n interval = \"500 ms\";\n};\n",
                      (const char *[]){ ":2: metrics.listen: \"localhost\" is not HOST:PORT",
                                        ":3: metrics.textfile: must be an absolute path ending in .prom",
                                        ":4: metrics.interval: must be at least 1 s", NULL });
        expect_errors("metrics = { listen = \"127.0.0.1:http\"; };\n", (const char *[]){ "metrics.listen", NULL });
        expect_errors("metrics = { textfile = \"/var/lib/x.txt\"; };\n", (const char *[]){ "metrics.textfile", NULL });
        /* several mistakes: all are reported */
        expect_errors("batch = { max_messages = -1; nope = 1; };\nwindow = { slide = 3; };\n",
                      (const char *[]){ "batch.max_messages: must not be negative", "batch.nope", ":2: window.slide", NULL });
}

static void test_input_shape(void **state) {
        Config *c = NULL;
        ConfigErrors errors;
        assert_int_equal(load_text("input = { sensor_id = \"device.id\"; value = \"metrics.temp\"; timestamp = \"ts\";"
                                   " timestamp_format = \"epoch_ms\"; };\n",
                                   &c, &errors),
                         0);
        assert_int_equal(c->input.field[RECORD_SENSOR_ID].n_segments, 2);
        assert_string_equal(c->input.field[RECORD_VALUE].text, "metrics.temp");
        assert_int_equal(c->input.timestamp_format, TIMESTAMP_EPOCH_MS);
        config_free(c);
        assert_int_equal(load_text("input = { sensor_id = \"@key\"; timestamp = \"@timestamp\"; };\n", &c, &errors), 0);
        assert_int_equal(c->input.field[RECORD_SENSOR_ID].n_segments, 0);
        assert_int_equal(c->input.field[RECORD_TIMESTAMP].n_segments, 0);
        config_free(c);
        /* the defaults are the flat shape */
        RecordShape flat;
        record_shape_default(&flat);
        assert_int_equal(load_text("# nothing\n", &c, &errors), 0);
        assert_memory_equal(&c->input, &flat, sizeof(flat));
        config_free(c);
}

static void test_missing_file(void **state) {
        Config *c = NULL;
        ConfigErrors errors;
        assert_true(config_load("/nonexistent/sensord.conf", false, &c, &errors) < 0);
        assert_int_equal(errors.n, 1);
        assert_non_null(strstr(errors.messages[0], "/nonexistent/sensord.conf"));
        assert_non_null(strstr(errors.messages[0], "No such file"));
        config_errors_clear(&errors);
}

static void test_restart_required(void **state) {
        Config *a = NULL, *b = NULL;
        ConfigErrors errors;
        assert_int_equal(load_text("batch = { max_messages = 5; };\n", &a, &errors), 0);
        assert_int_equal(load_text("batch = { max_messages = 50; max_bytes = \"1 MiB\"; };\n"
                                   "output = { sink = \"journal\"; };\nlog = { level = \"debug\"; };\n",
                                   &b, &errors),
                         0);
        assert_null(config_restart_required(a, b));
        config_free(b);
        /* complete mode after update-mode evictions would print an incomplete table */
        assert_int_equal(load_text("output = { mode = \"complete\"; };\n", &b, &errors), 0);
        assert_string_equal(config_restart_required(a, b), "output.mode");
        config_free(b);
        assert_int_equal(load_text("kafka = { properties = ( (\"fetch.wait.max.ms\", \"50\") ); };\n", &b, &errors),
                         0);
        assert_string_equal(config_restart_required(a, b), "kafka.properties");
        config_free(b);
        assert_int_equal(load_text("window = { duration = \"20 minutes\"; };\n", &b, &errors), 0);
        assert_string_equal(config_restart_required(a, b), "window.duration");
        config_free(b);
        assert_int_equal(load_text("kafka = { topic = \"other\"; };\n", &b, &errors), 0);
        assert_string_equal(config_restart_required(a, b), "kafka.topic");
        config_free(b);
        /* the producer is made once, at start */
        static const struct {
                const char *text, *setting;
        } producer[] = {
                { "output = { kafka_topic = \"results\"; };\n", "output.kafka_topic" },
                { "output = { kafka_properties = ( (\"linger.ms\", \"20\") ); };\n", "output.kafka_properties" },
                { "dead_letter = { topic = \"bad\"; };\n", "dead_letter.topic" },
        };
        for (size_t i = 0; i < sizeof(producer) / sizeof(producer[0]); i++) {
                assert_int_equal(load_text(producer[i].text, &b, &errors), 0);
                assert_string_equal(config_restart_required(a, b), producer[i].setting);
                config_free(b);
        }
        config_free(a);
}

/* Every mistake of a file is reported in one run, each with its line:
 * refused values, unknown settings and the relations between the settings
 * that were read (a bad unit elsewhere hides none of them). */
static void test_every_mistake_at_once(void **state) {
        static const struct {
                int line;
                const char *text;
        } want[] = {
                { 2, "kafka.topic: \"sensor data!\" may hold only letters" },
                { 3, "kafka.startup_timeout: \"30 parsecs\": unknown unit" },
                { 6, "batch.max_messages: must be at least 1" },
                { 8, "batch.max_delay: \"soon\"" },
                { 12, "window.slide: must be greater than 0 and not longer than window.duration" },
                { 13, "window.watermark: 400 days is more than 365" },
                { 15, "output.mode: \"sometimes\" is not one of" },
                { 16, "state.max_keys: must not be negative" },
                { 16, "state.color: unknown setting" },
                { 17, "limits.max_message_bytes: \"lots\"" },
        };
        Config *c = NULL;
        ConfigErrors errors;
        assert_int_equal(load_text("kafka = {\n"
                                   "  topic = \"sensor data!\";\n"
                                   "  startup_timeout = \"30 parsecs\";\n"
                                   "};\n"
                                   "batch = {\n"
                                   "  max_messages = 0;\n"
                                   "  max_bytes = \"10 KiB\";\n"
                                   "  max_delay = \"soon\";\n"
                                   "};\n"
                                   "window = {\n"
                                   "  duration = \"10 minutes\";\n"
                                   "  slide = \"20 minutes\";\n"
                                   "  watermark = \"400 days\";\n"
                                   "};\n"
                                   "output = { mode = \"sometimes\"; sink = \"stdout\"; };\n"
                                   "state = { max_keys = -5; color = \"blue\"; };\n"
                                   "limits = { max_message_bytes = \"lots\"; };\n",
                                   &c, &errors),
                         -EINVAL);
        assert_null(c);
        assert_int_equal(errors.n, ARRAY_SIZE(want));
        for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
                char where[96];
                bool found = false;
                snprintf(where, sizeof(where), ":%d: ", want[i].line);
                for (size_t k = 0; k < errors.n; k++)
                        found |= strstr(errors.messages[k], where) && strstr(errors.messages[k], want[i].text);
                if (!found)
                        fail_msg("no error \"%s\" at line %d", want[i].text, want[i].line);
        }
        config_errors_clear(&errors);
}

/* No time bound is for --available-now only. */
/* kafka.sasl_password_file: a credential name in $CREDENTIALS_DIRECTORY
 * or an absolute path; the password is its first line. */
static void test_sasl_password_file(void **state) {
        char dir[] = "/tmp/sensord-test-credentials-XXXXXX", file[sizeof(dir) + 16], text[256];
        assert_non_null(mkdtemp(dir));
        snprintf(file, sizeof(file), "%s/pw", dir);
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        fputs("s3cret\nnot this line\n", f);
        fclose(f);

        Config *c = NULL;
        ConfigErrors errors;
        unsetenv("CREDENTIALS_DIRECTORY");
        expect_errors("kafka = { sasl_password_file = \"pw\"; };\n",
                      (const char *[]){ "$CREDENTIALS_DIRECTORY is not set", "LoadCredential=pw:", NULL });
        setenv("CREDENTIALS_DIRECTORY", dir, 1);
        assert_int_equal(load_text("kafka = { sasl_password_file = \"pw\"; };\n", &c, &errors), 0);
        assert_string_equal(c->sasl_password, "s3cret");
        c = config_free(c);
        unsetenv("CREDENTIALS_DIRECTORY");
        snprintf(text, sizeof(text), "kafka = { sasl_password_file = \"%s\"; };\n", file);
        assert_int_equal(load_text(text, &c, &errors), 0);
        assert_string_equal(c->sasl_password, "s3cret");
        c = config_free(c);

        f = fopen(file, "w");
        assert_non_null(f);
        fputs("\n", f);
        fclose(f);
        expect_errors(text, (const char *[]){ "holds no password on its first line", NULL });
        unlink(file);
        rmdir(dir);
}

static void test_max_delay_zero(void **state) {
        Config *c = NULL;
        ConfigErrors errors;
        assert_int_equal(load_text("batch = { max_delay = \"0 s\"; };\n", &c, &errors), -EINVAL);
        assert_non_null(strstr(errors.messages[0], ":1: batch.max_delay: must be greater than 0"));
        config_errors_clear(&errors);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("batch = { max_delay = \"0 s\"; };\n", f);
        fclose(f);
        assert_int_equal(config_load(path, true, &c, &errors), 0);
        assert_int_equal(c->batch.max_delay_us, 0);
        config_free(c);
        unlink(path);
}

/* Kafka's topic rule and a length of its own. */
static void test_topic_names(void **state) {
        Config *c = NULL;
        ConfigErrors errors;
        assert_int_equal(load_text("kafka = { topic = \"sensors.v2_eu-west\"; };\n", &c, &errors), 0);
        config_free(c);
        char text[400];
        snprintf(text, sizeof(text), "kafka = { topic = \"%0250d\"; };\n", 0);
        assert_int_equal(load_text(text, &c, &errors), -EINVAL);
        assert_non_null(strstr(errors.messages[0], "longer than Kafka's limit of 249"));
        config_errors_clear(&errors);
        assert_int_equal(load_text("kafka = { topic = \"..\"; };\n", &c, &errors), -EINVAL);
        config_errors_clear(&errors);
}

static char *read_text(const char *file_path) {
        FILE *f = fopen(file_path, "r");
        assert_non_null(f);
        static char text[1 << 17];
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        return text;
}

/* The reload rule sensord.conf(5) gives a setting: the last word of its
 * "*path* (type, default ..., live|restart)" header, which may wrap. */
static void man_reload(const char *man, const char *setting, char *out, size_t size) {
        char head[128];
        snprintf(head, sizeof(head), "\n*%s* (", setting);
        const char *p = strstr(man, head);
        if (!p)
                fail_msg("sensord.conf(5) does not document %s", setting);
        const char *close = strstr(p, ")\n");
        assert_non_null(close);
        const char *word = close;
        while (word > p && (word[-1] == '_' || (word[-1] >= 'a' && word[-1] <= 'z')))
                word--;
        snprintf(out, size, "%.*s", (int)(close - word), word);
}

/* The README's "on reload" cell for a setting: the row's last column. */
static void readme_reload(const char *readme, const char *setting, char *out, size_t size) {
        char head[128];
        snprintf(head, sizeof(head), "\n| `%s` |", setting);
        const char *p = strstr(readme, head);
        if (!p)
                fail_msg("the README's settings table lacks %s", setting);
        const char *eol = strchr(p + 1, '\n');
        const char *last = eol - 1; /* the closing '|' */
        const char *cell = last - 1;
        while (*cell != '|')
                cell--;
        snprintf(out, size, "%.*s", (int)(last - cell - 1), cell + 1);
        char *trim = out;
        while (*trim == ' ')
                memmove(trim, trim + 1, strlen(trim));
        for (size_t n = strlen(out); n > 0 && out[n - 1] == ' '; n--)
                out[n - 1] = '\0';
}

/* The reload column of the settings table, which reload itself uses, is
 * what the man page and the README tell operators. */
static void test_reload_rules_documented(void **state) {
        char *man = strdup(read_text(MAN_CONF_PAGE));
        const char *readme = read_text(README);
        char got[32];
        assert_true(config_settings_count() >= 24);
        for (size_t i = 0; i < config_settings_count(); i++) {
                const char *setting = config_setting_path(i);
                const char *want = config_setting_reload(i) == CONFIG_RELOAD_LIVE ? "live" : "restart";
                man_reload(man, setting, got, sizeof(got));
                if (strcmp(got, want) != 0)
                        fail_msg("%s: sensord.conf(5) says %s, the settings table %s", setting, got, want);
                readme_reload(readme, setting, got, sizeof(got));
                if (strcmp(got, want) != 0)
                        fail_msg("%s: the README says %s, the settings table %s", setting, got, want);
        }
        assert_null(config_setting_path(config_settings_count()));
        free(man);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shipped_file),     cmocka_unit_test(test_all_settings),
                cmocka_unit_test(test_empty_file_gives_defaults), cmocka_unit_test(test_errors), cmocka_unit_test(test_input_shape),
                cmocka_unit_test(test_missing_file),     cmocka_unit_test(test_restart_required),
                cmocka_unit_test(test_reload_rules_documented),
                cmocka_unit_test(test_every_mistake_at_once),
                cmocka_unit_test(test_topic_names),
                cmocka_unit_test(test_max_delay_zero),
                cmocka_unit_test(test_sasl_password_file),
                cmocka_unit_test(test_exactly_once),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
