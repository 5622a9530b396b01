#!/usr/bin/env bash
# Benchmark: profiling every column of a `sluice synth` Parquet file (20 columns), side by side:
#   1. DataFusion scan that decodes every column (the floor: reading the file)
#   2. sluice profile (the DataFusion aggregate over all columns, all cores)
#   3. DuckDB SUMMARIZE (PyPI duckdb, throwaway virtualenv)
#   4. whylogs profile (PyPI whylogs, same virtualenv; pandas in chunks of 1M rows)
# and sluice's peak memory at each size.
# Usage: bench/profile_vs_peers.sh [ROWS...]        (default: 10000000 50000000)
# Prints a Markdown table; copy it with the machine line into docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/bench/out/profile}
venv=${BENCH_VENV:-$root/bench/out/venv-profile}
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10000000 50000000)
mkdir -p "$out"

echo "building sluice (release)..." >&2
(cd "$root" && cargo build --release -q -p sluice-cli && cargo build --release -q -p sluice-profile --example scan_vs_profile)
sluice=$root/target/release/sluice
scan=$root/target/release/examples/scan_vs_profile

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb, whylogs, pyarrow' 2>/dev/null; then
  echo "installing duckdb, whylogs and pyarrow into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb whylogs pyarrow pandas
fi
py=$venv/bin/python

timeit() { local s e; s=$EPOCHREALTIME; "$@" > /dev/null; e=$EPOCHREALTIME; awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b-a}'; }
peak_mb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'; }

cat > "$out/duck.py" <<'PY'
import sys, duckdb
con = duckdb.connect()
con.execute(f"SUMMARIZE SELECT * FROM read_parquet('{sys.argv[1]}')").fetchall()
PY
cat > "$out/whylogs_profile.py" <<'PY'
import sys, pyarrow.parquet as pq, whylogs as why
f = pq.ParquetFile(sys.argv[1])
rows = int(sys.argv[2]) if len(sys.argv) > 2 else None
profile, done = None, 0
for batch in f.iter_batches(batch_size=1_000_000):
    df = batch.to_pandas()
    r = why.log(df).profile()
    profile = r if profile is None else profile.merge(r)
    done += len(df)
    if rows and done >= rows:
        break
print(done)
PY

echo "| rows | DataFusion scan (s) | sluice profile (s) | profile / scan | DuckDB SUMMARIZE (s) | whylogs (s) | sluice peak RSS (MB) |"
echo "|---|---|---|---|---|---|---|"
for rows in "${sizes[@]}"; do
  f=$out/synth_$rows.parquet
  if [ ! -f "$f" ]; then
    echo "generating $rows rows..." >&2
    "$sluice" synth "$f" --rows "$rows" --inject all=0.01 > /dev/null
  fi
  sync
  "$scan" "$f" > /dev/null   # warm the page cache once for everyone
  j=$("$scan" "$f")
  t_scan=$(echo "$j" | sed 's/.*"scan_s": \([0-9.]*\).*/\1/')
  t_sluice=$(timeit "$sluice" profile "$f")
  mem=$(peak_mb "$sluice" profile "$f")
  ratio=$(awk -v a="$t_sluice" -v b="$t_scan" 'BEGIN{printf "%.2f", a/b}')
  t_duck=$(timeit "$py" "$out/duck.py" "$f")
  if [ "$rows" -le "${WHYLOGS_MAX_ROWS:-10000000}" ]; then
    t_why=$(timeit "$py" "$out/whylogs_profile.py" "$f")
  else
    t_why="not run (WHYLOGS_MAX_ROWS)"
  fi
  echo "| $rows | $t_scan | $t_sluice | $ratio | $t_duck | $t_why | $mem |"
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo
echo "Machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB RAM. duckdb $("$py" -c 'import duckdb; print(duckdb.__version__)'), whylogs $("$py" -c 'import whylogs; print(whylogs.__version__)')."
