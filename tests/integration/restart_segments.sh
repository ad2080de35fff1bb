#!/bin/bash
# Exactly-once state across restarts: out-of-order data with late records is
# fed in 4 segments, and sensord --available-now runs after each one, each
# run a new process that restores the previous one's checkpoint. The rows of
# the 4 runs together equal, row for row and batch numbers included, those
# of check.py's model of one uninterrupted run whose batches were cut at the
# same 3 points (a restart ends the open batch). In update and in append
# mode; in append mode each final window is emitted exactly once.
. "$(dirname "$0")/lib.sh"

start_broker sensor-data:1
# 4 segments of 45 readings of 5 sensors, a minute apart, with every 4th one
# up to 30 minutes old: some late, some not (the watermark trails the newest
# reading by 5 minutes and a batch of 7).
"$PYTHON" - "$WORK" <<'PY'
import json, random, sys
rnd = random.Random(8)
base = 1729591200  # 2024-10-22T10:00:00Z
for seg in range(4):
    with open(f"{sys.argv[1]}/segment{seg}.jsonl", "w") as f:
        for i in range(45):
            n = seg * 45 + i
            t = base + n * 60 - (rnd.randint(0, 30) * 60 if n % 4 == 3 else 0)
            ts = __import__("datetime").datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%S")
            f.write(json.dumps({"sensor_id": f"sensor_{rnd.randint(1, 5):03d}",
                                "value": round(rnd.uniform(10, 40), 1), "timestamp": ts}) + "\n")
PY

cuts=""
for seg in 0 1 2 3; do
        "$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$WORK/segment$seg.jsonl" 2>>"$WORK/replay.err"
        for mode in update append; do
                write_config "$WORK/$mode.conf" max_messages=7 mode=$mode group_id=segments-$mode
                run_available_now "$WORK/$mode.conf" "$mode$seg"
                cat "$WORK/$mode$seg.jsonl" >>"$WORK/$mode.jsonl"
        done
        [ "$seg" = 3 ] || cuts="$cuts${cuts:+,}$(((seg + 1) * 45))"
        grep -q "state restored from its checkpoint" "$WORK/update$seg.err" || [ "$seg" = 0 ] ||
                fail "run $seg did not restore the state"
done
kcat -C -b "$BROKER" -t sensor-data -e -q -f '%s\n' >"$WORK/values.txt"
for mode in update append; do
        $CHECK reference --mode $mode --max-messages 7 --cut "$cuts" "$WORK/values.txt" \
                >"$WORK/$mode.expected" 2>"$WORK/$mode.model"
        $CHECK compare "$WORK/$mode.expected" "$WORK/$mode.jsonl"
        $CHECK unique "$WORK/${mode}0.jsonl" "$WORK/${mode}1.jsonl" "$WORK/${mode}2.jsonl" "$WORK/${mode}3.jsonl"
done
late=$(sed -n 's/late_pairs=\([0-9]*\).*/\1/p' "$WORK/update.model")
[ "$late" -gt 0 ] || fail "the data should have late pairs"
total=0
for seg in 0 1 2 3; do total=$((total + $(summary_field update$seg late_pairs))); done
[ "$total" = "$late" ] || fail "sensord dropped $total late pairs over the 4 runs, the model $late"
echo "restart_segments: ok ($(wc -l <"$WORK/update.jsonl") update rows, $late late pairs, cuts at $cuts)"
