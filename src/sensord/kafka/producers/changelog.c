/* changelog: a producer and a reader (assign() only), each a librdkafka
 * queue on sd-event, and committed-offset requests on a worker thread. */
#include "sensord/kafka/producers/changelog_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "sensord/kafka/kafka_conf.h"
#include "sensord/kafka/kafka_worker.h"
#include "sensord/kafka/producers/producer_reset.h"
#include "sensord/kafka/producers/write_stall.h"
#include "sensord/kafka/queue_watch.h"
#include "sensord/kafka/reachability.h"
#include "sensord/kafka/refusal.h"

static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *message) {
        Changelog *cl = rd_kafka_opaque(rk);
        log_msg(level > LOG_DEBUG ? LOG_DEBUG : level, "kafka changelog %s: %s", facility, message);
        kafka_refusal_note(facility, message);
        if (cl)
                write_stall_note_log(&cl->stall, facility, message);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                kafka_unreachable("changelog producer", reason);
        else if (err != RD_KAFKA_RESP_ERR__TRANSPORT)
                log_warning("kafka changelog: %s", reason);
}

/* Runs inside rd_kafka_poll() on the loop's thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        Changelog *cl = opaque;
        cl->backlog_bytes -= m->len < cl->backlog_bytes ? m->len : cl->backlog_bytes;
        write_stall_delivered(&cl->stall, !m->err, now_usec(CLOCK_MONOTONIC));
        if (m->err && !cl->txn && (cl->replacing || producer_failed(rk))) {
                ARRAY_RESERVE(cl->resend, cl->cap_resend, cl->n_resend + 1);
                cl->resend[cl->n_resend++] = (Resend){ .partition = m->partition,
                                                       .token = (uint64_t)(uintptr_t)m->_private,
                                                       .value = xmemdup(m->payload, m->len),
                                                       .len = m->len };
                return;
        }
        cl->events.delivered(cl->events.userdata, m->partition, (uint64_t)(uintptr_t)m->_private,
                             m->err ? -1 : m->offset, m->err ? rd_kafka_err2str(m->err) : NULL);
}

static rd_kafka_conf_t *producer_conf(Changelog *cl, const Config *config) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        int r = kafka_conf_cluster(conf, "changelog", config, true);
        for (size_t i = 0; i < config->output_properties.n && r == 0; i++)
                r = kafka_conf_set(conf, "output.kafka_properties", config->output_properties.items[i].name,
                                   config->output_properties.items[i].value);
        /* A checkpoint counts only once delivered: retried for as long as
         * it takes (a stop does not wait for it), in order, exactly once. */
        char debug[256], value[200] = "";
        size_t size = sizeof(value);
        if (rd_kafka_conf_get(conf, "debug", value, &size) != RD_KAFKA_CONF_OK)
                value[0] = '\0';
        write_stall_debug_property(value, debug, sizeof(debug));
        /* debug "msg": librdkafka says why a write is retried only there */
        if (r < 0 || kafka_conf_set(conf, "changelog", "client.id", "sensord-changelog") < 0 ||
            kafka_conf_set(conf, "changelog", "debug", debug) < 0 ||
            kafka_conf_set(conf, "changelog", "enable.idempotence", "true") < 0 ||
            kafka_conf_set(conf, "changelog", "acks", "all") < 0 ||
            kafka_conf_set(conf, "changelog", "message.timeout.ms", "0") < 0 ||
            kafka_conf_set(conf, "changelog", "compression.codec", "lz4") < 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_conf_set_opaque(conf, cl);
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_error_cb(conf, on_error);
        rd_kafka_conf_set_log_cb(conf, on_log);
        return conf;
}

