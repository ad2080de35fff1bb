/* Event-time parsing (zones, fractions, impossible dates) and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/text/timestamp.h"

#define T_2024_10_22_10_40 1729593600000LL

static int64_t parse(const char *s) {
        int64_t ms = 0;
        assert_int_equal(timestamp_parse(s, strlen(s), &ms), 0);
        return ms;
}

static void bad(const char *s) {
        int64_t ms = 42;
        assert_true(timestamp_parse(s, strlen(s), &ms) < 0);
        assert_int_equal(ms, 42);
}

static void test_plain_and_zones(void **state) {
        assert_int_equal(parse("2024-10-22T10:40:00"), T_2024_10_22_10_40); /* no zone: UTC */
        assert_int_equal(parse("2024-10-22T10:40:00Z"), T_2024_10_22_10_40);
        assert_int_equal(parse("2024-10-22t10:40:00z"), T_2024_10_22_10_40);
        assert_int_equal(parse("2024-10-22 10:40:00"), T_2024_10_22_10_40);
        assert_int_equal(parse("2024-10-22T12:40:00+02:00"), T_2024_10_22_10_40);
        assert_int_equal(parse("2024-10-22T05:10:00-05:30"), T_2024_10_22_10_40);
        assert_int_equal(parse("2024-10-23T00:10:00+13:30"), T_2024_10_22_10_40);
        assert_int_equal(parse("1970-01-01T00:00:00Z"), 0);
        assert_int_equal(parse("1969-12-31T23:59:59Z"), -1000);
}

static void test_fractions(void **state) {
        assert_int_equal(parse("2024-10-22T10:40:00.5"), T_2024_10_22_10_40 + 500);
        assert_int_equal(parse("2024-10-22T10:40:00.25Z"), T_2024_10_22_10_40 + 250);
        assert_int_equal(parse("2024-10-22T10:40:00.123Z"), T_2024_10_22_10_40 + 123);
        /* kept to the millisecond: further digits are truncated */
        assert_int_equal(parse("2024-10-22T10:40:00.123999Z"), T_2024_10_22_10_40 + 123);
        assert_int_equal(parse("2024-10-22T10:40:00.000000001Z"), T_2024_10_22_10_40);
        assert_int_equal(parse("2024-10-22T12:40:00.750+02:00"), T_2024_10_22_10_40 + 750);
}

static void test_calendar(void **state) {
        assert_int_equal(parse("2024-02-29T00:00:00Z") + 86400000, parse("2024-03-01T00:00:00Z"));
        assert_int_equal(parse("2000-02-29T00:00:00Z") + 86400000, parse("2000-03-01T00:00:00Z"));
        assert_int_equal(parse("2023-12-31T23:59:59Z") + 1000, parse("2024-01-01T00:00:00Z"));
        assert_int_equal(days_from_civil(1970, 1, 1), 0);
        for (int64_t d = -800000; d <= 800000; d += 997) {
                int64_t y;
                unsigned m, day;
                civil_from_days(d, &y, &m, &day);
                assert_int_equal(days_from_civil(y, m, day), d);
        }
}

static void test_bad_dates(void **state) {
        bad("");
        bad("2024-10-22");            /* a date-time is required */
        bad("2024-10-22T10:40");
        bad("2024-13-01T00:00:00");
        bad("2024-00-10T00:00:00");
        bad("2023-02-29T00:00:00");   /* not a leap year */
        bad("1900-02-29T00:00:00");
        bad("2024-04-31T00:00:00");
        bad("2024-10-22T24:00:00");
        bad("2024-10-22T10:60:00");
        bad("2024-10-22T10:40:60");
        bad("2024-10-22T10:40:00.");
        bad("2024-10-22T10:40:00+2:00");
        bad("2024-10-22T10:40:00+0200");
        bad("2024-10-22T10:40:00+24:00");
        bad("2024-10-22T10:40:00 UTC");
        bad("2024-10-22X10:40:00");
        bad("24-10-22T10:40:00");
        bad("0000-01-01T00:00:00");
        bad("9999-12-31T23:59:59.999-05:30"); /* year 10000 in UTC: found by the fuzz target */
        bad("0001-01-01T00:00:00+00:01");     /* year 0 in UTC */
        bad("2024-1-22T10:40:00");
        bad("yesterday");
}

/* The cache gives timestamp_format()'s text for every time, whether it holds
 * it, holds another in its slot, or is empty; ms 0 is a time like any. */
static void test_format_cached(void **state) {
        static TimestampCache cache;
        char want[TIMESTAMP_MAX], got[TIMESTAMP_MAX];
        uint64_t rng = 7;
        for (int i = 0; i < 100000; i++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                int64_t ms = i % 3 == 0 ? (int64_t)((rng >> 40) % 64) * 300000 /* repeats */
                                        : (int64_t)(rng >> 20) - (int64_t)(1ull << 43);
                size_t want_len = timestamp_format(ms, want), got_len = timestamp_format_cached(&cache, ms, got);
                assert_int_equal(got_len, want_len);
                assert_string_equal(got, want);
        }
        assert_int_equal(timestamp_format_cached(NULL, 0, got), 20);
        assert_string_equal(got, "1970-01-01T00:00:00Z");
}

static void test_format(void **state) {
        char buf[TIMESTAMP_MAX];
        timestamp_format(T_2024_10_22_10_40, buf);
        assert_string_equal(buf, "2024-10-22T10:40:00Z");
        timestamp_format(T_2024_10_22_10_40 - 5 * 60000 + 250, buf);
        assert_string_equal(buf, "2024-10-22T10:35:00.250Z");
        timestamp_format(-1, buf);
        assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
        timestamp_format(parse("9999-12-31T23:59:59.999Z"), buf);
        assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_and_zones), cmocka_unit_test(test_fractions),
                cmocka_unit_test(test_calendar),        cmocka_unit_test(test_bad_dates),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_format_cached),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
