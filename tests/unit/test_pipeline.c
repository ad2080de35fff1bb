/* The pipeline's two-phase batch close: offsets are released for storing
 * only when a batch's output is confirmed, in batch order, never for a batch
 * whose rows were not written, never for a lost partition; and available-now
 * completion over the partitions still held. No Kafka: messages are plain
 * structs and the output and offset store are recorders. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sensord/pipeline.h"

typedef struct Recorder {
        int end_result;          /* what end_batch answers */
        int row_result;          /* what each row answers */
        uint64_t batches_begun, rows;
        uint64_t last_batch;
        PartitionOffset stored[64]; /* every offset stored, in order */
        size_t n_stored;
        size_t store_calls;
        uint64_t invalid;
        RecordError last_invalid;
        uint64_t late_records;
        WindowLate last_late; /* starts not kept */
        int invalid_result;           /* what the invalid hook answers (a dead letter refused) */
        CheckpointMark saved[16];     /* every checkpoint saved, in order */
        size_t n_saved;
        bool congested;
        bool changelog_congested; /* the checkpoints' writes stall */
        int flushes;
        uint64_t confirm_on_flush;    /* flush confirms this batch (UINT64_MAX: none) */
        int64_t wall_clock_ms;        /* what the wall clock reads */
        uint64_t monotonic_us;        /* what the clock of pipeline_add()'s now_us reads */
        uint64_t flush_takes_us;      /* how far the output's flush moves that clock */
        int flush_timeout_ms, close_timeout_ms; /* what the last flush and close were given */
        bool load_later;              /* load answers PIPELINE_LOAD_LATER */
        int closed_lost;              /* closes of lost partitions */
        Pipeline *pipeline;
} Recorder;

static void rec_begin(void *userdata, uint64_t batch) {
        Recorder *r = userdata;
        r->batches_begun++;
        r->last_batch = batch;
}

static int rec_row(const WindowRow *row, void *userdata) {
        Recorder *r = userdata;
        r->rows++;
        return r->row_result;
}

static int rec_end(void *userdata, uint64_t batch) {
        return ((Recorder *)userdata)->end_result;
}

static void rec_store(void *userdata, const PartitionOffset *offsets, size_t n) {
        Recorder *r = userdata;
        r->store_calls++;
        for (size_t i = 0; i < n; i++) {
                assert_true(r->n_stored < 64);
                r->stored[r->n_stored++] = offsets[i];
        }
}

static int rec_invalid(void *userdata, uint64_t batch, const PipelineMessage *m, RecordError error,
                       const char *reason) {
        ((Recorder *)userdata)->invalid++;
        ((Recorder *)userdata)->last_invalid = error;
        return ((Recorder *)userdata)->invalid_result;
}

static int rec_late(void *userdata, uint64_t batch, const PipelineMessage *m, const WindowLate *late) {
        Recorder *r = userdata;
        r->late_records++;
        r->last_late = (WindowLate){ .watermark_ms = late->watermark_ms, .n = late->n };
        return 0;
}

static int64_t rec_clock(void *userdata) {
        return ((Recorder *)userdata)->wall_clock_ms;
}

static uint64_t rec_monotonic(void *userdata) {
        return ((Recorder *)userdata)->monotonic_us;
}

static int ck_load(void *userdata, int32_t partition, WindowState *state, CheckpointMark *mark) {
        return ((Recorder *)userdata)->load_later ? PIPELINE_LOAD_LATER : 0; /* else no checkpoint yet */
}

static int ck_save(void *userdata, int32_t partition, WindowState *state, const CheckpointMark *mark) {
        Recorder *r = userdata;
        assert_true(r->n_saved < 16);
        r->saved[r->n_saved++] = *mark;
        return 0;
}

static void ck_close(void *userdata, int32_t partition, bool lost, int timeout_ms) {
        Recorder *r = userdata;
        r->closed_lost += lost;
        r->close_timeout_ms = timeout_ms;
}

static bool rec_congested(void *userdata) {
        return ((Recorder *)userdata)->congested;
}

static bool ck_congested(void *userdata) {
        return ((Recorder *)userdata)->changelog_congested;
}

