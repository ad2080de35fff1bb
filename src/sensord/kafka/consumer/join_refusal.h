/* join_refusal: the group coordinator's refusals of a member, which
 * librdkafka would answer by joining again every few seconds forever, or
 * by sitting out fenced: told as what they are, and fatal only where the
 * configuration alone can change the answer. */
#pragma once

#include <librdkafka/rdkafka.h>

typedef struct JoinRefusals {
        unsigned protocol; /* refused: the group's members use the other protocol */
} JoinRefusals;

/* Judges a consumer error message. Returns 0 when m is no refusal of a
 * join; 1 when it is one to wait out (logged at the first and every 60th);
 * -EINVAL when only the configuration can end it (logged). */
int join_refusal_check(JoinRefusals *j, rd_kafka_t *rk, const rd_kafka_message_t *m);
