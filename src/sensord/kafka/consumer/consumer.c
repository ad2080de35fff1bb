/* consumer: librdkafka's high-level consumer on sd-event. */
#include "sensord/kafka/consumer/consumer.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"
#include "sensord/kafka/admin/topic_wait.h"
#include "sensord/kafka/consumer/consumer_conf.h"
#include "sensord/kafka/consumer/end_offsets.h"
#include "sensord/kafka/consumer/freeze_guard.h"
#include "sensord/kafka/consumer/join_refusal.h"
#include "sensord/kafka/consumer/offset_commit.h"
#include "sensord/kafka/consumer/rebalance_text.h"
#include "sensord/kafka/consumer/refetch.h"
#include "sensord/kafka/reachability.h"
#include "sensord/kafka/kafka_conf.h"
#include "sensord/kafka/queue_watch.h"
#include "sensord/kafka/refusal.h"

/* How long a restored partition's seek may take to reach the fetcher. */
#define SEEK_TIMEOUT_MS 1500

/* Messages handled per drain before yielding to timers and signals. */
#define DRAIN_MAX 4096

/* A pipeline that holds messages back this long (a write stall, see
 * pipeline_accepts()) has its partitions paused: librdkafka then drops
 * what it fetched and hands out only events, so the loop polls on, serving
 * rebalances and max.poll.interval.ms however long the stall lasts. Resumed,
 * they are fetched again from the first message not handed out. */
#define PAUSE_AFTER_US 1000000

struct Consumer {
        ConsumerEvents events;
        Pipeline *pipeline;
        bool stopping; /* after failed(): drain no further */
        bool available_now;
        bool earliest; /* kafka.starting_offsets */
        int partition_count;
        char *brokers, *topic;
        int64_t startup_timeout_ms;

        rd_kafka_t *rk;
        rd_kafka_queue_t *queue;
        QueueWatch watch; /* wakes the loop when the queue becomes non-empty */
        sd_event_source *more;
        sd_event_source *keep_polling; /* serves the consumer while no message arrives */
        uint64_t keep_polling_usec;
        EndOffsets *ends;
        OffsetCommits *commits; /* consumer_commit_then()'s */
        bool closed; /* left the group; else destroy without closing */
        JoinRefusals join_refusals;
        Refetch refetch;
        /* By partition id: the offset after the last message handed to the pipeline
         * (-1: none yet). rd_kafka_position() says "invalid" after refetch.c's seek
         * until the next message, at a partition's end never: no lag in STATUS=. */
        int64_t *next_offset;
        size_t n_next_offset;
        /* By partition id: where a restored partition must be sought to before its messages
         * count (NO_SEEK: none); the timer tries again until librdkafka fetches it. */
        int64_t *seek_to;
        size_t n_seek_to;
        sd_event_source *seek_retry;
        FreezeGuard guard; /* consumer_awake() */
        uint64_t hold_since_us; /* the pipeline has held messages back since; 0: it takes them */
        sd_event_source *hold_timer; /* pauses the partitions once a hold lasts */
        bool paused, ever_paused;
        ConsumerRebalances rebalances;
        /* the input topic's partitions from the last statistics */
        KafkaPartitionStats *stats;
        size_t n_stats, stats_cap;
};

/* Sets a per-partition slot, growing the array (new slots hold fill). */
static void set_partition_slot(int64_t **slots, size_t *n_slots, int32_t partition, int64_t value, int64_t fill) {
        if (partition < 0)
                return;
        if ((size_t)partition >= *n_slots) {
                size_t n = (size_t)partition + 1;
                *slots = xrealloc(*slots, n * sizeof(**slots));
                for (size_t i = *n_slots; i < n; i++)
                        (*slots)[i] = fill;
                *n_slots = n;
        }
        (*slots)[partition] = value;
}

static void set_next_offset(Consumer *c, int32_t partition, int64_t offset) {
        set_partition_slot(&c->next_offset, &c->n_next_offset, partition, offset, -1);
}

#define NO_SEEK INT64_MIN

static int on_seek_retry(sd_event_source *s, uint64_t usec, void *userdata);

