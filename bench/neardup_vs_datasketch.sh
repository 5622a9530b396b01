#!/usr/bin/env bash
# Benchmark: near-duplicate detection on free text, sluice vs datasketch's MinHashLSH.
#
# Data: `sluice synth` card transactions with near duplicates injected (a copy of a recent row whose
# `description` is edited to a 5-character-shingle Jaccard similarity in [0.8, 1)); the ground truth
# lists each near duplicate with its source row. Both tools get the same CSV, the same threshold (0.8)
# and the same number of permutations (128), and the same shingles (5 characters of the lowercased
# text, whitespace runs collapsed).
#
#   sluice:     `sluice quality data.csv --only near_duplicates --text-columns description --json`
#               (whole process: reading the CSV, signatures, LSH, exact verification, clusters, JSON)
#   datasketch: MinHash.bulk over the shingle sets, MinHashLSH insert, then a query per row
#               (the CSV read is not timed); datasketch from PyPI in a throwaway virtualenv.
#
# Recall for both: the share of (near duplicate, source row) pairs of the ground truth that the tool
# reports together (sluice: in one cluster; datasketch: the query of one returns the other).
#
# Usage: [SLUICE=BIN] bench/neardup_vs_datasketch.sh [ROWS] [REPETITIONS]   (defaults 200000, 3)
# Prints a Markdown table of medians; results go to docs/benchmarks.md by hand with the machine line.
set -euo pipefail
rows=${1:-200000}
reps=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/bench/out/neardup}
venv=${BENCH_VENV:-$root/bench/out/venv-datasketch}
mkdir -p "$out"

# SLUICE=path/to/sluice uses an existing release build instead of building one.
sluice=${SLUICE:-}
if [ -z "$sluice" ]; then
  echo "building sluice (release)..." >&2
  (cd "$root" && cargo build --release -q -p sluice-cli)
  sluice=$root/target/release/sluice
fi

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import datasketch, pyarrow' 2>/dev/null; then
  echo "installing datasketch into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q datasketch pyarrow
fi
py=$venv/bin/python

data=$out/tx.csv
if [ ! -f "$data" ] || [ "$(wc -l < "$data")" -ne $((rows + 1)) ]; then
  echo "generating $rows rows..." >&2
  "$sluice" synth "$data" --rows "$rows" --seed 5 --inject near_duplicates=0.02 > /dev/null
fi
truth=$out/tx.truth.parquet

cat > "$out/datasketch_run.py" <<'PY'
import csv, json, sys, time
import datasketch
from datasketch import MinHash, MinHashLSH

path, threshold, num_perm = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
csv.field_size_limit(1 << 30)
with open(path, newline="", encoding="utf-8") as f:
    r = csv.reader(f)
    col = next(r).index("description")
    texts = [row[col] for row in r]

def shingles(text, k=5):
    t = " ".join(text.lower().split())
    if not t:
        return None
    if len(t) <= k:
        return {t.encode("utf-8")}
    return {t[i:i + k].encode("utf-8") for i in range(len(t) - k + 1)}

start = time.perf_counter()
ids, sets = [], []
for i, text in enumerate(texts):
    s = shingles(text)
    if s:
        ids.append(i)
        sets.append(s)
hashes = MinHash.bulk(sets, num_perm=num_perm)
lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
with lsh.insertion_session() as session:
    for i, m in zip(ids, hashes):
        session.insert(i, m, check_duplication=False)
pairs = set()
for i, m in zip(ids, hashes):
    for j in lsh.query(m):
        if j != i:
            pairs.add((min(i, j), max(i, j)))
seconds = time.perf_counter() - start
json.dump({"seconds": seconds, "pairs": sorted(pairs), "version": datasketch.__version__,
           "bands": lsh.b, "rows_per_band": lsh.r}, sys.stdout)
PY

cat > "$out/score.py" <<'PY'
import json, sys
import pyarrow.parquet as pq

