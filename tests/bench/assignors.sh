#!/bin/bash
# What a rebalance costs with a changelog under each assignor, on a real
# Apache Kafka node (scripts/kafka.sh). Not a test; .ci/run does not run it.
# RECORDS records of SENSORS sensors in 24 partitions are read by two
# hosts, with RATE more a second streaming in throughout; then a third
# host joins, and later leaves. For each event:
#   settle_ms      from the event until every partition is held again and
#                  none restores (each host's metrics, polled every 100 ms)
#   restored       partitions restored (from local files or the changelog)
#   changelog_MiB  what the changelog topic's log grew by, beyond its growth
#                  over as long a quiet time just before: mostly the
#                  snapshot each new holder of a partition writes first
# under the eager protocol ("range,roundrobin") and cooperative-sticky
# (sensord's default with a changelog from librdkafka 2.10 on), each set.
#   tests/bench/assignors.sh          (RECORDS=300000 SENSORS=30000 RATE=2000; BUILD=build)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RECORDS=${RECORDS:-300000}
RATE=${RATE:-2000}
SENSORS=${SENSORS:-30000}
. tests/bench/lib.sh
ninja -C "$BUILD" >/dev/null

start_kafka as-in:24
"$BUILD/src/sensor-replay" -b "$kafka_broker" -t as-in --interval 0 --generate "$SENSORS" --count "$RECORDS" \
        --seed 1 2>"$work/replay.err"

port_base=$((20000 + RANDOM % 20000))
# host ASSIGNOR N : a sensord in group g-ASSIGNOR, metrics on port_base+N
host() {
        local assignor=$1 n=$2 props=""
        [ "$assignor" = eager ] && props=', ("partition.assignment.strategy", "range,roundrobin")'
        # (sensord's default only from librdkafka 2.10 on)
        [ "$assignor" = cooperative ] && props=', ("partition.assignment.strategy", "cooperative-sticky")'
        cat >"$work/$assignor$n.conf" <<CONF
kafka = { brokers = "$kafka_broker"; topic = "as-in"; group_id = "g-$assignor";
          properties = ( ("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "500")$props ); };
batch = { max_messages = 10000; max_bytes = "4 MiB"; max_delay = "200ms"; };
window = { watermark = "365 days"; };
output = { sink = "stdout"; };
state = { directory = "$work/state-$assignor$n"; checkpoint_interval = "1 s"; changelog_topic = "cl-$assignor"; };
metrics = { listen = "127.0.0.1:$((port_base + n))"; };
CONF
        "$BUILD/src/sensord" -c "$work/$assignor$n.conf" >/dev/null 2>"$work/$assignor$n.err" &
        pids+=($!)
        eval "pid_$assignor$n=$!"
}

# metric NAME HOSTS... : the sum over the hosts' metrics
metric() {
        local name=$1 sum=0 v
        shift
        for n in "$@"; do
                v=$(curl -s "http://127.0.0.1:$((port_base + n))/metrics" | awk -v m="$name" '$1 == m {print $2}')
                sum=$(awk -v a="$sum" -v b="${v:-0}" 'BEGIN {printf "%.0f", a + b}')
        done
        echo "$sum"
}

restored_lines() { cat "$work"/"$1"*.err | grep -c "state restored" || true; }

# settle ASSIGNOR HOSTS... : until the hosts hold all 24 partitions and
# none restores, for at most 120 s
settle() {
        local assignor=$1
        shift
        for _ in $(seq 1200); do
                [ "$(metric sensord_partitions_held "$@")" = 24 ] &&
                        [ "$(metric sensord_partitions_restoring "$@")" = 0 ] && return 0
                sleep 0.1
        done
        echo "$assignor: hosts $* did not settle in 120 s" >&2
        exit 1
}

# changelog_bytes ASSIGNOR : the bytes of its changelog topic's log on the broker
changelog_bytes() { du -sb "$work/kafka/node-1/data/cl-$1"-* | awk '{s += $1} END {print s}'; }

# measure ASSIGNOR EVENT ACTION HOSTS_AFTER... : the changelog's growth over
# 5 quiet seconds, then runs ACTION, waits for the hosts after it to settle
# and 3 s more, and prints a row: what the changelog grew by beyond the
# quiet rate is the rebalance's
measure() {
        local assignor=$1 event=$2 action=$3
        shift 3
        local b0 b1 b2 restored0 t0 t1 t2
        b0=$(changelog_bytes "$assignor")
        sleep 5
        b1=$(changelog_bytes "$assignor")
        restored0=$(restored_lines "$assignor")
        t0=$(date +%s%N)
        eval "$action"
        sleep 0.5 # the rebalance begins
        settle "$assignor" "$@"
        t1=$(date +%s%N)
        sleep 3 # the first checkpoints of the new holders
        t2=$(date +%s%N)
        b2=$(changelog_bytes "$assignor")
        printf '%-12s %-6s %10d %9d %12.2f\n' "$assignor" "$event" $(((t1 - t0) / 1000000)) \
                $(($(restored_lines "$assignor") - restored0)) \
                "$(awk -v b0="$b0" -v b1="$b1" -v b2="$b2" -v d="$(((t2 - t0) / 1000000))" \
                        'BEGIN {print (b2 - b1 - (b1 - b0) * d / 5000) / 1048576}')"
}

printf '%-12s %-6s %10s %9s %12s\n' assignor event settle_ms restored changelog_MiB
# records keep coming while the hosts rebalance (RATE a second)
"$BUILD/src/sensor-replay" -b "$kafka_broker" -t as-in --generate "$SENSORS" --count 100000000 --rate "$RATE" \
        --seed 2 2>"$work/stream.err" &
pids+=($!)
for assignor in eager cooperative; do
        host "$assignor" 1
        host "$assignor" 2
        settle "$assignor" 1 2
        for _ in $(seq 600); do # caught up: every record read
                [ "$(metric sensord_messages_total 1 2)" -ge "$RECORDS" ] && break # and the stream's
                sleep 0.1
        done
        sleep 3 # the checkpoints after the catch-up
        measure "$assignor" join "host $assignor 3" 1 2 3
        pid_var=pid_${assignor}3
        measure "$assignor" leave "kill -TERM ${!pid_var}; wait ${!pid_var}" 1 2
        for n in 1 2; do
                pid_var=pid_$assignor$n
                kill -TERM "${!pid_var}"
                wait "${!pid_var}"
        done
done
[ -z "${KEEP_LOGS:-}" ] || cp "$work"/*.err "$KEEP_LOGS"/