/* As a producer's flush: the delivery reports arrive while it waits. */
static void rec_flush(void *userdata, int timeout_ms) {
        Recorder *r = userdata;
        r->flushes++;
        r->flush_timeout_ms = timeout_ms;
        r->monotonic_us += r->flush_takes_us; /* the wait's time passes */
        if (r->confirm_on_flush != UINT64_MAX)
                assert_int_equal(pipeline_batch_done(r->pipeline, r->confirm_on_flush), 0);
}

/* Without checkpoints, an output that confirms at once or at end_batch's
 * word; with them, the output also has a congestion flag and a flush. */
static Pipeline *make_pipeline(Recorder *r, uint64_t max_messages, bool available_now, bool checkpointed) {
        WindowSpec spec = { .size_ms = 600000, .slide_ms = 300000, .watermark_delay_ms = 300000 };
        PipelineSettings settings = {
                .batch = { .max_messages = max_messages, .max_bytes = 1 << 20 },
                .mode = OUTPUT_UPDATE,
                .max_keys = 1000,
                .max_message_bytes = 65536,
                .available_now = available_now,
        };
        record_shape_default(&settings.shape);
        PipelineOutput output = { .userdata = r, .begin_batch = rec_begin, .row = rec_row, .end_batch = rec_end };
        PipelineHooks hooks = { .userdata = r, .store_offsets = rec_store, .invalid = rec_invalid, .late = rec_late,
                                .wall_clock_ms = rec_clock, .monotonic_us = rec_monotonic };
        PipelineCheckpoints checkpoints = { r, ck_load, ck_save, ck_close, ck_congested };
        if (checkpointed) {
                output.congested = rec_congested;
                output.flush = rec_flush;
        }
        assert_int_equal(pipeline_new(&r->pipeline, &spec, &settings, &output, &hooks, checkpointed ? &checkpoints : NULL),
                         0);
        return r->pipeline;
}

static Pipeline *new_pipeline(Recorder *r, uint64_t max_messages, bool available_now) {
        return make_pipeline(r, max_messages, available_now, false);
}

static Pipeline *new_checkpointed_pipeline(Recorder *r, uint64_t max_messages) {
        return make_pipeline(r, max_messages, false, true);
}

/* One reading of sensor s at 10:40 + minute, in a message produced at
 * produced_ms (-1: a message without timestamp). */
static int add_produced(Pipeline *p, int32_t partition, int64_t offset, int s, int minute, int64_t produced_ms) {
        char text[128];
        snprintf(text, sizeof(text), "{\"sensor_id\": \"sensor_%03d\", \"value\": %d.5, \"timestamp\": \"2024-10-22T10:%02d:00\"}",
                 s, s + minute, 40 + minute);
        PipelineMessage m = { .partition = partition, .offset = offset, .payload = text, .len = strlen(text),
                              .timestamp_ms = produced_ms };
        return pipeline_add(p, &m, 1000 + (uint64_t)offset);
}

static int add(Pipeline *p, int32_t partition, int64_t offset, int s, int minute) {
        return add_produced(p, partition, offset, s, minute, -1);
}

static void assert_stored(const Recorder *r, size_t i, int32_t partition, int64_t offset) {
        assert_true(i < r->n_stored);
        assert_int_equal(r->stored[i].partition, partition);
        assert_int_equal(r->stored[i].offset, offset);
}

static const int32_t P01[] = { 0, 1 };

/* Without checkpoints every partition reads from the group's committed offset. */
static void assign(Pipeline *p, const int32_t *partitions, size_t n) {
        int64_t seek[8];
        assert_int_equal(pipeline_assign(p, partitions, n, seek), 0);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(seek[i], -1);
}

/* Synchronous output (stdout, journal): written is confirmed. */
static void test_confirmed_at_once(void **state) {
        Recorder r = { 0 };
        Pipeline *p = new_pipeline(&r, 3, false);
        assign(p, P01, 2);
        assert_int_equal(add(p, 0, 10, 1, 0), 0);
        assert_int_equal(add(p, 1, 20, 2, 0), 0);
        assert_int_equal(r.n_stored, 0); /* batch open: nothing written, nothing stored */
        assert_int_equal(add(p, 0, 11, 3, 0), 0); /* full: closes */
        assert_int_equal(r.batches_begun, 1);
        assert_int_equal(r.n_stored, 2);
        assert_stored(&r, 0, 0, 12); /* next offset to read */
        assert_stored(&r, 1, 1, 21);
        assert_int_equal(pipeline_batch_number(p), 1);
        pipeline_free(p);
}

