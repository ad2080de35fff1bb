/* partitions: per-partition offsets and available-now ends, sorted by id. */
#include "sensord/partitions.h"

#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"

void partitions_free(Partitions *ps) {
        for (size_t i = 0; i < ps->n; i++)
                window_state_free(ps->items[i].state);
        free(ps->items);
        *ps = (Partitions){ 0 };
}

/* The partition id, or where it would be inserted. */
static size_t lower_bound(const Partitions *ps, int32_t id) {
        size_t lo = 0, hi = ps->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ps->items[mid].id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Whether a held partition still waits for its end offset, recomputed when
 * the held set or an end changes, so that the per-message check is a read. */
static void update_ends_unknown(Partitions *ps) {
        ps->ends_unknown = false;
        for (size_t i = 0; i < ps->n; i++)
                if (ps->items[i].held && ps->items[i].end < 0)
                        ps->ends_unknown = true;
}

static Partition *find(const Partitions *ps, int32_t id) {
        size_t i = lower_bound(ps, id);
        return i < ps->n && ps->items[i].id == id ? &ps->items[i] : NULL;
}

void partitions_assign(Partitions *ps, const int32_t *ids, size_t n, Windows *windows) {
        for (size_t k = 0; k < n; k++) {
                Partition *p = find(ps, ids[k]);
                if (!p) {
                        size_t i = lower_bound(ps, ids[k]);
                        ARRAY_RESERVE(ps->items, ps->cap, ps->n + 1);
                        memmove(&ps->items[i + 1], &ps->items[i], (ps->n - i) * sizeof(*ps->items));
                        ps->n++;
                        p = &ps->items[i];
                        *p = (Partition){ .id = ids[k], .end = -1, .confirmed = -1, .stored = -1 };
                }
                if (!p->state)
                        p->state = window_state_new(windows);
                /* reading resumes from the committed offset, which may lie
                 * before the end even if this member reached it before */
                if (!p->held)
                        p->holding++;
                p->held = true;
                p->pending = -1;
                p->done = false;
                p->restoring = false;
        }
        ps->settled = true;
        update_ends_unknown(ps);
}

void partitions_revoke(Partitions *ps, const int32_t *ids, size_t n, bool drop_state) {
        for (size_t k = 0; k < n; k++) {
                Partition *p = find(ps, ids[k]);
                if (p) {
                        p->held = false;
                        p->pending = -1;
                        p->restoring = false;
                        if (drop_state) {
                                p->state = window_state_free(p->state);
                                p->confirmed = p->stored = -1;
                        }
                }
        }
        ps->settled = false;
        update_ends_unknown(ps);
}

Partition *partitions_held(Partitions *ps, int32_t id) {
        Partition *p = find(ps, id);
        return p && p->held ? p : NULL;
}

size_t partitions_take_pending(Partitions *ps, PartitionOffset **out, size_t *n, size_t *cap) {
        size_t added = 0;
        for (size_t i = 0; i < ps->n; i++) {
                Partition *p = &ps->items[i];
                if (!p->held || p->pending < 0)
                        continue;
                ARRAY_RESERVE(*out, *cap, *n + 1);
                (*out)[(*n)++] = (PartitionOffset){ p->id, p->pending, p->holding };
                p->pending = -1;
                added++;
        }
        return added;
}

void partitions_set_end(Partitions *ps, int32_t id, int64_t end) {
        Partition *p = find(ps, id);
        if (p && p->end < 0)
                p->end = end;
        update_ends_unknown(ps);
}

bool partitions_all_done(const Partitions *ps) {
        if (!ps->settled)
                return false;
        for (size_t i = 0; i < ps->n; i++)
                if (ps->items[i].held && !ps->items[i].done)
                        return false;
        return true;
}

bool partitions_ends_known(const Partitions *ps) {
        return !ps->ends_unknown;
}
