/* batcher: cuts the consumer's message stream into micro-batches bounded by
 * message count, value bytes and time since the first message, and owns the
 * batch number. Pure bookkeeping: the caller feeds sizes and clock readings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct BatchLimits {
        uint64_t max_messages; /* >= 1 */
        uint64_t max_bytes;    /* >= 1; bytes of message values */
        uint64_t max_delay_us; /* 0: no time bound */
} BatchLimits;

typedef struct Batcher {
        BatchLimits limits;
        uint64_t number;    /* number of the open (or next) batch */
        uint64_t messages;  /* in the open batch */
        uint64_t bytes;     /* in the open batch */
        uint64_t opened_us; /* clock reading at the first message */
} Batcher;

void batcher_init(Batcher *b, const BatchLimits *limits, uint64_t first_number);

/* New limits apply from the next message on; an open batch already over them
 * reports full. */
void batcher_set_limits(Batcher *b, const BatchLimits *limits);

static inline bool batcher_is_empty(const Batcher *b) {
        return b->messages == 0;
}

/* True when a message of len bytes cannot join the open batch, so the batch
 * must be closed first. An empty batch takes any message, however large. */
bool batcher_must_close_before(const Batcher *b, size_t len);

/* Counts a message into the open batch (opening it at now_us if empty). */
void batcher_add(Batcher *b, size_t len, uint64_t now_us);

/* True when no further message can join: the count bound is reached or the
 * byte bound is used up. */
bool batcher_is_full(const Batcher *b);

/* Clock reading at which the open batch must close; UINT64_MAX when empty or
 * without a time bound. */
uint64_t batcher_deadline(const Batcher *b);

/* Ends the open batch and returns its number; the next batch gets number+1. */
uint64_t batcher_close(Batcher *b);
