/* queue_watch against a real librdkafka handle whose only broker refuses
 * connections, so that its main queue fills with connection errors. A
 * watch started on an emptied queue wakes when the next error arrives; one
 * started on a queue that already holds errors wakes too. Before the fix,
 * the second never woke: librdkafka writes to the pipe only when an op
 * makes the queue's length 1, and nothing polled. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <systemd/sd-event.h>

#include "sensord/kafka/queue_watch.h"

typedef struct Fixture {
        rd_kafka_t *rk;
        rd_kafka_queue_t *queue;
        sd_event *event;
        QueueWatch watch;
        int wakeups;
} Fixture;

static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *message) {
}

/* a loopback port nothing listens on: bound, then closed */
static int closed_port(void) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(addr);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
        close(fd);
        return ntohs(addr.sin_port);
}

static int setup(void **state) {
        static Fixture f;
        char errstr[256], brokers[64];
        f = (Fixture){ 0 };
        snprintf(brokers, sizeof(brokers), "127.0.0.1:%d", closed_port());
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "reconnect.backoff.ms", "10", errstr, sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(conf, "reconnect.backoff.max.ms", "50", errstr, sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
        /* the refusals are expected; without an error callback, polling
         * logs the queued errors here too */
        rd_kafka_conf_set_log_cb(conf, on_log);
        assert_non_null(f.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)));
        f.queue = rd_kafka_queue_get_main(f.rk);
        assert_int_equal(sd_event_new(&f.event), 0);
        *state = &f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        rd_kafka_queue_destroy(f->queue);
        rd_kafka_destroy(f->rk);
        queue_watch_free(&f->watch); /* after the handle that writes to its pipe */
        sd_event_unref(f->event);
        return 0;
}

static int on_ready(void *userdata) {
        Fixture *f = userdata;
        f->wakeups++;
        rd_kafka_poll(f->rk, 0);
        return 0;
}

/* runs the loop until the owner is woken, for at most 5 s */
static void wait_for_wakeup(Fixture *f) {
        for (int i = 0; i < 50 && f->wakeups == 0; i++)
                assert_true(sd_event_run(f->event, 100 * 1000) >= 0);
}

static void wait_until_queued(Fixture *f, int n) {
        for (int i = 0; i < 500 && rd_kafka_queue_length(f->queue) < (size_t)n; i++)
                nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        assert_true(rd_kafka_queue_length(f->queue) >= (size_t)n);
}

static void test_wakes_when_an_op_arrives(void **state) {
        Fixture *f = *state;
        wait_until_queued(f, 1);
        rd_kafka_poll(f->rk, 0); /* empty: the next error makes the length 1 */
        assert_int_equal(rd_kafka_queue_length(f->queue), 0);
        assert_int_equal(queue_watch_init(&f->watch, f->event, f->queue, on_ready, f), 0);
        wait_for_wakeup(f);
        assert_true(f->wakeups > 0);
}

static void test_wakes_for_ops_queued_before_it(void **state) {
        Fixture *f = *state;
        wait_until_queued(f, 2); /* two errors: the length never passes through 1 again */
        assert_int_equal(queue_watch_init(&f->watch, f->event, f->queue, on_ready, f), 0);
        wait_for_wakeup(f);
        assert_true(f->wakeups > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_wakes_when_an_op_arrives, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wakes_for_ops_queued_before_it, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