/* Output that confirms later (a producer's delivery report): nothing is
 * stored before the confirmation, and confirmations out of order release
 * offsets in batch order. */
static void test_stored_only_when_confirmed(void **state) {
        Recorder r = { .end_result = PIPELINE_PENDING };
        Pipeline *p = new_pipeline(&r, 2, false);
        assign(p, P01, 2);
        add(p, 0, 0, 1, 0);
        add(p, 0, 1, 2, 0); /* batch 0 written */
        add(p, 1, 0, 3, 0);
        add(p, 1, 1, 4, 0); /* batch 1 written */
        assert_int_equal(r.batches_begun, 2);
        assert_true(r.rows > 0);
        assert_int_equal(r.n_stored, 0);

        pipeline_batch_done(p, 1); /* batch 0 still unconfirmed: hold batch 1 */
        assert_int_equal(r.n_stored, 0);
        pipeline_batch_done(p, 0);
        assert_int_equal(r.n_stored, 2);
        assert_stored(&r, 0, 0, 2);
        assert_stored(&r, 1, 1, 2);
        assert_int_equal(r.store_calls, 2); /* one per batch, in order */
        pipeline_free(p);
}

/* A batch whose rows could not be written stores no offset, nor does any
 * later batch: everything from it on is read again after a restart. */
static void test_failed_write_stores_nothing(void **state) {
        Recorder r = { 0 };
        Pipeline *p = new_pipeline(&r, 2, false);
        assign(p, P01, 2);
        add(p, 0, 0, 1, 0);
        add(p, 0, 1, 1, 0);
        assert_int_equal(r.n_stored, 1); /* batch 0 fine */

        r.end_result = -EIO;
        add(p, 0, 2, 1, 1);
        assert_int_equal(add(p, 0, 3, 1, 1), -EIO);
        assert_int_equal(r.n_stored, 1);

        r.end_result = 0; /* even if the sink recovers, batch 1 must not be skipped over */
        add(p, 0, 4, 1, 2);
        assert_int_equal(add(p, 0, 5, 1, 2), 0);
        assert_int_equal(r.n_stored, 1);
        assert_stored(&r, 0, 0, 2);
        pipeline_free(p);
}

/* A row the sink refuses fails the batch as a whole. */
static void test_failed_row_stores_nothing(void **state) {
        Recorder r = { .row_result = -ENOSPC };
        Pipeline *p = new_pipeline(&r, 5, false);
        assign(p, P01, 2);
        add(p, 1, 7, 1, 0);
        assert_int_equal(pipeline_close_batch(p), -ENOSPC);
        assert_int_equal(r.n_stored, 0);
        pipeline_free(p);
}

/* On revoke the open batch is closed first, and its offsets are stored
 * while the partitions are still held (the revoke then commits them). */
static void test_revoke_closes_batch_first(void **state) {
        Recorder r = { 0 };
        Pipeline *p = new_pipeline(&r, 100, false);
        assign(p, P01, 2);
        add(p, 0, 5, 1, 0);
        add(p, 1, 9, 2, 0);
        const int32_t revoked[] = { 1 };
        assert_int_equal(pipeline_revoke(p, revoked, 1, false), 0);
        assert_int_equal(r.batches_begun, 1);
        assert_int_equal(r.n_stored, 2);
        assert_stored(&r, 0, 0, 6);
        assert_stored(&r, 1, 1, 10);
        /* later messages of the revoked partition (queued before the revoke) are not ours */
        add(p, 1, 10, 2, 1);
        assert_int_equal(pipeline_stats(p)->messages, 2);
        pipeline_free(p);
}

/* A lost assignment belongs to another member already: its rows are still
 * emitted with the batch, but its offsets are never stored. */
