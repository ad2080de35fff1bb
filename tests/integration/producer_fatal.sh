#!/bin/bash
# An idempotent producer that fails for good (librdkafka's fatal error; the
# devbroker answers a Produce request with OUT_OF_ORDER_SEQUENCE_NUMBER, as a
# real cluster can after NOT_ENOUGH_REPLICAS retries) is replaced by a new
# one, which sends again what the old one had not delivered:
#  1. the result producer: sensord exits 0 and all 24 reference rows are in
#     the result topic;
#  2. the changelog producer: the checkpoint still counts, so the offsets
#     are committed with it. A fresh host then restores from the changelog,
#     reads only the records that came after, and the result rows of both
#     are exact.
. "$(dirname "$0")/lib.sh"

start_devbroker sensor-data:1 results:1 pf-in:1 pf-changelog:1

# 1. the result producer
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"
write_config "$WORK/sink.conf" kafka_topic=results
devbroker errors 0 1 45
run_available_now "$WORK/sink.conf" sink
grep -q "the result producer failed for good (.*sequence.*); a new producer sends again" "$WORK/sink.err" ||
        fail "the log does not say that the result producer was replaced"
[ "$(summary_field sink producer_errors)" = 0 ] || fail "the summary counts producer errors"
kcat -C -b "$BROKER" -t results -e -q -f '%s\n' >"$WORK/results.jsonl"
$CHECK contains "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/results.jsonl"

# 2. the changelog producer
"$SENSOR_REPLAY" -b "$BROKER" -t pf-in --generate 50 --count 2000 --seed 41 --interval 0 2>"$WORK/replay.err"
write_config "$WORK/a.conf" topic=pf-in group_id=pf changelog_topic=pf-changelog max_messages=100 \
        watermark="365 days" state_directory="$WORK/state-a"
devbroker errors 0 1 45
run_available_now "$WORK/a.conf" a
grep -q "the changelog producer failed for good (.*sequence.*); a new producer sends again" "$WORK/a.err" ||
        fail "the log does not say that the changelog producer was replaced"
! grep -q "was not delivered" "$WORK/a.err" || fail "a checkpoint was lost: $(grep -m1 "was not delivered" "$WORK/a.err")"

"$SENSOR_REPLAY" -b "$BROKER" -t pf-in --generate 50 --count 500 --seed 42 --interval 0 2>"$WORK/replay.err"
write_config "$WORK/b.conf" topic=pf-in group_id=pf changelog_topic=pf-changelog max_messages=100 \
        watermark="365 days" state_directory="$WORK/state-b"
run_available_now "$WORK/b.conf" b
grep -q "restored from changelog" "$WORK/b.err" || fail "the fresh host did not restore from the changelog"
[ "$(summary_field b messages)" = 500 ] ||
        fail "the fresh host read $(summary_field b messages) records, not the 500 after the committed checkpoint"
kcat -C -b "$BROKER" -t pf-in -e -q -f '%s\n' >"$WORK/values.txt"
cat "$WORK/a.jsonl" "$WORK/b.jsonl" >"$WORK/rows.jsonl"
$CHECK final-equal "$WORK/rows.jsonl" "$WORK/values.txt"
echo "producer_fatal: ok"
