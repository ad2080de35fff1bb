#!/bin/bash
# The journal sink loses nothing silently. In a mount namespace of the
# test's own, a tmpfs on /run holds the journal's socket path:
#  - bound to a socket nobody reads (a datagram socket bound, then closed),
#    every sd_journal_send() fails with ECONNREFUSED: sensord logs that the
#    journal refused batch 0's rows and exits 74, with nothing committed,
#    so a run to stdout afterwards reads every record and gives the
#    reference rows;
#  - with no socket at all (no journald), sd_journal_send() would report
#    success and drop the rows: sensord refuses to start, exit 74.
# The configuration's 20,000-message batches with the journal sink also
# draw the start-up warning that a batch may write 40,000 rows at once.
# Needs root (unshare -m); otherwise it is skipped.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || { echo "SKIP: needs root and unshare"; exit 77; }

start_broker sensor-data:1
"$SENSOR_REPLAY" -b "$BROKER" --interval 0 "$SHARED_DATA/seed.json" 2>/dev/null
write_config "$WORK/sensord.conf" sink=journal max_messages=20000

# in_private_run SOCKET(yes|no) NAME : sensord --available-now with a
# private /run; its exit code in $rc
in_private_run() {
        rc=0
        unshare -m env SOCKET="$1" PYTHON="$PYTHON" SENSORD="$SENSORD" CONF="$WORK/sensord.conf" sh -c '
                mount --make-rprivate / && mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal || exit 99
                if [ "$SOCKET" = yes ]; then
                        "$PYTHON" -c "import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.close()" /run/systemd/journal/socket || exit 99
                fi
                exec timeout 60 "$SENSORD" -c "$CONF" --available-now' >"$WORK/$2.out" 2>"$WORK/$2.err" || rc=$?
        [ "$rc" != 99 ] || fail "$2: the private /run could not be set up"
}

in_private_run yes refused
[ "$rc" = 74 ] || fail "a journal that refuses rows: exit $rc, not 74"
grep -q "the journal refused result rows of batch 0 (sd_journal_send: Connection refused)" "$WORK/refused.err" ||
        fail "the refusal is not logged"
grep -q "batch.max_messages=20000 with 2 windows per record: a batch may write up to 40000 rows to the journal" \
        "$WORK/refused.err" || fail "no warning about the journal sink with large batches"
[ ! -s "$WORK/refused.out" ] || fail "rows on stdout with sink journal"

in_private_run no absent
[ "$rc" = 74 ] || fail "no journal at all: exit $rc, not 74"
grep -q "results cannot go to the journal: /run/systemd/journal/socket" "$WORK/absent.err" ||
        fail "the missing journal is not logged"

# nothing was committed: the same group to stdout reads all 12 records
sed -i -e 's/sink = "journal"/sink = "stdout"/' -e 's/max_messages = 20000;/max_messages = 5;/' "$WORK/sensord.conf"
run_available_now "$WORK/sensord.conf" after
[ "$(summary_field after messages)" = 12 ] || fail "the refused run committed offsets"
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/after.jsonl"
echo "journal_refused: ok"
