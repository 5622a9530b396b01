//! The exact path: full samples of one column from both sides.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use sluice_algo::drift::{self, ColumnKind, DriftScore, Method, NumericPair};

use crate::report::{ColumnDrift, Computation, Distribution, Kind, Role};
use crate::sort::sort_f64;
use crate::{Error, Result};

/// Bins of the numeric distribution shown in reports.
pub(crate) const REPORT_BINS: usize = 20;
/// Categories shown in reports before the rest is pooled as `(other)`.
pub(crate) const REPORT_CATEGORIES: usize = 12;

/// What the comparison needs to know about a column besides its values.
#[derive(Debug, Clone)]
pub(crate) struct Plan<'a> {
    pub column: &'a str,
    pub role: Role,
    pub kind: Kind,
    pub method: Option<Method>,
    pub threshold: Option<f64>,
    /// The family level: the threshold of tests without one of their own.
    pub alpha: f64,
}

/// One column's value counts on both sides (reference first): non-missing values, missing
/// values, and all rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SideCounts {
    pub values: [u64; 2],
    pub missing: [u64; 2],
    pub totals: [u64; 2],
}

/// The verdict of a statistic against its threshold: `p < threshold` for tests, `statistic >=
/// threshold` for distances (as `sluice_algo::drift` decides on the exact path).
pub(crate) fn score(method: Method, statistic: f64, p_value: Option<f64>, threshold: f64) -> DriftScore {
    DriftScore {
        method,
        statistic,
        p_value,
        threshold,
        drifted: match p_value {
            Some(p) => p < threshold,
            None => statistic >= threshold,
        },
    }
}

impl Plan<'_> {
    /// The report entry for `score` on this column.
    pub fn result(
        &self,
        kind: Kind,
        score: DriftScore,
        computation: Computation,
        sides: SideCounts,
        distinct: u64,
        distribution: Distribution,
    ) -> ColumnDrift {
        ColumnDrift {
            column: self.column.to_string(),
            role: self.role,
            kind,
            method: score.method,
            method_by_default: self.method.is_none(),
            threshold: score.threshold,
            statistic: score.statistic,
            p_value: score.p_value,
            p_adjusted: None,
            drifted: score.drifted,
            computation,
            reference_values: sides.values[0],
            current_values: sides.values[1],
            reference_missing: share(sides.missing[0], sides.totals[0]),
            current_missing: share(sides.missing[1], sides.totals[1]),
            distinct,
            distribution,
        }
    }

    /// The threshold `method` uses on this column.
    pub fn threshold_for(&self, method: Method) -> f64 {
        self.threshold.unwrap_or(if method.uses_p_value() {
            self.alpha
        } else {
            method.default_threshold()
        })
    }
}

pub(crate) fn compare(plan: &Plan, reference: &[RecordBatch], current: &[RecordBatch]) -> Result<ColumnDrift> {
    let r = arrays(plan.column, reference)?;
    let c = arrays(plan.column, current)?;
    match plan.kind {
        Kind::Numeric => numeric(plan, &r, &c),
        Kind::Categorical => categorical(plan, &r, &c),
    }
}

fn arrays(column: &str, batches: &[RecordBatch]) -> Result<Vec<ArrayRef>> {
    batches
        .iter()
        .map(|b| {
            b.column_by_name(column)
                .cloned()
                .ok_or_else(|| Error::Internal(format!("column {column} missing from a batch")))
        })
        .collect()
}

