/* Output formatting: shortest round-trip numbers and the JSON row layout. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "lib/text/emitter.h"
#include "lib/text/format_double.h"
#include "lib/text/row_json.h"
#include "lib/text/timestamp.h"

static void test_format_double(void **state) {
        char buf[32];
        struct {
                double v;
                const char *text;
        } cases[] = {
                { 23.5, "23.5" },     { 46.0, "46.0" },   { 34.75, "34.75" }, { 0.1 + 0.2, "0.30000000000000004" },
                { -4.0, "-4.0" },     { 0.0, "0.0" },     { 1e300, "1e+300" }, { 26.7, "26.7" },
                { 1.0 / 3.0, "0.3333333333333333" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                format_double(cases[i].v, buf);
                assert_string_equal(buf, cases[i].text);
                assert_true(strtod(buf, NULL) == cases[i].v);
        }
        /* round trip for awkward values, and the fast decimal path agrees
         * with the shortest %g form wherever both apply */
        for (double v = 0.001; v < 1e6; v *= 1.37) {
                format_double(v, buf);
                assert_true(strtod(buf, NULL) == v);
        }
        char slow[40];
        for (int i = -200000; i <= 200000; i += 7) {
                double v = i / 100.0;
                format_double(v, buf);
                assert_true(strtod(buf, NULL) == v);
                snprintf(slow, sizeof(slow), "%.15g", v);
                if (!strchr(slow, '.'))
                        strcat(slow, ".0");
                assert_string_equal(buf, slow);
        }
        format_double(-0.5, buf);
        assert_string_equal(buf, "-0.5");
        format_double(1e-5, buf);
        assert_string_equal(buf, "1e-05");
        format_double(123456.000001, buf);
        assert_string_equal(buf, "123456.000001");
}

/* The reference: the first of %.15g, %.16g, %.17g that strtod reads back,
 * ".0" added to integral values. */
static void reference_format(double v, char out[40]) {
        for (int precision = 15; precision <= 17; precision++) {
                snprintf(out, 40, "%.*g", precision, v);
                if (strtod(out, NULL) == v)
                        break;
        }
        if (!strpbrk(out, ".eEn"))
                strcat(out, ".0");
}

static void expect_reference(double v) {
        char buf[32], want[40];
        size_t n = format_double(v, buf);
        reference_format(v, want);
        if (strcmp(buf, want) != 0 || n != strlen(buf))
                fail_msg("%.17g: wrote %s, printf's shortest is %s", v, buf, want);
        if (strtod(buf, NULL) != v)
                fail_msg("%.17g: wrote %s, which reads back as %.17g", v, buf, strtod(buf, NULL));
}

/* format_double (Schubfach) gives printf's text exactly, and strtod reads
 * it back: random bit patterns around the rows' usual range and over every
 * finite double (subnormals too), averages and sums of two-decimal readings
 * as the rows carry them, powers of two and ten and their neighbours, and
 * the edges of the notations and of the doubles. */
static void test_format_double_as_printf(void **state) {
        uint64_t rng = 7;
        for (int i = 0; i < 1400000; i++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                /* exponents around [1e-5, 1e16), any significand; every
                 * fourth anywhere in the finite doubles */
                uint64_t exponent = i % 4 ? (uint64_t)(1023 - 18 + (int)((rng >> 40) % 74)) : (rng >> 40) % 2047;
                uint64_t bits = (exponent << 52) | (rng >> 12);
                double v;
                memcpy(&v, &bits, sizeof(v));
                expect_reference((rng & 1) ? -v : v);
        }
        double sum = 0;
        for (int i = 1; i <= 200000; i++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                sum += (double)((int64_t)((rng >> 33) % 10000) - 2000) / 100.0;
                expect_reference(sum);
                expect_reference(sum / i);
        }
        for (int e = -1022; e <= 1023; e++) /* at a power of two the interval below is half as wide */
                for (double two = ldexp(1.0, e), v = nextafter(two, 0); v <= two * 1.0000000000000005; v = nextafter(v, INFINITY))
                        expect_reference(v);
        for (int e = -20; e <= 60; e++) {
                double two = ldexp(1.0, e), ten = pow(10.0, e / 3);
                double values[] = { two, nextafter(two, 0), nextafter(two, INFINITY), ten, nextafter(ten, 0),
                                    nextafter(ten, INFINITY) };
                for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                        expect_reference(values[i]);
        }
        double edges[] = { 1e-4, nextafter(1e-4, 0), 1e15, nextafter(1e15, 0), 999999999999999.9, 9.9999999999999999,
                           0.99999999999999994, 99999.999999999985, 0.30000000000000004, 5e-324, 1e-323,
                           1.5e-323, 2.2250738585072009e-308, 2.2250738585072014e-308, DBL_MAX, -DBL_MAX,
                           9007199254740991.0, 9007199254740992.0, 9007199254740993.0, 1234567890123456.0,
                           123456789012345680.0, 1e16, 1e17, 1e22, 1e23, 2e-5, 0.0, -0.0, 5e-310 };
        for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
                expect_reference(edges[i]);
}

