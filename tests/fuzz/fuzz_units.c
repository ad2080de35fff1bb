/* libFuzzer target: durations and sizes. A parsed duration prints back to
 * text that parses to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/text/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char text[256];
        if (size >= sizeof(text))
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        int64_t ms, again;
        uint64_t bytes;
        const char *error = NULL;
        if (parse_duration_ms(text, &ms, &error) == 0) {
                char buf[64];
                if (ms < 0 || parse_duration_ms(format_duration(ms, buf, sizeof(buf)), &again, &error) != 0 || again != ms)
                        abort();
        } else if (!error) {
                abort();
        }
        error = NULL;
        if (parse_size(text, &bytes, &error) != 0 && !error)
                abort();
        return 0;
}
