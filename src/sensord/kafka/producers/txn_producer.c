/* txn_producer: the transactional producer shared by the sink and the
 * changelog, its delivery reports routed by topic, and the transaction's
 * begin, offsets, commit and abort as librdkafka documents them. */
#include "sensord/kafka/producers/txn_producer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "lib/state/crc32c.h"
#include "sensord/kafka/consumer/consumer_conf.h"
#include "sensord/kafka/kafka_conf.h"
#include "sensord/kafka/producers/write_stall.h"
#include "sensord/kafka/queue_watch.h"
#include "sensord/kafka/reachability.h"
#include "sensord/kafka/refusal.h"

#define ROUTES_MAX 4

typedef struct Route {
        char *topic;
        TxnRoute to;
} Route;

struct TxnProducer {
        rd_kafka_t *rk;
        rd_kafka_t *consumer; /* whose group metadata a commit carries */
        QueueWatch watch;
        Route routes[ROUTES_MAX];
        size_t n_routes;
        char id[600];
        int64_t startup_timeout_ms;
        bool open;         /* begun, not yet committed or aborted */
        bool offsets_sent; /* the open transaction's offsets are in it */
        bool must_abort;   /* an abortable error: the open transaction can only be aborted */
        bool retry_told;   /* the open transaction's first retriable error was logged */
        rd_kafka_topic_partition_list_t *offsets;
        uint64_t ending_since_us; /* the first call of the commit in progress */
        TxnProducerStats stats;
};

static const double commit_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };

static void route_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        TxnProducer *tp = opaque;
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
        for (size_t i = 0; i < tp->n_routes; i++)
                if (strcmp(tp->routes[i].topic, topic) == 0) {
                        tp->routes[i].to.on_delivery(rk, m, tp->routes[i].to.userdata);
                        return;
                }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                kafka_unreachable("transactional producer", reason);
        else if (err != RD_KAFKA_RESP_ERR__TRANSPORT)
                log_warning("kafka transactional producer: %s", reason);
}

/* Routes are all added before the producer's first message, and never
 * change after: librdkafka's threads read them without a lock. */
static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *message) {
        TxnProducer *tp = rd_kafka_opaque(rk);
        log_msg(level > LOG_DEBUG ? LOG_DEBUG : level, "kafka transactional producer %s: %s", facility, message);
        kafka_refusal_note(facility, message);
        for (size_t i = 0; tp && i < tp->n_routes; i++)
                if (tp->routes[i].to.stall && strstr(message, tp->routes[i].topic))
                        write_stall_note_log(tp->routes[i].to.stall, facility, message);
}

static int on_ready(void *userdata) {
        TxnProducer *tp = userdata;
        rd_kafka_poll(tp->rk, 0);
        for (size_t i = 0; i < tp->n_routes; i++)
                if (tp->routes[i].to.polled)
                        tp->routes[i].to.polled(tp->routes[i].to.userdata);
        return 0;
}

/* One id per host and state directory, the same after a restart. */
static void make_id(const Config *config, char *out, size_t size) {
        char instance[512], host[256];
        consumer_conf_instance_id(config->group_instance_id, instance, sizeof(instance));
        if (instance[0]) {
                snprintf(out, size, "%s-%s", config->group_id, instance);
                return;
        }
        consumer_conf_instance_id("%H", host, sizeof(host));
        uint32_t hash = crc32c(0, config->state_directory, strlen(config->state_directory));
        snprintf(out, size, "%s-%s-%08" PRIx32, config->group_id, host, hash);
}

