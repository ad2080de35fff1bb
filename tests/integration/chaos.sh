#!/bin/bash
# Chaos on a real 3-node Kafka: three sensord hosts share a 6-partition
# input with a changelog, a result topic and a dead-letter topic while
# records stream in, and for CHAOS_SECONDS (100) faults drawn at random
# (CHAOS_SEED, printed, replays a run) hit them one after another:
#   a broker SIGKILLed and started again, or SIGSTOPped and continued;
#   a host SIGKILLed and started again, SIGSTOPped past the session
#   timeout or not and continued, or restarted cleanly;
#   a partition added to the input (at most two);
#   a record too large for the dead-letter topic.
# Then every broker and host runs until the results are quiet, and:
#   - no host exited but those the test stopped, and those cleanly (0);
#   - every (window, sensor) in the result topic ends at the model's
#     aggregates (its highest count per key: a SIGSTOPped host's rows can
#     be delivered after its successor's, at-least-once, see the README).
#     A partition added moves keys to other partitions (the producer's
#     partitioner hashes over the new count), so the windows open then are
#     aggregated per partition, and a process merges the parts it holds:
#     such a key needs rows that cover its parts (check.py --by-partition),
#     or, where a process merged a part that was still growing, rows that
#     never count more than the whole and one with the largest part whole;
#   - each oversized record has its dead letter, truncated;
#   - no host's peak RSS passed the README's bound for its max_keys (Bounded
#     memory, with a changelog and a result topic);
#   - no host's watchdog went 2 s without a ping (WATCHDOG_USEC=2 s), but
#     the lives the test SIGSTOPped.
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "chaos needs a real Kafka cluster (BROKER_KIND=kafka)"
SEED=${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}
CHAOS_SECONDS=${CHAOS_SECONDS:-100}
echo "chaos seed $SEED (CHAOS_SEED=$SEED replays this run's draws)"
RANDOM=$SEED
KAFKA_NODES=3 start_kafka ch-in:6:max.message.bytes=2000000 ch-out:6 ch-dead:1
MAX_KEYS=100000
settings=(topic=ch-in group_id=ch max_messages=200 max_delay="100ms" watermark="365 days" checkpoint_interval="1 s"
        changelog_topic=ch-changelog kafka_topic=ch-out sink=none dead_letter_topic=ch-dead max_keys=$MAX_KEYS
        properties=', ("topic.metadata.refresh.interval.ms", "2000")'"${CHAOS_PROPERTIES:-}")
declare -A life=() down=()
: >"$WORK/frozen-lives"
: >"$WORK/rss"

# host_start NAME : a new life of host NAME, with a notify socket of its own
host_start() {
        local name=$1 n
        life[$name]=$((${life[$name]:-0} + 1))
        n=${life[$name]}
        notify_listener "$WORK/notify-$name-$n.sock" "$WORK/notify-$name-$n.log"
        [ -f "$WORK/$name.conf" ] || write_config "$WORK/$name.conf" "${settings[@]}" state_directory="$WORK/state-$name"
        NOTIFY_SOCKET="$WORK/notify-$name-$n.sock" WATCHDOG_USEC=2000000 "$SENSORD" -c "$WORK/$name.conf" \
                >>"$WORK/$name.out" 2>>"$WORK/$name.err" &
        eval "${name}_PID=$!"
        PIDS+=($!)
        down[$name]=""
}

pid_of() { local v="${1}_PID"; echo "${!v}"; }

# note_rss : each running host's peak RSS so far (VmHWM, kB), per life
note_rss() {
        local h p kb
        for h in a b c; do
                [ -z "${down[$h]}" ] || continue
                p=$(pid_of "$h")
                kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
                [ -n "$kb" ] && echo "$h-${life[$h]} $kb" >>"$WORK/rss"
        done
}

