#!/bin/bash
# System test: sensord under a real systemd. As root: a Debian 12 rootfs made
# by debootstrap (cached in build/system-cache), booted with systemd-nspawn
# from a fresh copy, driven with nsenter into the container's PID 1; sensord
# is installed in it from the .deb (scripts/build-deb.sh) with apt-get. A
# sensor-devbroker runs on the host's loopback (the container shares the
# host's network).
# Each check prints "PASS: name" or "FAIL: name: why"; the last line is
# "N passed, N failed". A machine that cannot run it prints one SKIP line.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SHARED_DATA=${SHARED_DATA:-$SRC/../shared/data}
CACHE=${SYSTEM_CACHE:-$SRC/build/system-cache}
BUILD=$SRC/build-system
PY=/usr/bin/python3
CHECK="$PY $SRC/tests/integration/check.py"
ROWS="$PY $SRC/tests/system/journal_rows.py"
MESSAGE_ID=3f5d0e2a8c6b4e1f9a7d2c4b6e8f0a13

skip() {
        echo "SKIP: system test: $*"
        exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
for tool in debootstrap systemd-nspawn nsenter; do
        command -v "$tool" >/dev/null || skip "$tool is not installed"
done

passed=0
failed=0
pass() {
        echo "PASS: $1"
        passed=$((passed + 1))
}
fail() {
        echo "FAIL: $1: $2"
        failed=$((failed + 1))
}
die() {
        echo "FAIL: setup: $*"
        echo "$passed passed, $((failed + 1)) failed"
        exit 1
}

WORK=$(mktemp -d /var/tmp/sensord-system.XXXXXX)
NSPAWN_PID=
DEVBROKER_PID=
cleanup() {
        [ -z "$NSPAWN_PID" ] || halt
        [ -z "$DEVBROKER_PID" ] || { kill "$DEVBROKER_PID" 2>/dev/null; wait "$DEVBROKER_PID" 2>/dev/null; }
        rm -rf "$WORK"
}
trap cleanup EXIT

# --- the rootfs, sensord in it, a broker beside it ----------------------------

echo "== building sensord (for the host's devbroker and replay) and the packages"
{ [ -d "$BUILD" ] || meson setup "$BUILD" "$SRC" --prefix=/usr -Dtests=disabled; } >"$WORK/build.log" 2>&1 &&
        ninja -C "$BUILD" >>"$WORK/build.log" 2>&1 || die "build failed: $(tail -5 "$WORK/build.log")"
# the packages tests/packaging/packaging.sh built, or build them now
PACKAGES=$(realpath -m "${PACKAGES:-$SRC/build/packages}")
version=$("$SRC/scripts/version.sh")
DEB=$PACKAGES/sensord_${version}_$(dpkg --print-architecture).deb
RPM=$(ls "$PACKAGES"/sensord-"$version"-*.rpm 2>/dev/null | head -n 1)
if [ ! -f "$DEB" ] || [ -z "$RPM" ]; then
        PACKAGES=$WORK/packages
        "$SRC/scripts/build-deb.sh" "$PACKAGES" >"$WORK/deb.log" 2>&1 || die "building the .deb failed: $(tail -5 "$WORK/deb.log")"
        "$SRC/scripts/build-rpm.sh" "$PACKAGES" >"$WORK/rpm.log" 2>&1 || die "building the .rpm failed: $(tail -5 "$WORK/rpm.log")"
        DEB=$PACKAGES/sensord_${version}_$(dpkg --print-architecture).deb
        RPM=$(ls "$PACKAGES"/sensord-"$version"-*.rpm | head -n 1)
fi

# systemd to boot, procps for /bin/kill (the unit's ExecReload), and
# sensord's run-time libraries; the cache is keyed by this list
ROOTFS_PACKAGES=systemd,systemd-sysv,dbus,procps,librdkafka1,libyajl2,libconfig9,libmicrohttpd12,libsystemd0,rpm
BASE=$CACHE/base-$(echo "$ROOTFS_PACKAGES" | md5sum | cut -c1-8)
if [ ! -e "$BASE/.complete" ]; then
        echo "== debootstrap of a Debian 12 rootfs into $CACHE (once)"
        # the mirror this machine's apt already uses
        mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
        [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
        [ -n "$mirror" ] || die "no Debian mirror in the apt configuration"
        rm -rf "$BASE.tmp"
        mkdir -p "$CACHE"
        debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" bookworm "$BASE.tmp" "$mirror" \
                >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed: $(tail -3 "$CACHE/debootstrap.log")"
        touch "$BASE.tmp/.complete"
        mv "$BASE.tmp" "$BASE"
fi
ROOT=$WORK/root
cp -a "$BASE" "$ROOT" || die "cannot copy the rootfs"
cp "$DEB" "$ROOT/root/" || die "cannot copy the .deb"
CT_DEB=/root/$(basename "$DEB")

"$BUILD/src/sensor-devbroker" --topic sensor-data:1 --topic sensor-data-rpm:1 --topic volume:8 --address-file "$WORK/broker" >/dev/null 2>"$WORK/devbroker.err" &
DEVBROKER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/broker" ] && break; sleep 0.1; done
BROKER=$(cat "$WORK/broker") || die "no devbroker"

CONF=$ROOT/etc/sensord/sensord.conf

# --- boot ------------------------------------------------------------------------

in_ct() { nsenter -t "$CPID" -m -u -i -n -p -- "$@"; }

# boot ROOTDIR: starts systemd-nspawn on it and waits for its systemd
boot() {
        echo "== booting $1"
        systemd-nspawn -D "$1" -b --register=no --keep-unit --console=passive -q >"$WORK/nspawn.log" 2>&1 </dev/null &
        NSPAWN_PID=$!
        CPID=
        for _ in $(seq 100); do
                # the container's PID 1: the first systemd below nspawn
                CPID=$(ps -o pid= --ppid "$NSPAWN_PID" 2>/dev/null | head -n 1 | tr -d ' ')
                [ -n "$CPID" ] && [ "$(ps -o comm= -p "$CPID")" != systemd ] &&
                        CPID=$(ps -o pid= --ppid "$CPID" | head -n 1 | tr -d ' ')
                [ -n "$CPID" ] && [ "$(ps -o comm= -p "$CPID" 2>/dev/null)" = systemd ] && break
                CPID=
                sleep 0.1
        done
        [ -n "$CPID" ] || die "the container did not start: $(tail -3 "$WORK/nspawn.log")"
        # is-system-running --wait fails at once while PID 1 has no private socket yet: poll
        local state=
        for _ in $(seq 300); do
                state=$(in_ct systemctl is-system-running 2>/dev/null)
                case "$state" in running | degraded) return 0 ;; esac
                sleep 0.2
        done
        die "the container's systemd did not come up: ${state:-no answer}"
}

# halt: powers the container off and waits for nspawn to end
halt() {
        in_ct systemctl poweroff >/dev/null 2>&1
        for _ in $(seq 150); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NSPAWN_PID" 2>/dev/null
        wait "$NSPAWN_PID" 2>/dev/null
        NSPAWN_PID=
        CPID=
}

boot "$ROOT"

# --- the package ------------------------------------------------------------------
if ! in_ct apt-get install -y -q "$CT_DEB" >"$WORK/apt.log" 2>&1; then
        die "apt-get install of the .deb failed: $(tail -5 "$WORK/apt.log")"
fi
[ -f "$CONF" ] || die "the package installed no $CONF"
sed -i -e "s/brokers = \"localhost:9092\"/brokers = \"$BROKER\"/" \
        -e 's/properties = ( );/properties = ( ("session.timeout.ms", "6000") );/' "$CONF"
grep -q "$BROKER" "$CONF" || die "config not edited"
# A short watchdog for check 6 (the shipped unit says 30 s), as a runtime
# drop-in so that /etc holds only what the package put there.
in_ct mkdir -p /run/systemd/system/sensord.service.d
printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=2s\n' | in_ct tee /run/systemd/system/sensord.service.d/test.conf >/dev/null
in_ct systemctl daemon-reload

unit_prop() { in_ct systemctl show -P "$1" sensord; }
journal_json() { in_ct journalctl -u sensord -o json --no-pager "$@"; }
# wait_journal PATTERN SECONDS: until a line of sensord's journal matches
wait_journal() {
        for _ in $(seq $(($2 * 5))); do
                in_ct journalctl -u sensord -o cat --no-pager | grep -q -- "$1" && return 0
                sleep 0.2
        done
        return 1
}
# wait_rows MIN_BATCH COUNT SECONDS: until that many result rows from that batch on
wait_rows() {
        for _ in $(seq $(($3 * 5))); do
                [ "$(journal_json MESSAGE_ID=$MESSAGE_ID | $ROWS --min-batch "$1" | wc -l)" -ge "$2" ] && return 0
                sleep 0.2
        done
        return 1
}
# shifted HOURS: the sample data as JSON lines, HOURS later
shifted() {
        $PY -c '
import datetime as dt, json, sys
for r in json.load(open(sys.argv[1])):
    t = dt.datetime.fromisoformat(r["timestamp"]) + dt.timedelta(hours=int(sys.argv[2]))
    r["timestamp"] = t.isoformat()
    print(json.dumps(r, separators=(",", ":")))' "$SHARED_DATA/seed.json" "$1" >"$WORK/shifted-$1.jsonl"
        echo "$WORK/shifted-$1.jsonl"
}
replay() { "$BUILD/src/sensor-replay" -b "$BROKER" --interval 0 "$@" 2>>"$WORK/replay.err"; }
max_batch() { journal_json MESSAGE_ID=$MESSAGE_ID | $ROWS | $PY -c 'import json,sys; print(max([json.loads(l)["batch"] for l in sys.stdin] or [-1]))'; }

# --- 1. start: active only after READY, STATUS shown --------------------------------
# (the first install neither enabled nor started it: it needs its broker first)
if [ "$(unit_prop ActiveState)" != inactive ] || [ "$(in_ct systemctl is-enabled sensord)" != disabled ]; then
        fail "1 start" "after the first install the unit is $(unit_prop ActiveState), $(in_ct systemctl is-enabled sensord)"
elif ! in_ct systemctl start sensord; then
        fail "1 start" "systemctl start failed: $(in_ct systemctl status sensord --no-pager | tail -5)"
else
        active="$(unit_prop ActiveState)/$(unit_prop SubState)"
        status=$(unit_prop StatusText)
        # sensord logs "started" just before READY=1; systemd logs "Started" when it receives it
        order=$(in_ct journalctl -u sensord -o cat --no-pager | grep -n -e "sensord .* started:" -e "^Started sensord.service" |
                cut -d: -f1 | tr '\n' ' ')
        set -- $order
        if [ "$active" != active/running ]; then
                fail "1 start" "unit is $active"
        elif [[ "$status" != *records*batches*watermark* ]]; then
                fail "1 start" "no STATUS line: '$status'"
        elif [ $# -ne 2 ] || [ "$1" -ge "$2" ]; then
                fail "1 start" "READY order in the journal wrong: lines $order"
        elif ! in_ct systemctl status sensord --no-pager | grep -q "Status: \".*records"; then
                fail "1 start" "systemctl status shows no Status line"
        else
                pass "1 start: inactive and disabled after the first install; active (running) after READY; Status: $status"
        fi
fi

# --- 2. the sample data: 24 rows with structured fields --------------------------------
replay "$SHARED_DATA/seed.json"
if ! wait_rows 0 24 30; then
        fail "2 results" "only $(journal_json MESSAGE_ID=$MESSAGE_ID | wc -l) result rows in the journal"
else
        journal_json MESSAGE_ID=$MESSAGE_ID | $ROWS >"$WORK/rows.jsonl"
        if ! out=$($CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/rows.jsonl" 2>&1); then
                fail "2 results" "$out"
        elif [ "$(in_ct journalctl -u sensord SENSOR_ID=sensor_001 -o json --no-pager | wc -l)" != 4 ]; then
                fail "2 results" "journalctl SENSOR_ID=sensor_001 does not find that sensor's 4 rows"
        elif [ "$(in_ct journalctl -u sensord MESSAGE_ID=$MESSAGE_ID PRIORITY=6 -o cat --no-pager | wc -l)" != 24 ]; then
                fail "2 results" "rows are not PRIORITY=6"
        else
                pass "2 results: 24 rows in the journal match the reference; SENSOR_ID=sensor_001 finds 4"
        fi
fi

# --- 3. reload with a new batch limit: applied, nothing lost or doubled ---------------
sed -i 's/max_messages = 5;/max_messages = 2;/' "$CONF"
first=$(($(max_batch) + 1))
if ! in_ct systemctl reload sensord || ! wait_journal "configuration reloaded: batch.max_messages=2" 10; then
        fail "3 reload" "reload not applied or not logged"
else
        data=$(shifted 1)
        replay "$data"
        if ! wait_rows "$first" 24 30; then
                fail "3 reload" "no rows for the data sent after the reload"
        else
                journal_json MESSAGE_ID=$MESSAGE_ID | $ROWS --min-batch "$first" >"$WORK/rows3.jsonl"
                $CHECK reference --max-messages 2 --first-batch "$first" "$data" >"$WORK/expected3.jsonl" 2>/dev/null
                if ! out=$($CHECK compare "$WORK/expected3.jsonl" "$WORK/rows3.jsonl" 2>&1); then
                        fail "3 reload" "$out"
                elif ! out=$($CHECK final-equal "$WORK/rows3.jsonl" "$data" 2>&1); then
                        fail "3 reload" "$out"
                else
                        pass "3 reload: max_messages=2 in effect (6 batches of 2 from batch $first), every record counted once"
                fi
        fi
fi

# --- 4. a broken file: the unit stays active, the error has file:line ------------------
cp "$CONF" "$WORK/good.conf"
sed -i 's/max_messages = 2;/max_messages = ;/' "$CONF"
in_ct systemctl reload sensord
if ! wait_journal "reload failed: /etc/sensord/sensord.conf:[0-9]*: syntax error" 10; then
        fail "4 broken config" "no error with file:line in the journal"
elif [ "$(unit_prop ActiveState)" != active ]; then
        fail "4 broken config" "unit is $(unit_prop ActiveState)"
else
        first=$(($(max_batch) + 1))
        replay "$(shifted 2)"
        if wait_rows "$first" 24 30; then
                pass "4 broken config: refused with file:line, unit active, results keep flowing"
        else
                fail "4 broken config" "no results after the failed reload"
        fi
fi
cp "$WORK/good.conf" "$CONF"

# --- 5. a changed window: refused, naming the setting -------------------------------
sed -i 's/duration = "10 minutes";/duration = "20 minutes";/' "$CONF"
in_ct systemctl reload sensord
if ! wait_journal "reload refused: window.duration changed" 10; then
        fail "5 window change" "no refusal naming window.duration"
else
        first=$(($(max_batch) + 1))
        replay "$(shifted 3)"
        if wait_rows "$first" 24 30 && [ "$(unit_prop ActiveState)" = active ]; then
                pass "5 window change: refused naming window.duration, results keep flowing"
        else
                fail "5 window change" "results stopped after the refused reload"
        fi
fi
cp "$WORK/good.conf" "$CONF"

# --- 6. the watchdog: a sensord that stops answering is restarted --------------------
old_pid=$(unit_prop MainPID)
old_restarts=$(unit_prop NRestarts)
in_ct kill -STOP "$old_pid"
restarted=
for _ in $(seq 150); do
        pid=$(unit_prop MainPID)
        if [ "$(unit_prop NRestarts)" -gt "$old_restarts" ] && [ "$pid" != 0 ] && [ "$pid" != "$old_pid" ] &&
                [ "$(unit_prop ActiveState)" = active ]; then
                restarted=yes
                break
        fi
        sleep 0.2
done
if [ -z "$restarted" ]; then
        fail "6 watchdog" "not restarted: $(in_ct systemctl status sensord --no-pager | sed -n 3p)"
elif ! in_ct journalctl -u sensord -o cat --no-pager | grep -q "Watchdog timeout"; then
        fail "6 watchdog" "restarted, but not by the watchdog"
else
        pass "6 watchdog: a stopped sensord was restarted by systemd (watchdog timeout)"
fi

# --- 7. stop: exit 0 within the bound, offsets committed to the end ------------------
# The restarted sensord rejoins the group (after the killed member's
# session expires) and reads on from the last commit; wait until it has
# caught up (its own journal entries, its STATUS lag) before stopping it.
new_pid=$(unit_prop MainPID)
for _ in $(seq 150); do
        in_ct journalctl -u sensord _PID="$new_pid" -o cat --no-pager | grep -q "assigned 1 partition" &&
                [[ "$(unit_prop StatusText)" == *"lag 0" ]] && break
        sleep 0.2
done
start=$(date +%s%N)
in_ct systemctl stop sensord
took_ms=$((($(date +%s%N) - start) / 1000000))
committed=$($PY - "$BROKER" <<'PY' 2>"$WORK/offsets.err"
import sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id="sensord", enable_auto_commit=False)
tp = TopicPartition("sensor-data", 0)
print(c.committed(tp), c.end_offsets([tp])[tp])
c.close()
PY
)
set -- $committed
if [ "$(unit_prop Result)" != success ] || [ "$(unit_prop ExecMainStatus)" != 0 ]; then
        fail "7 stop" "Result=$(unit_prop Result) ExecMainStatus=$(unit_prop ExecMainStatus)"
elif [ "$took_ms" -gt 10000 ]; then
        fail "7 stop" "stop took ${took_ms} ms"
elif [ $# -ne 2 ] || [ "$1" != "$2" ]; then
        fail "7 stop" "committed offset / end offset: ${committed:-none} $(tail -2 "$WORK/offsets.err")"
else
        pass "7 stop: exit 0 in ${took_ms} ms; committed offset $1 = end offset $2"
fi

# --- 17. metrics: the endpoint and node_exporter's textfile under the unit -------
# The textfile directory is root's, as Debian's prometheus-node-exporter
# makes it; the README's drop-in gives the unit's dynamic user its group.
in_ct mkdir -p /var/lib/prometheus/node-exporter
printf '%s\n' '[Service]' \
        "ExecStartPre=+/bin/sh -c 'd=/var/lib/prometheus/node-exporter; chgrp \"\$\$(stat -c %%g /var/lib/private/sensord)\" \$\$d && chmod g+w \$\$d'" |
        in_ct tee /run/systemd/system/sensord.service.d/metrics.conf >/dev/null
in_ct systemctl daemon-reload
cp "$CONF" "$WORK/conf.before-metrics"
sed -i -e 's|^  listen = "";|  listen = "127.0.0.1:19464";|' \
        -e 's|^  textfile = "";|  textfile = "/var/lib/prometheus/node-exporter/sensord.prom";|' -e 's|^  interval = "15 s";|  interval = "1 s";|' "$CONF"
PROM=$ROOT/var/lib/prometheus/node-exporter/sensord.prom
if ! in_ct systemctl start sensord; then
        fail "17 metrics" "start failed: $(in_ct journalctl -u sensord -o cat --no-pager | tail -4)"
else
        for _ in $(seq 100); do
                scrape=$($PY -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:19464/metrics", timeout=5).read().decode())' 2>&1)
                grep -q '^sensord_partitions_held 1' <<<"$scrape" && [ -s "$PROM" ] && break
                sleep 0.2
        done
        exposure=$(in_ct systemd-analyze security sensord 2>/dev/null | sed -n 's/.*Overall exposure level[^:]*: \([0-9.]*\).*/\1/p')
        if [ ! -s "$PROM" ] || ! grep -q '^sensord_messages_total ' "$PROM"; then
                fail "17 metrics" "no textfile: $(in_ct journalctl -u sensord -o cat --no-pager | grep -i metrics | tail -3)"
        elif ! grep -q '^sensord_partitions_held 1' <<<"$scrape"; then
                fail "17 metrics" "the endpoint answered: $(head -c 300 <<<"$scrape")"
        elif [ -n "$exposure" ] && ! $PY -c "import sys; sys.exit(float(sys.argv[1]) > 2.0)" "$exposure"; then
                fail "17 metrics" "exposure $exposure"
        else
                pass "17 metrics: GET /metrics answers and $(basename "$PROM") is written under the hardened unit (exposure ${exposure:-n/a})"
        fi
fi
in_ct systemctl stop sensord
cp "$WORK/conf.before-metrics" "$CONF"
in_ct rm -f /run/systemd/system/sensord.service.d/metrics.conf
in_ct systemctl daemon-reload

# --- package upgrades and removals of a running sensord (issue #22) ---------------
# A package of a higher version: the .deb repacked with its Version bumped
# (the maintainer scripts are what is tested; dpkg replaces every file), the
# .rpm rebuilt with a higher release.
UP_VERSION=${version}+upgrade1
dpkg-deb -R "$DEB" "$WORK/deb-up" && sed -i "s/^Version: .*/Version: $UP_VERSION/" "$WORK/deb-up/DEBIAN/control" &&
        dpkg-deb -b "$WORK/deb-up" "$ROOT/root/sensord_${UP_VERSION}.deb" >/dev/null || die "cannot repack the .deb"
CT_DEB_UP=/root/sensord_${UP_VERSION}.deb

main_pid() { unit_prop MainPID; }
# gen_data NAME HOUR: 3,000 records of 50 sensors as JSON lines, one a
# second of event time from 2024-10-23 HOUR:00 on (hours apart from any
# other check's data, so that their windows do not mix)
gen_data() {
        $PY -c '
import json, sys
for i in range(3000):
    h, rest = divmod(i, 3600)
    print(json.dumps({"sensor_id": "up_%02d" % (i % 50), "value": (i * 7919 % 1000) / 10,
                      "timestamp": "2024-10-23T%02d:%02d:%02dZ" % (int(sys.argv[1]) + h, rest // 60, rest % 60)}))' "$2" \
                >"$WORK/$1.jsonl"
        echo "$WORK/$1.jsonl"
}
# model_holds FIRST_BATCH DATA SECONDS: until the last journal row of every
# (window, sensor) from batch FIRST_BATCH on equals the model over DATA
model_holds() {
        for _ in $(seq $(($3 / 2))); do
                journal_json MESSAGE_ID=$MESSAGE_ID | $ROWS --min-batch "$1" >"$WORK/model-rows.jsonl"
                $CHECK final-equal "$WORK/model-rows.jsonl" "$2" >"$WORK/model.out" 2>&1 && return 0
                sleep 2
        done
        return 1
}
# gone_gracefully PID: that sensord is no longer running, and its exit
# summary (written after the batch in flight is checkpointed) is in the journal
gone_gracefully() {
        ! in_ct test -e "/proc/$1" &&
                in_ct journalctl -u sensord _PID="$1" -o cat --no-pager | grep -q "^summary: "
}
no_sensord_left() { ! in_ct pgrep -x sensord >/dev/null; }
STREAM_TOPIC=sensor-data

# while_streaming NAME HOUR COMMAND...: streams gen_data's records to $STREAM_TOPIC at 300/s
# (10 s) and runs COMMAND in the container 3 s in; then checks that the
# unit runs again on a new process whose binary is the installed one, that
# the old process stopped gracefully, and that every aggregate is exact.
# Prints why not, or nothing.
while_streaming() {
        local name=$1 hour=$2 old first data rpid new
        shift 2
        old=$(main_pid)
        first=$(($(max_batch) + 1))
        data=$(gen_data "$name" "$hour")
        "$BUILD/src/sensor-replay" -b "$BROKER" -t "$STREAM_TOPIC" --rate 300 "$data" 2>>"$WORK/replay.err" &
        rpid=$!
        sleep 3
        if ! in_ct "$@" >"$WORK/$name.log" 2>&1; then
                wait "$rpid"
                echo "'$*' failed: $(tail -3 "$WORK/$name.log")"
                return
        fi
        wait "$rpid" || { echo "the replay failed"; return; }
        new=$(main_pid)
        if [ "$(unit_prop ActiveState)" != active ]; then
                echo "the unit is $(unit_prop ActiveState)/$(unit_prop SubState) after '$*'"
        elif [ "$new" = 0 ] || [ "$new" = "$old" ]; then
                echo "not restarted: MainPID $old before, $new after"
        elif [[ "$(in_ct readlink "/proc/$new/exe")" == *deleted* ]]; then
                echo "the new process runs a deleted binary: $(in_ct readlink "/proc/$new/exe")"
        elif ! gone_gracefully "$old"; then
                echo "the old sensord ($old) did not stop gracefully (no summary in the journal)"
        elif ! model_holds "$first" "$data" 90; then
                echo "aggregates wrong after '$*': $(tail -3 "$WORK/model.out")"
        fi
}

# --- 8. upgrade of a running sensord: restarted on the new binary, nothing lost ----
in_ct systemctl start sensord
if ! wait_journal "assigned 1 partition" 30; then
        fail "8 upgrade" "sensord did not start again"
elif why=$(while_streaming up8 1 apt-get install -y -q "$CT_DEB_UP") && [ -n "$why" ]; then
        fail "8 upgrade" "$why"
elif [ "$(in_ct dpkg-query -W -f '${Version}' sensord)" != "$UP_VERSION" ]; then
        fail "8 upgrade" "installed version is $(in_ct dpkg-query -W -f '${Version}' sensord)"
else
        pass "8 upgrade to $UP_VERSION while 3,000 records stream: restarted on the new binary, old one stopped gracefully, every (window, sensor) exact"
fi

# --- 9. reinstall of a running sensord: the same; the edited configuration kept -----
if why=$(while_streaming up9 4 apt-get install -y -q --reinstall "$CT_DEB_UP") && [ -n "$why" ]; then
        fail "9 reinstall" "$why"
elif ! grep -q "$BROKER" "$CONF" || ! grep -q 'session.timeout.ms' "$CONF"; then
        fail "9 reinstall" "the edited /etc/sensord/sensord.conf was replaced"
else
        pass "9 reinstall while streaming: restarted, every (window, sensor) exact; the edited sensord.conf is kept (a conffile)"
fi

# --- 10. a stopped sensord stays stopped across an upgrade and a reinstall ---------
in_ct systemctl stop sensord
if ! in_ct apt-get install -y -q "$CT_DEB" --allow-downgrades >"$WORK/down.log" 2>&1 ||
        ! in_ct apt-get install -y -q "$CT_DEB_UP" >"$WORK/up10.log" 2>&1 ||
        ! in_ct apt-get install -y -q --reinstall "$CT_DEB_UP" >"$WORK/re10.log" 2>&1; then
        fail "10 stopped" "apt-get failed: $(tail -3 "$WORK/down.log" "$WORK/up10.log" "$WORK/re10.log")"
elif [ "$(unit_prop ActiveState)" != inactive ] || ! no_sensord_left; then
        fail "10 stopped" "the unit is $(unit_prop ActiveState) after upgrading a stopped sensord"
elif [ "$(in_ct systemctl is-enabled sensord)" != disabled ]; then
        fail "10 stopped" "the package enabled the unit: $(in_ct systemctl is-enabled sensord)"
else
        pass "10 a stopped sensord stays stopped (and disabled) across an upgrade and a reinstall"
fi

# --- 11. dpkg -r of a running sensord stops it gracefully ---------------------------
in_ct systemctl start sensord
pid=$(main_pid)
if ! in_ct dpkg -r sensord >"$WORK/remove.log" 2>&1; then
        fail "11 remove" "dpkg -r failed: $(tail -3 "$WORK/remove.log")"
elif ! no_sensord_left; then
        fail "11 remove" "sensord still runs: $(in_ct pgrep -a sensord)"
elif ! gone_gracefully "$pid"; then
        fail "11 remove" "sensord ($pid) did not stop gracefully"
elif [ ! -f "$CONF" ]; then
        fail "11 remove" "remove (not purge) took the configuration"
else
        pass "11 dpkg -r of a running sensord: stopped gracefully first, configuration kept"
fi

# --- 12. dpkg -P of a running sensord: stopped, and nothing left behind -------------
in_ct rm -rf /run/systemd/system/sensord.service.d # the test's own drop-in
in_ct systemctl daemon-reload
left=
if ! in_ct dpkg -i "$CT_DEB_UP" >"$WORK/install12.log" 2>&1 || ! in_ct systemctl start sensord; then
        fail "12 purge" "reinstalling and starting failed: $(tail -3 "$WORK/install12.log")"
else
        pid=$(main_pid)
        if ! in_ct dpkg -P sensord >"$WORK/purge.log" 2>&1; then
                fail "12 purge" "dpkg -P failed: $(tail -3 "$WORK/purge.log")"
        else
                in_ct systemctl daemon-reload
                for path in /lib/systemd/system/sensord.service /usr/lib/systemd/system/sensord.service /etc/sensord \
                        /var/lib/sensord /var/lib/private/sensord /usr/sbin/sensord; do
                        in_ct test -e "$path" && left="$left $path"
                done
                in_ct getent passwd sensord >/dev/null && left="$left user:sensord"
                [ "$(in_ct systemctl show -P LoadState sensord)" = not-found ] ||
                        left="$left unit:$(in_ct systemctl show -P LoadState sensord)"
                no_sensord_left || left="$left process:$(in_ct pgrep -a sensord)"
                if [ -n "$left" ]; then
                        fail "12 purge" "left behind:$left"
                elif ! gone_gracefully "$pid"; then
                        fail "12 purge" "sensord ($pid) did not stop gracefully"
                else
                        pass "12 dpkg -P of a running sensord: stopped gracefully; no process, unit, user, configuration or state left"
                fi
        fi
fi

# --- 13. the .rpm's layout works too: rpm -i into a fresh rootfs, then start -------
halt
ROOT2=$WORK/root-rpm
cp -a "$BASE" "$ROOT2" || die "cannot copy the rootfs"
RPM_UP_DIR=$WORK/rpm-up
RPM_DIST=.upgrade1 "$SRC/scripts/build-rpm.sh" "$RPM_UP_DIR" >"$WORK/rpm-up.log" 2>&1 ||
        die "building the upgrade .rpm failed: $(tail -5 "$WORK/rpm-up.log")"
RPM_UP=$(ls "$RPM_UP_DIR"/sensord-"$version"-*.upgrade1.*.rpm | head -n 1)
cp "$RPM_UP" "$ROOT2/root/" || die "cannot copy the upgrade .rpm"
CT_RPM_UP=/root/$(basename "$RPM_UP")
rpm_started=
if ! rpm -i --nodeps --root "$ROOT2" "$RPM" >"$WORK/rpm-install.log" 2>&1; then
        fail "13 rpm" "rpm -i --root failed: $(tail -3 "$WORK/rpm-install.log")"
else
        CONF=$ROOT2/etc/sensord/sensord.conf
        # its own topic, holding only the seed: sensor-data also holds checks
        # 8-12's records, a backlog that 5-message batches would still be
        # reading (rows of other hours) while check 14 streams
        replay -t sensor-data-rpm "$SHARED_DATA/seed.json"
        sed -i -e "s/brokers = \"localhost:9092\"/brokers = \"$BROKER\"/" -e 's/group_id = "sensord"/group_id = "sensord-rpm"/' \
                -e 's/topic = "sensor-data";/topic = "sensor-data-rpm";/' \
                -e 's/properties = ( );/properties = ( ("session.timeout.ms", "6000") );/' "$CONF"
        boot "$ROOT2"
        if ! in_ct systemctl start sensord; then
                fail "13 rpm" "systemctl start failed: $(in_ct systemctl status sensord --no-pager | tail -3)"
        elif [ "$(in_ct realpath "$(unit_prop FragmentPath)")" != /usr/lib/systemd/system/sensord.service ]; then
                # (on a usrmerged rootfs systemd may name it by /lib, a link to /usr/lib)
                fail "13 rpm" "the unit was loaded from $(unit_prop FragmentPath)"
        elif ! wait_rows 0 24 30; then
                fail "13 rpm" "no results from the rpm-installed sensord"
        else
                rpm_started=yes
                pass "13 rpm: rpm -i --root on a fresh rootfs; sensord starts from /usr/lib/systemd/system and emits its rows"
        fi
fi

# --- 14. rpm -U of a running sensord: restarted on the new binary, nothing lost -----
if [ -z "$rpm_started" ]; then
        fail "14 rpm upgrade" "no running rpm-installed sensord"
elif why=$(STREAM_TOPIC=sensor-data-rpm while_streaming up14 7 rpm -U --nodeps "$CT_RPM_UP") && [ -n "$why" ]; then
        fail "14 rpm upgrade" "$why"
elif ! in_ct rpm -q sensord | grep -q upgrade1; then
        fail "14 rpm upgrade" "installed: $(in_ct rpm -q sensord)"
else
        pass "14 rpm -U to $(basename "$RPM_UP" .rpm) while 3,000 records stream: restarted, old one stopped gracefully, every (window, sensor) exact"
fi

# --- 15. the journal keeps every row at volume (issue #21) --------------------------
# 100,000 generated records (20,000 sensors, 8 partitions) already in the
# topic, 10,000-message batches, a 1-day watermark so that no pair is late:
# about 200,000 rows within seconds, far beyond journald's default rate
# limit, which the unit lifts (LogRateLimitIntervalSec=/LogRateLimitBurst=).
VOLUME=100000
in_ct systemctl stop sensord
sed -i -e 's/topic = "sensor-data-rpm";/topic = "volume";/' -e 's/group_id = "sensord-rpm"/group_id = "sensord-volume"/' \
        -e 's/max_messages = 5;/max_messages = 10000;/' -e 's/max_bytes = "10 KiB";/max_bytes = "10 MiB";/' \
        -e 's/watermark = "5 minutes";/watermark = "1 day";/' "$CONF"
replay -t volume --generate 20000 --count "$VOLUME" --distinct
interval=$(unit_prop LogRateLimitIntervalUSec)
burst=$(unit_prop LogRateLimitBurst)
start=$(date +%s%N)
in_ct systemctl start sensord
inv=$(unit_prop InvocationID)
# done when every record is read and the rows written to the journal
# (STATUS=, refreshed every 2 s) stop growing
before=
for _ in $(seq 240); do
        status=$(unit_prop StatusText)
        [[ "$status" == "$VOLUME records"* ]] && [ "$status" = "$before" ] && break
        before=$status
        sleep 2.5
done
took_ms=$((($(date +%s%N) - start) / 1000000))
in_ct systemctl stop sensord
# the run's result rows, read from the journal once
in_ct journalctl _SYSTEMD_INVOCATION_ID="$inv" MESSAGE_ID=$MESSAGE_ID -o json --no-pager >"$WORK/volume.json"
# journald's own clock: from the first result row to the last
span_us=$($PY -c 'import json, sys
t = [int(json.loads(l)["__REALTIME_TIMESTAMP"]) for l in sys.stdin]
print(max(t) - min(t) if t else 0)' <"$WORK/volume.json")
summary=$(in_ct journalctl _SYSTEMD_INVOCATION_ID="$inv" _TRANSPORT=stdout -o cat --no-pager | grep "^summary: ") # (its log, not its rows)
rows=$(sed -n 's/.* rows=\([0-9]*\).*/\1/p' <<<"$summary")
journal_rows=$(sed -n 's/.* journal_rows=\([0-9]*\).*/\1/p' <<<"$summary")
$ROWS <"$WORK/volume.json" >"$WORK/volume-rows.jsonl"
found=$(wc -l <"$WORK/volume-rows.jsonl")
kcat -C -b "$BROKER" -t volume -e -q -f '%s\n' >"$WORK/volume-values.txt" 2>/dev/null
if [ "$interval" != 1s ] || [ "$burst" != 1000000 ]; then
        fail "15 journal volume" "the unit's LogRateLimitIntervalUSec=$interval LogRateLimitBurst=$burst"
elif [[ "$summary" != *"messages=$VOLUME "* ]]; then
        fail "15 journal volume" "sensord did not read the $VOLUME records: ${summary:-no summary}"
elif [ "${rows:-0}" -lt 100000 ] || [ "$journal_rows" != "$rows" ]; then
        fail "15 journal volume" "rows=$rows journal_rows=$journal_rows: not the 100,000 rows the check needs"
elif in_ct journalctl -o cat --no-pager | grep -q "Suppressed .* sensord.service"; then
        fail "15 journal volume" "journald suppressed rows: $(in_ct journalctl -o cat --no-pager | grep "Suppressed .* sensord")"
elif [ "$found" != "$rows" ]; then
        fail "15 journal volume" "sensord wrote $rows rows, journalctl finds $found"
elif ! out=$($CHECK final-equal "$WORK/volume-rows.jsonl" "$WORK/volume-values.txt" 2>&1); then
        fail "15 journal volume" "the rows in the journal are wrong: $(tail -3 <<<"$out")"
else
        pass "15 journal volume: $rows rows (journal_rows=$journal_rows), all written $((took_ms / 1000)) s after the start; journald took them in $((span_us / 1000)) ms ($((rows * 1000000 / (span_us + 1))) rows/s); every one in journalctl and right, no Suppressed line"
fi

# --- 16. rpm -e of a running sensord stops it gracefully ---------------------------
sed -i -e 's/topic = "volume";/topic = "sensor-data-rpm";/' -e 's/group_id = "sensord-volume"/group_id = "sensord-rpm"/' "$CONF"
in_ct systemctl start sensord
pid=$(main_pid)
if ! in_ct rpm -e --nodeps sensord >"$WORK/rpm-e.log" 2>&1; then
        fail "16 rpm -e" "rpm -e failed: $(tail -3 "$WORK/rpm-e.log")"
elif ! no_sensord_left; then
        fail "16 rpm -e" "sensord still runs: $(in_ct pgrep -a sensord)"
elif [ "$pid" = 0 ] || ! gone_gracefully "$pid"; then
        fail "16 rpm -e" "sensord ($pid) did not stop gracefully"
else
        pass "16 rpm -e of a running sensord: stopped gracefully, no process left"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
