/* units: parsing of the human-friendly durations and sizes used in the
 * configuration file and on command lines ("10 minutes", "500ms", "10 KiB"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Parses a duration such as "10 minutes", "5m", "30 s", "500ms", "1 hour" or
 * "1h 30m" into whole milliseconds. A bare "0" is accepted; any other number
 * needs a unit. Returns 0, or -EINVAL with *error set to a static reason. */
int parse_duration_ms(const char *text, int64_t *out_ms, const char **error);

/* Parses a size such as "10240", "10 KiB", "1 MiB" or "64kB" into bytes
 * (KiB/K = 1024, kB/KB = 1000, likewise M and G). Returns 0 or -EINVAL/-ERANGE
 * with *error set to a static reason. */
int parse_size(const char *text, uint64_t *out_bytes, const char **error);

/* Formats a duration in milliseconds as a person writes it, in a form
 * parse_duration_ms() reads back ("10 min", "1500 ms", "0"). Returns buf. */
char *format_duration(int64_t ms, char *buf, size_t size);

/* Formats a size likewise, for parse_size() ("10 KiB", "1 MiB", "100 B"). */
char *format_size(uint64_t bytes, char *buf, size_t size);