/// Values as f64 without missing ones (null, NaN; infinities count as missing too, since
/// distances over them are meaningless), and how many were missing.
fn floats(arrays: &[ArrayRef]) -> Result<(Vec<f64>, u64, u64)> {
    let total: usize = arrays.iter().map(|a| a.len()).sum();
    let mut out = Vec::with_capacity(total);
    for a in arrays {
        let a = match a.data_type() {
            DataType::Date32 | DataType::Time32(_) => cast(&cast(a, &DataType::Int32)?, &DataType::Int64)?,
            DataType::Date64 | DataType::Timestamp(..) | DataType::Time64(_) | DataType::Duration(_) => {
                cast(a, &DataType::Int64)?
            }
            _ => a.clone(),
        };
        let f = cast(&a, &DataType::Float64)?;
        let f = f.as_primitive::<Float64Type>();
        if f.null_count() == 0 {
            out.extend(f.values().iter().copied().filter(|v| v.is_finite()));
        } else {
            out.extend(f.iter().flatten().filter(|v| v.is_finite()));
        }
    }
    let missing = (total - out.len()) as u64;
    Ok((out, missing, total as u64))
}

/// Distinct values of the union of two sorted samples.
fn distinct_union(a: &[f64], b: &[f64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    let mut last: Option<f64> = None;
    while i < a.len() || j < b.len() {
        let x = if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        if last != Some(x) {
            n += 1;
            last = Some(x);
        }
    }
    n
}

fn numeric(plan: &Plan, r: &[ArrayRef], c: &[ArrayRef]) -> Result<ColumnDrift> {
    let (mut rv, r_missing, r_total) = floats(r)?;
    let (mut cv, c_missing, c_total) = floats(c)?;
    no_values(plan.column, rv.len(), cv.len())?;
    rayon::join(|| sort_f64(&mut rv), || sort_f64(&mut cv));
    numeric_sorted(
        plan,
        rv,
        cv,
        [r_missing, c_missing],
        [r_total, c_total],
        Computation::Exact,
    )
}

/// Compares two sorted numeric samples (the exact path, or samples rebuilt from exact counts).
pub(crate) fn numeric_sorted(
    plan: &Plan,
    rv: Vec<f64>,
    cv: Vec<f64>,
    missing: [u64; 2],
    totals: [u64; 2],
    computation: Computation,
) -> Result<ColumnDrift> {
    let distinct = distinct_union(&rv, &cv);
    let method = plan
        .method
        .unwrap_or_else(|| drift::default_method(ColumnKind::Numeric, rv.len(), distinct));
    let distribution = numeric_distribution(&rv, &cv, distinct);
    let pair = NumericPair::from_sorted(rv, cv)?;
    let s = drift::compare_pair(method, &pair, Some(plan.threshold_for(method)))?;
    let sides = SideCounts {
        values: [pair.reference().len() as u64, pair.current().len() as u64],
        missing,
        totals,
    };
    Ok(plan.result(Kind::Numeric, s, computation, sides, distinct as u64, distribution))
}

fn no_values(column: &str, r: usize, c: usize) -> Result<()> {
    let side = match (r, c) {
        (0, _) => "reference",
        (_, 0) => "current table",
        _ => return Ok(()),
    };
    Err(Error::NoValues {
        column: column.to_string(),
        side,
    })
}

pub(crate) fn share(part: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { part as f64 / total as f64 }
}

/// Equal-width bins over both samples' range; a column with few values gets one bar per value.
fn numeric_distribution(r: &[f64], c: &[f64], distinct: usize) -> Distribution {
    let lo = r[0].min(c[0]);
    let hi = r[r.len() - 1].max(c[c.len() - 1]);
    if distinct <= REPORT_BINS {
        // The distinct values of both sorted samples, by a merge (no copy of either).
        let mut values: Vec<f64> = Vec::with_capacity(distinct);
        let (mut i, mut j) = (0, 0);
        while i < r.len() || j < c.len() {
            let x = if j >= c.len() || (i < r.len() && r[i] <= c[j]) {
                r[i]
            } else {
                c[j]
            };
            values.push(x);
            i = r.partition_point(|v| *v <= x);
            j = c.partition_point(|v| *v <= x);
        }
        let count = |s: &[f64], v: f64| (s.partition_point(|x| *x <= v) - s.partition_point(|x| *x < v)) as f64;
        return Distribution {
            labels: values.iter().map(|v| fmt_num(*v)).collect(),
            reference: values.iter().map(|&v| count(r, v) / r.len() as f64).collect(),
            current: values.iter().map(|&v| count(c, v) / c.len() as f64).collect(),
        };
    }
    let edges: Vec<f64> = (0..=REPORT_BINS)
        .map(|i| lo + (hi - lo) * i as f64 / REPORT_BINS as f64)
        .collect();
    let bins = |s: &[f64]| -> Vec<f64> {
        let mut prev = 0;
        (1..=REPORT_BINS)
            .map(|i| {
                let upto = if i == REPORT_BINS {
                    s.len()
                } else {
                    s.partition_point(|x| *x < edges[i])
                };
                let n = upto - prev;
                prev = upto;
                n as f64 / s.len() as f64
            })
            .collect()
    };
    Distribution {
        labels: edges
            .windows(2)
            .map(|w| format!("{}..{}", fmt_num(w[0]), fmt_num(w[1])))
            .collect(),
        reference: bins(r),
        current: bins(c),
    }
}

pub(crate) fn fmt_num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1000.0 || v.abs() < 0.01 {
        format!("{v:.3e}")
    } else {
        format!("{v:.3}")
    }
}

