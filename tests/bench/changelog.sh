#!/bin/bash
# What state.changelog_topic costs, on the devbroker. Not a test.
#   1. the extra cost of producing the changelog: RECORDS records of
#      RECORDS distinct sensors in 32 partitions, a 10-minute tumbling window
#      (one key a record: RECORDS live keys), --available-now with 10,000-
#      message batches and a checkpoint every second (each delta holds every
#      key changed since the last, here about a third of them), with and
#      without the changelog: rate (first message to the summary), the whole
#      run's wall time (with the group join, and the last checkpoint's
#      delivery at exit) and peak RSS, the median of RUNS alternating runs;
#   2. a restore: a fresh host (empty state directory) takes the 32
#      partitions over from the changelog the last run left: seconds from
#      its first assignment to the last partition restored, and the
#      changelog messages and bytes it read.
#   tests/bench/changelog.sh          (RECORDS=1000000 RUNS=3; BUILD=build)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RECORDS=${RECORDS:-1000000}
RUNS=${RUNS:-3}
. tests/bench/lib.sh
ninja -C "$BUILD" >/dev/null

topics=(keys:32)
for i in $(seq "$RUNS"); do topics+=("changelog$i:32"); done # as many partitions as the input
start_devbroker "${topics[@]}"
"$BUILD/src/sensor-replay" -b "$broker" -t keys --interval 0 --generate "$RECORDS" --distinct --count "$RECORDS" \
        --seed 1 2>"$work/replay.err"

# config NAME [CHANGELOG_TOPIC]: the shipped file, a group and a state
# directory of the run's own
config() {
        sed -e "s/brokers = \"localhost:9092\"/brokers = \"$broker\"/" -e 's/topic = "sensor-data";/topic = "keys";/' \
                -e "s/group_id = \"sensord\"/group_id = \"$1\"/" -e 's/max_messages = 5;/max_messages = 10000;/' \
                -e 's/max_bytes = "10 KiB";/max_bytes = "10 MiB";/' -e 's/slide = "5 minutes";/slide = "10 minutes";/' \
                -e 's/watermark = "5 minutes";/watermark = "365 days";/' \
                -e "s|directory = \"/var/lib/sensord\";|directory = \"$work/state-$1\";|" \
                -e "s|changelog_topic = \"\";|changelog_topic = \"${2:-}\";|" \
                -e 's/checkpoint_interval = "5 s";/checkpoint_interval = "1 s";/' \
                -e 's/max_keys = 1000000;/max_keys = 10000000;/' etc/sensord.conf >"$work/$1.conf"
}

# run NAME: records/s from the first message to the summary, peak RSS (KiB)
# and the wall time of the whole run (s)
run() {
        /usr/bin/time -f '%M %e' -o "$work/$1.time" "$BUILD/src/sensord" -c "$work/$1.conf" --available-now \
                --sink stdout >/dev/null 2>"$work/$1.err"
        grep -q "messages=$RECORDS " "$work/$1.err" ||
                { echo "$1 did not read $RECORDS messages:" >&2; tail -3 "$work/$1.err" >&2; exit 1; }
        local ms
        ms=$(sed -n 's/.*ms_since_first_message=\([0-9]*\).*/\1/p' "$work/$1.err")
        echo "$(awk -v n="$RECORDS" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / (ms > 0 ? ms : 1) }') $(cat "$work/$1.time")"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/plain"
: >"$work/changelog"
for i in $(seq "$RUNS"); do
        config "plain$i"
        run "plain$i" >>"$work/plain"
        config "changelog$i" "changelog$i"
        run "changelog$i" >>"$work/changelog"
done
plain_rate=$(cut -d' ' -f1 "$work/plain" | median)
plain_rss=$(cut -d' ' -f2 "$work/plain" | median)
plain_wall=$(cut -d' ' -f3 "$work/plain" | median)
cl_rate=$(cut -d' ' -f1 "$work/changelog" | median)
cl_rss=$(cut -d' ' -f2 "$work/changelog" | median)
cl_wall=$(cut -d' ' -f3 "$work/changelog" | median)

# the last run's partitions, restored by a host with an empty directory
last="changelog$RUNS"
sed "s|$work/state-$last|$work/state-fresh|" "$work/$last.conf" >"$work/fresh.conf"
/usr/bin/time -f '%M %e' -o "$work/fresh.time" "$BUILD/src/sensord" -c "$work/fresh.conf" --available-now \
        --sink stdout 2> >(/usr/bin/python3 tests/integration/stamp_lines.py >"$work/fresh.err") >/dev/null
sleep 0.5
restored=$(grep -c "restored from changelog" "$work/fresh.err" || true)
[ "$restored" = 32 ] || { echo "the fresh host restored $restored of 32 partitions" >&2; tail -5 "$work/fresh.err" >&2; exit 1; }
assigned_at=$(awk -F'\t' '/ assigned / { print $1; exit }' "$work/fresh.err")
restored_at=$(awk -F'\t' '/restored from changelog/ { t = $1 } END { print t }' "$work/fresh.err")
seconds=$(awk -v a="$assigned_at" -v r="$restored_at" 'BEGIN { printf "%.2f", r - a }')
read -r messages bytes < <(grep -o '([0-9]* messages, [0-9]* bytes read)' "$work/fresh.err" | tr -d '(),' |
        awk '{ n += $1; b += $3 } END { print n, b }')
keys_restored=$(awk -v n="$RECORDS" 'BEGIN { print n }')

echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "$RECORDS records of as many sensors, 32 partitions, 10-minute tumbling windows ($keys_restored live keys), medians of $RUNS runs"
printf '%-32s %12s %12s %12s\n' "" "records/s" "whole run" "peak RSS"
printf '%-32s %12s %10s s %8s MiB\n' "without a changelog" "$plain_rate" "$plain_wall" "$((plain_rss / 1024))"
printf '%-32s %12s %10s s %8s MiB\n' "with state.changelog_topic" "$cl_rate" "$cl_wall" "$((cl_rss / 1024))"
awk -v a="$cl_rate" -v b="$plain_rate" 'BEGIN { printf "%-32s %12.2f\n", "rate with / without", a / b }'
echo "restore of the 32 partitions by a fresh host: $seconds s from its assignment to the last partition restored,"
echo "  $messages changelog messages and $((bytes / 1024 / 1024)) MiB read; peak RSS $(($(cut -d' ' -f1 "$work/fresh.time") / 1024)) MiB"
