#!/usr/bin/env bash
# Labeling benchmark, peers side by side on the same data in one run:
#   Dawid-Skene on 1M judgements (100k items x 10 annotators x 5 classes): sluice vs crowd-kit
#   Krippendorff's alpha on 10k units x 50 coders (20% missing): sluice vs the krippendorff package
# Peers live in a throwaway virtualenv under bench/out/ (never a product dependency).
#
# Usage: bench/label_vs_crowdkit.sh [RUNS]   (default 3)
#   Each side runs RUNS times, alternating sluice and peer; the table shows the median and the
#   range of each. Timed around the fit only on both sides (reading the file is timed apart).
#   PYTHON picks the interpreter for the virtualenv (default python3; crowd-kit 1.4.2 needs >= 3.8).
# Prints a Markdown table; record it in docs/benchmarks.md with the machine and this command.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
OUT=bench/out/label
VENV=bench/out/venv-label
mkdir -p "$OUT"

# Re-install when the virtualenv is missing or a previous install stopped half-way.
if ! "$VENV/bin/python" -c "import crowdkit, krippendorff, numpy, pandas" 2>/dev/null; then
  echo "installing crowd-kit 1.4.2 and krippendorff 0.9.0 into $VENV..." >&2
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet crowd-kit==1.4.2 krippendorff==0.9.0 numpy pandas
fi
PY="$VENV/bin/python"

echo "building label_bench (release)..." >&2
cargo build --release -q -p sluice-label --example label_bench
BIN=target/release/examples/label_bench

if [ ! -f "$OUT/ds.csv" ] || [ ! -f "$OUT/alpha.csv" ]; then
  echo "generating data..." >&2
  "$PY" bench/label_peers.py gen "$OUT"
fi

level=ordinal
: >"$OUT/runs.jsonl"
for r in $(seq "$runs"); do
  echo "run $r of $runs..." >&2
  # Each line: {"tool", "task", ...the tool's own JSON...}
  echo "{\"tool\": \"sluice\", \"task\": \"ds\", \"result\": $("$BIN" ds "$OUT/ds.csv" "$OUT/sl_post.csv")}" >>"$OUT/runs.jsonl"
  echo "{\"tool\": \"peer\", \"task\": \"ds\", \"result\": $("$PY" bench/label_peers.py ds "$OUT")}" >>"$OUT/runs.jsonl"
  echo "{\"tool\": \"sluice\", \"task\": \"alpha\", \"result\": $("$BIN" alpha "$OUT/alpha.csv" $level)}" >>"$OUT/runs.jsonl"
  echo "{\"tool\": \"peer\", \"task\": \"alpha\", \"result\": $("$PY" bench/label_peers.py alpha "$OUT" $level)}" >>"$OUT/runs.jsonl"
done
# Posteriors of the last run of each side.
cmp=$("$PY" bench/label_peers.py compare "$OUT")

"$PY" - "$OUT/runs.jsonl" "$cmp" "$level" <<'PY'
import importlib.metadata as m
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
cmp, level = json.loads(sys.argv[2]), sys.argv[3]


def times(tool, task, key):
    return [r["result"][key] for r in rows if r["tool"] == tool and r["task"] == task]


def cell(ts):
    med = statistics.median(ts)
    if len(ts) == 1:
        return f"{med:.3f}", med
    return f"{med:.3f} ({min(ts):.3f}-{max(ts):.3f})", med


ds_sl, ds_ck = times("sluice", "ds", "fit_seconds"), times("peer", "ds", "fit_seconds")
a_sl, a_kr = times("sluice", "alpha", "seconds"), times("peer", "alpha", "seconds")
last_sl = [r["result"] for r in rows if r["tool"] == "sluice" and r["task"] == "ds"][-1]
last_ck = [r["result"] for r in rows if r["tool"] == "peer" and r["task"] == "ds"][-1]
alpha_sl = [r["result"]["alpha"] for r in rows if r["tool"] == "sluice" and r["task"] == "alpha"][-1]
alpha_kr = [r["result"]["alpha"] for r in rows if r["tool"] == "peer" and r["task"] == "alpha"][-1]
for r in rows:
    print(json.dumps(r))
print(f"posteriors: {json.dumps(cmp)}")
print()
print(f"{len(ds_sl)} runs per side; seconds as median (min-max)")
print()
print("| task | sluice (s) | peer (s) | speed-up (medians) | agreement of results |")
print("|---|---|---|---|---|")
(s_txt, s_med), (c_txt, c_med) = cell(ds_sl), cell(ds_ck)
print(f"| Dawid-Skene, 1M judgements, {last_sl['iterations']} EM iterations (crowd-kit {last_ck['iterations']}), "
      f"{last_sl['threads'] or 'all'} threads | {s_txt} | {c_txt} (crowd-kit {m.version('crowd-kit')}) | "
      f"{c_med / s_med:.1f}x | max abs posterior diff {cmp['max_abs_posterior_diff']:.1e}, "
      f"same argmax on {100 * cmp['same_argmax_share']:.2f}% of items |")
(s_txt, s_med), (k_txt, k_med) = cell(a_sl), cell(a_kr)
print(f"| Krippendorff alpha ({level}), 10k x 50 | {s_txt} | {k_txt} (krippendorff {m.version('krippendorff')}) | "
      f"{k_med / s_med:.1f}x | sluice {alpha_sl:.15f}, peer {alpha_kr:.15f} |")
PY
