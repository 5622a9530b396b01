-- Labeling (sluice-label): projects over a dataset version, items, annotators, assignments,
-- annotations, gold answers, adjudications, aggregation runs and their results, merges back into
-- dataset versions, and metrics per batch.
--
-- Written for a later web UI for annotators and a later Postgres backend: plain SQL types only
-- (INTEGER, REAL, TEXT), timestamps as RFC 3339 text, JSON as text, no SQLite-only clauses, so the
-- Postgres copy in migrations/postgres/ differs only in `BIGSERIAL` keys and `JSONB`/`TIMESTAMPTZ`.
--
-- Layers never overwrite each other: an annotation is never updated (a changed answer is a newer
-- row for the same item and annotator; readers take the latest), an adjudication is a row in
-- label_reviews, a pseudo-label is an annotation with source 'pseudo' by a 'model' annotator, and
-- an aggregation is a run with its own result rows.

CREATE TABLE label_projects (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('single', 'multi', 'ordinal', 'interval')),
    classes       TEXT NOT NULL,    -- JSON array of class names, in scale order; [] for interval
    scale_min     REAL,             -- interval scales: allowed range
    scale_max     REAL,
    version_id    INTEGER REFERENCES versions(id),  -- the dataset version the items are rows of
    table_path    TEXT,             -- which table of that version
    key_column    TEXT,             -- the column whose value is the item key
    instructions  TEXT,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL
);

-- One row per item to label. item_key is the key column's value as text; row_index its row in
-- the version's table (NULL for items created by an import into a project without a dataset).
CREATE TABLE label_items (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES label_projects(id),
    item_key    TEXT NOT NULL,
    row_index   INTEGER,
    payload     TEXT,               -- JSON shown to annotators (e.g. Label Studio's task data)
    created_at  TEXT NOT NULL,
    UNIQUE (project_id, item_key)
);

-- People (and models, for pseudo-labels). Global, so one account labels in many projects.
CREATE TABLE label_annotators (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('expert', 'crowd', 'model')),
    created_at  TEXT NOT NULL
);

-- One import (file), assignment round, or pseudo-labeling run: the unit metrics are tracked by.
CREATE TABLE label_batches (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES label_projects(id),
    kind        TEXT NOT NULL CHECK (kind IN ('import', 'assign', 'pseudo', 'gold')),
    source      TEXT,               -- file path, model name, ...
    params      TEXT NOT NULL,      -- JSON: format, seed, overlap, thresholds, ...
    row_count   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX label_batches_project ON label_batches(project_id);

-- Work handed out. An annotator gets an item at most once (the UNIQUE constraint is the
-- invariant, not only the assigning code). is_gold marks items with a known answer mixed in.
CREATE TABLE label_assignments (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES label_projects(id),
    item_id       INTEGER NOT NULL REFERENCES label_items(id),
    annotator_id  INTEGER NOT NULL REFERENCES label_annotators(id),
    batch_id      INTEGER NOT NULL REFERENCES label_batches(id),
    is_gold       INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    UNIQUE (item_id, annotator_id)
);
CREATE INDEX label_assignments_annotator ON label_assignments(annotator_id);

-- Judgements. value is the canonical text of the label: a class name, a JSON array of class
-- names (multi-label), or a number (interval). source is 'human' or 'pseudo'.
CREATE TABLE label_annotations (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES label_projects(id),
    item_id       INTEGER NOT NULL REFERENCES label_items(id),
    annotator_id  INTEGER NOT NULL REFERENCES label_annotators(id),
    batch_id      INTEGER NOT NULL REFERENCES label_batches(id),
    value         TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('human', 'pseudo')),
    confidence    REAL,             -- pseudo-labels: the model's probability
    seconds       REAL,             -- time spent, when known
    created_at    TEXT NOT NULL
);
CREATE INDEX label_annotations_item ON label_annotations(project_id, item_id, annotator_id);
CREATE INDEX label_annotations_batch ON label_annotations(batch_id);

-- Known answers.
CREATE TABLE label_gold (
    item_id     INTEGER PRIMARY KEY REFERENCES label_items(id),
    project_id  INTEGER NOT NULL REFERENCES label_projects(id),
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

-- Adjudications: a reviewer's final answer for an item, its own layer. The latest row per item
-- counts; older rows stay as history.
CREATE TABLE label_reviews (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES label_projects(id),
    item_id     INTEGER NOT NULL REFERENCES label_items(id),
    value       TEXT NOT NULL,
    reviewer    TEXT NOT NULL,
    note        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX label_reviews_item ON label_reviews(project_id, item_id);

-- An aggregation: method, parameters and report (convergence, ties, ...), with one result row
-- per item that got a label.
CREATE TABLE label_runs (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES label_projects(id),
    method      TEXT NOT NULL,
    params      TEXT NOT NULL,      -- JSON
    report      TEXT NOT NULL,      -- JSON
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX label_runs_project ON label_runs(project_id);

CREATE TABLE label_results (
    run_id      INTEGER NOT NULL REFERENCES label_runs(id),
    item_id     INTEGER NOT NULL REFERENCES label_items(id),
    value       TEXT NOT NULL,
    confidence  REAL NOT NULL,      -- posterior or vote share of the value
    source      TEXT NOT NULL CHECK (source IN ('human', 'adjudication', 'pseudo')),
    n_labels    INTEGER NOT NULL,   -- judgements behind it
    PRIMARY KEY (run_id, item_id)
);

-- Labels written back into a dataset version (lineage: which run of which project).
CREATE TABLE label_merges (
    id                 INTEGER PRIMARY KEY,
    project_id         INTEGER NOT NULL REFERENCES label_projects(id),
    run_id             INTEGER NOT NULL REFERENCES label_runs(id),
    version_id         INTEGER NOT NULL REFERENCES versions(id),
    source_version_id  INTEGER REFERENCES versions(id),
    lineage            TEXT NOT NULL,  -- JSON: method, params, annotators, sources
    created_at         TEXT NOT NULL
);

-- Numbers monitoring follows over time: agreement per batch, label distribution per merge.
CREATE TABLE label_metrics (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES label_projects(id),
    batch_id    INTEGER REFERENCES label_batches(id),
    run_id      INTEGER REFERENCES label_runs(id),
    name        TEXT NOT NULL,
    value       REAL NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX label_metrics_project ON label_metrics(project_id, name);
