//! Off-policy estimators: the value a target policy would have had, from logs of another one.
//!
//! Inputs are flat slices over the `n` logged rounds: reward `r_i`, logging propensity
//! `pi_b(a_i|x_i)` ("pscore"), target probability `pi_e(a_i|x_i)` of the logged action, and for the
//! model-based estimators the reward model's predictions. With `w_i = pi_e(a_i|x_i) / pi_b(a_i|x_i)`,
//! `q_i(a) = q(x_i, a)` and `qbar_i = sum_a pi_e(a|x_i) q_i(a)`:
//!
//! | estimator            | value                                                          | source |
//! |----------------------|----------------------------------------------------------------|--------|
//! | IPS                  | `(1/n) sum w_i r_i`                                            | Horvitz & Thompson 1952 |
//! | clipped IPS (lambda) | `(1/n) sum min(w_i, lambda) r_i`                               | Ionides 2008; Bottou et al. 2013 |
//! | SNIPS                | `sum w_i r_i / sum w_i`                                        | Swaminathan & Joachims 2015 |
//! | DM                   | `(1/n) sum qbar_i`                                             | |
//! | DR                   | `(1/n) sum [qbar_i + w_i (r_i - q_i(a_i))]`                    | Dudik, Langford & Li 2011 |
//! | Switch-DR (tau)      | `(1/n) sum [qbar_i + 1{w_i <= tau} w_i (r_i - q_i(a_i))]`      | Wang, Agarwal & Dudik 2017 |
//!
//! These are exactly the formulas of Open Bandit Pipeline 0.5.7 (`obp.ope`), which the tests
//! reproduce to 1e-9 on the Open Bandit Dataset sample shipped with obp (Switch-DR as obp writes it:
//! the correction term is dropped where `w > tau`, leaving the model's `qbar`). Every estimator is
//! a ratio of per-row sums, which is what [`super::bootstrap`] resamples; its intervals differ from
//! obp's in one respect: a SNIPS replicate renormalises by its own weights, where obp resamples
//! rows already divided by the full-sample mean weight. [`evaluate_many`] computes several
//! estimators in one bootstrap pass with shared replicates (terms common to two estimators, like
//! IPS's and SNIPS's numerator, are materialised once).
//!
//! Invariant: an estimate is computed only from validated input. Propensities must lie in (0, 1],
//! target probabilities in [0, 1], each target distribution must sum to 1 and give the logged
//! action the same probability as `target_prob`; any violation is an error naming the row.

use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapConfig, BootstrapInterval, Ratio, bootstrap_ratios};
use crate::error::{Error, Result};

/// Tolerance on `sum_a pi_e(a|x) = 1` for a target distribution row.
pub const DIST_SUM_TOLERANCE: f64 = 1e-6;

/// Share of the total weight held by the top 1% of rows above which
/// [`WeightDiagnostics::few_dominate`] is raised: half the evidence then comes from 1% of rows.
pub const DOMINANCE_SHARE: f64 = 0.5;

/// Which estimator to compute (see the module docs for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Estimator {
    /// Inverse propensity scoring.
    Ips,
    /// IPS with weights capped at `lambda` (> 0).
    ClippedIps {
        /// The cap on importance weights.
        lambda: f64,
    },
    /// Self-normalised IPS.
    Snips,
    /// Direct method: the reward model's value under the target policy.
    Dm,
    /// Doubly robust.
    Dr,
    /// Doubly robust that falls back to the model where the weight exceeds `tau` (>= 0).
    SwitchDr {
        /// The switching threshold on importance weights.
        tau: f64,
    },
}

impl Estimator {
    /// Whether the estimator needs reward-model predictions.
    pub fn needs_model(self) -> bool {
        matches!(self, Self::Dm | Self::Dr | Self::SwitchDr { .. })
    }

    fn validate(self) -> Result<()> {
        match self {
            Self::ClippedIps { lambda } if lambda.is_nan() || lambda <= 0.0 => Err(Error::Invalid {
                what: "clipped IPS lambda",
                detail: format!("got {lambda}; the weight cap must be > 0 (infinity = plain IPS)"),
            }),
            Self::SwitchDr { tau } if tau.is_nan() || tau < 0.0 => Err(Error::Invalid {
                what: "Switch-DR tau",
                detail: format!("got {tau}; the switching threshold must be >= 0"),
            }),
            _ => Ok(()),
        }
    }
}

/// Logged bandit feedback, one entry per round.
#[derive(Debug, Clone, Copy)]
pub struct LoggedBandit<'a> {
    /// Observed reward `r_i`.
    pub reward: &'a [f64],
    /// Logging-policy probability of the logged action, `pi_b(a_i|x_i)`, in (0, 1].
    pub pscore: &'a [f64],
    /// Target-policy probability of the logged action, `pi_e(a_i|x_i)`, in [0, 1].
    pub target_prob: &'a [f64],
}

