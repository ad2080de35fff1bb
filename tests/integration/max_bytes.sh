#!/bin/bash
# Byte-bounded batches. sensor-replay sends each seed record as compact JSON
# of 74 bytes, so with max_bytes = 150 a batch holds 2 records (148 bytes;
# a third would make 222) and the 12 records form 6 batches. The rows must be
# those semantics.md gives for that batching, computed by check.py's
# independent model from the bytes actually in the topic (read with kcat).
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
[ "$(wc -l <"$WORK/values.txt")" = 12 ] || fail "expected 12 messages in the topic"
awk '{ if (length($0) != 74) exit 1 }' "$WORK/values.txt" || fail "seed records are not 74 bytes each"

write_config "$WORK/sensord.conf" max_messages=100 max_bytes=150
run_available_now "$WORK/sensord.conf" out
$CHECK reference --max-messages 100 --max-bytes 150 "$WORK/values.txt" >"$WORK/expected.jsonl"
$CHECK compare "$WORK/expected.jsonl" "$WORK/out.jsonl"
# (and Spark's no-data batch at the end: 7)
[ "$(summary_field out batches)" = 7 ] || fail "expected 6 batches of 2 and a no-data one, got $(summary_field out batches)"
# hand-checked: batch 0 holds sensor_001 and sensor_002 only (4 rows)
[ "$(grep -c '"batch":0,' "$WORK/out.jsonl")" = 4 ] || fail "batch 0 should have 4 rows"
# and batch 5 the last two records, sensor_003 at 10:50 and sensor_004 at 10:51
[ "$(grep -c '"batch":5,' "$WORK/out.jsonl")" = 4 ] || fail "batch 5 should have 4 rows"

# A single message larger than max_bytes is never stuck: it forms a batch of its own.
write_config "$WORK/tiny.conf" max_messages=100 max_bytes=10 group_id=tiny
run_available_now "$WORK/tiny.conf" tiny
[ "$(summary_field tiny batches)" = 13 ] || fail "expected one batch per oversized message, and a no-data one"
echo "max_bytes: ok"
