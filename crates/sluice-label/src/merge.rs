//! Back into the data: a run's labels written into a table for a new dataset version, with the
//! lineage that says where they came from, and the metrics monitoring follows.
//!
//! The new version (added by the caller through `sluice_version::add`, derived from the
//! project's version) holds two files: the table with label columns (`<table stem>.parquet`, or
//! `labels.parquet` for a project without a dataset) and `labels.lineage.json`:
//!
//! ```json
//! { "project": "spam", "run_id": 3, "method": "dawid-skene", "params": {...},
//!   "source_version": "mail@v1", "annotators": [{"name": "ann", "kind": "crowd", "judgements": 120}],
//!   "label_sources": {"human": 95, "adjudication": 4, "pseudo": 0}, "labelled_rows": 99, "rows": 100 }
//! ```
//!
//! Metrics recorded (table `label_metrics`): per import batch, `batch.percent_agreement`,
//! `batch.alpha` and `batch.share.<label>` over that batch's human judgements; per merged run,
//! `labels.share.<label>`, `labels.mean_confidence` and `labels.labelled_rows`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::json;
use sluice_algo::label::{krippendorff_alpha_annotations, percent_agreement};
use sluice_store::Workspace;
use sluice_store::meta::VersionRecord;

use crate::dataset::{self, LabelColumns};
use crate::error::Result;
use crate::index::{self, Units};
use crate::schema::{LabelKind, LabelValue};
use crate::store::{Annotation, Annotator, Item, Metric, Project, ResultSource, Run};

/// Files written for a merge, and its lineage.
#[derive(Debug, Clone)]
pub struct MergeFiles {
    /// The labelled table.
    pub table: PathBuf,
    /// `labels.lineage.json`.
    pub lineage_file: PathBuf,
    /// The lineage (also in the file).
    pub lineage: serde_json::Value,
    /// Rows in the table.
    pub rows: u64,
    /// Rows that got a label.
    pub labelled: u64,
}

/// Writes the merge files into `dir`.
#[allow(clippy::too_many_arguments)]
pub async fn write_files(
    ws: &Workspace,
    project: &Project,
    source: Option<&VersionRecord>,
    run: &Run,
    annotations: &[Annotation],
    annotators: &[Annotator],
    cols: &LabelColumns,
    dir: &Path,
) -> Result<MergeFiles> {
    let by_key: HashMap<String, &crate::store::RunResult> = run.results.iter().map(|r| (r.item.clone(), r)).collect();
    let (table, rows, labelled) = match (&project.dataset, source) {
        (Some(link), Some(v)) => {
            let t = dataset::read_version_table(ws, v, Some(&link.table_path)).await?;
            let stem = Path::new(&link.table_path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "labels".into());
            let out = dir.join(format!("{stem}.parquet"));
            let labelled = dataset::write_labeled(&t, &link.key_column, &by_key, cols, &out)?;
            (out, t.batches.iter().map(|b| b.num_rows() as u64).sum(), labelled)
        }
        _ => {
            let out = dir.join("labels.parquet");
            let n = dataset::write_results(&run.results, cols, &out)?;
            (out, n, n)
        }
    };
    let kinds: HashMap<i64, &Annotator> = annotators.iter().map(|a| (a.id, a)).collect();
    let mut per_annotator: BTreeMap<&str, (String, usize)> = BTreeMap::new();
    for a in annotations {
        let kind = kinds.get(&a.annotator_id).map(|x| x.kind.as_str()).unwrap_or("crowd");
        per_annotator
            .entry(a.annotator.as_str())
            .or_insert((kind.to_string(), 0))
            .1 += 1;
    }
    let mut sources: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &run.results {
        *sources.entry(r.source.as_str()).or_default() += 1;
    }
    let lineage = json!({
        "project": project.name,
        "run_id": run.id,
        "method": run.method,
        "params": run.params,
        "run_created_at": run.created_at.to_rfc3339(),
        "source_version": source.map(|v| v.label()),
        "table": project.dataset.as_ref().map(|d| d.table_path.clone()),
        "key_column": project.dataset.as_ref().map(|d| d.key_column.clone()),
        "label_kind": project.schema.kind.as_str(),
        "classes": project.schema.classes,
        "annotators": per_annotator.iter().map(|(n, (k, c))| json!({"name": n, "kind": k, "judgements": c})).collect::<Vec<_>>(),
        "label_sources": sources,
        "rows": rows,
        "labelled_rows": labelled,
        "columns": { "label": cols.label },
    });
    let lineage_file = dir.join("labels.lineage.json");
    std::fs::write(
        &lineage_file,
        serde_json::to_vec_pretty(&lineage).expect("JSON serialises"),
    )
    .map_err(|e| crate::error::Error::io(&lineage_file, e))?;
    Ok(MergeFiles {
        table,
        lineage_file,
        lineage,
        rows,
        labelled,
    })
}

