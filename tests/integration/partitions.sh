#!/bin/bash
# 50,000 generated records over 8 partitions. Consumption interleaves the
# partitions in an order nobody controls, so the watermark is set far beyond
# the data's 83-minute span: nothing may be late, and the last row of every
# (window, sensor) must equal the aggregate of all records, computed by
# check.py from the values read back from the topic with kcat. The summary's
# latencies run from each record's produce.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:8
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 --generate 50 --count 50000 --seed 7 2>"$WORK/replay.err"
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
[ "$(wc -l <"$WORK/values.txt")" = 50000 ] || fail "expected 50000 messages in the topic"
partitions=$(kcat -C -b "$BROKER" -t sensor-data -e -q -f '%p\n' | sort -u | wc -l)
[ "$partitions" = 8 ] || fail "records landed in $partitions partitions, expected 8"

write_config "$WORK/sensord.conf" max_messages=500 max_bytes=32768 watermark="1 days"
run_available_now "$WORK/sensord.conf" out
[ "$(summary_field out messages)" = 50000 ] || fail "sensord consumed $(summary_field out messages) messages"
[ "$(summary_field out late_pairs)" = 0 ] || fail "no pair may be late"
$CHECK final-equal "$WORK/out.jsonl" "$WORK/values.txt"
# Produce-to-emit latency: the records were produced just before the run,
# so every one waited a while, and no more than the test has taken.
p50=$(summary_field out latency_ms_p50)
p99=$(summary_field out latency_ms_p99)
max=$(summary_field out latency_ms_max)
[ -n "$p50" ] && [ -n "$p99" ] && [ -n "$max" ] || fail "the summary has no latency"
[ "$p50" -le "$p99" ] && [ "$p99" -le "$max" ] || fail "latency percentiles out of order: $p50 $p99 $max"
[ "$p50" -gt 0 ] && [ "$max" -lt $((SECONDS * 1000 + 1000)) ] || fail "latency $p50..$max ms is not since the produce"
echo "partitions: ok"
