/* sensor-replay: the companion producer. Replays the sample data (a JSON
 * array, like ../shared/data/seed.json, or JSON lines) one record per
 * interval, or generates deterministic synthetic load. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "lib/input/generate.h"
#include "lib/text/timestamp.h"
#include "lib/text/units.h"
#include "sensord-build.h"

typedef struct Item {
        char *raw;       /* the JSON line as read, sent unchanged unless shifted */
        yajl_val node;   /* parsed value, NULL when the line is not JSON */
        bool has_time;
        int64_t time_ms; /* its timestamp, when it has a valid one */
} Item;

typedef struct Replay {
        rd_kafka_t *rk;
        const char *topic;
        uint64_t sent, delivered, failed;
        char first_error[256];
        bool progress; /* stderr is a terminal */
        uint64_t progress_us;
        yajl_gen gen;
        GenerateShape shape;
} Replay;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
        interrupted = sig;
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: sensor-replay [OPTIONS] [FILE|-]\n"
                "Produces sensor readings to Kafka: replays FILE (a JSON array or JSON lines; - or\n"
                "nothing reads stdin), or generates synthetic readings.\n"
                "\n"
                "  -b, --brokers LIST        bootstrap servers (default localhost:9092)\n"
                "  -t, --topic TOPIC         topic (default sensor-data)\n"
                "      --interval DURATION   pause between records (default 0.5 s; 0 = as fast as possible)\n"
                "      --rate N              records per second (instead of --interval)\n"
                "      --loop                start over at the end, shifting timestamps by the data's span\n"
                "      --count N             stop after N records\n"
                "      --generate SENSORS    synthetic readings for SENSORS sensors (with --count)\n"
                "      --seed N              seed of --generate (default 1); same seed, same records\n"
                "      --distinct            --generate's record i is sensor i mod SENSORS instead of a\n"
                "                            random one: SENSORS >= --count gives every record its own id\n"
                "      --shape SHAPE         write readings as flat (default: sensor_id, value, timestamp),\n"
                "                            nested-epoch-ms ({\"device\":{\"id\":...},\"metrics\":{\"temp\":...},\n"
                "                            \"ts\":MS}) or key-timestamp ({\"value\":...}, the id as the key, the\n"
                "                            event time as the Kafka timestamp); FILE's records are converted\n"
                "  -X NAME=VALUE             any librdkafka producer property\n"
                "      --version             print the version\n"
                "  -h, --help                print this help\n"
                "\n"
                "Exits 0 when every record was delivered, 69 naming how many were not.\n");
}

/* --- delivery -------------------------------------------------------------- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        Replay *r = opaque;
        if (m->err) {
                if (r->failed++ == 0)
                        snprintf(r->first_error, sizeof(r->first_error), "%s", rd_kafka_err2str(m->err));
        } else {
                r->delivered++;
        }
}

static void show_progress(Replay *r, bool final) {
        if (!r->progress)
                return;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        if (!final && now - r->progress_us < 200000)
                return;
        r->progress_us = now;
        fprintf(stderr, "\rsent %" PRIu64 ", delivered %" PRIu64 ", failed %" PRIu64 "%s", r->sent, r->delivered,
                r->failed, final ? "\n" : "");
}

/* timestamp_ms 0: the producer's clock (CreateTime now). */
static int produce(Replay *r, const char *key, size_t key_len, const void *value, size_t len, int64_t timestamp_ms) {
        for (;;) {
                rd_kafka_resp_err_t err = rd_kafka_producev(
                        r->rk, RD_KAFKA_V_TOPIC(r->topic), RD_KAFKA_V_KEY(key, key_len),
                        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_END);
                if (!err) {
                        r->sent++;
                        rd_kafka_poll(r->rk, 0);
                        show_progress(r, false);
                        return 0;
                }
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        fprintf(stderr, "sensor-replay: cannot produce: %s\n", rd_kafka_err2str(err));
                        return -EIO;
                }
                rd_kafka_poll(r->rk, 50); /* wait for room in the local queue */
                if (interrupted)
                        return -EINTR;
        }
}

