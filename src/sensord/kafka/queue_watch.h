/* queue_watch: a librdkafka queue on sd-event. librdkafka writes a byte to
 * a pipe when the queue becomes non-empty; the loop drains the pipe and
 * calls the owner, which then serves the queue (the consumer's messages,
 * the producer's delivery reports). No byte comes while ops are left in
 * the queue: an owner that stops serving before the queue is empty must
 * come back to it by itself. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <systemd/sd-event.h>

typedef struct QueueWatch {
        int pipe_fds[2]; /* librdkafka writes to [1] */
        sd_event_source *source;
        int (*ready)(void *userdata); /* returns as an sd-event handler */
        void *userdata;
} QueueWatch;

/* Returns 0 or a negative errno. queue_watch_free() is right after a
 * failed init, and on a zeroed QueueWatch that was never initialized. */
int queue_watch_init(QueueWatch *w, sd_event *event, rd_kafka_queue_t *queue, int (*ready)(void *userdata),
                     void *userdata);
void queue_watch_free(QueueWatch *w);
