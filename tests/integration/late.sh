#!/bin/bash
# Out-of-order data with late records, expected rows derived by hand from
# semantics.md. W = 10 min, S = 5 min, D = 5 min, max_messages = 3, one
# partition. Times are 2024-10-22 UTC; rows are [start,end) sensor count/avg/max/min.
# The watermark trails by a batch, as Spark's: batch N is judged by
# WM(N) = max(WM(N-1), maxEventTime(batches 0..N-2) - D).
#
# batch 0: a 10:02 =1, a 10:08 =3, b 10:21 =5          WM(0) unset: nothing late
#   [09:55,10:05) a 1/1/1/1   [10:00,10:10) a 2/2/3/1   [10:05,10:15) a 1/3/3/3
#   [10:15,10:25) b 1/5/5/5   [10:20,10:30) b 1/5/5/5
# batch 1: a 10:09 =5, b 10:14 =2, a 10:24 =4          WM(1) unset: nothing late
#   [10:00,10:10) a 3/3/5/1   [10:05,10:15) a 2/4/5/3   [10:05,10:15) b 1/2/2/2
#   [10:10,10:20) b 1/2/2/2   [10:15,10:25) a 1/4/4/4   [10:20,10:30) a 1/4/4/4
#   WM(2) = 10:21 - 5 = 10:16; windows ending <= 10:16 are final and freed
# batch 2: b 10:12 =6, a 10:16 =8, c 10:40 =10
#   b 10:12: [10:05,10:15) ends <= 10:16: late (1 pair); [10:10,10:20) kept
#   [10:10,10:20) a 1/8/8/8   [10:10,10:20) b 2/4/6/2   [10:15,10:25) a 2/6/8/4
#   [10:35,10:45) c 1/10/10/10   [10:40,10:50) c 1/10/10/10
#   WM(3) = 10:24 - 5 = 10:19
# batch 3: a 10:09 =7, b 10:26 =9, c 10:36 =12
#   a 10:09: [10:00,10:10) and [10:05,10:15) end <= 10:19: 2 late pairs, no row
#   [10:20,10:30) b 2/7/9/5   [10:25,10:35) b 1/9/9/9
#   [10:30,10:40) c 1/12/12/12   [10:35,10:45) c 2/11/12/10
#   WM(4) = 10:40 - 5 = 10:35
# batch 4: b 10:27 =3, c 10:41 =2
#   b 10:27: [10:25,10:35) ends exactly at WM 10:35: late; [10:20,10:30) late (2 pairs)
#   [10:35,10:45) c 3/8/12/2   [10:40,10:50) c 2/6/10/2
# batch 5: no data (Spark's last batch): WM(5) = 10:41 - 5 = 10:36, no rows
# late pairs: 1 + 2 + 2 = 5 in 3 records; 14 messages; 6 batches; 22 rows.
. "$(dirname "$0")/lib.sh"

rec() { printf '{"sensor_id":"%s","value":%s,"timestamp":"2024-10-22T%s:00Z"}\n' "$1" "$2" "$3"; }
{
        rec a 1 10:02; rec a 3 10:08; rec b 5 10:21
        rec a 5 10:09; rec b 2 10:14; rec a 4 10:24
        rec b 6 10:12; rec a 8 10:16; rec c 10 10:40
        rec a 7 10:09; rec b 9 10:26; rec c 12 10:36
        rec b 3 10:27; rec c 2 10:41
} >"$WORK/late.jsonl"

row() { # batch start end sensor count avg max min
        printf '{"batch":%s,"window":{"start":"2024-10-22T%s:00Z","end":"2024-10-22T%s:00Z"},"sensor_id":"%s","avg_value":%s,"max_value":%s,"min_value":%s,"count":%s}\n' \
                "$1" "$2" "$3" "$4" "$6" "$7" "$8" "$5"
}
{
        row 0 09:55 10:05 a 1 1 1 1; row 0 10:00 10:10 a 2 2 3 1; row 0 10:05 10:15 a 1 3 3 3
        row 0 10:15 10:25 b 1 5 5 5; row 0 10:20 10:30 b 1 5 5 5
        row 1 10:00 10:10 a 3 3 5 1; row 1 10:05 10:15 a 2 4 5 3; row 1 10:05 10:15 b 1 2 2 2
        row 1 10:10 10:20 b 1 2 2 2; row 1 10:15 10:25 a 1 4 4 4; row 1 10:20 10:30 a 1 4 4 4
        row 2 10:10 10:20 a 1 8 8 8; row 2 10:10 10:20 b 2 4 6 2; row 2 10:15 10:25 a 2 6 8 4
        row 2 10:35 10:45 c 1 10 10 10; row 2 10:40 10:50 c 1 10 10 10
        row 3 10:20 10:30 b 2 7 9 5; row 3 10:25 10:35 b 1 9 9 9
        row 3 10:30 10:40 c 1 12 12 12; row 3 10:35 10:45 c 2 11 12 10
        row 4 10:35 10:45 c 3 8 12 2; row 4 10:40 10:50 c 2 6 10 2
} >"$WORK/expected.jsonl"

start_broker sensor-data:1 late:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$WORK/late.jsonl" 2>"$WORK/replay.err"
write_config "$WORK/sensord.conf" max_messages=3 late_data_topic=late
run_available_now "$WORK/sensord.conf" out
$CHECK compare "$WORK/expected.jsonl" "$WORK/out.jsonl"
[ "$(summary_field out late_pairs)" = 5 ] || fail "expected 5 late pairs, got $(summary_field out late_pairs)"
[ "$(summary_field out messages)" = 14 ] || fail "expected 14 messages"
[ "$(summary_field out batches)" = 6 ] || fail "expected 5 batches and Spark's no-data one"

# The 3 records with late pairs (b 10:12, a 10:09 =7, b 10:27) are in the
# late topic byte for byte, with the watermark that judged each and the
# windows it missed, as the model derives them.
[ "$(summary_field out late_records)" = 3 ] || fail "expected 3 late records, got $(summary_field out late_records)"
[ "$(summary_field out late_produced)" = 3 ] || fail "expected 3 late records produced"
grep -q "summary:.* late_by_partition=0:3/5" "$WORK/out.err" || fail "no late_by_partition=0:3/5 in the summary"
$CHECK reference --max-messages 3 --late-out "$WORK/late-model.jsonl" "$WORK/late.jsonl" >/dev/null 2>&1
kcat -C -b "$BROKER" -t late -e -q -J >"$WORK/late-topic.jsonl"
$CHECK late-equal --no-duplicates "$WORK/late-model.jsonl" "$WORK/late-topic.jsonl"
grep -qF '"key":"b","payload":"{\"sensor_id\":\"b\",\"value\":3,\"timestamp\":\"2024-10-22T10:27:00Z\"}"' "$WORK/late-topic.jsonl" ||
        fail "b 10:27 is not in the late topic as sent: $(tail -n 1 "$WORK/late-topic.jsonl")"
grep -qF '"sensord-watermark","2024-10-22T10:35:00Z","sensord-late-windows","2024-10-22T10:20:00Z,2024-10-22T10:25:00Z"' \
        "$WORK/late-topic.jsonl" || fail "b 10:27's headers: $(tail -n 1 "$WORK/late-topic.jsonl")"
echo "late: ok"
