#!/bin/bash
# The peers benchmark: sensord beside the systems users would run instead,
# on the same real Apache Kafka node (scripts/kafka.sh), the same topic of
# RECORDS generated readings (1,000 sensors, keyed by sensor, in 8
# partitions) and the same windows: 10 minutes every 5, 5 minutes of
# lateness. One at a time, each reads the whole topic and writes its rows:
#   sensord     --available-now, batches of BATCH (10,000) messages, rows to
#               a Kafka topic only (output.kafka_topic, sink "none"), and
#               window.watermark_scope = "partition": librdkafka hands over
#               a backlog partition by partition, fetch by fetch, so one
#               watermark for the process would find most of the lagging
#               partitions' records late (75 % of them in a trial), where
#               Spark reads each batch evenly across the partitions;
#   spark       the corrected Spark job (spark_job.py, pyspark 4.2.0 from
#               scripts/spark.sh), local[2], maxOffsetsPerTrigger BATCH,
#               Trigger.AvailableNow, rows to a Kafka topic;
#   streams     Kafka Streams 4.4.0 (streams/SensorWindows.java, 2 stream
#               threads), hopping windows with a grace of 5 minutes, a
#               256 MiB record cache and a 1 s commit interval, so that it
#               writes about one row per window and commit, as update mode
#               does per batch;
#   quix        Quix Streams 3.28.1 (quix_job.py), hopping_window().current():
#               a row per record and window;
#   flink       PyFlink 2.2.0 (flink_job.py), Flink SQL's HOP window over a
#               bounded Kafka source, parallelism 2: a row per window, once,
#               when it is final (append mode);
#   python      the plain Python loop of tests/bench/python_windows.py
#               (confluent-kafka from Debian), rows to stdout.
# For each: records/s from the first record read to the last row written
# (the last row's LogAppendTime in its output topic; the python loop's own
# clock; Flink's first record is its job's submission, start-up included), CPU seconds per million records over the whole process tree, the
# peak of the tree's summed RSS (measure.py), and whether its final
# aggregate of every (window, sensor), the row with the highest count,
# equals check.py's model of all the data (none is late here: event time
# rises 100 ms per record with 2 s of jitter).
#   tests/bench/peers/run.sh                          (RECORDS=1000000)
#   RECORDS=100000 PEERS="sensord spark" tests/bench/peers/run.sh
# Downloads, once, into .cache (ignored by git): Kafka and Spark through
# their scripts, Kafka Streams' jars with Maven (streams/pom.xml), Quix
# Streams and PyFlink into venvs, Flink's Kafka connector with Maven.
# Prints a table and writes JSON (JSON=FILE).
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
RECORDS=${RECORDS:-1000000}
BATCH=${BATCH:-10000}
PEERS=${PEERS:-sensord spark streams quix flink python}
JSON=${JSON:-$BUILD/peers.json}
HERE=tests/bench/peers
STREAMS_VERSION=$(sed -n 's:.*<streams.version>\(.*\)</streams.version>.*:\1:p' $HERE/streams/pom.xml)
STREAMS=$PWD/.cache/peers/streams-$STREAMS_VERSION
QUIX_VERSION=3.28.1
QUIX=$PWD/.cache/peers/quix-$QUIX_VERSION
FLINK_VERSION=2.2.0
FLINK_CONNECTOR=org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2
FLINK=$PWD/.cache/peers/flink-$FLINK_VERSION

scripts/install-deps.sh >&2
# javac for the Kafka Streams peer, which the tests do not need
if ! command -v javac >/dev/null; then
        $([ "$(id -u)" -eq 0 ] || echo sudo) apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless >&2
fi
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null

# --- the peers, fetched once --------------------------------------------------
fetch_streams() {
        [ -f "$STREAMS/.complete" ] && return 0
        rm -rf "$STREAMS.tmp"
        mvn -q -B -f $HERE/streams/pom.xml dependency:copy-dependencies -DoutputDirectory="$STREAMS.tmp/jars" >&2
        javac -d "$STREAMS.tmp/classes" -cp "$STREAMS.tmp/jars/*" $HERE/streams/SensorWindows.java
        rm -rf "$STREAMS"
        mv "$STREAMS.tmp" "$STREAMS"
        touch "$STREAMS/.complete"
}
# venv DIR PACKAGE : a venv in DIR with PACKAGE from PyPI
venv() {
        rm -rf "$1"
        /usr/bin/python3 -m venv "$1"
        "$1/bin/pip" install -q --disable-pip-version-check "$2" >&2
}
fetch_quix() {
        [ -f "$QUIX/.complete" ] && return 0
        venv "$QUIX" "quixstreams==$QUIX_VERSION"
        touch "$QUIX/.complete"
}
fetch_flink() {
        [ -f "$FLINK/.complete" ] && return 0
        rm -rf "$FLINK"
        venv "$FLINK/venv" "apache-flink==$FLINK_VERSION"
        mvn -q -B dependency:copy -Dartifact="$FLINK_CONNECTOR" -DoutputDirectory="$FLINK/jars" >&2
        touch "$FLINK/.complete"
}
for peer in $PEERS; do
        case $peer in
        spark) scripts/spark.sh fetch ;;
        streams) fetch_streams ;;
        quix) fetch_quix ;;
        flink) fetch_flink ;;
        sensord | python) ;;
        *) echo "unknown peer $peer (sensord spark streams quix flink python)" >&2; exit 64 ;;
        esac
