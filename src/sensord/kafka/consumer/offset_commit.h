/* offset_commit: one partition's offset committed with its metadata (the
 * changelog pointer), waited for at most a bound, or answered on the loop. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Commits offset and metadata for topic/partition in rk's group, waiting
 * at most wait_ms for the coordinator's answer (wait_ms < 0: not at all).
 * A failure is logged: the next owner restores the checkpoint committed
 * before. */
void offset_commit(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t offset, const char *metadata,
                   int wait_ms);

/* Commits whose answer comes back to the loop. */
typedef struct OffsetCommits OffsetCommits;

/* The answer to offset_commit_then(): error NULL, committed. */
typedef void (*OffsetCommitDone)(void *userdata, int32_t partition, int64_t offset, const char *error);

/* For rk's commits, on event's loop. Returns 0 or a negative errno. */
int offset_commits_new(OffsetCommits **out, rd_kafka_t *rk, sd_event *event);
/* Before rk is destroyed; the answers not yet come never will. */
OffsetCommits *offset_commits_free(OffsetCommits *oc);

/* Commits offset and metadata as offset_commit() does, without waiting:
 * done() is called on the loop with the coordinator's answer. */
void offset_commit_then(OffsetCommits *oc, const char *topic, int32_t partition, int64_t offset, const char *metadata,
                        OffsetCommitDone done, void *userdata);
