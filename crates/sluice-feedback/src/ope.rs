//! Off-policy evaluation of a decision log: what a target policy would have earned on the logged
//! traffic, with IPS, clipped IPS, SNIPS, DM, DR and Switch-DR (the estimators of
//! `sluice_algo::feedback::ope`, verified against Open Bandit Pipeline), percentile-bootstrap
//! intervals and importance-weight diagnostics.
//!
//! ```text
//! log ──stream──> validate each decision ──> one row per chosen action:
//!                                            (action, propensity, reward, target distribution id)
//! outcomes ──join by decision id (and action)──┘
//! rows ──> reward model q(x, a) (per-action mean, or logistic on context + one-hot action)
//!      ──> per row: w = pi_e(a|x) / propensity, qbar = sum_a pi_e(a|x) q(x, a), q(x, a_logged)
//!      ──> the chosen estimators (default all six), one Poisson bootstrap pass for all of them
//! ```
//!
//! The estimators share their bootstrap replicates (`sluice_algo::feedback::ope::
//! estimate_with_intervals`): one pass over the rows draws each row's counts once for all of
//! them. [`OpeOptions::estimators`] restricts the work to the ones asked for (`sluice ope
//! --estimators ips,snips,dr`); the reward model is fitted only when DM, DR or Switch-DR is
//! among them.
//!
//! Target policies ([`TargetPolicy`]): `uniform` over each decision's candidates (all actions of
//! the log when a decision lists none); `greedy:NAME`, the argmax of the decision's `scores.NAME`
//! (ties share the mass); `epsilon:E`, `(1 - E)` on the logging policy's greedy action (the argmax
//! of its `distribution`, or the chosen action of a decision not marked `explored`) and `E`
//! spread uniformly; or a JSON Lines file of `{"decision_id": ..., "probabilities": {action: p}}`.
//! In a slate the decision's target distribution is applied at every position (each chosen action
//! is one round, as Open Bandit Pipeline treats positions).
//!
//! Target distributions are interned: a log of 10M decisions over a handful of candidate sets
//! holds a handful of distributions, and `qbar` under the per-action mean model is computed once
//! per distribution. Memory is 24 bytes per chosen action, 16 per decision for the duplicate-id
//! check, plus the context matrix when the logistic model is asked for.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sluice_algo::feedback::bootstrap::{BootstrapConfig, BootstrapInterval};
use sluice_algo::feedback::ope::{
    Estimator, LoggedBandit, OpeInput, RewardPredictions, WeightDiagnostics, estimate_with_intervals,
    importance_weights, weight_diagnostics,
};
use sluice_algo::feedback::reward_model::{LogisticConfig, LogisticRewardModel, PerActionMean};

use crate::error::{Error, Result};
use crate::io::{for_each_line, read_decisions_strict, read_outcomes};
use crate::schema::{Decision, Loc, numeric_features};
use crate::validate::{PROB_TOLERANCE, Validator};

/// The policy to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetPolicy {
    /// Uniform over each decision's candidates.
    Uniform,
    /// Argmax of the named score array.
    Greedy(String),
    /// Epsilon-greedy around the logging policy's greedy action.
    Epsilon(f64),
    /// Per-decision probabilities from a JSON Lines file.
    File(PathBuf),
}

impl FromStr for TargetPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "uniform" {
            return Ok(Self::Uniform);
        }
        if let Some(col) = s.strip_prefix("greedy:") {
            if col.is_empty() {
                return Err(Error::Invalid("greedy:NAME needs the name of a score array".into()));
            }
            return Ok(Self::Greedy(col.to_owned()));
        }
        if let Some(e) = s.strip_prefix("epsilon:") {
            let e: f64 = e
                .parse()
                .map_err(|_| Error::Invalid(format!("epsilon:{e}: the rate must be a number in [0, 1]")))?;
            if !(0.0..=1.0).contains(&e) {
                return Err(Error::Invalid(format!("epsilon:{e}: the rate must lie in [0, 1]")));
            }
            return Ok(Self::Epsilon(e));
        }
        Ok(Self::File(PathBuf::from(s)))
    }
}