static void set_seek_to(Consumer *c, int32_t partition, int64_t offset) {
        set_partition_slot(&c->seek_to, &c->n_seek_to, partition, offset, NO_SEEK);
}

static bool seek_pending(const Consumer *c, int32_t partition) {
        return partition >= 0 && (size_t)partition < c->n_seek_to && c->seek_to[partition] != NO_SEEK;
}

static int64_t next_offset(const Consumer *c, int32_t partition) {
        return partition >= 0 && (size_t)partition < c->n_next_offset ? c->next_offset[partition] : -1;
}

static void fail(Consumer *c, int exit_code) {
        c->stopping = true;
        c->events.failed(c->events.userdata, exit_code);
}

/* A batch's rows or a checkpoint could not be written. */
static void check_pipeline(Consumer *c, int r) {
        if (r >= 0)
                return;
        log_error("a batch could not be completed: %s", strerror(-r));
        fail(c, EX_IOERR);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
        Consumer *c = opaque;
        bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        rd_kafka_error_t *error = NULL;
        rd_kafka_resp_err_t r = 0;
        int32_t *ids = xmalloc((size_t)parts->cnt * sizeof(*ids));
        char list[512];

        for (int i = 0; i < parts->cnt; i++)
                ids[i] = parts->elems[i].partition;
        char holds[64];
        rebalance_text(rk, err, parts, cooperative, list, sizeof(list), holds, sizeof(holds));
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                int64_t *seek = xmalloc((size_t)parts->cnt * sizeof(*seek));
                log_info("assigned %d partition(s) of %s: [%s]%s", parts->cnt, c->topic, list, holds);
                c->rebalances.assigned++;
                kafka_reachable();
                int refused = pipeline_assign(c->pipeline, ids, (size_t)parts->cnt, seek);
                /* a checkpoint of other settings is a configuration error,
                 * a damaged one an I/O error; both were logged */
                if (refused < 0)
                        fail(c, refused == -EINVAL ? EX_CONFIG : EX_IOERR);
                for (int i = 0; i < parts->cnt; i++) {
                        if (seek[i] >= 0)
                                parts->elems[i].offset = seek[i];
                        set_next_offset(c, ids[i], seek[i] >= 0 ? seek[i] : -1);
                }
                free(seek);
                if (refused >= 0 && cooperative) /* refused: stopping, and leaving the group unassigns */
                        error = rd_kafka_incremental_assign(rk, parts);
                else if (refused >= 0)
                        r = rd_kafka_assign(rk, parts);
                /* librdkafka keeps a partition's pause across assignments: a
                 * partition paused before a revoke would never be fetched
                 * again. So each assignment says which it is: paused while
                 * the hold goes on, resumed otherwise. */
                if (!error && !r && c->paused)
                        rd_kafka_pause_partitions(rk, parts);
                else if (!error && !r && c->ever_paused) /* else no pause op races the fetch start, see try_seek() */
                        rd_kafka_resume_partitions(rk, parts);
                if (c->available_now && refused >= 0 && !error && !r)
                        end_offsets_assigned(c->ends, parts);
        } else {
                bool lost = rd_kafka_assignment_lost(rk);
                if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
                        log_warning("rebalance error: %s", rd_kafka_err2str(err));
                log_info("revoked %d partition(s) of %s: [%s]%s%s", parts->cnt, c->topic, list, holds,
                         lost ? "; the assignment was lost: another member owns them now, so their offsets are "
                                "neither stored nor committed"
                              : "");
                if (lost)
                        c->rebalances.lost++;
                else
                        c->rebalances.revoked++;
                check_pipeline(c, pipeline_revoke(c->pipeline, ids, (size_t)parts->cnt, lost));
                for (int i = 0; i < parts->cnt; i++) {
                        set_next_offset(c, ids[i], -1);
                        set_seek_to(c, ids[i], NO_SEEK);
                }
                if (cooperative)
                        error = rd_kafka_incremental_unassign(rk, parts);
                else
                        r = rd_kafka_assign(rk, NULL);
        }
        if (error) {
                log_error("partition assignment failed: %s", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        } else if (r) {
                log_error("partition assignment failed: %s", rd_kafka_err2str(r));
        }
        free(ids);
}

