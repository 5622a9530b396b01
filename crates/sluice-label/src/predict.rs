//! Working with model predictions: label errors (confident learning), active-learning
//! selection, and pseudo-labels. Predictions are matched to items by key; see
//! [`crate::io::read_predictions`] for the file format.
//!
//! - Label errors: the given label of an item is its latest aggregated label (or, without a run,
//!   the majority vote); `sluice_algo::label::find_label_issues` ranks likely errors by
//!   self-confidence. Probabilities must be out-of-sample (cross-validated) for this to mean
//!   anything.
//! - Selection: among items with neither a human label nor an assignment, pick a batch by
//!   least confidence, margin, entropy, committee vote entropy or mean KL to consensus (several
//!   prediction files), k-center greedy on embeddings (labelled items are the existing centers),
//!   a hybrid (top `pool` by entropy, then k-center), or seeded random sampling.
//! - Pseudo-labels: a prediction is accepted when its argmax class's probability reaches that
//!   class's threshold; the accepted labels are audited against gold answers and against the
//!   human majority of items people labelled, with Wilson intervals.

use std::collections::{HashMap, HashSet};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sluice_algo::label::{
    PseudoLabelAudit, TiePolicy, Uncertainty, audit_pseudo_labels, find_label_issues, hybrid_select, k_center_greedy,
    majority_vote, mean_kl_to_consensus, pseudo_label, top_k, uncertainty, vote_entropy,
};

use crate::error::{Error, Result};
use crate::index::Indexed;
use crate::io::Predictions;
use crate::schema::{LabelSchema, LabelValue};

/// Positions of prediction rows among the project's items; errors on unknown keys.
fn align(idx: &Indexed, keys: &[String], what: &str) -> Result<Vec<usize>> {
    let pos: HashMap<&str, usize> = idx.item_keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    let mut out = Vec::with_capacity(keys.len());
    let mut unknown = Vec::new();
    for k in keys {
        match pos.get(k.as_str()) {
            Some(&i) => out.push(i),
            None => unknown.push(k.as_str()),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::Usage(format!(
            "{} {what} rows name items that are not in the project (first: `{}`); predict on the project's items",
            unknown.len(),
            unknown[0]
        )));
    }
    Ok(out)
}

/// One likely label error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelError {
    /// Item key.
    pub item: String,
    /// The given (aggregated) label.
    pub given: String,
    /// The model's most probable label.
    pub suggested: String,
    /// The model's probability of the given label.
    pub self_confidence: f64,
    /// The model's probability of the suggested label.
    pub suggested_probability: f64,
}

/// The confident-learning report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorsReport {
    /// Items with both a given label and predictions.
    pub n_checked: usize,
    /// Where the given labels came from.
    pub given_from: String,
    /// Per-class thresholds (mean self-confidence), by class.
    pub thresholds: Vec<(String, f64)>,
    /// Confident joint, rows = given, columns = suggested.
    pub confident_joint: Vec<Vec<u64>>,
    /// Estimated noise rates P(given = i | true = j).
    pub noise_matrix: Vec<Vec<f64>>,
    /// Likely errors, most suspicious first.
    pub issues: Vec<LabelError>,
}

/// Finds likely label errors among `given` labels (canonical values by item index).
pub fn label_errors(
    schema: &LabelSchema,
    idx: &Indexed,
    given: &[Option<u32>],
    given_from: &str,
    preds: &Predictions,
) -> Result<ErrorsReport> {
    let rows = align(idx, &preds.items, "prediction")?;
    let k = preds.n_classes;
    let (mut probs, mut labels, mut which) = (Vec::new(), Vec::new(), Vec::new());
    for (r, &i) in rows.iter().enumerate() {
        if let Some(l) = given[i] {
            probs.extend_from_slice(&preds.probs[r * k..(r + 1) * k]);
            labels.push(l);
            which.push((i, r));
        }
    }
    if labels.is_empty() {
        return Err(Error::Usage(
            "no predicted item has a label yet; aggregate labels first (sluice label aggregate)".into(),
        ));
    }
    let li = find_label_issues(&probs, k, &labels)?;
    let issues = li
        .issues
        .iter()
        .map(|&j| {
            let p = &probs[j * k..(j + 1) * k];
            let best = (0..k)
                .max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)))
                .unwrap_or(0);
            LabelError {
                item: idx.item_keys[which[j].0].clone(),
                given: schema.classes[labels[j] as usize].clone(),
                suggested: schema.classes[best].clone(),
                self_confidence: p[labels[j] as usize],
                suggested_probability: p[best],
            }
        })
        .collect();
    Ok(ErrorsReport {
        n_checked: labels.len(),
        given_from: given_from.into(),
        thresholds: schema
            .classes
            .iter()
            .cloned()
            .zip(li.thresholds.iter().copied())
            .collect(),
        confident_joint: li.confident_joint.chunks(k).map(|r| r.to_vec()).collect(),
        noise_matrix: li.noise_matrix.chunks(k).map(|r| r.to_vec()).collect(),
        issues,
    })
}

