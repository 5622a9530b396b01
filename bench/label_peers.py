"""Peer side of bench/label_vs_crowdkit.sh: data generation, crowd-kit DawidSkene, krippendorff.

    python label_peers.py gen OUT_DIR            # ds.csv (1M judgements) and alpha.csv (10k x 50)
    python label_peers.py ds OUT_DIR             # crowd-kit on ds.csv, posteriors to ck_post.npy
    python label_peers.py compare OUT_DIR        # max |sluice - crowd-kit| posterior difference
    python label_peers.py alpha OUT_DIR LEVEL    # krippendorff.alpha on alpha.csv
"""
import json
import sys
import time

import numpy as np
import pandas as pd


def gen(out):
    rng = np.random.default_rng(20261124)
    n_items, n_workers, k = 100_000, 10, 5
    truth = rng.choice(k, size=n_items, p=[0.35, 0.25, 0.2, 0.12, 0.08])
    # Each worker: accuracy between 0.55 and 0.9, errors spread unevenly over the other classes.
    acc = rng.uniform(0.55, 0.9, size=n_workers)
    conf = np.zeros((n_workers, k, k))
    for w in range(n_workers):
        for j in range(k):
            off = rng.dirichlet(np.ones(k - 1))
            row = np.insert(off * (1 - acc[w]), j, acc[w])
            conf[w, j] = row
    items = np.repeat(np.arange(n_items), n_workers)
    workers = np.tile(np.arange(n_workers), n_items)
    cum = conf[workers, truth[items]].cumsum(axis=1)
    labels = (rng.random(items.size)[:, None] > cum).sum(axis=1).clip(0, k - 1)
    pd.DataFrame({"task": items, "worker": workers, "label": labels}).to_csv(f"{out}/ds.csv", index=False)
    # Krippendorff: 10k units x 50 coders, 5 ordered categories, 20% missing.
    n_units, n_coders = 10_000, 50
    true_u = rng.integers(0, 5, size=n_units)
    noise = rng.integers(-1, 2, size=(n_units, n_coders)) * (rng.random((n_units, n_coders)) < 0.3)
    vals = (true_u[:, None] + noise).clip(0, 4).astype(float)
    vals[rng.random((n_units, n_coders)) < 0.2] = np.nan
    pd.DataFrame(vals).to_csv(f"{out}/alpha.csv", index=False, header=False, na_rep="")


def ds(out):
    from crowdkit.aggregation import DawidSkene

    df = pd.read_csv(f"{out}/ds.csv")
    t = time.perf_counter()
    # tol=-inf: exactly n_iter iterations (crowd-kit's ELBO-change rule can fire early; see
    # crates/sluice-algo/tests/fixtures/label/make_fixtures.py), as sluice runs them.
    model = DawidSkene(n_iter=100, tol=-np.inf).fit(df)
    fit_s = time.perf_counter() - t
    post = model.probas_.sort_index()
    post = post.reindex(columns=sorted(post.columns)).to_numpy()
    np.save(f"{out}/ck_post.npy", post)
    print(json.dumps({"fit_seconds": fit_s, "iterations": len(getattr(model, "loss_history_", [])) or None}))


def compare(out):
    ck = np.load(f"{out}/ck_post.npy")
    sl = np.loadtxt(f"{out}/sl_post.csv", delimiter=",")
    diff = np.abs(ck - sl)
    agree = (ck.argmax(axis=1) == sl.argmax(axis=1)).mean()
    print(json.dumps({"max_abs_posterior_diff": float(diff.max()), "mean_abs_posterior_diff": float(diff.mean()),
                      "same_argmax_share": float(agree)}))


def alpha(out, level):
    import krippendorff

    data = pd.read_csv(f"{out}/alpha.csv", header=None).to_numpy(dtype=float).T  # coders x units
    t = time.perf_counter()
    a = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    print(json.dumps({"alpha": float(a), "seconds": time.perf_counter() - t}))


if __name__ == "__main__":
    cmd, out = sys.argv[1], sys.argv[2]
    {"gen": lambda: gen(out), "ds": lambda: ds(out), "compare": lambda: compare(out),
     "alpha": lambda: alpha(out, sys.argv[3])}[cmd]()
