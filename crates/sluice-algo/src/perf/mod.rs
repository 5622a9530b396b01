//! Model performance on windows of labelled predictions, every metric with a confidence interval.
//!
//! A production model is judged on windows of rows whose labels have arrived: each row has the
//! true label (or value), the model's prediction and a time. [`window`] cuts the rows into
//! windows, [`classification`] and [`regression`] compute the metrics of one window, and
//! [`drop`] flags windows whose metric fell below the baseline window's.
//!
//! | metric                    | definition (scikit-learn name)                       | interval                                   |
//! |---------------------------|------------------------------------------------------|--------------------------------------------|
//! | accuracy                  | correct / n (`accuracy_score`)                       | Wilson score (Wilson 1927)                 |
//! | precision, recall, F1     | binary for the positive class, else macro average    | percentile bootstrap over rows, seeded     |
//! | ROC AUC                   | Mann-Whitney U / (m n), ties count 1/2 (`roc_auc_score`) | DeLong et al. (1988) variance, normal  |
//! | log loss                  | mean of -ln p(true class), p clipped (`log_loss`)    | normal approximation of the mean           |
//! | MAE                       | mean abs error (`mean_absolute_error`)               | normal approximation of the mean           |
//! | RMSE                      | sqrt of the mean squared error (`root_mean_squared_error`) | delta method on the MSE              |
//! | mean error (bias)         | mean of prediction - truth                           | normal approximation of the mean           |
//!
//! Invariant: a metric is either a finite [`Estimate`] or [`Metric::Undefined`] with the reason
//! (an empty window, a window with one class for ROC AUC, no predicted positives for precision),
//! never a NaN. An estimate whose interval cannot be computed (one row, a bootstrap on which the
//! metric is undefined too often) keeps its value and says why in [`Estimate::note`].
//!
//! The multiclass ROC AUC (one-vs-rest, macro) has no closed-form variance, since its
//! per-class AUCs share rows; its interval is the same percentile bootstrap as precision's.

pub mod auc;
pub mod classification;
pub mod drop;
pub mod regression;
pub mod window;

#[cfg(test)]
mod sklearn_tests;

pub use auc::{BinaryAuc, binary_auc};
pub use classification::{
    Averaging, ClassificationConfig, ClassificationData, ClassificationReport, ConfusionMatrix, Probabilities,
    classification_report,
};
pub use drop::{DropCheck, MetricReport, PerformanceDrop, PerformanceDropReport, Tolerance};
pub use regression::{RegressionConfig, RegressionReport, regression_report};
pub use window::{
    Window, WindowBounds, WindowReport, WindowSpec, assign_windows, classification_windows, regression_windows,
};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiMethod {
    /// Wilson score interval of a binomial proportion.
    Wilson,
    /// Percentile bootstrap over rows (seeded, [`crate::label::bootstrap`]).
    PercentileBootstrap,
    /// DeLong, DeLong & Clarke-Pearson (1988) variance of the AUC, normal approximation.
    DeLong,
    /// Mean of per-row values plus or minus `z` standard errors.
    NormalMean,
    /// Delta method: the square root of the mean squared error.
    DeltaMethod,
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Coverage, e.g. 0.95.
    pub level: f64,
    /// How it was computed.
    pub method: CiMethod,
}

/// A metric's value with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The metric on all rows of the window.
    pub value: f64,
    /// The interval, absent when it cannot be computed (see `note`).
    pub ci: Option<Interval>,
    /// Why the interval is absent, or what the value leaves out; `None` when there is nothing
    /// to add.
    pub note: Option<String>,
}

/// A metric: an estimate, or the reason it is undefined on this window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Metric {
    /// The metric is defined.
    Defined(Estimate),
    /// The metric is undefined on these rows.
    Undefined {
        /// What is missing, in words.
        reason: String,
    },
}

impl Metric {
    /// The point value, if defined.
    pub fn value(&self) -> Option<f64> {
        self.estimate().map(|e| e.value)
    }

    /// The estimate, if defined.
    pub fn estimate(&self) -> Option<&Estimate> {
        match self {
            Metric::Defined(e) => Some(e),
            Metric::Undefined { .. } => None,
        }
    }

    pub(crate) fn undefined(reason: impl Into<String>) -> Self {
        Metric::Undefined { reason: reason.into() }
    }

    pub(crate) fn with_ci(value: f64, ci: Result<Interval, String>) -> Self {
        match ci {
            Ok(ci) => Metric::Defined(Estimate {
                value,
                ci: Some(ci),
                note: None,
            }),
            Err(note) => Metric::Defined(Estimate {
                value,
                ci: None,
                note: Some(note),
            }),
        }
    }
}

