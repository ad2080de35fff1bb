#!/bin/bash
# A real Apache Kafka cluster (KRaft) on 127.0.0.1, for the tests and the
# benchmarks. The broker's jars are pinned in scripts/kafka/pom.xml and
# fetched once, with Maven, into .cache/kafka/VERSION (ignored by git).
#
#   scripts/kafka.sh fetch                 the jars, if not cached yet
#   scripts/kafka.sh start DIR [--nodes 1|3] [--sasl]
#                                          format and start the nodes, each a
#                                          broker and a controller, on ports of
#                                          their own; wait until every broker
#                                          serves metadata; DIR/bootstrap holds
#                                          the bootstrap address. --sasl adds a
#                                          SASL_SSL listener (DIR/sasl-bootstrap)
#                                          with user "sensord" for SCRAM-SHA-512
#                                          and PLAIN (password in
#                                          DIR/sasl/sensord.password),
#                                          a certificate from the CA in
#                                          DIR/tls/ca.pem, and ACLs enforced
#   scripts/kafka.sh stop DIR              stop every node started in DIR
#   scripts/kafka.sh node DIR N stop|kill|pause|resume|start
#                                          one node: SIGTERM and wait, SIGKILL,
#                                          SIGSTOP, SIGCONT, or start it again
#   scripts/kafka.sh wait DIR [BROKERS]    until BROKERS (default all) serve metadata
#   scripts/kafka.sh topics DIR NAME[:PARTITIONS[:SETTING=VALUE,...]]...
#                                          create topics (one partition unless
#                                          given), replicated on every node,
#                                          with these topic settings
#   scripts/kafka.sh add-partitions DIR TOPIC:TOTAL...
#                                          give each topic TOTAL partitions
#   scripts/kafka.sh delete-offsets DIR GROUP TOPIC:PARTITION
#                                          delete the group's committed offset
#                                          of a partition, as the brokers' expiry
#                                          of an empty group's offsets would
#   scripts/kafka.sh coordinator DIR TRANSACTIONAL_ID
#                                          the node that coordinates the
#                                          transactions of that id (its number)
#   scripts/kafka.sh transactions-committed DIR TRANSACTIONAL_ID
#                                          how many transactions of that id
#                                          the coordinator completed as
#                                          committed (node 1's copy of the
#                                          transaction log)
#   scripts/kafka.sh delete-records DIR TOPIC:PARTITION...
#                                          delete every record the partitions
#                                          hold now, as retention would
#   scripts/kafka.sh allow DIR USER OPERATION:TYPE:NAME...
#                                          ACLs: let User:USER do OPERATION
#                                          (Read, Write, Describe, ...) on the
#                                          topic or group NAME (TYPE topic|group)
#
# With --sasl the PLAINTEXT listener stays, for the brokers themselves and
# the tests' own tools: its clients are User:ANONYMOUS, a super user, as on
# an operator's admin listener. Clients of the SASL_SSL listener get only
# what their ACLs allow.
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
        local n=$1 nodes=$2 port=$3 cport=$4 voters=$5 sport=${6:-}
        local rf=$nodes isr=$((nodes > 1 ? 2 : 1))
        if [ -n "$sport" ]; then
                cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,SASL_SSL://127.0.0.1:$sport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_sensord="$(cat "$DIR/sasl/sensord.password")";
ssl.keystore.type=PKCS12
ssl.keystore.location=$DIR/tls/broker.p12
ssl.keystore.password=$(cat "$DIR/tls/store.password")
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS
EOF
        else
                cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
        fi
        cat <<EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
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

# make_tls : a CA, and a certificate it signs for 127.0.0.1 and localhost,
# in the brokers' PKCS12 keystore
make_tls() {
        mkdir -p "$DIR/tls"
        (
                cd "$DIR/tls"
                openssl rand -hex 16 >store.password
                openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 7 \
                        -subj "/CN=sensord test CA" 2>/dev/null
                openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost" 2>/dev/null
                printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >broker.ext
                openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.pem -days 7 \
                        -extfile broker.ext 2>/dev/null
                openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -out broker.p12 \
                        -passout "file:store.password"
        ) || die "openssl could not make the test CA and the broker certificate"
}

