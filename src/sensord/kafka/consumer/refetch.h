/* refetch: keeps librdkafka 2.0's prefetch going while sensord catches up.
 *
 * librdkafka 2.0 stops fetching a partition while the consumer queue holds
 * queued.min.messages (or queued.max.messages.kbytes), and looks at it again
 * only when the partition's broker thread next wakes, up to a second later
 * (fetch.queue.backoff.ms, which bounds that wait, came in librdkafka 2.2).
 * sensord drains a full queue in a fraction of that second and would then
 * wait for the rest of it: in a backlog, more than half the time. So when
 * the queue runs empty after sensord drained at least that much since it was
 * last empty (only then can a limit have been reached), each assigned
 * partition is sought to the position sensord has reached. The seek wakes
 * the broker threads, which fetch again at once. The queue is empty, so the
 * seek drops nothing but a fetch in flight, which is fetched again, and its
 * version barrier keeps any message fetched before it from being handed
 * over twice. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct Refetch {
        uint64_t min_messages, max_bytes; /* the consumer's prefetch limits */
        uint64_t messages, bytes;         /* drained since the queue was last empty */
        uint64_t seeks;                   /* refetches so far */
} Refetch;

/* Reads the limits from the consumer's configuration (before rd_kafka_new
 * takes it). */
void refetch_init(Refetch *r, const rd_kafka_conf_t *conf);

/* A message of len bytes was drained. */
static inline void refetch_drained(Refetch *r, size_t len) {
        r->messages++;
        r->bytes += len;
}

/* The consumer queue is empty: seeks to refetch when a limit may have been
 * reached since it was last empty. */
void refetch_queue_empty(Refetch *r, rd_kafka_t *rk);