/// Given labels from a majority vote (ties abstain), for when no run exists.
pub fn majority_labels(idx: &Indexed) -> Result<Vec<Option<u32>>> {
    let ann = idx.categorical("label-error detection")?;
    if matches!(idx.units, crate::index::Units::Categorical { multi: true, .. }) {
        return Err(Error::Usage(
            "label-error detection needs single-label or ordinal classes".into(),
        ));
    }
    Ok(majority_vote(ann, TiePolicy::Abstain).labels)
}

/// Parses a run's stored values into class indices by item index.
pub fn run_labels(
    schema: &LabelSchema,
    idx: &Indexed,
    results: &[crate::store::RunResult],
) -> Result<Vec<Option<u32>>> {
    let pos: HashMap<i64, usize> = idx.item_ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut out = vec![None; idx.n_items()];
    for r in results {
        match schema.parse_stored(&r.value) {
            Ok(LabelValue::Class(c)) => {
                if let Some(&i) = pos.get(&r.item_id) {
                    out[i] = Some(c);
                }
            }
            _ => {
                return Err(Error::Usage(
                    "label-error detection needs single-label or ordinal classes".into(),
                ));
            }
        }
    }
    Ok(out)
}

/// Active-learning strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// `1 - max p`.
    LeastConfidence,
    /// `1 - (p1 - p2)`.
    Margin,
    /// Entropy.
    Entropy,
    /// Committee vote entropy (several prediction files).
    VoteEntropy,
    /// Committee mean KL to consensus (several prediction files).
    Kl,
    /// k-center greedy on embeddings.
    KCenter,
    /// Entropy top-`pool`, then k-center.
    Hybrid,
    /// Seeded uniform sample (the baseline).
    Random,
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "least-confidence" | "lc" => Strategy::LeastConfidence,
            "margin" => Strategy::Margin,
            "entropy" => Strategy::Entropy,
            "vote-entropy" | "qbc" => Strategy::VoteEntropy,
            "kl" | "qbc-kl" => Strategy::Kl,
            "k-center" | "kcenter" | "coreset" => Strategy::KCenter,
            "hybrid" => Strategy::Hybrid,
            "random" => Strategy::Random,
            o => {
                return Err(format!(
                    "unknown strategy `{o}`: use least-confidence, margin, entropy, vote-entropy, kl, k-center, \
                     hybrid or random"
                ));
            }
        })
    }
}

/// One selected item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selected {
    /// Item key.
    pub item: String,
    /// Its score (NaN-free; 0 for k-center and random).
    pub score: f64,
}

/// Inputs of a selection.
#[derive(Debug, Clone)]
pub struct SelectInput<'a> {
    /// Prediction files (one, or several for a committee).
    pub predictions: &'a [Predictions],
    /// Embeddings: item keys, row-major values, dimension.
    pub embeddings: Option<(&'a [String], &'a [f32], usize)>,
    /// Items that are labelled or assigned (item indices).
    pub taken: &'a HashSet<usize>,
}

