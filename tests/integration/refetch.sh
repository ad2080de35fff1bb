#!/bin/bash
# Refetching after a drained queue (refetch.c). With queued.min.messages at
# 100, and small message sets and fetches, librdkafka stops fetching after
# nearly every fetch round, and sensord seeks its partitions to their
# positions to fetch again at once. 20,000 records over 4 partitions: the seeks happen, every record is processed
# exactly once (a seek must neither skip nor repeat one), and the last row of
# every (window, sensor) equals the aggregate of all records. Then a live
# run shows the lag (0) in STATUS= after its seeks.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:4
# small message sets and small fetches: many fetch rounds, each over the limit
"$SENSOR_REPLAY" -b "$BROKER" -X batch.num.messages=100 --interval 0 --generate 40 --count 20000 --seed 11 \
        2>"$WORK/replay.err"
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
[ "$(wc -l <"$WORK/values.txt")" = 20000 ] || fail "expected 20000 messages in the topic"

write_config "$WORK/sensord.conf" max_messages=1000 max_bytes=1048576 watermark="365 days" \
        properties=', ("queued.min.messages", "100"), ("fetch.message.max.bytes", "16384")'
rc=0
timeout 120 "$SENSORD" -c "$WORK/sensord.conf" --available-now -v >"$WORK/out.jsonl" 2>"$WORK/out.err" || rc=$?
[ "$rc" = 0 ] || fail "sensord --available-now exited $rc"
seeks=$(grep -c "refetch: .* sought to their positions" "$WORK/out.err" || true)
[ "$seeks" -ge 10 ] || fail "expected sensord to seek to refetch, it did $seeks times"
[ "$(summary_field out messages)" = 20000 ] ||
        fail "sensord processed $(summary_field out messages) messages, not each of the 20000 once"
$CHECK final-equal "$WORK/out.jsonl" "$WORK/values.txt"

# STATUS= keeps the lag after those seeks: librdkafka reports no position
# for a partition sought to its end until a message arrives there, and the
# lag vanished from STATUS= when every partition was at its end.
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
sed -i 's/group_id = "sensord-test"/group_id = "refetch-live"/' "$WORK/sensord.conf"
NOTIFY_SOCKET="$WORK/notify.sock" "$SENSORD" -c "$WORK/sensord.conf" -v >/dev/null 2>"$WORK/live.err" &
PIDS+=($!)
wait_for "STATUS=20000 records" "$WORK/notify.log" 60
grep -q "refetch: .* sought to their positions" "$WORK/live.err" || fail "the live run did not seek"
wait_for "STATUS=20000 records.*, lag 0" "$WORK/notify.log" 10
echo "refetch: ok ($seeks seeks)"
