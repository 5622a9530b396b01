//! Performance drop: flags windows whose metric is worse than the baseline window allows.
//!
//! The baseline is one window (default the first). Each window's value is compared with an
//! allowed band derived from the baseline's estimate `b`:
//!
//! | tolerance            | higher is better (accuracy, AUC, ...) | lower is better (log loss, MAE, RMSE) | mean error (bias)                 |
//! |----------------------|----------------------------------------|----------------------------------------|-----------------------------------|
//! | `baseline_ci` (default) | value >= CI low of `b`              | value <= CI high of `b`                | CI low <= value <= CI high        |
//! | `absolute{max_drop}` | value >= b - max_drop                  | value <= b + max_drop                  | abs(value - b) <= max_drop        |
//! | `relative{max_drop}` | value >= b (1 - max_drop)              | value <= b (1 + max_drop)              | refused: b may be 0               |
//!
//! The baseline-CI rule is the one the monitor brief asks for: a window is flagged when its
//! point estimate falls outside what the baseline's own sampling noise explains. It ignores the
//! window's own noise, so a small window flags more easily; use a tolerance for windows much
//! smaller than the baseline. A window whose metric is undefined (empty, one class) is reported
//! as not checked, with the reason, never as a drop.

use serde::{Deserialize, Serialize};

use super::classification::ClassificationReport;
use super::regression::RegressionReport;
use super::window::WindowReport;
use super::{Direction, Metric, MetricName};
use crate::error::{Error, Result};

/// How far a window's metric may fall from the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Tolerance {
    /// Outside the baseline window's confidence interval.
    #[default]
    BaselineCi,
    /// More than `max_drop` worse than the baseline value, in the metric's units.
    Absolute {
        /// Allowed worsening, >= 0.
        max_drop: f64,
    },
    /// More than the fraction `max_drop` worse than the baseline value (0.05 = 5%).
    Relative {
        /// Allowed worsening as a fraction of the baseline, >= 0.
        max_drop: f64,
    },
}

/// The drop check's settings: which metric, which baseline window, what tolerance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceDrop {
    /// The metric to watch.
    pub metric: MetricName,
    /// Index of the baseline window (default 0, the first).
    #[serde(default)]
    pub baseline_window: usize,
    /// The tolerance (default: the baseline's confidence interval).
    #[serde(default)]
    pub tolerance: Tolerance,
}

/// Reports whose metrics the drop check can read.
pub trait MetricReport {
    /// The metric `name`, or `None` if this kind of report does not have it (MAE of a
    /// classifier).
    fn metric(&self, name: MetricName) -> Option<&Metric>;
}

impl MetricReport for ClassificationReport {
    fn metric(&self, name: MetricName) -> Option<&Metric> {
        match name {
            MetricName::Accuracy => Some(&self.accuracy),
            MetricName::Precision => Some(&self.precision),
            MetricName::Recall => Some(&self.recall),
            MetricName::F1 => Some(&self.f1),
            MetricName::RocAuc => Some(&self.roc_auc),
            MetricName::LogLoss => Some(&self.log_loss),
            MetricName::Mae | MetricName::Rmse | MetricName::MeanError => None,
        }
    }
}

impl MetricReport for RegressionReport {
    fn metric(&self, name: MetricName) -> Option<&Metric> {
        match name {
            MetricName::Mae => Some(&self.mae),
            MetricName::Rmse => Some(&self.rmse),
            MetricName::MeanError => Some(&self.mean_error),
            _ => None,
        }
    }
}

/// One window's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropCheck {
    /// Window index.
    pub window: usize,
    /// Window start (inclusive).
    pub start: i64,
    /// Window end (exclusive).
    pub end: i64,
    /// The window's metric, if defined.
    pub value: Option<f64>,
    /// Whether the window is outside the allowed band.
    pub dropped: bool,
    /// What was compared, in words.
    pub reason: String,
}

