#!/bin/bash
# Before it joins its group, sensord checks every topic it writes, by
# metadata and DescribeConfigs, and creates a missing changelog topic
# itself. Real Kafka only (meson suite "kafka"; librdkafka's mock takes no
# admin requests), topics set up as an operator might:
#  1. a healthy host with a changelog topic that does not exist: it creates
#     the topic as Kafka Streams creates its internal topics (the input's
#     4 partitions, cleanup.policy=delete, the input's retention.ms,
#     retention.bytes=-1), and a fresh host restores from it;
#  2. in the same group, hosts whose changelog topic cannot work: compacted,
#     a retention.ms below the snapshot interval, a max.message.bytes below
#     4 KiB. Each exits 78 within seconds, naming the topic, the setting and
#     the fix, and never joins the group: the healthy host is not revoked;
#  3. risky settings (retention.bytes, a retention under twice the snapshot
#     interval, one replica, a result topic's min.insync.replicas above its
#     replica count, which only Kafka 4 accepts) are warnings, and sensord
#     runs.
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "topic_checks needs a real Kafka (BROKER_KIND=kafka)"
start_kafka sensor-data:4:retention.ms=172800000 compacted:4:cleanup.policy=compact short:4:retention.ms=600000 \
        tiny:4:max.message.bytes=2000 insync-out:1:min.insync.replicas=2 bounded:4:retention.bytes=1073741824,retention.ms=5400000 other-in:1

# describe TOPIC : "partitions cleanup.policy retention.ms retention.bytes"
describe() {
        "$PYTHON" - "$BROKER" "$1" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, ConfigResource
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
topic = sys.argv[2]
partitions = len(admin.list_topics(topic, timeout=10).topics[topic].partitions)
resource = ConfigResource("topic", topic)
config = admin.describe_configs([resource])[resource].result()
print(partitions, *(config[n].value for n in ("cleanup.policy", "retention.ms", "retention.bytes")))
PY
}

# 1. the healthy host creates its changelog topic
start_host a group_id=tc changelog_topic=tc-changelog checkpoint_interval="1 s"
wait_for "assigned 4 partition(s)" "$WORK/a.err" 60
grep -q "created topic tc-changelog (state.changelog_topic): 4 partition(s) as sensor-data" "$WORK/a.err" ||
        fail "the missing changelog topic was not created: $(grep -m1 tc-changelog "$WORK/a.err")"
settings=$(describe tc-changelog)
[ "$settings" = "4 delete 172800000 -1" ] ||
        fail "the created changelog topic has partitions, policy, retention.ms, retention.bytes = $settings"

# 2. hosts that cannot work exit 78 before they join the group
refused() { # NAME PATTERN SETTING=VALUE... : the host exits 78 and logs PATTERN
        local name=$1 pattern=$2 rc=0 start=$SECONDS
        shift 2
        write_config "$WORK/$name.conf" group_id=tc state_directory="$WORK/state-$name" "$@"
        timeout 60 "$SENSORD" -c "$WORK/$name.conf" >"$WORK/$name.jsonl" 2>"$WORK/$name.err" || rc=$?
        [ "$rc" = 78 ] || fail "$name: exited $rc, not 78: $(tail -n 2 "$WORK/$name.err")"
        grep -q "$pattern" "$WORK/$name.err" || fail "$name: the log does not say '$pattern': $(cat "$WORK/$name.err")"
        [ $((SECONDS - start)) -lt 30 ] || fail "$name: took $((SECONDS - start)) s to refuse"
        ! grep -q "assigned" "$WORK/$name.err" || fail "$name: joined the group"
        echo "refused: $(grep -m1 "$pattern" "$WORK/$name.err")"
}
refused compact "topic compacted (state.changelog_topic) has cleanup.policy=compact: .*Set cleanup.policy=delete" \
        changelog_topic=compacted
refused retention "topic short (state.changelog_topic) has retention.ms=600000, less than .*(3600000 ms)" \
        changelog_topic=short
refused tiny "topic tiny (state.changelog_topic) has max.message.bytes=2000, less than the 4096 bytes" \
        changelog_topic=tiny
sleep 2 # a rebalance the refused hosts caused would show by now
! grep -q "revoked" "$WORK/a.err" || fail "a refused host made the healthy one's partitions move"

"$SENSOR_REPLAY" -b "$BROKER" --generate 20 --count 2000 --interval 0 --seed 5 2>"$WORK/replay.err"
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
wait_quiet "$WORK/a.jsonl" 5
sleep 2 # a checkpoint with the last batch
kill -TERM "$a_PID"
wait "$a_PID" || fail "the healthy host did not stop cleanly"
$CHECK final-equal "$WORK/a.jsonl" "$WORK/values.txt"

# ... and a host with no local state restores from the topic sensord created
write_config "$WORK/b.conf" group_id=tc changelog_topic=tc-changelog state_directory="$WORK/state-b"
run_available_now "$WORK/b.conf" b
restored=$(grep -c "state restored from changelog tc-changelog" "$WORK/b.err" || true)
[ "$restored" = 4 ] || fail "the fresh host restored $restored of 4 partitions from the created changelog"
[ "$(summary_field b messages)" = 0 ] || fail "the fresh host read records again: its state was not restored"

# 3. risky settings are warnings
"$SENSOR_REPLAY" -b "$BROKER" -t other-in --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"
write_config "$WORK/risky.conf" group_id=risky topic=other-in changelog_topic=bounded state_directory="$WORK/state-risky" \
        kafka_topic=insync-out
run_available_now "$WORK/risky.conf" risky
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/risky.jsonl"
for warning in "has retention.ms=5400000, less than twice state.changelog_snapshot_interval" \
        "has retention.bytes=1073741824: the broker deletes its oldest records by size" "has one replica" \
        "topic insync-out (output.kafka_topic) has min.insync.replicas=2 but 1 replica(s): Kafka 4 counts 1"; do
        grep -q "warning.*$warning\|$warning" "$WORK/risky.err" || fail "no warning says '$warning'"
done
echo "topic_checks: ok"
