#!/bin/bash
# The journal sink: one native-protocol entry per row with the structured
# fields of semantics.md. No journald runs here, so the test makes a private
# mount namespace, mounts a tmpfs over /run/systemd (nothing on the host
# changes) and listens on /run/systemd/journal/socket, where
# sd_journal_send() writes. (tests/system checks a real journald.)
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! unshare --mount true 2>/dev/null; then
        echo "SKIP: needs root and mount namespaces for a private journal socket"
        exit 77
fi
start_broker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>/dev/null
write_config "$WORK/sensord.conf"
sed -i 's/sink = "stdout"/sink = "auto"/' "$WORK/sensord.conf"

cat >"$WORK/journal.py" <<'PY'
import json, os, socket, subprocess, sys
path = "/run/systemd/journal/socket"
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(0.5)
# INVOCATION_ID makes output.sink = "auto" choose the journal, as under systemd
env = dict(os.environ, INVOCATION_ID="00112233445566778899aabbccddeeff")
out = open(os.environ["WORK"] + "/run.out", "w+")
proc = subprocess.Popen(sys.argv[1:], env=env, stdout=out, stderr=open(os.environ["WORK"] + "/run.err", "w"))
# Receive while sensord runs: the socket queues only a few datagrams
# (net.unix.max_dgram_qlen) before the sender blocks, as with journald.
datagrams = []
while True:
    try:
        datagrams.append(sock.recv(1 << 20))
    except socket.timeout:
        if proc.poll() is not None:
            break
entries = []
for data in datagrams:
    fields = {}
    for line in data.split(b"\n"):
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields[k.decode()] = v.decode()
    entries.append(fields)
out.seek(0)
json.dump({"exit": proc.returncode, "stdout": out.read(), "entries": entries}, sys.stdout)
PY
[ -d /run/systemd ] || fail "/run/systemd is missing"
WORK=$WORK timeout 120 unshare --mount bash -c "mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal &&
        exec /usr/bin/python3 '$WORK/journal.py' '$SENSORD' -c '$WORK/sensord.conf' --available-now" >"$WORK/journal.json"

/usr/bin/python3 - "$WORK/journal.json" "$SHARED_DATA/seed-update.expected.jsonl" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
expected = [json.loads(l) for l in open(sys.argv[2])]
assert got["exit"] == 0, f"sensord exited {got['exit']}"
assert got["stdout"] == "", "rows went to stdout instead of the journal"
rows = [e for e in got["entries"] if e.get("MESSAGE_ID") == "3f5d0e2a8c6b4e1f9a7d2c4b6e8f0a13"]
assert len(rows) == len(expected), f"{len(rows)} journal rows, expected {len(expected)}"
for e, x in zip(rows, expected):
    assert e["PRIORITY"] == "6" and e["SYSLOG_IDENTIFIER"] == "sensord", e
    assert e["SENSOR_ID"] == x["sensor_id"], (e, x)
    assert e["WINDOW_START"] == x["window"]["start"] and e["WINDOW_END"] == x["window"]["end"], (e, x)
    assert e["BATCH"] == str(x["batch"]) and e["COUNT"] == str(x["count"]), (e, x)
    for f in ("avg_value", "max_value", "min_value"):
        assert abs(float(e[f.upper()]) - x[f]) <= 1e-9 * abs(x[f]), (f, e, x)
    assert e["MESSAGE"].startswith(x["sensor_id"] + " [" + x["window"]["start"]), e["MESSAGE"]
print(f"{len(rows)} journal entries match")
PY
# the summary counts the rows sent to the journal, to compare with journalctl
grep -q "summary: .* rows=24 .*journal_rows=24 " "$WORK/run.err" || fail "no journal_rows=24 in the summary"
! grep -q "rows to the journal at once" "$WORK/run.err" || fail "a warning about volume for 5-message batches"
echo "journal: ok"
