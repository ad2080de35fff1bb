/* engine: sensord's own ceiling. Parses, aggregates and emits records that
 * are already in memory, through the real pipeline, window state and
 * emitter (JSON lines to /dev/null), with no Kafka. The records are those
 * of sensor-replay --generate (generate.c), spread over the partitions by
 * key as a keyed producer would, and handed over in runs of 1,000 per
 * partition as a consumer's fetches deliver them; they are generated before
 * the clock starts.
 * Prints one line of key=value figures (records_per_s over the CPU time: one
 * core, whatever else the machine runs); bytes_per_key is the heap the
 * processing left in use (malloc's own count), per live (window, sensor)
 * entry at the end. Not a test: tests/bench/run.sh runs it.
 *   engine RECORDS SENSORS [PARTITIONS [MAX_MESSAGES [WINDOW_MS SLIDE_MS [MODE [WATERMARK_MS [SHAPE]]]]]]
 * MODE is update (default), append or complete. The watermark is 365 days
 * unless given, so that every record is aggregated. SHAPE is a record shape
 * of sensor-replay --shape (generate.h), read with the input settings that
 * match it: flat (default), nested-epoch-ms or key-timestamp. */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"
#include "lib/input/generate.h"
#include "lib/text/emitter.h"
#include "sensord/pipeline.h"

typedef struct Sink {
        Emitter *emitter;
} Sink;

static void begin(void *userdata, uint64_t batch) {
        emitter_begin_batch(((Sink *)userdata)->emitter, batch);
}

static int row(const WindowRow *r, void *userdata) {
        return emitter_row(r, ((Sink *)userdata)->emitter);
}

static int end(void *userdata, uint64_t batch) {
        return emitter_end_batch(((Sink *)userdata)->emitter);
}

static void store_offsets(void *userdata, const PartitionOffset *offsets, size_t n) {
}

static int invalid(void *userdata, uint64_t batch, const PipelineMessage *m, RecordError error, const char *reason) {
        return 0;
}

/* The order a consumer hands messages over in: each partition's in runs of
 * RUN_LENGTH (its fetched message sets), the partitions in turn. */
#define RUN_LENGTH 1000
static PipelineMessage *as_fetched(PipelineMessage *messages, uint64_t n, int32_t partitions) {
        PipelineMessage *ordered = xmalloc(n * sizeof(*ordered));
        uint64_t *next = xcalloc((size_t)partitions, sizeof(*next)); /* scan position per partition */
        uint64_t out = 0;
        while (out < n)
                for (int32_t p = 0; p < partitions; p++)
                        for (uint64_t taken = 0; taken < RUN_LENGTH && next[p] < n; next[p]++)
                                if (messages[next[p]].partition == p) {
                                        ordered[out++] = messages[next[p]];
                                        taken++;
                                }
        free(next);
        free(messages);
        return ordered;
}

static uint64_t arg(int argc, char **argv, int i, uint64_t fallback) {
        return argc > i ? strtoull(argv[i], NULL, 10) : fallback;
}