done
# (javac again when the source is newer than the cached classes)
if [[ " $PEERS " == *" streams "* ]] && [ $HERE/streams/SensorWindows.java -nt "$STREAMS/classes/SensorWindows.class" ]; then
        javac -d "$STREAMS/classes" -cp "$STREAMS/jars/*" $HERE/streams/SensorWindows.java
fi

. tests/bench/lib.sh
start_kafka sensor-data:8
broker=$kafka_broker
# the output topics stamp each row with the time the broker appended it
/usr/bin/python3 - "$broker" $PEERS <<'PY'
import sys
from kafka.admin import KafkaAdminClient, NewTopic
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1])
admin.create_topics([NewTopic(f"out-{p}", 8, 1, topic_configs={"message.timestamp.type": "LogAppendTime"})
                     for p in sys.argv[2:] if p != "python"])
admin.close()
PY
"$BUILD/src/sensor-replay" -b "$broker" -t sensor-data --interval 0 --generate 1000 --count "$RECORDS" --seed 1 \
        -X linger.ms=50 2>/dev/null
kcat -C -b "$broker" -t sensor-data -e -q -f '%s\n' >"$work/values.txt"
[ "$(wc -l <"$work/values.txt")" = "$RECORDS" ] || { echo "the topic does not hold $RECORDS records" >&2; exit 1; }

now_ms() { date +%s%3N; }

# last_row_ms TOPIC : the LogAppendTime of the topic's last row, and its rows in $work/TOPIC.jsonl
last_row_ms() {
        kcat -C -b "$broker" -t "$1" -e -q -f '%T %s\n' >"$work/$1.stamped"
        cut -d' ' -f2- "$work/$1.stamped" >"$work/$1.jsonl"
        cut -d' ' -f1 "$work/$1.stamped" | sort -n | tail -n 1
}

# exact_or_not ROWS : "yes" when the highest-count row of every (window,
# sensor) equals the model's aggregate of all the data, else "no" (why: in
# $work/check-*.log)
exact_or_not() {
        if /usr/bin/python3 tests/integration/check.py final-equal --highest-count "$1" "$work/values.txt" \
                >"$work/check-$(basename "$1").log" 2>&1; then
                echo yes
        else
                echo no
        fi
}

results=()
# report PEER FIRST_MS LAST_MS ROWS_FILE : one line of results
report() {
        local peer=$1 first=$2 last=$3 rows=$4 cpu rss exact
        read -r cpu rss < <(sed -n 's/cpu_s=\([0-9.]*\) peak_rss_kib=\([0-9]*\).*/\1 \2/p' "$work/$peer.measure")
        exact=$(exact_or_not "$rows")
        results+=("$peer $((last - first)) $cpu $rss $exact $(wc -l <"$rows")")
        echo "$peer: $((last - first)) ms, cpu $cpu s, peak rss $rss KiB, exact $exact, $(wc -l <"$rows") rows" >&2
}

measure() { # NAME COMMAND... : runs it under measure.py
        local name=$1
        shift
        /usr/bin/python3 $HERE/measure.py "$work/$name.measure" -- "$@"
}

run_sensord() {
        sed -e "s/localhost:9092/$broker/" -e 's/group_id = "sensord"/group_id = "sensord-peer"/' \
                -e "s/max_messages = 5;/max_messages = $BATCH;/" -e 's/max_bytes = "10 KiB"/max_bytes = "16 MiB"/' \
                -e 's/sink = "auto"/sink = "none"/' -e 's/kafka_topic = ""/kafka_topic = "out-sensord"/' \
                -e 's/watermark_scope = "process"/watermark_scope = "partition"/' \
                -e "s|/var/lib/sensord|$work/state-sensord|" etc/sensord.conf >"$work/sensord.conf"
        grep -q 'kafka_topic = "out-sensord"' "$work/sensord.conf" && grep -q 'watermark_scope = "partition"' "$work/sensord.conf" ||
                { echo "etc/sensord.conf changed shape" >&2; exit 1; }
        measure sensord "$BUILD/src/sensord" -c "$work/sensord.conf" --available-now >/dev/null 2>"$work/sensord.err"
        local end ms
        end=$(now_ms)
        ms=$(sed -n 's/.*ms_since_first_message=\([0-9]*\).*/\1/p' "$work/sensord.err")
        report sensord $((end - ms)) "$(last_row_ms out-sensord)" "$work/out-sensord.jsonl"
}

