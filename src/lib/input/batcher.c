/* batcher: message, byte and time bounds of a micro-batch. */
#include "lib/input/batcher.h"

void batcher_init(Batcher *b, const BatchLimits *limits, uint64_t first_number) {
        *b = (Batcher){ .limits = *limits, .number = first_number };
}

void batcher_set_limits(Batcher *b, const BatchLimits *limits) {
        b->limits = *limits;
}

bool batcher_must_close_before(const Batcher *b, size_t len) {
        if (b->messages == 0)
                return false;
        return b->messages >= b->limits.max_messages || b->bytes + len > b->limits.max_bytes;
}

void batcher_add(Batcher *b, size_t len, uint64_t now_us) {
        if (b->messages == 0)
                b->opened_us = now_us;
        b->messages++;
        b->bytes += len;
}

bool batcher_is_full(const Batcher *b) {
        return b->messages >= b->limits.max_messages || b->bytes >= b->limits.max_bytes;
}

uint64_t batcher_deadline(const Batcher *b) {
        if (b->messages == 0 || b->limits.max_delay_us == 0)
                return UINT64_MAX;
        return b->opened_us + b->limits.max_delay_us;
}

uint64_t batcher_close(Batcher *b) {
        uint64_t n = b->number++;
        b->messages = 0;
        b->bytes = 0;
        b->opened_us = 0;
        return n;
}
