/* reachability: whether the brokers answer, as all of sensord's Kafka
 * clients hear it. librdkafka tells each client alone that every broker
 * is down, and only when its count of down brokers, which holds only the
 * brokers it has tried to connect to, reaches the count of all the brokers
 * it knows (rdkafka_int.h): a client may never be told. The producers'
 * word counts as well, since they reach the same cluster. */
#pragma once

#include <stdbool.h>

/* A client's RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN; logged once per outage. */
void kafka_unreachable(const char *client, const char *reason);

/* The consumer read a message or got an assignment: logs that the brokers
 * are back if they were away. */
void kafka_reachable(void);

bool kafka_is_unreachable(void);
