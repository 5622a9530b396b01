//! `sluice label aggregate`: one label per item from its judgements, as a stored run.
//!
//! | method        | categorical (single, ordinal; multi per class)                  | interval        |
//! |---------------|-----------------------------------------------------------------|-----------------|
//! | `majority`    | plurality vote, explicit tie policy; confidence = vote share    | -               |
//! | `weighted`    | votes weighted `ln((k-1) p / (1-p))` (Nitzan & Paroush 1982,    | -               |
//! |               | the optimal weight for an annotator right with probability `p`  |                 |
//! |               | under symmetric errors); `p` = gold accuracy when the annotator |                 |
//! |               | has >= 5 gold judgements, else agreement with the others        |                 |
//! | `dawid-skene` | EM (Dawid & Skene 1979), initialised with the paper's soft      | -               |
//! |               | response proportions (eq. 3.1); confidence = posterior          |                 |
//! | `mean`        | -                                                               | mean            |
//! | `median`      | -                                                               | median          |
//!
//! Multi-label items are aggregated per class (binary relevance, see [`crate::index`]); the item's
//! label is the set of classes voted present, and its confidence the lowest per-class confidence,
//! so one doubtful class makes the item doubtful. For interval labels the confidence is the share
//! of judgements within `tolerance` of the aggregate.
//!
//! Layers: an adjudication (`sluice label review resolve`) replaces the aggregate of its item
//! (source `adjudication`, confidence 1); pseudo-labels fill items without any human judgement
//! only when asked (`include_pseudo`), with source `pseudo`. Human judgements are never changed.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sluice_algo::label::{
    Annotations, DawidSkeneConfig, TiePolicy, annotator_agreement, dawid_skene, majority_vote, weighted_majority_vote,
};

use crate::error::{Error, Result};
use crate::index::{GoldUnits, Indexed, Units};
use crate::schema::{LabelKind, LabelSchema, LabelValue};
use crate::store::{Annotation, ResultSource, Review, RunResult};

/// Aggregation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Plurality vote.
    Majority,
    /// Weighted plurality vote.
    Weighted,
    /// Dawid-Skene EM.
    DawidSkene,
    /// Mean (interval).
    Mean,
    /// Median (interval).
    Median,
}

impl Method {
    /// Name as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Majority => "majority",
            Method::Weighted => "weighted",
            Method::DawidSkene => "dawid-skene",
            Method::Mean => "mean",
            Method::Median => "median",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "majority" | "mv" => Ok(Method::Majority),
            "weighted" => Ok(Method::Weighted),
            "dawid-skene" | "ds" => Ok(Method::DawidSkene),
            "mean" => Ok(Method::Mean),
            "median" => Ok(Method::Median),
            o => Err(format!(
                "unknown method `{o}`: use majority, weighted, dawid-skene, mean or median"
            )),
        }
    }
}

/// Settings of an aggregation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AggregateOptions {
    /// The method.
    pub method: Method,
    /// Ties (majority and weighted).
    pub tie: TiePolicy,
    /// EM stopping rule (Dawid-Skene).
    pub dawid_skene: DawidSkeneConfig,
    /// Interval: a judgement within this distance of the aggregate counts as agreeing.
    pub tolerance: f64,
    /// Fill items without human judgements with pseudo-labels.
    pub include_pseudo: bool,
}

/// Aggregated labels with the run's parameters and report.
#[derive(Debug, Clone)]
pub struct Aggregated {
    /// One result per labelled item.
    pub results: Vec<RunResult>,
    /// Parameters (JSON).
    pub params: serde_json::Value,
    /// Report (JSON): ties, weights, convergence, priors, confusion matrices.
    pub report: serde_json::Value,
}

/// Optimal vote weight of an annotator right with probability `p` among `k` classes.
pub fn vote_weight(p: f64, k: usize) -> f64 {
    let chance = 1.0 / k as f64;
    if p <= chance {
        return 0.0;
    }
    let p = p.min(0.999);
    ((k as f64 - 1.0) * p / (1.0 - p)).ln().max(0.0)
}

