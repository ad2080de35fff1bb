#!/bin/bash
# Results in Kafka across crashes: records stream into a 4-partition topic
# while sensord, producing its rows to a result topic, is SIGKILLed at 2
# seeded random moments and restarted; the last run also reads 1,000 more.
# The result topic is at-least-once and converges: for every (window,
# sensor), its last row equals the model of all records. STATUS= counts
# the rows produced.
. "$(dirname "$0")/lib.sh"

start_broker sink-in:4 sink-out:1
props="$FAST_SESSION"', ("auto.commit.interval.ms", "100")'
write_config "$WORK/sensord.conf" topic=sink-in kafka_topic=sink-out max_messages=50 max_delay="100ms" \
        watermark="365 days" checkpoint_interval="300ms" properties="$props"
"$SENSOR_REPLAY" -b "$BROKER" -t sink-in --generate 50 --count 3000 --rate 800 --seed 3 2>"$WORK/replay.err" &
replay=$!
PIDS+=("$replay")
RANDOM=3
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
for i in $(seq 0 2); do
        # the last run reports to a notify socket of the test's own
        notify=()
        [ "$i" = 2 ] && notify=(env NOTIFY_SOCKET="$WORK/notify.sock")
        "${notify[@]}" "$SENSORD" -c "$WORK/sensord.conf" >"$WORK/run$i.jsonl" 2>"$WORK/run$i.err" &
        pid=$!
        PIDS+=("$pid")
        wait_for "assigned 4 partition(s)" "$WORK/run$i.err" 30
        [ "$i" = 2 ] && break
        for _ in $(seq 100); do [ -s "$WORK/run$i.jsonl" ] && break; sleep 0.05; done
        sleep "0.$((RANDOM % 9 + 1))"
        kill -KILL "$pid"
        wait "$pid" || true
done
wait "$replay" || fail "the producer failed"
# more records for the last run, however much the others read
"$SENSOR_REPLAY" -b "$BROKER" -t sink-in --generate 50 --count 1000 --interval 0 --seed 4 2>"$WORK/replay2.err" ||
        fail "the second producer failed"
wait_for . "$WORK/run2.jsonl" 20
wait_quiet "$WORK/run2.jsonl" # the last run has caught up
wait_for "STATUS=.*, [1-9][0-9]* rows, 0 dead letters and 0 late records produced, 0 producer errors" "$WORK/notify.log" 5
kill -TERM "$pid"
wait "$pid" || fail "the last run did not stop cleanly"
[ "$(summary_field run2 producer_errors)" = 0 ] || fail "producer errors in the last run"

kcat -C -b "$BROKER" -t sink-in -e -q -f '%s\n' >"$WORK/values.txt"
kcat -C -b "$BROKER" -t sink-out -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK final-equal "$WORK/results.jsonl" "$WORK/values.txt"
# a clean stop waits for its deliveries: the topic has every row the last run wrote to stdout
sort -u "$WORK/results.jsonl" | comm -23 <(sort -u "$WORK/run2.jsonl") - >"$WORK/missing"
[ ! -s "$WORK/missing" ] || fail "$(wc -l <"$WORK/missing") rows of the last run are not in the topic"
echo "kafka_sink_crash: ok"
