#!/bin/bash
# Bounded memory under a flood of new sensor ids: RECORDS records (default
# 10,000,000), each with its own sensor id, stream into a running sensord
# whose state.max_keys is MAX_KEYS (default 1,000,000). The watermark is a
# year, so no window closes and every (window, sensor) pair wants a key:
# the state fills up to max_keys and the rest is dropped and counted. Not a
# test (.ci/run does not run it); it fails only when records go missing or
# the peak RSS exceeds the README's bound (see README, "Bounded memory"):
#   bound = (300 + 3 x sensor_id length) bytes x max_keys + 80 MiB
#   tests/bench/flood.sh                       (BUILD=build RATE=100000 PARTITIONS=64)
# The devbroker keeps about 5 MB per partition, so the records are produced
# at RATE per second while sensord reads them, rather than loaded first.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RECORDS=${RECORDS:-10000000}
MAX_KEYS=${MAX_KEYS:-1000000}
RATE=${RATE:-100000}
PARTITIONS=${PARTITIONS:-64}
last_id=$((RECORDS - 1))
ID_LEN=$((7 + ${#last_id})) # "sensor_" and the digits
PER_KEY=$((300 + 3 * ID_LEN))
FIXED_MIB=80

. tests/bench/lib.sh
start_devbroker "flood:$PARTITIONS"
/usr/bin/python3 tests/integration/notify_listener.py "$work/notify.sock" "$work/notify.log" &
pids+=($!)
while [ ! -S "$work/notify.sock" ]; do sleep 0.1; done
cat >"$work/sensord.conf" <<EOF
kafka = { brokers = "$broker"; topic = "flood"; group_id = "flood"; };
batch = { max_messages = 10000; max_bytes = "1 MiB"; max_delay = "100ms"; };
window = { duration = "10 minutes"; slide = "5 minutes"; watermark = "365 days"; };
output = { sink = "stdout"; };
state = { directory = "$work/state"; max_keys = $MAX_KEYS; };
EOF
NOTIFY_SOCKET="$work/notify.sock" "$BUILD/src/sensord" -c "$work/sensord.conf" >/dev/null 2>"$work/sensord.err" &
sensord=$!
pids+=("$sensord")
until grep -q "assigned $PARTITIONS partition" "$work/sensord.err"; do sleep 0.2; done
start_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$sensord/status")

start=$(date +%s.%N)
"$BUILD/src/sensor-replay" -b "$broker" -t flood --rate "$RATE" --generate "$RECORDS" --distinct \
        --count "$RECORDS" 2>"$work/replay.err"
# until STATUS= has counted every record; a count that stands still for
# 30 s means records were lost (the devbroker dropped what sensord had not
# read yet: lower RATE)
last= still=0
while ! grep -q "STATUS=$RECORDS records" "$work/notify.log"; do
        sleep 1
        kill -0 "$sensord" || { cat "$work/sensord.err" >&2; exit 1; }
        now=$(grep "STATUS=" "$work/notify.log" | tail -n 1 | sed 's/.*STATUS=\([0-9]*\) records.*/\1/')
        if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; fi
        last=$now
        [ "$still" -lt 30 ] || { echo "FAIL: sensord stopped at $now of $RECORDS records" >&2; exit 1; }
done
end=$(date +%s.%N)
peak_kib=$(awk '/^VmHWM/ { print $2 }' "/proc/$sensord/status")
status=$(grep "STATUS=" "$work/notify.log" | tail -n 1)
kill -TERM "$sensord"
wait "$sensord"
summary=$(grep "summary:" "$work/sensord.err")
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$summary"; }
bound_kib=$(((PER_KEY * MAX_KEYS) / 1024 + FIXED_MIB * 1024))

printf 'machine:        %s cores, %s\n' "$(nproc)" "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
printf 'records:        %s (%s distinct sensor ids) at %s/s, in %.0f s\n' "$(field messages)" "$RECORDS" "$RATE" \
        "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
printf 'state:          %s\n' "${status#*STATUS=}"
printf 'dropped pairs:  %s (state.max_keys %s)\n' "$(field dropped_pairs)" "$MAX_KEYS"
printf 'RSS at start:   %.1f MiB\n' "$(awk -v k="$start_rss" 'BEGIN { print k / 1024 }')"
printf 'peak RSS:       %.1f MiB (bound %.1f MiB = %s B x %s + %s MiB)\n' \
        "$(awk -v k="$peak_kib" 'BEGIN { print k / 1024 }')" "$(awk -v k="$bound_kib" 'BEGIN { print k / 1024 }')" \
        "$PER_KEY" "$MAX_KEYS" "$FIXED_MIB"
[ "$(field messages)" = "$RECORDS" ] || { echo "FAIL: $(field messages) of $RECORDS records read" >&2; exit 1; }
[ "$peak_kib" -le "$bound_kib" ] || { echo "FAIL: the peak RSS is over the bound" >&2; exit 1; }
echo "within the bound"
