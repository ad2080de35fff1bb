#!/bin/bash
# Runs every libFuzzer target for SECONDS (default 30) from a copy of its
# seed corpus (tests/fuzz/corpus/TARGET) with its dictionary, if any, and
# prints one PASS or FAIL line per target with the executions it made.
# Targets run JOBS at a time (default: the number of CPUs), one per core.
#   tests/fuzz/run.sh [SECONDS] [BUILD_DIR]     (BUILD_DIR: build-fuzz)
# A longer run, for example an hour per target:
#   tests/fuzz/run.sh 3600
# With RUNS=N a target also stops after N executions (the closing notes'
# runs: RUNS=10000000 tests/fuzz/run.sh 2400).
# A crash leaves its input in BUILD_DIR/fuzz-artifacts/ for reproduction:
#   BUILD_DIR/tests/fuzz/fuzz-TARGET FILE
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-30}
build=${2:-build-fuzz}
jobs=${JOBS:-$(nproc)}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
export LSAN_OPTIONS="suppressions=$here/lsan.supp"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
targets=(record config units timestamp window checkpoint)

# fuzz TARGET : runs it, leaving its log and exit code in $artifacts
fuzz() {
        local target=$1 corpus dict=() runs=()
        [ -z "${RUNS:-}" ] || runs=(-runs="$RUNS")
        corpus=$(mktemp -d)
        cp "$here/corpus/$target"/* "$corpus/"
        [ -f "$here/$target.dict" ] && dict=(-dict="$here/$target.dict")
        "$build/tests/fuzz/fuzz-$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
                -rss_limit_mb=2048 -artifact_prefix="$artifacts/$target-" "${dict[@]}" "${runs[@]}" "$corpus" \
                >"$artifacts/$target.log" 2>&1
        echo $? >"$artifacts/$target.rc"
        rm -rf "$corpus"
}

running=0
for target in "${targets[@]}"; do
        if [ "$running" -ge "$jobs" ]; then
                wait -n
                running=$((running - 1))
        fi
        fuzz "$target" &
        running=$((running + 1))
done
wait

for target in "${targets[@]}"; do
        log="$artifacts/$target.log"
        rc=$(cat "$artifacts/$target.rc" 2>/dev/null || echo "?")
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        if [ "$rc" = 0 ]; then
                secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
                echo "PASS: fuzz-$target: ${runs:-0} executions in ${secs:-$seconds} s, no crash"
        else
                echo "FAIL: fuzz-$target (exit $rc): $(grep -m1 -E 'SUMMARY|ERROR' "$log")"
                tail -n 30 "$log"
        fi
done
