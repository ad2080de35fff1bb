#!/bin/bash
# sensor-devbroker: topics with the partitions asked for, the address on
# stdout and in the file, fault injection by signal and by the control FIFO,
# clean stop on SIGTERM.
. "$(dirname "$0")/lib.sh"

start_devbroker four:4 one
grep -qx "$BROKER" "$WORK/devbroker.log" || fail "address not printed on stdout"
kcat -L -b "$BROKER" -t four >"$WORK/meta.txt"
grep -q 'topic "four" with 4 partitions' "$WORK/meta.txt" || fail "topic four: $(cat "$WORK/meta.txt")"
kcat -L -b "$BROKER" -t one | grep -q 'topic "one" with 1 partitions' || fail "topic one missing"

# SIGUSR1: brokers down, producing fails; SIGUSR2: back up, producing works
kill -USR1 "$DEVBROKER_PID"
sleep 0.5
rc=0
"$SENSOR_REPLAY" -b "$BROKER" -t one --interval 0 --count 3 -X message.timeout.ms=2000 \
        "$SHARED_DATA/seed.json" 2>"$WORK/down.err" || rc=$?
[ "$rc" != 0 ] || fail "producing succeeded while the brokers were down"
kill -USR2 "$DEVBROKER_PID"
sleep 0.5
"$SENSOR_REPLAY" -b "$BROKER" -t one --interval 0 --count 3 "$SHARED_DATA/seed.json" 2>"$WORK/up.err" ||
        fail "producing failed after the brokers came back"

# The control FIFO: slow responses, refused requests, down and up
devbroker "rtt 1500"
start=$(date +%s%N)
kcat -L -b "$BROKER" -t one >/dev/null
took_ms=$((($(date +%s%N) - start) / 1000000))
[ "$took_ms" -ge 1500 ] || fail "metadata with a 1500 ms rtt took only $took_ms ms"
devbroker "rtt 0"
devbroker "errors 0 1 29" # the next Produce request: TOPIC_AUTHORIZATION_FAILED, not retriable
rc=0
"$SENSOR_REPLAY" -b "$BROKER" -t one --interval 0 --count 1 "$SHARED_DATA/seed.json" 2>"$WORK/refused.err" || rc=$?
[ "$rc" != 0 ] || fail "producing succeeded although the broker refused it"
"$SENSOR_REPLAY" -b "$BROKER" -t one --interval 0 --count 1 "$SHARED_DATA/seed.json" 2>"$WORK/after.err" ||
        fail "producing failed after the injected error was used up"
devbroker "down"
rc=0
"$SENSOR_REPLAY" -b "$BROKER" -t one --interval 0 --count 1 -X message.timeout.ms=2000 \
        "$SHARED_DATA/seed.json" 2>"$WORK/down2.err" || rc=$?
[ "$rc" != 0 ] || fail "producing succeeded while the brokers were down (control FIFO)"
devbroker "up"
echo "nonsense" >"$WORK/devbroker.ctl"
wait_for "nonsense: unknown command" "$WORK/devbroker.err" 5

# SIGTERM: exits 0 and removes its address file and control FIFO
kill -TERM "$DEVBROKER_PID"
rc=0
wait "$DEVBROKER_PID" || rc=$?
[ "$rc" = 0 ] || fail "devbroker exited $rc on SIGTERM"
[ ! -e "$WORK/broker.addr" ] || fail "address file left behind"
[ ! -e "$WORK/devbroker.ctl" ] || fail "control FIFO left behind"
echo "devbroker: ok"
