/* daemon: the event loop around the pipeline.
 *
 * Everything runs on one thread in sd-event: librdkafka signals a non-empty
 * consumer queue by writing to a pipe, and the loop drains the queue without
 * ever blocking. A batch closes when the batcher says so (count or bytes),
 * when its deadline timer fires, on stop, or when --available-now reaches
 * the end offsets it saw at assignment. Offsets of a batch are stored only
 * after its rows were written, and committed by librdkafka's auto-commit,
 * on revoke and on close: at-least-once output. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "batcher.h"
#include "emitter.h"
#include "log.h"
#include "record.h"
#include "sensord-build.h"
#include "timestamp.h"
#include "util.h"
#include "window.h"

/* Messages handled per loop iteration before yielding to timers and signals. */
#define DRAIN_MAX 4096
#define STATUS_INTERVAL_US (2 * 1000000ull)
/* Bounds of the commit on revoke and of leaving the group, so that a stop
 * ends even when the brokers are gone (the unit's TimeoutStopSec is 30 s). */
#define COMMIT_TIMEOUT_MS 5000
#define CLOSE_TIMEOUT_MS 5000

typedef struct PartitionEnd {
        int32_t partition;
        int64_t end; /* first offset not to consume in available-now mode */
        bool done;
} PartitionEnd;

typedef struct Daemon {
        DaemonOptions options;
        Config *config;

        sd_event *event;
        sd_event_source *kafka_io, *kafka_more, *deadline, *idle, *status;
        int pipe_fds[2];

        rd_kafka_t *rk;
        rd_kafka_queue_t *queue;

        Batcher batcher;
        WindowState *state;
        Emitter *emitter;

        /* next offset per partition for the open batch; -1 = none */
        int64_t *batch_offsets;
        size_t n_batch_offsets;

        PartitionEnd *ends; /* available-now */
        size_t n_ends;
        bool assigned;

        uint64_t messages, bytes, invalid, rows;
        uint64_t invalid_by_class[_RECORD_ERROR_MAX];
        RateLimit invalid_limit;

        uint64_t first_message_us; /* for the summary's processing time */
        uint64_t last_message_us;  /* idle detection */
        int64_t idle_base_event_ms;
        uint64_t status_messages, status_us;

        bool notify;          /* started with a notify socket (by systemd) */
        bool consumer_closed; /* left the group; else destroy without closing */
        bool stopping;
        int exit_code;
} Daemon;

static void daemon_stop(Daemon *d, int exit_code, const char *why) {
        if (d->stopping)
                return;
        d->stopping = true;
        d->exit_code = exit_code;
        if (why)
                log_info("stopping: %s", why);
        sd_notify(0, "STOPPING=1");
        sd_event_exit(d->event, exit_code);
}

static void note_offset(Daemon *d, int32_t partition, int64_t offset) {
        if (partition < 0)
                return;
        if ((size_t)partition >= d->n_batch_offsets) {
                size_t n = (size_t)partition + 1;
                int64_t *o = realloc(d->batch_offsets, n * sizeof(*o));
                if (!o)
                        return; /* offset not stored: the message is redelivered, never lost */
                for (size_t i = d->n_batch_offsets; i < n; i++)
                        o[i] = -1;
                d->batch_offsets = o;
                d->n_batch_offsets = n;
        }
        d->batch_offsets[partition] = offset + 1;
}

static void store_offsets(Daemon *d) {
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)d->n_batch_offsets);
        for (size_t p = 0; p < d->n_batch_offsets; p++)
                if (d->batch_offsets[p] >= 0) {
                        rd_kafka_topic_partition_list_add(list, d->config->topic, (int32_t)p)->offset =
                                d->batch_offsets[p];
                        d->batch_offsets[p] = -1;
                }
        if (list->cnt > 0) {
                rd_kafka_resp_err_t err = rd_kafka_offsets_store(d->rk, list);
                if (err && err != RD_KAFKA_RESP_ERR__STATE) /* __STATE: partition revoked meanwhile */
                        log_warning("storing offsets failed: %s", rd_kafka_err2str(err));
        }
        rd_kafka_topic_partition_list_destroy(list);
}

