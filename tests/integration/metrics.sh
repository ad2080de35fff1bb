#!/bin/bash
# Metrics, read as an operator's monitoring reads them. sensord serves
# metrics.listen and writes metrics.textfile (every second) while a real
# Prometheus (Debian's prometheus, on 127.0.0.1, scraping every second)
# scrapes it and node_exporter's textfile collector, and this script:
#  - feeds it out-of-order records (late records to late_data.topic),
#    invalid ones (to dead_letter.topic), a rebalance (a second member joins
#    and leaves), then one batch of 100,000 records, during which the
#    endpoint is asked every 50 ms and must answer each time within 2 s;
#  - holds 5 connections that sent a request and never read, through the
#    run and the stop: the watchdog stays fed (no 2 s gap) and SIGTERM still
#    ends sensord within 10 s;
#  - reloads it three times: metrics.interval applied live (and back), a
#    new metrics.listen refused (restart-only); 2 applied, 1 refused counted;
#  - checks a scrape and the textfile with promtool, queries Prometheus for
#    sensord_messages_total (both jobs) and for the consumer lag of each
#    partition until it is 0, and compares the last textfile (written after
#    the summary) with the summary's counters.
# Then a sensord without metrics settings opens no listening socket, and
# one whose metrics.listen is taken exits 69.
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v prometheus-node-exporter >/dev/null ||
        fail "prometheus, promtool and prometheus-node-exporter are needed (scripts/install-deps.sh)"
scrape() { "$PYTHON" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }
SENSORD_PORT=$(free_port) NODE_PORT=$(free_port) PROM_PORT=$(free_port)
# prom_query QUERY : the result vector of an instant query, as "labels value" lines
prom_query() {
        "$PYTHON" - "http://127.0.0.1:$PROM_PORT/api/v1/query" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
body = json.load(urllib.request.urlopen(sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]}), timeout=5))
for r in body["data"]["result"]:
    print(json.dumps(r["metric"], sort_keys=True), r["value"][1])
PY
}

start_broker m-in:2 m-late:1 m-dead:1
mkdir -p "$WORK/textfile"
write_config "$WORK/sensord.conf" topic=m-in group_id=m max_messages=100000 max_delay="5 s" \
        late_data_topic=m-late dead_letter_topic=m-dead checkpoint_interval="1 s" watermark_scope=partition \
        metrics_listen="127.0.0.1:$SENSORD_PORT" metrics_textfile="$WORK/textfile/sensord.prom" metrics_interval="1 s"
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=2000000 "$SENSORD" -c "$WORK/sensord.conf" >"$WORK/out.jsonl" \
        2>"$WORK/sensord.err" &
SENSORD_PID=$!
PIDS+=("$SENSORD_PID")
wait_for "assigned 2 partition" "$WORK/sensord.err" 30

prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" --collector.disable-defaults \
        --collector.textfile --collector.textfile.directory="$WORK/textfile" >"$WORK/node.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/prometheus.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: sensord
    static_configs: [ { targets: [ "127.0.0.1:$SENSORD_PORT" ] } ]
  - job_name: node
    static_configs: [ { targets: [ "127.0.0.1:$NODE_PORT" ] } ]
YML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus-data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)

# 5 clients that send a request and never read the answer
"$PYTHON" - "$SENSORD_PORT" "$WORK/slow.ready" <<'PY' &
import socket, sys, time
held = []
for _ in range(5):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
    held.append(s)
open(sys.argv[2], "w").close()
time.sleep(600)
PY
SLOW_PID=$!
PIDS+=("$SLOW_PID")

# out-of-order records (the last two are late), and 2 invalid ones, dated the
# day before the generated records, which are in order within each partition
# (partition scope: a partition's records are judged by its own watermark)
rec() { printf '{"sensor_id":"%s","value":%s,"timestamp":"2024-10-21T%s:00Z"}\n' "$1" "$2" "$3"; }
{ rec a 1 10:40; rec b 2 10:45; rec c 3 10:50; } | kcat -P -b "$BROKER" -t m-in -p 1
{ rec a 4 10:20; rec b 5 10:21; echo 'not json'; echo '{"value": 1}'; } | kcat -P -b "$BROKER" -t m-in -p 1
wait_for "late record at m-in/1@4" "$WORK/sensord.err" 10

# a rebalance: a second member joins, and leaves
write_config "$WORK/second.conf" topic=m-in group_id=m state_directory="$WORK/state-second"
"$SENSORD" -c "$WORK/second.conf" >"$WORK/second.jsonl" 2>"$WORK/second.err" &
SECOND_PID=$!
PIDS+=("$SECOND_PID")
wait_for "assigned 1 partition" "$WORK/second.err" 30
sleep 1
kill -TERM "$SECOND_PID"
wait "$SECOND_PID" || fail "the second member did not stop cleanly"
for _ in $(seq 100); do [ "$(grep -c "assigned 2 partition" "$WORK/sensord.err")" -ge 2 ] && break; sleep 0.2; done

