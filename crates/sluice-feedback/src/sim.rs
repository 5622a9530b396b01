//! A feedback-loop simulator: a recommender retrained every round on the clicks it caused.
//!
//! The world (all drawn from the seed):
//!
//! - `users` users and `items` items with latent vectors `u, v ~ N(0, I_dim)` and an item quality
//!   `b ~ N(0, 0.5^2)`; true relevance `gamma(u, i) = sigmoid(1.5 (u . v_i) / sqrt(dim) + b_i - 1.5)`;
//! - slates of `slate` items; position `k` (0 = top) is examined with probability
//!   `theta_k = 1 / (k + 1)` and a click happens with probability `theta_k gamma(u, i)` (the
//!   position-based model);
//! - the recommender knows each user's segment (the nearest of `segments` random directions, a
//!   coarse but informative feature) and scores items by the naive click-through rate of
//!   (segment, item) in everything it logged so far, `(clicks + 1) / (impressions + 4)` (prior mean
//!   0.25, no position correction): the usual first recommender, and the one that loops.
//!
//! Round 0 serves uniformly random slates to everyone (a cold start). Then each round every user
//! gets one slate, clicks are drawn, and the model is refit on all logs. Three scenarios run on the
//! same world, each with its own random stream:
//!
//! | scenario          | slate served                                                                  |
//! |-------------------|-------------------------------------------------------------------------------|
//! | `no_exploration`  | the model's top `slate` items                                                 |
//! | `epsilon_greedy`  | with probability `epsilon` a uniformly random slate, else the top items       |
//! | `holdout`         | a salted-hash holdout of `holdout` of the users always gets random slates     |
//!
//! Logged propensities are per-position marginals: under epsilon-greedy item `i` is at position
//! `k` with probability `epsilon / items + (1 - epsilon) 1{i is the model's k-th item}`; for a
//! random slate `1 / items`; for the greedy slate 1.
//!
//! Per round: exposure Gini and catalogue coverage of that round's impressions, and the true
//! utility, the expected clicks per user `sum_k theta_k gamma(u, slate_k)`, next to the oracle's
//! (the truly best slate per user). Then off-policy evaluation of a candidate policy, "show each
//! user the item a new model ranks first" (the true relevance plus noise `N(0, 0.05^2)`, fixed
//! per user and item), whose true value `mean_u theta_0 gamma(u, pi(u))` the simulator knows:
//! IPS, SNIPS and DR (model: the scenario's final segment CTR) with bootstrap intervals, from the
//! top-position impressions of all rounds of each scenario (the holdout scenario's held-out users
//! only: the rest were served deterministically, without support for the candidate).
//!
//! Determinism: the same config gives the same report, bit for bit.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use sluice_algo::feedback::bootstrap::{BootstrapConfig, BootstrapInterval};
use sluice_algo::feedback::holdout::Holdout;
use sluice_algo::feedback::loop_metrics::{catalogue_coverage, gini};
use sluice_algo::feedback::ope::{Estimator, LoggedBandit, OpeInput, RewardPredictions, estimate_with_intervals};

use crate::error::{Error, Result};

/// Simulator settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Rounds after the cold start.
    pub rounds: usize,
    /// Users (each gets one slate per round).
    pub users: usize,
    /// Items in the catalogue.
    pub items: usize,
    /// Items per slate.
    pub slate: usize,
    /// Latent dimension of the true preferences.
    pub dim: usize,
    /// User segments the recommender sees.
    pub segments: usize,
    /// Exploration rate of the epsilon-greedy scenario.
    pub epsilon: f64,
    /// Share of users held out in the holdout scenario.
    pub holdout: f64,
    /// Bootstrap resamples of the OPE intervals.
    pub resamples: usize,
    /// Seed of everything.
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            rounds: 20,
            users: 2000,
            items: 100,
            slate: 5,
            dim: 8,
            segments: 10,
            epsilon: 0.2,
            holdout: 0.1,
            resamples: 1000,
            seed: 7,
        }
    }
}

/// The three scenarios, in report order.
pub const SCENARIOS: [&str; 3] = ["no_exploration", "epsilon_greedy", "holdout"];

