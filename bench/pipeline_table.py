"""Markdown table of bench/pipeline_10m.sh: time per pipeline stage against reading its input alone.

Usage: python3 pipeline_table.py RUN1.json RUN1.time READS.jsonl RUN2.log RUN2.time [WINDOWS]

RUN1.json   `sluice --json run` report (read, stage and versioning seconds, rows, steps)
RUN1.time   `/usr/bin/time -v` output of run 1 (wall clock, peak RSS)
READS.jsonl `read_time` lines: the source files (one per batch, in order), then the versioned
            outputs (one per batch, in order), which stand for every stage output after the source
            (`sluice run` keeps no stage output on the way to a version)
RUN2.log    run 2's text progress, each line prefixed by the epoch second it was printed; the
            first line is "<start> #start"
RUN2.time   `/usr/bin/time -v` output of run 2
WINDOWS     (optional) written: "start<TAB>end<TAB>part" in epoch seconds for every part above the
            limit, from run 2's stamps, for `perf report --time start,end`

Standard library only, so it runs wherever the benchmark does.
"""

import json
import re
import sys

LIMIT = 2.0  # issue 5: no stage above twice the time of reading its input


def fail(msg):
    sys.exit(f"pipeline_table.py: {msg}")


def gnu_time(path):
    out = {}
    for line in open(path):
        k, _, v = line.strip().rpartition(": ")
        if k.startswith("Elapsed (wall clock)"):
            secs = 0.0
            for part in v.split(":"):
                secs = secs * 60 + float(part)
            out["wall"] = secs
        elif k == "Maximum resident set size (kbytes)":
            out["rss_mb"] = int(v) / 1024
        elif k == "User time (seconds)":
            out["user"] = float(v)
        elif k == "System time (seconds)":
            out["sys"] = float(v)
        elif k == "Exit status":
            out["exit"] = int(v)
    if "wall" not in out or "rss_mb" not in out:
        fail(f"{path} is not `/usr/bin/time -v` output (no wall clock or peak RSS line)")
    return out


def stamped(path):
    """Run 2's log as the times it yields per batch, with the wall-clock window of each part
    (epoch seconds, for `perf report --time` on a recording made with `-k CLOCK_REALTIME`)."""
    lines = []
    for raw in open(path):
        ts, _, text = raw.rstrip("\n").partition(" ")
        lines.append((float(ts), text))
    if not lines or lines[0][1] != "#start":
        fail(f"{path}: the first line must be '<epoch seconds> #start'")
    batches, monitor, prev = [], None, lines[0][0]
    for i, (t, text) in enumerate(lines[1:], start=1):
        before = lines[i - 1][0]
        if re.fullmatch(r"\S+\.\w+:", text):
            batches.append({"name": text[:-1], "hash": t - prev, "stages": {}, "windows": {"hash": (prev, t)}})
        elif m := re.fullmatch(r"  read: (\S+) rows \(([\d.]+) s\)", text):
            batches[-1]["read"] = float(m.group(2))
            batches[-1]["windows"]["read"] = (before, t)
        elif m := re.fullmatch(r"  (\S+): (\S+) -> (\S+) rows \(([\d.]+) s\)", text):
            batches[-1]["stages"][m.group(1)] = {
                "rows_in": int(m.group(2).replace(",", "")),
                "rows_out": int(m.group(3).replace(",", "")),
                "seconds": float(m.group(4)),
            }
            batches[-1]["windows"][f"stage {m.group(1)}"] = (before, t)
        elif text.startswith("  gate: "):
            batches[-1]["gate"] = t - before
            batches[-1]["windows"]["gate"] = (before, t)
        elif m := re.fullmatch(r"  output written: (\S+) rows as Parquet \(([\d.]+) s\)", text):
            batches[-1]["write"] = float(m.group(2))
        elif m := re.fullmatch(r"  versioned: (\S+) \(([\d.]+) s\)", text):
            batches[-1]["version"] = float(m.group(2))
            batches[-1]["windows"]["versioning"] = (t - float(m.group(2)), t)
            prev = t
        elif re.fullmatch(r"monitor \S+:", text):
            monitor = {"start": t}
        elif text.startswith("pipeline ") and monitor is not None:
            monitor["seconds"] = t - monitor["start"]
            monitor["window"] = (monitor["start"], t)
    if monitor is None or "seconds" not in monitor:
        fail(f"{path}: no 'monitor NAME:' line followed by the run summary; did run 2 finish?")
    return batches, monitor


def fmt_rows(n):
    return f"{n:,}" if n is not None else ""


