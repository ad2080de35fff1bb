/* format_double: Schubfach (R. Giulietti, "The Schubfach way to render
 * doubles", 2020) for every normal double; printf for the rest.
 *
 * Schubfach finds, with three 128-bit products, the shortest decimal in
 * the double's rounding interval, the closest to it when several have that
 * length (ties to even). That is the text of the first of %.15g, %.16g and
 * %.17g that reads back, which the rows have always carried: a decimal of
 * n <= 15 digits in the interval is also the double rounded to 15 digits
 * (half an ulp is less than half a unit in the 15th digit), and one of 16
 * or 17 digits is the double rounded to that many. So the digits are laid
 * out as %g lays them out at precision max(15, n). Two kinds of double
 * break that reasoning, and take printf's way so that no text changes: a
 * subnormal (its ulp is wider than the 15th digit, so its shortest decimal
 * may be shorter), and a power of two whose shortest has 16 digits (the
 * interval below it is half as wide, so the shortest may not be the
 * nearest 16-digit decimal, which then does not read back, and %.17g is
 * taken). */
#include "lib/text/format_double.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/util.h"
#include "lib/text/format_double_pow10.h"

__extension__ typedef unsigned __int128 u128;

#define C_MIN (1ull << 52) /* the smallest normal significand */
#define MASK_63 ((1ull << 63) - 1)

static const uint64_t pow10_u64[] = {
        1ull,
        10ull,
        100ull,
        1000ull,
        10000ull,
        100000ull,
        1000000ull,
        10000000ull,
        100000000ull,
        1000000000ull,
        10000000000ull,
        100000000000ull,
        1000000000000ull,
        10000000000000ull,
        100000000000000ull,
        1000000000000000ull,
        10000000000000000ull,
        100000000000000000ull,
        1000000000000000000ull,
        10000000000000000000ull,
};

/* floor(q log10 2), floor(q log10 2 + log10 3/4) and floor(e log2 10), by
 * fixed-point products exact over the doubles' range (section 9.7). The
 * shifts of negative products are arithmetic in every compiler sensord is
 * built with. */
static int flog10_pow2(int q) {
        return (int)(((int64_t)q * 661971961083LL) >> 41);
}

static int flog10_three_quarters_pow2(int q) {
        return (int)(((int64_t)q * 661971961083LL - 274743187321LL) >> 41);
}

static int flog2_pow10(int e) {
        return (int)(((int64_t)e * 913124641741LL) >> 38);
}

static uint64_t multiply_high(uint64_t a, uint64_t b) {
        return (uint64_t)(((u128)a * b) >> 64);
}

/* cp * g * 2^-127 rounded to odd, g = g1 2^63 + g0 (section 9.9). */
static uint64_t round_to_odd(const uint64_t g[2], uint64_t cp) {
        uint64_t x1 = multiply_high(g[1], cp), y0 = g[0] * cp, y1 = multiply_high(g[0], cp);
        uint64_t z = (y0 >> 1) + x1;
        return (y1 + (z >> 63)) | (((z & MASK_63) + MASK_63) >> 63);
}

/* f * 10^e */
typedef struct Decimal {
        uint64_t f;
        int e;
} Decimal;

/* The shortest decimal in the rounding interval of the normal double
 * c * 2^q (figure 7 of the paper). */
static Decimal to_decimal(int q, uint64_t c) {
        uint64_t out = c & 1, cb = c << 2, cbr = cb + 2, cbl;
        int k;
        if (c != C_MIN) {
                cbl = cb - 2;
                k = flog10_pow2(q);
        } else { /* at a power of two the interval below is half as wide */
                cbl = cb - 1;
                k = flog10_three_quarters_pow2(q);
        }
        int h = q + flog2_pow10(-k) + 2;
        const uint64_t *g = pow10_g[k - POW10_K_MIN];
        uint64_t vb = round_to_odd(g, cb << h), vbl = round_to_odd(g, cbl << h), vbr = round_to_odd(g, cbr << h);
        uint64_t s = vb >> 2;
        if (s >= 100) { /* one digit fewer, when exactly one of its two candidates is in the interval */
                uint64_t sp10 = 10 * multiply_high(s, 115292150460684698ull << 4), tp10 = sp10 + 10;
                bool upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
                if (upin != wpin)
                        return (Decimal){ upin ? sp10 : tp10, k };
        }
        uint64_t t = s + 1;
        bool uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
        if (uin != win)
                return (Decimal){ uin ? s : t, k };
        int64_t cmp = (int64_t)(vb - ((s + t) << 1)); /* both are in: the closer, ties to even */
        return (Decimal){ cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : t, k };
}

/* The first of %.15g, %.16g and %.17g that reads back, ".0" added to an
 * integral value. */
