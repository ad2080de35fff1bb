/* changelog_format: changelog frames, the committed pointer, and replaying a
 * chain of checkpoints into a partition's state. */
#include "lib/state/changelog_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"

#define MAGIC "SNSDCLOG"
#define MAGIC_LEN 8
#define FRAME_VERSION 1
#define POINTER_TAG "sensord-changelog 1 "

static void put_le(uint8_t *p, uint64_t v, int bytes) {
        for (int i = 0; i < bytes; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes) {
        uint64_t v = 0;
        for (int i = bytes; i-- > 0;)
                v = v << 8 | p[i];
        return v;
}

void changelog_encode_frame(uint8_t out[CHANGELOG_FRAME_BYTES], const ChangelogFrame *f) {
        memcpy(out, MAGIC, MAGIC_LEN);
        out[8] = FRAME_VERSION;
        out[9] = (uint8_t)f->kind;
        put_le(out + 10, f->writer, 8);
        put_le(out + 18, f->seq, 8);
        put_le(out + 26, f->part, 4);
        put_le(out + 30, f->parts, 4);
}

int changelog_decode_frame(const uint8_t *data, size_t len, ChangelogFrame *f) {
        if (len < CHANGELOG_FRAME_BYTES || memcmp(data, MAGIC, MAGIC_LEN) != 0 || data[8] != FRAME_VERSION ||
            (data[9] != CHECKPOINT_SNAPSHOT && data[9] != CHECKPOINT_DELTA))
                return -EBADMSG;
        *f = (ChangelogFrame){ .kind = data[9],
                               .writer = get_le(data + 10, 8),
                               .seq = get_le(data + 18, 8),
                               .part = (uint32_t)get_le(data + 26, 4),
                               .parts = (uint32_t)get_le(data + 30, 4) };
        return f->parts > 0 && f->part < f->parts && f->seq > 0 ? 0 : -EBADMSG;
}

void changelog_pointer_format(const ChangelogPointer *p, char buf[CHANGELOG_POINTER_MAX]) {
        const ChangelogChain *c = &p->current, *v = &p->previous;
        int n = snprintf(buf, CHANGELOG_POINTER_MAX, POINTER_TAG "%016" PRIx64 " %" PRIu64 "@%" PRId64 " %" PRIu64
                                                     "@%" PRId64 " %08" PRIx32,
                         c->writer, c->first_seq, c->first_offset, c->last_seq, c->last_offset, p->last_crc);
        if (p->has_previous && n > 0 && n < CHANGELOG_POINTER_MAX)
                snprintf(buf + n, CHANGELOG_POINTER_MAX - (size_t)n, " %016" PRIx64 " %" PRIu64 "@%" PRId64 " %" PRIu64,
                         v->writer, v->first_seq, v->first_offset, v->last_seq);
}

int changelog_pointer_parse(const char *metadata, size_t len, ChangelogPointer *p) {
        char text[CHANGELOG_POINTER_MAX + 1];
        size_t tag = strlen(POINTER_TAG);
        if (len < tag || memcmp(metadata, POINTER_TAG, tag) != 0)
                return -ENOENT;
        if (len > CHANGELOG_POINTER_MAX)
                return -EBADMSG;
        memcpy(text, metadata + tag, len - tag);
        text[len - tag] = '\0';

        ChangelogChain *c = &p->current, *v = &p->previous;
        int used = -1, more = -1;
        *p = (ChangelogPointer){ 0 };
        if (sscanf(text, "%16" SCNx64 " %" SCNu64 "@%" SCNd64 " %" SCNu64 "@%" SCNd64 " %8" SCNx32 "%n", &c->writer,
                   &c->first_seq, &c->first_offset, &c->last_seq, &c->last_offset, &p->last_crc, &used) != 6 ||
            used < 0)
                return -EBADMSG;
        if (text[used] != '\0' &&
            (sscanf(text + used, " %16" SCNx64 " %" SCNu64 "@%" SCNd64 " %" SCNu64 "%n", &v->writer, &v->first_seq,
                    &v->first_offset, &v->last_seq, &more) != 4 ||
             more < 0 || text[used + more] != '\0'))
                return -EBADMSG;
        int n = text[used] == '\0' ? 6 : 10;
        p->has_previous = n == 10;
        v->last_offset = -1;
        if (c->first_seq == 0 || c->last_seq < c->first_seq || c->first_offset < 0 ||
            c->last_offset < c->first_offset ||
            (p->has_previous && (v->first_seq == 0 || v->last_seq < v->first_seq || v->first_offset < 0 ||
                                 v->first_offset > c->first_offset)))
                return -EBADMSG;
        return 0;
}

/* --- replay --- */

typedef struct Part {
        uint64_t writer, seq;
        uint32_t part, parts;
        CheckpointKind kind;
        int64_t offset;
        uint8_t *bytes;
        size_t len;
} Part;

struct ChangelogReplay {
        ChangelogPointer pointer;
        bool with_previous;
        Part *parts;
        size_t n, cap;
        uint64_t messages, bytes;
        CheckpointBuf joined;
};

ChangelogReplay *changelog_replay_new(const ChangelogPointer *p, bool with_previous) {
        ChangelogReplay *r = xcalloc(1, sizeof(*r));
        r->pointer = *p;
        r->with_previous = with_previous && p->has_previous;
        return r;
}

ChangelogReplay *changelog_replay_free(ChangelogReplay *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n; i++)
                free(r->parts[i].bytes);
        free(r->parts);
        checkpoint_buf_free(&r->joined);
        free(r);
        return NULL;
}

