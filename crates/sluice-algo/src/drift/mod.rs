//! Two-sample tests and distances for covariate, label and prediction drift.
//!
//! Every function compares a *reference* sample (training data, last week) with a *current*
//! one, in that order, and returns the statistic, the p-value where the method has one, and a
//! verdict against a threshold. Numeric samples are `&[f64]` with missing values already dropped
//! (NaN is rejected with an error naming its index); categorical columns are aligned count
//! vectors `&[u64]` ([`CategoryCounts`] builds them from labels).
//!
//! | method ([`Method`]) | input        | statistic                        | drift when     | default |
//! |---------------------|--------------|----------------------------------|----------------|---------|
//! | `ks`                | numeric      | Kolmogorov-Smirnov `D`           | p < threshold  | 0.05    |
//! | `chi2`              | categorical  | Pearson chi-square               | p < threshold  | 0.05    |
//! | `z`                 | binary       | pooled two-proportion z          | p < threshold  | 0.05    |
//! | `anderson`          | numeric      | k-sample Anderson-Darling        | p < threshold  | 0.05    |
//! | `cvm`               | numeric      | Cramér-von Mises `T`             | p < threshold  | 0.05    |
//! | `psi`               | both         | population stability index       | >= threshold   | 0.1     |
//! | `kl`                | both         | KL(reference ‖ current), nats    | >= threshold   | 0.1     |
//! | `js`                | both         | Jensen-Shannon distance, base e  | >= threshold   | 0.1     |
//! | `wasserstein`       | numeric      | W1 / max(std_ref, 0.001)         | >= threshold   | 0.1     |
//! | `hellinger`         | both         | Hellinger distance               | >= threshold   | 0.4     |
//! | `tvd`               | both         | total variation distance         | >= threshold   | 0.1     |
//!
//! Numeric columns enter the binned distances through the reference's deciles
//! ([`quantile_bins`]). The default thresholds are the conventions REFERENCES.md records: 5%
//! significance for tests, 0.1 for PSI / JS / normalised Wasserstein, the "drift" band (>= 0.4)
//! for Hellinger; KL and TVD get 0.1 by analogy with PSI and JS (no published convention).
//! [`default_method`] picks the test by column type and reference size, and [`Correction`]
//! adjusts the p-values of many columns.
//!
//! Two paths compute the statistics. The exact path (this module) reads full samples and agrees
//! with scipy to ~1e-9 relative or better (tests load scipy's values from
//! `tests/fixtures/drift/scipy_cases.json`). The sketch path ([`sketch`]) reads quantile
//! sketches and returns each statistic with a guaranteed error bound.

mod anderson;
mod categorical;
mod cvm;
mod divergence;
mod kolmogorov;
mod ks;
mod multiple;
mod sample;
pub mod sketch;
mod special;
mod wasserstein;

pub use anderson::{ANDERSON_LEVELS, AndersonTest, PValueBound, anderson_ksamp};
pub use categorical::{CategoryCounts, ChiSquareTest, ZTest, chi_square, z_test};
pub use cvm::{CVM_EXACT_MAX_N, CvmTest, cramer_von_mises};
pub use divergence::{
    Binned, DEFAULT_BINS, DistanceTest, LogBase, PSI_EPSILON, hellinger, jensen_shannon, kl, psi, quantile_bins, tvd,
};
pub(crate) use ks::ks_sorted;
pub use ks::{KS_EXACT_MAX_N, KsTest, ks_2samp};
pub use multiple::{Adjusted, Correction, benjamini_hochberg, bonferroni};
pub use sample::NumericPair;
pub use wasserstein::{WASSERSTEIN_STD_FLOOR, WassersteinTest, wasserstein};

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub(crate) fn check_p_threshold(threshold: f64) -> Result<()> {
    if threshold > 0.0 && threshold < 1.0 {
        return Ok(());
    }
    Err(Error::Invalid {
        what: "significance threshold",
        detail: format!("got {threshold}; use a p-value level in (0, 1), e.g. 0.05"),
    })
}

pub(crate) fn check_distance_threshold(threshold: f64) -> Result<()> {
    if threshold.is_finite() && threshold >= 0.0 {
        return Ok(());
    }
    Err(Error::Invalid {
        what: "distance threshold",
        detail: format!("got {threshold}; use a finite value >= 0, e.g. 0.1"),
    })
}

