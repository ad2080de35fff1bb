/* queue_watch: rd_kafka_queue_io_event_enable() behind an sd-event io source. */
#include "sensord/kafka/queue_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        QueueWatch *w = userdata;
        char buf[64];
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        return w->ready(w->userdata);
}

int queue_watch_init(QueueWatch *w, sd_event *event, rd_kafka_queue_t *queue, int (*ready)(void *userdata),
                     void *userdata) {
        *w = (QueueWatch){ .pipe_fds = { -1, -1 }, .ready = ready, .userdata = userdata };
        if (pipe2(w->pipe_fds, O_NONBLOCK | O_CLOEXEC) < 0)
                return -errno;
        rd_kafka_queue_io_event_enable(queue, w->pipe_fds[1], "1", 1);
        /* librdkafka writes only when an op makes the queue's length 1. An
         * op queued before the line above (a broker's connection error,
         * right after rd_kafka_new()) would hold the length above 1 until
         * someone polls, and no wake-up would ever come: wake once now. */
        if (rd_kafka_queue_length(queue) > 0 && write(w->pipe_fds[1], "1", 1) < 0)
                return -errno;
        return sd_event_add_io(event, &w->source, w->pipe_fds[0], EPOLLIN, on_readable, w);
}

void queue_watch_free(QueueWatch *w) {
        if (!w->ready)
                return; /* never initialized */
        w->source = sd_event_source_disable_unref(w->source);
        for (int i = 0; i < 2; i++)
                if (w->pipe_fds[i] >= 0) {
                        close(w->pipe_fds[i]);
                        w->pipe_fds[i] = -1;
                }
}
