#!/bin/bash
# The brokers go down for 10 s in the middle of a restore. Host a leaves
# 4 partitions' state in the changelog; every broker request is then made
# 1.5 s slow, so that a fresh host b is still restoring when the brokers go
# down. b does not exit, its watchdog (WATCHDOG_USEC=2 s, a notify socket of
# the test's own) never goes a full interval without a ping, STATUS= says
# it is restoring; once the brokers are back it finishes the restore, and
# 1,500 more records into the same windows come out exact.
. "$(dirname "$0")/lib.sh"

start_devbroker ou-in:4 ou-out:4 ou-changelog:4
props=', ("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "500")'

conf() {
        write_config "$WORK/$1.conf" topic=ou-in kafka_topic=ou-out max_messages=200 max_delay="100ms" \
                watermark="365 days" checkpoint_interval="300ms" group_id=ou properties="$props" \
                state_directory="$WORK/state-$1" changelog_topic=ou-changelog
}

conf a
"$SENSOR_REPLAY" -b "$BROKER" -t ou-in --generate 2000 --count 8000 --interval 0 --seed 41 2>"$WORK/replay.err" ||
        fail "the producer failed"
timeout 60 "$SENSORD" -c "$WORK/a.conf" --available-now >"$WORK/a.jsonl" 2>"$WORK/a.err" || fail "host a failed"

notify_listener "$WORK/notify.sock" "$WORK/notify.log"
conf b
devbroker "rtt 1500"
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=2000000 \
        "$SENSORD" -c "$WORK/b.conf" >"$WORK/b.jsonl" 2>"$WORK/b.err" &
b_PID=$!
PIDS+=("$b_PID")
wait_for "assigned 4 partition(s)" "$WORK/b.err" 60
! grep -q "restored from changelog" "$WORK/b.err" || fail "the restore ended before the outage could begin"
devbroker "down"
sleep 10
kill -0 "$b_PID" || fail "host b exited during the outage"
grep -q "STATUS=.*restoring [1-9]" "$WORK/notify.log" || fail "STATUS= did not say that partitions are restoring"
devbroker "up"
devbroker "rtt 0"
for _ in $(seq 600); do
        [ "$(grep -c "restored from changelog" "$WORK/b.err")" -ge 4 ] && break
        sleep 0.1
done
[ "$(grep -c "restored from changelog" "$WORK/b.err")" -ge 4 ] || fail "host b did not restore its 4 partitions after the outage"
"$SENSOR_REPLAY" -b "$BROKER" -t ou-in --generate 2000 --count 1500 --interval 0 --seed 42 2>"$WORK/replay2.err" ||
        fail "the second producer failed"
sleep 4
kill -TERM "$b_PID"
wait "$b_PID" || fail "host b did not stop cleanly"

kcat -C -b "$BROKER" -t ou-in -e -q -f '%s\n' >"$WORK/values.txt"
kcat -C -b "$BROKER" -t ou-out -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK final-equal "$WORK/results.jsonl" "$WORK/values.txt"
watchdog_fed "$WORK/notify.log"
echo "changelog_outage: ok"
