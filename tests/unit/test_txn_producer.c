/* The transactional producer's state machine (begin, produce, commit,
 * abort) against librdkafka's in-process mock cluster, with the brokers'
 * errors injected where the mock allows: a commit that times out is called
 * again and completes; a partition the brokers refuse to add makes the
 * transaction abortable, and it is aborted, after which the next one
 * commits; the offsets of a generation the group moved on from make it
 * abortable too (a zombie's); a fenced
 * producer is told as failed for good. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "lib/config/config.h"
#include "sensord/kafka/producers/txn_producer.h"

/* Kafka protocol API keys (the mock's header does not name them) */
#define API_ADD_PARTITIONS_TO_TXN 24
#define API_END_TXN 26
#define API_TXN_OFFSET_COMMIT 28

typedef struct Fixture {
        rd_kafka_t *owner; /* the mock cluster's */
        rd_kafka_mock_cluster_t *mock;
        sd_event *event;
        Config *config;
        TxnProducer *tp;
        rd_kafka_topic_t *topic;
        rd_kafka_t *consumer; /* whose group metadata the offsets carry */
        int delivered, failed;
} Fixture;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *userdata) {
        Fixture *f = userdata;
        if (m->err)
                f->failed++;
        else
                f->delivered++;
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        char errstr[256], path[] = "/tmp/test-txn-producer-XXXXXX";
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        assert_non_null(f->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)));
        assert_non_null(f->mock = rd_kafka_mock_cluster_new(f->owner, 1));
        assert_int_equal(rd_kafka_mock_topic_create(f->mock, "results", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        dprintf(fd,
                "kafka = { brokers = \"%s\"; group_id = \"txn-test\"; startup_timeout = \"10 s\"; };\n"
                "output = { guarantee = \"exactly_once\"; sink = \"none\"; kafka_topic = \"results\";\n"
                "           kafka_properties = ( (\"retry.backoff.ms\", \"20\") ); };\n"
                "state = { changelog_topic = \"changelog\"; directory = \"/tmp/txn-test\"; };\n",
                rd_kafka_mock_cluster_bootstraps(f->mock));
        close(fd);
        ConfigErrors errors = { 0 };
        assert_int_equal(config_load(path, false, &f->config, &errors), 0);
        unlink(path);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(txn_producer_new(&f->tp, f->config, f->event), 0);
        txn_producer_route(f->tp, "results", &(TxnRoute){ .on_delivery = on_delivery, .userdata = f });
        assert_int_equal(txn_producer_start(f->tp), 0);
        assert_non_null(f->topic = rd_kafka_topic_new(txn_producer_handle(f->tp), "results", NULL));
        rd_kafka_conf_t *consumer_conf = rd_kafka_conf_new();
        assert_int_equal(rd_kafka_conf_set(consumer_conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(f->mock),
                                           errstr, sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(consumer_conf, "group.id", "txn-test", errstr, sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
        assert_non_null(f->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, consumer_conf, errstr, sizeof(errstr)));
        txn_producer_set_consumer(f->tp, f->consumer);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        rd_kafka_topic_destroy(f->topic);
        txn_producer_free(f->tp);
        rd_kafka_destroy(f->consumer);
        sd_event_unref(f->event);
        config_free(f->config);
        rd_kafka_mock_cluster_destroy(f->mock);
        rd_kafka_destroy(f->owner);
        free(f);
        return 0;
}

/* One message in the open transaction (begun if none is), its delivery
 * report served. */
static void produce_one(Fixture *f) {
        assert_int_equal(txn_producer_begin(f->tp), 0);
        assert_true(txn_producer_open(f->tp));
        if (rd_kafka_produce(f->topic, 0, RD_KAFKA_MSG_F_COPY, "row", 3, "k", 1, NULL) != 0)
                fail_msg("produce: %s", rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_flush(txn_producer_handle(f->tp), 5000);
}

static void test_nothing_open(void **state) {
        Fixture *f = *state;
        assert_false(txn_producer_open(f->tp));
        assert_int_equal(txn_producer_commit(f->tp, 1000), 0);
        assert_int_equal(txn_producer_abort(f->tp, 1000), 0);
        assert_int_equal(txn_producer_stats(f->tp)->committed, 0);
}

static void test_commit(void **state) {
        Fixture *f = *state;
        produce_one(f);
        assert_int_equal(f->delivered, 1);
        assert_int_equal(txn_producer_commit(f->tp, 5000), 0);
        assert_false(txn_producer_open(f->tp));
        produce_one(f); /* the next one begins anew */
        assert_int_equal(txn_producer_commit(f->tp, 5000), 0);
        assert_int_equal(txn_producer_stats(f->tp)->committed, 2);
        const MetricsHistogram *h = &txn_producer_stats(f->tp)->commit_seconds;
        uint64_t timed = 0;
        for (size_t i = 0; i <= h->n; i++)
                timed += h->counts[i];
        assert_int_equal(timed, 2);
}

/* The coordinator answers "load in progress" many times: a short call
 * times out and says to call again, which resumes and completes. */
static void test_commit_called_again(void **state) {
        Fixture *f = *state;
        produce_one(f);
        rd_kafka_resp_err_t loading[30];
        for (size_t i = 0; i < 30; i++)
                loading[i] = RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
        rd_kafka_mock_push_request_errors_array(f->mock, API_END_TXN, 30, loading);
        int r, calls = 0;
        while ((r = txn_producer_commit(f->tp, 50)) == -EAGAIN && ++calls < 400)
                ;
        assert_int_equal(r, 0);
        assert_true(calls > 0); /* it did time out, and was called again */
        assert_false(txn_producer_open(f->tp));
        assert_int_equal(txn_producer_stats(f->tp)->committed, 1);
}

/* The brokers refuse to add a partition to the transaction (an ACL): its
 * message fails, the transaction can only be aborted, the commit says so,
 * the abort succeeds, and the next transaction commits. */
static void test_abortable(void **state) {
        Fixture *f = *state;
        rd_kafka_mock_push_request_errors(f->mock, API_ADD_PARTITIONS_TO_TXN, 1,
                                          RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
        produce_one(f);
        assert_int_equal(f->failed, 1);
        assert_int_equal(txn_producer_commit(f->tp, 5000), -ECANCELED);
        assert_int_equal(txn_producer_commit(f->tp, 5000), -ECANCELED); /* until aborted */
        assert_int_equal(txn_producer_abort(f->tp, 5000), 0);
        assert_false(txn_producer_open(f->tp));
        assert_int_equal(txn_producer_stats(f->tp)->aborted, 1);
        produce_one(f);
        assert_int_equal(f->delivered, 1);
        assert_int_equal(txn_producer_commit(f->tp, 5000), 0);
        assert_int_equal(txn_producer_stats(f->tp)->committed, 1);
}

/* The input offsets (with their changelog pointer) go into the transaction
 * with the group's metadata and commit with it. A partition's offset added
 * twice replaces the first, whose metadata is freed (the sanitizer run
 * sees a leak or a double free there). */
static void test_offsets(void **state) {
        Fixture *f = *state;
        produce_one(f);
        txn_producer_add_offset(f->tp, "in", 0, 41, "sensord-changelog 1 old");
        txn_producer_add_offset(f->tp, "in", 0, 42, "sensord-changelog 1 new");
        txn_producer_add_offset(f->tp, "in", 1, 7, "sensord-changelog 1 other");
        assert_int_equal(txn_producer_commit(f->tp, 5000), 0);
        assert_int_equal(txn_producer_stats(f->tp)->committed, 1);
}

/* A zombie: the group moved on, and the coordinator refuses its offsets
 * by their generation. The transaction can only be aborted; the next one,
 * with no offsets of the old generation, commits. */
static void test_zombie_offsets_refused(void **state) {
        Fixture *f = *state;
        produce_one(f);
        txn_producer_add_offset(f->tp, "in", 0, 42, "sensord-changelog 1 x");
        rd_kafka_mock_push_request_errors(f->mock, API_TXN_OFFSET_COMMIT, 1, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION);
        assert_int_equal(txn_producer_commit(f->tp, 5000), -ECANCELED);
        assert_int_equal(txn_producer_abort(f->tp, 5000), 0);
        assert_int_equal(txn_producer_stats(f->tp)->aborted, 1);
        produce_one(f);
        assert_int_equal(txn_producer_commit(f->tp, 5000), 0);
}

/* A newer producer with the same transactional.id fenced this one: failed
 * for good, and nothing more begins. */
static void test_fenced(void **state) {
        Fixture *f = *state;
        produce_one(f);
        rd_kafka_mock_push_request_errors(f->mock, API_END_TXN, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
        assert_int_equal(txn_producer_commit(f->tp, 5000), -EIO);
        assert_true(rd_kafka_fatal_error(txn_producer_handle(f->tp), NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(txn_producer_stats(f->tp)->committed, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_nothing_open, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commit_called_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abortable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_offsets, setup, teardown),
                cmocka_unit_test_setup_teardown(test_zombie_offsets_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fenced, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