/* Sleeps until the absolute monotonic time, serving delivery reports. */
static void wait_until(Replay *r, uint64_t when_us) {
        for (;;) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= when_us || interrupted)
                        return;
                uint64_t left = when_us - now;
                if (left >= 2000)
                        rd_kafka_poll(r->rk, (int)((left - 1000) / 1000));
                else
                        usleep((useconds_t)left);
        }
}

/* --- input ----------------------------------------------------------------- */

static const char *object_string(yajl_val node, const char *key) {
        const char *path[] = { key, NULL };
        yajl_val v = node && YAJL_IS_OBJECT(node) ? yajl_tree_get(node, path, yajl_t_string) : NULL;
        return v ? YAJL_GET_STRING(v) : NULL;
}

static void item_init(Item *it, char *raw, yajl_val node) {
        const char *ts = object_string(node, "timestamp");
        *it = (Item){ .raw = raw, .node = node };
        it->has_time = ts && timestamp_parse(ts, strlen(ts), &it->time_ms) == 0;
}

static void gen_value(yajl_gen g, yajl_val v, const char *replace_key, const char *replacement) {
        if (YAJL_IS_OBJECT(v)) {
                yajl_gen_map_open(g);
                for (size_t i = 0; i < v->u.object.len; i++) {
                        const char *k = v->u.object.keys[i];
                        yajl_gen_string(g, (const unsigned char *)k, strlen(k));
                        if (replace_key && strcmp(k, replace_key) == 0)
                                yajl_gen_string(g, (const unsigned char *)replacement, strlen(replacement));
                        else
                                gen_value(g, v->u.object.values[i], NULL, NULL);
                }
                yajl_gen_map_close(g);
        } else if (YAJL_IS_ARRAY(v)) {
                yajl_gen_array_open(g);
                for (size_t i = 0; i < v->u.array.len; i++)
                        gen_value(g, v->u.array.values[i], NULL, NULL);
                yajl_gen_array_close(g);
        } else if (YAJL_IS_STRING(v)) {
                yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
        } else if (YAJL_IS_NUMBER(v)) {
                yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r)); /* the text as written */
        } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
                yajl_gen_bool(g, YAJL_IS_TRUE(v));
        } else {
                yajl_gen_null(g);
        }
}

/* The record's value as the JSON number text it was written with. */
static const char *object_number(yajl_val node, const char *key) {
        const char *path[] = { key, NULL };
        yajl_val v = node && YAJL_IS_OBJECT(node) ? yajl_tree_get(node, path, yajl_t_number) : NULL;
        return v ? v->u.number.r : NULL;
}

static int send_item(Replay *r, const Item *it, int64_t shift_ms) {
        const char *key = object_string(it->node, "sensor_id");
        size_t key_len = key ? strlen(key) : 0;
        const char *number = object_number(it->node, "value");

        /* another shape: a reading with the three fields is written anew;
         * anything else goes as it is, invalid records included */
        if (r->shape != SHAPE_FLAT && key && number && it->has_time) {
                char value[GENERATE_VALUE_MAX + 6 * SENSOR_ID_MAX];
                int64_t t = it->time_ms + shift_ms;
                size_t len = generate_render(r->shape, key, key_len, number, t, value, sizeof(value));
                if (len == 0) {
                        fprintf(stderr, "sensor-replay: a record is too large for --shape %s\n",
                                generate_shape_name(r->shape));
                        return -EINVAL;
                }
                return produce(r, key, key_len, value, len, r->shape == SHAPE_KEY_TIMESTAMP ? t : 0);
        }
        if (it->raw && (shift_ms == 0 || !it->has_time))
                return produce(r, key, key_len, it->raw, strlen(it->raw), 0);

        char ts[TIMESTAMP_MAX];
        const unsigned char *buf;
        size_t len;
        if (it->has_time)
                timestamp_format(it->time_ms + shift_ms, ts);
        yajl_gen_clear(r->gen);
        yajl_gen_reset(r->gen, NULL);
        gen_value(r->gen, it->node, it->has_time ? "timestamp" : NULL, ts);
        yajl_gen_get_buf(r->gen, &buf, &len);
        return produce(r, key, key_len, buf, len, 0);
}

