/* config_internal: what the configuration's files share, and no caller
 * needs: the table of settings (config_settings.c), the loader that reads
 * a file against it (config.c) and its errors, which the checks of values
 * and relations (config_validate.c) add to. */
#pragma once

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/config/config.h"

typedef enum Kind { KIND_STRING, KIND_DURATION, KIND_DURATION_US, KIND_SIZE, KIND_COUNT, KIND_ENUM, KIND_PROPERTIES } Kind;

/* One row per setting: how it is read, where it goes, and whether a reload
 * (SIGHUP) may apply a change to it. A setting is restart-only when a change
 * would alter the meaning of state or output that already exists: the
 * consumer's identity, the window geometry, the output mode (switching to
 * complete after windows were evicted would print an incomplete table), the
 * state directory, the producer topics. */
typedef struct Setting {
        const char *path; /* "group.name" */
        Kind kind;
        size_t offset;
        const char *const *choices; /* KIND_ENUM: values in enum order */
        ConfigReload reload;
} Setting;

#define CONFIG_SETTINGS_N 42

/* Every known setting, in the order --check-config -v prints them. */
extern const Setting config_settings[];

typedef struct Loader {
        const char *path;
        ConfigErrors *errors;
        Config *config;
        bool bad[CONFIG_SETTINGS_N]; /* its value was refused: relations to it are not checked */
        bool available_now;
} Loader;

/* Adds "FILE:LINE: SETTING: message" to the loader's errors. */
__attribute__((format(printf, 4, 5))) void config_add_error(Loader *l, int line, const char *setting, const char *fmt,
                                                             ...);

static inline int setting_line(const config_setting_t *s) {
        return (int)config_setting_source_line(s);
}

/* Checks of values and of relations between settings, each reported at the
 * line of the setting at fault; run even when other settings were refused,
 * so that one pass reports every mistake. */
void config_validate(Loader *l, const config_t *cf);
