/* file_io: full writes, whole-file reads, durable truncation. */
#include "lib/base/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/alloc.h"

int file_write_all(int fd, const uint8_t *data, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

int file_create_at(int dirfd, const char *name, const uint8_t *data, size_t len) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        int r = file_write_all(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

int file_read_at(int dirfd, const char *name, uint8_t **data, size_t *len) {
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC), r = 0;
        struct stat st;
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        *len = (size_t)st.st_size;
        *data = xmalloc(*len);
        for (size_t got = 0; got < *len && r == 0;) {
                ssize_t n = read(fd, *data + got, *len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                r = n < 0 ? -errno : n == 0 ? -EIO : 0; /* EIO: shorter than fstat said */
                got += n > 0 ? (size_t)n : 0;
        }
        close(fd);
        if (r < 0) {
                free(*data);
                *data = NULL;
        }
        return r;
}

int file_truncate_at(int dirfd, const char *name, size_t size) {
        int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0 ? -errno : 0;
        close(fd);
        return r;
}
