#!/bin/bash
# A zombie cannot corrupt the changelog or the results. Hosts a and b share
# a keyed 4-partition topic while records stream in; a is SIGSTOPped past
# the session timeout, so b restores a's partitions from the changelog and
# moves them on, then a is SIGCONTed: it must notice that the group gave
# its partitions away, emit none of their rows and rejoin. The last row of
# every (window, sensor) in the result topic equals the model; then a fresh
# host with an empty directory restores every partition from the changelog
# and 1,500 more records (into the same windows) come out exact as well.
# The result topic is read by the highest count per key, not the last row:
# rows a had handed to its producer before the freeze may still be
# delivered after b's (at-least-once output, no transactions), and an
# update-mode aggregate only grows, so the newest one has the highest count.
. "$(dirname "$0")/lib.sh"

start_broker zb-in:4 zb-out:4 zb-changelog:4
props="$FAST_SESSION"

host() {
        start_host "$1" topic=zb-in kafka_topic=zb-out max_messages=50 max_delay="100ms" watermark="365 days" \
                checkpoint_interval="300ms" group_id=zb properties="$props" changelog_topic=zb-changelog
}

"$SENSOR_REPLAY" -b "$BROKER" -t zb-in --generate 200 --count 12000 --rate 1000 --seed 21 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
host a
wait_for "assigned 4 partition" "$WORK/a.err" 30
host b
wait_for "assigned 2 partition" "$WORK/b.err" 30
sleep 2
kill -STOP "$a_PID"
# b takes all four once a's session expires, restoring a's two from the
# changelog, and moves them on. (What b restored when it joined depends on
# whether a's first pointers were committed before the join's rebalance
# refused a's commits: with none, b starts its two from their start.)
took_over() {
        awk '/assigned 4 partition|holds 4 now/ { taken = 1 } taken && /restored from changelog/ { n++ }
             END { exit !(n >= 2) }' "$WORK/b.err"
}
for _ in $(seq 300); do
        took_over && break
        sleep 0.1
done
took_over || fail "b did not take and restore a's partitions"
sleep 3
kill -CONT "$a_PID"
# either the freeze guard finds the assignment lost when its hold ends, or
# librdkafka's own session timer (SESSTMOUT) revokes it as lost first: a
# race between its thread and the loop's wake, with the same outcome
wait_for "dropping .* as lost\|the assignment was lost" "$WORK/a.err" 20
wait "$REPLAY_PID" || fail "the producer failed"
sleep 4
kill -TERM "$a_PID" "$b_PID"
wait "$a_PID" || fail "host a did not stop cleanly"
wait "$b_PID" || fail "host b did not stop cleanly"

kcat -C -b "$BROKER" -t zb-in -e -q -f '%s\n' >"$WORK/values.txt"
kcat -C -b "$BROKER" -t zb-out -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK final-equal --highest-count "$WORK/results.jsonl" "$WORK/values.txt"

# a fresh host restores every partition from the changelog, whatever the
# zombie wrote into it, and continues exactly
host c
for _ in $(seq 150); do
        [ "$(grep -c "restored from changelog" "$WORK/c.err")" -ge 4 ] && break
        sleep 0.1
done
[ "$(grep -c "restored from changelog" "$WORK/c.err")" -ge 4 ] || fail "the fresh host did not restore all 4 partitions"
"$SENSOR_REPLAY" -b "$BROKER" -t zb-in --generate 200 --count 1500 --interval 0 --seed 22 2>"$WORK/replay2.err" ||
        fail "the second producer failed"
sleep 3
kill -TERM "$c_PID"
wait "$c_PID" || fail "host c did not stop cleanly"
kcat -C -b "$BROKER" -t zb-in -e -q -f '%s\n' >"$WORK/values.txt"
kcat -C -b "$BROKER" -t zb-out -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK final-equal --highest-count "$WORK/results.jsonl" "$WORK/values.txt"
grep -q "the event loop did not run for" "$WORK/a.err" || fail "the zombie did not notice its freeze"
echo "changelog_zombie: ok"
