#!/usr/bin/env bash
# Benchmark: profiling every column of a `sluice synth` Parquet file (20 columns), side by side:
#   1. DataFusion scan that decodes every column (the floor: reading the file), in-process
#      (crates/sluice-profile/examples/scan_vs_profile.rs, which also times the profile in the
#      same process right after the scan)
#   2. `sluice profile FILE` (sluice_profile::profile_parquet: one reader thread per core over the
#      row groups, dictionary-encoded strings counted by key), as a user runs it
#   3. DuckDB SUMMARIZE (PyPI duckdb, throwaway virtualenv, all cores)
#   4. whylogs profile (PyPI whylogs, same virtualenv; pandas in chunks of 1M rows, one core)
# with each tool's wall time, CPU time (user + system) and peak RSS from /usr/bin/time, and the
# load average before and after each size (the machine may be shared).
# Usage: bench/profile_vs_peers.sh [ROWS...]        (default: 10000000 50000000)
# Environment: RUNS (sluice and scan repetitions, median reported; default 3),
#   WHYLOGS_MAX_ROWS (largest size whylogs runs at; default 10000000), BENCH_OUT, BENCH_VENV.
# Prints Markdown tables; copy them with the machine line into docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/bench/out/profile}
venv=${BENCH_VENV:-$root/bench/out/venv-profile}
runs=${RUNS:-3}
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10000000 50000000)
mkdir -p "$out"
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }

echo "building sluice (release)..." >&2
(cd "$root" && cargo build --release -q -p sluice-cli && cargo build --release -q -p sluice-profile --example scan_vs_profile)
# Private copies: another build in the same checkout cannot swap the binaries mid-run.
cp "$root/target/release/sluice" "$out/sluice"
cp "$root/target/release/examples/scan_vs_profile" "$out/scan_vs_profile"
sluice=$out/sluice
scan=$out/scan_vs_profile

# whylogs 1.6 uses NumPy 1 names (np.unicode_), so NumPy stays below 2, and with it pandas and
# pyarrow at their last releases that support NumPy 1.
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb, whylogs, pyarrow, pandas, numpy; assert numpy.__version__ < "2"' 2>/dev/null; then
  echo "installing duckdb, whylogs, pyarrow and pandas into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb whylogs "numpy<2" "pandas<2.3" "pyarrow<19"
fi
py=$venv/bin/python
export WHYLOGS_NO_ANALYTICS=1   # no usage statistics sent over the network during the run

# Each Python script prints the seconds of its work alone (after imports) on its last line.
cat > "$out/duck.py" <<'PY'
import sys, time, duckdb
con = duckdb.connect()
t = time.perf_counter()
rows = con.execute(f"SUMMARIZE SELECT * FROM read_parquet('{sys.argv[1]}')").fetchall()
assert len(rows) == 20, rows
print(f"{time.perf_counter() - t:.3f}")
PY
cat > "$out/whylogs_profile.py" <<'PY'
import sys, time, pyarrow.parquet as pq, whylogs as why
t = time.perf_counter()
f = pq.ParquetFile(sys.argv[1])
profile, done = None, 0
for batch in f.iter_batches(batch_size=1_000_000):
    df = batch.to_pandas()
    view = why.log(df).view()
    profile = view if profile is None else profile.merge(view)
    done += len(df)
assert done == f.metadata.num_rows and len(profile.get_columns()) == 20
print(f"{time.perf_counter() - t:.3f}")
PY

# Accuracy of sluice's profile against exact answers from DuckDB on the same file: each reported
# quantile's true rank, exact distinct counts, exact count of each column's top value.
cat > "$out/accuracy.py" <<'PY'
import json, sys, duckdb
f, prof = sys.argv[1], json.load(open(sys.argv[2]))["tables"][0]["columns"]
con = duckdb.connect()
q = lambda sql, *a: con.execute(sql.replace("FILE", f"read_parquet('{f}')"), list(a)).fetchone()
print("| column | distinct exact | HLL estimate | error | worst quantile rank error (stated) | top value | estimate | exact | bound |")
print("|---|---|---|---|---|---|---|---|---|")
for c in prof:
    col = '"' + c["name"] + '"'
    exact = q(f"select count(distinct {col}) from FILE")[0]
    est = c["distinct"]["estimate"]
    rank = ""
    if c["kind"] == "numeric" and c.get("quantiles"):
        x = f"{col}::double"
        n = q(f"select count(*) from FILE where isfinite({x})")[0]
        worst = 0.0
        for r, v in c["quantiles"][1:-1]:
            below, at = q(f"select count(*) filter (where {x} < ?), count(*) filter (where {x} <= ?) from FILE where isfinite({x})", v, v)
            if not below / n <= r <= at / n:
                worst = max(worst, min(abs(r - below / n), abs(r - at / n)))
        rank = f"{worst:.4f} ({c['rank_error']:.4f})"
    top = est_top = exact_top = bound = ""
    if c.get("top"):
        t = c["top"][0]
        exact_top = q(f"select count(*) from FILE where {col}::varchar = ?", t["value"])[0]
        top, est_top = repr(t["value"])[:24], t["count"]
        ok = t["lower"] <= exact_top <= t["upper"]
        bound = f"[{t['lower']}, {t['upper']}] {'ok' if ok else 'OUTSIDE'}"
    print(f"| {c['name']} | {exact} | {est:.0f} | {(est - exact) / max(exact, 1) * 100:+.2f}% | {rank} | {top} | {est_top} | {exact_top} | {bound} |")
