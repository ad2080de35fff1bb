/* daemon_options: what the command line asks of the daemon. main.c fills it;
 * the daemon and reload.c read it, at start and at every reload, so it sits
 * below both rather than in daemon.h. */
#pragma once

#include <stdbool.h>

typedef struct DaemonOptions {
        const char *config_path;
        bool available_now;
        int sink_override;   /* -1 or a SinkKind */
        int format_override; /* -1 or an OutputFormat */
        int log_level;       /* syslog priority; -1: from the configuration */
} DaemonOptions;
