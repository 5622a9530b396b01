#!/usr/bin/env bash
# Benchmark: the demo pipeline (examples/pipeline.toml with checks.toml and monitor.toml) at 10M rows
# per batch, time per stage against the time of reading that stage's input alone (issue 5, part 6:
# no stage should take more than twice the time of reading its input).
#
# Data: two `sluice synth` months of ROWS rows each, as `sluice demo` makes them
# (crates/sluice-cli/src/demo.rs): the reference month (batch 0, seed 7, light problems) and a
# drifted month (batch 1, seed 8, --covariate-drift 0.6 --concept-drift 0.8 --inject all=0.01).
# They are kept in bench/out/pipeline/data between runs; every run gets a fresh workspace.
#
# Run 1, the record: `sluice --json run pipeline.toml --no-fail` under `/usr/bin/time -v`. Its
#   report gives per batch the read, each stage (and its steps' row counts) and the versioning.
# Run 2, the same in a fresh workspace, with text progress stamped line by line as it is printed:
#   the JSON report does not time the gate, the monitor or the hashing of the source, so those come
#   from the stamps (the gate is the time between the last stage's line and the gate's line, the
#   monitor the time between "monitor NAME:" and the summary). Its stage times are shown too, as
#   a repeat measurement.
# Reading alone: the release example `read_time` (crates/sluice-drift/examples/read_time.rs) times
#   `sluice_drift::sample::read_parquet`, the reader `sluice run` uses, on the source files and on
#   run 1's versioned outputs (fastest of 5, all files already in the page cache as they are for
#   the pipeline). `sluice run` no longer writes the outputs of stages on the way to a version
#   (crates/sluice-cli/src/pipeline.rs, "Caching"), so the versioned output stands for every stage
#   output after the source: the demo's `features` stage adds one Float64 column to `clean`'s 20,
#   so reading `clean`'s output would take about 1/21 less.
#
# Usage: [SLUICE=BIN READ_TIME=BIN] [PERF=1] bench/pipeline_10m.sh [ROWS]   (default 10000000)
#   PERF=1 also records run 2 with `perf record -F 49 --call-graph dwarf -k CLOCK_REALTIME` into
#   bench/out/pipeline/perf.data (its stamps then include perf's overhead, a few per cent) and, for
#   every part above 2x, prints the heaviest sluice functions and leaf symbols within that part's
#   wall-clock window (`perf report --time START,END`; full reports in bench/out/pipeline/perf/).
#   perf.data names bench/out/pipeline/bin/sluice, which the next run of this script replaces:
#   read it (perf report) before running again.
#   KEEP_WS=1 keeps run 2's workspace (about 6 GB at 10M rows) in bench/out/pipeline/ws.
# Prints a Markdown table; the results go to docs/benchmarks.md ("Pipeline") by hand.
set -euo pipefail
rows=${1:-10000000}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/bench/out/pipeline}
mkdir -p "$out/bin" "$out/data"

sluice=${SLUICE:-}
read_time=${READ_TIME:-}
if [ -z "$sluice" ] || [ -z "$read_time" ]; then
  echo "building sluice and read_time (release; waits for other builds' lock)..." >&2
  (cd "$root" && cargo build --release -q -p sluice-cli && cargo build --release -q -p sluice-drift --example read_time)
  # Private copies: another engineer's build may replace target/release/sluice during the runs.
  cp "$root/target/release/sluice" "$out/bin/sluice"
  cp "$root/target/release/examples/read_time" "$out/bin/read_time"
  sluice=$out/bin/sluice
  read_time=$out/bin/read_time
  rev=$(git -C "$root" rev-parse --short HEAD)
  dirty=$(git -C "$root" status --porcelain -- crates Cargo.toml Cargo.lock | wc -l)
  build="built from $rev$([ "$dirty" -gt 0 ] && echo " plus $dirty uncommitted file(s) in crates/" || true)"
else
  sluice=$(realpath "$sluice")
  read_time=$(realpath "$read_time")
  build="given binaries $sluice, $read_time"
fi
for tool in /usr/bin/time python3; do
  command -v "$tool" > /dev/null || { echo "$tool is needed (apt-get install time python3)" >&2; exit 2; }
done

# The two months, regenerated only when missing or made with other settings.
months=(2024-01 2024-02)
specs=(
  "--batch 0 --seed 7 --inject missing=0.005,duplicates=0.005,outliers=0.002"
  "--batch 1 --seed 8 --covariate-drift 0.6 --concept-drift 0.8 --inject all=0.01"
)
for i in "${!months[@]}"; do
  f=$out/data/transactions-${months[$i]}.parquet
  stamp="rows=$rows ${specs[$i]} sluice=$("$sluice" --version)"
  if [ ! -f "$f" ] || [ "$(cat "$f.settings" 2>/dev/null)" != "$stamp" ]; then
    echo "generating ${months[$i]}: $rows rows (${specs[$i]})..." >&2
    # shellcheck disable=SC2086
    "$sluice" synth "$f" --rows "$rows" ${specs[$i]} > /dev/null
    echo "$stamp" > "$f.settings"
  fi
