/* crc32c: the CRC-32C (Castagnoli) checksum that guards checkpoint records,
 * as in ext4, iSCSI and Kafka's record batches. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Continues crc over len bytes; start with crc 0. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
