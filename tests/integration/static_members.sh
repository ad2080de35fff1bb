#!/bin/bash
# Static membership (kafka.group_instance_id), on a real Kafka (the mock
# has none), with a changelog (so the cooperative-sticky assignor):
#  1. "sensord-%H" gives the host name: a host stopped and started again
#     within session.timeout.ms gets its partitions back without a
#     rebalance, the other host keeping its own throughout.
#  2. One id on two hosts: the broker takes the newer member for the older
#     one restarted and fences the older. Before, the fenced host sat in
#     the group fenced and unassigned for good, warning once ("consumer:
#     Fatal error"); now it exits 78 naming the id, which the unit does not
#     restart (a restart would fence the other in turn, and so on), and the
#     other reads on. The rows of all hosts end equal to the model.
. "$(dirname "$0")/lib.sh"

[ "$BROKER_KIND" = kafka ] || fail "static_members needs a real Kafka (BROKER_KIND=kafka)"
start_kafka sm-in:4
"$SENSOR_REPLAY" -b "$BROKER" -t sm-in --generate 40 --count 2000 --interval 0 --seed 57 2>"$WORK/replay.err"
settings=(topic=sm-in group_id=sm max_delay="100ms" watermark="365 days" checkpoint_interval="1 s" changelog_topic=sm-changelog
        properties=', ("session.timeout.ms", "20000")')

# 1. a restart within the session
start_host a "${settings[@]}" group_instance_id="sensord-a-%H"
wait_for "assigned 4 partition" "$WORK/a.err" 60
start_host b "${settings[@]}" group_instance_id="sensord-b-%H"
wait_for "assigned 2 partition" "$WORK/b.err" 60
wait_for "revoked" "$WORK/a.err" 30
wait_quiet "$WORK/a.jsonl" 5
wait_quiet "$WORK/b.jsonl" 5
kill -TERM "$b_PID"
wait "$b_PID" || fail "b did not stop cleanly"
start_host b "${settings[@]}" group_instance_id="sensord-b-%H"
wait_assigned_in_life "$WORK/b.err" 2 30
sleep 3
[ "$(grep -c "revoked" "$WORK/a.err")" = 1 ] || fail "a rebalanced when b came back: $(grep revoked "$WORK/a.err")"
"$SENSOR_REPLAY" -b "$BROKER" -t sm-in --generate 40 --count 1000 --interval 0 --seed 58 2>>"$WORK/replay.err"

# 2. b's id on a third host
start_host c "${settings[@]}" group_instance_id="sensord-b-%H"
rc=0
for _ in $(seq 300); do kill -0 "$b_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$b_PID" 2>/dev/null && fail "the fenced host did not exit within 30 s"
wait "$b_PID" || rc=$?
[ "$rc" = 78 ] || fail "the fenced host exited $rc, not 78: $(tail -n 2 "$WORK/b.err")"
grep -q "another member of the group joined with this host's group.instance.id \"sensord-b-$(hostname)\"" \
        "$WORK/b.err" || fail "the fenced host does not name the id: $(grep -m1 -i fenc "$WORK/b.err")"
"$SENSOR_REPLAY" -b "$BROKER" -t sm-in --generate 40 --count 1000 --interval 0 --seed 59 2>>"$WORK/replay.err"
wait_quiet "$WORK/a.jsonl" 5
wait_quiet "$WORK/c.jsonl" 5
sleep 2
for host in a c; do
        pid_var="${host}_PID"
        kill -0 "${!pid_var}" 2>/dev/null || fail "host $host exited"
        kill -TERM "${!pid_var}"
        wait "${!pid_var}" || fail "host $host did not stop cleanly"
done
kcat -C -b "$BROKER" -t sm-in -e -q -f '%s\n' >"$WORK/values.txt"
cat "$WORK/a.jsonl" "$WORK/b.jsonl" "$WORK/c.jsonl" >"$WORK/all.jsonl"
$CHECK final-equal --highest-count "$WORK/all.jsonl" "$WORK/values.txt"
echo "static_members: ok"
