#!/usr/bin/python3
"""Copies standard input to standard output, each line prefixed with the
CLOCK_MONOTONIC time it arrived and a tab, so that the rows of two sensord
processes can be put back in the order they were emitted."""
import sys
import time

for line in sys.stdin:
    sys.stdout.write(f"{time.monotonic():.6f}\t{line}")
    sys.stdout.flush()
