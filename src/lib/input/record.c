/* record: yajl callbacks that pick sensor_id, value and timestamp out of the
 * top-level object and ignore everything else. */
#include "lib/input/record.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"
#include "lib/text/timestamp.h"

#define FIELD_OTHER (-1)
#define ALL_FIELDS ((1u << _RECORD_FIELD_MAX) - 1)

static const char *const field_names[_RECORD_FIELD_MAX] = { "sensor_id", "value", "timestamp" };

const char *record_field_name(RecordField field) {
        return field_names[field];
}

/* --- the shape ------------------------------------------------------------ */

/* What record_path_set() makes of "sensor_id", "value" and "timestamp"
 * (a unit test checks that it is). */
static const RecordShape default_shape = {
        .field = {
                [RECORD_SENSOR_ID] = { .text = "sensor_id", .n_segments = 1, .len = { 9 }, .names = "sensor_id" },
                [RECORD_VALUE] = { .text = "value", .n_segments = 1, .len = { 5 }, .names = "value" },
                [RECORD_TIMESTAMP] = { .text = "timestamp", .n_segments = 1, .len = { 9 }, .names = "timestamp" },
        },
        .timestamp_format = TIMESTAMP_RFC3339,
};

void record_shape_default(RecordShape *shape) {
        *shape = default_shape;
}

__attribute__((format(printf, 2, 3))) static int path_error(char *error, const char *fmt, ...) {
        if (error) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(error, RECORD_REASON_MAX, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int record_path_set(RecordShape *shape, RecordField field, const char *text, char *error) {
        RecordPath path = { .n_segments = 0 };
        size_t len = strlen(text), n = 0;
        if (len == 0)
                return path_error(error, "must not be empty");
        if (len > RECORD_PATH_MAX)
                return path_error(error, "is %zu bytes, over %d", len, RECORD_PATH_MAX);
        memcpy(path.text, text, len + 1);
        if (text[0] == '@') {
                if (strcmp(text, RECORD_KEY) == 0 && field == RECORD_SENSOR_ID) {
                        shape->field[field] = path;
                        return 0;
                }
                if (strcmp(text, RECORD_KAFKA_TIME) == 0 && field == RECORD_TIMESTAMP) {
                        shape->field[field] = path;
                        return 0;
                }
                return path_error(error, "\"%s\": only sensor_id may be \"" RECORD_KEY "\" and only timestamp \"" RECORD_KAFKA_TIME
                                         "\" (a key starting with '@' is written \"\\\\@...\")",
                                  text);
        }
        size_t seg_start = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && text[i] == '\\') {
                        if (i + 1 == len || (text[i + 1] != '.' && text[i + 1] != '\\' && text[i + 1] != '@'))
                                return path_error(error, "\"%s\": a backslash escapes only '.', '\\\\' or '@'", text);
                        path.names[n++] = text[++i];
                        continue;
                }
                if (i < len && text[i] != '.') {
                        path.names[n++] = text[i];
                        continue;
                }
                /* a dot or the end: a segment ends */
                if (n == seg_start)
                        return path_error(error, "\"%s\": empty field name in the path", text);
                if (path.n_segments == RECORD_PATH_SEGMENTS)
                        return path_error(error, "\"%s\": more than %d levels", text, RECORD_PATH_SEGMENTS);
                path.offset[path.n_segments] = (uint16_t)seg_start;
                path.len[path.n_segments++] = (uint16_t)(n - seg_start);
                seg_start = n;
        }
        shape->field[field] = path;
        return 0;
}

/* Whether path a's segments are the first of path b's (a == b included). */
static bool path_prefix(const RecordPath *a, const RecordPath *b) {
        if (a->n_segments == 0 || a->n_segments > b->n_segments)
                return false;
        for (unsigned i = 0; i < a->n_segments; i++)
                if (a->len[i] != b->len[i] || memcmp(a->names + a->offset[i], b->names + b->offset[i], a->len[i]) != 0)
                        return false;
        return true;
}

