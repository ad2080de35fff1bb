/* kafka_sink: an idempotent librdkafka producer on sd-event, counting each
 * batch's messages until their delivery reports, and replaced by a new one
 * when it fails for good; or, under exactly-once, the transactional
 * producer it shares with the changelog, which is never replaced. */
#include "sensord/kafka/producers/kafka_sink.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "lib/text/row_json.h"
#include "lib/text/timestamp.h"
#include "sensord/kafka/admin/topic_admin.h"
#include "sensord/kafka/admin/topic_wait.h"
#include "sensord/kafka/kafka_conf.h"
#include "sensord/kafka/producers/producer_reset.h"
#include "sensord/kafka/producers/txn_producer.h"
#include "sensord/kafka/producers/write_stall.h"
#include "sensord/kafka/queue_watch.h"
#include "sensord/kafka/reachability.h"
#include "sensord/kafka/refusal.h"

/* Room in a message for what the broker and librdkafka add around a
 * record's key, value and headers (record and batch framing). */
#define RECORD_OVERHEAD 512

/* The messages of one batch that are not delivered yet. */
typedef struct BatchCount {
        uint64_t batch;
        uint64_t outstanding;
        bool ended; /* every message of the batch was produced */
} BatchCount;

/* A message the producer held when it failed for good, to be produced
 * again on the new one; its batch still counts it as outstanding. */
typedef struct Resend {
        rd_kafka_topic_t **topic; /* &KafkaSink.results, .dead_letters or .late */
        uint64_t batch;
        void *key, *value;
        size_t key_len, len;
        rd_kafka_headers_t *headers;
} Resend;

struct KafkaSink {
        KafkaSinkEvents events;
        rd_kafka_t *rk;
        TxnProducer *txn;      /* exactly-once: rk is its, and not replaced */
        rd_kafka_conf_t *conf; /* a copy, for a new producer */
        Resend *resend; /* in the order of their delivery reports */
        size_t n_resend, cap_resend;
        char *results_name, *dead_letters_name, *late_name; /* NULL when not configured */
        rd_kafka_topic_t *results, *dead_letters, *late; /* from kafka_sink_start() on */
        char *late_windows; /* the sensord-late-windows header being built */
        size_t late_windows_cap;
        TimestampCache times; /* the window bounds of rows and keys, formatted once */
        char *brokers;
        int64_t startup_timeout_ms;
        bool may_create; /* allow.auto.create.topics: ask for a missing topic by name */
        bool admin;      /* the brokers take admin requests (topic_admin_available()) */
        uint64_t message_max; /* the producer's message.max.bytes */
        int64_t dead_letters_max, late_max; /* their topics' max.message.bytes; -1: unknown */
        QueueWatch watch; /* wakes the loop when a delivery report is queued */
        sd_event_source *later;
        char *key; /* "<window start>|<sensor_id>" */
        size_t key_cap;

        BatchCount *batches; /* oldest first */
        size_t n_batches, cap_batches;
        uint64_t outstanding, congested_at;
        bool congested;
        bool failed, failure_told;
        uint64_t failed_batch;
        char failure[256];
        KafkaSinkStats stats;
        WriteStall stall; /* its acknowledgements */
};

static BatchCount *batch_count(KafkaSink *k, uint64_t batch) {
        for (size_t i = k->n_batches; i-- > 0;)
                if (k->batches[i].batch == batch)
                        return &k->batches[i];
        return NULL;
}

static void count_produced(KafkaSink *k, uint64_t batch) {
        BatchCount *b = batch_count(k, batch);
        if (!b) {
                ARRAY_RESERVE(k->batches, k->cap_batches, k->n_batches + 1);
                b = &k->batches[k->n_batches++];
                *b = (BatchCount){ .batch = batch };
        }
        b->outstanding++;
        write_stall_produced(&k->stall, now_usec(CLOCK_MONOTONIC));
        if (++k->outstanding >= k->congested_at)
                k->congested = true;
}

