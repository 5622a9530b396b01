//! The sketch path: one column compared from the two sides' stored profiles, no rows read.
//!
//! * Numeric columns: the KLL sketch's CDF, read at 4096 evenly spaced ranks (so between two
//!   read points the sketch's own CDF moves by less than 1/4096), drives KS and Wasserstein
//!   directly and the binned distances on the reference's sketched deciles. The bound uses
//!   `eps = KLL normalised rank error + 1/4096`; the KLL error holds with 99% confidence.
//! * Categorical columns (and integer columns with few values): the frequent-items sketch. While
//!   a column has fewer distinct values than the sketch's capacity (192 for map size 256) its
//!   counts are exact, and the exact formulas run on them. Beyond that, the tracked items plus an
//!   `(other)` bucket give proportions whose error is at most the sketch's maximum error per item
//!   (and the sum of them for `(other)`); the bound uses the larger of those shares.
//! * Anderson-Darling and Cramer-von Mises need every value; on this path they are skipped with
//!   a message naming the budget that would make the exact path run.

use datasketches::common::SearchCriteria;
use datasketches::frequencies::ErrorType;
use datasketches::kll::{KllFloat, KllSketch};
use sluice_algo::drift::sketch::{
    CdfPoints, SketchEstimate, chi_square_sketch, chi2_p_value, hellinger_sketch, jensen_shannon_sketch, kl_sketch,
    ks_p_value, ks_sketch, psi_sketch, tvd_sketch, wasserstein_sketch,
};
use sluice_algo::drift::{self, ColumnKind, DEFAULT_BINS, LogBase, Method, WASSERSTEIN_STD_FLOOR};
use sluice_profile::ColumnState;

use crate::exact::{Plan, SideCounts, categorical_from_counts, category_distribution, fmt_num, numeric_sorted, score};
use crate::report::{ColumnDrift, Computation, Distribution, Kind};
use crate::{Error, Result};

/// Ranks at which a KLL sketch's CDF is read.
const GRID: usize = 4096;

pub(crate) fn compare(plan: &Plan, r: &ColumnState, c: &ColumnState) -> Result<ColumnDrift> {
    let missing = [r.rows - values(r), c.rows - values(c)];
    let totals = [r.rows, c.rows];
    if values(r) == 0 || values(c) == 0 {
        return Err(Error::NoValues {
            column: plan.column.to_string(),
            side: if values(r) == 0 { "reference" } else { "current table" },
        });
    }
    if let Some((labels, rc, cc)) = exact_counts(r, c) {
        // Counts per value are exact (fewer distinct values than the sketch's capacity): the
        // comparison is the exact path's, on the samples the counts describe.
        if plan.kind == Kind::Categorical {
            return categorical_from_counts(plan, &labels, &rc, &cc, missing, totals, Computation::ExactCounts);
        }
        if let Some(d) = exact_cdf_numeric(plan, &labels, &rc, &cc, r, missing, totals) {
            return d;
        }
        if let Some((rv, cv)) = expand(&labels, &rc, &cc) {
            return numeric_sorted(plan, rv, cv, missing, totals, Computation::ExactCounts);
        }
    }
    match plan.kind {
        Kind::Numeric => numeric(plan, r, c, missing, totals),
        Kind::Categorical => approximate_categorical(plan, r, c, missing, totals),
    }
}

/// Rows up to which exact counts of a numeric column are expanded back into its sorted sample.
const EXPAND_MAX_ROWS: u64 = 20_000_000;

