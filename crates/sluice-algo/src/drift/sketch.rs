//! Drift statistics from quantile sketches instead of full samples, each with a guaranteed
//! error bound.
//!
//! A quantile sketch (KLL, as `datasketches` provides) summarises a column as a step CDF known at
//! a few hundred points, with a normalised rank error `eps`: for every `x`,
//! `|F_sketch(x) - F(x)| <= eps` (use the sketch's error for CDF/PMF queries). [`CdfPoints`]
//! holds such a CDF as sorted `(value, cumulative rank)` points, and the functions here
//! compute the statistics on it together with how far the exact value can be:
//!
//! | statistic   | input                 | bound on `|sketch - exact|`                            |
//! |-------------|-----------------------|--------------------------------------------------------|
//! | KS `D`      | two CDFs              | `2 eps` (each CDF is off by at most `eps` everywhere)  |
//! | Wasserstein | two CDFs              | `2 eps (x_max - x_min)` (see below)                    |
//! | PSI, JS, chi2 | bin proportions     | interval from the per-bin boxes (see below)            |
//!
//! Wasserstein: `W1 = int |F - G| dx`, and `||F^ - G^| - |F - G|| <= |F^ - F| + |G^ - G| <= 2 eps`
//! on `[x_min, x_max]`, the range of both samples (a KLL sketch stores the exact minimum and
//! maximum). Outside that range both the true and the sketched CDFs are 0 or 1, so the
//! difference integrates to at most `2 eps (x_max - x_min)`. Divide statistic and bound by the
//! reference standard deviation (which a streaming moment summary gives exactly) for the
//! normalised form.
//!
//! Binned statistics: a bin's proportion is a difference of two CDF values, so it is within
//! `2 eps` of the exact proportion on the same edges. Each statistic is a sum of per-bin terms
//! `f(p_i, q_i)` that vanish when `p = q` and grow as `p` and `q` move apart (for PSI, the JS
//! divergence and chi-square alike, `df/dq` has the sign of `q - p` and `df/dp` the opposite).
//! Over the box `[p - 2eps, p + 2eps] x [q - 2eps, q + 2eps]` the largest term is therefore at
//! one of the two corners farthest from the diagonal and the smallest is 0 if the box meets the
//! diagonal, else at the nearest corner. Summing gives an interval that contains the exact
//! value on these edges. The bound covers the counting only: edges chosen from a reference
//! sketch (for example by [`CdfPoints::quantile_edges`]) are themselves approximate deciles.
//!
//! Invariant: every returned interval `[lower, upper]` contains `statistic`, and
//! `error_bound = max(statistic - lower, upper - statistic)`.

use super::divergence::{
    LogBase, jensen_shannon_from_proportions, js_distance_from_sum, js_term, psi_from_proportions, psi_term,
};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A step CDF known at sorted points, as a quantile sketch reports it.
///
/// `ranks[i]` is the share of the column `<= values[i]`. Values must be finite and
/// non-decreasing, ranks non-decreasing in `[0, 1]` with the last equal to 1, and the first
/// value must be the column minimum (a KLL sketch's sorted view satisfies all of this).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CdfPoints<'a> {
    values: &'a [f64],
    ranks: &'a [f64],
}

impl<'a> CdfPoints<'a> {
    /// Validates the points.
    pub fn new(values: &'a [f64], ranks: &'a [f64]) -> Result<Self> {
        if values.len() != ranks.len() {
            return Err(Error::LengthMismatch {
                what: "CDF points (values and cumulative ranks)",
                left: values.len(),
                right: ranks.len(),
            });
        }
        if values.is_empty() {
            return Err(Error::Empty {
                what: "CDF points",
                min: 1,
            });
        }
        let bad = |detail: String| {
            Err(Error::Invalid {
                what: "CDF points",
                detail,
            })
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return bad(format!("values[{i}] = {} is not finite", values[i]));
        }
        if let Some(i) = values.windows(2).position(|w| w[0] > w[1]) {
            return bad(format!("values must be sorted ascending; values[{}] decreases", i + 1));
        }
        if let Some(i) = ranks.iter().position(|r| !(0.0..=1.0).contains(r)) {
            return bad(format!("ranks[{i}] = {} is outside [0, 1]", ranks[i]));
        }
        if let Some(i) = ranks.windows(2).position(|w| w[0] > w[1]) {
            return bad(format!("cumulative ranks must not decrease; ranks[{}] does", i + 1));
        }
        let last = ranks[ranks.len() - 1];
        if (last - 1.0).abs() > 1e-9 {
            return bad(format!(
                "the last cumulative rank is {last}, not 1; pass normalised ranks ending at the \
                 column maximum"
            ));
        }
        Ok(Self { values, ranks })
    }