static void test_lost_stores_nothing_for_lost(void **state) {
        Recorder r = { .end_result = PIPELINE_PENDING };
        Pipeline *p = new_pipeline(&r, 2, false);
        assign(p, P01, 2);
        add(p, 0, 0, 1, 0);
        add(p, 1, 0, 2, 0); /* batch 0 written, unconfirmed */
        add(p, 0, 1, 3, 0); /* open batch */
        assert_int_equal(pipeline_revoke(p, P01, 2, true), 0);
        assert_int_equal(r.batches_begun, 2); /* the open batch was closed */
        pipeline_batch_done(p, 0);
        pipeline_batch_done(p, 1);
        assert_int_equal(r.n_stored, 0);

        assign(p, P01, 2); /* assigned again later: from the committed offsets */
        r.end_result = 0;
        add(p, 0, 1, 3, 0);
        add(p, 0, 2, 3, 1);
        assert_int_equal(r.n_stored, 1);
        assert_stored(&r, 0, 0, 3);
        pipeline_free(p);
}

/* Available-now: each held partition is done at its end; a revoked one no
 * longer counts; an unsettled set (revoked, not yet reassigned) is not done. */
static void test_available_now_done(void **state) {
        Recorder r = { 0 };
        Pipeline *p = new_pipeline(&r, 100, true);
        const int32_t all[] = { 0, 1, 2 };
        assert_false(pipeline_available_now_done(p)); /* nothing assigned yet */
        assert_true(pipeline_accepts(p));
        assign(p, all, 3);
        assert_false(pipeline_available_now_done(p)); /* ends unknown */
        assert_false(pipeline_accepts(p));            /* a message might lie past one */
        pipeline_set_end(p, 0, 3);
        pipeline_set_end(p, 1, 0);
        assert_false(pipeline_accepts(p)); /* partition 2's end is still unknown */
        pipeline_set_end(p, 2, 100);
        assert_true(pipeline_accepts(p));
        for (int64_t o = 0; o < 5; o++)
                add(p, 0, o, 1, (int)o);
        assert_int_equal(pipeline_stats(p)->messages, 3); /* 3 and 4 came after the start */
        pipeline_partition_eof(p, 1, 0);                  /* empty partition */
        assert_false(pipeline_available_now_done(p));     /* partition 2 is far from its end */

        pipeline_revoke(p, all, 3, false); /* eager rebalance: everything revoked ... */
        assert_false(pipeline_available_now_done(p));
        assign(p, P01, 2); /* ... and 0, 1 assigned back: 2 went to another member */
        assert_true(pipeline_accepts(p)); /* their ends are kept for the run */
        pipeline_set_end(p, 0, 50); /* a second answer does not move the run's end */
        assert_false(pipeline_available_now_done(p)); /* done flags restart with the assignment */
        add(p, 0, 2, 1, 2);
        pipeline_partition_eof(p, 1, 0);
        assert_true(pipeline_available_now_done(p));
        pipeline_free(p);
}

/* The seed's shape: 12 records, batches of 5, invalid records counted in
 * their batch. */
static void test_batches_and_invalid(void **state) {
        Recorder r = { 0 };
        Pipeline *p = new_pipeline(&r, 5, false);
        const int32_t one[] = { 0 };
        assign(p, one, 1);
        for (int i = 0; i < 11; i++)
                add(p, 0, i, i % 2, i / 2);
        PipelineMessage bad = { .partition = 0, .offset = 11, .payload = "{\"value\": 1}", .len = 12 };
        assert_int_equal(pipeline_add(p, &bad, 2000), 0);
        assert_int_equal(pipeline_close_batch(p), 0);
        assert_int_equal(r.batches_begun, 3);
        assert_int_equal(r.invalid, 1);
        assert_int_equal(pipeline_stats(p)->invalid, 1);
        assert_int_equal(pipeline_stats(p)->messages, 12);
        assert_stored(&r, r.n_stored - 1, 0, 12);
        assert_int_equal(pipeline_close_batch(p), 0); /* nothing open: no batch */
        assert_int_equal(r.batches_begun, 3);
        pipeline_free(p);
}

/* A record with late pairs goes to the late hook, counted per partition;
 * with max_future (set live), a record dated too far ahead of the wall
 * clock is invalid with the class future and moves no watermark. */
