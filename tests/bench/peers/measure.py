#!/usr/bin/python3
"""Runs a command and reports what it and every process it started cost:
CPU seconds (user + system, all threads) and the peak of their summed RSS,
sampled every 50 ms from /proc (a JVM that pyspark starts is a child that
nobody waits for, so wait4's rusage would miss it).

    measure.py REPORT -- COMMAND [ARGS...]

Writes "cpu_s=F peak_rss_kib=N wall_s=F exit=N" to REPORT and exits with the
command's status."""
import os
import signal
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def stat_of(pid):
    """(ppid, cpu ticks, rss pages) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    # after the command: state ppid ... utime(12) stime(13) ... rss(22)
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21])


def tree(root):
    """The live processes under root, root included: pid -> (cpu, rss)."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = stat_of(int(name))
            if s:
                stats[int(name)] = s
    members, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        if pid in stats and pid not in members:
            members[pid] = stats[pid][1:]
            frontier.extend(p for p, s in stats.items() if s[0] == pid)
    return members


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    report, command = sys.argv[1], sys.argv[3:]
    start = time.monotonic()
    child = subprocess.Popen(command, start_new_session=True)
    cpu_seen, peak = {}, 0
    try:
        while child.poll() is None:
            members = tree(child.pid)
            for pid, (cpu, _) in members.items():
                cpu_seen[pid] = max(cpu_seen.get(pid, 0), cpu)
            peak = max(peak, sum(rss for _, rss in members.values()))
            time.sleep(0.05)
    except KeyboardInterrupt:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait()
    # what the sampling saw, but no less than the waited-for processes' own count
    children = os.times()
    waited = children.children_user + children.children_system
    cpu = max(sum(cpu_seen.values()) / TICK, waited)
    with open(report, "w") as f:
        f.write(f"cpu_s={cpu:.2f} peak_rss_kib={peak * PAGE_KIB} wall_s={time.monotonic() - start:.2f} "
                f"exit={child.returncode}\n")
    sys.exit(child.returncode if child.returncode >= 0 else 128 - child.returncode)


if __name__ == "__main__":
    main()