static void fail_batch(KafkaSink *k, uint64_t batch, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_batch(KafkaSink *k, uint64_t batch, const char *fmt, ...) {
        k->stats.errors++;
        if (k->failed)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(k->failure, sizeof(k->failure), fmt, ap);
        va_end(ap);
        k->failed = true;
        k->failed_batch = batch;
}

static void keep_for_resend(KafkaSink *k, rd_kafka_topic_t **topic, uint64_t batch, const rd_kafka_message_t *m) {
        rd_kafka_headers_t *headers = NULL;
        ARRAY_RESERVE(k->resend, k->cap_resend, k->n_resend + 1);
        Resend *r = &k->resend[k->n_resend++];
        *r = (Resend){ .topic = topic, .batch = batch, .key_len = m->key_len, .len = m->len };
        r->key = m->key_len ? xmemdup(m->key, m->key_len) : NULL;
        r->value = m->len ? xmemdup(m->payload, m->len) : NULL;
        if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR)
                r->headers = rd_kafka_headers_copy(headers);
}

static void free_resend(KafkaSink *k) {
        for (size_t i = 0; i < k->n_resend; i++) {
                free(k->resend[i].key);
                free(k->resend[i].value);
                if (k->resend[i].headers)
                        rd_kafka_headers_destroy(k->resend[i].headers);
        }
        k->n_resend = 0;
}

/* A copy of an input record (a dead letter, a late record) that no retry
 * can deliver, because of its own size. Another delivery of the same
 * record would fail the same way on every host: it is skipped, not fatal. */
static bool copy_refused_for_good(rd_kafka_resp_err_t err) {
        return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
               err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE || err == RD_KAFKA_RESP_ERR_INVALID_RECORD;
}

static const char *header_text(const rd_kafka_headers_t *headers, const char *name, char *buf, size_t size) {
        const void *value = NULL;
        size_t len = 0;
        if (!headers || rd_kafka_header_get_last(headers, name, &value, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !value)
                return "?";
        snprintf(buf, size, "%.*s", (int)len, (const char *)value);
        return buf;
}

/* "T/P offset O": where a copy's record was read (its origin headers), so
 * that an operator can find it. */
static const char *copy_origin(const rd_kafka_headers_t *headers, char *buf, size_t size) {
        char from[256], partition[24], offset[24];
        snprintf(buf, size, "%s/%s offset %s", header_text(headers, "sensord-topic", from, sizeof(from)),
                 header_text(headers, "sensord-partition", partition, sizeof(partition)),
                 header_text(headers, "sensord-offset", offset, sizeof(offset)));
        return buf;
}

/* Counts and logs a copy that is skipped. */
static void skip_copy(KafkaSink *k, const char *topic, size_t len, rd_kafka_resp_err_t err,
                      const rd_kafka_headers_t *headers) {
        char origin[320];
        k->stats.copies_skipped++;
        log_warning("the copy of %s (%zu bytes) for topic %s was refused for its size (%s); skipped, "
                    "the record is not copied (sensord_record_copies_skipped_total)",
                    copy_origin(headers, origin, sizeof(origin)), len, topic, rd_kafka_err2str(err));
}

/* The brokers refused a copy inside a transaction, which librdkafka then
 * requires to be aborted: nothing can be skipped. The next life reads the
 * topic's max.message.bytes at its start and cuts the copy to it. */
static void copy_refused_in_txn(KafkaSink *k, uint64_t batch, const char *topic, size_t len,
                                const rd_kafka_headers_t *headers) {
        char origin[320];
        fail_batch(k, batch,
                   "the copy of %s (%zu bytes) for %s was refused for its size, which aborts the "
                   "transaction; a restart cuts it to the topic's max.message.bytes",
                   copy_origin(headers, origin, sizeof(origin)), len, topic);
}

/* Runs inside rd_kafka_poll(): counts only. The events are told by
 * dispatch(), outside whatever produced, so that the pipeline is never
 * re-entered from its own row callback. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        KafkaSink *k = opaque;
        uint64_t batch = (uint64_t)(uintptr_t)m->_private;
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";
        bool result = k->results_name && strcmp(topic, k->results_name) == 0,
             late = k->late_name && strcmp(topic, k->late_name) == 0;
        write_stall_delivered(&k->stall, !m->err, now_usec(CLOCK_MONOTONIC));
        if (m->err && producer_failed(rk)) {
                keep_for_resend(k, result ? &k->results : late ? &k->late : &k->dead_letters, batch, m);
                return;
        }
        BatchCount *b = batch_count(k, batch);
        if (b)
                b->outstanding--;
        k->outstanding--;
        if (k->txn && (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT))
                return; /* an abort's (checkpoints_txn.c): its batches are read again from what was committed */
        if (m->err && !result && copy_refused_for_good(m->err)) {
                rd_kafka_headers_t *headers = NULL;
                if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR)
                        headers = NULL;
                if (k->txn)
                        copy_refused_in_txn(k, batch, topic, m->len, headers);
                else
                        skip_copy(k, topic, m->len, m->err, headers);
        } else if (m->err)
                fail_batch(k, batch, "%s of batch %" PRIu64 " was not delivered to %s: %s",
                           result ? "a result row" : late ? "a late record" : "a dead letter", batch, topic,
                           rd_kafka_err2str(m->err));
        else if (result)
                k->stats.rows++;
        else if (late)
                k->stats.late_records++;
        else
                k->stats.dead_letters++;
}