static void test_late_and_future(void **state) {
        Recorder r = { .wall_clock_ms = 1729594800000 }; /* 2024-10-22T11:00:00Z */
        Pipeline *p = new_pipeline(&r, 2, false);
        const int32_t three[] = { 3 };
        assign(p, three, 1);
        assert_int_equal(add(p, 3, 0, 1, 0), 0);  /* 10:40 */
        assert_int_equal(add(p, 3, 1, 1, 19), 0); /* 10:59; the batch closes: 10:54 is due */
        assert_int_equal(add(p, 3, 2, 1, 0), 0);  /* 10:40: not late yet, WM unset (Spark's one-batch trail) */
        assert_int_equal(r.late_records, 0);
        assert_int_equal(add(p, 3, 3, 1, 19), 0); /* the batch closes: WM = 10:54 */
        assert_int_equal(add(p, 3, 4, 1, 0), 0);  /* 10:40: both windows ended by 10:54 */
        assert_int_equal(r.late_records, 1);
        assert_int_equal(r.last_late.n, 2);
        assert_int_equal(r.last_late.watermark_ms, 1729594440000);
        const PipelineStats *ps = pipeline_stats(p);
        assert_int_equal(ps->n_late, 4);
        assert_int_equal(ps->late[3].records, 1);
        assert_int_equal(ps->late[3].pairs, 2);
        assert_int_equal(ps->late[0].records, 0);

        const char *future = "{\"sensor_id\": \"x\", \"value\": 1, \"timestamp\": \"2100-01-01T00:00:00\"}";
        PipelineMessage m = { .partition = 3, .offset = 5, .payload = future, .len = strlen(future), .timestamp_ms = -1 };
        PipelineSettings settings = { .batch = { .max_messages = 2, .max_bytes = 1 << 20 }, .max_keys = 1000,
                                      .max_message_bytes = 65536, .max_future_ms = 3600000 };
        assert_int_equal(pipeline_add(p, &m, 3000), 0); /* off: valid, and it moves event time */
        assert_int_equal(r.invalid, 0);
        assert_int_equal(pipeline_window_stats(p)->max_event_time_ms, 4102444800000);
        pipeline_free(p);

        r = (Recorder){ .wall_clock_ms = 1729594800000 };
        p = new_pipeline(&r, 2, false);
        assign(p, three, 1);
        assert_int_equal(pipeline_set_settings(p, &settings), 0);
        assert_int_equal(pipeline_add(p, &m, 3000), 0);
        assert_int_equal(r.invalid, 1);
        assert_int_equal(r.last_invalid, RECORD_FUTURE);
        assert_int_equal(pipeline_stats(p)->invalid_by_class[RECORD_FUTURE], 1);
        assert_false(pipeline_window_stats(p)->has_event_time);
        assert_int_equal(add(p, 3, 4, 1, 19), 0); /* 10:59 is not ahead of the wall clock */
        assert_int_equal(r.invalid, 1);
        pipeline_free(p);
}

/* The checkpoint barrier: a checkpoint never holds a batch whose output is
 * unconfirmed. It waits for the confirmation, with messages held back
 * meanwhile, and only then are the offsets handed over for committing. */
static void test_checkpoint_waits_for_confirmation(void **state) {
        Recorder r = { .end_result = PIPELINE_PENDING, .confirm_on_flush = UINT64_MAX };
        Pipeline *p = new_checkpointed_pipeline(&r, 2);
        assign(p, P01, 1);
        add(p, 0, 0, 1, 0);
        add(p, 0, 1, 2, 0); /* batch 0 written, unconfirmed */
        assert_true(pipeline_accepts(p));
        assert_int_equal(pipeline_checkpoint(p), 0);
        assert_int_equal(r.n_saved, 0);
        assert_false(pipeline_accepts(p)); /* held until batch 0 is confirmed */
        assert_int_equal(r.n_stored, 0);

        assert_int_equal(pipeline_batch_done(p, 0), 0);
        assert_int_equal(r.n_saved, 1);
        assert_int_equal(r.saved[0].next_offset, 2);
        assert_int_equal(r.saved[0].next_batch, 1);
        assert_int_equal(r.n_stored, 1); /* committed only once durable */
        assert_stored(&r, 0, 0, 2);
        assert_true(pipeline_accepts(p));

        /* an open batch: the checkpoint waits for its close, then for its confirmation */
        add(p, 0, 2, 3, 1);
        assert_int_equal(pipeline_checkpoint(p), 0);
        assert_true(pipeline_accepts(p));
        add(p, 0, 3, 3, 1); /* batch 1 closes, unconfirmed */
        assert_int_equal(r.n_saved, 1);
        assert_false(pipeline_accepts(p));
        r.congested = true;
        assert_int_equal(pipeline_batch_done(p, 1), 0);
        assert_int_equal(r.n_saved, 2);
        assert_int_equal(r.saved[1].next_offset, 4);
        assert_false(pipeline_accepts(p)); /* the output is congested */
        r.congested = false;
        assert_true(pipeline_accepts(p));
        r.changelog_congested = true;
        assert_false(pipeline_accepts(p)); /* the checkpoints cannot be made durable */
        r.changelog_congested = false;
        assert_true(pipeline_accepts(p));
        pipeline_free(p);
}

