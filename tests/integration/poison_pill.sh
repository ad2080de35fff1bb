#!/bin/bash
# A record near the input topic's size limit is a poison pill for the
# dead-letter topic: its copy, with headers, is larger than that topic
# takes. Before, the producer refused it and sensord exited 74, and every
# host after it read the same record again. On a real Kafka (meson suite
# "kafka"), with an input topic that takes 3 MB messages:
#  1. a 1.5 MB invalid record: its dead letter is cut to fit the dead-letter
#     topic's max.message.bytes (1 MiB by default), with the header
#     sensord-truncated giving the original size; the results are the seed's;
#  2. the operator lowers the dead-letter topic's max.message.bytes while
#     sensord runs, and a 500 KB invalid record comes: the broker refuses its
#     copy, which is skipped, counted and logged with its offset; sensord
#     reads on and its results stay exact;
#  3. the same under output.guarantee = "exactly_once", where the refusal
#     makes the transaction abortable: sensord aborts it and stops (exit
#     74) once, and its next life reads the lowered limit, cuts the copy to
#     it and commits, with no second stop (no crash loop); a read_committed
#     reader finds every dead letter once and results equal to the seed's.
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "poison_pill needs a real Kafka (BROKER_KIND=kafka)"
start_kafka sensor-data:1:max.message.bytes=3000000 dead-letters:1 eo-dead-letters:1 eo-results:1 eo-changelog:1

# produce FILE SEED BYTES : the seed's records if SEED is 1, then an invalid
# record of BYTES bytes; its offset in FILE
produce() {
        /usr/bin/python3 - "$BROKER" "$SHARED_DATA/seed.json" "$@" <<'PY'
import json, sys
from kafka import KafkaProducer
broker, seed, out, count, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
records = json.load(open(seed))
producer = KafkaProducer(bootstrap_servers=broker, max_request_size=4 << 20)
for r in records if count else []:
    producer.send("sensor-data", json.dumps(r).encode()).get(timeout=10)
md = producer.send("sensor-data", b"x" * size).get(timeout=10)
producer.close()
open(out, "w").write(str(md.offset))
PY
}

# lower_limit TOPIC BYTES : the topic's max.message.bytes, as an operator sets it
lower_limit() {
        /usr/bin/python3 - "$BROKER" "$1" "$2" <<'PY' || fail "cannot lower the max.message.bytes of $1"
import sys
from confluent_kafka.admin import AdminClient, ConfigResource
admin = AdminClient({"bootstrap.servers": sys.argv[1]})
resource = ConfigResource("topic", sys.argv[2], set_config={"max.message.bytes": sys.argv[3]})
for future in admin.alter_configs([resource]).values():
    future.result()
PY
}

# committed_dead_letters TOPIC : TOPIC's messages as a read_committed reader
# sees them, one line each in $WORK/dead.txt: "ORIGIN_OFFSET LENGTH
# TRUNCATED" (the sensord-offset and sensord-truncated headers, - if none)
committed_dead_letters() {
        /usr/bin/python3 - "$BROKER" "$1" >"$WORK/dead.txt" <<'PY' || fail "cannot read $1"
import sys
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "pp-reader", "isolation.level": "read_committed"})
c.assign([TopicPartition(sys.argv[2], 0, OFFSET_BEGINNING)])
for m in c.consume(num_messages=100, timeout=5):
    if not m.error():
        h = {k: v.decode() for k, v in m.headers() or []}
        print(h.get("sensord-offset", "-"), len(m.value()), h.get("sensord-truncated", "-"))
c.close()
PY
}

# 1. truncated to fit
produce "$WORK/big.offset" 1 1500000 || fail "producing the big record failed"
write_config "$WORK/sensord.conf" dead_letter_topic=dead-letters group_id=pp
run_available_now "$WORK/sensord.conf" out
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/out.jsonl"
[ "$(summary_field out dead_lettered)" = 1 ] || fail "$(summary_field out dead_lettered) dead letters, not 1"
[ "$(summary_field out copies_truncated)" = 1 ] || fail "$(summary_field out copies_truncated) copies truncated, not 1"
/usr/bin/python3 - "$BROKER" "$(cat "$WORK/big.offset")" <<'PY' || fail "the truncated dead letter is wrong"
import sys
from kafka import KafkaConsumer
c = KafkaConsumer("dead-letters", bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                  consumer_timeout_ms=5000, fetch_max_bytes=4 << 20, max_partition_fetch_bytes=4 << 20)
dead = list(c)
c.close()
assert len(dead) == 1, f"{len(dead)} dead letters"
h = {k: v.decode() for k, v in dead[0].headers}
assert h["sensord-reason"] == "too_large", h
assert h["sensord-offset"] == sys.argv[2], h
assert h["sensord-truncated"] == "1500000", h
assert 1000000 - 4096 < len(dead[0].value) < 1048588 and dead[0].value == b"x" * len(dead[0].value), len(dead[0].value)
print(f"the dead letter carries {len(dead[0].value)} of 1500000 bytes, sensord-truncated={h['sensord-truncated']}")
PY

