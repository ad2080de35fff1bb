#!/bin/bash
# The whole test suite: installs missing packages, builds twice (a normal
# -Werror build and an AddressSanitizer + UndefinedBehaviorSanitizer build),
# runs the unit and integration suites in both, the real-Kafka suite in the
# first (and its failover tests in the second), valgrind's memcheck over a
# seed run and a restart, a smoke run of the benchmark suite (100k records),
# each libFuzzer target for 15 s (a clang build of its own), then the
# packaging test (.deb and .rpm built and checked) and the system test (a real systemd in
# systemd-nspawn, sensord from the .deb and the .rpm) once, and ends with
# one line "N passed, N failed" over every test run.
#
# The sanitizer build and its suite run beside the real-broker suite, the
# benchmark smoke run, memcheck, the packaging and the system tests (which
# mostly wait on sensord, journald, the brokers and the devbroker); the
# fuzzers, which take both cores, run alone afterwards. Each part's output is printed whole when it ends.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
skipped=0

# count_results BUILD_DIR : adds meson's per-test results from testlog.json
count_results() {
        local counts
        counts=$(/usr/bin/python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:
            f += 1
except FileNotFoundError:
    f += 1
print(p, f, s)
PY
)
        read -r p f s <<<"$counts"
        passed=$((passed + p))
        failed=$((failed + f))
        skipped=$((skipped + s))
}

# build_and_test DIR [meson options...] [-- meson test selection]: every
# suite, or what follows --
build_and_test() {
        local dir=$1 options=()
        shift
        while [ $# -gt 0 ] && [ "$1" != -- ]; do
                options+=("$1")
                shift
        done
        [ $# -gt 0 ] && shift
        echo "=== build $dir: ${options[*]}"
        if ! { [ -d "$dir" ] && meson setup --reconfigure "$dir" "${options[@]}" >/dev/null ||
                meson setup "$dir" "${options[@]}" >/dev/null; } || ! ninja -C "$dir"; then
                echo "build in $dir failed"
                failed=$((failed + 1))
                return
        fi
        meson test -C "$dir" --print-errorlogs --num-processes 1 "$@"
        count_results "$dir"
}

# test_more DIR TESTS... : more of DIR's tests, counted as well
test_more() {
        local dir=$1
        shift
        [ -d "$dir/meson-logs" ] || return 0
        meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 1 "$@"
        count_results "$dir"
}

# run_checks NAME LOG COMMAND...: a script that prints one PASS/FAIL line
# per check (or one SKIP line where it cannot run)
run_checks() {
        local name=$1 log=$2 p f
        shift 2
        echo "=== $name"
        "$@" | tee "$log"
        p=$(grep -c '^PASS: ' "$log")
        f=$(grep -c '^FAIL: ' "$log")
        passed=$((passed + p))
        failed=$((failed + f))
        if grep -q '^SKIP: ' "$log"; then
                skipped=$((skipped + 1))
        elif [ $((p + f)) -eq 0 ]; then
                failed=$((failed + 1)) # ran no check at all
        fi
}

# the real-broker suite runs later, beside the sanitizer build
build_and_test build -Dwerror=true -Dtests=enabled -- --no-suite kafka
run_checks "source layout (README tree, include directions, file lengths)" build/layout.log tests/layout/layout.sh

# the sanitizer build and suite, beside what follows (counted at its end)
(
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
        export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
        build_and_test build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
                -Dwerror=true -Dtests=enabled -- --no-suite kafka
        # of the real-broker suite, the tests of state that moves between hosts
        test_more build-asan kafka-changelog_failover kafka-changelog_zombie kafka-security kafka-exactly_once
        echo "$passed $failed $skipped" >build/asan-counts
) >build/asan.log 2>&1 &
asan_pid=$!
passed_before_asan=$passed
failed_before_asan=$failed
skipped_before_asan=$skipped

# the real-broker suite (its brokers and hosts mostly wait on each other)
echo "=== the real-broker suite (build)"
test_more build --suite kafka
run_checks "benchmark smoke run (100k records, no timing assertions)" build/bench-smoke.log bash -c \
        'RECORDS=100000 RUNS=1 IDLE=5 LATENCY_S=3 JSON=build/bench-smoke.json tests/bench/run.sh >build/bench-smoke.out 2>&1 &&
        /usr/bin/python3 -c "import json, sys; f = json.load(open(sys.argv[1])); assert f[\"engine\"][\"records_per_s\"] > 0" build/bench-smoke.json &&
        echo "PASS: tests/bench/run.sh runs every figure" || { cat build/bench-smoke.out; echo "FAIL: tests/bench/run.sh"; }'
run_checks "valgrind memcheck (seed run and restart)" build/memcheck.log tests/valgrind/memcheck.sh build
run_checks "packaging test (.deb, .rpm)" build/packaging-test.log tests/packaging/packaging.sh build/packages
run_checks "system test (systemd-nspawn)" build/system-test.log env PACKAGES=build/packages tests/system/system.sh

wait "$asan_pid"
cat build/asan.log
if read -r p f s <build/asan-counts 2>/dev/null; then
        passed=$((passed + p - passed_before_asan))
        failed=$((failed + f - failed_before_asan))
        skipped=$((skipped + s - skipped_before_asan))
else
        echo "the sanitizer build and suite did not finish"
        failed=$((failed + 1))
fi
# libFuzzer targets: clang, with AddressSanitizer and UBSan, 15 s each
if CC=clang meson setup --reconfigure build-fuzz -Dfuzz=enabled -Db_sanitize=address,undefined -Db_lundef=false \
        -Dtests=disabled -Dman=disabled >/dev/null 2>&1 || CC=clang meson setup build-fuzz -Dfuzz=enabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dtests=disabled -Dman=disabled >/dev/null &&
        ninja -C build-fuzz >/dev/null; then
        run_checks "fuzz targets (15 s each, one per core)" build/fuzz.log tests/fuzz/run.sh 15 build-fuzz
else
        echo "FAIL: the fuzz targets did not build" | tee build/fuzz.log
        failed=$((failed + 1))
fi

echo
if [ "$skipped" -gt 0 ]; then
        echo "$passed passed, $failed failed, $skipped skipped"
else
        echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