/* Ends the open batch: rows out, watermark forward, offsets stored. An empty
 * batch runs only when the watermark moves (idle input), as Spark's no-data
 * batches do. */
static void close_batch(Daemon *d) {
        if (batcher_is_empty(&d->batcher) && !window_state_watermark_would_advance(d->state))
                return;
        emitter_begin_batch(d->emitter, d->batcher.number);
        int r = window_state_finish_batch(d->state, d->config->mode, emitter_row, d->emitter);
        int e = emitter_end_batch(d->emitter);
        uint64_t number = batcher_close(&d->batcher);
        sd_event_source_set_enabled(d->deadline, SD_EVENT_OFF);
        if (r == -ENOMEM) {
                log_error("out of memory while emitting batch %" PRIu64, number);
                daemon_stop(d, EX_SOFTWARE, NULL);
                return;
        }
        if (e < 0) {
                /* The rows did not get out: keep the offsets unstored so the
                 * records are consumed again after a restart. */
                log_error("writing the results of batch %" PRIu64 " failed: %s", number, strerror(-e));
                daemon_stop(d, EX_IOERR, NULL);
                return;
        }
        store_offsets(d);
        log_debug("batch %" PRIu64 " closed", number);
}

static void report_invalid(Daemon *d, const rd_kafka_message_t *m, RecordError err, const char *reason) {
        uint64_t suppressed = 0;
        d->invalid++;
        d->invalid_by_class[err]++;
        if (!ratelimit_allow(&d->invalid_limit, now_usec(CLOCK_MONOTONIC), &suppressed))
                return;
        if (suppressed)
                log_warning("%" PRIu64 " more invalid records were not reported", suppressed);
        log_warning("invalid record at %s/%" PRId32 "@%" PRId64 ": %s", rd_kafka_topic_name(m->rkt), m->partition,
                    m->offset, reason);
}

static PartitionEnd *find_end(Daemon *d, int32_t partition) {
        for (size_t i = 0; i < d->n_ends; i++)
                if (d->ends[i].partition == partition)
                        return &d->ends[i];
        return NULL;
}

/* In available-now mode: finished when every assigned partition reached the
 * end it had at assignment. */
static void check_available_now_done(Daemon *d) {
        if (!d->options.available_now || !d->assigned || d->stopping)
                return;
        for (size_t i = 0; i < d->n_ends; i++)
                if (!d->ends[i].done)
                        return;
        close_batch(d);
        daemon_stop(d, EX_OK, "all data available at start has been processed");
}

static void arm_timer(sd_event_source *s, uint64_t usec) {
        sd_event_source_set_time(s, usec);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void handle_message(Daemon *d, const rd_kafka_message_t *m, uint64_t now) {
        PartitionEnd *end = NULL;

        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (d->options.available_now && (end = find_end(d, m->partition)))
                        end->done = true;
                return;
        }
        if (m->err) {
                log_warning("consumer: %s", rd_kafka_message_errstr(m));
                return;
        }
        if (d->options.available_now) {
                end = find_end(d, m->partition);
                if (end && (end->done || m->offset >= end->end))
                        return; /* arrived after start: left for the next run */
        }

        if (batcher_must_close_before(&d->batcher, m->len))
                close_batch(d);
        if (d->stopping)
                return;
        bool opened = batcher_is_empty(&d->batcher);
        batcher_add(&d->batcher, m->len, now);
        if (d->messages++ == 0)
                d->first_message_us = now;
        d->bytes += m->len;
        d->last_message_us = now;

        Record record;
        char reason[RECORD_REASON_MAX];
        RecordError err = record_parse(m->payload, m->len, d->config->max_message_bytes, &record, reason);
        if (err != RECORD_OK)
                report_invalid(d, m, err, reason);
        else if (window_state_add(d->state, record.sensor_id, record.sensor_id_len, record.value,
                                  record.event_time_ms) < 0) {
                log_error("out of memory adding a record to the window state");
                daemon_stop(d, EX_SOFTWARE, NULL);
                return;
        }
        note_offset(d, m->partition, m->offset);
        if (end && m->offset + 1 >= end->end)
                end->done = true;

        if (batcher_is_full(&d->batcher))
                close_batch(d);
        else if (opened && !d->options.available_now && d->config->batch.max_delay_us)
                arm_timer(d->deadline, batcher_deadline(&d->batcher));
        if (d->config->idle_timeout_ms > 0) {
                d->idle_base_event_ms = window_state_stats(d->state)->max_event_time_ms;
                arm_timer(d->idle, now + (uint64_t)d->config->idle_timeout_ms * 1000);
        }
}

