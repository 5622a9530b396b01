#!/usr/bin/env bash
# Benchmark: drift reports, sluice vs Evidently's DataDriftPreset, and drift between two stored
# versions from their profiles alone (issue 4, part 9).
#
# Part 1. ROWS vs ROWS rows, 20 columns (bench/drift_gen.py: 12 numeric -- normal, lognormal,
# Pareto, Student t(2), exponential, uniform, bimodal, zero-inflated, gamma with 3% nulls, three
# integer columns -- and 8 string columns of 3 to 500 categories; 8 columns drifted, named *_d),
# written once as Parquet. Both tools pick normalised Wasserstein (numeric) and Jensen-Shannon
# distance (categorical) at this size, with threshold 0.1.
#   sluice:    `sluice --json drift ref.parquet cur.parquet --no-fail`, the whole process (read
#              both files, every column, JSON on stdout; no HTML).
#   Evidently: bench/drift_evidently.py, timed from reading both files into pandas to the end of
#              `Report([DataDriftPreset()]).run(cur, ref)` (Datasets with explicit column types;
#              no HTML rendering; Python start-up and imports not timed, shown apart).
#   The runs alternate (sluice, Evidently, sluice, ...), REPS of each; medians and every run.
#   The per-column scores are compared: max absolute difference per method.
# Part 2. In a fresh workspace: `sluice synth --rows ROWS10M a.parquet`, `sluice synth --rows
#   ROWS10M --batch 1 --covariate-drift 0.5 b.parquet`, `sluice add d a.parquet`, `sluice add d
#   b.parquet`, then REPS x `sluice drift d@v1 d@v2 --no-fail --json` under /usr/bin/time -v
#   (wall time, CPU, peak RSS). Above the default exact budget (5M rows) it reads the stored
#   profiles only; the report checks that every column says "sketch" or "exact_counts".
#
# Usage: [SLUICE=BIN] bench/drift_vs_evidently.sh [ROWS] [ROWS10M] [REPS]   (defaults 1000000 10000000 3)
#   SLUICE=path uses an existing release build instead of `cargo build --release -p sluice-cli`.
#   ROWS10M=0 skips part 2.
# Output: bench/out/drift/ (data, JSON of every run, times.tsv) and a Markdown report on stdout
# (also saved as bench/out/drift/report.md). Results go to docs/benchmarks.md by hand.
set -euo pipefail
rows=${1:-1000000}
rows10m=${2:-10000000}
reps=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/bench/out/drift}
venv=${BENCH_VENV:-$root/bench/out/venv-drift}
evidently_version=0.7.23
mkdir -p "$out"

sluice=${SLUICE:-}
if [ -n "$sluice" ]; then
  built="SLUICE=$sluice, built $(date -u -r "$sluice" '+%Y-%m-%d %H:%M UTC')"
else
  echo "building sluice (release)..." >&2
  built="built by this run from commit $(cd "$root" && git rev-parse --short HEAD)"
  dirty=$(cd "$root" && git status --porcelain -- crates Cargo.toml Cargo.lock | wc -l)
  [ "$dirty" -eq 0 ] || built="$built plus $dirty uncommitted changed paths under crates/ (other sessions' work)"
  (cd "$root" && cargo build --release -q -p sluice-cli)
  # A private copy: other builds in the same checkout may replace target/release/sluice mid-run.
  cp "$root/target/release/sluice" "$out/sluice"
  sluice=$out/sluice
fi
sluice=$(cd "$(dirname "$sluice")" && pwd)/$(basename "$sluice")
[ -x "$sluice" ] || { echo "no sluice binary at $sluice" >&2; exit 1; }

# Evidently 0.7.23 does not import with pandas 3 (it imports pandas.core.dtypes.common's
# infer_dtype_from_object, removed in 3.0), hence the pandas pin.
if ! "$venv/bin/python" -c "import evidently, sys; sys.exit(evidently.__version__ != '$evidently_version')" 2>/dev/null; then
  echo "installing evidently $evidently_version into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "evidently==$evidently_version" "pandas==2.3.3" "pyarrow==26.0.1"
