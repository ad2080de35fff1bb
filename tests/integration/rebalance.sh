#!/bin/bash
# Rebalances while sensord runs live on a 4-partition topic.
#
# 1. A second member (kcat -G, which never commits) joins the group and later
#    leaves. sensord logs each revoke and assignment and keeps running, and
#    processes every record of the partitions it holds, each once: when the
#    partitions come back it resumes at its own committed offsets. The
#    summary counts every message once, and the last row of every
#    (window, sensor) equals the aggregate of all records.
#    The devbroker (librdkafka's mock) refuses offset commits while a
#    rebalance is in progress, which a real broker accepts from the current
#    generation. So the commit that librdkafka makes when partitions are
#    revoked fails here, and the test lets the stream settle, checkpoint
#    (every 200 ms) and auto-commit (every 100 ms) before each membership
#    change, so that the other member starts where sensord stopped.
# 2. The assignment is lost. sensord is frozen (SIGSTOP) past its session
#    timeout. On waking, it logs that the assignment was lost, stores and
#    commits nothing for those partitions, rejoins, and goes on.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:4
# Nothing may be late whatever order the partitions interleave in.
write_config "$WORK/sensord.conf" max_messages=200 max_delay="200ms" watermark="365 days" \
        checkpoint_interval="200ms" properties=', ("auto.commit.interval.ms", "100")'
produce() { # COUNT SEED
        "$SENSOR_REPLAY" -b "$BROKER" --interval 0 --generate 40 --count "$1" --seed "$2" 2>>"$WORK/replay.err"
}
# wait_count PATTERN FILE N SECONDS : until N lines match
wait_count() {
        for _ in $(seq $(($4 * 10))); do
                [ "$(grep -c "$1" "$2" || true)" -ge "$3" ] && return 0
                sleep 0.1
        done
        fail "'$1' appeared fewer than $3 times in $2 within $4 s"
}
# settle NAME : until sensord's output stops growing (everything read, and
# auto-committed meanwhile)
settle() {
        wait_quiet "$WORK/$1.jsonl" 50
}

# run NAME COUNT SEED : a sensord holding all 4 partitions, COUNT records read
run() {
        "$SENSORD" -c "$WORK/sensord.conf" >"$WORK/$1.jsonl" 2>"$WORK/$1.err" &
        SENSORD_PID=$!
        PIDS+=("$SENSORD_PID")
        wait_for "assigned 4 partition(s)" "$WORK/$1.err" 30
        produce "$2" "$3"
        settle "$1"
}

run live 3000 1

# A second member joins: eager rebalancing revokes all four, then assigns two.
kcat -G sensord-test -b "$BROKER" -u -q -X enable.auto.commit=false -X session.timeout.ms=6000 \
        -X heartbeat.interval.ms=500 -f '%p %o\n' sensor-data >"$WORK/kcat.out" 2>"$WORK/kcat.err" &
KCAT_PID=$!
PIDS+=("$KCAT_PID")
wait_for "revoked 4 partition(s)" "$WORK/live.err" 30
wait_for "assigned 2 partition(s)" "$WORK/live.err" 30
produce 3000 2 # half of it goes to the other member's partitions
for _ in $(seq 300); do [ -s "$WORK/kcat.out" ] && break; sleep 0.1; done
[ -s "$WORK/kcat.out" ] || fail "the second member received nothing"
settle live

# It leaves without committing: sensord gets all four back and reads what
# the other member read, from sensord's own committed offsets.
kill -KILL "$KCAT_PID" # kcat -G commits what it read when it leaves cleanly
wait "$KCAT_PID" || true
wait_count "assigned 4 partition(s)" "$WORK/live.err" 2 30
produce 2000 3
settle live
kill -0 "$SENSORD_PID" || fail "sensord died during the rebalances"
kill -TERM "$SENSORD_PID"
rc=0
wait "$SENSORD_PID" || rc=$?
[ "$rc" = 0 ] || fail "sensord exited $rc"
grep -q "lost" "$WORK/live.err" && fail "no assignment should have been lost in part 1"
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
[ "$(wc -l <"$WORK/values.txt")" = 8000 ] || fail "expected 8000 records in the topic"
[ "$(summary_field live messages)" = 8000 ] ||
        fail "sensord processed $(summary_field live messages) messages, not each of the 8000 once"
$CHECK final-equal "$WORK/live.jsonl" "$WORK/values.txt"

# 2. A lost assignment.
run lost 1000 4
kill -STOP "$SENSORD_PID"
sleep 9 # session.timeout.ms is 6000
produce 1000 5
kill -CONT "$SENSORD_PID"
wait_for "the assignment was lost" "$WORK/lost.err" 30
wait_count "assigned 4 partition(s)" "$WORK/lost.err" 2 40
settle lost
kill -TERM "$SENSORD_PID"
rc=0
wait "$SENSORD_PID" || rc=$?
[ "$rc" = 0 ] || fail "sensord exited $rc after losing its assignment"
grep -q "storing offsets failed" "$WORK/lost.err" && fail "sensord tried to store offsets of a lost partition"
n=$(summary_field lost messages)
[ "$n" -ge 2000 ] || fail "after the loss sensord processed only $n of the 2000 new records"
# Everything was read in the end, and committed: a new run finds nothing.
run_available_now "$WORK/sensord.conf" after
[ "$(summary_field after messages)" = 0 ] || fail "records left unprocessed or uncommitted after the loss"
echo "rebalance: ok"