/// One scenario's metrics in one round.
#[derive(Debug, Clone, Serialize)]
pub struct RoundMetrics {
    /// Round (0 = cold start).
    pub round: usize,
    /// Scenario name.
    pub scenario: &'static str,
    /// Exposure Gini over the catalogue.
    pub gini: f64,
    /// Share of the catalogue shown.
    pub coverage: f64,
    /// True expected clicks per user.
    pub utility: f64,
    /// Observed clicks per impression.
    pub ctr: f64,
}

/// One off-policy estimate of the candidate policy.
#[derive(Debug, Clone, Serialize)]
pub struct SimEstimate {
    /// Scenario whose logs were used.
    pub scenario: &'static str,
    /// Estimator.
    pub estimator: &'static str,
    /// Rounds (top-position impressions) used.
    pub rows: usize,
    /// Estimate.
    pub value: f64,
    /// Bootstrap interval.
    pub interval: BootstrapInterval,
    /// Whether the interval contains the true value.
    pub covers_truth: bool,
}

/// Result of a simulation.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    /// Settings.
    pub config: SimConfig,
    /// Examination probability per position.
    pub theta: Vec<f64>,
    /// Expected clicks per user of the truly best slates.
    pub oracle_utility: f64,
    /// Per round and scenario.
    pub rounds: Vec<RoundMetrics>,
    /// True value of the candidate policy (clicks per top-position impression).
    pub candidate_true_value: f64,
    /// OPE estimates of the candidate policy.
    pub estimates: Vec<SimEstimate>,
}

impl SimReport {
    /// The metric series of one scenario.
    pub fn series(&self, scenario: &str) -> impl Iterator<Item = &RoundMetrics> {
        self.rounds.iter().filter(move |r| r.scenario == scenario)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

struct World {
    gamma: Vec<f64>,
    segment: Vec<usize>,
    theta: Vec<f64>,
    candidate: Vec<usize>,
}

fn normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let x: f64 = StandardNormal.sample(&mut *rng);
            x
        })
        .collect()
}

fn world(c: &SimConfig) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let (u, v) = (normals(&mut rng, c.users * c.dim), normals(&mut rng, c.items * c.dim));
    let b: Vec<f64> = normals(&mut rng, c.items).into_iter().map(|x| 0.5 * x).collect();
    let centers = normals(&mut rng, c.segments * c.dim);
    let scale = (c.dim as f64).sqrt();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut gamma = vec![0.0; c.users * c.items];
    let mut segment = vec![0; c.users];
    for user in 0..c.users {
        let uu = &u[user * c.dim..(user + 1) * c.dim];
        for item in 0..c.items {
            let s = dot(uu, &v[item * c.dim..(item + 1) * c.dim]) / scale;
            gamma[user * c.items + item] = sigmoid(1.5 * s + b[item] - 1.5);
        }
        segment[user] = (0..c.segments)
            .max_by(|&a, &b| {
                dot(uu, &centers[a * c.dim..(a + 1) * c.dim]).total_cmp(&dot(uu, &centers[b * c.dim..(b + 1) * c.dim]))
            })
            .unwrap_or(0);
    }
    let candidate = (0..c.users)
        .map(|user| {
            let noisy: Vec<f64> = (0..c.items)
                .map(|i| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    gamma[user * c.items + i] + 0.05 * z
                })
                .collect();
            argmax(&noisy)
        })
        .collect();
    World {
        gamma,
        segment,
        theta: (0..c.slate).map(|k| 1.0 / (k + 1) as f64).collect(),
        candidate,
    }
}

fn argmax(x: &[f64]) -> usize {
    (0..x.len()).fold(0, |best, i| if x[i] > x[best] { i } else { best })
}

