/* timestamp: ISO-8601 event times to epoch milliseconds and back. */
#include "timestamp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "util.h"

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
        static const int64_t first = -62135596800, last = 253402300799; /* 0001-01-01, 9999-12-31T23:59:59 */
        if (secs < first || secs > last)
                return -EINVAL;
        *out_ms = secs * 1000 + millis;
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