truth_path, tool, result_path = sys.argv[1], sys.argv[2], sys.argv[3]
t = pq.read_table(truth_path).to_pydict()
pairs = [(r, s) for r, p, s in zip(t["row"], t["problem"], t["source_row"]) if p == "near_duplicate"]
res = json.load(open(result_path))
if tool == "sluice":
    cluster = {}
    f = [f for f in res["tables"][0]["findings"] if f["check"] == "near_duplicates"]
    clusters = f[0]["largest"] if f else []
    for i, c in enumerate(clusters):
        for r in c["rows"]:
            cluster[r] = i
    found = sum(1 for r, s in pairs if r in cluster and cluster.get(s) == cluster[r])
    reported = sum(len(c["rows"]) - 1 for c in clusters)
    extra = f"{len(clusters)} clusters, {reported} rows flagged"
else:
    got = set(map(tuple, res["pairs"]))
    found = sum(1 for r, s in pairs if (min(r, s), max(r, s)) in got)
    extra = f"{len(got)} candidate pairs (b={res['bands']}, r={res['rows_per_band']})"
print(json.dumps({"recall": found / len(pairs), "found": found, "truth": len(pairs), "extra": extra}))
PY

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# Peak memory of the sluice process, where GNU time is installed.
timer=()
if [ -x /usr/bin/time ]; then timer=(/usr/bin/time -f %M -o "$out/sluice.rss"); fi
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
s_wall=(); s_inner=(); d_secs=()
for r in $(seq "$reps"); do
  echo "repetition $r of $reps: sluice..." >&2
  s=$EPOCHREALTIME
  code=0
  ${timer[@]+"${timer[@]}"} "$sluice" --json quality "$data" --only near_duplicates --text-columns description \
    --threshold 0.8 --num-perm 128 --examples 1000000 --fail-on never > "$out/sluice.json" || code=$?
  e=$EPOCHREALTIME
  [ "$code" -eq 0 ] || { echo "sluice failed ($code)" >&2; exit 1; }
  s_wall+=("$(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b-a}')")
  s_inner+=("$("$py" -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["tables"][0]["seconds"])' "$out/sluice.json")")
  echo "repetition $r of $reps: datasketch..." >&2
  "$py" "$out/datasketch_run.py" "$data" 0.8 128 > "$out/datasketch.json"
  d_secs+=("$("$py" -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["seconds"])' "$out/datasketch.json")")
done
sr=$("$py" "$out/score.py" "$truth" sluice "$out/sluice.json")
dr=$("$py" "$out/score.py" "$truth" datasketch "$out/datasketch.json")
ver=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$out/datasketch.json")
sw=$(echo "${s_wall[*]}" | median); si=$(echo "${s_inner[*]}" | median); dm=$(echo "${d_secs[*]}" | median)
field() { echo "$1" | "$py" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

echo
echo "Data: $rows rows (sluice synth --seed 5 --inject near_duplicates=0.02), $(field "$sr" truth) injected near-duplicate pairs."
echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; load average at the start $load_start, at the end $(cut -d' ' -f1-3 /proc/loadavg) (the benchmark itself adds about 1). sluice $("$sluice" --version | cut -d' ' -f2), datasketch $ver."
echo
echo "| tool (median of $reps) | seconds | recall | reported |"
echo "|---|---|---|---|"
printf "| sluice quality (whole process) | %s | %.3f | %s |\n" "$sw" "$(field "$sr" recall)" "$(field "$sr" extra)"
printf "| sluice near-duplicate check alone | %s | | |\n" "$si"
printf "| datasketch MinHashLSH | %s | %.3f | %s |\n" "$dm" "$(field "$dr" recall)" "$(field "$dr" extra)"
echo
awk -v a="$sw" -v b="$dm" 'BEGIN{printf "sluice (whole process) is %.1fx faster than datasketch (median against median).\n", b/a}'
if [ ${#timer[@]} -gt 0 ]; then echo "sluice peak memory (last run): $(awk '{printf "%.0f MB", $1/1024}' "$out/sluice.rss")."; fi
echo "Every run: sluice ${s_wall[*]} (check alone ${s_inner[*]}); datasketch ${d_secs[*]}."
