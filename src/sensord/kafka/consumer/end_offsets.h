/* end_offsets: available-now's end offsets, asked of the brokers on a thread
 * of their own. The query waits for a broker round trip, which with slow
 * brokers lasts longer than the watchdog interval, so the event loop never
 * makes it: the answers come back through an eventfd that the loop watches. */
#pragma once

#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct EndOffsets EndOffsets;

/* Called on the loop's thread with the partition's high watermark, or with
 * error set (and end -1) when the brokers did not answer in time. */
typedef void (*EndOffsetFn)(void *userdata, int32_t partition, int64_t end, const char *error);

int end_offsets_new(EndOffsets **out, rd_kafka_t *rk, const char *topic, sd_event *event, EndOffsetFn fn,
                    void *userdata);

/* Waits for a query in progress (at most its timeout) and frees. */
EndOffsets *end_offsets_free(EndOffsets *q);

/* Newly assigned partitions: their end offsets are asked for. Until an
 * answer comes, the pipeline takes no message (pipeline_accepts()), so that
 * nothing past an end is read. Pausing the partitions instead raced, in
 * librdkafka 2.0, with the fetch start of the assignment: a resume handled
 * before it made it outdated, and the partition never fetched (the journal
 * test hung once, with 0 messages read). */
void end_offsets_assigned(EndOffsets *q, const rd_kafka_topic_partition_list_t *parts);