static char *read_all(FILE *f, size_t *len) {
        size_t cap = 0, n = 0;
        char *buf = NULL;
        do {
                ARRAY_RESERVE(buf, cap, n + (1 << 16));
                n += fread(buf + n, 1, cap - n - 1, f);
        } while (n == cap - 1);
        buf[n] = '\0';
        *len = n;
        return buf;
}

/* Loads a JSON array of records (the example's format) or JSON lines. */
static int load_items(FILE *f, const char *name, Item **out, size_t *n_out, yajl_val *array_out) {
        size_t len;
        char *text = read_all(f, &len), err[256];
        Item *items = NULL;
        size_t n = 0;

        const char *p = text;
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
                p++;
        if (*p == '[') {
                yajl_val array = yajl_tree_parse(text, err, sizeof(err));
                free(text);
                if (!array || !YAJL_IS_ARRAY(array)) {
                        fprintf(stderr, "sensor-replay: %s: %s\n", name,
                                array ? "the top level is not a JSON array" : err);
                        yajl_tree_free(array);
                        return -EINVAL;
                }
                items = xcalloc(array->u.array.len, sizeof(*items));
                for (size_t i = 0; i < array->u.array.len; i++)
                        item_init(&items[n++], NULL, array->u.array.values[i]);
                *array_out = array;
        } else {
                size_t cap = 0;
                for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                        if (strspn(line, " \t\r") == strlen(line))
                                continue;
                        ARRAY_RESERVE(items, cap, n + 1);
                        char *raw = xstrdup(line);
                        item_init(&items[n++], raw, yajl_tree_parse(line, NULL, 0));
                }
                free(text);
        }
        *out = items;
        *n_out = n;
        return 0;
}

/* Shift per --loop round: the span of the data plus one average gap, so the
 * next round follows on as if the readings kept coming. */
static int64_t loop_shift(const Item *items, size_t n) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        size_t timed = 0;
        for (size_t i = 0; i < n; i++)
                if (items[i].has_time) {
                        lo = items[i].time_ms < lo ? items[i].time_ms : lo;
                        hi = items[i].time_ms > hi ? items[i].time_ms : hi;
                        timed++;
                }
        if (timed < 2 || hi == lo)
                return 1000;
        return (hi - lo) + (hi - lo) / (int64_t)(timed - 1);
}

/* --- generated load -------------------------------------------------------- */

/* Record i of the generator's stream (generate.h). */
static int send_generated(Replay *r, Generator *g) {
        char key[GENERATE_KEY_MAX], value[GENERATE_VALUE_MAX];
        size_t key_len, len = generator_next(g, key, &key_len, value);
        return produce(r, key, key_len, value, len, g->shape == SHAPE_KEY_TIMESTAMP ? g->event_ms : 0);
}

/* --- main ------------------------------------------------------------------ */

#define MAX_PROPERTIES 64

/* The producer's configuration: the brokers, idempotence (so that retries
 * keep each partition in order) and the user's -X NAME=VALUE properties. */
static int producer_conf(const char *brokers, char **properties, size_t n, rd_kafka_conf_t **out) {
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "sensor-replay: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return EX_USAGE;
        }
        for (size_t i = 0; i < n; i++) {
                char *eq = strchr(properties[i], '=');
                if (!eq) {
                        fprintf(stderr, "sensor-replay: -X %s: want NAME=VALUE\n", properties[i]);
                        rd_kafka_conf_destroy(conf);
                        return EX_USAGE;
                }
                *eq = '\0';
                if (rd_kafka_conf_set(conf, properties[i], eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                        fprintf(stderr, "sensor-replay: -X %s: %s\n", properties[i], errstr);
                        rd_kafka_conf_destroy(conf);
                        return EX_USAGE;
                }
        }
        *out = conf;
        return EX_OK;
}

