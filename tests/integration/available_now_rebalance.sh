#!/bin/bash
# sensord --available-now while a second member joins the group: the
# partitions it gives up no longer count toward "done", so the run ends (exit
# 0) once the partitions it still holds reach their ends, instead of waiting
# forever for partitions that another member now reads.
#
# To keep the run going while the other member joins, the devbroker answers
# every request 100 ms late and sensord fetches at most 1 KiB per partition
# per request: 400 records take 10-20 s.
. "$(dirname "$0")/lib.sh"

start_devbroker sensor-data:4
# one message set per record, so that the fetch size bound applies record by record
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 --generate 40 --count 400 --seed 11 -X batch.num.messages=1 \
        2>"$WORK/replay.err"
write_config "$WORK/sensord.conf" max_messages=50 watermark="365 days" \
        properties=', ("max.partition.fetch.bytes", "1024"), ("fetch.wait.max.ms", "10")'
devbroker "rtt 100"

timeout 120 "$SENSORD" -c "$WORK/sensord.conf" --available-now >"$WORK/out.jsonl" 2>"$WORK/out.err" &
SENSORD_PID=$!
PIDS+=("$SENSORD_PID")
wait_for "assigned 4 partition(s)" "$WORK/out.err" 30
wait_for "this run reads up to offset" "$WORK/out.err" 30
started=$(date +%s)

kcat -G sensord-test -b "$BROKER" -u -q -X enable.auto.commit=false -X session.timeout.ms=6000 \
        -X heartbeat.interval.ms=500 -f '%p %o\n' sensor-data >"$WORK/kcat.out" 2>"$WORK/kcat.err" &
KCAT_PID=$!
PIDS+=("$KCAT_PID")

rc=0
wait "$SENSORD_PID" || rc=$?
took=$(($(date +%s) - started))
kill -KILL "$KCAT_PID"
[ "$rc" = 0 ] || fail "sensord --available-now exited $rc (124: still running after 120 s)"
grep -q "revoked 4 partition(s)" "$WORK/out.err" || fail "the second member did not join during the run"
grep -q "assigned 2 partition(s)" "$WORK/out.err" || fail "sensord was not left with two partitions"
grep -q "all data available at start has been processed" "$WORK/out.err" || fail "the run did not end as done"
n=$(summary_field out messages)
[ "$n" -gt 0 ] && [ "$n" -le 400 ] || fail "processed $n messages"
echo "available_now_rebalance: ok ($n of 400 records before and after the rebalance, done $took s after start)"
