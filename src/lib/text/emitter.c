/* emitter: result rows to stdout (JSON lines or a Spark-like table) or to the
 * journal with one field per column. */
#include "lib/text/emitter.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "lib/base/alloc.h"
#include "lib/base/file_io.h"
#include "lib/base/util.h"
#include "lib/text/format_double.h"
#include "lib/text/row_json.h"
#include "lib/text/timestamp.h"

typedef struct TableRow {
        char window[2 * TIMESTAMP_MAX + 4];
        char *sensor;
        char avg[32], max[32], min[32], count[24];
} TableRow;

struct Emitter {
        SinkKind sink;
        OutputFormat format;
        FILE *stream;
        uint64_t batch;
        uint64_t rows;
        int error;
        TableRow *table;
        size_t n_table, cap_table;
        char *lines; /* JSON rows not written yet, whole lines only */
        size_t n_lines, cap_lines;
        TimestampCache times; /* the window bounds, formatted once */
};

/* JSON rows leave in write(2)s of whole lines, at the batch's end and
 * whenever this much has gathered, so that a stop or an error leaves
 * stdout between two rows (stdio flushes wherever its buffer fills). A
 * SIGKILL can still cut a write to a file at a page boundary; the batch's
 * rows are then emitted again whole after the restart. */
#define LINES_CHUNK (64 * 1024)

SinkKind sink_resolve(SinkKind sink) {
        if (sink != SINK_AUTO)
                return sink;
        return getenv("INVOCATION_ID") || fd_is_journal_stream(STDOUT_FILENO) ? SINK_JOURNAL : SINK_STDOUT;
}

Emitter *emitter_new(SinkKind sink, OutputFormat format, FILE *stream) {
        Emitter *e = xcalloc(1, sizeof(*e));
        e->sink = sink_resolve(sink);
        e->format = format;
        e->stream = stream;
        return e;
}

static void table_clear(Emitter *e) {
        for (size_t i = 0; i < e->n_table; i++)
                free(e->table[i].sensor);
        e->n_table = 0;
}

Emitter *emitter_free(Emitter *e) {
        if (!e)
                return NULL;
        table_clear(e);
        free(e->table);
        free(e->lines);
        free(e);
        return NULL;
}

void emitter_begin_batch(Emitter *e, uint64_t batch) {
        e->batch = batch;
        e->error = 0;
        table_clear(e);
}

/* Writes the gathered lines: straight to the stream's file descriptor in
 * one write(2) (a regular file takes it whole), or through stdio for a
 * stream without one. */
static int write_lines(Emitter *e) {
        int fd = fileno(e->stream);
        size_t len = e->n_lines;
        e->n_lines = 0;
        if (fd < 0)
                return fwrite(e->lines, 1, len, e->stream) == len ? 0 : -EIO;
        if (fflush(e->stream) == EOF) /* whatever stdio holds goes first */
                return -errno;
        return file_write_all(fd, (const uint8_t *)e->lines, len);
}

static int write_json(Emitter *e, const WindowRow *row) {
        ARRAY_RESERVE(e->lines, e->cap_lines, e->n_lines + ROW_JSON_MAX + 1);
        int len = row_json(e->lines + e->n_lines, e->batch, row, &e->times);
        if (len < 0)
                return len;
        e->n_lines += (size_t)len;
        e->lines[e->n_lines++] = '\n';
        return e->n_lines >= LINES_CHUNK ? write_lines(e) : 0;
}

static int write_journal(Emitter *e, const WindowRow *row) {
        char start[TIMESTAMP_MAX], end[TIMESTAMP_MAX], avg[32], max[32], min[32];
        timestamp_format_cached(&e->times, row->start_ms, start);
        timestamp_format_cached(&e->times, row->end_ms, end);
        format_double(row->avg, avg);
        format_double(row->max, max);
        format_double(row->min, min);
        int len = (int)row->sensor_id_len;
        int r = sd_journal_send("MESSAGE=%.*s [%s, %s) avg=%s max=%s min=%s count=%" PRIu64 " (batch %" PRIu64 ")",
                                len, row->sensor_id, start, end, avg, max, min, row->count, e->batch,
                                "MESSAGE_ID=" SENSORD_RESULT_MESSAGE_ID, "PRIORITY=6", "SYSLOG_IDENTIFIER=sensord",
                                "SENSOR_ID=%.*s", len, row->sensor_id, "WINDOW_START=%s", start, "WINDOW_END=%s",
                                end, "AVG_VALUE=%s", avg, "MAX_VALUE=%s", max, "MIN_VALUE=%s", min,
                                "COUNT=%" PRIu64, row->count, "BATCH=%" PRIu64, e->batch, NULL);
        return r < 0 ? r : 0;
}

