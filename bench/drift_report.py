"""Tables for bench/drift_vs_evidently.sh, from the files the script left in its output folder.

Usage: python drift_report.py OUT_DIR

Reads OUT_DIR/times.tsv (one line per timed run: part, tool, run, wall s, user s, sys s, peak RSS
KB, 1-minute load average before the run), OUT_DIR/sluice_N.json and OUT_DIR/evidently_N.json
(part 1), OUT_DIR/stored_N.json (part 2) and OUT_DIR/info.tsv (key, value), and prints Markdown.
Exits non-zero when the two tools' scores disagree beyond 1e-9 or a part-2 column was computed
from rows instead of profiles, so a broken comparison cannot pass as a benchmark.
"""

import csv
import json
import os
import statistics
import sys

TOLERANCE = 1e-9


def load_times(path):
    rows = []
    with open(path) as f:
        for r in csv.reader(f, delimiter="\t"):
            part, tool, run, wall, user, sys_, rss, load = r
            rows.append(
                {
                    "part": part,
                    "tool": tool,
                    "run": int(run),
                    "wall": float(wall),
                    "cpu": float(user) + float(sys_),
                    "rss_mb": int(rss) / 1024,
                    "load": float(load),
                }
            )
    return rows


def fmt_runs(values, digits=2):
    return " ".join(f"{v:.{digits}f}" for v in values)


def method_of_evidently(name):
    if name.startswith("Wasserstein"):
        return "wasserstein"
    if name.startswith("Jensen-Shannon"):
        return "js"
    return name


def part1(out, times, info):
    runs = sorted({t["run"] for t in times if t["part"] == "1"})
    sl = [t for t in times if t["part"] == "1" and t["tool"] == "sluice"]
    ev_proc = [t for t in times if t["part"] == "1" and t["tool"] == "evidently"]
    ev = [json.load(open(os.path.join(out, f"evidently_{r}.json"))) for r in runs]
    s = [json.load(open(os.path.join(out, f"sluice_{r}.json"))) for r in runs]

    sl_wall = [t["wall"] for t in sl]
    sl_cpu = [t["cpu"] for t in sl]
    ev_wall = [e["seconds"]["timed_total"] for e in ev]
    ev_cpu = [e["seconds"]["timed_cpu"] for e in ev]
    ev_report = [e["seconds"]["report"] for e in ev]
    ev_read = [e["seconds"]["read"] + e["seconds"]["dataset"] for e in ev]
    ev_whole = [t["wall"] for t in ev_proc]
    loads = [t["load"] for t in times if t["part"] == "1"]

    rows = s[0]["reference"]["rows"]
    print(f"### Part 1: {rows:,} vs {s[0]['current']['rows']:,} rows, {len(s[0]['columns'])} columns")
    print()
    print(f"Evidently {ev[0]['evidently']} (pandas {ev[0]['pandas']}), {info.get('sluice', 'sluice')}.")
    print(f"1-minute load average before each run: {fmt_runs(loads)} ({info.get('cores', '?')} cores).")
    print()
    print("| tool | what is timed | median wall (s) | every run (s) | median CPU (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    print(
        "| sluice | whole process: read both Parquet files, 20 columns, JSON out | "
        f"{statistics.median(sl_wall):.2f} | {fmt_runs(sl_wall)} | {statistics.median(sl_cpu):.2f} | "
        f"{max(t['rss_mb'] for t in sl):.0f} |"
    )
    print(
        "| Evidently | read Parquet into pandas + Datasets + `Report.run` (no HTML) | "
        f"{statistics.median(ev_wall):.1f} | {fmt_runs(ev_wall, 1)} | {statistics.median(ev_cpu):.1f} | "
        f"{max(t['rss_mb'] for t in ev_proc):.0f} |"
    )
    print(
        f"| Evidently, of which reading + Datasets | | {statistics.median(ev_read):.1f} | {fmt_runs(ev_read, 1)} | | |"
    )
    print(f"| Evidently, of which `Report.run` | | {statistics.median(ev_report):.1f} | {fmt_runs(ev_report, 1)} | | |")
    print(
        f"| Evidently, whole process (with Python start and imports) | | {statistics.median(ev_whole):.1f} | "
        f"{fmt_runs(ev_whole, 1)} | | |"
    )
    print()
    speed_wall = statistics.median(ev_wall) / statistics.median(sl_wall)
    speed_cpu = statistics.median(ev_cpu) / statistics.median(sl_cpu)
    print(f"Speed-up, median wall against median wall: {speed_wall:.1f}x (target 50x: {'met' if speed_wall >= 50 else 'NOT met'}).")
    print(f"Speed-up in CPU time (user + system): {speed_cpu:.1f}x.")
    print()

    # Scores: the same in every run (deterministic); compare the first run's.
    for other in s[1:]:
        if [c["statistic"] for c in other["columns"]] != [c["statistic"] for c in s[0]["columns"]]:
            sys.exit("drift_report.py: sluice's scores changed between runs")
    evc = ev[0]["columns"]
    per_method = {}
    lines = []
    verdicts_differ = []
    for c in s[0]["columns"]:
        e = evc[c["column"]]
        em = method_of_evidently(e["method"])
        if em != c["method"]:
            sys.exit(f"drift_report.py: column {c['column']}: sluice used {c['method']}, Evidently {e['method']}")
        diff = abs(c["statistic"] - e["score"])
        m = per_method.setdefault(c["method"], {"n": 0, "max": 0.0, "rel": 0.0})
        m["n"] += 1
        m["max"] = max(m["max"], diff)
        m["rel"] = max(m["rel"], diff / abs(e["score"]) if e["score"] else diff)
        if c["drifted"] != e["drifted"]:
            verdicts_differ.append(c["column"])
        lines.append(
            f"| {c['column']} | {c['method']} | {c['statistic']:.12g} | {e['score']:.12g} | {diff:.1e} | "
            f"{'drift' if c['drifted'] else '-'} / {'drift' if e['drifted'] else '-'} |"
        )
    print("| method | columns | max abs difference | max relative difference |")
    print("|---|---|---|---|")
    for name, m in per_method.items():
        print(f"| {name} | {m['n']} | {m['max']:.1e} | {m['rel']:.1e} |")
    print()
    print(
        f"Drifted columns: sluice {s[0]['drifted']} of {s[0]['compared']} (dataset drift: {s[0]['dataset_drift']}); "
        f"Evidently {ev[0]['drifted_columns']['count']:.0f} (share {ev[0]['drifted_columns']['share']:.2f}). "
        f"Verdicts differ on: {', '.join(verdicts_differ) if verdicts_differ else 'no column'}."
    )
    print()
    print("| column | method | sluice | Evidently | abs difference | verdict sluice / Evidently |")
    print("|---|---|---|---|---|---|")
    for line in lines:
        print(line)
    print()
    worst = max(m["rel"] for m in per_method.values())
    return worst <= TOLERANCE and not verdicts_differ