/* Available-now: an end offset is known, or could not be read. */
static void on_end_offset(void *userdata, int32_t partition, int64_t end, const char *error) {
        Consumer *c = userdata;
        if (error) {
                log_error("cannot read the end offset of %s/%" PRId32 ": %s", c->topic, partition, error);
                fail(c, EX_UNAVAILABLE);
        } else {
                pipeline_set_end(c->pipeline, partition, end);
                consumer_resume(c); /* the pipeline may take messages again */
        }
}

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        Consumer *c = opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char buf[256];
                rd_kafka_fatal_error(rk, buf, sizeof(buf));
                log_error("fatal Kafka error: %s", buf);
                fail(c, EX_UNAVAILABLE);
                return;
        }
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
                /* librdkafka reconnects by itself; sensord waits, and its
                 * checkpoints cover a lost assignment */
                kafka_unreachable("consumer", reason);
                return;
        }
        log_warning("kafka: %s", reason);
}

/* librdkafka's statistics, every statistics.interval.ms while metrics are
 * on; served by rd_kafka_consumer_poll() on the loop's thread. */
static int on_kafka_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
        Consumer *c = opaque;
        int n = kafka_stats_parse(json, len, c->topic, &c->stats, &c->stats_cap);
        if (n < 0)
                log_debug("librdkafka's statistics could not be read: %s", strerror(-n));
        else
                c->n_stats = (size_t)n;
        return 0; /* librdkafka frees json */
}

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *facility, const char *message) {
        log_msg(level > LOG_DEBUG ? LOG_DEBUG : level, "kafka %s: %s", facility, message);
        kafka_refusal_note(facility, message);
}

/* Hands one queued message or event to the caller; false to stop. */
static bool dispatch(Consumer *c, const rd_kafka_message_t *m, uint64_t now) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                /* from a fetch a restore's seek goes back on, it is not */
                if (!seek_pending(c, m->partition))
                        pipeline_partition_eof(c->pipeline, m->partition, m->offset);
                return true;
        }
        int refusal = join_refusal_check(&c->join_refusals, c->rk, m);
        if (refusal < 0) {
                fail(c, EX_CONFIG);
                return false;
        }
        if (refusal > 0)
                return true;
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) { /* the consumer is of no further use */
                log_error("fatal Kafka error: %s", rd_kafka_message_errstr(m));
                fail(c, EX_UNAVAILABLE);
                return false;
        }
        if (m->err) {
                log_warning("consumer: %s", rd_kafka_message_errstr(m));
                return true;
        }
        kafka_reachable();
        refetch_drained(&c->refetch, m->len);
        if (seek_pending(c, m->partition))
                return true; /* from before its restore: read again after the seek */
        set_next_offset(c, m->partition, m->offset + 1);
        PipelineMessage pm = { .partition = m->partition, .offset = m->offset, .payload = m->payload, .len = m->len,
                               .key = m->key, .key_len = m->key_len, .timestamp_ms = rd_kafka_message_timestamp(m, NULL) };
        check_pipeline(c, pipeline_add(c->pipeline, &pm, now));
        return !c->stopping;
}

bool consumer_awake(Consumer *c) {
        return freeze_guard_awake(&c->guard, now_usec(CLOCK_MONOTONIC));
}

/* After a freeze: the partitions the group gave away meanwhile are lost. */
static void on_hold_end(void *userdata) {
        Consumer *c = userdata;
        rd_kafka_topic_partition_list_t *assigned = NULL;
        if (rd_kafka_assignment_lost(c->rk) && rd_kafka_assignment(c->rk, &assigned) == 0 && assigned) {
                int32_t *ids = xmalloc(((size_t)assigned->cnt + 1) * sizeof(*ids));
                char list[512];
                for (int i = 0; i < assigned->cnt; i++)
                        ids[i] = assigned->elems[i].partition;
                rebalance_list_text(assigned, list, sizeof(list));
                log_warning("the group gave this member's partitions to another while it was frozen: dropping [%s] "
                            "as lost, with their state and open rows; their new owner continues them",
                            list);
                check_pipeline(c, pipeline_revoke(c->pipeline, ids, (size_t)assigned->cnt, true));
                free(ids);
        } else {
                log_info("still a member of the group after the freeze; reading on");
        }
        if (assigned)
                rd_kafka_topic_partition_list_destroy(assigned);
        freeze_guard_note_alive(&c->guard, now_usec(CLOCK_MONOTONIC));
        consumer_resume(c);
}

