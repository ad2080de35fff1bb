#!/bin/bash
# 38 kinds of malformed message, interleaved with the sample data and sent
# with kafka-python (the example's own library), some with keys, through
# sensord with a dead-letter topic and a result topic:
#  - the dead-letter topic holds exactly the bad messages, in order, byte for
#    byte with their keys, each with the reason class this script expects
#    and the coordinates and timestamp the producer was given;
#  - the valid rows are the seed's (the final aggregates are unchanged);
#  - kafka-python's KafkaConsumer parses every result value as JSON.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1 results:1 dead-letters:1
/usr/bin/python3 - "$BROKER" "$SHARED_DATA/seed.json" "$WORK/sent.json" <<'PY' || fail "producing the corpus failed"
import json, sys
from kafka import KafkaProducer

ok = '"sensor_id": "sensor_009", "value": 1.5, "timestamp": "2024-10-22T10:40:00"'
def rec(**fields):
    base = {"sensor_id": '"sensor_009"', "value": "1.5", "timestamp": '"2024-10-22T10:40:00"'}
    base.update(fields)
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in base.items() if v is not None) + "}").encode()

bad = [
    (b"", "empty"),
    (b"x" * 70000, "too_large"),
    (b"this is not json", "not_json"),
    (b"{", "not_json"),
    (("{" + ok).encode(), "not_json"),                       # unterminated
    (("{" + ok + "} x").encode(), "trailing_garbage"),
    (("{" + ok + "}{}").encode(), "trailing_garbage"),
    (b"[1, 2, 3]", "not_object"),
    (b'"a string"', "not_object"),
    (b"42", "not_object"),
    (b"null", "not_object"),
    (b"[" * 100 + b"]" * 100, "not_object"),
    (b"{}", "missing_field"),
    (rec(value=None), "missing_field"),
    (rec(sensor_id=None), "missing_field"),
    (rec(timestamp=None), "missing_field"),
    (("{" + ok + ', "sensor_id": "sensor_010"}').encode(), "duplicate_field"),
    (("{" + ok + ', "value": 2}').encode(), "duplicate_field"),
    (rec(value='"23.5"'), "wrong_type"),
    (rec(value="true"), "wrong_type"),
    (rec(value="null"), "wrong_type"),
    (rec(value="[1]"), "wrong_type"),
    (rec(value='{"x": 1}'), "wrong_type"),
    (rec(sensor_id="5"), "wrong_type"),
    (rec(timestamp="1729593600"), "wrong_type"),
    (rec(sensor_id='""'), "bad_sensor_id"),
    (rec(sensor_id='"' + "s" * 300 + '"'), "bad_sensor_id"),
    (rec(sensor_id='"a\\u0000b"'), "bad_sensor_id"),
    (rec(value="1e999"), "not_finite"),
    (rec(value="-1e400"), "not_finite"),
    (rec(timestamp='"2024-02-30T10:40:00"'), "bad_timestamp"),
    (rec(timestamp='"2024-13-01T00:00:00"'), "bad_timestamp"),
    (rec(timestamp='"yesterday"'), "bad_timestamp"),
    (rec(timestamp='""'), "bad_timestamp"),
    (rec(sensor_id='"\xff\xfe"').replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe"), "not_json"),  # invalid UTF-8
    (rec(sensor_id='"a\x00b"'), "not_json"),                  # a raw NUL byte
    (rec(value="NaN"), "not_json"),
    (b"\xef\xbb\xbf" + rec(), "not_json"),                    # a byte-order mark
]
assert len(bad) == 38 and len({v for v, _ in bad}) == 38
seed = [json.dumps(r).encode() for r in json.load(open(sys.argv[2]))]
producer = KafkaProducer(bootstrap_servers=sys.argv[1], max_request_size=1 << 20)
sent, b = [], 0
for i, value in enumerate(seed):
    producer.send("sensor-data", value=value).get(timeout=10)
    for _ in range(3 if i < len(seed) - 1 else len(bad) - b):
        value, reason = bad[b]
        key = f"bad-{b}".encode() if b % 2 == 0 else None
        timestamp = 1729593600000 + b  # the message's own timestamp, set here
        md = producer.send("sensor-data", key=key, value=value, timestamp_ms=timestamp).get(timeout=10)
        sent.append({"key": key.decode() if key else None, "value": value.hex(), "reason": reason,
                     "offset": md.offset, "timestamp": timestamp})
        b += 1
producer.close()
assert b == len(bad)
json.dump(sent, open(sys.argv[3], "w"))
PY
write_config "$WORK/sensord.conf" kafka_topic=results dead_letter_topic=dead-letters
run_available_now "$WORK/sensord.conf" out
[ "$(summary_field out invalid)" = 38 ] || fail "$(summary_field out invalid) invalid records counted, not 38"
[ "$(summary_field out dead_lettered)" = 38 ] || fail "$(summary_field out dead_lettered) dead letters delivered, not 38"

/usr/bin/python3 - "$BROKER" "$WORK/sent.json" "$(wc -l <"$WORK/out.jsonl")" <<'PY' || fail "the topics are not what was sent"
import json, sys
from kafka import KafkaConsumer

def read(topic):
    c = KafkaConsumer(topic, bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                      consumer_timeout_ms=3000, fetch_max_bytes=1 << 22, max_partition_fetch_bytes=1 << 22)
    messages = list(c)
    c.close()
    return messages

sent = json.load(open(sys.argv[2]))
dead = read("dead-letters")
assert len(dead) == len(sent), f"{len(dead)} dead letters for {len(sent)} bad messages"
for m, s in zip(dead, sent):
    h = {k: v.decode() for k, v in m.headers}
    where = f"offset {s['offset']} ({s['reason']})"
    assert m.value == bytes.fromhex(s["value"]), f"{where}: the dead letter is not the message byte for byte"
    assert (m.key.decode() if m.key is not None else None) == s["key"], f"{where}: key {m.key!r}"
    assert h["sensord-reason"] == s["reason"], f"{where}: reason {h['sensord-reason']}: {h['sensord-error']}"
    assert h["sensord-topic"] == "sensor-data" and h["sensord-partition"] == "0", f"{where}: {h}"
    assert h["sensord-offset"] == str(s["offset"]), f"{where}: offset header {h['sensord-offset']}"
    assert h["sensord-timestamp"] == str(s["timestamp"]), f"{where}: timestamp header {h['sensord-timestamp']}"
    assert h["sensord-error"], f"{where}: no error message"
rows = read("results")
assert len(rows) == int(sys.argv[3]), f"{len(rows)} result messages, {sys.argv[3]} rows on stdout"
for m in rows:
    row = json.loads(m.value)
    assert m.key.decode() == row["window"]["start"] + "|" + row["sensor_id"]
print(f"{len(dead)} dead letters and {len(rows)} rows as sent")
PY
/usr/bin/python3 -c 'import json, sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]' \
        "$SHARED_DATA/seed.json" >"$WORK/seed-values.txt"
$CHECK final-equal "$WORK/out.jsonl" "$WORK/seed-values.txt"
echo "dead_letters: ok"
