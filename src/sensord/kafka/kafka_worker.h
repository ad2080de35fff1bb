/* kafka_worker: librdkafka calls that block (a broker round trip with a
 * timeout: watermark offsets, committed offsets) on a thread of their own.
 * With slow or absent brokers they last longer than the watchdog interval,
 * so the event loop never makes them: each job runs on the worker, then
 * comes back to the loop's thread through an eventfd. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

typedef struct KafkaJob KafkaJob;
struct KafkaJob {
        /* On the worker thread, in submission order; may block. */
        void (*run)(KafkaJob *job);
        /* Then on the loop's thread; frees the job. cancelled: the worker
         * was freed before the loop was told (run() may not have run). */
        void (*done)(KafkaJob *job, bool cancelled);
        KafkaJob *next;
};

typedef struct KafkaWorker KafkaWorker;

int kafka_worker_new(KafkaWorker **out, sd_event *event);

/* Waits for the job in progress (at most its own timeout), then hands
 * every job not yet told to done(), cancelled. */
KafkaWorker *kafka_worker_free(KafkaWorker *w);

void kafka_worker_submit(KafkaWorker *w, KafkaJob *job);
