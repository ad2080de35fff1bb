/* The record parser: valid readings and every invalid class of semantics.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/input/record.h"

static RecordError parse(const char *json, Record *r, char *reason) {
        return record_parse(json, strlen(json), 65536, r, reason);
}

static void expect_error(const char *json, RecordError expected, const char *reason_part) {
        Record r;
        char reason[RECORD_REASON_MAX] = "";
        RecordError got = parse(json, &r, reason);
        if (got != expected)
                fail_msg("%s: expected %s, got %s (%s)", json, record_error_name(expected), record_error_name(got),
                         reason);
        if (reason_part && !strstr(reason, reason_part))
                fail_msg("%s: reason \"%s\" does not mention \"%s\"", json, reason, reason_part);
}

static void test_valid(void **state) {
        Record r;
        char reason[RECORD_REASON_MAX];
        assert_int_equal(parse("{\"sensor_id\": \"sensor_001\", \"value\": 23.5, \"timestamp\": \"2024-10-22T10:40:00\"}",
                               &r, reason),
                         RECORD_OK);
        assert_string_equal(r.sensor_id, "sensor_001");
        assert_int_equal(r.sensor_id_len, 10);
        assert_true(r.value == 23.5);
        assert_int_equal(r.event_time_ms, 1729593600000LL);
}

static void test_order_extras_and_numbers(void **state) {
        Record r;
        char reason[RECORD_REASON_MAX];
        /* any field order; unknown fields (also nested, also named like ours) ignored */
        assert_int_equal(parse("{\"timestamp\":\"2024-10-22T10:40:00Z\",\"unit\":\"C\",\"meta\":{\"value\":\"x\","
                               "\"sensor_id\":[1,2]},\"tags\":[{\"a\":null}],\"value\":-4,\"sensor_id\":\"s\"}",
                               &r, reason),
                         RECORD_OK);
        assert_string_equal(r.sensor_id, "s");
        assert_true(r.value == -4.0);
        assert_int_equal(parse("{\"sensor_id\":\"s\",\"value\":1e3,\"timestamp\":\"2024-10-22T10:40:00Z\"}", &r, reason),
                         RECORD_OK);
        assert_true(r.value == 1000.0);
        assert_int_equal(parse("{\"sensor_id\":\"s\",\"value\":123456789012345678901234567890,\"timestamp\":\"2024-10-22T10:40:00Z\"}",
                               &r, reason),
                         RECORD_OK);
        assert_true(r.value > 1.2e29);
        /* escapes are decoded and UTF-8 kept */
        assert_int_equal(parse("{\"sensor_id\":\"caf\\u00e9 \\\"1\\\"\",\"value\":0,\"timestamp\":\"2024-10-22T10:40:00Z\"}",
                               &r, reason),
                         RECORD_OK);
        assert_string_equal(r.sensor_id, "caf\xc3\xa9 \"1\"");
}

