#!/bin/bash
# The benchmark suite, one command: starts its own sensor-devbroker, loads
# generated records (sensor-replay --generate) and measures, in one run:
#   1. throughput against the limit: raw kcat -C against sensord
#      --available-now (10,000-message / 1 MiB batches), RECORDS records from
#      1,000 sensors in 32 partitions;
#   2. the same with the example's 5-message batches;
#   3. cardinality: RECORDS records from as many distinct sensors (also as
#      a ratio to figure 1's 1,000 sensors), and the engine's heap per live
#      (window, sensor) entry;
#   4. window ratio: a 1-hour window sliding every minute (60 windows per
#      record), append mode, against 10/5 minutes;
#   5. latency: sensor-replay at RATE records/s (10,000) for LATENCY_S
#      seconds (30) into a topic of its own while sensord (max_delay 10 ms)
#      runs live: produce-to-emit latency per record, from its Kafka
#      timestamp to the moment its batch's rows are written (sensord's
#      summary: latency_ms_p50, _p99, _max); then the same with sensord's
#      consumer at fetch.wait.max.ms 5, standing in for a real broker (the
#      devbroker holds an empty fetch for the whole wait, a broker answers
#      when records arrive), with sensord's own share too: from the drain
#      that polled a message to its row written (own_us_p50, _p99, _max);
#   6. footprint: RSS at start with no data, and CPU time over IDLE seconds
#      of idle for sensord and for kcat -G on the same topic;
#   7. engine only: parse, aggregate and emit from records in memory
#      (tests/bench/engine.c), no Kafka, with 10,000-message batches and
#      with the example's 5-message ones;
#   8. record shapes: the record parser alone (tests/bench/parse.c) and the
#      engine on the same readings written flat and nested-epoch-ms
#      (sensor-replay --shape), read with the input settings that match;
#   9. the cost of metrics: figure 2 again with metrics.listen on and
#      GET /metrics asked every second.
# Also: the same job as a plain Python script (python_windows.py:
# confluent-kafka, consume(10000), a dict of windows), against figure 1.
# Then figures 1, 2 and 5 again on a real Apache Kafka node
# (scripts/kafka.sh, the same topics), whose fetches return as soon as
# records arrive, so that its latency is the one users see.
# Each figure is the median of RUNS alternating runs. sensord's rate counts
# from its first message to its exit (its summary's ms_since_first_message:
# the group join is left out); kcat's is its whole run. The watermark is 365
# days in 1-3 so that every record is aggregated whatever order the
# partitions interleave in; 4 uses the shipped 5 minutes, which append mode
# needs to emit anything. Everything else is the shipped configuration.
# Prints a table and writes the same figures as JSON (JSON=FILE).
#   tests/bench/run.sh                       (RECORDS=1000000 RUNS=3 IDLE=60)
#   RECORDS=100000 RUNS=1 IDLE=5 tests/bench/run.sh     (the smoke run in CI)
# Not a test: it fails only when a run does not consume every record.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RECORDS=${RECORDS:-1000000}
RUNS=${RUNS:-3}
IDLE=${IDLE:-60}
RATE=${RATE:-10000}
LATENCY_S=${LATENCY_S:-30}
JSON=${JSON:-$BUILD/bench.json}
# from a fresh clone: the packages, a build, the engine benchmark
scripts/install-deps.sh >&2
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
ninja -C "$BUILD" tests/bench/engine tests/bench/parse >/dev/null

. tests/bench/lib.sh
start_devbroker load:32 distinct:32 idle:32 $(for run in $(seq "$RUNS"); do echo "latency-$run:32 fastfetch-$run:32"; done)
"$BUILD/src/sensor-replay" -b "$broker" -t load --interval 0 --generate 1000 --count "$RECORDS" --seed 1
"$BUILD/src/sensor-replay" -b "$broker" -t distinct --interval 0 --generate "$RECORDS" --distinct \
        --count "$RECORDS" --seed 1
