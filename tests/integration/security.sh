#!/bin/bash
# sensord on a SASL_SSL listener, as deployments run it (real Kafka only):
# TLS with a CA the test makes, SASL user "sensord" with its password in a
# systemd credential ($CREDENTIALS_DIRECTORY, not sensord.conf), and ACLs
# that let it read its input and group and write only its own topics.
#  1. The seed's 24 reference rows, on stdout and in the result topic, with
#     checkpoints in a changelog. The password appears nowhere: not in the
#     log, --check-config -v, STATUS=, the metrics or the command line.
#  2. A wrong password, an untrusted certificate and a topic the ACLs hide
#     each stop sensord at start with exit 78 (which the unit does not
#     restart) and one error naming what failed.
#  3. SCRAM-SHA-512: librdkafka before 2.6.1 cannot authenticate with it to
#     Kafka 4 (librdkafka's issue 4895): exit 78 saying so. From 2.6.1, it
#     reads the seed.
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "security needs a real Kafka (BROKER_KIND=kafka)"
KAFKA_SASL=1 start_kafka sec-in:1 sec-out:1 sec-changelog:1 sec-secret:1
"$KAFKA_SH" allow "$WORK/kafka" sensord Describe:topic:sec-in Read:topic:sec-in Read:group:sec \
        Describe:topic:sec-out Write:topic:sec-out \
        Describe:topic:sec-changelog Read:topic:sec-changelog Write:topic:sec-changelog 2>>"$WORK/kafka.log" ||
        fail "cannot create the ACLs: $(tail -n 3 "$WORK/kafka.log")"
"$SENSOR_REPLAY" -b "$BROKER" -t sec-in --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"

mkdir -m 700 "$WORK/credentials"
cp "$WORK/kafka/sasl/sensord.password" "$WORK/credentials/kafka-password"
PASSWORD=$(cat "$WORK/credentials/kafka-password")
export CREDENTIALS_DIRECTORY="$WORK/credentials"
tls=', ("security.protocol", "SASL_SSL"), ("sasl.username", "sensord")'
secure() { # secure NAME MECHANISM CA [SETTING=VALUE...] : $WORK/NAME.conf on the SASL_SSL listener
        local name=$1 mechanism=$2 ca=$3
        shift 3
        write_config "$WORK/$name.conf" brokers="$SASL_BROKER" topic=sec-in group_id=sec \
                state_directory="$WORK/state-$name" sasl_password_file=kafka-password \
                properties="$tls, (\"sasl.mechanisms\", \"$mechanism\"), (\"ssl.ca.location\", \"$ca\")" "$@"
}
no_password_in() { # no_password_in WHAT FILE
        ! grep -qF "$PASSWORD" "$2" || fail "the password appears in $1"
}

# 1. the seed, with every place the password could leak looked at
secure good PLAIN "$WORK/kafka/tls/ca.pem" kafka_topic=sec-out changelog_topic=sec-changelog \
        metrics_textfile="$WORK/sensord.prom" metrics_interval="1 s" max_delay="100ms"
"$SENSORD" --check-config -v -c "$WORK/good.conf" >"$WORK/check.out" 2>&1 || fail "--check-config refused good.conf"
grep -q 'sasl_password_file.*"kafka-password"' "$WORK/check.out" || fail "--check-config -v does not show the file"
no_password_in "--check-config -v" "$WORK/check.out"
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
NOTIFY_SOCKET="$WORK/notify.sock" "$SENSORD" -c "$WORK/good.conf" >"$WORK/good.jsonl" 2>"$WORK/good.err" &
pid=$!
PIDS+=("$pid")
for _ in $(seq 120); do
        [ "$(wc -l <"$WORK/good.jsonl")" -ge 24 ] && [ -s "$WORK/sensord.prom" ] && break
        kill -0 "$pid" 2>/dev/null || fail "sensord exited: $(tail -n 3 "$WORK/good.err")"
        sleep 0.5
done
sleep 2 # a STATUS= and a metrics file after the last batch
tr '\0' ' ' <"/proc/$pid/cmdline" >"$WORK/cmdline"
no_password_in "the command line" "$WORK/cmdline"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "sensord exited $rc at SIGTERM: $(tail -n 3 "$WORK/good.err")"
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/good.jsonl"
kcat -C -b "$BROKER" -t sec-out -e -q -f '%s\n' >"$WORK/topic.jsonl"
[ "$(wc -l <"$WORK/topic.jsonl")" = 24 ] || fail "the result topic holds $(wc -l <"$WORK/topic.jsonl") rows, not 24"
grep -q "STATUS=" "$WORK/notify.log" || fail "sensord sent no STATUS="
no_password_in "the log" "$WORK/good.err"
no_password_in "STATUS=" "$WORK/notify.log"
no_password_in "the metrics" "$WORK/sensord.prom"
[ "$(kcat -C -b "$BROKER" -t sec-changelog -e -q -f '.\n' | wc -l)" -gt 0 ] ||
        fail "no checkpoint reached the changelog over SASL_SSL"

# 2. what the cluster or sensord refuse: exit 78, and what failed
refused() { # refused NAME MESSAGE : NAME.conf exits 78 within 60 s, saying MESSAGE
        local rc=0
        timeout 60 "$SENSORD" -c "$WORK/$1.conf" --available-now >/dev/null 2>"$WORK/$1.err" || rc=$?
        [ "$rc" = 78 ] || fail "$1: exit $rc, not 78: $(grep -v FAIL "$WORK/$1.err" | tail -n 2)"
        grep -q "$2" "$WORK/$1.err" || fail "$1: the log does not say \"$2\": $(tail -n 1 "$WORK/$1.err")"
        no_password_in "the log of $1" "$WORK/$1.err"
        echo "$1: exit 78: $(grep -m1 "$2" "$WORK/$1.err" | cut -c1-160)..."
}
echo wrong-password >"$WORK/credentials/wrong"
secure wrong PLAIN "$WORK/kafka/tls/ca.pem" group_id=sec-wrong
sed -i 's/sasl_password_file = "kafka-password"/sasl_password_file = "wrong"/' "$WORK/wrong.conf"
refused wrong "the brokers .* refused sensord's credentials (.*Invalid username or password"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/other-ca.key" -out "$WORK/other-ca.pem" -days 1 \
        -subj "/CN=another CA" 2>/dev/null
secure untrusted PLAIN "$WORK/other-ca.pem" group_id=sec-untrusted
refused untrusted "sensord does not trust the brokers .*certificate verify failed"
secure denied PLAIN "$WORK/kafka/tls/ca.pem" kafka_topic=sec-secret group_id=sec
refused denied "topic sec-secret on .*: not authorized"

# 3. SCRAM-SHA-512, which the broker offers too
secure scram SCRAM-SHA-512 "$WORK/kafka/tls/ca.pem" group_id=sec
version=$(pkg-config --modversion rdkafka)
if [ "$(printf '%s\n2.6.1\n' "$version" | sort -V | head -n 1)" != 2.6.1 ]; then
        refused scram "librdkafka before 2.6.1 cannot authenticate with SCRAM to Kafka 4.0 or later"
else
        "$KAFKA_SH" allow "$WORK/kafka" sensord Read:group:sec-scram
        sed -i 's/group_id = "sec"/group_id = "sec-scram"/' "$WORK/scram.conf"
        run_available_now "$WORK/scram.conf" scram-seed
        $CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/scram-seed.jsonl"
fi
echo "security: ok"
