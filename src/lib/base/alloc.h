/* alloc: allocation under sensord's one out-of-memory policy.
 *
 * When an allocation fails, sensord logs it and exits 70 (EX_SOFTWARE).
 * systemd restarts it (Restart=on-failure), and the records after the last
 * committed offset are read again: nothing is lost. Going on without the
 * memory would instead drop records silently or leave the window state half
 * updated. So no caller handles allocation failure: every allocation goes
 * through these functions. */
#pragma once

#include <stddef.h>

/* Logs "out of memory" and exits 70. */
_Noreturn void oom(void);

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

/* Makes room for at least `need` elements of `size` bytes in the array that
 * *array_ptr points to, whose capacity (in elements) is *cap: the capacity
 * doubles, starting at 8, so that appending is amortized O(1). */
void array_reserve(void *array_ptr, size_t *cap, size_t need, size_t size);

#define ARRAY_RESERVE(array, cap, need) array_reserve(&(array), &(cap), (need), sizeof(*(array)))
