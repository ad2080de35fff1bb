/* The changelog format: frames and pointers round-trip and refuse garbage;
 * a chain of checkpoints split into parts replays into the state it was
 * taken from, whatever another writer interleaved; a damaged delta ends the
 * chain at the checkpoint before it; a damaged snapshot is refused, or
 * recovered from the previous generation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/state/changelog_format.h"

#define MIN 60000LL
#define T 1729593300000LL

static const WindowSpec SPEC = { .size_ms = 10 * MIN, .slide_ms = 5 * MIN, .watermark_delay_ms = 5 * MIN };

static void test_frame_round_trip(void **state) {
        uint8_t b[CHANGELOG_FRAME_BYTES];
        ChangelogFrame f = { CHECKPOINT_SNAPSHOT, 0x0123456789abcdefull, 42, 2, 3 }, g;
        changelog_encode_frame(b, &f);
        assert_int_equal(changelog_decode_frame(b, sizeof(b), &g), 0);
        assert_int_equal(g.kind, CHECKPOINT_SNAPSHOT);
        assert_true(g.writer == f.writer && g.seq == 42 && g.part == 2 && g.parts == 3);
        assert_int_equal(changelog_decode_frame(b, sizeof(b) - 1, &g), -EBADMSG);
        for (size_t i = 0; i < 10; i++) { /* magic, version, kind */
                uint8_t c[CHANGELOG_FRAME_BYTES];
                memcpy(c, b, sizeof(c));
                c[i] ^= 0x40;
                assert_int_equal(changelog_decode_frame(c, sizeof(c), &g), -EBADMSG);
        }
        f.part = 3; /* part beyond parts */
        changelog_encode_frame(b, &f);
        assert_int_equal(changelog_decode_frame(b, sizeof(b), &g), -EBADMSG);
}

static void test_pointer_round_trip(void **state) {
        ChangelogPointer p = { .current = { 0xfeedull, 7, 120, 9, 131 }, .last_crc = 0xdeadbeef }, q;
        char buf[CHANGELOG_POINTER_MAX];
        changelog_pointer_format(&p, buf);
        assert_string_equal(buf, "sensord-changelog 1 000000000000feed 7@120 9@131 deadbeef");
        assert_int_equal(changelog_pointer_parse(buf, strlen(buf), &q), 0);
        assert_false(q.has_previous);
        assert_true(q.current.writer == 0xfeed && q.current.first_seq == 7 && q.current.first_offset == 120 &&
                    q.current.last_seq == 9 && q.current.last_offset == 131 && q.last_crc == 0xdeadbeef);

        p.has_previous = true;
        p.previous = (ChangelogChain){ 0xbeefull, 1, 40, 6, -1 };
        changelog_pointer_format(&p, buf);
        assert_int_equal(changelog_pointer_parse(buf, strlen(buf), &q), 0);
        assert_true(q.has_previous && q.previous.writer == 0xbeef && q.previous.first_seq == 1 &&
                    q.previous.first_offset == 40 && q.previous.last_seq == 6);

        assert_int_equal(changelog_pointer_parse("", 0, &q), -ENOENT);
        assert_int_equal(changelog_pointer_parse("hello", 5, &q), -ENOENT);
        const char *bad[] = {
                "sensord-changelog 1 feed 7@120",                        /* cut short */
                "sensord-changelog 1 feed 7@120 9@131 deadbeef junk",    /* trailing */
                "sensord-changelog 1 feed 9@120 7@131 deadbeef",         /* last before first */
                "sensord-changelog 1 feed 7@131 9@120 deadbeef",         /* offsets backwards */
                "sensord-changelog 1 feed 0@120 9@131 deadbeef",         /* sequence 0 */
                "sensord-changelog 1 feed 7@120 9@131 deadbeef beef 1@200 6", /* previous after current */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
                assert_int_equal(changelog_pointer_parse(bad[i], strlen(bad[i]), &q), -EBADMSG);
}

/* A writer of changelog messages into a list, as a broker would keep them. */
typedef struct Log {
        uint8_t *msgs[64];
        size_t lens[64];
        size_t n;
} Log;

static int64_t log_put(Log *l, CheckpointKind kind, uint64_t writer, uint64_t seq, const uint8_t *bytes, size_t len,
                       size_t part_size) {
        uint32_t parts = (uint32_t)((len + part_size - 1) / part_size);
        int64_t last = -1;
        for (uint32_t i = 0; i < parts; i++) {
                size_t n = i + 1 < parts ? part_size : len - i * part_size;
                uint8_t *m = malloc(CHANGELOG_FRAME_BYTES + n);
                changelog_encode_frame(m, &(ChangelogFrame){ kind, writer, seq, i, parts });
                memcpy(m + CHANGELOG_FRAME_BYTES, bytes + i * part_size, n);
                assert_true(l->n < 64);
                l->msgs[l->n] = m;
                l->lens[l->n] = CHANGELOG_FRAME_BYTES + n;
                last = (int64_t)l->n++;
        }
        return last;
}

static void log_free(Log *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->msgs[i]);
}