impl std::fmt::Display for TargetPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Uniform => write!(f, "uniform"),
            Self::Greedy(c) => write!(f, "greedy:{c}"),
            Self::Epsilon(e) => write!(f, "epsilon:{e}"),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The reward model behind DM, DR and Switch-DR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardModelKind {
    /// Mean reward per action.
    Mean,
    /// L2 logistic regression on `[context features, one-hot action]` (rewards in [0, 1]).
    Logistic,
}

impl FromStr for RewardModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mean" => Ok(Self::Mean),
            "logistic" => Ok(Self::Logistic),
            _ => Err(Error::Invalid(format!("reward model `{s}`: use `mean` or `logistic`"))),
        }
    }
}

/// Options of [`evaluate_log`].
#[derive(Debug, Clone)]
pub struct OpeOptions {
    /// The policy to evaluate.
    pub target: TargetPolicy,
    /// The reward model.
    pub reward_model: RewardModelKind,
    /// Outcomes joined by decision id.
    pub outcomes: Option<PathBuf>,
    /// Bootstrap settings.
    pub bootstrap: BootstrapConfig,
    /// Weight cap of clipped IPS.
    pub clip: f64,
    /// Threshold of Switch-DR.
    pub switch_tau: f64,
    /// Estimators to compute, by name ([`ESTIMATORS`]), in report order.
    pub estimators: Vec<String>,
}

/// Every estimator's name, in the default report order.
pub const ESTIMATORS: [&str; 6] = ["ips", "clipped_ips", "snips", "dm", "dr", "switch_dr"];

/// Parses a comma-separated list of estimator names (`all` for every one), keeping the order
/// given and dropping repeats.
pub fn parse_estimators(list: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let names: Vec<&str> = if name == "all" {
            ESTIMATORS.to_vec()
        } else if let Some(&n) = ESTIMATORS
            .iter()
            .find(|&&e| e == name.to_ascii_lowercase().replace('-', "_"))
        {
            vec![n]
        } else {
            return Err(Error::Invalid(format!(
                "unknown estimator `{name}`; choose from {} (comma-separated), or all",
                ESTIMATORS.join(", ")
            )));
        };
        for n in names {
            if !out.iter().any(|o| o == n) {
                out.push(n.to_owned());
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Invalid(format!(
            "no estimator given; choose from {} (comma-separated), or all",
            ESTIMATORS.join(", ")
        )));
    }
    Ok(out)
}

impl Default for OpeOptions {
    fn default() -> Self {
        Self {
            target: TargetPolicy::Uniform,
            reward_model: RewardModelKind::Mean,
            outcomes: None,
            bootstrap: BootstrapConfig::default(),
            clip: 10.0,
            switch_tau: 10.0,
            estimators: ESTIMATORS.iter().map(|&e| e.to_owned()).collect(),
        }
    }
}

/// One estimate.
#[derive(Debug, Clone, Serialize)]
pub struct EstimateRow {
    /// Estimator name (`ips`, `clipped_ips`, `snips`, `dm`, `dr`, `switch_dr`).
    pub estimator: String,
    /// Point estimate.
    pub value: f64,
    /// Bootstrap interval.
    pub interval: BootstrapInterval,
}

/// Result of evaluating a target policy on a log.
#[derive(Debug, Clone, Serialize)]
pub struct OpeReport {
    /// The log.
    pub file: String,
    /// The target policy, as given.
    pub target: String,
    /// The reward model.
    pub reward_model: RewardModelKind,
    /// Decisions read.
    pub decisions: u64,
    /// Rounds evaluated (chosen actions).
    pub rounds: u64,
    /// Distinct actions.
    pub actions: usize,
    /// Rounds without a reward (no inline reward, no outcome): counted as reward 0.
    pub missing_rewards: u64,
    /// Mean logged reward: the logging policy's own value.
    pub logged_value: f64,
    /// Weight cap of clipped IPS.
    pub clip: f64,
    /// Threshold of Switch-DR.
    pub switch_tau: f64,
    /// The estimates.
    pub estimates: Vec<EstimateRow>,
    /// Importance-weight diagnostics.
    pub weights: WeightDiagnostics,
    /// Things a reader must know before trusting the numbers.
    pub warnings: Vec<String>,
}

