#!/usr/bin/env bash
# Benchmark: versioning a folder of 10,000 binary files (~2 GB, like an image dataset).
# Times, side by side in one run on the same files:
#   1. `sluice add` of the folder (first add: hash + store every file)
#   2. `sluice add` again with nothing changed (stat cache: nothing re-hashed)
#   3. `dvc add` of the same folder (DVC from PyPI, in a throwaway virtualenv)
#   4. `dvc add` again with nothing changed
# Usage: bench/add_vs_dvc.sh [FILES] [BYTES_PER_FILE] [REPETITIONS]   (defaults 10000, 200000, 3)
# Each repetition starts from a cold page cache; the table shows medians, then every run.
# Prints a Markdown table; results go to docs/benchmarks.md by hand with the machine line.
set -euo pipefail
files=${1:-10000}
size=${2:-200000}
reps=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/bench/out/add_vs_dvc}
venv=${BENCH_VENV:-$root/bench/out/venv-dvc}
rm -rf "$out"
mkdir -p "$out"

echo "building sluice (release)..." >&2
(cd "$root" && cargo build --release -q -p sluice-cli)
sluice=$root/target/release/sluice

if [ ! -x "$venv/bin/dvc" ]; then
  echo "installing dvc into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q dvc
fi
dvc=$venv/bin/dvc

echo "generating $files files of $size bytes..." >&2
python3 - "$out/data" "$files" "$size" <<'PY'
import os, sys, random
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
for i in range(n):
    d = os.path.join(root, f"class_{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"img_{i:05d}.jpg"), "wb") as f:
        f.write(rng.randbytes(size))
PY
# Age the files past the stat cache's racy-clean window, as files being versioned usually are.
find "$out/data" -type f -exec touch -d '-1 minute' {} +
sync

# Flush, let the (virtual) disk finish its own write-back, then empty the page cache, so neither
# tool pays for the other's writes.
drop_caches() { sync; sleep "${SETTLE:-10}"; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && echo cold || echo warm; }
timeit() { local s e; s=$EPOCHREALTIME; "$@" > /dev/null; e=$EPOCHREALTIME; awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b-a}'; }

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
s1=(); s2=(); d1=(); d2=(); cache=""
# Workspaces are made fresh for each repetition and deleted only at the end: ext4 slows down
# creating files right after many were deleted, and that would bias whichever tool ran second.
for r in $(seq "$reps"); do
  echo "repetition $r of $reps..." >&2
  sws=$out/sluice-ws-$r
  mkdir -p "$sws" && ln -s "$out/data" "$sws/data"
  (cd "$sws" && "$sluice" init > /dev/null)
  ws=$out/dvc-ws-$r
  mkdir -p "$ws"
  cp -r "$out/data" "$ws/data"   # DVC moves files into its cache layout; give it its own copy
  (cd "$ws" && git init -q . && "$dvc" init -q && "$dvc" config core.analytics false \
    && "$dvc" config core.site_cache_dir "$ws/.dvc-site")   # no state left from earlier runs

  cache=$(drop_caches)
  s1+=("$(cd "$sws" && timeit "$sluice" add images data/)")
  s2+=("$(cd "$sws" && timeit "$sluice" add images data/)")
  drop_caches > /dev/null
  d1+=("$(cd "$ws" && timeit "$dvc" add data)")
  d2+=("$(cd "$ws" && timeit "$dvc" add data)")
done
t_sluice1=$(echo "${s1[*]}" | median); t_sluice2=$(echo "${s2[*]}" | median)
t_dvc1=$(echo "${d1[*]}" | median); t_dvc2=$(echo "${d2[*]}" | median)

total=$(du -sb "$out/data" | cut -f1)
speedup=$(awk -v a="$t_dvc1" -v b="$t_sluice1" 'BEGIN{printf "%.1f", a/b}')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
cat <<MD
Machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB RAM; page cache before each first add: $cache.
Data: $files files, $((total / 1000000)) MB. sluice $("$sluice" --version | cut -d' ' -f2), $("$dvc" --version | head -1 | sed 's/^/dvc /').

| step (median of $reps) | sluice (s) | dvc (s) |
|---|---|---|
| first add | $t_sluice1 | $t_dvc1 |
| re-add, nothing changed | $t_sluice2 | $t_dvc2 |

First add: sluice is ${speedup}x faster than dvc (median against median).
Every run: sluice first add ${s1[*]}; re-add ${s2[*]}; dvc first add ${d1[*]}; re-add ${d2[*]}.
MD
rm -rf "$out"/sluice-ws-* "$out"/dvc-ws-*
