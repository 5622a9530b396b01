//! Retraining policies: after each monitored batch, decide whether to retrain and on which
//! batches.
//!
//! A policy is configuration (TOML, tagged by `kind`); [`PolicyState`] is what the monitor
//! remembers between batches, serialisable so a restarted monitor resumes where it stopped;
//! [`decide`] folds one [`BatchOutcome`] into the state and returns a [`RetrainDecision`].
//!
//! | `kind`       | retrains after batch `t` when                                                       | `train_on`                                   |
//! |--------------|--------------------------------------------------------------------------------------|----------------------------------------------|
//! | `periodic`   | `every_batches` batches, or `every_days` days, have passed since the last training | per `train_on` (below)                       |
//! | `triggered`  | an enabled alert (drift, performance, quality) was raised since the last training and at least `min_batches_between` batches have arrived since it | per `train_on` |
//! | `continuous` | always                                                                               | per `train_on`                               |
//! | `ensemble`   | `window_batches` batches have arrived since the last window closed                  | the batches of that window; the oldest models beyond `keep` are retired |
//!
//! `train_on = "since_last_training"` (the default) trains on the batches that arrived since the
//! last training, the current one included; `"since_baseline"` on the baseline (if the state
//! names one) and every batch since.
//!
//! Counting: "batches since the last training" counts batches received, the current one
//! included, so `every_batches = 4` retrains on every fourth batch. Before any retraining the
//! deployed model counts as trained on the baseline just before the first batch: the counters
//! and the `every_days` clock start there (at the baseline's time if
//! [`PolicyState::with_baseline`] gave one, else at the first batch's time).
//!
//! A triggered alert inside the `min_batches_between` cooldown is deferred, not dropped: the
//! policy retrains on the first batch after the cooldown even if that batch raised no alert,
//! because the data that raised it has not been trained on yet. Alerts whose signal is switched
//! off are ignored (and said so in the reason).
//!
//! Invariants: batches are decided in increasing `index` order with non-decreasing `time`; a
//! replayed or out-of-order batch is an error and leaves the state unchanged, so re-running a
//! monitor on batches it has seen cannot double-count them. A state belongs to one policy kind;
//! feeding it to another kind is an error rather than a silent reinterpretation.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Which batches a retraining uses (periodic, triggered and continuous policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainOn {
    /// The batches received since the last training, the current one included.
    #[default]
    SinceLastTraining,
    /// The baseline and every batch since.
    SinceBaseline,
}

/// When to retrain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RetrainPolicy {
    /// On a schedule: a number of batches, a number of days, or whichever comes first.
    Periodic {
        /// Retrain after this many batches (>= 1).
        every_batches: Option<u32>,
        /// Retrain after this many days of batch time (> 0).
        every_days: Option<f64>,
        /// Which batches to train on (default `since_last_training`).
        #[serde(default)]
        train_on: TrainOn,
    },
    /// When monitoring raises an alert.
    Triggered {
        /// Retrain on data drift.
        #[serde(default)]
        on_drift: bool,
        /// Retrain on a performance alert.
        #[serde(default)]
        on_performance: bool,
        /// Retrain on a data-quality alert.
        #[serde(default)]
        on_quality: bool,
        /// Batches that must have arrived since the last training, the current one included
        /// (0 or 1: no cooldown).
        #[serde(default)]
        min_batches_between: u32,
        /// Which batches to train on (default `since_last_training`).
        #[serde(default)]
        train_on: TrainOn,
    },
    /// After every batch.
    Continuous {
        /// Which batches to train on (default `since_last_training`: the new batch only).
        #[serde(default)]
        train_on: TrainOn,
    },
    /// One model per window of batches, the newest `keep` serving together.
    Ensemble {
        /// Models kept (>= 1); older ones are retired.
        keep: usize,
        /// Batches per training window (>= 1).
        window_batches: u32,
    },
}

