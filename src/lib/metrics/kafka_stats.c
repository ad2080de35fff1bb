/* kafka_stats: the input topic's partitions from librdkafka's statistics. */
#include "lib/metrics/kafka_stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"

static int64_t integer_at(yajl_val object, const char *name, int64_t otherwise) {
        const char *path[] = { name, NULL };
        yajl_val v = yajl_tree_get(object, path, yajl_t_number);
        return v && YAJL_IS_INTEGER(v) ? (int64_t)YAJL_GET_INTEGER(v) : otherwise;
}

static int compare_partitions(const void *a, const void *b) {
        int32_t x = ((const KafkaPartitionStats *)a)->partition, y = ((const KafkaPartitionStats *)b)->partition;
        return (x > y) - (x < y);
}

int kafka_stats_parse(const char *json, size_t len, const char *topic, KafkaPartitionStats **out, size_t *cap) {
        /* yajl_tree_parse() reads a C string: librdkafka's is one, a copy
         * makes sure */
        char *text = xmalloc(len + 1);
        memcpy(text, json, len);
        text[len] = '\0';
        yajl_val root = yajl_tree_parse(text, NULL, 0);
        free(text);
        if (!root || !YAJL_IS_OBJECT(root)) {
                yajl_tree_free(root);
                return -EBADMSG;
        }
        const char *path[] = { "topics", topic, "partitions", NULL };
        yajl_val partitions = yajl_tree_get(root, path, yajl_t_object);
        size_t n = 0;
        for (size_t i = 0; partitions && i < partitions->u.object.len; i++) {
                yajl_val p = partitions->u.object.values[i];
                const char *state_path[] = { "fetch_state", NULL };
                yajl_val state = yajl_tree_get(p, state_path, yajl_t_string);
                const char *fetch_state = state ? YAJL_GET_STRING(state) : NULL;
                int64_t id = integer_at(p, "partition", -1);
                /* -1 is librdkafka's internal "unassigned" partition */
                if (id < 0 || id > INT32_MAX || !fetch_state || strcmp(fetch_state, "active") != 0)
                        continue;
                ARRAY_RESERVE(*out, *cap, n + 1);
                /* consumer_lag counts from the committed offset, unknown
                 * until the group commits; consumer_lag_stored from the
                 * offset stored for the next commit */
                int64_t lag = integer_at(p, "consumer_lag", -1);
                if (lag < 0)
                        lag = integer_at(p, "consumer_lag_stored", -1);
                (*out)[n++] = (KafkaPartitionStats){ .partition = (int32_t)id,
                                                     .consumer_lag = lag,
                                                     .committed_offset = integer_at(p, "committed_offset", -1001) };
        }
        yajl_tree_free(root);
        if (n > 0)
                qsort(*out, n, sizeof(**out), compare_partitions);
        return (int)n;
}
