#!/bin/bash
# A session.timeout.ms the group coordinator refuses (below a real broker's
# group.min.session.timeout.ms, 6000) is a configuration error: sensord
# exits 78 at once with an error naming the setting and the broker's
# bounds, instead of joining again every few seconds for ever with nothing
# read (what it did before the real broker showed it; the mock accepts any
# session). Real Kafka only (meson suite "kafka").
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "session_timeout needs a real Kafka (BROKER_KIND=kafka)"
start_kafka sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"
write_config "$WORK/sensord.conf" properties=', ("session.timeout.ms", "3000")'
rc=0
timeout 60 "$SENSORD" -c "$WORK/sensord.conf" >"$WORK/out.jsonl" 2>"$WORK/sensord.err" || rc=$?
[ "$rc" = 78 ] || fail "a refused session.timeout.ms exited $rc, not 78"
grep -q "the group coordinator refused session.timeout.ms=3000 .*group.min.session.timeout.ms" "$WORK/sensord.err" ||
        fail "the error does not name session.timeout.ms and the broker's bounds: $(grep -m1 refused "$WORK/sensord.err")"
[ ! -s "$WORK/out.jsonl" ] || fail "rows were written"

# the same configuration with an accepted session reads the seed
write_config "$WORK/ok.conf" properties=', ("session.timeout.ms", "6000")'
run_available_now "$WORK/ok.conf" ok
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/ok.jsonl"
echo "session_timeout: ok"