done

# A fresh workspace with the example pipeline files and the months in incoming/.
fresh() {
  local ws=$1
  rm -rf "$ws"
  mkdir -p "$ws/incoming"
  (cd "$ws" && "$sluice" init > /dev/null)
  cp "$root/examples/pipeline.toml" "$root/examples/checks.toml" "$root/examples/monitor.toml" "$ws/"
  for m in "${months[@]}"; do
    ln "$out/data/transactions-$m.parquet" "$ws/incoming/" 2> /dev/null \
      || cp "$out/data/transactions-$m.parquet" "$ws/incoming/"
  done
  # The previous workspace's gigabytes are freed and written back now, not during the timed run.
  sync
}

ws=$out/ws
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

echo "run 1: sluice --json run pipeline.toml --no-fail ..." >&2
fresh "$ws"
(cd "$ws" && /usr/bin/time -v -o "$out/run1.time" "$sluice" --json run pipeline.toml --no-fail > "$out/run1.json")
load_run1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "reading the inputs alone..." >&2
# The versioned outputs, one per batch in order (objects are named by their BLAKE3, 2-hex fan-out).
outputs=()
for v in $(python3 -c 'import json,sys; print(" ".join(b["version"] for b in json.load(open(sys.argv[1]))["batches"]))' "$out/run1.json"); do
  obj=$(cd "$ws" && "$sluice" --json show "$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tables"][0]["canonical"])')
  outputs+=("$ws/.sluice/objects/${obj:0:2}/${obj:2}")
done
sources=()
for m in "${months[@]}"; do sources+=("$out/data/transactions-$m.parquet"); done
"$read_time" --reps 5 "${sources[@]}" "${outputs[@]}" > "$out/reads.jsonl"

echo "run 2: the same with stamped progress lines..." >&2
fresh "$ws"
perf=()
if [ "${PERF:-0}" = 1 ]; then
  command -v perf > /dev/null || { echo "PERF=1 needs perf (apt-get install linux-perf)" >&2; exit 2; }
  # Realtime clock: the samples' timestamps are comparable with the stamps of the progress lines.
  perf=(perf record -q -F 49 --call-graph dwarf -k CLOCK_REALTIME -o "$out/perf.data" --)
fi
# Rust's stdout is line buffered, so each line is stamped when the step it reports has finished.
printf '%s #start\n' "$EPOCHREALTIME" > "$out/run2.log"
(cd "$ws" && /usr/bin/time -v -o "$out/run2.time" ${perf[@]+"${perf[@]}"} "$sluice" run pipeline.toml --no-fail) \
  | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >> "$out/run2.log"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Data: ${#months[@]} batches of $rows rows (sluice synth: ${specs[0]}; ${specs[1]}). sluice $("$sluice" --version | cut -d' ' -f2), $build."
echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, shared; load average (1, 5, 15 min) at the start $load_start, after run 1 $load_run1, at the end $load_end."
echo
python3 "$root/bench/pipeline_table.py" "$out/run1.json" "$out/run1.time" "$out/reads.jsonl" "$out/run2.log" \
  "$out/run2.time" "$out/windows.tsv"

if [ "${PERF:-0}" = 1 ]; then
  rm -rf "$out/perf"
  mkdir -p "$out/perf"
  echo
  echo "Profiles of the parts above 2x (run 2, perf at 49 Hz with DWARF call graphs; share of that part's samples):"
  n=0
  while IFS=$'\t' read -r from to part; do
    n=$((n + 1))
    report=$out/perf/$n.txt
    perf report -i "$out/perf.data" --time "$from,$to" --children --sort sym --stdio -g none \
      --percent-limit 1 2> /dev/null > "$report" || true
    echo
    echo "$part (perf report -i $out/perf.data --time $from,$to; $report):"
    lines=$(grep -E '^ +[0-9.]+% +[0-9.]+% ' "$report" || true)
    echo "- heaviest sluice functions (children, self):"
    # (|| true: head closing the pipe early is not a failure)
    echo "$lines" | grep -E 'sluice' | head -8 | sed 's/^/    /' || true
    echo "- heaviest leaf symbols (children, self):"
    echo "$lines" | sort -k2 -g -r | head -5 | sed 's/^/    /' || true
  done < "$out/windows.tsv"
fi

if [ "${KEEP_WS:-0}" != 1 ]; then rm -rf "$ws"; fi
