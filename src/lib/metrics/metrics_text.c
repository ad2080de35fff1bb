/* metrics_text: Prometheus text exposition, written into a buffer. */
#include "lib/metrics/metrics_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/alloc.h"
#include "lib/base/util.h"
#include "lib/text/format_double.h"

void metrics_text_free(MetricsText *t) {
        free(t->data);
        *t = (MetricsText){ 0 };
}

void metrics_text_reset(MetricsText *t) {
        t->len = 0;
        if (t->data)
                t->data[0] = '\0';
}

static void append(MetricsText *t, const char *s, size_t n) {
        ARRAY_RESERVE(t->data, t->cap, t->len + n + 1);
        memcpy(t->data + t->len, s, n);
        t->len += n;
        t->data[t->len] = '\0';
}

static void append_str(MetricsText *t, const char *s) {
        append(t, s, strlen(s));
}

/* Label values escape backslash, double quote and newline; HELP text
 * backslash and newline. */
static void append_escaped(MetricsText *t, const char *s, bool quote) {
        for (; *s; s++) {
                if (*s == '\\')
                        append_str(t, "\\\\");
                else if (*s == '\n')
                        append_str(t, "\\n");
                else if (*s == '"' && quote)
                        append_str(t, "\\\"");
                else
                        append(t, s, 1);
        }
}

void metrics_family(MetricsText *t, const char *name, const char *type, const char *help) {
        append_str(t, "# HELP ");
        append_str(t, name);
        append_str(t, " ");
        append_escaped(t, help, false);
        append_str(t, "\n# TYPE ");
        append_str(t, name);
        append_str(t, " ");
        append_str(t, type);
        append_str(t, "\n");
}

static void append_labels(MetricsText *t, const MetricsLabels *labels, const char *le) {
        bool any = false;
        for (size_t i = 0; labels && i < 2 && labels->name[i]; i++) {
                append_str(t, any ? "," : "{");
                append_str(t, labels->name[i]);
                append_str(t, "=\"");
                append_escaped(t, labels->value[i], true);
                append_str(t, "\"");
                any = true;
        }
        if (le) {
                append_str(t, any ? "," : "{");
                append_str(t, "le=\"");
                append_str(t, le);
                append_str(t, "\"");
                any = true;
        }
        if (any)
                append_str(t, "}");
}

static void append_double(MetricsText *t, double value) {
        char buf[32];
        if (isnan(value))
                append_str(t, "NaN");
        else if (isinf(value))
                append_str(t, value > 0 ? "+Inf" : "-Inf");
        else
                append(t, buf, format_double(value, buf));
}

static void sample_line(MetricsText *t, const char *name, const char *suffix, const MetricsLabels *labels,
                        const char *le) {
        append_str(t, name);
        append_str(t, suffix);
        append_labels(t, labels, le);
        append_str(t, " ");
}

void metrics_sample(MetricsText *t, const char *name, const MetricsLabels *labels, double value) {
        sample_line(t, name, "", labels, NULL);
        append_double(t, value);
        append_str(t, "\n");
}

void metrics_sample_u64(MetricsText *t, const char *name, const MetricsLabels *labels, uint64_t value) {
        char buf[24];
        sample_line(t, name, "", labels, NULL);
        snprintf(buf, sizeof(buf), "%" PRIu64 "\n", value);
        append_str(t, buf);
}

void metrics_histogram(MetricsText *t, const char *name, const MetricsLabels *labels, const double *bounds,
                       const uint64_t *counts, size_t n, double sum) {
        char le[32], buf[24];
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= n; i++) {
                cumulative += counts[i];
                if (i < n)
                        le[format_double(bounds[i], le)] = '\0';
                sample_line(t, name, "_bucket", labels, i < n ? le : "+Inf");
                snprintf(buf, sizeof(buf), "%" PRIu64 "\n", cumulative);
                append_str(t, buf);
        }
        sample_line(t, name, "_sum", labels, NULL);
        append_double(t, sum);
        append_str(t, "\n");
        sample_line(t, name, "_count", labels, NULL);
        snprintf(buf, sizeof(buf), "%" PRIu64 "\n", cumulative);
        append_str(t, buf);
}

void metrics_histogram_init(MetricsHistogram *h, const double *bounds, size_t n) {
        *h = (MetricsHistogram){ .bounds = bounds, .n = n < METRICS_HISTOGRAM_MAX_BOUNDS ? n : METRICS_HISTOGRAM_MAX_BOUNDS };
}

void metrics_histogram_add(MetricsHistogram *h, double value) {
        size_t i = 0;
        while (i < h->n && value > h->bounds[i])
                i++;
        h->counts[i]++;
        h->sum += value;
}
