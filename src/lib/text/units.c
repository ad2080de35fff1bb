/* units: durations and sizes as humans write them. */
#include "lib/base/util.h"
#include "lib/text/units.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct unit {
        const char *name;
        uint64_t factor;
};

static const struct unit duration_units[] = {
        { "ms", 1 },           { "msec", 1 },          { "millisecond", 1 },   { "milliseconds", 1 },
        { "s", 1000 },         { "sec", 1000 },        { "secs", 1000 },       { "second", 1000 },
        { "seconds", 1000 },   { "m", 60000 },         { "min", 60000 },       { "mins", 60000 },
        { "minute", 60000 },   { "minutes", 60000 },   { "h", 3600000 },       { "hr", 3600000 },
        { "hour", 3600000 },   { "hours", 3600000 },   { "d", 86400000 },      { "day", 86400000 },
        { "days", 86400000 },  { "w", 604800000 },     { "week", 604800000 },  { "weeks", 604800000 },
};

static const struct unit size_units[] = {
        { "", 1 },
        { "B", 1 },
        { "K", 1024 },
        { "KiB", 1024 },
        { "kB", 1000 },
        { "KB", 1000 },
        { "M", 1024 * 1024 },
        { "MiB", 1024 * 1024 },
        { "MB", 1000 * 1000 },
        { "G", 1024 * 1024 * 1024 },
        { "GiB", 1024 * 1024 * 1024 },
        { "GB", 1000 * 1000 * 1000 },
};

static const struct unit *find_unit(const struct unit *units, size_t n, const char *name, size_t len,
                                    bool case_sensitive) {
        for (size_t i = 0; i < n; i++) {
                if (strlen(units[i].name) != len)
                        continue;
                if (case_sensitive ? strncmp(units[i].name, name, len) == 0
                                   : strncasecmp(units[i].name, name, len) == 0)
                        return &units[i];
        }
        return NULL;
}

static const char *skip_space(const char *p) {
        while (isspace((unsigned char)*p))
                p++;
        return p;
}

/* Reads "digits[.digits]" as an integer part and a fraction numerator over
 * 10^frac_digits, so that fractional units stay exact. */
static int read_number(const char **p, uint64_t *whole, uint64_t *frac, unsigned *frac_digits) {
        const char *s = *p;
        uint64_t w = 0, f = 0;
        unsigned fd = 0;

        if (!isdigit((unsigned char)*s))
                return -EINVAL;
        for (; isdigit((unsigned char)*s); s++) {
                if (w > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                w = w * 10 + (uint64_t)(*s - '0');
        }
        if (*s == '.') {
                s++;
                if (!isdigit((unsigned char)*s))
                        return -EINVAL;
                for (; isdigit((unsigned char)*s); s++) {
                        if (fd >= 9)
                                return -ERANGE; /* finer than a nanosecond-ish: not meaningful here */
                        f = f * 10 + (uint64_t)(*s - '0');
                        fd++;
                }
        }
        *whole = w;
        *frac = f;
        *frac_digits = fd;
        *p = s;
        return 0;
}

int parse_duration_ms(const char *text, int64_t *out_ms, const char **error) {
        const char *p = skip_space(text);
        uint64_t total = 0;
        bool any = false;

        if (strcmp(p, "0") == 0) {
                *out_ms = 0;
                return 0;
        }
        while (*p) {
                uint64_t whole, frac, pow10 = 1;
                unsigned frac_digits;
                int r = read_number(&p, &whole, &frac, &frac_digits);
                if (r == -ERANGE) {
                        *error = "number out of range";
                        return -EINVAL;
                }
                if (r < 0) {
                        *error = "expected a number followed by a unit (ms, s, min, h, d), e.g. \"5 minutes\"";
                        return -EINVAL;
                }
                p = skip_space(p);
                const char *u = p;
                while (isalpha((unsigned char)*p))
                        p++;
                if (p == u) {
                        *error = "missing unit (ms, s, min, h, d), e.g. \"30 s\"";
                        return -EINVAL;
                }
                const struct unit *unit =
                        find_unit(duration_units, ARRAY_SIZE(duration_units), u, (size_t)(p - u), false);
                if (!unit) {
                        *error = "unknown unit (use ms, s, min, h, d or w)";
                        return -EINVAL;
                }
                for (unsigned i = 0; i < frac_digits; i++)
                        pow10 *= 10;
                if (whole > (uint64_t)INT64_MAX / unit->factor) {
                        *error = "duration out of range";
                        return -EINVAL;
                }
                uint64_t frac_ms = frac * unit->factor;
                if (frac_ms % pow10 != 0) {
                        *error = "not a whole number of milliseconds";
                        return -EINVAL;
                }
                uint64_t term = whole * unit->factor + frac_ms / pow10;
                if (term > (uint64_t)INT64_MAX - total) {
                        *error = "duration out of range";
                        return -EINVAL;
                }
                total += term;
                any = true;
                p = skip_space(p);
        }
        if (!any) {
                *error = "empty duration";
                return -EINVAL;
        }
        *out_ms = (int64_t)total;
        return 0;
}

int parse_size(const char *text, uint64_t *out_bytes, const char **error) {
        const char *p = skip_space(text);
        uint64_t whole, frac;
        unsigned frac_digits;
        int r = read_number(&p, &whole, &frac, &frac_digits);

        if (r == -ERANGE) {
                *error = "number out of range";
                return -ERANGE;
        }
        if (r < 0 || frac_digits > 0) {
                *error = "expected a whole number of bytes with an optional unit (B, KiB, MiB, GiB, kB, MB, GB)";
                return -EINVAL;
        }
        p = skip_space(p);
        const char *u = p;
        while (isalpha((unsigned char)*p))
                p++;
        const struct unit *unit = find_unit(size_units, ARRAY_SIZE(size_units), u, (size_t)(p - u), true);
        if (!unit || *skip_space(p) != '\0') {
                *error = "unknown size unit (use B, KiB, MiB, GiB, kB, MB or GB)";
                return -EINVAL;
        }
        if (whole > UINT64_MAX / unit->factor) {
                *error = "size out of range";
                return -ERANGE;
        }
        *out_bytes = whole * unit->factor;
        return 0;
}

char *format_duration(int64_t ms, char *buf, size_t size) {
        static const struct {
                int64_t factor;
                const char *suffix;
        } steps[] = { { 86400000, "d" }, { 3600000, "h" }, { 60000, "min" }, { 1000, "s" } };

        for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
                if (ms != 0 && ms % steps[i].factor == 0) {
                        snprintf(buf, size, "%" PRId64 " %s", ms / steps[i].factor, steps[i].suffix);
                        return buf;
                }
        if (ms == 0)
                snprintf(buf, size, "0");
        else
                snprintf(buf, size, "%" PRId64 " ms", ms);
        return buf;
}

char *format_size(uint64_t bytes, char *buf, size_t size) {
        static const struct {
                uint64_t factor;
                const char *suffix;
        } steps[] = { { 1024ull * 1024 * 1024, "GiB" }, { 1024 * 1024, "MiB" }, { 1024, "KiB" } };

        for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
                if (bytes != 0 && bytes % steps[i].factor == 0) {
                        snprintf(buf, size, "%" PRIu64 " %s", bytes / steps[i].factor, steps[i].suffix);
                        return buf;
                }
        snprintf(buf, size, "%" PRIu64 " B", bytes);
        return buf;
}
