#!/bin/bash
# window.max_future: one record dated 2100-01-01 among the sample data.
#  - Without max_future (the default, Spark's behaviour) it is a valid record:
#    a batch after its batch (the watermark trails by one, as Spark's) the
#    watermark is 2099-12-31T23:55, and every later record of every sensor
#    is late. Inserted after the 2nd record, into batch 0, the 3 records of
#    batch 2 are late in both their windows (6 pairs) and batch 2 emits
#    nothing: the rows are the model's, which has no guard either.
#  - With max_future = "1 h" it is invalid with reason "future": in the
#    dead-letter topic with that reason, counted as invalid_future, and it
#    moves neither the watermark nor any window. Inserted after the 10th
#    record (so that the batches hold the same valid records as the seed's),
#    the 24 reference rows are exact.
. "$(dirname "$0")/lib.sh"

start_broker fut-a:1 fut-b:1 fut-live:1 dead:1
future='{"sensor_id": "sensor_009", "value": 99.9, "timestamp": "2100-01-01T00:00:00"}'
/usr/bin/python3 -c 'import json, sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]' \
        "$SHARED_DATA/seed.json" >"$WORK/seed.txt"
{ head -n 2 "$WORK/seed.txt"; echo "$future"; tail -n +3 "$WORK/seed.txt"; } >"$WORK/a.txt"
{ head -n 10 "$WORK/seed.txt"; echo "$future"; tail -n +11 "$WORK/seed.txt"; } >"$WORK/b.txt"
kcat -P -b "$BROKER" -t fut-a -p 0 -l "$WORK/a.txt"
kcat -P -b "$BROKER" -t fut-b -p 0 -l "$WORK/b.txt"

write_config "$WORK/a.conf" topic=fut-a group_id=fut-a
run_available_now "$WORK/a.conf" a
$CHECK reference "$WORK/a.txt" >"$WORK/a-model.jsonl" 2>/dev/null
$CHECK compare "$WORK/a-model.jsonl" "$WORK/a.jsonl"
[ "$(summary_field a late_pairs)" = 6 ] || fail "without max_future: $(summary_field a late_pairs) late pairs, not 6"
! grep -q '"batch":2' "$WORK/a.jsonl" || fail "without max_future, batch 2 emitted rows"

write_config "$WORK/b.conf" topic=fut-b group_id=fut-b max_future="1 h" dead_letter_topic=dead
run_available_now "$WORK/b.conf" b
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/b.jsonl"
[ "$(summary_field b invalid_future)" = 1 ] || fail "with max_future: invalid_future=$(summary_field b invalid_future)"
[ "$(summary_field b late_pairs)" = 0 ] || fail "with max_future: $(summary_field b late_pairs) late pairs"
grep -q 'invalid record at fut-b/0@10: event time 2100-01-01T00:00:00Z is .* ahead of the wall clock' "$WORK/b.err" ||
        fail "the future record was not reported"
kcat -C -b "$BROKER" -t dead -e -q -J >"$WORK/dead.jsonl"
[ "$(wc -l <"$WORK/dead.jsonl")" = 1 ] || fail "$(wc -l <"$WORK/dead.jsonl") dead letters, not 1"
grep -qF '"sensord-reason","future"' "$WORK/dead.jsonl" || fail "dead letter without reason future: $(cat "$WORK/dead.jsonl")"
grep -qF '"sensord-offset","10"' "$WORK/dead.jsonl" || fail "dead letter of the wrong offset: $(cat "$WORK/dead.jsonl")"
grep -qF '2100-01-01T00:00:00' "$WORK/dead.jsonl" || fail "the dead letter is not the record"

# Reloads: max_future applies live (a future record read after the reload is
# invalid), watermark_scope is restart-only (refused, naming it).
start_reload_test() {
        write_config "$WORK/live.conf" topic=fut-live group_id=fut-live max_delay="200ms"
        "$SENSORD" -c "$WORK/live.conf" >"$WORK/live.jsonl" 2>"$WORK/live.err" &
        LIVE_PID=$!
        PIDS+=("$LIVE_PID")
        wait_for "assigned 1 partition" "$WORK/live.err" 30
}
start_reload_test
sed -i 's/max_future = "0 s"/max_future = "1 h"/' "$WORK/live.conf"
kill -HUP "$LIVE_PID"
wait_for "configuration reloaded" "$WORK/live.err" 10
echo "$future" | kcat -P -b "$BROKER" -t fut-live -p 0
wait_for "invalid record at fut-live/0@0: event time 2100-01-01" "$WORK/live.err" 10
sed -i 's/watermark_scope = "process"/watermark_scope = "partition"/' "$WORK/live.conf"
kill -HUP "$LIVE_PID"
wait_for "reload refused: window.watermark_scope changed" "$WORK/live.err" 10
kill -TERM "$LIVE_PID"
wait "$LIVE_PID" || fail "sensord did not stop cleanly after the reloads"
[ "$(summary_field live invalid_future)" = 1 ] || fail "the reloaded max_future did not apply"
echo "future: ok"
