#!/bin/bash
# The main job, end to end, on one machine: installs missing packages,
# builds, starts a sensor-devbroker on 127.0.0.1, starts sensord with the
# example's configuration, replays the sample data one record every 0.5 s
# (like the example's producer) and shows sensord's windowed results as
# they update. Everything it starts, it stops.
#   scripts/demo.sh [--format json|table] [--shape flat|nested-epoch-ms|key-timestamp]
# (default: table, like Spark's console; flat records, like the example's).
# --shape sends the sample data in another record shape (sensor-replay
# --shape) and sets sensord's input settings to read it: the same windows.
set -euo pipefail
cd "$(dirname "$0")/.."
format=table
shape=flat
while [ $# -gt 0 ]; do
        case "$1" in
        --format) format=${2:?json or table} ;;
        --shape) shape=${2:?flat, nested-epoch-ms or key-timestamp} ;;
        *) echo "usage: scripts/demo.sh [--format json|table] [--shape SHAPE]" >&2; exit 64 ;;
        esac
        shift 2
done
case "$shape" in
flat) input='' ;;
nested-epoch-ms) input='sensor_id = "device.id"; value = "metrics.temp"; timestamp = "ts"; timestamp_format = "epoch_ms";' ;;
key-timestamp) input='sensor_id = "@key"; value = "value"; timestamp = "@timestamp";' ;;
*) echo "scripts/demo.sh: unknown shape $shape" >&2; exit 64 ;;
esac

scripts/install-deps.sh --build
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
if [ -n "$input" ]; then # the shipped file's input group, replaced
        /usr/bin/python3 - "$work/sensord.conf" "$input" <<'PY'
import re, sys
path, settings = sys.argv[1], sys.argv[2]
text = open(path).read()
text, n = re.subn(r"^input = \{.*?^\};", "input = { " + settings + " };", text, flags=re.S | re.M)
assert n == 1, "no input group in the shipped file"
open(path, "w").write(text)
PY
        echo "records in the $shape shape; sensord reads them with input = { $input }"
fi
build/src/sensord -c "$work/sensord.conf" 2> >(tee "$work/sensord.log" >&2) &
sensord_pid=$!
pids=("$sensord_pid" "${pids[@]}")
for _ in $(seq 300); do # the consumer group join takes about 3 s
        grep -q "assigned 1 partition" "$work/sensord.log" 2>/dev/null && break
        sleep 0.1
done

echo "replaying ../shared/data/seed.json, one record every 0.5 s"
build/src/sensor-replay -b "$broker" --shape "$shape" ../shared/data/seed.json
sleep 2 # the last batch closes 1 s (batch.max_delay) after its first record
kill -TERM "$sensord_pid"
wait "$sensord_pid" || true
