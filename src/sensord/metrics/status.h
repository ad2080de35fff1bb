/* status: what sensord tells about itself. The STATUS= line for systemctl
 * status, the rate-limited report of invalid records, and the summary line
 * at exit, all from the pipeline's and the window state's counters. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "lib/base/log.h"
#include "sensord/checkpoint/checkpoints.h"
#include "sensord/kafka/consumer/consumer.h"
#include "sensord/kafka/producers/txn_producer.h"
#include "sensord/output.h"
#include "sensord/pipeline.h"

typedef struct Status {
        bool notify; /* started with a notify socket (by systemd) */
        RateLimit invalid_limit;
        RateLimit late_limit;
        RateLimit cap_limit;   /* the max_keys warning */
        uint64_t dropped_seen; /* dropped pairs at the last warning */
        uint64_t last_messages, last_us; /* at the previous STATUS=, for the rate */
        sd_event_source *timer;
        const Pipeline *pipeline;
        Output *output;
        Consumer *consumer; /* for the lag; NULL until started */
        Checkpoints *checkpoints; /* for the restores in progress */
        const TxnProducer *txn;   /* exactly-once: its transactions; NULL: none */
} Status;

void status_init(Status *st, const Pipeline *p, Output *o, Checkpoints *c);
void status_free(Status *st);

/* Refreshes STATUS= every 2 s from now on, and checks as often whether the
 * writes to Kafka (results, changelog) stall, logging when a stall begins
 * and ends. Without a notify socket and without Kafka writes there is
 * nothing to do, and no timer wakes the loop. */
int status_start(Status *st, sd_event *event, Consumer *c);

/* Logs an invalid record with its coordinates, at most 10 every 10 s; says
 * how many were not logged when logging resumes. */
void status_report_invalid(Status *st, const char *topic, const PipelineMessage *m, const char *reason);

/* Logs a record with late pairs (the watermark and the windows it
 * missed), at most 10 every 10 s, as above. */
void status_report_late(Status *st, const char *topic, const PipelineMessage *m, const WindowLate *late);

/* Warns, at most once every 10 s, while new pairs are dropped because the
 * state holds state.max_keys keys. */
void status_check_limits(Status *st);

/* Sends STATUS= now (when there is a notify socket). */
void status_notify(Status *st);

/* Logs the "summary:" line with every counter. */
void status_log_summary(const Status *st);