static int parse_u64(const char *s, uint64_t *out) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || !*s || *s == '-')
                return -EINVAL;
        *out = v;
        return 0;
}

int main(int argc, char **argv) {
        enum { OPT_INTERVAL = 256, OPT_RATE, OPT_LOOP, OPT_COUNT, OPT_GENERATE, OPT_SEED, OPT_DISTINCT, OPT_SHAPE,
               OPT_VERSION };
        static const struct option options[] = {
                { "brokers", required_argument, NULL, 'b' },  { "topic", required_argument, NULL, 't' },
                { "interval", required_argument, NULL, OPT_INTERVAL }, { "rate", required_argument, NULL, OPT_RATE },
                { "loop", no_argument, NULL, OPT_LOOP },      { "count", required_argument, NULL, OPT_COUNT },
                { "generate", required_argument, NULL, OPT_GENERATE }, { "seed", required_argument, NULL, OPT_SEED },
                { "distinct", no_argument, NULL, OPT_DISTINCT }, { "shape", required_argument, NULL, OPT_SHAPE },
                { "version", no_argument, NULL, OPT_VERSION }, { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        const char *brokers = "localhost:9092", *topic = "sensor-data", *error;
        uint64_t interval_us = 500000, count = UINT64_MAX, generate = 0, seed = 1, rate = 0;
        bool loop = false, interval_set = false, distinct = false;
        GenerateShape shape = SHAPE_FLAT;
        char errstr[512];
        char *properties[MAX_PROPERTIES]; /* -X NAME=VALUE, applied when the producer is made */
        size_t n_properties = 0;
        int c;

        log_setup("sensor-replay", LOG_INFO); /* names the program in the out-of-memory message */
        while ((c = getopt_long(argc, argv, "b:t:X:h", options, NULL)) >= 0) {
                switch (c) {
                case 'b':
                        brokers = optarg;
                        break;
                case 't':
                        topic = optarg;
                        break;
                case 'X':
                        if (n_properties == MAX_PROPERTIES) {
                                fprintf(stderr, "sensor-replay: at most %d -X options\n", MAX_PROPERTIES);
                                return EX_USAGE;
                        }
                        properties[n_properties++] = optarg;
                        break;
                case OPT_INTERVAL: {
                        int64_t ms;
                        if (parse_duration_ms(optarg, &ms, &error) < 0) {
                                fprintf(stderr, "sensor-replay: --interval '%s': %s\n", optarg, error);
                                return EX_USAGE;
                        }
                        interval_us = (uint64_t)ms * 1000;
                        interval_set = true;
                        break;
                }
                case OPT_RATE:
                        if (parse_u64(optarg, &rate) < 0 || rate == 0) {
                                fprintf(stderr, "sensor-replay: --rate wants a positive integer, not '%s'\n", optarg);
                                return EX_USAGE;
                        }
                        break;
                case OPT_LOOP:
                        loop = true;
                        break;
                case OPT_COUNT:
                        if (parse_u64(optarg, &count) < 0) {
                                fprintf(stderr, "sensor-replay: --count wants a number, not '%s'\n", optarg);
                                return EX_USAGE;
                        }
                        break;
                case OPT_GENERATE:
                        if (parse_u64(optarg, &generate) < 0 || generate == 0 || generate > 100000000) {
                                fprintf(stderr, "sensor-replay: --generate wants 1-100000000 sensors, not '%s'\n", optarg);
                                return EX_USAGE;
                        }
                        break;
                case OPT_DISTINCT:
                        distinct = true;
                        break;
                case OPT_SHAPE:
                        if (generate_shape_from_name(optarg, &shape) < 0) {
                                fprintf(stderr, "sensor-replay: --shape is flat, nested-epoch-ms or key-timestamp, not '%s'\n",
                                        optarg);
                                return EX_USAGE;
                        }
                        break;
                case OPT_SEED:
                        if (parse_u64(optarg, &seed) < 0) {
                                fprintf(stderr, "sensor-replay: --seed wants a number, not '%s'\n", optarg);
                                return EX_USAGE;
                        }
                        break;
                case OPT_VERSION:
                        printf("sensor-replay %s\n", SENSORD_VERSION);
                        return EX_OK;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        usage(stderr);
                        return EX_USAGE;
                }
        }
        if (rate && interval_set) {
                fprintf(stderr, "sensor-replay: give --interval or --rate, not both\n");
                return EX_USAGE;
        }
        if (rate)
                interval_us = 1000000 / rate;
        if (distinct && !generate) {
                fprintf(stderr, "sensor-replay: --distinct goes with --generate\n");
                return EX_USAGE;
        }
        if (generate && (optind < argc || loop)) {
                fprintf(stderr, "sensor-replay: --generate takes no FILE and no --loop\n");
                return EX_USAGE;
        }
        if (optind + 1 < argc) {
                fprintf(stderr, "sensor-replay: one FILE at most\n");
                return EX_USAGE;
        }

        Item *items = NULL;
        size_t n_items = 0;
        yajl_val array = NULL;
        if (!generate) {
                const char *name = optind < argc ? argv[optind] : "-";
                FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "re");
                if (!f) {
                        fprintf(stderr, "sensor-replay: %s: %s\n", name, strerror(errno));
                        return EX_NOINPUT;
                }
                int r = load_items(f, name, &items, &n_items, &array);
                if (f != stdin)
                        fclose(f);
                if (r < 0)
                        return EX_DATAERR;
                if (n_items == 0) {
                        fprintf(stderr, "sensor-replay: %s holds no records\n", name);
                        free(items);
                        yajl_tree_free(array);
                        return EX_DATAERR;
                }
        }

        Replay r = { .topic = topic, .progress = isatty(STDERR_FILENO), .shape = shape };
        rd_kafka_conf_t *conf = NULL;
        int exit_code = producer_conf(brokers, properties, n_properties, &conf);
        if (exit_code != EX_OK)
                goto out;
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, &r);
        r.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!r.rk) {
                fprintf(stderr, "sensor-replay: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                exit_code = EX_SOFTWARE;
                goto out;
        }
        r.gen = yajl_gen_alloc(NULL);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);

        uint64_t start = now_usec(CLOCK_MONOTONIC);
        Generator gen;
        generator_init(&gen, seed, generate, distinct);
        gen.shape = shape;
        int64_t shift = loop ? loop_shift(items, n_items) : 0;
        for (uint64_t i = 0; i < count && !interrupted; i++) {
                if (!generate && i >= n_items && !loop)
                        break;
                if (interval_us && i > 0)
                        wait_until(&r, start + i * interval_us);
                if (interrupted)
                        break;
                int e = generate ? send_generated(&r, &gen)
                                 : send_item(&r, &items[i % n_items], (int64_t)(i / n_items) * shift);
                if (e < 0)
                        break;
        }

        /* Every record gets a delivery report (success or final failure)
         * within message.timeout.ms; wait for all of them. */
        while (rd_kafka_outq_len(r.rk) > 0 && r.delivered + r.failed < r.sent)
                rd_kafka_poll(r.rk, 100);
        show_progress(&r, true);

        uint64_t undelivered = r.sent - r.delivered;
        if (undelivered > 0) {
                fprintf(stderr, "sensor-replay: %" PRIu64 " of %" PRIu64 " records were not delivered%s%s\n",
                        undelivered, r.sent, r.failed ? ": " : "", r.first_error);
                exit_code = EX_UNAVAILABLE;
        } else if (interrupted) {
                fprintf(stderr, "sensor-replay: interrupted after %" PRIu64 " records, all delivered\n", r.sent);
        }
        yajl_gen_free(r.gen);
        rd_kafka_destroy(r.rk);
out:
        for (size_t i = 0; i < n_items; i++) {
                free(items[i].raw);
                if (items[i].raw)
                        yajl_tree_free(items[i].node);
        }
        yajl_tree_free(array);
        free(items);
        return exit_code;
}
