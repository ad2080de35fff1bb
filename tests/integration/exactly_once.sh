#!/bin/bash
# output.guarantee = "exactly_once" on the real broker: while 24,000 keyed
# records stream into 6 partitions, three hosts with a changelog share them,
# and one of them, drawn at random (seeded), is SIGKILLed and started again,
# 4 times, each time while rows it delivered sit in its open transaction.
# A read_committed reader of the result topic then sees, for every
# (window, sensor), rows whose counts strictly grow (no row twice, none of
# an aborted attempt, none older after a newer), a row in every batch that
# changed it, and a last row equal to the model of all records. A
# read_uncommitted reader of the same topic sees more rows, those of the
# aborted transactions.
. "$(dirname "$0")/lib.sh"

[ "${BROKER_KIND:-}" = kafka ] || { echo "exactly_once: needs the real broker (the mock keeps no transactional offsets)"; exit 77; }

start_broker eo-in:6 eo-out:6 eo-changelog:6
props="$FAST_SESSION"

# host NAME : an exactly-once sensord with state directory $WORK/state-NAME
host() {
        local port_var="${1}_PORT"
        start_host "$1" topic=eo-in kafka_topic=eo-out max_messages=50 max_delay="100ms" watermark="365 days" \
                checkpoint_interval="300ms" group_id=eo properties="$props" changelog_topic=eo-changelog sink=none \
                guarantee=exactly_once metrics_listen="127.0.0.1:${!port_var}"
}
a_PORT=$(free_port) b_PORT=$(free_port) c_PORT=$(free_port)

"$SENSOR_REPLAY" -b "$BROKER" -t eo-in --generate 200 --count 24000 --rate 800 --seed 21 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
for h in a b c; do
        host "$h"
done
declare -A lives=([a]=1 [b]=1 [c]=1)
RANDOM=21
for kill in 1 2 3 4; do
        sleep "$((RANDOM % 3 + 1)).$((RANDOM % 10))"
        h=$(printf 'a\nb\nc\n' | sed -n "$((RANDOM % 3 + 1))p")
        pid_var="${h}_PID"
        echo "kill $kill at ${SECONDS} s: host $h (pid ${!pid_var}, life ${lives[$h]})"
        # a kill between a commit and the next batch's rows, or while the
        # host waits in a rebalance, would abort nothing
        kill_mid_transaction "$h"
        wait "${!pid_var}" || true
        sleep 0.01
        host "$h"
        lives[$h]=$((lives[$h] + 1))
done
wait "$REPLAY_PID" || fail "the producer failed"
kcat -C -b "$BROKER" -t eo-in -e -q -f '%s\n' >"$WORK/values.txt"
wait_committed_model eo-out 90
for h in a b c; do
        pid_var="${h}_PID"
        kill -TERM "${!pid_var}"
        wait "${!pid_var}" || fail "host $h did not stop cleanly: $(tail -3 "$WORK/$h.err")"
done
grep -h "cannot\|failed" "$WORK"/[abc].err | grep -v "^$" | head -5 || true

check_committed eo-out
# one row per batch that changed a key: no batch's row is missing either
kcat -C -b "$BROKER" -t eo-in -e -q -f '%p %o %s\n' >"$WORK/input.txt"
$CHECK batch-rows "$WORK/committed.jsonl" "$WORK/input.txt"
kcat -C -b "$BROKER" -t eo-out -e -q -X isolation.level=read_uncommitted -f '%s\n' >"$WORK/uncommitted.jsonl"
committed_rows=$(grep -c . "$WORK/committed.jsonl")
all_rows=$(grep -c . "$WORK/uncommitted.jsonl")
echo "$((all_rows - committed_rows)) rows of aborted transactions, none visible to read_committed"
[ "$all_rows" -gt "$committed_rows" ] || fail "no row of an aborted transaction is in the topic: no kill landed mid-transaction"
grep -q "registered with its coordinator" "$WORK/a.err" || fail "host a never registered its transactional id"
echo "exactly_once: ok"
