/* file_io: the few whole-file operations the checkpoints and the stdout
 * sink need, with EINTR and short reads and writes handled. Each returns 0
 * or a negative errno. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Writes all len bytes. */
int file_write_all(int fd, const uint8_t *data, size_t len);

/* Creates (or empties) the file name in dirfd with data, and fsyncs it. */
int file_create_at(int dirfd, const char *name, const uint8_t *data, size_t len);

/* Reads the file name in directory dirfd whole into *data (to free). */
int file_read_at(int dirfd, const char *name, uint8_t **data, size_t *len);

/* Cuts the file name in dirfd to size bytes, durably. */
int file_truncate_at(int dirfd, const char *name, size_t size);
