/* timestamp: ISO-8601 event times to epoch milliseconds and back. */
#include "lib/text/timestamp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/util.h"

/* Howard Hinnant's civil calendar algorithms: exact for any int64 year range
 * we accept, no time_t or timezone involved. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        const int64_t era = (y >= 0 ? y : y - 399) / 400;
        const unsigned yoe = (unsigned)(y - era * 400);
        const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int64_t *year, unsigned *month, unsigned *day) {
        z += 719468;
        const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        const unsigned doe = (unsigned)(z - era * 146097);
        const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        const unsigned mp = (5 * doy + 2) / 153;
        const unsigned d = doy - (153 * mp + 2) / 5 + 1;
        const unsigned m = mp < 10 ? mp + 3 : mp - 9;
        *year = (int64_t)yoe + era * 400 + (m <= 2);
        *month = m;
        *day = d;
}

static bool is_leap(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
        static const unsigned char days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n digits. */
static bool digits(const char *s, size_t len, size_t *pos, unsigned n, unsigned *out) {
        unsigned v = 0;
        if (*pos + n > len)
                return false;
        for (unsigned i = 0; i < n; i++) {
                char c = s[*pos + i];
                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (unsigned)(c - '0');
        }
        *pos += n;
        *out = v;
        return true;
}

static bool expect(const char *s, size_t len, size_t *pos, char c) {
        if (*pos >= len || s[*pos] != c)
                return false;
        (*pos)++;
        return true;
}

int timestamp_parse(const char *s, size_t len, int64_t *out_ms) {
        size_t pos = 0;
        unsigned year, month, day, hour, minute, second, millis = 0;
        int offset_minutes = 0;

        if (!digits(s, len, &pos, 4, &year) || !expect(s, len, &pos, '-') ||
            !digits(s, len, &pos, 2, &month) || !expect(s, len, &pos, '-') ||
            !digits(s, len, &pos, 2, &day))
                return -EINVAL;
        if (pos >= len || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
                return -EINVAL;
        pos++;
        if (!digits(s, len, &pos, 2, &hour) || !expect(s, len, &pos, ':') ||
            !digits(s, len, &pos, 2, &minute) || !expect(s, len, &pos, ':') ||
            !digits(s, len, &pos, 2, &second))
                return -EINVAL;
        if (pos < len && s[pos] == '.') {
                unsigned n = 0;
                pos++;
                for (; pos < len && s[pos] >= '0' && s[pos] <= '9'; pos++, n++)
                        if (n < 3)
                                millis = millis * 10 + (unsigned)(s[pos] - '0');
                if (n == 0)
                        return -EINVAL;
                for (; n < 3; n++)
                        millis *= 10;
        }
        if (pos < len) {
                char z = s[pos];
                if (z == 'Z' || z == 'z') {
                        pos++;
                } else if (z == '+' || z == '-') {
                        unsigned oh, om;
                        pos++;
                        if (!digits(s, len, &pos, 2, &oh) || !expect(s, len, &pos, ':') ||
                            !digits(s, len, &pos, 2, &om) || oh > 23 || om > 59)
                                return -EINVAL;
                        offset_minutes = (int)(oh * 60 + om) * (z == '-' ? -1 : 1);
                } else {
                        return -EINVAL;
                }
        }
        if (pos != len)
                return -EINVAL;
        if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
            minute > 59 || second > 59)
                return -EINVAL;

        int64_t days = days_from_civil(year, month, day);
        int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - (int64_t)offset_minutes * 60;
        /* The instant itself must lie in years 0001-9999 UTC too (an offset can
         * push 9999-12-31T23:59 into year 10000), so that every event time
         * prints as RFC 3339 again. */
        if (secs < TIMESTAMP_FIRST_MS / 1000 || secs > TIMESTAMP_LAST_MS / 1000)
                return -EINVAL;
        *out_ms = secs * 1000 + millis;
        return 0;
}

bool timestamp_in_range(int64_t ms) {
        return ms >= TIMESTAMP_FIRST_MS && ms <= TIMESTAMP_LAST_MS;
}

/* Exact decimal arithmetic on the number's text, not a double: epoch_ns
 * values need 19 digits, more than a double holds, and epoch_s fractions
 * such as 0.001 have no exact binary form. The value is digits x 10^exp;
 * in milliseconds it is digits x 10^(exp + shift), rounded down (towards
 * the past, as an RFC 3339 fraction is truncated). */
