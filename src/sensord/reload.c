/* reload: the configuration file read again, checked against the running one. */
#include "sensord/reload.h"

#include <inttypes.h>
#include <stddef.h>

#include "lib/base/log.h"

void reload_apply_options(const DaemonOptions *options, Config *config) {
        if (options->sink_override >= 0)
                config->sink = (SinkKind)options->sink_override;
        if (options->format_override >= 0)
                config->format = (OutputFormat)options->format_override;
        if (options->log_level >= 0)
                config->log_level = options->log_level;
        log_set_max_priority(config->log_level);
}

Config *reload_config(const DaemonOptions *options, const Config *running) {
        Config *next = NULL;
        ConfigErrors errors;
        const char *setting;

        log_info("reloading %s", options->config_path);
        if (config_load(options->config_path, options->available_now, &next, &errors) < 0) {
                for (size_t i = 0; i < errors.n; i++)
                        log_error("reload failed: %s", errors.messages[i]);
                log_error("reload failed: keeping the running configuration");
                config_errors_clear(&errors);
                return NULL;
        }
        if ((setting = config_restart_required(running, next))) {
                log_error("reload refused: %s changed, which needs a restart (systemctl restart sensord); "
                          "keeping the running configuration",
                          setting);
                config_free(next);
                return NULL;
        }
        reload_apply_options(options, next);
        log_info("configuration reloaded: batch.max_messages=%" PRIu64 " batch.max_bytes=%" PRIu64,
                 next->batch.max_messages, next->batch.max_bytes);
        return next;
}

PipelineSettings reload_pipeline_settings(const DaemonOptions *options, const Config *config) {
        return (PipelineSettings){ .batch = config->batch,
                                   .mode = config->mode,
                                   .max_keys = config->max_keys,
                                   .max_message_bytes = config->max_message_bytes,
                                   .available_now = options->available_now,
                                   .shape = config->input,
                                   .scope = config->watermark_scope,
                                   .max_future_ms = config->max_future_ms };
}
