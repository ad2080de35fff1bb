#!/bin/bash
# state.max_keys bounds the state: with room for 6 (window, sensor) keys the
# seed's 12 records (4 sensors, 16 keys) keep 6, the other pairs are dropped
# and counted, STATUS= says so, and a warning says so once (it is
# rate-limited to one every 10 s).
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
write_config "$WORK/sensord.conf" max_keys=6 watermark="365 days" max_delay="100ms"
NOTIFY_SOCKET="$WORK/notify.sock" "$SENSORD" -c "$WORK/sensord.conf" >"$WORK/out.jsonl" 2>"$WORK/sensord.err" &
SENSORD_PID=$!
PIDS+=("$SENSORD_PID")
wait_for "assigned 1 partition(s)" "$WORK/sensord.err" 30
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>/dev/null
wait_for "new pairs dropped so far" "$WORK/sensord.err" 10
wait_for "STATUS=.* 6 keys, [0-9]* pairs dropped at state.max_keys" "$WORK/notify.log" 10
kill -TERM "$SENSORD_PID"
wait "$SENSORD_PID" || fail "sensord did not stop cleanly"
[ "$(grep -c "new pairs dropped so far" "$WORK/sensord.err")" = 1 ] || fail "the warning was not rate-limited"
dropped=$(summary_field sensord dropped_pairs)
[ "$dropped" -gt 0 ] || fail "no dropped pairs counted"
keys=$(sed 's/.*"start":"\([^"]*\)".*"sensor_id":"\([^"]*\)".*/\1 \2/' "$WORK/out.jsonl" | sort -u | wc -l)
[ "$keys" = 6 ] || fail "rows for $keys keys, not 6"
echo "max_keys: ok ($dropped pairs dropped)"