static int drain_consumer(Daemon *d) {
        /* One clock reading per drain: a drain takes milliseconds at most,
         * far below the batch deadline's resolution. */
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        for (unsigned i = 0; i < DRAIN_MAX && !d->stopping; i++) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(d->rk, 0);
                if (!m) {
                        check_available_now_done(d);
                        return 0;
                }
                handle_message(d, m, now);
                rd_kafka_message_destroy(m);
        }
        check_available_now_done(d);
        if (!d->stopping) /* more may be queued: come back after timers and signals had a turn */
                sd_event_source_set_enabled(d->kafka_more, SD_EVENT_ONESHOT);
        return 0;
}

static int on_kafka_fd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buf[64];
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        return drain_consumer(userdata);
}

static int on_kafka_more(sd_event_source *s, void *userdata) {
        return drain_consumer(userdata);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        close_batch(userdata);
        return 0;
}

/* Idle input: move event time on with the wall clock so the last windows
 * close, then look again a second later while still idle. */
static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        if (!window_state_stats(d->state)->has_event_time)
                return 0;
        window_state_observe_event_time(d->state,
                                        d->idle_base_event_ms + (int64_t)((now - d->last_message_us) / 1000));
        if (batcher_is_empty(&d->batcher))
                close_batch(d);
        arm_timer(d->idle, now + 1000000);
        return 0;
}

/* Messages between the consumer's fetch positions and the partitions' high
 * watermarks, from what librdkafka already knows (no broker round trip);
 * -1 while unknown (no assignment, or no fetch response yet). */
static int64_t consumer_lag(Daemon *d) {
        rd_kafka_topic_partition_list_t *assigned = NULL;
        int64_t lag = -1;
        if (rd_kafka_assignment(d->rk, &assigned) || !assigned)
                return -1;
        rd_kafka_position(d->rk, assigned);
        for (int i = 0; i < assigned->cnt; i++) {
                const rd_kafka_topic_partition_t *p = &assigned->elems[i];
                int64_t low, high;
                if (p->offset < 0 ||
                    rd_kafka_get_watermark_offsets(d->rk, p->topic, p->partition, &low, &high) != 0 || high < 0)
                        continue;
                lag = (lag < 0 ? 0 : lag) + (high > p->offset ? high - p->offset : 0);
        }
        rd_kafka_topic_partition_list_destroy(assigned);
        return lag;
}

static void update_status(Daemon *d) {
        if (!d->notify)
                return;
        const WindowStats *st = window_state_stats(d->state);
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        double rate = d->status_us && now > d->status_us
                              ? (double)(d->messages - d->status_messages) * 1e6 / (double)(now - d->status_us)
                              : 0.0;
        char wm[TIMESTAMP_MAX] = "unset", lag[32] = "";
        if (st->has_watermark)
                timestamp_format(st->watermark_ms, wm);
        int64_t l = consumer_lag(d);
        if (l >= 0)
                snprintf(lag, sizeof(lag), ", lag %" PRId64, l);
        sd_notifyf(0,
                   "STATUS=%" PRIu64 " records (%.0f/s), %" PRIu64 " batches, %" PRIu64 " late pairs, %" PRIu64
                   " invalid, %" PRIu64 " keys, watermark %s%s",
                   d->messages, rate, d->batcher.number, st->late_pairs, d->invalid, st->live_keys, wm, lag);
        d->status_messages = d->messages;
        d->status_us = now;
}

static int on_status(sd_event_source *s, uint64_t usec, void *userdata) {
        update_status(userdata);
        arm_timer(s, usec + STATUS_INTERVAL_US);
        return 0;
}

static int make_emitter(Daemon *d, const Config *c, Emitter **out) {
        SinkKind sink = d->options.sink_override >= 0 ? (SinkKind)d->options.sink_override : c->sink;
        OutputFormat format = d->options.format_override >= 0 ? (OutputFormat)d->options.format_override : c->format;
        return emitter_new(out, sink, format, stdout);
}

