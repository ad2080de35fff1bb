/* reload: what SIGHUP does to the configuration. The file is read again into
 * a fresh configuration, the command line's overrides are applied to it, and
 * it replaces the running one only when it is valid and changes no
 * restart-only setting (the reload column of config.c's settings table). */
#pragma once

#include "lib/config/config.h"
#include "sensord/daemon_options.h"
#include "sensord/pipeline.h"

/* The command line wins over the file, at start and at every reload; sets
 * the log level too. */
void reload_apply_options(const DaemonOptions *options, Config *config);

/* The configuration to swap in, or NULL to keep running: the errors, or the
 * restart-only setting that changed, are logged. */
Config *reload_config(const DaemonOptions *options, const Config *running);

/* The pipeline's settings from a configuration, at start and at reload. */
PipelineSettings reload_pipeline_settings(const DaemonOptions *options, const Config *config);