def main():
    if len(sys.argv) not in (6, 7):
        fail(__doc__.strip().splitlines()[2])
    windows_out = open(sys.argv[6], "w") if len(sys.argv) == 7 else None
    run1 = json.load(open(sys.argv[1]))
    t1 = gnu_time(sys.argv[2])
    reads = [json.loads(line) for line in open(sys.argv[3]) if line.strip()]
    b2, monitor = stamped(sys.argv[4])
    monitor2 = monitor["seconds"]
    t2 = gnu_time(sys.argv[5])

    b1 = run1["batches"]
    if not b1:
        fail(f"{sys.argv[1]}: run 1 processed no batch")
    if len(reads) != 2 * len(b1):
        fail(f"{sys.argv[3]}: expected {len(b1)} source files and {len(b1)} versioned outputs, got {len(reads)} lines")
    if len(b2) != len(b1):
        fail(f"run 1 processed {len(b1)} batches, run 2 {len(b2)}")
    sources, cached = reads[: len(b1)], reads[len(b1):]

    head = "| batch | part | rows in | rows out | seconds, run 1 | seconds, run 2 | its input read alone (s) | multiple |"
    print(head)
    print("|---|---|---|---|---|---|---|---|")
    above = []

    def row(batch, part, rows_in, rows_out, s1, s2, ref, ref_what, window=None):
        s = s1 if s1 is not None else s2
        mult = ""
        if s is not None and ref:
            m = s / ref
            mult = f"**{m:.1f}x**" if m > LIMIT else f"{m:.1f}x"
            if m > LIMIT:
                above.append(f"{batch} {part}: {m:.1f}x")
                if windows_out and window:
                    windows_out.write(f"{window[0]:.6f}\t{window[1]:.6f}\t{batch} {part}\n")
        cell = lambda v: f"{v:.2f}" if v is not None else "-"
        print(
            f"| {batch} | {part} | {fmt_rows(rows_in)} | {fmt_rows(rows_out)} | {cell(s1)} | {cell(s2)} "
            f"| {ref:.2f} ({ref_what}) | {mult} |"
        )

    last_outputs = 0.0
    for i, (a, b) in enumerate(zip(b1, b2)):
        name = re.sub(r"^transactions-|\.parquet$", "", a["source"].rsplit("/", 1)[-1])
        src = sources[i]
        if src["rows"] != a["rows"]:
            fail(f"read_time read {src['rows']} rows from {src['path']}, the pipeline {a['rows']}")
        ref_src = src["best_seconds"]
        w = b["windows"]
        row(name, "hash the source (BLAKE3)", None, None, None, b["hash"], ref_src, "source", w["hash"])
        row(name, "read the source", a["rows"], a["rows"], a["read_seconds"], b.get("read"), ref_src, "source",
            w.get("read"))
        ref, ref_what = ref_src, "source"
        c = cached[i]
        out_rows = a["stages"][-1]["rows_out"] if a["stages"] else a["rows"]
        if c["rows"] != out_rows:
            fail(f"versioned output {c['path']} has {c['rows']} rows, batch {name}'s result {out_rows}")
        for j, st in enumerate(a["stages"]):
            s2 = b["stages"].get(st["name"], {}).get("seconds")
            row(name, f"stage `{st['name']}`", st["rows_in"], st["rows_out"],
                st["seconds"], s2, ref, ref_what, w.get(f"stage {st['name']}"))
            for step in st["steps"]:
                what = [f"{step['rows_removed']:,} rows removed"] if step["rows_removed"] else []
                if step["values_changed"]:
                    what.append(f"{step['values_changed']:,} values changed")
                if step["values_added"]:
                    what.append(f"{step['values_added']:,} added")
                secs = f"{step['seconds']:.2f}" if "seconds" in step else ""
                print(
                    f"| | &nbsp;&nbsp;step {step['step']}: {', '.join(what) or 'nothing to do'} "
                    f"| {step['rows_in']:,} | {step['rows_out']:,} | {secs} | | | |"
                )
            ref, ref_what = c["best_seconds"], f"`{st['name']}` output*"
        gate = "passed" if a["passed"] else "FAILED"
        row(name, f"gate, checks.toml ({gate})", out_rows, out_rows if a["passed"] else 0, None, b.get("gate"),
            ref, ref_what, w.get("gate"))
        row(name, f"versioning: raw batch + output ({a['raw_version'] or '-'}, {a['version'] or '-'})",
            out_rows, None, a["version_seconds"], b.get("version"), ref_src + ref, f"source + {ref_what}",
            w.get("versioning"))
        print(
            f"| | &nbsp;&nbsp;of which writing the output's Parquet file, alongside the raw batch's add | {out_rows:,} | | "
            f"{a.get('write_seconds', 0):.2f} | {b.get('write', 0):.2f} | | |"
        )
        last_outputs += ref
    m = run1.get("monitor") or {}
    row("all", f"monitoring: {len(m.get('batches', []))} batch(es) against {m.get('baseline', '?')}", None, None,
        None, monitor2, last_outputs, "every versioned output", monitor["window"])
    print()
    for label, t in (("run 1", t1), ("run 2", t2)):
        print(
            f"{label}: whole process {t['wall']:.1f} s wall, {t.get('user', 0):.1f} s user + "
            f"{t.get('sys', 0):.1f} s system CPU, peak RSS {t['rss_mb']:,.0f} MB, exit {t.get('exit', '?')}."
        )
    print()
    print("\* read of the versioned output, which stands for every stage output after the source.")
    print()
    if above:
        print(f"Above {LIMIT:.0f}x reading the input: " + "; ".join(above) + ".")
    else:
        print(f"No part above {LIMIT:.0f}x reading its input.")


if __name__ == "__main__":
    main()