/// The metrics the drop check can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    /// Classification accuracy.
    Accuracy,
    /// Precision (binary or macro).
    Precision,
    /// Recall (binary or macro).
    Recall,
    /// F1 (binary or macro).
    F1,
    /// ROC AUC.
    RocAuc,
    /// Log loss.
    LogLoss,
    /// Mean absolute error.
    Mae,
    /// Root mean squared error.
    Rmse,
    /// Mean of prediction - truth.
    MeanError,
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Accuracy, precision, recall, F1, ROC AUC.
    HigherIsBetter,
    /// Log loss, MAE, RMSE.
    LowerIsBetter,
    /// Mean error: a bias either way is worse.
    CloserToZero,
}

impl MetricName {
    /// Which way the metric improves.
    pub fn direction(self) -> Direction {
        match self {
            Self::Accuracy | Self::Precision | Self::Recall | Self::F1 | Self::RocAuc => Direction::HigherIsBetter,
            Self::LogLoss | Self::Mae | Self::Rmse => Direction::LowerIsBetter,
            Self::MeanError => Direction::CloserToZero,
        }
    }

    /// The snake_case name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::Precision => "precision",
            Self::Recall => "recall",
            Self::F1 => "f1",
            Self::RocAuc => "roc_auc",
            Self::LogLoss => "log_loss",
            Self::Mae => "mae",
            Self::Rmse => "rmse",
            Self::MeanError => "mean_error",
        }
    }
}

/// Checks a confidence level and returns the two-sided normal quantile `z`.
pub(crate) fn z_for(level: f64) -> Result<f64> {
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::Invalid {
            what: "confidence level",
            detail: format!("got {level}; use a value strictly between 0 and 1, e.g. 0.95"),
        });
    }
    crate::label::agreement::normal_quantile_two_sided(level)
}

/// Mean of non-empty `values` and its standard error `s / sqrt(n)` (sample standard deviation,
/// `n - 1` divisor); no standard error for a single value.
pub(crate) fn mean_and_se(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, None);
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, Some((ss / (n - 1.0)).sqrt() / n.sqrt()))
}

/// Mean of non-empty `values` with the normal-approximation interval `mean -/+ z se`, its lower
/// end clamped to `floor`.
pub(crate) fn mean_with_normal_ci(values: &[f64], z: f64, level: f64, floor: f64) -> Metric {
    let (mean, se) = mean_and_se(values);
    let ci = se
        .map(|se| Interval {
            low: (mean - z * se).max(floor),
            high: mean + z * se,
            level,
            method: CiMethod::NormalMean,
        })
        .ok_or_else(|| "one row: a standard error needs at least two".to_string());
    Metric::with_ci(mean, ci)
}

/// Bootstrap settings shared by the classification metrics, as the label module's resampler
/// takes them.
pub(crate) fn bootstrap_config(resamples: usize, level: f64, seed: u64) -> crate::label::bootstrap::BootstrapConfig {
    crate::label::bootstrap::BootstrapConfig {
        resamples,
        confidence: level,
        seed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_serialises_with_a_status_tag() {
        let m = Metric::with_ci(
            0.5,
            Ok(Interval {
                low: 0.25,
                high: 0.75,
                level: 0.95,
                method: CiMethod::Wilson,
            }),
        );
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"status":"defined","value":0.5,"ci":{"low":0.25,"high":0.75,"level":0.95,"method":"wilson"},"note":null}"#
        );
        let back: Metric = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let u = serde_json::to_string(&Metric::undefined("empty window")).unwrap();
        assert_eq!(u, r#"{"status":"undefined","reason":"empty window"}"#);
    }

    #[test]
    fn normal_mean_interval_by_hand() {
        // values 1, 2, 3, 4: mean 2.5, s = sqrt(5/3), se = s / 2; numpy/scipy:
        // 2.5 -/+ norm.ppf(0.975) * np.std(v, ddof=1) / 2 = (1.23484868811834, 3.76515131188166).
        let m = mean_with_normal_ci(&[1.0, 2.0, 3.0, 4.0], z_for(0.95).unwrap(), 0.95, f64::NEG_INFINITY);
        let e = m.estimate().unwrap();
        let ci = e.ci.unwrap();
        assert!((e.value - 2.5).abs() < 1e-15);
        assert!((ci.low - 1.234_848_688_118_34).abs() < 1e-9, "{ci:?}");
        assert!((ci.high - 3.765_151_311_881_66).abs() < 1e-9, "{ci:?}");
        let one = mean_with_normal_ci(&[3.0], 1.96, 0.95, 0.0);
        assert!(one.estimate().unwrap().ci.is_none() && one.value() == Some(3.0));
        assert!(z_for(1.0).is_err() && z_for(f64::NAN).is_err());
    }

    #[test]
    fn directions() {
        assert_eq!(MetricName::RocAuc.direction(), Direction::HigherIsBetter);
        assert_eq!(MetricName::Rmse.direction(), Direction::LowerIsBetter);
        assert_eq!(MetricName::MeanError.direction(), Direction::CloserToZero);
        let parsed: MetricName = serde_json::from_str("\"log_loss\"").unwrap();
        assert_eq!(parsed.name(), "log_loss");
    }
}
