#!/bin/bash
# The topics sensord writes stop taking writes: on a real 3-node Kafka,
# the result and changelog topics have min.insync.replicas=3, and one
# broker stops for about 30 s while records stream in, so that no acks=all
# write succeeds (NOT_ENOUGH_REPLICAS, which librdkafka retries for ever).
# Before, the changelog producer said nothing above debug level while the
# pipeline read on and its queue grew, and the result producer gave up
# after 5 minutes with exit 74. Now host a (changelog) and host r (result
# topic), each:
#  - says within seconds, in the log and STATUS=, which writer stalls and the
#    broker's error, and reads no more records (peak RSS stays small);
#  - keeps its watchdog fed (no 2 s gap), a also through rebalances during
#    the stall (host b joins, a's revoke waits at most 5 s in all; then b
#    leaves and a takes its partitions back);
#  - says when writes are acknowledged again, and reads on by itself.
# In the end a's and b's rows hold the model's aggregates (their highest
# count per key: b restores the last checkpoint the changelog holds, and
# reads on from there), and so does the last row per key of r's topic.
# Real Kafka only (meson suite "kafka").
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "write_stall needs a real Kafka cluster (BROKER_KIND=kafka)"
KAFKA_NODES=3 start_kafka ws-in:4 ws-out:4:min.insync.replicas=3 ws-changelog:4:min.insync.replicas=3

# host a (group ws) checkpoints to the changelog, host r (group wr) produces
# its results to ws-out; both print their rows too
settings=(topic=ws-in group_id=ws max_messages=200 max_delay="100ms" watermark="365 days" checkpoint_interval="1 s"
        changelog_topic=ws-changelog)
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
write_config "$WORK/a.conf" "${settings[@]}" state_directory="$WORK/state-a"
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=2000000 "$SENSORD" -c "$WORK/a.conf" >"$WORK/a.jsonl" \
        2>"$WORK/a.err" &
a_PID=$!
PIDS+=("$a_PID")
write_config "$WORK/r.conf" topic=ws-in group_id=wr kafka_topic=ws-out max_messages=200 max_delay="100ms" \
        watermark="365 days" checkpoint_interval="1 s" state_directory="$WORK/state-r"
notify_listener "$WORK/notify-r.sock" "$WORK/notify-r.log"
NOTIFY_SOCKET="$WORK/notify-r.sock" WATCHDOG_USEC=2000000 "$SENSORD" -c "$WORK/r.conf" >"$WORK/r.jsonl" \
        2>"$WORK/r.err" &
r_PID=$!
PIDS+=("$r_PID")
wait_for "assigned 4 partition" "$WORK/a.err" 60
wait_for "assigned 4 partition" "$WORK/r.err" 60

# 15,000 records at 250 a second, through the stall (not idempotent: see
# broker_faults.sh)
"$SENSOR_REPLAY" -b "$BROKER" -t ws-in --generate 200 --count 15000 --rate 250 --seed 47 \
        -X enable.idempotence=false -X acks=all -X max.in.flight.requests.per.connection=1 2>"$WORK/replay.err" &
REPLAY_PID=$!
PIDS+=("$REPLAY_PID")
sleep 8

echo "stopping node 3: two in-sync replicas of three, min.insync.replicas=3"
"$KAFKA_SH" node "$WORK/kafka" 3 stop
stopped=$SECONDS
wait_for "changelog topic ws-changelog: no write acknowledged" "$WORK/a.err" 30
wait_for "the result producer: no write acknowledged" "$WORK/r.err" 30
echo "told after $((SECONDS - stopped)) s: $(grep -m1 "no write acknowledged" "$WORK/a.err")"
# the log names a partition and the broker's last word on it (at first,
# perhaps that the stopped node no longer leads it)
grep -q "changelog topic ws-changelog: no write acknowledged.*ws-changelog \[[0-3]\]: Broker: " "$WORK/a.err" ||
        fail "the changelog's stall is not logged with a partition and the broker's error"
grep -q "the result producer: no write acknowledged.*ws-out \[[0-3]\]: Broker: " "$WORK/r.err" ||
        fail "the results' stall is not logged with a partition and the broker's error"