start() {
        local nodes=1 sasl=0
        while [ $# -gt 0 ]; do
                case "$1" in
                --nodes) nodes=${2:?}; shift 2 ;;
                --sasl) sasl=1; shift ;;
                *) usage ;;
                esac
        done
        case "$nodes" in 1 | 3) ;; *) die "--nodes takes 1 or 3" ;; esac
        command -v "$JAVA" >/dev/null || die "a Java runtime is needed: scripts/install-deps.sh"
        fetch
        [ -e "$DIR/bootstrap" ] && die "$DIR already holds a cluster; stop it first"
        mkdir -p "$DIR/tools"
        read -r -a ports <<<"$(free_ports $((3 * nodes)))"
        local voters="" bootstrap="" sasl_bootstrap="" cluster format_extra=()
        for n in $(seq "$nodes"); do
                voters+="${voters:+,}$n@127.0.0.1:${ports[$((3 * n - 2))]}"
                bootstrap+="${bootstrap:+,}127.0.0.1:${ports[$((3 * n - 3))]}"
                sasl_bootstrap+="${sasl_bootstrap:+,}127.0.0.1:${ports[$((3 * n - 1))]}"
        done
        if [ "$sasl" = 1 ]; then
                make_tls
                mkdir -p "$DIR/sasl"
                (umask 077 && openssl rand -hex 16 >"$DIR/sasl/sensord.password")
                # the SCRAM credential is a record in the cluster's metadata
                # log, written when the storage is formatted
                format_extra=(--add-scram "SCRAM-SHA-512=[name=sensord,password=$(cat "$DIR/sasl/sensord.password")]")
        fi
        cluster=$(kafka_tool kafka.tools.StorageTool random-uuid)
        for n in $(seq "$nodes"); do
                mkdir -p "$DIR/node-$n"
                node_properties "$n" "$nodes" "${ports[$((3 * n - 3))]}" "${ports[$((3 * n - 2))]}" "$voters" \
                        "$([ "$sasl" = 1 ] && echo "${ports[$((3 * n - 1))]}")" >"$DIR/node-$n/server.properties"
                echo "127.0.0.1:${ports[$((3 * n - 3))]}" >"$DIR/node-$n/address"
                kafka_tool kafka.tools.StorageTool format -t "$cluster" -c "$DIR/node-$n/server.properties" \
                        "${format_extra[@]}" >"$DIR/node-$n/format.log" 2>&1 ||
                        die "formatting node $n failed: $(cat "$DIR/node-$n/format.log")"
        done
        if [ "$sasl" = 1 ]; then
                echo "$sasl_bootstrap" >"$DIR/sasl-bootstrap"
        fi
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
        rm -f "$DIR/bootstrap" "$DIR/sasl-bootstrap" "$DIR/nodes"
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
topics = []
for spec in sys.argv[3:]:
    parts = spec.split(":", 2)
    partitions = int(parts[1]) if len(parts) > 1 else 1
    config = dict(s.split("=", 1) for s in parts[2].split(",")) if len(parts) > 2 else {}
    topics.append(NewTopic(parts[0], partitions, min(nodes, 3), config=config))
admin = AdminClient({"bootstrap.servers": bootstrap})
for name, done in admin.create_topics(topics, operation_timeout=30).items():
    done.result()  # raises, naming the topic, when it was not created
PY
}

add_partitions() {
        /usr/bin/python3 - "$(cat "$DIR/bootstrap")" "$@" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewPartitions

admin = AdminClient({"bootstrap.servers": sys.argv[1]})
wanted = [NewPartitions(name, int(total)) for name, total in (spec.rsplit(":", 1) for spec in sys.argv[2:])]
for name, done in admin.create_partitions(wanted, operation_timeout=30).items():
    done.result()  # raises, naming the topic, when it did not grow
PY
}

# Kafka's own tool: kafka-python 2.0.2 and confluent-kafka 1.7 have no
# DeleteRecords call
delete_records() {
        local json='{"version":1,"partitions":[' sep=""
        for spec in "$@"; do
                json+="$sep{\"topic\":\"${spec%:*}\",\"partition\":${spec##*:},\"offset\":-1}"
                sep=,
        done
        json+="]}"
        echo "$json" >"$DIR/tools/delete-records.json"
        kafka_tool org.apache.kafka.tools.DeleteRecordsCommand --bootstrap-server "$(cat "$DIR/bootstrap")" \
                --offset-json-file "$DIR/tools/delete-records.json" >"$DIR/tools/delete-records.out" 2>&1 ||
                die "DeleteRecords failed: $(tail -n 3 "$DIR/tools/delete-records.out")"
}

