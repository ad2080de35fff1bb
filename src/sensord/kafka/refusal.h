/* refusal: the cluster refused sensord's credentials (SASL), or sensord
 * refused the cluster's certificate (TLS). librdkafka treats both as
 * connection failures and retries for ever; for sensord they are a
 * configuration error that no restart fixes. librdkafka reports them only
 * in its log lines ("SASL authentication error", "SSL handshake failed"),
 * which every client's log callback passes here, from librdkafka's own
 * threads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

void kafka_refusal_note(const char *facility, const char *message);

/* Copies the last refusal into buf; returns false when there was none. */
bool kafka_refusal(char *buf, size_t size);
