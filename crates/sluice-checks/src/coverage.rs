//! Collection coverage: rows per slice and per cross of slices against expected population
//! shares, the slices that are under-represented, absent or rare, and gaps in a timestamp
//! column's coverage.
//!
//! Expected shares are a TOML file with one table per column:
//!
//! ```toml
//! [region]
//! north = 0.30
//! south = 0.30
//! east = 0.25
//! west = 0.15
//! ```
//!
//! Shares of a column must sum to at most 1; what they leave is expected for values not listed
//! (reported together as `(other)`). The goodness-of-fit test is Pearson's chi-square with
//! `k - 1` degrees of freedom over the listed values (and `(other)` when it is expected).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::error::{Error, Result};
use crate::run::ident;
use crate::suite::line_col;

/// Label of missing values in slice names.
pub const NULL_LABEL: &str = "(null)";
/// Label of values the expected shares do not list.
pub const OTHER_LABEL: &str = "(other)";
/// Most crosses examined for absent combinations.
pub const MAX_CROSSES: usize = 100_000;
/// Most time buckets examined for gaps.
pub const MAX_BUCKETS: i64 = 1_000_000;

/// Expected population shares per column, per value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Expected(pub BTreeMap<String, BTreeMap<String, f64>>);

impl Expected {
    /// Reads an expected-shares file.
    pub fn load(path: &Path) -> Result<Expected> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let e: Expected = toml::from_str(&text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((0, 0));
            Error::Suite {
                file: path.to_path_buf(),
                line,
                column,
                message: format!(
                    "{}; write one table per column with a share per value, e.g. [region] north = 0.3",
                    e.message().trim()
                ),
            }
        })?;
        for (col, shares) in &e.0 {
            let sum: f64 = shares.values().sum();
            if let Some((v, s)) = shares.iter().find(|(_, s)| !(0.0..=1.0).contains(*s)) {
                return Err(Error::Suite {
                    file: path.to_path_buf(),
                    line: 0,
                    column: 0,
                    message: format!("[{col}] {v} = {s}: a share is between 0 and 1"),
                });
            }
            if sum > 1.0 + 1e-9 {
                return Err(Error::Suite {
                    file: path.to_path_buf(),
                    line: 0,
                    column: 0,
                    message: format!("the shares of [{col}] sum to {sum}; they must sum to at most 1"),
                });
            }
        }
        Ok(e)
    }
}

/// What to report.
#[derive(Debug, Clone)]
pub struct CoverageOptions {
    /// Slice columns.
    pub by: Vec<String>,
    /// Expected shares, if known.
    pub expected: Expected,
    /// Slices with fewer rows are flagged rare.
    pub min_count: u64,
    /// A slice whose observed/expected ratio is under this is under-represented.
    pub under_ratio: f64,
    /// A timestamp or date column whose coverage over time is checked, with the bucket width in
    /// seconds.
    pub time: Option<(String, i64)>,
}

/// One slice (a value, or a cross of values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    /// The value of each slice column, in `by` order.
    pub values: Vec<String>,
    /// Rows in the slice.
    pub count: u64,
    /// `count / rows`.
    pub share: f64,
    /// The expected share, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_share: Option<f64>,
    /// `share / expected_share`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// `absent`, `under-represented` or `rare`, when the slice is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<&'static str>,
}

/// Pearson's goodness-of-fit test of a column against its expected shares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoodnessOfFit {
    /// The chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom.
    pub dof: usize,
    /// Its p-value.
    pub p_value: f64,
}

/// One slice column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnCoverage {
    /// The column.
    pub column: String,
    /// Its slices, largest first; expected values never seen appear with count 0.
    pub slices: Vec<Slice>,
    /// The fit to the expected shares, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<GoodnessOfFit>,
}

/// A run of empty time buckets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// Start of the first empty bucket (RFC 3339).
    pub from: String,
    /// End of the last empty bucket (RFC 3339).
    pub to: String,
    /// Empty buckets in the run.
    pub buckets: i64,
}