/// Action ids to dense indices, in order of first appearance.
#[derive(Debug, Default)]
pub struct Interner {
    index: HashMap<String, u32>,
    /// Names by index.
    pub names: Vec<String>,
}

impl Interner {
    /// The index of `name`, adding it when new.
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.index.insert(name.to_owned(), i);
        self.names.push(name.to_owned());
        i
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }
}

/// Every action of the log, resolved after the pass.
const ALL: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DistKey {
    /// `eps` spread over `set`, `1 - eps` over `greedy`.
    Mix { eps: u64, set: u32, greedy: Vec<u32> },
}

#[derive(Debug, Clone)]
enum DistSpec {
    Mix { eps: f64, set: u32, greedy: Vec<u32> },
    Explicit(Vec<(u32, f64)>),
}

/// Rows of the evaluation and the distributions they point to.
#[derive(Debug, Default)]
struct Rows {
    actions: Interner,
    action: Vec<u32>,
    pscore: Vec<f64>,
    reward: Vec<f64>,
    dist: Vec<u32>,
    sets: Vec<Vec<u32>>,
    set_index: HashMap<Vec<u32>, u32>,
    dists: Vec<DistSpec>,
    dist_index: HashMap<DistKey, u32>,
    /// The last `mix` key and its index: consecutive decisions usually share their target
    /// distribution, and this skips hashing the key.
    last_mix: Option<(DistKey, u32)>,
    features: Interner,
    context: Vec<Vec<(u32, f64)>>,
    missing_rewards: u64,
    decisions: u64,
}

impl Rows {
    fn set_of(&mut self, d: &Decision) -> u32 {
        if d.candidates.is_empty() {
            return ALL;
        }
        let ids: Vec<u32> = d.candidates.iter().map(|c| self.actions.id(c)).collect();
        let n = self.sets.len() as u32;
        *self.set_index.entry(ids.clone()).or_insert_with(|| {
            self.sets.push(ids);
            n
        })
    }

    fn mix(&mut self, eps: f64, set: u32, mut greedy: Vec<u32>) -> u32 {
        greedy.sort_unstable();
        greedy.dedup();
        let key = DistKey::Mix {
            eps: eps.to_bits(),
            set,
            greedy: greedy.clone(),
        };
        if let Some((last, id)) = &self.last_mix
            && *last == key
        {
            return *id;
        }
        let n = self.dists.len() as u32;
        let id = *self.dist_index.entry(key.clone()).or_insert_with(|| {
            self.dists.push(DistSpec::Mix { eps, set, greedy });
            n
        });
        self.last_mix = Some((key, id));
        id
    }
}

fn argmax_set(values: &[f64]) -> Vec<usize> {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (0..values.len()).filter(|&i| values[i] == top).collect()
}

type FilePolicy = HashMap<String, Vec<(String, f64)>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyLine {
    decision_id: String,
    probabilities: HashMap<String, f64>,
}

/// Reads a target-policy file: JSON Lines of `{"decision_id", "probabilities": {action: p}}`.
fn read_policy_file(path: &Path) -> Result<FilePolicy> {
    let mut out = HashMap::new();
    for_each_line(path, |line, text| {
        let loc = Loc::line(path, line);
        let p: PolicyLine = serde_json::from_str(text).map_err(|e| Error::Format {
            at: format!("{loc}:{}", e.column()),
            message: format!(
                "{e}; a target-policy file holds lines {{\"decision_id\": ..., \"probabilities\": {{\"action\": p}}}}"
            ),
        })?;
        let mut probs: Vec<(String, f64)> = p.probabilities.into_iter().collect();
        probs.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some((a, x)) = probs.iter().find(|(_, x)| !(0.0..=1.0).contains(x)) {
            return Err(Error::Format {
                at: loc.to_string(),
                message: format!("probabilities.{a} = {x}: target probabilities must lie in [0, 1]"),
            });
        }
        let total: f64 = probs.iter().map(|(_, x)| x).sum();
        if (total - 1.0).abs() > PROB_TOLERANCE {
            return Err(Error::Format {
                at: loc.to_string(),
                message: format!("probabilities sum to {total}; a target distribution must sum to 1 (within 1e-6)"),
            });
        }
        if out.insert(p.decision_id.clone(), probs).is_some() {
            return Err(Error::Format {
                at: loc.to_string(),
                message: format!("decision {:?} appears twice", p.decision_id),
            });
        }
        Ok(())
    })?;
    Ok(out)
}

