/* libFuzzer target: timestamps. A parsed timestamp formats to RFC 3339 text
 * that parses back to the same millisecond. */
#include <stdint.h>
#include <stdlib.h>

#include "lib/text/timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int64_t ms, again;
        if (timestamp_parse((const char *)data, size, &ms) != 0)
                return 0;
        char buf[TIMESTAMP_MAX];
        size_t n = timestamp_format(ms, buf);
        if (n == 0 || n >= TIMESTAMP_MAX || timestamp_parse(buf, n, &again) != 0 || again != ms)
                abort();
        return 0;
}
