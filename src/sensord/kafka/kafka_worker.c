/* kafka_worker: a queue of jobs, one thread, answers via eventfd. */
#include "sensord/kafka/kafka_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/base/alloc.h"

struct KafkaWorker {
        int efd;
        sd_event_source *source;
        pthread_t thread;
        bool started;

        pthread_mutex_t lock; /* guards what follows */
        pthread_cond_t wake;
        bool quit;
        KafkaJob *todo, **todo_tail; /* to run, oldest first */
        KafkaJob *ran, **ran_tail;   /* run, to tell the loop */
};

static void append(KafkaJob ***tail, KafkaJob *job) {
        job->next = NULL;
        **tail = job;
        *tail = &job->next;
}

static void *worker(void *arg) {
        KafkaWorker *w = arg;
        pthread_mutex_lock(&w->lock);
        for (;;) {
                while (!w->quit && !w->todo)
                        pthread_cond_wait(&w->wake, &w->lock);
                if (w->quit)
                        break;
                KafkaJob *job = w->todo;
                w->todo = job->next;
                if (!w->todo)
                        w->todo_tail = &w->todo;
                pthread_mutex_unlock(&w->lock);

                job->run(job);

                pthread_mutex_lock(&w->lock);
                append(&w->ran_tail, job);
                uint64_t one = 1;
                (void)!write(w->efd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

/* Takes a list out from under the lock. */
static KafkaJob *take(KafkaWorker *w, KafkaJob **head, KafkaJob ***tail) {
        pthread_mutex_lock(&w->lock);
        KafkaJob *list = *head;
        *head = NULL;
        *tail = head;
        pthread_mutex_unlock(&w->lock);
        return list;
}

static void tell(KafkaJob *list, bool cancelled) {
        while (list) {
                KafkaJob *next = list->next;
                list->done(list, cancelled);
                list = next;
        }
}

static int on_ran(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        KafkaWorker *w = userdata;
        uint64_t count;
        (void)!read(fd, &count, sizeof(count));
        tell(take(w, &w->ran, &w->ran_tail), false);
        return 0;
}

int kafka_worker_new(KafkaWorker **out, sd_event *event) {
        KafkaWorker *w = xcalloc(1, sizeof(*w));
        int r;
        w->todo_tail = &w->todo;
        w->ran_tail = &w->ran;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->efd < 0) {
                r = -errno;
                goto fail;
        }
        if ((r = sd_event_add_io(event, &w->source, w->efd, EPOLLIN, on_ran, w)) < 0)
                goto fail;
        if ((r = -pthread_create(&w->thread, NULL, worker, w)) < 0)
                goto fail;
        w->started = true;
        *out = w;
        return 0;
fail:
        kafka_worker_free(w);
        return r;
}

KafkaWorker *kafka_worker_free(KafkaWorker *w) {
        if (!w)
                return NULL;
        if (w->started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_cond_signal(&w->wake);
                pthread_mutex_unlock(&w->lock);
                pthread_join(w->thread, NULL);
        }
        tell(take(w, &w->ran, &w->ran_tail), true);
        tell(take(w, &w->todo, &w->todo_tail), true);
        sd_event_source_disable_unref(w->source);
        if (w->efd >= 0)
                close(w->efd);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return NULL;
}

void kafka_worker_submit(KafkaWorker *w, KafkaJob *job) {
        pthread_mutex_lock(&w->lock);
        append(&w->todo_tail, job);
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
}
