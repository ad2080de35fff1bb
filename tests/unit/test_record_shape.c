/* The record parser in configured shapes: field paths, epoch timestamps,
 * the Kafka key and timestamp, their reasons, and the fast path's agreement
 * with yajl for them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/input/record.h"

static RecordShape make_shape(const char *sensor_id, const char *value, const char *timestamp, TimestampFormat format) {
        RecordShape shape;
        char error[RECORD_REASON_MAX];
        record_shape_default(&shape);
        if (record_path_set(&shape, RECORD_SENSOR_ID, sensor_id, error) < 0 ||
            record_path_set(&shape, RECORD_VALUE, value, error) < 0 ||
            record_path_set(&shape, RECORD_TIMESTAMP, timestamp, error) < 0)
                fail_msg("shape %s/%s/%s: %s", sensor_id, value, timestamp, error);
        shape.timestamp_format = format;
        return shape;
}

/* Parses json (with an optional key and Kafka timestamp) and checks the
 * answer of both paths: the same error class, and reason_part in the
 * reason. Returns the record. */
static Record expect(const RecordShape *shape, const char *json, const char *key, int64_t kafka_ms,
                     RecordError expected, const char *reason_part) {
        RecordMessage m = { .value = json, .len = strlen(json), .key = key, .key_len = key ? strlen(key) : 0,
                            .timestamp_ms = kafka_ms };
        Record r, y;
        char reason[RECORD_REASON_MAX] = "", yajl_reason[RECORD_REASON_MAX] = "";
        RecordError got = record_parse_message(shape, &m, 65536, &r, reason);
        RecordError yajl = record_parse_message_with_yajl(shape, &m, 65536, &y, yajl_reason);
        if (got != expected || yajl != expected)
                fail_msg("%s: expected %s, got %s (%s), yajl %s", json, record_error_name(expected),
                         record_error_name(got), reason, record_error_name(yajl));
        if (reason_part && !strstr(reason, reason_part))
                fail_msg("%s: reason \"%s\" does not mention \"%s\"", json, reason, reason_part);
        if (got != RECORD_OK && strcmp(reason, yajl_reason) != 0)
                fail_msg("%s: reason \"%s\", yajl's \"%s\"", json, reason, yajl_reason);
        return r;
}

static const char device[] =
        "{\"device\": {\"id\": \"dev-0042\", \"site\": \"north\"}, \"metrics\": {\"temp\": 21.5, \"hum\": 40.2}, "
        "\"ts\": 1729593600123}";

static void test_default_shape_is_the_paths(void **state) {
        RecordShape a, b = make_shape("sensor_id", "value", "timestamp", TIMESTAMP_RFC3339);
        record_shape_default(&a);
        assert_memory_equal(&a, &b, sizeof(a));
}

static void test_nested_epoch_ms(void **state) {
        RecordShape s = make_shape("device.id", "metrics.temp", "ts", TIMESTAMP_EPOCH_MS);
        Record r = expect(&s, device, NULL, -1, RECORD_OK, NULL);
        assert_string_equal(r.sensor_id, "dev-0042");
        assert_true(r.value == 21.5);
        assert_int_equal(r.event_time_ms, 1729593600123LL);
        /* order, deeper unknown objects and arrays elsewhere do not matter */
        r = expect(&s, "{\"ts\":5,\"x\":{\"y\":{\"z\":[1,{\"a\":null}]}},\"metrics\":{\"temp\":-1},\"device\":{\"id\":\"d\"}}",
                   NULL, -1, RECORD_OK, NULL);
        assert_int_equal(r.event_time_ms, 5);
        /* the same names at another depth are not the field */
        expect(&s, "{\"id\":\"x\",\"temp\":1,\"device\":{\"metrics\":{\"temp\":2}},\"ts\":1}", NULL, -1,
               RECORD_MISSING_FIELD, "field 'device.id' is missing");
}

