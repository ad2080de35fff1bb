#!/usr/bin/python3
"""Checks for sensord's integration tests.

compare EXPECTED ACTUAL      row-for-row equality of two JSON-lines outputs
                             (same keys in the same order, 'sum' may follow
                             'count'; numbers within a relative 1e-9)
reference [options] VALUES   an independent model of semantics.md: reads one
                             message value per line (in consumption order) and
                             prints the update-mode rows sensord must print;
                             --late-out F writes the records with late pairs
                             (as late-equal reads them), --max-future D makes
                             records dated more than D after now invalid
partitions [options] VALUES...
                             the model of watermark_scope = "partition": one
                             file per partition, in offset order; writes the
                             final aggregates (--aggregates-out, for
                             final-equal --aggregates) and the late records
                             (--late-out)
late-equal EXPECTED KCAT_JSON
                             the late topic (kcat -J) holds exactly the model's
                             late records, byte for byte, with their headers;
                             duplicates (a crash's replay) are counted, and
                             refused with --no-duplicates
final-equal ROWS VALUES      the last row of every (window, sensor) in ROWS
                             equals the aggregate of all valid VALUES (or of
                             --aggregates, a model's with late data); keys
                             lost, short (too few pairs) and doubled (too
                             many) are reported apart. With --highest-count,
                             the row of each key with the highest count (an
                             update-mode aggregate only grows) instead of the
                             last, and how many keys' last row was older.
                             With --by-partition (VALUES with partitions), a
                             key whose records lie in several partitions
                             (partitions added) needs rows that cover its
                             parts, each the merge of some (the whole, one
                             per part, or any grouping between)
increasing ROWS              in topic order, each (window, sensor)'s rows
                             have strictly growing counts (what a
                             read_committed reader of an exactly-once topic
                             sees: no row again, none older)
batch-rows ROWS VALUES       every batch has a row for each (window, sensor)
                             it changed: VALUES as kcat's '%p %o %s', ROWS
                             update-mode rows whose (window, sensor) keys
                             each lie in one partition. A batch's end in a
                             partition is only known between bounds, which
                             each of its rows sets (its count of the key's
                             records lie before the end, the next after); a
                             record that lies surely after one batch's end
                             and before the next's must have a row for both
                             its windows in that next batch
batches SPARK SENSORD        Spark's update-mode rows (tests/bench/peers/spark_job.py)
                             and sensord's, batch by batch: the same
                             (window, sensor) keys in each batch, the same
                             count, and avg, max and min equal as doubles,
                             not merely close; rows in any order
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
import time

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


def add_value(aggregates, key, val):
    """count, sum, min, max of one (window, sensor)"""
    a = aggregates.setdefault(key, [0, 0.0, val, val])
    a[0] += 1
    a[1] += val
    a[2] = min(a[2], val)
    a[3] = max(a[3], val)


def read_values(path):
    with open(path, "rb") as f:
        return [line.rstrip(b"\n") for line in f if line.strip()]


def is_future(t, args):
    return args.max_future > 0 and t - args.now > args.max_future


def late_record(partition, offset, wm, starts, raw):
    return {"partition": partition, "offset": offset, "watermark": fmt_time(wm),
            "windows": ",".join(fmt_time(s) for s in sorted(starts)), "value": raw.decode()}


def write_lines(path, items):
    with open(path, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item) + "\n")


def cmd_reference(args):
    values = read_values(args.values)
    index = {id(v): i for i, v in enumerate(values)}
    late_records = []
    # batches: count and byte bounds, at least one message each
    batches, cur, cur_bytes = [], [], 0
    cuts = {int(c) for c in args.cut.split(",") if c} if args.cut else set()
    for i, v in enumerate(values):
        if cur and (len(cur) >= args.max_messages or cur_bytes + len(v) > args.max_bytes or i in cuts):
            batches.append(cur)
            cur, cur_bytes = [], 0
            if i in cuts:
                batches.append(None)  # the run ended: its no-data batch
        cur.append(v)
        cur_bytes += len(v)
    if cur:
        batches.append(cur)
    # the end of each available-now run: Spark's no-data batch, when the last
    # batch's end made a watermark due that moves it (not in complete mode,
    # which frees nothing)
    batches.append(None)
    # wm judges the open batch; due is the candidate of the last batch end,
    # which the next batch end makes the watermark (one batch behind, as in
    # Spark)
    state, wm, due, max_t, late = {}, None, None, None, 0
    n = args.first_batch - 1
    for batch in batches:
        if batch is None and (args.mode == "complete" or due is None or (wm is not None and due <= wm)):
            continue
        n += 1
        batch = batch or []
        dirty, batch_sums = set(), {}
        for raw in batch:
            rec = parse_record(raw)
            if rec is None or is_future(rec[2], args):
                continue
            sid, val, t = rec
            max_t = t if max_t is None else max(max_t, t)
            missed = []
            for start in windows_of(t, args.window, args.slide, args.offset):
                if wm is not None and start + args.window <= wm:
                    late += 1
                    missed.append(start)
                    continue
                a = state.setdefault((start, sid), [0, 0.0, val, val])
                a[0] += 1
                a[2] = min(a[2], val)
                a[3] = max(a[3], val)
                batch_sums[(start, sid)] = batch_sums.get((start, sid), 0.0) + val
                dirty.add((start, sid))
            if missed:
                late_records.append(late_record(0, index[id(raw)], wm, missed, raw))
        # Spark's order of addition: a batch's values summed on their own,
        # then added to the sum before the batch
        for key, batch_sum in batch_sums.items():
            state[key][1] = state[key][1] + batch_sum
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
        if due is not None:
            wm = due if wm is None else max(wm, due)
        if max_t is not None:
            due = max_t - args.watermark
        if wm is not None:
            final = [k for k in state if k[0] + args.window <= wm]
            if args.mode == "append":
                emit(final)
            if args.mode != "complete":
                for key in final:
                    del state[key]
    if args.late_out:
        write_lines(args.late_out, late_records)
    print(f"late_pairs={late} late_records={len(late_records)} batches={n + 1 - args.first_batch}", file=sys.stderr)


def cmd_partitions(args):
    agg, late_records, late_pairs = {}, [], 0
    for p, path in enumerate(args.values):
        max_t = None
        for offset, raw in enumerate(read_values(path)):
            rec = parse_record(raw)
            if rec is None or is_future(rec[2], args):
                continue
            sid, val, t = rec
            wm = None if max_t is None else max_t - args.watermark
            missed = []
            for start in windows_of(t, args.window, args.slide, args.offset):
                if wm is not None and start + args.window <= wm:
                    missed.append(start)
                    continue
                add_value(agg, (start, sid), val)
            if missed:
                late_pairs += len(missed)
                late_records.append(late_record(p, offset, wm, missed, raw))
            max_t = t if max_t is None else max(max_t, t)
    if args.aggregates_out:
        write_lines(args.aggregates_out, ({"start": fmt_time(s), "sensor_id": sid, "count": c, "sum": total,
                                           "min": lo, "max": hi} for (s, sid), (c, total, lo, hi) in sorted(agg.items())))
    if args.late_out:
        write_lines(args.late_out, late_records)
    by_partition = {}
    for r in late_records:
        by_partition[r["partition"]] = by_partition.get(r["partition"], 0) + 1
    print(f"late_pairs={late_pairs} late_records={len(late_records)} keys={len(agg)} "
          f"late_by_partition={by_partition}")


def cmd_late_equal(args):
    want = {}
    with open(args.expected, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            want[(r["partition"], r["offset"])] = r
    got, duplicates = {}, 0
    with open(args.actual, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            m = json.loads(line)
            h = m.get("headers") or []
            headers = dict(zip(h[0::2], h[1::2]))
            try:
                key = (int(headers["sensord-partition"]), int(headers["sensord-offset"]))
            except (KeyError, ValueError):
                die(f"{args.actual}:{n}: no sensord-partition/-offset headers: {headers}")
            if key not in want:
                die(f"{args.actual}:{n}: partition {key[0]} offset {key[1]} is not late per the model: {m['payload']}")
            w = want[key]
            problems = [what for what, ok in (
                ("payload", m["payload"] == w["value"]),
                ("sensord-watermark", headers.get("sensord-watermark") == w["watermark"]),
                ("sensord-late-windows", headers.get("sensord-late-windows") == w["windows"]),
                ("sensord-topic", headers.get("sensord-topic") == args.topic),
                ("sensord-timestamp", "sensord-timestamp" in headers)) if not ok]
            if problems:
                die(f"{args.actual}:{n}: partition {key[0]} offset {key[1]}: {', '.join(problems)} differ: got "
                    f"{m['payload']!r} {headers}, expected {w}")
            if key in got:
                duplicates += 1
            got[key] = m
    missing = sorted(set(want) - set(got))
    if missing:
        die(f"{len(missing)} of {len(want)} late records are missing from the late topic, e.g. (partition, offset) "
            f"{missing[:3]}")
    if duplicates and args.no_duplicates:
        die(f"{duplicates} late records were produced twice")
    print(f"{len(want)} late records match, byte for byte with their headers ({duplicates} duplicates)")


def split_parts(values_path, window, slide):
    """VALUES as kcat's '%p %o %s': the (window, sensor) keys whose records
    lie in more than one partition (partitions added move keys), each with
    its per-partition aggregates, and the lines of the others."""
    parts, lines = {}, []
    for raw in read_values(values_path):
        partition, _, rest = raw.split(b" ", 2)
        lines.append(rest)
        rec = parse_record(rest)
        if rec is None:
            continue
        sid, val, t = rec
        for start in windows_of(t, window, slide, 0):
            add_value(parts.setdefault((fmt_time(start), sid), {}), int(partition), val)
    return {k: p for k, p in parts.items() if len(p) > 1}, lines


def check_split(split, rows_by_key):
    """A split key's parts are aggregated by their partitions' holders, and a
    process merges the parts of the partitions it holds: its rows must
    cover the parts, each row the merge of some of them, the rows' sets
    disjoint (the whole, one row per part, or any grouping between)."""
    def merged(parts, subset):
        a = [parts[p] for p in subset]
        return [sum(x[0] for x in a), sum(x[1] for x in a), min(x[2] for x in a), max(x[3] for x in a)]

    def matches(r, a):
        return r["count"] == a[0] and close(r["avg_value"], a[1] / a[0]) and r["min_value"] == a[2] \
            and r["max_value"] == a[3]

    def cover(left, groups):
        if not left:
            return True
        first = min(left)
        return any(cover(left - g, groups) for g in groups if first in g and g <= left)

    uncovered = 0
    for key, parts in split.items():
        rows = rows_by_key.get(key, [])
        ids = sorted(parts)
        subsets = [frozenset(p for i, p in enumerate(ids) if mask >> i & 1) for mask in range(1, 1 << len(ids))]
        groups = {g for g in subsets if any(matches(r, merged(parts, g)) for r in rows)}
        if cover(frozenset(ids), groups):
            continue
        # a process that merged a part with another still growing, and then
        # lost the one or the other: no row is of whole parts, but none may
        # count more than the whole, and the largest part must be whole
        whole = merged(parts, ids)
        largest = max(ids, key=lambda p: parts[p][0])
        if any(r["count"] > whole[0] for r in rows) or not any(matches(r, parts[largest]) or
                                                                 r["count"] > parts[largest][0] for r in rows):
            die(f"{key}: split over partitions {ids}, and its rows neither cover the parts nor stay within the "
                f"whole; rows {[r['count'] for r in rows]}, parts {[(p, parts[p][0]) for p in ids]}")
        uncovered += 1
    return uncovered


def cmd_final_equal(args):
    got, last, rows_by_key = {}, {}, {}
    split, lines = split_parts(args.values, args.window, args.slide) if args.by_partition else ({}, None)
    for i, r in enumerate(load_rows(args.rows), 1):
        # (any UTC form of the start, as the peers in tests/bench/peers write it)
        key = (fmt_time(time_ms(r["window"]["start"], f"{args.rows} row {i}")), r["sensor_id"])
        rows_by_key.setdefault(key, []).append(r)
        if key in split:
            continue
        last[key] = r
        if not args.highest_count or key not in got or r["count"] >= got[key]["count"]:
            got[key] = r
    older = sum(1 for k in got if last[k]["count"] < got[k]["count"])
    want = {}
    if args.aggregates:
        with open(args.aggregates, encoding="utf-8") as f:
            for line in f:
                a = json.loads(line)
                want[(a["start"], a["sensor_id"])] = [a["count"], a["sum"], a["min"], a["max"]]
    for raw in lines if lines is not None else read_values(args.values) if args.values else []:
        rec = parse_record(raw)
        if rec is None:
            continue
        sid, val, t = rec
        for start in windows_of(t, args.window, args.slide, 0):
            if (fmt_time(start), sid) not in split:
                add_value(want, (fmt_time(start), sid), val)
    uncovered = check_split(split, rows_by_key)
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
          + (f" ({older} keys' last row was an older one)" if args.highest_count else "")
          + (f"; {len(split)} keys split over partitions by a partition count change: "
             f"{len(split) - uncovered} with rows that cover their parts, {uncovered} merged mid-window, "
             f"within the whole" if args.by_partition else ""))


def cmd_contains(args):
    # every expected row among the actual ones, in any order, extra rows
    # allowed (an at-least-once topic; the rows also carry "sum", which the
    # reference leaves out)
    expected, got = load_rows(args.expected), load_rows(args.actual)
    missing = [e for e in expected if not any({k: g.get(k) for k in e} == e for g in got)]
    if missing:
        die(f"{len(missing)} of {len(expected)} rows are missing, e.g. {missing[0]}")
    print(f"all {len(expected)} rows are there ({len(got)} in all)")


def time_ms(text, where):
    m = TS.fullmatch(text)
    if not m or m.group(8) not in ("Z", "z"):
        die(f"{where}: not a UTC time: {text!r}")
    t = dt.datetime(*(int(m.group(i)) for i in range(1, 7)), tzinfo=dt.timezone.utc)
    return int(t.timestamp()) * 1000 + int((m.group(7) or "")[:3].ljust(3, "0"))


def rows_by_batch(path):
    batches = {}
    for i, row in enumerate(load_rows(path), 1):
        where = f"{path} row {i}"
        key = (time_ms(row["window"]["start"], where), time_ms(row["window"]["end"], where), row["sensor_id"])
        rows = batches.setdefault(row["batch"], {})
        if key in rows:
            die(f"{where}: ({fmt_time(key[0])}, {key[2]}) twice in batch {row['batch']}")
        rows[key] = (row["count"], row["avg_value"], row["max_value"], row["min_value"])
    return batches


def cmd_batches(args):
    spark, sensord = rows_by_batch(args.spark), rows_by_batch(args.sensord)
    problems = []
    for batch in sorted(set(spark) | set(sensord)):
        s, d = spark.get(batch, {}), sensord.get(batch, {})
        for key in sorted(set(s) | set(d)):
            name = f"batch {batch} ({fmt_time(key[0])}, {key[2]})"
            if key not in d:
                problems.append(f"{name}: only Spark has it: {s[key]}")
            elif key not in s:
                problems.append(f"{name}: only sensord has it: {d[key]}")
            elif s[key] != d[key]:  # exact: doubles that parse to the same value
                fields = ("count", "avg_value", "max_value", "min_value")
                problems.append(f"{name}: " + ", ".join(f"{f} Spark {a!r} sensord {b!r}"
                                                        for f, a, b in zip(fields, s[key], d[key]) if a != b))
    for p in problems[:20]:
        print(p, file=sys.stderr)
    rows = sum(len(b) for b in sensord.values())
    if problems:
        die(f"{len(problems)} difference(s) between Spark and sensord over {rows} sensord rows")
    print(f"{len(spark)} batches, {rows} rows: Spark and sensord agree exactly")


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


def cmd_increasing(args):
    last, repeats, rows = {}, [], 0
    for r in load_rows(args.rows):
        rows += 1
        key = (r["window"]["start"], r["sensor_id"])
        if key in last and r["count"] <= last[key]:
            repeats.append(f"{key}: count {r['count']} (batch {r['batch']}) after {last[key]}")
        last[key] = max(r["count"], last.get(key, 0))
    if repeats:
        die(f"{args.rows}: {len(repeats)} of {rows} rows repeat or go back, e.g. " + "; ".join(repeats[:3]))
    print(f"{rows} rows over {len(last)} keys, each key's counts strictly growing")


def cmd_batch_rows(args):
    offsets, partition_of, records = {}, {}, []
    for raw in read_values(args.values):
        p, o, rest = raw.split(b" ", 2)
        rec = parse_record(rest)
        if rec is None:
            continue
        p, o = int(p), int(o)
        keys = [(fmt_time(start), rec[0]) for start in windows_of(rec[2], args.window, args.slide, 0)]
        records.append((p, o, keys))
        for key in keys:
            if partition_of.setdefault(key, p) != p:
                die(f"{key} has records in partitions {partition_of[key]} and {p}")
    records.sort()
    for p, o, keys in records:
        for key in keys:
            offsets.setdefault(key, []).append(o)
    # bounds[p][batch] = [lowest, highest] offset its end can have in p
    bounds, rows_of, problems = {}, set(), []
    for i, r in enumerate(load_rows(args.rows), 1):
        key = (fmt_time(time_ms(r["window"]["start"], f"{args.rows} row {i}")), r["sensor_id"])
        batch, count = r["batch"], r["count"]
        if key not in offsets or not 1 <= count <= len(offsets[key]):
            die(f"{args.rows} row {i}: {key} count {count}, but the data has {len(offsets.get(key, []))} pairs")
        if (batch, key) in rows_of:
            problems.append(f"batch {batch} has two rows of {key}")
        rows_of.add((batch, key))
        offs = offsets[key]
        b = bounds.setdefault(partition_of[key], {}).setdefault(batch, [0, math.inf])
        b[0] = max(b[0], offs[count - 1] + 1)
        b[1] = min(b[1], offs[count] if count < len(offs) else math.inf)
    for p, batches in bounds.items():
        order = sorted(batches)
        for batch in order:
            lo, hi = batches[batch]
            if lo > hi:
                problems.append(f"the rows of batch {batch} disagree on where it ended in partition {p}: after "
                                f"offset {lo - 1} and at or before {hi}")
        for a, b in zip(order, order[1:]):
            if batches[b][1] < batches[a][0]:
                problems.append(f"partition {p}: batch {b} ended before batch {a}")
    placed = unplaced = 0
    by_partition = {}
    for p, o, keys in records:
        by_partition.setdefault(p, []).append((o, keys))
    for p, recs in by_partition.items():
        order = sorted(bounds.get(p, {}))
        prev_hi, j = -1, 0  # the end of the batch before order[j] is at or before prev_hi
        for o, keys in recs:
            while j < len(order) and bounds[p][order[j]][1] <= o:
                prev_hi = bounds[p][order[j]][1]
                j += 1
            if j == len(order) or not (prev_hi <= o < bounds[p][order[j]][0]):
                unplaced += 1  # near a batch's end, whose exact offset the rows do not tell
                continue
            placed += 1
            for key in keys:
                if (order[j], key) not in rows_of:
                    problems.append(f"partition {p} offset {o} lies in batch {order[j]}, which has no row of {key}")
    for line in problems[:5]:
        print(line, file=sys.stderr)
    if problems:
        die(f"{args.rows}: {len(problems)} problem(s) over {len(rows_of)} rows")
    print(f"{len(rows_of)} rows in {sum(len(b) for b in bounds.values())} (partition, batch) pairs: each of the "
          f"{placed} records whose batch the rows pin down has a row for both its windows in that batch "
          f"({unplaced} lie near a batch's end)")


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
    r.add_argument("--cut", default="", help="record indices where an available-now run ended (its last batch, "
                   "then its no-data batch), comma-separated")
    r.add_argument("--max-future", type=duration, default="0 ms")
    r.add_argument("--now", type=int, default=int(time.time() * 1000), help="the wall clock, ms since the epoch")
    r.add_argument("--late-out")
    r.add_argument("values")
    q = sub.add_parser("partitions")
    q.add_argument("--window", type=duration, default="10 min")
    q.add_argument("--slide", type=duration, default="5 min")
    q.add_argument("--offset", type=duration, default="0 ms")
    q.add_argument("--watermark", type=duration, default="5 min")
    q.add_argument("--max-future", type=duration, default="0 ms")
    q.add_argument("--now", type=int, default=int(time.time() * 1000))
    q.add_argument("--late-out")
    q.add_argument("--aggregates-out")
    q.add_argument("values", nargs="+")
    le = sub.add_parser("late-equal")
    le.add_argument("--topic", default="sensor-data", help="the input topic, as sensord-topic names it")
    le.add_argument("--no-duplicates", action="store_true")
    le.add_argument("expected")
    le.add_argument("actual")
    f = sub.add_parser("final-equal")
    f.add_argument("--window", type=duration, default="10 min")
    f.add_argument("--slide", type=duration, default="5 min")
    f.add_argument("--highest-count", action="store_true")
    f.add_argument("--by-partition", action="store_true",
                   help="VALUES as kcat's '%%p %%o %%s': keys whose records lie in several partitions are checked "
                        "part by part")
    f.add_argument("--aggregates", help="expected aggregates (partitions --aggregates-out) instead of VALUES")
    f.add_argument("rows")
    f.add_argument("values", nargs="?")
    ct = sub.add_parser("contains")
    ct.add_argument("expected")
    ct.add_argument("actual")
    b = sub.add_parser("batches")
    b.add_argument("spark")
    b.add_argument("sensord")
    br = sub.add_parser("batch-rows")
    br.add_argument("--window", type=duration, default="10 min")
    br.add_argument("--slide", type=duration, default="5 min")
    br.add_argument("rows")
    br.add_argument("values")
    inc = sub.add_parser("increasing")
    inc.add_argument("rows")
    u = sub.add_parser("unique")
    u.add_argument("rows", nargs="+")
    args = p.parse_args()
    {"compare": cmd_compare, "reference": cmd_reference, "partitions": cmd_partitions, "late-equal": cmd_late_equal,
     "final-equal": cmd_final_equal, "contains": cmd_contains, "batches": cmd_batches, "unique": cmd_unique,
     "increasing": cmd_increasing, "batch-rows": cmd_batch_rows}[args.cmd](args)


if __name__ == "__main__":
    main()
