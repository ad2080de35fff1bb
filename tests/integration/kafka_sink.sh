#!/bin/bash
# Results and dead letters written back to Kafka.
#  1. The seed and three invalid records (two with keys) through
#     output.kafka_topic and dead_letter.topic: the result topic holds
#     exactly the stdout rows, in order, keyed "<window start>|<sensor_id>"
#     with a sensord-batch header; the dead-letter topic holds each invalid
#     record byte for byte with its key and the sensord-* headers.
#  2. A missing result topic that sensord may not ask the broker to create
#     (allow.auto.create.topics=false) is exit 69; one that it may ask for is
#     created by the devbroker (which auto-creates), and the log says so,
#     while a real Kafka as operators run it (auto.create.topics.enable=false)
#     creates nothing: exit 69 again. With sink "none" nothing goes to stdout.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1 results:1 dead-letters:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"
printf '%s\n' 'k1|this is not json' 'k2|{"sensor_id": "sensor_001", "value": "23.5", "timestamp": "2024-10-22T10:40:00"}' |
        kcat -P -b "$BROKER" -t sensor-data -K'|'
printf '%s\n' '[1, 2, 3]' | kcat -P -b "$BROKER" -t sensor-data
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"

write_config "$WORK/sensord.conf" kafka_topic=results dead_letter_topic=dead-letters
run_available_now "$WORK/sensord.conf" out
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/out.jsonl"
rows=$(wc -l <"$WORK/out.jsonl")
[ "$(summary_field out produced_rows)" = "$rows" ] || fail "summary: produced_rows is not the $rows rows written"
[ "$(summary_field out dead_lettered)" = 3 ] || fail "summary: dead_lettered is not 3"
[ "$(summary_field out producer_errors)" = 0 ] || fail "summary: producer errors"

kcat -C -b "$BROKER" -t results -e -q -J >"$WORK/results.json"
kcat -C -b "$BROKER" -t dead-letters -e -q -J >"$WORK/dead.json"
/usr/bin/python3 - "$WORK/out.jsonl" "$WORK/results.json" "$WORK/dead.json" <<'PY' || fail "Kafka output differs"
import json, sys
stdout = [l.rstrip("\n") for l in open(sys.argv[1])]
results = [json.loads(l) for l in open(sys.argv[2])]
dead = [json.loads(l) for l in open(sys.argv[3])]

def headers(m):
    h = m.get("headers") or []
    return dict(zip(h[0::2], h[1::2]))

assert [m["payload"] for m in results] == stdout, "result values are not the stdout rows in order"
for m in results:
    row = json.loads(m["payload"])
    assert m["key"] == row["window"]["start"] + "|" + row["sensor_id"], m["key"]
    assert headers(m) == {"sensord-batch": str(row["batch"])}, headers(m)

want = [("k1", "this is not json", "not_json", "1"),
        ("k2", '{"sensor_id": "sensor_001", "value": "23.5", "timestamp": "2024-10-22T10:40:00"}', "wrong_type", "2"),
        (None, "[1, 2, 3]", "not_object", "3")]
assert len(dead) == 3, f"{len(dead)} dead letters"
for m, (key, value, reason, nth) in zip(dead, want):
    h = headers(m)
    assert m["payload"] == value and m["key"] == key, (m["key"], m["payload"])
    assert h["sensord-reason"] == reason, h
    assert h["sensord-topic"] == "sensor-data" and h["sensord-partition"] == "0", h
    assert h["sensord-error"], h
    assert int(h["sensord-timestamp"]) > 1_600_000_000_000, h
PY
n_values=$(wc -l <"$WORK/values.txt")
dead_offsets=$(kcat -C -b "$BROKER" -t dead-letters -e -q -f '%h\n' | sed -n 's/.*sensord-offset=\([0-9]*\).*/\1/p' | tr '\n' ' ')
[ "$dead_offsets" = "$((n_values - 3)) $((n_values - 2)) $((n_values - 1)) " ] ||
        fail "dead letters name offsets '$dead_offsets', not the last three of $n_values"

# 2. Start-up checks.
write_config "$WORK/absent.conf" kafka_topic=absent startup_timeout="2 s" group_id=absent \
        output_properties='("allow.auto.create.topics", "false")'
rc=0
timeout 60 "$SENSORD" -c "$WORK/absent.conf" --available-now >"$WORK/absent.jsonl" 2>"$WORK/absent.err" || rc=$?
[ "$rc" = 69 ] || fail "a missing result topic exited $rc, not 69"
grep -q "topic absent is not available on .* after 2000 ms: no such topic" "$WORK/absent.err" ||
        fail "the missing topic's error does not name it"
[ ! -s "$WORK/absent.jsonl" ] || fail "rows were written although the result topic is missing"

write_config "$WORK/auto.conf" kafka_topic=auto-made group_id=auto sink=none startup_timeout="2 s"
if [ "$BROKER_KIND" = kafka ]; then
        # a real broker as operators run it (auto.create.topics.enable=false)
        # creates nothing, whatever the client asks: the same exit 69
        rc=0
        timeout 60 "$SENSORD" -c "$WORK/auto.conf" --available-now >"$WORK/auto.jsonl" 2>"$WORK/auto.err" || rc=$?
        [ "$rc" = 69 ] || fail "a result topic the broker does not create exited $rc, not 69"
        grep -q "topic auto-made is not available on .* after 2000 ms" "$WORK/auto.err" ||
                fail "the missing topic's error does not name it"
        echo "kafka_sink: ok"
        exit 0
fi
run_available_now "$WORK/auto.conf" auto
grep -q "topic auto-made did not exist; the broker created it" "$WORK/auto.err" ||
        fail "the log does not say the broker created the result topic"
[ ! -s "$WORK/auto.jsonl" ] || fail "sink \"none\" wrote to stdout"
# (the devbroker creates topics with 4 partitions: the order holds per key only)
kcat -C -b "$BROKER" -t auto-made -e -q -f '%s\n' | sort >"$WORK/auto-made.jsonl"
sort "$WORK/out.jsonl" | diff - "$WORK/auto-made.jsonl" >&2 || fail "the auto-created topic's rows differ"
echo "kafka_sink: ok"
