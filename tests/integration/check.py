#!/usr/bin/python3
"""Checks for sensord's integration tests.

compare EXPECTED ACTUAL      row-for-row equality of two JSON-lines outputs
                             (same keys in the same order, 'sum' may follow
                             'count'; numbers within a relative 1e-9)
reference [options] VALUES   an independent model of semantics.md: reads one
                             message value per line (in consumption order) and
                             prints the update-mode rows sensord must print
final-equal ROWS VALUES      the last row of every (window, sensor) in ROWS
                             equals the aggregate of all valid VALUES; keys
                             lost, short (too few pairs) and doubled (too
                             many) are reported apart. With --highest-count,
                             the row of each key with the highest count (an
                             update-mode aggregate only grows) instead of the
                             last, and how many keys' last row was older
unique ROWS...               no row emitted twice across runs: no (batch,
                             window, sensor) and, as counts only grow, no
                             (window, sensor, count) appears twice, and batch
                             numbers never go back from one file to the next
"""
import argparse
import datetime as dt
import json
import math
import re
import sys

REL = 1e-9


def die(msg):
    print("check.py: " + msg, file=sys.stderr)
    sys.exit(1)


def close(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or abs(a - b) <= REL * max(abs(a), abs(b))
    return a == b


def same(expected, actual, where):
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            die(f"{where}: expected an object, got {actual!r}")
        ek, ak = list(expected), list(actual)
        extra = [k for k in ak if k not in expected]
        if extra not in ([], ["sum"]) or ak[: len(ek)] != ek:
            die(f"{where}: keys {ak} do not match {ek} (only 'sum' may follow)")
        for k in ek:
            same(expected[k], actual[k], f"{where}.{k}")
    elif not close(expected, actual):
        die(f"{where}: expected {expected!r}, got {actual!r}")


def load_rows(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    die(f"{path}:{n}: not JSON: {e}")
    return rows


def cmd_compare(args):
    exp, act = load_rows(args.expected), load_rows(args.actual)
    for i, (e, a) in enumerate(zip(exp, act), 1):
        same(e, a, f"row {i}")
    if len(exp) != len(act):
        die(f"{len(act)} rows, expected {len(exp)}")
    print(f"{len(act)} rows match")


UNITS = {"ms": 1, "s": 1000, "min": 60000, "minutes": 60000, "m": 60000, "h": 3600000, "hours": 3600000}


def duration(text):
    m = re.fullmatch(r"\s*(\d+)\s*([a-z]+)\s*", text)
    if not m or m.group(2) not in UNITS:
        raise argparse.ArgumentTypeError(f"bad duration {text!r}")
    return int(m.group(1)) * UNITS[m.group(2)]


TS = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?")


def parse_record(raw):
    """The same validity rules as semantics.md, written independently."""
    try:
        obj = json.loads(raw, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict):
        return None
    sid, val, ts = obj.get("sensor_id"), obj.get("value"), obj.get("timestamp")
    if not isinstance(sid, str) or not sid or len(sid.encode()) > 256 or "\0" in sid:
        return None
    if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(float(val)):
        return None
    if not isinstance(ts, str):
        return None
    m = TS.fullmatch(ts)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "")[:3].ljust(3, "0")
    try:
        t = dt.datetime(y, mo, d, h, mi, s, tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    ms = int(t.timestamp()) * 1000 + int(frac)
    zone = m.group(8)
    if zone and zone not in "Zz":
        sign = 1 if zone[0] == "+" else -1
        ms -= sign * (int(zone[1:3]) * 60 + int(zone[4:6])) * 60000
    return sid, float(val), ms


def fmt_time(ms):
    t = dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return t + (f".{ms % 1000:03d}Z" if ms % 1000 else "Z")


def windows_of(t, w, s, off):
    start = off + ((t - off) // s) * s
    while start > t - w:
        yield start
        start -= s


def read_values(path):
    with open(path, "rb") as f:
        return [line.rstrip(b"\n") for line in f if line.strip()]


def cmd_reference(args):
    values = read_values(args.values)
    # batches: count and byte bounds, at least one message each
    batches, cur, cur_bytes = [], [], 0
    cuts = {int(c) for c in args.cut.split(",") if c} if args.cut else set()
    for i, v in enumerate(values):
        if cur and (len(cur) >= args.max_messages or cur_bytes + len(v) > args.max_bytes or i in cuts):
            batches.append(cur)
            cur, cur_bytes = [], 0
        cur.append(v)
        cur_bytes += len(v)
    if cur:
        batches.append(cur)
    state, wm, max_t, late = {}, None, None, 0
    for n, batch in enumerate(batches, args.first_batch):
        dirty = set()
        for raw in batch:
            rec = parse_record(raw)
            if rec is None:
                continue
            sid, val, t = rec
            max_t = t if max_t is None else max(max_t, t)
            for start in windows_of(t, args.window, args.slide, args.offset):
                if wm is not None and start + args.window <= wm:
                    late += 1
                    continue
                agg = state.setdefault((start, sid), [0, 0.0, val, val])
                agg[0] += 1
                agg[1] += val
                agg[2] = min(agg[2], val)
                agg[3] = max(agg[3], val)
                dirty.add((start, sid))
        def emit(keys):
            for start, sid in sorted(keys, key=lambda k: (k[0], k[1].encode())):
                c, total, lo, hi = state[(start, sid)]
                print(json.dumps({"batch": n, "window": {"start": fmt_time(start), "end": fmt_time(start + args.window)},
                                  "sensor_id": sid, "avg_value": total / c, "max_value": hi, "min_value": lo,
                                  "count": c}))
        if args.mode == "update":
            emit(dirty)
        elif args.mode == "complete":
            emit(state)
        if max_t is not None:
            wm = max_t - args.watermark if wm is None else max(wm, max_t - args.watermark)
            final = [k for k in state if k[0] + args.window <= wm]
            if args.mode == "append":
                emit(final)
            if args.mode != "complete":
                for key in final:
                    del state[key]
    print(f"late_pairs={late} batches={len(batches)}", file=sys.stderr)


def cmd_final_equal(args):
    got, last = {}, {}
    for r in load_rows(args.rows):
        key = (r["window"]["start"], r["sensor_id"])
        last[key] = r
        if not args.highest_count or key not in got or r["count"] >= got[key]["count"]:
            got[key] = r
    older = sum(1 for k in got if last[k]["count"] < got[k]["count"])
    want = {}
    for raw in read_values(args.values):
        rec = parse_record(raw)
        if rec is None:
            continue
        sid, val, t = rec
        for start in windows_of(t, args.window, args.slide, 0):
            agg = want.setdefault((fmt_time(start), sid), [0, 0.0, val, val])
            agg[0] += 1
            agg[1] += val
            agg[2] = min(agg[2], val)
            agg[3] = max(agg[3], val)
    lost = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    short = sorted(k for k in set(want) & set(got) if got[k]["count"] < want[k][0])
    doubled = sorted(k for k in set(want) & set(got) if got[k]["count"] > want[k][0])
    if lost or extra or short or doubled:
        die(f"of {len(want)} (window, sensor) keys: {len(lost)} lost, {len(short)} short, {len(doubled)} doubled, "
            f"{len(extra)} not in the data; e.g. lost {lost[:2]}, short {short[:2]}, doubled {doubled[:2]}, "
            f"not in the data {extra[:2]}")
    for key, (c, total, lo, hi) in want.items():
        r = got[key]
        if not close(r["avg_value"], total / c) or r["min_value"] != lo or r["max_value"] != hi:
            die(f"{key}: got {r}, expected count={c} avg={total / c} min={lo} max={hi}")
    print(f"{len(want)} (window, sensor) aggregates match over {sum(a[0] for a in want.values())} pairs"
          + (f" ({older} keys' last row was an older one)" if args.highest_count else ""))


def cmd_unique(args):
    seen_batch, seen_count, last_batch, rows = set(), set(), -1, 0
    for path in args.rows:
        first = None
        for r in load_rows(path):
            rows += 1
            key = (r["window"]["start"], r["sensor_id"])
            if (r["batch"],) + key in seen_batch:
                die(f"{path}: batch {r['batch']} emitted {key} twice")
            if key + (r["count"],) in seen_count:
                die(f"{path}: {key} with count {r['count']} was emitted before (batch {r['batch']})")
            seen_batch.add((r["batch"],) + key)
            seen_count.add(key + (r["count"],))
            first = r["batch"] if first is None else first
        if first is not None:
            if first <= last_batch:
                die(f"{path}: batch numbers went back from {last_batch} to {first}")
            last_batch = max(b for b, *_ in seen_batch)
    print(f"{rows} rows in {len(args.rows)} files, none emitted twice")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("expected")
    c.add_argument("actual")
    r = sub.add_parser("reference")
    r.add_argument("--max-messages", type=int, default=5)
    r.add_argument("--max-bytes", type=int, default=10240)
    r.add_argument("--window", type=duration, default="10 min")
    r.add_argument("--slide", type=duration, default="5 min")
    r.add_argument("--offset", type=duration, default="0 ms")
    r.add_argument("--watermark", type=duration, default="5 min")
    r.add_argument("--mode", choices=("update", "append", "complete"), default="update")
    r.add_argument("--first-batch", type=int, default=0, help="number of the first batch (after a restart or reload)")
    r.add_argument("--cut", default="", help="record indices where a restart ended the open batch, comma-separated")
    r.add_argument("values")
    f = sub.add_parser("final-equal")
    f.add_argument("--window", type=duration, default="10 min")
    f.add_argument("--slide", type=duration, default="5 min")
    f.add_argument("--highest-count", action="store_true")
    f.add_argument("rows")
    f.add_argument("values")
    u = sub.add_parser("unique")
    u.add_argument("rows", nargs="+")
    args = p.parse_args()
    {"compare": cmd_compare, "reference": cmd_reference, "final-equal": cmd_final_equal, "unique": cmd_unique}[args.cmd](args)


if __name__ == "__main__":
    main()
