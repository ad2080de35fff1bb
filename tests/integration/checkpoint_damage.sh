#!/bin/bash
# Damaged and mismatched checkpoints. The seed data are read with small
# batches and frequent compaction into snapshots, so that two generations
# exist. Then:
#  - a torn tail (half a record appended): recovered, truncated with a notice;
#  - a flipped byte in the newest snapshot: falls back to the previous
#    generation and replays both logs;
#  - a flipped byte in both snapshots: exit 74, naming the file, the byte
#    and the way out, with the directory left exactly as it was;
#  - a changed window duration: exit 78 naming window.duration with both
#    values, the directory untouched.
# Each recovered run ends with the same state as an undamaged one: a
# further run over new records gives the rows of an undamaged copy.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>/dev/null
fast=', ("session.timeout.ms", "3000")' # the mock's group join waits on it
write_config "$WORK/sensord.conf" max_messages=1 watermark="365 days" properties="$fast"
# six runs over the same readings again: the log outgrows the unchanging
# state and compacts into snapshots
for n in 1 2 3 4 5 6; do
        "$SENSOR_REPLAY" -b "$BROKER" --interval 0 --count 3 "$SHARED_DATA/seed.json" 2>/dev/null
        run_available_now "$WORK/sensord.conf" base$n
done
dir="$WORK/state/sensord-test/sensor-data-0"
ls "$dir" >"$WORK/files.txt"
snapshots=$(grep -c '^snapshot\.' "$WORK/files.txt" || true)
[ "$snapshots" -ge 2 ] || fail "expected two snapshot generations, found: $(tr '\n' ' ' <"$WORK/files.txt")"
newest=$(ls "$dir" | sed -n 's/^snapshot\.//p' | sort -n | tail -1)
older=$(ls "$dir" | sed -n 's/^snapshot\.//p' | sort -n | head -1)
cp -a "$WORK/state" "$WORK/pristine"

# flip_byte FILE : inverts a byte in the middle of FILE
flip_byte() {
        "$PYTHON" -c 'import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read()); d[len(d) // 2] ^= 0xFF; open(p, "wb").write(d)' "$1"
}
# check_same NAME : a run over 3 new records gives what an undamaged copy gives
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 --count 3 "$SHARED_DATA/seed.json" 2>/dev/null
expect_state() {
        rm -rf "$WORK/reference-state" && cp -a "$WORK/pristine" "$WORK/reference-state"
        write_config "$WORK/reference.conf" max_messages=1 watermark="365 days" state_directory="$WORK/reference-state" \
                group_id=sensord-test properties="$fast"
        run_available_now "$WORK/reference.conf" reference
        $CHECK compare "$WORK/reference.jsonl" "$WORK/$1.jsonl"
}

# a torn tail
rm -rf "$WORK/state" && cp -a "$WORK/pristine" "$WORK/state"
printf '\x40\x00\x00\x00\x12\x34' >>"$dir/delta.$newest"
run_available_now "$WORK/sensord.conf" torn
grep -q "an incomplete record at byte .*truncating it there" "$WORK/torn.err" || fail "no notice of the torn tail"
expect_state torn

# a damaged newest snapshot
rm -rf "$WORK/state" && cp -a "$WORK/pristine" "$WORK/state"
flip_byte "$dir/snapshot.$newest"
run_available_now "$WORK/sensord.conf" fallback
grep -q "snapshot.$newest is damaged at byte .*falling back to the previous generation" "$WORK/fallback.err" ||
        fail "no fallback to the previous generation"
expect_state fallback

# both generations damaged: exit 74, nothing touched
rm -rf "$WORK/state" && cp -a "$WORK/pristine" "$WORK/state"
flip_byte "$dir/snapshot.$newest"
flip_byte "$dir/snapshot.$older"
cp -a "$WORK/state" "$WORK/damaged-copy"
rc=0
timeout 60 "$SENSORD" -c "$WORK/sensord.conf" --available-now >"$WORK/both.jsonl" 2>"$WORK/both.err" || rc=$?
[ "$rc" = 74 ] || fail "two damaged generations: exit $rc, not 74"
grep -q "snapshot.$older is damaged at byte [0-9]* .*cannot be recovered.*mv $dir $dir.damaged" "$WORK/both.err" ||
        fail "the error does not name the file, the byte and the way out: $(grep damaged "$WORK/both.err")"
diff -r "$WORK/state" "$WORK/damaged-copy" >/dev/null || fail "the damaged directory was changed"
[ ! -s "$WORK/both.jsonl" ] || fail "rows were emitted from a damaged state"

# another window duration: exit 78 with both values, nothing touched
rm -rf "$WORK/state" && cp -a "$WORK/pristine" "$WORK/state"
write_config "$WORK/other.conf" max_messages=1 watermark="365 days" duration="20 minutes" properties="$fast"
rc=0
timeout 60 "$SENSORD" -c "$WORK/other.conf" --available-now >"$WORK/other.jsonl" 2>"$WORK/other.err" || rc=$?
[ "$rc" = 78 ] || fail "a checkpoint of another window duration: exit $rc, not 78"
grep -q "window.duration is 600000 ms in the checkpoint and 1200000 ms in the configuration.*mv $dir $dir.old" \
        "$WORK/other.err" || fail "the mismatch is not named with both values: $(grep -i checkpoint "$WORK/other.err")"
diff -r "$WORK/state" "$WORK/pristine" >/dev/null || fail "the mismatched directory was changed"
echo "checkpoint_damage: ok"