# check_alive : every host the test did not stop runs
check_alive() {
        local h rc
        for h in a b c; do
                [ -z "${down[$h]}" ] || continue
                kill -0 "$(pid_of "$h")" 2>/dev/null && continue
                rc=0
                wait "$(pid_of "$h")" || rc=$?
                fail "host $h exited by itself (exit $rc): $(grep -v '^<7>' "$WORK/$h.err" | tail -n 3)"
        done
}

# pause SECONDS : sleeps, noting RSS and that the hosts live, twice a second
pause() {
        for _ in $(seq $(($1 * 2))); do
                note_rss
                check_alive
                sleep 0.5
        done
}

# big_record BYTES : an invalid record of BYTES into the input
big_record() {
        /usr/bin/python3 - "$BROKER" "$1" <<'PY' || fail "cannot produce a big record"
import sys
from kafka import KafkaProducer
# a broker may just have come back: leaders move
producer = KafkaProducer(bootstrap_servers=sys.argv[1], max_request_size=4 << 20, retries=30, retry_backoff_ms=500,
                         acks="all")
producer.send("ch-in", b"x" * int(sys.argv[2])).get(timeout=60)
producer.close()
PY
}

for h in a b c; do host_start "$h"; done
wait_for "assigned" "$WORK/c.err" 60
# (not idempotent: see broker_faults.sh; it sees an added partition within 2 s)
"$SENSOR_REPLAY" -b "$BROKER" -t ch-in --generate 300 --count 60000 --rate 400 --seed 71 \
        -X enable.idempotence=false -X acks=all -X max.in.flight.requests.per.connection=1 \
        -X topic.metadata.refresh.interval.ms=2000 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
pause 5

partitions=6 big=0 start=$SECONDS
while [ $((SECONDS - start)) -lt "$CHAOS_SECONDS" ]; do
        host=$(printf 'a\nb\nc' | sed -n "$((RANDOM % 3 + 1))p")
        node=$((RANDOM % 3 + 1))
        case $((RANDOM % 8)) in
        0)
                echo "$((SECONDS - start)) s: broker $node SIGKILLed"
                "$KAFKA_SH" node "$WORK/kafka" "$node" kill
                pause $((4 + RANDOM % 6))
                "$KAFKA_SH" node "$WORK/kafka" "$node" start >>"$WORK/kafka.log" 2>&1 || fail "node $node did not start"
                ;;
        1)
                echo "$((SECONDS - start)) s: broker $node SIGSTOPped"
                "$KAFKA_SH" node "$WORK/kafka" "$node" pause
                pause $((3 + RANDOM % 8))
                "$KAFKA_SH" node "$WORK/kafka" "$node" resume
                ;;
        2)
                echo "$((SECONDS - start)) s: host $host SIGKILLed"
                down[$host]=killed
                kill -KILL "$(pid_of "$host")"
                wait "$(pid_of "$host")" 2>/dev/null || true
                pause 1
                host_start "$host"
                ;;
        3)
                seconds=$((2 + RANDOM % 10))
                echo "$((SECONDS - start)) s: host $host SIGSTOPped for $seconds s (session: 6 s)"
                echo "$host-${life[$host]}" >>"$WORK/frozen-lives"
                down[$host]=stopped
                kill -STOP "$(pid_of "$host")"
                pause "$seconds"
                kill -CONT "$(pid_of "$host")"
                down[$host]=""
                ;;
        4)
                echo "$((SECONDS - start)) s: host $host restarted"
                down[$host]=stopping
                kill -TERM "$(pid_of "$host")"
                rc=0
                wait "$(pid_of "$host")" || rc=$?
                [ "$rc" = 0 ] || fail "host $host exited $rc at SIGTERM: $(grep -v '^<7>' "$WORK/$host.err" | tail -n 3)"
                host_start "$host"
                ;;
        5)
                [ "$partitions" -lt 8 ] || continue
                partitions=$((partitions + 1))
                echo "$((SECONDS - start)) s: ch-in grows to $partitions partitions"
                "$KAFKA_SH" add-partitions "$WORK/kafka" "ch-in:$partitions" 2>>"$WORK/kafka.log" ||
                        fail "cannot add a partition: $(tail -n 3 "$WORK/kafka.log")"
                ;;
        *)
                [ "$big" -lt 2 ] || continue
                big=$((big + 1))
                echo "$((SECONDS - start)) s: a record of 1.2 MB"
                big_record 1200000
                ;;
        esac
        pause $((2 + RANDOM % 4))
