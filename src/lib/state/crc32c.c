/* crc32c: table-driven, reflected polynomial 0x82F63B78, eight bytes per
 * step (slicing-by-8). The tables are built on first use, by the event
 * loop's thread, the only caller. */
#include "lib/state/crc32c.h"

#include <stdbool.h>
#include <string.h>

static uint32_t table[8][256];
static bool ready;

static void build_tables(void) {
        for (uint32_t n = 0; n < 256; n++) {
                uint32_t c = n;
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
                table[0][n] = c;
        }
        for (uint32_t n = 0; n < 256; n++)
                for (int t = 1; t < 8; t++)
                        table[t][n] = (table[t - 1][n] >> 8) ^ table[0][table[t - 1][n] & 0xff];
        ready = true;
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len) {
        const unsigned char *p = data;
        if (!ready)
                build_tables();
        crc = ~crc;
        for (; len >= 8; p += 8, len -= 8) {
                uint32_t lo, hi;
                memcpy(&lo, p, 4);
                memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                lo = __builtin_bswap32(lo);
                hi = __builtin_bswap32(hi);
#endif
                lo ^= crc;
                crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
                      table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
                      table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        }
        while (len--)
                crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
        return ~crc;
}