int txn_producer_new(TxnProducer **out, const Config *config, sd_event *event) {
        TxnProducer *tp = xcalloc(1, sizeof(*tp));
        char errstr[512];
        tp->startup_timeout_ms = config->startup_timeout_ms;
        tp->offsets = rd_kafka_topic_partition_list_new(8);
        metrics_histogram_init(&tp->stats.commit_seconds, commit_bounds, ARRAY_SIZE(commit_bounds));
        make_id(config, tp->id, sizeof(tp->id));
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        /* transaction.timeout.ms stays librdkafka's 60 s: a commit that
         * outlasts it (a coordinator's node down, found dead after the
         * controller's broker session of 9 s, then its log loaded) is
         * aborted by the coordinator, which fences this producer for good
         * in librdkafka 2.0 (seen with Kafka Streams' 10 s) */
        int r = kafka_conf_cluster(conf, "transactional producer", config, true);
        for (size_t i = 0; i < config->output_properties.n && r == 0; i++)
                r = kafka_conf_set(conf, "output.kafka_properties", config->output_properties.items[i].name,
                                   config->output_properties.items[i].value);
        char value[200] = "", debug[256];
        size_t size = sizeof(value);
        if (rd_kafka_conf_get(conf, "debug", value, &size) != RD_KAFKA_CONF_OK)
                value[0] = '\0';
        write_stall_debug_property(value, debug, sizeof(debug)); /* why a write is retried: debug "msg" */
        if (r == 0)
                r = kafka_conf_set(conf, "transactional producer", "debug", debug);
        if (r == 0)
                r = kafka_conf_set(conf, "transactional producer", "client.id", "sensord-transactional");
        if (r == 0)
                r = kafka_conf_set(conf, "transactional producer", "transactional.id", tp->id);
        if (r < 0) {
                rd_kafka_conf_destroy(conf);
                txn_producer_free(tp);
                return -EINVAL;
        }
        rd_kafka_conf_set_opaque(conf, tp);
        rd_kafka_conf_set_dr_msg_cb(conf, route_delivery);
        rd_kafka_conf_set_error_cb(conf, on_error);
        rd_kafka_conf_set_log_cb(conf, on_log);
        if (!(tp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
                log_error("cannot create the transactional producer: %s", errstr);
                rd_kafka_conf_destroy(conf);
                txn_producer_free(tp);
                return -EINVAL;
        }
        rd_kafka_queue_t *main_queue = rd_kafka_queue_get_main(tp->rk);
        r = queue_watch_init(&tp->watch, event, main_queue, on_ready, tp);
        rd_kafka_queue_destroy(main_queue);
        if (r < 0) {
                txn_producer_free(tp);
                return r;
        }
        *out = tp;
        return 0;
}

TxnProducer *txn_producer_free(TxnProducer *tp) {
        if (!tp)
                return NULL;
        if (tp->rk) {
                /* an open transaction is aborted by the coordinator (its
                 * timeout, or the next life's init); never wait for it here */
                rd_kafka_purge(tp->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_destroy(tp->rk);
        }
        queue_watch_free(&tp->watch); /* after the handle that writes to its pipe */
        for (size_t i = 0; i < tp->n_routes; i++)
                free(tp->routes[i].topic);
        if (tp->offsets)
                rd_kafka_topic_partition_list_destroy(tp->offsets);
        free(tp);
        return NULL;
}

/* Logs error with what was asked ("its commit"); -ECANCELED when the
 * transaction must be aborted, -EAGAIN when the call may be repeated, -EIO
 * otherwise (a fatal error, or one librdkafka gives no way on from). */
static int judge(TxnProducer *tp, rd_kafka_error_t *error, const char *what) {
        int r;
        if (rd_kafka_error_is_fatal(error)) {
                log_error("the transactional producer %s failed for good at %s: %s", tp->id, what,
                          rd_kafka_error_string(error));
                r = -EIO;
        } else if (rd_kafka_error_txn_requires_abort(error)) {
                log_warning("the transaction of %s must be aborted (at %s): %s", tp->id, what,
                            rd_kafka_error_string(error));
                tp->must_abort = true;
                r = -ECANCELED;
        } else if (rd_kafka_error_is_retriable(error)) {
                /* told once per transaction: an outage repeats it every call */
                if (!tp->retry_told)
                        log_info("the transactional producer %s tries %s again until the brokers answer: %s", tp->id,
                                 what, rd_kafka_error_string(error));
                tp->retry_told = true;
                r = -EAGAIN;
        } else {
                log_error("the transactional producer %s failed at %s: %s", tp->id, what, rd_kafka_error_string(error));
                r = -EIO;
        }
        rd_kafka_error_destroy(error);
        return r;
}

int txn_producer_start(TxnProducer *tp) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t)tp->startup_timeout_ms * 1000;
        for (;;) {
                rd_kafka_error_t *error = rd_kafka_init_transactions(tp->rk, 2000);
                sd_notify(0, "WATCHDOG=1");
                if (!error) {
                        log_info("transactional producer %s registered with its coordinator", tp->id);
                        return 0;
                }
                bool again = rd_kafka_error_is_retriable(error) && now_usec(CLOCK_MONOTONIC) < deadline;
                if (!again) {
                        bool denied = rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
                        log_error("the transactional producer %s cannot start: %s%s", tp->id,
                                  rd_kafka_error_string(error),
                                  denied ? " (grant the principal WRITE and DESCRIBE on this transactional id)" : "");
                        rd_kafka_error_destroy(error);
                        return denied ? -EACCES : -ETIMEDOUT;
                }
                rd_kafka_error_destroy(error);
        }
}

