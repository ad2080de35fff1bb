#!/bin/bash
# A partition whose state the changelog no longer holds is held, not a
# crash loop. Before, a restore that found the pointer's snapshot deleted
# by retention (or a changelog partition that ended before it) exited 74
# on every host the partition moved to. On a real Kafka (meson suite
# "kafka"), host a leaves 4 partitions' state in the changelog, then:
#  - partition 0's changelog records are deleted, as retention would;
#  - partition 1's committed pointer is moved 1,000 offsets past the end of
#    its changelog partition, as a replica that is behind would show it;
#  - partition 2's committed offset is deleted, as the brokers expire an
#    empty group's offsets (offsets.retention.minutes): its pointer is gone
#    while its changelog partition still holds state (before, sensord
#    started it from local files, or from nothing, without a word).
# A fresh host b restores partition 3, holds 0 (lost to
# retention) and 2 (its pointer gone), both in the log, STATUS= and
# sensord_partitions_lost, and keeps reading 1's changelog again every
# 5 s, without exiting; new records flow through 3. A reload with
# state.lost_state = "rebuild" rebuilds 0, 1 and 2 from the earliest
# records the input topic holds, which is all of them: in the end every
# (window, sensor) equals the model.
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "lost_state needs a real Kafka (BROKER_KIND=kafka)"
start_kafka ls-in:4 ls-changelog:4

settings=(topic=ls-in group_id=ls max_messages=200 max_delay="100ms" watermark="365 days"
        checkpoint_interval="1 s" changelog_topic=ls-changelog)
"$SENSOR_REPLAY" -b "$BROKER" -t ls-in --generate 40 --count 4000 --interval 0 --seed 53 2>"$WORK/replay.err"
write_config "$WORK/a.conf" "${settings[@]}" state_directory="$WORK/state-a"
run_available_now "$WORK/a.conf" a

"$KAFKA_SH" delete-records "$WORK/kafka" ls-changelog:0
/usr/bin/python3 - "$BROKER" <<'PY' || fail "cannot move partition 1's pointer"
import sys
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.structs import OffsetAndMetadata
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1])
committed = admin.list_consumer_group_offsets("ls")
admin.close()
tp = TopicPartition("ls-in", 1)
meta = committed[tp].metadata.split(" ")
# sensord-changelog 1 <writer> <snapshot seq>@<offset> <last seq>@<offset> <crc> [...]
for i in (3, 4):
    seq, offset = meta[i].split("@")
    meta[i] = f"{seq}@{int(offset) + 1000}"
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id="ls", enable_auto_commit=False)
c.commit({tp: OffsetAndMetadata(committed[tp].offset, " ".join(meta))})
c.close()
PY
"$KAFKA_SH" delete-offsets "$WORK/kafka" ls ls-in:2

notify_listener "$WORK/notify.sock" "$WORK/notify.log"
write_config "$WORK/b.conf" "${settings[@]}" state_directory="$WORK/state-b" \
        metrics_textfile="$WORK/metrics/sensord.prom" metrics_interval="1 s"
mkdir -p "$WORK/metrics"
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=2000000 "$SENSORD" -c "$WORK/b.conf" >"$WORK/b.jsonl" \
        2>"$WORK/b.err" &
b_PID=$!
PIDS+=("$b_PID")
wait_for "ls-in/0: its state is lost to the changelog's retention (changelog ls-changelog/0" "$WORK/b.err" 60
grep -q "set state.lost_state = \"rebuild\" and reload" "$WORK/b.err" || fail "the log does not give the way out"
wait_for "changelog ls-changelog/1 ends before the checkpoint its pointer names" "$WORK/b.err" 60
wait_for "ls-in/2: its state is not to be found: its committed pointer is gone (changelog ls-changelog/2: it was written up to offset [0-9]*, but the group has no committed offset for ls-in/2" "$WORK/b.err" 30
wait_for "ls-in/3: state restored" "$WORK/b.err" 30
wait_for "STATUS=.*2 partition(s) held, their state lost (from partition 0" "$WORK/notify.log" 10
for _ in $(seq 50); do grep -q "^sensord_partitions_lost 2" "$WORK/metrics/sensord.prom" 2>/dev/null && break; sleep 0.1; done
grep -q "^sensord_partitions_lost 2" "$WORK/metrics/sensord.prom" || fail "sensord_partitions_lost is not 2"

# new records: 3 flows, 0, 1 and 2 wait
"$SENSOR_REPLAY" -b "$BROKER" -t ls-in --generate 40 --count 2000 --interval 0 --seed 54 2>>"$WORK/replay.err"
wait_quiet "$WORK/b.jsonl" 5
sleep 6 # another read of partition 1's changelog
kill -0 "$b_PID" || fail "host b exited"
[ "$(grep -c "ends before the checkpoint its pointer names" "$WORK/b.err")" -ge 1 ] || fail "no early end told"
grep -q "ls-in/1: state restored" "$WORK/b.err" && fail "partition 1 was restored from a changelog that ends early"

# the way out
sed -i 's/^state = {/state = { lost_state = "rebuild";/' "$WORK/b.conf"
kill -HUP "$b_PID"
wait_for "ls-in/0: rebuilding its state from the earliest record ls-in still holds" "$WORK/b.err" 30
wait_for "ls-in/1: rebuilding its state from the earliest record ls-in still holds" "$WORK/b.err" 30
wait_for "ls-in/2: rebuilding its state from the earliest record ls-in still holds" "$WORK/b.err" 30
wait_quiet "$WORK/b.jsonl" 5
sleep 2
kill -TERM "$b_PID"
wait "$b_PID" || fail "host b did not stop cleanly"
grep -q "^sensord_partitions_lost 0" "$WORK/metrics/sensord.prom" || fail "sensord_partitions_lost is not back to 0"
watchdog_fed "$WORK/notify.log" || fail "host b's watchdog went 2 s without a ping"
kcat -C -b "$BROKER" -t ls-in -e -q -f '%s\n' >"$WORK/values.txt"
cat "$WORK/a.jsonl" "$WORK/b.jsonl" >"$WORK/all.jsonl"
$CHECK final-equal "$WORK/all.jsonl" "$WORK/values.txt"
echo "lost_state: ok"
