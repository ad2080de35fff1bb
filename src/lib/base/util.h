/* Small helpers shared by every module: array sizes, the first error of a
 * sequence, integer formatting, the journal-stream check, the monotonic clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* For a sequence of calls that must all run even when one fails: keeps the
 * first error in *result. */
static inline void keep_first_error(int *result, int r) {
        if (r < 0 && *result == 0)
                *result = r;
}

/* Writes v in decimal at p (no NUL) and returns the end: printf's machinery
 * is most of the cost of formatting a row. */
static inline char *format_u64(char *p, uint64_t v) {
        char tmp[20];
        int n = 0;
        do
                tmp[n++] = (char)('0' + v % 10);
        while ((v /= 10) != 0);
        while (n > 0)
                *p++ = tmp[--n];
        return p;
}

/* Writes v zero-padded to width digits, two at a time, and returns the end. */
static inline char *format_u64_padded(char *p, uint64_t v, int width) {
        static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                    "8081828384858687888990919293949596979899";
        int left = width;
        for (; left >= 2; left -= 2, v /= 100)
                memcpy(p + left - 2, pairs + 2 * (v % 100), 2);
        if (left == 1)
                p[0] = (char)('0' + v % 10);
        return p + width;
}

/* True when fd is the stream systemd connected to the journal: systemd sets
 * JOURNAL_STREAM to that stream's "device:inode". */
static inline bool fd_is_journal_stream(int fd) {
        const char *e = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Monotonic clock in microseconds (the same clock sd-event timers use). */
static inline uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