/// KS and Wasserstein from exact per-value counts of a numeric column, without expanding them:
/// both are functionals of the two step CDFs, which the counts give exactly (`eps = 0`). Above
/// `KS_EXACT_MAX_N` values the exact path's KS p-value is the same asymptotic form. `None` when
/// another method is asked for or the samples are small (then expanding is cheap and exact).
fn exact_cdf_numeric(
    plan: &Plan,
    labels: &[String],
    rc: &[u64],
    cc: &[u64],
    r: &ColumnState,
    missing: [u64; 2],
    totals: [u64; 2],
) -> Option<Result<ColumnDrift>> {
    let (rn, cn): (u64, u64) = (rc.iter().sum(), cc.iter().sum());
    if (rn.max(cn) as usize) <= drift::KS_EXACT_MAX_N {
        return None;
    }
    let mut points: Vec<(f64, u64, u64)> = Vec::with_capacity(labels.len());
    for ((l, &a), &b) in labels.iter().zip(rc).zip(cc) {
        points.push((l.parse::<f64>().ok()?, a, b));
    }
    points.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let method = plan
        .method
        .unwrap_or_else(|| drift::default_method(ColumnKind::Numeric, rn as usize, points.len()));
    if !matches!(method, Method::Ks | Method::Wasserstein) {
        return None;
    }
    let cdf = |side: usize, n: u64| -> (Vec<f64>, Vec<f64>) {
        let (mut xs, mut ranks, mut acc) = (Vec::new(), Vec::new(), 0u64);
        for p in &points {
            let c = if side == 0 { p.1 } else { p.2 };
            if c > 0 {
                acc += c;
                xs.push(p.0);
                ranks.push(acc as f64 / n as f64);
            }
        }
        (xs, ranks)
    };
    let run = || -> Result<ColumnDrift> {
        let (rx, rr) = cdf(0, rn);
        let (cx, cr) = cdf(1, cn);
        let (rp, cp) = (CdfPoints::new(&rx, &rr)?, CdfPoints::new(&cx, &cr)?);
        let threshold = plan.threshold_for(method);
        let (statistic, p_value) = match method {
            Method::Ks => {
                let d = ks_sketch(&rp, &cp, 0.0)?.statistic;
                (d, Some(ks_p_value(d, rn, cn)))
            }
            _ => {
                let w = wasserstein_sketch(&rp, &cp, 0.0)?.statistic;
                (w / population_std(r).max(WASSERSTEIN_STD_FLOOR), None)
            }
        };
        let labels: Vec<String> = points.iter().map(|p| fmt_num(p.0)).collect();
        let rcs: Vec<u64> = points.iter().map(|p| p.1).collect();
        let ccs: Vec<u64> = points.iter().map(|p| p.2).collect();
        let mut distribution = category_distribution(&labels, &rcs, &ccs);
        if points.len() > crate::exact::REPORT_CATEGORIES {
            distribution = sketch_distribution(&rp, &cp, points[0].0, points[points.len() - 1].0);
        }
        let sides = SideCounts {
            values: [rn, cn],
            missing,
            totals,
        };
        Ok(plan.result(
            Kind::Numeric,
            score(method, statistic, p_value, threshold),
            Computation::ExactCounts,
            sides,
            points.len() as u64,
            distribution,
        ))
    };
    Some(run())
}

/// The sorted samples that exact per-value counts of integers describe.
fn expand(labels: &[String], rc: &[u64], cc: &[u64]) -> Option<(Vec<f64>, Vec<f64>)> {
    if rc.iter().sum::<u64>() + cc.iter().sum::<u64>() > EXPAND_MAX_ROWS {
        return None;
    }
    let mut pairs: Vec<(f64, u64, u64)> = Vec::with_capacity(labels.len());
    for ((l, &r), &c) in labels.iter().zip(rc).zip(cc) {
        pairs.push((l.parse::<f64>().ok()?, r, c));
    }
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut rv = Vec::with_capacity(rc.iter().sum::<u64>() as usize);
    let mut cv = Vec::with_capacity(cc.iter().sum::<u64>() as usize);
    for (v, r, c) in pairs {
        rv.extend(std::iter::repeat_n(v, r as usize));
        cv.extend(std::iter::repeat_n(v, c as usize));
    }
    Some((rv, cv))
}