int record_shape_check(const RecordShape *shape, char *error) {
        for (int a = 0; a < _RECORD_FIELD_MAX; a++)
                for (int b = 0; b < _RECORD_FIELD_MAX; b++) {
                        const RecordPath *pa = &shape->field[a], *pb = &shape->field[b];
                        if (a == b || !path_prefix(pa, pb))
                                continue;
                        if (pa->n_segments == pb->n_segments && a < b)
                                return path_error(error, "%s and %s name the same field \"%s\"", field_names[a],
                                                  field_names[b], pa->text);
                        if (pa->n_segments < pb->n_segments)
                                return path_error(error, "%s \"%s\" lies inside %s \"%s\", which must be a %s",
                                                  field_names[b], pb->text, field_names[a], pa->text,
                                                  a == RECORD_VALUE ? "number" : "string or number");
                }
        return 0;
}

/* The fields the JSON holds (not @key, @timestamp). */
static unsigned json_fields(const RecordShape *shape) {
        unsigned mask = 0;
        for (int f = 0; f < _RECORD_FIELD_MAX; f++)
                if (shape->field[f].n_segments)
                        mask |= 1u << f;
        return mask;
}

/* A key of the object at depth (1: the top level), among the fields whose
 * paths go on there (live): the field whose path ends at it (or
 * FIELD_OTHER), and in *inner the fields whose paths go on inside it. */
static int match_key(const RecordShape *shape, unsigned live, unsigned depth, const char *key, size_t len,
                     unsigned *inner) {
        int leaf = FIELD_OTHER;
        *inner = 0;
        for (unsigned m = live; m; m &= m - 1) {
                int f = __builtin_ctz(m);
                const RecordPath *p = &shape->field[f];
                const char *name = p->names + p->offset[depth - 1];
                /* (live holds only fields whose paths reach this depth) */
                if (p->len[depth - 1] != len)
                        continue;
                size_t i = 0; /* names are short: a loop beats a call to memcmp */
                while (i < len && name[i] == key[i])
                        i++;
                if (i != len)
                        continue;
                if (depth == p->n_segments)
                        leaf = f;
                else
                        *inner |= 1u << f;
        }
        return leaf;
}

static bool timestamp_is_string(const RecordShape *shape) {
        return shape->timestamp_format == TIMESTAMP_RFC3339;
}

static int epoch_ms(const RecordShape *shape, const char *text, size_t len, int64_t *ms) {
        static const TimestampUnit units[] = { [TIMESTAMP_EPOCH_S] = TIMESTAMP_UNIT_S,
                                               [TIMESTAMP_EPOCH_MS] = TIMESTAMP_UNIT_MS,
                                               [TIMESTAMP_EPOCH_US] = TIMESTAMP_UNIT_US,
                                               [TIMESTAMP_EPOCH_NS] = TIMESTAMP_UNIT_NS };
        return timestamp_parse_epoch(text, len, units[shape->timestamp_format], ms);
}

const char *const record_timestamp_formats[_TIMESTAMP_FORMAT_MAX + 1] = { "rfc3339",  "epoch_s",  "epoch_ms",
                                                                          "epoch_us", "epoch_ns", NULL };

/* --- yajl's parse ---------------------------------------------------------- */

typedef struct Parse {
        const RecordShape *shape;
        Record *record;
        char *reason;
        RecordError error;
        unsigned depth;   /* nesting level: 1 inside the top-level object */
        bool closed;      /* the top-level object has ended */
        int current;      /* field whose value comes next, or FIELD_OTHER */
        unsigned inner;   /* fields whose paths go on inside the value that comes next */
        unsigned live[RECORD_PATH_SEGMENTS + 2]; /* live[d]: fields whose paths go on in the object at depth d */
        unsigned seen;    /* bit per field */
} Parse;

static const char *const error_names[_RECORD_ERROR_MAX] = {
        [RECORD_OK] = "ok",
        [RECORD_EMPTY] = "empty",
        [RECORD_TOO_LARGE] = "too_large",
        [RECORD_NOT_JSON] = "not_json",
        [RECORD_TRAILING_GARBAGE] = "trailing_garbage",
        [RECORD_NOT_OBJECT] = "not_object",
        [RECORD_MISSING_FIELD] = "missing_field",
        [RECORD_DUPLICATE_FIELD] = "duplicate_field",
        [RECORD_WRONG_TYPE] = "wrong_type",
        [RECORD_BAD_SENSOR_ID] = "bad_sensor_id",
        [RECORD_NOT_FINITE] = "not_finite",
        [RECORD_BAD_TIMESTAMP] = "bad_timestamp",
        [RECORD_FUTURE] = "future",
};