/// Reward-model predictions for DM, DR and Switch-DR.
#[derive(Debug, Clone, Copy)]
pub enum RewardPredictions<'a> {
    /// Predictions for every action.
    Full {
        /// Logged action index `a_i`, below `n_actions`.
        action: &'a [u32],
        /// Number of actions `A`.
        n_actions: usize,
        /// `q(x_i, a)` as an `n x A` row-major matrix.
        q_hat: &'a [f64],
        /// `pi_e(a|x_i)` as an `n x A` row-major matrix; each row sums to 1.
        target_dist: &'a [f64],
    },
    /// The two per-row reductions the estimators use, for callers that compute them in a stream
    /// (an `n x A` matrix of 10M rows and 80 actions is 6.4 GB).
    Reduced {
        /// `qbar_i = sum_a pi_e(a|x_i) q(x_i, a)`.
        q_target: &'a [f64],
        /// `q(x_i, a_i)` at the logged action.
        q_logged: &'a [f64],
    },
}

/// Everything an estimator may need.
#[derive(Debug, Clone, Copy)]
pub struct OpeInput<'a> {
    /// The logged rounds.
    pub logged: LoggedBandit<'a>,
    /// Reward-model predictions; required by DM, DR and Switch-DR.
    pub model: Option<RewardPredictions<'a>>,
}

/// Importance-weight diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeightDiagnostics {
    /// Number of rows.
    pub n: usize,
    /// `sum w_i`; about `n` when the logged propensities are right and the target has support.
    pub sum: f64,
    /// Largest weight.
    pub max: f64,
    /// Kish effective sample size `(sum w)^2 / sum w^2` (Kish 1965); 0 when every weight is 0.
    pub ess: f64,
    /// `ess / n`.
    pub ess_share: f64,
    /// Share of the total weight held by the `ceil(n / 100)` largest weights.
    pub top1pct_share: f64,
    /// Warning: the top 1% of rows hold more than [`DOMINANCE_SHARE`] of the weight, or every
    /// weight is 0 (the target policy never takes a logged action). Estimates are then driven by
    /// a handful of rows; prefer SNIPS/DR/Switch-DR and report the interval.
    pub few_dominate: bool,
}

/// Result of [`evaluate`]: point estimate, bootstrap interval and weight diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpeEstimate {
    /// The estimator used.
    pub estimator: Estimator,
    /// Point estimate of the target policy's value.
    pub value: f64,
    /// Percentile-bootstrap interval.
    pub interval: BootstrapInterval,
    /// Diagnostics of the importance weights `pi_e / pi_b`.
    pub weights: WeightDiagnostics,
}

/// Importance weights `w_i = pi_e(a_i|x_i) / pi_b(a_i|x_i)` after validating both slices.
pub fn importance_weights(pscore: &[f64], target_prob: &[f64]) -> Result<Vec<f64>> {
    check_probabilities(pscore, target_prob)?;
    Ok(pscore.iter().zip(target_prob).map(|(b, e)| e / b).collect())
}

/// Kish effective sample size `(sum w)^2 / sum w^2`; 0 when every weight is 0.
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let (s, s2) = weights.iter().fold((0.0, 0.0), |(s, s2), w| (s + w, s2 + w * w));
    if s2 > 0.0 { s * s / s2 } else { 0.0 }
}

/// Diagnostics of a set of importance weights (finite, >= 0).
pub fn weight_diagnostics(weights: &[f64]) -> Result<WeightDiagnostics> {
    if weights.is_empty() {
        return Err(Error::Empty {
            what: "importance weights",
            min: 1,
        });
    }
    if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(Error::Invalid {
            what: "importance weights",
            detail: format!("row {i} is {}; weights must be finite and >= 0", weights[i]),
        });
    }
    let n = weights.len();
    let sum: f64 = weights.iter().sum();
    let max = weights.iter().copied().fold(0.0, f64::max);
    let ess = effective_sample_size(weights);
    let top = n.div_ceil(100);
    let top1pct_share = if sum > 0.0 {
        let mut copy = weights.to_vec();
        let (_, nth, largest) = copy.select_nth_unstable_by(n - top, f64::total_cmp);
        (*nth + largest.iter().sum::<f64>()) / sum
    } else {
        0.0
    };
    Ok(WeightDiagnostics {
        n,
        sum,
        max,
        ess,
        ess_share: ess / n as f64,
        top1pct_share,
        few_dominate: sum == 0.0 || top1pct_share > DOMINANCE_SHARE,
    })
}

/// Point estimate of `estimator` on `input`.
pub fn estimate(estimator: Estimator, input: &OpeInput<'_>) -> Result<f64> {
    let checked = Checked::new(estimator, input)?;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..checked.n {
        let (a, b) = checked.term(i);
        num += a;
        den += b;
    }
    if den > 0.0 {
        Ok(num / den)
    } else {
        Err(no_weight_error())
    }
}