impl RetrainPolicy {
    /// The policy's `kind` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Periodic { .. } => "periodic",
            Self::Triggered { .. } => "triggered",
            Self::Continuous { .. } => "continuous",
            Self::Ensemble { .. } => "ensemble",
        }
    }

    /// Checks the settings; each error says what to set.
    pub fn validate(&self) -> Result<()> {
        let invalid = |what, detail: &str| {
            Err(Error::Invalid {
                what,
                detail: detail.to_string(),
            })
        };
        match *self {
            Self::Periodic {
                every_batches: None,
                every_days: None,
                ..
            } => invalid(
                "periodic policy",
                "neither every_batches nor every_days is set; set one or both",
            ),
            Self::Periodic {
                every_batches: Some(0), ..
            } => invalid("every_batches", "got 0; use 1 or more"),
            Self::Periodic {
                every_days: Some(d), ..
            } if !(d > 0.0 && d.is_finite()) => Err(Error::Invalid {
                what: "every_days",
                detail: format!("got {d}; use a positive number of days, e.g. 7"),
            }),
            Self::Triggered {
                on_drift: false,
                on_performance: false,
                on_quality: false,
                ..
            } => invalid(
                "triggered policy",
                "on_drift, on_performance and on_quality are all false, so it would never retrain; enable \
                 one, or use a periodic policy",
            ),
            Self::Ensemble { keep: 0, .. } => invalid("ensemble keep", "got 0; keep at least 1 model"),
            Self::Ensemble { window_batches: 0, .. } => {
                invalid("ensemble window_batches", "got 0; use 1 or more batches per window")
            }
            _ => Ok(()),
        }
    }
}

/// What monitoring found on one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchOutcome {
    /// Batch number, strictly increasing from one batch to the next.
    pub index: u64,
    /// Batch time, epoch seconds (drives `every_days`).
    pub time: i64,
    /// The batch's name, e.g. a dataset version `"events@v3"`; `train_on` lists these.
    pub id: String,
    /// Whether data drift was detected.
    #[serde(default)]
    pub drifted: bool,
    /// Whether a performance alert was raised.
    #[serde(default)]
    pub performance_alert: bool,
    /// Whether a data-quality alert was raised.
    #[serde(default)]
    pub quality_alert: bool,
    /// Words on the drift for the reason, e.g. `"7 of 20 columns"`.
    #[serde(default)]
    pub drift_detail: Option<String>,
    /// Words on the performance alert, e.g. `"accuracy 0.81 < 0.86"`.
    #[serde(default)]
    pub performance_detail: Option<String>,
    /// Words on the quality alert, e.g. `"12% nulls in amount"`.
    #[serde(default)]
    pub quality_detail: Option<String>,
}

/// A monitoring signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Data drift.
    Drift,
    /// Performance alert.
    Performance,
    /// Data-quality alert.
    Quality,
}

impl Signal {
    fn noun(self) -> &'static str {
        match self {
            Signal::Drift => "drift",
            Signal::Performance => "performance alert",
            Signal::Quality => "quality alert",
        }
    }
}

/// An enabled signal raised since the last training (triggered policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingAlert {
    /// The signal.
    pub signal: Signal,
    /// First batch that raised it since the last training.
    pub first_index: u64,
    /// Latest batch that raised it.
    pub last_index: u64,
    /// Batches that raised it.
    pub batches: u32,
    /// The latest detail given.
    pub detail: Option<String>,
}

/// A model of an ensemble.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleMember {
    /// Model number: 0 for the baseline model, then 1, 2, ... in training order.
    pub model: u32,
    /// The batches it was trained on.
    pub batches: Vec<String>,
    /// Index of the batch after which it was trained; `None` for the baseline model.
    pub trained_at: Option<u64>,
}

/// Ensemble membership after a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnsembleChange {
    /// The model trained on this batch's window, if one was.
    pub added: Option<u32>,
    /// Models to keep serving, oldest first (the new one included).
    pub keep: Vec<EnsembleMember>,
    /// Models to retire now.
    pub retire: Vec<EnsembleMember>,
}

