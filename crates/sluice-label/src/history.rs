//! Label-quality figures in the workspace's metric history (`sluice_store::metrics`, table
//! `metric_points`), where monitoring and trend tests read every series of the workspace.
//!
//! | series                       | batch label          | written by               | points                                   |
//! |------------------------------|----------------------|--------------------------|------------------------------------------|
//! | `label.PROJECT.agreement`    | `through-batch-N`    | `sluice label agreement` | overall agreement, per label, per annotator (agreement with the others, gold accuracy) |
//! | `label.PROJECT.batches`      | `batch-N`            | `sluice label merge`     | the `batch.*` metrics of import batch N  |
//! | `label.PROJECT.runs`         | `run-N`              | `sluice label merge`     | the `labels.*` metrics of aggregation run N |
//!
//! `N` in `through-batch-N` is the project's latest batch (import, gold, assignment, ...) when the
//! agreement was computed: the agreement of the same annotations is one batch of the series, so
//! re-running the command replaces its points (the metric store's rule for a known label) instead
//! of adding a point that says nothing new, and each new import starts a new point in time.
//! The project's own `label_metrics` table (`sluice label metrics`) keeps the merge metrics with
//! their batch and run ids as before; the history is the copy monitoring follows.

use serde::Serialize;
use sluice_store::metrics::MetricStore;

use crate::agreement::{AgreementReport, Figure};
use crate::error::Result;
use crate::store::{Metric, Project};

/// One batch written to the metric history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// The series.
    pub series: String,
    /// The batch label.
    pub batch: String,
    /// The batch's number in its series (from 1).
    pub batch_seq: i64,
    /// Points written.
    pub points: usize,
}

/// The prefix shared by a project's series (`label.PROJECT.`).
pub fn series_prefix(project: &str) -> String {
    format!("label.{project}.")
}

/// The series of a project's agreement reports.
pub fn agreement_series(project: &str) -> String {
    format!("{}agreement", series_prefix(project))
}

/// The points of an agreement report: each defined figure with its interval ends (`.low`,
/// `.high`), the counts, and per label and per annotator (`annotator.NAME.agreement`,
/// `annotator.NAME.gold_accuracy`, with their judgement counts). Undefined figures are left out,
/// never recorded as NaN.
pub fn agreement_points(r: &AgreementReport) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut figure = |name: String, f: &Figure| {
        if let Some(v) = f.value {
            out.push((name.clone(), v));
            if let (Some(lo), Some(hi)) = (f.low, f.high) {
                out.push((format!("{name}.low"), lo));
                out.push((format!("{name}.high"), hi));
            }
        }
    };
    figure("agreement.percent".into(), &r.percent_agreement);
    figure("agreement.fleiss_kappa".into(), &r.fleiss_kappa);
    figure("agreement.alpha".into(), &r.alpha);
    for l in &r.per_label {
        figure(format!("label.{}.alpha", l.label), &l.alpha);
    }
    for a in &r.annotators {
        figure(format!("annotator.{}.agreement", a.annotator), &a.agreement);
        figure(format!("annotator.{}.gold_accuracy", a.annotator), &a.gold_accuracy);
    }
    if let Some(u) = r.unanimous {
        out.push(("agreement.unanimous".into(), u));
    }
    for l in &r.per_label {
        out.push((format!("label.{}.share", l.label), l.share));
        if let Some(k) = l.fleiss_kappa {
            out.push((format!("label.{}.fleiss_kappa", l.label), k));
        }
    }
    for a in &r.annotators {
        out.push((format!("annotator.{}.judgements", a.annotator), a.n_labels as f64));
        if a.n_gold > 0 {
            out.push((format!("annotator.{}.gold_judgements", a.annotator), a.n_gold as f64));
        }
        out.push((
            format!("annotator.{}.flagged", a.annotator),
            f64::from(u8::from(!a.flags.is_empty())),
        ));
    }
    out.push(("annotations".into(), r.n_annotations as f64));
    out.push(("annotators".into(), r.n_annotators as f64));
    out.push(("units_rated_twice".into(), r.n_units_rated_twice as f64));
    out.retain(|(_, v)| v.is_finite());
    out
}