/* A confirmation that may come to a woken zombie (after a freeze) takes no
 * checkpoint: the checkpoint that waited for it waits on, for the next
 * pipeline_checkpoint(). */
static void test_confirmed_without_checkpoint(void **state) {
        Recorder r = { .end_result = PIPELINE_PENDING, .confirm_on_flush = UINT64_MAX };
        Pipeline *p = new_checkpointed_pipeline(&r, 2);
        assign(p, P01, 1);
        add(p, 0, 0, 1, 0);
        add(p, 0, 1, 2, 0); /* batch 0 written, unconfirmed */
        assert_int_equal(pipeline_checkpoint(p), 0);
        pipeline_batch_confirmed(p, 0);
        assert_int_equal(r.n_saved, 0);
        assert_true(pipeline_accepts(p));
        assert_int_equal(pipeline_checkpoint(p), 0);
        assert_int_equal(r.n_saved, 1);
        assert_int_equal(r.saved[0].next_offset, 2);
        pipeline_free(p);
}

/* A state restored later (from a changelog): the partition is paused, its
 * messages skipped and it is not checkpointed until restored; then it reads
 * from the restored offset and continues the restored clock. */
static void test_restored_later(void **state) {
        Recorder r = { .confirm_on_flush = UINT64_MAX, .load_later = true };
        Pipeline *p = new_checkpointed_pipeline(&r, 1);
        int64_t seek[2];
        assert_int_equal(pipeline_assign(p, P01, 2, seek), 0);
        assert_int_equal(seek[0], PIPELINE_SEEK_LATER);
        assert_int_equal(seek[1], PIPELINE_SEEK_LATER);
        assert_int_equal(pipeline_restoring(p), 2);
        assert_int_equal(add(p, 0, 5, 1, 0), 0); /* skipped: no batch */
        assert_int_equal(r.batches_begun, 0);

        CheckpointMark mark = { .next_batch = 40, .next_offset = 7,
                                .clock = { .has_event_time = true, .max_event_time_ms = 1729593900000 } };
        assert_int_equal(pipeline_restored(p, 0, &mark), 7);
        assert_int_equal(pipeline_restored(p, 0, &mark), -1); /* once */
        assert_int_equal(pipeline_restoring(p), 1);
        assert_int_equal(pipeline_batch_number(p), 40);
        assert_true(pipeline_window_stats(p)->has_event_time);
        assert_int_equal(add(p, 0, 7, 1, 0), 0);
        assert_int_equal(add(p, 1, 3, 1, 0), 0); /* partition 1 still restoring: skipped */
        assert_int_equal(r.batches_begun, 1);
        assert_int_equal(pipeline_checkpoint(p), 0);
        assert_int_equal(r.n_saved, 1); /* partition 0 only */
        assert_int_equal(r.saved[0].next_offset, 8);
        assert_int_equal(pipeline_restored(p, 1, NULL), -1); /* nothing to restore: the committed offset */
        assert_int_equal(pipeline_restoring(p), 0);
        assert_int_equal(pipeline_revoke(p, P01, 2, true), 0);
        assert_int_equal(r.closed_lost, 2);
        pipeline_free(p);
}

/* A batch whose delivery failed: nothing after it is checkpointed or
 * stored, and messages are not held forever by a checkpoint that cannot be. */