const char *record_error_name(RecordError error) {
        return error >= 0 && error < _RECORD_ERROR_MAX ? error_names[error] : "unknown";
}

__attribute__((format(printf, 3, 4))) static int fail(Parse *p, RecordError error, const char *fmt, ...) {
        p->error = error;
        if (p->reason) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(p->reason, RECORD_REASON_MAX, fmt, ap);
                va_end(ap);
        }
        return 0; /* tells yajl to stop */
}

/* A scalar or container at the value position of the current key. Returns
 * 1 when yajl should go on (ignored or accepted), 0 after a failure. */
static int type_mismatch(Parse *p, const char *got) {
        if (p->depth == 0)
                return fail(p, RECORD_NOT_OBJECT, "top-level JSON value is %s, not an object", got);
        if (p->current != FIELD_OTHER) {
                static const char *const wanted[_RECORD_FIELD_MAX] = { "a string", "a number", "a string" };
                const char *want = p->current == RECORD_TIMESTAMP && !timestamp_is_string(p->shape)
                                           ? "a number"
                                           : wanted[p->current];
                return fail(p, RECORD_WRONG_TYPE, "field '%s' must be %s, got %s", p->shape->field[p->current].text,
                            want, got);
        }
        if (p->inner) {
                int f = __builtin_ctz(p->inner);
                const RecordPath *path = &p->shape->field[f];
                return fail(p, RECORD_WRONG_TYPE, "field '%s': '%.*s' must be an object, got %s", path->text,
                            (int)path->len[p->depth - 1], path->names + path->offset[p->depth - 1], got);
        }
        return 1;
}

static int on_null(void *ctx) {
        return type_mismatch(ctx, "null");
}

static int on_boolean(void *ctx, int value) {
        return type_mismatch(ctx, value ? "true" : "false");
}

/* Clinger's fast path: a JSON number (yajl checked its grammar) with at most
 * 15 significant digits and a decimal exponent within 22 is an exact
 * integer and an exact power of ten, so one IEEE multiplication or division
 * rounds it correctly, as strtod would. Returns false for the rest. */
static bool parse_number_fast(const char *text, size_t len, double *out) {
        static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
        const char *p = text, *end = text + len;
        bool negative = p < end && *p == '-';
        uint64_t mantissa = 0;
        int digits = 0, scale = 0;

        p += negative;
        for (; p < end && *p >= '0' && *p <= '9'; p++, digits += mantissa != 0)
                mantissa = mantissa * 10 + (uint64_t)(*p - '0');
        if (p < end && *p == '.')
                for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits += mantissa != 0, scale--)
                        mantissa = mantissa * 10 + (uint64_t)(*p - '0');
        if (p < end) { /* an exponent */
                bool minus = *++p == '-';
                int e = 0;
                p += *p == '-' || *p == '+';
                for (; p < end && e < 1000; p++)
                        e = e * 10 + (*p - '0');
                if (p < end)
                        return false;
                scale += minus ? -e : e;
        }
        if (digits > 15 || scale < -22 || scale > 22)
                return false;
        double v = scale < 0 ? (double)mantissa / pow10[-scale] : (double)mantissa * pow10[scale];
        *out = negative ? -v : v;
        return true;
}

static int set_value(Parse *p, const char *text, size_t len) {
        double v;
        if (!parse_number_fast(text, len, &v)) {
                char stack[64];
                char *copy = len < sizeof(stack) ? stack : xmalloc(len + 1);
                memcpy(copy, text, len);
                copy[len] = '\0';
                v = strtod(copy, NULL);
                if (copy != stack)
                        free(copy);
        }
        if (!isfinite(v))
                return fail(p, RECORD_NOT_FINITE, "field '%s' is not a finite double (%.*s)",
                            p->shape->field[RECORD_VALUE].text, (int)(len > 40 ? 40 : len), text);
        p->record->value = v;
        return 1;
}

static int set_epoch(Parse *p, const char *text, size_t len) {
        if (epoch_ms(p->shape, text, len, &p->record->event_time_ms) < 0)
                return fail(p, RECORD_BAD_TIMESTAMP, "field '%s' is not a time in %s within years 0001-9999: %.*s",
                            p->shape->field[RECORD_TIMESTAMP].text, record_timestamp_formats[p->shape->timestamp_format],
                            (int)(len > 40 ? 40 : len), text);
        return 1;
}

