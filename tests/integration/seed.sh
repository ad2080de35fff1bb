#!/bin/bash
# The sample data through the whole pipeline: sensor-replay --interval 0 to a
# one-partition topic, then sensord --available-now with the example's
# configuration must print ../shared/data/seed-update.expected.jsonl row for row.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"
write_config "$WORK/sensord.conf"
run_available_now "$WORK/sensord.conf" out
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/out.jsonl"
# 3 batches of data, then Spark's no-data batch moves the watermark (no rows)
[ "$(summary_field out batches)" = 4 ] || fail "expected 3 batches and a no-data one, got $(summary_field out batches)"
[ "$(summary_field out invalid)" = 0 ] || fail "expected no invalid records"

# The group committed its offsets: a second run finds nothing new, prints
# nothing and still exits 0.
run_available_now "$WORK/sensord.conf" again
[ ! -s "$WORK/again.jsonl" ] || fail "second run re-emitted rows: $(head -n 2 "$WORK/again.jsonl")"
[ "$(summary_field again messages)" = 0 ] || fail "second run consumed messages again"
echo "seed: ok"
