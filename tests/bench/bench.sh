#!/bin/bash
# Throughput, memory and per-record cost of sensord --available-now, against
# raw consumption of the same topic in the same run (kcat reading every
# message to /dev/null). Not a test: it asserts only that every record was
# consumed, and .ci/run does not run it.
#   tests/bench/bench.sh [RECORDS...]          (default: 100000 300000 1000000)
#   BUILD=build SENSORS=1000 PARTITIONS=32 tests/bench/bench.sh 1000000
# Columns: wall = whole run; proc = first message to exit (from sensord's
# summary: leaves out the ~3 s consumer-group join, which kcat does not do);
# cpu_us/rec = user + system time of the whole process per record; ratio =
# sensord's records/s over proc / kcat's records/s.
# The watermark is wider than the data (28 h of event time at 1M records) so
# that no pair is late however the partitions interleave: every record is
# aggregated and the state grows with the input.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SENSORS=${SENSORS:-1000}
PARTITIONS=${PARTITIONS:-32}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 300000 1000000)

work=$(mktemp -d)
devbroker=
cleanup() {
        [ -z "$devbroker" ] || { kill "$devbroker" 2>/dev/null; wait "$devbroker" 2>/dev/null || true; }
        rm -rf "$work"
}
trap cleanup EXIT

row() { # records run wall_s proc_s cpu_s rss_kib raw_rate
        awk -v n="$1" -v run="$2" -v wall="$3" -v proc="$4" -v cpu="$5" -v rss="$6" -v raw="$7" 'BEGIN {
                rate = n / proc
                printf "%-8d %-32s %7.2f %7.2f %10.0f %9.3f %10.3f %8.1f %6.2f\n", n, run, wall, proc, rate,
                        proc * 1e6 / n, cpu * 1e6 / n, rss / 1024, rate / raw }'
}

printf '%-8s %-32s %7s %7s %10s %9s %10s %8s %6s\n' records run wall_s proc_s records/s us/record cpu_us/rec rss_MiB ratio
for n in "${sizes[@]}"; do
        rm -f "$work/addr"
        "$BUILD/src/sensor-devbroker" --topic "bench:$PARTITIONS" --address-file "$work/addr" >/dev/null &
        devbroker=$!
        while [ ! -s "$work/addr" ]; do sleep 0.1; done
        broker=$(cat "$work/addr")
        "$BUILD/src/sensor-replay" -b "$broker" -t bench --interval 0 --generate "$SENSORS" --count "$n" --seed 1

        /usr/bin/time -f "%e %U %S %M" -o "$work/raw.time" \
                kcat -C -b "$broker" -t bench -e -q -o beginning -f '%s\n' >/dev/null
        read -r raw_s raw_user raw_sys raw_rss <"$work/raw.time"
        raw_rate=$(awk -v n="$n" -v s="$raw_s" 'BEGIN { print n / s }')
        row "$n" "raw (kcat)" "$raw_s" "$raw_s" "$(awk -v u="$raw_user" -v s="$raw_sys" 'BEGIN { print u + s }')" \
                "$raw_rss" "$raw_rate"

        # the example's batches; large batches; large batches with a deeper
        # librdkafka prefetch (through kafka.properties), which the devbroker needs
        for variant in 5 10000 10000+prefetch; do
                batch=${variant%+*}
                props=""
                [ "$variant" = "$batch" ] || props='("queued.min.messages", "1000000")'
                sed -e "s/localhost:9092/$broker/" -e 's/topic = "sensor-data"/topic = "bench"/' \
                        -e "s/group_id = \"sensord\"/group_id = \"bench-$variant\"/" \
                        -e "s/properties = ( );/properties = ( $props );/" \
                        -e "s/max_messages = 5;/max_messages = $batch;/" -e 's/max_bytes = "10 KiB"/max_bytes = "16 MiB"/' \
                        -e 's/sink = "auto"/sink = "stdout"/' -e 's/watermark = "5 minutes"/watermark = "2 days"/' \
                        -e "s|/var/lib/sensord|$work/state-$n-$variant|" etc/sensord.conf >"$work/bench.conf"
                /usr/bin/time -f "%e %U %S %M" -o "$work/sensord.time" \
                        "$BUILD/src/sensord" -c "$work/bench.conf" --available-now >/dev/null 2>"$work/err"
                read -r wall_s user_s sys_s rss <"$work/sensord.time"
                grep -q "messages=$n " "$work/err" || { echo "sensord did not consume $n messages" >&2; exit 1; }
                proc_ms=$(sed -n 's/.*ms_since_first_message=\([0-9]*\).*/\1/p' "$work/err")
                row "$n" "sensord max_messages=$variant" "$wall_s" "$(awk -v m="$proc_ms" 'BEGIN { print m / 1000 }')" \
                        "$(awk -v u="$user_s" -v s="$sys_s" 'BEGIN { print u + s }')" "$rss" "$raw_rate"
        done
        kill "$devbroker"
        wait "$devbroker" 2>/dev/null || true
        devbroker=
done
