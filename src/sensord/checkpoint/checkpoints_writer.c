/* checkpoints_writer: the changelog writer. Each checkpoint a local save
 * made durable is produced to the changelog in parts; the checkpoints
 * wholly delivered extend this holder's chain, in order, and the input
 * offsets that waited for them are committed with the pointer to it. */
#include "sensord/checkpoint/checkpoints_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"

static void produce(Checkpoints *c, int32_t partition, Slot *s, CheckpointKind kind, const uint8_t *bytes, size_t len,
                    uint32_t crc) {
        size_t part_max = changelog_part_max(c->changelog);
        uint32_t parts = (uint32_t)(len / part_max + (len % part_max != 0));
        uint64_t seq = ++s->next_seq, id = ++c->last_id;
        ARRAY_RESERVE(s->produced, s->cap_produced, s->n_produced + 1);
        s->produced[s->n_produced++] =
                (Produced){ .id = id, .seq = seq, .kind = kind, .parts_left = parts, .crc = crc, .first_offset = -1,
                            .last_offset = -1 };
        for (uint32_t i = 0; i < parts; i++) {
                size_t n = i + 1 < parts ? part_max : len - (size_t)i * part_max;
                ChangelogFrame f = { kind, s->writer, seq, i, parts };
                changelog_produce(c->changelog, partition, &f, bytes + (size_t)i * part_max, n, id);
        }
}

/* Each record a local save made durable goes to the changelog too, but a
 * writer's first delta: its first checkpoint is the snapshot that follows. */
void checkpoints_on_written(void *userdata, CheckpointKind kind, const uint8_t *bytes, size_t len) {
        Saving *sv = userdata;
        Slot *s = sv->slot;
        uint32_t crc;
        if (kind == CHECKPOINT_DELTA) {
                if (!s->wrote_snapshot)
                        return;
                crc = checkpoint_record_crc(bytes);
        } else {
                CheckpointHeader h;
                size_t used = 0;
                checkpoint_decode_header(bytes, len, &h, &used);
                crc = checkpoint_record_crc(bytes + used);
                s->wrote_snapshot = true;
                s->snapshot_us = now_usec(CLOCK_MONOTONIC);
        }
        produce(sv->c, sv->partition, s, kind, bytes, len, crc);
}

static void commit(Checkpoints *c, int32_t partition, Slot *s, int64_t offset) {
        char metadata[CHANGELOG_POINTER_MAX];
        changelog_pointer_format(&s->chain, metadata);
        if (c->txn) {
                /* with the checkpoint, in the same transaction */
                txn_producer_add_offset(c->txn, c->header.topic, partition, offset, metadata);
                return;
        }
        int wait_ms = -1;
        if (s->closing) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                wait_ms = now < c->close_deadline_us ? (int)((c->close_deadline_us - now) / 1000) : 0;
        }
        c->events.commit(c->events.userdata, partition, offset, metadata, wait_ms);
}

/* The checkpoints at the head of produced[] that are wholly delivered
 * extend the chain, in order; the offsets waiting for them are committed
 * with the pointer to exactly that checkpoint. */
static void advance_chain(Checkpoints *c, int32_t partition, Slot *s) {
        size_t done = 0;
        while (done < s->n_produced && s->produced[done].parts_left == 0) {
                const Produced *p = &s->produced[done++];
                ChangelogPointer *ch = &s->chain;
                if (p->kind == CHECKPOINT_SNAPSHOT) {
                        /* the generation before: this writer's, or the chain
                         * its state was restored from */
                        if (s->has_chain) {
                                ch->previous = ch->current;
                                ch->previous.last_seq = p->seq - 1;
                                ch->has_previous = true;
                        } else if (s->has_base) {
                                ch->previous = s->base;
                                ch->has_previous = true;
                        }
                        ch->current = (ChangelogChain){ .writer = s->writer, .first_seq = p->seq,
                                                        .first_offset = p->first_offset };
                        s->has_chain = true;
                }
                if (!s->has_chain)
                        continue; /* cannot happen: a writer starts with a snapshot */
                ch->current.last_seq = p->seq;
                ch->current.last_offset = p->last_offset;
                ch->last_crc = p->crc;
                int64_t offset = -1;
                size_t used = 0;
                while (used < s->n_intents && s->intents[used].seq <= p->seq)
                        offset = s->intents[used++].offset;
                if (used > 0) {
                        memmove(s->intents, s->intents + used, (s->n_intents - used) * sizeof(*s->intents));
                        s->n_intents -= used;
                }
                if (offset >= 0 && !s->broken)
                        commit(c, partition, s, offset);
        }
        if (done > 0) {
                memmove(s->produced, s->produced + done, (s->n_produced - done) * sizeof(*s->produced));
                s->n_produced -= done;
        }
}

void checkpoints_on_delivered(void *userdata, int32_t partition, uint64_t token, int64_t offset, const char *error) {
        Checkpoints *c = userdata;
        release_hold(c);
        if (partition < 0 || (size_t)partition >= c->n_slots)
                return;
        Slot *s = &c->slots[partition];
        Produced *p = NULL;
        for (size_t i = 0; i < s->n_produced && !p; i++)
                if (s->produced[i].id == token)
                        p = &s->produced[i];
        if (!p)
                return; /* a partition revoked meanwhile */
        if (error) {
                log_error("a checkpoint of %s/%" PRId32 " was not delivered to changelog %s: %s; its offsets stay "
                          "uncommitted and sensord stops, so that the partition is restored from the last checkpoint "
                          "that was",
                          c->header.topic, partition, c->changelog_topic, error);
                s->broken = true;
                fail(c, EX_IOERR);
                return;
        }
        if (p->first_offset < 0 || offset < p->first_offset)
                p->first_offset = offset;
        if (offset > p->last_offset)
                p->last_offset = offset;
        p->parts_left--;
        advance_chain(c, partition, s);
        if (c->in_txn && checkpoints_all_delivered(c))
                checkpoints_txn_end_after(c, 0);
}
