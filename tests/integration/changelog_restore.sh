#!/bin/bash
# A changelog topic with fewer partitions than the input holds the input
# partitions it lacks, and the others flow. Restoring from the changelog
# reads the last generation only (a quiet partition, too, gets a new
# snapshot every state.changelog_snapshot_interval), survives a
# damaged snapshot through the previous generation, and holds a partition
# it cannot recover. Host a checkpoints 3 partitions every 100 ms while 6,000
# records stream in, so that each changelog partition holds several
# generations (snapshots with deltas after them). Then, with a stopped:
#   - partition 1: a fresh host reads exactly the committed pointer's range
#     (the latest snapshot and its deltas): fewer than a third of the
#     partition's messages;
#   - partition 0: its latest snapshot is replaced (by a pointer committed
#     to a damaged copy, whose previous generation is the real chain): the
#     fresh host falls back to it;
#   and 1,500 more records into the same windows come out exact;
#   - partition 2: a damaged snapshot with no previous generation: a third
#     host holds that partition, naming the changelog topic, partition and
#     offset, restores the others, does not exit, and leaves the committed
#     pointer as it was.
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import kafka' 2>/dev/null || fail "python3-kafka is not installed"
TOOL="$PYTHON $HERE/changelog_tool.py"
start_broker rs-in:3 rs-out:3 rs-changelog:3 rs-small:2
props="$FAST_SESSION"

host() {
        start_host "$1" topic=rs-in kafka_topic=rs-out max_messages=50 max_delay="100ms" watermark="365 days" \
                checkpoint_interval="100ms" group_id=rs properties="$props" changelog_topic=rs-changelog \
                changelog_snapshot_interval="1 s"
}

# a changelog with fewer partitions than the input (that sensord cannot
# extend: the mock takes no admin requests) holds the input partition it
# lacks, and the others flow
start_host small topic=rs-in group_id=rs-small changelog_topic=rs-small max_delay="100ms" watermark="365 days"
wait_for "has no partition 2 for its state, so sensord holds it" "$WORK/small.err" 30
grep -q "state.changelog_topic rs-small has 2 partition(s), fewer than the 3 of rs-in: .* holds partitions 2 to 2" \
        "$WORK/small.err" || fail "the start does not say which partitions are held: $(grep rs-small "$WORK/small.err")"
grep -q "kafka-topics.sh --alter --topic rs-small --partitions 3" "$WORK/small.err" ||
        fail "the hold does not say how to end it"

host a
wait_for "assigned 3 partition" "$WORK/a.err" 30
"$SENSOR_REPLAY" -b "$BROKER" -t rs-in --generate 150 --count 6000 --rate 1000 --seed 31 2>"$WORK/replay.err" ||
        fail "the producer failed"
# the small host read partitions 0 and 1 and holds on
wait_for '"count"' "$WORK/small.jsonl" 20
kill -0 "$small_PID" 2>/dev/null || fail "the host with the short changelog exited"
kill -TERM "$small_PID"
wait "$small_PID" || fail "the host with the short changelog did not stop cleanly"
# quiet input: a new snapshot still comes every second
sleep 1
read -r _ quiet_before <<<"$($TOOL pointer "$BROKER" rs rs-in 1)"
sleep 3
read -r _ quiet_after <<<"$($TOOL pointer "$BROKER" rs rs-in 1)"
[ "$(echo "$quiet_after" | awk '{print $4}')" != "$(echo "$quiet_before" | awk '{print $4}')" ] ||
        fail "no new snapshot while the input was quiet: $quiet_before, then $quiet_after"
kill -TERM "$a_PID"
wait "$a_PID" || fail "host a did not stop cleanly"

read -r _ pointer1 <<<"$($TOOL pointer "$BROKER" rs rs-in 1)"
[ -n "$pointer1" ] || fail "no changelog pointer committed for rs-in/1"
read -r first last <<<"$(echo "$pointer1" | awk '{split($4, f, "@"); split($5, l, "@"); print f[2], l[2]}')"
total=$($TOOL count "$BROKER" rs-changelog 1)
want=$((last - first + 1))
[ "$first" -gt 0 ] || fail "rs-changelog/1 holds one generation only ($pointer1): nothing to skip"
[ $((want * 3)) -le "$total" ] || fail "the last generation is $want of $total messages: too few generations to tell"

damaged0=$($TOOL damage "$BROKER" rs rs-in rs-changelog 0) || fail "damaging rs-changelog/0 failed"
# kafka-python's member, which committed the pointer, has left; the
# devbroker empties the group 2 s later (its session less 1 s), or 3 to 4 s
# after that if the leave was lost, and the hosts join after it
sleep 7

host b
for _ in $(seq 400); do
        [ "$(grep -c "restored from changelog" "$WORK/b.err")" -ge 3 ] && break
        sleep 0.1
done
[ "$(grep -c "restored from changelog" "$WORK/b.err")" -ge 3 ] || fail "host b did not restore all 3 partitions"
grep -q "rs-in/1: state restored from changelog rs-changelog in [0-9]* ms ($want messages" "$WORK/b.err" ||
        fail "rs-in/1 was not restored from exactly its last generation ($want of $total messages): $(grep "rs-in/1: state restored" "$WORK/b.err")"
grep -q "changelog rs-changelog/0: the snapshot at offset $damaged0 is damaged.*falling back to the previous generation" \
        "$WORK/b.err" || fail "rs-in/0's damaged snapshot (offset $damaged0) did not fall back to the previous generation"
"$SENSOR_REPLAY" -b "$BROKER" -t rs-in --generate 150 --count 1500 --interval 0 --seed 32 2>"$WORK/replay2.err" ||
        fail "the second producer failed"
sleep 3
kill -TERM "$b_PID"
wait "$b_PID" || fail "host b did not stop cleanly"
kcat -C -b "$BROKER" -t rs-in -e -q -f '%s\n' >"$WORK/values.txt"
kcat -C -b "$BROKER" -t rs-out -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK final-equal "$WORK/results.jsonl" "$WORK/values.txt"

# a snapshot damaged beyond recovery: the partition is held, unread, the
# others restored and read, and the pointer left for the operator (it was
# an exit 74 on every host the partition moved to)
damaged2=$($TOOL damage "$BROKER" rs rs-in rs-changelog 2 --no-previous) || fail "damaging rs-changelog/2 failed"
read -r _ before <<<"$($TOOL pointer "$BROKER" rs rs-in 2)"
sleep 7
sed "s|$WORK/state-b|$WORK/state-c|" "$WORK/b.conf" >"$WORK/c.conf" # a host with an empty directory
"$SENSORD" -c "$WORK/c.conf" >"$WORK/c.jsonl" 2>"$WORK/c.err" &
c_PID=$!
PIDS+=("$c_PID")
wait_for "rs-in/2: its state is damaged (changelog rs-changelog/2: the snapshot at offset $damaged2 is damaged" \
        "$WORK/c.err" 60
wait_for "rs-in/1: state restored from changelog" "$WORK/c.err" 30
sleep 2
kill -0 "$c_PID" || fail "a damaged changelog snapshot without a previous generation stopped sensord"
kill -TERM "$c_PID"
wait "$c_PID" || fail "host c did not stop cleanly"
read -r _ after <<<"$($TOOL pointer "$BROKER" rs rs-in 2)"
[ "$before" = "$after" ] || fail "the refused restore changed the committed pointer: $before -> $after"
echo "changelog_restore: ok (rs-in/1 read $want of $total changelog messages)"
