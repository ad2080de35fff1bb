/* The metrics' pure parts: the Prometheus text format, librdkafka's
 * statistics, and the latency histogram's cumulative counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/metrics/kafka_stats.h"
#include "lib/metrics/latency.h"
#include "lib/metrics/metrics_text.h"

static void test_family_and_samples(void **state) {
        MetricsText t = { 0 };
        metrics_family(&t, "x_total", "counter", "Back\\slash and\nnewline.");
        MetricsLabels l = { .name = { "topic", "partition" }, .value = { "a\"b\\c\nd", "3" } };
        metrics_sample_u64(&t, "x_total", &l, 18446744073709551615u);
        metrics_sample(&t, "x_total", NULL, 0.25);
        assert_string_equal(t.data, "# HELP x_total Back\\\\slash and\\nnewline.\n"
                                    "# TYPE x_total counter\n"
                                    "x_total{topic=\"a\\\"b\\\\c\\nd\",partition=\"3\"} 18446744073709551615\n"
                                    "x_total 0.25\n");
        metrics_text_reset(&t);
        assert_int_equal(t.len, 0);
        metrics_sample(&t, "g", NULL, 1.0 / 0.0);
        metrics_sample(&t, "g", NULL, 1729593960.5);
        assert_string_equal(t.data, "g +Inf\ng 1729593960.5\n");
        metrics_text_free(&t);
}

static void test_histogram(void **state) {
        static const double bounds[] = { 0.1, 1, 10 };
        MetricsHistogram h;
        metrics_histogram_init(&h, bounds, 3);
        const double values[] = { 0.05, 0.1, 0.5, 20, 3 };
        for (size_t i = 0; i < 5; i++)
                metrics_histogram_add(&h, values[i]);
        MetricsText t = { 0 };
        MetricsLabels l = { .name = { "event" }, .value = { "x" } };
        metrics_histogram(&t, "d_seconds", &l, h.bounds, h.counts, h.n, h.sum);
        /* an observation equal to a bound is in that bound's bucket (le) */
        assert_string_equal(t.data, "d_seconds_bucket{event=\"x\",le=\"0.1\"} 2\n"
                                    "d_seconds_bucket{event=\"x\",le=\"1.0\"} 3\n"
                                    "d_seconds_bucket{event=\"x\",le=\"10.0\"} 4\n"
                                    "d_seconds_bucket{event=\"x\",le=\"+Inf\"} 5\n"
                                    "d_seconds_sum{event=\"x\"} 23.65\n"
                                    "d_seconds_count{event=\"x\"} 5\n");
        metrics_text_free(&t);
}

/* Abridged from librdkafka 2.0's statistics of a consumer of topic "in":
 * partition 1 not fetched (another member's), -1 librdkafka's internal one,
 * partition 2 before the group's first commit. */
static const char stats_json[] =
        "{\"name\":\"sensord#consumer-1\",\"type\":\"consumer\",\"topics\":{"
        "\"other\":{\"partitions\":{\"0\":{\"partition\":0,\"fetch_state\":\"active\",\"consumer_lag\":7}}},"
        "\"in\":{\"topic\":\"in\",\"partitions\":{"
        "\"2\":{\"partition\":2,\"fetch_state\":\"active\",\"committed_offset\":-1001,\"consumer_lag\":-1,"
        "\"consumer_lag_stored\":40},"
        "\"0\":{\"partition\":0,\"fetch_state\":\"active\",\"committed_offset\":120,\"consumer_lag\":0,"
        "\"consumer_lag_stored\":0},"
        "\"1\":{\"partition\":1,\"fetch_state\":\"none\",\"committed_offset\":-1001,\"consumer_lag\":-1},"
        "\"-1\":{\"partition\":-1,\"fetch_state\":\"none\",\"consumer_lag\":-1}}}}}";

static void test_kafka_stats(void **state) {
        KafkaPartitionStats *stats = NULL;
        size_t cap = 0;
        int n = kafka_stats_parse(stats_json, sizeof(stats_json) - 1, "in", &stats, &cap);
        assert_int_equal(n, 2);
        assert_int_equal(stats[0].partition, 0);
        assert_int_equal(stats[0].consumer_lag, 0);
        assert_int_equal(stats[0].committed_offset, 120);
        assert_int_equal(stats[1].partition, 2);
        assert_int_equal(stats[1].consumer_lag, 40); /* consumer_lag_stored until a commit */
        assert_int_equal(stats[1].committed_offset, -1001);
        assert_int_equal(kafka_stats_parse(stats_json, sizeof(stats_json) - 1, "absent", &stats, &cap), 0);
        assert_int_equal(kafka_stats_parse("{\"topics\":", 10, "in", &stats, &cap), -EBADMSG);
        assert_int_equal(kafka_stats_parse("[]", 2, "in", &stats, &cap), -EBADMSG);
        free(stats);
}

static void test_latency_count_at_most(void **state) {
        static Latency l;
        const int64_t values[] = { -5, 0, 1, 127, 128, 1000, 1000, 60000 };
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                latency_add(&l, values[i]);
        assert_int_equal(l.sum, 0 + 0 + 1 + 127 + 128 + 2000 + 60000);
        assert_int_equal(latency_count_at_most(&l, 0), 2);
        assert_int_equal(latency_count_at_most(&l, 1), 3);
        assert_int_equal(latency_count_at_most(&l, 127), 4);
        /* from 128 ms on, buckets are 3% wide: 128 is in 128..131, 1000 in
         * 992..1007; a value counts once the bound covers its bucket */
        assert_int_equal(latency_count_at_most(&l, 128), 4);
        assert_int_equal(latency_count_at_most(&l, 131), 5);
        assert_int_equal(latency_count_at_most(&l, 1006), 5);
        assert_int_equal(latency_count_at_most(&l, 1007), 7);
        assert_int_equal(latency_count_at_most(&l, 1100), 7);
        assert_int_equal(latency_count_at_most(&l, UINT64_MAX), 8);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_family_and_samples),
                cmocka_unit_test(test_histogram),
                cmocka_unit_test(test_kafka_stats),
                cmocka_unit_test(test_latency_count_at_most),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
