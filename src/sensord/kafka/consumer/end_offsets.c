/* end_offsets: watermark queries as kafka_worker jobs. */
#include "sensord/kafka/consumer/end_offsets.h"

#include <inttypes.h>
#include <stdlib.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "sensord/kafka/kafka_worker.h"

/* Bounds a stop that waits for the worker: a query is not interruptible. */
#define QUERY_TIMEOUT_MS 5000

struct EndOffsets {
        rd_kafka_t *rk;
        char *topic;
        EndOffsetFn fn;
        void *userdata;
        KafkaWorker *worker;
};

typedef struct Query {
        KafkaJob job; /* first: the job is the query */
        EndOffsets *q;
        int32_t partition;
        int64_t end;
        rd_kafka_resp_err_t err;
} Query;

static void run(KafkaJob *job) {
        Query *query = (Query *)job;
        int64_t low = -1, high = -1;
        query->err = rd_kafka_query_watermark_offsets(query->q->rk, query->q->topic, query->partition, &low, &high,
                                                      QUERY_TIMEOUT_MS);
        query->end = query->err ? -1 : high;
}

static void done(KafkaJob *job, bool cancelled) {
        Query *query = (Query *)job;
        EndOffsets *q = query->q;
        if (!cancelled) {
                q->fn(q->userdata, query->partition, query->end, query->err ? rd_kafka_err2str(query->err) : NULL);
                if (!query->err)
                        log_info("%s/%" PRId32 ": this run reads up to offset %" PRId64, q->topic, query->partition,
                                 query->end);
        }
        free(query);
}

int end_offsets_new(EndOffsets **out, rd_kafka_t *rk, const char *topic, sd_event *event, EndOffsetFn fn,
                    void *userdata) {
        EndOffsets *q = xcalloc(1, sizeof(*q));
        *q = (EndOffsets){ .rk = rk, .topic = xstrdup(topic), .fn = fn, .userdata = userdata };
        int r = kafka_worker_new(&q->worker, event);
        if (r < 0) {
                end_offsets_free(q);
                return r;
        }
        *out = q;
        return 0;
}

EndOffsets *end_offsets_free(EndOffsets *q) {
        if (!q)
                return NULL;
        kafka_worker_free(q->worker);
        free(q->topic);
        free(q);
        return NULL;
}

void end_offsets_assigned(EndOffsets *q, const rd_kafka_topic_partition_list_t *parts) {
        for (int i = 0; i < parts->cnt; i++) {
                Query *query = xcalloc(1, sizeof(*query));
                *query = (Query){ .job = { .run = run, .done = done }, .q = q, .partition = parts->elems[i].partition };
                kafka_worker_submit(q->worker, &query->job);
        }
}
