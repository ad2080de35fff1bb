#!/bin/bash
# The event loop keeps answering while partitions are assigned and revoked
# with slow brokers: the rebalance callback makes no blocking broker call.
# sensord runs with a notify socket (a Python stand-in for systemd's) and
# WATCHDOG_USEC=1 s, while the devbroker answers every request 1.5 s late.
# Between READY=1 and STOPPING=1, no two WATCHDOG=1 pings may be further
# apart than WATCHDOG_USEC (where systemd would kill the service), and
# STATUS= updates go on.
#  1. Live, with records streaming in: a second member joins, so the
#     partitions are revoked (with offsets of the open batch to commit) and
#     assigned again.
#  2. --available-now: the end offsets of the assigned partitions are asked
#     of the slow brokers.
. "$(dirname "$0")/lib.sh"

start_devbroker sensor-data:4 now-data:4
write_config "$WORK/sensord.conf" max_messages=100 max_delay="200ms" watermark="365 days"

# start_watched NAME CONFIG [sensord options] : sensord with its own notify socket
start_watched() {
        local name=$1 config=$2
        shift 2
        notify_listener "$WORK/$name.sock" "$WORK/$name.notify"
        NOTIFY_SOCKET="$WORK/$name.sock" WATCHDOG_USEC=1000000 \
                "$SENSORD" -c "$config" "$@" >"$WORK/$name.jsonl" 2>"$WORK/$name.err" &
        SENSORD_PID=$!
        PIDS+=("$SENSORD_PID")
}

# check_pings NAME : the longest silences of the watchdog and of STATUS=
check_pings() {
        "$PYTHON" - "$WORK/$1.notify" 1.0 <<'PY'
import sys
lines = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
limit = float(sys.argv[2])
ready = next((float(t) for t, m in lines if m == "READY=1"), None)
stopping = next((float(t) for t, m in lines if m == "STOPPING=1"), None)
if ready is None or stopping is None:
    sys.exit("FAIL: READY=1 or STOPPING=1 missing from the notifications")
pings = [ready] + [float(t) for t, m in lines if m == "WATCHDOG=1" and ready <= float(t) <= stopping] + [stopping]
gap = max(b - a for a, b in zip(pings, pings[1:]))
statuses = [ready] + [float(t) for t, m in lines if m.startswith("STATUS=") and ready <= float(t) <= stopping]
status_gap = max(b - a for a, b in zip(statuses, statuses[1:] + [stopping]))
print(f"{len(pings) - 2} watchdog pings over {stopping - ready:.1f} s, longest gap {gap:.2f} s; "
      f"longest gap between STATUS= updates {status_gap:.2f} s")
if gap >= limit:
    sys.exit(f"FAIL: the event loop went {gap:.2f} s without a watchdog ping (WATCHDOG_USEC {limit} s)")
if status_gap >= 4.0:  # refreshed every 2 s
    sys.exit(f"FAIL: no STATUS= update for {status_gap:.2f} s")
PY
}

# 1. Live
start_watched live "$WORK/sensord.conf"
wait_for "assigned 4 partition(s)" "$WORK/live.err" 30
"$SENSOR_REPLAY" -b "$BROKER" --rate 200 --generate 20 --count 1000000 2>/dev/null &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
for _ in $(seq 50); do [ -s "$WORK/live.jsonl" ] && break; sleep 0.1; done
devbroker "rtt 1500"
kcat -G sensord-test -b "$BROKER" -u -q -X session.timeout.ms=30000 -f '%p %o\n' sensor-data \
        >"$WORK/kcat.out" 2>"$WORK/kcat.err" &
KCAT_PID=$!
PIDS+=("$KCAT_PID")
wait_for "revoked 4 partition(s)" "$WORK/live.err" 60
for _ in $(seq 600); do
        [ "$(grep -c "assigned [0-9] partition(s)" "$WORK/live.err")" -ge 2 ] && break
        sleep 0.1
done
[ "$(grep -c "assigned [0-9] partition(s)" "$WORK/live.err")" -ge 2 ] || fail "no assignment after the revoke in 60 s"
devbroker "rtt 0"
sleep 2
kill "$REPLAY_PID" "$KCAT_PID"
kill -0 "$SENSORD_PID" || fail "sensord died during the slow rebalance"
kill -TERM "$SENSORD_PID"
wait "$SENSORD_PID" || fail "sensord did not stop cleanly"
check_pings live

# 2. Available-now, with the end offsets asked of slow brokers. A topic and a
# group of its own: the mock keeps the members of the first part until their
# sessions time out, and records produced in one go travel in few message
# sets, which keeps the slow fetches few.
"$SENSOR_REPLAY" -b "$BROKER" -t now-data --interval 0 --generate 20 --count 2000 2>/dev/null
write_config "$WORK/now.conf" max_messages=100 watermark="365 days" group_id=sensord-now topic=now-data
devbroker "rtt 1500"
start_watched now "$WORK/now.conf" --available-now
rc=0
timeout 120 tail --pid="$SENSORD_PID" -f /dev/null || true
wait "$SENSORD_PID" || rc=$?
devbroker "rtt 0"
[ "$rc" = 0 ] || fail "sensord --available-now exited $rc with slow brokers"
grep -q "this run reads up to offset" "$WORK/now.err" || fail "no end offset was read"
check_pings now
echo "watchdog: ok"
