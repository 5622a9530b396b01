#!/usr/bin/env bash
# Labeling benchmark, peers side by side on the same data in one run:
#   Dawid-Skene on 1M judgements (100k items x 10 annotators x 5 classes): sluice vs crowd-kit
#   Krippendorff's alpha on 10k units x 50 coders (20% missing): sluice vs the krippendorff package
# Peers live in a throwaway virtualenv under bench/out/ (never a product dependency).
# Prints a Markdown table; record it in docs/benchmarks.md with the machine and this command.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out/label
VENV=bench/out/venv-label
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet crowd-kit==1.4.2 krippendorff==0.9.0 numpy pandas
fi
PY="$VENV/bin/python"

cargo build --release -p sluice-label --example label_bench >/dev/null 2>&1 || cargo build --release -p sluice-label --example label_bench
BIN=target/release/examples/label_bench

[ -f "$OUT/ds.csv" ] || "$PY" bench/label_peers.py gen "$OUT"

sl_ds=$("$BIN" ds "$OUT/ds.csv" "$OUT/sl_post.csv")
ck_ds=$("$PY" bench/label_peers.py ds "$OUT")
cmp=$("$PY" bench/label_peers.py compare "$OUT")
level=ordinal
sl_a=$("$BIN" alpha "$OUT/alpha.csv" $level)
kr_a=$("$PY" bench/label_peers.py alpha "$OUT" $level)

get() { "$PY" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
sl_fit=$(get "$sl_ds" fit_seconds); ck_fit=$(get "$ck_ds" fit_seconds)
sl_as=$(get "$sl_a" seconds); kr_as=$(get "$kr_a" seconds)
ratio() { "$PY" -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1f}x')" "$1" "$2"; }

echo "sluice DS: $sl_ds"
echo "crowd-kit DS: $ck_ds"
echo "posteriors: $cmp"
echo "sluice alpha: $sl_a"
echo "krippendorff alpha: $kr_a"
echo
echo "| task | sluice (s) | peer (s) | speed-up | agreement of results |"
echo "|---|---|---|---|---|"
echo "| Dawid-Skene, 1M judgements, $(get "$sl_ds" iterations) EM iterations | $sl_fit | $ck_fit (crowd-kit $("$PY" -c 'import importlib.metadata as m; print(m.version("crowd-kit"))')) | $(ratio "$ck_fit" "$sl_fit") | max abs posterior diff $(get "$cmp" max_abs_posterior_diff), same argmax $(get "$cmp" same_argmax_share) |"
echo "| Krippendorff alpha ($level), 10k x 50 | $sl_as | $kr_as (krippendorff $("$PY" -c 'import importlib.metadata as m; print(m.version("krippendorff"))')) | $(ratio "$kr_as" "$sl_as") | sluice $(get "$sl_a" alpha), peer $(get "$kr_a" alpha) |"