done

echo "$((SECONDS - start)) s: faults over; every broker and host runs"
"$KAFKA_SH" wait "$WORK/kafka" >>"$WORK/kafka.log" 2>&1 || fail "the brokers did not all come back"
wait "$REPLAY_PID" || fail "the producer failed: $(tail -n 3 "$WORK/replay.err")"
# quiet: the result topic stops growing for 10 s
count_rows() { kcat -C -b "$BROKER" -t ch-out -e -q -f '.\n' 2>/dev/null | wc -l; }
before=-1
for _ in $(seq 30); do
        pause 5
        now=$(count_rows)
        [ "$now" = "$before" ] && break
        before=$now
done
[ "$now" = "$before" ] || fail "the results did not come to rest"
check_alive
note_rss
for h in a b c; do
        down[$h]=stopping
        kill -TERM "$(pid_of "$h")"
        rc=0
        wait "$(pid_of "$h")" || rc=$?
        [ "$rc" = 0 ] || fail "host $h exited $rc at the final SIGTERM"
done

# the results
kcat -C -b "$BROKER" -t ch-in -e -q -f '%p %o %s\n' >"$WORK/values-by-partition.txt"
kcat -C -b "$BROKER" -t ch-out -e -q -f '%s\n' >"$WORK/rows.jsonl"
$CHECK final-equal --highest-count --by-partition "$WORK/rows.jsonl" "$WORK/values-by-partition.txt"
# the dead letters of the big records, truncated
dead=$(kcat -C -b "$BROKER" -t ch-dead -e -q -f '%h\n' | grep -c "sensord-truncated=1200000" || true)
[ "$dead" -ge "$big" ] || fail "$big big record(s), $dead truncated dead letter(s)"
# peak RSS under the bound: (300 + 3 x L) x max_keys + 80 MiB, + 64 MiB of
# checkpoint parts waiting and 16 MiB of result rows (README, Bounded memory)
bound_kb=$(((300 + 3 * 11) * MAX_KEYS / 1024 + (80 + 64 + 16) * 1024))
read -r worst worst_kb < <(sort -k2 -n "$WORK/rss" | tail -n 1)
[ "$worst_kb" -lt "$bound_kb" ] || fail "host life $worst peaked at $worst_kb kB, over the bound of $bound_kb kB"
echo "peak RSS: $worst_kb kB ($worst), bound $bound_kb kB"
# the watchdog of every life the test did not freeze
for log in "$WORK"/notify-*.log; do
        l=$(basename "$log" .log)
        l=${l#notify-}
        grep -qx "$l" "$WORK/frozen-lives" && continue
        $PYTHON - "$log" <<'PY' || fail "host life $l: its watchdog went 2 s without a ping"
import sys
lines = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
times = [float(t) for t, m in lines if m in ("READY=1", "WATCHDOG=1", "STOPPING=1")]
stop = next((i for i, (t, m) in enumerate(lines) if m == "STOPPING=1"), None)
ready = next(float(t) for t, m in lines if m == "READY=1")
end = float(lines[stop][0]) if stop is not None else times[-1]
pings = [t for t in times if ready <= t <= end]
gaps = [b - a for a, b in zip(pings, pings[1:])]
if gaps and max(gaps) >= 2.0:
    sys.exit(f"{sys.argv[1]}: a gap of {max(gaps):.2f} s")
PY
done
echo "chaos: ok ($(grep -c . "$WORK/values-by-partition.txt") records, lives: a ${life[a]}, b ${life[b]}, c ${life[c]})"
