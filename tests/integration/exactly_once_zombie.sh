#!/bin/bash
# No zombie row is ever visible under output.guarantee = "exactly_once", on
# the real broker: hosts a and b share a keyed 4-partition topic while
# 18,000 records stream in, and a is SIGSTOPped three times, for 4 s, 8 s
# and 14 s (the session is 6 s: one freeze inside it, two past it, after
# which b takes a's partitions from the last committed checkpoint). A host
# that exits (an abort with partitions still held stops sensord, exit 74)
# is started again, as systemd would. A read_committed reader keeping the
# LAST row per key (not the highest count, as changelog_zombie must for
# at-least-once output) finds every (window, sensor) equal to the model,
# and every key's counts strictly growing: nothing the frozen host wrote
# before or after its freeze landed after the new owner's rows.
. "$(dirname "$0")/lib.sh"

[ "${BROKER_KIND:-}" = kafka ] || { echo "exactly_once_zombie: needs the real broker"; exit 77; }

start_broker ez-in:4 ez-out:4 ez-changelog:4
props="$FAST_SESSION"

host() {
        start_host "$1" topic=ez-in kafka_topic=ez-out max_messages=50 max_delay="100ms" watermark="365 days" \
                checkpoint_interval="300ms" group_id=ez properties="$props" changelog_topic=ez-changelog sink=none \
                guarantee=exactly_once
}

"$SENSOR_REPLAY" -b "$BROKER" -t ez-in --generate 200 --count 18000 --rate 400 --seed 41 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
host a
wait_for "assigned 4 partition" "$WORK/a.err" 40
host b
wait_for "assigned 2 partition" "$WORK/b.err" 40
restarts=0
for freeze in 4 8 14; do
        sleep 2
        echo "host a frozen for $freeze s"
        kill -STOP "$a_PID"
        sleep "$freeze"
        kill -CONT "$a_PID"
        sleep 4
        if ! kill -0 "$a_PID" 2>/dev/null; then
                wait "$a_PID" && code=0 || code=$?
                [ "$code" = 74 ] || fail "host a exited with $code after its $freeze s freeze: $(tail -n 3 "$WORK/a.err")"
                restarts=$((restarts + 1))
                echo "host a stopped (exit 74) after its $freeze s freeze, and is started again"
                host a
        fi
done
wait "$REPLAY_PID" || fail "the producer failed"
kcat -C -b "$BROKER" -t ez-in -e -q -f '%s\n' >"$WORK/values.txt"
wait_committed_model ez-out 120
kill -0 "$b_PID" 2>/dev/null || fail "host b exited: $(tail -n 3 "$WORK/b.err")"
kill -TERM "$a_PID" "$b_PID"
wait "$a_PID" || fail "host a did not stop cleanly"
wait "$b_PID" || fail "host b did not stop cleanly"
grep -h "transaction\|assignment was lost\|as lost\|did not run for" "$WORK/a.err" | grep -v "^sensord: kafka" |
        sort | uniq -c || true
echo "host a was started again $restarts time(s)"
check_committed ez-out
grep -q "the event loop did not run for" "$WORK/a.err" || fail "the zombie did not notice a freeze"
echo "exactly_once_zombie: ok"