/// Coverage of a timestamp column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeCoverage {
    /// The column.
    pub column: String,
    /// Bucket width in seconds.
    pub bucket_seconds: i64,
    /// Earliest value (RFC 3339).
    pub first: Option<String>,
    /// Latest value (RFC 3339).
    pub last: Option<String>,
    /// Buckets from first to last.
    pub buckets: i64,
    /// Buckets with at least one row.
    pub covered: i64,
    /// Runs of empty buckets.
    pub gaps: Vec<Gap>,
}

/// The coverage report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    /// Rows in the table.
    pub rows: u64,
    /// Per slice column.
    pub columns: Vec<ColumnCoverage>,
    /// Per cross of all slice columns (when there are several), flagged ones first; crosses of
    /// seen values that have no row are listed as absent.
    pub crosses: Vec<Slice>,
    /// Coverage over time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeCoverage>,
    /// Slices flagged (absent, under-represented or rare) across columns and crosses.
    pub flagged: usize,
}

impl CoverageReport {
    /// Whether the report found a hole: a flagged slice or a time gap.
    pub fn has_gaps(&self) -> bool {
        self.flagged > 0 || self.time.as_ref().is_some_and(|t| !t.gaps.is_empty())
    }
}

async fn collect(ctx: &SessionContext, what: &str, sql: &str) -> Result<Vec<arrow::record_batch::RecordBatch>> {
    let err = |source| Error::Query {
        check: what.to_string(),
        source,
    };
    ctx.sql(sql).await.map_err(err)?.collect().await.map_err(err)
}

fn text_at(a: &dyn Array, i: usize) -> String {
    if a.is_null(i) {
        return NULL_LABEL.into();
    }
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => a.as_string_view().value(i).to_string(),
        _ => arrow::util::display::array_value_to_string(a, i).unwrap_or_default(),
    }
}

/// Counts rows per combination of `cols`.
async fn group_counts(ctx: &SessionContext, cols: &[String]) -> Result<Vec<(Vec<String>, u64)>> {
    let exprs: Vec<String> = cols.iter().map(|c| format!("CAST({} AS VARCHAR)", ident(c))).collect();
    let sql = format!(
        "SELECT {}, count(*) AS n FROM t GROUP BY {}",
        exprs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{e} AS c{i}"))
            .collect::<Vec<_>>()
            .join(", "),
        (1..=cols.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
    );
    let mut out = Vec::new();
    for b in collect(ctx, "coverage", &sql).await? {
        let n = arrow::compute::cast(b.column(cols.len()), &DataType::Int64)?;
        let n = n.as_primitive::<Int64Type>();
        for row in 0..b.num_rows() {
            let values = (0..cols.len()).map(|c| text_at(b.column(c).as_ref(), row)).collect();
            out.push((values, n.value(row) as u64));
        }
    }
    Ok(out)
}

fn flag(count: u64, ratio: Option<f64>, opts: &CoverageOptions) -> Option<&'static str> {
    if count == 0 {
        Some("absent")
    } else if ratio.is_some_and(|r| r < opts.under_ratio) {
        Some("under-represented")
    } else if count < opts.min_count {
        Some("rare")
    } else {
        None
    }
}