static void test_reasons_name_the_path(void **state) {
        RecordShape s = make_shape("device.id", "metrics.temp", "ts", TIMESTAMP_EPOCH_MS);
        expect(&s, "{\"device\":{\"id\":\"d\"},\"metrics\":{\"temp\":\"21.5\"},\"ts\":1}", NULL, -1, RECORD_WRONG_TYPE,
               "field 'metrics.temp' must be a number, got a string");
        expect(&s, "{\"device\":\"d\",\"metrics\":{\"temp\":1},\"ts\":1}", NULL, -1, RECORD_WRONG_TYPE,
               "field 'device.id': 'device' must be an object, got a string");
        expect(&s, "{\"device\":[{\"id\":\"d\"}],\"metrics\":{\"temp\":1},\"ts\":1}", NULL, -1, RECORD_WRONG_TYPE,
               "'device' must be an object, got an array");
        expect(&s, "{\"device\":{\"id\":\"d\"},\"metrics\":{\"temp\":1},\"ts\":\"2024-10-22T10:40:00\"}", NULL, -1,
               RECORD_WRONG_TYPE, "field 'ts' must be a number, got a string");
        expect(&s, "{\"device\":{\"id\":\"d\"},\"metrics\":{\"temp\":1}}", NULL, -1, RECORD_MISSING_FIELD,
               "field 'ts' is missing");
        expect(&s, "{\"device\":{\"id\":\"d\"},\"device\":{\"id\":\"e\"},\"metrics\":{\"temp\":1},\"ts\":1}", NULL, -1,
               RECORD_DUPLICATE_FIELD, "field 'device.id' appears twice");
        expect(&s, "{\"device\":{\"id\":\"\"},\"metrics\":{\"temp\":1},\"ts\":1}", NULL, -1, RECORD_BAD_SENSOR_ID,
               "field 'device.id' is empty");
        expect(&s, "{\"device\":{\"id\":\"d\"},\"metrics\":{\"temp\":1e999},\"ts\":1}", NULL, -1, RECORD_NOT_FINITE,
               "field 'metrics.temp' is not a finite double");
        RecordShape flat = make_shape("sensor_id", "value", "timestamp", TIMESTAMP_RFC3339);
        expect(&flat, "{\"sensor_id\":\"s\",\"value\":1,\"timestamp\":1729593600}", NULL, -1, RECORD_WRONG_TYPE,
               "field 'timestamp' must be a string, got a number");
}

static int64_t epoch(TimestampFormat format, const char *number, RecordError expected) {
        RecordShape s = make_shape("id", "v", "t", format);
        char json[160];
        snprintf(json, sizeof(json), "{\"id\":\"s\",\"v\":1,\"t\":%s}", number);
        return expect(&s, json, NULL, -1, expected, expected == RECORD_BAD_TIMESTAMP ? "field 't' is not a time in" : NULL)
                .event_time_ms;
}

static void test_epoch_formats(void **state) {
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "1729593600", RECORD_OK), 1729593600000LL);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "1729593600.123", RECORD_OK), 1729593600123LL);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "1729593600.1239", RECORD_OK), 1729593600123LL);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "1.7295936001e9", RECORD_OK), 1729593600100LL);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "0.001", RECORD_OK), 1);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "-0.0005", RECORD_OK), -1); /* rounded down, towards the past */
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "-1", RECORD_OK), -1000);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_MS, "1729593600123", RECORD_OK), 1729593600123LL);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_MS, "-1", RECORD_OK), -1);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_MS, "-1.5", RECORD_OK), -2);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_MS, "0", RECORD_OK), 0);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_US, "1729593600123999", RECORD_OK), 1729593600123LL);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_US, "-1", RECORD_OK), -1);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_NS, "1729593600123456789", RECORD_OK), 1729593600123LL);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_NS, "1.729593600123456789E18", RECORD_OK), 1729593600123LL);
        /* the years 0001-9999, to the millisecond */
        assert_int_equal(epoch(TIMESTAMP_EPOCH_MS, "253402300799999", RECORD_OK), 253402300799999LL);
        epoch(TIMESTAMP_EPOCH_MS, "253402300800000", RECORD_BAD_TIMESTAMP);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "-62135596800", RECORD_OK), -62135596800000LL);
        epoch(TIMESTAMP_EPOCH_S, "-62135596800.001", RECORD_BAD_TIMESTAMP);
        epoch(TIMESTAMP_EPOCH_S, "1e300", RECORD_BAD_TIMESTAMP);
        epoch(TIMESTAMP_EPOCH_NS, "99999999999999999999999999999999999999999999", RECORD_BAD_TIMESTAMP);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "1e-300", RECORD_OK), 0);
        assert_int_equal(epoch(TIMESTAMP_EPOCH_S, "-1e-300", RECORD_OK), -1);
}