start_kafka load:32 $(for run in $(seq "$RUNS"); do echo "latency-kafka-$run:32"; done)
"$BUILD/src/sensor-replay" -b "$kafka_broker" -t load --interval 0 --generate 1000 --count "$RECORDS" --seed 1 \
        -X linger.ms=50

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# config NAME TOPIC MAX_MESSAGES WATERMARK [SETTING=VALUE...]: the shipped
# file with the broker, the topic, a group of its own and the changes named
config() {
        local name=$1 topic=$2 batch=$3 watermark=$4
        shift 4
        local extra=()
        for kv in "$@"; do extra+=(-e "s|${kv%%=*} = \"[^\"]*\"|${kv%%=*} = \"${kv#*=}\"|"); done
        sed -e "s/localhost:9092/$broker/" -e "s/topic = \"sensor-data\"/topic = \"$topic\"/" \
                -e "s/group_id = \"sensord\"/group_id = \"$name\"/" -e "s/max_messages = 5;/max_messages = $batch;/" \
                -e 's/max_bytes = "10 KiB"/max_bytes = "1 MiB"/' -e 's/sink = "auto"/sink = "stdout"/' \
                -e "s/watermark = \"5 minutes\"/watermark = \"$watermark\"/" \
                -e "s|/var/lib/sensord|$work/state-$name|" "${extra[@]}" etc/sensord.conf >"$work/$name.conf"
}

# sensord_run NAME CONFIG... : records/s from first message to exit, and
# peak RSS (KiB); a group and a state directory of its own for each run
sensord_run() {
        local name=$1-$run
        config "$name" "${@:2}"
        /usr/bin/time -f "%M" -o "$work/$name.time" \
                "$BUILD/src/sensord" -c "$work/$name.conf" --available-now >/dev/null 2>"$work/$name.err"
        grep -q "messages=$RECORDS " "$work/$name.err" ||
                { echo "sensord ($name) did not consume $RECORDS messages:" >&2; tail -3 "$work/$name.err" >&2; exit 1; }
        local ms
        ms=$(sed -n 's/.*ms_since_first_message=\([0-9]*\).*/\1/p' "$work/$name.err")
        echo "$(awk -v n="$RECORDS" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / (ms > 0 ? ms : 1) }') $(cat "$work/$name.time")"
}

kcat_run() {
        /usr/bin/time -f "%e %M" -o "$work/kcat.time" kcat -C -b "$broker" -t load -e -q -o beginning -f '%s\n' \
                >"$work/kcat.out"
        [ "$(wc -l <"$work/kcat.out")" = "$RECORDS" ] || { echo "kcat did not read $RECORDS records" >&2; exit 1; }
        read -r s rss <"$work/kcat.time"
        echo "$(awk -v n="$RECORDS" -v s="$s" 'BEGIN { printf "%.0f", n / (s > 0 ? s : 0.01) }') $rss"
}

python_run() {
        /usr/bin/python3 tests/bench/python_windows.py "$broker" load >/dev/null 2>"$work/python.err"
        grep -q "records=$RECORDS " "$work/python.err" || { echo "python did not read $RECORDS records" >&2; exit 1; }
        sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$work/python.err" | awk -v n="$RECORDS" '{ printf "%.0f\n", n / $1 }'
}

# latency_run TOPIC [FETCH_WAIT_MS] : p50 p99 max (ms) of sensord live while
# records arrive at RATE/s, then its own share's p50 p99 max (us)
latency_run() {
        local name=$1-$run
        config "$name" "$name" 10000 "365 days" max_delay="10 ms"
        [ -z "${2:-}" ] || sed -i "s/^  properties = ( );/  properties = ( (\"fetch.wait.max.ms\", \"$2\") );/" "$work/$name.conf"
        "$BUILD/src/sensord" -c "$work/$name.conf" >/dev/null 2>"$work/$name.err" &
        local pid=$!
        pids+=("$pid")
        for _ in $(seq 300); do grep -q "assigned" "$work/$name.err" && break; sleep 0.1; done
        sleep 3 # fetching from the partitions' starting offsets
        "$BUILD/src/sensor-replay" -b "$broker" -t "$name" --rate "$RATE" --generate 1000 \
                --count $((RATE * LATENCY_S)) --seed "$run" 2>/dev/null
        sleep 1
        kill -TERM "$pid"
        wait "$pid"
        grep -q "messages=$((RATE * LATENCY_S)) " "$work/$name.err" ||
                { echo "sensord ($name) did not consume every record" >&2; exit 1; }
        for f in latency_ms_p50 latency_ms_p99 latency_ms_max own_us_p50 own_us_p99 own_us_max; do
                sed -n "s/.*summary:.* $f=\([0-9]*\).*/\1/p" "$work/$name.err"
        done | paste -sd' '
}