/// Records an agreement report as batch `through-batch-{through_batch}` of the project's
/// agreement series; `settings` (level, weights, bootstrap) become the batch's attributes.
pub async fn record_agreement(
    metrics: &dyn MetricStore,
    project: &Project,
    through_batch: i64,
    report: &AgreementReport,
    settings: serde_json::Value,
) -> Result<Recorded> {
    let series = agreement_series(&project.name);
    let batch = format!("through-batch-{through_batch}");
    let points = agreement_points(report);
    let attributes = serde_json::json!({
        "project": project.name,
        "through_batch": through_batch,
        "kind": report.kind.as_str(),
        "settings": settings,
    });
    let batch_seq = metrics
        .record_batch(&series, &batch, &points, Some(&attributes))
        .await?;
    Ok(Recorded {
        series,
        batch,
        batch_seq,
        points: points.len(),
    })
}

/// Named values of one batch.
type Points = Vec<(String, f64)>;

/// Copies the metrics a merge records (`merge::batch_metrics`, `merge::run_metrics`) into the
/// history: one batch per import batch (`label.PROJECT.batches`) and per run
/// (`label.PROJECT.runs`). Metrics with neither a batch nor a run are not part of a series and
/// are skipped.
pub async fn record_merge_metrics(
    metrics: &dyn MetricStore,
    project: &Project,
    recorded: &[Metric],
) -> Result<Vec<Recorded>> {
    // Group in first-seen order, batches before runs (batch metrics carry the run id too).
    let mut groups: Vec<(String, String, Points)> = Vec::new();
    for m in recorded.iter().filter(|m| m.value.is_finite()) {
        let (series, batch) = match (m.batch_id, m.run_id) {
            (Some(b), _) => (format!("{}batches", series_prefix(&project.name)), format!("batch-{b}")),
            (None, Some(r)) => (format!("{}runs", series_prefix(&project.name)), format!("run-{r}")),
            (None, None) => continue,
        };
        match groups.iter_mut().find(|g| g.0 == series && g.1 == batch) {
            Some(g) => g.2.push((m.name.clone(), m.value)),
            None => groups.push((series, batch, vec![(m.name.clone(), m.value)])),
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (series, batch, points) in groups {
        let attributes = serde_json::json!({"project": project.name});
        let batch_seq = metrics
            .record_batch(&series, &batch, &points, Some(&attributes))
            .await?;
        out.push(Recorded {
            series,
            batch,
            batch_seq,
            points: points.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use sluice_store::metrics::SqliteMetrics;

    use super::*;
    use crate::agreement::{AgreementOptions, report};
    use crate::schema::{LabelKind, LabelSchema};
    use crate::sqlite::SqliteLabelStore;
    use crate::store::{AnnotatorKind, BatchKind, LabelSource, LabelStore, NewAnnotation, NewBatch, NewProject};

    fn ann(item: &str, annotator: &str, value: &str) -> NewAnnotation {
        NewAnnotation {
            item: item.into(),
            annotator: annotator.into(),
            value: value.into(),
            seconds: None,
            created_at: None,
            confidence: None,
        }
    }

    fn batch() -> NewBatch {
        NewBatch {
            kind: BatchKind::Import,
            source: Some("test".into()),
            params: serde_json::json!({}),
            created_by: "tester".into(),
        }
    }

    async fn agreement(s: &SqliteLabelStore, p: &Project) -> AgreementReport {
        let items = s.items(p.id).await.unwrap();
        let anns = s.annotations(p.id, Some(LabelSource::Human)).await.unwrap();
        let gold = s.gold(p.id).await.unwrap();
        let idx = crate::index::index(&p.schema, &items, &anns, &gold).unwrap();
        let opts = AgreementOptions {
            bootstrap: sluice_algo::label::BootstrapConfig {
                resamples: 100,
                ..Default::default()
            },
            ..AgreementOptions::default()
        };
        report(&p.schema, &idx, &vec![None; idx.annotators.len()], &opts).unwrap()
    }

    #[tokio::test]
    async fn agreement_goes_to_the_metric_history_once_per_state_of_the_annotations() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("metadata.db");
        let s = SqliteLabelStore::open(&db).await.unwrap();
        let metrics = SqliteMetrics::open(&db).await.unwrap();
        let schema = LabelSchema {
            kind: LabelKind::Single,
            classes: vec!["ham".into(), "spam".into()],
            min: None,
            max: None,
        };
        let p = s
            .create_project(
                NewProject {
                    name: "mail".into(),
                    schema,
                    dataset: None,
                    instructions: None,
                    created_by: "tester".into(),
                },
                &[],
            )
            .await
            .unwrap();
        // Two annotators agree on 3 of 4 items.
        let rows: Vec<NewAnnotation> = [
            ("1", "spam", "spam"),
            ("2", "ham", "ham"),
            ("3", "spam", "spam"),
            ("4", "ham", "spam"),
        ]
        .iter()
        .flat_map(|(i, a, b)| [ann(i, "ann", a), ann(i, "bob", b)])
        .collect();
        let first = s
            .import(&p, batch(), AnnotatorKind::Crowd, LabelSource::Human, true, &rows)
            .await
            .unwrap();
        let r = agreement(&s, &p).await;
        let rec = record_agreement(&metrics, &p, first.batch_id, &r, serde_json::json!({"seed": 0}))
            .await
            .unwrap();
        assert_eq!(rec.series, "label.mail.agreement");
        assert_eq!(
            (rec.batch.as_str(), rec.batch_seq),
            (format!("through-batch-{}", first.batch_id).as_str(), 1)
        );
        // Re-running on the same annotations replaces the batch.
        let again = record_agreement(&metrics, &p, first.batch_id, &r, serde_json::json!({"seed": 0}))
            .await
            .unwrap();
        assert_eq!(again.batch_seq, 1);
        let history = metrics.history(&rec.series).await.unwrap();
        assert_eq!(history.len(), rec.points);
        let at: HashMap<&str, f64> = history.iter().map(|p| (p.metric.as_str(), p.value)).collect();
        assert_eq!(at["agreement.percent"], 0.75);
        assert!(at["agreement.percent.low"] <= 0.75 && at["agreement.percent.high"] >= 0.75);
        assert_eq!(at["annotations"], 8.0);
        assert_eq!(at["annotator.ann.judgements"], 4.0);
        // Each annotator against the other's plurality: 3 of 4.
        assert_eq!(at["annotator.bob.agreement"], 0.75);
        assert_eq!(at["label.spam.share"], 5.0 / 8.0);
        assert_eq!(history[0].attributes.as_ref().unwrap()["through_batch"], first.batch_id);
        // A new import is a new point in time.
        let second = s
            .import(
                &p,
                batch(),
                AnnotatorKind::Crowd,
                LabelSource::Human,
                true,
                &[ann("4", "ann", "spam")],
            )
            .await
            .unwrap();
        let r2 = agreement(&s, &p).await;
        let rec2 = record_agreement(&metrics, &p, second.batch_id, &r2, serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(rec2.batch_seq, 2);
        let history = metrics.history(&rec.series).await.unwrap();
        let percent: Vec<f64> = history
            .iter()
            .filter(|p| p.metric == "agreement.percent")
            .map(|p| p.value)
            .collect();
        assert_eq!(percent, [0.75, 1.0]);
    }

    #[tokio::test]
    async fn merge_metrics_are_copied_per_batch_and_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("metadata.db");
        let s = SqliteLabelStore::open(&db).await.unwrap();
        let metrics = SqliteMetrics::open(&db).await.unwrap();
        let p = s
            .create_project(
                NewProject {
                    name: "mail".into(),
                    schema: LabelSchema {
                        kind: LabelKind::Single,
                        classes: vec!["ham".into(), "spam".into()],
                        min: None,
                        max: None,
                    },
                    dataset: None,
                    instructions: None,
                    created_by: "tester".into(),
                },
                &[],
            )
            .await
            .unwrap();
        let m = |batch_id, run_id, name: &str, value| Metric {
            batch_id,
            run_id,
            name: name.into(),
            value,
            created_at: None,
        };
        let recorded = [
            m(Some(3), Some(9), "batch.percent_agreement", 0.8),
            m(Some(4), Some(9), "batch.percent_agreement", 0.6),
            m(Some(3), Some(9), "batch.judgements", 12.0),
            m(None, Some(9), "labels.share.spam", 0.4),
            m(None, None, "stray", 1.0),
        ];
        let out = record_merge_metrics(&metrics, &p, &recorded).await.unwrap();
        let got: Vec<(&str, &str, usize)> = out
            .iter()
            .map(|r| (r.series.as_str(), r.batch.as_str(), r.points))
            .collect();
        assert_eq!(
            got,
            [
                ("label.mail.batches", "batch-3", 2),
                ("label.mail.batches", "batch-4", 1),
                ("label.mail.runs", "run-9", 1)
            ]
        );
        let batches = metrics.history("label.mail.batches").await.unwrap();
        assert_eq!(batches.len(), 3);
        assert_eq!(batches.iter().map(|p| p.batch_seq).max(), Some(2));
    }
}
