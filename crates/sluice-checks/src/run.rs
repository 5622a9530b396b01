//! Running a suite against a table registered in DataFusion as `t`.
//!
//! Every check becomes one SQL query (or a look at the schema), so checks run partitioned on all
//! cores and read only the columns they need from Parquet. Column names are validated against
//! the schema first: a check naming a column that does not exist is an error, never a pass.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Schema};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::suite::{Check, Rule, Severity, Suite, parse_age};

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The check's name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Its severity.
    pub severity: Severity,
    /// Whether it passed.
    pub passed: bool,
    /// What was observed, for people.
    pub observed: String,
    /// What was expected, for people.
    pub expected: String,
    /// The observed number, when there is one (a rate, a count, an age in seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// The outcome of a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The suite's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// One outcome per check, in suite order.
    pub outcomes: Vec<Outcome>,
    /// Checks that passed.
    pub passed: usize,
    /// Failed checks of error severity.
    pub failed_errors: usize,
    /// Failed checks of warning severity.
    pub failed_warnings: usize,
}

impl Report {
    /// Whether the run should fail (a check of error severity failed).
    pub fn failed(&self) -> bool {
        self.failed_errors > 0
    }
}

/// Quotes an identifier for SQL.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for SQL.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Checks every column a check names exists, before anything runs.
pub fn validate(suite: &Suite, schema: &Schema) -> Result<()> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    for c in &suite.checks {
        for col in c.columns() {
            if !names.contains(&col) {
                return Err(Error::NoSuchColumn {
                    check: c.display_name(),
                    column: col.to_string(),
                    available: names.join(", "),
                });
            }
        }
    }
    Ok(())
}

/// Runs a suite against table `t` in `ctx`. `now` is the reference time for freshness checks.
pub async fn run(ctx: &SessionContext, suite: &Suite, now: chrono::DateTime<chrono::Utc>) -> Result<Report> {
    let df = ctx.table("t").await.map_err(|source| Error::Query {
        check: "(table)".into(),
        source,
    })?;
    let schema = df.schema().as_arrow().clone();
    validate(suite, &schema)?;
    let mut outcomes = Vec::with_capacity(suite.checks.len());
    for c in &suite.checks {
        outcomes.push(run_one(ctx, &schema, c, now).await?);
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let failed_errors = outcomes
        .iter()
        .filter(|o| !o.passed && o.severity == Severity::Error)
        .count();
    Ok(Report {
        suite: suite.suite.name.clone(),
        failed_warnings: outcomes.len() - passed - failed_errors,
        outcomes,
        passed,
        failed_errors,
    })
}

/// Runs a query returning one row; gives its values as f64 (NULL as NaN).
async fn numbers(ctx: &SessionContext, check: &str, sql: &str) -> Result<Vec<f64>> {
    let q = |source| Error::Query {
        check: check.to_string(),
        source,
    };
    let batches = ctx.sql(sql).await.map_err(q)?.collect().await.map_err(q)?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| Error::Invalid {
            check: check.to_string(),
            message: "the query returned no row".into(),
        })?;
    let mut out = Vec::with_capacity(batch.num_columns());
    for col in batch.columns() {
        let f = arrow::compute::cast(col, &DataType::Float64).map_err(|e| Error::Invalid {
            check: check.to_string(),
            message: format!("the query's result is not a number ({}): {e}", col.data_type()),
        })?;
        let f = f.as_primitive::<Float64Type>();
        out.push(if f.is_null(0) { f64::NAN } else { f.value(0) });
    }
    Ok(out)
}

fn family_matches(expected: &str, t: &DataType) -> Option<bool> {
    use DataType::*;
    let integer = matches!(t, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64);
    let float = matches!(t, Float16 | Float32 | Float64 | Decimal128(..) | Decimal256(..));
    Some(match expected.to_ascii_lowercase().as_str() {
        "integer" | "int" => integer,
        "float" | "double" => float,
        "numeric" | "number" => integer || float,
        "string" | "text" => matches!(t, Utf8 | LargeUtf8 | Utf8View),
        "boolean" | "bool" => matches!(t, Boolean),
        "date" => matches!(t, Date32 | Date64),
        "timestamp" | "datetime" => matches!(t, Timestamp(..)),
        "temporal" => matches!(t, Date32 | Date64 | Timestamp(..)),
        _ => return None,
    })
}

fn share(passing: f64, total: f64) -> f64 {
    if total == 0.0 { 1.0 } else { passing / total }
}

