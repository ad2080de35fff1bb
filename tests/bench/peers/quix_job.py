"""The job as a Quix Streams application, for the peers benchmark
(tests/bench/peers/run.sh): hopping windows of 10 minutes every 5 with a
grace of 5 minutes over the readings' event time, count, sum, min and max
per (window, sensor), and every update of a window written to the output
topic as sensord writes its rows (.current(): one row per record and
window, where update mode writes one per batch).

    python quix_job.py BROKERS INPUT OUTPUT RECORDS STATE_DIR

It stops once it has read RECORDS records and prints first_record_ms (when
it read the first record) and records on stderr. Quix judges late data by
the time of each key (sensor), not by one watermark per batch as Spark and
sensord do; its state and its changelog topics are its own."""
import os
import sys
import time
import uuid

from quixstreams import Application

# the Python loop's time conversions (quixstreams brings its confluent-kafka)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from python_windows import epoch_ms, iso  # noqa: E402


def main():
    brokers, input_topic, output_topic, records, state_dir = sys.argv[1:6]
    records = int(records)
    app = Application(broker_address=brokers, consumer_group=f"quix-peer-{uuid.uuid4().hex[:8]}",
                      auto_offset_reset="earliest", state_dir=state_dir, commit_interval=1.0)
    readings = app.topic(input_topic, value_deserializer="json", key_deserializer="str",
                         timestamp_extractor=lambda value, headers, ts, kind: epoch_ms(value["timestamp"]))
    rows = app.topic(output_topic, value_serializer="json", key_serializer="str")
    seen = {"n": 0, "first": 0}

    def count(value):
        if seen["n"] == 0:
            seen["first"] = int(time.time() * 1000)
        seen["n"] += 1
        if seen["n"] == records:
            app.stop()

    def first(value):
        v = value["value"]
        return {"count": 1, "sum": v, "min": v, "max": v}

    def add(agg, value):
        v = value["value"]
        return {"count": agg["count"] + 1, "sum": agg["sum"] + v, "min": min(agg["min"], v),
                "max": max(agg["max"], v)}

    def row(window, key, timestamp, headers):
        a = window["value"]
        return {"window": {"start": iso(window["start"]), "end": iso(window["end"])}, "sensor_id": key,
                "avg_value": a["sum"] / a["count"], "max_value": a["max"], "min_value": a["min"],
                "count": a["count"], "sum": a["sum"]}

    sdf = app.dataframe(readings)
    sdf = sdf.update(count)
    sdf = sdf.hopping_window(duration_ms=600_000, step_ms=300_000, grace_ms=300_000).reduce(add, first).current()
    sdf = sdf.apply(row, metadata=True)
    sdf.to_topic(rows)
    app.run()
    print(f"first_record_ms={seen['first']} records={seen['n']}", file=sys.stderr)


if __name__ == "__main__":
    main()