fn values(s: &ColumnState) -> u64 {
    match (&s.kll, &s.freq) {
        (Some(k), _) => k.n(),
        (None, Some(f)) => f.total_weight(),
        _ => 0,
    }
}

/// Exact counts per value from both frequent-items sketches, when neither has purged.
fn exact_counts(r: &ColumnState, c: &ColumnState) -> Option<(Vec<String>, Vec<u64>, Vec<u64>)> {
    let (rf, cf) = (r.freq.as_ref()?, c.freq.as_ref()?);
    if rf.maximum_error() != 0 || cf.maximum_error() != 0 {
        return None;
    }
    let mut items: Vec<(String, u64, u64)> = Vec::new();
    for row in rf.frequent_items(ErrorType::NoFalseNegatives) {
        items.push((row.item().clone(), row.estimate(), cf.estimate(row.item().as_str())));
    }
    for row in cf.frequent_items(ErrorType::NoFalseNegatives) {
        if rf.estimate(row.item().as_str()) == 0 {
            items.push((row.item().clone(), 0, row.estimate()));
        }
    }
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Some((
        items.iter().map(|i| i.0.clone()).collect(),
        items.iter().map(|i| i.1).collect(),
        items.iter().map(|i| i.2).collect(),
    ))
}

/// A KLL sketch's CDF as points, and the error of those points against the true CDF.
fn cdf_points(kll: &KllSketch<KllFloat<f64>>) -> Result<(Vec<f64>, Vec<f64>, f64)> {
    let view = kll.sorted_view();
    let ranks: Vec<f64> = (1..=GRID).map(|i| i as f64 / GRID as f64).collect();
    let q = view
        .quantiles(&ranks, SearchCriteria::Inclusive)
        .map_err(|e| Error::Internal(format!("KLL quantiles: {e}")))?
        .ok_or_else(|| Error::Internal("empty KLL sketch".into()))?;
    let mut xs: Vec<f64> = Vec::with_capacity(GRID + 1);
    if let Some(min) = kll.min_item() {
        xs.push(min.into_inner());
    }
    xs.extend(q.into_iter().map(KllFloat::into_inner));
    xs.dedup();
    let mut values = Vec::with_capacity(xs.len());
    let mut cdf = Vec::with_capacity(xs.len());
    for x in xs {
        let k = KllFloat::<f64>::new(x).map_err(|e| Error::Internal(e.to_string()))?;
        let rank = view.rank(&k, SearchCriteria::Inclusive).unwrap_or(1.0);
        values.push(x);
        cdf.push(rank.clamp(0.0, 1.0));
    }
    if let Some(last) = cdf.last_mut() {
        *last = 1.0;
    }
    // Ranks must not decrease; rounding in the view cannot make them, but clamp to be sure.
    for i in 1..cdf.len() {
        if cdf[i] < cdf[i - 1] {
            cdf[i] = cdf[i - 1];
        }
    }
    Ok((values, cdf, kll.normalized_rank_error() + 1.0 / GRID as f64))
}