static double seconds(clockid_t clock) {
        return (double)now_usec(clock) / 1e6;
}

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: engine RECORDS SENSORS [PARTITIONS [MAX_MESSAGES [WINDOW_MS SLIDE_MS "
                                "[update|append|complete]]]]\n");
                return 64;
        }
        uint64_t n = arg(argc, argv, 1, 0), sensors = arg(argc, argv, 2, 1000);
        GenerateShape shape = SHAPE_FLAT;
        if (argc > 9 && generate_shape_from_name(argv[9], &shape) < 0) {
                fprintf(stderr, "engine: unknown shape %s\n", argv[9]);
                return 64;
        }
        int32_t partitions = (int32_t)arg(argc, argv, 3, 32);
        uint64_t max_messages = arg(argc, argv, 4, 10000);
        WindowSpec spec = { .size_ms = (int64_t)arg(argc, argv, 5, 600000),
                            .slide_ms = (int64_t)arg(argc, argv, 6, 300000),
                            .watermark_delay_ms = (int64_t)arg(argc, argv, 8, 365ull * 24 * 3600 * 1000) };
        const char *mode_name = argc > 7 ? argv[7] : "update";
        OutputMode mode = strcmp(mode_name, "append") == 0     ? OUTPUT_APPEND
                          : strcmp(mode_name, "complete") == 0 ? OUTPUT_COMPLETE
                                                               : OUTPUT_UPDATE;

        /* the records, one buffer */
        PipelineMessage *messages = xcalloc(n, sizeof(*messages));
        char *values = xmalloc(n * GENERATE_VALUE_MAX); /* packed: only the pages written are touched */
        char *keys = xmalloc(n * GENERATE_KEY_MAX);
        size_t used = 0, keys_used = 0;
        Generator gen;
        generator_init(&gen, 1, sensors, sensors >= n);
        gen.shape = shape;
        for (uint64_t i = 0; i < n; i++) {
                char *key = keys + keys_used;
                size_t key_len;
                char *value = values + used;
                size_t len = generator_next(&gen, key, &key_len, value);
                used += len;
                keys_used += key_len;
                uint64_t h = 1469598103934665603ull;
                for (size_t k = 0; k < key_len; k++)
                        h = (h ^ (unsigned char)key[k]) * 1099511628211ull;
                int32_t partition = (int32_t)(h % (uint64_t)partitions);
                messages[i] = (PipelineMessage){ .partition = partition, .offset = (int64_t)i, .payload = value,
                                                 .len = len, .key = key, .key_len = key_len,
                                                 .timestamp_ms = shape == SHAPE_KEY_TIMESTAMP ? gen.event_ms : -1 };
        }
        messages = as_fetched(messages, n, partitions);

        FILE *devnull = fopen("/dev/null", "w");
        Sink sink = { emitter_new(SINK_STDOUT, FORMAT_JSON, devnull) };
        PipelineSettings settings = { .batch = { .max_messages = max_messages, .max_bytes = 1 << 20, .max_delay_us = 0 },
                                      .mode = mode,
                                      .max_keys = UINT64_MAX,
                                      .max_message_bytes = 65536 };
        generate_shape_input(shape, &settings.shape);
        PipelineOutput output = { .userdata = &sink, .begin_batch = begin, .row = row, .end_batch = end };
        PipelineHooks hooks = { .store_offsets = store_offsets, .invalid = invalid };
        Pipeline *p;
        if (pipeline_new(&p, &spec, &settings, &output, &hooks, NULL) < 0) {
                fprintf(stderr, "engine: invalid window\n");
                return 64;
        }
        int32_t *ids = xmalloc((size_t)partitions * sizeof(*ids));
        int64_t *seek = xmalloc((size_t)partitions * sizeof(*seek));
        for (int32_t i = 0; i < partitions; i++)
                ids[i] = i;
        pipeline_assign(p, ids, (size_t)partitions, seek);

        fprintf(stderr, "engine: %" PRIu64 " records generated\n", n);
        size_t heap_before = mallinfo2().uordblks;
        double wall0 = seconds(CLOCK_MONOTONIC), cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r = 0;
        for (uint64_t i = 0; i < n && r == 0; i++)
                r = pipeline_add(p, &messages[i], now);
        if (r == 0)
                r = pipeline_close_batch(p);
        double wall = seconds(CLOCK_MONOTONIC) - wall0, cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        if (r < 0) {
                fprintf(stderr, "engine: the pipeline failed: %s\n", strerror(-r));
                return 70;
        }
        const WindowStats *ws = pipeline_window_stats(p);
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        size_t heap_after = mallinfo2().uordblks;
        printf("records=%" PRIu64 " sensors=%" PRIu64 " shape=%s mode=%s windows_per_record=%" PRIu64
               " wall_s=%.3f cpu_s=%.3f records_per_s=%.0f rows=%" PRIu64 " live_keys=%" PRIu64
               " invalid=%" PRIu64 " peak_rss_kib=%ld bytes_per_key=%.0f\n",
               n, sensors, generate_shape_name(shape), mode_name, window_spec_windows_per_record(&spec), wall, cpu, (double)n / cpu,
               emitter_rows(sink.emitter), ws->live_keys, pipeline_stats(p)->invalid, usage.ru_maxrss,
               ws->live_keys ? (double)(heap_after - heap_before) / (double)ws->live_keys : 0.0);
        pipeline_free(p);
        emitter_free(sink.emitter);
        fclose(devnull);
        free(ids);
        free(seek);
        free(messages);
        free(values);
        free(keys);
        return 0;
}
