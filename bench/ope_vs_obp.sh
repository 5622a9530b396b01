#!/usr/bin/env bash
# Benchmark: off-policy evaluation of a large decision log, sluice vs Open Bandit Pipeline (obp 0.5.7).
#
# Side by side in one run on the same Parquet decision log (ROWS logged decisions, 10 actions,
# epsilon-greedy logging with eps 0.3, rewards ~Bernoulli(0.02..0.2) by action, target = uniform):
#   sluice: `sluice ope LOG --policy uniform --resamples B --estimators ips,snips,dr` -- reads and
#           validates the log, fits the per-action mean reward model, and computes IPS, SNIPS and DR
#           with B-resample (Poisson) bootstrap intervals (one pass, shared replicates); then, for
#           information, the same with all six estimators (adds clipped IPS, DM, Switch-DR);
#   obp:    reads the same Parquet file (pyarrow), builds obp's arrays, and runs IPS, SNIPS and DR
#           (DoublyRobust with the same per-action mean model), each estimate_policy_value +
#           estimate_interval(n_bootstrap_samples=B) (obp's multinomial bootstrap).
# Point estimates must agree to 1e-9 (relative); intervals differ by construction (Poisson vs
# multinomial resampling, different random streams) and are shown side by side.
#
# Usage: bench/ope_vs_obp.sh [ROWS] [RESAMPLES]   (defaults 10000000 1000)
#   Both tools always run on the same ROWS and RESAMPLES; if obp is too slow, run with fewer and
#   say so. Nothing is extrapolated.
# obp 0.5.7 needs Python < 3.11: set PYTHON310 to a python3.10 (default: pyenv's 3.10.13).
# BENCH_VENV reuses an existing virtualenv with the packages below. SLUICE_BIN uses an already
# built sluice binary instead of building target/release/sluice (e.g. while the tree does not build).
set -euo pipefail
rows=${1:-10000000}
resamples=${2:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/bench/out/ope_vs_obp}
venv=${BENCH_VENV:-$root/bench/out/venv-obp}
mkdir -p "$out"

if [ -n "${SLUICE_BIN:-}" ]; then
  sluice=$SLUICE_BIN
else
  echo "building sluice (release)..." >&2
  (cd "$root" && cargo build --release -q -p sluice-cli)
  sluice=$root/target/release/sluice
fi

if [ ! -x "$venv/bin/python" ]; then
  py=${PYTHON310:-$(pyenv prefix 3.10.13 2>/dev/null)/bin/python3}
  echo "installing obp 0.5.7 into $venv with $py..." >&2
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q numpy==1.23.5 scikit-learn==1.1.3 pandas==1.5.2 scipy==1.9.3 "matplotlib<3.9" \
    "seaborn<0.13" tqdm "pyyaml>=6.0.1" mypy-extensions pyieoe pingouin==0.5.3 pyarrow==14.0.2
  # obp imports torch at package import (its offline learners); the estimators timed here never
  # call it, so any torch that imports will do.
  "$venv/bin/pip" install -q torch
  "$venv/bin/pip" install -q --no-deps obp==0.5.7
fi
if ! "$venv/bin/python" -c "import pyarrow" 2>/dev/null; then
  "$venv/bin/pip" install -q pyarrow==14.0.2
fi
python=$venv/bin/python

log=$out/log_${rows}.parquet
if [ ! -f "$log" ]; then
  echo "generating $rows decisions..." >&2
  "$python" - "$log" "$rows" <<'PY'
import sys
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

path, n = sys.argv[1], int(sys.argv[2])
n_actions, eps = 10, 0.3
rng = np.random.default_rng(1)
ctr = np.linspace(0.02, 0.2, n_actions)
writer = None
chunk = 1_000_000
for start in range(0, n, chunk):
    m = min(chunk, n - start)
    greedy = rng.integers(0, n_actions, m)
    explore = rng.random(m) < eps
    action = np.where(explore, rng.integers(0, n_actions, m), greedy)
    pscore = eps / n_actions + (1 - eps) * (action == greedy)
    reward = (rng.random(m) < ctr[action]).astype(np.float64)
    structs = pa.StructArray.from_arrays(
        [pa.array(action.astype(str)), pa.array(np.zeros(m, dtype=np.uint32)), pa.array(pscore), pa.array(reward)],
        names=["action", "position", "propensity", "reward"],
    )
    chosen = pa.ListArray.from_arrays(pa.array(np.arange(m + 1, dtype=np.int32)), structs)
    ids = pa.array([f"d{i}" for i in range(start, start + m)])
    table = pa.table({
        "decision_id": ids,
        "time": pa.array(np.full(m, "2026-03-01T12:00:00Z")),
        "chosen": chosen,
        "explored": pa.array(explore & (action != greedy)),
    })
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema, compression="zstd")
    writer.write_table(table)
writer.close()
PY
fi

echo "sluice ope on $rows decisions, $resamples resamples (IPS, SNIPS, DR)..." >&2
t0=$(date +%s.%N)
"$sluice" --json ope "$log" --policy uniform --resamples "$resamples" --seed 1 --estimators ips,snips,dr \
  >"$out/sluice.json"
