#!/bin/bash
# A real 3-node Kafka cluster (replication factor 3, min.insync.replicas 2)
# fails under sensord while keyed records stream into 8 partitions, the
# results go to a result topic and the checkpoints to a changelog:
#  1. the broker that leads the most partitions is SIGKILLed, and started
#     again 10 s later;
#  2. another broker is SIGSTOPped for 15 s, longer than its session with
#     the controllers (broker.session.timeout.ms, 9 s), then resumed;
#  3. all three brokers stop for 20 s, then start again.
# sensord must not exit, its watchdog must stay fed (no 2 s gap between
# pings, as systemd would see it), it must say when the brokers are away
# and when they are back, and the last row of every (window, sensor) in the
# result topic must equal the model over every record. Its last checkpoint
# counts: a fresh host of the same group restores all 8 partitions from the
# changelog and has nothing left to read.
# Real Kafka only (meson suite "kafka").
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "broker_faults needs a real Kafka cluster (BROKER_KIND=kafka)"
KAFKA_NODES=3 start_kafka bf-in:8 bf-out:8 bf-changelog:8

# leaders : "NODE COUNT" lines, the brokers by the partitions of bf-in they lead
leaders() {
        kcat -b "$BROKER" -L -t bf-in 2>/dev/null | sed -n 's/.*partition [0-9]*, leader \([0-9]*\),.*/\1/p' |
                sort | uniq -c | sort -rn | awk '{print $2, $1}'
}
# node_up N : until node N answers with the whole cluster in its metadata
node_up() {
        "$KAFKA_SH" wait "$WORK/kafka" 3 || fail "the cluster did not come back: $(tail -n 3 "$WORK/kafka/node-$1/logs/server.log")"
}

write_config "$WORK/sensord.conf" topic=bf-in kafka_topic=bf-out group_id=bf max_messages=200 max_delay="100ms" \
        watermark="365 days" checkpoint_interval="1 s" changelog_topic=bf-changelog
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=2000000 "$SENSORD" -c "$WORK/sensord.conf" >"$WORK/out.jsonl" \
        2>"$WORK/sensord.err" &
SENSORD_PID=$!
PIDS+=("$SENSORD_PID")
wait_for "assigned 8 partition" "$WORK/sensord.err" 60

# 36,000 records at 300 a second: two minutes, through all three faults.
# Not idempotent: librdkafka 2.0.2's idempotent producer can stop for good
# here ("out of order sequence number ... sequence desynchronization" after a
# NOT_ENOUGH_REPLICAS retry, fixed in librdkafka 2.3.0); one request in
# flight keeps each partition in order, and a retried record may land twice,
# which the model reads from the topic as it is.
"$SENSOR_REPLAY" -b "$BROKER" -t bf-in --generate 300 --count 36000 --rate 300 --seed 31 \
        -X enable.idempotence=false -X acks=all -X max.in.flight.requests.per.connection=1 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
sleep 10

# 1. the busiest leader, killed
read -r busiest led < <(leaders | head -n 1)
[ -n "$busiest" ] || fail "no partition leader found"
echo "1. SIGKILL node $busiest, the leader of $led of 8 partitions"
"$KAFKA_SH" node "$WORK/kafka" "$busiest" kill
sleep 10
"$KAFKA_SH" node "$WORK/kafka" "$busiest" start
node_up "$busiest"
sleep 5

# 2. another broker, frozen past its session
frozen=$((busiest % 3 + 1))
echo "2. SIGSTOP node $frozen for 15 s"
"$KAFKA_SH" node "$WORK/kafka" "$frozen" pause
sleep 15
"$KAFKA_SH" node "$WORK/kafka" "$frozen" resume
node_up "$frozen"
sleep 5

# 3. the whole cluster away for 20 s
echo "3. all three nodes stopped for 20 s"
stops=()
for n in 1 2 3; do
        "$KAFKA_SH" node "$WORK/kafka" "$n" stop &
        stops+=($!)
done
wait "${stops[@]}"
sleep 20
for n in 1 2 3; do "$KAFKA_SH" node "$WORK/kafka" "$n" start; done
node_up 1

wait "$REPLAY_PID" || fail "the producer failed: $(tail -n 3 "$WORK/replay.err")"
kill -0 "$SENSORD_PID" 2>/dev/null || fail "sensord exited during the faults"
# until sensord has caught up: its results equal the model (checked again,
# and reported, after the stop)
for _ in $(seq 60); do
        sleep 2
        kcat -C -b "$BROKER" -t bf-in -e -q -f '%s\n' >"$WORK/values.txt"
        kcat -C -b "$BROKER" -t bf-out -e -q -f '%s\n' >"$WORK/results.jsonl"
        $CHECK final-equal "$WORK/results.jsonl" "$WORK/values.txt" >/dev/null 2>&1 && break
done
kill -TERM "$SENSORD_PID"
rc=0
wait "$SENSORD_PID" || rc=$?
[ "$rc" = 0 ] || fail "sensord exited $rc at SIGTERM"
kcat -C -b "$BROKER" -t bf-in -e -q -f '%s\n' >"$WORK/values.txt"
kcat -C -b "$BROKER" -t bf-out -e -q -f '%s\n' >"$WORK/results.jsonl"
[ "$(wc -l <"$WORK/values.txt")" -ge 36000 ] || fail "the input topic holds $(wc -l <"$WORK/values.txt") records, not 36000"
$CHECK final-equal "$WORK/results.jsonl" "$WORK/values.txt"
watchdog_fed "$WORK/notify.log"
grep -q "the brokers are unreachable" "$WORK/sensord.err" || fail "sensord did not say that the brokers were away"
grep -q "the brokers are reachable again" "$WORK/sensord.err" || fail "sensord did not say that the brokers were back"

write_config "$WORK/fresh.conf" topic=bf-in group_id=bf watermark="365 days" changelog_topic=bf-changelog \
        state_directory="$WORK/state-fresh"
run_available_now "$WORK/fresh.conf" fresh
[ "$(grep -c "restored from changelog" "$WORK/fresh.err")" = 8 ] ||
        fail "a fresh host restored $(grep -c "restored from changelog" "$WORK/fresh.err") of 8 partitions from the changelog"
[ "$(summary_field fresh messages)" = 0 ] ||
        fail "a fresh host read $(summary_field fresh messages) records again: the last checkpoints did not count"
grep -h "failed for good" "$WORK/sensord.err" || true
echo "broker_faults: ok"