def part2(out, times, info):
    runs = [t for t in times if t["part"] == "2"]
    if not runs:
        return True
    reports = [json.load(open(os.path.join(out, f"stored_{t['run']}.json"))) for t in runs]
    r = reports[0]
    paths = {}
    for c in r["columns"]:
        paths.setdefault(c["computation"]["path"], []).append(c["column"])
    wall = [t["wall"] for t in runs]
    print(f"### Part 2: two stored versions of {r['reference']['rows']:,} and {r['current']['rows']:,} rows, from their profiles")
    print()
    print(f"Setup (not part of the timed command): {info.get('setup', '')}")
    print(f"1-minute load average before each run: {fmt_runs([t['load'] for t in runs])}.")
    print()
    print("| command | median wall (s) | every run (s) | median CPU (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    print(
        f"| `sluice drift d@v1 d@v2 --no-fail --json` | {statistics.median(wall):.3f} | {fmt_runs(wall, 3)} | "
        f"{statistics.median([t['cpu'] for t in runs]):.3f} | {max(t['rss_mb'] for t in runs):.0f} |"
    )
    print()
    med = statistics.median(wall)
    print(f"Target < 1 s: {'met' if med < 1 else 'NOT met'} ({med:.3f} s).")
    print(
        "How each column was computed: "
        + "; ".join(f"{p}: {len(cols)} ({', '.join(cols)})" for p, cols in sorted(paths.items()))
        + "."
    )
    bounds = [
        (c["column"], c["statistic"], c["computation"]["error_bound"])
        for c in r["columns"]
        if c["computation"]["path"] == "sketch"
    ]
    if bounds:
        print()
        print("| column (sketch path) | method | statistic | stated error bound |")
        print("|---|---|---|---|")
        for c in r["columns"]:
            if c["computation"]["path"] == "sketch":
                print(f"| {c['column']} | {c['method']} | {c['statistic']:.4g} | {c['computation']['error_bound']:.3g} |")
    print()
    print(f"Drifted: {r['drifted']} of {r['compared']} columns, dataset drift {r['dataset_drift']}.")
    print()
    return set(paths) <= {"sketch", "exact_counts"}


def main():
    out = sys.argv[1]
    times = load_times(os.path.join(out, "times.tsv"))
    info = {}
    info_path = os.path.join(out, "info.tsv")
    if os.path.exists(info_path):
        with open(info_path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("\t")
                info[k] = v
    ok1 = part1(out, times, info) if any(t["part"] == "1" for t in times) else True
    ok2 = part2(out, times, info)
    if not ok1:
        sys.exit(f"drift_report.py: the scores differ by more than {TOLERANCE} (relative) or the verdicts differ")
    if not ok2:
        sys.exit("drift_report.py: a column of the stored-version comparison was computed from rows, not profiles")


if __name__ == "__main__":
    main()
