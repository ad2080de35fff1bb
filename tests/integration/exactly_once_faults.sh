#!/bin/bash
# Exactly-once through broker faults, on a real 3-node Kafka: two hosts
# commit a transaction every 300 ms while 16,000 keyed records stream in.
# The node that coordinates host a's transactions (kafka-transactions.sh
# describe) is SIGKILLed and started again 6 s later, then another node is
# SIGSTOPped for 4 s. Neither host exits; host a commits transactions after
# the faults (sensord_transactions_total); a read_committed reader sees
# every key's counts strictly grow, and last rows equal to the model.
. "$(dirname "$0")/lib.sh"

[ "${BROKER_KIND:-}" = kafka ] || { echo "exactly_once_faults: needs the real broker"; exit 77; }

KAFKA_NODES=3 start_kafka eof-in:4 eof-out:4 eof-changelog:4
props="$FAST_SESSION"

host() {
        start_host "$1" topic=eof-in kafka_topic=eof-out max_messages=50 max_delay="100ms" watermark="365 days" \
                checkpoint_interval="300ms" group_id=eof properties="$props" changelog_topic=eof-changelog sink=none \
                guarantee=exactly_once metrics_textfile="$WORK/$1.prom" metrics_interval="1 s"
}

"$SENSOR_REPLAY" -b "$BROKER" -t eof-in --generate 120 --count 16000 --rate 400 --seed 31 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
host a
host b
wait_for "registered with its coordinator" "$WORK/a.err" 60
id=$(sed -n 's/.*transactional producer \([^ ]*\) registered with its coordinator.*/\1/p' "$WORK/a.err" | tail -n 1)
node=$("$KAFKA_SH" coordinator "$WORK/kafka" "$id") || fail "cannot find the coordinator of $id"
[ -n "$node" ] || fail "no coordinator for $id: $(cat "$WORK/kafka/tools/coordinator.out")"
wait_for "assigned [1-9]" "$WORK/a.err" 60
wait_for "assigned [1-9]" "$WORK/b.err" 60
for _ in $(seq 100); do [ "$(transactions_committed a)" -gt 0 ] 2>/dev/null && break; sleep 0.1; done
before=$(transactions_committed a)
[ "${before:-0}" -gt 0 ] || fail "host a committed no transaction before the faults"
[ "$(kcat -C -b "$BROKER" -t eof-in -e -q -f '.\n' | wc -l)" -lt 14000 ] ||
        fail "the records were nearly all in before the faults: the test would not test them"
echo "host a ($id): $before transactions committed; its coordinator, node $node, is SIGKILLed"
"$KAFKA_SH" node "$WORK/kafka" "$node" kill
sleep 6
"$KAFKA_SH" node "$WORK/kafka" "$node" start >>"$WORK/kafka.log" 2>&1 || fail "node $node did not start again"
other=$((node % 3 + 1))
echo "node $other SIGSTOPped for 4 s"
"$KAFKA_SH" node "$WORK/kafka" "$other" pause
sleep 4
"$KAFKA_SH" node "$WORK/kafka" "$other" resume
wait "$REPLAY_PID" || fail "the producer failed"
kcat -C -b "$BROKER" -t eof-in -e -q -f '%s\n' >"$WORK/values.txt"
wait_committed_model eof-out 150
for h in a b; do
        pid_var="${h}_PID"
        kill -0 "${!pid_var}" 2>/dev/null || fail "host $h exited during the faults: $(tail -n 5 "$WORK/$h.err")"
done
sleep 1.5 # a last metrics file
after=$(transactions_committed a)
echo "host a: $after transactions committed in all"
[ "${after:-0}" -gt "${before:-0}" ] || fail "host a committed no transaction after the faults ($before, then $after)"
for h in a b; do
        pid_var="${h}_PID"
        kill -TERM "${!pid_var}"
        wait "${!pid_var}" || fail "host $h did not stop cleanly: $(tail -n 3 "$WORK/$h.err")"
done
# what the faults did to each host's transactions and assignment, for the log
grep -h "transaction\|assignment was lost\|goes with" "$WORK/a.err" "$WORK/b.err" | grep -v "^sensord: kafka" | sort | uniq -c || true
check_committed eof-out
echo "exactly_once_faults: ok"
