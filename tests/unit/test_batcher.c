/* The batch former: message, byte, at-least-one and time bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/input/batcher.h"

/* Feeds message sizes the way the daemon does and records batch sizes. */
static size_t run(const BatchLimits *limits, const size_t *sizes, size_t n, uint64_t *batch_sizes) {
        Batcher b;
        size_t batches = 0;
        batcher_init(&b, limits, 0);
        for (size_t i = 0; i < n; i++) {
                if (batcher_must_close_before(&b, sizes[i])) {
                        batch_sizes[batches++] = b.messages;
                        assert_int_equal(batcher_close(&b), batches - 1);
                }
                batcher_add(&b, sizes[i], 1000 + i);
                if (batcher_is_full(&b)) {
                        batch_sizes[batches++] = b.messages;
                        batcher_close(&b);
                }
        }
        if (!batcher_is_empty(&b)) {
                batch_sizes[batches++] = b.messages;
                batcher_close(&b);
        }
        assert_int_equal(b.number, batches);
        return batches;
}

static void test_message_bound(void **state) {
        BatchLimits limits = { .max_messages = 5, .max_bytes = 10240 };
        size_t sizes[12];
        uint64_t out[12];
        for (int i = 0; i < 12; i++)
                sizes[i] = 74;
        assert_int_equal(run(&limits, sizes, 12, out), 3); /* the seed: 5, 5, 2 */
        assert_int_equal(out[0], 5);
        assert_int_equal(out[1], 5);
        assert_int_equal(out[2], 2);
}

static void test_byte_bound(void **state) {
        BatchLimits limits = { .max_messages = 100, .max_bytes = 150 };
        size_t sizes[] = { 74, 74, 74, 74, 74 };
        uint64_t out[5];
        assert_int_equal(run(&limits, sizes, 5, out), 3); /* 148 bytes fit, 222 do not */
        assert_int_equal(out[0], 2);
        assert_int_equal(out[1], 2);
        assert_int_equal(out[2], 1);

        /* exactly at the bound: the batch is full and closes at once */
        BatchLimits exact = { .max_messages = 100, .max_bytes = 148 };
        Batcher b;
        batcher_init(&b, &exact, 0);
        batcher_add(&b, 74, 0);
        assert_false(batcher_is_full(&b));
        assert_false(batcher_must_close_before(&b, 74));
        batcher_add(&b, 74, 0);
        assert_true(batcher_is_full(&b));
}

static void test_at_least_one(void **state) {
        BatchLimits limits = { .max_messages = 10, .max_bytes = 100 };
        size_t sizes[] = { 30, 500, 30, 30 };
        uint64_t out[4];
        /* the 500-byte message is never stuck: it forms a batch of its own */
        assert_int_equal(run(&limits, sizes, 4, out), 3);
        assert_int_equal(out[0], 1);
        assert_int_equal(out[1], 1);
        assert_int_equal(out[2], 2);

        Batcher b;
        batcher_init(&b, &limits, 7);
        assert_false(batcher_must_close_before(&b, 1000000));
        batcher_add(&b, 1000000, 0);
        assert_true(batcher_is_full(&b));
        assert_int_equal(batcher_close(&b), 7);
        assert_int_equal(b.number, 8);
}

static void test_deadline_and_limits_change(void **state) {
        BatchLimits limits = { .max_messages = 5, .max_bytes = 10240, .max_delay_us = 1000000 };
        Batcher b;
        batcher_init(&b, &limits, 0);
        assert_int_equal(batcher_deadline(&b), UINT64_MAX); /* empty: no deadline */
        batcher_add(&b, 10, 5000000);
        batcher_add(&b, 10, 5400000);
        assert_int_equal(batcher_deadline(&b), 6000000); /* from the first message */
        BatchLimits smaller = { .max_messages = 2, .max_bytes = 10240, .max_delay_us = 0 };
        batcher_set_limits(&b, &smaller);
        assert_true(batcher_is_full(&b));
        assert_int_equal(batcher_deadline(&b), UINT64_MAX);
        batcher_close(&b);
        assert_true(batcher_is_empty(&b));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_message_bound),
                cmocka_unit_test(test_byte_bound),
                cmocka_unit_test(test_at_least_one),
                cmocka_unit_test(test_deadline_and_limits_change),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