/// Per-row terms `(a_i, b_i)` with `estimate = sum a / sum b`; `b` is `None` when every `b_i = 1`
/// (all estimators but SNIPS). These are what the bootstrap resamples.
pub fn row_terms(estimator: Estimator, input: &OpeInput<'_>) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    Ok(Checked::new(estimator, input)?.terms())
}

/// Point estimate, percentile-bootstrap interval and weight diagnostics.
pub fn evaluate(estimator: Estimator, input: &OpeInput<'_>, bootstrap: &BootstrapConfig) -> Result<OpeEstimate> {
    let mut out = evaluate_many(&[estimator], input, bootstrap)?;
    Ok(out.pop().expect("bug: one estimate per estimator"))
}

/// [`evaluate`] for several estimators on the same input, in one bootstrap pass: the values are
/// those [`evaluate`] gives one at a time; the intervals come from shared replicates (see
/// [`bootstrap_ratios`]), so each has the distribution [`evaluate`] would give it and the
/// differences between estimators are bootstrapped consistently.
pub fn evaluate_many(
    estimators: &[Estimator],
    input: &OpeInput<'_>,
    bootstrap: &BootstrapConfig,
) -> Result<Vec<OpeEstimate>> {
    let estimates = estimate_with_intervals(estimators, input, bootstrap)?;
    let logged = input.logged;
    let weights: Vec<f64> = logged
        .target_prob
        .iter()
        .zip(logged.pscore)
        .map(|(e, b)| e / b)
        .collect();
    let weights = weight_diagnostics(&weights)?;
    Ok(estimators
        .iter()
        .zip(estimates)
        .map(|(&estimator, (value, interval))| OpeEstimate {
            estimator,
            value,
            interval,
            weights,
        })
        .collect())
}

/// Point estimates and percentile-bootstrap intervals of several estimators, without the weight
/// diagnostics (for callers that compute those once themselves), in the order given.
///
/// Each distinct per-row term is materialised once (SNIPS shares IPS's numerator) and all of
/// them go through one [`bootstrap_ratios`] pass.
pub fn estimate_with_intervals(
    estimators: &[Estimator],
    input: &OpeInput<'_>,
    bootstrap: &BootstrapConfig,
) -> Result<Vec<(f64, BootstrapInterval)>> {
    if estimators.is_empty() {
        return Err(Error::Empty {
            what: "estimators",
            min: 1,
        });
    }
    let checked = estimators
        .iter()
        .map(|&e| Checked::new(e, input))
        .collect::<Result<Vec<_>>>()?;
    // Distinct columns: (key, estimator whose term computes it, numerator or denominator).
    let mut keys: Vec<(Term, usize, bool)> = Vec::new();
    let mut column = |key: Term, owner: usize, numerator: bool| match keys.iter().position(|k| k.0 == key) {
        Some(j) => j,
        None => {
            keys.push((key, owner, numerator));
            keys.len() - 1
        }
    };
    let ratios: Vec<Ratio> = estimators
        .iter()
        .enumerate()
        .map(|(e, &estimator)| Ratio {
            numerator: column(Term::numerator(estimator), e, true),
            denominator: matches!(estimator, Estimator::Snips).then(|| column(Term::Weight, e, false)),
        })
        .collect();
    let n = checked[0].n;
    let columns: Vec<Vec<f64>> = keys
        .iter()
        .map(|&(_, owner, numerator)| {
            let c = &checked[owner];
            (0..n)
                .map(|i| if numerator { c.term(i).0 } else { c.term(i).1 })
                .collect()
        })
        .collect();
    // Summed in row order, as `estimate` does, so both give the same value bit for bit.
    let mut values = Vec::with_capacity(ratios.len());
    for r in &ratios {
        let total = r.denominator.map_or(n as f64, |d| columns[d].iter().sum());
        if total <= 0.0 {
            return Err(no_weight_error());
        }
        values.push(columns[r.numerator].iter().sum::<f64>() / total);
    }
    let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let intervals = bootstrap_ratios(&refs, &ratios, bootstrap)?;
    Ok(values.into_iter().zip(intervals).collect())
}

/// Identity of a per-row term column, so estimators that share a term share its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    /// `w r` (IPS, and SNIPS's numerator).
    WeightedReward,
    /// `min(w, lambda) r`, by the bits of lambda.
    ClippedWeightedReward(u64),
    /// `w` (SNIPS's denominator).
    Weight,
    /// `qbar` (DM).
    ModelValue,
    /// The DR term.
    DoublyRobust,
    /// The Switch-DR term, by the bits of tau.
    SwitchDoublyRobust(u64),
}

impl Term {
    fn numerator(estimator: Estimator) -> Self {
        match estimator {
            Estimator::Ips | Estimator::Snips => Self::WeightedReward,
            Estimator::ClippedIps { lambda } => Self::ClippedWeightedReward(lambda.to_bits()),
            Estimator::Dm => Self::ModelValue,
            Estimator::Dr => Self::DoublyRobust,
            Estimator::SwitchDr { tau } => Self::SwitchDoublyRobust(tau.to_bits()),
        }
    }
}