# Kafka's own tool (OffsetDelete): kafka-python 2.0.2 has no call for it
delete_offsets() {
        kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
                --bootstrap-server "$(cat "$DIR/bootstrap")" --delete-offsets --group "$1" --topic "$2" \
                >"$DIR/tools/delete-offsets.out" 2>&1 ||
                die "deleting offsets failed: $(tail -n 3 "$DIR/tools/delete-offsets.out")"
}

# Kafka's own kafka-transactions.sh describe: a table whose first column
# is CoordinatorId (the node.id, which is the node's number here)
coordinator() {
        kafka_tool org.apache.kafka.tools.TransactionsCommand --bootstrap-server "$(cat "$DIR/bootstrap")" \
                describe --transactional-id "$1" >"$DIR/tools/coordinator.out" 2>&1 ||
                die "describing transactional id $1 failed: $(tail -n 3 "$DIR/tools/coordinator.out")"
        awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /CoordinatorId/) col = i; next }
                     col { v = $col; gsub(/[ ]/, "", v); if (v ~ /^[0-9]+$/) { print v; exit } }' \
                "$DIR/tools/coordinator.out"
}

# The coordinator's own record: one CompleteCommit entry in its log
# (__transaction_state, compacted only once a segment rolls) per commit,
# read with Kafka's DumpLogSegments
transactions_committed() {
        local logs=("$DIR"/node-1/data/__transaction_state-*/*.log)
        [ -e "${logs[0]}" ] || die "node 1 has no transaction log in $DIR"
        kafka_tool org.apache.kafka.tools.DumpLogSegments --transaction-log-decoder --files "$(IFS=,; echo "${logs[*]}")" \
                >"$DIR/tools/transaction-log.out" 2>&1 ||
                die "reading the transaction log failed: $(tail -n 3 "$DIR/tools/transaction-log.out")"
        grep -F "\"transactionalId\":\"$1\"" "$DIR/tools/transaction-log.out" |
                grep -c '"transactionStatus":"CompleteCommit"' || true
}

# ACLs in one request of the admin API (kafka-python's: Debian's
# confluent-kafka has no ACL calls), on the PLAINTEXT listener, a super
# user's
allow() {
        /usr/bin/python3 - "$(cat "$DIR/bootstrap")" "$@" <<'PY'
import sys
from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                         ResourcePattern, ResourceType)

bootstrap, user = sys.argv[1], sys.argv[2]
acls = []
for spec in sys.argv[3:]:
    operation, kind, name = spec.split(":", 2)
    acls.append(ACL(f"User:{user}", "*", ACLOperation[operation.upper()], ACLPermissionType.ALLOW,
                    ResourcePattern(ResourceType[kind.upper()], name, ACLResourcePatternType.LITERAL)))
admin = KafkaAdminClient(bootstrap_servers=bootstrap)
result = admin.create_acls(acls)
admin.close()
if result["failed"]:
    sys.exit(f"ACLs refused: {result['failed']}")
PY
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
fetch) fetch ;;
start | stop | wait | topics | node | allow | delete-records | delete-offsets | coordinator | add-partitions | \
        transactions-committed)
        [ $# -gt 0 ] || usage
        DIR=$(mkdir -p "$1" && cd "$1" && pwd)
        shift
        case "$command" in
        start) start "$@" ;;
        stop) stop ;;
        wait) wait_brokers "${1:-$(cat "$DIR/nodes")}" 120 ;;
        topics) topics "$@" ;;
        node) node "$@" ;;
        allow) allow "$@" ;;
        delete-records) mkdir -p "$DIR/tools" && delete_records "$@" ;;
        add-partitions) add_partitions "$@" ;;
        delete-offsets) mkdir -p "$DIR/tools" && delete_offsets "$@" ;;
        coordinator) mkdir -p "$DIR/tools" && coordinator "$@" ;;
        transactions-committed) mkdir -p "$DIR/tools" && transactions_committed "$@" ;;
        esac
        ;;
*) usage ;;
esac
