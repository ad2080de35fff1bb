/* sensord: command line, configuration check, then the daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/base/log.h"
#include "lib/config/config.h"
#include "sensord-build.h"
#include "sensord/daemon.h"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: sensord [OPTIONS]\n"
                "Windowed aggregation of sensor readings from Kafka (avg, max, min per sensor).\n"
                "\n"
                "  -c, --config FILE       configuration file (default %s)\n"
                "      --available-now     process what the topic holds now, in bounded batches, then exit 0\n"
                "      --check-config      validate the configuration, print OK or the errors\n"
                "                          (with -v, then every setting, its value and live/restart)\n"
                "      --sink SINK         override output.sink: stdout or journal\n"
                "      --format FORMAT     override output.format: json or table\n"
                "  -v, --verbose           log debug messages\n"
                "      --version           print the version\n"
                "  -h, --help              print this help\n"
                "\n"
                "Signals: SIGHUP reloads the configuration; SIGTERM and SIGINT stop gracefully.\n"
                "Exit status: 0 ok, 64 usage, 69 Kafka unavailable, 70 internal error,\n"
                "74 output or state I/O error, 78 configuration error.\n",
                SENSORD_DEFAULT_CONFIG);
}

static int print_config_errors(const ConfigErrors *errors) {
        for (size_t i = 0; i < errors->n; i++)
                fprintf(stderr, "%s\n", errors->messages[i]);
        return EX_CONFIG;
}

/* Every setting with its effective value and its reload rule: the same
 * table that reload uses and sensord.conf(5) documents. */
static void print_settings(const Config *config) {
        char value[1024];
        for (size_t i = 0; i < config_settings_count(); i++) {
                config_format_setting(config, i, value, sizeof(value));
                printf("%-34s %-8s %s\n", config_setting_path(i),
                       config_setting_reload(i) == CONFIG_RELOAD_LIVE ? "live" : "restart", value);
        }
}

int main(int argc, char **argv) {
        enum { OPT_AVAILABLE_NOW = 256, OPT_CHECK_CONFIG, OPT_SINK, OPT_FORMAT, OPT_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "available-now", no_argument, NULL, OPT_AVAILABLE_NOW },
                { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
                { "sink", required_argument, NULL, OPT_SINK },
                { "format", required_argument, NULL, OPT_FORMAT },
                { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, OPT_VERSION },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        DaemonOptions opts = {
                .config_path = SENSORD_DEFAULT_CONFIG,
                .sink_override = -1,
                .format_override = -1,
                .log_level = -1,
        };
        bool check_only = false;
        int c;

        log_setup("sensord", LOG_INFO);
        while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        opts.config_path = optarg;
                        break;
                case OPT_AVAILABLE_NOW:
                        opts.available_now = true;
                        break;
                case OPT_CHECK_CONFIG:
                        check_only = true;
                        break;
                case OPT_SINK:
                        if (strcmp(optarg, "stdout") == 0)
                                opts.sink_override = SINK_STDOUT;
                        else if (strcmp(optarg, "journal") == 0)
                                opts.sink_override = SINK_JOURNAL;
                        else {
                                fprintf(stderr, "sensord: --sink must be stdout or journal, not '%s'\n", optarg);
                                return EX_USAGE;
                        }
                        break;
                case OPT_FORMAT:
                        if (strcmp(optarg, "json") == 0)
                                opts.format_override = FORMAT_JSON;
                        else if (strcmp(optarg, "table") == 0)
                                opts.format_override = FORMAT_TABLE;
                        else {
                                fprintf(stderr, "sensord: --format must be json or table, not '%s'\n", optarg);
                                return EX_USAGE;
                        }
                        break;
                case 'v':
                        opts.log_level = LOG_DEBUG;
                        break;
                case OPT_VERSION:
                        printf("sensord %s\n", SENSORD_VERSION);
                        return EX_OK;
                case 'h':
                        usage(stdout);
                        return EX_OK;
                default:
                        usage(stderr);
                        return EX_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "sensord: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return EX_USAGE;
        }

        Config *config = NULL;
        ConfigErrors errors;
        int r = config_load(opts.config_path, opts.available_now, &config, &errors);
        if (r < 0) {
                r = print_config_errors(&errors);
                config_errors_clear(&errors);
                return r;
        }
        if (check_only) {
                printf("OK\n");
                if (opts.log_level == LOG_DEBUG)
                        print_settings(config);
                config_free(config);
                return EX_OK;
        }
        return daemon_run(&opts, config);
}
