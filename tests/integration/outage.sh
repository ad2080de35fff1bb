#!/bin/bash
# A broker outage of 20 s mid-stream. sensord does not exit, its watchdog
# (WATCHDOG_USEC=2 s, with a notify socket of the test's own) never goes a
# full interval without a ping, the log and STATUS= say the brokers are
# unreachable while they are, and no record is lost or counted twice: the
# session times out during the outage, the assignment is lost, and the
# partitions' state comes back from their checkpoints.
. "$(dirname "$0")/lib.sh"

start_devbroker sensor-data:4
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
write_config "$WORK/sensord.conf" max_messages=50 max_delay="100ms" watermark="365 days" \
        checkpoint_interval="300ms" properties=', ("session.timeout.ms", "6000")'
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=2000000 \
        "$SENSORD" -c "$WORK/sensord.conf" >"$WORK/out.jsonl" 2>"$WORK/sensord.err" &
SENSORD_PID=$!
PIDS+=("$SENSORD_PID")
wait_for "assigned 4 partition(s)" "$WORK/sensord.err" 30
# 30 s of records; the producer keeps what it cannot deliver and retries
"$SENSOR_REPLAY" -b "$BROKER" --generate 30 --count 6000 --rate 200 --seed 9 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
sleep 4
devbroker "down"
sleep 20
grep -q "STATUS=.*brokers unreachable" "$WORK/notify.log" || fail "STATUS= did not say the brokers are unreachable"
grep -q "the brokers are unreachable" "$WORK/sensord.err" || fail "the log did not say the brokers are unreachable"
kill -0 "$SENSORD_PID" || fail "sensord exited during the outage"
devbroker "up"
wait "$REPLAY_PID" || fail "the producer lost records"
wait_for "the brokers are reachable again" "$WORK/sensord.err" 30
# Caught up: STATUS= (every 2 s) has counted at least as many records as the
# topic holds (so fetching resumed after the outage and the high watermarks
# it compares with are fresh) and reports no lag, twice in a row.
total=$(kcat -C -b "$BROKER" -t sensor-data -e -q -f '%o\n' | wc -l)
caught_up=0
for _ in $(seq 120); do
        last=$(grep 'STATUS=' "$WORK/notify.log" | tail -n 2)
        records=$(tail -n 1 <<<"$last" | sed -n 's/.*STATUS=\([0-9]*\) records.*/\1/p')
        if [ "$(grep -c ', lag 0$' <<<"$last")" = 2 ] && [ "${records:-0}" -ge "$total" ]; then
                caught_up=1
                break
        fi
        sleep 0.5
done
[ "$caught_up" = 1 ] || fail "sensord did not catch up within 60 s after the outage"
kill -TERM "$SENSORD_PID"
wait "$SENSORD_PID" || fail "sensord did not stop cleanly after the outage"

kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
$CHECK final-equal "$WORK/out.jsonl" "$WORK/values.txt"
watchdog_fed "$WORK/notify.log"
echo "outage: ok"
