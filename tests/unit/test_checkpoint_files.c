/* A partition's checkpoint directory across an upgrade of the format: a
 * version 1 log (the checked-in file) loads, and the state as loaded
 * starts a generation in the current version rather than records of it
 * going into the old log; saves go to the new log; it all reloads, and
 * still does when the new snapshot is damaged, from the version 1
 * generation and the new log. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/state/checkpoint_format.h"
#include "lib/state/window.h"
#include "sensord/checkpoint/checkpoint_files.h"

#define MIN 60000LL
#define T 1729593300000LL /* 2024-10-22T10:35:00Z, as in checkpoint-v1.bin */

static const CheckpointHeader expect = {
        .version = CHECKPOINT_FORMAT_VERSION,
        .topic = "sensor-data",
        .partition = 3,
        .spec = { .size_ms = 10 * MIN, .slide_ms = 5 * MIN, .offset_ms = 0, .watermark_delay_ms = 5 * MIN },
};

typedef struct Entries {
        char text[16][64];
        size_t n;
} Entries;

static void describe(const WindowEntry *e, void *userdata) {
        Entries *list = userdata;
        assert_true(list->n < 16);
        snprintf(list->text[list->n++], 64, "%.*s@%lld:%llu/%g/%g/%g", (int)e->sensor_id_len, e->sensor_id,
                 (long long)((e->start_ms - T) / MIN), (unsigned long long)e->count, e->sum, e->min, e->max);
}

static int compare_text(const void *a, const void *b) {
        return strcmp(a, b);
}

/* The state's entries as sorted text, joined by spaces. */
static void state_text(const WindowState *s, char *out, size_t size) {
        Entries list = { .n = 0 };
        window_state_each_entry(s, describe, &list);
        qsort(list.text, list.n, sizeof(list.text[0]), compare_text);
        out[0] = '\0';
        for (size_t i = 0; i < list.n; i++)
                snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", list.text[i]);
}

static void copy_file(const char *from, const char *to) {
        char data[4096];
        FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
        assert_non_null(in);
        assert_non_null(out);
        size_t n = fread(data, 1, sizeof(data), in);
        assert_int_equal(fwrite(data, 1, n, out), n);
        fclose(in);
        fclose(out);
}

static uint32_t file_version(const char *path) {
        uint8_t head[12];
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
        fclose(f);
        return (uint32_t)head[8] | (uint32_t)head[9] << 8 | (uint32_t)head[10] << 16 | (uint32_t)head[11] << 24;
}

/* Opens the directory into a fresh state: a checkpoint at offset with
 * these entries. */
static void expect_load(const char *dir, Windows *all, WindowState **state, CheckpointFiles **files,
                        CheckpointMark *mark, int64_t offset, const char *entries) {
        char text[1024];
        *state = window_state_new(all);
        assert_int_equal(checkpoint_files_open(files, dir, &expect, *state, mark), 1);
        assert_int_equal(mark->next_offset, offset);
        state_text(*state, text, sizeof(text));
        assert_string_equal(text, entries);
}

static void unload(CheckpointFiles *files, WindowState *state) {
        checkpoint_files_free(files);
        window_state_free(state);
}

static void test_upgrade_from_version_1(void **unused) {
        char dir[] = "/tmp/test-checkpoint-files-XXXXXX", part[128], path[160];
        assert_non_null(mkdtemp(dir));
        snprintf(part, sizeof(part), "%s/sensor-data-3", dir);
        assert_int_equal(mkdir(part, 0700), 0);
        snprintf(path, sizeof(path), "%s/delta.0", part);
        copy_file(CHECKPOINT_V1, path);

        Windows *all;
        WindowState *state;
        CheckpointFiles *files;
        CheckpointMark mark;
        const char *v1_state = "sensor_001@0:1/23.5/23.5/23.5 sensor_001@5:2/69.5/23.5/46 sensor_002@0:2/76/26.7/49.3";
        assert_int_equal(windows_new(&all, &expect.spec, 1000), 0);

        /* the version 1 log loads as it always did, and generation 1 starts
         * in this version; the version 1 log is left as it was, the
         * fallback */
        expect_load(dir, all, &state, &files, &mark, 12, v1_state);
        window_state_add(state, "sensor_003", 10, 4.5, T + 7 * MIN, NULL);
        mark.next_offset = 13;
        assert_int_equal(checkpoint_files_save(files, state, &mark), 0);
        snprintf(path, sizeof(path), "%s/snapshot.1", part);
        assert_int_equal(file_version(path), CHECKPOINT_FORMAT_VERSION);
        snprintf(path, sizeof(path), "%s/delta.1", part);
        assert_int_equal(file_version(path), CHECKPOINT_FORMAT_VERSION);
        snprintf(path, sizeof(path), "%s/delta.0", part);
        assert_int_equal(file_version(path), 1);
        unload(files, state);

        /* it reloads, and another delta goes into the new log */
        const char *upgraded = "sensor_001@0:1/23.5/23.5/23.5 sensor_001@5:2/69.5/23.5/46 "
                               "sensor_002@0:2/76/26.7/49.3 sensor_003@0:1/4.5/4.5/4.5 sensor_003@5:1/4.5/4.5/4.5";
        expect_load(dir, all, &state, &files, &mark, 13, upgraded);
        window_state_add(state, "sensor_001", 10, 0.5, T + 6 * MIN, NULL);
        mark.next_offset = 14;
        assert_int_equal(checkpoint_files_save(files, state, &mark), 0);
        unload(files, state);
        const char *after_delta = "sensor_001@0:2/24/0.5/23.5 sensor_001@5:3/70/0.5/46 "
                                  "sensor_002@0:2/76/26.7/49.3 sensor_003@0:1/4.5/4.5/4.5 sensor_003@5:1/4.5/4.5/4.5";
        expect_load(dir, all, &state, &files, &mark, 14, after_delta);
        unload(files, state);

        /* a damaged snapshot.1: generation 0 (version 1) and both logs
         * reach the same state */
        snprintf(path, sizeof(path), "%s/snapshot.1", part);
        int fd = open(path, O_RDWR);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        uint8_t byte;
        assert_int_equal(pread(fd, &byte, 1, st.st_size - 3), 1);
        byte ^= 0x40;
        assert_int_equal(pwrite(fd, &byte, 1, st.st_size - 3), 1);
        close(fd);
        expect_load(dir, all, &state, &files, &mark, 14, after_delta);
        unload(files, state);

        windows_free(all);
        char command[200];
        snprintf(command, sizeof(command), "rm -rf '%s'", dir);
        assert_int_equal(system(command), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_upgrade_from_version_1),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
