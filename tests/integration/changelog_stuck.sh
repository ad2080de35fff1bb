#!/bin/bash
# A changelog producer whose writes wait, with no broker error, longer than
# 30 s is replaced, and the new one sends again what the old one held.
# librdkafka 2.0.2's idempotent producer can wait for ever, saying nothing,
# once it started while brokers were down (the chaos test saw a restarted
# host's changelog writes stay unacknowledged 75 s after every broker ran
# again). Here records stream in and every broker request is made 2 s
# slow, so that checkpoint writes are always in flight, then the brokers
# go down for over 30 s (librdkafka's own error only: "Broker transport
# failure"). Host a does not exit, says that it replaced the producer,
# its watchdog stays fed; once the brokers are back every (window, sensor)
# ends equal to the model, and a fresh host b restores every partition
# from the changelog the new producers wrote.
. "$(dirname "$0")/lib.sh"

start_devbroker st-in:2 st-changelog:2
props=', ("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "500")'
conf() {
        write_config "$WORK/$1.conf" topic=st-in max_messages=100 max_delay="100ms" watermark="365 days" \
                checkpoint_interval="300ms" group_id=st properties="$props" state_directory="$WORK/state-$1" \
                changelog_topic=st-changelog
}

notify_listener "$WORK/notify.sock" "$WORK/notify.log"
conf a
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=2000000 \
        "$SENSORD" -c "$WORK/a.conf" >"$WORK/a.jsonl" 2>"$WORK/a.err" &
a_PID=$!
PIDS+=("$a_PID")
wait_for "assigned 2 partition(s)" "$WORK/a.err" 30
# records stream in, so that checkpoints are written all the time; with
# every request 2 s slow, some are always in flight when the brokers go
"$SENSOR_REPLAY" -b "$BROKER" -t st-in --generate 300 --count 1000000 --rate 500 --seed 61 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
sleep 2
devbroker "rtt 2000"
sleep 4
devbroker "down"
kill -KILL "$REPLAY_PID"
wait "$REPLAY_PID" 2>/dev/null || true
wait_for "changelog topic st-changelog: no write acknowledged" "$WORK/a.err" 15
wait_for "the changelog producer was replaced (no write acknowledged for 30 s, and no error from a broker" "$WORK/a.err" 40
devbroker "up"
devbroker "rtt 0"
kill -0 "$a_PID" || fail "host a exited during the outage"
wait_for "changelog topic st-changelog: writes are acknowledged again" "$WORK/a.err" 60
# the session timed out during the outage: a joins again, and restores
for _ in $(seq 600); do
        [ "$(grep -c "assigned 2 partition(s)" "$WORK/a.err")" -ge 2 ] && break
        sleep 0.1
done
[ "$(grep -c "assigned 2 partition(s)" "$WORK/a.err")" -ge 2 ] || fail "host a did not join the group again"
"$SENSOR_REPLAY" -b "$BROKER" -t st-in --generate 300 --count 1000 --interval 0 --seed 63 2>>"$WORK/replay.err" ||
        fail "the second producer failed"
# a producer made while the brokers were down may stall again once they
# are back (its connections retry after up to 10 s, or it is stuck and
# replaced): wait, bounded, until every (window, sensor) is exact
kcat -C -b "$BROKER" -t st-in -e -q -f '%s\n' >"$WORK/values.txt"
for _ in $(seq 90); do
        $CHECK final-equal "$WORK/a.jsonl" "$WORK/values.txt" >"$WORK/check.out" 2>&1 && break
        sleep 1
done
cat "$WORK/check.out"
kill -TERM "$a_PID"
wait "$a_PID" || fail "host a did not stop cleanly"
watchdog_fed "$WORK/notify.log"
$CHECK final-equal "$WORK/a.jsonl" "$WORK/values.txt"

# what the replaced producers wrote restores on a fresh host, which then
# has no input record left to read
conf b
timeout 60 "$SENSORD" -c "$WORK/b.conf" --available-now >"$WORK/b.jsonl" 2>"$WORK/b.err" || fail "host b failed"
[ "$(grep -c "restored from changelog" "$WORK/b.err")" -eq 2 ] || fail "host b did not restore both partitions"
grep -q "summary: messages=0 " "$WORK/b.err" || fail "host b read input records the changelog should have covered"
echo "changelog_stuck: ok"