static rd_kafka_conf_t *reader_conf(Changelog *cl, const Config *config) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        int r = kafka_conf_cluster(conf, "changelog", config, false);
        for (size_t i = 0; i < config->properties.n && r == 0; i++)
                r = kafka_conf_set(conf, "kafka.properties", config->properties.items[i].name,
                                   config->properties.items[i].value);
        /* assign() only: it never joins the group, whose committed
         * offsets it asks for (rd_kafka_committed()) */
        if (r < 0 || kafka_conf_set(conf, "changelog", "client.id", "sensord-changelog-restore") < 0 ||
            kafka_conf_set(conf, "changelog", "group.id", config->group_id) < 0 ||
            kafka_conf_set(conf, "changelog", "enable.auto.commit", "false") < 0 ||
            kafka_conf_set(conf, "changelog", "enable.auto.offset.store", "false") < 0 ||
            kafka_conf_set(conf, "changelog", "enable.partition.eof", "true") < 0 ||
            /* it fetches only while a restore runs, which should not wait
             * out the broker's long poll for the partitions added meanwhile */
            kafka_conf_set(conf, "changelog", "fetch.wait.max.ms", "10") < 0 ||
            kafka_conf_set(conf, "changelog", "auto.offset.reset", "error") < 0 ||
            /* exactly-once: never a part of an aborted transaction */
            (cl->txn && kafka_conf_set(conf, "changelog", "isolation.level", "read_committed") < 0)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rd_kafka_conf_set_opaque(conf, cl);
        rd_kafka_conf_set_error_cb(conf, on_error);
        rd_kafka_conf_set_log_cb(conf, on_log);
        return conf;
}

/* Hands one part to the producer, which frees value once it takes it; the
 * queue is unbounded for these few, large messages, so a full one is
 * waited out rather than failing a checkpoint. Returns librdkafka's error,
 * __FATAL when there is no producer left. */
static rd_kafka_resp_err_t produce_part(Changelog *cl, int32_t partition, void *value, size_t len, uint64_t token) {
        bool refreshed = false;
        if (cl->txn && txn_producer_begin(cl->txn) < 0)
                return RD_KAFKA_RESP_ERR__FATAL;
        while (cl->producer) {
                if (rd_kafka_produce(cl->handle, partition, RD_KAFKA_MSG_F_FREE, value, len, NULL, 0,
                                     (void *)(uintptr_t)token) == 0) {
                        cl->backlog_bytes += len;
                        write_stall_produced(&cl->stall, now_usec(CLOCK_MONOTONIC));
                        return RD_KAFKA_RESP_ERR_NO_ERROR;
                }
                rd_kafka_resp_err_t err = rd_kafka_last_error();
                if (err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION && !refreshed) {
                        /* added since the producer's metadata: ask for it
                         * now (once), not at the next refresh */
                        const struct rd_kafka_metadata *md = NULL;
                        if (rd_kafka_metadata(cl->producer, 0, cl->handle, &md, ASK_TIMEOUT_MS) == 0)
                                rd_kafka_metadata_destroy(md);
                        refreshed = true;
                        continue;
                }
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        return err;
                rd_kafka_poll(cl->producer, 100);
                sd_notify(0, "WATCHDOG=1");
        }
        return RD_KAFKA_RESP_ERR__FATAL;
}

/* The producer failed for good (why NULL), or is stuck: a new one sends
 * again, in order, the parts the old one still held. Those it cannot are
 * reported undelivered. */
static void reset(Changelog *cl, const char *why) {
        if (cl->handle) {
                rd_kafka_topic_destroy(cl->handle);
                cl->handle = NULL;
        }
        cl->replacing = true; /* its purged parts are kept to send again */
        int r = producer_reset(&cl->producer, cl->producer_conf, &cl->producer_watch, cl->event,
                               "the changelog producer", why);
        cl->replacing = false;
        if (r == 0 && !(cl->handle = rd_kafka_topic_new(cl->producer, cl->topic, NULL)))
                r = -EINVAL;
        for (size_t i = 0; i < cl->n_resend; i++) {
                Resend *m = &cl->resend[i];
                if (r == 0 && produce_part(cl, m->partition, m->value, m->len, m->token) == RD_KAFKA_RESP_ERR_NO_ERROR)
                        continue;
                r = -EIO;
                free(m->value);
                cl->events.delivered(cl->events.userdata, m->partition, m->token, -1,
                                     "the changelog producer failed for good and could not be replaced");
        }
        cl->n_resend = 0;
}

static int on_producer_ready(void *userdata) {
        Changelog *cl = userdata;
        if (!cl->producer)
                return 0;
        rd_kafka_poll(cl->producer, 0);
        if (producer_failed(cl->producer))
                reset(cl, NULL);
        return 0;
}