fn no_weight_error() -> Error {
    Error::Invalid {
        what: "SNIPS input",
        detail: "every importance weight is 0: the target policy never takes a logged action, so \
                 self-normalised IPS is undefined; check the target probabilities or use DM"
            .to_owned(),
    }
}

fn check_probabilities(pscore: &[f64], target_prob: &[f64]) -> Result<()> {
    if pscore.is_empty() {
        return Err(Error::Empty {
            what: "logged rounds",
            min: 1,
        });
    }
    if pscore.len() != target_prob.len() {
        return Err(Error::LengthMismatch {
            what: "pscore and target_prob",
            left: pscore.len(),
            right: target_prob.len(),
        });
    }
    if let Some(i) = pscore.iter().position(|p| !(*p > 0.0 && *p <= 1.0)) {
        return Err(Error::Invalid {
            what: "pscore",
            detail: format!(
                "row {i} is {}; logging propensities must lie in (0, 1] (a 0 means the logged \
                 action could not have been taken: fix the logging)",
                pscore[i]
            ),
        });
    }
    if let Some(i) = target_prob.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::Invalid {
            what: "target_prob",
            detail: format!("row {i} is {}; target probabilities must lie in [0, 1]", target_prob[i]),
        });
    }
    Ok(())
}

/// Validated input with the per-row term of one estimator.
struct Checked<'a> {
    n: usize,
    estimator: Estimator,
    logged: LoggedBandit<'a>,
    model: Option<RewardPredictions<'a>>,
}

impl<'a> Checked<'a> {
    fn new(estimator: Estimator, input: &OpeInput<'a>) -> Result<Self> {
        estimator.validate()?;
        let logged = input.logged;
        check_probabilities(logged.pscore, logged.target_prob)?;
        let n = logged.pscore.len();
        if logged.reward.len() != n {
            return Err(Error::LengthMismatch {
                what: "reward and pscore",
                left: logged.reward.len(),
                right: n,
            });
        }
        if let Some(i) = logged.reward.iter().position(|r| !r.is_finite()) {
            return Err(Error::Invalid {
                what: "reward",
                detail: format!("row {i} is {}; rewards must be finite", logged.reward[i]),
            });
        }
        let model = if estimator.needs_model() {
            let model = input.model.ok_or_else(|| Error::Invalid {
                what: "reward model",
                detail: format!(
                    "{estimator:?} needs reward-model predictions; pass OpeInput::model (see \
                     feedback::reward_model)"
                ),
            })?;
            check_model(&model, logged.target_prob)?;
            Some(model)
        } else {
            None
        };
        Ok(Self {
            n,
            estimator,
            logged,
            model,
        })
    }

    /// All numerator terms, and the denominator terms when they are not all 1 (SNIPS).
    fn terms(&self) -> (Vec<f64>, Option<Vec<f64>>) {
        let num = (0..self.n).map(|i| self.term(i).0).collect();
        let den = matches!(self.estimator, Estimator::Snips).then(|| (0..self.n).map(|i| self.term(i).1).collect());
        (num, den)
    }

    /// `(a_i, b_i)` for row `i`.
    #[inline]
    fn term(&self, i: usize) -> (f64, f64) {
        let r = self.logged.reward[i];
        let w = self.logged.target_prob[i] / self.logged.pscore[i];
        match self.estimator {
            Estimator::Ips => (w * r, 1.0),
            Estimator::ClippedIps { lambda } => (w.min(lambda) * r, 1.0),
            Estimator::Snips => (w * r, w),
            Estimator::Dm => (self.model_terms(i).0, 1.0),
            Estimator::Dr => {
                let (q_target, q_logged) = self.model_terms(i);
                (q_target + w * (r - q_logged), 1.0)
            }
            Estimator::SwitchDr { tau } => {
                let (q_target, q_logged) = self.model_terms(i);
                let correction = if w <= tau { w * (r - q_logged) } else { 0.0 };
                (q_target + correction, 1.0)
            }
        }
    }

    /// `(qbar_i, q(x_i, a_i))`.
    #[inline]
    fn model_terms(&self, i: usize) -> (f64, f64) {
        match self.model.expect("bug: model-based estimator checked without a model") {
            RewardPredictions::Full {
                action,
                n_actions,
                q_hat,
                target_dist,
            } => {
                let row = i * n_actions..(i + 1) * n_actions;
                let q = &q_hat[row.clone()];
                let p = &target_dist[row];
                let q_target = q.iter().zip(p).map(|(q, p)| q * p).sum();
                (q_target, q[action[i] as usize])
            }
            RewardPredictions::Reduced { q_target, q_logged } => (q_target[i], q_logged[i]),
        }
    }
}