/* The producer failed for good: a new one sends again, in order, what the
 * old one still held, and then takes the messages that follow. */
static int reset(KafkaSink *k) {
        if (k->txn) {
                /* its successor fences it: the transaction's rows are read
                 * again, after a restart, from the last committed offsets */
                fail_batch(k, k->n_batches ? k->batches[0].batch : 0, "the transactional producer failed for good");
                sd_event_source_set_enabled(k->later, SD_EVENT_ONESHOT);
                return -EIO;
        }
        rd_kafka_topic_t **handles[] = { &k->results, &k->dead_letters, &k->late };
        const char *names[] = { k->results_name, k->dead_letters_name, k->late_name };
        for (size_t i = 0; i < 3; i++)
                if (*handles[i]) {
                        rd_kafka_topic_destroy(*handles[i]);
                        *handles[i] = NULL;
                }
        int r = producer_reset(&k->rk, k->conf, &k->watch, sd_event_source_get_event(k->later), "the result producer", NULL);
        for (size_t i = 0; i < 3 && r == 0; i++)
                if (names[i] && !(*handles[i] = rd_kafka_topic_new(k->rk, names[i], NULL)))
                        r = -EINVAL;
        size_t sent = 0;
        while (r == 0 && sent < k->n_resend) {
                Resend *m = &k->resend[sent];
                rd_kafka_resp_err_t err = rd_kafka_producev(
                        k->rk, RD_KAFKA_V_RKT(*m->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->value, m->len),
                        RD_KAFKA_V_HEADERS(m->headers), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)m->batch), RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        rd_kafka_poll(k->rk, 100);
                        sd_notify(0, "WATCHDOG=1");
                        continue;
                }
                if (err) {
                        r = -EIO;
                } else {
                        m->headers = NULL; /* the producer's now */
                        write_stall_produced(&k->stall, now_usec(CLOCK_MONOTONIC));
                }
                sent++;
        }
        free_resend(k);
        if (r < 0) {
                fail_batch(k, k->n_batches ? k->batches[0].batch : 0, "the result producer failed for good and could "
                                                                      "not be replaced");
                sd_event_source_set_enabled(k->later, SD_EVENT_ONESHOT);
        }
        return r;
}

static void dispatch(KafkaSink *k) {
        if (!k->failed && producer_failed(k->rk))
                reset(k);
        if (k->failed) {
                if (!k->failure_told) {
                        k->failure_told = true;
                        k->events.failed(k->events.userdata, k->failed_batch, k->failure);
                }
                return;
        }
        while (k->n_batches > 0 && k->batches[0].ended && k->batches[0].outstanding == 0) {
                uint64_t batch = k->batches[0].batch;
                memmove(k->batches, k->batches + 1, --k->n_batches * sizeof(*k->batches));
                k->events.confirmed(k->events.userdata, batch);
        }
        if (k->congested && k->outstanding < k->congested_at / 2) {
                k->congested = false;
                k->events.uncongested(k->events.userdata);
        }
}

static int on_ready(void *userdata) {
        KafkaSink *k = userdata;
        if (k->rk)
                rd_kafka_poll(k->rk, 0);
        dispatch(k);
        return 0;
}

static void on_polled(void *userdata) {
        dispatch(userdata);
}

