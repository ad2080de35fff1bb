#!/usr/bin/python3
"""A stand-in for systemd's notify socket: binds a datagram socket at PATH and
writes every notification line it receives, with a CLOCK_MONOTONIC time
stamp, to OUT until it is terminated.

notify_listener.py PATH OUT"""
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(out, "w", buffering=1, encoding="utf-8") as f:
    while True:
        data = sock.recv(65536).decode("utf-8", "replace")
        now = time.monotonic()
        for line in data.split("\n"):
            if line:
                f.write(f"{now:.3f} {line}\n")