static int buffer_table_row(Emitter *e, const WindowRow *row) {
        ARRAY_RESERVE(e->table, e->cap_table, e->n_table + 1);
        TableRow *t = &e->table[e->n_table];
        char start[TIMESTAMP_MAX], end[TIMESTAMP_MAX];
        timestamp_format_cached(&e->times, row->start_ms, start);
        timestamp_format_cached(&e->times, row->end_ms, end);
        snprintf(t->window, sizeof(t->window), "{%s, %s}", start, end);
        t->sensor = xstrndup(row->sensor_id, row->sensor_id_len);
        format_double(row->avg, t->avg);
        format_double(row->max, t->max);
        format_double(row->min, t->min);
        snprintf(t->count, sizeof(t->count), "%" PRIu64, row->count);
        e->n_table++;
        return 0;
}

int emitter_row(const WindowRow *row, void *userdata) {
        Emitter *e = userdata;
        int r;
        if (e->sink == SINK_NONE)
                return 0;
        if (e->sink == SINK_JOURNAL)
                r = write_journal(e, row);
        else if (e->format == FORMAT_TABLE)
                r = buffer_table_row(e, row);
        else
                r = write_json(e, row);
        keep_first_error(&e->error, r);
        if (r == 0)
                e->rows++;
        return r;
}

static void table_rule(FILE *f, const size_t width[6]) {
        for (size_t c = 0; c < 6; c++) {
                fputc('+', f);
                for (size_t k = 0; k < width[c]; k++)
                        fputc('-', f);
        }
        fputs("+\n", f);
}

static void table_line(FILE *f, const size_t width[6], const char *const cells[6]) {
        for (size_t c = 0; c < 6; c++)
                fprintf(f, "|%*s", (int)width[c], cells[c]);
        fputs("|\n", f);
}

#define TABLE_CELLS(t) { (t)->window, (t)->sensor, (t)->avg, (t)->max, (t)->min, (t)->count }

/* Spark's console sink layout: a "Batch: N" banner and a boxed table. */
static void write_table(Emitter *e) {
        static const char *const head[6] = { "window", "sensor_id", "avg_value", "max_value", "min_value", "count" };
        size_t width[6];
        for (size_t c = 0; c < 6; c++)
                width[c] = strlen(head[c]);
        for (size_t i = 0; i < e->n_table; i++) {
                const char *const cells[6] = TABLE_CELLS(&e->table[i]);
                for (size_t c = 0; c < 6; c++)
                        if (strlen(cells[c]) > width[c])
                                width[c] = strlen(cells[c]);
        }
        FILE *f = e->stream;
        fprintf(f, "-------------------------------------------\nBatch: %" PRIu64
                   "\n-------------------------------------------\n", e->batch);
        table_rule(f, width);
        table_line(f, width, head);
        table_rule(f, width);
        for (size_t i = 0; i < e->n_table; i++) {
                const char *const cells[6] = TABLE_CELLS(&e->table[i]);
                table_line(f, width, cells);
        }
        table_rule(f, width);
        fputc('\n', f);
}

int emitter_end_batch(Emitter *e) {
        if (e->sink == SINK_STDOUT) {
                if (e->n_lines > 0)
                        keep_first_error(&e->error, write_lines(e));
                if (e->format == FORMAT_TABLE && e->n_table > 0)
                        write_table(e);
                table_clear(e);
                if (fflush(e->stream) == EOF)
                        keep_first_error(&e->error, -errno);
        }
        return e->error;
}

uint64_t emitter_rows(const Emitter *e) {
        return e->rows;
}

SinkKind emitter_sink(const Emitter *e) {
        return e->sink;
}