fn numeric(plan: &Plan, r: &ColumnState, c: &ColumnState, missing: [u64; 2], totals: [u64; 2]) -> Result<ColumnDrift> {
    let (Some(rk), Some(ck)) = (r.kll.as_ref(), c.kll.as_ref()) else {
        return Err(Error::Internal(format!(
            "{}: numeric profile without a KLL sketch",
            plan.column
        )));
    };
    let (rx, rr, re) = cdf_points(rk)?;
    let (cx, cr, ce) = cdf_points(ck)?;
    let eps = re.max(ce);
    let rp = CdfPoints::new(&rx, &rr)?;
    let cp = CdfPoints::new(&cx, &cr)?;
    let (rn, cn) = (rk.n(), ck.n());
    let distinct = r.hll.estimate().max(c.hll.estimate()).round() as u64;
    let method = plan
        .method
        .unwrap_or_else(|| drift::default_method(ColumnKind::Numeric, rn as usize, distinct as usize));
    let threshold = plan.threshold_for(method);
    let basis = format!("KLL rank error {eps:.4} per side (99% confidence)");
    let binned = || -> (Vec<f64>, Vec<f64>) {
        let edges = rp.quantile_edges(DEFAULT_BINS);
        (rp.bin_proportions(&edges), cp.bin_proportions(&edges))
    };
    let (estimate, p_value): (SketchEstimate, Option<f64>) = match method {
        Method::Ks => {
            let e = ks_sketch(&rp, &cp, eps)?;
            (e, Some(ks_p_value(e.statistic, rn, cn)))
        }
        Method::Wasserstein => {
            let std = population_std(r).max(WASSERSTEIN_STD_FLOOR);
            let e = wasserstein_sketch(&rp, &cp, eps)?;
            (
                SketchEstimate {
                    statistic: e.statistic / std,
                    lower: e.lower / std,
                    upper: e.upper / std,
                    error_bound: e.error_bound / std,
                },
                None,
            )
        }
        Method::Psi => {
            let (p, q) = binned();
            (psi_sketch(&p, &q, eps)?, None)
        }
        Method::Js => {
            let (p, q) = binned();
            (jensen_shannon_sketch(&p, &q, LogBase::E, eps)?, None)
        }
        Method::Kl => {
            let (p, q) = binned();
            (kl_sketch(&p, &q, eps)?, None)
        }
        Method::Hellinger => {
            let (p, q) = binned();
            (hellinger_sketch(&p, &q, eps)?, None)
        }
        Method::Tvd => {
            let (p, q) = binned();
            (tvd_sketch(&p, &q, eps)?, None)
        }
        Method::Chi2 => {
            let (p, q) = binned();
            let e = chi_square_sketch(&p, &q, cn, eps)?;
            let dof = p.len().saturating_sub(1);
            (e, Some(chi2_p_value(e.statistic, dof)))
        }
        Method::Z | Method::Anderson | Method::Cvm => {
            return Err(Error::Method {
                column: plan.column.to_string(),
                detail: format!(
                    "{method} needs the full samples, and the larger side has {} rows; raise the exact budget \
                     (--exact-budget {}) or use ks or wasserstein, which the profiles answer",
                    rn.max(cn),
                    rn.max(cn)
                ),
            });
        }
    };
    let computation = Computation::Sketch {
        lower: estimate.lower,
        upper: estimate.upper,
        error_bound: estimate.error_bound,
        basis,
    };
    let sides = SideCounts {
        values: [rn, cn],
        missing,
        totals,
    };
    let (lo, hi) = (r.values.min.min(c.values.min), r.values.max.max(c.values.max));
    Ok(plan.result(
        Kind::Numeric,
        score(method, estimate.statistic, p_value, threshold),
        computation,
        sides,
        distinct,
        sketch_distribution(&rp, &cp, lo, hi),
    ))
}

/// Standard deviation with n in the denominator (as the exact path and scipy normalise).
fn population_std(s: &ColumnState) -> f64 {
    let n = s.values.n;
    match s.values.std() {
        Some(sd) if n > 1 => sd * ((n - 1) as f64 / n as f64).sqrt(),
        _ => 0.0,
    }
}

fn sketch_distribution(r: &CdfPoints, c: &CdfPoints, lo: f64, hi: f64) -> Distribution {
    let bins = crate::exact::REPORT_BINS;
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Distribution {
            labels: vec![fmt_num(lo)],
            reference: vec![1.0],
            current: vec![1.0],
        };
    }
    let edges: Vec<f64> = (1..bins).map(|i| lo + (hi - lo) * i as f64 / bins as f64).collect();
    let label = |i: usize| {
        let a = lo + (hi - lo) * i as f64 / bins as f64;
        let b = lo + (hi - lo) * (i + 1) as f64 / bins as f64;
        format!("{}..{}", fmt_num(a), fmt_num(b))
    };
    Distribution {
        labels: (0..bins).map(label).collect(),
        reference: r.bin_proportions(&edges),
        current: c.bin_proportions(&edges),
    }
}