static const CheckpointHeader *header(void) {
        static CheckpointHeader h = { .version = CHECKPOINT_FORMAT_VERSION, .topic = "sensor-data", .partition = 2 };
        h.spec = SPEC;
        return &h;
}

static void encode_entry(const WindowEntry *e, void *userdata) {
        checkpoint_record_entry(userdata, e);
}

static void encode_evicted(int64_t start, void *userdata) {
        checkpoint_record_evicted(userdata, start);
}

/* The state's snapshot (header and record) or delta bytes, as checkpoint_files writes them. */
static void encode(CheckpointBuf *b, WindowState *s, CheckpointKind kind, uint64_t batch) {
        CheckpointMark m = { .next_batch = batch, .next_offset = (int64_t)batch * 10 };
        b->len = 0;
        if (kind == CHECKPOINT_SNAPSHOT) {
                checkpoint_encode_header(b, header());
                checkpoint_record_begin(b, kind, &m);
                window_state_each_entry(s, encode_entry, b);
        } else {
                checkpoint_record_begin(b, kind, &m);
                window_state_take_changes(s, encode_entry, encode_evicted, b);
        }
        checkpoint_record_end(b);
}

static void ignore_entry(const WindowEntry *e, void *userdata) {
}

static void ignore_evicted(int64_t start, void *userdata) {
}

typedef struct Sum {
        uint64_t entries, count;
        double total;
} Sum;

static void add_entry(const WindowEntry *e, void *userdata) {
        Sum *s = userdata;
        s->entries++;
        s->count += e->count;
        s->total += e->sum;
}

static Sum sum_of(const WindowState *s) {
        Sum sum = { 0 };
        window_state_each_entry(s, add_entry, &sum);
        return sum;
}

static void add_records(WindowState *s, int from, int to) {
        for (int i = from; i < to; i++) {
                char id[16];
                int n = snprintf(id, sizeof(id), "sensor_%03d", i % 37);
                window_state_add(s, id, (size_t)n, i * 0.5, T + i * 1000, NULL);
        }
}

/* Replays log l with pointer p into a fresh state; returns apply's result. */
static int replay(const Log *l, const ChangelogPointer *p, bool with_previous, Windows *w, Sum *sum,
                  CheckpointMark *mark, char *problem, int64_t *bad) {
        ChangelogReplay *r = changelog_replay_new(p, with_previous);
        bool reached = false;
        for (int64_t o = changelog_replay_start(r); o < (int64_t)l->n && !reached; o++)
                reached = changelog_replay_add(r, o, l->msgs[o], l->lens[o]);
        assert_true(reached);
        WindowState *s = window_state_new(w);
        int result = changelog_replay_apply(r, header(), s, mark, problem, 512, bad);
        *sum = sum_of(s);
        window_state_free(s);
        changelog_replay_free(r);
        return result;
}