    /// Smallest value (the column minimum).
    pub fn min(&self) -> f64 {
        self.values[0]
    }

    /// Largest value (the column maximum).
    pub fn max(&self) -> f64 {
        self.values[self.values.len() - 1]
    }

    /// Sketched `P(X <= x)`.
    pub fn cdf(&self, x: f64) -> f64 {
        match self.values.partition_point(|v| *v <= x) {
            0 => 0.0,
            i => self.ranks[i - 1],
        }
    }

    /// Sketched `P(X < x)`.
    pub fn cdf_below(&self, x: f64) -> f64 {
        match self.values.partition_point(|v| *v < x) {
            0 => 0.0,
            i => self.ranks[i - 1],
        }
    }

    /// Interior edges of `n_bins` equal-mass bins: for `i = 1..n_bins`, the smallest point value
    /// whose rank reaches `i / n_bins`, duplicates removed.
    pub fn quantile_edges(&self, n_bins: usize) -> Vec<f64> {
        let mut edges: Vec<f64> = (1..n_bins)
            .map(|i| {
                let q = i as f64 / n_bins as f64;
                let idx = self.ranks.partition_point(|r| *r < q).min(self.values.len() - 1);
                self.values[idx]
            })
            .collect();
        edges.dedup();
        edges
    }

    /// Proportion per bin for the bins of [`super::Binned`] (`edges[i-1] <= x < edges[i]`,
    /// open-ended first and last bins). Each is within `2 eps` of the exact proportion.
    pub fn bin_proportions(&self, edges: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(edges.len() + 1);
        let mut prev = 0.0;
        for &e in edges {
            let c = self.cdf_below(e);
            out.push((c - prev).max(0.0));
            prev = c;
        }
        out.push((1.0 - prev).max(0.0));
        out
    }
}

/// A statistic computed from sketches, with an interval guaranteed to contain the exact value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SketchEstimate {
    /// The statistic computed on the sketched inputs.
    pub statistic: f64,
    /// Lower end of the interval containing the exact statistic.
    pub lower: f64,
    /// Upper end of the interval containing the exact statistic.
    pub upper: f64,
    /// `max(statistic - lower, upper - statistic)`.
    pub error_bound: f64,
}

impl SketchEstimate {
    fn from_interval(statistic: f64, lower: f64, upper: f64) -> Self {
        let (lower, upper) = (lower.min(statistic), upper.max(statistic));
        Self {
            statistic,
            lower,
            upper,
            error_bound: (statistic - lower).max(upper - statistic),
        }
    }
}

fn check_rank_error(eps: f64) -> Result<()> {
    if !(0.0..1.0).contains(&eps) {
        return Err(Error::Invalid {
            what: "sketch rank error",
            detail: format!(
                "got {eps}; pass the sketch's normalised rank error, in [0, 1) (e.g. 0.0133 for \
                 a KLL sketch with k = 200)"
            ),
        });
    }
    Ok(())
}

/// Merged breakpoints of two step CDFs, ascending, without duplicates.
fn breakpoints(a: &CdfPoints, b: &CdfPoints) -> Vec<f64> {
    let mut xs: Vec<f64> = a.values.iter().chain(b.values).copied().collect();
    xs.sort_unstable_by(f64::total_cmp);
    xs.dedup();
    xs
}

/// Two-sample KS statistic from two sketched CDFs; exact `D` is within `2 eps` of it.
pub fn ks_sketch(reference: &CdfPoints, current: &CdfPoints, eps: f64) -> Result<SketchEstimate> {
    check_rank_error(eps)?;
    // Both CDFs are right-continuous steps that only move at their points: the supremum of the
    // gap is reached at one of them.
    let d = breakpoints(reference, current)
        .iter()
        .map(|&x| (reference.cdf(x) - current.cdf(x)).abs())
        .fold(0.0, f64::max);
    Ok(SketchEstimate::from_interval(
        d,
        (d - 2.0 * eps).max(0.0),
        (d + 2.0 * eps).min(1.0),
    ))
}