# scraped_run NAME ARGS... : sensord_run with metrics.listen on a free
# port, GET /metrics asked every second meanwhile (librdkafka's statistics
# every second too, as whenever metrics are on)
scraped_run() {
        local port
        port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        /usr/bin/python3 -c '
import sys, time, urllib.request
while True:
    time.sleep(1)
    try:
        urllib.request.urlopen(sys.argv[1], timeout=5).read()
    except OSError:
        pass' "http://127.0.0.1:$port/metrics" &
        local scraper=$!
        sensord_run "$@" listen="127.0.0.1:$port"
        kill "$scraper"
        wait "$scraper" 2>/dev/null
}

engine_run() {
        "$BUILD/tests/bench/engine" "$@" 2>/dev/null | tr ' ' '\n' | sed -n 's/^\(records_per_s\|bytes_per_key\)=//p' | paste -sd' '
}

declare -A samples
add() { samples[$1]+="$2"$'\n'; }
med() { printf '%s' "${samples[$1]}" | grep . | median; }

for run in $(seq "$RUNS"); do
        read -r rate rss < <(kcat_run)
        add kcat_rate "$rate"
        add kcat_rss "$rss"
        read -r rate rss < <(sensord_run big load 10000 "365 days")
        add big_rate "$rate"
        add big_rss "$rss"
        read -r rate rss < <(sensord_run small load 5 "365 days")
        add small_rate "$rate"
        add small_rss "$rss"
        read -r rate _ < <(scraped_run scraped-small load 5 "365 days")
        add scraped_small_rate "$rate"
        read -r rate rss < <(sensord_run distinct distinct 10000 "365 days")
        add distinct_rate "$rate"
        add distinct_rss "$rss"
        read -r rate rss < <(sensord_run w2 load 10000 "5 minutes" mode=append)
        add w2_rate "$rate"
        read -r rate rss < <(sensord_run w60 load 10000 "5 minutes" mode=append duration="1 hour" slide="1 minute")
        add w60_rate "$rate"
        add python_rate "$(python_run)"
        read -r p50 p99 max _ < <(latency_run latency)
        add latency_p50 "$p50"
        add latency_p99 "$p99"
        add latency_max "$max"
        read -r p50 p99 max own50 own99 ownmax < <(latency_run fastfetch 5)
        add fast_p50 "$p50"
        add fast_p99 "$p99"
        add fast_max "$max"
        add own_p50 "$own50"
        add own_p99 "$own99"
        add own_max "$ownmax"
        read -r rate _ < <(engine_run "$RECORDS" 1000 32 10000)
        add engine_rate "$rate"
        read -r rate _ < <(engine_run "$RECORDS" 1000 32 5)
        add engine_small_rate "$rate"
        read -r rate _ < <(engine_run "$RECORDS" 1000 32 10000 600000 300000 update 31536000000 nested-epoch-ms)
        add engine_nested_rate "$rate"
        for shape in flat nested-epoch-ms; do
                add "parse_$shape" "$(taskset -c 0 "$BUILD/tests/bench/parse" "$RECORDS" "$shape" 5 |
                        sed -n 's/.*records_per_s=\([0-9]*\).*/\1/p')"
        done
        read -r _ bytes < <(engine_run "$RECORDS" "$RECORDS" 32 10000)
        add engine_bytes_per_key "$bytes"
        # the real broker: the same functions with its address
        devbroker=$broker
        broker=$kafka_broker
        read -r rate rss < <(kcat_run)
        add kafka_kcat_rate "$rate"
        add kafka_kcat_rss "$rss"
        read -r rate rss < <(sensord_run kafka-big load 10000 "365 days")
        add kafka_big_rate "$rate"
        add kafka_big_rss "$rss"
        read -r rate rss < <(sensord_run kafka-small load 5 "365 days")
        add kafka_small_rate "$rate"
        add kafka_small_rss "$rss"
        read -r p50 p99 max own50 own99 ownmax < <(latency_run latency-kafka)
        add kafka_p50 "$p50"
        add kafka_p99 "$p99"
        add kafka_max "$max"
        add kafka_own_p99 "$own99"
        broker=$devbroker
done

