#!/bin/bash
# The main job, end to end, on one machine: installs missing packages,
# builds, starts a sensor-devbroker on 127.0.0.1, starts sensord with the
# example's configuration, replays the sample data one record every 0.5 s
# (like the example's producer) and shows sensord's windowed results as
# they update. Everything it starts, it stops.
#   scripts/demo.sh [--format json|table]   (default: table, like Spark's console)
set -euo pipefail
cd "$(dirname "$0")/.."
format=table
[ "${1:-}" = "--format" ] && format=${2:?json or table}

scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
        for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
        rm -rf "$work"
}
trap cleanup EXIT

build/src/sensor-devbroker --topic sensor-data:1 --address-file "$work/broker" >/dev/null &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/broker" ] && break; sleep 0.1; done
broker=$(cat "$work/broker")
echo "sensor-devbroker on $broker"

sed -e "s/brokers = \"localhost:9092\"/brokers = \"$broker\"/" -e 's/sink = "auto"/sink = "stdout"/' \
        -e "s/format = \"json\"/format = \"$format\"/" -e "s|/var/lib/sensord|$work|" \
        etc/sensord.conf >"$work/sensord.conf"
build/src/sensord -c "$work/sensord.conf" 2> >(tee "$work/sensord.log" >&2) &
sensord_pid=$!
pids=("$sensord_pid" "${pids[@]}")
for _ in $(seq 300); do # the consumer group join takes about 3 s
        grep -q "assigned 1 partition" "$work/sensord.log" 2>/dev/null && break
        sleep 0.1
done

echo "replaying ../shared/data/seed.json, one record every 0.5 s"
build/src/sensor-replay -b "$broker" ../shared/data/seed.json
sleep 2 # the last batch closes 1 s (batch.max_delay) after its first record
kill -TERM "$sensord_pid"
wait "$sensord_pid" || true