/// What the monitor remembers between batches (serialise it to resume after a restart).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyState {
    /// `kind` of the policy this state belongs to, set by the first [`decide`].
    pub policy: Option<String>,
    /// The batch the deployed model was trained on before monitoring began, if known.
    pub baseline: Option<String>,
    /// Index of the last decided batch.
    pub last_index: Option<u64>,
    /// Time of the last decided batch.
    pub last_time: Option<i64>,
    /// Time of the last training: the baseline's, or the first batch's, until a retraining.
    pub clock_start: Option<i64>,
    /// Index of the batch after which the last retraining happened.
    pub last_training: Option<u64>,
    /// Retrainings decided so far.
    pub trainings: u32,
    /// Every batch id since the baseline.
    pub since_baseline: Vec<String>,
    /// Batch ids since the last training.
    pub since_training: Vec<String>,
    /// Alerts raised since the last training (triggered policy).
    pub pending: Vec<PendingAlert>,
    /// The serving models (ensemble policy), oldest first.
    pub models: Vec<EnsembleMember>,
}

impl PolicyState {
    /// A state for a model whose baseline is unknown: the clock starts at the first batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// A state for a model trained on batch `id` at `time` (epoch seconds) before monitoring
    /// began. The ensemble policy serves it as model 0 until `keep` newer models replace it.
    pub fn with_baseline(id: impl Into<String>, time: i64) -> Self {
        Self {
            baseline: Some(id.into()),
            clock_start: Some(time),
            ..Self::default()
        }
    }

    fn since_last(&self) -> String {
        match (self.last_training, &self.baseline) {
            (Some(b), _) => format!("since the last training after batch {b}"),
            (None, Some(id)) => format!("since the baseline {id}"),
            (None, None) => "since monitoring began".to_string(),
        }
    }
}

/// The decision for one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrainDecision {
    /// The batch's index.
    pub index: u64,
    /// The batch's id.
    pub id: String,
    /// Whether to retrain now.
    pub retrain: bool,
    /// Why, in words.
    pub reason: String,
    /// The batch ids to train on (empty when not retraining).
    pub train_on: Vec<String>,
    /// Ensemble membership (ensemble policy only).
    pub ensemble: Option<EnsembleChange>,
}

