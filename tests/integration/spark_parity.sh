#!/bin/bash
# Row for row with Spark itself: the corrected Spark job
# (tests/bench/peers/spark_job.py, pyspark and its Kafka connector from
# scripts/spark.sh) and sensord --available-now read the same one-partition
# topic of a real Kafka in batches of the same offsets, and every batch's
# update-mode rows must be the same (window, sensor) keys with the same
# count, and avg, max and min equal as doubles (check.py batches). Two data
# sets: the seed, and a generated stream of 6,000 records of 10 sensors,
# out of order, with zone offsets and milliseconds, where the watermark
# drops late records.
. "$(dirname "$0")/lib.sh"
[ "$BROKER_KIND" = kafka ] || fail "the parity test runs on the real Kafka (meson test --suite kafka)"
SPARK_SH="$HERE/../../scripts/spark.sh"
JOB="$HERE/../bench/peers/spark_job.py"
"$SPARK_SH" fetch 2>"$WORK/spark-fetch.err" || fail "cannot fetch Spark: $(tail -n 5 "$WORK/spark-fetch.err")"

"$PYTHON" - "$WORK/stream.jsonl" <<'PY'
import datetime as dt, json, random, sys
rng = random.Random(20241022)
base = dt.datetime(2024, 10, 22, 10, 0, tzinfo=dt.timezone.utc)
with open(sys.argv[1], "w") as out:
    for i in range(6000):
        t = base + dt.timedelta(seconds=i) + dt.timedelta(milliseconds=rng.randint(-90000, 90000))
        if rng.random() < 0.06:  # delayed by 8 to 40 minutes: late for the 5-minute watermark, or partly
            t -= dt.timedelta(seconds=rng.randint(480, 2400))
        kind = rng.random()
        if kind < 0.7:
            stamp = t.strftime("%Y-%m-%dT%H:%M:%S")
        elif kind < 0.85:
            stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        else:
            zone = dt.timezone(dt.timedelta(hours=rng.choice((-5, 2, 9))))
            stamp = t.astimezone(zone).isoformat(timespec="seconds")
        value = round(rng.uniform(-20, 80), rng.choice((1, 2, 3))) if rng.random() < 0.9 else rng.uniform(-1e3, 1e3)
        out.write(json.dumps({"sensor_id": f"sensor_{rng.randrange(10):02d}", "value": value, "timestamp": stamp}) + "\n")
PY

start_broker seed:1 stream:1 spark-seed:1 spark-stream:1

# parity NAME FILE MAX_MESSAGES : FILE into topic NAME, then both readers
parity() {
        local name=$1 file=$2 max=$3
        "$SENSOR_REPLAY" -b "$BROKER" -t "$name" --interval 0 "$file" 2>"$WORK/replay-$name.err" ||
                fail "sensor-replay $name failed"
        # fetchMaxBytes corrected: no byte bound in Spark, none that cuts a batch in sensord
        write_config "$WORK/$name.conf" topic="$name" group_id="sensord-$name" max_messages="$max" \
                max_bytes=16777216 state_directory="$WORK/state-$name"
        run_available_now "$WORK/$name.conf" "sensord-$name"
        timeout 300 "$SPARK_SH" run "$JOB" --bootstrap "$BROKER" --topic "$name" --out-topic "spark-$name" \
                --max-offsets "$max" --checkpoint "$WORK/spark-checkpoint-$name" \
                >"$WORK/spark-$name.log" 2>"$WORK/spark-$name.err" || fail "the Spark job on $name failed"
        kcat -C -b "$BROKER" -t "spark-$name" -e -q >"$WORK/spark-$name.jsonl"
        $CHECK batches "$WORK/spark-$name.jsonl" "$WORK/sensord-$name.jsonl" || fail "Spark and sensord differ on $name"
}

parity seed "$SHARED_DATA/seed.json" 5
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/sensord-seed.jsonl"

parity stream "$WORK/stream.jsonl" 500
# and both equal the model of semantics.md (check.py reference), exactly
$CHECK reference --max-messages 500 --max-bytes 16777216 "$WORK/stream.jsonl" >"$WORK/model-stream.jsonl" 2>/dev/null
$CHECK batches "$WORK/model-stream.jsonl" "$WORK/sensord-stream.jsonl" >/dev/null || fail "sensord differs from the model"
late=$(summary_field sensord-stream late_pairs)
[ "${late:-0}" -gt 100 ] || fail "the generated stream has only ${late:-0} late pairs"
[ "$(summary_field sensord-stream batches)" = 13 ] || fail "expected 12 batches of 500 and a no-data one"
echo "spark_parity: ok ($late late pairs dropped by both)"
