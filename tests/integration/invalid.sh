#!/bin/bash
# Invalid records interleaved with the sample data: they are counted (by
# class) and reported with topic/partition/offset, count toward their batch,
# and leave every valid aggregate as it was.
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 - "$SHARED_DATA/seed.json" >"$WORK/mixed.jsonl" <<'PY'
import json, sys
bad = [
    'this is not json',
    '{"sensor_id": "sensor_001", "value": "23.5", "timestamp": "2024-10-22T10:40:00"}',
    '{"sensor_id": "sensor_002", "timestamp": "2024-10-22T10:41:00"}',
    '{"sensor_id": "sensor_003", "value": 1, "timestamp": "2024-02-30T10:40:00"}',
    '[1, 2, 3]',
    '{"sensor_id": "", "value": 1, "timestamp": "2024-10-22T10:40:00"}',
    '{"sensor_id": "sensor_004", "value": 1e999, "timestamp": "2024-10-22T10:40:00"}',
    '{"sensor_id": "sensor_005", "value": 1, "timestamp": "2024-10-22T10:40:00"} trailing',
]
records = json.load(open(sys.argv[1]))
for i, r in enumerate(records):
    print(json.dumps(r))
    if i < len(bad):
        print(bad[i])
PY
start_broker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$WORK/mixed.jsonl" 2>"$WORK/replay.err"
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
write_config "$WORK/sensord.conf"
run_available_now "$WORK/sensord.conf" out

[ "$(summary_field out messages)" = 20 ] || fail "expected 20 messages"
[ "$(summary_field out invalid)" = 8 ] || fail "expected 8 invalid records, got $(summary_field out invalid)"
for class in not_json wrong_type missing_field bad_timestamp not_object bad_sensor_id not_finite trailing_garbage; do
        grep -q "invalid_$class=1" "$WORK/out.err" || fail "class $class not counted once"
done
grep -q 'invalid record at sensor-data/0@3: field .value. must be a number' "$WORK/out.err" ||
        fail "invalid record not reported with topic/partition/offset and reason"
# Batches of 5 messages, invalid ones included, as semantics.md says:
$CHECK reference "$WORK/values.txt" >"$WORK/expected.jsonl"
$CHECK compare "$WORK/expected.jsonl" "$WORK/out.jsonl"
# and the valid aggregates are exactly the seed's
$CHECK final-equal "$WORK/out.jsonl" "$WORK/values.txt"
echo "invalid: ok"
