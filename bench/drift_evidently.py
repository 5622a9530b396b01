"""Evidently's side of bench/drift_vs_evidently.sh: DataDriftPreset on two Parquet files.

Usage: python drift_evidently.py REF CUR OUT_JSON

Uses the API of Evidently 0.7 (`evidently.Report`, `evidently.Dataset`, `evidently.DataDefinition`,
`evidently.presets.DataDriftPreset`; `Report.run(current, reference)` returns a Snapshot).
Timed: reading both files into pandas (pyarrow engine), building the two Datasets, and
`Report.run`, which computes every column's drift and builds the widgets' data; no HTML is
rendered (sluice's timed command renders none either). Pulling the scores out of the snapshot
afterwards is not timed. `timed_cpu` is the process CPU time (user + system, all threads) of
the timed part, for comparing on a loaded machine.

Column types are given explicitly, as sluice reads them: floats and integers are numerical,
strings categorical. (Evidently's own inference would make an integer column with <= 10 distinct
values categorical; none of the integer columns here is that small, and giving the types keeps
both tools on the same method per column.)

Writes OUT_JSON: {"evidently": version, "seconds": {...}, "columns": {name: {"method", "score",
"drifted"}}}.
"""

import json
import sys
import time

t_start = time.perf_counter()
import evidently  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

t_imported = time.perf_counter()


def main():
    ref_path, cur_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    schema = pq.read_schema(ref_path)
    numerical = [f.name for f in schema if str(f.type).startswith(("double", "float", "int"))]
    categorical = [f.name for f in schema if str(f.type) in ("string", "large_string")]
    other = [f.name for f in schema if f.name not in numerical and f.name not in categorical]
    if other:
        sys.exit(f"drift_evidently.py: columns of unexpected types {other}; extend the type mapping")

    c0, t0 = time.process_time(), time.perf_counter()
    ref = pd.read_parquet(ref_path, engine="pyarrow")
    cur = pd.read_parquet(cur_path, engine="pyarrow")
    t1 = time.perf_counter()
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    ref_ds = Dataset.from_pandas(ref, data_definition=definition)
    cur_ds = Dataset.from_pandas(cur, data_definition=definition)
    t2 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(cur_ds, ref_ds)
    t3, c3 = time.perf_counter(), time.process_time()

    columns = {}
    drifted_count = None
    for m in snapshot.dict()["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith(":ValueDrift"):
            score = float(m["value"])
            columns[cfg["column"]] = {
                "method": cfg["method"],
                "score": score,
                "threshold": cfg["threshold"],
                "drifted": score >= cfg["threshold"],
            }
        elif cfg["type"].endswith(":DriftedColumnsCount"):
            drifted_count = {k: float(v) for k, v in m["value"].items()}
    missing = [c for c in numerical + categorical if c not in columns]
    if missing:
        sys.exit(f"drift_evidently.py: no ValueDrift result for {missing} in the snapshot")

    json.dump(
        {
            "evidently": evidently.__version__,
            "pandas": pd.__version__,
            "seconds": {
                "import": t_imported - t_start,
                "read": t1 - t0,
                "dataset": t2 - t1,
                "report": t3 - t2,
                "timed_total": t3 - t0,
                "timed_cpu": c3 - c0,
            },
            "drifted_columns": drifted_count,
            "columns": columns,
        },
        open(out, "w"),
        indent=1,
    )


if __name__ == "__main__":
    main()