PY

tm=$out/time.txt
# Runs a command under GNU time; sets W (wall s), C (user + system s), M (peak RSS MB), LAST
# (the command's last line of output).
measure() {
  LAST=$(/usr/bin/time -f "%e %U %S %M" -o "$tm" "$@" | tail -1)
  read -r W u s m < "$tm"
  C=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')
  M=$(awk -v m="$m" 'BEGIN{printf "%.0f", m/1024}')
}
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { sed "s/.*\"$1\": \([0-9.]*\).*/\1/"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

times="| rows | DataFusion scan (s) | sluice profile (s) | profile / scan | DuckDB SUMMARIZE (s) | DuckDB / sluice | whylogs (s) | whylogs / sluice | load avg before / after |
|---|---|---|---|---|---|---|---|---|"
detail="| rows | scan CPU (s) | in-process profile (s) / scan | CPU ratio profile / scan | sluice CPU (s) | sluice peak RSS (MB) | DuckDB CPU (s) / peak RSS (MB) | whylogs CPU (s) / peak RSS (MB) | sluice wall, each run (s) |
|---|---|---|---|---|---|---|---|---|"
for rows in "${sizes[@]}"; do
  f=$out/synth_$rows.parquet
  if [ ! -f "$f" ]; then
    echo "generating $rows rows..." >&2
    "$sluice" synth "$f" --rows "$rows" --inject all=0.01 > /dev/null
  fi
  cat "$f" > /dev/null   # warm the page cache once for everyone
  load0=$(cut -d' ' -f1 /proc/loadavg)
  echo "$rows rows: scan and in-process profile x$runs..." >&2
  : > "$out/scan.jsonl"
  for _ in $(seq "$runs"); do "$scan" "$f" >> "$out/scan.jsonl"; done
  t_scan=$(field scan_s < "$out/scan.jsonl" | median)
  c_scan=$(field scan_cpu_s < "$out/scan.jsonl" | median)
  inproc=$(field ratio < "$out/scan.jsonl" | median)
  cpu_ratio=$(field cpu_ratio < "$out/scan.jsonl" | median)
  echo "$rows rows: sluice profile x$runs..." >&2
  walls=() cpus=() mem=0
  for _ in $(seq "$runs"); do
    measure "$sluice" profile "$f"
    walls+=("$W") cpus+=("$C")
    [ "$M" -gt "$mem" ] && mem=$M
  done
  t_sluice=$(printf '%s\n' "${walls[@]}" | median)
  c_sluice=$(printf '%s\n' "${cpus[@]}" | median)
  echo "$rows rows: DuckDB..." >&2
  measure "$py" "$out/duck.py" "$f"
  t_duck=$LAST duck_detail="$C / $M"
  if [ "$rows" -le "${WHYLOGS_MAX_ROWS:-10000000}" ]; then
    echo "$rows rows: whylogs..." >&2
    measure "$py" "$out/whylogs_profile.py" "$f"
    t_why=$LAST why_ratio=$(div "$LAST" "$t_sluice") why_detail="$C / $M"
  else
    t_why="not run (WHYLOGS_MAX_ROWS)" why_ratio="" why_detail=""
  fi
  load1=$(cut -d' ' -f1 /proc/loadavg)
  times+="
| $rows | $t_scan | $t_sluice | $(div "$t_sluice" "$t_scan") | $t_duck | $(div "$t_duck" "$t_sluice") | $t_why | $why_ratio | $load0 / $load1 |"
  detail+="
| $rows | $c_scan | $inproc | $cpu_ratio | $c_sluice | $mem | $duck_detail | $why_detail | ${walls[*]} |"
done
echo "$times"
echo
echo "$detail"
echo
echo "Accuracy at ${sizes[0]} rows (sluice profile --json against exact DuckDB queries):"
echo
"$sluice" profile "$out/synth_${sizes[0]}.parquet" --json > "$out/profile.json"
"$py" "$out/accuracy.py" "$out/synth_${sizes[0]}.parquet" "$out/profile.json"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo
echo "Machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB RAM. sluice $("$sluice" --version | awk '{print $2}') ($(git -C "$root" rev-parse --short HEAD)), duckdb $("$py" -c 'import duckdb; print(duckdb.__version__)'), whylogs $("$py" -c 'import whylogs; print(whylogs.__version__)'), pandas $("$py" -c 'import pandas; print(pandas.__version__)')."
