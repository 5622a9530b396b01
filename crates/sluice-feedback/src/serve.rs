//! Serving with exploration and holdouts, for scripts: scores in, logged decisions out.
//!
//! Input: JSON Lines of `{"unit_id": ..., "candidates": [...], "scores": [...]}` (scores aligned
//! with candidates; optional `decision_id`, `time`, `context`). Output: one [`Decision`] per input
//! line with the chosen action(s) and the exact propensities of `sluice_algo::feedback::explore`.
//!
//! | `--explore`     | shows                                          | propensity logged                       |
//! |-----------------|------------------------------------------------|-----------------------------------------|
//! | `greedy`        | the top `slate` items                          | 1 (deterministic: no OPE of other policies) |
//! | `epsilon:E`     | one action, epsilon-greedy (slate 1 only)      | `E/A + (1-E)/g` or `E/A`, full distribution |
//! | `softmax:T`     | one action, softmax at temperature T (slate 1) | `exp(s/T)/sum`, full distribution       |
//! | `shuffle:N`     | the score ranking, top N uniformly shuffled    | `1/N` per shuffled position             |
//! | `swap:N`        | the score ranking, one random pair of the top N swapped | per-position marginal (see explore) |
//!
//! Epsilon and softmax are refused for slates longer than 1: sampling a slate position by
//! position gives each position a probability conditional on the ones above it, which is not the
//! per-position propensity off-policy estimators divide by. Shuffle and swap have exact marginals.
//!
//! Holdout: units whose salted hash falls in the holdout (`sluice_algo::feedback::holdout`,
//! stable across runs and machines) get the non-personalised experience: a uniformly random
//! action (propensity `1/A`) or a uniformly random slate (each position's marginal `1/A`), with
//! `policy = "holdout-uniform"` and `explored = true`.

use std::path::Path;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sluice_algo::feedback::explore::{
    epsilon_greedy_distribution, random_pair_swap, sample, shuffle_top_n, softmax_distribution,
};
use sluice_algo::feedback::holdout::Holdout;

use crate::error::{Error, Result};
use crate::io::{DecisionWriter, for_each_line};
use crate::schema::{Chosen, Decision, Loc};

/// Exploration of the served policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Explore {
    /// No exploration.
    Greedy,
    /// Epsilon-greedy with this rate.
    Epsilon(f64),
    /// Softmax with this temperature.
    Softmax(f64),
    /// Shuffle the top N of the ranking.
    Shuffle(usize),
    /// Swap one random pair within the top N.
    Swap(usize),
}

impl std::str::FromStr for Explore {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (kind, arg) = s.split_once(':').unwrap_or((s, ""));
        let bad = || {
            Error::Invalid(format!(
                "--explore {s}: use greedy, epsilon:E (0..1), softmax:T (> 0), shuffle:N or swap:N"
            ))
        };
        match kind {
            "greedy" if arg.is_empty() => Ok(Self::Greedy),
            "epsilon" => arg
                .parse::<f64>()
                .ok()
                .filter(|e| (0.0..=1.0).contains(e))
                .map(Self::Epsilon)
                .ok_or_else(bad),
            "softmax" => arg
                .parse::<f64>()
                .ok()
                .filter(|t: &f64| *t > 0.0 && t.is_finite())
                .map(Self::Softmax)
                .ok_or_else(bad),
            "shuffle" => arg
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Self::Shuffle)
                .ok_or_else(bad),
            "swap" => arg
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 2)
                .map(Self::Swap)
                .ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Explore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Greedy => write!(f, "greedy"),
            Self::Epsilon(e) => write!(f, "epsilon-greedy({e})"),
            Self::Softmax(t) => write!(f, "softmax({t})"),
            Self::Shuffle(n) => write!(f, "shuffle-top-{n}"),
            Self::Swap(n) => write!(f, "pair-swap-top-{n}"),
        }
    }
}

/// Options of [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Exploration.
    pub explore: Explore,
    /// Items shown per decision.
    pub slate: usize,
    /// Units to hold out.
    pub holdout: Option<Holdout>,
    /// Seed of the sampling (same seed and input, same output).
    pub seed: u64,
    /// Model version to record.
    pub model_version: Option<String>,
}

/// One input line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreLine {
    #[serde(default)]
    decision_id: Option<String>,
    #[serde(default)]
    unit_id: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    context: serde_json::Map<String, serde_json::Value>,
    candidates: Vec<serde_json::Value>,
    scores: Vec<f64>,
}

/// Counts of what was served.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServeReport {
    /// Decisions written.
    pub decisions: u64,
    /// Decisions for held-out units.
    pub held_out: u64,
    /// Decisions that explored.
    pub explored: u64,
}

fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Decides every line of `input` and writes the decision log to `out`.
pub fn serve(input: &Path, out: &Path, opts: &ServeOptions) -> Result<ServeReport> {
    if opts.slate == 0 {
        return Err(Error::Invalid("--slate must be at least 1".into()));
    }
    if opts.slate > 1 && matches!(opts.explore, Explore::Epsilon(_) | Explore::Softmax(_)) {
        return Err(Error::Invalid(format!(
            "--explore {} chooses one action; for slates of {} use shuffle:N or swap:N, whose per-position \
             propensities are exact",
            opts.explore, opts.slate
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut w = DecisionWriter::create(out)?;
    let mut report = ServeReport::default();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for_each_line(input, |line, text| {
        let loc = Loc::line(input, line);
        let bad = |m: String| Error::Format {
            at: loc.to_string(),
            message: m,
        };
        let s: ScoreLine = serde_json::from_str(text).map_err(|e| Error::Format {
            at: format!("{loc}:{}", e.column()),
            message: format!("{e}; each line is {{\"unit_id\", \"candidates\": [...], \"scores\": [...]}}"),
        })?;
        let candidates: Vec<String> = s
            .candidates
            .iter()
            .map(id_text)
            .collect::<Option<_>>()
            .ok_or_else(|| bad("candidates must be string or integer ids".into()))?;
        if candidates.is_empty() || candidates.len() != s.scores.len() {
            return Err(bad(format!(
                "{} candidates and {} scores; give one score per candidate (at least one)",
                candidates.len(),
                s.scores.len()
            )));
        }
        if let Some(k) = s.scores.iter().position(|x| !x.is_finite()) {
            return Err(bad(format!("scores[{k}] = {}: scores must be finite", s.scores[k])));
        }
        let n = candidates.len();
        let k = opts.slate.min(n);
        let held = match (&opts.holdout, &s.unit_id) {
            (Some(h), Some(u)) => h.contains(u),
            (Some(_), None) => {
                return Err(bad("a holdout needs `unit_id` on every line".into()));
            }
            _ => false,
        };
        // Rank by score, best first; ties keep input order.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| s.scores[b].total_cmp(&s.scores[a]));
        let mut distribution = None;
        let (picked, props, explored, policy): (Vec<usize>, Vec<f64>, bool, String) = if held {
            let mut perm = order.clone();
            perm.shuffle(&mut rng);
            perm.truncate(k);
            if k == 1 {
                distribution = Some(vec![1.0 / n as f64; n]);
            }
            (perm, vec![1.0 / n as f64; k], true, "holdout-uniform".into())
        } else {
            match opts.explore {
                Explore::Greedy => (order[..k].to_vec(), vec![1.0; k], false, opts.explore.to_string()),
                Explore::Epsilon(_) | Explore::Softmax(_) => {
                    let mut dist = vec![0.0; n];
                    match opts.explore {
                        Explore::Epsilon(e) => epsilon_greedy_distribution(&s.scores, e, &mut dist)?,
                        Explore::Softmax(t) => softmax_distribution(&s.scores, t, &mut dist)?,
                        _ => unreachable!("matched above"),
                    }
                    let choice = sample(&dist, &mut rng)?;
                    let explored = s.scores[choice.action] < s.scores[order[0]];
                    distribution = Some(dist);
                    (
                        vec![choice.action],
                        vec![choice.propensity],
                        explored,
                        opts.explore.to_string(),
                    )
                }
                Explore::Shuffle(top) | Explore::Swap(top) => {
                    let top = top.min(n);
                    let ranked = if matches!(opts.explore, Explore::Shuffle(_)) {
                        shuffle_top_n(&order, top, &mut rng)?
                    } else if top >= 2 {
                        random_pair_swap(&order, top, &mut rng)?
                    } else {
                        shuffle_top_n(&order, 1, &mut rng)?
                    };
                    let explored = ranked.ranking[..k] != order[..k];
                    (
                        ranked.ranking[..k].to_vec(),
                        ranked.position_propensity[..k].to_vec(),
                        explored,
                        opts.explore.to_string(),
                    )
                }
            }
        };
        let reason = if held {
            "holdout".to_owned()
        } else if explored {
            "explore".to_owned()
        } else {
            format!("score {}", s.scores[picked[0]])
        };
        let d = Decision {
            decision_id: s.decision_id.unwrap_or_else(|| format!("{}-{line}", input.display())),
            time: Some(s.time.unwrap_or_else(|| now.clone())),
            unit_id: s.unit_id,
            context: s.context,
            chosen: picked
                .iter()
                .zip(&props)
                .enumerate()
                .map(|(pos, (&a, &p))| Chosen {
                    action: candidates[a].clone(),
                    position: pos as u32,
                    propensity: Some(p),
                    reward: None,
                })
                .collect(),
            candidates,
            distribution,
            scores: [("model".to_owned(), s.scores)].into(),
            policy: Some(policy),
            model_version: opts.model_version.clone(),
            reason: Some(reason),
            explored,
        };
        report.decisions += 1;
        report.held_out += u64::from(held);
        report.explored += u64::from(explored);
        w.write(&d)
    })?;
    w.finish()?;
    Ok(report)
}