/* The reference row, as yajl_gen writes it. */
static size_t reference_row(yajl_gen g, uint64_t batch, const WindowRow *row, char *out) {
        char start[TIMESTAMP_MAX], end[TIMESTAMP_MAX], num[32];
        const unsigned char *text;
        size_t len;
        yajl_gen_clear(g);
        yajl_gen_reset(g, NULL);
        yajl_gen_map_open(g);
        yajl_gen_string(g, (const unsigned char *)"batch", 5);
        yajl_gen_integer(g, (long long)batch);
        yajl_gen_string(g, (const unsigned char *)"window", 6);
        yajl_gen_map_open(g);
        yajl_gen_string(g, (const unsigned char *)"start", 5);
        yajl_gen_string(g, (const unsigned char *)start, timestamp_format(row->start_ms, start));
        yajl_gen_string(g, (const unsigned char *)"end", 3);
        yajl_gen_string(g, (const unsigned char *)end, timestamp_format(row->end_ms, end));
        yajl_gen_map_close(g);
        yajl_gen_string(g, (const unsigned char *)"sensor_id", 9);
        yajl_gen_string(g, (const unsigned char *)row->sensor_id, row->sensor_id_len);
        const char *keys[] = { "avg_value", "max_value", "min_value", "count", "sum" };
        double values[] = { row->avg, row->max, row->min, (double)row->count, row->sum };
        for (int i = 0; i < 5; i++) {
                yajl_gen_string(g, (const unsigned char *)keys[i], strlen(keys[i]));
                if (i == 3)
                        yajl_gen_integer(g, (long long)row->count);
                else
                        yajl_gen_number(g, num, format_double(values[i], num));
        }
        yajl_gen_map_close(g);
        yajl_gen_get_buf(g, &text, &len);
        memcpy(out, text, len);
        return len;
}

/* row_json writes what yajl_gen writes, for sensor ids of every byte (each
 * control character escaped as yajl escapes it) and the longest id. */
static void test_json_row_as_yajl(void **state) {
        yajl_gen g = yajl_gen_alloc(NULL);
        char id[SENSOR_ID_MAX + 1], want[ROW_JSON_MAX], got[ROW_JSON_MAX];
        static TimestampCache times; /* half the rows through it: repeated and colliding bounds */
        uint64_t rng = 3;
        for (int i = 0; i < 20000; i++) {
                size_t len = i < 256 ? 1 : 1 + (size_t)(rng >> 40) % SENSOR_ID_MAX;
                for (size_t k = 0; k < len; k++) {
                        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                        id[k] = (char)(i < 256 ? i : 1 + (int)((rng >> 33) % 255));
                }
                WindowRow row = { .start_ms = 1729593300000 + (i % 40) * 300000 + (i % 7 ? 0 : i),
                                  .end_ms = 1729593900000 + (i % 40) * 300000, .sensor_id = id,
                                  .sensor_id_len = len, .count = (uint64_t)i * 7919, .sum = i / 3.0,
                                  .min = -i / 7.0, .max = i * 1.5, .avg = i / 9.0 };
                size_t want_len = reference_row(g, (uint64_t)i * 1000003, &row, want);
                int got_len = row_json(got, (uint64_t)i * 1000003, &row, i % 2 ? &times : NULL);
                if (got_len != (int)want_len || memcmp(got, want, want_len) != 0)
                        fail_msg("row %d: wrote %.*s, yajl writes %.*s", i, got_len, got, (int)want_len, want);
        }
        WindowRow too_long = { .sensor_id = id, .sensor_id_len = SENSOR_ID_MAX + 1 };
        assert_int_equal(row_json(got, 0, &too_long, &times), -EINVAL);
        yajl_gen_free(g);
}

