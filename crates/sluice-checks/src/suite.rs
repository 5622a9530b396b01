//! The suite file: a TOML list of checks.
//!
//! ```toml
//! [suite]
//! name = "transactions"
//!
//! [[check]]
//! kind = "null_rate"
//! column = "amount"
//! max = 0.01
//!
//! [[check]]
//! kind = "range"
//! column = "amount"
//! min = 0
//! max = 50000
//! mostly = 0.999        # share of non-null values that must pass (default 1)
//! severity = "warning"  # "error" (default) fails the run; "warning" is reported only
//! ```
//!
//! Unknown keys are rejected, and every error names the file, line and column.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A suite of checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suite {
    /// Suite metadata.
    pub suite: SuiteInfo,
    /// The checks, in order.
    #[serde(rename = "check")]
    pub checks: Vec<Check>,
}

/// The file as written: every key any kind takes, so that a misspelt key is rejected by the
/// TOML parser with its line, and the kind's own keys are checked after.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    #[serde(default)]
    suite: SuiteInfo,
    #[serde(default)]
    check: Vec<RawCheck>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: Option<String>,
    #[serde(default)]
    severity: Severity,
    kind: String,
    columns: Option<Vec<String>>,
    exact: Option<bool>,
    column: Option<String>,
    #[serde(rename = "type")]
    expected: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    mostly: Option<f64>,
    max_duplicates: Option<u64>,
    values: Option<Vec<toml::Value>>,
    pattern: Option<String>,
    max_age: Option<String>,
    query: Option<String>,
    equals: Option<f64>,
}

const KINDS: &str = "schema, type, null_rate, unique, range, allowed, regex, row_count, freshness, sql";

impl RawCheck {
    /// The keys set, for "does not apply" errors.
    fn set_keys(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        let pairs: [(&'static str, bool); 13] = [
            ("columns", self.columns.is_some()),
            ("exact", self.exact.is_some()),
            ("column", self.column.is_some()),
            ("type", self.expected.is_some()),
            ("min", self.min.is_some()),
            ("max", self.max.is_some()),
            ("mostly", self.mostly.is_some()),
            ("max_duplicates", self.max_duplicates.is_some()),
            ("values", self.values.is_some()),
            ("pattern", self.pattern.is_some()),
            ("max_age", self.max_age.is_some()),
            ("query", self.query.is_some()),
            ("equals", self.equals.is_some()),
        ];
        for (name, set) in pairs {
            if set {
                k.push(name);
            }
        }
        k
    }

    fn into_check(self) -> std::result::Result<Check, String> {
        let allowed: &[&str] = match self.kind.as_str() {
            "schema" => &["columns", "exact"],
            "type" => &["column", "type"],
            "null_rate" => &["column", "max"],
            "unique" => &["columns", "max_duplicates"],
            "range" => &["column", "min", "max", "mostly"],
            "allowed" => &["column", "values", "mostly"],
            "regex" => &["column", "pattern", "mostly"],
            "row_count" => &["min", "max"],
            "freshness" => &["column", "max_age"],
            "sql" => &["query", "equals", "min", "max"],
            other => return Err(format!("unknown check kind `{other}`; kinds: {KINDS}")),
        };
        if let Some(k) = self.set_keys().into_iter().find(|k| !allowed.contains(k)) {
            return Err(format!(
                "key `{k}` does not apply to a {} check (its keys: {})",
                self.kind,
                allowed.join(", ")
            ));
        }
        let need = |v: Option<String>, key: &str| v.ok_or_else(|| format!("a {} check needs `{key}`", self.kind));
        let kind = self.kind.clone();
        let rule = match kind.as_str() {
            "schema" => Rule::Schema {
                columns: self.columns.ok_or("a schema check needs `columns`")?,
                exact: self.exact.unwrap_or(false),
            },
            "type" => Rule::Type {
                column: need(self.column, "column")?,
                expected: need(self.expected, "type")?,
            },
            "null_rate" => Rule::NullRate {
                column: need(self.column, "column")?,
                max: self.max.ok_or("a null_rate check needs `max` (a share from 0 to 1)")?,
            },
            "unique" => Rule::Unique {
                columns: self.columns.ok_or("a unique check needs `columns`")?,
                max_duplicates: self.max_duplicates.unwrap_or(0),
            },
            "range" => Rule::Range {
                column: need(self.column, "column")?,
                min: self.min,
                max: self.max,
                mostly: self.mostly.unwrap_or(1.0),
            },
            "allowed" => Rule::Allowed {
                column: need(self.column, "column")?,
                values: self.values.ok_or("an allowed check needs `values`")?,
                mostly: self.mostly.unwrap_or(1.0),
            },
            "regex" => Rule::Regex {
                column: need(self.column, "column")?,
                pattern: need(self.pattern, "pattern")?,
                mostly: self.mostly.unwrap_or(1.0),
            },
            "row_count" => {
                let whole = |v: Option<f64>, key: &str| -> std::result::Result<Option<u64>, String> {
                    match v {
                        Some(x) if x < 0.0 || x.fract() != 0.0 => {
                            Err(format!("row_count {key} must be a whole number"))
                        }
                        Some(x) => Ok(Some(x as u64)),
                        None => Ok(None),
                    }
                };
                Rule::RowCount {
                    min: whole(self.min, "min")?,
                    max: whole(self.max, "max")?,
                }
            }
            "freshness" => Rule::Freshness {
                column: need(self.column, "column")?,
                max_age: need(self.max_age, "max_age")?,
            },
            _ => Rule::Sql {
                query: need(self.query, "query")?,
                equals: self.equals,
                min: self.min,
                max: self.max,
            },
        };
        Ok(Check {
            name: self.name,
            severity: self.severity,
            rule,
        })
    }
}

/// Suite metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteInfo {
    /// A name for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How much a failed check matters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported, never fails the run.
    Warning,
    /// Fails the run (exit 1).
    #[default]
    Error,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// A name for reports (default: kind and column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Severity of a failure.
    #[serde(default)]
    pub severity: Severity,
    /// What is checked.
    #[serde(flatten)]
    pub rule: Rule,
}

