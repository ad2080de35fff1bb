/* checkpoint-cost: the cost of one checkpoint in a large state, measured on
 * the real modules (window state, checkpoint files) without Kafka. A
 * partition holds LIVE_KEYS (window, sensor) entries (half as many sensors,
 * two windows each); after a first checkpoint, a batch changes CHANGED
 * entries, and the next checkpoint is timed. Also the bytes on disk per
 * live key. Not a test: tests/bench/checkpoint.sh runs it.
 *   checkpoint-cost DIR [LIVE_KEYS [CHANGED]] */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/base/util.h"
#include "sensord/checkpoint/checkpoint_files.h"

static uint64_t dir_bytes(const char *path) {
        DIR *d = opendir(path);
        uint64_t total = 0;
        struct stat st;
        for (struct dirent *e; d && (e = readdir(d));)
                if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
                        total += (uint64_t)st.st_size;
        if (d)
                closedir(d);
        return total;
}

static void add_readings(WindowState *s, uint64_t first, uint64_t n, double value) {
        char id[32];
        for (uint64_t i = first; i < first + n; i++) {
                int len = snprintf(id, sizeof(id), "sensor_%07" PRIu64, i);
                /* 10:42: in [10:35, 10:45) and [10:40, 10:50) */
                window_state_add(s, id, (size_t)len, value, 1729593720000, NULL);
        }
}

/* One more checkpoint: how long it took and what it wrote. */
static int timed_save(CheckpointFiles *files, WindowState *state, CheckpointMark *mark, uint64_t *us,
                      uint64_t *bytes) {
        mark->next_batch++;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        int r = checkpoint_files_save(files, state, mark);
        *us = now_usec(CLOCK_MONOTONIC) - t0;
        *bytes = checkpoint_files_last_bytes(files);
        return r;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: checkpoint-cost DIR [LIVE_KEYS [CHANGED]]\n");
                return 64;
        }
        uint64_t live = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000, changed = argc > 3 ? strtoull(argv[3], NULL, 10) : 10000;
        WindowSpec spec = { .size_ms = 600000, .slide_ms = 300000, .watermark_delay_ms = 300000 };
        CheckpointHeader header = { .version = CHECKPOINT_FORMAT_VERSION, .topic = "bench", .partition = 0, .spec = spec };
        CheckpointMark mark = { .next_batch = 1, .next_offset = (int64_t)live / 2 };
        CheckpointMark loaded;
        CheckpointFiles *files = NULL;
        Windows *all = NULL;
        windows_new(&all, &spec, live * 2);
        WindowState *state = window_state_new(all);
        if (checkpoint_files_open(&files, argv[1], &header, state, &loaded) < 0)
                return 74;

        add_readings(state, 0, live / 2, 1.0);
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        if (checkpoint_files_save(files, state, &mark) < 0)
                return 74;
        uint64_t first_us = now_usec(CLOCK_MONOTONIC) - t0;
        uint64_t first_bytes = checkpoint_files_last_bytes(files);

        /* The next checkpoint finds the log (the whole state) larger than the
         * state and compacts: a snapshot of everything, once per that many
         * bytes of deltas. Then the steady state: a batch that changes
         * `changed` entries. */
        uint64_t compact_us, compact_bytes, delta_us, delta_bytes;
        add_readings(state, 0, changed / 2, 2.0);
        if (timed_save(files, state, &mark, &compact_us, &compact_bytes) < 0)
                return 74;
        add_readings(state, changed / 2, changed / 2, 3.0);
        if (timed_save(files, state, &mark, &delta_us, &delta_bytes) < 0)
                return 74;

        char *path = NULL;
        if (asprintf(&path, "%s/bench-0", argv[1]) < 0)
                return 70;
        uint64_t disk = dir_bytes(path);
        printf("live keys                          %" PRIu64 "\n", windows_stats(all)->live_keys);
        printf("first checkpoint (whole state)     %.1f ms, %" PRIu64 " bytes\n", first_us / 1000.0, first_bytes);
        printf("compaction (log + whole snapshot)  %.1f ms, %" PRIu64 " bytes\n", compact_us / 1000.0, compact_bytes);
        printf("checkpoint after %" PRIu64 " changed keys  %.2f ms, %" PRIu64 " bytes (%.1f bytes per changed key)\n",
               changed, delta_us / 1000.0, delta_bytes, (double)delta_bytes / (double)changed);
        printf("on disk                            %" PRIu64 " bytes, %.1f bytes per live key\n", disk,
               (double)disk / (double)windows_stats(all)->live_keys);
        free(path);
        checkpoint_files_free(files);
        window_state_free(state);
        windows_free(all);
        return 0;
}
