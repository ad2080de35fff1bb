#!/usr/bin/python3
"""The job in plain Python, for comparison: confluent-kafka's consume(10000),
json.loads, a dict of (window start, sensor) -> [count, sum, min, max] over
10-minute windows every 5 minutes, and each batch's changed rows printed as
JSON lines (update mode, no watermark: the benchmark's data is never late).
Reads the topic from the beginning to the end it has at start, then prints
"records=N seconds=S" (from the first message) on stderr.
    python_windows.py BROKERS TOPIC"""
import json
import sys
import time
from datetime import datetime, timezone

from confluent_kafka import Consumer, KafkaError

WINDOW_MS, SLIDE_MS = 600_000, 300_000


def epoch_ms(text):
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return int(t.timestamp() * 1000)


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    brokers, topic = sys.argv[1], sys.argv[2]
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"python-{time.time_ns()}",
                         "auto.offset.reset": "earliest", "enable.partition.eof": True,
                         "enable.auto.commit": False})
    consumer.subscribe([topic])
    state, pending_eof, records, first = {}, None, 0, None
    out = sys.stdout
    batch = 0
    while pending_eof is None or pending_eof:
        messages = consumer.consume(10000, timeout=1.0)
        if pending_eof is None and consumer.assignment():
            pending_eof = {p.partition for p in consumer.assignment()}
        changed = set()
        for m in messages:
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF and pending_eof is not None:
                    pending_eof.discard(m.partition())
                continue
            if first is None:
                first = time.monotonic()
            records += 1
            r = json.loads(m.value())
            t, v, sensor = epoch_ms(r["timestamp"]), float(r["value"]), r["sensor_id"]
            start = t - t % SLIDE_MS
            while start > t - WINDOW_MS:
                key = (start, sensor)
                a = state.get(key)
                if a is None:
                    state[key] = [1, v, v, v]
                else:
                    a[0] += 1
                    a[1] += v
                    a[2] = min(a[2], v)
                    a[3] = max(a[3], v)
                changed.add(key)
                start -= SLIDE_MS
        for start, sensor in sorted(changed):
            c, s, lo, hi = state[(start, sensor)]
            out.write(json.dumps({"batch": batch, "window": {"start": iso(start), "end": iso(start + WINDOW_MS)},
                                  "sensor_id": sensor, "avg_value": s / c, "max_value": hi, "min_value": lo,
                                  "count": c}, separators=(",", ":")) + "\n")
        if changed:
            batch += 1
    consumer.close()
    print(f"records={records} seconds={time.monotonic() - (first or time.monotonic()):.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
