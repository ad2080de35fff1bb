#!/bin/bash
# Record shapes (the input settings), with records produced by kafka-python,
# not sensor-replay:
#  - nested: the sample data as {"device": {"id": ...}, "metrics": {"temp":
#    ...}, "ts": <epoch ms>}, read with input.sensor_id = "device.id",
#    value = "metrics.temp", timestamp = "ts", timestamp_format = "epoch_ms";
#  - keyed: {"value": ...} with the sensor id as the message key and the
#    event time as the Kafka timestamp, read with "@key" and "@timestamp".
# Both give the 24 reference rows, exactly. After the 12 readings each topic
# holds invalid records in its shape (a path missing, a wrong type, a time
# out of range; no key, a Kafka timestamp out of range), which count in the
# last batch as semantics.md says and go to the dead-letter topic with the
# reason naming the configured path.
# Then the same shapes from sensor-replay --shape (the demo's and the
# benchmarks' producer) give the same rows, and sensord --check-config
# reports every bad input setting with its line.
. "$(dirname "$0")/lib.sh"

start_broker nested:1 keyed:1 dead-nested:1 dead-keyed:1 replay-nested:1 replay-keyed:1
/usr/bin/python3 - "$BROKER" "$SHARED_DATA/seed.json" "$WORK/sent.json" <<'PY' || fail "producing the records failed"
import datetime as dt, json, sys
from kafka import KafkaProducer

def epoch_ms(text):
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)

seed = json.load(open(sys.argv[2]))
p = KafkaProducer(bootstrap_servers=sys.argv[1])
for r in seed:
    t = epoch_ms(r["timestamp"])
    nested = {"device": {"id": r["sensor_id"], "site": "north"}, "metrics": {"temp": r["value"], "hum": 40.2}, "ts": t}
    p.send("nested", key=r["sensor_id"].encode(), value=json.dumps(nested).encode()).get(timeout=10)
    p.send("keyed", key=r["sensor_id"].encode(), value=json.dumps({"value": r["value"]}).encode(),
           timestamp_ms=t).get(timeout=10)
sent = {"nested": [], "keyed": []}
for value, reason, error in [
        ({"device": {"site": "x"}, "metrics": {"temp": 1}, "ts": 1729593600000}, "missing_field",
         "field 'device.id' is missing"),
        ({"device": {"id": "d"}, "metrics": {"temp": "1"}, "ts": 1729593600000}, "wrong_type",
         "field 'metrics.temp' must be a number, got a string"),
        ({"device": {"id": "d"}, "metrics": {"temp": 1}, "ts": 253402300800000}, "bad_timestamp",
         "field 'ts' is not a time in epoch_ms within years 0001-9999"),
        ({"device": "d", "metrics": {"temp": 1}, "ts": 1729593600000}, "wrong_type",
         "field 'device.id': 'device' must be an object, got a string")]:
    md = p.send("nested", value=json.dumps(value).encode()).get(timeout=10)
    sent["nested"].append({"offset": md.offset, "reason": reason, "error": error})
for key, ts, reason, error in [
        (None, 1729593600000, "missing_field", "the message has no key"),
        (b"sensor_001", 253402300800000, "bad_timestamp", "the message's Kafka timestamp (253402300800000 ms) lies outside")]:
    md = p.send("keyed", key=key, value=b'{"value": 1}', timestamp_ms=ts).get(timeout=10)
    sent["keyed"].append({"offset": md.offset, "reason": reason, "error": error})
p.close()
json.dump(sent, open(sys.argv[3], "w"))
PY

write_config "$WORK/nested.conf" topic=nested group_id=nested dead_letter_topic=dead-nested
sed -i '/^batch = /i input = { sensor_id = "device.id"; value = "metrics.temp"; timestamp = "ts"; timestamp_format = "epoch_ms"; };' \
        "$WORK/nested.conf"
write_config "$WORK/keyed.conf" topic=keyed group_id=keyed dead_letter_topic=dead-keyed
sed -i '/^batch = /i input = { sensor_id = "@key"; timestamp = "@timestamp"; };' "$WORK/keyed.conf"
"$SENSORD" -c "$WORK/nested.conf" --check-config -v | grep -q 'input.sensor_id .*"device.id"' ||
        fail "--check-config -v does not print input.sensor_id"

for name in nested keyed; do
        run_available_now "$WORK/$name.conf" "$name"
        $CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/$name.jsonl" || fail "$name: rows differ"
done
[ "$(summary_field nested invalid)" = 4 ] || fail "nested: $(summary_field nested invalid) invalid records, not 4"
[ "$(summary_field keyed invalid)" = 2 ] || fail "keyed: $(summary_field keyed invalid) invalid records, not 2"
grep -q "invalid record at nested/0@12: field 'device.id' is missing" "$WORK/nested.err" ||
        fail "the log does not name the path: $(grep -m1 invalid "$WORK/nested.err")"

/usr/bin/python3 - "$BROKER" "$WORK/sent.json" <<'PY' || fail "the dead letters are not what was expected"
import json, sys
from kafka import KafkaConsumer
sent = json.load(open(sys.argv[2]))
for topic in ("nested", "keyed"):
    c = KafkaConsumer("dead-" + topic, bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                      consumer_timeout_ms=3000)
    dead = list(c)
    c.close()
    assert len(dead) == len(sent[topic]), f"{topic}: {len(dead)} dead letters, {len(sent[topic])} expected"
    for m, s in zip(dead, sent[topic]):
        h = {k: v.decode() for k, v in m.headers}
        assert h["sensord-offset"] == str(s["offset"]), (topic, h)
        assert h["sensord-reason"] == s["reason"], (topic, h)
        assert s["error"] in h["sensord-error"], (topic, s["error"], h["sensord-error"])
print("dead letters name the configured paths")
PY

# sensor-replay writes the same shapes
"$SENSOR_REPLAY" -b "$BROKER" -t replay-nested --interval 0 --shape nested-epoch-ms "$SHARED_DATA/seed.json" 2>/dev/null
"$SENSOR_REPLAY" -b "$BROKER" -t replay-keyed --interval 0 --shape key-timestamp "$SHARED_DATA/seed.json" 2>/dev/null
for name in nested keyed; do
        sed -e "s/topic = \"$name\"/topic = \"replay-$name\"/" -e "s/group_id = \"$name\"/group_id = \"replay-$name\"/" \
                -e 's/dead_letter = .*/dead_letter = { topic = ""; };/' "$WORK/$name.conf" >"$WORK/replay-$name.conf"
        run_available_now "$WORK/replay-$name.conf" "replay-$name"
        $CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/replay-$name.jsonl" ||
                fail "sensor-replay --shape for $name: rows differ"
done

# every bad input setting, with its line, in one run
cat >"$WORK/bad.conf" <<'CONF'
input = {
  sensor_id = "";
  value = "metrics..temp";
  timestamp = "@key";
  timestamp_format = "epoch_days";
};
CONF
rc=0
"$SENSORD" -c "$WORK/bad.conf" --check-config >"$WORK/bad.out" 2>&1 || rc=$?
[ "$rc" = 78 ] || fail "--check-config of bad input settings: exit $rc, not 78"
for expected in "bad.conf:2: input.sensor_id: must not be empty" "bad.conf:3: input.value: \"metrics..temp\": empty field" \
        "bad.conf:4: input.timestamp: \"@key\": only sensor_id" "bad.conf:5: input.timestamp_format: \"epoch_days\""; do
        grep -qF "$expected" "$WORK/bad.out" || fail "--check-config does not say '$expected': $(cat "$WORK/bad.out")"
done
echo "shapes: ok"