/// Folds `batch` into `state` and decides whether to retrain under `policy` (see the module
/// docs). On error the state is unchanged.
pub fn decide(state: &mut PolicyState, policy: &RetrainPolicy, batch: &BatchOutcome) -> Result<RetrainDecision> {
    policy.validate()?;
    if let Some(kind) = &state.policy
        && kind != policy.kind()
    {
        return Err(Error::Invalid {
            what: "policy state",
            detail: format!(
                "the state was built by a {kind} policy and cannot drive a {} policy; start from a fresh state \
                 when changing the policy",
                policy.kind()
            ),
        });
    }
    if let Some(last) = state.last_index
        && batch.index <= last
    {
        return Err(Error::Invalid {
            what: "batch order",
            detail: format!(
                "batch {} comes after batch {last} was decided; feed batches once each, in increasing index \
                 order (start from a fresh state to replay history)",
                batch.index
            ),
        });
    }
    if let Some(last) = state.last_time
        && batch.time < last
    {
        return Err(Error::Invalid {
            what: "batch time",
            detail: format!(
                "batch {} has time {} before the previous batch's {last}; batch times must not go backwards",
                batch.index, batch.time
            ),
        });
    }
    if batch.id.is_empty() {
        return Err(Error::Invalid {
            what: "batch id",
            detail: format!(
                "batch {} has an empty id; name it, e.g. by its dataset version",
                batch.index
            ),
        });
    }

    state.policy = Some(policy.kind().to_string());
    state.last_index = Some(batch.index);
    state.last_time = Some(batch.time);
    let clock_start = *state.clock_start.get_or_insert(batch.time);
    state.since_baseline.push(batch.id.clone());
    state.since_training.push(batch.id.clone());
    let n_since = state.since_training.len();

    let mut decision = RetrainDecision {
        index: batch.index,
        id: batch.id.clone(),
        retrain: false,
        reason: String::new(),
        train_on: Vec::new(),
        ensemble: None,
    };
    match *policy {
        RetrainPolicy::Periodic {
            every_batches,
            every_days,
            train_on,
        } => {
            let days = (batch.time - clock_start) as f64 / SECONDS_PER_DAY;
            let since = state.since_last();
            let mut due = Vec::new();
            let mut progress = Vec::new();
            if let Some(b) = every_batches {
                if n_since >= b as usize {
                    due.push(format!("{n_since} batches {since} (every_batches = {b})"));
                }
                progress.push(format!("{n_since} of {b} batches"));
            }
            if let Some(d) = every_days {
                if days >= d {
                    due.push(format!("{days:.2} days {since} (every_days = {d})"));
                }
                progress.push(format!("{days:.2} of {d} days"));
            }
            if due.is_empty() {
                decision.reason = format!("periodic: {} {since}", progress.join(" and "));
            } else {
                decision.reason = format!("periodic: {}", due.join(" and "));
                retrain(state, batch, train_on, &mut decision);
            }
        }
        RetrainPolicy::Triggered {
            on_drift,
            on_performance,
            on_quality,
            min_batches_between,
            train_on,
        } => {
            let signals = [
                (Signal::Drift, on_drift, batch.drifted, &batch.drift_detail),
                (
                    Signal::Performance,
                    on_performance,
                    batch.performance_alert,
                    &batch.performance_detail,
                ),
                (Signal::Quality, on_quality, batch.quality_alert, &batch.quality_detail),
            ];
            let mut ignored = Vec::new();
            for (signal, enabled, raised, detail) in signals {
                if !raised {
                    continue;
                }
                if !enabled {
                    ignored.push(format!(
                        "{} at batch {} ignored (on_{} = false)",
                        signal.noun(),
                        batch.index,
                        match signal {
                            Signal::Drift => "drift",
                            Signal::Performance => "performance",
                            Signal::Quality => "quality",
                        }
                    ));
                    continue;
                }
                match state.pending.iter_mut().find(|p| p.signal == signal) {
                    Some(p) => {
                        p.last_index = batch.index;
                        p.batches += 1;
                        if detail.is_some() {
                            p.detail.clone_from(detail);
                        }
                    }
                    None => state.pending.push(PendingAlert {
                        signal,
                        first_index: batch.index,
                        last_index: batch.index,
                        batches: 1,
                        detail: detail.clone(),
                    }),
                }
            }
            let alerts: Vec<String> = state.pending.iter().map(describe_alert).collect();
            let ignored = if ignored.is_empty() {
                String::new()
            } else {
                format!("; {}", ignored.join("; "))
            };
            if alerts.is_empty() {
                decision.reason = format!("no enabled alert {}{ignored}", state.since_last());
            } else if n_since < min_batches_between as usize {
                decision.reason = format!(
                    "{}; deferred: {n_since} batch(es) {}, fewer than min_batches_between = {min_batches_between}{ignored}",
                    alerts.join("; "),
                    state.since_last()
                );
            } else {
                decision.reason = format!("{}{ignored}", alerts.join("; "));
                retrain(state, batch, train_on, &mut decision);
            }
        }
        RetrainPolicy::Continuous { train_on } => {
            decision.reason = "continuous: retrain after every batch".to_string();
            retrain(state, batch, train_on, &mut decision);
        }
        RetrainPolicy::Ensemble { keep, window_batches } => {
            if state.models.is_empty()
                && state.trainings == 0
                && let Some(b) = &state.baseline
            {
                state.models.push(EnsembleMember {
                    model: 0,
                    batches: vec![b.clone()],
                    trained_at: None,
                });
            }
            let mut change = EnsembleChange {
                added: None,
                keep: Vec::new(),
                retire: Vec::new(),
            };
            if n_since >= window_batches as usize {
                let window = state.since_training.clone();
                decision.reason = format!(
                    "ensemble: window of {n_since} batches complete ({} to {})",
                    window.first().expect("the current batch is in it"),
                    window.last().expect("the current batch is in it")
                );
                retrain(state, batch, TrainOn::SinceLastTraining, &mut decision);
                debug_assert_eq!(decision.train_on, window);
                let model = state.trainings;
                state.models.push(EnsembleMember {
                    model,
                    batches: window,
                    trained_at: Some(batch.index),
                });
                change.added = Some(model);
                let excess = state.models.len().saturating_sub(keep);
                change.retire = state.models.drain(..excess).collect();
                decision.reason.push_str(&format!("; model {model} added"));
                if !change.retire.is_empty() {
                    let retired: Vec<String> = change.retire.iter().map(|m| m.model.to_string()).collect();
                    decision
                        .reason
                        .push_str(&format!(", model {} retired (keep = {keep})", retired.join(", ")));
                }
            } else {
                decision.reason = format!("ensemble: {n_since} of {window_batches} batches in the current window");
            }
            change.keep = state.models.clone();
            decision.ensemble = Some(change);
        }
    }
    Ok(decision)
}