/// Label shares of canonical values (multi-label: share of items carrying each class).
fn shares(project: &Project, values: &[&str]) -> Vec<(String, f64)> {
    let s = &project.schema;
    if s.kind == LabelKind::Interval || values.is_empty() {
        return Vec::new();
    }
    let mut counts = vec![0usize; s.classes.len()];
    for v in values {
        match s.parse_stored(v) {
            Ok(LabelValue::Class(c)) => counts[c as usize] += 1,
            Ok(LabelValue::Classes(cs)) => cs.iter().for_each(|&c| counts[c as usize] += 1),
            _ => {}
        }
    }
    s.classes
        .iter()
        .zip(counts)
        .map(|(c, n)| (c.clone(), n as f64 / values.len() as f64))
        .collect()
}

/// Metrics of each import batch: agreement and label shares of its human judgements.
pub fn batch_metrics(
    project: &Project,
    items: &[Item],
    annotations: &[Annotation],
    run_id: Option<i64>,
) -> Result<Vec<Metric>> {
    let mut by_batch: BTreeMap<i64, Vec<Annotation>> = BTreeMap::new();
    for a in annotations {
        by_batch.entry(a.batch_id).or_default().push(a.clone());
    }
    let mut out = Vec::new();
    let metric = |batch: i64, name: String, value: f64| Metric {
        batch_id: Some(batch),
        run_id,
        name,
        value,
        created_at: None,
    };
    for (batch, anns) in by_batch {
        let idx = index::index(&project.schema, items, &anns, &[])?;
        match &idx.units {
            Units::Categorical { ann, .. } => {
                if let Ok(p) = percent_agreement(ann) {
                    out.push(metric(batch, "batch.percent_agreement".into(), p.pairwise));
                }
                let level = if project.schema.kind == LabelKind::Ordinal {
                    sluice_algo::label::Level::Ordinal
                } else {
                    sluice_algo::label::Level::Nominal
                };
                if let Ok(a) = krippendorff_alpha_annotations(ann, level) {
                    out.push(metric(batch, "batch.alpha".into(), a.alpha));
                }
            }
            Units::Numeric(values) => {
                let mut flat = Vec::new();
                let mut start = vec![0];
                for v in values {
                    flat.extend(v.iter().map(|x| x.1));
                    start.push(flat.len());
                }
                if let Ok(a) =
                    sluice_algo::label::krippendorff_alpha_units(&flat, &start, sluice_algo::label::Level::Interval)
                {
                    out.push(metric(batch, "batch.alpha".into(), a.alpha));
                }
            }
        }
        out.push(metric(batch, "batch.judgements".into(), anns.len() as f64));
        let values: Vec<&str> = anns.iter().map(|a| a.value.as_str()).collect();
        for (label, share) in shares(project, &values) {
            out.push(metric(batch, format!("batch.share.{label}"), share));
        }
    }
    Ok(out)
}

/// Metrics of a merged run: label shares, mean confidence, labelled rows.
pub fn run_metrics(project: &Project, run: &Run) -> Vec<Metric> {
    let metric = |name: String, value: f64| Metric {
        batch_id: None,
        run_id: Some(run.id),
        name,
        value,
        created_at: None,
    };
    let values: Vec<&str> = run.results.iter().map(|r| r.value.as_str()).collect();
    let mut out: Vec<Metric> = shares(project, &values)
        .into_iter()
        .map(|(l, s)| metric(format!("labels.share.{l}"), s))
        .collect();
    let human: Vec<f64> = run
        .results
        .iter()
        .filter(|r| r.source != ResultSource::Pseudo)
        .map(|r| r.confidence)
        .collect();
    if !human.is_empty() {
        out.push(metric(
            "labels.mean_confidence".into(),
            human.iter().sum::<f64>() / human.len() as f64,
        ));
    }
    out.push(metric("labels.labelled_rows".into(), run.results.len() as f64));
    out
}
