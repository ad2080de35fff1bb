/* parse: the record parser alone, in each record shape. Parses the same
 * generated readings (generate.h, seed 1) written in the shape named, with
 * the input settings that read it, several times over, and prints the rate
 * over the CPU time. Not a test: tests/bench/run.sh runs it.
 *   parse RECORDS SHAPE [ROUNDS]
 * SHAPE is flat, nested-epoch-ms or key-timestamp (sensor-replay --shape). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"
#include "lib/input/generate.h"
#include "lib/input/record.h"

int main(int argc, char **argv) {
        GenerateShape shape;
        if (argc < 3 || generate_shape_from_name(argv[2], &shape) < 0) {
                fprintf(stderr, "usage: parse RECORDS flat|nested-epoch-ms|key-timestamp [ROUNDS]\n");
                return 64;
        }
        uint64_t n = strtoull(argv[1], NULL, 10), rounds = argc > 3 ? strtoull(argv[3], NULL, 10) : 5;
        RecordShape rs;
        generate_shape_input(shape, &rs);

        RecordMessage *messages = xcalloc(n, sizeof(*messages));
        char *values = xmalloc(n * GENERATE_VALUE_MAX), *keys = xmalloc(n * GENERATE_KEY_MAX);
        size_t used = 0, keys_used = 0, bytes = 0;
        Generator gen;
        generator_init(&gen, 1, 1000, false);
        gen.shape = shape;
        for (uint64_t i = 0; i < n; i++) {
                size_t key_len, len = generator_next(&gen, keys + keys_used, &key_len, values + used);
                messages[i] = (RecordMessage){ .value = values + used, .len = len, .key = keys + keys_used,
                                               .key_len = key_len,
                                               .timestamp_ms = shape == SHAPE_KEY_TIMESTAMP ? gen.event_ms : -1 };
                used += len;
                keys_used += key_len;
                bytes += len;
        }
        uint64_t invalid = 0;
        double checksum = 0;
        double cpu0 = (double)now_usec(CLOCK_PROCESS_CPUTIME_ID) / 1e6;
        for (uint64_t round = 0; round < rounds; round++)
                for (uint64_t i = 0; i < n; i++) {
                        Record r;
                        if (record_parse_message(&rs, &messages[i], 65536, &r, NULL) != RECORD_OK)
                                invalid++;
                        else
                                checksum += r.value + (double)(r.event_time_ms & 1);
                }
        double cpu = (double)now_usec(CLOCK_PROCESS_CPUTIME_ID) / 1e6 - cpu0;
        printf("shape=%s records=%" PRIu64 " rounds=%" PRIu64 " bytes_per_record=%.1f cpu_s=%.3f records_per_s=%.0f "
               "invalid=%" PRIu64 " checksum=%.2f\n",
               argv[2], n, rounds, (double)bytes / (double)n, cpu, (double)(n * rounds) / cpu, invalid, checksum);
        free(messages);
        free(values);
        free(keys);
        return invalid ? 1 : 0;
}