int64_t changelog_replay_start(const ChangelogReplay *r) {
        return r->with_previous ? r->pointer.previous.first_offset : r->pointer.current.first_offset;
}

static bool in_chain(const ChangelogChain *c, uint64_t writer, uint64_t seq) {
        return writer == c->writer && seq >= c->first_seq && seq <= c->last_seq;
}

bool changelog_replay_add(ChangelogReplay *r, int64_t offset, const void *value, size_t len) {
        ChangelogFrame f;
        const ChangelogPointer *p = &r->pointer;
        r->messages++;
        if (offset >= changelog_replay_start(r) && offset <= p->current.last_offset &&
            changelog_decode_frame(value, len, &f) == 0 &&
            (in_chain(&p->current, f.writer, f.seq) || (r->with_previous && in_chain(&p->previous, f.writer, f.seq)))) {
                ARRAY_RESERVE(r->parts, r->cap, r->n + 1);
                size_t n = len - CHANGELOG_FRAME_BYTES;
                Part *part = &r->parts[r->n++];
                *part = (Part){ .writer = f.writer, .seq = f.seq, .part = f.part, .parts = f.parts, .kind = f.kind,
                                .offset = offset, .bytes = xmalloc(n ? n : 1), .len = n };
                memcpy(part->bytes, (const uint8_t *)value + CHANGELOG_FRAME_BYTES, n);
                r->bytes += n;
        }
        return offset >= p->current.last_offset;
}

void changelog_replay_counts(const ChangelogReplay *r, uint64_t *messages, uint64_t *bytes) {
        *messages = r->messages;
        *bytes = r->bytes;
}

/* Joins the parts of (writer, seq) into r->joined. Returns 0 with *kind and
 * the offset of its first part, -ENOENT when a part is missing. */
static int join(ChangelogReplay *r, uint64_t writer, uint64_t seq, CheckpointKind *kind, int64_t *offset) {
        uint32_t parts = 0, next = 0;
        r->joined.len = 0;
        *offset = -1;
        for (;;) {
                const Part *found = NULL;
                for (size_t i = 0; i < r->n && !found; i++) {
                        const Part *p = &r->parts[i];
                        if (p->writer == writer && p->seq == seq && p->part == next && (next == 0 || p->parts == parts))
                                found = p;
                }
                if (!found)
                        return -ENOENT;
                if (next == 0) {
                        parts = found->parts;
                        *kind = found->kind;
                        *offset = found->offset;
                }
                ARRAY_RESERVE(r->joined.data, r->joined.cap, r->joined.len + found->len);
                memcpy(r->joined.data + r->joined.len, found->bytes, found->len);
                r->joined.len += found->len;
                if (++next == parts)
                        return 0;
        }
}

typedef struct Applying {
        WindowState *state;
        uint32_t version; /* of the snapshot's header */
        CheckpointMark mark;
        bool loaded;
} Applying;

static void on_entry(const WindowEntry *e, void *userdata) {
        window_state_restore_entry(((Applying *)userdata)->state, e);
}

static void on_evicted(int64_t start, void *userdata) {
        window_state_restore_evicted(((Applying *)userdata)->state, start);
}

/* Applies one record of r->joined from byte pos on. -EBADMSG when damaged
 * (the state untouched: the checksum is checked first). */