/// Indices of the `k` largest values, best first (ties: lower index first).
fn top_k(x: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[b].total_cmp(&x[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

fn random_slate(rng: &mut ChaCha8Rng, items: usize, k: usize) -> Vec<usize> {
    rand::seq::index::sample(rng, items, k).into_vec()
}

/// A top-position impression kept for OPE.
struct TopRow {
    user: usize,
    item: usize,
    pscore: f64,
    click: bool,
}

/// Runs the simulation.
pub fn simulate(c: &SimConfig) -> Result<SimReport> {
    if c.users == 0 || c.items < 2 || c.slate == 0 || c.slate > c.items || c.dim == 0 || c.segments == 0 {
        return Err(Error::Invalid(format!(
            "simulator: need users >= 1, items >= 2, 1 <= slate <= items, dim >= 1, segments >= 1 (got users {}, \
             items {}, slate {}, dim {}, segments {})",
            c.users, c.items, c.slate, c.dim, c.segments
        )));
    }
    if !(0.0..=1.0).contains(&c.epsilon) || !(0.0..1.0).contains(&c.holdout) {
        return Err(Error::Invalid(
            "simulator: epsilon must lie in [0, 1] and the holdout share in [0, 1)".into(),
        ));
    }
    let w = world(c);
    let oracle_utility = (0..c.users)
        .map(|u| {
            let g = &w.gamma[u * c.items..(u + 1) * c.items];
            top_k(g, c.slate)
                .iter()
                .zip(&w.theta)
                .map(|(&i, t)| t * g[i])
                .sum::<f64>()
        })
        .sum::<f64>()
        / c.users as f64;
    let holdout = Holdout::new(format!("sim-{}", c.seed), c.holdout)?;
    let held: Vec<bool> = (0..c.users).map(|u| holdout.contains_u64(u as u64)).collect();
    let candidate_true_value = (0..c.users)
        .map(|u| w.theta[0] * w.gamma[u * c.items + w.candidate[u]])
        .sum::<f64>()
        / c.users as f64;
    let mut rounds = Vec::new();
    let mut estimates = Vec::new();
    for (s_idx, &scenario) in SCENARIOS.iter().enumerate() {
        let mut rng =
            ChaCha8Rng::seed_from_u64(c.seed ^ (0x5eed_0000 + s_idx as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut clicks = vec![0.0; c.segments * c.items];
        let mut shown = vec![0.0; c.segments * c.items];
        let mut top_rows = Vec::new();
        for round in 0..=c.rounds {
            let scores: Vec<f64> = clicks.iter().zip(&shown).map(|(k, n)| (k + 1.0) / (n + 4.0)).collect();
            let greedy: Vec<Vec<usize>> = (0..c.segments)
                .map(|g| top_k(&scores[g * c.items..(g + 1) * c.items], c.slate))
                .collect();
            let mut exposure = vec![0.0; c.items];
            let (mut utility, mut n_clicks) = (0.0, 0.0);
            let mut new_clicks = Vec::with_capacity(c.users * c.slate);
            for (user, (&seg, &is_held)) in w.segment.iter().zip(&held).enumerate() {
                let explore_all = round == 0
                    || match scenario {
                        "epsilon_greedy" => rng.random::<f64>() < c.epsilon,
                        "holdout" => is_held,
                        _ => false,
                    };
                let slate = if explore_all {
                    random_slate(&mut rng, c.items, c.slate)
                } else {
                    greedy[seg].clone()
                };
                for (k, &item) in slate.iter().enumerate() {
                    let g = w.gamma[user * c.items + item];
                    utility += w.theta[k] * g;
                    exposure[item] += 1.0;
                    let click = rng.random::<f64>() < w.theta[k] * g;
                    n_clicks += f64::from(u8::from(click));
                    new_clicks.push((seg, item, click));
                    if k == 0 && round > 0 && (scenario != "holdout" || is_held) {
                        let random = 1.0 / c.items as f64;
                        let pscore = match scenario {
                            "epsilon_greedy" => {
                                c.epsilon * random + if greedy[seg][0] == item { 1.0 - c.epsilon } else { 0.0 }
                            }
                            "holdout" => random,
                            _ => 1.0,
                        };
                        top_rows.push(TopRow {
                            user,
                            item,
                            pscore,
                            click,
                        });
                    }
                }
            }
            for (seg, item, click) in new_clicks {
                shown[seg * c.items + item] += 1.0;
                clicks[seg * c.items + item] += f64::from(u8::from(click));
            }
            rounds.push(RoundMetrics {
                round,
                scenario,
                gini: gini(&exposure)?,
                coverage: catalogue_coverage(&exposure)?,
                utility: utility / c.users as f64,
                ctr: n_clicks / (c.users * c.slate) as f64,
            });
        }
        // OPE of the candidate on this scenario's top-position logs.
        let scores: Vec<f64> = clicks.iter().zip(&shown).map(|(k, n)| (k + 1.0) / (n + 4.0)).collect();
        let reward: Vec<f64> = top_rows.iter().map(|r| f64::from(u8::from(r.click))).collect();
        let pscore: Vec<f64> = top_rows.iter().map(|r| r.pscore).collect();
        let target: Vec<f64> = top_rows
            .iter()
            .map(|r| f64::from(u8::from(w.candidate[r.user] == r.item)))
            .collect();
        let q = |r: &TopRow, item: usize| w.theta[0] * scores[w.segment[r.user] * c.items + item];
        let q_target: Vec<f64> = top_rows.iter().map(|r| q(r, w.candidate[r.user])).collect();
        let q_logged: Vec<f64> = top_rows.iter().map(|r| q(r, r.item)).collect();
        let input = OpeInput {
            logged: LoggedBandit {
                reward: &reward,
                pscore: &pscore,
                target_prob: &target,
            },
            model: Some(RewardPredictions::Reduced {
                q_target: &q_target,
                q_logged: &q_logged,
            }),
        };
        let boot = BootstrapConfig {
            resamples: c.resamples,
            seed: c.seed,
            ..BootstrapConfig::default()
        };
        let snips_defined = target.iter().any(|&t| t != 0.0);
        let chosen: Vec<(&'static str, Estimator)> = [
            ("ips", Estimator::Ips),
            ("snips", Estimator::Snips),
            ("dr", Estimator::Dr),
        ]
        .into_iter()
        .filter(|(_, e)| *e != Estimator::Snips || snips_defined)
        .collect();
        let ests: Vec<Estimator> = chosen.iter().map(|c| c.1).collect();
        // One bootstrap pass for the three estimators (shared replicates).
        for ((name, _), (value, interval)) in chosen.iter().zip(estimate_with_intervals(&ests, &input, &boot)?) {
            estimates.push(SimEstimate {
                scenario,
                estimator: name,
                rows: top_rows.len(),
                value,
                covers_truth: interval.lower <= candidate_true_value && candidate_true_value <= interval.upper,
                interval,
            });
        }
    }
    Ok(SimReport {
        config: c.clone(),
        theta: w.theta,
        oracle_utility,
        rounds,
        candidate_true_value,
        estimates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SimConfig {
        SimConfig {
            rounds: 12,
            users: 600,
            items: 60,
            resamples: 200,
            ..SimConfig::default()
        }
    }

    #[test]
    fn deterministic() {
        let a = serde_json::to_string(&simulate(&small()).unwrap()).unwrap();
        let b = serde_json::to_string(&simulate(&small()).unwrap()).unwrap();
        assert_eq!(a, b);
        let other = SimConfig { seed: 8, ..small() };
        assert_ne!(a, serde_json::to_string(&simulate(&other).unwrap()).unwrap());
    }

    #[test]
    fn the_loop_forms_without_exploration_and_is_broken_with_it() {
        let r = simulate(&small()).unwrap();
        let last = |s: &str| r.series(s).last().unwrap().clone();
        let (greedy, eps) = (last("no_exploration"), last("epsilon_greedy"));
        // Cold start is uniform: every scenario starts with the same low concentration.
        let first = r.series("no_exploration").next().unwrap();
        assert!(first.gini < 0.3, "{first:?}");
        // Without exploration exposure concentrates far more than with it.
        assert!(greedy.gini > first.gini + 0.3, "{greedy:?}");
        assert!(eps.gini < greedy.gini, "{eps:?} vs {greedy:?}");
        assert!(eps.coverage > greedy.coverage);
        // No policy beats the oracle.
        for m in &r.rounds {
            assert!(m.utility <= r.oracle_utility + 1e-12, "{m:?}");
        }
        // The deterministic log cannot evaluate the candidate: IPS sees only the rows where the
        // logged greedy item happens to equal the candidate's, and is far below the truth.
        let ips = |s: &str| {
            r.estimates
                .iter()
                .find(|e| e.scenario == s && e.estimator == "ips")
                .unwrap()
        };
        assert!(ips("no_exploration").value < 0.8 * r.candidate_true_value, "{r:#?}");
        // Randomised data is unbiased: its interval covers the truth.
        assert!(
            ips("epsilon_greedy").covers_truth || ips("holdout").covers_truth,
            "{r:#?}"
        );
    }
}
