//! Regression metrics of one window: MAE, RMSE and mean error, each with a normal-theory
//! interval.
//!
//! With errors `e_i = prediction_i - truth_i` over `n` rows:
//! * MAE `= mean |e_i|` (scikit-learn's `mean_absolute_error`), interval `MAE -/+ z s_|e| / sqrt(n)`
//!   (central limit theorem on the mean of `|e_i|`, sample standard deviation).
//! * RMSE `= sqrt(MSE)`, `MSE = mean e_i^2` (`root_mean_squared_error`). The delta method on
//!   `g(MSE) = sqrt(MSE)`: `se(RMSE) = se(MSE) / (2 RMSE)` with `se(MSE) = s_{e^2} / sqrt(n)`
//!   (Casella & Berger 2002, sec. 5.5.4), so the interval is `RMSE -/+ z se(RMSE)`, its lower end
//!   clamped to 0. When every error is 0 the RMSE is 0 with a zero-width interval.
//! * Mean error (bias) `= mean e_i`: positive means the model over-predicts. Interval
//!   `-/+ z s_e / sqrt(n)`.
//!
//! Normal (not Student t) quantiles throughout, as the brief for the monitor asks; with fewer
//! than about 30 rows per window the intervals are somewhat too narrow.

use serde::{Deserialize, Serialize};

use super::{CiMethod, Interval, Metric, mean_and_se, mean_with_normal_ci, z_for};
use crate::error::{Error, Result};

/// Settings of the regression metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegressionConfig {
    /// Coverage of every interval (default 0.95).
    pub confidence: f64,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        Self { confidence: 0.95 }
    }
}

/// The regression metrics of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionReport {
    /// Rows in the window.
    pub rows: usize,
    /// Mean absolute error.
    pub mae: Metric,
    /// Root mean squared error.
    pub rmse: Metric,
    /// Mean of prediction - truth.
    pub mean_error: Metric,
}

/// MAE, RMSE and mean error of `predicted` against `truth` (one window).
///
/// An empty window gives undefined metrics; differing lengths or a non-finite value are errors
/// that name the row.
pub fn regression_report(truth: &[f64], predicted: &[f64], config: &RegressionConfig) -> Result<RegressionReport> {
    let z = z_for(config.confidence)?;
    let level = config.confidence;
    if truth.len() != predicted.len() {
        return Err(Error::LengthMismatch {
            what: "truth vs predictions",
            left: truth.len(),
            right: predicted.len(),
        });
    }
    for (what, v) in [("truth", truth), ("prediction", predicted)] {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::Invalid {
                what: "regression value",
                detail: format!("row {i}: {what} is {}; drop rows without a value before scoring", v[i]),
            });
        }
    }
    let n = truth.len();
    if n == 0 {
        let none = || Metric::undefined("no rows in this window");
        return Ok(RegressionReport {
            rows: 0,
            mae: none(),
            rmse: none(),
            mean_error: none(),
        });
    }
    let errors: Vec<f64> = predicted.iter().zip(truth).map(|(p, t)| p - t).collect();
    let abs: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
    let squared: Vec<f64> = errors.iter().map(|e| e * e).collect();
    let mae = mean_with_normal_ci(&abs, z, level, 0.0);
    let mean_error = mean_with_normal_ci(&errors, z, level, f64::NEG_INFINITY);
    let (mse, se_mse) = mean_and_se(&squared);
    let rmse = mse.sqrt();
    let ci = se_mse
        .map(|se_mse| {
            let half = if rmse > 0.0 { z * se_mse / (2.0 * rmse) } else { 0.0 };
            Interval {
                low: (rmse - half).max(0.0),
                high: rmse + half,
                level,
                method: CiMethod::DeltaMethod,
            }
        })
        .ok_or_else(|| "one row: a standard error needs at least two".to_string());
    let rmse = Metric::with_ci(rmse, ci);
    Ok(RegressionReport {
        rows: n,
        mae,
        rmse,
        mean_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sklearn_docstring_values() {
        // sklearn: mean_absolute_error([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) = 0.5,
        // root_mean_squared_error(...) = 0.6123724356957945.
        let r = regression_report(
            &[3.0, -0.5, 2.0, 7.0],
            &[2.5, 0.0, 2.0, 8.0],
            &RegressionConfig::default(),
        )
        .unwrap();
        assert_eq!(r.mae.value(), Some(0.5));
        assert!((r.rmse.value().unwrap() - 0.612_372_435_695_794_5).abs() < 1e-15);
        // Errors -0.5, 0.5, 0, 1: bias 0.25.
        assert_eq!(r.mean_error.value(), Some(0.25));
        // By hand: e^2 = 0.25, 0.25, 0, 1; MSE 0.375; s = sqrt(0.5625 / 3) = 0.433013;
        // se(MSE) = 0.216506; se(RMSE) = 0.216506 / (2 * 0.612372) = 0.176777;
        // 1.959964 * 0.176777 = 0.346476.
        let ci = r.rmse.estimate().unwrap().ci.unwrap();
        assert_eq!(ci.method, CiMethod::DeltaMethod);
        assert!((ci.high - (0.612_372_4 + 0.346_476)).abs() < 1e-6, "{ci:?}");
        assert!((ci.low - (0.612_372_4 - 0.346_476)).abs() < 1e-6, "{ci:?}");
    }

    #[test]
    fn perfect_predictions_have_zero_width() {
        let r = regression_report(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &RegressionConfig::default()).unwrap();
        for m in [&r.mae, &r.rmse, &r.mean_error] {
            let e = m.estimate().unwrap();
            let ci = e.ci.unwrap();
            assert_eq!((e.value, ci.low, ci.high), (0.0, 0.0, 0.0), "{m:?}");
        }
    }

    #[test]
    fn edge_cases() {
        let r = regression_report(&[], &[], &RegressionConfig::default()).unwrap();
        assert_eq!(r.rmse, Metric::undefined("no rows in this window"));
        let one = regression_report(&[1.0], &[3.0], &RegressionConfig::default()).unwrap();
        assert_eq!(one.rmse.value(), Some(2.0));
        assert!(
            one.rmse
                .estimate()
                .unwrap()
                .note
                .as_deref()
                .unwrap()
                .contains("one row")
        );
        let e = regression_report(&[1.0, f64::NAN], &[1.0, 2.0], &RegressionConfig::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1: truth is NaN"), "{e}");
        assert!(regression_report(&[1.0], &[1.0, 2.0], &RegressionConfig::default()).is_err());
        assert!(regression_report(&[1.0], &[1.0], &RegressionConfig { confidence: 0.0 }).is_err());
    }
}