static void test_kafka_key_and_timestamp(void **state) {
        RecordShape s = make_shape("@key", "value", "@timestamp", TIMESTAMP_RFC3339);
        Record r = expect(&s, "{\"value\":21.5}", "sensor_9", 1729593600123LL, RECORD_OK, NULL);
        assert_string_equal(r.sensor_id, "sensor_9");
        assert_int_equal(r.event_time_ms, 1729593600123LL);
        r = expect(&s, "{\"value\":1}", "s\xc3\xa9nsor", -5, RECORD_OK, NULL); /* UTF-8; before 1970 */
        assert_string_equal(r.sensor_id, "s\xc3\xa9nsor");
        assert_int_equal(r.event_time_ms, -5);
        expect(&s, "{\"value\":1}", NULL, 1, RECORD_MISSING_FIELD, "the message has no key");
        expect(&s, "{\"value\":1}", "", 1, RECORD_BAD_SENSOR_ID, "the message key is empty");
        expect(&s, "{\"value\":1}", "s\xc3", 1, RECORD_BAD_SENSOR_ID, "not valid UTF-8");
        expect(&s, "{\"value\":1}", "\xed\xa0\x80", 1, RECORD_BAD_SENSOR_ID, "not valid UTF-8"); /* a surrogate */
        expect(&s, "{\"value\":1}", "\xc0\xaf", 1, RECORD_BAD_SENSOR_ID, "not valid UTF-8");     /* overlong */
        char long_key[300];
        memset(long_key, 'k', 257);
        long_key[257] = '\0';
        expect(&s, "{\"value\":1}", long_key, 1, RECORD_BAD_SENSOR_ID, "over 256");
        expect(&s, "{\"value\":1}", "s", -1, RECORD_BAD_TIMESTAMP, "no Kafka timestamp");
        expect(&s, "{\"value\":1}", "s", 253402300800000LL, RECORD_BAD_TIMESTAMP, "outside years 0001-9999");
        /* the JSON's errors come first */
        expect(&s, "{\"value\":\"1\"}", NULL, -1, RECORD_WRONG_TYPE, "field 'value' must be a number");
        expect(&s, "{}", "s", 1, RECORD_MISSING_FIELD, "field 'value' is missing");
        /* a NUL in the key */
        RecordMessage m = { .value = "{\"value\":1}", .len = 11, .key = "a\0b", .key_len = 3, .timestamp_ms = 1 };
        Record out;
        char reason[RECORD_REASON_MAX];
        assert_int_equal(record_parse_message(&s, &m, 0, &out, reason), RECORD_BAD_SENSOR_ID);
        assert_non_null(strstr(reason, "the message key contains a NUL"));
}