/* A committed-offset request: rd_kafka_committed() blocks for a round
 * trip to the group coordinator, so it runs on the worker. (The admin API's
 * ListConsumerGroupOffsets would not block, but librdkafka 2.0.2 aborts on
 * an assertion when one times out while the brokers are down.) */
typedef struct Ask {
        KafkaJob job; /* first: the job is the request */
        Changelog *cl;
        rd_kafka_topic_partition_list_t *list;
        rd_kafka_resp_err_t err;
        bool *missing; /* by list element: no changelog partition for it yet */
        ChangelogFresh *fresh; /* by list element, where nothing is committed */
        char why[800]; /* the fix, when one is missing */
} Ask;

/* What a partition with no committed offset starts from: whether its
 * changelog partition was ever written, and where the input partition
 * begins and ends now. */
static rd_kafka_resp_err_t ask_fresh(Changelog *cl, int32_t partition, ChangelogFresh *fresh) {
        int64_t low;
        rd_kafka_resp_err_t err =
                rd_kafka_query_watermark_offsets(cl->reader, cl->topic, partition, &low, &fresh->changelog_end,
                                                 ASK_TIMEOUT_MS);
        return err ? err
                   : rd_kafka_query_watermark_offsets(cl->reader, cl->input_topic, partition, &fresh->input_low,
                                                      &fresh->input_high, ASK_TIMEOUT_MS);
}

static void run_ask(KafkaJob *job) {
        Ask *ask = (Ask *)job;
        for (int i = 0; i < ask->list->cnt; i++)
                ask->missing[i] =
                        !changelog_topic_has_partition(ask->cl, ask->list->elems[i].partition, ask->why, sizeof(ask->why));
        ask->err = rd_kafka_committed(ask->cl->reader, ask->list, ASK_TIMEOUT_MS);
        for (int i = 0; !ask->err && i < ask->list->cnt; i++) {
                rd_kafka_topic_partition_t *p = &ask->list->elems[i];
                if (!ask->missing[i] && !p->err && p->offset < 0 && !p->metadata_size)
                        p->err = ask_fresh(ask->cl, p->partition, &ask->fresh[i]);
        }
}

static void done_ask(KafkaJob *job, bool cancelled) {
        Ask *ask = (Ask *)job;
        Changelog *cl = ask->cl;
        for (int i = 0; !cancelled && i < ask->list->cnt; i++) {
                const rd_kafka_topic_partition_t *p = &ask->list->elems[i];
                rd_kafka_resp_err_t err = ask->err ? ask->err : p->err;
                if (ask->missing[i])
                        cl->events.missing(cl->events.userdata, p->partition, ask->why);
                else if (err)
                        cl->events.committed(cl->events.userdata, p->partition, -1, NULL, 0, rd_kafka_err2str(err));
                else if (p->offset < 0 && !p->metadata_size)
                        cl->events.fresh(cl->events.userdata, p->partition, &ask->fresh[i]);
                else
                        cl->events.committed(cl->events.userdata, p->partition, p->offset >= 0 ? p->offset : -1,
                                             p->metadata, p->metadata_size, NULL);
        }
        rd_kafka_topic_partition_list_destroy(ask->list);
        free(ask->missing);
        free(ask->fresh);
        free(ask);
}

/* A read asked for an offset the partition does not have: below its start
 * (retention took it) or at or past its end (a replica behind, or stale
 * metadata). The partition's offsets, asked on the worker, tell which; an
 * answer that does not come counts as the end, which is read again, never
 * as a loss. */
typedef struct Bounds {
        KafkaJob job; /* first: the job is the request */
        Changelog *cl;
        int32_t partition;
        int64_t offset, low, high;
        rd_kafka_resp_err_t err;
} Bounds;

static void run_bounds(KafkaJob *job) {
        Bounds *b = (Bounds *)job;
        b->err = rd_kafka_query_watermark_offsets(b->cl->reader, b->cl->topic, b->partition, &b->low, &b->high,
                                                  ASK_TIMEOUT_MS);
}