fn check_model(model: &RewardPredictions<'_>, target_prob: &[f64]) -> Result<()> {
    let n = target_prob.len();
    match *model {
        RewardPredictions::Full {
            action,
            n_actions,
            q_hat,
            target_dist,
        } => {
            if n_actions == 0 {
                return Err(Error::Invalid {
                    what: "n_actions",
                    detail: "got 0; the action space needs at least one action".to_owned(),
                });
            }
            for (what, len) in [
                ("action and pscore", action.len()),
                ("q_hat (n x n_actions) and pscore", q_hat.len() / n_actions),
                ("target_dist (n x n_actions) and pscore", target_dist.len() / n_actions),
            ] {
                if len != n {
                    return Err(Error::LengthMismatch {
                        what,
                        left: len,
                        right: n,
                    });
                }
            }
            for (what, m) in [("q_hat", q_hat), ("target_dist", target_dist)] {
                if m.len() != n * n_actions {
                    return Err(Error::Invalid {
                        what,
                        detail: format!("has {} values; expected n x n_actions = {n} x {n_actions}", m.len()),
                    });
                }
            }
            if let Some(i) = q_hat.iter().position(|q| !q.is_finite()) {
                return Err(Error::Invalid {
                    what: "q_hat",
                    detail: format!(
                        "row {}, action {} is {}; predictions must be finite",
                        i / n_actions,
                        i % n_actions,
                        q_hat[i]
                    ),
                });
            }
            for (i, (row, &a)) in target_dist.chunks_exact(n_actions).zip(action).enumerate() {
                let a = a as usize;
                if a >= n_actions {
                    return Err(Error::Invalid {
                        what: "action",
                        detail: format!("row {i} has action {a}; actions must be < {n_actions}"),
                    });
                }
                if let Some(j) = row.iter().position(|p| !(0.0..=1.0).contains(p)) {
                    return Err(Error::Invalid {
                        what: "target_dist",
                        detail: format!("row {i}, action {j} is {}; probabilities must lie in [0, 1]", row[j]),
                    });
                }
                let total: f64 = row.iter().sum();
                if (total - 1.0).abs() > DIST_SUM_TOLERANCE {
                    return Err(Error::Invalid {
                        what: "target_dist",
                        detail: format!("row {i} sums to {total}; each row must be a distribution (sum 1)"),
                    });
                }
                if (row[a] - target_prob[i]).abs() > 1e-9 {
                    return Err(Error::Invalid {
                        what: "target_prob",
                        detail: format!(
                            "row {i} is {} but target_dist gives {} for the logged action {a}; \
                             both must describe the same target policy",
                            target_prob[i], row[a]
                        ),
                    });
                }
            }
        }
        RewardPredictions::Reduced { q_target, q_logged } => {
            for (what, pair, s) in [
                ("q_target", "q_target and pscore", q_target),
                ("q_logged", "q_logged and pscore", q_logged),
            ] {
                if s.len() != n {
                    return Err(Error::LengthMismatch {
                        what: pair,
                        left: s.len(),
                        right: n,
                    });
                }
                if let Some(i) = s.iter().position(|q| !q.is_finite()) {
                    return Err(Error::Invalid {
                        what,
                        detail: format!("row {i} is {}; predictions must be finite", s[i]),
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::bootstrap::Resampling;
    use crate::feedback::fixtures::{Case, obp_reference};

    fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
        let err = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
        assert!(err <= tol, "{what}: got {got}, obp {want}, relative error {err:e}");
    }

    /// The six estimators of the fixture, in the fixture's key order.
    fn estimators(lambda: f64, tau: f64) -> [(&'static str, Estimator); 6] {
        [
            ("ips", Estimator::Ips),
            ("clipped_ips", Estimator::ClippedIps { lambda }),
            ("snips", Estimator::Snips),
            ("dm", Estimator::Dm),
            ("dr", Estimator::Dr),
            ("switch_dr", Estimator::SwitchDr { tau }),
        ]
    }

    fn check_case(case: &Case, q_hat: &[f64], lambda: f64, tau: f64, want: &std::collections::BTreeMap<String, f64>) {
        let input = OpeInput {
            logged: LoggedBandit {
                reward: &case.reward,
                pscore: &case.pscore,
                target_prob: &case.target_prob,
            },
            model: Some(RewardPredictions::Full {
                action: &case.action,
                n_actions: case.n_actions,
                q_hat,
                target_dist: &case.target_dist,
            }),
        };
        for (key, estimator) in estimators(lambda, tau) {
            let got = estimate(estimator, &input).unwrap();
            assert_rel(got, want[key], 1e-9, key);
        }
    }

    #[test]
    fn matches_obp_on_random_logs_with_the_per_action_mean_model() {
        let fx = obp_reference();
        let case = fx.random_logs.case();
        let q_hat = case.broadcast(&fx.random_logs.q_mean);
        check_case(
            &case,
            &q_hat,
            fx.lambda_clip,
            fx.tau_switch,
            &fx.random_logs.estimates_mean_model,
        );
    }

    #[test]
    fn matches_obp_on_random_logs_with_sklearn_logistic_coefficients() {
        let fx = obp_reference();
        let case = fx.random_logs.case();
        let q_hat = fx.random_logs.logistic_q_hat_from_reference();
        check_case(
            &case,
            &q_hat,
            fx.lambda_clip,
            fx.tau_switch,
            &fx.random_logs.estimates_logistic_model,
        );
    }

    #[test]
    fn matches_obp_on_bts_logs_with_varying_propensities() {
        let fx = obp_reference();
        let case = fx.bts_logs.case();
        let q_hat = case.broadcast(&fx.bts_logs.q_mean);
        check_case(
            &case,
            &q_hat,
            fx.bts_logs.lambda,
            fx.bts_logs.tau,
            &fx.bts_logs.estimates_mean_model,
        );
    }

    #[test]
    fn weight_diagnostics_match_obp_inputs() {
        let fx = obp_reference();
        for (case, want) in [
            (fx.random_logs.case(), &fx.random_logs.weights),
            (fx.bts_logs.case(), &fx.bts_logs.weights),
        ] {
            let w = importance_weights(&case.pscore, &case.target_prob).unwrap();
            let d = weight_diagnostics(&w).unwrap();
            assert_rel(d.ess, want.ess, 1e-12, "ess");
            assert_rel(d.max, want.max_weight, 1e-12, "max weight");
        }
    }

    #[test]
    fn reduced_predictions_equal_full_ones() {
        let fx = obp_reference();
        let case = fx.random_logs.case();
        let q_hat = case.broadcast(&fx.random_logs.q_mean);
        let a = case.n_actions;
        let q_target: Vec<f64> = (0..case.reward.len())
            .map(|i| (0..a).map(|j| q_hat[i * a + j] * case.target_dist[i * a + j]).sum())
            .collect();
        let q_logged: Vec<f64> = (0..case.reward.len())
            .map(|i| q_hat[i * a + case.action[i] as usize])
            .collect();
        let logged = LoggedBandit {
            reward: &case.reward,
            pscore: &case.pscore,
            target_prob: &case.target_prob,
        };
        let full = OpeInput {
            logged,
            model: Some(RewardPredictions::Full {
                action: &case.action,
                n_actions: a,
                q_hat: &q_hat,
                target_dist: &case.target_dist,
            }),
        };
        let reduced = OpeInput {
            logged,
            model: Some(RewardPredictions::Reduced {
                q_target: &q_target,
                q_logged: &q_logged,
            }),
        };
        for estimator in [Estimator::Dm, Estimator::Dr, Estimator::SwitchDr { tau: 5.0 }] {
            let f = estimate(estimator, &full).unwrap();
            let r = estimate(estimator, &reduced).unwrap();
            assert!((f - r).abs() <= 1e-15, "{estimator:?}: {f} vs {r}");
        }
    }

    #[test]
    fn hand_computed_example() {
        // Three rounds, two actions. w = [0.5/0.5, 0.2/0.4, 0.9/0.3] = [1, 0.5, 3].
        // IPS = (1*1 + 0.5*0 + 3*1)/3 = 4/3; clipped at 2: (1 + 0 + 2)/3 = 1;
        // SNIPS = 4 / 4.5; q = [[0.6, 0.2], [0.1, 0.3], [0.5, 0.5]] with logged actions [0, 1, 0]
        // and target rows [[0.5, 0.5], [0.8, 0.2], [0.9, 0.1]]: qbar = [0.4, 0.14, 0.5];
        // DM = 1.04/3; DR adds w (r - q(a_i)) = [0.4, -0.15, 1.5]: (1.04 + 1.75)/3;
        // Switch-DR with tau = 2 drops the third correction: (1.04 + 0.25)/3.
        let reward = [1.0, 0.0, 1.0];
        let pscore = [0.5, 0.4, 0.3];
        let target_prob = [0.5, 0.2, 0.9];
        let action = [0, 1, 0];
        let q_hat = [0.6, 0.2, 0.1, 0.3, 0.5, 0.5];
        let target_dist = [0.5, 0.5, 0.8, 0.2, 0.9, 0.1];
        let input = OpeInput {
            logged: LoggedBandit {
                reward: &reward,
                pscore: &pscore,
                target_prob: &target_prob,
            },
            model: Some(RewardPredictions::Full {
                action: &action,
                n_actions: 2,
                q_hat: &q_hat,
                target_dist: &target_dist,
            }),
        };
        let cases = [
            (Estimator::Ips, 4.0 / 3.0),
            (Estimator::ClippedIps { lambda: 2.0 }, 1.0),
            (Estimator::Snips, 4.0 / 4.5),
            (Estimator::Dm, 1.04 / 3.0),
            (Estimator::Dr, 2.79 / 3.0),
            (Estimator::SwitchDr { tau: 2.0 }, 1.29 / 3.0),
        ];
        for (estimator, want) in cases {
            let got = estimate(estimator, &input).unwrap();
            assert!((got - want).abs() < 1e-12, "{estimator:?}: {got} vs {want}");
        }
    }

    #[test]
    fn weight_diagnostics_known_cases() {
        // Equal weights: ESS = n, the top 1% (1 of 100) holds 1%.
        let d = weight_diagnostics(&[2.0; 100]).unwrap();
        assert!((d.ess - 100.0).abs() < 1e-9 && (d.top1pct_share - 0.01).abs() < 1e-12);
        assert!(!d.few_dominate);
        // One weight of 99 and 99 weights of 1: sum 198, ESS = 198^2 / (99^2 + 99) = 3.96.
        let mut w = vec![1.0; 100];
        w[37] = 99.0;
        let d = weight_diagnostics(&w).unwrap();
        assert!((d.ess - 198.0 * 198.0 / (99.0 * 99.0 + 99.0)).abs() < 1e-9);
        assert!((d.top1pct_share - 0.5).abs() < 1e-12 && !d.few_dominate);
        w[37] = 100.0;
        assert!(weight_diagnostics(&w).unwrap().few_dominate);
        // 250 rows: the top 1% is ceil(2.5) = 3 rows.
        let mut w = vec![0.0; 250];
        w[..3].copy_from_slice(&[5.0, 4.0, 1.0]);
        w[3] = 10.0;
        let d = weight_diagnostics(&w).unwrap();
        assert!((d.top1pct_share - 19.0 / 20.0).abs() < 1e-12 && d.few_dominate);
        let zero = weight_diagnostics(&[0.0; 10]).unwrap();
        assert!(zero.few_dominate && zero.ess == 0.0);
    }

    #[test]
    fn evaluate_brackets_the_estimate() {
        let fx = obp_reference();
        let case = fx.bts_logs.case();
        let q_hat = case.broadcast(&fx.bts_logs.q_mean);
        let input = OpeInput {
            logged: LoggedBandit {
                reward: &case.reward,
                pscore: &case.pscore,
                target_prob: &case.target_prob,
            },
            model: Some(RewardPredictions::Full {
                action: &case.action,
                n_actions: case.n_actions,
                q_hat: &q_hat,
                target_dist: &case.target_dist,
            }),
        };
        let cfg = BootstrapConfig {
            resamples: 1_000,
            seed: 7,
            resampling: Resampling::Poisson,
            ..BootstrapConfig::default()
        };
        for (_, estimator) in estimators(2.0, 2.0) {
            let e = evaluate(estimator, &input, &cfg).unwrap();
            let slack = 1e-12 * e.value.abs();
            assert!(e.interval.lower <= e.value + slack, "{e:?}");
            assert!(e.value <= e.interval.upper + slack, "{e:?}");
            assert_eq!(
                e.weights.ess,
                weight_diagnostics(&importance_weights(&case.pscore, &case.target_prob).unwrap())
                    .unwrap()
                    .ess
            );
            if estimator == Estimator::Dm {
                // With a per-action mean model and a uniform target, qbar_i is the same for every
                // row, so every replicate equals the estimate.
                assert!(e.interval.upper - e.interval.lower <= slack, "{e:?}");
            } else {
                assert!(e.interval.upper - e.interval.lower > 0.1 * e.value.abs(), "{e:?}");
            }
        }
    }

    #[test]
    fn evaluate_many_gives_the_one_at_a_time_values_from_shared_replicates() {
        let fx = obp_reference();
        let case = fx.bts_logs.case();
        let q_hat = case.broadcast(&fx.bts_logs.q_mean);
        let input = OpeInput {
            logged: LoggedBandit {
                reward: &case.reward,
                pscore: &case.pscore,
                target_prob: &case.target_prob,
            },
            model: Some(RewardPredictions::Full {
                action: &case.action,
                n_actions: case.n_actions,
                q_hat: &q_hat,
                target_dist: &case.target_dist,
            }),
        };
        let cfg = BootstrapConfig {
            resamples: 2_000,
            seed: 5,
            ..BootstrapConfig::default()
        };
        let all: Vec<Estimator> = estimators(2.0, 2.0).iter().map(|e| e.1).collect();
        let many = evaluate_many(&all, &input, &cfg).unwrap();
        for (estimator, joint) in all.iter().zip(&many) {
            let alone = evaluate(*estimator, &input, &cfg).unwrap();
            assert_eq!(joint.estimator, *estimator);
            assert_eq!(joint.value.to_bits(), alone.value.to_bits(), "{estimator:?}");
            assert_eq!(joint.weights, alone.weights);
            // Same distribution, different draws: the standard errors agree to the noise of
            // 2,000 replicates (about 1.6% each).
            let (a, b) = (joint.interval.std_error, alone.interval.std_error);
            assert!((a - b).abs() <= 0.08 * b + 1e-15, "{estimator:?}: {a} vs {b}");
        }
        // IPS and SNIPS share their numerator column; asking twice gives the same thing twice.
        let twice = evaluate_many(&[Estimator::Ips, Estimator::Snips, Estimator::Ips], &input, &cfg).unwrap();
        assert_eq!(twice[0], twice[2]);
        assert!(matches!(evaluate_many(&[], &input, &cfg), Err(Error::Empty { .. })));
    }

    #[test]
    fn bad_input_names_the_problem() {
        let reward = [1.0, 0.0];
        let logged = LoggedBandit {
            reward: &reward,
            pscore: &[0.5, 0.0],
            target_prob: &[0.5, 0.5],
        };
        let input = OpeInput { logged, model: None };
        let err = estimate(Estimator::Ips, &input).unwrap_err();
        assert!(err.to_string().contains("row 1"), "{err}");
        let ok = OpeInput {
            logged: LoggedBandit {
                pscore: &[0.5, 0.5],
                ..logged
            },
            model: None,
        };
        let err = estimate(Estimator::Dr, &ok).unwrap_err();
        assert!(err.to_string().contains("reward-model"), "{err}");
        let err = estimate(Estimator::ClippedIps { lambda: 0.0 }, &ok).unwrap_err();
        assert!(matches!(
            err,
            Error::Invalid {
                what: "clipped IPS lambda",
                ..
            }
        ));
        let zero_target = OpeInput {
            logged: LoggedBandit {
                target_prob: &[0.0, 0.0],
                ..ok.logged
            },
            model: None,
        };
        assert!(estimate(Estimator::Snips, &zero_target).is_err());
        let inconsistent = OpeInput {
            logged: ok.logged,
            model: Some(RewardPredictions::Full {
                action: &[0, 1],
                n_actions: 2,
                q_hat: &[0.0; 4],
                target_dist: &[0.5, 0.5, 0.7, 0.3],
            }),
        };
        let err = estimate(Estimator::Dm, &inconsistent).unwrap_err();
        assert!(err.to_string().contains("same target policy"), "{err}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn rounds() -> impl Strategy<Value = Vec<(f64, f64, f64)>> {
            prop::collection::vec((0.0_f64..5.0, 0.01_f64..=1.0, 0.0_f64..=1.0), 1..80)
        }

        proptest! {
            #[test]
            fn estimate_is_the_ratio_of_its_row_terms(rows in rounds(), lambda in 0.1_f64..20.0) {
                let reward: Vec<f64> = rows.iter().map(|r| r.0).collect();
                let pscore: Vec<f64> = rows.iter().map(|r| r.1).collect();
                let target_prob: Vec<f64> = rows.iter().map(|r| r.2).collect();
                prop_assume!(target_prob.iter().any(|&p| p > 0.0));
                let input = OpeInput {
                    logged: LoggedBandit { reward: &reward, pscore: &pscore, target_prob: &target_prob },
                    model: None,
                };
                for estimator in [Estimator::Ips, Estimator::ClippedIps { lambda }, Estimator::Snips] {
                    let value = estimate(estimator, &input).unwrap();
                    let (num, den) = row_terms(estimator, &input).unwrap();
                    let d = den.map_or(num.len() as f64, |d| d.iter().sum());
                    prop_assert!((value - num.iter().sum::<f64>() / d).abs() <= 1e-12 * value.abs().max(1.0));
                }
                // Clipping never raises IPS; SNIPS is invariant to rescaling every weight.
                let ips = estimate(Estimator::Ips, &input).unwrap();
                let clipped = estimate(Estimator::ClippedIps { lambda }, &input).unwrap();
                prop_assert!(clipped <= ips + 1e-12);
                let half: Vec<f64> = target_prob.iter().map(|p| p / 2.0).collect();
                let halved = OpeInput {
                    logged: LoggedBandit { target_prob: &half, ..input.logged },
                    model: None,
                };
                let snips = estimate(Estimator::Snips, &input).unwrap();
                prop_assert!((estimate(Estimator::Snips, &halved).unwrap() - snips).abs() <= 1e-12 * snips.abs().max(1.0));
            }

            #[test]
            fn on_policy_ips_is_the_mean_reward(rows in rounds()) {
                let reward: Vec<f64> = rows.iter().map(|r| r.0).collect();
                let pscore: Vec<f64> = rows.iter().map(|r| r.1).collect();
                let input = OpeInput {
                    logged: LoggedBandit { reward: &reward, pscore: &pscore, target_prob: &pscore },
                    model: None,
                };
                let mean = reward.iter().sum::<f64>() / reward.len() as f64;
                for estimator in [Estimator::Ips, Estimator::Snips] {
                    prop_assert!((estimate(estimator, &input).unwrap() - mean).abs() < 1e-12);
                }
                let d = weight_diagnostics(&importance_weights(&pscore, &pscore).unwrap()).unwrap();
                prop_assert!((d.ess - reward.len() as f64).abs() < 1e-9);
            }
        }
    }
}
