/* timestamp: event time as int64 milliseconds since the Unix epoch, parsed
 * from ISO-8601 / RFC 3339 and printed as RFC 3339 UTC. No locale, no TZ. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The event times sensord accepts: years 0001-9999 UTC, so that every one
 * prints as RFC 3339 again. */
#define TIMESTAMP_FIRST_MS (-62135596800000LL) /* 0001-01-01T00:00:00Z */
#define TIMESTAMP_LAST_MS 253402300799999LL    /* 9999-12-31T23:59:59.999Z */

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" plus NUL. */
#define TIMESTAMP_MAX 32

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+hh:mm|-hh:mm]" (T, t or a space
 * between date and time; no zone means UTC; the fraction is truncated to the
 * millisecond). Years 0001-9999, for the text and for the UTC instant.
 * Returns 0, or -EINVAL for a malformed or impossible date-time (month 13,
 * February 30, hour 24, second 60) or one outside that range. */
int timestamp_parse(const char *text, size_t len, int64_t *out_ms);

/* Whether ms lies in TIMESTAMP_FIRST_MS..TIMESTAMP_LAST_MS. */
bool timestamp_in_range(int64_t ms);

typedef enum TimestampUnit { TIMESTAMP_UNIT_S, TIMESTAMP_UNIT_MS, TIMESTAMP_UNIT_US, TIMESTAMP_UNIT_NS } TimestampUnit;

/* Parses a JSON number's text as a time since the Unix epoch in unit
 * (fractions and exponents allowed: 1729593600.123 s), exactly, rounded
 * down to the millisecond. -EINVAL when text is not a JSON number, -ERANGE
 * when the time lies outside years 0001-9999. */
int timestamp_parse_epoch(const char *text, size_t len, TimestampUnit unit, int64_t *out_ms);

/* Writes ms as RFC 3339 UTC with "Z"; milliseconds only when not zero.
 * Returns the length written (always < TIMESTAMP_MAX). */
size_t timestamp_format(int64_t ms, char buf[TIMESTAMP_MAX]);

/* The last few times formatted, for callers that format the same ones over
 * and over: a batch's rows share a handful of window bounds. Zeroed is
 * empty. */
#define TIMESTAMP_CACHE_SLOTS 32
typedef struct TimestampCache {
        int64_t ms[TIMESTAMP_CACHE_SLOTS];
        uint8_t len[TIMESTAMP_CACHE_SLOTS]; /* 0: empty */
        char text[TIMESTAMP_CACHE_SLOTS][TIMESTAMP_MAX];
} TimestampCache;

/* timestamp_format(), from cache when it holds ms (cache may be NULL). */
size_t timestamp_format_cached(TimestampCache *cache, int64_t ms, char buf[TIMESTAMP_MAX]);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);
