/* metrics_http: libmicrohttpd in external-epoll mode on sd-event. */
#include "sensord/metrics/metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "lib/base/alloc.h"
#include "lib/base/log.h"
#include "lib/base/util.h"

/* A client idle this long is disconnected, one that never reads included. */
#define CONNECTION_TIMEOUT_S 10
#define CONNECTION_LIMIT 32

struct MetricsHttp {
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        MetricsRenderFn render;
        void *userdata;
        MetricsText text;
};

static void arm_timer(MetricsHttp *h) {
        MHD_UNSIGNED_LONG_LONG ms;
        if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
                sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(h->timer, now_usec(CLOCK_MONOTONIC) + (uint64_t)ms * 1000);
        sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static void run(MetricsHttp *h) {
        MHD_run(h->mhd);
        arm_timer(h);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        run(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        run(userdata);
        return 0;
}

static enum MHD_Result reply(struct MHD_Connection *connection, unsigned status, const char *body, size_t len,
                             bool persistent_body) {
        struct MHD_Response *response = MHD_create_response_from_buffer(
                len, (void *)body, persistent_body ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY);
        if (!response)
                return MHD_NO;
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                status == MHD_HTTP_OK ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8");
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        enum MHD_Result r = MHD_queue_response(connection, status, response);
        MHD_destroy_response(response);
        return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **state) {
        static const char not_found[] = "sensord serves its metrics at /metrics\n",
                          not_allowed[] = "only GET and HEAD\n";
        MetricsHttp *h = cls;
        bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
        if (*upload_data_size > 0) {
                *upload_data_size = 0; /* a body is not read */
                return MHD_YES;
        }
        if (strcmp(url, "/metrics") != 0)
                return reply(connection, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1, true);
        if (!get)
                return reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, sizeof(not_allowed) - 1, true);
        /* rendered now, on the loop: every number of one scrape is of the
         * same moment */
        h->render(&h->text, h->userdata);
        return reply(connection, MHD_HTTP_OK, h->text.data ? h->text.data : "", h->text.len, false);
}

/* fmt is libmicrohttpd's own format string (the attribute says so to clang's -Wformat-nonliteral) */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        char text[256];
        vsnprintf(text, sizeof(text), fmt, ap);
        text[strcspn(text, "\n")] = '\0';
        log_warning("metrics endpoint: %s", text);
}

/* HOST:PORT or [HOST]:PORT to an address to bind. */
static int resolve(const char *listen, struct sockaddr_storage *addr, bool *ipv6) {
        char host[256];
        const char *colon = strrchr(listen, ':');
        size_t len = (size_t)(colon - listen);
        const char *start = listen;
        if (listen[0] == '[') {
                start++;
                len -= 2;
        }
        if (len >= sizeof(host))
                return -EINVAL;
        memcpy(host, start, len);
        host[len] = '\0';
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res;
        int r = getaddrinfo(host, colon + 1, &hints, &res);
        if (r != 0) {
                log_error("metrics.listen \"%s\": %s", listen, gai_strerror(r));
                return -EADDRNOTAVAIL;
        }
        memcpy(addr, res->ai_addr, res->ai_addrlen);
        *ipv6 = res->ai_family == AF_INET6;
        freeaddrinfo(res);
        return 0;
}

int metrics_http_new(MetricsHttp **out, sd_event *event, const char *listen, MetricsRenderFn render,
                     void *userdata) {
        struct sockaddr_storage addr = { 0 };
        bool ipv6 = false;
        int r = resolve(listen, &addr, &ipv6);
        if (r < 0)
                return r;
        MetricsHttp *h = xcalloc(1, sizeof(*h));
        h->render = render;
        h->userdata = userdata;
        /* the logger first, so that it gets the messages about the options too */
        h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL,
                                  on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                                  (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned)CONNECTION_LIMIT, MHD_OPTION_END);
        if (!h->mhd) {
                r = errno ? -errno : -EADDRNOTAVAIL;
                log_error("cannot listen on metrics.listen \"%s\": %s", listen, strerror(-r));
                free(h);
                return r;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || (r = sd_event_add_io(event, &h->io, info->epoll_fd, EPOLLIN, on_io, h)) < 0 ||
            (r = sd_event_add_time(event, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, h)) < 0) {
                metrics_http_free(h);
                return r < 0 ? r : -EIO;
        }
        sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        /* sd-event runs one pending source per turn, oldest first, and a
         * turn of the data path (a drain of 4096 records, a batch's rows)
         * can take hundreds of milliseconds on a loaded host: a scrape
         * waiting behind several would time out. Ahead of them, it waits
         * for one turn at most. */
        sd_event_source_set_priority(h->io, SD_EVENT_PRIORITY_IMPORTANT);
        sd_event_source_set_priority(h->timer, SD_EVENT_PRIORITY_IMPORTANT);
        log_info("metrics at http://%s/metrics", listen);
        *out = h;
        return 0;
}

MetricsHttp *metrics_http_free(MetricsHttp *h) {
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->io);
        sd_event_source_disable_unref(h->timer);
        if (h->mhd)
                MHD_stop_daemon(h->mhd);
        metrics_text_free(&h->text);
        free(h);
        return NULL;
}
