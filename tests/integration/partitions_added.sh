#!/bin/bash
# Partitions added to the input while sensord runs are held until the
# changelog has them, then taken. Before, the owner of a new partition
# produced its checkpoints to a changelog partition that did not exist and
# exited 74, and every host given the partition after that exited 78 at
# start. On a real Kafka with a SASL_SSL listener and ACLs, pa-in grows
# from 2 to 3 partitions under two groups:
#  - host a (the admin listener, which may alter topics) gives its
#    changelog topic the third partition itself and takes the new input
#    partition;
#  - host b (user "sensord", whose ACLs grant no Alter) holds the new
#    partition, named in the log, STATUS= and
#    sensord_partitions_waiting_changelog, while its two others flow; once
#    the operator adds the changelog partition, b takes it within seconds.
# Neither exits, and each host's rows equal the model in the end.
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "partitions_added needs a real Kafka (BROKER_KIND=kafka)"
KAFKA_SASL=1 start_kafka pa-in:2 pb-changelog:2
"$KAFKA_SH" allow "$WORK/kafka" sensord Describe:topic:pa-in Read:topic:pa-in Read:group:pb \
        Describe:topic:pb-changelog Read:topic:pb-changelog Write:topic:pb-changelog 2>>"$WORK/kafka.log" ||
        fail "cannot create the ACLs: $(tail -n 3 "$WORK/kafka.log")"
"$SENSOR_REPLAY" -b "$BROKER" -t pa-in --generate 40 --count 2000 --interval 0 --seed 61 2>"$WORK/replay.err"

# the consumers look for new partitions every second (librdkafka's default: 5 minutes)
refresh=', ("topic.metadata.refresh.interval.ms", "1000")'
settings=(topic=pa-in max_messages=200 max_delay="100ms" watermark="365 days" checkpoint_interval="1 s")
start_host a "${settings[@]}" group_id=pa changelog_topic=pa-changelog properties="$refresh"

mkdir -m 700 "$WORK/credentials" "$WORK/metrics"
cp "$WORK/kafka/sasl/sensord.password" "$WORK/credentials/kafka-password"
write_config "$WORK/b.conf" "${settings[@]}" brokers="$SASL_BROKER" group_id=pb changelog_topic=pb-changelog \
        state_directory="$WORK/state-b" sasl_password_file=kafka-password metrics_interval="1 s" \
        metrics_textfile="$WORK/metrics/sensord.prom" properties="$refresh, (\"security.protocol\", \"SASL_SSL\"),
        (\"sasl.username\", \"sensord\"), (\"sasl.mechanisms\", \"PLAIN\"), (\"ssl.ca.location\", \"$WORK/kafka/tls/ca.pem\")"
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
CREDENTIALS_DIRECTORY="$WORK/credentials" NOTIFY_SOCKET="$WORK/notify.sock" "$SENSORD" -c "$WORK/b.conf" \
        >"$WORK/b.jsonl" 2>"$WORK/b.err" &
b_PID=$!
PIDS+=("$b_PID")
wait_for "assigned 2 partition" "$WORK/a.err" 60
wait_for "assigned 2 partition" "$WORK/b.err" 60
wait_quiet "$WORK/a.jsonl" 10
wait_quiet "$WORK/b.jsonl" 10

"$KAFKA_SH" add-partitions "$WORK/kafka" pa-in:3 2>>"$WORK/kafka.log" ||
        fail "cannot add a partition to pa-in: $(tail -n 3 "$WORK/kafka.log")"
wait_for "changelog topic pa-changelog now has 3 partition(s), as many as pa-in: sensord added them" "$WORK/a.err" 60
wait_for "pa-in/2: changelog pb-changelog has no partition 2 for its state, so sensord holds it" "$WORK/b.err" 60
grep -q "the ACLs do not let sensord add partitions: grant its user Alter on the topic" "$WORK/b.err" ||
        fail "b does not say why it cannot add the partition"
wait_for "STATUS=.*1 partition(s) held until the changelog has them (from partition 2" "$WORK/notify.log" 10
for _ in $(seq 50); do
        grep -q "^sensord_partitions_waiting_changelog 1" "$WORK/metrics/sensord.prom" 2>/dev/null && break
        sleep 0.1
done
grep -q "^sensord_partitions_waiting_changelog 1" "$WORK/metrics/sensord.prom" ||
        fail "sensord_partitions_waiting_changelog is not 1"

# new records, a third of them in the new partition: a takes them all, b
# its two old partitions' only
"$SENSOR_REPLAY" -b "$BROKER" -t pa-in --generate 40 --count 3000 --interval 0 --seed 62 2>>"$WORK/replay.err"
[ "$(kcat -C -b "$BROKER" -t pa-in -p 2 -e -q -f '.\n' | wc -l)" -gt 500 ] ||
        fail "the producer put few records in the new partition"
wait_quiet "$WORK/a.jsonl" 10
wait_quiet "$WORK/b.jsonl" 10
sleep 6 # b asks again
kill -0 "$b_PID" 2>/dev/null || fail "host b exited"
kill -0 "$a_PID" 2>/dev/null || fail "host a exited"

"$KAFKA_SH" add-partitions "$WORK/kafka" pb-changelog:3 2>>"$WORK/kafka.log" ||
        fail "cannot add a partition to pb-changelog: $(tail -n 3 "$WORK/kafka.log")"
wait_for "pa-in/2: changelog pb-changelog has partition 2 now; restoring it" "$WORK/b.err" 30
for _ in $(seq 100); do
        grep -q "^sensord_partitions_waiting_changelog 0" "$WORK/metrics/sensord.prom" 2>/dev/null && break
        sleep 0.1
done
grep -q "^sensord_partitions_waiting_changelog 0" "$WORK/metrics/sensord.prom" ||
        fail "sensord_partitions_waiting_changelog is not back to 0"
wait_quiet "$WORK/b.jsonl" 10
sleep 2
for host in a b; do
        pid_var="${host}_PID"
        kill -TERM "${!pid_var}"
        wait "${!pid_var}" || fail "host $host did not stop cleanly"
done
[ "$(kcat -C -b "$BROKER" -t pb-changelog -p 2 -e -q -f '.\n' | wc -l)" -gt 0 ] ||
        fail "b wrote no checkpoint of partition 2 to pb-changelog"
kcat -C -b "$BROKER" -t pa-in -e -q -f '%s\n' >"$WORK/values.txt"
$CHECK final-equal "$WORK/a.jsonl" "$WORK/values.txt"
$CHECK final-equal "$WORK/b.jsonl" "$WORK/values.txt"
echo "partitions_added: ok"