static int on_number(void *ctx, const char *text, size_t len) {
        Parse *p = ctx;
        if (p->current == RECORD_VALUE)
                return set_value(p, text, len);
        if (p->current == RECORD_TIMESTAMP && !timestamp_is_string(p->shape))
                return set_epoch(p, text, len);
        return type_mismatch(p, "a number");
}

/* The checks of a sensor id, from the field at path or (path NULL) the
 * message key. Returns 1, or 0 after a failure. */
static int set_sensor_id(Parse *p, const char *path, const void *s, size_t len) {
        if (len == 0 || len > SENSOR_ID_MAX || memchr(s, '\0', len)) {
                char what[RECORD_PATH_MAX + 16] = "the message key";
                if (path)
                        snprintf(what, sizeof(what), "field '%s'", path);
                if (len == 0)
                        return fail(p, RECORD_BAD_SENSOR_ID, "%s is empty", what);
                if (len > SENSOR_ID_MAX)
                        return fail(p, RECORD_BAD_SENSOR_ID, "%s is %zu bytes, over %d", what, len, SENSOR_ID_MAX);
                return fail(p, RECORD_BAD_SENSOR_ID, "%s contains a NUL character", what);
        }
        memcpy(p->record->sensor_id, s, len);
        p->record->sensor_id[len] = '\0';
        p->record->sensor_id_len = len;
        return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len) {
        Parse *p = ctx;
        if (p->current == RECORD_SENSOR_ID)
                return set_sensor_id(p, p->shape->field[RECORD_SENSOR_ID].text, s, len);
        if (p->current != RECORD_TIMESTAMP || !timestamp_is_string(p->shape))
                return type_mismatch(p, "a string");
        if (timestamp_parse((const char *)s, len, &p->record->event_time_ms) < 0)
                return fail(p, RECORD_BAD_TIMESTAMP, "field '%s' is not an ISO-8601 date-time: \"%.*s\"",
                            p->shape->field[RECORD_TIMESTAMP].text, (int)(len > 40 ? 40 : len), s);
        return 1;
}

static int on_start_container(Parse *p, const char *what) {
        if (p->depth == 0 && p->closed)
                return fail(p, RECORD_TRAILING_GARBAGE, "data after the JSON object");
        if (!type_mismatch(p, what))
                return 0;
        p->depth++;
        p->current = FIELD_OTHER; /* keys inside belong to nothing unless live says so */
        p->inner = 0;
        return 1;
}

static int on_start_map(void *ctx) {
        Parse *p = ctx;
        if (p->depth == 0 && !p->closed) { /* the record itself */
                p->depth = 1;
                p->live[1] = json_fields(p->shape);
                return 1;
        }
        unsigned inner = p->inner;
        p->inner = 0; /* an object where a path goes on: not a mismatch */
        if (!on_start_container(p, "an object"))
                return 0;
        if (p->depth < ARRAY_SIZE(p->live))
                p->live[p->depth] = inner;
        return 1;
}

static int on_start_array(void *ctx) {
        Parse *p = ctx;
        if (!on_start_container(p, "an array"))
                return 0;
        if (p->depth < ARRAY_SIZE(p->live))
                p->live[p->depth] = 0; /* arrays are not indexed */
        return 1;
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len) {
        Parse *p = ctx;
        unsigned live = p->depth < ARRAY_SIZE(p->live) ? p->live[p->depth] : 0;
        p->current = FIELD_OTHER;
        p->inner = 0;
        if (!live)
                return 1;
        p->current = match_key(p->shape, live, p->depth, (const char *)key, len, &p->inner);
        if (p->current != FIELD_OTHER) {
                if (p->seen & (1u << p->current))
                        return fail(p, RECORD_DUPLICATE_FIELD, "field '%s' appears twice",
                                    p->shape->field[p->current].text);
                p->seen |= 1u << p->current;
        }
        return 1;
}

static int on_end_container(void *ctx) {
        Parse *p = ctx;
        p->depth--;
        if (p->depth == 0)
                p->closed = true;
        p->current = FIELD_OTHER;
        p->inner = 0;
        return 1;
}

