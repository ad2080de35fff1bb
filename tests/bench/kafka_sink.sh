#!/bin/bash
# What producing the results to Kafka costs: sensord --available-now over
# RECORDS generated records (default 1,000,000; 1000 sensors, 32 partitions),
# 10,000-message batches, rows to stdout (/dev/null) against rows to a
# Kafka topic (output.sink "none"), 3 alternating runs each. Not a test;
# .ci/run does not run it.
#   tests/bench/kafka_sink.sh                  (BUILD=build RECORDS=1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RECORDS=${RECORDS:-1000000}
. tests/bench/lib.sh
start_devbroker bench:32 results:8
"$BUILD/src/sensor-replay" -b "$broker" -t bench --interval 0 --generate 1000 --count "$RECORDS" --seed 1 2>/dev/null

printf '%-8s %3s %10s %10s %10s %9s\n' output run ms records/s rows rss_MiB
for i in 1 2 3; do
        for output in stdout kafka; do
                sink=stdout topic=""
                [ "$output" = kafka ] && sink=none topic=results
                cat >"$work/$output$i.conf" <<CONF
kafka = { brokers = "$broker"; topic = "bench"; group_id = "$output$i";
          properties = ( ("session.timeout.ms", "6000") ); };
batch = { max_messages = 10000; max_bytes = "1 MiB"; max_delay = "1 s"; };
window = { watermark = "365 days"; };
output = { sink = "$sink"; kafka_topic = "$topic"; };
state = { directory = "$work/state-$output$i"; };
CONF
                /usr/bin/time -f "%M" -o "$work/$output$i.rss" \
                        "$BUILD/src/sensord" -c "$work/$output$i.conf" --available-now >/dev/null 2>"$work/$output$i.err"
                summary=$(grep "summary:" "$work/$output$i.err")
                ms=$(sed -n 's/.* ms_since_first_message=\([0-9]*\).*/\1/p' <<<"$summary")
                rows=$(sed -n "s/.* $([ "$output" = kafka ] && echo produced_rows || echo rows)=\([0-9]*\).*/\1/p" <<<"$summary")
                printf '%-8s %3d %10d %10d %10d %9d\n' "$output" "$i" "$ms" $((RECORDS * 1000 / ms)) "$rows" \
                        $(($(cat "$work/$output$i.rss") / 1024))
        done
done