static void test_chain_replays(void **state) {
        Windows *w;
        assert_int_equal(windows_new(&w, &SPEC, UINT64_MAX), 0);
        WindowState *src = window_state_new(w);
        CheckpointBuf b = { 0 };
        Log l = { .n = 0 };
        char problem[512];
        int64_t bad;
        CheckpointMark mark;
        Sum got;

        /* writer A: snapshot 1 (in parts), deltas 2 and 3 */
        add_records(src, 0, 200);
        window_state_take_changes(src, ignore_entry, ignore_evicted, NULL);
        encode(&b, src, CHECKPOINT_SNAPSHOT, 5);
        int64_t snap = (int64_t)l.n;
        log_put(&l, CHECKPOINT_SNAPSHOT, 0xA, 1, b.data, b.len, 300);
        assert_true(l.n > 3); /* split into parts */
        add_records(src, 200, 260);
        encode(&b, src, CHECKPOINT_DELTA, 6);
        log_put(&l, CHECKPOINT_DELTA, 0xA, 2, b.data, b.len, 300);
        /* a zombie (writer Z) writes in between: ignored */
        log_put(&l, CHECKPOINT_DELTA, 0xF, 2, b.data, b.len / 2, 300);
        add_records(src, 260, 300);
        Sum at3_want;
        encode(&b, src, CHECKPOINT_DELTA, 7);
        uint32_t crc = checkpoint_record_crc(b.data);
        int64_t last = log_put(&l, CHECKPOINT_DELTA, 0xA, 3, b.data, b.len, 300);
        at3_want = sum_of(src);

        ChangelogPointer p = { .current = { 0xA, 1, snap, 3, last }, .last_crc = crc };
        assert_int_equal(replay(&l, &p, false, w, &got, &mark, problem, &bad), 0);
        assert_string_equal(problem, "");
        assert_int_equal(got.entries, at3_want.entries);
        assert_int_equal(got.count, at3_want.count);
        assert_true(got.total == at3_want.total);
        assert_int_equal(mark.next_batch, 7);
        assert_int_equal(mark.next_offset, 70);

        /* the zombie's snapshot at a later offset does not replace A's */
        ChangelogPointer zp = p;
        zp.current.last_seq = 2;
        zp.current.last_offset = last - 1;
        assert_int_equal(replay(&l, &zp, false, w, &got, &mark, problem, &bad), 0);
        assert_int_equal(mark.next_batch, 6);

        /* a damaged delta 3: the state of checkpoint 2, with a notice */
        l.msgs[last][l.lens[last] - 1] ^= 1;
        assert_int_equal(replay(&l, &p, false, w, &got, &mark, problem, &bad), 0);
        assert_int_equal(mark.next_batch, 6);
        assert_non_null(strstr(problem, "checkpoint 3 of writer 000000000000000a at offset"));
        assert_non_null(strstr(problem, "is damaged"));
        l.msgs[last][l.lens[last] - 1] ^= 1;

        /* a damaged snapshot part: refused, naming its offset */
        l.msgs[snap + 1][CHANGELOG_FRAME_BYTES + 5] ^= 1;
        assert_int_equal(replay(&l, &p, false, w, &got, &mark, problem, &bad), -EBADMSG);
        assert_int_equal(bad, snap);
        assert_non_null(strstr(problem, "damaged"));
        l.msgs[snap + 1][CHANGELOG_FRAME_BYTES + 5] ^= 1;

        /* a snapshot part missing (retention took it): refused */
        ChangelogPointer late = p;
        late.current.first_offset = snap + 1;
        ChangelogReplay *r = changelog_replay_new(&late, false);
        for (int64_t o = snap + 1; o <= last; o++)
                changelog_replay_add(r, o, l.msgs[o], l.lens[o]);
        WindowState *s = window_state_new(w);
        assert_int_equal(changelog_replay_apply(r, header(), s, &mark, problem, sizeof(problem), &bad), -EBADMSG);
        assert_non_null(strstr(problem, "missing or incomplete"));
        window_state_free(s);
        changelog_replay_free(r);

        /* another window geometry: -EINVAL, saying which setting */
        CheckpointHeader other = *header();
        other.spec.size_ms = 20 * MIN;
        r = changelog_replay_new(&p, false);
        for (int64_t o = snap; o <= last; o++)
                changelog_replay_add(r, o, l.msgs[o], l.lens[o]);
        s = window_state_new(w);
        assert_int_equal(changelog_replay_apply(r, &other, s, &mark, problem, sizeof(problem), &bad), -EINVAL);
        assert_non_null(strstr(problem, "window.duration"));
        window_state_free(s);
        changelog_replay_free(r);

        checkpoint_buf_free(&b);
        log_free(&l);
        window_state_free(src);
        windows_free(w);
}

