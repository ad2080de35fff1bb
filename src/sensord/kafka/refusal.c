/* refusal: the last SASL or TLS refusal librdkafka logged. */
#include "sensord/kafka/refusal.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char last[512];

void kafka_refusal_note(const char *facility, const char *message) {
        if (strcmp(facility, "FAIL") != 0 ||
            (!strstr(message, "SASL authentication error") && !strstr(message, "SSL handshake failed")))
                return;
        pthread_mutex_lock(&lock);
        snprintf(last, sizeof(last), "%s", message);
        pthread_mutex_unlock(&lock);
}

bool kafka_refusal(char *buf, size_t size) {
        pthread_mutex_lock(&lock);
        bool any = last[0] != '\0';
        snprintf(buf, size, "%s", last);
        pthread_mutex_unlock(&lock);
        return any;
}