static int on_later(sd_event_source *s, void *userdata) {
        dispatch(userdata);
        return 0;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        KafkaSink *k = opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                sd_event_source_set_enabled(k->later, SD_EVENT_ONESHOT); /* dispatch() replaces the producer */
                return;
        }
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                kafka_unreachable("result producer", reason);
        else
                log_warning("kafka producer: %s", reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *message) {
        KafkaSink *k = rd_kafka_opaque(rk);
        log_msg(level > LOG_DEBUG ? LOG_DEBUG : level, "kafka producer %s: %s", facility, message);
        kafka_refusal_note(facility, message);
        if (k)
                write_stall_note_log(&k->stall, facility, message);
}

static rd_kafka_conf_t *make_conf(KafkaSink *k, const Config *config) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        int r = kafka_conf_cluster(conf, "kafka producer", config, true);
        if (r == 0)
                r = kafka_conf_set(conf, "kafka producer", "client.id", "sensord");
        for (size_t i = 0; i < config->output_properties.n && r == 0; i++)
                r = kafka_conf_set(conf, "output.kafka_properties", config->output_properties.items[i].name,
                                   config->output_properties.items[i].value);
        if (r < 0 || kafka_conf_set(conf, "kafka producer", "enable.idempotence", "true") < 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        char value[200], debug[256];
        size_t size = sizeof(value);
        if (rd_kafka_conf_get(conf, "debug", value, &size) != RD_KAFKA_CONF_OK)
                value[0] = '\0';
        write_stall_debug_property(value, debug, sizeof(debug));
        /* debug "msg": librdkafka says why a write is retried only there;
         * and a write is retried for as long as the outage lasts, unless
         * the operator set message.timeout.ms */
        bool timeout_set = false;
        for (size_t i = 0; i < config->output_properties.n; i++)
                timeout_set |= strcmp(config->output_properties.items[i].name, "message.timeout.ms") == 0;
        if (kafka_conf_set(conf, "kafka producer", "debug", debug) < 0 ||
            (!timeout_set && kafka_conf_set(conf, "kafka producer", "message.timeout.ms", "0") < 0)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        size = sizeof(value);
        k->congested_at = kafka_conf_u64(conf, "queue.buffering.max.messages", 99999) / 2 + 1; /* 50000 if unknown */
        k->message_max = kafka_conf_u64(conf, "message.max.bytes", 1000000);
        /* the producer's default is true, though rd_kafka_conf_get() reads
         * "false" when the property is not set */
        k->may_create = true;
        for (size_t i = 0; i < config->output_properties.n; i++)
                if (strcmp(config->output_properties.items[i].name, "allow.auto.create.topics") == 0) {
                        size = sizeof(value);
                        k->may_create = rd_kafka_conf_get(conf, "allow.auto.create.topics", value, &size) ==
                                                RD_KAFKA_CONF_OK &&
                                        strcmp(value, "true") == 0;
                }
        rd_kafka_conf_set_opaque(conf, k);
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_error_cb(conf, on_error);
        rd_kafka_conf_set_log_cb(conf, on_log);
        return conf;
}

int kafka_sink_new(KafkaSink **out, const Config *config, sd_event *event, const KafkaSinkEvents *events,
                   TxnProducer *txn) {
        bool results = config->output_topic && config->output_topic[0],
             dead_letters = config->dead_letter_topic && config->dead_letter_topic[0],
             late = config->late_data_topic && config->late_data_topic[0];
        char errstr[512];
        int r;

        *out = NULL;
        if (!results && !dead_letters && !late)
                return 0;
        KafkaSink *k = xcalloc(1, sizeof(*k));
        *k = (KafkaSink){ .events = *events,
                          .startup_timeout_ms = config->startup_timeout_ms,
                          .dead_letters_max = -1,
                          .late_max = -1 };
        k->brokers = xstrdup(config->brokers);
        write_stall_init(&k->stall, "the result producer");
        rd_kafka_conf_t *conf = make_conf(k, config);
        if (!conf) {
                r = -EINVAL;
                goto fail;
        }
        if (txn) {
                /* its settings were read (make_conf()), its producer is shared */
                rd_kafka_conf_destroy(conf);
                k->txn = txn;
                k->rk = txn_producer_handle(txn);
        } else
                k->conf = rd_kafka_conf_dup(conf);
        if (!txn && !(k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
                log_error("cannot create the Kafka producer: %s", errstr);
                rd_kafka_conf_destroy(conf);
                r = -EINVAL;
                goto fail;
        }
        /* the topic handles only after kafka_sink_start()'s check: the
         * producer asks for a handle's topic, and a broker may create it */
        k->results_name = results ? xstrdup(config->output_topic) : NULL;
        k->dead_letters_name = dead_letters ? xstrdup(config->dead_letter_topic) : NULL;
        k->late_name = late ? xstrdup(config->late_data_topic) : NULL;
        if (txn) {
                const char *names[] = { k->results_name, k->dead_letters_name, k->late_name };
                TxnRoute route = { .on_delivery = on_delivery, .polled = on_polled, .stall = &k->stall, .userdata = k };
                for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                        if (names[i]) {
                                txn_producer_route(txn, names[i], &route);
                                route.polled = NULL; /* dispatch() once per serving */
                        }
                r = 0;
        } else {
                rd_kafka_queue_t *main_queue = rd_kafka_queue_get_main(k->rk);
                r = queue_watch_init(&k->watch, event, main_queue, on_ready, k);
                rd_kafka_queue_destroy(main_queue);
        }
        if (r < 0 ||
            (r = sd_event_add_defer(event, &k->later, on_later, k)) < 0 ||
            (r = sd_event_source_set_enabled(k->later, SD_EVENT_OFF)) < 0)
                goto fail;
        *out = k;
        return 0;
fail:
        kafka_sink_free(k);
        return r;
}

KafkaSink *kafka_sink_free(KafkaSink *k) {
        if (!k)
                return NULL;
        sd_event_source_disable_unref(k->later);
        if (k->results)
                rd_kafka_topic_destroy(k->results);
        if (k->dead_letters)
                rd_kafka_topic_destroy(k->dead_letters);
        if (k->late)
                rd_kafka_topic_destroy(k->late);
        if (k->rk && !k->txn) {
                /* what is still queued belongs to unconfirmed batches, which
                 * are produced again after a restart: do not wait for it */
                rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_destroy(k->rk);
        }
        queue_watch_free(&k->watch); /* after the handle that writes to its pipe */
        if (k->conf)
                rd_kafka_conf_destroy(k->conf);
        free_resend(k);
        free(k->resend);
        free(k->batches);
        free(k->key);
        free(k->results_name);
        free(k->dead_letters_name);
        free(k->late_name);
        free(k->late_windows);
        free(k->brokers);
        write_stall_free(&k->stall);
        free(k);
        return NULL;
}

static int open_topic(KafkaSink *k, const char *name, const char *setting, rd_kafka_topic_t **handle,
                      int64_t *max_message_bytes) {
        int r = topic_wait(k->rk, name, k->brokers, k->startup_timeout_ms, k->may_create);
        if (r < 0)
                return r;
        TopicSettings s;
        TopicProblem problems[TOPIC_PROBLEMS_MAX];
        topic_admin_settings(k->rk, k->admin, name, setting, &s, topic_admin_timeout_ms(k->startup_timeout_ms));
        if (topic_admin_judge(problems, topic_rules_output(&s, name, setting, problems)) < 0)
                return -EINVAL;
        if (max_message_bytes)
                *max_message_bytes = s.max_message_bytes;
        if (!(*handle = rd_kafka_topic_new(k->rk, name, NULL))) {
                log_error("cannot open topic %s: %s", name, rd_kafka_err2str(rd_kafka_last_error()));
                return -EINVAL;
        }
        return 0;
}

int kafka_sink_start(KafkaSink *k) {
        int r = 0;
        k->admin = topic_admin_available(k->rk, 2000);
        if (k->results_name)
                r = open_topic(k, k->results_name, "output.kafka_topic", &k->results, NULL);
        if (r == 0 && k->dead_letters_name)
                r = open_topic(k, k->dead_letters_name, "dead_letter.topic", &k->dead_letters, &k->dead_letters_max);
        if (r == 0 && k->late_name)
                r = open_topic(k, k->late_name, "late_data.topic", &k->late, &k->late_max);
        return r;
}

bool kafka_sink_has_results(const KafkaSink *k) {
        return k && k->results_name;
}

/* Produces one message; waits for room while the producer's queue is full
 * (serving delivery reports, whose events follow on the loop). */
static int produce(KafkaSink *k, rd_kafka_topic_t **topic, uint64_t batch, const void *key, size_t key_len,
                   const void *value, size_t len, rd_kafka_headers_t *headers) {
        if (!k->rk) { /* it failed for good and could not be replaced */
                rd_kafka_headers_destroy(headers);
                return -EIO;
        }
        if (k->txn && txn_producer_begin(k->txn) < 0) {
                rd_kafka_headers_destroy(headers);
                fail_batch(k, batch, "no transaction could begin for a message to %s", rd_kafka_topic_name(*topic));
                return -EIO;
        }
        for (;;) {
                rd_kafka_resp_err_t err = rd_kafka_producev(
                        k->rk, RD_KAFKA_V_RKT(*topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
                        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)batch), RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                        count_produced(k, batch);
                        return 0;
                }
                if (err == RD_KAFKA_RESP_ERR__FATAL && !k->failed) {
                        if (reset(k) == 0)
                                continue; /* on the new producer */
                        rd_kafka_headers_destroy(headers);
                        return -EIO;
                }
                if (topic != &k->results && copy_refused_for_good(err)) {
                        skip_copy(k, rd_kafka_topic_name(*topic), len, err, headers);
                        rd_kafka_headers_destroy(headers);
                        return 0;
                }
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        rd_kafka_headers_destroy(headers);
                        fail_batch(k, batch, "the producer refused a message for %s (%zu bytes): %s",
                                   rd_kafka_topic_name(*topic), len, rd_kafka_err2str(err));
                        log_error("%s", k->failure);
                        return -EIO;
                }
                rd_kafka_poll(k->rk, 100);
                sd_notify(0, "WATCHDOG=1");
                sd_event_source_set_enabled(k->later, SD_EVENT_ONESHOT);
        }
}

