/* topic_admin: CreateTopics, CreatePartitions and DescribeConfigs, each waited for. */
#include "sensord/kafka/admin/topic_admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "lib/base/log.h"
#include "lib/base/util.h"

static int errno_of(rd_kafka_resp_err_t err) {
        switch (err) {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
                return 0;
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
                return -EEXIST;
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
                return -EACCES;
        case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
        case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
                return -EOPNOTSUPP;
        case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
        case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
        case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
        case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
        case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
                return -EINVAL;
        case RD_KAFKA_RESP_ERR__TIMED_OUT:
        case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
                return -ETIMEDOUT;
        default:
                return -EIO;
        }
}

static rd_kafka_AdminOptions_t *options_for(rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms) {
        char errstr[256];
        rd_kafka_AdminOptions_t *options = rd_kafka_AdminOptions_new(rk, op);
        rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr, sizeof(errstr));
        if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) /* until the topic is created, not only asked for */
                rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr, sizeof(errstr));
        return options;
}

/* The outcome of a request that failed as a whole: no answer (ev NULL),
 * or an error for the request itself. Returns 1, with *r and why set, when
 * it did; 0 when the answer's result is to be read. */
static int request_failed(rd_kafka_event_t *ev, int timeout_ms, int *r, char *why, size_t size) {
        if (ev && !rd_kafka_event_error(ev))
                return 0;
        *r = ev ? errno_of(rd_kafka_event_error(ev)) : -ETIMEDOUT;
        if (ev)
                snprintf(why, size, "%s", rd_kafka_event_error_string(ev));
        else
                snprintf(why, size, "no answer in %d ms", timeout_ms);
        return 1;
}

/* The errno of the topic's result, with the broker's message, or the
 * error's name, in why. */
static int result_error(rd_kafka_resp_err_t err, const char *message, char *why, size_t size) {
        snprintf(why, size, "%s", message && *message ? message : rd_kafka_err2str(err));
        return errno_of(err);
}

/* The errno of the one topic's result in a CreateTopics or a
 * CreatePartitions answer. */
static int topic_result(rd_kafka_event_t *ev, char *why, size_t size) {
        size_t n = 0;
        const rd_kafka_topic_result_t **results =
                rd_kafka_event_type(ev) == RD_KAFKA_EVENT_CREATETOPICS_RESULT
                        ? rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n)
                        : rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
        return n == 1 ? result_error(rd_kafka_topic_result_error(results[0]),
                                     rd_kafka_topic_result_error_string(results[0]), why, size)
                      : result_error(RD_KAFKA_RESP_ERR__FAIL, NULL, why, size);
}

/* The request's answer, or NULL after timeout_ms and a second more. */
static rd_kafka_event_t *wait_answer(rd_kafka_queue_t *queue, int timeout_ms) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + ((uint64_t)timeout_ms + 1000) * 1000;
        while (now_usec(CLOCK_MONOTONIC) < deadline) {
                rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, 500);
                if (ev)
                        return ev;
                if (gettid() == getpid()) /* the loop's thread: a worker's wait says nothing of the loop */
                        sd_notify(0, "WATCHDOG=1");
        }
        return NULL;
}

bool topic_admin_available(rd_kafka_t *rk, int timeout_ms) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return false;
        int32_t controller = rd_kafka_controllerid(rk, 0);
        bool listed = false;
        for (int i = 0; i < md->broker_cnt; i++)
                listed |= md->brokers[i].id == controller;
        rd_kafka_metadata_destroy(md);
        return listed;
}

int topic_admin_create(rd_kafka_t *rk, const char *topic, int partitions, int replication_factor,
                       const char *const *configs, int timeout_ms, char *why, size_t size) {
        char errstr[256];
        rd_kafka_NewTopic_t *t = rd_kafka_NewTopic_new(topic, partitions, replication_factor, errstr, sizeof(errstr));
        if (!t) {
                snprintf(why, size, "%s", errstr);
                return -EINVAL;
        }
        for (size_t i = 0; configs && configs[i]; i += 2)
                rd_kafka_NewTopic_set_config(t, configs[i], configs[i + 1]);
        rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *options = options_for(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms);
        rd_kafka_CreateTopics(rk, &t, 1, options, queue);
        rd_kafka_event_t *ev = wait_answer(queue, timeout_ms);
        int r;
        if (!request_failed(ev, timeout_ms, &r, why, size))
                r = topic_result(ev, why, size);
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(options);
        rd_kafka_queue_destroy(queue);
        rd_kafka_NewTopic_destroy(t);
        return r;
}