/// Aggregates human judgements `idx`, then applies adjudications and (optionally) pseudo-labels.
pub fn aggregate(
    schema: &LabelSchema,
    idx: &Indexed,
    reviews: &[Review],
    pseudo: &[Annotation],
    opts: &AggregateOptions,
) -> Result<Aggregated> {
    let mut params = json!({ "method": opts.method.as_str(), "include_pseudo": opts.include_pseudo });
    let mut report = json!({});
    // (value, confidence, n_labels) per item.
    let mut per_item: Vec<Option<(String, f64, i64)>> = vec![None; idx.n_items()];
    match (&idx.units, opts.method) {
        (Units::Numeric(values), Method::Mean | Method::Median) => {
            params["tolerance"] = json!(opts.tolerance);
            for (i, vs) in values.iter().enumerate() {
                if vs.is_empty() {
                    continue;
                }
                let mut xs: Vec<f64> = vs.iter().map(|v| v.1).collect();
                xs.sort_unstable_by(f64::total_cmp);
                let agg = if opts.method == Method::Mean {
                    xs.iter().sum::<f64>() / xs.len() as f64
                } else if xs.len() % 2 == 1 {
                    xs[xs.len() / 2]
                } else {
                    (xs[xs.len() / 2 - 1] + xs[xs.len() / 2]) / 2.0
                };
                let close = xs.iter().filter(|x| (*x - agg).abs() <= opts.tolerance + 1e-12).count();
                per_item[i] = Some((
                    schema.canonical(&LabelValue::Number(agg)),
                    close as f64 / xs.len() as f64,
                    xs.len() as i64,
                ));
            }
        }
        (Units::Numeric(_), m) => {
            return Err(Error::Usage(format!(
                "--method {} needs categories; an interval project aggregates with mean or median",
                m.as_str()
            )));
        }
        (Units::Categorical { .. }, Method::Mean | Method::Median) => {
            return Err(Error::Usage(format!(
                "--method {} is for interval projects; use majority, weighted or dawid-skene",
                opts.method.as_str()
            )));
        }
        (Units::Categorical { ann, multi }, method) => {
            let (labels, conf) = categorical(idx, ann, schema, method, opts, &mut params, &mut report)?;
            if *multi {
                let k = schema.classes.len();
                for i in 0..idx.n_items() {
                    let n = ann.item(i * k).1.len();
                    if n == 0 {
                        continue;
                    }
                    let mut set = Vec::new();
                    let mut c_min = 1.0f64;
                    let mut undecided = false;
                    for c in 0..k {
                        match labels[i * k + c] {
                            Some(1) => set.push(c as u32),
                            Some(_) => {}
                            None => undecided = true,
                        }
                        c_min = c_min.min(conf[i * k + c]);
                    }
                    if !undecided {
                        per_item[i] = Some((schema.canonical(&LabelValue::Classes(set)), c_min, n as i64));
                    }
                }
            } else {
                for i in 0..idx.n_items() {
                    if let Some(l) = labels[i] {
                        per_item[i] = Some((
                            schema.canonical(&LabelValue::Class(l)),
                            conf[i],
                            ann.item(i).1.len() as i64,
                        ));
                    }
                }
            }
        }
    }
    let pos: HashMap<i64, usize> = idx.item_ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut results: Vec<RunResult> = Vec::new();
    let mut source = vec![ResultSource::Human; idx.n_items()];
    for r in reviews {
        if let Some(&i) = pos.get(&r.item_id) {
            let n = per_item[i].as_ref().map(|p| p.2).unwrap_or(0);
            per_item[i] = Some((r.value.clone(), 1.0, n));
            source[i] = ResultSource::Adjudication;
        }
    }
    let mut n_pseudo = 0;
    if opts.include_pseudo {
        for p in pseudo {
            if let Some(&i) = pos.get(&p.item_id)
                && per_item[i].is_none()
            {
                per_item[i] = Some((p.value.clone(), p.confidence.unwrap_or(0.0), 0));
                source[i] = ResultSource::Pseudo;
                n_pseudo += 1;
            }
        }
    }
    for (i, r) in per_item.into_iter().enumerate() {
        if let Some((value, confidence, n_labels)) = r {
            results.push(RunResult {
                item_id: idx.item_ids[i],
                item: idx.item_keys[i].clone(),
                value,
                confidence,
                source: source[i],
                n_labels,
            });
        }
    }
    report["labelled_items"] = json!(results.len());
    report["unlabelled_items"] = json!(idx.n_items() - results.len());
    report["adjudicated_items"] = json!(source.iter().filter(|s| **s == ResultSource::Adjudication).count());
    report["pseudo_items"] = json!(n_pseudo);
    report["annotators"] = json!(idx.annotators);
    Ok(Aggregated {
        results,
        params,
        report,
    })
}