static size_t format_with_printf(double v, char buf[32]) {
        int n = 0;
        for (int precision = 15; precision <= 17; precision++) {
                n = snprintf(buf, 32, "%.*g", precision, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        if (!strpbrk(buf, ".eEn")) {
                buf[n++] = '.';
                buf[n++] = '0';
                buf[n] = '\0';
        }
        return (size_t)n;
}

/* The n digits of q (no trailing zeros) at decimal exponent e (-4 <= e <
 * 17), in %g's fixed notation, with ".0" when there is no fraction. */
static size_t write_fixed(char *buf, bool negative, uint64_t q, int n, int e) {
        char *out = buf;
        if (negative)
                *out++ = '-';
        if (e < 0) { /* 0.000ddd */
                memcpy(out, "0.000", 5);
                out = format_u64_padded(out + 1 - e, q, n);
        } else if (n > e + 1) { /* ddd.ddd */
                uint64_t unit = pow10_u64[n - e - 1];
                out = format_u64_padded(out, q / unit, e + 1);
                *out++ = '.';
                out = format_u64_padded(out, q % unit, n - e - 1);
        } else { /* ddd000.0 */
                out = format_u64_padded(out, q, n);
                memset(out, '0', (size_t)(e + 1 - n));
                out += e + 1 - n;
                memcpy(out, ".0", 2);
                out += 2;
        }
        *out = '\0';
        return (size_t)(out - buf);
}

/* Readings are short decimals, and so are their sums: the smallest p <= 4
 * for which v * 10^p rounds to an integer q whose decimal q * 10^-p reads
 * back as v (q / 10^p, both exact, rounds as strtod does). Below 10^15 the
 * product's own rounding cannot move it to another integer, and a double's
 * interval has room for one decimal of p places only, so this is the
 * shortest, with at most 15 digits: the first %g too. */
static bool short_decimal(double a, Decimal *d) {
        static const double pow10_double[] = { 1, 10, 100, 1000, 10000 };
        for (int p = 0; p <= 4; p++) {
                double x = a * pow10_double[p];
                if (!(x < 1e15))
                        return false;
                uint64_t q = (uint64_t)(x + 0.5);
                if ((double)q / pow10_double[p] == a) {
                        *d = (Decimal){ q, -p };
                        return q != 0;
                }
        }
        return false;
}

/* The n digits of q (no trailing zeros) at decimal exponent e, in %g's
 * exponent notation. */
static size_t write_exponent(char *buf, bool negative, uint64_t q, int n, int e) {
        char *out = buf;
        if (negative)
                *out++ = '-';
        uint64_t unit = pow10_u64[n - 1];
        *out++ = (char)('0' + q / unit);
        if (n > 1) {
                *out++ = '.';
                out = format_u64_padded(out, q % unit, n - 1);
        }
        *out++ = 'e';
        *out++ = e < 0 ? '-' : '+';
        unsigned magnitude = (unsigned)(e < 0 ? -e : e);
        out = format_u64_padded(out, magnitude, magnitude >= 100 ? 3 : 2);
        *out = '\0';
        return (size_t)(out - buf);
}

/* Schubfach's short decimals come as 17 digits, mostly trailing zeros:
 * halving steps take off up to 15 in four divisions. */
static void strip_trailing_zeros(Decimal *d) {
        for (int step = 8; step >= 1; step /= 2)
                if (d->f % pow10_u64[step] == 0) {
                        d->f /= pow10_u64[step];
                        d->e += step;
                }
        while (d->f % 10 == 0) {
                d->f /= 10;
                d->e++;
        }
}

size_t format_double(double v, char buf[32]) {
        uint64_t bits;
        memcpy(&bits, &v, sizeof(bits));
        bool negative = bits >> 63;
        uint64_t t = bits & (C_MIN - 1);
        int bq = (int)(bits >> 52) & 0x7ff;
        if (bq == 0 && t == 0)
                return write_fixed(buf, negative, 0, 1, 0);
        if (bq == 0 || bq == 0x7ff)
                return format_with_printf(v, buf); /* subnormal, inf, nan */
        int mq = 1075 - bq; /* v = c * 2^-mq */
        uint64_t c = C_MIN | t;
        Decimal d;
        bool integer = mq > 0 && mq < 53 && (c >> mq) << mq == c, short_one = false;
        if (integer)
                d = (Decimal){ c >> mq, 0 }; /* its own digits are the shortest */
        else if (!(short_one = short_decimal(negative ? -v : v, &d)))
                d = to_decimal(-mq, c);
        if (!short_one) /* a short decimal has no trailing zeros: one place fewer would have done */
                strip_trailing_zeros(&d);
        /* digits from the bit length: 1233 / 4096 is just above log10 2 */
        int n = ((64 - __builtin_clzll(d.f)) * 1233 >> 12) + 1;
        if (n > 1 && d.f < pow10_u64[n - 1])
                n--;
        if (c == C_MIN && n == 16 && !integer)
                return format_with_printf(v, buf);
        int e10 = d.e + n - 1, precision = n > 15 ? n : 15;
        if (e10 < -4 || e10 >= precision)
                return write_exponent(buf, negative, d.f, n, e10);
        return write_fixed(buf, negative, d.f, n, e10);
}