int kafka_sink_row(KafkaSink *k, uint64_t batch, const WindowRow *row) {
        char num[24], text[ROW_JSON_MAX];
        size_t key_len;
        if (!k->results)
                return 0;
        int len = row_json(text, batch, row, &k->times);
        if (len < 0)
                return len;
        ARRAY_RESERVE(k->key, k->key_cap, TIMESTAMP_MAX + 1 + row->sensor_id_len);
        key_len = timestamp_format_cached(&k->times, row->start_ms, k->key);
        k->key[key_len++] = '|';
        memcpy(k->key + key_len, row->sensor_id, row->sensor_id_len);
        key_len += row->sensor_id_len;
        rd_kafka_headers_t *headers = rd_kafka_headers_new(1);
        rd_kafka_header_add(headers, "sensord-batch", -1, num, format_u64(num, batch) - num);
        return produce(k, &k->results, batch, k->key, key_len, text, (size_t)len, headers);
}

/* The headers that say where a copied record was read. */
static void add_origin_headers(rd_kafka_headers_t *headers, const char *topic, const PipelineMessage *m) {
        char partition[24], offset[24], timestamp[24];
        snprintf(partition, sizeof(partition), "%" PRId32, m->partition);
        snprintf(offset, sizeof(offset), "%" PRId64, m->offset);
        snprintf(timestamp, sizeof(timestamp), "%" PRId64, m->timestamp_ms);
        rd_kafka_header_add(headers, "sensord-topic", -1, topic, -1);
        rd_kafka_header_add(headers, "sensord-partition", -1, partition, -1);
        rd_kafka_header_add(headers, "sensord-offset", -1, offset, -1);
        rd_kafka_header_add(headers, "sensord-timestamp", -1, timestamp, -1);
}