/// What a check tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// These columns exist (and, with `exact`, no others).
    Schema {
        /// Required columns.
        columns: Vec<String>,
        /// No other columns allowed.
        exact: bool,
    },
    /// A column has a type: an Arrow type name (`Int64`, `Utf8`, `Timestamp(µs)`...) or a family
    /// (`integer`, `float`, `numeric`, `string`, `boolean`, `date`, `timestamp`, `temporal`).
    Type {
        /// The column.
        column: String,
        /// The type or family.
        #[serde(rename = "type")]
        expected: String,
    },
    /// The share of missing values (null, NaN, and for strings empty or whitespace-only) is at
    /// most `max`.
    NullRate {
        /// The column.
        column: String,
        /// Largest allowed share, 0 to 1.
        max: f64,
    },
    /// No two rows share a value of these columns (`max_duplicates` extra rows allowed).
    Unique {
        /// The key columns.
        columns: Vec<String>,
        /// Extra rows allowed beyond the first of each key.
        max_duplicates: u64,
    },
    /// Non-null values lie in `[min, max]` (either bound may be omitted).
    Range {
        /// The column.
        column: String,
        /// Smallest allowed value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// Largest allowed value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        /// Share of non-null values that must pass.
        mostly: f64,
    },
    /// Non-null values are among `values`.
    Allowed {
        /// The column.
        column: String,
        /// Allowed values (strings or numbers).
        values: Vec<toml::Value>,
        /// Share of non-null values that must pass.
        mostly: f64,
    },
    /// Non-null values match a regular expression (Rust `regex` syntax, unanchored: use `^...$`).
    Regex {
        /// The column.
        column: String,
        /// The pattern.
        pattern: String,
        /// Share of non-null values that must pass.
        mostly: f64,
    },
    /// The table has between `min` and `max` rows.
    RowCount {
        /// Fewest rows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
        /// Most rows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
    },
    /// The newest value of a timestamp or date column is at most `max_age` old (`90s`, `15m`,
    /// `6h`, `2d`, `1w`).
    Freshness {
        /// The column.
        column: String,
        /// Largest allowed age.
        max_age: String,
    },
    /// A SQL query over the table (named `t`) returns one number within bounds.
    Sql {
        /// The query, returning one row with one numeric column.
        query: String,
        /// The number must equal this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        equals: Option<f64>,
        /// The number must be at least this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// The number must be at most this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
}

impl Check {
    /// The check's display name.
    pub fn display_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        match &self.rule {
            Rule::Schema { .. } => "schema".into(),
            Rule::Type { column, .. } => format!("type({column})"),
            Rule::NullRate { column, .. } => format!("null_rate({column})"),
            Rule::Unique { columns, .. } => format!("unique({})", columns.join(", ")),
            Rule::Range { column, .. } => format!("range({column})"),
            Rule::Allowed { column, .. } => format!("allowed({column})"),
            Rule::Regex { column, .. } => format!("regex({column})"),
            Rule::RowCount { .. } => "row_count".into(),
            Rule::Freshness { column, .. } => format!("freshness({column})"),
            Rule::Sql { .. } => "sql".into(),
        }
    }

    /// The columns the check reads.
    pub fn columns(&self) -> Vec<&str> {
        match &self.rule {
            Rule::Schema { .. } | Rule::RowCount { .. } | Rule::Sql { .. } => Vec::new(),
            Rule::Unique { columns, .. } => columns.iter().map(String::as_str).collect(),
            Rule::Type { column, .. }
            | Rule::NullRate { column, .. }
            | Rule::Range { column, .. }
            | Rule::Allowed { column, .. }
            | Rule::Regex { column, .. }
            | Rule::Freshness { column, .. } => vec![column.as_str()],
        }
    }
}

