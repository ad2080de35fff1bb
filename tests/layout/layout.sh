#!/bin/bash
# The source layout as the README describes it, one PASS/FAIL line per check:
#  - the README's tree ("How the code is laid out") lists exactly the C files
#    that `find src -name '*.c'` finds;
#  - src/lib includes nothing from src/sensord, src/replay or src/devbroker,
#    and the two tools include nothing from src/sensord;
#  - no module includes, directly or through others, a module that includes
#    it (a module is a header with its .c files; X_internal.h and the files
#    named X_*.c beside X.h belong to module X);
#  - no C file in src is over 700 lines, and src/sensord/daemon.c is under 300.
# Reads the tree only; builds and runs nothing.
set -uo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 - <<'PY'
import os, re, subprocess, sys

def check(ok, what, detail=""):
    print(("PASS: " if ok else "FAIL: ") + what + ("" if ok or not detail else ": " + detail))

# --- the README's tree against the files
files = sorted(subprocess.run(["find", "src", "-name", "*.c"], capture_output=True, text=True,
                              check=True).stdout.split())
readme = open("README.md", encoding="utf-8").read()
section = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```\n(.*?)```", section, re.S)
listed, stack = [], []
for line in (blocks[0].splitlines() if blocks else []):
    m = re.match(r"^([│├└─ ]*)(\S+)", line)
    if not m:
        continue
    depth, name = len(m.group(1)) // 4, m.group(2)
    stack = stack[:depth]
    if name.endswith("/"):
        stack.append(name.rstrip("/"))
    elif name.endswith(".c"):
        listed.append("/".join(stack + [name]))
missing = sorted(set(files) - set(listed))
extra = sorted(set(listed) - set(files))
check(bool(blocks) and not missing and not extra and len(listed) == len(set(listed)),
      "the README's layout lists every C file in src, and only those (%d)" % len(files),
      "not in the README: %s; in the README only: %s" % (missing or "none", extra or "none"))

# --- includes
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
sources = [os.path.join(d, f)[4:] for d, _, fs in os.walk("src") for f in fs if f.endswith((".c", ".h"))]
includes = {p: [i for i in include.findall(open("src/" + p).read()) if os.path.exists("src/" + i)]
            for p in sources}

upward = [(p, i) for p, incs in includes.items() for i in incs
          if (p.startswith("lib/") and not i.startswith("lib/")) or
             (p.startswith(("replay/", "devbroker/")) and i.startswith("sensord/"))]
check(not upward, "src/lib includes only src/lib, and the tools nothing of src/sensord",
      ", ".join("%s -> %s" % u for u in upward))

headers = {p[:-2] for p in sources if p.endswith(".h")}
def module(path):
    stem = path.rsplit(".", 1)[0]
    if stem.endswith("_internal") and stem[:-9] in headers:
        return stem[:-9]
    if stem in headers:
        return stem
    d, base = os.path.split(stem)
    parts = base.split("_")
    for n in range(len(parts) - 1, 0, -1):
        owner = os.path.join(d, "_".join(parts[:n]))
        if owner in headers:
            return owner
    return stem
graph = {}
for p, incs in includes.items():
    m = module(p)
    graph.setdefault(m, set()).update(module(i) for i in incs if module(i) != m)
cycle, state = None, {}
def visit(m, path):
    global cycle
    state[m] = 1
    for n in sorted(graph.get(m, ())):
        if cycle:
            return
        if state.get(n) == 1:
            cycle = path[path.index(n):] + [n] if n in path else [m, n]
        elif not state.get(n):
            visit(n, path + [n])
    state[m] = 2
for m in sorted(graph):
    if not state.get(m) and not cycle:
        visit(m, [m])
check(cycle is None, "no module includes a module that includes it back (%d modules)" % len(graph),
      " -> ".join(cycle or []))

# --- file lengths
lengths = {f: sum(1 for _ in open(f, encoding="utf-8")) for f in files}
long_files = ["%s (%d)" % (f, n) for f, n in sorted(lengths.items()) if n > 700]
check(not long_files, "no C file in src is over 700 lines", ", ".join(long_files))
check(lengths.get("src/sensord/daemon.c", 0) < 300, "src/sensord/daemon.c is under 300 lines",
      "%d lines" % lengths.get("src/sensord/daemon.c", 0))
PY
