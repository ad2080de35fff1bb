#!/bin/bash
# A real Apache Kafka cluster (KRaft) on 127.0.0.1, for the tests and the
# benchmarks. The broker's jars are pinned in scripts/kafka/pom.xml and
# fetched once, with Maven, into .cache/kafka/VERSION (ignored by git).
#
#   scripts/kafka.sh fetch                 the jars, if not cached yet
#   scripts/kafka.sh start DIR [--nodes 1|3]
#                                          format and start the nodes, each a
#                                          broker and a controller, on ports of
#                                          their own; wait until every broker
#                                          serves metadata; DIR/bootstrap holds
#                                          the bootstrap address
#   scripts/kafka.sh stop DIR              stop every node started in DIR
#   scripts/kafka.sh node DIR N stop|kill|pause|resume|start
#                                          one node: SIGTERM and wait, SIGKILL,
#                                          SIGSTOP, SIGCONT, or start it again
#   scripts/kafka.sh wait DIR [BROKERS]    until BROKERS (default all) serve metadata
#   scripts/kafka.sh topics DIR NAME[:PARTITIONS]...
#                                          create topics (one partition unless
#                                          given), replicated on every node
#
# What a small test broker needs, and nothing that hides a real behaviour:
# no automatic topic creation (the tests create topics, as an operator
# does), no initial rebalance delay, few partitions for the internal topics,
# a small heap. Three nodes replicate every topic three times with
# min.insync.replicas=2, as production clusters do.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
POM=$ROOT/scripts/kafka/pom.xml
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
CACHE=$ROOT/.cache/kafka/$VERSION
JAVA=${JAVA:-java}
HEAP=${KAFKA_HEAP:--Xms128m -Xmx512m}

die() {
        echo "scripts/kafka.sh: $*" >&2
        exit 1
}

usage() {
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
        exit 64
}

fetch() {
        [ -f "$CACHE/.complete" ] && return 0
        command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch Kafka $VERSION: scripts/install-deps.sh"
        mkdir -p "$ROOT/.cache/kafka"
        # one fetch at a time: tests may start side by side on a fresh machine
        (
                flock 9
                [ -f "$CACHE/.complete" ] && exit 0
                rm -rf "$CACHE.tmp"
                echo "fetching Apache Kafka $VERSION into $CACHE" >&2
                mvn -q -B -f "$POM" dependency:copy-dependencies -DoutputDirectory="$CACHE.tmp" >&2 ||
                        { rm -rf "$CACHE.tmp"; exit 1; }
                rm -rf "$CACHE"
                mv "$CACHE.tmp" "$CACHE"
                touch "$CACHE/.complete"
        ) 9>"$ROOT/.cache/kafka/.lock" || die "cannot fetch Kafka $VERSION with Maven"
}