/// Computes coverage of table `t`.
pub async fn coverage(ctx: &SessionContext, opts: &CoverageOptions) -> Result<CoverageReport> {
    let df = ctx.table("t").await.map_err(|source| Error::Query {
        check: "coverage".into(),
        source,
    })?;
    let schema = df.schema().as_arrow().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut wanted: Vec<&str> = opts.by.iter().map(String::as_str).collect();
    wanted.extend(opts.time.as_ref().map(|t| t.0.as_str()));
    wanted.extend(opts.expected.0.keys().map(String::as_str));
    for c in wanted {
        if !names.contains(&c) {
            return Err(Error::NoSuchColumn {
                check: "coverage".into(),
                column: c.into(),
                available: names.join(", "),
            });
        }
    }
    if let Some(c) = opts.expected.0.keys().find(|c| !opts.by.contains(c)) {
        return Err(Error::Invalid {
            check: "coverage".into(),
            message: format!("expected shares are given for `{c}`, which is not among --by; add it to --by"),
        });
    }
    let rows_batches = collect(ctx, "coverage", "SELECT count(*) FROM t").await?;
    let rows = arrow::compute::cast(rows_batches[0].column(0), &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .value(0) as u64;

    let mut columns = Vec::new();
    let mut seen_values: Vec<Vec<String>> = Vec::new();
    for col in &opts.by {
        let counts = group_counts(ctx, std::slice::from_ref(col)).await?;
        let expected = opts.expected.0.get(col);
        let mut by_value: BTreeMap<String, u64> = counts.into_iter().map(|(v, n)| (v[0].clone(), n)).collect();
        seen_values.push(by_value.keys().cloned().collect());
        if let Some(e) = expected {
            for v in e.keys() {
                by_value.entry(v.clone()).or_insert(0);
            }
        }
        let other_expected = expected.map(|e| (1.0 - e.values().sum::<f64>()).max(0.0));
        let mut slices: Vec<Slice> = by_value
            .iter()
            .map(|(v, &n)| {
                let share = if rows == 0 { 0.0 } else { n as f64 / rows as f64 };
                let expected_share = expected.and_then(|e| e.get(v).copied());
                let ratio = expected_share.filter(|s| *s > 0.0).map(|s| share / s);
                let flag = match (expected, expected_share) {
                    // Listed values are judged against their share; unlisted ones only by count.
                    (Some(_), Some(s)) if s > 0.0 => flag(n, ratio, opts),
                    _ => (n < opts.min_count).then_some("rare"),
                };
                Slice {
                    values: vec![v.clone()],
                    count: n,
                    share,
                    expected_share,
                    ratio,
                    flag,
                }
            })
            .collect();
        slices.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.values.cmp(&b.values)));
        let fit = expected.map(|e| {
            let mut obs = Vec::new();
            let mut exp = Vec::new();
            let mut other_obs = 0u64;
            for (v, &n) in &by_value {
                match e.get(v) {
                    Some(s) => {
                        obs.push(n as f64);
                        exp.push(s * rows as f64);
                    }
                    None => other_obs += n,
                }
            }
            let other = other_expected.unwrap_or(0.0);
            if other > 0.0 || other_obs > 0 {
                obs.push(other_obs as f64);
                exp.push(other * rows as f64);
            }
            goodness_of_fit(&obs, &exp)
        });
        columns.push(ColumnCoverage {
            column: col.clone(),
            slices,
            fit,
        });
    }

    let mut crosses = Vec::new();
    if opts.by.len() > 1 {
        let counts = group_counts(ctx, &opts.by).await?;
        let seen: BTreeMap<Vec<String>, u64> = counts.into_iter().collect();
        let product: usize = seen_values.iter().map(Vec::len).product();
        for (values, &n) in &seen {
            crosses.push(Slice {
                values: values.clone(),
                count: n,
                share: n as f64 / rows.max(1) as f64,
                expected_share: None,
                ratio: None,
                flag: (n < opts.min_count).then_some("rare"),
            });
        }
        if product <= MAX_CROSSES {
            for combo in cartesian(&seen_values) {
                if !seen.contains_key(&combo) && !combo.iter().any(|v| v == NULL_LABEL) {
                    crosses.push(Slice {
                        values: combo,
                        count: 0,
                        share: 0.0,
                        expected_share: None,
                        ratio: None,
                        flag: Some("absent"),
                    });
                }
            }
        }
        crosses.sort_by(|a, b| {
            b.flag
                .is_some()
                .cmp(&a.flag.is_some())
                .then_with(|| a.count.cmp(&b.count))
                .then_with(|| a.values.cmp(&b.values))
        });
    }

    let time = match &opts.time {
        Some((col, width)) => Some(time_coverage(ctx, col, *width).await?),
        None => None,
    };
    let flagged = columns
        .iter()
        .flat_map(|c| &c.slices)
        .chain(&crosses)
        .filter(|s| s.flag.is_some())
        .count();
    Ok(CoverageReport {
        rows,
        columns,
        crosses,
        time,
        flagged,
    })
}

fn cartesian(values: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for vs in values {
        let mut next = Vec::with_capacity(out.len() * vs.len());
        for prefix in &out {
            for v in vs {
                let mut p = prefix.clone();
                p.push(v.clone());
                next.push(p);
            }
        }
        out = next;
    }
    out
}