/// Selects `n` items by `strategy` (see the module docs).
pub fn select(
    idx: &Indexed,
    input: &SelectInput<'_>,
    strategy: Strategy,
    n: usize,
    pool: usize,
    seed: u64,
) -> Result<Vec<Selected>> {
    // The candidate space: the first prediction file's items, or the embeddings' items.
    let (keys, rows): (Vec<String>, Vec<usize>) = match (strategy, input.predictions.first(), input.embeddings) {
        (Strategy::KCenter, _, Some((k, _, _))) | (Strategy::Hybrid, _, Some((k, _, _))) => {
            (k.to_vec(), align(idx, k, "embedding")?)
        }
        (Strategy::KCenter | Strategy::Hybrid, _, None) => {
            return Err(Error::Usage(
                "k-center and hybrid selection need --embeddings FILE".into(),
            ));
        }
        (_, Some(p), _) => (p.items.clone(), align(idx, &p.items, "prediction")?),
        (_, None, _) => return Err(Error::Usage("selection needs --predictions FILE".into())),
    };
    let exclude: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, i)| input.taken.contains(i))
        .map(|(r, _)| r)
        .collect();
    // Scores in the candidate space (NaN: no prediction, never selected).
    let scores_for = |p: &Predictions, kind: Uncertainty| -> Result<Vec<f64>> {
        let s = uncertainty(&p.probs, p.n_classes, kind)?;
        let by_key: HashMap<&str, f64> = p.items.iter().map(String::as_str).zip(s).collect();
        Ok(keys
            .iter()
            .map(|k| by_key.get(k.as_str()).copied().unwrap_or(f64::NAN))
            .collect())
    };
    let committee = || -> Result<Vec<&Predictions>> {
        if input.predictions.len() < 2 {
            return Err(Error::Usage(
                "committee strategies need two or more --predictions files".into(),
            ));
        }
        for p in &input.predictions[1..] {
            if p.items != input.predictions[0].items {
                return Err(Error::Usage(
                    "committee prediction files must list the same items in the same order".into(),
                ));
            }
        }
        Ok(input.predictions.iter().collect())
    };
    let picked: Vec<(usize, f64)> = match strategy {
        Strategy::LeastConfidence | Strategy::Margin | Strategy::Entropy => {
            let kind = match strategy {
                Strategy::LeastConfidence => Uncertainty::LeastConfidence,
                Strategy::Margin => Uncertainty::Margin,
                _ => Uncertainty::Entropy,
            };
            let s = scores_for(input.predictions.first().expect("checked"), kind)?;
            top_k(&s, n, &exclude)?.into_iter().map(|r| (r, s[r])).collect()
        }
        Strategy::VoteEntropy => {
            let members = committee()?;
            let k = members[0].n_classes;
            let m = members.len();
            let mut votes = vec![0u32; keys.len() * m];
            for (c, p) in members.iter().enumerate() {
                for (r, row) in p.probs.chunks_exact(k).enumerate() {
                    let best = (0..k)
                        .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
                        .unwrap_or(0);
                    votes[r * m + c] = best as u32;
                }
            }
            let s = vote_entropy(&votes, m, k)?;
            top_k(&s, n, &exclude)?.into_iter().map(|r| (r, s[r])).collect()
        }
        Strategy::Kl => {
            let members = committee()?;
            let stacked: Vec<f64> = members.iter().flat_map(|p| p.probs.iter().copied()).collect();
            let s = mean_kl_to_consensus(&stacked, members.len(), members[0].n_classes)?;
            top_k(&s, n, &exclude)?.into_iter().map(|r| (r, s[r])).collect()
        }
        Strategy::KCenter => {
            let (_, emb, dim) = input.embeddings.expect("checked");
            k_center_greedy(emb, dim, n, &exclude)?
                .into_iter()
                .map(|r| (r, 0.0))
                .collect()
        }
        Strategy::Hybrid => {
            let (_, emb, dim) = input.embeddings.expect("checked");
            let p = input
                .predictions
                .first()
                .ok_or_else(|| Error::Usage("hybrid selection needs --predictions FILE too".into()))?;
            let s = scores_for(p, Uncertainty::Entropy)?;
            hybrid_select(&s, emb, dim, n, pool.max(n), &exclude)?
                .into_iter()
                .map(|r| (r, s[r]))
                .collect()
        }
        Strategy::Random => {
            let ex: HashSet<usize> = exclude.iter().copied().collect();
            let mut eligible: Vec<usize> = (0..keys.len()).filter(|r| !ex.contains(r)).collect();
            eligible.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            eligible.truncate(n);
            eligible.into_iter().map(|r| (r, 0.0)).collect()
        }
    };
    Ok(picked
        .into_iter()
        .map(|(r, score)| Selected {
            item: keys[r].clone(),
            score,
        })
        .collect())
}

/// What pseudo-labeling accepted and how it fared against people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PseudoReport {
    /// Items with predictions.
    pub n_predicted: usize,
    /// Accepted (over threshold), all items.
    pub n_accepted: usize,
    /// Accepted for items without human labels (the ones stored).
    pub n_stored: usize,
    /// Accepted per class.
    pub accepted_per_class: Vec<(String, usize)>,
    /// Thresholds per class.
    pub thresholds: Vec<(String, f64)>,
    /// Audit against gold answers.
    pub vs_gold: Option<PseudoLabelAudit>,
    /// Audit against the human majority label.
    pub vs_human: Option<PseudoLabelAudit>,
}

/// An accepted pseudo-label: (item index, class, probability).
pub type Accepted = (usize, u32, f64);

/// Pseudo-labels: (item index, class, probability) for every accepted prediction, and the report.
/// `human` is the human majority label per item, `gold` the gold answer per item.
pub fn pseudo_labels(
    schema: &LabelSchema,
    idx: &Indexed,
    preds: &Predictions,
    thresholds: &[f64],
    human: &[Option<u32>],
    gold: &[Option<u32>],
) -> Result<(Vec<Accepted>, PseudoReport)> {
    let rows = align(idx, &preds.items, "prediction")?;
    let k = preds.n_classes;
    let accepted = pseudo_label(&preds.probs, k, thresholds)?;
    let mut out = Vec::new();
    let mut per_class = vec![0usize; k];
    let mut p_items = vec![None; idx.n_items()];
    for (r, a) in accepted.iter().enumerate() {
        if let Some(c) = *a {
            out.push((rows[r], c, preds.probs[r * k + c as usize]));
            per_class[c as usize] += 1;
            p_items[rows[r]] = Some(c);
        }
    }
    let audit = |reference: &[Option<u32>]| audit_pseudo_labels(&p_items, reference, k, 0.95).ok();
    let n_stored = out.iter().filter(|(i, _, _)| human[*i].is_none()).count();
    Ok((
        out,
        PseudoReport {
            n_predicted: preds.items.len(),
            n_accepted: accepted.iter().filter(|a| a.is_some()).count(),
            n_stored,
            accepted_per_class: schema.classes.iter().cloned().zip(per_class).collect(),
            thresholds: schema.classes.iter().cloned().zip(thresholds.iter().copied()).collect(),
            vs_gold: audit(gold),
            vs_human: audit(human),
        },
    ))
}