type OutcomeMap = HashMap<(String, Option<String>), f64>;

fn read_outcome_map(path: &Path) -> Result<OutcomeMap> {
    let mut out: OutcomeMap = HashMap::new();
    read_outcomes(path, |loc, o| {
        if !o.reward.is_finite() {
            return Err(Error::Format {
                at: loc.to_string(),
                message: format!("reward = {}: rewards must be finite numbers", o.reward),
            });
        }
        *out.entry((o.decision_id, o.action)).or_default() += o.reward;
        Ok(())
    })?;
    Ok(out)
}

/// Reads the log into evaluation rows, validating every decision.
fn collect(path: &Path, opts: &OpeOptions) -> Result<Rows> {
    let file_policy = match &opts.target {
        TargetPolicy::File(p) => Some(read_policy_file(p)?),
        _ => None,
    };
    let outcomes = opts.outcomes.as_deref().map(read_outcome_map).transpose()?;
    let logistic = opts.reward_model == RewardModelKind::Logistic;
    let mut rows = Rows::default();
    let mut validator = Validator::new();
    let mut feats = Vec::new();
    read_decisions_strict(path, |loc, d| {
        let problems = validator.check(&loc, &d);
        if let Some(p) = problems.first() {
            let more = if problems.len() > 1 {
                format!(" (and {} more in this record)", problems.len() - 1)
            } else {
                String::new()
            };
            return Err(Error::Invalid(format!(
                "{p}{more}; run `sluice decisions validate` for every problem of the log"
            )));
        }
        rows.decisions += 1;
        let set = rows.set_of(&d);
        let dist = match &opts.target {
            TargetPolicy::Uniform => rows.mix(1.0, set, Vec::new()),
            TargetPolicy::Greedy(col) => {
                let scores = d.scores.get(col).ok_or_else(|| {
                    Error::Invalid(format!(
                        "{loc}: no `scores.{col}`; greedy:{col} needs that score array on every decision"
                    ))
                })?;
                let greedy = argmax_set(scores)
                    .into_iter()
                    .map(|k| rows.actions.id(&d.candidates[k]))
                    .collect();
                rows.mix(0.0, set, greedy)
            }
            TargetPolicy::Epsilon(e) => {
                let greedy: Vec<u32> = match (&d.distribution, d.chosen.as_slice()) {
                    (Some(dist), _) => argmax_set(dist)
                        .into_iter()
                        .map(|k| rows.actions.id(&d.candidates[k]))
                        .collect(),
                    (None, [c]) if !d.explored => vec![rows.actions.id(&c.action)],
                    _ => {
                        return Err(Error::Invalid(format!(
                            "{loc}: epsilon:{e} needs the logging policy's greedy action: log `distribution`, or \
                             one chosen action with `explored` false"
                        )));
                    }
                };
                rows.mix(*e, set, greedy)
            }
            TargetPolicy::File(p) => {
                let probs = file_policy
                    .as_ref()
                    .and_then(|f| f.get(&d.decision_id))
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "{loc}: decision {:?} has no line in the target-policy file {}",
                            d.decision_id,
                            p.display()
                        ))
                    })?;
                let mut v: Vec<(u32, f64)> = probs.iter().map(|(a, x)| (rows.actions.id(a), *x)).collect();
                v.sort_unstable_by_key(|e| e.0);
                rows.dists.push(DistSpec::Explicit(v));
                (rows.dists.len() - 1) as u32
            }
        };
        if logistic {
            feats.clear();
            numeric_features(&d.context, &mut feats);
        }
        let single = d.chosen.len() == 1;
        for c in &d.chosen {
            let reward = c.reward.or_else(|| {
                let o = outcomes.as_ref()?;
                o.get(&(d.decision_id.clone(), Some(c.action.clone())))
                    .or_else(|| single.then(|| o.get(&(d.decision_id.clone(), None))).flatten())
                    .copied()
            });
            if reward.is_none() {
                rows.missing_rewards += 1;
            }
            let a = rows.actions.id(&c.action);
            rows.action.push(a);
            rows.pscore.push(c.propensity.expect("validated"));
            rows.reward.push(reward.unwrap_or(0.0));
            rows.dist.push(dist);
            if logistic {
                let ctx = feats.iter().map(|(k, v)| (rows.features.id(k), *v)).collect();
                rows.context.push(ctx);
            }
        }
        Ok(())
    })?;
    if rows.action.is_empty() {
        return Err(Error::Invalid(format!("{}: the log has no decisions", path.display())));
    }
    Ok(rows)
}

