#!/bin/bash
# A quiet topic must not cost sensord its consumer-group membership.
# librdkafka counts max.poll.interval.ms from the application's last poll;
# with it at 8 s (and the session at 6 s), 20 records and then 25 s of
# silence would leave the group three times if the loop polled only when
# messages arrive. Checked: no MAXPOLL line, no revoke, one assignment, a
# clean stop, and every record counted once. Then the same with
# window.idle_timeout in append mode: during the quiet the last windows
# close and are emitted (append mode emits only final windows, so the rows
# written before the stop hold every record only if they all closed), and
# the group is still kept.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1
QUIET=${QUIET:-25}
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 --count 20 --loop "$SHARED_DATA/seed.json" 2>/dev/null
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
[ "$(wc -l <"$WORK/values.txt")" = 20 ] || fail "the topic holds $(wc -l <"$WORK/values.txt") records, not 20"

# start_quiet NAME IDLE_TIMEOUT [write_config overrides...]: a sensord in a
# group of its own that reads the 20 records and then has nothing to read
start_quiet() {
        local name=$1 idle=$2
        shift 2
        write_config "$WORK/$name.conf" group_id="$name" max_delay="200ms" \
                properties=', ("max.poll.interval.ms", "8000")' idle_timeout="$idle" "$@"
        "$SENSORD" -c "$WORK/$name.conf" >"$WORK/$name.out" 2>"$WORK/$name.err" &
        eval "PID_$name=$!"
        PIDS+=("$!")
}

# stop_quiet NAME: the rows written so far to NAME.jsonl, then SIGTERM and
# the checks on the log
stop_quiet() {
        local name=$1 pid rc=0
        pid=$(eval echo "\$PID_$name")
        cp "$WORK/$name.out" "$WORK/$name.jsonl"
        kill -TERM "$pid"
        wait "$pid" || rc=$?
        [ "$rc" = 0 ] || fail "$name: sensord exited $rc"
        grep -q "stopping: SIGTERM" "$WORK/$name.err" || fail "$name: no clean stop"
        # the log up to the stop (which revokes the partitions on leaving)
        sed '/stopping: SIGTERM/q' "$WORK/$name.err" >"$WORK/$name.quiet.log"
        ! grep -q "MAXPOLL\|maximum poll interval" "$WORK/$name.quiet.log" ||
                fail "$name: left the group for want of a poll: $(grep -m1 "MAXPOLL\|maximum poll" "$WORK/$name.quiet.log")"
        ! grep -q "revoked" "$WORK/$name.quiet.log" || fail "$name: partitions revoked while quiet"
        [ "$(grep -c "assigned 1 partition" "$WORK/$name.quiet.log")" = 1 ] ||
                fail "$name: assigned $(grep -c "assigned 1 partition" "$WORK/$name.quiet.log") times"
        [ "$(summary_field "$name" messages)" = 20 ] ||
                fail "$name: $(summary_field "$name" messages) messages read, not 20"
}

# Three members side by side, each in its own group. The records fall on
# whole minutes; with tumbling 1 s windows and no watermark delay, the
# newest record's window ends 1 s after the watermark, so in append mode
# it is final only once idle input moves event time on.
start_quiet plain "0 s"
start_quiet append "0 s" mode=append duration="1 s" slide="1 s" watermark="0 s"
start_quiet idle "2 s" mode=append duration="1 s" slide="1 s" watermark="0 s"
for name in plain append idle; do wait_for "assigned 1 partition" "$WORK/$name.err" 30; done
sleep "$QUIET"
for name in plain append idle; do stop_quiet "$name"; done

$CHECK final-equal "$WORK/plain.jsonl" "$WORK/values.txt" || fail "plain: aggregates differ from the records"
! $CHECK final-equal --window "1 s" --slide "1 s" "$WORK/append.jsonl" "$WORK/values.txt" >/dev/null 2>&1 ||
        fail "append without idle_timeout: every window was final, so the idle case proves nothing"
$CHECK final-equal --window "1 s" --slide "1 s" "$WORK/idle.jsonl" "$WORK/values.txt" ||
        fail "idle_timeout: the last windows were not emitted during the quiet"
echo "quiet_group: ok"