# one batch of 100,000 records, with the endpoint asked every 50 ms from
# before it starts until it is emitted
"$PYTHON" - "http://127.0.0.1:$SENSORD_PORT/metrics" "$WORK/asker.ready" >"$WORK/asker.log" 2>&1 <<'PY' &
import re, sys, time, urllib.request
def ask():
    body = urllib.request.urlopen(sys.argv[1], timeout=2).read().decode()
    return {k: int(re.search(rf"^{k} (\d+)$", body, re.M).group(1)) for k in ("sensord_batches_total", "sensord_messages_total")}
first = ask()
open(sys.argv[2], "w").close()
slowest, asks, start = 0.0, 0, time.time()
while True:
    t = time.time()
    now = ask()
    slowest = max(slowest, time.time() - t)
    asks += 1
    if now["sensord_messages_total"] >= first["sensord_messages_total"] + 100000 and \
            now["sensord_batches_total"] > first["sensord_batches_total"]:
        break
    if time.time() - start > 60:
        sys.exit(f"the batch of 100,000 records was not emitted within 60 s: {now}")
    time.sleep(0.05)
print(f"{asks} scrapes while the batch of 100,000 records was read and emitted, the slowest answered in "
      f"{slowest * 1000:.0f} ms")
PY
ASKER_PID=$!
PIDS+=("$ASKER_PID")
for _ in $(seq 100); do [ -e "$WORK/asker.ready" ] && break; sleep 0.1; done
"$SENSOR_REPLAY" -b "$BROKER" -t m-in --generate 1000 --count 100000 --interval 0 2>"$WORK/replay.err" ||
        fail "producing 100,000 records failed"
wait "$ASKER_PID" || fail "the endpoint did not answer during the big batch: $(cat "$WORK/asker.log")"
cat "$WORK/asker.log"

# reloads: metrics.interval is live, metrics.listen restart-only (refused,
# the endpoint stays where it is); both counted
cp "$WORK/sensord.conf" "$WORK/sensord.conf.orig"
sed -i 's/interval = "1 s"; };$/interval = "2 s"; };/' "$WORK/sensord.conf"
grep -q 'interval = "2 s"; };$' "$WORK/sensord.conf" || fail "the test did not edit metrics.interval"
kill -HUP "$SENSORD_PID"
wait_for "configuration reloaded" "$WORK/sensord.err" 10
sed -i "s/127.0.0.1:$SENSORD_PORT/127.0.0.1:$NODE_PORT/" "$WORK/sensord.conf"
kill -HUP "$SENSORD_PID"
wait_for "reload refused: metrics.listen changed" "$WORK/sensord.err" 10
cp "$WORK/sensord.conf.orig" "$WORK/sensord.conf"
kill -HUP "$SENSORD_PID"
for _ in $(seq 50); do [ "$(grep -c "configuration reloaded" "$WORK/sensord.err")" -ge 2 ] && break; sleep 0.1; done

# promtool on a scrape and on the textfile
scrape "http://127.0.0.1:$SENSORD_PORT/metrics" >"$WORK/scrape.txt"
promtool check metrics <"$WORK/scrape.txt" || fail "promtool refused the scrape"
sleep 1.5
promtool check metrics <"$WORK/textfile/sensord.prom" || fail "promtool refused the textfile"
for family in sensord_messages_total sensord_late_records_total sensord_invalid_records_total \
        sensord_rebalances_total sensord_produce_to_emit_latency_seconds_bucket \
        sensord_checkpoint_duration_seconds_count sensord_build_info; do
        grep -q "^$family" "$WORK/scrape.txt" || fail "no $family in the scrape"
done
grep -q '^sensord_rebalances_total{event="revoked"} [1-9]' "$WORK/scrape.txt" || fail "the rebalance was not counted"
grep -q '^sensord_late_records_total{partition="1"} 2$' "$WORK/scrape.txt" || fail "late records: $(grep late_records "$WORK/scrape.txt")"
grep -q '^sensord_invalid_records_total{reason="not_json"} 1$' "$WORK/scrape.txt" || fail "invalid records not counted"
grep -q '^sensord_reloads_total{result="applied"} 2$' "$WORK/scrape.txt" &&
        grep -q '^sensord_reloads_total{result="refused"} 1$' "$WORK/scrape.txt" ||
        fail "reloads: $(grep reloads_total "$WORK/scrape.txt")"

# Prometheus: the lag of both partitions falls to 0 (the committed offsets
# follow the checkpoints), and both jobs see every message
for _ in $(seq 60); do
        prom_query 'sensord_consumer_lag{job="sensord"}' >"$WORK/lag.txt" 2>/dev/null || true
        [ "$(grep -c ' 0$' "$WORK/lag.txt")" = 2 ] && break
        sleep 0.5