/// Pearson's chi-square goodness of fit; categories expected at 0 with observations make the
/// statistic infinite (p = 0), as they should.
pub fn goodness_of_fit(observed: &[f64], expected: &[f64]) -> GoodnessOfFit {
    let mut stat = 0.0;
    let mut k = 0usize;
    for (&o, &e) in observed.iter().zip(expected) {
        if e > 0.0 {
            stat += (o - e) * (o - e) / e;
            k += 1;
        } else if o > 0.0 {
            stat = f64::INFINITY;
            k += 1;
        }
    }
    let dof = k.saturating_sub(1);
    let p_value = if stat.is_infinite() {
        0.0
    } else if dof == 0 {
        1.0
    } else {
        ChiSquared::new(dof as f64).map_or(f64::NAN, |d| d.sf(stat))
    };
    GoodnessOfFit {
        statistic: stat,
        dof,
        p_value,
    }
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(|| secs.to_string(), |d| d.to_rfc3339())
}

async fn time_coverage(ctx: &SessionContext, col: &str, width: i64) -> Result<TimeCoverage> {
    if width <= 0 {
        return Err(Error::Invalid {
            check: "coverage".into(),
            message: "the time bucket must be positive".into(),
        });
    }
    let sql = format!(
        "SELECT CAST(floor(CAST(to_unixtime(CAST({c} AS TIMESTAMP)) AS DOUBLE) / {width}) AS BIGINT) AS b, count(*) FROM t WHERE {c} IS NOT NULL GROUP BY 1",
        c = ident(col)
    );
    let mut buckets = BTreeSet::new();
    for b in collect(ctx, "coverage", &sql).await? {
        let col0 = arrow::compute::cast(b.column(0), &DataType::Int64)?;
        let col0 = col0.as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            if !col0.is_null(i) {
                buckets.insert(col0.value(i));
            }
        }
    }
    let (Some(&first), Some(&last)) = (buckets.first(), buckets.last()) else {
        return Ok(TimeCoverage {
            column: col.into(),
            bucket_seconds: width,
            first: None,
            last: None,
            buckets: 0,
            covered: 0,
            gaps: Vec::new(),
        });
    };
    let total = last - first + 1;
    if total > MAX_BUCKETS {
        return Err(Error::Invalid {
            check: "coverage".into(),
            message: format!(
                "`{col}` spans {total} buckets of {width} s; use a wider --interval (at most {MAX_BUCKETS} buckets)"
            ),
        });
    }
    let mut gaps = Vec::new();
    let mut prev = first;
    for &b in buckets.iter().skip(1) {
        if b > prev + 1 {
            gaps.push(Gap {
                from: rfc3339((prev + 1) * width),
                to: rfc3339(b * width),
                buckets: b - prev - 1,
            });
        }
        prev = b;
    }
    Ok(TimeCoverage {
        column: col.into(),
        bucket_seconds: width,
        first: Some(rfc3339(first * width)),
        last: Some(rfc3339((last + 1) * width)),
        buckets: total,
        covered: buckets.len() as i64,
        gaps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goodness_of_fit_matches_scipy() {
        // scipy.stats.chisquare([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]):
        // statistic 3.5, pvalue 0.6233876277495822 (scipy's documented example).
        let g = goodness_of_fit(
            &[16.0, 18.0, 16.0, 14.0, 12.0, 12.0],
            &[16.0, 16.0, 16.0, 16.0, 16.0, 8.0],
        );
        assert!((g.statistic - 3.5).abs() < 1e-12);
        assert_eq!(g.dof, 5);
        assert!((g.p_value - 0.6233876277495822).abs() < 1e-9, "{}", g.p_value);
        let g = goodness_of_fit(&[5.0, 1.0], &[6.0, 0.0]);
        assert!(g.statistic.is_infinite() && g.p_value == 0.0);
    }

    #[test]
    fn cartesian_product() {
        let c = cartesian(&[vec!["a".into(), "b".into()], vec!["x".into()]]);
        assert_eq!(c, vec![vec!["a".to_string(), "x".into()], vec!["b".into(), "x".into()]]);
    }
}