async fn run_one(
    ctx: &SessionContext,
    schema: &Schema,
    c: &Check,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Outcome> {
    let name = c.display_name();
    let data_type = |col: &str| schema.field_with_name(col).map(|f| f.data_type().clone()).ok();
    let mostly_outcome = |passing: f64, total: f64, mostly: f64, what: String| {
        let s = share(passing, total);
        (
            s >= mostly,
            format!("{:.4}% of {} non-null values {what}", 100.0 * s, total as u64),
            format!(">= {:.4}%", 100.0 * mostly),
            Some(s),
        )
    };
    let (kind, (passed, observed, expected, value)) = match &c.rule {
        Rule::Schema { columns, exact } => {
            let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let missing: Vec<&str> = columns
                .iter()
                .map(String::as_str)
                .filter(|c| !have.contains(c))
                .collect();
            let extra: Vec<&str> = if *exact {
                have.iter()
                    .copied()
                    .filter(|h| !columns.iter().any(|c| c == h))
                    .collect()
            } else {
                Vec::new()
            };
            let observed = match (missing.is_empty(), extra.is_empty()) {
                (true, true) => "all columns present".to_string(),
                _ => format!("missing [{}], unexpected [{}]", missing.join(", "), extra.join(", ")),
            };
            let expected = format!("columns [{}]{}", columns.join(", "), if *exact { " only" } else { "" });
            (
                "schema",
                (missing.is_empty() && extra.is_empty(), observed, expected, None),
            )
        }
        Rule::Type { column, expected } => {
            let t = data_type(column).expect("validated");
            let ok = match family_matches(expected, &t) {
                Some(ok) => ok,
                None => t.to_string().eq_ignore_ascii_case(expected),
            };
            ("type", (ok, t.to_string(), expected.clone(), None))
        }
        Rule::NullRate { column, max } => {
            let t = data_type(column).expect("validated");
            let c_ = ident(column);
            let missing = match t {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                    format!("{c_} IS NULL OR trim({c_}) = ''")
                }
                DataType::Float16 | DataType::Float32 | DataType::Float64 => format!("{c_} IS NULL OR isnan({c_})"),
                _ => format!("{c_} IS NULL"),
            };
            let v = numbers(
                ctx,
                &name,
                &format!("SELECT count(*) FILTER (WHERE {missing}), count(*) FROM t"),
            )
            .await?;
            let rate = share(v[0], v[1]);
            (
                "null_rate",
                (
                    rate <= *max,
                    format!("{:.4}% missing ({} of {})", 100.0 * rate, v[0] as u64, v[1] as u64),
                    format!("<= {:.4}%", 100.0 * max),
                    Some(rate),
                ),
            )
        }
        Rule::Unique {
            columns,
            max_duplicates,
        } => {
            let cols: Vec<String> = columns.iter().map(|c| ident(c)).collect();
            let cols = cols.join(", ");
            let v = numbers(
                ctx,
                &name,
                &format!(
                    "SELECT coalesce(sum(k - 1), 0), count(*) FROM (SELECT count(*) AS k FROM t GROUP BY {cols} HAVING count(*) > 1)"
                ),
            )
            .await?;
            (
                "unique",
                (
                    v[0] as u64 <= *max_duplicates,
                    format!("{} duplicate rows in {} repeated keys", v[0] as u64, v[1] as u64),
                    format!("<= {max_duplicates} duplicate rows"),
                    Some(v[0]),
                ),
            )
        }
        Rule::Range {
            column,
            min,
            max,
            mostly,
        } => {
            let c_ = ident(column);
            let mut conds = Vec::new();
            if let Some(lo) = min {
                conds.push(format!("{c_} >= {lo:?}"));
            }
            if let Some(hi) = max {
                conds.push(format!("{c_} <= {hi:?}"));
            }
            let v = numbers(
                ctx,
                &name,
                &format!(
                    "SELECT count(*) FILTER (WHERE {}), count({c_}) FROM t",
                    conds.join(" AND ")
                ),
            )
            .await?;
            let what = format!(
                "in [{}, {}]",
                min.map_or("-inf".into(), |x| x.to_string()),
                max.map_or("inf".into(), |x| x.to_string())
            );
            ("range", mostly_outcome(v[0], v[1], *mostly, what))
        }
        Rule::Allowed { column, values, mostly } => {
            let c_ = ident(column);
            let t = data_type(column).expect("validated");
            let is_string = matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
            let mut lits = Vec::with_capacity(values.len());
            for v in values {
                lits.push(match v {
                    toml::Value::String(s) if is_string => literal(s),
                    toml::Value::String(s) => {
                        return Err(Error::Invalid {
                            check: name,
                            message: format!("value {s:?} is text but column `{column}` is {t}"),
                        });
                    }
                    toml::Value::Integer(i) if is_string => literal(&i.to_string()),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => format!("{f:?}"),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        return Err(Error::Invalid {
                            check: name,
                            message: format!("allowed values must be strings, numbers or booleans, not {other}"),
                        });
                    }
                });
            }
            let cond = if lits.is_empty() {
                "false".to_string()
            } else {
                format!("{c_} IN ({})", lits.join(", "))
            };
            let v = numbers(
                ctx,
                &name,
                &format!("SELECT count(*) FILTER (WHERE {cond}), count({c_}) FROM t"),
            )
            .await?;
            ("allowed", mostly_outcome(v[0], v[1], *mostly, "allowed".into()))
        }
        Rule::Regex {
            column,
            pattern,
            mostly,
        } => {
            let c_ = ident(column);
            let v = numbers(
                ctx,
                &name,
                &format!(
                    "SELECT count(*) FILTER (WHERE regexp_like(CAST({c_} AS VARCHAR), {})), count({c_}) FROM t",
                    literal(pattern)
                ),
            )
            .await?;
            ("regex", mostly_outcome(v[0], v[1], *mostly, format!("match {pattern}")))
        }
        Rule::RowCount { min, max } => {
            let v = numbers(ctx, &name, "SELECT count(*) FROM t").await?;
            let n = v[0] as u64;
            let ok = min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
            let expected = format!(
                "{}..{}",
                min.map_or(String::new(), |m| m.to_string()),
                max.map_or(String::new(), |m| m.to_string())
            );
            ("row_count", (ok, format!("{n} rows"), expected, Some(v[0])))
        }
        Rule::Freshness { column, max_age } => {
            let limit = parse_age(max_age).map_err(|message| Error::Invalid {
                check: name.clone(),
                message,
            })?;
            let t = data_type(column).expect("validated");
            let expr = match t {
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
                    format!("CAST(max({}) AS TIMESTAMP)", ident(column))
                }
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                    format!("max(CAST({} AS TIMESTAMP))", ident(column))
                }
                other => {
                    return Err(Error::Invalid {
                        check: name,
                        message: format!("column `{column}` is {other}; freshness needs a date or timestamp column"),
                    });
                }
            };
            // Seconds since the epoch of the newest value.
            let v = numbers(
                ctx,
                &name,
                &format!("SELECT CAST(to_unixtime({expr}) AS DOUBLE) FROM t"),
            )
            .await?;
            if v[0].is_nan() {
                (
                    "freshness",
                    (false, "no values".into(), format!("newest within {max_age}"), None),
                )
            } else {
                let age = now.timestamp() as f64 - v[0];
                let newest = chrono::DateTime::from_timestamp(v[0] as i64, 0)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default();
                (
                    "freshness",
                    (
                        age <= limit as f64,
                        format!("newest {newest} ({})", human_age(age)),
                        format!("newest within {max_age}"),
                        Some(age),
                    ),
                )
            }
        }
        Rule::Sql {
            query,
            equals,
            min,
            max,
        } => {
            let v = numbers(ctx, &name, query).await?;
            let x = v[0];
            let ok = !x.is_nan()
                && equals.is_none_or(|e| x == e)
                && min.is_none_or(|m| x >= m)
                && max.is_none_or(|m| x <= m);
            let mut exp = Vec::new();
            if let Some(e) = equals {
                exp.push(format!("= {e}"));
            }
            if let Some(m) = min {
                exp.push(format!(">= {m}"));
            }
            if let Some(m) = max {
                exp.push(format!("<= {m}"));
            }
            ("sql", (ok, x.to_string(), exp.join(" and "), Some(x)))
        }
    };
    Ok(Outcome {
        name,
        kind: kind.into(),
        severity: c.severity,
        passed,
        observed,
        expected,
        value,
    })
}

fn human_age(seconds: f64) -> String {
    let s = seconds.abs();
    let text = if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    };
    if seconds < 0.0 {
        format!("{text} in the future")
    } else {
        format!("{text} old")
    }
}
