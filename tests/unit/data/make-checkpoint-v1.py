#!/usr/bin/python3
"""Writes checkpoint-v1.bin: a checkpoint file of format version 1, built
from the format's description in src/lib/state/checkpoint_format.h by this
independent encoder. test_checkpoint_format.c reads it, so that a later
format version still knows what version 1 files hold. Run it only to
regenerate the file; the file is checked in."""
import struct
import sys


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def header(topic, partition, size, slide, offset, delay):
    t = topic.encode()
    rest = struct.pack("<iqqqqH", partition, size, slide, offset, delay, len(t)) + t
    head = b"SNSDCKPT" + struct.pack("<II", 1, len(rest) + 4) + rest
    return head + struct.pack("<I", crc32c(head))


def record(kind, next_batch, next_offset, wm, evt, evicted, entries):
    flags = (1 if wm is not None else 0) | (2 if evt is not None else 0)
    p = struct.pack("<BQqBqq", kind, next_batch, next_offset, flags, wm or 0, evt or 0)
    p += struct.pack("<I", len(evicted)) + b"".join(struct.pack("<q", s) for s in evicted)
    p += struct.pack("<I", len(entries))
    for start, sensor, count, total, lo, hi in entries:
        s = sensor.encode()
        p += struct.pack("<qH", start, len(s)) + s + struct.pack("<Qddd", count, total, lo, hi)
    return struct.pack("<II", len(p), crc32c(p)) + p


T = 1729593300000  # 2024-10-22T10:35:00Z
MIN = 60000
data = header("sensor-data", 3, 10 * MIN, 5 * MIN, 0, 5 * MIN)
data += record(2, 1, 5, None, T + 5 * MIN, [],
               [(T, "sensor_001", 1, 23.5, 23.5, 23.5), (T + 5 * MIN, "sensor_001", 1, 23.5, 23.5, 23.5)])
data += record(2, 3, 12, T + 6 * MIN, T + 11 * MIN, [T - 5 * MIN],
               [(T, "sensor_002", 2, 76.0, 26.7, 49.3), (T + 5 * MIN, "sensor_001", 2, 69.5, 23.5, 46.0)])
sys.stdout.buffer.write(data)