/// A drift test or distance, by the name users write in configuration and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// Two-sample Kolmogorov-Smirnov test (numeric).
    #[serde(rename = "ks")]
    Ks,
    /// Pearson chi-square test (categorical, or numeric with few values).
    #[serde(rename = "chi2")]
    Chi2,
    /// Pooled two-proportion z-test (binary).
    #[serde(rename = "z")]
    Z,
    /// Population stability index.
    #[serde(rename = "psi")]
    Psi,
    /// Kullback-Leibler divergence.
    #[serde(rename = "kl")]
    Kl,
    /// Jensen-Shannon distance (base e).
    #[serde(rename = "js")]
    Js,
    /// Wasserstein-1 distance normalised by the reference standard deviation (numeric).
    #[serde(rename = "wasserstein")]
    Wasserstein,
    /// Hellinger distance.
    #[serde(rename = "hellinger")]
    Hellinger,
    /// k-sample Anderson-Darling test (numeric).
    #[serde(rename = "anderson")]
    Anderson,
    /// Two-sample Cramér-von Mises test (numeric).
    #[serde(rename = "cvm")]
    Cvm,
    /// Total variation distance.
    #[serde(rename = "tvd")]
    Tvd,
}

impl Method {
    /// Every method, in the order of the module table.
    pub const ALL: [Method; 11] = [
        Method::Ks,
        Method::Chi2,
        Method::Z,
        Method::Anderson,
        Method::Cvm,
        Method::Psi,
        Method::Kl,
        Method::Js,
        Method::Wasserstein,
        Method::Hellinger,
        Method::Tvd,
    ];

    /// The name accepted by `FromStr` and printed by `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::Chi2 => "chi2",
            Method::Z => "z",
            Method::Psi => "psi",
            Method::Kl => "kl",
            Method::Js => "js",
            Method::Wasserstein => "wasserstein",
            Method::Hellinger => "hellinger",
            Method::Anderson => "anderson",
            Method::Cvm => "cvm",
            Method::Tvd => "tvd",
        }
    }

    /// Whether the verdict compares a p-value (`p < threshold`) rather than a distance
    /// (`statistic >= threshold`).
    pub fn uses_p_value(self) -> bool {
        matches!(
            self,
            Method::Ks | Method::Chi2 | Method::Z | Method::Anderson | Method::Cvm
        )
    }

    /// The conventional threshold (see the module table).
    pub fn default_threshold(self) -> f64 {
        match self {
            Method::Ks | Method::Chi2 | Method::Z | Method::Anderson | Method::Cvm => 0.05,
            Method::Psi | Method::Kl | Method::Js | Method::Wasserstein | Method::Tvd => 0.1,
            Method::Hellinger => 0.4,
        }
    }

    /// Whether the method reads numeric values in order (and so cannot run on categories).
    pub fn needs_numeric(self) -> bool {
        matches!(self, Method::Ks | Method::Wasserstein | Method::Anderson | Method::Cvm)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::Invalid {
                what: "drift method",
                detail: format!(
                    "unknown name {s:?}; use one of {}",
                    Method::ALL.map(Method::name).join(", ")
                ),
            })
    }
}

/// How a column's values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Ordered numbers.
    Numeric,
    /// Labels (strings, booleans, codes).
    Categorical,
}

/// Reference sizes up to this use p-value tests; above it, distances (REFERENCES.md).
pub const SMALL_REFERENCE_ROWS: usize = 1000;

/// The conventional method for a column (REFERENCES.md, "Drift: established defaults"):
///
/// | reference rows | numeric, > 5 distinct | other (categorical, or numeric <= 5 distinct) | exactly 2 distinct |
/// |----------------|-----------------------|-----------------------------------------------|--------------------|
/// | <= 1000        | `ks`                  | `chi2`                                        | `z`                |
/// | > 1000         | `wasserstein`         | `js`                                          | `js`               |
///
/// `distinct_values` counts distinct non-missing values over both samples. Above 1000 rows the
/// distances replace the tests because p-values flag nearly every column at large n. A column
/// with a single value gets `chi2`, which reports no drift for it.
pub fn default_method(kind: ColumnKind, reference_rows: usize, distinct_values: usize) -> Method {
    let numeric = kind == ColumnKind::Numeric && distinct_values > 5;
    match (reference_rows <= SMALL_REFERENCE_ROWS, numeric) {
        (true, true) => Method::Ks,
        (true, false) if distinct_values == 2 => Method::Z,
        (true, false) => Method::Chi2,
        (false, true) => Method::Wasserstein,
        (false, false) => Method::Js,
    }
}