static int apply_record(ChangelogReplay *r, size_t pos, CheckpointKind want, Applying *a) {
        CheckpointVisitor v = { a, on_evicted, on_entry };
        CheckpointKind kind;
        CheckpointMark mark;
        size_t used;
        if (pos + 8 > r->joined.len)
                return -EBADMSG;
        int d = checkpoint_decode_record(r->joined.data + pos, r->joined.len - pos, a->version, &v, &kind, &mark,
                                         &used);
        if (d < 0)
                return -EBADMSG;
        if (kind != want || pos + used != r->joined.len)
                return -EBADMSG; /* decoded, but not what the chain says it is */
        a->mark = mark;
        a->loaded = true;
        return 0;
}

static int apply_snapshot(ChangelogReplay *r, const ChangelogChain *c, const CheckpointHeader *expect, Applying *a,
                          char *problem, size_t size, int64_t *bad_offset) {
        CheckpointKind kind = CHECKPOINT_DELTA;
        CheckpointHeader h;
        size_t used;
        char diff[1024];
        int j = join(r, c->writer, c->first_seq, &kind, bad_offset);
        if (j < 0) {
                if (*bad_offset < 0)
                        *bad_offset = c->first_offset;
                snprintf(problem, size, "the snapshot at offset %" PRId64 " is missing or incomplete (writer %016" PRIx64
                         ", checkpoint %" PRIu64 ")", c->first_offset, c->writer, c->first_seq);
                return -EBADMSG;
        }
        int d = kind == CHECKPOINT_SNAPSHOT ? checkpoint_decode_header(r->joined.data, r->joined.len, &h, &used) : -1;
        if (d == -EPROTONOSUPPORT) {
                snprintf(problem, size, "the snapshot at offset %" PRId64 " has a checkpoint format version this sensord "
                         "does not read", *bad_offset);
                return -EINVAL;
        }
        if (d < 0 || h.partition != expect->partition) {
                snprintf(problem, size, "the snapshot at offset %" PRId64 " is damaged (bad header)", *bad_offset);
                return -EBADMSG;
        }
        if (checkpoint_header_mismatch(&h, expect, diff, sizeof(diff)) > 0) {
                snprintf(problem, size, "the snapshot at offset %" PRId64 " was written under another configuration: %s",
                         *bad_offset, diff);
                return -EINVAL;
        }
        a->version = h.version; /* the writer's deltas are of its snapshot's version */
        if (apply_record(r, used, CHECKPOINT_SNAPSHOT, a) < 0) {
                snprintf(problem, size, "the snapshot at offset %" PRId64 " is damaged (checksum or structure)",
                         *bad_offset);
                return -EBADMSG;
        }
        return 0;
}

/* Deltas from..to of writer; stops at the first missing or damaged one,
 * noting it. Returns whether every one was applied. */
static bool apply_deltas(ChangelogReplay *r, uint64_t writer, uint64_t from, uint64_t to, Applying *a, char *notice,
                         size_t size) {
        for (uint64_t seq = from; seq <= to; seq++) {
                CheckpointKind kind = CHECKPOINT_SNAPSHOT;
                int64_t offset;
                int j = join(r, writer, seq, &kind, &offset);
                if (j == 0 && kind == CHECKPOINT_DELTA && apply_record(r, 0, CHECKPOINT_DELTA, a) == 0)
                        continue;
                char where[48] = "";
                if (offset >= 0)
                        snprintf(where, sizeof(where), " at offset %" PRId64, offset);
                snprintf(notice, size, "checkpoint %" PRIu64 " of writer %016" PRIx64 "%s %s; the state is that of "
                         "the checkpoint before it, and the records after that are read again",
                         seq, writer, where, j < 0 ? "is missing or incomplete" : "is damaged");
                return false;
        }
        return true;
}

int changelog_replay_apply(ChangelogReplay *r, const CheckpointHeader *expect, WindowState *state,
                           CheckpointMark *mark, char *problem, size_t size, int64_t *bad_offset) {
        const ChangelogPointer *p = &r->pointer;
        Applying a = { .state = state };
        problem[0] = '\0';
        *bad_offset = -1;
        const ChangelogChain *first = r->with_previous ? &p->previous : &p->current;
        int s = apply_snapshot(r, first, expect, &a, problem, size, bad_offset);
        if (s < 0)
                return s;
        bool whole = apply_deltas(r, first->writer, first->first_seq + 1, first->last_seq, &a, problem, size);
        /* The previous generation leads on to the current one's deltas only
         * when the same writer took snapshot first_seq right after it. */
        if (whole && r->with_previous && p->previous.writer == p->current.writer &&
            p->previous.last_seq + 1 == p->current.first_seq)
                apply_deltas(r, p->current.writer, p->current.first_seq + 1, p->current.last_seq, &a, problem, size);
        *mark = a.mark;
        return 0;
}