/* How much of a record's value its copy to a topic can carry: the message
 * must fit the producer's message.max.bytes and the topic's. A longer
 * value is cut to that, and the copy says so with its original size
 * (header sensord-truncated). Returns the length to send. */
static size_t fit_copy(KafkaSink *k, int64_t topic_max, const PipelineMessage *m, rd_kafka_headers_t *headers) {
        uint64_t limit = k->message_max;
        if (topic_max > 0 && (uint64_t)topic_max < limit)
                limit = (uint64_t)topic_max;
        char original[24];
        size_t original_len = (size_t)snprintf(original, sizeof(original), "%zu", m->len);
        uint64_t framing = RECORD_OVERHEAD + m->key_len + strlen("sensord-truncated") + original_len;
        const char *name;
        const void *value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
                framing += strlen(name) + size + 10; /* with their lengths' varints */
        if (m->len + framing <= limit)
                return m->len;
        k->stats.copies_truncated++;
        rd_kafka_header_add(headers, "sensord-truncated", -1, original, (ssize_t)original_len);
        return limit > framing ? (size_t)(limit - framing) : 0;
}

int kafka_sink_dead_letter(KafkaSink *k, uint64_t batch, const DeadLetter *dl) {
        const PipelineMessage *m = dl->message;
        if (!k->dead_letters)
                return 0;
        rd_kafka_headers_t *headers = rd_kafka_headers_new(6);
        rd_kafka_header_add(headers, "sensord-reason", -1, dl->reason_class, -1);
        rd_kafka_header_add(headers, "sensord-error", -1, dl->reason, -1);
        add_origin_headers(headers, dl->topic, m);
        size_t len = fit_copy(k, k->dead_letters_max, m, headers);
        return produce(k, &k->dead_letters, batch, m->key, m->key_len, m->payload, len, headers);
}

