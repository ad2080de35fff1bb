/* alloc: allocation that logs and exits 70 when memory runs out. */
#include "lib/base/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/base/log.h"

_Noreturn void oom(void) {
        log_error("out of memory: exiting so that the service restarts and reads the uncommitted records again");
        exit(EX_SOFTWARE);
}

void *xmalloc(size_t size) {
        void *p = malloc(size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t size) {
        void *q = realloc(p, size ? size : 1);
        if (!q)
                oom();
        return q;
}

char *xstrdup(const char *s) {
        char *copy = strdup(s);
        if (!copy)
                oom();
        return copy;
}

char *xstrndup(const char *s, size_t n) {
        char *copy = strndup(s, n);
        if (!copy)
                oom();
        return copy;
}

void *xmemdup(const void *p, size_t n) {
        void *copy = xmalloc(n);
        memcpy(copy, p, n);
        return copy;
}

void array_reserve(void *array_ptr, size_t *cap, size_t need, size_t size) {
        void **array = array_ptr;
        if (need <= *cap)
                return;
        size_t n = *cap ? *cap : 8;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        oom();
                n *= 2;
        }
        if (n > SIZE_MAX / size)
                oom();
        *array = xrealloc(*array, n * size);
        *cap = n;
}