rd_kafka_t *txn_producer_handle(TxnProducer *tp) {
        return tp->rk;
}

void txn_producer_route(TxnProducer *tp, const char *topic, const TxnRoute *route) {
        if (tp->n_routes == ROUTES_MAX)
                abort(); /* a fixed set of callers: a programming error */
        tp->routes[tp->n_routes++] = (Route){ .topic = xstrdup(topic), .to = *route };
}

void txn_producer_set_consumer(TxnProducer *tp, rd_kafka_t *consumer) {
        tp->consumer = consumer;
}

int txn_producer_begin(TxnProducer *tp) {
        if (tp->open)
                return 0;
        rd_kafka_error_t *error = rd_kafka_begin_transaction(tp->rk);
        if (error) {
                log_error("the transactional producer %s cannot begin a transaction: %s", tp->id,
                          rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                return -EIO;
        }
        tp->open = true; /* the rest was reset when the last one ended */
        return 0;
}

bool txn_producer_open(const TxnProducer *tp) {
        return tp->open;
}

void txn_producer_add_offset(TxnProducer *tp, const char *topic, int32_t partition, int64_t offset,
                             const char *metadata) {
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(tp->offsets, topic, partition);
        if (!p)
                p = rd_kafka_topic_partition_list_add(tp->offsets, topic, partition);
        p->offset = offset;
        free(p->metadata);
        p->metadata = xstrdup(metadata);
        p->metadata_size = strlen(metadata);
}

static void ended(TxnProducer *tp) {
        tp->open = tp->offsets_sent = tp->must_abort = tp->retry_told = false;
        tp->ending_since_us = 0;
        rd_kafka_topic_partition_list_destroy(tp->offsets);
        tp->offsets = rd_kafka_topic_partition_list_new(8);
}

int txn_producer_commit(TxnProducer *tp, int timeout_ms) {
        if (!tp->open)
                return 0;
        if (tp->must_abort)
                return -ECANCELED;
        if (!tp->ending_since_us)
                tp->ending_since_us = now_usec(CLOCK_MONOTONIC);
        if (!tp->offsets_sent && tp->offsets->cnt > 0) {
                if (!tp->consumer) {
                        log_error("the transaction of %s has offsets but no consumer to commit them for", tp->id);
                        return -EIO;
                }
                /* the group's generation now: a member the group has moved
                 * on from cannot commit (KIP-447) */
                rd_kafka_consumer_group_metadata_t *group = rd_kafka_consumer_group_metadata(tp->consumer);
                rd_kafka_error_t *error = rd_kafka_send_offsets_to_transaction(tp->rk, tp->offsets, group, timeout_ms);
                rd_kafka_consumer_group_metadata_destroy(group);
                if (error)
                        return judge(tp, error, "sending its offsets");
                tp->offsets_sent = true;
        }
        rd_kafka_error_t *error = rd_kafka_commit_transaction(tp->rk, timeout_ms);
        if (error)
                return judge(tp, error, "its commit");
        tp->stats.committed++;
        metrics_histogram_add(&tp->stats.commit_seconds,
                              (double)(now_usec(CLOCK_MONOTONIC) - tp->ending_since_us) / 1e6);
        ended(tp);
        return 0;
}

int txn_producer_abort(TxnProducer *tp, int timeout_ms) {
        if (!tp->open)
                return 0;
        /* librdkafka issue 4849: an abort that overtakes the transaction's
         * first AddPartitionsToTxn can fail for good; what is in flight
         * lands first (bounded), and is aborted with the rest */
        rd_kafka_flush(tp->rk, timeout_ms < 1000 ? timeout_ms / 2 : 500);
        rd_kafka_error_t *error = rd_kafka_abort_transaction(tp->rk, timeout_ms);
        if (error) {
                int r = judge(tp, error, "its abort");
                return r == -ECANCELED ? -EAGAIN : r;
        }
        tp->stats.aborted++;
        ended(tp);
        return 0;
}

const TxnProducerStats *txn_producer_stats(const TxnProducer *tp) {
        return &tp->stats;
}
