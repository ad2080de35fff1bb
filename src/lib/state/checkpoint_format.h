/* checkpoint_format: the bytes of a partition's checkpoint files, with no
 * I/O. A file is a header followed by records.
 *
 * Header: "SNSDCKPT", u32 format version (2), u32 length of the rest, then
 * i32 partition, i64 window duration, slide, start offset and watermark
 * delay (ms), u16 topic length, the topic, in partition watermark scope a
 * u8 1 (absent in process scope, as files written before the setting
 * existed are), and u32 CRC-32C of everything before it. A record's clock
 * is the process's in process scope and its partition's in partition
 * scope.
 *
 * Record: u32 payload length, u32 CRC-32C of the payload, the payload:
 * u8 kind (1 snapshot, 2 delta), u64 next batch number, i64 next offset to
 * read (-1: none yet), u8 clock flags (1: watermark set, 2: event time
 * seen; other bits refused), i64 watermark, i64 maximum event time, u32 count and i64 starts of
 * evicted windows, u32 count of sensors, each: u16 sensor_id length, the
 * sensor_id, u32 count of its entries, each: i64 window start, u64 count,
 * f64 sum, min, max. A sensor may appear more than once.
 *
 * Version 1 (still read) differs only in the entries: u32 count of
 * entries, each: i64 window start, u16 sensor_id length, the sensor_id,
 * u64 count, f64 sum, min, max. A file's records are of its header's
 * version, and a changelog delta of its snapshot's.
 *
 * Every number is little-endian; doubles are their IEEE 754 bits. A
 * snapshot holds every entry, a delta the entries changed (with their whole
 * aggregates, so replaying is idempotent) and the windows evicted since the
 * previous record. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/state/window.h"

#define CHECKPOINT_FORMAT_VERSION 2
#define CHECKPOINT_FORMAT_OLDEST 1 /* the oldest version still read */
#define CHECKPOINT_TOPIC_MAX 249 /* Kafka's limit */

typedef struct CheckpointHeader {
        uint32_t version;
        char topic[CHECKPOINT_TOPIC_MAX + 1];
        int32_t partition;
        WindowSpec spec;
        WatermarkScope scope;
} CheckpointHeader;

typedef enum CheckpointKind { CHECKPOINT_SNAPSHOT = 1, CHECKPOINT_DELTA = 2 } CheckpointKind;

/* Where the partition stood when the record was written. */
typedef struct CheckpointMark {
        uint64_t next_batch;
        int64_t next_offset; /* -1: nothing read yet */
        WindowClock clock;
} CheckpointMark;

/* A growing byte buffer for encoding. */
typedef struct CheckpointBuf {
        uint8_t *data;
        size_t len, cap;
        size_t record;   /* where the open record starts */
        size_t count_at; /* where the open list's count goes */
        uint32_t count;
        bool in_entries;
        size_t sensor_at; /* the open sensor's id, or 0 */
        uint16_t sensor_len;
        size_t entries_at; /* where the open sensor's entry count goes */
        uint32_t entries;
} CheckpointBuf;

void checkpoint_buf_free(CheckpointBuf *b);

/* Bytes of a sensor with a sensor_id of len bytes, and of each of its
 * entries, to size a snapshot. */
#define CHECKPOINT_SENSOR_BYTES(len) (2 + (len) + 4)
#define CHECKPOINT_ENTRY_BYTES (8 + 8 + 3 * 8)

void checkpoint_encode_header(CheckpointBuf *b, const CheckpointHeader *h);

/* A record: begin, the evicted windows, then the entries, end. Entries
 * written sensor by sensor share their sensor's id. */
void checkpoint_record_begin(CheckpointBuf *b, CheckpointKind kind, const CheckpointMark *mark);
void checkpoint_record_evicted(CheckpointBuf *b, int64_t start_ms);
void checkpoint_record_entry(CheckpointBuf *b, const WindowEntry *entry);
void checkpoint_record_end(CheckpointBuf *b);

/* Decodes a header. Returns 0 and *used, -ENODATA if data ends before it
 * does, -EBADMSG if it is not a checkpoint header or its checksum fails,
 * -EPROTONOSUPPORT for a format version this build does not read. */
int checkpoint_decode_header(const uint8_t *data, size_t len, CheckpointHeader *h, size_t *used);

/* Compares a checkpoint's topic and window geometry with the running
 * configuration's. Returns how many settings differ and describes each in
 * buf as "window.duration is 600000 ms in the checkpoint and 1200000 ms in
 * the configuration", joined by "; ". */
unsigned checkpoint_header_mismatch(const CheckpointHeader *found, const CheckpointHeader *want, char *buf,
                                    size_t size);

/* The CRC-32C in the prefix of the record at data (at least 8 bytes). */
uint32_t checkpoint_record_crc(const uint8_t *record);

typedef struct CheckpointVisitor {
        void *userdata;
        WindowEvictedFn evicted;
        WindowEntryFn entry;
} CheckpointVisitor;

/* Decodes the record at data, of format version (its header's): checks
 * its checksum first, then hands its evicted windows and entries to the
 * visitor. Returns 0 with *kind, *mark and *used; -ENODATA if the record
 * is cut short (a torn write); -EBADMSG if its checksum or structure is
 * wrong (the visitor was not called). */
int checkpoint_decode_record(const uint8_t *data, size_t len, uint32_t version, const CheckpointVisitor *v,
                             CheckpointKind *kind, CheckpointMark *mark, size_t *used);
