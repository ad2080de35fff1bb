/* record: one Kafka message value to one sensor reading, or one reason why
 * not. yajl's streaming (callback) parser, no DOM, no I/O, behind a fast
 * path for plain flat records that agrees with it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SENSOR_ID_MAX 256
#define RECORD_REASON_MAX 160

typedef struct Record {
        char sensor_id[SENSOR_ID_MAX + 1]; /* NUL-terminated copy */
        size_t sensor_id_len;
        double value;
        int64_t event_time_ms;
} Record;

/* Every class of invalid record semantics.md names; positive codes, so that a
 * caller can tell them from negative errnos. */
typedef enum RecordError {
        RECORD_OK = 0,
        RECORD_EMPTY,             /* zero-length value (e.g. a tombstone) */
        RECORD_TOO_LARGE,         /* over limits.max_message_bytes */
        RECORD_NOT_JSON,          /* lexical or syntax error */
        RECORD_TRAILING_GARBAGE,  /* anything after the object */
        RECORD_NOT_OBJECT,        /* top level is an array, number, string ... */
        RECORD_MISSING_FIELD,     /* sensor_id, value or timestamp absent */
        RECORD_DUPLICATE_FIELD,   /* the same field twice: ambiguous */
        RECORD_WRONG_TYPE,        /* e.g. "value": "23.5" */
        RECORD_BAD_SENSOR_ID,     /* empty, over 256 bytes, or with a NUL byte */
        RECORD_NOT_FINITE,        /* a number beyond double range */
        RECORD_BAD_TIMESTAMP,     /* not an ISO-8601 date-time, or impossible */
        _RECORD_ERROR_MAX,
} RecordError;

/* A short stable name for an error class ("wrong_type"), for counters. */
const char *record_error_name(RecordError error);

/* Parses one message value. On RECORD_OK *out holds the reading; otherwise
 * reason (at least RECORD_REASON_MAX bytes, may be NULL) says what was wrong
 * in words an operator can act on. max_bytes 0 means no size limit. Plain
 * flat records take a fast path; the rest go to yajl. */
RecordError record_parse(const void *data, size_t len, size_t max_bytes, Record *out, char *reason);

/* The same, always through yajl: the reference the fast path is tested
 * against. */
RecordError record_parse_with_yajl(const void *data, size_t len, size_t max_bytes, Record *out, char *reason);
