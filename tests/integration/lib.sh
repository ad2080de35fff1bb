# Shared helpers for the integration tests: a private work directory, a
# broker of the test's own on 127.0.0.1, a generated configuration, and
# cleanup of every process the test started.
#
# The broker is sensor-devbroker (librdkafka's mock cluster), or with
# BROKER_KIND=kafka a real Apache Kafka from scripts/kafka.sh (KAFKA_NODES
# nodes, 1 by default): meson's suite "kafka" runs the tests that hold on
# both that way. Tests that inject faults through the mock's control call
# start_devbroker and run on the mock only.
set -euo pipefail

: "${SENSORD:?set by meson}" "${SENSOR_REPLAY:?}" "${SENSOR_DEVBROKER:?}" "${SHARED_DATA:?}"
PYTHON=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_SH="$HERE/../../scripts/kafka.sh"
BROKER_KIND=${BROKER_KIND:-devbroker}
CHECK="$PYTHON $HERE/check.py"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sensord-it.XXXXXX")
PIDS=()

cleanup() {
        local rc=$?
        # TERM, then KILL whatever has not ended after 15 s, so that a process
        # stuck in its stop cannot hold the test until meson's timeout
        for pid in "${PIDS[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        # (its sleep is killed with it, and holds none of the test's output,
        # which meson waits on)
        (
                trap 'kill "$sleeper"; exit 0' TERM
                sleep 15 &
                sleeper=$!
                wait "$sleeper"
                kill -KILL "${PIDS[@]}"
        ) >/dev/null 2>&1 &
        local killer=$!
        for pid in "${PIDS[@]}"; do
                wait "$pid" 2>/dev/null || true
        done
        kill "$killer" 2>/dev/null || true
        wait "$killer" 2>/dev/null || true
        [ -d "$WORK/kafka" ] && "$KAFKA_SH" stop "$WORK/kafka"
        if [ "$rc" -ne 0 ]; then
                echo "--- test failed (exit $rc); logs in $WORK:" >&2
                for f in "$WORK"/*.err "$WORK"/*.log; do
                        [ -s "$f" ] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }
                done
        else
                rm -rf "$WORK"
        fi
        exit "$rc"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# start_broker TOPIC[:PARTITIONS]... : the broker of BROKER_KIND with these
# topics (one partition unless given); sets BROKER
start_broker() {
        if [ "$BROKER_KIND" = kafka ]; then
                start_kafka "$@"
        else
                start_devbroker "$@"
        fi
}

# start_kafka TOPIC[:PARTITIONS]... : a real Apache Kafka of KAFKA_NODES
# nodes in $WORK/kafka, stopped by cleanup, with the topics created as an
# operator would (the brokers create none by themselves); sets BROKER. With
# KAFKA_SASL=1 the nodes also listen for SASL_SSL (scripts/kafka.sh start
# --sasl) at SASL_BROKER.
start_kafka() {
        "$KAFKA_SH" start "$WORK/kafka" --nodes "${KAFKA_NODES:-1}" ${KAFKA_SASL:+--sasl} >"$WORK/kafka.log" 2>&1 ||
                fail "the Kafka cluster did not start: $(tail -n 5 "$WORK/kafka.log")"
        BROKER=$(cat "$WORK/kafka/bootstrap")
        SASL_BROKER=$(cat "$WORK/kafka/sasl-bootstrap" 2>/dev/null || true)
        "$KAFKA_SH" topics "$WORK/kafka" "$@" 2>>"$WORK/kafka.log" ||
                fail "cannot create the topics $*: $(tail -n 3 "$WORK/kafka.log")"
}

# start_devbroker TOPIC[:PARTITIONS]... : sensor-devbroker, whatever
# BROKER_KIND says (for the tests that inject faults); sets BROKER
start_devbroker() {
        local args=()
        for t in "$@"; do args+=(--topic "$t"); done
        "$SENSOR_DEVBROKER" "${args[@]}" --address-file "$WORK/broker.addr" --control "$WORK/devbroker.ctl" \
                >"$WORK/devbroker.log" 2>"$WORK/devbroker.err" &
        DEVBROKER_PID=$!
        PIDS+=("$DEVBROKER_PID")
        for _ in $(seq 100); do
                [ -s "$WORK/broker.addr" ] && break
                kill -0 "$DEVBROKER_PID" 2>/dev/null || fail "sensor-devbroker exited early"
                sleep 0.1
        done
        BROKER=$(cat "$WORK/broker.addr")
        case "$BROKER" in 127.0.0.1:*) ;; *) fail "devbroker address is not on loopback: $BROKER" ;; esac
}

# devbroker COMMAND : fault injection through the control FIFO ("rtt 2000",
# "down", "up", "errors API COUNT ERR"); waits until the broker ran it.
devbroker() {
        local before
        before=$(grep -c . "$WORK/devbroker.err" || true)
        echo "$*" >"$WORK/devbroker.ctl"
        for _ in $(seq 50); do
                [ "$(grep -c . "$WORK/devbroker.err" || true)" -gt "$before" ] && return 0
                sleep 0.1
        done
        fail "the devbroker did not answer '$*'"
}

# notify_listener SOCKET LOG : a stand-in for systemd's notify socket
# (notify_listener.py, stopped by cleanup) that logs each notification with
# its time; returns once it listens
notify_listener() {
        "$PYTHON" "$HERE/notify_listener.py" "$1" "$2" &
        PIDS+=($!)
        for _ in $(seq 50); do [ -S "$1" ] && break; sleep 0.1; done
}

# wait_quiet FILE [SECONDS] : until FILE has stopped growing for 0.5 s (its
# writer has caught up), for at most SECONDS (30)
wait_quiet() {
        local before=-1 now
        for _ in $(seq $((${2:-30} * 2))); do
                now=$(wc -l <"$1")
                [ "$now" = "$before" ] && return 0
                before=$now
                sleep 0.5
        done
}

# wait_for PATTERN FILE SECONDS : until a line matching PATTERN is in FILE
wait_for() {
        for _ in $(seq $(($3 * 10))); do
                grep -q "$1" "$2" && return 0
                sleep 0.1
        done
        fail "'$1' did not appear in $2 within $3 s"
}

# write_config FILE [name=value]... : the example's settings, overridable;
# properties=', ("name", "value")...' adds librdkafka properties to the
# consumer, output_properties='("name", "value"), ...' to the producer.
# session.timeout.ms is lowered (through kafka.properties, the pass-through)
# because the mock coordinator keeps a member that left until its session
# expires, which would delay every restart of sensord in a group by 45 s.
# A real broker refuses anything below its group.min.session.timeout.ms
# (6000), so FAST_SESSION, which the failover tests append, is the mock's
# 3 s or nothing.
if [ "$BROKER_KIND" = kafka ]; then
        FAST_SESSION=""
else
        FAST_SESSION=', ("session.timeout.ms", "3000"), ("heartbeat.interval.ms", "300")'
fi
write_config() {
        local file=$1
        shift
        local brokers=$BROKER topic=sensor-data group_id=sensord-test max_messages=5 max_bytes=10240 \
                max_delay="1 s" duration="10 minutes" slide="5 minutes" start_offset="0 s" \
                watermark="5 minutes" mode=update max_keys=1000000 startup_timeout="20 s" properties="" \
                state_directory="$WORK/state" checkpoint_interval="5 s" sink=stdout kafka_topic="" \
                output_properties="" dead_letter_topic="" watermark_scope=process max_future="0 s" late_data_topic="" idle_timeout="0 s" \
                metrics_listen="" metrics_textfile="" metrics_interval="15 s" changelog_topic="" \
                changelog_snapshot_interval="1 hour" sasl_password_file="" group_instance_id="" guarantee=at_least_once
        local kv
        for kv in "$@"; do local "$kv"; done
        cat >"$file" <<CONF
kafka = {
  brokers = "$brokers";
  topic = "$topic";
  group_id = "$group_id";
  starting_offsets = "earliest";
  startup_timeout = "$startup_timeout";
  properties = ( ("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "500")$properties );
  sasl_password_file = "$sasl_password_file";
  group_instance_id = "$group_instance_id";
};
batch = { max_messages = $max_messages; max_bytes = $max_bytes; max_delay = "$max_delay"; };
window = { duration = "$duration"; slide = "$slide"; start_offset = "$start_offset"; watermark = "$watermark";
           idle_timeout = "$idle_timeout"; watermark_scope = "$watermark_scope"; max_future = "$max_future"; };
output = { mode = "$mode"; sink = "$sink"; format = "json"; kafka_topic = "$kafka_topic";
           kafka_properties = ( $output_properties ); guarantee = "$guarantee"; };
state = { max_keys = $max_keys; directory = "$state_directory"; checkpoint_interval = "$checkpoint_interval";
          changelog_topic = "$changelog_topic"; changelog_snapshot_interval = "$changelog_snapshot_interval"; };
dead_letter = { topic = "$dead_letter_topic"; };
late_data = { topic = "$late_data_topic"; };
metrics = { listen = "$metrics_listen"; textfile = "$metrics_textfile"; interval = "$metrics_interval"; };
CONF
}

# start_host NAME [SETTING=VALUE...] : a sensord of its own configuration
# (write_config's settings, state in $WORK/state-NAME) in the background,
# appending to $WORK/NAME.jsonl and NAME.err, so that a host started again
# keeps its earlier lives' output; its pid in NAME_PID
start_host() {
        local name=$1
        shift
        write_config "$WORK/$name.conf" state_directory="$WORK/state-$name" "$@"
        "$SENSORD" -c "$WORK/$name.conf" >>"$WORK/$name.jsonl" 2>>"$WORK/$name.err" &
        eval "${name}_PID=$!"
        PIDS+=($!)
}

# wait_assigned_in_life FILE N SECONDS : until the Nth sensord whose log was
# appended to FILE (counted by its "started:" line) got a partition; a
# restarted host's earlier lives must not answer for it
wait_assigned_in_life() {
        for _ in $(seq $(($3 * 10))); do
                awk -v n="$2" '/ started: /{life++} life==n' "$1" | grep -q "assigned [1-9]" && return 0
                sleep 0.1
        done
        fail "life $2 of the sensord logging to $(basename "$1") got no partition within $3 s"
}

# run_available_now CONFIG NAME : stdout to $WORK/NAME.jsonl, stderr to $WORK/NAME.err
run_available_now() {
        local rc=0
        timeout 120 "$SENSORD" -c "$1" --available-now >"$WORK/$2.jsonl" 2>"$WORK/$2.err" || rc=$?
        [ "$rc" -eq 0 ] || fail "sensord --available-now exited $rc"
}

# --- exactly-once (output.guarantee = "exactly_once") ---

# read_committed TOPIC : TOPIC's rows as a read_committed reader sees them,
# in $WORK/committed.jsonl
read_committed() {
        kcat -C -b "$BROKER" -t "$1" -e -q -X isolation.level=read_committed -f '%s\n' >"$WORK/committed.jsonl"
}

# wait_committed_model TOPIC SECONDS : until TOPIC's read_committed rows end
# at the model of $WORK/values.txt, for at most SECONDS (every host caught
# up); the caller checks them itself afterwards
wait_committed_model() {
        for _ in $(seq "$2"); do
                read_committed "$1"
                $CHECK final-equal "$WORK/committed.jsonl" "$WORK/values.txt" >/dev/null 2>&1 && return 0
                sleep 1
        done
        return 0
}

# check_committed TOPIC : TOPIC's read_committed rows end at the model of
# $WORK/values.txt, and each key's counts strictly grow (rows of one key are
# in one partition, keyed by window and sensor: topic order within it is
# the order they were committed in)
check_committed() {
        read_committed "$1"
        $CHECK final-equal "$WORK/committed.jsonl" "$WORK/values.txt"
        $CHECK increasing "$WORK/committed.jsonl"
}

# transactions_committed NAME : sensord_transactions_total{outcome="committed"}
# in $WORK/NAME.prom (the metrics file of host NAME's current life); empty
# when there is none yet
transactions_committed() {
        sed -n 's/^sensord_transactions_total{outcome="committed"} \([0-9]*\)$/\1/p' "$WORK/$1.prom" 2>/dev/null || true
}

# kill_mid_transaction NAME : SIGKILLs host NAME (an exactly-once sensord
# serving /metrics at 127.0.0.1:$NAME_PORT) once rows it delivered sit in a
# transaction still open: two scrapes with the same count of ended
# transactions, the second with more rows delivered. Fails after 60 s
# without that (a life that is still starting or stuck in a rebalance has no
# such rows). Between the second scrape and the kill lies about a
# millisecond, in which a commit could still land.
kill_mid_transaction() {
        local pid_var="${1}_PID" port_var="${1}_PORT"
        "$PYTHON" - "${!pid_var}" "${!port_var}" <<'PY' || fail "host $1 never held delivered rows in an open transaction"
import os, re, signal, sys, time, urllib.request

pid, port = int(sys.argv[1]), sys.argv[2]

def scrape():
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return None  # not listening yet
    rows = re.search(r"^sensord_produced_rows_total (\d+)$", text, re.M)
    ended = re.findall(r'^sensord_transactions_total\{outcome="\w+"\} (\d+)$', text, re.M)
    return (int(rows.group(1)), sum(map(int, ended))) if rows and ended else None

before, deadline = None, time.monotonic() + 60
while time.monotonic() < deadline:
    now = scrape()
    if before and now and now[1] == before[1] and now[0] > before[0]:
        os.kill(pid, signal.SIGKILL)
        print(f"  {now[0] - before[0]} rows delivered into its open transaction, after {now[1]} ended")
        sys.exit(0)
    before = now
    time.sleep(0.02)
sys.exit(1)
PY
}

# free_port : a TCP port on 127.0.0.1 that nothing listens on now
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# summary_field NAME FIELD : a number from sensord's final summary line
summary_field() {
        sed -n "s/.*summary:.* $2=\([0-9]*\).*/\1/p" "$WORK/$1.err" | tail -n 1
}

# watchdog_fed NOTIFY_LOG : between READY=1 and STOPPING=1, no two WATCHDOG=1
# pings (from a notify_listener.py log) lie 2 s (the tests' WATCHDOG_USEC)
# or more apart
watchdog_fed() {
        "$PYTHON" - "$1" <<'PY'
import sys
lines = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
ready = next(float(t) for t, m in lines if m == "READY=1")
stopping = next(float(t) for t, m in lines if m == "STOPPING=1")
pings = [ready] + [float(t) for t, m in lines if m == "WATCHDOG=1" and ready <= float(t) <= stopping] + [stopping]
gap = max(b - a for a, b in zip(pings, pings[1:]))
print(f"longest gap between watchdog pings over {stopping - ready:.0f} s: {gap:.2f} s")
if gap >= 2.0:
    sys.exit(f"FAIL: the watchdog went {gap:.2f} s without a ping")
PY
}
