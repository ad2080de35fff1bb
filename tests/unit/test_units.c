/* Durations and sizes as written in the configuration file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/text/units.h"

static int64_t duration(const char *text) {
        int64_t ms = -1;
        const char *error = NULL;
        assert_int_equal(parse_duration_ms(text, &ms, &error), 0);
        return ms;
}

static void duration_fails(const char *text) {
        int64_t ms = 12345;
        const char *error = NULL;
        assert_true(parse_duration_ms(text, &ms, &error) < 0);
        assert_non_null(error);
        assert_int_equal(ms, 12345);
}

static void test_durations(void **state) {
        assert_int_equal(duration("10 minutes"), 600000);
        assert_int_equal(duration("5m"), 300000);
        assert_int_equal(duration("30 s"), 30000);
        assert_int_equal(duration("500ms"), 500);
        assert_int_equal(duration("1 hour"), 3600000);
        assert_int_equal(duration("1h 30min"), 5400000);
        assert_int_equal(duration("0.5 s"), 500);
        assert_int_equal(duration("1.5 minutes"), 90000);
        assert_int_equal(duration("2 days"), 172800000);
        assert_int_equal(duration("0"), 0);
        assert_int_equal(duration("0 s"), 0);
        assert_int_equal(duration("  7 Seconds  "), 7000);
}

static void test_bad_durations(void **state) {
        duration_fails("");
        duration_fails("10");          /* a unit is required */
        duration_fails("ten minutes");
        duration_fails("5 fortnights");
        duration_fails("-5 s");
        duration_fails("0.0005 s");    /* below a millisecond */
        duration_fails("1.");
        duration_fails("99999999999999999999 s");
        duration_fails("9999999999999 weeks");
}

static void test_sizes(void **state) {
        uint64_t b;
        const char *error;
        assert_int_equal(parse_size("10240", &b, &error), 0);
        assert_int_equal(b, 10240);
        assert_int_equal(parse_size("10 KiB", &b, &error), 0);
        assert_int_equal(b, 10240);
        assert_int_equal(parse_size("64kB", &b, &error), 0);
        assert_int_equal(b, 64000);
        assert_int_equal(parse_size("1 MiB", &b, &error), 0);
        assert_int_equal(b, 1048576);
        assert_int_equal(parse_size("2G", &b, &error), 0);
        assert_int_equal(b, 2147483648u);
        assert_int_equal(parse_size("7 B", &b, &error), 0);
        assert_int_equal(b, 7);

        assert_true(parse_size("10 kib", &b, &error) < 0); /* units are case-sensitive: kB != KiB */
        assert_true(parse_size("1.5 MiB", &b, &error) < 0);
        assert_true(parse_size("-1", &b, &error) < 0);
        assert_true(parse_size("KiB", &b, &error) < 0);
        assert_true(parse_size("10 KiB extra", &b, &error) < 0);
        assert_true(parse_size("99999999999 GiB", &b, &error) < 0);
}

static void test_format_duration(void **state) {
        char buf[32];
        assert_string_equal(format_duration(600000, buf, sizeof(buf)), "10 min");
        assert_string_equal(format_duration(1500, buf, sizeof(buf)), "1500 ms");
        assert_string_equal(format_duration(86400000, buf, sizeof(buf)), "1 d");
        assert_string_equal(format_duration(0, buf, sizeof(buf)), "0");
        int64_t back;
        const char *error;
        assert_int_equal(parse_duration_ms(format_duration(7200000, buf, sizeof(buf)), &back, &error), 0);
        assert_int_equal(back, 7200000);
}

/* Every duration and size formats to a text that parses back to itself. */
static void test_format_round_trip(void **state) {
        char buf[48];
        const char *error;
        static const int64_t ms[] = { 1, 999, 1000, 1500, 60000, 90000, 3600000, 5400000, 86400000, 90061001, INT64_MAX / 2 };
        for (size_t i = 0; i < sizeof(ms) / sizeof(*ms); i++) {
                int64_t back = -1;
                assert_int_equal(parse_duration_ms(format_duration(ms[i], buf, sizeof(buf)), &back, &error), 0);
                assert_int_equal(back, ms[i]);
        }
        static const uint64_t bytes[] = { 0, 1, 1000, 1023, 1024, 10240, 65536, 1048577, 10485760, 1073741824, 3ull << 30 };
        for (size_t i = 0; i < sizeof(bytes) / sizeof(*bytes); i++) {
                uint64_t back = 7;
                assert_int_equal(parse_size(format_size(bytes[i], buf, sizeof(buf)), &back, &error), 0);
                assert_int_equal(back, bytes[i]);
        }
        assert_string_equal(format_size(10240, buf, sizeof(buf)), "10 KiB");
        assert_string_equal(format_size(10485760, buf, sizeof(buf)), "10 MiB");
        assert_string_equal(format_size(1000, buf, sizeof(buf)), "1000 B");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_durations),
                cmocka_unit_test(test_bad_durations),
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_format_duration),
                cmocka_unit_test(test_format_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
