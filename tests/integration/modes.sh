#!/bin/bash
# The output modes and formats through the real program, on the sample data:
# append emits each window once when it becomes final, complete emits the
# whole state each batch; both against check.py's model of semantics.md.
# Hand check for append: the watermark trails by a batch (Spark's rule): it
# is unset after batch 0, 10:39 after batch 1 and 10:44 after batch 2; the
# no-data batch 3 that ends available-now (Spark's too) makes it 10:46, so
# only [10:35,10:45) becomes final, in batch 3.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>"$WORK/replay.err"
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"

write_config "$WORK/append.conf" mode=append group_id=append
run_available_now "$WORK/append.conf" append
$CHECK reference --mode append "$WORK/values.txt" >"$WORK/append.expected"
$CHECK compare "$WORK/append.expected" "$WORK/append.jsonl"
[ "$(wc -l <"$WORK/append.jsonl")" = 5 ] || fail "append: expected the 5 rows of [10:35,10:45)"
grep -q '"batch":3,"window":{"start":"2024-10-22T10:35:00Z","end":"2024-10-22T10:45:00Z"},"sensor_id":"sensor_001"' \
        "$WORK/append.jsonl" || fail "append: [10:35,10:45) not emitted in batch 3"

write_config "$WORK/complete.conf" mode=complete group_id=complete
run_available_now "$WORK/complete.conf" complete
$CHECK reference --mode complete "$WORK/values.txt" >"$WORK/complete.expected"
$CHECK compare "$WORK/complete.expected" "$WORK/complete.jsonl"
[ "$(grep -c '"batch":2,' "$WORK/complete.jsonl")" = 22 ] || fail "complete: batch 2 should hold all 22 keys"

# --format table: Spark's console layout, one table per batch
write_config "$WORK/table.conf" group_id=table
rc=0
timeout 60 "$SENSORD" -c "$WORK/table.conf" --available-now --format table >"$WORK/table.txt" 2>"$WORK/table.err" || rc=$?
[ "$rc" = 0 ] || fail "table run exited $rc"
[ "$(grep -c '^Batch: ' "$WORK/table.txt")" = 3 ] || fail "expected 3 batch tables"
grep -q '^|{2024-10-22T10:40:00Z, 2024-10-22T10:50:00Z}|sensor_001|    34.75|     46.0|     23.5|    2|$' "$WORK/table.txt" ||
        fail "table row for sensor_001 missing: $(grep sensor_001 "$WORK/table.txt" | head -3)"
echo "modes: ok"
