#!/bin/bash
# Command lines and exit codes of the three programs (interfaces.md):
# 0 ok, 64 usage, 69 broker or topic unavailable, 78 configuration error.
. "$(dirname "$0")/lib.sh"

expect_exit() { # CODE COMMAND... : run, capture output in $WORK/cmd.out/.err
        local want=$1 rc=0
        shift
        "$@" >"$WORK/cmd.out" 2>"$WORK/cmd.err" || rc=$?
        [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(head -c 300 "$WORK/cmd.err")"
}

version=$("$HERE/../../scripts/version.sh")
for prog in "$SENSORD" "$SENSOR_REPLAY" "$SENSOR_DEVBROKER"; do
        expect_exit 0 "$prog" --version
        grep -qx "$(basename "$prog") $version" "$WORK/cmd.out" || fail "$prog --version does not print $version"
        expect_exit 0 "$prog" --help
        grep -q "Usage:" "$WORK/cmd.out" || fail "$prog --help prints no usage"
        expect_exit 64 "$prog" --no-such-option
done
expect_exit 64 "$SENSORD" --sink syslog
expect_exit 64 "$SENSORD" --format yaml
expect_exit 64 "$SENSORD" stray-argument
expect_exit 64 "$SENSOR_REPLAY" --interval "fast"
expect_exit 64 "$SENSOR_REPLAY" --rate 10 --interval 1s
expect_exit 64 "$SENSOR_DEVBROKER" --topic "t:0"

# --check-config: OK for the shipped file; every error with file:line and path
expect_exit 0 "$SENSORD" --check-config -c "$HERE/../../etc/sensord.conf"
grep -qx OK "$WORK/cmd.out" || fail "--check-config does not print OK"
# -v prints every setting as a person writes it, in a form the file takes
# back: a file made of the printed values prints the same
expect_exit 0 "$SENSORD" --check-config -v -c "$HERE/../../etc/sensord.conf"
cp "$WORK/cmd.out" "$WORK/settings.txt"
grep -q '^window.duration  *restart  *"10 min"$' "$WORK/settings.txt" || fail "window.duration is not printed as \"10 min\""
grep -q '^batch.max_bytes  *live  *"10 KiB"$' "$WORK/settings.txt" || fail "batch.max_bytes is not printed as \"10 KiB\""
awk 'NR > 1 { split($1, p, "."); v = $0; sub(/^[^ ]+ +[^ ]+ +/, "", v); g[p[1]] = g[p[1]] "  " p[2] " = " v ";\n"; o[p[1]] = o[p[1]] ? o[p[1]] : NR }
     END { for (k in g) printf "%s = {\n%s};\n", k, g[k] }' "$WORK/settings.txt" >"$WORK/printed.conf"
expect_exit 0 "$SENSORD" --check-config -v -c "$WORK/printed.conf"
diff "$WORK/settings.txt" "$WORK/cmd.out" >&2 || fail "the printed settings do not read back the same"
cat >"$WORK/bad.conf" <<'CONF'
batch = {
  max_messages = 0;
  max_byte = "10 KiB";
};
window = { slide = "forever"; };
CONF
expect_exit 78 "$SENSORD" --check-config -c "$WORK/bad.conf"
grep -q "bad.conf:2: batch.max_messages: must not be" "$WORK/cmd.err" ||
        grep -q "bad.conf:3: batch.max_byte: unknown setting" "$WORK/cmd.err" || fail "no file:line error: $(cat "$WORK/cmd.err")"
grep -q "bad.conf:3: batch.max_byte: unknown setting" "$WORK/cmd.err" || fail "unknown key not reported"
grep -q "bad.conf:5: window.slide: \"forever\"" "$WORK/cmd.err" || fail "bad duration not reported"
expect_exit 78 "$SENSORD" -c "$WORK/bad.conf" --available-now # not only --check-config
expect_exit 78 "$SENSORD" --check-config -c "$WORK/missing.conf"
grep -q "missing.conf" "$WORK/cmd.err" || fail "missing file not named"
# exactly-once refuses a sink that takes no part in a transaction
BROKER=127.0.0.1:9 write_config "$WORK/eos.conf" guarantee=exactly_once sink=journal kafka_topic=results changelog_topic=changelog
expect_exit 78 "$SENSORD" --check-config -c "$WORK/eos.conf"
grep -q "eos.conf:[0-9]*: output.sink: must be \"none\" with output.guarantee = \"exactly_once\"" "$WORK/cmd.err" ||
        fail "exactly_once with the journal not refused: $(cat "$WORK/cmd.err")"
BROKER=127.0.0.1:9 write_config "$WORK/eos.conf" guarantee=exactly_once sink=none kafka_topic=results changelog_topic=changelog
expect_exit 0 "$SENSORD" --check-config -c "$WORK/eos.conf"

# 69: nothing listens on the broker address; bounded by kafka.startup_timeout
BROKER=127.0.0.1:9 # discard port: nothing of ours there
write_config "$WORK/nobroker.conf" startup_timeout="2 s"
start=$(date +%s)
expect_exit 69 "$SENSORD" -c "$WORK/nobroker.conf" --available-now
[ $(($(date +%s) - start)) -lt 15 ] || fail "exit 69 took too long"
grep -q "not available" "$WORK/cmd.err" || fail "no reason given for exit 69"

# 69 too for a topic the broker does not have
start_broker other-topic:1
write_config "$WORK/notopic.conf" startup_timeout="2 s" topic=sensor-data
expect_exit 69 "$SENSORD" -c "$WORK/notopic.conf" --available-now
grep -q "topic sensor-data is not available" "$WORK/cmd.err" || fail "missing topic not named"
echo "cli: ok"