run_spark() {
        measure spark scripts/spark.sh run $HERE/spark_job.py --bootstrap "$broker" --topic sensor-data \
                --out-topic out-spark --max-offsets "$BATCH" --checkpoint "$work/spark-checkpoint" \
                >/dev/null 2>"$work/spark.err"
        report spark "$(sed -n 's/.*first_record_ms=\([0-9]*\).*/\1/p' "$work/spark.err")" \
                "$(last_row_ms out-spark)" "$work/out-spark.jsonl"
}

run_streams() {
        measure streams java -Xmx2g -Djava.io.tmpdir="$work" -cp "$STREAMS/jars/*:$STREAMS/classes" SensorWindows \
                "$broker" sensor-data out-streams "$RECORDS" 2 >/dev/null 2>"$work/streams.err"
        report streams "$(sed -n 's/.*first_record_ms=\([0-9]*\).*/\1/p' "$work/streams.err")" \
                "$(last_row_ms out-streams)" "$work/out-streams.jsonl"
}

run_quix() {
        measure quix "$QUIX/bin/python" $HERE/quix_job.py "$broker" sensor-data out-quix "$RECORDS" "$work/quix-state" \
                >/dev/null 2>"$work/quix.err"
        report quix "$(sed -n 's/.*first_record_ms=\([0-9]*\).*/\1/p' "$work/quix.err")" \
                "$(last_row_ms out-quix)" "$work/out-quix.jsonl"
}

run_flink() {
        measure flink "$FLINK/venv/bin/python" $HERE/flink_job.py "$broker" sensor-data out-flink \
                "$(ls "$FLINK"/jars/flink-sql-connector-kafka-*.jar)" 2 >/dev/null 2>"$work/flink.err"
        report flink "$(sed -n 's/.*first_record_ms=\([0-9]*\).*/\1/p' "$work/flink.err")" \
                "$(last_row_ms out-flink)" "$work/out-flink.jsonl"
}

run_python() {
        measure python /usr/bin/python3 tests/bench/python_windows.py "$broker" sensor-data \
                >"$work/python.jsonl" 2>"$work/python.err"
        local s
        s=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$work/python.err")
        report python 0 "$(awk -v s="$s" 'BEGIN { printf "%.0f", s * 1000 }')" "$work/python.jsonl"
}

for peer in $PEERS; do
        echo "--- $peer" >&2
        "run_$peer" || { echo "$peer failed; its log:" >&2; tail -n 20 "$work/$peer.err" >&2; exit 1; }
done

printf '%s\n' "${results[@]}" >"$work/results"
/usr/bin/python3 - "$RECORDS" "$JSON" "$work/results" <<'PY'
import json, sys
records, out = int(sys.argv[1]), sys.argv[2]
rows = {}
for line in open(sys.argv[3]):
    peer, ms, cpu, rss, exact, n = line.split()
    rows[peer] = {"records_per_s": round(records * 1000 / max(int(ms), 1)), "cpu_s_per_million": round(float(cpu) * 1e6 / records, 2),
                  "peak_rss_mib": round(int(rss) / 1024, 1), "exact": exact == "yes", "rows": int(n)}
s = rows.get("sensord")
print(f"{records} records in 8 partitions, one Kafka node, 2 cores")
print(f"{'peer':<10} {'records/s':>10} {'sensord/peer':>12} {'CPU s/1M':>9} {'peak RSS MiB':>13} {'RSS peer/sensord':>16} {'rows':>9}  exact")
for peer, r in rows.items():
    ratio = f"{s['records_per_s'] / r['records_per_s']:.1f}" if s else "-"
    mem = f"{r['peak_rss_mib'] / s['peak_rss_mib']:.1f}" if s else "-"
    print(f"{peer:<10} {r['records_per_s']:>10} {ratio:>12} {r['cpu_s_per_million']:>9} {r['peak_rss_mib']:>13} {mem:>16} "
          f"{r['rows']:>9}  {'yes' if r['exact'] else 'no'}")
json.dump({"records": records, "peers": rows}, open(out, "w"), indent=2)
PY
