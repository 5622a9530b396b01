//! The review queue: items whose judgements disagree, most doubtful first, for an expert to
//! adjudicate (`review resolve` stores the answer in its own layer; see [`crate::store`]).
//!
//! Scores (higher = more in need of review):
//! - `vote-entropy`: entropy (nats) of the item's votes (`sluice_algo::label::annotation_vote_entropy`);
//!   an item with fewer than two votes, or unanimous votes, scores 0 and is not queued.
//! - `posterior`: `1 - max_j T_ij` of a fresh Dawid-Skene fit; queued when the top posterior is
//!   under `threshold` (default 0.9), so confident items with a lone dissenter are skipped.
//!
//! Multi-label items score their most doubtful class. Items already adjudicated are left out.

use serde::{Deserialize, Serialize};
use sluice_algo::label::{DawidSkeneConfig, annotation_vote_entropy, dawid_skene};

use crate::error::Result;
use crate::index::Indexed;
use crate::schema::LabelSchema;
use crate::store::Review;

/// How the queue is ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueScore {
    /// Vote entropy.
    VoteEntropy,
    /// Low Dawid-Skene posterior.
    Posterior,
}

impl std::str::FromStr for QueueScore {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "vote-entropy" | "entropy" => Ok(QueueScore::VoteEntropy),
            "posterior" | "dawid-skene" => Ok(QueueScore::Posterior),
            o => Err(format!("unknown --by `{o}`: use vote-entropy or posterior")),
        }
    }
}

/// One queued item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// Item key.
    pub item: String,
    /// Score (see the module docs).
    pub score: f64,
    /// Votes per label (multi-label: annotators that chose the label).
    pub votes: Vec<(String, usize)>,
    /// Judgements on the item.
    pub n_labels: usize,
}

/// Builds the queue, best first, at most `limit` entries.
pub fn queue(
    schema: &LabelSchema,
    idx: &Indexed,
    reviews: &[Review],
    by: QueueScore,
    threshold: f64,
    limit: usize,
) -> Result<Vec<QueueEntry>> {
    let ann = idx.categorical("the review queue")?;
    let multi = matches!(idx.units, crate::index::Units::Categorical { multi: true, .. });
    let k = schema.classes.len();
    let unit_scores: Vec<f64> = match by {
        QueueScore::VoteEntropy => annotation_vote_entropy(ann),
        QueueScore::Posterior => {
            let ds = dawid_skene(ann, &DawidSkeneConfig::default())?;
            (0..ann.n_items())
                .map(|u| {
                    if ann.item(u).1.is_empty() {
                        return 0.0;
                    }
                    let top = ds.posterior(u).iter().copied().fold(0.0, f64::max);
                    if top < threshold { 1.0 - top } else { 0.0 }
                })
                .collect()
        }
    };
    let reviewed: std::collections::HashSet<i64> = reviews.iter().map(|r| r.item_id).collect();
    let mut out = Vec::new();
    for i in 0..idx.n_items() {
        if reviewed.contains(&idx.item_ids[i]) {
            continue;
        }
        let (score, votes, n) = if multi {
            let s = (0..k).map(|c| unit_scores[i * k + c]).fold(0.0, f64::max);
            let votes = (0..k)
                .map(|c| {
                    let yes = ann.item(i * k + c).1.iter().filter(|&&l| l == 1).count();
                    (schema.classes[c].clone(), yes)
                })
                .collect();
            (s, votes, ann.item(i * k).1.len())
        } else {
            let (_, labels) = ann.item(i);
            let mut counts = vec![0usize; k];
            for &l in labels {
                counts[l as usize] += 1;
            }
            let votes = counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| (schema.classes[c].clone(), *n))
                .collect();
            (unit_scores[i], votes, labels.len())
        };
        if score > 0.0 {
            out.push(QueueEntry {
                item: idx.item_keys[i].clone(),
                score,
                votes,
                n_labels: n,
            });
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.item.cmp(&b.item)));
    out.truncate(limit);
    Ok(out)
}