static void done_bounds(KafkaJob *job, bool cancelled) {
        Bounds *b = (Bounds *)job;
        Changelog *cl = b->cl;
        if (!cancelled) {
                bool gone = !b->err && b->offset >= 0 && b->offset < b->low;
                log_warning("changelog %s/%" PRId32 " has offsets %" PRId64 " to %" PRId64 ", not %" PRId64 "%s%s",
                            cl->topic, b->partition, b->err ? -1 : b->low, b->err ? -1 : b->high, b->offset,
                            gone ? ": retention deleted it" : "",
                            b->err ? " (its offsets could not be asked for)" : "");
                cl->events.read(cl->events.userdata, b->partition, b->offset, NULL, 0,
                                gone ? CHANGELOG_READ_GONE : CHANGELOG_READ_END);
        }
        free(b);
}

static void ask_bounds(Changelog *cl, int32_t partition, int64_t offset) {
        Bounds *b = xcalloc(1, sizeof(*b));
        *b = (Bounds){ .job = { .run = run_bounds, .done = done_bounds }, .cl = cl, .partition = partition,
                       .offset = offset };
        kafka_worker_submit(cl->worker, &b->job);
}

static int on_reader_ready(void *userdata) {
        Changelog *cl = userdata;
        rd_kafka_message_t *m = NULL;
        unsigned i;
        /* bounded, so that timers and signals get their turn */
        for (i = 0; i < 1024 && (m = rd_kafka_consumer_poll(cl->reader, 0)); i++) {
                if (m->err == 0) {
                        cl->read_messages++;
                        cl->read_bytes += m->len;
                        cl->events.read(cl->events.userdata, m->partition, m->offset, m->payload, m->len,
                                        CHANGELOG_READ_MESSAGE);
                } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        cl->events.read(cl->events.userdata, m->partition, m->offset, NULL, 0, CHANGELOG_READ_END);
                } else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                           m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
                        log_warning("reading changelog %s/%" PRId32 ": %s", cl->topic, m->partition,
                                    rd_kafka_message_errstr(m));
                        bool known = m->partition >= 0 && (size_t)m->partition < cl->n_read_from &&
                                     cl->read_from[m->partition] != NOT_READING;
                        ask_bounds(cl, m->partition,
                                   m->offset >= 0 ? m->offset : known ? cl->read_from[m->partition] : -1);
                } else {
                        log_warning("reading changelog %s: %s", cl->topic, rd_kafka_message_errstr(m));
                }
                rd_kafka_message_destroy(m);
        }
        /* the pipe wakes the loop only when the queue fills anew */
        return i == 1024 ? sd_event_source_set_enabled(cl->more_read, SD_EVENT_ONESHOT) : 0;
}

static int on_more_read(sd_event_source *s, void *userdata) {
        return on_reader_ready(userdata);
}