# java_command LOGDIR CLASS ARGS... : sets JAVA_COMMAND to run a Kafka class
# on the cached jars
java_command() {
        local logs=$1
        shift
        # shellcheck disable=SC2206
        JAVA_COMMAND=("$JAVA" $HEAP -XX:+UseSerialGC -Djava.awt.headless=true -Dkafka.logs.dir="$logs"
                -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.properties" -cp "$CACHE/*" "$@")
}

# A tool's JVM needs far less than a broker's.
kafka_tool() {
        HEAP="-Xms32m -Xmx256m" java_command "$DIR/tools" "$@"
        "${JAVA_COMMAND[@]}"
}

free_ports() {
        /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

node_properties() {
        local n=$1 nodes=$2 port=$3 cport=$4 voters=$5
        local rf=$nodes isr=$((nodes > 1 ? 2 : 1))
        cat <<EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/node-$n/data
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
num.network.threads=2
num.io.threads=4
log.segment.bytes=67108864
EOF
}

start_node() {
        local n=$1
        mkdir -p "$DIR/node-$n/logs"
        java_command "$DIR/node-$n/logs" kafka.Kafka "$DIR/node-$n/server.properties"
        # the JVM itself, so that its pid is the one signalled
        "${JAVA_COMMAND[@]}" >"$DIR/node-$n/logs/stdout.log" 2>&1 &
        echo $! >"$DIR/node-$n/pid"
}

node_pid() {
        cat "$DIR/node-$1/pid" 2>/dev/null || true
}

# brokers_seen ADDRESS : how many brokers the node at ADDRESS lists (0: no answer)
brokers_seen() {
        local n
        n=$(kcat -b "$1" -L -m 3 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:$/\1/p' || true)
        echo "${n:-0}"
}

# wait_brokers COUNT SECONDS : until every running node answers, itself,
# with COUNT brokers in its metadata (a node killed a moment ago is still
# listed by the others until its session expires, so asking one is not
# enough)
wait_brokers() {
        local want=$1 seconds=$2 ready
        for _ in $(seq $((seconds * 2))); do
                ready=1
                for node in "$DIR"/node-*; do
                        local pid
                        pid=$(cat "$node/pid")
                        [ "$pid" = stopped ] && continue
                        kill -0 "$pid" 2>/dev/null || die "node ${node##*-} exited; see $node/logs"
                        [ "$(brokers_seen "$(cat "$node/address")")" -ge "$want" ] || ready=0
                done
                [ "$ready" = 1 ] && return 0
                sleep 0.5
        done
        die "the brokers do not all serve metadata of $want brokers after $seconds s; logs in $DIR/node-*/logs"
}

start() {
        local nodes=1
        while [ $# -gt 0 ]; do
                case "$1" in
                --nodes) nodes=${2:?}; shift 2 ;;
                *) usage ;;
                esac
        done
        case "$nodes" in 1 | 3) ;; *) die "--nodes takes 1 or 3" ;; esac
        command -v "$JAVA" >/dev/null || die "a Java runtime is needed: scripts/install-deps.sh"
        fetch
        [ -e "$DIR/bootstrap" ] && die "$DIR already holds a cluster; stop it first"
        mkdir -p "$DIR/tools"
        read -r -a ports <<<"$(free_ports $((2 * nodes)))"
        local voters="" bootstrap="" cluster
        for n in $(seq "$nodes"); do
                voters+="${voters:+,}$n@127.0.0.1:${ports[$((2 * n - 1))]}"
                bootstrap+="${bootstrap:+,}127.0.0.1:${ports[$((2 * n - 2))]}"
        done
        cluster=$(kafka_tool kafka.tools.StorageTool random-uuid)
        for n in $(seq "$nodes"); do
                mkdir -p "$DIR/node-$n"
                node_properties "$n" "$nodes" "${ports[$((2 * n - 2))]}" "${ports[$((2 * n - 1))]}" "$voters" \
                        >"$DIR/node-$n/server.properties"
                echo "127.0.0.1:${ports[$((2 * n - 2))]}" >"$DIR/node-$n/address"
                kafka_tool kafka.tools.StorageTool format -t "$cluster" -c "$DIR/node-$n/server.properties" \
                        >"$DIR/node-$n/format.log" 2>&1 || die "formatting node $n failed: $(cat "$DIR/node-$n/format.log")"
        done
        echo "$bootstrap" >"$DIR/bootstrap"
        echo "$nodes" >"$DIR/nodes"
        for n in $(seq "$nodes"); do
                start_node "$n"
        done
        wait_brokers "$nodes" 120
}

stop_pid() {
        local pid=$1
        [ -n "$pid" ] && [ "$pid" != stopped ] || return 0
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || return 0
        for _ in $(seq 60); do
                kill -0 "$pid" 2>/dev/null || return 0
                sleep 0.5
        done
        kill -KILL "$pid" 2>/dev/null || true
}

stop() {
        [ -f "$DIR/nodes" ] || return 0
        local pids=()
        for pidfile in "$DIR"/node-*/pid; do
                [ -f "$pidfile" ] && pids+=("$(cat "$pidfile")")
        done
        # side by side: a controller quorum that loses its members one by
        # one waits for them in turn
        for pid in "${pids[@]}"; do
                stop_pid "$pid" &
        done
        wait
        rm -f "$DIR/bootstrap" "$DIR/nodes"
}

node() {
        local n=${1:?} action=${2:?} pid
        [ -d "$DIR/node-$n" ] || die "no node $n in $DIR"
        pid=$(node_pid "$n")
        case "$action" in
        stop) stop_pid "$pid"; echo stopped >"$DIR/node-$n/pid" ;;
        kill) kill -KILL "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; echo stopped >"$DIR/node-$n/pid" ;;
        pause) kill -STOP "$pid" ;;
        resume) kill -CONT "$pid" ;;
        start)
                [ "$pid" = stopped ] || ! kill -0 "$pid" 2>/dev/null || die "node $n is running"
                start_node "$n"
                ;;
        *) usage ;;
        esac
}

# All in one request of Kafka's admin API (confluent-kafka's client), where
# the broker's TopicCommand would start a JVM per topic.
topics() {
        /usr/bin/python3 - "$(cat "$DIR/bootstrap")" "$(cat "$DIR/nodes")" "$@" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, nodes = sys.argv[1], int(sys.argv[2])
specs = [(t.split(":")[0], int(t.split(":")[1]) if ":" in t else 1) for t in sys.argv[3:]]
admin = AdminClient({"bootstrap.servers": bootstrap})
for name, done in admin.create_topics([NewTopic(n, p, min(nodes, 3)) for n, p in specs],
                                      operation_timeout=30).items():
    done.result()  # raises, naming the topic, when it was not created
PY
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
fetch) fetch ;;
start | stop | wait | topics | node)
        [ $# -gt 0 ] || usage
        DIR=$(mkdir -p "$1" && cd "$1" && pwd)
        shift
        case "$command" in
        start) start "$@" ;;
        stop) stop ;;
        wait) wait_brokers "${1:-$(cat "$DIR/nodes")}" 120 ;;
        topics) topics "$@" ;;
        node) node "$@" ;;
        esac
        ;;
*) usage ;;
esac