fi
python=$venv/bin/python

times=$out/times.tsv
info=$out/info.tsv
: >"$times"
{
  printf 'sluice\t%s (%s)\n' "$("$sluice" --version)" "$built"
  printf 'cores\t%s\n' "$(nproc)"
  printf 'cpu\t%s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
} >"$info"

load1() { cut -d' ' -f1 /proc/loadavg; }

# timed PART TOOL RUN STDOUT_FILE -- CMD...: runs CMD under /usr/bin/time -v (CPU time, peak RSS;
# wall time from the clock around it, /usr/bin/time rounds to 10 ms), appends a line to times.tsv.
timed() {
  local part=$1 tool=$2 run=$3 stdout=$4
  shift 5
  local load tv
  load=$(load1)
  tv=$(mktemp)
  local t0 t1 wall user sys rss
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$tv" "$@" >"$stdout"
  t1=$(date +%s.%N)
  wall=$(echo "$t1 - $t0" | bc)
  user=$(awk -F': ' '/User time/ {print $2}' "$tv")
  sys=$(awk -F': ' '/System time/ {print $2}' "$tv")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
  rm -f "$tv"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$part" "$tool" "$run" "$wall" "$user" "$sys" "$rss" "$load" >>"$times"
  echo "  $tool run $run: ${wall}s wall, $(echo "$user + $sys" | bc)s CPU, load $load" >&2
}

# ---- Part 1 ------------------------------------------------------------------------------------
data=$out/data_$rows
ref=$data/ref.parquet
cur=$data/cur.parquet
if [ ! -f "$cur" ]; then
  echo "generating $rows + $rows rows..." >&2
  mkdir -p "$data"
  "$python" "$root/bench/drift_gen.py" "$ref.tmp" "$cur.tmp" "$rows"
  mv "$ref.tmp" "$ref"
  mv "$cur.tmp" "$cur"
fi

echo "part 1: $rows vs $rows rows, $reps runs of each tool, alternating..." >&2
for run in $(seq 1 "$reps"); do
  timed 1 sluice "$run" "$out/sluice_$run.json" -- "$sluice" --json drift "$ref" "$cur" --no-fail
  # The script writes its JSON to a file; its stdout stays empty.
  timed 1 evidently "$run" /dev/null -- "$python" "$root/bench/drift_evidently.py" "$ref" "$cur" "$out/evidently_$run.json"
done

# ---- Part 2 ------------------------------------------------------------------------------------
if [ "$rows10m" -gt 0 ]; then
  ws=$out/ws_$rows10m
  rm -rf "$ws"
  mkdir -p "$ws"
  echo "part 2: workspace $ws, two versions of $rows10m rows..." >&2
  s0=$(date +%s.%N)
  "$sluice" -C "$ws" init >/dev/null
  "$sluice" -C "$ws" synth --rows "$rows10m" a.parquet >&2
  "$sluice" -C "$ws" synth --rows "$rows10m" --batch 1 --covariate-drift 0.5 b.parquet >&2
  s1=$(date +%s.%N)
  "$sluice" -C "$ws" add d a.parquet >&2
  "$sluice" -C "$ws" add d b.parquet >&2
  s2=$(date +%s.%N)
  printf 'setup\tsynth of both files %.0f s, both adds (hash, store, profile) %.0f s, load %s\n' \
    "$(echo "$s1 - $s0" | bc)" "$(echo "$s2 - $s1" | bc)" "$(load1)" >>"$info"
  # The generated files are in the store now; the drift command must not need them.
  rm -f "$ws/a.parquet" "$ws/b.parquet"
  for run in $(seq 1 "$reps"); do
    timed 2 sluice "$run" "$out/stored_$run.json" -- "$sluice" -C "$ws" drift d@v1 d@v2 --no-fail --json
  done
fi

"$python" "$root/bench/drift_report.py" "$out" | tee "$out/report.md"
