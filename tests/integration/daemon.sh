#!/bin/bash
# sensord as a long-running process: the max_delay deadline closes batches
# of a quiet stream, SIGHUP reloads (applies, refuses, or keeps the old
# configuration on errors), SIGTERM emits the batch in flight, commits and
# exits 0 - within a bound even when the brokers are gone.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1
write_config "$WORK/sensord.conf" max_messages=1000 max_delay="300ms"
"$SENSORD" -c "$WORK/sensord.conf" >"$WORK/out.jsonl" 2>"$WORK/sensord.err" &
SENSORD_PID=$!
PIDS+=("$SENSORD_PID")
wait_for "assigned 1 partition" "$WORK/sensord.err" 30

# 12 records in well under max_messages: only the 300 ms deadline closes the batch
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>/dev/null
for _ in $(seq 50); do [ -s "$WORK/out.jsonl" ] && break; sleep 0.1; done
[ -s "$WORK/out.jsonl" ] || fail "no rows within 5 s: the batch deadline did not fire"
sleep 0.5
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
$CHECK final-equal "$WORK/out.jsonl" "$WORK/values.txt"

# SIGHUP with a new batch limit: applied live
sed -i 's/max_messages = 1000;/max_messages = 4;/' "$WORK/sensord.conf"
kill -HUP "$SENSORD_PID"
wait_for "configuration reloaded: batch.max_messages=4" "$WORK/sensord.err" 10
# SIGHUP with a changed window: refused, naming the setting
sed -i 's/duration = "10 minutes"/duration = "20 minutes"/' "$WORK/sensord.conf"
kill -HUP "$SENSORD_PID"
wait_for "reload refused: window.duration changed" "$WORK/sensord.err" 10
sed -i 's/duration = "20 minutes"/duration = "10 minutes"/' "$WORK/sensord.conf"
# SIGHUP with a broken file: the error with file:line, the old configuration kept
sed -i 's/max_messages = 4;/max_messages = ;/' "$WORK/sensord.conf"
kill -HUP "$SENSORD_PID"
wait_for "reload failed: .*sensord.conf:[0-9]*: syntax error" "$WORK/sensord.err" 10
sed -i 's/max_messages = ;/max_messages = 4;/' "$WORK/sensord.conf"
kill -0 "$SENSORD_PID" || fail "sensord died on a broken reload"

# Still processing with the reloaded limit: 8 more records make 2 full batches of 4
rows_before=$(wc -l <"$WORK/out.jsonl")
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 --count 8 "$SHARED_DATA/seed.json" 2>/dev/null
for _ in $(seq 50); do [ "$(wc -l <"$WORK/out.jsonl")" -gt "$rows_before" ] && break; sleep 0.1; done
[ "$(wc -l <"$WORK/out.jsonl")" -gt "$rows_before" ] || fail "no rows after the reloads"

# SIGTERM: graceful stop, exit 0, offsets committed (a new run finds nothing)
kill -TERM "$SENSORD_PID"
rc=0
wait "$SENSORD_PID" || rc=$?
[ "$rc" = 0 ] || fail "sensord exited $rc on SIGTERM"
grep -q "stopping: SIGTERM" "$WORK/sensord.err" || fail "stop not logged"
[ "$(summary_field sensord messages)" = 20 ] || fail "expected 20 messages, got $(summary_field sensord messages)"
[ "$(summary_field sensord batches)" = 3 ] || fail "expected 3 batches (1 by deadline, 2 by count), got $(summary_field sensord batches)"
run_available_now "$WORK/sensord.conf" after
[ "$(summary_field after messages)" = 0 ] || fail "offsets were not committed at stop"

# SIGTERM while every broker is down (devbroker fault injection): leaving
# the group, with the commit on revoke, is bounded (5 s), so sensord still
# exits 0.
"$SENSORD" -c "$WORK/sensord.conf" >"$WORK/down.jsonl" 2>"$WORK/down.err" &
SENSORD_PID=$!
PIDS+=("$SENSORD_PID")
wait_for "assigned 1 partition" "$WORK/down.err" 30
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 --count 3 "$SHARED_DATA/seed.json" 2>/dev/null
for _ in $(seq 50); do [ -s "$WORK/down.jsonl" ] && break; sleep 0.1; done
kill -USR1 "$DEVBROKER_PID"
sleep 1
start=$(date +%s)
kill -TERM "$SENSORD_PID"
rc=0
wait "$SENSORD_PID" || rc=$?
took=$(($(date +%s) - start))
kill -USR2 "$DEVBROKER_PID"
[ "$rc" = 0 ] || fail "SIGTERM with the brokers down: exit $rc"
[ "$took" -le 15 ] || fail "SIGTERM with the brokers down took $took s"
[ -s "$WORK/down.jsonl" ] || fail "the batch in flight was not emitted"
echo "daemon: ok"