impl Suite {
    /// Reads a suite file.
    pub fn load(path: &Path) -> Result<Suite> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Suite::parse(path, &text)
    }

    /// Parses a suite; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Suite> {
        let raw: RawSuite = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Error::Suite {
                file: path.to_path_buf(),
                line,
                column,
                message: format!(
                    "{}; each [[check]] needs `kind` ({KINDS}) and that kind's keys",
                    e.message().trim()
                ),
            }
        })?;
        let mut checks = Vec::with_capacity(raw.check.len());
        for (i, c) in raw.check.into_iter().enumerate() {
            checks.push(c.into_check().map_err(|message| Error::Suite {
                file: path.to_path_buf(),
                line: nth_check_line(text, i),
                column: 1,
                message,
            })?);
        }
        let suite = Suite {
            suite: raw.suite,
            checks,
        };
        for (i, c) in suite.checks.iter().enumerate() {
            let bad = |message: String| Error::Suite {
                file: path.to_path_buf(),
                line: nth_check_line(text, i),
                column: 1,
                message,
            };
            match &c.rule {
                Rule::NullRate { max, .. } if !(0.0..=1.0).contains(max) => {
                    return Err(bad(format!("null_rate max must be a share between 0 and 1, not {max}")));
                }
                Rule::Range { mostly, .. } | Rule::Allowed { mostly, .. } | Rule::Regex { mostly, .. }
                    if !(0.0..=1.0).contains(mostly) =>
                {
                    return Err(bad(format!("mostly must be a share between 0 and 1, not {mostly}")));
                }
                Rule::Range {
                    min: None, max: None, ..
                } => {
                    return Err(bad("a range check needs min, max or both".into()));
                }
                Rule::Freshness { max_age, .. } => {
                    parse_age(max_age).map_err(bad)?;
                }
                Rule::Unique { columns, .. } if columns.is_empty() => {
                    return Err(bad("a unique check needs at least one column".into()));
                }
                Rule::Sql {
                    equals: None,
                    min: None,
                    max: None,
                    ..
                } => return Err(bad("a sql check needs equals, min or max".into())),
                _ => {}
            }
        }
        Ok(suite)
    }

    /// The suite as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a suite serialises")
    }
}

/// Parses `90s`, `15m`, `6h`, `2d`, `1w` into seconds.
pub fn parse_age(s: &str) -> std::result::Result<i64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("max_age `{s}` must be a number and a unit: 90s, 15m, 6h, 2d or 1w"))?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("max_age `{s}` has unit `{unit}`; use s, m, h, d or w")),
    };
    Ok(n * mult)
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// The line of the `i`th `[[check]]` header.
fn nth_check_line(text: &str, i: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[check]]"))
        .nth(i)
        .map_or(0, |(n, _)| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        let text = r#"
[suite]
name = "t"

[[check]]
kind = "schema"
columns = ["a", "b"]

[[check]]
kind = "type"
column = "a"
type = "integer"

[[check]]
kind = "null_rate"
column = "a"
max = 0.1
severity = "warning"

[[check]]
kind = "unique"
columns = ["a"]

[[check]]
kind = "range"
column = "a"
min = 0
mostly = 0.9

[[check]]
kind = "allowed"
column = "b"
values = ["x", "y"]

[[check]]
kind = "regex"
column = "b"
pattern = "^[a-z]+$"

[[check]]
kind = "row_count"
min = 1

[[check]]
kind = "freshness"
column = "c"
max_age = "2d"

[[check]]
kind = "sql"
query = "SELECT count(*) FROM t WHERE a < 0"
equals = 0
"#;
        let s = Suite::parse(Path::new("s.toml"), text).unwrap();
        assert_eq!(s.checks.len(), 10);
        assert_eq!(s.checks[2].severity, Severity::Warning);
        assert_eq!(s.checks[4].display_name(), "range(a)");
        let again = Suite::parse(Path::new("s.toml"), &s.to_toml()).unwrap();
        assert_eq!(again, s, "a suite round-trips through TOML");
    }

    #[test]
    fn unknown_key_points_at_its_line() {
        let text = "[[check]]\nkind = \"null_rate\"\ncolumn = \"a\"\nmax = 0.1\nmaximum = 3\n";
        let err = Suite::parse(Path::new("s.toml"), text).unwrap_err().to_string();
        assert!(err.starts_with("s.toml:"), "{err}");
        assert!(err.contains("maximum"), "{err}");
    }

    #[test]
    fn unknown_kind_is_rejected() {
        let err = Suite::parse(Path::new("s.toml"), "[[check]]\nkind = \"nulls\"\ncolumn = \"a\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.toml:") && err.contains("nulls"), "{err}");
    }

    #[test]
    fn bad_values_name_the_check_line() {
        let text =
            "[[check]]\nkind = \"row_count\"\nmin = 1\n\n[[check]]\nkind = \"null_rate\"\ncolumn = \"a\"\nmax = 5\n";
        let err = Suite::parse(Path::new("s.toml"), text).unwrap_err().to_string();
        assert!(err.starts_with("s.toml:5:1:"), "{err}");
        let err = Suite::parse(
            Path::new("s.toml"),
            "[[check]]\nkind = \"freshness\"\ncolumn = \"t\"\nmax_age = \"2 days\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unit"), "{err}");
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("90s"), Ok(90));
        assert_eq!(parse_age("2d"), Ok(172_800));
        assert!(parse_age("d").is_err());
    }
}
