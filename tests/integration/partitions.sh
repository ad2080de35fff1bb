#!/bin/bash
# 50,000 generated records over 8 partitions. Consumption interleaves the
# partitions in an order nobody controls, so the watermark is set far beyond
# the data's 83-minute span: nothing may be late, and the last row of every
# (window, sensor) must equal the aggregate of all records, computed by
# check.py from the values read back from the topic with kcat.
. "$(dirname "$0")/lib.sh"

start_devbroker sensor-data:8
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
echo "partitions: ok"