/// One method's outcome in a uniform shape, for reports and dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftScore {
    /// The method that produced it.
    pub method: Method,
    /// The statistic (for `wasserstein`, the normalised distance).
    pub statistic: f64,
    /// The p-value, for the methods that have one.
    pub p_value: Option<f64>,
    /// The threshold the verdict used.
    pub threshold: f64,
    /// The verdict.
    pub drifted: bool,
}

fn score(method: Method, statistic: f64, p_value: Option<f64>, threshold: f64, drifted: bool) -> DriftScore {
    DriftScore {
        method,
        statistic,
        p_value,
        threshold,
        drifted,
    }
}

/// Runs `method` on a numeric column (threshold defaults to the method's). Chi-square and the
/// z-test treat each distinct value as a category; the binned distances use reference deciles.
pub fn compare_numeric(
    method: Method,
    reference: &[f64],
    current: &[f64],
    threshold: Option<f64>,
) -> Result<DriftScore> {
    compare_pair(method, &NumericPair::new(reference, current)?, threshold)
}

/// As [`compare_numeric`], on samples already validated and sorted (so a caller that sorts once,
/// for example to count distinct values, does not pay for a second sort).
pub fn compare_pair(method: Method, pair: &NumericPair, threshold: Option<f64>) -> Result<DriftScore> {
    let t = threshold.unwrap_or(method.default_threshold());
    Ok(match method {
        Method::Ks => {
            let r = pair.ks(t)?;
            score(method, r.statistic, Some(r.p_value), t, r.drifted)
        }
        Method::Wasserstein => {
            let r = pair.wasserstein(t)?;
            score(method, r.normalized, None, t, r.drifted)
        }
        Method::Anderson => {
            let r = pair.anderson(t)?;
            score(method, r.statistic, Some(r.p_value), t, r.drifted)
        }
        Method::Cvm => {
            let r = pair.cramer_von_mises(t)?;
            score(method, r.statistic, Some(r.p_value), t, r.drifted)
        }
        Method::Chi2 | Method::Z => {
            let c = CategoryCounts::from_sorted_values(pair.reference(), pair.current());
            compare_categorical(method, &c.reference, &c.current, Some(t))?
        }
        Method::Psi | Method::Kl | Method::Js | Method::Hellinger | Method::Tvd => {
            let b = pair.quantile_bins(DEFAULT_BINS)?;
            compare_categorical(method, &b.reference, &b.current, Some(t))?
        }
    })
}

/// Runs `method` on two samples of labels, counted over the union of their categories
/// (threshold defaults to the method's).
pub fn compare_labels<S: AsRef<str>>(
    method: Method,
    reference: &[S],
    current: &[S],
    threshold: Option<f64>,
) -> Result<DriftScore> {
    let c = CategoryCounts::from_labels(reference, current);
    compare_categorical(method, &c.reference, &c.current, threshold)
}

/// Runs `method` on aligned category counts (threshold defaults to the method's).
pub fn compare_categorical(
    method: Method,
    reference: &[u64],
    current: &[u64],
    threshold: Option<f64>,
) -> Result<DriftScore> {
    let t = threshold.unwrap_or(method.default_threshold());
    let distance = |r: DistanceTest| score(method, r.statistic, None, t, r.drifted);
    Ok(match method {
        Method::Chi2 => {
            let r = chi_square(reference, current, t)?;
            score(method, r.statistic, Some(r.p_value), t, r.drifted)
        }
        Method::Z => {
            let r = z_test(reference, current, t)?;
            score(method, r.statistic, Some(r.p_value), t, r.drifted)
        }
        Method::Psi => distance(psi(reference, current, t)?),
        Method::Kl => distance(kl(reference, current, t)?),
        Method::Js => distance(jensen_shannon(reference, current, LogBase::E, t)?),
        Method::Hellinger => distance(hellinger(reference, current, t)?),
        Method::Tvd => distance(tvd(reference, current, t)?),
        Method::Ks | Method::Wasserstein | Method::Anderson | Method::Cvm => {
            return Err(Error::Invalid {
                what: "drift method",
                detail: format!(
                    "{method} needs ordered numeric values, not category counts; for \
                     categorical columns use chi2, z, psi, kl, js, hellinger or tvd"
                ),
            });
        }
    })
}

#[cfg(test)]
mod scipy_tests;
