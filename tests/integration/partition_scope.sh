#!/bin/bash
# window.watermark_scope = "partition": results that depend only on each
# partition's sequence of records. 3 partitions of keyed readings (each
# sensor in one partition); partitions 0 and 1 are out of order (a tenth
# of their records arrive 4 to 20 minutes late), partition 2 runs 30
# minutes behind the others, in order. The model (check.py partitions)
# derives the final aggregates and the late records from the three
# sequences alone. The same data then goes through:
#  (a) one process, 5-message batches;
#  (b) one process, 10,000-message batches;
#  (c) three hosts sharing the group and a changelog, the data streaming in
#      while hosts are SIGKILLed, come back and join (rebalances);
# and each gives the model's final aggregates and late records: nothing of
# partition 2 is late, and the late topic holds exactly the model's records,
# byte for byte with their headers (in (c) a crash may produce some twice;
# they are counted, none may be missing). In process scope the same data
# finds partition 2's records late, which is what the scope is for.
. "$(dirname "$0")/lib.sh"

start_broker ps-in:3 ps-live:3 late-a:1 late-b:1 late-c:1 late-p:1 ps-out:3 ps-changelog:3

/usr/bin/python3 - "$WORK" <<'PY'
import datetime as dt, json, random, sys
rng = random.Random(16)
t0 = int(dt.datetime(2024, 10, 22, 10, 0, tzinfo=dt.timezone.utc).timestamp() * 1000)
for p in range(3):
    start = t0 - (30 * 60000 if p == 2 else 0)
    with open(f"{sys.argv[1]}/p{p}.txt", "w") as values, open(f"{sys.argv[1]}/p{p}.keyed", "w") as keyed:
        for i in range(1500):
            t = start + i * 2000
            if p < 2 and rng.random() < 0.1:
                t -= rng.randint(4 * 60, 20 * 60) * 1000
            sensor = f"s{p}-{rng.randrange(12)}"
            stamp = dt.datetime.fromtimestamp(t / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            value = json.dumps({"sensor_id": sensor, "value": round(rng.uniform(-10, 40), 1), "timestamp": stamp})
            values.write(value + "\n")
            keyed.write(f"{sensor}|{value}\n")
PY
$CHECK partitions --late-out "$WORK/late-model.jsonl" --aggregates-out "$WORK/aggregates.jsonl" \
        "$WORK"/p0.txt "$WORK"/p1.txt "$WORK"/p2.txt | tee "$WORK/model.txt"
! grep -q '"partition": 2' "$WORK/late-model.jsonl" || fail "the model finds partition 2 late: the data is wrong"
for p in 0 1 2; do
        kcat -P -b "$BROKER" -t ps-in -p "$p" -K '|' -l "$WORK/p$p.keyed"
done

# check NAME ROWS LATE_TOPIC [late-equal options]
check() {
        $CHECK final-equal --highest-count --aggregates "$WORK/aggregates.jsonl" "$2" ||
                fail "$1: the final aggregates are not the model's"
        kcat -C -b "$BROKER" -t "$3" -e -q -J >"$WORK/$3.jsonl"
        $CHECK late-equal --topic "$4" "${@:5}" "$WORK/late-model.jsonl" "$WORK/$3.jsonl" ||
                fail "$1: the late topic is not the model's"
}

for run in a:5 b:10000; do
        name=${run%%:*}
        write_config "$WORK/$name.conf" topic=ps-in group_id="ps-$name" max_messages="${run#*:}" max_bytes=16777216 \
                watermark_scope=partition late_data_topic="late-$name" state_directory="$WORK/state-$name"
        run_available_now "$WORK/$name.conf" "$name"
        check "($name)" "$WORK/$name.jsonl" "late-$name" ps-in --no-duplicates
        grep -q "summary:.* late_by_partition=0:[0-9]*/[0-9]*,1:[0-9]*/[0-9]*\( \|$\)" "$WORK/$name.err" ||
                fail "($name): late records per partition: $(grep summary: "$WORK/$name.err")"
done

# (a)'s checkpoints were written in partition scope: process scope refuses
# them (exit 78, naming the setting), as other geometry changes are refused
sed 's/watermark_scope = "partition"/watermark_scope = "process"/' "$WORK/a.conf" >"$WORK/a-process.conf"
rc=0
timeout 60 "$SENSORD" -c "$WORK/a-process.conf" --available-now >/dev/null 2>"$WORK/a-process.err" || rc=$?
[ "$rc" = 78 ] || fail "a partition-scope checkpoint under process scope: exit $rc, not 78"
grep -q 'window.watermark_scope is "partition" in the checkpoint and "process" in the configuration' \
        "$WORK/a-process.err" || fail "the refusal does not name the scope: $(cat "$WORK/a-process.err")"

# process scope, for contrast: partition 2 lags the others' watermark
write_config "$WORK/p.conf" topic=ps-in group_id=ps-p max_messages=5 late_data_topic=late-p \
        state_directory="$WORK/state-p"
run_available_now "$WORK/p.conf" p
# (which partition the consumer delivers first decides how much: shown, not asserted)
echo "process scope, for contrast: $(sed -n 's/.*summary:.* \(late_records=[0-9]*\).*\(late_by_partition=[^ ]*\).*/\1 \2/p' "$WORK/p.err")"

# (c): the hosts, and the data streaming in, 100 records per partition every 0.3 s
props="$FAST_SESSION"
host() {
        start_host "$1" topic=ps-live group_id=ps-c kafka_topic=ps-out max_messages=20 max_delay="100ms" \
                checkpoint_interval="200ms" properties="$props" watermark_scope=partition late_data_topic=late-c \
                changelog_topic=ps-changelog
}
(
        for chunk in $(seq 0 14); do
                for p in 0 1 2; do
                        sed -n "$((chunk * 100 + 1)),$((chunk * 100 + 100))p" "$WORK/p$p.keyed" |
                                kcat -P -b "$BROKER" -t ps-live -p "$p" -K '|'
                done
                sleep 0.3
        done
) &
STREAM_PID=$!
PIDS+=("$STREAM_PID")
host x
host y
wait_for "assigned" "$WORK/y.err" 30
sleep 1.5
kill -KILL "$x_PID"
wait "$x_PID" || true
sleep 1
host z
wait_for "assigned" "$WORK/z.err" 30
sleep 1
kill -KILL "$y_PID"
wait "$y_PID" || true
host x
wait "$STREAM_PID" || fail "streaming the data failed"
wait_assigned_in_life "$WORK/x.err" 2 60
sleep 4
kill -TERM "$x_PID" "$z_PID"
for h in x z; do
        eval "wait \$${h}_PID" || fail "host $h did not stop cleanly"
done
[ "$(kcat -C -b "$BROKER" -t ps-live -e -q -f 'x\n' | wc -l)" = 4500 ] || fail "the stream did not deliver 4500 records"
kcat -C -b "$BROKER" -t ps-out -e -q -f '%s\n' >"$WORK/c.jsonl"
check "(c)" "$WORK/c.jsonl" late-c ps-live
grep -h "restored from changelog" "$WORK"/x.err "$WORK"/z.err >"$WORK/restores" ||
        fail "(c): no host restored a partition from the changelog"
echo "partition_scope: ok ($(wc -l <"$WORK/restores") restores from the changelog)"