static void test_delivery_failure_checkpoints_nothing(void **state) {
        Recorder r = { .end_result = PIPELINE_PENDING, .confirm_on_flush = UINT64_MAX };
        Pipeline *p = new_checkpointed_pipeline(&r, 2);
        assign(p, P01, 1);
        add(p, 0, 0, 1, 0);
        add(p, 0, 1, 2, 0);
        add(p, 0, 2, 1, 1);
        add(p, 0, 3, 2, 1); /* batches 0 and 1 in flight */
        assert_int_equal(pipeline_checkpoint(p), 0);
        pipeline_batch_failed(p, 0);
        assert_true(pipeline_accepts(p));
        assert_int_equal(pipeline_batch_done(p, 1), 0);
        assert_int_equal(pipeline_checkpoint(p), 0);
        assert_int_equal(r.n_saved, 0);
        assert_int_equal(r.n_stored, 0);
        pipeline_free(p);
}

/* A revoke closes the open batch, waits for its confirmation through the
 * output's flush, and checkpoints it before the partition is given up;
 * when the flush does not confirm it, nothing is checkpointed. */
static void test_revoke_flushes_then_checkpoints(void **state) {
        Recorder r = { .end_result = PIPELINE_PENDING, .confirm_on_flush = 0 };
        Pipeline *p = new_checkpointed_pipeline(&r, 10);
        assign(p, P01, 1);
        add(p, 0, 0, 1, 0);
        add(p, 0, 1, 2, 0);
        assert_int_equal(pipeline_revoke(p, P01, 1, false), 0);
        assert_int_equal(r.flushes, 1);
        assert_int_equal(r.n_saved, 1);
        assert_int_equal(r.saved[0].next_offset, 2);
        assert_int_equal(r.n_stored, 1);

        Recorder s = { .end_result = PIPELINE_PENDING, .confirm_on_flush = UINT64_MAX };
        p = new_checkpointed_pipeline(&s, 10);
        assign(p, P01, 1);
        add(p, 0, 0, 1, 0);
        assert_int_equal(pipeline_revoke(p, P01, 1, false), 0);
        assert_int_equal(s.flushes, 1);
        assert_int_equal(s.n_saved, 0);
        assert_int_equal(s.n_stored, 0);
        pipeline_free(r.pipeline);
        pipeline_free(p);
}

/* The flush and the partitions' closes share one bound: a flush that
 * takes 4.2 s of the 5 leaves 0.8 s to each close, and one that takes all
 * of it leaves none, however many partitions go. */
static void test_revoke_waits_within_one_bound(void **state) {
        Recorder r = { .end_result = PIPELINE_PENDING, .confirm_on_flush = 0, .monotonic_us = 1000000,
                       .flush_takes_us = 4200000 };
        Pipeline *p = new_checkpointed_pipeline(&r, 10);
        assign(p, P01, 2);
        add(p, 0, 0, 1, 0);
        assert_int_equal(pipeline_revoke(p, P01, 2, false), 0);
        assert_int_equal(r.flush_timeout_ms, PIPELINE_REVOKE_WAIT_MS);
        assert_int_equal(r.close_timeout_ms, 800);
        pipeline_free(p);

        Recorder s = { .end_result = PIPELINE_PENDING, .confirm_on_flush = UINT64_MAX, .monotonic_us = 1000000,
                       .flush_takes_us = 6000000 };
        p = new_checkpointed_pipeline(&s, 10);
        assign(p, P01, 2);
        add(p, 1, 0, 1, 0);
        assert_int_equal(pipeline_revoke(p, P01, 2, false), 0);
        assert_int_equal(s.close_timeout_ms, 0);
        pipeline_free(p);
}

/* A dead letter the producer refuses fails its batch like an unwritten row. */
static void test_refused_dead_letter_fails_batch(void **state) {
        Recorder r = { .invalid_result = -EIO };
        Pipeline *p = new_pipeline(&r, 2, false);
        assign(p, P01, 1);
        add(p, 0, 0, 1, 0);
        PipelineMessage bad = { .partition = 0, .offset = 1, .payload = "nope", .len = 4 };
        assert_int_equal(pipeline_add(p, &bad, 2000), -EIO);
        r.invalid_result = 0;
        add(p, 0, 2, 1, 0);
        add(p, 0, 3, 1, 0);
        assert_int_equal(r.n_stored, 0);
        pipeline_free(p);
}