int timestamp_parse_epoch(const char *text, size_t len, TimestampUnit unit, int64_t *out_ms) {
        static const int shift[] = { [TIMESTAMP_UNIT_S] = 3, [TIMESTAMP_UNIT_MS] = 0, [TIMESTAMP_UNIT_US] = -3,
                                     [TIMESTAMP_UNIT_NS] = -6 };
        static const int64_t pow10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000 };
        /* most times are plain integers: exact in an int64 below 19 digits */
        size_t start = len > 0 && text[0] == '-';
        if (len > start && len - start <= 18) {
                int64_t v = 0;
                size_t i = start;
                for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
                        v = v * 10 + (text[i] - '0');
                if (i == len && (len - start == 1 || text[start] != '0')) {
                        int s = shift[unit];
                        int64_t ms;
                        if (s >= 0)
                                ms = v <= INT64_MAX / pow10[s] ? v * pow10[s] : INT64_MAX;
                        else
                                ms = v / pow10[-s] + (start && v % pow10[-s] ? 1 : 0); /* down, as negated */
                        ms = start ? -ms : ms;
                        if (!timestamp_in_range(ms))
                                return -ERANGE;
                        *out_ms = ms;
                        return 0;
                }
        }
        const char *p = text, *end = text + len;
        char digits[40];
        size_t n = 0;
        long exp = 0;
        bool negative = p < end && *p == '-', inexact = false;

        p += negative;
        if (p == end || *p < '0' || *p > '9')
                return -EINVAL;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
                if (n || *p != '0') { /* leading zeros carry nothing */
                        if (n == sizeof(digits))
                                return -ERANGE; /* 40 integer digits: far out of range */
                        digits[n++] = *p;
                }
        if (p < end && *p == '.')
                for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
                        if (n == sizeof(digits)) { /* beyond 40 digits only whether any is not 0 counts */
                                inexact |= *p != '0';
                                continue;
                        }
                        if (n || *p != '0')
                                digits[n++] = *p;
                        exp--;
                }
        if (p < end && (*p == 'e' || *p == 'E')) {
                bool minus = ++p < end && *p == '-';
                long e = 0;
                p += p < end && (*p == '-' || *p == '+');
                if (p == end)
                        return -EINVAL;
                for (; p < end && *p >= '0' && *p <= '9'; p++)
                        if (e < 100000)
                                e = e * 10 + (*p - '0');
                exp += minus ? -e : e;
        }
        if (p != end)
                return -EINVAL;
        exp += shift[unit];

        /* the integer part: the digits before the decimal point at 10^exp */
        long keep = (long)n + exp;
        uint64_t ms = 0;
        if (keep > 16) /* 10^16 ms is beyond year 9999 */
                return n ? -ERANGE : (*out_ms = 0, 0);
        for (long i = 0; i < keep; i++)
                ms = ms * 10 + (uint64_t)(i < (long)n ? digits[i] - '0' : 0);
        for (long i = keep < 0 ? 0 : keep; i < (long)n; i++)
                inexact |= digits[i] != '0';
        int64_t v = negative ? -(int64_t)ms - (inexact ? 1 : 0) : (int64_t)ms;
        if (!timestamp_in_range(v))
                return -ERANGE;
        *out_ms = v;
        return 0;
}

size_t timestamp_format(int64_t ms, char buf[TIMESTAMP_MAX]) {
        int64_t secs = ms / 1000, millis = ms % 1000;
        if (millis < 0) {
                millis += 1000;
                secs--;
        }
        int64_t days = secs / 86400, sod = secs % 86400;
        if (sod < 0) {
                sod += 86400;
                days--;
        }
        int64_t year;
        unsigned month, day;
        civil_from_days(days, &year, &month, &day);

        char *p = buf;
        if (year < 0 || year > 9999) /* outside RFC 3339; only reachable from window arithmetic */
                return (size_t)snprintf(buf, TIMESTAMP_MAX, "%+" PRId64 "-%02u-%02uT%02u:%02u:%02uZ", year, month,
                                        day, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
        p = format_u64_padded(p, (uint64_t)year, 4);
        *p++ = '-';
        p = format_u64_padded(p, month, 2);
        *p++ = '-';
        p = format_u64_padded(p, day, 2);
        *p++ = 'T';
        p = format_u64_padded(p, (uint64_t)(sod / 3600), 2);
        *p++ = ':';
        p = format_u64_padded(p, (uint64_t)(sod / 60 % 60), 2);
        *p++ = ':';
        p = format_u64_padded(p, (uint64_t)(sod % 60), 2);
        if (millis) {
                *p++ = '.';
                p = format_u64_padded(p, (uint64_t)millis, 3);
        }
        *p++ = 'Z';
        *p = '\0';
        return (size_t)(p - buf);
}

size_t timestamp_format_cached(TimestampCache *cache, int64_t ms, char buf[TIMESTAMP_MAX]) {
        if (!cache)
                return timestamp_format(ms, buf);
        /* window bounds are multiples of the slide: a multiplicative hash
         * spreads them over the slots */
        size_t slot = (size_t)(((uint64_t)ms * 0x9E3779B97F4A7C15ull) >> 59); /* 32 slots */
        if (cache->len[slot] == 0 || cache->ms[slot] != ms) {
                cache->len[slot] = (uint8_t)timestamp_format(ms, cache->text[slot]);
                cache->ms[slot] = ms;
        }
        memcpy(buf, cache->text[slot], (size_t)cache->len[slot] + 1);
        return cache->len[slot];
}