static const yajl_callbacks callbacks = {
        .yajl_null = on_null,
        .yajl_boolean = on_boolean,
        .yajl_number = on_number,
        .yajl_string = on_string,
        .yajl_start_map = on_start_map,
        .yajl_map_key = on_map_key,
        .yajl_end_map = on_end_container,
        .yajl_start_array = on_start_array,
        .yajl_end_array = on_end_container,
};

static RecordError syntax_error(Parse *p, yajl_handle h, const unsigned char *data, size_t len) {
        if (p->closed)
                return fail(p, RECORD_TRAILING_GARBAGE, "data after the JSON object"), p->error;
        unsigned char *msg = yajl_get_error(h, 0, data, len);
        char *nl = msg ? strchr((char *)msg, '\n') : NULL;
        if (nl)
                *nl = '\0';
        fail(p, RECORD_NOT_JSON, "not valid JSON (%s)", msg ? (char *)msg : "parse error");
        yajl_free_error(h, msg);
        return p->error;
}

/* yajl allocates a handle, a lexer and buffers for every parse, and 2.1 has
 * no reset: serve them from a stack arena that dies with the parse instead of
 * malloc/free per message. Allocations are rare beyond the first few hundred
 * bytes (long escaped strings, deep nesting) and then go to malloc. */
typedef struct Arena {
        size_t used;
        _Alignas(max_align_t) unsigned char bytes[8192];
} Arena;

typedef struct ArenaBlock {
        size_t size;
        bool heap;
        _Alignas(max_align_t) unsigned char data[];
} ArenaBlock;

static void *arena_malloc(void *ctx, size_t size) {
        Arena *a = ctx;
        size_t need = sizeof(ArenaBlock) + ((size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1));
        ArenaBlock *b;
        if (need <= sizeof(a->bytes) - a->used) {
                b = (ArenaBlock *)(a->bytes + a->used);
                a->used += need;
                b->heap = false;
        } else {
                b = xmalloc(sizeof(ArenaBlock) + size);
                b->heap = true;
        }
        b->size = size;
        return b->data;
}

static void arena_free(void *ctx, void *ptr) {
        if (!ptr)
                return;
        ArenaBlock *b = (ArenaBlock *)((unsigned char *)ptr - offsetof(ArenaBlock, data));
        if (b->heap)
                free(b);
}

static void *arena_realloc(void *ctx, void *ptr, size_t size) {
        if (!ptr)
                return arena_malloc(ctx, size);
        ArenaBlock *b = (ArenaBlock *)((unsigned char *)ptr - offsetof(ArenaBlock, data));
        if (size <= b->size)
                return ptr;
        void *bigger = arena_malloc(ctx, size);
        memcpy(bigger, ptr, b->size);
        arena_free(ctx, ptr);
        return bigger;
}

/* Whether s is UTF-8 as RFC 3629 has it (no overlong forms, no surrogates,
 * nothing beyond U+10FFFF): what yajl checks of a JSON string, for a key. */
static bool utf8_valid(const unsigned char *s, size_t len) {
        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                size_t n;
                uint32_t cp;
                if (c < 0x80) {
                        i++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        cp = c & 0x07;
                } else {
                        return false;
                }
                if (len - i <= n)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += n + 1;
        }
        return true;
}

/* The fields that come from the message itself, after the JSON's; both
 * paths take them here (the fast one without a reason). */
static RecordError take_from_message(Parse *p, const RecordMessage *m) {
        if (p->shape->field[RECORD_SENSOR_ID].n_segments == 0) {
                if (!m->key)
                        return fail(p, RECORD_MISSING_FIELD, "the message has no key (input.sensor_id = \"" RECORD_KEY
                                                             "\")"),
                               p->error;
                if (!utf8_valid(m->key, m->key_len))
                        return fail(p, RECORD_BAD_SENSOR_ID, "the message key is not valid UTF-8"), p->error;
                if (!set_sensor_id(p, NULL, m->key, m->key_len))
                        return p->error;
        }
        if (p->shape->field[RECORD_TIMESTAMP].n_segments == 0) {
                if (m->timestamp_ms == -1)
                        return fail(p, RECORD_BAD_TIMESTAMP, "the message has no Kafka timestamp (input.timestamp = \"" RECORD_KAFKA_TIME "\")"),
                               p->error;
                if (!timestamp_in_range(m->timestamp_ms))
                        return fail(p, RECORD_BAD_TIMESTAMP,
                                    "the message's Kafka timestamp (%" PRId64 " ms) lies outside years 0001-9999",
                                    m->timestamp_ms),
                               p->error;
                p->record->event_time_ms = m->timestamp_ms;
        }
        return RECORD_OK;
}

