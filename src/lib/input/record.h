/* record: one Kafka message to one sensor reading, or one reason why not,
 * in the shape the input settings describe (where the sensor id, the value
 * and the timestamp are). yajl's streaming (callback) parser, no DOM, no
 * I/O, behind a fast path for plain records that agrees with it. */
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
        RECORD_FUTURE,            /* further ahead of the wall clock than window.max_future */
        _RECORD_ERROR_MAX,
} RecordError;

/* A short stable name for an error class ("wrong_type"), for counters. */
const char *record_error_name(RecordError error);

/* --- where a record's three fields are (the input settings) --- */

typedef enum RecordField { RECORD_SENSOR_ID, RECORD_VALUE, RECORD_TIMESTAMP, _RECORD_FIELD_MAX } RecordField;

typedef enum TimestampFormat {
        TIMESTAMP_RFC3339, /* a string */
        TIMESTAMP_EPOCH_S, /* a number, fractions allowed */
        TIMESTAMP_EPOCH_MS,
        TIMESTAMP_EPOCH_US,
        TIMESTAMP_EPOCH_NS,
        _TIMESTAMP_FORMAT_MAX,
} TimestampFormat;

/* The names of input.timestamp_format, in enum order, NULL-terminated. */
extern const char *const record_timestamp_formats[_TIMESTAMP_FORMAT_MAX + 1];

#define RECORD_PATH_MAX 128    /* bytes of a configured path */
#define RECORD_PATH_SEGMENTS 8 /* levels of nesting a path may name */
#define RECORD_KEY "@key"             /* input.sensor_id: the Kafka message key */
#define RECORD_KAFKA_TIME "@timestamp" /* input.timestamp: the Kafka message timestamp */

/* One field's place: a path of object keys from the top-level object, or
 * (no segments) the Kafka message itself (@key, @timestamp). */
typedef struct RecordPath {
        char text[RECORD_PATH_MAX + 1]; /* as configured, for reasons: "device.id" */
        unsigned n_segments;            /* 0: @key or @timestamp */
        uint16_t offset[RECORD_PATH_SEGMENTS], len[RECORD_PATH_SEGMENTS]; /* segment i in names */
        char names[RECORD_PATH_MAX];    /* the segments, unescaped, back to back */
} RecordPath;

typedef struct RecordShape {
        RecordPath field[_RECORD_FIELD_MAX];
        TimestampFormat timestamp_format; /* of a timestamp in the JSON */
} RecordShape;

/* Today's shape: top-level sensor_id, value and an RFC 3339 timestamp. */
void record_shape_default(RecordShape *shape);

/* Sets one field's place from its configured text: field names joined by
 * dots ("device.id"), a dot or a backslash inside a name escaped with a
 * backslash ("a\.b" is the one key "a.b"); "@key" for the sensor id and
 * "@timestamp" for the timestamp. Returns 0, or -EINVAL with error (at
 * least RECORD_REASON_MAX bytes) saying what is wrong. */
int record_path_set(RecordShape *shape, RecordField field, const char *text, char *error);

/* Whether the shape's paths can hold together: not one field twice, and
 * no field inside another (a value cannot be a number and an object).
 * Returns 0, or -EINVAL with error naming the two fields. */
int record_shape_check(const RecordShape *shape, char *error);

/* The name of a field's setting ("sensor_id"). */
const char *record_field_name(RecordField field);

/* One Kafka message as the parser sees it. */
typedef struct RecordMessage {
        const void *value;
        size_t len;
        const void *key; /* NULL: the message has no key */
        size_t key_len;
        int64_t timestamp_ms; /* the Kafka timestamp; -1: none */
} RecordMessage;

/* Parses one message in the given shape. On RECORD_OK *out holds the
 * reading; otherwise reason (at least RECORD_REASON_MAX bytes, may be NULL)
 * says what was wrong in words an operator can act on, naming the
 * configured path. max_bytes 0 means no size limit. Records of plain
 * strings, numbers and objects take a fast path; the rest go to yajl. */
RecordError record_parse_message(const RecordShape *shape, const RecordMessage *m, size_t max_bytes, Record *out,
                                 char *reason);

/* The same, always through yajl: the reference the fast path is tested
 * against. */
RecordError record_parse_message_with_yajl(const RecordShape *shape, const RecordMessage *m, size_t max_bytes,
                                           Record *out, char *reason);

/* record_parse_message() of a message value alone in the default shape. */
RecordError record_parse(const void *data, size_t len, size_t max_bytes, Record *out, char *reason);

/* record_parse_message_with_yajl() of the same. */
RecordError record_parse_with_yajl(const void *data, size_t len, size_t max_bytes, Record *out, char *reason);
