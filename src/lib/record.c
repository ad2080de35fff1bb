/* record: yajl callbacks that pick sensor_id, value and timestamp out of the
 * top-level object and ignore everything else. */
#include "record.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "alloc.h"
#include "timestamp.h"

enum field { FIELD_OTHER = -1, FIELD_SENSOR_ID = 0, FIELD_VALUE, FIELD_TIMESTAMP, _FIELD_MAX };

static const char *const field_names[_FIELD_MAX] = { "sensor_id", "value", "timestamp" };

typedef struct Parse {
        Record *record;
        char *reason;
        RecordError error;
        unsigned depth;     /* nesting level: 1 inside the top-level object */
        bool closed;        /* the top-level object has ended */
        enum field current; /* field whose value comes next, at depth 1 */
        unsigned seen;      /* bit per field */
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

/* A scalar or container at the value position of the current field. Returns
 * 1 when yajl should go on (ignored or accepted), 0 after a failure. */
static int type_mismatch(Parse *p, const char *got) {
        static const char *const wanted[_FIELD_MAX] = { "a string", "a number", "a string" };
        if (p->depth == 0)
                return fail(p, RECORD_NOT_OBJECT, "top-level JSON value is %s, not an object", got);
        if (p->depth == 1 && p->current != FIELD_OTHER)
                return fail(p, RECORD_WRONG_TYPE, "field '%s' must be %s, got %s", field_names[p->current],
                            wanted[p->current], got);
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

static int on_number(void *ctx, const char *text, size_t len) {
        Parse *p = ctx;
        if (p->depth != 1 || p->current != FIELD_VALUE)
                return type_mismatch(p, "a number");

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
                return fail(p, RECORD_NOT_FINITE, "field 'value' is not a finite double (%.*s)",
                            (int)(len > 40 ? 40 : len), text);
        p->record->value = v;
        return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len) {
        Parse *p = ctx;
        if (p->depth != 1 || (p->current != FIELD_SENSOR_ID && p->current != FIELD_TIMESTAMP))
                return type_mismatch(p, "a string");

        if (p->current == FIELD_SENSOR_ID) {
                if (len == 0)
                        return fail(p, RECORD_BAD_SENSOR_ID, "field 'sensor_id' is empty");
                if (len > SENSOR_ID_MAX)
                        return fail(p, RECORD_BAD_SENSOR_ID, "field 'sensor_id' is %zu bytes, over %d", len,
                                    SENSOR_ID_MAX);
                if (memchr(s, '\0', len))
                        return fail(p, RECORD_BAD_SENSOR_ID, "field 'sensor_id' contains a NUL character");
                memcpy(p->record->sensor_id, s, len);
                p->record->sensor_id[len] = '\0';
                p->record->sensor_id_len = len;
        } else if (timestamp_parse((const char *)s, len, &p->record->event_time_ms) < 0) {
                return fail(p, RECORD_BAD_TIMESTAMP, "field 'timestamp' is not an ISO-8601 date-time: \"%.*s\"",
                            (int)(len > 40 ? 40 : len), s);
        }
        return 1;
}

static int on_start_container(Parse *p, const char *what) {
        if (p->depth == 0 && p->closed)
                return fail(p, RECORD_TRAILING_GARBAGE, "data after the JSON object");
        if (!type_mismatch(p, what))
                return 0;
        p->depth++;
        p->current = FIELD_OTHER; /* keys below the top level are not ours */
        return 1;
}

static int on_start_map(void *ctx) {
        Parse *p = ctx;
        if (p->depth == 0 && !p->closed) { /* the record itself */
                p->depth = 1;
                return 1;
        }
        return on_start_container(p, "an object");
}

static int on_start_array(void *ctx) {
        return on_start_container(ctx, "an array");
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len) {
        Parse *p = ctx;
        if (p->depth != 1)
                return 1;
        p->current = FIELD_OTHER;
        for (int f = 0; f < _FIELD_MAX; f++)
                if (strlen(field_names[f]) == len && memcmp(field_names[f], key, len) == 0) {
                        if (p->seen & (1u << f))
                                return fail(p, RECORD_DUPLICATE_FIELD, "field '%s' appears twice", field_names[f]);
                        p->seen |= 1u << f;
                        p->current = (enum field)f;
                }
        return 1;
}

static int on_end_container(void *ctx) {
        Parse *p = ctx;
        p->depth--;
        if (p->depth == 0)
                p->closed = true;
        p->current = FIELD_OTHER;
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

RecordError record_parse_with_yajl(const void *data, size_t len, size_t max_bytes, Record *out, char *reason) {
        Parse p = { .record = out, .reason = reason, .current = FIELD_OTHER };
        Arena arena;
        arena.used = 0;
        yajl_alloc_funcs alloc = { arena_malloc, arena_realloc, arena_free, &arena };

        if (len == 0)
                return fail(&p, RECORD_EMPTY, "empty message"), p.error;
        if (max_bytes && len > max_bytes)
                return fail(&p, RECORD_TOO_LARGE, "message is %zu bytes, over the %zu-byte limit", len, max_bytes),
                       p.error;

        yajl_handle h = yajl_alloc(&callbacks, &alloc, &p);
        if (!h)
                return fail(&p, RECORD_NOT_JSON, "out of memory"), p.error;

        yajl_status st = yajl_parse(h, data, len);
        if (st == yajl_status_ok)
                st = yajl_complete_parse(h);
        if (st == yajl_status_error)
                syntax_error(&p, h, data, len);
        yajl_free(h);

        if (p.error != RECORD_OK)
                return p.error;
        for (int f = 0; f < _FIELD_MAX; f++)
                if (!(p.seen & (1u << f)))
                        return fail(&p, RECORD_MISSING_FIELD, "field '%s' is missing", field_names[f]), p.error;
        return RECORD_OK;
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

static void skip_ws(Scan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static bool scan_char(Scan *s, char c) {
        skip_ws(s);
        if (s->p < s->end && *s->p == c) {
                s->p++;
                return true;
        }
        return false;
}

/* Printable ASCII but the quote and the backslash: a string's plain bytes. */
static bool is_plain(unsigned char c) {
        return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* A string of printable ASCII without escapes; *text and *len its contents. */
static bool scan_plain_string(Scan *s, const char **text, size_t *len) {
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

static bool parse_fast(const char *data, size_t len, Record *out) {
        Scan s = { data, data + len };
        unsigned seen = 0;
        if (!scan_char(&s, '{'))
                return false;
        if (!scan_char(&s, '}'))
                for (;;) {
                        const char *key, *text;
                        size_t key_len, text_len;
                        if (!scan_plain_string(&s, &key, &key_len) || !scan_char(&s, ':'))
                                return false;
                        int field = key_len == 9 && memcmp(key, "sensor_id", 9) == 0   ? FIELD_SENSOR_ID
                                    : key_len == 5 && memcmp(key, "value", 5) == 0     ? FIELD_VALUE
                                    : key_len == 9 && memcmp(key, "timestamp", 9) == 0 ? FIELD_TIMESTAMP
                                                                                       : FIELD_OTHER;
                        if (field >= 0 && (seen & (1u << field)))
                                return false;
                        skip_ws(&s);
                        bool is_string = s.p < s.end && *s.p == '"';
                        if (is_string ? !scan_plain_string(&s, &text, &text_len) : !scan_number(&s, &text, &text_len))
                                return false;
                        if (field == FIELD_SENSOR_ID) {
                                if (!is_string || text_len == 0 || text_len > SENSOR_ID_MAX)
                                        return false;
                                memcpy(out->sensor_id, text, text_len);
                                out->sensor_id[text_len] = '\0';
                                out->sensor_id_len = text_len;
                        } else if (field == FIELD_VALUE) {
                                if (is_string || !parse_number_fast(text, text_len, &out->value))
                                        return false;
                        } else if (field == FIELD_TIMESTAMP) {
                                if (!is_string || timestamp_parse(text, text_len, &out->event_time_ms) < 0)
                                        return false;
                        }
                        if (field >= 0)
                                seen |= 1u << field;
                        if (scan_char(&s, '}'))
                                break;
                        if (!scan_char(&s, ','))
                                return false;
                }
        skip_ws(&s);
        return s.p == s.end && seen == (1u << _FIELD_MAX) - 1;
}

RecordError record_parse(const void *data, size_t len, size_t max_bytes, Record *out, char *reason) {
        if (len > 0 && (!max_bytes || len <= max_bytes) && parse_fast(data, len, out))
                return RECORD_OK;
        return record_parse_with_yajl(data, len, max_bytes, out, reason);
}