static void test_previous_generation(void **state) {
        Windows *w;
        assert_int_equal(windows_new(&w, &SPEC, UINT64_MAX), 0);
        WindowState *src = window_state_new(w);
        CheckpointBuf b = { 0 };
        Log l = { .n = 0 };
        char problem[512];
        int64_t bad;
        CheckpointMark mark;
        Sum got;

        /* generation 1: snapshot 1, delta 2; generation 2: snapshot 3 (the
         * state after delta 2), delta 4 */
        add_records(src, 0, 100);
        window_state_take_changes(src, ignore_entry, ignore_evicted, NULL);
        encode(&b, src, CHECKPOINT_SNAPSHOT, 1);
        int64_t snap1 = (int64_t)l.n;
        log_put(&l, CHECKPOINT_SNAPSHOT, 0xB, 1, b.data, b.len, 1000);
        add_records(src, 100, 150);
        encode(&b, src, CHECKPOINT_DELTA, 2);
        log_put(&l, CHECKPOINT_DELTA, 0xB, 2, b.data, b.len, 1000);
        encode(&b, src, CHECKPOINT_SNAPSHOT, 2);
        int64_t snap3 = (int64_t)l.n;
        log_put(&l, CHECKPOINT_SNAPSHOT, 0xB, 3, b.data, b.len, 1000);
        add_records(src, 150, 180);
        encode(&b, src, CHECKPOINT_DELTA, 3);
        int64_t last = log_put(&l, CHECKPOINT_DELTA, 0xB, 4, b.data, b.len, 1000);
        Sum want = sum_of(src);

        ChangelogPointer p = { .current = { 0xB, 3, snap3, 4, last }, .has_previous = true,
                               .previous = { 0xB, 1, snap1, 2, -1 } };
        /* the latest generation alone reads only from snapshot 3 */
        ChangelogReplay *r = changelog_replay_new(&p, false);
        assert_int_equal(changelog_replay_start(r), snap3);
        changelog_replay_free(r);
        assert_int_equal(replay(&l, &p, false, w, &got, &mark, problem, &bad), 0);
        assert_true(got.count == want.count && got.entries == want.entries);

        /* snapshot 3 damaged: the previous generation and both logs reach the same state */
        l.msgs[snap3][l.lens[snap3] - 2] ^= 4;
        assert_int_equal(replay(&l, &p, false, w, &got, &mark, problem, &bad), -EBADMSG);
        assert_int_equal(replay(&l, &p, true, w, &got, &mark, problem, &bad), 0);
        assert_true(got.count == want.count && got.entries == want.entries && got.total == want.total);
        assert_int_equal(mark.next_batch, 3);

        /* a previous generation of another writer is an older, complete state */
        p.previous.writer = 0xC;
        assert_int_equal(replay(&l, &p, true, w, &got, &mark, problem, &bad), -EBADMSG); /* writer C wrote nothing */
        checkpoint_buf_free(&b);
        log_free(&l);
        window_state_free(src);
        windows_free(w);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_frame_round_trip),
                cmocka_unit_test(test_pointer_round_trip),
                cmocka_unit_test(test_chain_replays),
                cmocka_unit_test(test_previous_generation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