int kafka_sink_late_record(KafkaSink *k, uint64_t batch, const LateRecord *lr) {
        const PipelineMessage *m = lr->message;
        char watermark[TIMESTAMP_MAX];
        size_t len = 0;
        if (!k->late)
                return 0;
        /* the starts of the windows missed, oldest first, comma-separated */
        ARRAY_RESERVE(k->late_windows, k->late_windows_cap, lr->late->n * (TIMESTAMP_MAX + 1) + 1);
        for (size_t i = lr->late->n; i-- > 0;) {
                len += timestamp_format(lr->late->starts[i], k->late_windows + len);
                if (i > 0)
                        k->late_windows[len++] = ',';
        }
        size_t wm_len = timestamp_format(lr->late->watermark_ms, watermark);
        rd_kafka_headers_t *headers = rd_kafka_headers_new(6);
        add_origin_headers(headers, lr->topic, m);
        rd_kafka_header_add(headers, "sensord-watermark", -1, watermark, (ssize_t)wm_len);
        rd_kafka_header_add(headers, "sensord-late-windows", -1, k->late_windows, (ssize_t)len);
        size_t value_len = fit_copy(k, k->late_max, m, headers);
        return produce(k, &k->late, batch, m->key, m->key_len, m->payload, value_len, headers);
}

int kafka_sink_end_batch(KafkaSink *k, uint64_t batch) {
        if (k->failed)
                return -EIO;
        BatchCount *b = batch_count(k, batch);
        if (!b)
                return 0;
        b->ended = true;
        if (b->outstanding > 0 || b != &k->batches[0])
                return PIPELINE_PENDING;
        memmove(k->batches, k->batches + 1, --k->n_batches * sizeof(*k->batches));
        return 0;
}

bool kafka_sink_wait(KafkaSink *k, int timeout_ms) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000;
        while (k->outstanding > 0 && !k->failed && now_usec(CLOCK_MONOTONIC) < deadline) {
                if (producer_failed(k->rk))
                        reset(k);
                else
                        rd_kafka_poll(k->rk, 100);
                sd_notify(0, "WATCHDOG=1");
        }
        dispatch(k);
        return k->outstanding == 0;
}

bool kafka_sink_congested(const KafkaSink *k) {
        return k->congested;
}

const KafkaSinkStats *kafka_sink_stats(const KafkaSink *k) {
        return &k->stats;
}

void kafka_sink_check_stall(KafkaSink *k) {
        write_stall_check(&k->stall, now_usec(CLOCK_MONOTONIC));
}

uint64_t kafka_sink_stall_seconds(const KafkaSink *k) {
        return write_stall_seconds(&k->stall, now_usec(CLOCK_MONOTONIC));
}

void kafka_sink_stall_reason(KafkaSink *k, char *buf, size_t size) {
        write_stall_reason(&k->stall, buf, size);
}
