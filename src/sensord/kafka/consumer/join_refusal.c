/* join_refusal: a session timeout out of the brokers' range, a static
 * member fenced by another with its id, and a group whose members use the
 * other rebalance protocol. */
#include "sensord/kafka/consumer/join_refusal.h"

#include <errno.h>
#include <inttypes.h>

#include "lib/base/log.h"
#include "sensord/kafka/kafka_conf.h"

int join_refusal_check(JoinRefusals *j, rd_kafka_t *rk, const rd_kafka_message_t *m) {
        if (m->err == RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT) {
                log_error("the group coordinator refused session.timeout.ms=%" PRIu64 " (%s): a broker accepts "
                          "only values between its group.min.session.timeout.ms and group.max.session.timeout.ms "
                          "(6000 and 1800000 unless its operator changed them); set it in kafka.properties",
                          kafka_conf_u64(rd_kafka_conf(rk), "session.timeout.ms", 45000), rd_kafka_message_errstr(m));
                return -EINVAL;
        }
        char reason[512];
        if (m->err == RD_KAFKA_RESP_ERR__FATAL &&
            rd_kafka_fatal_error(rk, reason, sizeof(reason)) == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) {
                /* the broker took the other member for this one restarted:
                 * restarting this one would fence that one, and so on */
                char id[256] = "";
                size_t size = sizeof(id);
                if (rd_kafka_conf_get(rd_kafka_conf(rk), "group.instance.id", id, &size) != RD_KAFKA_CONF_OK)
                        id[0] = '\0';
                log_error("another member of the group joined with this host's group.instance.id \"%s\" (%s), and "
                          "the brokers fenced this one: each host needs an id of its own. Give "
                          "kafka.group_instance_id a %%H (the host name), or another value on each host",
                          id, reason);
                return -EINVAL;
        }
        if (m->err == RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL) {
                /* let in once the group's last member of the other protocol
                 * has left: a rolling upgrade ends with every host in */
                if (j->protocol++ % 60 == 0)
                        log_warning("cannot join the group yet: its members use another "
                                    "partition.assignment.strategy (%s). With a changelog sensord uses "
                                    "cooperative-sticky unless kafka.properties sets it; members of older sensord "
                                    "releases, or that set range or roundrobin, use the eager protocol, which does "
                                    "not mix with it. This host joins once the last of them leaves; to keep every "
                                    "host reading meanwhile, set the same strategy in kafka.properties on all",
                                    rd_kafka_message_errstr(m));
                return 1;
        }
        return 0;
}
