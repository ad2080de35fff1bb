#!/bin/bash
# Two sensord processes in one group share one state directory on one host.
# Each holds some of the 4 partitions of a keyed topic and checkpoints only
# those; when one stops, the other loads their state from the shared
# directory, and when it comes back they are split again. Records stream in
# the whole time. Between them they produce the final aggregates of a
# single process: the last row of every (window, sensor), across both
# outputs in the order they were emitted, equals the model of all records.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:4
write_config "$WORK/sensord.conf" max_messages=50 max_delay="100ms" watermark="365 days" \
        checkpoint_interval="300ms" group_id=two properties=', ("session.timeout.ms", "3000")'

# start NAME : a sensord whose rows are stamped with their time of arrival
start() {
        "$SENSORD" -c "$WORK/sensord.conf" > >("$PYTHON" "$HERE/stamp_lines.py" >"$WORK/$1.stamped") \
                2>"$WORK/$1.err" &
        eval "$1_PID=$!"
        PIDS+=($!)
}

"$SENSOR_REPLAY" -b "$BROKER" --generate 40 --count 9000 --rate 900 --seed 5 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
start a
wait_for "assigned 4 partition(s)" "$WORK/a.err" 30
start b1
wait_for "assigned 2 partition(s)" "$WORK/b1.err" 30
sleep 2
kill -TERM "$b1_PID"
wait "$b1_PID" || fail "the second instance did not stop cleanly"
for _ in $(seq 300); do [ "$(grep -c "assigned 4 partition(s)" "$WORK/a.err")" -ge 2 ] && break; sleep 0.1; done
grep -q "state restored from its checkpoint" "$WORK/a.err" || fail "the first instance did not load the partitions the second left"
start b2
wait_for "assigned 2 partition(s)" "$WORK/b2.err" 30
grep -q "state restored from its checkpoint" "$WORK/b2.err" || fail "the restarted instance did not load its partitions' state"
wait "$REPLAY_PID" || fail "the producer failed"
sleep 3
kill -TERM "$a_PID" "$b2_PID"
wait "$a_PID" || fail "the first instance did not stop cleanly"
wait "$b2_PID" || fail "the restarted instance did not stop cleanly"

sleep 0.5 # the stampers drain what the stopped processes wrote
sort -n "$WORK"/*.stamped | cut -f2- >"$WORK/rows.jsonl"
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
$CHECK final-equal "$WORK/rows.jsonl" "$WORK/values.txt"
echo "two_instances: ok"
