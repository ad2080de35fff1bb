/* record: the entry points of the record parser, and its fast path for
 * flat records of plain strings and numbers; everything else goes to
 * yajl's path (record_yajl.c). */
#include "lib/input/record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/input/record_internal.h"
#include "lib/text/timestamp.h"

bool record_number_fast(const char *text, size_t len, double *out) {
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
                                if (is_string || !record_number_fast(text, text_len, &f->out->value))
                                        return false;
                        } else if (field == RECORD_TIMESTAMP) {
                                if (is_string != timestamp_is_string(f->shape) ||
                                    (is_string ? timestamp_parse(text, text_len, &f->out->event_time_ms)
                                               : record_epoch_ms(f->shape, text, text_len, &f->out->event_time_ms)) < 0)
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
        return record_take_from_message(shape, m, out, NULL) == RECORD_OK;
}

RecordError record_parse_message(const RecordShape *shape, const RecordMessage *m, size_t max_bytes, Record *out,
                                 char *reason) {
        if (m->len > 0 && (!max_bytes || m->len <= max_bytes) && parse_fast(shape, m, out))
                return RECORD_OK;
        return record_parse_message_with_yajl(shape, m, max_bytes, out, reason);
}

RecordError record_parse(const void *data, size_t len, size_t max_bytes, Record *out, char *reason) {
        RecordMessage m = { .value = data, .len = len, .timestamp_ms = -1 };
        return record_parse_message(&record_default_shape, &m, max_bytes, out, reason);
}
