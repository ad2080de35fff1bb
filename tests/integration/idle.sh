#!/bin/bash
# window.idle_timeout: with no input, event time moves on with the wall clock
# so that the last window closes. Tumbling 1 s windows, no watermark delay,
# append mode. Two readings at 10:40:00.000 and 10:40:00.500 leave the
# watermark at 10:40:00.500, short of the window's end (10:40:01): without
# idle input handling the window is never final. With idle_timeout = 1 s,
# after 1 s of silence event time is 10:40:01.5 and the window is emitted
# with count 2, avg 2.
. "$(dirname "$0")/lib.sh"

printf '%s\n' '{"sensor_id":"a","value":1,"timestamp":"2024-10-22T10:40:00.000Z"}' \
        '{"sensor_id":"a","value":3,"timestamp":"2024-10-22T10:40:00.500Z"}' >"$WORK/two.jsonl"
start_broker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$WORK/two.jsonl" 2>/dev/null

run_daemon() { # NAME IDLE
        write_config "$WORK/$1.conf" group_id="$1" mode=append duration="1 s" slide="1 s" watermark="0 s" max_delay="100ms" \
                idle_timeout="$2"
        "$SENSORD" -c "$WORK/$1.conf" >"$WORK/$1.jsonl" 2>"$WORK/$1.err" &
        local pid=$!
        PIDS+=("$pid")
        for _ in $(seq 300); do grep -q "assigned" "$WORK/$1.err" && break; sleep 0.1; done
        sleep 4 # the two readings are consumed at once; then 3 s and more of silence
        kill -TERM "$pid"
        wait "$pid" || fail "$1: sensord exited $?"
}

run_daemon without "0 s"
[ ! -s "$WORK/without.jsonl" ] || fail "without idle_timeout the window must stay open: $(cat "$WORK/without.jsonl")"
run_daemon with "1 s"
[ "$(wc -l <"$WORK/with.jsonl")" = 1 ] || fail "expected one row with idle_timeout, got: $(cat "$WORK/with.jsonl")"
grep -q '"window":{"start":"2024-10-22T10:40:00Z","end":"2024-10-22T10:40:01Z"},"sensor_id":"a","avg_value":2.0,"max_value":3.0,"min_value":1.0,"count":2' \
        "$WORK/with.jsonl" || fail "wrong row: $(cat "$WORK/with.jsonl")"

# Partition scope: each partition's silence is its own. Partition 1 holds
# the same two readings, partition 0 streams a reading of sensor "b" every
# 0.1 s for 5 s. The process is never idle, yet partition 1's window closes
# (emitted in append mode) while partition 0 still streams; without
# idle_timeout it stays open.
run_partitioned() { # NAME IDLE
        write_config "$WORK/$1.conf" topic="$1" group_id="$1" mode=append duration="1 s" slide="1 s" \
                watermark="0 s" max_delay="100ms" idle_timeout="$2" watermark_scope=partition
        "$SENSORD" -c "$WORK/$1.conf" >"$WORK/$1.jsonl" 2>"$WORK/$1.err" &
        local pid=$! t
        PIDS+=("$pid")
        wait_for "assigned 2 partition" "$WORK/$1.err" 30
        kcat -P -b "$BROKER" -t "$1" -p 1 -l "$WORK/two.jsonl"
        for t in $(seq 10 59); do
                printf '{"sensor_id":"b","value":1,"timestamp":"2024-10-22T11:00:%s.000Z"}\n' "$t" |
                        kcat -P -b "$BROKER" -t "$1" -p 0
                sleep 0.1
        done
        grep -c '"sensor_id":"a"' "$WORK/$1.jsonl" >"$WORK/$1.a-rows" || true
        kill -TERM "$pid"
        wait "$pid" || fail "$1: sensord exited $?"
}
kill -TERM "$DEVBROKER_PID"
wait "$DEVBROKER_PID" || true
start_broker part-without:2 part-with:2
run_partitioned part-without "0 s"
[ "$(cat "$WORK/part-without.a-rows")" = 0 ] || fail "partition scope without idle_timeout: partition 1's window closed"
run_partitioned part-with "1 s"
[ "$(cat "$WORK/part-with.a-rows")" = 1 ] ||
        fail "partition scope: partition 1's window did not close while partition 0 streamed: $(cat "$WORK/part-with.jsonl")"
grep -q '"window":{"start":"2024-10-22T10:40:00Z","end":"2024-10-22T10:40:01Z"},"sensor_id":"a","avg_value":2.0,"max_value":3.0,"min_value":1.0,"count":2' \
        "$WORK/part-with.jsonl" || fail "partition scope: wrong row: $(cat "$WORK/part-with.jsonl")"
echo "idle: ok"