static void apply_log_level(const Daemon *d, const Config *c) {
        log_set_max_priority(d->options.log_level >= 0 ? d->options.log_level : c->log_level);
}

static void reload(Daemon *d) {
        Config *next = NULL;
        ConfigErrors errors;

        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec(CLOCK_MONOTONIC));
        log_info("reloading %s", d->options.config_path);
        if (config_load(d->options.config_path, &next, &errors) < 0) {
                for (size_t i = 0; i < errors.n; i++)
                        log_error("reload failed: %s", errors.messages[i]);
                log_error("reload failed: keeping the running configuration");
                config_errors_clear(&errors);
                goto done;
        }
        const char *setting = config_restart_required(d->config, next);
        if (setting) {
                log_error("reload refused: %s changed, which changes the meaning of the window state or the "
                          "consumer; restart sensord (systemctl restart sensord) to apply it. Keeping the running "
                          "configuration.",
                          setting);
                config_free(next);
                goto done;
        }
        Emitter *emitter = NULL;
        if (make_emitter(d, next, &emitter) < 0) {
                log_error("reload failed: out of memory");
                config_free(next);
                goto done;
        }
        emitter_free(d->emitter);
        d->emitter = emitter;
        batcher_set_limits(&d->batcher, &next->batch);
        window_state_set_max_keys(d->state, next->max_keys);
        apply_log_level(d, next);
        if (next->idle_timeout_ms == 0)
                sd_event_source_set_enabled(d->idle, SD_EVENT_OFF);
        config_free(d->config);
        d->config = next;
        log_info("configuration reloaded: batch.max_messages=%" PRIu64 " batch.max_bytes=%" PRIu64
                 " output.mode=%s",
                 next->batch.max_messages, next->batch.max_bytes, output_mode_to_string(next->mode));
        if (batcher_is_full(&d->batcher))
                close_batch(d);
done:
        sd_notify(0, "READY=1");
        update_status(d);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        if (si->ssi_signo == SIGHUP)
                reload(d);
        else
                daemon_stop(d, EX_OK, si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return 0;
}

/* --- Kafka ----------------------------------------------------------------- */

static void track_partition_ends(Daemon *d, rd_kafka_topic_partition_list_t *parts) {
        rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_resp_err_t committed_err = rd_kafka_committed(d->rk, committed, 10000);
        if (committed_err)
                log_warning("reading committed offsets failed: %s", rd_kafka_err2str(committed_err));

        for (int i = 0; i < parts->cnt; i++) {
                const rd_kafka_topic_partition_t *p = &parts->elems[i];
                int64_t low = 0, high = 0, start;
                rd_kafka_resp_err_t err =
                        rd_kafka_query_watermark_offsets(d->rk, p->topic, p->partition, &low, &high, 10000);
                if (err) {
                        log_error("cannot read the end offset of %s/%" PRId32 ": %s", p->topic, p->partition,
                                  rd_kafka_err2str(err));
                        daemon_stop(d, EX_UNAVAILABLE, NULL);
                        break;
                }
                /* Without the committed offset, assume the group starts afresh:
                 * at worst the run stops early, never past the end. */
                int64_t c = committed_err ? RD_KAFKA_OFFSET_INVALID : committed->elems[i].offset;
                if (c >= 0)
                        start = c;
                else
                        start = d->config->starting_offsets == STARTING_EARLIEST ? low : high;
                PartitionEnd *end = find_end(d, p->partition);
                if (!end) {
                        PartitionEnd *ends = realloc(d->ends, (d->n_ends + 1) * sizeof(*ends));
                        if (!ends) {
                                daemon_stop(d, EX_SOFTWARE, "out of memory");
                                break;
                        }
                        d->ends = ends;
                        end = &d->ends[d->n_ends++];
                }
                *end = (PartitionEnd){ .partition = p->partition, .end = high, .done = start >= high };
                log_info("%s/%" PRId32 ": processing offsets %" PRId64 " to %" PRId64, p->topic, p->partition,
                         start, high);
        }
        rd_kafka_topic_partition_list_destroy(committed);
}