fn categorical(
    idx: &Indexed,
    ann: &Annotations,
    schema: &LabelSchema,
    method: Method,
    opts: &AggregateOptions,
    params: &mut serde_json::Value,
    report: &mut serde_json::Value,
) -> Result<(Vec<Option<u32>>, Vec<f64>)> {
    let classes: Vec<String> = if schema.kind == LabelKind::Multi {
        vec!["absent".into(), "present".into()]
    } else {
        schema.classes.clone()
    };
    match method {
        Method::Majority | Method::Weighted => {
            params["tie"] = serde_json::to_value(opts.tie).expect("serialisable");
            let c = if method == Method::Majority {
                majority_vote(ann, opts.tie)
            } else {
                let gold = match &idx.gold {
                    GoldUnits::Categorical(g) => g.clone(),
                    GoldUnits::Numeric(_) => vec![None; ann.n_items()],
                };
                let stats = annotator_agreement(ann, Some(&gold))?;
                let mut weights = Vec::with_capacity(stats.len());
                let mut shown = serde_json::Map::new();
                for s in &stats {
                    let (p, basis) = match (s.gold_accuracy, s.agreement) {
                        (Some(g), _) if s.n_gold >= 5 => (g, "gold accuracy"),
                        (_, Some(a)) => (a, "agreement"),
                        (Some(g), None) => (g, "gold accuracy"),
                        (None, None) => (1.0 / ann.n_classes() as f64 + 1e-9, "none (weight 0)"),
                    };
                    let w = vote_weight(p, ann.n_classes());
                    weights.push(w);
                    shown.insert(
                        idx.annotators[s.annotator].clone(),
                        json!({ "p": p, "basis": basis, "weight": w }),
                    );
                }
                report["weights"] = serde_json::Value::Object(shown);
                if weights.iter().all(|w| *w == 0.0) {
                    return Err(Error::Usage(
                        "every annotator's weight is 0 (accuracy at or below chance); use --method majority".into(),
                    ));
                }
                weighted_majority_vote(ann, &weights, opts.tie)?
            };
            report["ties"] = json!(c.n_ties);
            Ok((c.labels, c.support))
        }
        Method::DawidSkene => {
            params["max_iterations"] = json!(opts.dawid_skene.max_iterations);
            params["tolerance"] = json!(opts.dawid_skene.tolerance);
            params["initialisation"] = json!("soft response proportions (Dawid & Skene 1979, eq. 3.1)");
            let ds = dawid_skene(ann, &opts.dawid_skene)?;
            let k = ds.n_classes;
            let mut labels = vec![None; ann.n_items()];
            let mut conf = vec![0.0; ann.n_items()];
            for (i, l) in ds.labels().into_iter().enumerate() {
                if !ann.item(i).1.is_empty() {
                    labels[i] = Some(l);
                    conf[i] = ds.posterior(i)[l as usize];
                }
            }
            let mut confusion = serde_json::Map::new();
            for (a, name) in idx.annotators.iter().enumerate() {
                let m = ds.confusion(a);
                let rows: Vec<Vec<f64>> = m.chunks_exact(k).map(|r| r.to_vec()).collect();
                confusion.insert(name.clone(), json!(rows));
            }
            report["iterations"] = json!(ds.iterations);
            report["converged"] = json!(ds.converged);
            report["final_delta"] = json!(ds.final_delta);
            report["log_likelihood"] = json!(ds.log_likelihood.last());
            report["priors"] = json!(
                classes
                    .iter()
                    .cloned()
                    .zip(ds.priors.iter().copied())
                    .collect::<HashMap<_, _>>()
            );
            report["classes"] = json!(classes);
            report["confusion"] = serde_json::Value::Object(confusion);
            Ok((labels, conf))
        }
        Method::Mean | Method::Median => unreachable!("checked by the caller"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_weights_follow_log_odds() {
        assert_eq!(vote_weight(0.5, 2), 0.0);
        assert!((vote_weight(0.9, 2) - (9.0f64).ln()).abs() < 1e-12);
        assert!((vote_weight(0.5, 5) - (4.0f64).ln()).abs() < 1e-12);
        assert!(vote_weight(1.0, 2).is_finite());
    }
}