t1=$(date +%s.%N)
sluice_s=$(echo "$t1 - $t0" | bc)
echo "sluice ope, all six estimators..." >&2
"$sluice" --json ope "$log" --policy uniform --resamples "$resamples" --seed 1 >"$out/sluice_all.json"
t2=$(date +%s.%N)
sluice_all_s=$(echo "$t2 - $t1" | bc)

echo "obp on $rows decisions, $resamples resamples (this takes a while)..." >&2
"$python" - "$log" "$resamples" >"$out/obp.json" <<'PY'
import json, sys, time
import numpy as np
import pyarrow.parquet as pq
import obp
from obp.ope import InverseProbabilityWeighting, SelfNormalizedInverseProbabilityWeighting, DoublyRobust

path, b = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
chosen = pq.read_table(path, columns=["chosen"]).column("chosen").combine_chunks().flatten()
action = np.asarray(chosen.field("action").to_numpy(zero_copy_only=False), dtype=np.int64)
pscore = chosen.field("propensity").to_numpy()
reward = chosen.field("reward").to_numpy()
n = len(action)
n_actions = 10
position = np.zeros(n, dtype=np.int64)
action_dist = np.full((n, n_actions, 1), 1.0 / n_actions)
q = np.full(n_actions, reward.mean())
for a in range(n_actions):
    mask = action == a
    if mask.any():
        q[a] = reward[mask].mean()
q_hat = np.broadcast_to(q[None, :, None], (n, n_actions, 1))
read_s = time.perf_counter() - t0
res = {"obp": obp.__version__, "rows": n, "read_s": read_s, "estimates": {}}
common = dict(reward=reward, action=action, pscore=pscore, position=position, action_dist=action_dist)
for name, est, kw in [
    ("ips", InverseProbabilityWeighting(), {}),
    ("snips", SelfNormalizedInverseProbabilityWeighting(), {}),
    ("dr", DoublyRobust(), {"estimated_rewards_by_reg_model": q_hat}),
]:
    t = time.perf_counter()
    value = est.estimate_policy_value(**common, **kw)
    ci = est.estimate_interval(**common, **kw, n_bootstrap_samples=b, random_state=1)
    res["estimates"][name] = {"value": float(value), "lower": float(ci["95.0% CI (lower)"]),
                              "upper": float(ci["95.0% CI (upper)"]), "seconds": time.perf_counter() - t}
res["total_s"] = time.perf_counter() - t0
print(json.dumps(res))
PY

"$python" - "$out/sluice.json" "$out/obp.json" "$sluice_s" "$rows" "$resamples" "$sluice_all_s" "$out/sluice_all.json" <<'PY'
import json, sys
s, o = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sluice_s, rows, b = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sluice_all_s, s_all = float(sys.argv[6]), json.load(open(sys.argv[7]))
assert [e["estimator"] for e in s["estimates"]] == ["ips", "snips", "dr"], s["estimates"]
assert len(s_all["estimates"]) == 6
est = {e["estimator"]: e for e in s["estimates"]}
print(f"| estimator | sluice | obp {o['obp']} | relative difference | sluice 95% CI (Poisson) | obp 95% CI (multinomial) |")
print("|---|---|---|---|---|---|")
for k in ["ips", "snips", "dr"]:
    a, c = est[k], o["estimates"][k]
    rel = abs(a["value"] - c["value"]) / abs(c["value"])
    print(f"| {k.upper()} | {a['value']:.9f} | {c['value']:.9f} | {rel:.1e} | [{a['interval']['lower']:.6f}, {a['interval']['upper']:.6f}] | [{c['lower']:.6f}, {c['upper']:.6f}] |")
print()
obp_work = sum(c["seconds"] for c in o["estimates"].values())
print(f"| tool | decisions | resamples | what is timed | wall time (s) |")
print("|---|---|---|---|---|")
print(f"| sluice | {rows:,} | {b:,} | whole command: read + validate Parquet, model, IPS + SNIPS + DR, {b:,} resamples | {sluice_s:.1f} |")
print(f"| sluice (for information) | {rows:,} | {b:,} | the same with all six estimators | {sluice_all_s:.1f} |")
print(f"| obp | {o['rows']:,} | {b:,} | read Parquet + arrays | {o['read_s']:.1f} |")
print(f"| obp | {o['rows']:,} | {b:,} | IPS + SNIPS + DR, value + estimate_interval | {obp_work:.1f} |")
print(f"| obp | {o['rows']:,} | {b:,} | total | {o['total_s']:.1f} |")
assert o["rows"] == rows
print(f"\nspeedup, like for like (obp total / sluice whole command, IPS + SNIPS + DR): {o['total_s'] / sluice_s:.1f}x")
same = all(s_all_e["value"] == next(e for e in s["estimates"] if e["estimator"] == s_all_e["estimator"])["value"]
           for s_all_e in s_all["estimates"] if s_all_e["estimator"] in ("ips", "snips", "dr"))
print(f"six-estimator run: same IPS/SNIPS/DR values as the three-estimator run: {same}")
PY