/* Commits the stored offsets, waiting at most timeout_ms for the answer: a
 * synchronous commit waits for as long as the coordinator is unreachable. */
static void commit_bounded(rd_kafka_t *rk, int timeout_ms) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk, NULL, q, NULL, NULL);
        if (!err) {
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms);
                if (!ev) {
                        log_warning("offset commit not confirmed within %d ms; those records will be read again",
                                    timeout_ms);
                } else {
                        err = rd_kafka_event_error(ev);
                        rd_kafka_event_destroy(ev);
                }
        }
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                log_warning("offset commit failed: %s", rd_kafka_err2str(err));
        rd_kafka_queue_destroy(q);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
        Daemon *d = opaque;
        bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        rd_kafka_error_t *error = NULL;
        rd_kafka_resp_err_t r = 0;

        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                log_info("assigned %d partition(s) of %s", parts->cnt, d->config->topic);
                if (d->options.available_now)
                        track_partition_ends(d, parts);
                if (cooperative)
                        error = rd_kafka_incremental_assign(rk, parts);
                else
                        r = rd_kafka_assign(rk, parts);
                d->assigned = true;
        } else {
                if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
                        log_warning("rebalance error: %s", rd_kafka_err2str(err));
                log_info("revoking %d partition(s)", parts->cnt);
                /* Finish what was read from them and commit, so that the next
                 * owner starts where these results end. */
                close_batch(d);
                commit_bounded(rk, COMMIT_TIMEOUT_MS);
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
}

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        Daemon *d = opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char buf[256];
                rd_kafka_fatal_error(rk, buf, sizeof(buf));
                log_error("fatal Kafka error: %s", buf);
                daemon_stop(d, EX_UNAVAILABLE, NULL);
                return;
        }
        log_warning("kafka: %s", reason);
}

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *facility, const char *message) {
        log_msg(level > LOG_DEBUG ? LOG_DEBUG : level, "kafka %s: %s", facility, message);
}

static int set_conf(rd_kafka_conf_t *conf, const char *name, const char *value) {
        char errstr[256];
        if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                log_error("kafka property %s=%s: %s", name, value, errstr);
                return -EINVAL;
        }
        return 0;
}

static int create_consumer(Daemon *d) {
        const Config *c = d->config;
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        for (size_t i = 0; i < c->n_properties; i++)
                if (set_conf(conf, c->properties[i].name, c->properties[i].value) < 0)
                        goto fail;
        if (set_conf(conf, "bootstrap.servers", c->brokers) < 0 || set_conf(conf, "group.id", c->group_id) < 0 ||
            set_conf(conf, "client.id", "sensord") < 0 ||
            set_conf(conf, "auto.offset.reset", c->starting_offsets == STARTING_EARLIEST ? "earliest" : "latest") < 0 ||
            set_conf(conf, "enable.auto.commit", "true") < 0 ||
            set_conf(conf, "enable.auto.offset.store", "false") < 0 ||
            set_conf(conf, "enable.partition.eof", d->options.available_now ? "true" : "false") < 0)
                goto fail;
        rd_kafka_conf_set_opaque(conf, d);
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_error_cb(conf, on_kafka_error);
        rd_kafka_conf_set_log_cb(conf, on_kafka_log);

        d->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!d->rk) {
                log_error("cannot create the Kafka consumer: %s", errstr);
                goto fail;
        }
        rd_kafka_poll_set_consumer(d->rk);
        d->queue = rd_kafka_queue_get_consumer(d->rk);
        if (pipe2(d->pipe_fds, O_NONBLOCK | O_CLOEXEC) < 0) {
                log_error("pipe: %s", strerror(errno));
                return -errno;
        }
        rd_kafka_queue_io_event_enable(d->queue, d->pipe_fds[1], "1", 1);
        return 0;
fail:
        if (!d->rk)
                rd_kafka_conf_destroy(conf);
        return -EINVAL;
}

/* Looks the topic up in the cluster's full topic list: asking for it by
 * name would make brokers with auto-creation (the devbroker among them)
 * create it. Returns its partition count, 0 if absent, or a negative
 * librdkafka error. */