static void set_paused(Consumer *c, bool paused) {
        rd_kafka_topic_partition_list_t *parts = NULL;
        if (rd_kafka_assignment(c->rk, &parts) == 0 && parts) {
                rd_kafka_resp_err_t err = parts->cnt == 0 ? RD_KAFKA_RESP_ERR_NO_ERROR
                                          : paused        ? rd_kafka_pause_partitions(c->rk, parts)
                                                          : rd_kafka_resume_partitions(c->rk, parts);
                if (err)
                        log_warning("cannot %s reading %s: %s", paused ? "pause" : "resume", c->topic,
                                    rd_kafka_err2str(err));
                rd_kafka_topic_partition_list_destroy(parts);
        }
        c->paused = paused;
        c->ever_paused |= paused;
        if (paused)
                log_info("reading %s paused: sensord holds its records back until its writes are acknowledged",
                         c->topic);
        else
                log_info("reading %s resumed", c->topic);
}

/* While paused: librdkafka's events (rebalances, errors). A message it had
 * queued before the pause is sought back to, to be read after it. More
 * than DRAIN_MAX queued: the rest is served on the next turn, as the pipe
 * stays quiet while the queue is not empty (a revoke left behind them would
 * keep the whole group waiting for this member). */
static void serve_events(Consumer *c, uint64_t now) {
        rd_kafka_message_t *m;
        unsigned i;
        for (i = 0; i < DRAIN_MAX && !c->stopping && (m = rd_kafka_consumer_poll(c->rk, 0)); i++) {
                if (m->err) {
                        dispatch(c, m, now);
                } else {
                        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
                        rd_kafka_topic_partition_list_add(list, c->topic, m->partition)->offset = m->offset;
                        rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, list, 0);
                        if (error) {
                                log_warning("%s/%" PRId32 ": cannot seek back to offset %" PRId64 ": %s", c->topic,
                                            m->partition, m->offset, rd_kafka_error_string(error));
                                rd_kafka_error_destroy(error);
                        }
                        rd_kafka_topic_partition_list_destroy(list);
                }
                rd_kafka_message_destroy(m);
        }
        if (i == DRAIN_MAX)
                consumer_resume(c);
}

/* The pipeline holds messages back: they wait in librdkafka, and once the
 * hold has lasted PAUSE_AFTER_US the partitions are paused. */