int changelog_new(Changelog **out, const Config *config, sd_event *event, const ChangelogEvents *events,
                  TxnProducer *txn) {
        Changelog *cl = xcalloc(1, sizeof(*cl));
        char errstr[512];
        int r = -EINVAL;

        *cl = (Changelog){ .events = *events,
                           .event = event,
                           .txn = txn,
                           .startup_timeout_ms = config->startup_timeout_ms,
                           .snapshot_interval_ms = config->changelog_snapshot_interval_ms,
                           .replication_factor = config->changelog_replication_factor
                                                         ? (int)config->changelog_replication_factor
                                                         : -1 };
        cl->topic = xstrdup(config->changelog_topic);
        snprintf(cl->stall_what, sizeof(cl->stall_what), "changelog topic %s", cl->topic);
        write_stall_init(&cl->stall, cl->stall_what);
        cl->input_topic = xstrdup(config->topic);
        cl->group_id = xstrdup(config->group_id);
        cl->brokers = xstrdup(config->brokers);
        rd_kafka_conf_t *conf = producer_conf(cl, config);
        if (!conf)
                goto fail;
        cl->part_max = kafka_conf_u64(conf, "message.max.bytes", 1000000);
        cl->part_max = cl->part_max > 2 * MESSAGE_OVERHEAD ? cl->part_max - MESSAGE_OVERHEAD : MESSAGE_OVERHEAD;
        if (txn) {
                /* its settings were read, its producer is shared */
                rd_kafka_conf_destroy(conf);
                cl->producer = txn_producer_handle(txn);
                txn_producer_route(txn, cl->topic,
                                   &(TxnRoute){ .on_delivery = on_delivery, .stall = &cl->stall, .userdata = cl });
        } else
                cl->producer_conf = rd_kafka_conf_dup(conf);
        if (!txn && !(cl->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
                log_error("cannot create the changelog producer: %s", errstr);
                rd_kafka_conf_destroy(conf);
                goto fail;
        }
        if (!(conf = reader_conf(cl, config)))
                goto fail;
        if (!(cl->reader = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
                log_error("cannot create the changelog reader: %s", errstr);
                rd_kafka_conf_destroy(conf);
                goto fail;
        }
        rd_kafka_poll_set_consumer(cl->reader);
        cl->reader_queue = rd_kafka_queue_get_consumer(cl->reader);
        if (!txn) {
                rd_kafka_queue_t *main_queue = rd_kafka_queue_get_main(cl->producer);
                r = queue_watch_init(&cl->producer_watch, event, main_queue, on_producer_ready, cl);
                rd_kafka_queue_destroy(main_queue);
        } else
                r = 0;
        if (r < 0 || (r = kafka_worker_new(&cl->worker, event)) < 0 ||
            (r = queue_watch_init(&cl->reader_watch, event, cl->reader_queue, on_reader_ready, cl)) < 0 ||
            (r = sd_event_add_defer(event, &cl->more_read, on_more_read, cl)) < 0 ||
            (r = sd_event_source_set_enabled(cl->more_read, SD_EVENT_OFF)) < 0)
                goto fail;
        *out = cl;
        return 0;
fail:
        changelog_free(cl);
        return r;
}

Changelog *changelog_free(Changelog *cl) {
        if (!cl)
                return NULL;
        kafka_worker_free(cl->worker); /* before the reader it asks */
        sd_event_source_disable_unref(cl->more_read);
        if (cl->handle)
                rd_kafka_topic_destroy(cl->handle);
        if (cl->reader_handle)
                rd_kafka_topic_destroy(cl->reader_handle);
        if (cl->reader_queue)
                rd_kafka_queue_destroy(cl->reader_queue);
        if (cl->reader)
                rd_kafka_destroy_flags(cl->reader, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        if (cl->producer && !cl->txn) {
                /* undelivered parts belong to checkpoints that never
                 * counted: the next owner restores from the last one that did */
                rd_kafka_purge(cl->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_destroy(cl->producer);
        }
        queue_watch_free(&cl->producer_watch); /* after the handles that write to their pipes */
        queue_watch_free(&cl->reader_watch);
        if (cl->producer_conf)
                rd_kafka_conf_destroy(cl->producer_conf);
        for (size_t i = 0; i < cl->n_resend; i++)
                free(cl->resend[i].value);
        free(cl->resend);
        free(cl->read_from);
        write_stall_free(&cl->stall);
        free(cl->topic);
        free(cl->input_topic);
        free(cl->group_id);
        free(cl->brokers);
        free(cl);
        return NULL;
}

void changelog_ask_committed(Changelog *cl, const int32_t *partitions, size_t n) {
        Ask *ask = xcalloc(1, sizeof(*ask));
        *ask = (Ask){ .job = { .run = run_ask, .done = done_ask }, .cl = cl,
                      .list = rd_kafka_topic_partition_list_new((int)n), .missing = xcalloc(n ? n : 1, sizeof(bool)),
                      .fresh = xcalloc(n ? n : 1, sizeof(ChangelogFresh)) };
        for (size_t i = 0; i < n; i++)
                rd_kafka_topic_partition_list_add(ask->list, cl->input_topic, partitions[i]);
        kafka_worker_submit(cl->worker, &ask->job);
}

static void reader_change(Changelog *cl, int32_t partition, int64_t offset, bool add) {
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(list, cl->topic, partition)->offset = offset;
        rd_kafka_error_t *error =
                add ? rd_kafka_incremental_assign(cl->reader, list) : rd_kafka_incremental_unassign(cl->reader, list);
        if (error) {
                log_error("changelog %s/%" PRId32 ": cannot %s reading: %s", cl->topic, partition,
                          add ? "start" : "stop", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        }
        rd_kafka_topic_partition_list_destroy(list);
}

void changelog_read_from(Changelog *cl, int32_t partition, int64_t offset) {
        if (partition >= 0 && (size_t)partition >= cl->n_read_from) {
                cl->read_from = xrealloc(cl->read_from, ((size_t)partition + 1) * sizeof(*cl->read_from));
                for (size_t i = cl->n_read_from; i <= (size_t)partition; i++)
                        cl->read_from[i] = NOT_READING;
                cl->n_read_from = (size_t)partition + 1;
        }
        if (partition >= 0)
                cl->read_from[partition] = offset;
        reader_change(cl, partition, offset, true);
}

void changelog_read_stop(Changelog *cl, int32_t partition) {
        if (partition < 0 || (size_t)partition >= cl->n_read_from || cl->read_from[partition] == NOT_READING)
                return; /* not reading it: nothing to unassign */
        cl->read_from[partition] = NOT_READING;
        reader_change(cl, partition, RD_KAFKA_OFFSET_INVALID, false);
}

size_t changelog_part_max(const Changelog *cl) {
        return cl->part_max - CHANGELOG_FRAME_BYTES;
}

void changelog_produce(Changelog *cl, int32_t partition, const ChangelogFrame *frame, const uint8_t *part, size_t len,
                       uint64_t token) {
        uint8_t *value = xmalloc(CHANGELOG_FRAME_BYTES + len);
        changelog_encode_frame(value, frame);
        memcpy(value + CHANGELOG_FRAME_BYTES, part, len);
        rd_kafka_resp_err_t err;
        while ((err = produce_part(cl, partition, value, CHANGELOG_FRAME_BYTES + len, token)) ==
                       RD_KAFKA_RESP_ERR__FATAL &&
               cl->producer && !cl->txn)
                reset(cl, NULL); /* and on the new producer */
        if (err) {
                free(value);
                cl->events.delivered(cl->events.userdata, partition, token, -1, rd_kafka_err2str(err));
        }
}

int changelog_flush(Changelog *cl, int timeout_ms) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000;
        while (cl->producer) {
                if (producer_failed(cl->producer) && cl->txn)
                        return -EIO; /* shared, and never replaced */
                if (producer_failed(cl->producer))
                        reset(cl, NULL); /* and flush the new producer */
                else if (rd_kafka_flush(cl->producer, 100) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                         !producer_failed(cl->producer))
                        return 0;
                sd_notify(0, "WATCHDOG=1");
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
        }
        return -EIO;
}

void changelog_read_counts(const Changelog *cl, uint64_t *messages, uint64_t *bytes) {
        *messages = cl->read_messages;
        *bytes = cl->read_bytes;
}

bool changelog_congested(const Changelog *cl) {
        /* asked before every message: the clock only while parts wait */
        return cl->backlog_bytes > BACKLOG_MAX ||
               (cl->stall.outstanding > 0 && write_stall_stalled(&cl->stall, now_usec(CLOCK_MONOTONIC)));
}

/* librdkafka 2.0.2's idempotent producer can wait for ever, saying
 * nothing, when it started while brokers were down: a host restarted
 * during the chaos test's broker faults had no changelog write
 * acknowledged 75 s after every broker ran again, while a new producer
 * delivers at once. So a stall with no error from a broker (none, or
 * librdkafka's own) gets a new producer every STUCK_AFTER_US; a part it
 * writes twice is read once. A broker's error (too few in-sync replicas)
 * is the cluster's to mend, and a new producer would change nothing. */
#define STUCK_AFTER_US (30 * 1000000ull)

void changelog_check_stall(Changelog *cl) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        write_stall_check(&cl->stall, now);
        char reason[384], why[512];
        write_stall_reason(&cl->stall, reason, sizeof(reason));
        if (!cl->producer || cl->txn || write_stall_age_us(&cl->stall, now) < STUCK_AFTER_US ||
            (reason[0] && !strstr(reason, "Local: ")))
                return;
        snprintf(why, sizeof(why), "no write acknowledged for 30 s, and no error from a broker: %s",
                 reason[0] ? reason : "none given");
        reset(cl, why);
}

uint64_t changelog_stall_seconds(const Changelog *cl) {
        return write_stall_seconds(&cl->stall, now_usec(CLOCK_MONOTONIC));
}

void changelog_stall_reason(Changelog *cl, char *buf, size_t size) {
        write_stall_reason(&cl->stall, buf, size);
}