/// Wasserstein-1 distance from two sketched CDFs, in data units; exact `W1` is within
/// `2 eps (x_max - x_min)` of it.
pub fn wasserstein_sketch(reference: &CdfPoints, current: &CdfPoints, eps: f64) -> Result<SketchEstimate> {
    check_rank_error(eps)?;
    let xs = breakpoints(reference, current);
    let w: f64 = xs
        .windows(2)
        .map(|w| (reference.cdf(w[0]) - current.cdf(w[0])).abs() * (w[1] - w[0]))
        .sum();
    let range = reference.max().max(current.max()) - reference.min().min(current.min());
    let bound = 2.0 * eps * range;
    Ok(SketchEstimate::from_interval(w, (w - bound).max(0.0), w + bound))
}

fn check_proportions(p: &[f64], q: &[f64]) -> Result<()> {
    if p.len() != q.len() {
        return Err(Error::LengthMismatch {
            what: "reference and current bin proportions",
            left: p.len(),
            right: q.len(),
        });
    }
    if p.is_empty() {
        return Err(Error::Empty {
            what: "bin proportions",
            min: 1,
        });
    }
    if let Some(i) = p.iter().chain(q).position(|v| !(0.0..=1.0).contains(v)) {
        return Err(Error::Invalid {
            what: "bin proportions",
            detail: format!("entry {i} (reference first, then current) is outside [0, 1]"),
        });
    }
    Ok(())
}

/// `[min, max]` of `sum_i f(p_i, q_i)` over the boxes `|p_i - p^_i| <= delta`,
/// `|q_i - q^_i| <= delta`, for terms that vanish on `p = q` and grow away from it.
fn box_interval(p: &[f64], q: &[f64], delta: f64, f: impl Fn(f64, f64) -> f64) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0, 0.0);
    for (&p, &q) in p.iter().zip(q) {
        let (pl, ph) = ((p - delta).max(0.0), (p + delta).min(1.0));
        let (ql, qh) = ((q - delta).max(0.0), (q + delta).min(1.0));
        hi += f(pl, qh).max(f(ph, ql));
        lo += if ql > ph {
            f(ph, ql)
        } else if pl > qh {
            f(pl, qh)
        } else {
            0.0
        };
    }
    (lo, hi)
}

/// PSI from sketched bin proportions (reference `p`, current `q`), with the interval that
/// contains the PSI of the exact proportions on the same bins.
pub fn psi_sketch(p: &[f64], q: &[f64], eps: f64) -> Result<SketchEstimate> {
    check_rank_error(eps)?;
    check_proportions(p, q)?;
    let (lo, hi) = box_interval(p, q, 2.0 * eps, psi_term);
    Ok(SketchEstimate::from_interval(psi_from_proportions(p, q), lo, hi))
}

/// Jensen-Shannon distance from sketched bin proportions, with its interval.
pub fn jensen_shannon_sketch(p: &[f64], q: &[f64], base: LogBase, eps: f64) -> Result<SketchEstimate> {
    check_rank_error(eps)?;
    check_proportions(p, q)?;
    let (lo, hi) = box_interval(p, q, 2.0 * eps, js_term);
    // The divergence of two distributions never exceeds ln 2 (2 ln 2 for the summed terms).
    let hi = hi.min(2.0 * std::f64::consts::LN_2);
    Ok(SketchEstimate::from_interval(
        jensen_shannon_from_proportions(p, q, base),
        js_distance_from_sum(lo, base),
        js_distance_from_sum(hi, base),
    ))
}

/// Pearson chi-square statistic from sketched bin proportions, for a current batch of
/// `n_current` rows: `n_current sum (q - p)^2 / p`. The upper end is infinite when a bin's
/// reference proportion may be 0.
pub fn chi_square_sketch(p: &[f64], q: &[f64], n_current: u64, eps: f64) -> Result<SketchEstimate> {
    check_rank_error(eps)?;
    check_proportions(p, q)?;
    let n = n_current as f64;
    let term = |p: f64, q: f64| {
        if p > 0.0 {
            n * (q - p) * (q - p) / p
        } else if q > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    };
    let statistic = p.iter().zip(q).map(|(&p, &q)| term(p, q)).sum();
    let (lo, hi) = box_interval(p, q, 2.0 * eps, term);
    Ok(SketchEstimate::from_interval(statistic, lo, hi))
}

