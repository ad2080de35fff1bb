/* reachability: the brokers away or back, whichever client heard it. */
#include "sensord/kafka/reachability.h"

#include <stdatomic.h>

#include "lib/base/log.h"

/* error callbacks run on the threads that poll each client: the loop's */
static atomic_bool unreachable;

void kafka_unreachable(const char *client, const char *reason) {
        if (!atomic_exchange(&unreachable, true))
                log_warning("the brokers are unreachable (the %s: %s); waiting for them", client, reason);
}

void kafka_reachable(void) {
        if (atomic_exchange(&unreachable, false))
                log_notice("the brokers are reachable again");
}

bool kafka_is_unreachable(void) {
        return atomic_load(&unreachable);
}
