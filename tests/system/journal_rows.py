#!/usr/bin/python3
"""Turns `journalctl -o json` output into sensord's JSON result rows (the
stdout format), keeping only result entries (sensord's MESSAGE_ID) and,
with --min-batch, only batches from that number on."""
import argparse
import json
import sys

MESSAGE_ID = "3f5d0e2a8c6b4e1f9a7d2c4b6e8f0a13"

p = argparse.ArgumentParser()
p.add_argument("--min-batch", type=int, default=0)
args = p.parse_args()
for line in sys.stdin:
    e = json.loads(line)
    if e.get("MESSAGE_ID") != MESSAGE_ID or int(e["BATCH"]) < args.min_batch:
        continue
    print(json.dumps({
        "batch": int(e["BATCH"]),
        "window": {"start": e["WINDOW_START"], "end": e["WINDOW_END"]},
        "sensor_id": e["SENSOR_ID"],
        "avg_value": float(e["AVG_VALUE"]),
        "max_value": float(e["MAX_VALUE"]),
        "min_value": float(e["MIN_VALUE"]),
        "count": int(e["COUNT"]),
    }))