/// Categories (sorted), their reference and current counts, and per side the nulls and values.
struct Counts {
    labels: Vec<String>,
    reference: Vec<u64>,
    current: Vec<u64>,
    /// Nulls in reference and current, then all values in reference and current.
    missing: [u64; 4],
}

/// Counts per category on both sides (null is missing, not a category).
fn counts(r: &[ArrayRef], c: &[ArrayRef]) -> Result<Counts> {
    let to_strings = |arrays: &[ArrayRef]| -> Result<Vec<ArrayRef>> {
        arrays
            .iter()
            .map(|a| match a.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean => Ok(a.clone()),
                _ => Ok(cast(a, &DataType::Utf8)?),
            })
            .collect()
    };
    let (r, c) = (to_strings(r)?, to_strings(c)?);
    // Keys borrow from `r` and `c`, which outlive the map.
    // foldhash: SipHash was 14% of a 1M-row comparison; the keys are not attacker-chosen here.
    let mut map: HashMap<&str, [u64; 2], foldhash::fast::RandomState> = HashMap::default();
    let mut missing = [0u64; 4];
    for (side, arrays) in [(0usize, &r), (1, &c)] {
        for a in arrays.iter() {
            missing[side] += a.null_count() as u64;
            missing[side + 2] += a.len() as u64;
            match a.data_type() {
                DataType::Utf8 => {
                    for s in a.as_string::<i32>().iter().flatten() {
                        map.entry(s).or_default()[side] += 1;
                    }
                }
                DataType::LargeUtf8 => {
                    for s in a.as_string::<i64>().iter().flatten() {
                        map.entry(s).or_default()[side] += 1;
                    }
                }
                DataType::Utf8View => {
                    for s in a.as_string_view().iter().flatten() {
                        map.entry(s).or_default()[side] += 1;
                    }
                }
                DataType::Boolean => {
                    for b in a.as_boolean().iter().flatten() {
                        map.entry(if b { "true" } else { "false" }).or_default()[side] += 1;
                    }
                }
                other => return Err(Error::Internal(format!("cast to Utf8 gave {other}"))),
            }
        }
    }
    let mut entries: Vec<(&str, [u64; 2])> = map.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let labels = entries.iter().map(|e| e.0.to_string()).collect();
    let rc = entries.iter().map(|e| e.1[0]).collect();
    let cc = entries.iter().map(|e| e.1[1]).collect();
    Ok(Counts {
        labels,
        reference: rc,
        current: cc,
        missing,
    })
}

