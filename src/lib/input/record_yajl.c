/* record_yajl: the reference parse of a record, through yajl's streaming
 * (callback) parser: the callbacks pick the shape's fields out of the
 * object and ignore everything else, and every invalid record gets its
 * reason here. */
#include "lib/input/record.h"

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
#include "lib/input/record_internal.h"
#include "lib/text/timestamp.h"

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

static int set_value(Parse *p, const char *text, size_t len) {
        double v;
        if (!record_number_fast(text, len, &v)) {
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
        if (record_epoch_ms(p->shape, text, len, &p->record->event_time_ms) < 0)
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

RecordError record_take_from_message(const RecordShape *shape, const RecordMessage *m, Record *out, char *reason) {
        Parse p = { .shape = shape, .record = out, .reason = reason, .current = FIELD_OTHER };
        return take_from_message(&p, m);
}

RecordError record_parse_with_yajl(const void *data, size_t len, size_t max_bytes, Record *out, char *reason) {
        RecordMessage m = { .value = data, .len = len, .timestamp_ms = -1 };
        return record_parse_message_with_yajl(&record_default_shape, &m, max_bytes, out, reason);
}