static void hold(Consumer *c, uint64_t now) {
        if (!c->hold_since_us) {
                c->hold_since_us = now;
                sd_event_source_set_time(c->hold_timer, now + PAUSE_AFTER_US);
                sd_event_source_set_enabled(c->hold_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (!c->paused && now - c->hold_since_us >= PAUSE_AFTER_US)
                set_paused(c, true);
        if (c->paused)
                serve_events(c, now);
}

static int drain(Consumer *c) {
        /* One clock reading per drain: a drain takes milliseconds at most,
         * far below the batch deadline's resolution. */
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        if (!freeze_guard_awake(&c->guard, now))
                return 0; /* on_hold_end() drains again */
        for (unsigned i = 0; i < DRAIN_MAX && !c->stopping; i++) {
                if (!pipeline_accepts(c->pipeline)) {
                        /* left queued in librdkafka until consumer_resume() */
                        hold(c, now);
                        c->events.drained(c->events.userdata);
                        return 0;
                }
                if (c->hold_since_us) {
                        c->hold_since_us = 0;
                        if (c->paused)
                                set_paused(c, false);
                }
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
                if (!m) {
                        refetch_queue_empty(&c->refetch, c->rk);
                        c->events.drained(c->events.userdata);
                        return 0;
                }
                bool go_on = dispatch(c, m, now);
                rd_kafka_message_destroy(m);
                if (!go_on)
                        return 0;
        }
        c->events.drained(c->events.userdata);
        /* more may be queued: come back after timers and signals had a turn */
        return sd_event_source_set_enabled(c->more, SD_EVENT_ONESHOT);
}

static int on_ready(void *userdata) {
        return drain(userdata);
}

static int on_more(sd_event_source *s, void *userdata) {
        return drain(userdata);
}

static int on_hold_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return drain(userdata);
}

/* librdkafka leaves the group when the application has not polled for
 * max.poll.interval.ms, counted from its last rd_kafka_consumer_poll().
 * The loop polls when the queue's pipe wakes it, which it does not while
 * the topic is quiet; so a drain also runs a third of that interval after
 * the previous one. It runs on the loop's thread: a loop that is stuck
 * still misses it, and still loses its membership, as librdkafka intends.
 * A pipeline that holds messages back (pipeline_accepts()) for long has
 * its partitions paused, and is polled for events only (hold()). */
static int on_keep_polling(sd_event_source *s, uint64_t usec, void *userdata) {
        Consumer *c = userdata;
        int r = drain(c);
        sd_event_source_set_time(s, usec + c->keep_polling_usec);
        return r;
}

static rd_kafka_conf_t *make_conf(Consumer *c, const Config *config) {
        bool metrics_on;
        rd_kafka_conf_t *conf = consumer_conf_new(config, c->available_now, &metrics_on);
        if (!conf)
                return NULL;
        refetch_init(&c->refetch, conf);
        rd_kafka_conf_set_opaque(conf, c);
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_error_cb(conf, on_kafka_error);
        rd_kafka_conf_set_log_cb(conf, on_kafka_log);
        if (metrics_on)
                rd_kafka_conf_set_stats_cb(conf, on_kafka_stats);
        return conf;
}

int consumer_new(Consumer **out, const Config *config, bool available_now, sd_event *event,
                 Pipeline *pipeline, const ConsumerEvents *events) {
        Consumer *c = xcalloc(1, sizeof(*c));
        char errstr[512];
        int r;

        *c = (Consumer){ .events = *events, .pipeline = pipeline, .available_now = available_now,
                         .earliest = config->starting_offsets == STARTING_EARLIEST };
        c->brokers = xstrdup(config->brokers);
        c->topic = xstrdup(config->topic);
        c->startup_timeout_ms = config->startup_timeout_ms;
        rd_kafka_conf_t *conf = make_conf(c, config);
        if (!conf) {
                r = -EINVAL;
                goto fail;
        }
        c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!c->rk) {
                log_error("cannot create the Kafka consumer: %s", errstr);
                rd_kafka_conf_destroy(conf);
                r = -EINVAL;
                goto fail;
        }
        rd_kafka_poll_set_consumer(c->rk);
        c->queue = rd_kafka_queue_get_consumer(c->rk);
        if ((r = queue_watch_init(&c->watch, event, c->queue, on_ready, c)) < 0 ||
            (r = sd_event_add_defer(event, &c->more, on_more, c)) < 0 ||
            (r = sd_event_source_set_enabled(c->more, SD_EVENT_OFF)) < 0)
                goto fail;
        c->keep_polling_usec = consumer_conf_keep_polling_usec(c->rk);
        uint64_t session_ms = kafka_conf_u64(rd_kafka_conf(c->rk), "session.timeout.ms", 45000);
        uint64_t heartbeat_ms = kafka_conf_u64(rd_kafka_conf(c->rk), "heartbeat.interval.ms", 3000);
        pipeline_set_revoke_wait(pipeline, (int)(session_ms / 3));
        if ((r = freeze_guard_init(&c->guard, event, session_ms, heartbeat_ms, on_hold_end, c)) < 0 ||
            (r = sd_event_add_time(event, &c->seek_retry, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_seek_retry, c)) < 0 ||
            (r = sd_event_source_set_enabled(c->seek_retry, SD_EVENT_OFF)) < 0 ||
            (r = sd_event_add_time(event, &c->hold_timer, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_hold_timer, c)) < 0 ||
            (r = sd_event_source_set_enabled(c->hold_timer, SD_EVENT_OFF)) < 0)
                goto fail;
        if ((r = sd_event_add_time_relative(event, &c->keep_polling, CLOCK_MONOTONIC, c->keep_polling_usec,
                                            c->keep_polling_usec / 10, on_keep_polling, c)) < 0 ||
            (r = sd_event_source_set_enabled(c->keep_polling, SD_EVENT_ON)) < 0)
                goto fail;
        if ((available_now && (r = end_offsets_new(&c->ends, c->rk, c->topic, event, on_end_offset, c)) < 0) ||
            (r = offset_commits_new(&c->commits, c->rk, event)) < 0)
                goto fail;
        *out = c;
        return 0;
fail:
        consumer_free(c);
        return r;
}

