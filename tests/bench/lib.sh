# lib.sh: what the benchmark scripts share, sourced after they cd to the
# source tree. $work is a directory of their own and $pids the processes
# they start; at exit every one of those is stopped and the directory goes.
work=$(mktemp -d)
pids=()
cleanup() {
        for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
        for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
        [ ! -d "$work/kafka" ] || scripts/kafka.sh stop "$work/kafka" || true
        rm -rf "$work"
}
trap cleanup EXIT

# start_devbroker TOPIC[:PARTITIONS]... : a sensor-devbroker of its own
# (errors in $work/devbroker.err); sets $broker to its address.
start_devbroker() {
        local args=()
        for t in "$@"; do args+=(--topic "$t"); done
        "$BUILD/src/sensor-devbroker" "${args[@]}" --address-file "$work/addr" >/dev/null 2>"$work/devbroker.err" &
        pids+=($!)
        for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.1; done
        [ -s "$work/addr" ] || { echo "sensor-devbroker did not start:" >&2; cat "$work/devbroker.err" >&2; exit 1; }
        broker=$(cat "$work/addr")
}

# start_kafka TOPIC[:PARTITIONS]... : a real Apache Kafka node of its own
# (scripts/kafka.sh), stopped at exit; sets $kafka_broker to its address.
start_kafka() {
        scripts/kafka.sh start "$work/kafka" >"$work/kafka.log" 2>&1 &&
                scripts/kafka.sh topics "$work/kafka" "$@" >>"$work/kafka.log" 2>&1 ||
                { echo "Apache Kafka did not start:" >&2; tail -5 "$work/kafka.log" >&2; exit 1; }
        kafka_broker=$(cat "$work/kafka/bootstrap")
}
