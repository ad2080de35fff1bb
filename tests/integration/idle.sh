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
start_devbroker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$WORK/two.jsonl" 2>/dev/null

run_daemon() { # NAME IDLE
        write_config "$WORK/$1.conf" group_id="$1" mode=append duration="1 s" slide="1 s" watermark="0 s" max_delay="100ms"
        sed -i "s/watermark = \"0 s\"; };/watermark = \"0 s\"; idle_timeout = \"$2\"; };/" "$WORK/$1.conf"
        grep -q "idle_timeout = \"$2\"" "$WORK/$1.conf" || fail "config not written"
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
echo "idle: ok"
