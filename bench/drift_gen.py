"""Reference and current tables for bench/drift_vs_evidently.sh.

Writes REF and CUR as Parquet (ROWS rows each, 20 columns): 12 numeric columns of varied shapes
(normal, lognormal, Pareto, Student t with 2 degrees of freedom, exponential, uniform, a bimodal
mixture, zero-inflated amounts, gamma with nulls, and three integer columns) and 8 categorical
string columns of 3 to 500 categories with Zipf-like frequencies. Some columns drift in CUR; the
column name ends in `_d` when the generator drifted it, so a reader can check both tools' verdicts.

Usage: python drift_gen.py REF CUR [ROWS] [SEED]   (defaults 1000000, 7)
Same seed, same files.
"""

import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# Categorical columns: (name, categories, Zipf exponent in the reference, in the current table,
# categories the current table adds). A column drifts when its exponent changes or it gains
# categories.
CATEGORICAL = [
    ("c3_channel_d", 3, 0.5, 1.4, 0),
    ("c5_device", 5, 1.0, 1.0, 0),
    ("c12_month", 12, 0.2, 0.2, 0),
    ("c30_region", 30, 1.1, 1.1, 0),
    ("c50_merchant_d", 50, 1.0, 1.0, 10),
    ("c100_city", 100, 0.9, 0.9, 0),
    ("c250_product_d", 250, 1.05, 0.8, 0),
    ("c500_sku", 500, 1.2, 1.2, 0),
]


def zipf_probs(k, s):
    p = 1.0 / np.arange(1, k + 1) ** s
    return p / p.sum()


def categorical(rng, n, name, k, s, extra):
    labels = np.array([f"{name.split('_')[1]}_{i:03d}" for i in range(k + extra)], dtype=object)
    p = zipf_probs(k + extra, s)
    if extra:
        # The new categories take 15% of the mass, the old ones keep their relative shares.
        p = np.concatenate([zipf_probs(k, s) * 0.85, np.full(extra, 0.15 / extra)])
    return labels[rng.choice(k + extra, size=n, p=p)]


def numeric(rng, n, drift):
    """The 12 numeric columns; `drift` switches the drifted ones to their current distribution."""
    cols = {}
    cols["n_normal_d"] = rng.normal(100.0 + (6.0 if drift else 0.0), 15.0, n)
    cols["n_lognormal"] = rng.lognormal(3.0, 1.0, n)
    cols["n_pareto_d"] = (rng.pareto(1.5 if not drift else 1.3, n) + 1.0) * 10.0
    cols["n_student_t2"] = rng.standard_t(2.0, n)
    cols["n_exponential_d"] = rng.exponential(60.0 if drift else 50.0, n)
    cols["n_uniform"] = rng.uniform(0.0, 1.0, n)
    w = 0.45 if drift else 0.3
    cols["n_bimodal_d"] = np.where(rng.random(n) < w, rng.normal(-2.0, 0.5, n), rng.normal(2.0, 1.0, n))
    zero = rng.random(n) < 0.7
    cols["n_zero_inflated"] = np.where(zero, 0.0, rng.lognormal(4.0, 1.5, n))
    gamma = rng.gamma(2.0, 2.0, n)
    gamma[rng.random(n) < 0.03] = np.nan
    cols["n_gamma_nulls"] = gamma
    cols["i_age"] = np.clip(np.rint(rng.normal(42.0, 14.0, n)), 18, 90).astype(np.int64)
    cols["i_count_d"] = rng.poisson(3.9 if drift else 3.0, n).astype(np.int64)
    cols["i_id"] = rng.integers(0, 1_000_000_000, n, dtype=np.int64)
    return cols


def table(rng, n, drift):
    cols = numeric(rng, n, drift)
    arrays = {}
    for name, values in cols.items():
        if values.dtype == np.float64:
            # NaN in the generator means a null in the file.
            arrays[name] = pa.array(values, mask=np.isnan(values))
        else:
            arrays[name] = pa.array(values)
    for name, k, s_ref, s_cur, extra in CATEGORICAL:
        values = categorical(rng, n, name, k, s_cur if drift else s_ref, extra if drift else 0)
        arrays[name] = pa.array(values, type=pa.string())
    return pa.table(arrays)


def main():
    ref, cur = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 7
    for path, drift, stream in [(ref, False, 0), (cur, True, 1)]:
        rng = np.random.default_rng([seed, stream])
        pq.write_table(table(rng, n, drift), path, compression="zstd", row_group_size=128 * 1024)


if __name__ == "__main__":
    main()