fn describe_alert(p: &PendingAlert) -> String {
    let detail = p.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    if p.batches == 1 {
        format!("{} at batch {}{detail}", p.signal.noun(), p.last_index)
    } else {
        format!(
            "{} at batch {}{detail}, on {} batches since batch {}",
            p.signal.noun(),
            p.last_index,
            p.batches,
            p.first_index
        )
    }
}

/// Marks a retraining after `batch`: fills `train_on` and resets the since-training counters.
fn retrain(state: &mut PolicyState, batch: &BatchOutcome, train_on: TrainOn, decision: &mut RetrainDecision) {
    decision.retrain = true;
    decision.train_on = match train_on {
        TrainOn::SinceLastTraining => std::mem::take(&mut state.since_training),
        TrainOn::SinceBaseline => state.baseline.iter().chain(&state.since_baseline).cloned().collect(),
    };
    state.since_training.clear();
    state.pending.clear();
    state.last_training = Some(batch.index);
    state.clock_start = Some(batch.time);
    state.trainings += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn batch(index: u64) -> BatchOutcome {
        BatchOutcome {
            index,
            time: index as i64 * DAY,
            id: format!("events@v{index}"),
            drifted: false,
            performance_alert: false,
            quality_alert: false,
            drift_detail: None,
            performance_detail: None,
            quality_detail: None,
        }
    }

    fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<String> {
        range.map(|i| format!("events@v{i}")).collect()
    }

    /// Runs `batches` through a fresh state; returns the indices that retrain and all decisions.
    fn run(
        policy: &RetrainPolicy,
        state: &mut PolicyState,
        batches: &[BatchOutcome],
    ) -> (Vec<u64>, Vec<RetrainDecision>) {
        let decisions: Vec<RetrainDecision> = batches.iter().map(|b| decide(state, policy, b).unwrap()).collect();
        (
            decisions.iter().filter(|d| d.retrain).map(|d| d.index).collect(),
            decisions,
        )
    }

    #[test]
    fn periodic_by_batches() {
        let policy = RetrainPolicy::Periodic {
            every_batches: Some(3),
            every_days: None,
            train_on: TrainOn::SinceLastTraining,
        };
        let batches: Vec<_> = (0..8).map(batch).collect();
        let (at, d) = run(&policy, &mut PolicyState::new(), &batches);
        assert_eq!(at, vec![2, 5]);
        assert_eq!(d[2].train_on, ids(0..=2));
        assert_eq!(d[5].train_on, ids(3..=5));
        assert!(
            d[5].reason
                .contains("3 batches since the last training after batch 2 (every_batches = 3)"),
            "{}",
            d[5].reason
        );
        assert_eq!(
            d[6].reason,
            "periodic: 1 of 3 batches since the last training after batch 5"
        );
        assert!(d[7].train_on.is_empty());
        // Cumulative training set, baseline first.
        let cumulative = RetrainPolicy::Periodic {
            every_batches: Some(3),
            every_days: None,
            train_on: TrainOn::SinceBaseline,
        };
        let (at, d) = run(
            &cumulative,
            &mut PolicyState::with_baseline("events@v0", -DAY),
            &batches[1..],
        );
        assert_eq!(at, vec![3, 6]);
        assert_eq!(d[2].train_on, ids(0..=3));
        assert_eq!(d[5].train_on, ids(0..=6));
    }

    #[test]
    fn periodic_by_days_and_whichever_first() {
        let weekly = RetrainPolicy::Periodic {
            every_batches: None,
            every_days: Some(7.0),
            train_on: TrainOn::SinceLastTraining,
        };
        let daily: Vec<_> = (0..16).map(batch).collect();
        let (at, d) = run(&weekly, &mut PolicyState::new(), &daily);
        // The clock starts at batch 0 (day 0): day 7 and day 14.
        assert_eq!(at, vec![7, 14]);
        assert_eq!(d[7].train_on, ids(0..=7));
        assert!(
            d[7].reason
                .contains("7.00 days since monitoring began (every_days = 7)"),
            "{}",
            d[7].reason
        );
        // With a baseline trained on day -3, the first retraining comes on day 4.
        let (at, _) = run(&weekly, &mut PolicyState::with_baseline("train@v1", -3 * DAY), &daily);
        assert_eq!(at, vec![4, 11]);
        // Both limits: whichever is reached first.
        let both = RetrainPolicy::Periodic {
            every_batches: Some(4),
            every_days: Some(2.5),
            train_on: TrainOn::SinceLastTraining,
        };
        let mut irregular: Vec<BatchOutcome> = (0..7).map(batch).collect();
        for (b, t) in irregular.iter_mut().zip([0, 1, 5, 6, 6, 6, 6]) {
            b.time = t * DAY;
        }
        // Batch 2: 3 batches but 5 days -> retrain; batches 3 to 6: 4 batches within 1 day -> retrain.
        let (at, d) = run(&both, &mut PolicyState::new(), &irregular);
        assert_eq!(at, vec![2, 6]);
        assert!(
            d[2].reason.starts_with("periodic: 5.00 days since monitoring began"),
            "{}",
            d[2].reason
        );
        assert!(
            d[3].reason.contains("1 of 4 batches and 1.00 of 2.5 days"),
            "{}",
            d[3].reason
        );
        assert!(
            d[6].reason
                .starts_with("periodic: 4 batches since the last training after batch 2"),
            "{}",
            d[6].reason
        );
    }

    #[test]
    fn triggered_with_cooldown_and_deferral() {
        let policy = RetrainPolicy::Triggered {
            on_drift: true,
            on_performance: true,
            on_quality: false,
            min_batches_between: 3,
            train_on: TrainOn::SinceLastTraining,
        };
        let mut b: Vec<BatchOutcome> = (0..10).map(batch).collect();
        b[1].drifted = true;
        b[1].drift_detail = Some("7 of 20 columns".into());
        b[3].quality_alert = true;
        b[4].drifted = true;
        b[5].performance_alert = true;
        b[5].drifted = true;
        b[5].drift_detail = Some("9 of 20 columns".into());
        b[9].performance_alert = true;
        let (at, d) = run(&policy, &mut PolicyState::new(), &b);
        // 1: drift, 2 batches since start < 3 -> deferred; 2: third batch -> retrain on 0..=2.
        // 3: quality ignored; 4: drift, 2 batches since -> deferred; 5: drift + performance, third
        // batch -> retrain on 3..=5; 9: performance, 4 batches since -> retrain on 6..=9.
        assert_eq!(at, vec![2, 5, 9]);
        assert!(
            d[1].reason
                .starts_with("drift at batch 1 (7 of 20 columns); deferred: 2 batch(es) since monitoring began"),
            "{}",
            d[1].reason
        );
        assert_eq!(d[2].reason, "drift at batch 1 (7 of 20 columns)");
        assert_eq!(d[2].train_on, ids(0..=2));
        assert!(
            d[3].reason
                .contains("quality alert at batch 3 ignored (on_quality = false)"),
            "{}",
            d[3].reason
        );
        assert!(
            d[3].reason
                .starts_with("no enabled alert since the last training after batch 2")
        );
        assert_eq!(
            d[5].reason,
            "drift at batch 5 (9 of 20 columns), on 2 batches since batch 4; performance alert at batch 5"
        );
        assert!(
            d[4].reason
                .contains("deferred: 2 batch(es) since the last training after batch 2"),
            "{}",
            d[4].reason
        );
        assert_eq!(d[5].train_on, ids(3..=5));
        assert_eq!(d[9].train_on, ids(6..=9));
        // Without a cooldown the first drift retrains at once.
        let eager = RetrainPolicy::Triggered {
            on_drift: true,
            on_performance: false,
            on_quality: false,
            min_batches_between: 0,
            train_on: TrainOn::SinceBaseline,
        };
        let (at, d) = run(&eager, &mut PolicyState::new(), &b);
        assert_eq!(at, vec![1, 4, 5]);
        assert_eq!(d[5].train_on, ids(0..=5));
    }

    #[test]
    fn continuous() {
        let only_new = RetrainPolicy::Continuous {
            train_on: TrainOn::SinceLastTraining,
        };
        let b: Vec<_> = (0..3).map(batch).collect();
        let (at, d) = run(&only_new, &mut PolicyState::new(), &b);
        assert_eq!(at, vec![0, 1, 2]);
        assert_eq!(d[2].train_on, ids(2..=2));
        let all = RetrainPolicy::Continuous {
            train_on: TrainOn::SinceBaseline,
        };
        let (_, d) = run(&all, &mut PolicyState::with_baseline("train@v1", 0), &b);
        assert_eq!(
            d[1].train_on,
            vec!["train@v1".to_string(), "events@v0".into(), "events@v1".into()]
        );
    }

    #[test]
    fn ensemble_keeps_the_newest_windows() {
        let policy = RetrainPolicy::Ensemble {
            keep: 2,
            window_batches: 2,
        };
        let b: Vec<_> = (0..6).map(batch).collect();
        let mut state = PolicyState::with_baseline("train@v1", -DAY);
        let (at, d) = run(&policy, &mut state, &b);
        assert_eq!(at, vec![1, 3, 5]);
        let models = |d: &RetrainDecision, which: fn(&EnsembleChange) -> &Vec<EnsembleMember>| -> Vec<u32> {
            which(d.ensemble.as_ref().unwrap()).iter().map(|m| m.model).collect()
        };
        // Batch 0: baseline model serves alone.
        assert_eq!(models(&d[0], |c| &c.keep), vec![0]);
        assert_eq!(d[0].reason, "ensemble: 1 of 2 batches in the current window");
        // Batch 1: model 1 on v0, v1; baseline kept (keep = 2).
        assert_eq!(d[1].train_on, ids(0..=1));
        assert_eq!(models(&d[1], |c| &c.keep), vec![0, 1]);
        assert!(d[1].ensemble.as_ref().unwrap().retire.is_empty());
        // Batch 3: model 2 on v2, v3; the baseline model retires.
        assert_eq!(d[3].train_on, ids(2..=3));
        assert_eq!(models(&d[3], |c| &c.keep), vec![1, 2]);
        assert_eq!(models(&d[3], |c| &c.retire), vec![0]);
        assert_eq!(
            d[3].reason,
            "ensemble: window of 2 batches complete (events@v2 to events@v3); model 2 added, model 0 retired (keep = 2)"
        );
        // Batch 5: model 3, model 1 retires; members name their batches.
        let c = d[5].ensemble.as_ref().unwrap();
        assert_eq!(c.added, Some(3));
        assert_eq!(c.retire[0].batches, ids(0..=1));
        assert_eq!(c.keep[1].batches, ids(4..=5));
        assert_eq!(c.keep[1].trained_at, Some(5));
    }

    #[test]
    fn state_survives_a_restart() {
        let policy = RetrainPolicy::Triggered {
            on_drift: true,
            on_performance: false,
            on_quality: false,
            min_batches_between: 4,
            train_on: TrainOn::SinceLastTraining,
        };
        let mut b: Vec<BatchOutcome> = (0..9).map(batch).collect();
        b[1].drifted = true;
        b[6].drifted = true;
        let (straight, _) = run(&policy, &mut PolicyState::new(), &b);
        // Stop after batch 2 (drift pending), save, reload, continue.
        let mut state = PolicyState::new();
        let (first, _) = run(&policy, &mut state, &b[..3]);
        let saved = serde_json::to_string(&state).unwrap();
        let mut resumed: PolicyState = serde_json::from_str(&saved).unwrap();
        assert_eq!(resumed, state);
        let (second, _) = run(&policy, &mut resumed, &b[3..]);
        assert_eq!([first, second].concat(), straight);
        assert_eq!(straight, vec![3, 7]);
    }

    #[test]
    fn bad_sequences_leave_the_state_unchanged() {
        let policy = RetrainPolicy::Continuous {
            train_on: TrainOn::SinceLastTraining,
        };
        let mut state = PolicyState::new();
        decide(&mut state, &policy, &batch(5)).unwrap();
        let before = state.clone();
        let e = decide(&mut state, &policy, &batch(5)).unwrap_err().to_string();
        assert!(e.contains("batch 5 comes after batch 5 was decided"), "{e}");
        let mut late = batch(6);
        late.time = 0;
        assert!(
            decide(&mut state, &policy, &late)
                .unwrap_err()
                .to_string()
                .contains("backwards")
        );
        let mut unnamed = batch(6);
        unnamed.id.clear();
        assert!(decide(&mut state, &policy, &unnamed).is_err());
        let other = RetrainPolicy::Ensemble {
            keep: 1,
            window_batches: 1,
        };
        let e = decide(&mut state, &other, &batch(6)).unwrap_err().to_string();
        assert!(e.contains("built by a continuous policy"), "{e}");
        assert_eq!(state, before);
    }

    #[test]
    fn invalid_policies() {
        let cases = [
            (
                RetrainPolicy::Periodic {
                    every_batches: None,
                    every_days: None,
                    train_on: TrainOn::default(),
                },
                "set one or both",
            ),
            (
                RetrainPolicy::Periodic {
                    every_batches: Some(0),
                    every_days: None,
                    train_on: TrainOn::default(),
                },
                "use 1 or more",
            ),
            (
                RetrainPolicy::Periodic {
                    every_batches: None,
                    every_days: Some(-1.0),
                    train_on: TrainOn::default(),
                },
                "positive number of days",
            ),
            (
                RetrainPolicy::Triggered {
                    on_drift: false,
                    on_performance: false,
                    on_quality: false,
                    min_batches_between: 1,
                    train_on: TrainOn::default(),
                },
                "never retrain",
            ),
            (
                RetrainPolicy::Ensemble {
                    keep: 0,
                    window_batches: 3,
                },
                "keep at least 1",
            ),
            (
                RetrainPolicy::Ensemble {
                    keep: 2,
                    window_batches: 0,
                },
                "batches per window",
            ),
        ];
        for (policy, want) in cases {
            let e = decide(&mut PolicyState::new(), &policy, &batch(0))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{policy:?}: {e}");
        }
    }

    #[test]
    fn policies_from_toml() {
        let p: RetrainPolicy =
            toml::from_str("kind = \"triggered\"\non_drift = true\nmin_batches_between = 3").unwrap();
        assert_eq!(
            p,
            RetrainPolicy::Triggered {
                on_drift: true,
                on_performance: false,
                on_quality: false,
                min_batches_between: 3,
                train_on: TrainOn::SinceLastTraining,
            }
        );
        let p: RetrainPolicy =
            toml::from_str("kind = \"periodic\"\nevery_days = 7\ntrain_on = \"since_baseline\"").unwrap();
        assert_eq!(
            p,
            RetrainPolicy::Periodic {
                every_batches: None,
                every_days: Some(7.0),
                train_on: TrainOn::SinceBaseline,
            }
        );
        let p: RetrainPolicy = toml::from_str("kind = \"continuous\"").unwrap();
        assert_eq!(p.kind(), "continuous");
        let p: RetrainPolicy = toml::from_str("kind = \"ensemble\"\nkeep = 3\nwindow_batches = 4").unwrap();
        assert_eq!(
            p,
            RetrainPolicy::Ensemble {
                keep: 3,
                window_batches: 4
            }
        );
        for (bad, want) in [
            ("kind = \"periodic\"\nevery_batch = 3", "unknown field `every_batch`"),
            ("kind = \"continuous\"\nkeep = 3", "unknown field `keep`"),
            ("kind = \"weekly\"", "unknown variant `weekly`"),
            ("kind = \"ensemble\"\nkeep = 3", "missing field `window_batches`"),
        ] {
            let e = toml::from_str::<RetrainPolicy>(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
        let o: BatchOutcome = toml::from_str("index = 4\ntime = 0\nid = \"events@v4\"\ndrifted = true").unwrap();
        assert!(o.drifted && !o.quality_alert);
    }
}
