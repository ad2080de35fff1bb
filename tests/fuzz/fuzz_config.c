/* libFuzzer target: the configuration loader, fed file contents. It either
 * gives a valid configuration or at least one error, each naming the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/config/config.h"
#include "lib/state/window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int fd = -1;
        static char path[64];
        if (fd < 0) {
                fd = memfd_create("sensord.conf", 0);
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        }
        if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
                abort();
        Config *c = NULL;
        ConfigErrors errors;
        int r = config_load(path, size % 2, &c, &errors);
        if (r == 0) {
                if (!c || errors.n != 0 || window_spec_check(&c->window) || c->batch.max_messages < 1 ||
                    c->batch.max_bytes < 1 || !c->topic[0])
                        abort();
                config_free(c);
        } else {
                if (c || errors.n == 0)
                        abort();
                for (size_t i = 0; i < errors.n; i++)
                        if (strncmp(errors.messages[i], path, strlen(path)) != 0)
                                abort();
                config_errors_clear(&errors);
        }
        return 0;
}
