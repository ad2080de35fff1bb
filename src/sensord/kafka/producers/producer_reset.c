/* producer_reset: a new producer for one that failed for good, or is stuck. */
#include "sensord/kafka/producers/producer_reset.h"

#include <errno.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "lib/base/log.h"
#include "lib/base/util.h"

#define DRAIN_TIMEOUT_MS 10000

bool producer_failed(rd_kafka_t *rk) {
        return rd_kafka_fatal_error(rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

int producer_reset(rd_kafka_t **rk, const rd_kafka_conf_t *conf, QueueWatch *watch, sd_event *event,
                   const char *what, const char *why) {
        char reason[512], errstr[512];
        /* "failed for good (the fatal error)", or "was replaced (why)" */
        const char *fate = why ? "was replaced" : "failed for good";
        if (why)
                snprintf(reason, sizeof(reason), "%s", why);
        else
                rd_kafka_fatal_error(*rk, reason, sizeof(reason));
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + DRAIN_TIMEOUT_MS * 1000ULL;
        rd_kafka_purge(*rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        while (rd_kafka_outq_len(*rk) > 0 && now_usec(CLOCK_MONOTONIC) < deadline) {
                rd_kafka_poll(*rk, 50);
                sd_notify(0, "WATCHDOG=1");
        }
        int held = rd_kafka_outq_len(*rk);
        rd_kafka_destroy(*rk);
        *rk = NULL;
        if (held > 0) {
                log_error("%s %s (%s), and %d of its messages were not returned within %d ms", what, fate,
                          reason, held, DRAIN_TIMEOUT_MS);
                return -ETIMEDOUT;
        }
        rd_kafka_conf_t *copy = rd_kafka_conf_dup(conf);
        if (!(*rk = rd_kafka_new(RD_KAFKA_PRODUCER, copy, errstr, sizeof(errstr)))) {
                rd_kafka_conf_destroy(copy);
                log_error("%s %s (%s), and no new producer could be made: %s", what, fate, reason, errstr);
                return -EINVAL;
        }
        log_warning("%s %s (%s); a new producer sends again what it had not delivered", what, fate, reason);
        int (*ready)(void *) = watch->ready;
        void *userdata = watch->userdata;
        queue_watch_free(watch);
        if (sd_event_get_state(event) == SD_EVENT_FINISHED)
                return 0; /* stopping: the owner polls the producer itself */
        rd_kafka_queue_t *main_queue = rd_kafka_queue_get_main(*rk);
        int r = queue_watch_init(watch, event, main_queue, ready, userdata);
        rd_kafka_queue_destroy(main_queue);
        return r;
}
