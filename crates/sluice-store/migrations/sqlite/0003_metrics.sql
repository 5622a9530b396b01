-- Metric history for monitoring (sluice-store/src/metrics.rs): one row per (series, batch,
-- metric). A series is one thing watched over time (a model's traffic, a dataset's column); a
-- batch is one evaluation of it (a day of logs, a new version), ordered by `batch_seq` within the
-- series. Loop metrics (sluice loop-metrics) and drift statistics write here; trend tests and
-- alerts read a series back in batch order.
CREATE TABLE metric_points (
    series       TEXT NOT NULL,
    batch        TEXT NOT NULL,     -- the batch's label (a file name, a date, a version)
    batch_seq    INTEGER NOT NULL,  -- 1, 2, ... within the series; re-recording a label keeps its number
    metric       TEXT NOT NULL,
    value        REAL NOT NULL,
    recorded_at  TEXT NOT NULL,     -- RFC 3339, UTC
    attributes   TEXT,              -- optional JSON object (thresholds, row counts, source file)
    PRIMARY KEY (series, batch_seq, metric)
);

CREATE INDEX metric_points_by_metric ON metric_points (series, metric, batch_seq);
CREATE INDEX metric_points_by_batch ON metric_points (series, batch);
