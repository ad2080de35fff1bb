#!/bin/bash
# A result topic that refuses the rows (the devbroker fails Produce requests
# with TOPIC_AUTHORIZATION_FAILED, which librdkafka does not retry): sensord
# stops with exit 74, the batch unconfirmed. A restart with the fault gone
# reads that batch again and produces it: nothing is missing in the topic.
. "$(dirname "$0")/lib.sh"

start_devbroker sensor-data:1 results:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"
write_config "$WORK/sensord.conf" kafka_topic=results
devbroker errors 0 1 29

rc=0
timeout 60 "$SENSORD" -c "$WORK/sensord.conf" --available-now >"$WORK/refused.jsonl" 2>"$WORK/refused.err" || rc=$?
[ "$rc" = 74 ] || fail "a refused delivery exited $rc, not 74"
grep -q "was not delivered to results: .*uthoriz.*stays unconfirmed" "$WORK/refused.err" ||
        fail "the log does not say which delivery failed and why"
[ "$(summary_field refused producer_errors)" -ge 1 ] || fail "the summary counts no producer error"

run_available_now "$WORK/sensord.conf" again
[ "$(summary_field again messages)" -gt 0 ] || fail "the restart read nothing again: the failed batch was confirmed"
kcat -C -b "$BROKER" -t results -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK contains "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/results.jsonl"
echo "kafka_sink_refused: ok"
