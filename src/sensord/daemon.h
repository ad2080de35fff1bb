/* daemon: the running sensord. Owns the configuration and the sd-event loop
 * with its signals, timers, reload, sd_notify and watchdog; starts the
 * consumer, the pipeline, the output and the checkpoints, wires their events
 * together, and stops them in order. */
#pragma once

#include "lib/config/config.h"
#include "sensord/daemon_options.h"

/* Runs sensord until stopped. Takes ownership of config. Returns a sysexits
 * exit code (0 after a graceful stop or the end of --available-now). */
int daemon_run(const DaemonOptions *options, Config *config);
