#!/bin/bash
# State that moves between hosts through the changelog topic. Each "host"
# is a sensord with a state directory of its own; they share only the
# broker. While 16,000 keyed records stream into 8 partitions: hosts a and b
# start, a fresh host c joins, a is SIGKILLed, b stops cleanly, a fresh
# host d joins, and a comes back with its old directory (stale by then).
# Every (window, sensor)'s last row in the result topic equals the model
# over all records: nothing lost, short or doubled. The hosts that started
# with empty directories must have restored from the changelog, and the
# returning host must not have used its stale files.
. "$(dirname "$0")/lib.sh"

start_broker fo-in:8 fo-out:8 fo-changelog:8 # (rows keyed: a key's rows stay in order)
props="$FAST_SESSION"

# host NAME : a sensord with state directory $WORK/NAME (appending to its logs)
host() {
        start_host "$1" topic=fo-in kafka_topic=fo-out max_messages=50 max_delay="100ms" watermark="365 days" \
                checkpoint_interval="300ms" group_id=fo properties="$props" changelog_topic=fo-changelog
}

"$SENSOR_REPLAY" -b "$BROKER" -t fo-in --generate 300 --count 16000 --rate 1000 --seed 11 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
host a
host b
wait_for "assigned" "$WORK/b.err" 30
sleep 2
host c
wait_for "assigned" "$WORK/c.err" 30
sleep 2
kill -KILL "$a_PID"
wait "$a_PID" || true
cp -a "$WORK/state-a" "$WORK/state-a.at-kill"
sleep 3
kill -TERM "$b_PID"
wait "$b_PID" || fail "host b did not stop cleanly"
host d
wait_for "assigned" "$WORK/d.err" 30
sleep 3
host a
wait_assigned_in_life "$WORK/a.err" 2 60
wait "$REPLAY_PID" || fail "the producer failed"
sleep 4
kill -TERM "$a_PID" "$c_PID" "$d_PID"
for h in a c d; do
        eval "wait \$${h}_PID" || fail "host $h did not stop cleanly"
done

kcat -C -b "$BROKER" -t fo-in -e -q -f '%s\n' >"$WORK/values.txt"
kcat -C -b "$BROKER" -t fo-out -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK final-equal "$WORK/results.jsonl" "$WORK/values.txt"
grep -h "restored from changelog" "$WORK"/c.err "$WORK"/d.err >"$WORK/restores" ||
        fail "no fresh host restored a partition from the changelog"
for h in a b c d; do
        ! grep -q "ERROR\|error:" "$WORK/$h.err" || fail "host $h logged an error: $(grep -m1 "ERROR\|error:" "$WORK/$h.err")"
done
# the returning host took its partitions' state from the changelog, never
# from its stale files: at its first assignment that restored anything
# (one revoked before its restores began left its files as they were; at a
# later one in the same life its files are its own new checkpoints, which
# it may use when they are the changelog's latest)
awk '/ started: /{n++} n==2 && / revoked / && restored {exit} n==2 {print; if (/ state restored /) restored = 1}' \
        "$WORK/a.err" >"$WORK/a-again.err"
grep -q "restored from changelog" "$WORK/a-again.err" || fail "the returning host restored nothing from the changelog"
! grep -q "restored from its local checkpoint\|restored from its checkpoint" "$WORK/a-again.err" ||
        fail "the returning host used its stale files: $(grep -m1 "restored from its" "$WORK/a-again.err")"
echo "changelog_failover: ok ($(wc -l <"$WORK/restores") restores from the changelog)"