# 6. footprint: both idle on a topic with no data, side by side
config idle idle 10000 "5 minutes"
"$BUILD/src/sensord" -c "$work/idle.conf" >/dev/null 2>"$work/idle.err" &
sensord_pid=$!
pids+=("$sensord_pid")
kcat -G bench-idle -b "$broker" -q -o end idle >/dev/null 2>&1 &
kcat_pid=$!
pids+=("$kcat_pid")
for _ in $(seq 300); do grep -q "assigned" "$work/idle.err" && break; sleep 0.1; done
sleep 5 # kcat joins too
start_rss=$(awk '/VmRSS/ { print $2 }' "/proc/$sensord_pid/status")
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
s0=$(cpu_ticks "$sensord_pid")
k0=$(cpu_ticks "$kcat_pid")
sleep "$IDLE"
idle_sensord_ms=$((($(cpu_ticks "$sensord_pid") - s0) * 1000 / $(getconf CLK_TCK)))
idle_kcat_ms=$((($(cpu_ticks "$kcat_pid") - k0) * 1000 / $(getconf CLK_TCK)))

cores=$(nproc)
cpu=$(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
kcat_rate=$(med kcat_rate)
/usr/bin/python3 - "$JSON" <<EOF
import json, sys
f = {
    "machine": {"cores": $cores, "cpu": "$cpu"},
    "records": $RECORDS, "runs": $RUNS, "idle_s": $IDLE,
    "kcat": {"records_per_s": $kcat_rate, "peak_rss_kib": $(med kcat_rss)},
    "sensord_10000": {"records_per_s": $(med big_rate), "peak_rss_kib": $(med big_rss)},
    "sensord_5": {"records_per_s": $(med small_rate), "peak_rss_kib": $(med small_rss)},
    "sensord_5_scraped": {"records_per_s": $(med scraped_small_rate)},
    "distinct": {"records_per_s": $(med distinct_rate), "peak_rss_kib": $(med distinct_rss),
                 "engine_bytes_per_live_entry": $(med engine_bytes_per_key)},
    "window_10m_5m_append": {"records_per_s": $(med w2_rate)},
    "window_1h_1m_append": {"records_per_s": $(med w60_rate)},
    "latency": {"records_per_s": $RATE, "seconds": $LATENCY_S, "p50_ms": $(med latency_p50),
                "p99_ms": $(med latency_p99), "max_ms": $(med latency_max)},
    "latency_fetch_wait_5ms": {"p50_ms": $(med fast_p50), "p99_ms": $(med fast_p99), "max_ms": $(med fast_max),
                               "own_p50_us": $(med own_p50), "own_p99_us": $(med own_p99), "own_max_us": $(med own_max)},
    "python": {"records_per_s": $(med python_rate)},
    "kafka": {"version": "$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)",
              "kcat": {"records_per_s": $(med kafka_kcat_rate), "peak_rss_kib": $(med kafka_kcat_rss)},
              "sensord_10000": {"records_per_s": $(med kafka_big_rate), "peak_rss_kib": $(med kafka_big_rss)},
              "sensord_5": {"records_per_s": $(med kafka_small_rate), "peak_rss_kib": $(med kafka_small_rss)},
              "latency": {"p50_ms": $(med kafka_p50), "p99_ms": $(med kafka_p99), "max_ms": $(med kafka_max),
                          "own_p99_us": $(med kafka_own_p99)}},
    "idle": {"start_rss_kib": $start_rss, "sensord_cpu_ms": $idle_sensord_ms, "kcat_g_cpu_ms": $idle_kcat_ms},
    "engine": {"records_per_s": $(med engine_rate), "records_per_s_5_message_batches": $(med engine_small_rate)},
    "shapes": {"parse_flat_records_per_s": $(med parse_flat), "parse_nested_records_per_s": $(med parse_nested-epoch-ms),
               "engine_nested_records_per_s": $(med engine_nested_rate)},
}
json.dump(f, open(sys.argv[1], "w"), indent=1)
k = f["kcat"]["records_per_s"]
mib = lambda kib: f"{kib / 1024:.0f} MiB"
print(f"machine: {f['machine']['cores']} cores, {f['machine']['cpu']}; {f['records']} records, median of {f['runs']} runs")
print(f"{'figure':<48} {'records/s':>10} {'ratio':>6} {'peak RSS':>9}")
rows = [
    ("1. raw kcat -C", f["kcat"], 1),
    ("1. sensord, 10,000-message batches", f["sensord_10000"], 1),
    ("2. sensord, 5-message batches", f["sensord_5"], 1),
    ("3. sensord, as many sensors as records", f["distinct"], 1),
]
for name, r, _ in rows:
    print(f"{name:<48} {r['records_per_s']:>10} {r['records_per_s'] / k:>6.2f} {mib(r['peak_rss_kib']):>9}")
w2, w60 = f["window_10m_5m_append"]["records_per_s"], f["window_1h_1m_append"]["records_per_s"]
d = f["distinct"]["records_per_s"] / f["sensord_10000"]["records_per_s"]
print(f"{'3. as many sensors as records, ratio to 1,000':<48} {'':>10} {d:>6.2f}")
print(f"{'3. bytes per live entry (engine)':<48} {f['distinct']['engine_bytes_per_live_entry']:>10}")
print(f"{'4. append, 10/5 min windows':<48} {w2:>10}")
print(f"{'4. append, 1 h / 1 min windows (ratio to 10/5)':<48} {w60:>10} {w60 / w2:>6.2f}")
lat = f["latency"]
print(f"{'5. latency ms at ' + str(lat['records_per_s']) + '/s: p50 / p99 / max':<48} {lat['p50_ms']:>10} / {lat['p99_ms']} / {lat['max_ms']}")
fl = f["latency_fetch_wait_5ms"]
print(f"{'5. the same, fetch.wait.max.ms 5: p50 / p99 / max':<48} {fl['p50_ms']:>10} / {fl['p99_ms']} / {fl['max_ms']}")
own = "5. of which sensord's own, us: p50 / p99 / max"
print(f"{own:<48} {fl['own_p50_us']:>10} / {fl['own_p99_us']} / {fl['own_max_us']}")
print(f"{'6. RSS at start, no data':<48} {'':>10} {'':>6} {mib(f['idle']['start_rss_kib']):>9}")
print(f"{'6. idle CPU ms over ' + str(f['idle_s']) + ' s: sensord / kcat -G':<48} {f['idle']['sensord_cpu_ms']:>10} / {f['idle']['kcat_g_cpu_ms']}")
print(f"{'7. engine only, no Kafka (one core)':<48} {f['engine']['records_per_s']:>10}")
print(f"{'7. the same, 5-message batches':<48} {f['engine']['records_per_s_5_message_batches']:>10}")
sh = f["shapes"]
print(f"{'8. parser alone, flat / nested-epoch-ms':<48} {sh['parse_flat_records_per_s']:>10} / {sh['parse_nested_records_per_s']} ({sh['parse_nested_records_per_s'] / sh['parse_flat_records_per_s']:.2f})")
print(f"{'8. engine, nested-epoch-ms (ratio to figure 7)':<48} {sh['engine_nested_records_per_s']:>10} {sh['engine_nested_records_per_s'] / f['engine']['records_per_s']:>6.2f}")
sc = f["sensord_5_scraped"]["records_per_s"]
print(f"{'9. figure 2 with /metrics scraped every 1 s (ratio)':<48} {sc:>10} {sc / f['sensord_5']['records_per_s']:>6.2f}")
py = f["python"]["records_per_s"]
print(f"{'Python script (confluent-kafka, a dict)':<48} {py:>10} {py / k:>6.2f}")
print(f"{'sensord (figure 1) over the Python script':<48} {f['sensord_10000']['records_per_s'] / py:>10.1f}")
ka = f["kafka"]
kk = ka["kcat"]["records_per_s"]
print(f"on Apache Kafka {ka['version']} (one node, same machine):")
for name, r in [("1. raw kcat -C", ka["kcat"]), ("1. sensord, 10,000-message batches", ka["sensord_10000"]),
                ("2. sensord, 5-message batches", ka["sensord_5"])]:
    print(f"{name:<48} {r['records_per_s']:>10} {r['records_per_s'] / kk:>6.2f} {mib(r['peak_rss_kib']):>9}")
kl = ka["latency"]
print(f"{'5. latency ms at ' + str(lat['records_per_s']) + '/s: p50 / p99 / max':<48} {kl['p50_ms']:>10} / {kl['p99_ms']} / {kl['max_ms']}")
print(f"figures in {sys.argv[1]}")
EOF
