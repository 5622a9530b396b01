//! ROC AUC as the Mann-Whitney statistic, with DeLong's variance.
//!
//! The area under the empirical ROC curve equals the probability that a random positive scores
//! above a random negative, ties counting one half (Bamber 1975; Hanley & McNeil 1982):
//! `AUC = (1 / m n) sum_i sum_j psi(X_i, Y_j)`, `psi = 1, 1/2, 0` for `X > Y`, `X = Y`, `X < Y`,
//! over the `m` positive scores `X` and `n` negative scores `Y`. This is exactly what
//! scikit-learn's `roc_auc_score` returns: its trapezoidal ROC curve joins tied scores with one
//! diagonal segment, whose area is the one half.
//!
//! DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837, eq. (3)-(5): the structural
//! components `V10(X_i) = (1/n) sum_j psi(X_i, Y_j)` and `V01(Y_j) = (1/m) sum_i psi(X_i, Y_j)`
//! have sample variances `S10` and `S01` (divisor `m - 1`, `n - 1`), and
//! `Var(AUC) = S10 / m + S01 / n`. The interval is `AUC -/+ z sqrt(Var)` clamped to [0, 1], as
//! pROC's `ci.auc(method = "delong")` computes it. At a perfect separation every component is 1
//! or 0 and the variance is 0: the interval collapses to the point, a known property of DeLong's
//! estimator at the boundary, not a bug.
//!
//! Both the AUC and the components come from one pass over the scores sorted ascending, grouped
//! into runs of equal scores: a positive in a run is above every negative of earlier runs and
//! ties with the negatives of its own run (Sun & Xu 2014 compute the same components from
//! midranks). O(N log N) for the sort, O(N) after; the bootstrap reuses one sort for every
//! resample by weighting rows with their resample counts.

use serde::{Deserialize, Serialize};

use super::{CiMethod, Interval, Metric};
use crate::error::{Error, Result};

/// The AUC of one binary problem with its DeLong variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinaryAuc {
    /// Area under the ROC curve.
    pub auc: f64,
    /// DeLong's variance, `None` with fewer than two positives or two negatives.
    pub variance: Option<f64>,
    /// Number of positive rows (`m`).
    pub positives: usize,
    /// Number of negative rows (`n`).
    pub negatives: usize,
}

/// ROC AUC of `scores` (higher = more likely positive) against `is_positive`, with DeLong's
/// variance.
///
/// Errors when the lengths differ, a score is not finite, or one class is absent (the AUC is
/// undefined without both positives and negatives).
pub fn binary_auc(scores: &[f64], is_positive: &[bool]) -> Result<BinaryAuc> {
    if scores.len() != is_positive.len() {
        return Err(Error::LengthMismatch {
            what: "scores vs labels",
            left: scores.len(),
            right: is_positive.len(),
        });
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::Invalid {
            what: "scores",
            detail: format!("row {i} is {}; scores must be finite numbers", scores[i]),
        });
    }
    let m = is_positive.iter().filter(|&&p| p).count();
    let n = scores.len() - m;
    if m == 0 || n == 0 {
        return Err(Error::Invalid {
            what: "ROC AUC",
            detail: format!(
                "{m} positive and {n} negative rows; the AUC needs at least one of each (use a window \
                 that contains both classes)"
            ),
        });
    }
    let order = sorted_order(scores);
    let (mut v10, mut v01) = (Vec::with_capacity(m), Vec::with_capacity(n));
    let (mut neg_below, mut pos_below) = (0usize, 0usize);
    for run in runs(&order, scores) {
        let pos_in = run.iter().filter(|&&r| is_positive[r]).count();
        let neg_in = run.len() - pos_in;
        let pos_above = m - pos_below - pos_in;
        for &r in run {
            if is_positive[r] {
                v10.push((neg_below as f64 + 0.5 * neg_in as f64) / n as f64);
            } else {
                v01.push((pos_above as f64 + 0.5 * pos_in as f64) / m as f64);
            }
        }
        neg_below += neg_in;
        pos_below += pos_in;
    }
    let auc = v10.iter().sum::<f64>() / m as f64;
    let variance = (m >= 2 && n >= 2).then(|| {
        let s10 = v10.iter().map(|v| (v - auc) * (v - auc)).sum::<f64>() / (m - 1) as f64;
        let mean01 = v01.iter().sum::<f64>() / n as f64;
        let s01 = v01.iter().map(|v| (v - mean01) * (v - mean01)).sum::<f64>() / (n - 1) as f64;
        s10 / m as f64 + s01 / n as f64
    });
    Ok(BinaryAuc {
        auc,
        variance,
        positives: m,
        negatives: n,
    })
}

/// The binary AUC as a [`Metric`] with its DeLong interval; `one_class` is the reason given
/// when a class is absent.
pub(crate) fn binary_auc_metric(scores: &[f64], is_positive: &[bool], level: f64, z: f64, one_class: &str) -> Metric {
    let auc = match binary_auc(scores, is_positive) {
        Ok(a) => a,
        Err(_) => return Metric::undefined(one_class),
    };
    let ci = match auc.variance {
        Some(var) => {
            let half = z * var.sqrt();
            Ok(Interval {
                low: (auc.auc - half).max(0.0),
                high: (auc.auc + half).min(1.0),
                level,
                method: CiMethod::DeLong,
            })
        }
        None => Err(format!(
            "{} positive and {} negative rows: DeLong's variance needs at least two of each",
            auc.positives, auc.negatives
        )),
    };
    Metric::with_ci(auc.auc, ci)
}

