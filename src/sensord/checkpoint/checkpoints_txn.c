/* checkpoints_txn: under output.guarantee = "exactly_once", the end of each
 * transaction. A checkpoint's save puts its parts in the open transaction,
 * after the rows of the batches it covers (every one delivered: the
 * pipeline's barrier); once the parts are delivered, their pointers and
 * input offsets are sent to it and it is committed, while the pipeline
 * takes no record. What an abort leaves is the last committed checkpoint
 * and its offsets, which a restart restores. */
#include "sensord/checkpoint/checkpoints_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <sysexits.h>

#include "lib/base/log.h"
#include "lib/base/util.h"

/* One call of a commit waits this long, so that the loop is never held
 * longer; librdkafka resumes a commit that timed out when called again. */
#define COMMIT_CALL_MS 2000
#define COMMIT_RETRY_US 100000
#define ABORT_MS 10000

bool checkpoints_all_delivered(const Checkpoints *c) {
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].n_produced > 0)
                        return false;
        return true;
}

/* The transaction was aborted, or cannot end: the state held here is
 * ahead of what is committed. sensord stops, and its next life (or the
 * next owner) restores the last committed checkpoint and reads again from
 * its offsets; its transactional.id fences whatever this one left open. */
static void abandon(Checkpoints *c, const char *what) {
        if (txn_producer_abort(c->txn, ABORT_MS) < 0)
                log_warning("the open transaction could not be aborted here; the brokers abort it after "
                            "transaction.timeout.ms, or when sensord starts again");
        log_error("%s: nothing of it is visible to read_committed readers; sensord stops, and the partitions are "
                  "restored from the last committed checkpoint and read again from its offsets",
                  what);
        c->in_txn = false;
        fail(c, EX_IOERR);
}

static void committed(Checkpoints *c) {
        c->in_txn = false;
        release_hold(c);
}

void checkpoints_txn_end_after(Checkpoints *c, uint64_t delay_us) {
        sd_event_source_set_time(c->txn_end, now_usec(CLOCK_MONOTONIC) + delay_us);
        sd_event_source_set_enabled(c->txn_end, SD_EVENT_ONESHOT);
}

/* The open transaction was aborted while the partitions were revoked or
 * lost. Those that stay held (none under the eager protocol, whose revoke
 * takes them all) hold changes that are no longer committed: looked at
 * once the revocation is over. */
static void aborted_in_revoke(Checkpoints *c, int32_t partition) {
        c->in_txn = false;
        for (size_t i = 0; i < c->n_slots; i++)
                c->slots[i].txn_stale |= (int32_t)i != partition && c->slots[i].phase == PHASE_HELD;
        checkpoints_txn_end_after(c, 0);
}

int checkpoints_on_txn_end(sd_event_source *source, uint64_t usec, void *userdata) {
        Checkpoints *c = userdata;
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].phase == PHASE_HELD && c->slots[i].txn_stale) {
                        abandon(c, "a transaction was aborted while a partition it wrote for stayed held");
                        return 0;
                }
        if (!c->in_txn || !checkpoints_all_delivered(c))
                return 0; /* ended meanwhile (a revocation), or a delivery comes first */
        int r = txn_producer_commit(c->txn, COMMIT_CALL_MS);
        if (r == 0)
                committed(c);
        else if (r == -EAGAIN)
                checkpoints_txn_end_after(c, COMMIT_RETRY_US);
        else if (r == -ECANCELED)
                abandon(c, "the transaction was aborted");
        else {
                c->in_txn = false;
                fail(c, EX_IOERR);
        }
        return 0;
}

/* Aborts the open transaction in a revocation, each call allowed
 * COMMIT_CALL_MS even past the revocation's wait (an abort left undone
 * stops sensord); sensord stops when the producer failed for good. */
static void abort_in_revoke(Checkpoints *c, int32_t partition, int timeout_ms, const char *why) {
        int r;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000;
        while ((r = txn_producer_abort(c->txn, COMMIT_CALL_MS)) == -EAGAIN && now_usec(CLOCK_MONOTONIC) < deadline)
                ;
        if (r < 0) {
                abandon(c, why);
                return;
        }
        log_info("%s/%" PRId32 ": %s: the open transaction was aborted, and its batches are read again by the "
                 "partitions' next owner",
                 c->header.topic, partition, why);
        aborted_in_revoke(c, partition);
}

void checkpoints_txn_close(Checkpoints *c, int32_t partition, bool lost, int timeout_ms) {
        if (!txn_producer_open(c->txn))
                return;
        if (lost) {
                /* its rows must never be committed: another member emits
                 * them from its last committed checkpoint */
                abort_in_revoke(c, partition, timeout_ms, "the assignment was lost");
                return;
        }
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000;
        if (c->in_txn && changelog_flush(c->changelog, timeout_ms) == 0 && checkpoints_all_delivered(c)) {
                int r;
                do {
                        uint64_t now = now_usec(CLOCK_MONOTONIC);
                        int left = now < deadline ? (int)((deadline - now) / 1000) : 0;
                        r = txn_producer_commit(c->txn, left < COMMIT_CALL_MS ? left : COMMIT_CALL_MS);
                } while (r == -EAGAIN && now_usec(CLOCK_MONOTONIC) < deadline);
                if (r == 0) {
                        log_info("%s/%" PRId32 " goes with its last checkpoint committed", c->header.topic, partition);
                        committed(c);
                        return;
                }
                if (r == -EIO) {
                        c->in_txn = false;
                        fail(c, EX_IOERR);
                        return;
                }
        }
        /* rows with no checkpoint delivered in time: the next owner emits
         * them again from the last committed one */
        abort_in_revoke(c, partition, timeout_ms, "the transaction could not be committed within the revocation's wait");
}