fn approximate_categorical(
    plan: &Plan,
    r: &ColumnState,
    c: &ColumnState,
    missing: [u64; 2],
    totals: [u64; 2],
) -> Result<ColumnDrift> {
    let (Some(rf), Some(cf)) = (r.freq.as_ref(), c.freq.as_ref()) else {
        return Err(Error::Method {
            column: plan.column.to_string(),
            detail: "the profile has no frequency sketch for this column".into(),
        });
    };
    let mut items: Vec<String> = rf
        .frequent_items(ErrorType::NoFalseNegatives)
        .into_iter()
        .chain(cf.frequent_items(ErrorType::NoFalseNegatives))
        .map(|row| row.item().clone())
        .collect();
    items.sort_unstable();
    items.dedup();
    let (rn, cn) = (rf.total_weight(), cf.total_weight());
    let mut rc: Vec<u64> = items.iter().map(|i| rf.estimate(i.as_str())).collect();
    let mut cc: Vec<u64> = items.iter().map(|i| cf.estimate(i.as_str())).collect();
    let (rs, cs): (u64, u64) = (rc.iter().sum(), cc.iter().sum());
    let mut labels = items.clone();
    labels.push("(other)".into());
    rc.push(rn.saturating_sub(rs));
    cc.push(cn.saturating_sub(cs));
    // Each estimate is within the sketch's maximum error; `(other)` within the sum of them.
    let per_item = |err: u64, n: u64| (err as f64 * (items.len() as f64 + 1.0) / n.max(1) as f64).min(1.0);
    let delta = per_item(rf.maximum_error(), rn).max(per_item(cf.maximum_error(), cn));
    // The sketch functions widen each proportion by 2 eps.
    let eps = (delta / 2.0).min(0.499_999);
    let p: Vec<f64> = rc.iter().map(|&x| x as f64 / rn.max(1) as f64).collect();
    let q: Vec<f64> = cc.iter().map(|&x| x as f64 / cn.max(1) as f64).collect();
    let distinct = r.hll.estimate().max(c.hll.estimate()).round() as u64;
    let method = plan
        .method
        .unwrap_or_else(|| drift::default_method(ColumnKind::Categorical, rn as usize, distinct as usize));
    let threshold = plan.threshold_for(method);
    let (estimate, p_value) = match method {
        Method::Js => (jensen_shannon_sketch(&p, &q, LogBase::E, eps)?, None),
        Method::Psi => (psi_sketch(&p, &q, eps)?, None),
        Method::Kl => (kl_sketch(&p, &q, eps)?, None),
        Method::Hellinger => (hellinger_sketch(&p, &q, eps)?, None),
        Method::Tvd => (tvd_sketch(&p, &q, eps)?, None),
        Method::Chi2 => {
            let e = chi_square_sketch(&p, &q, cn, eps)?;
            let dof = p.len().saturating_sub(1);
            (e, Some(chi2_p_value(e.statistic, dof)))
        }
        other => {
            return Err(Error::Method {
                column: plan.column.to_string(),
                detail: format!(
                    "{other} cannot run on a high-cardinality categorical column from its profile \
                     (about {distinct} distinct values); use js, psi, chi2, hellinger, tvd or kl, or \
                     raise the exact budget"
                ),
            });
        }
    };
    let computation = Computation::Sketch {
        lower: estimate.lower,
        upper: estimate.upper,
        error_bound: estimate.error_bound,
        basis: format!(
            "frequent items: {} tracked values plus (other), count error up to {:.4} of the rows",
            items.len(),
            delta
        ),
    };
    let sides = SideCounts {
        values: [rn, cn],
        missing,
        totals,
    };
    Ok(plan.result(
        Kind::Categorical,
        score(method, estimate.statistic, p_value, threshold),
        computation,
        sides,
        distinct,
        category_distribution(&labels, &rc, &cc),
    ))
}