int topic_admin_add_partitions(rd_kafka_t *rk, const char *topic, int total, int timeout_ms, char *why,
                               size_t size) {
        char errstr[256];
        rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(topic, (size_t)total, errstr, sizeof(errstr));
        if (!np) {
                snprintf(why, size, "%s", errstr);
                return -EINVAL;
        }
        rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *options = options_for(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout_ms);
        rd_kafka_CreatePartitions(rk, &np, 1, options, queue);
        rd_kafka_event_t *ev = wait_answer(queue, timeout_ms);
        int r;
        if (!request_failed(ev, timeout_ms, &r, why, size))
                r = topic_result(ev, why, size);
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(options);
        rd_kafka_queue_destroy(queue);
        rd_kafka_NewPartitions_destroy(np);
        return r;
}

/* The topic's metadata, asked for by name (it exists, so no broker creates
 * it): its partition count, and partition 0's replica count (0 if none).
 * -ENOENT when the broker does not know it, -EIO without an answer. */
static int topic_metadata(rd_kafka_t *rk, const char *topic, int timeout_ms, int *replicas) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        int r = -EIO;
        *replicas = 0;
        if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (md->topic_cnt == 1 && !md->topics[0].err) {
                        r = md->topics[0].partition_cnt;
                        if (r > 0)
                                *replicas = md->topics[0].partitions[0].replica_cnt;
                } else if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                        r = -ENOENT;
                }
                rd_kafka_metadata_destroy(md);
        }
        if (rkt)
                rd_kafka_topic_destroy(rkt);
        return r;
}

int topic_admin_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms) {
        int replicas;
        return topic_metadata(rk, topic, timeout_ms, &replicas);
}

int topic_admin_describe(rd_kafka_t *rk, const char *topic, TopicSettings *s, int timeout_ms, char *why,
                         size_t size) {
        (void)topic_metadata(rk, topic, timeout_ms, &s->replication_factor);
        rd_kafka_ConfigResource_t *resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
        rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *options = options_for(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
        rd_kafka_DescribeConfigs(rk, &resource, 1, options, queue);
        rd_kafka_event_t *ev = wait_answer(queue, timeout_ms);
        int r;
        if (!request_failed(ev, timeout_ms, &r, why, size)) {
                size_t n = 0;
                const rd_kafka_ConfigResource_t **resources =
                        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
                r = n == 1 ? result_error(rd_kafka_ConfigResource_error(resources[0]),
                                          rd_kafka_ConfigResource_error_string(resources[0]), why, size)
                           : result_error(RD_KAFKA_RESP_ERR__FAIL, NULL, why, size);
                size_t n_entries = 0;
                const rd_kafka_ConfigEntry_t **entries =
                        r == 0 ? rd_kafka_ConfigResource_configs(resources[0], &n_entries) : NULL;
                for (size_t i = 0; i < n_entries && r == 0; i++) {
                        const char *name = rd_kafka_ConfigEntry_name(entries[i]);
                        const char *value = rd_kafka_ConfigEntry_value(entries[i]);
                        if (topic_settings_set(s, name, value) < 0) {
                                snprintf(why, size, "the broker gave %s=%s, which sensord cannot read", name, value);
                                r = -EIO;
                        }
                }
                s->described = r == 0;
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(options);
        rd_kafka_queue_destroy(queue);
        rd_kafka_ConfigResource_destroy(resource);
        return r;
}

void topic_admin_settings(rd_kafka_t *rk, bool admin, const char *topic, const char *setting, TopicSettings *s,
                          int timeout_ms) {
        char why[512];
        topic_settings_init(s);
        if (!admin) {
                log_debug("topic %s: the brokers name no controller, so its settings are not checked", topic);
                return;
        }
        int r = topic_admin_describe(rk, topic, s, timeout_ms, why, sizeof(why));
        if (r == -EACCES)
                log_warning("cannot check the settings of topic %s (%s): the ACLs refuse DescribeConfigs (%s). "
                            "Grant sensord's user DescribeConfigs on it, so that a setting that cannot work is "
                            "named at start",
                            topic, setting, why);
        else if (r < 0)
                log_warning("cannot check the settings of topic %s (%s): %s", topic, setting, why);
}

int topic_admin_judge(const TopicProblem *problems, size_t n) {
        bool fatal = false;
        for (size_t i = 0; i < n; i++) {
                if (problems[i].fatal)
                        log_error("%s", problems[i].text);
                else
                        log_warning("%s", problems[i].text);
                fatal |= problems[i].fatal;
        }
        return fatal ? -EINVAL : 0;
}
