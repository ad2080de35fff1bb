#!/bin/bash
# Out-of-order data with late records, expected rows derived by hand from
# semantics.md. W = 10 min, S = 5 min, D = 5 min, max_messages = 3, one
# partition. Times are 2024-10-22 UTC; rows are [start,end) sensor count/avg/max/min.
#
# batch 0: a 10:02 =1, a 10:08 =3, b 10:21 =5          WM(0) unset: nothing late
#   [09:55,10:05) a 1/1/1/1   [10:00,10:10) a 2/2/3/1   [10:05,10:15) a 1/3/3/3
#   [10:15,10:25) b 1/5/5/5   [10:20,10:30) b 1/5/5/5
#   WM(1) = 10:21 - 5 = 10:16; windows ending <= 10:16 are final and freed
# batch 1: a 10:09 =7, b 10:14 =2, a 10:24 =4
#   a 10:09: [10:00,10:10) and [10:05,10:15) end <= 10:16: 2 late pairs, no row
#   b 10:14: [10:05,10:15) late (1 pair); [10:10,10:20) ends 10:20 > 10:16: kept
#   [10:10,10:20) b 1/2/2/2   [10:15,10:25) a 1/4/4/4   [10:20,10:30) a 1/4/4/4
#   WM(2) = 10:24 - 5 = 10:19
# batch 2: b 10:12 =6, a 10:16 =8, c 10:40 =10
#   b 10:12: [10:05,10:15) late (1 pair); [10:10,10:20) kept (10:20 > 10:19)
#   [10:10,10:20) a 1/8/8/8   [10:10,10:20) b 2/4/6/2   [10:15,10:25) a 2/6/8/4
#   [10:35,10:45) c 1/10/10/10   [10:40,10:50) c 1/10/10/10
#   WM(3) = 10:40 - 5 = 10:35
# batch 3: b 10:26 =9, c 10:36 =12
#   b 10:26: [10:25,10:35) ends exactly at WM 10:35: late; [10:20,10:30) late (2 pairs)
#   [10:30,10:40) c 1/12/12/12   [10:35,10:45) c 2/11/12/10
# late pairs: 2 + 1 + 1 + 2 = 6; 11 messages; 4 batches; 15 rows.
. "$(dirname "$0")/lib.sh"

rec() { printf '{"sensor_id":"%s","value":%s,"timestamp":"2024-10-22T%s:00Z"}\n' "$1" "$2" "$3"; }
{
        rec a 1 10:02; rec a 3 10:08; rec b 5 10:21
        rec a 7 10:09; rec b 2 10:14; rec a 4 10:24
        rec b 6 10:12; rec a 8 10:16; rec c 10 10:40
        rec b 9 10:26; rec c 12 10:36
} >"$WORK/late.jsonl"

row() { # batch start end sensor count avg max min
        printf '{"batch":%s,"window":{"start":"2024-10-22T%s:00Z","end":"2024-10-22T%s:00Z"},"sensor_id":"%s","avg_value":%s,"max_value":%s,"min_value":%s,"count":%s}\n' \
                "$1" "$2" "$3" "$4" "$6" "$7" "$8" "$5"
}
{
        row 0 09:55 10:05 a 1 1 1 1; row 0 10:00 10:10 a 2 2 3 1; row 0 10:05 10:15 a 1 3 3 3
        row 0 10:15 10:25 b 1 5 5 5; row 0 10:20 10:30 b 1 5 5 5
        row 1 10:10 10:20 b 1 2 2 2; row 1 10:15 10:25 a 1 4 4 4; row 1 10:20 10:30 a 1 4 4 4
        row 2 10:10 10:20 a 1 8 8 8; row 2 10:10 10:20 b 2 4 6 2; row 2 10:15 10:25 a 2 6 8 4
        row 2 10:35 10:45 c 1 10 10 10; row 2 10:40 10:50 c 1 10 10 10
        row 3 10:30 10:40 c 1 12 12 12; row 3 10:35 10:45 c 2 11 12 10
} >"$WORK/expected.jsonl"

start_broker sensor-data:1 late:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$WORK/late.jsonl" 2>"$WORK/replay.err"
write_config "$WORK/sensord.conf" max_messages=3 late_data_topic=late
run_available_now "$WORK/sensord.conf" out
$CHECK compare "$WORK/expected.jsonl" "$WORK/out.jsonl"
[ "$(summary_field out late_pairs)" = 6 ] || fail "expected 6 late pairs, got $(summary_field out late_pairs)"
[ "$(summary_field out messages)" = 11 ] || fail "expected 11 messages"
[ "$(summary_field out batches)" = 4 ] || fail "expected 4 batches"

# The 4 records with late pairs (a 10:09, b 10:14, b 10:12, b 10:26) are in
# the late topic byte for byte, with the watermark that judged each and the
# windows it missed, as the model derives them.
[ "$(summary_field out late_records)" = 4 ] || fail "expected 4 late records, got $(summary_field out late_records)"
[ "$(summary_field out late_produced)" = 4 ] || fail "expected 4 late records produced"
grep -q "summary:.* late_by_partition=0:4/6" "$WORK/out.err" || fail "no late_by_partition=0:4/6 in the summary"
$CHECK reference --max-messages 3 --late-out "$WORK/late-model.jsonl" "$WORK/late.jsonl" >/dev/null 2>&1
kcat -C -b "$BROKER" -t late -e -q -J >"$WORK/late-topic.jsonl"
$CHECK late-equal --no-duplicates "$WORK/late-model.jsonl" "$WORK/late-topic.jsonl"
grep -qF '"key":"b","payload":"{\"sensor_id\":\"b\",\"value\":9,\"timestamp\":\"2024-10-22T10:26:00Z\"}"' "$WORK/late-topic.jsonl" ||
        fail "b 10:26 is not in the late topic as sent: $(tail -n 1 "$WORK/late-topic.jsonl")"
grep -qF '"sensord-watermark","2024-10-22T10:35:00Z","sensord-late-windows","2024-10-22T10:20:00Z,2024-10-22T10:25:00Z"' \
        "$WORK/late-topic.jsonl" || fail "b 10:26's headers: $(tail -n 1 "$WORK/late-topic.jsonl")"
echo "late: ok"
