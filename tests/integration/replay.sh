#!/bin/bash
# sensor-replay: --loop shifts timestamps by the data's span, --generate is
# deterministic per seed, keys are the sensor ids, JSON lines are sent as
# they are, and undelivered records make it exit non-zero saying how many.
. "$(dirname "$0")/lib.sh"

start_broker loop:1 gen-a:1 gen-b:1 gen-c:1 lines:1
consume() { kcat -C -b "$BROKER" -t "$1" -e -q -f "${2:-%s\n}"; }

# --loop --count 24 over the 12 seed records: two rounds, the second shifted
# by the span (11 min) plus one average gap (1 min) = 12 minutes.
"$SENSOR_REPLAY" -b "$BROKER" -t loop --interval 0 --loop --count 24 "$SHARED_DATA/seed.json" 2>"$WORK/loop.err"
consume loop >"$WORK/loop.txt"
[ "$(wc -l <"$WORK/loop.txt")" = 24 ] || fail "--loop --count 24 sent $(wc -l <"$WORK/loop.txt")"
sed -n 13p "$WORK/loop.txt" | grep -q '"sensor_id":"sensor_001","value":23.5,"timestamp":"2024-10-22T10:52:00Z"' ||
        fail "second round not shifted by 12 min: $(sed -n 13p "$WORK/loop.txt")"
sed -n 24p "$WORK/loop.txt" | grep -q '"timestamp":"2024-10-22T11:03:00Z"' || fail "last record of round 2 wrong"
consume loop '%k\n' | head -n 3 | tr '\n' ' ' | grep -q "^sensor_001 sensor_002 sensor_003 " || fail "records not keyed by sensor_id"

# --interval paces the records: 4 records at 0.2 s take at least 0.6 s
start=$(date +%s%N)
"$SENSOR_REPLAY" -b "$BROKER" -t loop --interval 200ms --count 4 "$SHARED_DATA/seed.json" 2>/dev/null
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -ge 600 ] || fail "--interval 200ms sent 4 records in ${elapsed_ms} ms"

# --generate: same seed, same records; another seed, other records
"$SENSOR_REPLAY" -b "$BROKER" -t gen-a --interval 0 --generate 10 --count 500 --seed 42 2>/dev/null
"$SENSOR_REPLAY" -b "$BROKER" -t gen-b --interval 0 --generate 10 --count 500 --seed 42 2>/dev/null
"$SENSOR_REPLAY" -b "$BROKER" -t gen-c --interval 0 --generate 10 --count 500 --seed 43 2>/dev/null
consume gen-a >"$WORK/a.txt"
consume gen-b >"$WORK/b.txt"
consume gen-c >"$WORK/c.txt"
[ "$(wc -l <"$WORK/a.txt")" = 500 ] || fail "--count 500 sent $(wc -l <"$WORK/a.txt")"
cmp -s "$WORK/a.txt" "$WORK/b.txt" || fail "--generate is not deterministic for one seed"
! cmp -s "$WORK/a.txt" "$WORK/c.txt" || fail "--seed makes no difference"
[ "$(grep -o '"sensor_id":"[^"]*"' "$WORK/a.txt" | sort -u | wc -l)" = 10 ] || fail "expected 10 distinct sensors"

# --distinct: record i is sensor i mod SENSORS, values and times as without it
"$SENSOR_REPLAY" -b "$BROKER" -t gen-d --interval 0 --generate 1000 --distinct --count 500 --seed 42 2>/dev/null
consume gen-d >"$WORK/d.txt"
# (keyed by sensor, the records spread over the topic's partitions: compare as sets)
sed -n 's/.*"sensor_id":"sensor_\([0-9]*\)".*/\1/p' "$WORK/d.txt" | sort >"$WORK/d-ids.txt"
seq -f '%04g' 0 499 | cmp -s - "$WORK/d-ids.txt" || fail "--distinct did not give sensor_0000 to sensor_0499 once each"
sed 's/"sensor_id":"[^"]*"//' "$WORK/a.txt" | sort >"$WORK/a-rest.txt"
sed 's/"sensor_id":"[^"]*"//' "$WORK/d.txt" | sort | cmp -s - "$WORK/a-rest.txt" || fail "--distinct changed values or times"
rc=0
"$SENSOR_REPLAY" -b "$BROKER" --distinct "$SHARED_DATA/seed.json" 2>/dev/null || rc=$?
[ "$rc" = 64 ] || fail "--distinct without --generate: exit $rc, expected 64"

# JSON lines from stdin are sent byte for byte, invalid ones included
printf '%s\n' '{"sensor_id": "x", "value": 1, "timestamp": "2024-10-22T10:40:00"}' 'not json at all' |
        "$SENSOR_REPLAY" -b "$BROKER" -t lines --interval 0 - 2>/dev/null
consume lines >"$WORK/lines.txt"
printf '%s\n' '{"sensor_id": "x", "value": 1, "timestamp": "2024-10-22T10:40:00"}' 'not json at all' | cmp -s - "$WORK/lines.txt" ||
        fail "JSON lines were altered"

# Undeliverable records: exit non-zero, naming how many
rc=0
"$SENSOR_REPLAY" -b 127.0.0.1:9 -t nowhere --interval 0 -X message.timeout.ms=1500 "$SHARED_DATA/seed.json" \
        2>"$WORK/fail.err" || rc=$?
[ "$rc" = 69 ] || fail "undelivered records: exit $rc, expected 69"
grep -q "12 of 12 records were not delivered" "$WORK/fail.err" || fail "failure count not reported: $(cat "$WORK/fail.err")"

# A file that is not the sample format is a clear error
echo '[{"sensor_id": ' >"$WORK/broken.json"
rc=0
"$SENSOR_REPLAY" -b "$BROKER" -t lines "$WORK/broken.json" 2>"$WORK/broken.err" || rc=$?
[ "$rc" = 65 ] && grep -q "broken.json" "$WORK/broken.err" || fail "broken input: exit $rc, $(cat "$WORK/broken.err")"
echo "replay: ok"