/// Hellinger distance from sketched bin proportions, with the interval of the exact value.
pub fn hellinger_sketch(p: &[f64], q: &[f64], eps: f64) -> Result<SketchEstimate> {
    check_rank_error(eps)?;
    check_proportions(p, q)?;
    let term = |a: f64, b: f64| (a.sqrt() - b.sqrt()).powi(2);
    let h = |sum: f64| (sum.max(0.0).sqrt() / std::f64::consts::SQRT_2).min(1.0);
    let statistic = h(p.iter().zip(q).map(|(&a, &b)| term(a, b)).sum());
    let (lo, hi) = box_interval(p, q, 2.0 * eps, term);
    Ok(SketchEstimate::from_interval(statistic, h(lo), h(hi)))
}

/// Total variation distance from sketched bin proportions, with the interval of the exact value.
pub fn tvd_sketch(p: &[f64], q: &[f64], eps: f64) -> Result<SketchEstimate> {
    check_rank_error(eps)?;
    check_proportions(p, q)?;
    let term = |a: f64, b: f64| 0.5 * (a - b).abs();
    let statistic = p.iter().zip(q).map(|(&a, &b)| term(a, b)).sum();
    let (lo, hi) = box_interval(p, q, 2.0 * eps, term);
    Ok(SketchEstimate::from_interval(statistic, lo, hi.min(1.0)))
}

/// KL(reference ‖ current) from sketched bin proportions (empty bins floored at
/// [`PSI_EPSILON`](super::PSI_EPSILON) as the exact path does), with an interval.
///
/// The per-bin terms `p ln(p/q)` are not all non-negative, so the interval is taken over the
/// generalised terms `p ln(p/q) - p + q`, which are (convex, zero on the diagonal) and sum to
/// the same value when both sides sum to one.
pub fn kl_sketch(p: &[f64], q: &[f64], eps: f64) -> Result<SketchEstimate> {
    check_rank_error(eps)?;
    check_proportions(p, q)?;
    let floor = |x: f64| if x == 0.0 { super::PSI_EPSILON } else { x };
    let term = |a: f64, b: f64| {
        let (a, b) = (floor(a), floor(b));
        a * (a / b).ln() - a + b
    };
    let statistic: f64 = p.iter().zip(q).map(|(&a, &b)| term(a, b)).sum();
    let (lo, hi) = box_interval(p, q, 2.0 * eps, term);
    Ok(SketchEstimate::from_interval(statistic.max(0.0), lo, hi))
}

/// The asymptotic two-sample KS p-value of statistic `d` for sample sizes `n` and `m` (scipy's
/// `ks_2samp(method="asymp")`: the one-sample Kolmogorov distribution at `round(nm/(n+m))`).
pub fn ks_p_value(d: f64, n: u64, m: u64) -> f64 {
    if n == 0 || m == 0 {
        return 1.0;
    }
    let en = (n as f64 * m as f64 / (n + m) as f64).round().max(1.0) as u64;
    super::kolmogorov::kstwo_sf(en, d.clamp(0.0, 1.0)).clamp(0.0, 1.0)
}