# 2. refused even so: skipped, and sensord reads on
start_host live dead_letter_topic=dead-letters group_id=pp state_directory="$WORK/state"
wait_for "assigned 1 partition(s)" "$WORK/live.err" 60
lower_limit dead-letters 100000
sleep 1
produce "$WORK/second.offset" 0 500000 || fail "producing the second big record failed"
produce "$WORK/third.offset" 0 0 || fail "producing an empty record failed" # its dead letter still goes
wait_for "was refused for its size" "$WORK/live.err" 60
grep -q "the copy of sensor-data/0 offset $(cat "$WORK/second.offset") (500000 bytes) for topic dead-letters was refused" \
        "$WORK/live.err" || fail "the skipped copy is not named by its offset: $(grep -m1 refused "$WORK/live.err")"
wait_quiet "$WORK/live.jsonl" 5
kill -0 "$live_PID" || fail "sensord exited after a copy was refused"
kill -TERM "$live_PID"
wait "$live_PID" || fail "sensord did not stop cleanly"
[ "$(summary_field live copies_skipped)" = 1 ] || fail "$(summary_field live copies_skipped) copies skipped, not 1"
[ "$(summary_field live dead_lettered)" = 1 ] || fail "$(summary_field live dead_lettered) dead letters, not 1 (the empty record's)"
[ ! -s "$WORK/live.jsonl" ] || fail "rows from invalid records: $(head -n 2 "$WORK/live.jsonl")"
[ "$(summary_field live messages)" = 2 ] || fail "sensord read $(summary_field live messages) messages, not the 2 new ones"

# 3. refused in a transaction: one stop, then the copy is cut to the new limit
eo_host() {
        start_host eo dead_letter_topic=eo-dead-letters group_id=pp-eo kafka_topic=eo-results sink=none \
                changelog_topic=eo-changelog guarantee=exactly_once checkpoint_interval="300ms" max_delay="100ms"
}
eo_host
/usr/bin/python3 -c 'import json, sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]' \
        "$SHARED_DATA/seed.json" >"$WORK/values.txt"
wait_committed_model eo-results 60
$CHECK final-equal "$WORK/committed.jsonl" "$WORK/values.txt" >/dev/null || fail "the exactly-once host did not emit the seed"
lower_limit eo-dead-letters 100000
sleep 1
produce "$WORK/fourth.offset" 0 500000 || fail "producing the fourth big record failed"
rc=0
wait "$eo_PID" || rc=$?
[ "$rc" = 74 ] || fail "sensord exited $rc, not 74, when the brokers refused a copy in its transaction"
grep -q "offset $(cat "$WORK/fourth.offset") (500000 bytes) for eo-dead-letters was refused for its size, which aborts the transaction" \
        "$WORK/eo.err" || fail "the first life did not name the refused copy: $(grep -m1 refused "$WORK/eo.err")"
eo_host
for _ in $(seq 300); do
        [ "$(grep -c "was refused for its size" "$WORK/eo.err")" = 1 ] || fail "the copy was refused again: a crash loop"
        kill -0 "$eo_PID" 2>/dev/null || fail "the second life exited: $(tail -n 3 "$WORK/eo.err")"
        committed_dead_letters eo-dead-letters
        grep -q "^$(cat "$WORK/fourth.offset") " "$WORK/dead.txt" && break
        sleep 1
done
kill -TERM "$eo_PID"
wait "$eo_PID" || fail "the second life did not stop cleanly: $(tail -n 3 "$WORK/eo.err")"
committed_dead_letters eo-dead-letters
fourth=$(cat "$WORK/fourth.offset")
awk -v fourth="$fourth" '{ n++; if (!seen[$1]++) distinct++ } $1 == fourth { cut = $3 == "500000" && $2 < 100000 }
        END { exit !(n == 4 && distinct == 4 && cut) }' "$WORK/dead.txt" ||
        fail "the dead letters under exactly_once are wrong (origin offset, length, truncated): $(tr '\n' ';' <"$WORK/dead.txt")"
echo "4 dead letters, each once; the refused one's copy carries $(awk -v o="$fourth" '$1 == o { print $2 }' "$WORK/dead.txt") of 500000 bytes"
check_committed eo-results
echo "poison_pill: ok"
