/* metrics_file: the textfile, rewritten on a timer. */
#include "sensord/metrics/metrics_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/alloc.h"
#include "lib/base/file_io.h"
#include "lib/base/log.h"
#include "lib/base/util.h"

struct MetricsFile {
        char *path, *tmp;
        uint64_t interval_us;
        sd_event_source *timer;
        MetricsRenderFn render;
        void *userdata;
        MetricsText text;
        bool failing; /* the last write failed, and said so */
};

int metrics_file_write(MetricsFile *f) {
        f->render(&f->text, f->userdata);
        int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r = 0;
        if (fd < 0)
                r = -errno;
        /* readable by node_exporter's user, whatever the service's umask */
        else if (fchmod(fd, 0644) < 0)
                r = -errno;
        else
                r = file_write_all(fd, (const uint8_t *)f->text.data, f->text.len);
        if (fd >= 0 && close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(f->tmp, f->path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(f->tmp);
                if (!f->failing)
                        log_warning("cannot write metrics.textfile %s: %s (tried again every metrics.interval)",
                                    f->path, strerror(-r));
                f->failing = true;
                return r;
        }
        if (f->failing)
                log_notice("metrics.textfile %s is written again", f->path);
        f->failing = false;
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        MetricsFile *f = userdata;
        metrics_file_write(f);
        sd_event_source_set_time(s, now_usec(CLOCK_MONOTONIC) + f->interval_us);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int metrics_file_new(MetricsFile **out, sd_event *event, const char *path, int64_t interval_ms,
                     MetricsRenderFn render, void *userdata) {
        MetricsFile *f = xcalloc(1, sizeof(*f));
        f->path = xstrdup(path);
        /* not *.prom: the collector skips it */
        if (asprintf(&f->tmp, "%s.%d.tmp", path, (int)getpid()) < 0)
                oom();
        f->interval_us = (uint64_t)interval_ms * 1000;
        f->render = render;
        f->userdata = userdata;
        int r = sd_event_add_time_relative(event, &f->timer, CLOCK_MONOTONIC, f->interval_us, 10000, on_timer, f);
        if (r < 0) {
                metrics_file_free(f);
                return r;
        }
        *out = f;
        return 0;
}

void metrics_file_set_interval(MetricsFile *f, int64_t interval_ms) {
        f->interval_us = (uint64_t)interval_ms * 1000;
}

MetricsFile *metrics_file_free(MetricsFile *f) {
        if (!f)
                return NULL;
        sd_event_source_disable_unref(f->timer);
        metrics_text_free(&f->text);
        free(f->path);
        free(f->tmp);
        free(f);
        return NULL;
}