static void test_path_syntax(void **state) {
        RecordShape s;
        char error[RECORD_REASON_MAX];
        record_shape_default(&s);
        static const struct {
                RecordField field;
                const char *text, *error;
        } bad[] = {
                { RECORD_VALUE, "", "must not be empty" },
                { RECORD_VALUE, "a..b", "empty field name" },
                { RECORD_VALUE, ".a", "empty field name" },
                { RECORD_VALUE, "a.", "empty field name" },
                { RECORD_VALUE, "a\\x", "a backslash escapes only" },
                { RECORD_VALUE, "a\\", "a backslash escapes only" },
                { RECORD_VALUE, "a.b.c.d.e.f.g.h.i", "more than 8 levels" },
                { RECORD_VALUE, "@key", "only sensor_id may be \"@key\"" },
                { RECORD_SENSOR_ID, "@timestamp", "only timestamp \"@timestamp\"" },
                { RECORD_TIMESTAMP, "@ts", "only sensor_id may be" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                error[0] = '\0';
                if (record_path_set(&s, bad[i].field, bad[i].text, error) != -22 || !strstr(error, bad[i].error))
                        fail_msg("\"%s\": \"%s\", expected \"%s\"", bad[i].text, error, bad[i].error);
        }
        /* escapes: the key "a.b" inside "m", the key "@key", a backslash */
        RecordShape e = make_shape("\\@key", "m.a\\.b", "t\\\\x", TIMESTAMP_EPOCH_S);
        Record r = expect(&e, "{\"@key\":\"k\",\"m\":{\"a.b\":3,\"a\":{\"b\":4}},\"t\\\\x\":1}", NULL, -1, RECORD_OK, NULL);
        assert_string_equal(r.sensor_id, "k");
        assert_true(r.value == 3);
        assert_int_equal(r.event_time_ms, 1000);
        assert_int_equal(record_path_set(&e, RECORD_VALUE, "a.b.c.d.e.f.g.h", error), 0); /* 8 levels */
}

static void test_shape_check(void **state) {
        char error[RECORD_REASON_MAX];
        RecordShape s = make_shape("x", "x", "t", TIMESTAMP_EPOCH_MS);
        assert_int_equal(record_shape_check(&s, error), -22);
        assert_non_null(strstr(error, "sensor_id and value name the same field \"x\""));
        s = make_shape("device", "v", "device.ts", TIMESTAMP_EPOCH_MS);
        assert_int_equal(record_shape_check(&s, error), -22);
        assert_non_null(strstr(error, "timestamp \"device.ts\" lies inside sensor_id \"device\""));
        s = make_shape("device.id", "metrics.temp", "device.ts", TIMESTAMP_EPOCH_MS);
        assert_int_equal(record_shape_check(&s, error), 0);
        s = make_shape("@key", "v", "@timestamp", TIMESTAMP_EPOCH_MS);
        assert_int_equal(record_shape_check(&s, error), 0);
}

/* The fast path and yajl agree, record and reason, on records in these
 * shapes and on random mutations of them. */
static void test_fast_path_as_yajl(void **state) {
        RecordShape nested = make_shape("device.id", "metrics.temp", "ts", TIMESTAMP_EPOCH_MS);
        RecordShape seconds = make_shape("a.b.c", "v", "when.s", TIMESTAMP_EPOCH_S);
        RecordShape kafka = make_shape("@key", "value", "@timestamp", TIMESTAMP_RFC3339);
        static const char alphabet[] = "{}[]\":,.-+eE0123456789 \t\nabcdefghijklmnopqrstuvwxyz_TZ\\/\x01\x7f\xc3\xa9";
        const struct {
                const RecordShape *shape;
                const char *json, *key;
        } samples[] = {
                { &nested, device, NULL },
                { &nested, "{\"ts\":-17,\"device\":{\"site\":\"s\",\"id\":\"d\",\"x\":{}},\"metrics\":{\"temp\":1e2}}", NULL },
                { &seconds, "{\"a\":{\"b\":{\"c\":\"id\"}},\"v\":0.5,\"when\":{\"s\":1729593600.5}}", NULL },
                { &kafka, "{\"value\":21.5,\"unit\":\"C\"}", "sensor_1" },
                { &kafka, "{\"value\":21.5}", "k\xc3\xa9y" },
        };
        const size_t n = sizeof(samples) / sizeof(samples[0]);
        uint64_t rng = 7;
        char buf[256];
        for (int i = 0; i < 200000; i++) {
                size_t k = (size_t)i % n, len = strlen(samples[k].json);
                memcpy(buf, samples[k].json, len);
                for (int m = 0; m < 1 + i % 3 && i >= (int)n; m++) {
                        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                        size_t at = (size_t)(rng >> 33) % (len + 1);
                        char c = alphabet[(rng >> 20) % (sizeof(alphabet) - 1)];
                        if ((rng >> 60) % 2 && at < len)
                                buf[at] = c;
                        else if (len + 1 < sizeof(buf)) {
                                memmove(buf + at + 1, buf + at, len - at);
                                buf[at] = c;
                                len++;
                        }
                }
                RecordMessage msg = { .value = buf, .len = len, .key = samples[k].key,
                                      .key_len = samples[k].key ? strlen(samples[k].key) : 0,
                                      .timestamp_ms = (int64_t)(rng % 3) - 1 };
                Record a, b;
                char ra[RECORD_REASON_MAX] = "", rb[RECORD_REASON_MAX] = "";
                RecordError ea = record_parse_message(samples[k].shape, &msg, 65536, &a, ra);
                RecordError eb = record_parse_message_with_yajl(samples[k].shape, &msg, 65536, &b, rb);
                if (ea != eb)
                        fail_msg("%.*s: %s, yajl says %s", (int)len, buf, record_error_name(ea), record_error_name(eb));
                if (ea == RECORD_OK && (strcmp(a.sensor_id, b.sensor_id) || memcmp(&a.value, &b.value, sizeof(double)) ||
                                        a.event_time_ms != b.event_time_ms))
                        fail_msg("%.*s: the fast path read another record", (int)len, buf);
                if (ea != RECORD_OK && strcmp(ra, rb) != 0)
                        fail_msg("%.*s: reason \"%s\", yajl's \"%s\"", (int)len, buf, ra, rb);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_shape_is_the_paths), cmocka_unit_test(test_nested_epoch_ms),
                cmocka_unit_test(test_reasons_name_the_path),      cmocka_unit_test(test_epoch_formats),
                cmocka_unit_test(test_kafka_key_and_timestamp),    cmocka_unit_test(test_path_syntax),
                cmocka_unit_test(test_shape_check),                cmocka_unit_test(test_fast_path_as_yajl),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