/// A resolved target distribution: `(action, probability)` sorted by action.
fn resolve(spec: &DistSpec, sets: &[Vec<u32>], n_actions: usize) -> Vec<(u32, f64)> {
    match spec {
        DistSpec::Explicit(v) => v.clone(),
        DistSpec::Mix { eps, set, greedy } => {
            let members: Vec<u32> = if *set == ALL {
                (0..n_actions as u32).collect()
            } else {
                let mut m = sets[*set as usize].clone();
                m.sort_unstable();
                m.dedup();
                m
            };
            let base = eps / members.len() as f64;
            let top = if greedy.is_empty() {
                0.0
            } else {
                (1.0 - eps) / greedy.len() as f64
            };
            members
                .into_iter()
                .map(|a| (a, base + if greedy.binary_search(&a).is_ok() { top } else { 0.0 }))
                .filter(|&(_, p)| p > 0.0)
                .collect()
        }
    }
}

fn prob_of(dist: &[(u32, f64)], a: u32) -> f64 {
    dist.binary_search_by_key(&a, |e| e.0).map_or(0.0, |i| dist[i].1)
}

/// Evaluates a target policy on a decision log.
pub fn evaluate_log(path: &Path, opts: &OpeOptions) -> Result<OpeReport> {
    let rows = collect(path, opts)?;
    let n = rows.action.len();
    let n_actions = rows.actions.names.len();
    let dists: Vec<Vec<(u32, f64)>> = rows.dists.iter().map(|s| resolve(s, &rows.sets, n_actions)).collect();
    let target_prob: Vec<f64> = rows
        .action
        .iter()
        .zip(&rows.dist)
        .map(|(&a, &d)| prob_of(&dists[d as usize], a))
        .collect();
    let chosen = opts
        .estimators
        .iter()
        .map(|name| {
            Ok((
                name.as_str(),
                match name.as_str() {
                    "ips" => Estimator::Ips,
                    "clipped_ips" => Estimator::ClippedIps { lambda: opts.clip },
                    "snips" => Estimator::Snips,
                    "dm" => Estimator::Dm,
                    "dr" => Estimator::Dr,
                    "switch_dr" => Estimator::SwitchDr { tau: opts.switch_tau },
                    other => {
                        return Err(Error::Invalid(format!(
                            "unknown estimator `{other}`; choose from {}",
                            ESTIMATORS.join(", ")
                        )));
                    }
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    if chosen.is_empty() {
        return Err(Error::Invalid(format!(
            "no estimator chosen; choose from {}",
            ESTIMATORS.join(", ")
        )));
    }
    let needs_model = chosen.iter().any(|(_, e)| e.needs_model());
    let (q_target, q_logged) = match opts.reward_model {
        _ if !needs_model => (Vec::new(), Vec::new()),
        RewardModelKind::Mean => {
            let m = PerActionMean::fit(&rows.action, &rows.reward, n_actions)?;
            let q = m.means();
            let per_dist: Vec<f64> = dists
                .iter()
                .map(|d| d.iter().map(|&(a, p)| p * q[a as usize]).sum())
                .collect();
            (
                rows.dist.iter().map(|&d| per_dist[d as usize]).collect::<Vec<f64>>(),
                rows.action.iter().map(|&a| q[a as usize]).collect::<Vec<f64>>(),
            )
        }
        RewardModelKind::Logistic => {
            if let Some(i) = rows.reward.iter().position(|r| !(0.0..=1.0).contains(r)) {
                return Err(Error::Invalid(format!(
                    "round {} has reward {}; the logistic reward model needs rewards in [0, 1] (use --reward-model mean)",
                    i + 1,
                    rows.reward[i]
                )));
            }
            let dim = rows.features.names.len();
            let mut x = vec![0.0; n * dim];
            for (i, ctx) in rows.context.iter().enumerate() {
                for &(k, v) in ctx {
                    x[i * dim + k as usize] = v;
                }
            }
            let mut eye = vec![0.0; n_actions * n_actions];
            for a in 0..n_actions {
                eye[a * n_actions + a] = 1.0;
            }
            let model = LogisticRewardModel::fit(
                &x,
                dim,
                &eye,
                n_actions,
                &rows.action,
                &rows.reward,
                &LogisticConfig::default(),
            )?;
            let mut q = vec![0.0; n_actions];
            let mut qt = Vec::with_capacity(n);
            let mut ql = Vec::with_capacity(n);
            for i in 0..n {
                model.predict_row(&x[i * dim..(i + 1) * dim], &mut q);
                qt.push(
                    dists[rows.dist[i] as usize]
                        .iter()
                        .map(|&(a, p)| p * q[a as usize])
                        .sum(),
                );
                ql.push(q[rows.action[i] as usize]);
            }
            (qt, ql)
        }
    };
    let input = OpeInput {
        logged: LoggedBandit {
            reward: &rows.reward,
            pscore: &rows.pscore,
            target_prob: &target_prob,
        },
        model: needs_model.then_some(RewardPredictions::Reduced {
            q_target: &q_target,
            q_logged: &q_logged,
        }),
    };
    let weights = weight_diagnostics(&importance_weights(&rows.pscore, &target_prob)?)?;
    // SNIPS is undefined when every weight is 0 (a warning below says so).
    let chosen: Vec<(&str, Estimator)> = chosen
        .into_iter()
        .filter(|(_, e)| !(*e == Estimator::Snips && weights.sum == 0.0))
        .collect();
    let mut estimates = Vec::new();
    if !chosen.is_empty() {
        let ests: Vec<Estimator> = chosen.iter().map(|c| c.1).collect();
        for ((name, _), (value, interval)) in
            chosen
                .iter()
                .zip(estimate_with_intervals(&ests, &input, &opts.bootstrap)?)
        {
            estimates.push(EstimateRow {
                estimator: (*name).to_owned(),
                value,
                interval,
            });
        }
    }
    let mut warnings = Vec::new();
    if weights.sum == 0.0 {
        warnings.push(
            "the target policy never takes a logged action: every importance weight is 0, so IPS-type \
             estimates are 0 and SNIPS is undefined; only DM (a model's guess) says anything"
                .into(),
        );
    } else if weights.few_dominate {
        warnings.push(format!(
            "the top 1% of rounds hold {:.0}% of the importance weight (max weight {:.1}): estimates rest on a \
             few rounds; prefer SNIPS/DR/Switch-DR and read the intervals",
            100.0 * weights.top1pct_share,
            weights.max
        ));
    }
    if weights.ess_share < 0.01 && weights.sum > 0.0 {
        warnings.push(format!(
            "effective sample size {:.0} is {:.2}% of {n} rounds: the target policy is far from the logging policy",
            weights.ess,
            100.0 * weights.ess_share
        ));
    }
    if rows.missing_rewards > 0 {
        warnings.push(format!(
            "{} of {n} rounds have no reward (none inline, no outcome): counted as 0 (a click that never came)",
            rows.missing_rewards
        ));
    }
    Ok(OpeReport {
        file: path.display().to_string(),
        target: opts.target.to_string(),
        reward_model: opts.reward_model,
        decisions: rows.decisions,
        rounds: n as u64,
        actions: n_actions,
        missing_rewards: rows.missing_rewards,
        logged_value: rows.reward.iter().sum::<f64>() / n as f64,
        clip: opts.clip,
        switch_tau: opts.switch_tau,
        estimates,
        weights,
        warnings,
    })
}
