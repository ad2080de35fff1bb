#!/bin/bash
# valgrind's memcheck over the seed run and a restart from its checkpoint:
# sensord --available-now over the sample data, then 6 more records and an
# invalid one and a second run that loads the first one's checkpoint; both
# produce their rows to a result topic and dead letters to a topic of their
# own, so that the Kafka sink is checked too. Prints PASS when
# memcheck reports no error and no definite or indirect leak in either run
# (librdkafka's threads keep some memory "possibly lost" until exit, which
# is not counted). Not part of the meson suites: scripts/run-tests.sh runs
# it on the normal build.
#   tests/valgrind/memcheck.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
work=$(mktemp -d "${TMPDIR:-/tmp}/sensord-memcheck.XXXXXX")
broker_pid=
cleanup() {
        [ -z "$broker_pid" ] || { kill "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null; }
        rm -rf "$work"
}
trap cleanup EXIT

"$build/src/sensor-devbroker" --topic sensor-data:1 --topic results:1 --topic dead-letters:1 --address-file "$work/addr" >/dev/null 2>&1 &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.1; done
broker=$(cat "$work/addr")
"$build/src/sensor-replay" -b "$broker" --interval 0 ../shared/data/seed.json 2>/dev/null
cat >"$work/sensord.conf" <<CONF
kafka = { brokers = "$broker"; topic = "sensor-data"; group_id = "memcheck";
          properties = ( ("session.timeout.ms", "6000") ); };
batch = { max_messages = 5; max_bytes = 10240; };
output = { sink = "stdout"; kafka_topic = "results"; };
state = { directory = "$work/state"; };
dead_letter = { topic = "dead-letters"; };
CONF
status=0
for run in first restart; do
        [ "$run" = restart ] && { "$build/src/sensor-replay" -b "$broker" --interval 0 --count 6 ../shared/data/seed.json 2>/dev/null
                echo "not json" | "$build/src/sensor-replay" -b "$broker" --interval 0 - 2>/dev/null; }
        valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
                --errors-for-leak-kinds=definite,indirect --track-origins=yes --log-file="$work/$run.valgrind" \
                "$build/src/sensord" -c "$work/sensord.conf" --available-now >"$work/$run.jsonl" 2>"$work/$run.err"
        rc=$?
        summary=$(grep -E "ERROR SUMMARY|definitely lost|indirectly lost" "$work/$run.valgrind" | sed 's/^==[0-9]*== *//' | tr '\n' ';')
        rows=$(wc -l <"$work/$run.jsonl")
        if [ "$rc" = 0 ] && [ "$rows" -gt 0 ]; then
                echo "PASS: memcheck, $run run ($rows rows): $summary"
        else
                echo "FAIL: memcheck, $run run (exit $rc, $rows rows): $summary"
                tail -n 40 "$work/$run.valgrind"
                status=1
        fi
done
grep -q "state restored from its checkpoint" "$work/restart.err" || { echo "FAIL: memcheck: the restart did not load the checkpoint"; status=1; }
grep -q "summary:.* produced_rows=[1-9][0-9]* dead_lettered=1 late_produced=0 producer_errors=0" "$work/restart.err" ||
        { echo "FAIL: memcheck: the restart did not produce its rows and its dead letter"; status=1; }
exit $status
