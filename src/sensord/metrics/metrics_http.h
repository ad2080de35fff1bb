/* metrics_http: the metrics.listen endpoint. libmicrohttpd serves
 * GET /metrics from the event loop's thread: its epoll descriptor is one of
 * the loop's sources and its timeouts one of the loop's timers, so a
 * request never blocks the loop, and a client that never reads only holds
 * its own connection (until libmicrohttpd's 10 s timeout). */
#pragma once

#include <systemd/sd-event.h>

#include "lib/metrics/metrics_text.h"

/* Fills t with the metrics as they stand. */
typedef void (*MetricsRenderFn)(MetricsText *t, void *userdata);

typedef struct MetricsHttp MetricsHttp;

/* Listens on listen (HOST:PORT; [IPv6]:PORT). -EADDRNOTAVAIL, -EADDRINUSE
 * and the like when it cannot (logged). */
int metrics_http_new(MetricsHttp **out, sd_event *event, const char *listen, MetricsRenderFn render, void *userdata);

/* Closes the socket and every connection. */
MetricsHttp *metrics_http_free(MetricsHttp *h);