static int topic_partitions(Daemon *d, const char **problem) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(d->rk, 1, NULL, &md, 2000);
        if (err) {
                *problem = rd_kafka_err2str(err);
                return -1;
        }
        int partitions = 0;
        *problem = "no such topic";
        for (int i = 0; i < md->topic_cnt; i++)
                if (strcmp(md->topics[i].topic, d->config->topic) == 0) {
                        partitions = md->topics[i].err ? 0 : md->topics[i].partition_cnt;
                        if (md->topics[i].err)
                                *problem = rd_kafka_err2str(md->topics[i].err);
                }
        rd_kafka_metadata_destroy(md);
        return partitions;
}

/* Waits (bounded by kafka.startup_timeout) until the brokers answer and know
 * the topic, so that a wrong address or topic name is an exit 69, not a
 * silent hang. */
static int wait_for_topic(Daemon *d) {
        const Config *c = d->config;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t)c->startup_timeout_ms * 1000;
        const char *problem = "no answer";

        for (unsigned attempt = 1;; attempt++) {
                int partitions = topic_partitions(d, &problem);
                if (partitions > 0) {
                        log_info("topic %s has %d partition(s) on %s", c->topic, partitions, c->brokers);
                        return 0;
                }
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        break;
                log_notice("waiting for topic %s on %s (attempt %u): %s", c->topic, c->brokers, attempt, problem);
                /* Not hung, only waiting: the event loop's watchdog pings start later. */
                sd_notify(0, "WATCHDOG=1");
                usleep(500000);
        }
        log_error("topic %s is not available on %s after %" PRId64 " ms: %s", c->topic, c->brokers,
                  c->startup_timeout_ms, problem);
        return -EHOSTUNREACH;
}

static int subscribe(Daemon *d) {
        rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, d->config->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(d->rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err) {
                log_error("cannot subscribe to %s: %s", d->config->topic, rd_kafka_err2str(err));
                return -EINVAL;
        }
        return 0;
}

static int setup_event_loop(Daemon *d) {
        int r;
        sigset_t mask;

        r = sd_event_default(&d->event);
        if (r < 0)
                return r;
        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if ((r = sd_event_add_signal(d->event, NULL, SIGHUP, on_signal, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d)) < 0)
                return r;
        r = sd_event_add_io(d->event, &d->kafka_io, d->pipe_fds[0], EPOLLIN, on_kafka_fd, d);
        if (r < 0)
                return r;
        r = sd_event_add_defer(d->event, &d->kafka_more, on_kafka_more, d);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(d->kafka_more, SD_EVENT_OFF);
        r = sd_event_add_time(d->event, &d->deadline, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_deadline, d);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(d->deadline, SD_EVENT_OFF);
        r = sd_event_add_time(d->event, &d->idle, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_idle, d);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(d->idle, SD_EVENT_OFF);
        /* STATUS= is for systemctl status: without a notify socket, stay
         * asleep between messages. */
        if (d->notify) {
                r = sd_event_add_time_relative(d->event, &d->status, CLOCK_MONOTONIC, STATUS_INTERVAL_US, 100000,
                                               on_status, d);
                if (r < 0)
                        return r;
        }
        return sd_event_set_watchdog(d->event, true);
}

static void log_summary(const Daemon *d) {
        const WindowStats *st = window_state_stats(d->state);
        char classes[512] = "";
        size_t n = 0;
        for (int i = 1; i < _RECORD_ERROR_MAX; i++)
                if (d->invalid_by_class[i] && n < sizeof(classes))
                        n += (size_t)snprintf(classes + n, sizeof(classes) - n, " invalid_%s=%" PRIu64,
                                              record_error_name((RecordError)i), d->invalid_by_class[i]);
        uint64_t busy_ms = d->messages ? (now_usec(CLOCK_MONOTONIC) - d->first_message_us) / 1000 : 0;
        log_info("summary: messages=%" PRIu64 " bytes=%" PRIu64 " invalid=%" PRIu64 " late_pairs=%" PRIu64
                 " dropped_pairs=%" PRIu64 " batches=%" PRIu64 " rows=%" PRIu64 " ms_since_first_message=%" PRIu64 "%s",
                 d->messages, d->bytes, d->invalid, st->late_pairs, st->dropped_pairs, d->batcher.number,
                 emitter_rows(d->emitter), busy_ms, classes);
}