/* sensord's own share runs from the clock reading a message was added at
 * (the drain that polled it) to the moment its batch's rows are written,
 * for every message, timestamped or not; a failed batch counts none. */
static void test_own_latency(void **state) {
        Recorder r = { .confirm_on_flush = UINT64_MAX, .monotonic_us = 5000 };
        Pipeline *p = new_pipeline(&r, 100, false);
        assign(p, P01, 1);
        const char text[] = "{\"sensor_id\": \"s\", \"value\": 1, \"timestamp\": \"2024-10-22T10:40:00\"}";
        for (int i = 0; i < 5; i++) {
                PipelineMessage m = { .partition = 0, .offset = i, .payload = text, .len = strlen(text), .timestamp_ms = -1 };
                assert_int_equal(pipeline_add(p, &m, i < 3 ? 1000 : 3000), 0);
        }
        assert_int_equal(pipeline_close_batch(p), 0);
        const Latency *own = &pipeline_stats(p)->own_latency_us;
        assert_int_equal(own->count, 5);
        assert_int_equal(own->max, 4000);
        assert_int_equal(own->sum, 3 * 4000 + 2 * 2000);
        assert_int_equal(latency_percentile(own, 0.4), 2015); /* the upper bound of 2000's 3% bucket */
        assert_int_equal(latency_percentile(own, 0.5), 4000);

        r.end_result = -EIO;
        PipelineMessage m = { .partition = 0, .offset = 5, .payload = text, .len = strlen(text), .timestamp_ms = -1 };
        assert_int_equal(pipeline_add(p, &m, 4000), 0);
        assert_int_equal(pipeline_close_batch(p), -EIO);
        assert_int_equal(own->count, 5);
        pipeline_free(p);
}

/* Each message's latency runs from its Kafka timestamp to the moment its
 * batch's rows are written; a batch whose rows were not written counts
 * none, nor does a message without timestamp. */
static void test_latency(void **state) {
        Recorder r = { .confirm_on_flush = UINT64_MAX, .wall_clock_ms = 100000 };
        Pipeline *p = new_pipeline(&r, 5, false);
        assign(p, P01, 1);
        const int64_t ages[] = { 5, 10, 20, 400 };
        for (int i = 0; i < 4; i++)
                assert_int_equal(add_produced(p, 0, i, 1, 0, 100000 - ages[i]), 0);
        assert_int_equal(add(p, 0, 4, 1, 0), 0); /* no timestamp; the fifth closes the batch */
        const Latency *l = &pipeline_stats(p)->latency;
        assert_int_equal(l->count, 4);
        assert_int_equal(latency_percentile(l, 0.5), 10);
        assert_int_equal(latency_percentile(l, 0.99), 400);
        assert_int_equal(l->max, 400);

        r.end_result = -EIO;
        assert_int_equal(add_produced(p, 0, 5, 2, 0, 90000), 0);
        assert_int_equal(pipeline_close_batch(p), -EIO);
        assert_int_equal(l->count, 4);
        pipeline_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_confirmed_at_once),
                cmocka_unit_test(test_stored_only_when_confirmed),
                cmocka_unit_test(test_failed_write_stores_nothing),
                cmocka_unit_test(test_failed_row_stores_nothing),
                cmocka_unit_test(test_revoke_closes_batch_first),
                cmocka_unit_test(test_lost_stores_nothing_for_lost),
                cmocka_unit_test(test_available_now_done),
                cmocka_unit_test(test_batches_and_invalid),
                cmocka_unit_test(test_late_and_future),
                cmocka_unit_test(test_checkpoint_waits_for_confirmation),
                cmocka_unit_test(test_confirmed_without_checkpoint),
                cmocka_unit_test(test_delivery_failure_checkpoints_nothing),
                cmocka_unit_test(test_restored_later),
                cmocka_unit_test(test_revoke_flushes_then_checkpoints),
                cmocka_unit_test(test_revoke_waits_within_one_bound),
                cmocka_unit_test(test_refused_dead_letter_fails_batch),
                cmocka_unit_test(test_latency),
                cmocka_unit_test(test_own_latency),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