# STATUS= says it, with the broker's last error
for h in "" -r; do
        for _ in $(seq 50); do
                grep -q "STATUS=.* writes stalled [0-9]* s (.*Broker: " "$WORK/notify$h.log" && break
                sleep 0.1
        done
done
grep -q "STATUS=.*changelog writes stalled [0-9]* s (.*ws-changelog \[[0-3]\]: Broker: " "$WORK/notify.log" ||
        fail "STATUS= does not say that the changelog's writes stall: $(grep STATUS "$WORK/notify.log" | tail -n 1)"
grep -q "STATUS=.*result writes stalled [0-9]* s (.*ws-out \[[0-3]\]: Broker: " "$WORK/notify-r.log" ||
        fail "STATUS= does not say that the results' writes stall: $(grep STATUS "$WORK/notify-r.log" | tail -n 1)"

# a rebalance during the stall
write_config "$WORK/b.conf" "${settings[@]}" state_directory="$WORK/state-b"
"$SENSORD" -c "$WORK/b.conf" >"$WORK/b.jsonl" 2>"$WORK/b.err" &
b_PID=$!
PIDS+=("$b_PID")
wait_for "assigned 2 partition\|holds 2 now" "$WORK/a.err" 60
sleep 10
for h in a r; do
        before=$(grep -c . "$WORK/$h.jsonl" || true)
        sleep 3
        [ "$(grep -c . "$WORK/$h.jsonl" || true)" = "$before" ] || fail "host $h emitted rows while its writes stalled"
        pid_var=${h}_PID
        kill -0 "${!pid_var}" || fail "host $h exited during the stall"
        rss_kib=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/${!pid_var}/status")
        echo "host $h's peak RSS during the stall: $((rss_kib / 1024)) MiB"
        [ "$rss_kib" -lt $((200 * 1024)) ] || fail "host $h's peak RSS is $((rss_kib / 1024)) MiB"
done
kill -0 "$b_PID" || fail "host b exited during the stall"
# b leaves during the stall: a takes its partitions back, a second revoke
# and assignment in the stall. (A host that starts during the stall and
# stays was once seen never to get its changelog writes acknowledged after
# the broker came back, with librdkafka 2.0.2's idempotent producer: an open
# finding of issue 31, not yet understood.)
kill -TERM "$b_PID"
wait "$b_PID" || fail "host b did not stop cleanly during the stall"
for _ in $(seq 600); do [ "$(grep -c "assigned 4 partition\|holds 4 now" "$WORK/a.err")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c "assigned 4 partition\|holds 4 now" "$WORK/a.err")" -ge 2 ] || fail "host a did not take b's partitions back"

echo "starting node 3 after $((SECONDS - stopped)) s"
"$KAFKA_SH" node "$WORK/kafka" 3 start
"$KAFKA_SH" wait "$WORK/kafka" 3 || fail "node 3 did not come back"
wait_for "changelog topic ws-changelog: writes are acknowledged again" "$WORK/a.err" 90
wait_for "the result producer: writes are acknowledged again" "$WORK/r.err" 90
wait "$REPLAY_PID" || fail "the producer failed"
for h in a r; do wait_quiet "$WORK/$h.jsonl" 5; done
sleep 3 # a checkpoint with the last batches
for h in a r; do
        pid_var=${h}_PID
        kill -TERM "${!pid_var}"
        wait "${!pid_var}" || fail "host $h did not stop cleanly"
done
watchdog_fed "$WORK/notify.log" || fail "host a's watchdog went 2 s without a ping"
watchdog_fed "$WORK/notify-r.log" || fail "host r's watchdog went 2 s without a ping"
kcat -C -b "$BROKER" -t ws-in -e -q -f '%s\n' >"$WORK/values.txt"
cat "$WORK/a.jsonl" "$WORK/b.jsonl" >"$WORK/ab.jsonl"
$CHECK final-equal --highest-count "$WORK/ab.jsonl" "$WORK/values.txt"
kcat -C -b "$BROKER" -t ws-out -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK final-equal "$WORK/results.jsonl" "$WORK/values.txt"
echo "write_stall: ok"