RecordError record_parse_message_with_yajl(const RecordShape *shape, const RecordMessage *m, size_t max_bytes,
                                           Record *out, char *reason) {
        Parse p = { .shape = shape, .record = out, .reason = reason, .current = FIELD_OTHER };
        Arena arena;
        arena.used = 0;
        yajl_alloc_funcs alloc = { arena_malloc, arena_realloc, arena_free, &arena };

        if (m->len == 0)
                return fail(&p, RECORD_EMPTY, "empty message"), p.error;
        if (max_bytes && m->len > max_bytes)
                return fail(&p, RECORD_TOO_LARGE, "message is %zu bytes, over the %zu-byte limit", m->len, max_bytes),
                       p.error;

        yajl_handle h = yajl_alloc(&callbacks, &alloc, &p);
        if (!h)
                return fail(&p, RECORD_NOT_JSON, "out of memory"), p.error;

        yajl_status st = yajl_parse(h, m->value, m->len);
        if (st == yajl_status_ok)
                st = yajl_complete_parse(h);
        if (st == yajl_status_error)
                syntax_error(&p, h, m->value, m->len);
        yajl_free(h);

        if (p.error != RECORD_OK)
                return p.error;
        for (int f = 0; f < _RECORD_FIELD_MAX; f++)
                if ((json_fields(shape) & (1u << f)) && !(p.seen & (1u << f)))
                        return fail(&p, RECORD_MISSING_FIELD, "field '%s' is missing", shape->field[f].text), p.error;
        return take_from_message(&p, m);
}

RecordError record_parse_with_yajl(const void *data, size_t len, size_t max_bytes, Record *out, char *reason) {
        RecordMessage m = { .value = data, .len = len, .timestamp_ms = -1 };
        return record_parse_message_with_yajl(&default_shape, &m, max_bytes, out, reason);
}

/* --- the fast path -------------------------------------------------------- */

/* Most messages are a flat object of plain ASCII strings and numbers, as
 * sensors and sensor-replay write them. For those, a hand-written scanner
 * reads the three fields without yajl's handle and callbacks. It accepts
 * only a strict subset of JSON (no escapes, no bytes outside printable
 * ASCII in strings, no nesting, no true/false/null) and only valid records;
 * anything else, an invalid record included, goes to yajl, so the answer
 * and the reason are always yajl's. tests/unit/test_record.c and the fuzz
 * target check that both paths agree. */

typedef struct Scan {
        const char *p, *end;
} Scan;

/* The scanner's helpers are inlined: they run for every byte and token. */
#define HOT static inline __attribute__((always_inline))

HOT void skip_ws(Scan *s) {
        if (s->p < s->end && (unsigned char)*s->p > ' ') /* most calls: no white space at all */
                return;
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

HOT bool scan_char(Scan *s, char c) {
        skip_ws(s);
        if (s->p < s->end && *s->p == c) {
                s->p++;
                return true;
        }
        return false;
}

/* Printable ASCII but the quote and the backslash: a string's plain bytes
 * (a table: one load a byte, the scanner's hottest loop). */
static const unsigned char plain_bytes[256] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
        1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};

HOT bool is_plain(unsigned char c) {
        return plain_bytes[c];
}

/* A string of printable ASCII without escapes; *text and *len its contents. */
HOT bool scan_plain_string(Scan *s, const char **text, size_t *len) {
        if (!scan_char(s, '"'))
                return false;
        const char *start = s->p;
        while (s->p < s->end && is_plain((unsigned char)*s->p))
                s->p++;
        if (s->p == s->end || *s->p != '"')
                return false;
        *text = start;
        *len = (size_t)(s->p - start);
        s->p++;
        return true;
}

static bool scan_digits(Scan *s) {
        const char *start = s->p;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                s->p++;
        return s->p > start;
}