/// Row indices sorted by ascending score (scores are finite).
fn sorted_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order
}

/// Runs of equal scores in `order`.
fn runs<'a>(order: &'a [usize], scores: &'a [f64]) -> impl Iterator<Item = &'a [usize]> {
    order.chunk_by(move |&a, &b| scores[a] == scores[b])
}

/// Scores ranked once for repeated weighted AUCs (the bootstrap): rows in ascending score order
/// with their class and where each run of equal scores ends, so a resample is one linear pass.
#[derive(Debug, Clone)]
pub(crate) struct Ranked {
    rows: Vec<u32>,
    positive: Vec<bool>,
    run_end: Vec<bool>,
}

impl Ranked {
    /// Ranks finite `scores`; row `r` is positive when `is_positive(r)`.
    pub(crate) fn new(scores: &[f64], is_positive: impl Fn(usize) -> bool) -> Self {
        let order = sorted_order(scores);
        let run_end = (0..order.len())
            .map(|i| i + 1 == order.len() || scores[order[i]] != scores[order[i + 1]])
            .collect();
        Self {
            positive: order.iter().map(|&r| is_positive(r)).collect(),
            rows: order.iter().map(|&r| r as u32).collect(),
            run_end,
        }
    }

    /// AUC with row `r` counted `weight[r]` times; `None` when the weighted sample lacks a
    /// class. Exact integer arithmetic until the final division, so unit weights give
    /// [`binary_auc`]'s value to within one rounding.
    pub(crate) fn weighted_auc(&self, weight: &[u32]) -> Option<f64> {
        // Twice the numerator: each positive adds 2 * (negatives below) + (negatives tied).
        let (mut twice, mut neg_below, mut pos_total) = (0u128, 0u64, 0u64);
        let (mut pos_in, mut neg_in) = (0u64, 0u64);
        for ((&r, &pos), &end) in self.rows.iter().zip(&self.positive).zip(&self.run_end) {
            let w = u64::from(weight[r as usize]);
            let p = u64::from(pos);
            pos_in += w * p;
            neg_in += w * (1 - p);
            if end {
                twice += u128::from(pos_in) * u128::from(2 * neg_below + neg_in);
                neg_below += neg_in;
                pos_total += pos_in;
                pos_in = 0;
                neg_in = 0;
            }
        }
        (pos_total > 0 && neg_below > 0)
            .then(|| twice as f64 / (2 * u128::from(pos_total) * u128::from(neg_below)) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sklearn_docstring_example() {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75
        let a = binary_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert_eq!(a.auc, 0.75);
        // By hand: V10 = (1/2, 1), V01 = (1, 1/2); S10 = S01 = 0.125; Var = 0.125.
        assert!((a.variance.unwrap() - 0.125).abs() < 1e-15);
    }

    #[test]
    fn ties_count_one_half() {
        // All scores equal: every pair ties, AUC 0.5 (sklearn gives 0.5 too).
        let a = binary_auc(&[0.3; 6], &[true, false, true, false, false, true]).unwrap();
        assert_eq!(a.auc, 0.5);
        // One positive tied with one of two negatives, above the other: (1 + 0.5) / 2.
        let b = binary_auc(&[0.7, 0.7, 0.2], &[true, false, false]).unwrap();
        assert_eq!(b.auc, 0.75);
        assert!(b.variance.is_none(), "one positive: no DeLong variance");
    }

    #[test]
    fn one_class_is_an_error_with_the_fix() {
        let err = binary_auc(&[0.1, 0.9], &[true, true]).unwrap_err().to_string();
        assert!(
            err.contains("2 positive and 0 negative") && err.contains("both classes"),
            "{err}"
        );
        assert!(binary_auc(&[0.1, f64::NAN], &[true, false]).is_err());
        assert!(binary_auc(&[0.1], &[true, false]).is_err());
        let m = binary_auc_metric(&[0.1, 0.9], &[false, false], 0.95, 1.96, "one class");
        assert_eq!(m, Metric::undefined("one class"));
    }

    #[test]
    fn perfect_separation_collapses_the_interval() {
        let m = binary_auc_metric(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true], 0.95, 1.96, "");
        let e = m.estimate().unwrap();
        let ci = e.ci.unwrap();
        assert_eq!((e.value, ci.low, ci.high), (1.0, 1.0, 1.0));
    }

    #[test]
    fn weighted_auc_matches_duplicated_rows() {
        let scores = [0.2, 0.5, 0.5, 0.9, 0.1, 0.7];
        let pos = [false, true, false, true, false, false];
        let w = [2u32, 1, 3, 0, 1, 2];
        let ranked = Ranked::new(&scores, |r| pos[r]);
        let got = ranked.weighted_auc(&w).unwrap();
        let (mut s, mut p) = (vec![], vec![]);
        for r in 0..6 {
            for _ in 0..w[r] {
                s.push(scores[r]);
                p.push(pos[r]);
            }
        }
        assert!((got - binary_auc(&s, &p).unwrap().auc).abs() < 1e-15);
        assert_eq!(ranked.weighted_auc(&[1, 0, 1, 0, 1, 1]), None);
        let all = binary_auc(&scores, &pos).unwrap().auc;
        assert!((ranked.weighted_auc(&[1; 6]).unwrap() - all).abs() < 1e-15);
    }
}