Consumer *consumer_free(Consumer *c) {
        if (!c)
                return NULL;
        end_offsets_free(c->ends); /* before the handle it queries */
        offset_commits_free(c->commits);
        sd_event_source_disable_unref(c->more);
        sd_event_source_disable_unref(c->keep_polling);
        freeze_guard_free(&c->guard);
        sd_event_source_disable_unref(c->seek_retry);
        sd_event_source_disable_unref(c->hold_timer);
        if (c->queue)
                rd_kafka_queue_destroy(c->queue);
        if (c->rk)
                rd_kafka_destroy_flags(c->rk, c->closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        queue_watch_free(&c->watch); /* after the handle that writes to its pipe */
        free(c->next_offset);
        free(c->stats);
        free(c->seek_to);
        free(c->brokers);
        free(c->topic);
        free(c);
        return NULL;
}

int consumer_start(Consumer *c) {
        int r = topic_wait(c->rk, c->topic, c->brokers, c->startup_timeout_ms, false);
        if (r < 0)
                return r;
        c->partition_count = r;
        return 0;
}

int consumer_subscribe(Consumer *c) {
        rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, c->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err) {
                log_error("cannot subscribe to %s: %s", c->topic, rd_kafka_err2str(err));
                return -EHOSTUNREACH;
        }
        return 0;
}

void consumer_store_offsets(Consumer *c, const PartitionOffset *offsets, size_t n) {
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++)
                rd_kafka_topic_partition_list_add(list, c->topic, offsets[i].partition)->offset = offsets[i].offset;
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, list);
        if (err && err != RD_KAFKA_RESP_ERR__STATE) /* __STATE: revoked meanwhile */
                log_warning("storing offsets failed: %s", rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(list);
}

void consumer_commit(Consumer *c, int32_t partition, int64_t offset, const char *metadata, int wait_ms) {
        offset_commit(c->rk, c->topic, partition, offset, metadata, wait_ms);
}

void consumer_commit_then(Consumer *c, int32_t partition, int64_t offset, const char *metadata,
                          OffsetCommitDone done, void *userdata) {
        offset_commit_then(c->commits, c->topic, partition, offset, metadata, done, userdata);
}

/* Seeks a restored partition to seek_to. A restoring partition is not
 * paused: its messages are skipped, and this seek goes back for them.
 * (Pausing it at the assignment raced, in librdkafka 2.0, with the
 * assignment's fetch start, see end_offsets.h: under ASan one run crawled at
 * about 100 messages a second.) The seek waits until the fetcher has taken
 * it, a local step of milliseconds: an asynchronous one let messages fetched
 * from the old position through after the restore, counted twice once the
 * seek read them again. Until it is taken, the partition's messages are
 * skipped; before its fetching started librdkafka refuses it ("Erroneous
 * state"), and a fetch state change that overtakes it makes it "Outdated"
 * (seen on a real broker under load): either way it is tried again shortly. */