static void test_invalid_classes(void **state) {
        expect_error("", RECORD_EMPTY, "empty");
        expect_error("not json", RECORD_NOT_JSON, "not valid JSON");
        expect_error("{\"sensor_id\":\"s\",\"value\":1,", RECORD_NOT_JSON, NULL);
        expect_error("{\"sensor_id\":\"s\" \"value\":1}", RECORD_NOT_JSON, NULL);
        expect_error("{\"sensor_id\":\"s\",\"value\":NaN,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_NOT_JSON, NULL);
        expect_error("{\"sensor_id\":\"s\",\"value\":Infinity,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_NOT_JSON, NULL);
        expect_error("{\"sensor_id\":\"\xff\xfe\",\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_NOT_JSON, NULL);
        expect_error("{\"sensor_id\":\"s\",\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"} x", RECORD_TRAILING_GARBAGE,
                     "after");
        expect_error("{\"sensor_id\":\"s\",\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}{}", RECORD_TRAILING_GARBAGE,
                     NULL);
        expect_error("[{\"sensor_id\":\"s\"}]", RECORD_NOT_OBJECT, "array");
        expect_error("42", RECORD_NOT_OBJECT, "number");
        expect_error("\"text\"", RECORD_NOT_OBJECT, "string");
        expect_error("null", RECORD_NOT_OBJECT, "null");
        expect_error("{\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_MISSING_FIELD, "sensor_id");
        expect_error("{\"sensor_id\":\"s\",\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_MISSING_FIELD, "value");
        expect_error("{\"sensor_id\":\"s\",\"value\":1}", RECORD_MISSING_FIELD, "timestamp");
        expect_error("{}", RECORD_MISSING_FIELD, NULL);
        expect_error("{\"sensor_id\":\"s\",\"value\":1,\"value\":2,\"timestamp\":\"2024-10-22T10:40:00Z\"}",
                     RECORD_DUPLICATE_FIELD, "value");
        expect_error("{\"sensor_id\":\"s\",\"value\":\"23.5\",\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_WRONG_TYPE,
                     "'value' must be a number");
        expect_error("{\"sensor_id\":\"s\",\"value\":null,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_WRONG_TYPE, NULL);
        expect_error("{\"sensor_id\":\"s\",\"value\":true,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_WRONG_TYPE, NULL);
        expect_error("{\"sensor_id\":\"s\",\"value\":[1],\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_WRONG_TYPE, NULL);
        expect_error("{\"sensor_id\":7,\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_WRONG_TYPE, "sensor_id");
        expect_error("{\"sensor_id\":{\"id\":\"s\"},\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_WRONG_TYPE,
                     NULL);
        expect_error("{\"sensor_id\":\"s\",\"value\":1,\"timestamp\":1729593600}", RECORD_WRONG_TYPE, "timestamp");
        expect_error("{\"sensor_id\":\"\",\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_BAD_SENSOR_ID, "empty");
        expect_error("{\"sensor_id\":\"a\\u0000b\",\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_BAD_SENSOR_ID,
                     "NUL");
        expect_error("{\"sensor_id\":\"s\",\"value\":1e999,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_NOT_FINITE,
                     "finite");
        expect_error("{\"sensor_id\":\"s\",\"value\":-1e400,\"timestamp\":\"2024-10-22T10:40:00Z\"}", RECORD_NOT_FINITE, NULL);
        expect_error("{\"sensor_id\":\"s\",\"value\":1,\"timestamp\":\"2024-02-30T10:40:00Z\"}", RECORD_BAD_TIMESTAMP,
                     "2024-02-30");
        expect_error("{\"sensor_id\":\"s\",\"value\":1,\"timestamp\":\"yesterday\"}", RECORD_BAD_TIMESTAMP, NULL);
}

static void test_sensor_id_length(void **state) {
        char json[1024], id[SENSOR_ID_MAX + 2];
        Record r;
        memset(id, 'x', SENSOR_ID_MAX);
        id[SENSOR_ID_MAX] = '\0';
        snprintf(json, sizeof(json), "{\"sensor_id\":\"%s\",\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}", id);
        assert_int_equal(parse(json, &r, NULL), RECORD_OK);
        assert_int_equal(r.sensor_id_len, SENSOR_ID_MAX);
        strcat(id, "x");
        snprintf(json, sizeof(json), "{\"sensor_id\":\"%s\",\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}", id);
        expect_error(json, RECORD_BAD_SENSOR_ID, "257 bytes");
}

static void test_oversized(void **state) {
        const char *json = "{\"sensor_id\":\"s\",\"value\":1,\"timestamp\":\"2024-10-22T10:40:00Z\"}";
        Record r;
        char reason[RECORD_REASON_MAX];
        assert_int_equal(record_parse(json, strlen(json), strlen(json), &r, reason), RECORD_OK);
        assert_int_equal(record_parse(json, strlen(json), strlen(json) - 1, &r, reason), RECORD_TOO_LARGE);
        assert_non_null(strstr(reason, "over"));
}

/* Every number reads as strtod reads it, bit for bit: short decimals take
 * the parser's fast path, the rest strtod; both are checked here over
 * random mantissas, decimal points and exponents. */
static void test_numbers_as_strtod(void **state) {
        uint64_t rng = 42;
        for (int i = 0; i < 300000; i++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                uint64_t draw = rng >> 11;
                int digits = 1 + (int)(draw % 19), point = (int)((draw >> 5) % 21), exponent = (int)((draw >> 10) % 61) - 30;
                char number[64], json[160];
                int n = 0;
                if (draw & (1ull << 20))
                        number[n++] = '-';
                for (int d = 0; d < digits; d++) {
                        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                        if (d == point && d > 0)
                                number[n++] = '.';
                        number[n++] = (char)('0' + (d == 0 && digits > 1 && point != 1 ? 1 + (rng >> 33) % 9 : (rng >> 33) % 10));
                }
                if (draw & (1ull << 21))
                        n += snprintf(number + n, sizeof(number) - (size_t)n, "e%d", exponent);
                number[n] = '\0';
                snprintf(json, sizeof(json), "{\"sensor_id\":\"s\",\"value\":%s,\"timestamp\":\"2024-10-22T10:40:00\"}",
                         number);
                Record r;
                char reason[RECORD_REASON_MAX] = "";
                double expected = strtod(number, NULL);
                RecordError got = parse(json, &r, reason);
                if (got != RECORD_OK)
                        fail_msg("%s: %s (%s)", number, record_error_name(got), reason);
                if (memcmp(&r.value, &expected, sizeof(double)) != 0)
                        fail_msg("%s: read %.17g, strtod reads %.17g", number, r.value, expected);
        }
}

/* The fast path and yajl give the same answer, record and reason, for valid
 * records of many shapes and for random mutations of them (each byte
 * replaced, inserted or dropped from an alphabet of JSON's own characters). */
static void expect_same(const char *data, size_t len) {
        Record fast, slow;
        char fast_reason[RECORD_REASON_MAX] = "", slow_reason[RECORD_REASON_MAX] = "";
        RecordError a = record_parse(data, len, 65536, &fast, fast_reason);
        RecordError b = record_parse_with_yajl(data, len, 65536, &slow, slow_reason);
        if (a != b)
                fail_msg("%.*s: %s, yajl says %s", (int)len, data, record_error_name(a), record_error_name(b));
        if (a == RECORD_OK &&
            (fast.sensor_id_len != slow.sensor_id_len || memcmp(fast.sensor_id, slow.sensor_id, fast.sensor_id_len + 1) ||
             memcmp(&fast.value, &slow.value, sizeof(double)) || fast.event_time_ms != slow.event_time_ms))
                fail_msg("%.*s: the fast path read another record", (int)len, data);
        if (a != RECORD_OK && strcmp(fast_reason, slow_reason) != 0)
                fail_msg("%.*s: reason \"%s\", yajl's \"%s\"", (int)len, data, fast_reason, slow_reason);
}

static void test_fast_path_as_yajl(void **state) {
        static const char *const shapes[] = {
                "{\"sensor_id\": \"sensor_001\", \"value\": 23.5, \"timestamp\": \"2024-10-22T10:40:00\"}",
                "{\"timestamp\":\"2024-10-22T10:40:00.250+02:00\",\"value\":-1e3,\"sensor_id\":\"a\"}",
                " {\n\t\"value\" : 0 , \"site\": \"x\", \"n\": 12, \"sensor_id\":\"s\",\"timestamp\":\"2024-10-22T10:40:00Z\"}\r\n",
                "{\"sensor_id\":\"sensor_0001\",\"value\":12.25,\"timestamp\":\"2024-10-22T10:40:01.018Z\"}",
                /* one byte from a duplicate field, a nested value, a wrong type */
                "{\"sensor_id\":\"b\",\"valuf\":2,\"value\":1,\"timestamp\":\"2024-10-22T10:40:00\",\"x\":[1]}",
                "{\"sensor_id\":\"\",\"value\":\"1\",\"timestamp\":\"2024-10-22T10:40:00\",\"timestamq\":1}",
        };
        const size_t n_shapes = sizeof(shapes) / sizeof(shapes[0]);
        static const char alphabet[] = "{}[]\":,.-+eE0123456789 \t\nabcdefghijklmnopqrstuvwxyz_TZ\\/\x01\x7f\xc3\xa9";
        uint64_t rng = 99;
        char buf[256];
        for (size_t k = 0; k < n_shapes; k++)
                expect_same(shapes[k], strlen(shapes[k]));
        for (int i = 0; i < 300000; i++) {
                const char *shape = shapes[(size_t)i % n_shapes];
                size_t len = strlen(shape);
                memcpy(buf, shape, len);
                for (int m = 0; m < 1 + i % 3; m++) {
                        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                        size_t at = (size_t)(rng >> 33) % (len + 1);
                        char c = alphabet[(rng >> 20) % (sizeof(alphabet) - 1)];
                        switch ((rng >> 60) % 3) {
                        case 0: /* replace */
                                if (at < len)
                                        buf[at] = c;
                                break;
                        case 1: /* insert */
                                if (len + 1 < sizeof(buf)) {
                                        memmove(buf + at + 1, buf + at, len - at);
                                        buf[at] = c;
                                        len++;
                                }
                                break;
                        default: /* drop */
                                if (at < len) {
                                        memmove(buf + at, buf + at + 1, len - at - 1);
                                        len--;
                                }
                        }
                }
                expect_same(buf, len);
        }
}

static void test_error_names(void **state) {
        for (int e = 0; e < _RECORD_ERROR_MAX; e++)
                assert_string_not_equal(record_error_name((RecordError)e), "unknown");
        assert_string_equal(record_error_name(RECORD_WRONG_TYPE), "wrong_type");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),           cmocka_unit_test(test_order_extras_and_numbers),
                cmocka_unit_test(test_invalid_classes), cmocka_unit_test(test_sensor_id_length),
                cmocka_unit_test(test_oversized),       cmocka_unit_test(test_error_names),
                cmocka_unit_test(test_numbers_as_strtod),
                cmocka_unit_test(test_fast_path_as_yajl),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
