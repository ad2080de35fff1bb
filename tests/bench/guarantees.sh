#!/bin/bash
# What output.guarantee = "exactly_once" costs, on a real Apache Kafka node
# (scripts/kafka.sh). Not a test; .ci/run does not run it.
#
#   1. throughput: sensord --available-now over RECORDS generated records
#      (default 1,000,000; 1,000 sensors, 8 partitions), 10,000-message
#      batches, results and a changelog in Kafka: at_least_once against
#      exactly_once with a commit (checkpoint) every 100 ms, 1 s and 5 s,
#      alternating, RUNS rounds (default 2); records/s over the whole
#      process (its start and its last commit at exit included, as one
#      batch job's), the ratio to at_least_once of the same round, peak
#      RSS, and transactions committed as sensord counts them
#      (sensord_transactions_total) and as the transaction coordinator
#      logged them (scripts/kafka.sh transactions-committed);
#   2. latency for a read_committed reader: a live sensord while
#      sensor-replay writes RATE records/s (default 20,000) for LIVE_SECONDS
#      (default 15); a reader with isolation.level=read_committed takes the
#      time from each row's Kafka timestamp (when sensord produced it) to
#      its arrival, p50 and p99, beside sensord's own produce-to-emit p50
#      and p99 (the input record's timestamp to its row's production).
#   tests/bench/guarantees.sh      (BUILD=build RECORDS=1000000 RUNS=2; LIVE=0
#                                   skips part 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RECORDS=${RECORDS:-1000000}
RUNS=${RUNS:-2}
RATE=${RATE:-20000}
LIVE_SECONDS=${LIVE_SECONDS:-15}
. tests/bench/lib.sh
start_kafka load:8 live:8
broker=$kafka_broker
"$BUILD/src/sensor-replay" -b "$broker" -t load --interval 0 --generate 1000 --count "$RECORDS" --seed 1 2>/dev/null

# config NAME TOPIC GUARANTEE INTERVAL STARTING : a configuration with its
# own group, result topic and changelog
config() {
        cat >"$work/$1.conf" <<CONF
kafka = { brokers = "$broker"; topic = "$2"; group_id = "$1"; startup_timeout = "60 s"; starting_offsets = "$5";
          properties = ( ("session.timeout.ms", "10000") ); };
batch = { max_messages = 10000; max_bytes = "4 MiB"; max_delay = "100 ms"; };
window = { watermark = "365 days"; };
output = { sink = "none"; kafka_topic = "$1-out"; guarantee = "$3"; };
state = { directory = "$work/state-$1"; checkpoint_interval = "$4"; changelog_topic = "$1-changelog"; };
metrics = { textfile = "$work/$1.prom"; };
CONF
        scripts/kafka.sh topics "$work/kafka" "$1-out:8" "$1-changelog:8" >>"$work/kafka.log" 2>&1
}

# transactions NAME : committed transactions as "sensord's count/the
# coordinator's" (sensord_transactions_total; CompleteCommit entries of the
# run's transactional id in the transaction log), empty under at_least_once
transactions() {
        local id
        id=$(sed -n 's/.*transactional producer \(.*\) registered with its coordinator.*/\1/p' "$work/$1.err" | head -n 1)
        [ -n "$id" ] || return 0
        echo "$(sed -n 's/^sensord_transactions_total{outcome="committed"} \([0-9]*\)$/\1/p' "$work/$1.prom")/$(
                scripts/kafka.sh transactions-committed "$work/kafka" "$id")"
}

printf '%-28s %3s %9s %10s %6s %8s %15s\n' guarantee run wall_ms records/s ratio rss_MiB txns_own/broker
for round in $(seq "$RUNS"); do
        base=0
        for variant in "at_least_once|5 s" "exactly_once|100 ms" "exactly_once|1 s" "exactly_once|5 s"; do
                guarantee=${variant%%|*} interval=${variant#*|}
                name="${guarantee}-${interval// /}-$round"
                config "$name" load "$guarantee" "$interval" earliest
                /usr/bin/time -f "%e %M" -o "$work/$name.rss" \
                        "$BUILD/src/sensord" -c "$work/$name.conf" --available-now >/dev/null 2>"$work/$name.err" ||
                        { echo "$name failed:" >&2; tail -5 "$work/$name.err" >&2; exit 1; }
                read -r seconds rss_kib <"$work/$name.rss"
                ms=$(echo "$seconds * 1000 / 1" | bc)
                rate=$((RECORDS * 1000 / ms))
                [ "$guarantee" = at_least_once ] && base=$rate
                label="$guarantee"
                [ "$guarantee" = exactly_once ] && label="$guarantee, commit $interval"
                printf '%-28s %3d %9d %10d %6.2f %8d %15s\n' "$label" "$round" "$ms" "$rate" \
                        "$(echo "$rate / $base" | bc -l)" $((rss_kib / 1024)) "$(transactions "$name")"
        done
done

# 2. latency, live
[ "${LIVE:-1}" = 1 ] || exit 0
echo
printf '%-28s %16s %16s %18s %18s\n' guarantee own_p50_ms own_p99_ms reader_p50_ms reader_p99_ms
for variant in "at_least_once|1 s" "exactly_once|100 ms" "exactly_once|1 s"; do
        guarantee=${variant%%|*} interval=${variant#*|}
        name="live-${guarantee}-${interval// /}"
        config "$name" live "$guarantee" "$interval" latest
        "$BUILD/src/sensord" -c "$work/$name.conf" >/dev/null 2>"$work/$name.err" &
        sensord=$!
        pids+=("$sensord")
        for _ in $(seq 300); do grep -q "assigned 8 partition" "$work/$name.err" && break; sleep 0.1; done
        /usr/bin/python3 - "$broker" "$name-out" "$((LIVE_SECONDS + 8))" >"$work/$name.reader" <<'PY' &
import sys, time
from confluent_kafka import Consumer
broker, topic, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = Consumer({"bootstrap.servers": broker, "group.id": "latency-reader", "isolation.level": "read_committed",
              "auto.offset.reset": "earliest", "enable.auto.commit": False})
c.subscribe([topic])
delays, end = [], time.time() + seconds
while time.time() < end:
    for m in c.consume(num_messages=10000, timeout=0.2):
        if not m.error():
            delays.append(time.time() * 1000 - m.timestamp()[1])
c.close()
delays.sort()
if not delays:
    sys.exit("no row was read")
print(f"{delays[len(delays) // 2]:.0f} {delays[min(len(delays) - 1, len(delays) * 99 // 100)]:.0f}")
PY
        reader=$!
        sleep 2
        "$BUILD/src/sensor-replay" -b "$broker" -t live --generate 1000 --rate "$RATE" \
                --count $((RATE * LIVE_SECONDS)) --seed 2 2>/dev/null
        wait "$reader"
        kill -TERM "$sensord"
        wait "$sensord" || true
        own_p50=$(sed -n 's/.* latency_ms_p50=\([0-9]*\).*/\1/p' "$work/$name.err")
        own_p99=$(sed -n 's/.* latency_ms_p99=\([0-9]*\).*/\1/p' "$work/$name.err")
        read -r reader_p50 reader_p99 <"$work/$name.reader"
        label="$guarantee"
        [ "$guarantee" = exactly_once ] && label="$guarantee, commit $interval"
        printf '%-28s %16s %16s %18s %18s\n' "$label" "$own_p50" "$own_p99" "$reader_p50" "$reader_p99"
done