static void try_seek(Consumer *c, int32_t partition) {
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        int64_t from = c->seek_to[partition];
        rd_kafka_topic_partition_list_add(list, c->topic, partition)->offset = from;
        rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, list, SEEK_TIMEOUT_MS);
        rd_kafka_resp_err_t err = error ? rd_kafka_error_code(error) : list->elems[0].err;
        if (error)
                rd_kafka_error_destroy(error);
        rd_kafka_topic_partition_list_destroy(list);
        if (err == RD_KAFKA_RESP_ERR__STATE || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
            err == RD_KAFKA_RESP_ERR__OUTDATED) {
                sd_event_source_set_time_relative(c->seek_retry, 50 * 1000);
                sd_event_source_set_enabled(c->seek_retry, SD_EVENT_ONESHOT);
                return;
        }
        if (err) {
                log_error("cannot seek %s/%" PRId32 " to offset %" PRId64 ": %s", c->topic, partition, from,
                          rd_kafka_err2str(err));
                fail(c, EX_SOFTWARE); /* a restart restores the partition again */
                return;
        }
        set_seek_to(c, partition, NO_SEEK);
        set_next_offset(c, partition, from >= 0 ? from : -1);
        consumer_resume(c);
}

static int on_seek_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Consumer *c = userdata;
        for (size_t i = 0; i < c->n_seek_to && !c->stopping; i++)
                if (c->seek_to[i] != NO_SEEK)
                        try_seek(c, (int32_t)i);
        return 0;
}

void consumer_restored(Consumer *c, int32_t partition, int64_t offset, int64_t committed) {
        set_seek_to(c, partition,
                    offset >= 0                                                   ? offset
                    : committed >= 0 || committed == RD_KAFKA_OFFSET_BEGINNING ? committed
                    : c->earliest    ? RD_KAFKA_OFFSET_BEGINNING
                                     : RD_KAFKA_OFFSET_END);
        try_seek(c, partition);
        consumer_resume(c);
}

rd_kafka_t *consumer_handle(Consumer *c) {
        return c->rk;
}

int consumer_partition_count(const Consumer *c) {
        return c->partition_count;
}

void consumer_resume(Consumer *c) {
        if (!c->stopping)
                sd_event_source_set_enabled(c->more, SD_EVENT_ONESHOT);
}

ConsumerRebalances consumer_rebalances(const Consumer *c) {
        return c->rebalances;
}

const KafkaPartitionStats *consumer_partition_stats(const Consumer *c, size_t *n) {
        *n = c->n_stats;
        return c->stats;
}

int64_t consumer_lag(Consumer *c) {
        rd_kafka_topic_partition_list_t *assigned = NULL;
        int64_t lag = -1;
        if (rd_kafka_assignment(c->rk, &assigned) || !assigned)
                return -1;
        rd_kafka_position(c->rk, assigned);
        for (int i = 0; i < assigned->cnt; i++) {
                const rd_kafka_topic_partition_t *p = &assigned->elems[i];
                int64_t low, high, position = p->offset >= 0 ? p->offset : next_offset(c, p->partition);
                if (position < 0 ||
                    rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &low, &high) != 0 || high < 0)
                        continue;
                lag = (lag < 0 ? 0 : lag) + (high > position ? high - position : 0);
        }
        rd_kafka_topic_partition_list_destroy(assigned);
        return lag;
}

void consumer_close(Consumer *c) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
        rd_kafka_error_t *error = rd_kafka_consumer_close_queue(c->rk, q);
        if (error) {
                log_warning("leaving the consumer group failed: %s", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        } else {
                uint64_t deadline = now_usec(CLOCK_MONOTONIC) + CONSUMER_CLOSE_TIMEOUT_MS * 1000ull;
                /* Events, not callbacks: besides the revoke, librdkafka may
                 * forward messages still in flight or errors here, and
                 * rd_kafka_queue_poll_callback() aborts on those ("rd_kafka_q_serve:
                 * assert: res != RD_KAFKA_OP_RES_PASS"), as the two_instances
                 * test showed under ASan, one stop in five. The revoke is handed
                 * to the rebalance handler; the rest is dropped, offsets
                 * unstored. */
                while (!rd_kafka_consumer_closed(c->rk) && now_usec(CLOCK_MONOTONIC) < deadline) {
                        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
                        if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                                on_rebalance(c->rk, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev),
                                             c);
                        if (ev)
                                rd_kafka_event_destroy(ev);
                }
        }
        c->closed = rd_kafka_consumer_closed(c->rk);
        if (!c->closed)
                log_warning("could not leave the consumer group within %d ms; the brokers will time the member out",
                            CONSUMER_CLOSE_TIMEOUT_MS);
        rd_kafka_queue_destroy(q);
}