/// The drop check over all windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceDropReport {
    /// The metric watched.
    pub metric: MetricName,
    /// Baseline window index.
    pub baseline_window: usize,
    /// The baseline's value.
    pub baseline_value: f64,
    /// Lowest allowed value, if bounded below.
    pub allowed_low: Option<f64>,
    /// Highest allowed value, if bounded above.
    pub allowed_high: Option<f64>,
    /// One verdict per window, in window order (the baseline's included).
    pub windows: Vec<DropCheck>,
    /// Indices of the flagged windows.
    pub dropped: Vec<usize>,
}

impl PerformanceDrop {
    /// Compares every window with the baseline window.
    ///
    /// Errors when the baseline index is out of range, the metric is not in these reports, the
    /// baseline's metric is undefined or has no interval for the `baseline_ci` rule, or the
    /// tolerance is invalid; each message says what to change.
    pub fn check<R: MetricReport>(&self, windows: &[WindowReport<R>]) -> Result<PerformanceDropReport> {
        let name = self.metric.name();
        let base = windows.get(self.baseline_window).ok_or_else(|| Error::Invalid {
            what: "baseline window",
            detail: format!(
                "index {} but there are {} windows; choose a window between 0 and {}",
                self.baseline_window,
                windows.len(),
                windows.len().saturating_sub(1)
            ),
        })?;
        let base_metric = base.report.metric(self.metric).ok_or_else(|| Error::Invalid {
            what: "drop metric",
            detail: format!("{name} is not computed for this kind of model; pick a metric of its report"),
        })?;
        let estimate = match base_metric {
            Metric::Defined(e) => e,
            Metric::Undefined { reason } => {
                return Err(Error::Invalid {
                    what: "baseline window",
                    detail: format!(
                        "window {} has no {name} ({reason}); choose a baseline window where it is defined",
                        self.baseline_window
                    ),
                });
            }
        };
        let b = estimate.value;
        let direction = self.metric.direction();
        let (low, high) = match self.tolerance {
            Tolerance::BaselineCi => {
                let ci = estimate.ci.ok_or_else(|| Error::Invalid {
                    what: "baseline window",
                    detail: format!(
                        "window {}'s {name} has no confidence interval ({}); configure an absolute or \
                         relative tolerance instead",
                        self.baseline_window,
                        estimate.note.as_deref().unwrap_or("not computed")
                    ),
                })?;
                match direction {
                    Direction::HigherIsBetter => (Some(ci.low), None),
                    Direction::LowerIsBetter => (None, Some(ci.high)),
                    Direction::CloserToZero => (Some(ci.low), Some(ci.high)),
                }
            }
            Tolerance::Absolute { max_drop } | Tolerance::Relative { max_drop }
                if !(max_drop >= 0.0 && max_drop.is_finite()) =>
            {
                return Err(Error::Invalid {
                    what: "tolerance max_drop",
                    detail: format!("got {max_drop}; use a finite value >= 0"),
                });
            }
            Tolerance::Absolute { max_drop } => match direction {
                Direction::HigherIsBetter => (Some(b - max_drop), None),
                Direction::LowerIsBetter => (None, Some(b + max_drop)),
                Direction::CloserToZero => (Some(b - max_drop), Some(b + max_drop)),
            },
            Tolerance::Relative { max_drop } => match direction {
                Direction::HigherIsBetter => (Some(b * (1.0 - max_drop)), None),
                Direction::LowerIsBetter => (None, Some(b * (1.0 + max_drop))),
                Direction::CloserToZero => {
                    return Err(Error::Invalid {
                        what: "tolerance",
                        detail: "a relative tolerance is undefined for mean_error, whose baseline may be 0; \
                                 use an absolute tolerance"
                            .to_string(),
                    });
                }
            },
        };
        let band = match (low, high) {
            (Some(l), Some(h)) => format!("[{l:.6}, {h:.6}]"),
            (Some(l), None) => format!(">= {l:.6}"),
            (None, Some(h)) => format!("<= {h:.6}"),
            (None, None) => unreachable!("every rule bounds one side"),
        };
        let checks: Vec<DropCheck> = windows
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let metric = w.report.metric(self.metric).expect("same report type as the baseline");
                let (value, dropped, reason) = match metric {
                    Metric::Undefined { reason } => (None, false, format!("not checked: {reason}")),
                    Metric::Defined(e) => {
                        let v = e.value;
                        let out = low.is_some_and(|l| v < l) || high.is_some_and(|h| v > h);
                        let reason = if i == self.baseline_window {
                            format!("baseline: {name} {v:.6}")
                        } else if out {
                            format!(
                                "{name} {v:.6} is outside the allowed {band} (baseline window {} has {b:.6})",
                                self.baseline_window
                            )
                        } else {
                            format!("{name} {v:.6} is within the allowed {band}")
                        };
                        (Some(v), out && i != self.baseline_window, reason)
                    }
                };
                DropCheck {
                    window: w.window.index,
                    start: w.window.start,
                    end: w.window.end,
                    value,
                    dropped,
                    reason,
                }
            })
            .collect();
        Ok(PerformanceDropReport {
            metric: self.metric,
            baseline_window: self.baseline_window,
            baseline_value: b,
            allowed_low: low,
            allowed_high: high,
            dropped: checks.iter().filter(|c| c.dropped).map(|c| c.window).collect(),
            windows: checks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::window::WindowBounds;
    use crate::perf::{ClassificationConfig, ClassificationData, Probabilities, RegressionConfig};
    use crate::perf::{classification_report, regression_report};

    fn bounds(index: usize) -> WindowBounds {
        WindowBounds {
            index,
            start: index as i64,
            end: index as i64 + 1,
            rows: 0,
        }
    }

    /// A window of `n` rows of which `correct` are predicted right.
    fn accuracy_window(index: usize, n: usize, correct: usize) -> WindowReport<ClassificationReport> {
        let labels: Vec<&str> = (0..n).map(|i| if i % 2 == 0 { "a" } else { "b" }).collect();
        let predicted: Vec<&str> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                if i < correct {
                    l
                } else if l == "a" {
                    "b"
                } else {
                    "a"
                }
            })
            .collect();
        let classes = Some(vec!["a".to_string(), "b".to_string()]);
        let d = ClassificationData::from_labels(&labels, &predicted, Probabilities::None, classes).unwrap();
        WindowReport {
            window: bounds(index),
            report: classification_report(&d, &ClassificationConfig::default()).unwrap(),
        }
    }

    #[test]
    fn flags_a_window_below_the_baseline_ci() {
        // Baseline 90/100: statsmodels proportion_confint(90, 100, method="wilson")
        // = (0.8256343384950865, 0.9447708629393249).
        let windows = vec![
            accuracy_window(0, 100, 90),
            accuracy_window(1, 100, 86),
            accuracy_window(2, 100, 80),
            accuracy_window(3, 0, 0),
        ];
        let check = PerformanceDrop {
            metric: MetricName::Accuracy,
            baseline_window: 0,
            tolerance: Tolerance::BaselineCi,
        };
        let r = check.check(&windows).unwrap();
        assert!((r.allowed_low.unwrap() - 0.825_634_338_495_086_5).abs() < 1e-9, "{r:?}");
        assert_eq!(r.allowed_high, None);
        assert_eq!(r.dropped, vec![2]);
        assert!(
            r.windows[2].reason.contains("outside the allowed >= 0.825634"),
            "{}",
            r.windows[2].reason
        );
        assert!(r.windows[3].reason.starts_with("not checked: no rows"));
        assert!(!r.windows[0].dropped && r.windows[0].reason.starts_with("baseline"));

        // Absolute 0.03: 0.86 passes (>= 0.87 fails): threshold 0.87.
        let abs = PerformanceDrop {
            tolerance: Tolerance::Absolute { max_drop: 0.03 },
            ..check.clone()
        };
        assert_eq!(abs.check(&windows).unwrap().dropped, vec![1, 2]);
        // Relative 10%: threshold 0.81.
        let rel = PerformanceDrop {
            tolerance: Tolerance::Relative { max_drop: 0.1 },
            ..check.clone()
        };
        assert_eq!(rel.check(&windows).unwrap().dropped, vec![2]);
        // Another baseline: window 2 (0.80) makes nothing a drop.
        let later = PerformanceDrop {
            baseline_window: 2,
            ..check.clone()
        };
        assert!(later.check(&windows).unwrap().dropped.is_empty());
    }

    #[test]
    fn lower_is_better_and_bias_bands() {
        let w = |index: usize, truth: &[f64], pred: &[f64]| WindowReport {
            window: bounds(index),
            report: regression_report(truth, pred, &RegressionConfig::default()).unwrap(),
        };
        let windows = vec![
            w(0, &[0.0; 4], &[1.0, -1.0, 1.0, -1.0]),
            w(1, &[0.0; 4], &[2.0, -2.0, 2.0, -2.0]),
            w(2, &[0.0; 4], &[3.0, 3.0, 3.0, 3.0]),
        ];
        // MAE: baseline 1 with zero-width interval [1, 1]; windows 1 and 2 (2 and 3) exceed it.
        let mae = PerformanceDrop {
            metric: MetricName::Mae,
            baseline_window: 0,
            tolerance: Tolerance::Relative { max_drop: 1.5 },
        };
        let r = mae.check(&windows).unwrap();
        assert_eq!((r.allowed_low, r.allowed_high), (None, Some(2.5)));
        assert_eq!(r.dropped, vec![2]);
        // Bias: baseline 0 -/+ norm.ppf(0.975) * np.std([1, -1, 1, -1], ddof=1) / 2 = -/+ 1.1315857; window 2's bias 3 is out.
        let bias = PerformanceDrop {
            metric: MetricName::MeanError,
            baseline_window: 0,
            tolerance: Tolerance::BaselineCi,
        };
        let r = bias.check(&windows).unwrap();
        assert!(
            (r.allowed_high.unwrap() - 1.131_585_734_076_171_7).abs() < 1e-9,
            "{r:?}"
        );
        assert_eq!(r.dropped, vec![2]);
        let rel = PerformanceDrop {
            tolerance: Tolerance::Relative { max_drop: 0.1 },
            ..bias
        };
        assert!(
            rel.check(&windows)
                .unwrap_err()
                .to_string()
                .contains("use an absolute tolerance")
        );
    }

    #[test]
    fn clear_errors() {
        let windows = vec![accuracy_window(0, 0, 0), accuracy_window(1, 10, 9)];
        let check = PerformanceDrop {
            metric: MetricName::Accuracy,
            baseline_window: 0,
            tolerance: Tolerance::BaselineCi,
        };
        let e = check.check(&windows).unwrap_err().to_string();
        assert!(e.contains("window 0 has no accuracy (no rows in this window)"), "{e}");
        let far = PerformanceDrop {
            baseline_window: 5,
            ..check.clone()
        };
        assert!(far.check(&windows).unwrap_err().to_string().contains("between 0 and 1"));
        let wrong = PerformanceDrop {
            metric: MetricName::Rmse,
            baseline_window: 1,
            ..check.clone()
        };
        assert!(
            wrong
                .check(&windows)
                .unwrap_err()
                .to_string()
                .contains("rmse is not computed")
        );
        let negative = PerformanceDrop {
            baseline_window: 1,
            tolerance: Tolerance::Absolute { max_drop: -0.1 },
            ..check
        };
        assert!(negative.check(&windows).is_err());
    }

    #[test]
    fn config_from_toml() {
        let c: PerformanceDrop =
            toml::from_str("metric = \"roc_auc\"\n[tolerance]\nkind = \"relative\"\nmax_drop = 0.05").unwrap();
        assert_eq!(c.metric, MetricName::RocAuc);
        assert_eq!(c.tolerance, Tolerance::Relative { max_drop: 0.05 });
        assert_eq!(c.baseline_window, 0);
        let e = toml::from_str::<PerformanceDrop>("metric = \"auc\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `auc`"), "{e}");
    }
}
