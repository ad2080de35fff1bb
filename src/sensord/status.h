/* status: what sensord tells about itself. The STATUS= line for systemctl
 * status, the rate-limited report of invalid records, and the summary line
 * at exit, all from the pipeline's and the window state's counters. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "pipeline.h"

typedef struct Status {
        bool notify; /* started with a notify socket (by systemd) */
        RateLimit invalid_limit;
        uint64_t last_messages, last_us; /* at the previous STATUS=, for the rate */
} Status;

void status_init(Status *st);

/* Logs an invalid record with its coordinates, at most 10 every 10 s; says
 * how many were not logged when logging resumes. */
void status_report_invalid(Status *st, const char *topic, const PipelineMessage *m, const char *reason);

/* Sends STATUS= (when there is a notify socket). lag is -1 when unknown. */
void status_notify(Status *st, const Pipeline *p, int64_t lag);

/* Logs the "summary:" line with every counter; rows is the rows written. */
void status_log_summary(const Pipeline *p, uint64_t rows);