fn categorical(plan: &Plan, r: &[ArrayRef], c: &[ArrayRef]) -> Result<ColumnDrift> {
    let Counts {
        labels,
        reference: rc,
        current: cc,
        missing,
    } = counts(r, c)?;
    let (rn, cn): (u64, u64) = (rc.iter().sum(), cc.iter().sum());
    no_values(plan.column, rn as usize, cn as usize)?;
    categorical_from_counts(
        plan,
        &labels,
        &rc,
        &cc,
        [missing[0], missing[1]],
        [missing[2], missing[3]],
        Computation::Exact,
    )
}

/// Compares aligned category counts (the exact path, or exact counts from profiles).
pub(crate) fn categorical_from_counts(
    plan: &Plan,
    labels: &[String],
    rc: &[u64],
    cc: &[u64],
    missing: [u64; 2],
    totals: [u64; 2],
    computation: Computation,
) -> Result<ColumnDrift> {
    let (rn, cn): (u64, u64) = (rc.iter().sum(), cc.iter().sum());
    let distinct = labels.len();
    let method = plan
        .method
        .unwrap_or_else(|| drift::default_method(ColumnKind::Categorical, rn as usize, distinct));
    if method.needs_numeric() {
        return Err(Error::Method {
            column: plan.column.to_string(),
            detail: format!(
                "{method} needs ordered numbers; this column holds categories (use chi2, z, psi, kl, js, hellinger or tvd)"
            ),
        });
    }
    if method == Method::Z && distinct > 2 {
        return Err(Error::Method {
            column: plan.column.to_string(),
            detail: format!("z compares two proportions; this column has {distinct} categories (use chi2 or js)"),
        });
    }
    let s = drift::compare_categorical(method, rc, cc, Some(plan.threshold_for(method)))?;
    let sides = SideCounts {
        values: [rn, cn],
        missing,
        totals,
    };
    let distribution = category_distribution(labels, rc, cc);
    Ok(plan.result(Kind::Categorical, s, computation, sides, distinct as u64, distribution))
}

/// The most common categories (by combined share) and `(other)`.
pub(crate) fn category_distribution(labels: &[String], rc: &[u64], cc: &[u64]) -> Distribution {
    let (rn, cn) = (
        rc.iter().sum::<u64>().max(1) as f64,
        cc.iter().sum::<u64>().max(1) as f64,
    );
    let mut idx: Vec<usize> = (0..labels.len()).collect();
    idx.sort_by(|&a, &b| {
        let sa = rc[a] as f64 / rn + cc[a] as f64 / cn;
        let sb = rc[b] as f64 / rn + cc[b] as f64 / cn;
        sb.total_cmp(&sa).then(labels[a].cmp(&labels[b]))
    });
    let shown = idx.len().min(REPORT_CATEGORIES);
    let mut d = Distribution {
        labels: idx[..shown].iter().map(|&i| labels[i].clone()).collect(),
        reference: idx[..shown].iter().map(|&i| rc[i] as f64 / rn).collect(),
        current: idx[..shown].iter().map(|&i| cc[i] as f64 / cn).collect(),
    };
    if idx.len() > shown {
        d.labels.push(format!("(other {})", idx.len() - shown));
        d.reference
            .push(idx[shown..].iter().map(|&i| rc[i] as f64).sum::<f64>() / rn);
        d.current
            .push(idx[shown..].iter().map(|&i| cc[i] as f64).sum::<f64>() / cn);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_union_counts_shared_values_once() {
        assert_eq!(distinct_union(&[1.0, 1.0, 2.0], &[2.0, 3.0]), 3);
        assert_eq!(distinct_union(&[], &[5.0, 5.0]), 1);
    }

    #[test]
    fn report_categories_pool_the_tail() {
        let labels: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
        let rc: Vec<u64> = (0..20).map(|i| 20 - i).collect();
        let cc = rc.clone();
        let d = category_distribution(&labels, &rc, &cc);
        assert_eq!(d.labels.len(), REPORT_CATEGORIES + 1);
        assert_eq!(d.labels[0], "c00");
        assert_eq!(d.labels[REPORT_CATEGORIES], "(other 8)");
        assert!((d.reference.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