/* JSON's number grammar exactly. */
static bool scan_number(Scan *s, const char **text, size_t *len) {
        skip_ws(s);
        const char *start = s->p;
        if (s->p < s->end && *s->p == '-')
                s->p++;
        if (s->p < s->end && *s->p == '0')
                s->p++;
        else if (!(s->p < s->end && *s->p >= '1' && *s->p <= '9') || !scan_digits(s))
                return false;
        if (s->p < s->end && *s->p == '.') {
                s->p++;
                if (!scan_digits(s))
                        return false;
        }
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
                s->p++;
                if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
                        s->p++;
                if (!scan_digits(s))
                        return false;
        }
        *text = start;
        *len = (size_t)(s->p - start);
        return true;
}

/* The fast path's nesting bound; deeper records go to yajl. */
#define FAST_DEPTH_MAX 16

typedef struct Fast {
        const RecordShape *shape;
        Record *out;
        unsigned seen;
} Fast;

/* The members of an object at depth, its '{' read; live as in Parse. */
static bool fast_object(Fast *f, Scan *s, unsigned depth, unsigned live) {
        if (scan_char(s, '}'))
                return true;
        for (;;) {
                const char *key, *text;
                size_t key_len, text_len;
                unsigned inner = 0;
                if (!scan_plain_string(s, &key, &key_len) || !scan_char(s, ':'))
                        return false;
                int field = live ? match_key(f->shape, live, depth, key, key_len, &inner) : FIELD_OTHER;
                if (field >= 0 && (f->seen & (1u << field)))
                        return false;
                skip_ws(s);
                if (s->p < s->end && *s->p == '{') {
                        /* an object: where a path goes on, or skipped */
                        if (field >= 0 || depth == FAST_DEPTH_MAX)
                                return false;
                        s->p++;
                        if (!fast_object(f, s, depth + 1, inner))
                                return false;
                } else {
                        bool is_string = s->p < s->end && *s->p == '"';
                        if (inner || (is_string ? !scan_plain_string(s, &text, &text_len)
                                                : !scan_number(s, &text, &text_len)))
                                return false;
                        if (field == RECORD_SENSOR_ID) {
                                if (!is_string || text_len == 0 || text_len > SENSOR_ID_MAX)
                                        return false;
                                memcpy(f->out->sensor_id, text, text_len);
                                f->out->sensor_id[text_len] = '\0';
                                f->out->sensor_id_len = text_len;
                        } else if (field == RECORD_VALUE) {
                                if (is_string || !parse_number_fast(text, text_len, &f->out->value))
                                        return false;
                        } else if (field == RECORD_TIMESTAMP) {
                                if (is_string != timestamp_is_string(f->shape) ||
                                    (is_string ? timestamp_parse(text, text_len, &f->out->event_time_ms)
                                               : epoch_ms(f->shape, text, text_len, &f->out->event_time_ms)) < 0)
                                        return false;
                        }
                }
                if (field >= 0)
                        f->seen |= 1u << field;
                if (scan_char(s, '}'))
                        return true;
                if (!scan_char(s, ','))
                        return false;
        }
}

static bool parse_fast(const RecordShape *shape, const RecordMessage *m, Record *out) {
        Scan s = { m->value, (const char *)m->value + m->len };
        Fast f = { .shape = shape, .out = out };
        unsigned json = json_fields(shape);
        if (!scan_char(&s, '{') || !fast_object(&f, &s, 1, json))
                return false;
        skip_ws(&s);
        if (s.p != s.end || f.seen != json)
                return false;
        /* the message's own fields; when they are not valid, yajl's path
         * takes them again and says why */
        Parse p = { .shape = shape, .record = out, .current = FIELD_OTHER };
        return take_from_message(&p, m) == RECORD_OK;
}

RecordError record_parse_message(const RecordShape *shape, const RecordMessage *m, size_t max_bytes, Record *out,
                                 char *reason) {
        if (m->len > 0 && (!max_bytes || m->len <= max_bytes) && parse_fast(shape, m, out))
                return RECORD_OK;
        return record_parse_message_with_yajl(shape, m, max_bytes, out, reason);
}

RecordError record_parse(const void *data, size_t len, size_t max_bytes, Record *out, char *reason) {
        RecordMessage m = { .value = data, .len = len, .timestamp_ms = -1 };
        return record_parse_message(&default_shape, &m, max_bytes, out, reason);
}
