/* end_offsets: watermark queries on a worker thread, answers via eventfd. */
#include "end_offsets.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"

/* Bounds a stop that waits for the worker: a query is not interruptible. */
#define QUERY_TIMEOUT_MS 5000

typedef struct Answer {
        int32_t partition;
        int64_t end;
        rd_kafka_resp_err_t err;
} Answer;

struct EndOffsets {
        rd_kafka_t *rk;
        char *topic;
        EndOffsetFn fn;
        void *userdata;
        int efd;
        sd_event_source *source;
        pthread_t thread;
        bool started;

        pthread_mutex_t lock; /* guards what follows */
        pthread_cond_t wake;
        bool quit;
        int32_t *requests;
        size_t n_requests, cap_requests;
        Answer *answers;
        size_t n_answers, cap_answers;
};

static void *worker(void *arg) {
        EndOffsets *q = arg;
        pthread_mutex_lock(&q->lock);
        for (;;) {
                while (!q->quit && q->n_requests == 0)
                        pthread_cond_wait(&q->wake, &q->lock);
                if (q->quit)
                        break;
                int32_t partition = q->requests[0];
                memmove(q->requests, q->requests + 1, --q->n_requests * sizeof(*q->requests));
                pthread_mutex_unlock(&q->lock);

                int64_t low = -1, high = -1;
                rd_kafka_resp_err_t err =
                        rd_kafka_query_watermark_offsets(q->rk, q->topic, partition, &low, &high, QUERY_TIMEOUT_MS);

                pthread_mutex_lock(&q->lock);
                ARRAY_RESERVE(q->answers, q->cap_answers, q->n_answers + 1);
                q->answers[q->n_answers++] = (Answer){ partition, err ? -1 : high, err };
                uint64_t one = 1;
                (void)!write(q->efd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

static int on_answers(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        EndOffsets *q = userdata;
        uint64_t count;
        (void)!read(fd, &count, sizeof(count));

        pthread_mutex_lock(&q->lock);
        Answer *answers = q->answers;
        size_t n = q->n_answers;
        q->answers = NULL;
        q->n_answers = q->cap_answers = 0;
        pthread_mutex_unlock(&q->lock);

        for (size_t i = 0; i < n; i++) {
                const Answer *a = &answers[i];
                q->fn(q->userdata, a->partition, a->end, a->err ? rd_kafka_err2str(a->err) : NULL);
                if (a->err)
                        continue;
                log_info("%s/%" PRId32 ": this run reads up to offset %" PRId64, q->topic, a->partition, a->end);
        }
        free(answers);
        return 0;
}

int end_offsets_new(EndOffsets **out, rd_kafka_t *rk, const char *topic, sd_event *event, EndOffsetFn fn,
                    void *userdata) {
        EndOffsets *q = xcalloc(1, sizeof(*q));
        int r;
        *q = (EndOffsets){ .rk = rk, .topic = xstrdup(topic), .fn = fn, .userdata = userdata };
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->wake, NULL);
        q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &q->source, q->efd, EPOLLIN, on_answers, q);
        if (r < 0)
                goto fail;
        r = -pthread_create(&q->thread, NULL, worker, q);
        if (r < 0)
                goto fail;
        q->started = true;
        *out = q;
        return 0;
fail:
        end_offsets_free(q);
        return r;
}

EndOffsets *end_offsets_free(EndOffsets *q) {
        if (!q)
                return NULL;
        if (q->started) {
                pthread_mutex_lock(&q->lock);
                q->quit = true;
                pthread_cond_signal(&q->wake);
                pthread_mutex_unlock(&q->lock);
                pthread_join(q->thread, NULL);
        }
        sd_event_source_disable_unref(q->source);
        if (q->efd >= 0)
                close(q->efd);
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->wake);
        free(q->requests);
        free(q->answers);
        free(q->topic);
        free(q);
        return NULL;
}

void end_offsets_assigned(EndOffsets *q, const rd_kafka_topic_partition_list_t *parts) {
        if (parts->cnt == 0)
                return;
        pthread_mutex_lock(&q->lock);
        for (int i = 0; i < parts->cnt; i++) {
                ARRAY_RESERVE(q->requests, q->cap_requests, q->n_requests + 1);
                q->requests[q->n_requests++] = parts->elems[i].partition;
        }
        pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->lock);
}