/* Within a batch, JSON rows reach the file only as whole lines: what a
 * crash leaves ends with a newline, however many rows the batch had. */
static void test_json_whole_lines(void **state) {
        FILE *f = tmpfile();
        assert_non_null(f);
        Emitter *e = emitter_new(SINK_STDOUT, FORMAT_JSON, f);
        emitter_begin_batch(e, 7);
        char id[32];
        for (int i = 0; i < 2000; i++) {
                int len = snprintf(id, sizeof(id), "sensor_%d", i);
                WindowRow row = { .start_ms = 1729593300000, .end_ms = 1729593900000, .sensor_id = id,
                                  .sensor_id_len = (size_t)len, .count = 3, .sum = i / 7.0, .min = 1, .max = i,
                                  .avg = i / 21.0 };
                assert_int_equal(emitter_row(&row, e), 0);
                struct stat st;
                assert_int_equal(fstat(fileno(f), &st), 0);
                if (st.st_size > 0) { /* written mid-batch: whole lines only */
                        char last;
                        assert_int_equal(pread(fileno(f), &last, 1, st.st_size - 1), 1);
                        assert_int_equal(last, '\n');
                }
        }
        struct stat st;
        assert_int_equal(fstat(fileno(f), &st), 0);
        assert_true(st.st_size > 0); /* 2000 rows are more than one chunk */
        assert_int_equal(emitter_end_batch(e), 0);
        rewind(f);
        char line[ROW_JSON_MAX + 2];
        int lines = 0;
        while (fgets(line, sizeof(line), f)) {
                assert_non_null(strchr(line, '\n'));
                lines++;
        }
        assert_int_equal(lines, 2000);
        emitter_free(e);
        fclose(f);
}

static void test_json_row(void **state) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        Emitter *e = emitter_new(SINK_STDOUT, FORMAT_JSON, f);
        emitter_begin_batch(e, 3);
        WindowRow row = { .start_ms = 1729593300000LL, .end_ms = 1729593900250LL, .sensor_id = "s\"1\"",
                          .sensor_id_len = 4, .count = 2, .sum = 69.5, .min = 23.5, .max = 46.0, .avg = 34.75 };
        assert_int_equal(emitter_row(&row, e), 0);
        assert_int_equal(emitter_end_batch(e), 0);
        fclose(f);
        assert_string_equal(text, "{\"batch\":3,\"window\":{\"start\":\"2024-10-22T10:35:00Z\",\"end\":"
                                  "\"2024-10-22T10:45:00.250Z\"},\"sensor_id\":\"s\\\"1\\\"\",\"avg_value\":34.75,"
                                  "\"max_value\":46.0,\"min_value\":23.5,\"count\":2,\"sum\":69.5}\n");
        assert_int_equal(emitter_rows(e), 1);
        emitter_free(e);
        free(text);
}

static void test_table(void **state) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        Emitter *e = emitter_new(SINK_STDOUT, FORMAT_TABLE, f);
        emitter_begin_batch(e, 0);
        WindowRow row = { .start_ms = 0, .end_ms = 600000, .sensor_id = "sensor_001", .sensor_id_len = 10,
                          .count = 1, .sum = 1, .min = 1, .max = 1, .avg = 1 };
        emitter_row(&row, e);
        emitter_end_batch(e);
        fclose(f);
        assert_non_null(strstr(text, "Batch: 0\n"));
        assert_non_null(strstr(text, "|{1970-01-01T00:00:00Z, 1970-01-01T00:10:00Z}|sensor_001|      1.0|"));
        emitter_free(e);
        free(text);
}

static void test_sink_resolve(void **state) {
        unsetenv("INVOCATION_ID");
        unsetenv("JOURNAL_STREAM");
        assert_int_equal(sink_resolve(SINK_AUTO), SINK_STDOUT);
        setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
        assert_int_equal(sink_resolve(SINK_AUTO), SINK_JOURNAL);
        assert_int_equal(sink_resolve(SINK_STDOUT), SINK_STDOUT);
        unsetenv("INVOCATION_ID");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_double),
                cmocka_unit_test(test_format_double_as_printf),
                cmocka_unit_test(test_json_row_as_yajl),
                cmocka_unit_test(test_json_whole_lines),
                cmocka_unit_test(test_json_row),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_sink_resolve),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