/// The chi-square upper tail at `statistic` with `dof` degrees of freedom (1 for `dof` 0).
pub fn chi2_p_value(statistic: f64, dof: usize) -> f64 {
    if dof == 0 {
        return 1.0;
    }
    if statistic.is_infinite() {
        return 0.0;
    }
    super::special::chi2_sf(statistic, dof as f64).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::super::divergence::{js_distance_from_sum, js_term};
    use super::super::ks::ks_sorted;
    use super::super::wasserstein::wasserstein_sorted;
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, LogNormal, Normal};

    /// Simulates a sketch: every `step`-th order statistic (plus the minimum and maximum) with
    /// its exact inclusive rank, so the step CDF is within `step / n <= eps` of the truth.
    fn simulated_sketch(sorted: &[f64], eps: f64) -> (Vec<f64>, Vec<f64>) {
        let n = sorted.len();
        let step = ((eps * n as f64).floor() as usize).max(1);
        let mut idx: Vec<usize> = (0..n).step_by(step).collect();
        if *idx.last().unwrap() != n - 1 {
            idx.push(n - 1);
        }
        let mut values = Vec::new();
        let mut ranks = Vec::new();
        for i in idx {
            let v = sorted[i];
            if values.last() == Some(&v) {
                continue;
            }
            values.push(v);
            ranks.push(sorted.partition_point(|x| *x <= v) as f64 / n as f64);
        }
        (values, ranks)
    }

    fn sample(n: usize, seed: u64, shift: f64, skewed: bool) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut v: Vec<f64> = if skewed {
            let d = LogNormal::new(shift, 0.8).unwrap();
            (0..n).map(|_| d.sample(&mut rng)).collect()
        } else {
            let d = Normal::new(shift, 1.0).unwrap();
            // Rounded to 2 decimals: many ties, the hard case for rank bookkeeping.
            (0..n).map(|_| (d.sample(&mut rng) * 100.0).round() / 100.0).collect()
        };
        v.sort_unstable_by(f64::total_cmp);
        v
    }

    fn exact_proportions(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
        let n = sorted.len() as f64;
        let mut out = Vec::new();
        let mut prev = 0usize;
        for &e in edges {
            let lt = sorted.partition_point(|x| *x < e);
            out.push((lt - prev) as f64 / n);
            prev = lt;
        }
        out.push((sorted.len() - prev) as f64 / n);
        out
    }

    #[test]
    fn sketch_statistics_stay_within_their_bounds() {
        for (skewed, shift) in [(false, 0.05), (false, 0.0), (true, 0.1)] {
            let r = sample(200_000, 11, 0.0, skewed);
            let c = sample(150_000, 12, shift, skewed);
            let d_exact = ks_sorted(&r, &c).0;
            let w_exact = wasserstein_sorted(&r, &c);
            for eps in [0.01, 0.002, 0.0005] {
                let (rv, rr) = simulated_sketch(&r, eps);
                let (cv, cr) = simulated_sketch(&c, eps);
                let rs = CdfPoints::new(&rv, &rr).unwrap();
                let cs = CdfPoints::new(&cv, &cr).unwrap();

                let ks = ks_sketch(&rs, &cs, eps).unwrap();
                assert!((ks.statistic - d_exact).abs() <= 2.0 * eps, "KS eps={eps}");
                assert!(ks.lower <= d_exact && d_exact <= ks.upper);

                let w = wasserstein_sketch(&rs, &cs, eps).unwrap();
                assert!((w.statistic - w_exact).abs() <= w.error_bound, "W eps={eps}");

                let edges = rs.quantile_edges(10);
                let (p_hat, q_hat) = (rs.bin_proportions(&edges), cs.bin_proportions(&edges));
                let (p, q) = (exact_proportions(&r, &edges), exact_proportions(&c, &edges));
                for (a, b) in p_hat.iter().chain(&q_hat).zip(p.iter().chain(&q)) {
                    assert!((a - b).abs() <= 2.0 * eps + 1e-15, "bin proportion eps={eps}");
                }
                let psi = psi_sketch(&p_hat, &q_hat, eps).unwrap();
                let psi_exact = psi_from_proportions(&p, &q);
                assert!(psi.lower <= psi_exact && psi_exact <= psi.upper, "PSI eps={eps}");
                let js = jensen_shannon_sketch(&p_hat, &q_hat, LogBase::E, eps).unwrap();
                let js_exact = jensen_shannon_from_proportions(&p, &q, LogBase::E);
                assert!(js.lower <= js_exact && js_exact <= js.upper, "JS eps={eps}");
                let chi = chi_square_sketch(&p_hat, &q_hat, c.len() as u64, eps).unwrap();
                let chi_exact: f64 = p
                    .iter()
                    .zip(&q)
                    .map(|(p, q)| c.len() as f64 * (q - p) * (q - p) / p)
                    .sum();
                assert!(chi.lower <= chi_exact && chi_exact <= chi.upper, "chi2 eps={eps}");
            }
        }
    }

    #[test]
    fn exact_points_give_exact_statistics() {
        // With every order statistic kept (eps -> 0), the sketch path is the exact path.
        let r = sample(3_000, 5, 0.0, true);
        let c = sample(2_000, 6, 0.2, true);
        let (rv, rr) = simulated_sketch(&r, 0.0);
        let (cv, cr) = simulated_sketch(&c, 0.0);
        let (rs, cs) = (CdfPoints::new(&rv, &rr).unwrap(), CdfPoints::new(&cv, &cr).unwrap());
        let ks = ks_sketch(&rs, &cs, 0.0).unwrap();
        assert!((ks.statistic - ks_sorted(&r, &c).0).abs() < 1e-15);
        assert_eq!(ks.error_bound, 0.0);
        let w = wasserstein_sketch(&rs, &cs, 0.0).unwrap();
        assert!((w.statistic - wasserstein_sorted(&r, &c)).abs() < 1e-12);
    }

    #[test]
    fn box_interval_is_tight_at_zero_error() {
        let p = [0.2, 0.3, 0.5];
        let q = [0.1, 0.4, 0.5];
        let (lo, hi) = box_interval(&p, &q, 0.0, js_term);
        assert_eq!(lo, hi);
        let want = jensen_shannon_from_proportions(&p, &q, LogBase::E);
        assert!((js_distance_from_sum(lo, LogBase::E) - want).abs() < 1e-15);
    }

    #[test]
    fn rejects_malformed_points() {
        assert!(CdfPoints::new(&[1.0, 2.0], &[0.5, 0.9]).is_err());
        assert!(CdfPoints::new(&[2.0, 1.0], &[0.5, 1.0]).is_err());
        assert!(CdfPoints::new(&[1.0, 2.0], &[0.6, 0.5]).is_err());
        assert!(CdfPoints::new(&[1.0], &[1.0, 1.0]).is_err());
        let ok = CdfPoints::new(&[1.0, 2.0], &[0.5, 1.0]).unwrap();
        assert!(ks_sketch(&ok, &ok, 1.5).is_err());
        assert!(psi_sketch(&[0.5, 0.5], &[1.2, -0.2], 0.01).is_err());
    }

    #[test]
    fn binned_sketch_intervals_contain_the_exact_values() {
        let p = [0.1, 0.2, 0.3, 0.4];
        let q = [0.12, 0.18, 0.25, 0.45];
        let eps = 0.01;
        let counts = |v: &[f64]| v.iter().map(|x| (x * 1e6).round() as u64).collect::<Vec<_>>();
        let (rc, cc) = (counts(&p), counts(&q));
        // Exact values of the neighbouring proportions stay inside the sketch intervals.
        for (est, exact) in [
            (
                hellinger_sketch(&p, &q, eps).unwrap(),
                crate::drift::hellinger(&rc, &cc, 0.4).unwrap().statistic,
            ),
            (
                tvd_sketch(&p, &q, eps).unwrap(),
                crate::drift::tvd(&rc, &cc, 0.1).unwrap().statistic,
            ),
            (
                kl_sketch(&p, &q, eps).unwrap(),
                crate::drift::kl(&rc, &cc, 0.1).unwrap().statistic,
            ),
        ] {
            assert!((est.statistic - exact).abs() < 1e-9, "{est:?} vs {exact}");
            assert!(est.lower <= exact && exact <= est.upper, "{est:?} vs {exact}");
            assert!(est.error_bound > 0.0);
        }
        // A perturbation within 2 eps per bin stays inside too.
        let q2 = [0.12 + 0.015, 0.18 - 0.015, 0.25, 0.45];
        let cc2 = counts(&q2);
        let est = hellinger_sketch(&p, &q, eps).unwrap();
        let exact = crate::drift::hellinger(&rc, &cc2, 0.4).unwrap().statistic;
        assert!(est.lower <= exact && exact <= est.upper);
    }

    #[test]
    fn sketch_p_values_match_the_asymptotic_forms() {
        // Above KS_EXACT_MAX_N the exact path uses the same asymptotic form (checked against
        // scipy in scipy_tests), so the two agree on large samples.
        let a: Vec<f64> = (0..12_000).map(|i| f64::from(i) * 0.5).collect();
        let b: Vec<f64> = (0..15_000).map(|i| f64::from(i) * 0.41 + 30.0).collect();
        let exact = crate::drift::ks_2samp(&a, &b, 0.05).unwrap();
        let p = ks_p_value(exact.statistic, 12_000, 15_000);
        assert!(
            (p - exact.p_value).abs() <= 1e-12 * exact.p_value.max(1e-300),
            "{p} vs {exact:?}"
        );
        // chi2.sf(3.0, 2) = exp(-1.5).
        assert!(ks_p_value(0.0, 10, 10) > 0.999);
        assert!(ks_p_value(1.0, 1000, 1000) < 1e-12);
        assert!((chi2_p_value(3.0, 2) - (-1.5f64).exp()).abs() < 1e-12);
        assert_eq!(chi2_p_value(5.0, 0), 1.0);
        assert_eq!(chi2_p_value(f64::INFINITY, 3), 0.0);
    }
}
