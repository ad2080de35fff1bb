/* format_double: exact integer arithmetic for |v| in [1e-4, 1e15), printf
 * for the rest.
 *
 * v = M * 2^-k exactly (M the 53-bit significand). Its correct rounding to n
 * significant digits is q = round(M * 10^p / 2^k) with p = n - 1 - e, where
 * 10^e <= |v| < 10^(e+1): one 128-bit multiplication and a shift with
 * round-half-even, which is what printf's %.<n>g computes with bignums.
 * The decimal q * 10^-p reads back as v exactly when it lies within half a
 * unit in the last place of v, which is again an integer comparison. So the
 * result is the same text as the %.15g/%.16g/%.17g loop with strtod checks,
 * at a fraction of the cost (the avg and sum of most rows need it). */
#include "format_double.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

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

static u128 pow10_u128(int p) {
        return p < 20 ? pow10_u64[p] : (u128)pow10_u64[19] * pow10_u64[p - 19];
}

/* The candidate with p decimals of M * 2^-k: q = M * 10^p / 2^k rounded half
 * to even, and whether q * 10^-p reads back as M * 2^-k (within half an ulp,
 * a tie going to the even significand; below a power of two the next double
 * down is half as far). */
static bool candidate(uint64_t m, int p, int k, uint64_t *out) {
        u128 scale = pow10_u128(p), n = (u128)m * scale;
        u128 q = n >> k, rest = n & (((u128)1 << k) - 1), half = (u128)1 << (k - 1);
        if (rest > half || (rest == half && (q & 1)))
                q++;
        *out = (uint64_t)q;
        u128 scaled_q = q << k;
        bool below = scaled_q < n;
        u128 distance = (below ? n - scaled_q : scaled_q - n) * 2; /* against twice the half ulp: scale */
        if (below && m == (1ull << 52))
                distance *= 2;
        return distance < scale || (distance == scale && (m & 1) == 0);
}

/* The general path: the first precision that round-trips, through printf
 * and strtod. */
static size_t format_with_printf(double v, char buf[32]) {
        int n = 0;
        for (int precision = 15; precision <= 17; precision++) {
                n = snprintf(buf, 32, "%.*g", precision, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        return (size_t)n;
}

/* Digits of q (n of them, trailing zeros dropped) at decimal exponent e, in
 * %g's fixed notation. */
static size_t write_fixed(char *buf, bool negative, uint64_t q, int n, int e) {
        static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                    "8081828384858687888990919293949596979899";
        char digits[20];
        while (n > 4 && q % 10000 == 0) { /* short decimals are mostly trailing zeros */
                q /= 10000;
                n -= 4;
        }
        while (n > 1 && q % 10 == 0) {
                q /= 10;
                n--;
        }
        int left = n;
        for (; left >= 2; left -= 2, q /= 100)
                memcpy(digits + left - 2, pairs + 2 * (q % 100), 2);
        if (left == 1)
                digits[0] = (char)('0' + q);
        char *out = buf;
        if (negative)
                *out++ = '-';
        if (e < 0) {
                *out++ = '0';
                *out++ = '.';
                for (int i = -1; i > e; i--)
                        *out++ = '0';
                memcpy(out, digits, (size_t)n);
                out += n;
        } else {
                for (int i = 0; i <= e; i++)
                        *out++ = i < n ? digits[i] : '0';
                *out++ = '.';
                if (n > e + 1) {
                        memcpy(out, digits + e + 1, (size_t)(n - e - 1));
                        out += n - e - 1;
                } else {
                        *out++ = '0';
                }
        }
        *out = '\0';
        return (size_t)(out - buf);
}

size_t format_double(double v, char buf[32]) {
        double a = fabs(v);
        if (a >= 1e-4 && a < 1e15) {
                uint64_t bits;
                memcpy(&bits, &v, sizeof(bits));
                uint64_t m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
                int k = 1075 - (int)((bits >> 52) & 0x7ff); /* 3 ... 66 in this range */
                /* e exactly. From 1 up the powers of ten are doubles, so the
                 * comparisons are exact; below, their reciprocals are not,
                 * and 10^16 <= floor(|v| * 10^(16 - e)) < 10^17 settles it. */
                int e = 0;
                while (e < 14 && a >= (double)pow10_u64[e + 1])
                        e++;
                while (e > -4 && a < (e >= 0 ? (double)pow10_u64[e] : 1.0 / (double)pow10_u64[-e]))
                        e--;
                for (int tries = 0; a < 1 && tries < 2; tries++) {
                        uint64_t floor17 = (uint64_t)(((u128)m * pow10_u128(16 - e)) >> k);
                        if (floor17 >= pow10_u64[17] && e < 14)
                                e++;
                        else if (floor17 < pow10_u64[16] && e > -4)
                                e--;
                }
                for (int n = 15; n <= 17; n++) {
                        int p = n - 1 - e;
                        uint64_t q;
                        if (!candidate(m, p, k, &q))
                                continue;
                        if (q < pow10_u64[n])
                                return write_fixed(buf, v < 0, q, n, e);
                        if (e < 14) /* rounded up to 10^n: one digit, one place up */
                                return write_fixed(buf, v < 0, q / 10, n, e + 1);
                        break;
                }
        }
        size_t n = format_with_printf(v, buf);
        if (isfinite(v) && !strpbrk(buf, ".eEn")) {
                buf[n++] = '.';
                buf[n++] = '0';
                buf[n] = '\0';
        }
        return n;
}