done
[ "$(grep -c ' 0$' "$WORK/lag.txt")" = 2 ] || fail "the consumer lag did not fall to 0 in Prometheus: $(cat "$WORK/lag.txt")"
for job in sensord node; do
        for _ in $(seq 20); do
                got=$(prom_query "sensord_messages_total{job=\"$job\"}" 2>/dev/null | awk '{ print $NF }')
                [ "$got" = 100007 ] && break
                sleep 0.5
        done
        [ "$got" = 100007 ] || fail "Prometheus reads sensord_messages_total=$got from job $job, not 100007"
done
echo "Prometheus: sensord_messages_total 100007 from the endpoint and from node_exporter; lag 0 on both partitions"

# SIGTERM with the slow clients still connected
[ -e "$WORK/slow.ready" ] || fail "the slow clients did not connect"
t0=$(date +%s.%N)
kill -TERM "$SENSORD_PID"
wait "$SENSORD_PID" || fail "sensord exited $? on SIGTERM"
"$PYTHON" -c "import sys; t = float(sys.argv[2]) - float(sys.argv[1]); print(f'stopped in {t:.2f} s with 5 clients connected'); sys.exit(t >= 10)" \
        "$t0" "$(date +%s.%N)" || fail "sensord took 10 s or more to stop"
watchdog_fed "$WORK/notify.log"
summary_messages=$(sed -n 's/.*summary: messages=\([0-9]*\) .*/\1/p' "$WORK/sensord.err")
[ "$summary_messages" = "$got" ] || fail "Prometheus read sensord_messages_total=$got, the summary says messages=$summary_messages"
echo "Prometheus' sensord_messages_total equals the exit summary's messages=$summary_messages"

# the textfile written at exit holds the summary's counters
"$PYTHON" - "$WORK/textfile/sensord.prom" "$WORK/sensord.err" <<'PY' || fail "the textfile's counters are not the summary's"
import re, sys
metrics = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    name, value = line.rsplit(" ", 1)
    family = name.split("{")[0]
    metrics[family] = metrics.get(family, 0) + float(value)
summary = dict(kv.split("=") for kv in re.search(r"summary: (.*)", open(sys.argv[2]).read()).group(1).split())
pairs = {"messages": "sensord_messages_total", "bytes": "sensord_message_bytes_total", "invalid": "sensord_invalid_records_total",
         "late_pairs": "sensord_late_pairs_total", "late_records": "sensord_late_records_total",
         "rows": "sensord_rows_total", "dead_lettered": "sensord_dead_letters_total",
         "late_produced": "sensord_late_produced_total", "producer_errors": "sensord_producer_errors_total",
         "dropped_pairs": "sensord_dropped_pairs_total", "copies_truncated": "sensord_record_copies_truncated_total",
         "copies_skipped": "sensord_record_copies_skipped_total"}
for field, family in pairs.items():
    if int(summary[field]) != int(metrics.get(family, 0)):
        sys.exit(f"{family} = {metrics.get(family, 0)}, summary {field}={summary[field]}")
print("the textfile at exit equals the summary: " + ", ".join(f"{f}={summary[f]}" for f in pairs))
PY

# without metrics settings: no listening socket at all
write_config "$WORK/plain.conf" topic=m-in group_id=m-plain state_directory="$WORK/state-plain"
"$SENSORD" -c "$WORK/plain.conf" >/dev/null 2>"$WORK/plain.err" &
PLAIN_PID=$!
PIDS+=("$PLAIN_PID")
wait_for "assigned 2 partition" "$WORK/plain.err" 30
"$PYTHON" - "$PLAIN_PID" <<'PY' || fail "sensord without metrics listens"
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    target = os.readlink(f"/proc/{pid}/fd/{fd}")
    if target.startswith("socket:["):
        inodes.add(target[8:-1])
for table in ("tcp", "tcp6", "udp", "udp6"):
    for line in open(f"/proc/net/{table}").read().splitlines()[1:]:
        f = line.split()
        if f[9] in inodes and (f[3] == "0A" or table.startswith("udp")):
            sys.exit(f"sensord listens: {table} {f[1]}")
print(f"no listening socket among sensord's {len(inodes)} sockets")
PY
kill -TERM "$PLAIN_PID"
wait "$PLAIN_PID" || fail "the plain sensord did not stop cleanly"
# an address already in use (Prometheus' own): sensord stops at start with 69
write_config "$WORK/taken.conf" topic=m-in group_id=m-taken state_directory="$WORK/state-taken" \
        metrics_listen="127.0.0.1:$PROM_PORT"
rc=0
timeout 30 "$SENSORD" -c "$WORK/taken.conf" >/dev/null 2>"$WORK/taken.err" || rc=$?
[ "$rc" = 69 ] && grep -q "cannot listen on metrics.listen \"127.0.0.1:$PROM_PORT\"" "$WORK/taken.err" ||
        fail "a metrics.listen in use: exit $rc, $(tail -2 "$WORK/taken.err")"
echo "a metrics.listen already in use: exit 69, $(grep -o 'cannot listen.*' "$WORK/taken.err")"
echo "metrics: ok"