/* Leaves the consumer group (revoking, committing), for at most
 * CLOSE_TIMEOUT_MS; after that the handle is destroyed without it. */
static void leave_group(Daemon *d) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(d->rk);
        rd_kafka_error_t *error = rd_kafka_consumer_close_queue(d->rk, q);
        if (error) {
                log_warning("leaving the consumer group failed: %s", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        } else {
                uint64_t deadline = now_usec(CLOCK_MONOTONIC) + CLOSE_TIMEOUT_MS * 1000ull;
                while (!rd_kafka_consumer_closed(d->rk) && now_usec(CLOCK_MONOTONIC) < deadline)
                        rd_kafka_queue_poll_callback(q, 100); /* serves the revoke */
        }
        d->consumer_closed = rd_kafka_consumer_closed(d->rk);
        if (!d->consumer_closed)
                log_warning("could not leave the consumer group within %d ms; the brokers will time the member out",
                            CLOSE_TIMEOUT_MS);
        rd_kafka_queue_destroy(q);
}

static void daemon_free(Daemon *d) {
        sd_event_source_unref(d->kafka_io);
        sd_event_source_unref(d->kafka_more);
        sd_event_source_unref(d->deadline);
        sd_event_source_unref(d->idle);
        sd_event_source_unref(d->status);
        sd_event_unref(d->event);
        if (d->queue)
                rd_kafka_queue_destroy(d->queue);
        if (d->rk)
                rd_kafka_destroy_flags(d->rk, d->consumer_closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        for (int i = 0; i < 2; i++)
                if (d->pipe_fds[i] >= 0)
                        close(d->pipe_fds[i]);
        window_state_free(d->state);
        emitter_free(d->emitter);
        free(d->batch_offsets);
        free(d->ends);
        config_free(d->config);
}

int daemon_run(const DaemonOptions *options, Config *config) {
        Daemon d = {
                .options = *options,
                .config = config,
                .pipe_fds = { -1, -1 },
                .invalid_limit = { .interval_us = 10 * 1000000ull, .burst = 10 },
                .notify = getenv("NOTIFY_SOCKET") != NULL,
        };
        sigset_t mask;
        int r;

        apply_log_level(&d, config);
        signal(SIGPIPE, SIG_IGN);
        /* Block before librdkafka starts its threads so only the loop sees them. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        batcher_init(&d.batcher, &config->batch, 0);
        if (window_state_new(&d.state, &config->window, config->max_keys) < 0 ||
            make_emitter(&d, config, &d.emitter) < 0) {
                log_error("out of memory");
                r = EX_SOFTWARE;
                goto out;
        }
        if (emitter_sink(d.emitter) == SINK_JOURNAL && d.config->format == FORMAT_TABLE)
                log_notice("output.format=table applies to stdout only; the journal gets one entry per row");

        if (create_consumer(&d) < 0) {
                r = EX_CONFIG;
                goto out;
        }
        if (setup_event_loop(&d) < 0) {
                log_error("cannot set up the event loop");
                r = EX_SOFTWARE;
                goto out;
        }
        if (wait_for_topic(&d) < 0) {
                r = EX_UNAVAILABLE;
                goto out;
        }
        if (subscribe(&d) < 0) {
                r = EX_UNAVAILABLE;
                goto out;
        }
        log_info("sensord %s started: topic %s, group %s, %s mode, results to %s%s", SENSORD_VERSION,
                 config->topic, config->group_id, output_mode_to_string(config->mode),
                 emitter_sink(d.emitter) == SINK_JOURNAL ? "the journal" : "stdout",
                 options->available_now ? " (available-now)" : "");
        sd_notify(0, "READY=1");
        update_status(&d);

        r = sd_event_loop(d.event);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                r = EX_SOFTWARE;
        } else {
                r = d.exit_code;
        }
        if (r == EX_OK) {
                close_batch(&d); /* the batch in flight */
                if (d.exit_code != EX_OK)
                        r = d.exit_code;
        }
        log_summary(&d);
        leave_group(&d); /* the revoke commits what close_batch stored */
out:
        daemon_free(&d);
        return r;
}
