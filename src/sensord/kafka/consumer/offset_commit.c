/* offset_commit: rd_kafka_commit_queue(), and a bounded wait for its
 * answer or the answer on a queue the loop watches. */
#include "sensord/kafka/consumer/offset_commit.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "sensord/kafka/queue_watch.h"

void offset_commit(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t offset, const char *metadata,
                   int wait_ms) {
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_add(list, topic, partition);
        p->offset = offset;
        p->metadata = xstrdup(metadata); /* freed with the list */
        p->metadata_size = strlen(metadata);
        rd_kafka_resp_err_t err;
        if (wait_ms < 0) {
                err = rd_kafka_commit(rk, list, 1);
        } else {
                /* rd_kafka_commit(sync) waits as long as the coordinator
                 * takes: the answer comes to a queue of its own instead */
                rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
                err = rd_kafka_commit_queue(rk, list, queue, NULL, NULL);
                rd_kafka_event_t *ev = err ? NULL : rd_kafka_queue_poll(queue, wait_ms);
                if (!err)
                        err = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
                if (ev)
                        rd_kafka_event_destroy(ev);
                rd_kafka_queue_destroy(queue);
        }
        if (err)
                log_warning("committing offset %" PRId64 " of %s/%" PRId32 " failed: %s; the next owner restores the "
                            "checkpoint committed before",
                            offset, topic, partition, rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(list);
}

/* A commit whose answer is awaited: the event's opaque. */
typedef struct Pending {
        OffsetCommitDone done;
        void *userdata;
        int32_t partition;
        int64_t offset;
        struct Pending *prev, *next;
} Pending;

struct OffsetCommits {
        rd_kafka_t *rk;
        rd_kafka_queue_t *queue; /* the answers */
        QueueWatch watch;
        Pending *pending;
};

static void unlink_pending(OffsetCommits *oc, Pending *p) {
        if (p->prev)
                p->prev->next = p->next;
        else
                oc->pending = p->next;
        if (p->next)
                p->next->prev = p->prev;
}

static int on_answers(void *userdata) {
        OffsetCommits *oc = userdata;
        rd_kafka_event_t *ev;
        while ((ev = rd_kafka_queue_poll(oc->queue, 0))) {
                Pending *p = rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT ? rd_kafka_event_opaque(ev) : NULL;
                rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
                const rd_kafka_topic_partition_list_t *list = rd_kafka_event_topic_partition_list(ev);
                if (!err && list && list->cnt == 1)
                        err = list->elems[0].err;
                if (p) {
                        unlink_pending(oc, p);
                        p->done(p->userdata, p->partition, p->offset, err ? rd_kafka_err2str(err) : NULL);
                        free(p);
                }
                rd_kafka_event_destroy(ev);
        }
        return 0;
}

int offset_commits_new(OffsetCommits **out, rd_kafka_t *rk, sd_event *event) {
        OffsetCommits *oc = xcalloc(1, sizeof(*oc));
        oc->rk = rk;
        oc->queue = rd_kafka_queue_new(rk);
        int r = queue_watch_init(&oc->watch, event, oc->queue, on_answers, oc);
        if (r < 0) {
                offset_commits_free(oc);
                return r;
        }
        *out = oc;
        return 0;
}

OffsetCommits *offset_commits_free(OffsetCommits *oc) {
        if (!oc)
                return NULL;
        /* librdkafka writes to the watch's pipe no more */
        rd_kafka_queue_io_event_enable(oc->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(oc->queue);
        queue_watch_free(&oc->watch);
        while (oc->pending) {
                Pending *p = oc->pending;
                unlink_pending(oc, p);
                free(p);
        }
        free(oc);
        return NULL;
}

void offset_commit_then(OffsetCommits *oc, const char *topic, int32_t partition, int64_t offset, const char *metadata,
                        OffsetCommitDone done, void *userdata) {
        Pending *p = xcalloc(1, sizeof(*p));
        *p = (Pending){ .done = done, .userdata = userdata, .partition = partition, .offset = offset,
                        .next = oc->pending };
        if (p->next)
                p->next->prev = p;
        oc->pending = p;
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(list, topic, partition);
        tp->offset = offset;
        tp->metadata = xstrdup(metadata); /* freed with the list */
        tp->metadata_size = strlen(metadata);
        rd_kafka_resp_err_t err = rd_kafka_commit_queue(oc->rk, list, oc->queue, NULL, p);
        rd_kafka_topic_partition_list_destroy(list);
        if (err) {
                unlink_pending(oc, p);
                done(userdata, partition, offset, rd_kafka_err2str(err));
                free(p);
        }
}
