//! Quality findings on a table: what is wrong with a dataset before a model learns from it.
//!
//! [`analyze`] runs every check on a [`Table`] (a dataset version's canonical Parquet copy or a plain
//! CSV/JSON Lines/Parquet file read with `sluice-ingest`) and returns a [`TableReport`] of [`Finding`]s,
//! each with a [`Severity`], a count, example rows and a typed [`Detail`]. Given the parent version
//! ([`Parent`]), it also reports missing-rate jumps and schema changes.
//!
//! | check (`Detail`)     | module         | unit      | default severity                                  |
//! |----------------------|----------------|-----------|---------------------------------------------------|
//! | missing_values       | [`missing`]    | cell      | info; warning at >= 5% of rows; error at >= 50%   |
//! | missing_rate_jump    | [`missing`]    | column    | warning at +2 points (and at least doubled); error at +10 points |
//! | duplicate_rows       | [`duplicates`] | row       | warning                                           |
//! | duplicate_keys       | [`duplicates`] | row       | error (the caller declared the key unique)        |
//! | near_duplicates      | [`minhash`]    | row       | warning                                           |
//! | outliers             | [`outliers`]   | cell      | info                                              |
//! | date_formats         | [`formats`]    | cell      | warning                                           |
//! | mixed_types          | [`formats`]    | cell      | warning                                           |
//! | encoding             | [`formats`]    | cell      | warning                                           |
//! | whitespace           | [`formats`]    | cell      | warning                                           |
//! | category_variants    | [`formats`]    | cell      | warning                                           |
//! | schema_change        | (sluice-version's schema diff) | column | error if a column was removed or retyped, else info |
//!
//! Invariant: a finding's `rows` are exactly the rows the check flags, so a caller can score them
//! against a ground truth (the tests do, against `sluice synth`'s). Row-level checks flag every row
//! after the first of its group or cluster; an exact duplicate row is reported once, as a duplicate,
//! and left out of the near-duplicate search.
//!
//! The table is held in memory; the checks are one pass per column (columns in parallel) plus one
//! row-hash pass, and the near-duplicate search is parallel over rows. [`html::render`] turns reports
//! into a self-contained HTML page in the profile report's style.

pub mod duplicates;
pub mod error;
pub mod formats;
pub mod html;
pub mod minhash;
pub mod missing;
pub mod outliers;
pub mod report;
pub mod table;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use arrow::array::{Array, AsArray, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use rayon::prelude::*;

pub use error::{Error, Result};
pub use minhash::{NearDupConfig, Verify};
pub use missing::MissingRate;
pub use report::{Cluster, Detail, Example, Finding, Severity, TableReport, VariantGroup};
pub use table::Table;

/// Every check's name, in report order.
pub const CHECKS: [&str; 12] = [
    "schema_change",
    "duplicate_keys",
    "missing_rate_jump",
    "missing_values",
    "duplicate_rows",
    "near_duplicates",
    "mixed_types",
    "date_formats",
    "encoding",
    "category_variants",
    "whitespace",
    "outliers",
];

/// What to check and how.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityOptions {
    /// Run only these checks (names in [`CHECKS`]); empty runs every check.
    pub only: Vec<String>,
    /// Key columns that should identify a row; empty for no key check.
    pub key: Vec<String>,
    /// Text columns for the near-duplicate search; `None` picks string columns whose values average at
    /// least [`QualityOptions::text_min_chars`] characters; an empty list turns the search off.
    pub text_columns: Option<Vec<String>>,
    /// Average length (characters) from which a string column is free text.
    pub text_min_chars: f64,
    /// Near-duplicate settings.
    pub near_dup: NearDupConfig,
    /// Example rows per finding.
    pub examples: usize,
    /// Missing rate from which a column's missing values are a warning.
    pub missing_warning: f64,
    /// Missing rate from which they are an error.
    pub missing_error: f64,
    /// Rise of the missing rate against the parent (absolute) that is a warning, if the rate also doubled.
    pub jump_warning: f64,
    /// Rise that is an error.
    pub jump_error: f64,
    /// Modified z-score cutoff.
    pub z_cutoff: f64,
    /// IQR fence multiplier.
    pub iqr_k: f64,
    /// Columns with more distinct values than this are not checked for category variants.
    pub max_categories: usize,
}

impl QualityOptions {
    /// Whether `check` runs.
    pub fn runs(&self, check: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|c| c == check)
    }

    fn validate(&self) -> Result<()> {
        for c in &self.only {
            if !CHECKS.contains(&c.as_str()) {
                return Err(Error::Usage(format!(
                    "--only: no check is called `{c}`; the checks are {}",
                    CHECKS.join(", ")
                )));
            }
        }
        if !self.key.is_empty() && !self.runs("duplicate_keys") {
            return Err(Error::Usage(
                "--key is used by the duplicate_keys check, which --only leaves out".into(),
            ));
        }
        self.near_dup.validate()
    }
}

impl Default for QualityOptions {
    fn default() -> Self {
        QualityOptions {
            only: Vec::new(),
            key: Vec::new(),
            text_columns: None,
            text_min_chars: 30.0,
            near_dup: NearDupConfig::default(),
            examples: 5,
            missing_warning: 0.05,
            missing_error: 0.5,
            jump_warning: 0.02,
            jump_error: 0.10,
            z_cutoff: outliers::Z_CUTOFF,
            iqr_k: outliers::IQR_K,
            max_categories: 10_000,
        }
    }
}

/// The parent version's side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Parent {
    /// How to name it (`name@v3`).
    pub label: String,
    /// Its schema.
    pub schema: SchemaRef,
    /// Its missing counts per column.
    pub missing: BTreeMap<String, MissingRate>,
}

impl Parent {
    /// The parent side computed from its table.
    pub fn of(label: impl Into<String>, table: &Table) -> Self {
        Parent {
            label: label.into(),
            schema: table.schema().clone(),
            missing: missing::rates(table),
        }
    }
}

fn rate(n: u64, rows: u64) -> f64 {
    if rows == 0 { 0.0 } else { n as f64 / rows as f64 }
}

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p == 0.0 || p >= 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.2}%")
    }
}

/// Checks `table` (against `parent`, if given) and reports what it finds.
pub fn analyze(table: &Table, parent: Option<&Parent>, opts: &QualityOptions) -> Result<TableReport> {
    let started = Instant::now();
    opts.validate()?;
    let schema = table.schema().clone();
    let rows = table.rows();
    let key: Vec<usize> = opts
        .key
        .iter()
        .map(|k| table.column_index("--key", k))
        .collect::<Result<_>>()?;
    let explicit_text: Option<Vec<usize>> = match &opts.text_columns {
        None => None,
        Some(cols) => Some(
            cols.iter()
                .map(|c| {
                    let i = table.column_index("--text-columns", c)?;
                    if schema.field(i).data_type() != &DataType::Utf8 {
                        return Err(Error::Usage(format!(
                            "--text-columns: `{c}` is a {} column; the near-duplicate search compares text, so name string columns",
                            schema.field(i).data_type()
                        )));
                    }
                    Ok(i)
                })
                .collect::<Result<_>>()?,
        ),
    };
    let ex = opts.examples;
    let mut findings: Vec<(usize, Finding)> = Vec::new();

    // Per-column checks, columns in parallel.
    let per_column: Vec<ColumnFindings> = (0..schema.fields().len())
        .into_par_iter()
        .map(|c| column_checks(table, c, parent, opts))
        .collect();
    let mut scans: Vec<Option<formats::StringScan>> = Vec::with_capacity(per_column.len());
    for (f, s) in per_column {
        findings.extend(f);
        scans.push(s);
    }

    // Exact duplicates on all columns.
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let dups = if opts.runs("duplicate_rows") {
        duplicates::find(table, &all)?
    } else {
        duplicates::Duplicates::default()
    };
    if !dups.rows.is_empty() {
        let n = dups.rows.len() as u64;
        findings.push((
            usize::MAX,
            Finding {
                severity: Severity::Warning,
                columns: vec![],
                count: n,
                rate: rate(n, rows),
                message: format!(
                    "{n} rows repeat an earlier row exactly ({} distinct rows occur more than once)",
                    dups.groups
                ),
                examples: dups
                    .rows
                    .iter()
                    .take(ex)
                    .map(|(r, first)| Example {
                        row: *r,
                        value: table.row_json(*r),
                        note: Some(format!("duplicate of row {first}")),
                    })
                    .collect(),
                detail: Detail::DuplicateRows { groups: dups.groups },
                rows: dups.rows.iter().map(|r| r.0).collect(),
            },
        ));
    }

    // Duplicate keys.
    if !key.is_empty() {
        let d = duplicates::find(table, &key)?;
        if !d.rows.is_empty() {
            let n = d.rows.len() as u64;
            findings.push((
                usize::MAX,
                Finding {
                    severity: Severity::Error,
                    columns: opts.key.clone(),
                    count: n,
                    rate: rate(n, rows),
                    message: format!(
                        "{n} rows repeat the key ({}) of an earlier row; {} key values occur more than once",
                        opts.key.join(", "),
                        d.groups
                    ),
                    examples: d
                        .rows
                        .iter()
                        .take(ex)
                        .map(|(r, first)| Example {
                            row: *r,
                            value: table.row_json(*r),
                            note: Some(format!("same key as row {first}")),
                        })
                        .collect(),
                    detail: Detail::DuplicateKeys {
                        key: opts.key.clone(),
                        groups: d.groups,
                    },
                    rows: d.rows.iter().map(|r| r.0).collect(),
                },
            ));
        }
    }

    // Near duplicates.
    let text_columns: Vec<usize> = match explicit_text {
        _ if !opts.runs("near_duplicates") => vec![],
        Some(cols) => cols,
        None => scans
            .iter()
            .enumerate()
            .filter_map(|(c, s)| {
                let (present, chars) = match s {
                    Some(s) => (s.present, s.chars),
                    None => text_length(table, c)?,
                };
                (present > 0 && chars as f64 / present as f64 >= opts.text_min_chars).then_some(c)
            })
            .collect(),
    };
    if !text_columns.is_empty() {
        let excluded: HashSet<u64> = dups.rows.iter().map(|r| r.0).collect();
        for c in text_columns {
            if let Some(f) = near_duplicate_finding(table, c, &excluded, opts)? {
                findings.push((c, f));
            }
        }
    }

    // Schema changes.
    if let Some(p) = parent.filter(|_| opts.runs("schema_change")) {
        let cols = |s: &SchemaRef| -> Vec<report::Column> {
            s.fields()
                .iter()
                .map(|f| report::Column {
                    name: f.name().clone(),
                    data_type: f.data_type().to_string(),
                })
                .collect()
        };
        let d = sluice_version::diff::diff_schema(&cols(&normalised(&p.schema)), &cols(&schema));
        if d.has_changes() {
            let n = (d.added.len() + d.removed.len() + d.retyped.len()) as u64;
            let severity = if d.removed.is_empty() && d.retyped.is_empty() {
                Severity::Info
            } else {
                Severity::Error
            };
            let mut parts = Vec::new();
            for c in &d.added {
                parts.push(format!("added {} ({})", c.name, c.data_type));
            }
            for c in &d.removed {
                parts.push(format!("removed {} ({})", c.name, c.data_type));
            }
            for c in &d.retyped {
                parts.push(format!("{} changed type {} -> {}", c.name, c.from, c.to));
            }
            let mut columns: Vec<String> = d.added.iter().chain(&d.removed).map(|c| c.name.clone()).collect();
            columns.extend(d.retyped.iter().map(|c| c.name.clone()));
            findings.push((
                usize::MAX - 1,
                Finding {
                    severity,
                    columns,
                    count: n,
                    rate: 0.0,
                    message: format!("schema changed against {}: {}", p.label, parts.join("; ")),
                    examples: vec![],
                    detail: Detail::SchemaChange {
                        parent: p.label.clone(),
                        added: d.added,
                        removed: d.removed,
                        retyped: d.retyped,
                    },
                    rows: vec![],
                },
            ));
        }
    }

    let order = |f: &Finding| -> usize { CHECKS.iter().position(|c| *c == f.check()).unwrap_or(usize::MAX) };
    findings.sort_by(|(ca, a), (cb, b)| {
        b.severity
            .cmp(&a.severity)
            .then(order(a).cmp(&order(b)))
            .then(ca.cmp(cb))
    });
    Ok(TableReport {
        table: table.name().to_owned(),
        parent: parent.map(|p| p.label.clone()),
        rows,
        columns: schema.fields().len(),
        findings: findings.into_iter().map(|(_, f)| f).collect(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The parent's schema with string types as the table normalises them, so `LargeUtf8` in one version
/// and `Utf8` in the other is not a type change.
fn normalised(s: &SchemaRef) -> SchemaRef {
    let fields: Vec<arrow::datatypes::Field> = s
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::LargeUtf8 | DataType::Utf8View => f.as_ref().clone().with_data_type(DataType::Utf8),
            _ => f.as_ref().clone(),
        })
        .collect();
    std::sync::Arc::new(arrow::datatypes::Schema::new(fields))
}

/// `(non-missing values, their trimmed length in characters)` of string column `c`.
fn text_length(table: &Table, c: usize) -> Option<(u64, u64)> {
    let (mut present, mut chars) = (0u64, 0u64);
    for (_, a) in table.column(c) {
        let a = a.as_any().downcast_ref::<StringArray>()?;
        for v in a.iter().flatten() {
            let t = v.trim();
            if !t.is_empty() {
                present += 1;
                chars += t.chars().count() as u64;
            }
        }
    }
    Some((present, chars))
}

/// A column's findings (with the position used to order them) and its string scan, if a string column.
type ColumnFindings = (Vec<(usize, Finding)>, Option<formats::StringScan>);

/// Missing values, outliers and the string checks of column `c`.
fn column_checks(table: &Table, c: usize, parent: Option<&Parent>, opts: &QualityOptions) -> ColumnFindings {
    let field = table.schema().field(c);
    let name = field.name().clone();
    let rows = table.rows();
    let ex = opts.examples;
    let mut out = Vec::new();
    let finding = |severity, count: u64, message: String, examples, detail, rows_flagged| Finding {
        severity,
        columns: vec![name.clone()],
        count,
        rate: rate(count, rows),
        message,
        examples,
        detail,
        rows: rows_flagged,
    };

    // Missing values.
    let wants_missing = opts.runs("missing_values") || (parent.is_some() && opts.runs("missing_rate_jump"));
    let m = if wants_missing {
        missing::count(table, c, ex)
    } else {
        missing::Missing::default()
    };
    let total = m.total();
    if total > 0 && opts.runs("missing_values") {
        let r = rate(total, rows);
        let severity = if r >= opts.missing_error {
            Severity::Error
        } else if r >= opts.missing_warning {
            Severity::Warning
        } else {
            Severity::Info
        };
        let kinds: Vec<String> = [
            (m.null, "null"),
            (m.nan, "NaN"),
            (m.empty, "empty"),
            (m.whitespace, "whitespace-only"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, k)| format!("{n} {k}"))
        .collect();
        out.push((
            c,
            finding(
                severity,
                total,
                format!("{name}: {total} missing values ({}): {}", pct(r), kinds.join(", ")),
                m.examples.clone(),
                Detail::MissingValues {
                    null: m.null,
                    nan: m.nan,
                    empty: m.empty,
                    whitespace: m.whitespace,
                },
                m.rows.clone(),
            ),
        ));
    }
    if let Some(p) = parent.filter(|_| opts.runs("missing_rate_jump"))
        && let Some(before) = p.missing.get(&name)
    {
        let (was, now) = (before.rate(), rate(total, rows));
        let rise = now - was;
        let severity = if rise >= opts.jump_error {
            Some(Severity::Error)
        } else if rise >= opts.jump_warning && now >= 2.0 * was {
            Some(Severity::Warning)
        } else {
            None
        };
        if let Some(severity) = severity {
            out.push((
                c,
                finding(
                    severity,
                    total,
                    format!(
                        "{name}: missing rate rose from {} in {} to {}",
                        pct(was),
                        p.label,
                        pct(now)
                    ),
                    m.examples.clone(),
                    Detail::MissingRateJump {
                        parent: p.label.clone(),
                        parent_rate: was,
                        rate: now,
                    },
                    m.rows.clone(),
                ),
            ));
        }
    }

    // Outliers on numeric columns (identifier-like columns excluded: their spread means nothing).
    let dt = field.data_type();
    let id_like = {
        let n = name.to_ascii_lowercase();
        n == "id" || n.ends_with("_id") || (n.ends_with("id") && name.ends_with("Id"))
    };
    if (dt.is_numeric() || matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..)))
        && !id_like
        && opts.runs("outliers")
    {
        let mut values: Vec<(u64, f64)> = Vec::new();
        for (start, a) in table.column(c) {
            if let Ok(f) = arrow::compute::cast(a, &DataType::Float64) {
                let f = f.as_primitive::<arrow::datatypes::Float64Type>();
                for i in 0..f.len() {
                    if f.is_valid(i) && f.value(i).is_finite() {
                        values.push((start + i as u64, f.value(i)));
                    }
                }
            }
        }
        if let Some(s) = outliers::detect(&values, opts.z_cutoff, opts.iqr_k)
            && !s.mad_rows.is_empty()
        {
            let n = s.mad_rows.len() as u64;
            let mut worst = s.mad_rows.clone();
            worst.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()).then(a.0.cmp(&b.0)));
            out.push((
                c,
                finding(
                    Severity::Info,
                    n,
                    format!(
                        "{name}: {n} values with |modified z| > {} (median {}, MAD {}); {} outside the IQR fences [{}, {}]",
                        opts.z_cutoff,
                        short(s.median),
                        short(s.mad),
                        s.iqr_outliers,
                        short(s.lower_fence),
                        short(s.upper_fence)
                    ),
                    worst
                        .iter()
                        .take(ex)
                        .map(|(row, x, z)| Example {
                            row: *row,
                            value: serde_json::json!(x),
                            note: Some(format!("modified z = {z:.1}")),
                        })
                        .collect(),
                    Detail::Outliers {
                        median: s.median,
                        mad: s.mad,
                        mad_outliers: n,
                        q1: s.q1,
                        q3: s.q3,
                        lower_fence: s.lower_fence,
                        upper_fence: s.upper_fence,
                        iqr_outliers: s.iqr_outliers,
                        both: s.both,
                    },
                    s.mad_rows.iter().map(|r| r.0).collect(),
                ),
            ));
        }
    }

    // String checks.
    let string_checks = [
        "mixed_types",
        "date_formats",
        "encoding",
        "category_variants",
        "whitespace",
    ];
    if !string_checks.iter().any(|c| opts.runs(c)) {
        return (out, None);
    }
    let Some(scan) = formats::scan(table, c, opts.max_categories) else {
        return (out, None);
    };
    let cell = |row: u64, note: Option<String>| Example {
        row,
        value: table.str_at(c, row).map(serde_json::Value::from).unwrap_or_default(),
        note,
    };
    let v = formats::verdict(&scan);
    // Date formats and mixed types need a second pass to find the rows; only when there is a finding.
    let other_formats: u64 = match &v.dominant_format {
        Some(d) => v
            .formats
            .iter()
            .filter(|(f, _)| f.as_str() != d.as_str())
            .map(|(_, n)| n)
            .sum(),
        None => 0,
    };
    let other_types: u64 = if v.dominant == "text" {
        0
    } else {
        v.types.iter().filter(|(t, _)| **t != v.dominant).map(|(_, n)| n).sum()
    };
    let dominant_share = v.types.get(&v.dominant).copied().unwrap_or(0) as f64 / scan.present.max(1) as f64;
    let mixed = other_types > 0 && dominant_share >= 0.5 && opts.runs("mixed_types");
    let other_formats = if opts.runs("date_formats") { other_formats } else { 0 };
    if other_formats > 0 || mixed {
        let (mut format_rows, mut type_rows) = (Vec::new(), Vec::new());
        for (start, a) in table.column(c) {
            let Some(a) = a.as_any().downcast_ref::<StringArray>() else {
                continue;
            };
            for i in 0..a.len() {
                if a.is_null(i) {
                    continue;
                }
                let t = a.value(i).trim();
                if t.is_empty() {
                    continue;
                }
                let (ty, f) = formats::type_and_format(t, &v);
                let row = start + i as u64;
                if mixed && ty != v.dominant {
                    type_rows.push((row, ty));
                }
                if let (Some(f), Some(d)) = (f, &v.dominant_format)
                    && f != d.as_str()
                {
                    format_rows.push((row, f));
                }
            }
        }
        if other_formats > 0 {
            let d = v.dominant_format.clone().unwrap_or_default();
            out.push((
                c,
                finding(
                    Severity::Warning,
                    other_formats,
                    format!(
                        "{name}: dates in {} formats; {} rows are not in the usual {d}",
                        v.formats.len(),
                        other_formats
                    ),
                    format_rows
                        .iter()
                        .take(ex)
                        .map(|(r, f)| cell(*r, Some(format!("format {f}"))))
                        .collect(),
                    Detail::DateFormats {
                        dominant: d,
                        formats: v.formats.clone(),
                    },
                    format_rows.iter().map(|r| r.0).collect(),
                ),
            ));
        }
        if mixed {
            out.push((
                c,
                finding(
                    Severity::Warning,
                    other_types,
                    format!(
                        "{name}: {} of the values are {} but {other_types} are not ({})",
                        pct(dominant_share),
                        v.dominant,
                        v.types
                            .iter()
                            .filter(|(t, _)| **t != v.dominant)
                            .map(|(t, n)| format!("{n} {t}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    type_rows
                        .iter()
                        .take(ex)
                        .map(|(r, t)| cell(*r, Some(format!("a {t}"))))
                        .collect(),
                    Detail::MixedTypes {
                        dominant: v.dominant.clone(),
                        types: v.types.clone(),
                    },
                    type_rows.iter().map(|r| r.0).collect(),
                ),
            ));
        }
    }
    if !scan.encoding_rows.is_empty() && opts.runs("encoding") {
        let n = scan.encoding_rows.len() as u64;
        out.push((
            c,
            finding(
                Severity::Warning,
                n,
                format!(
                    "{name}: {n} values look mis-decoded ({} mojibake, {} with U+FFFD)",
                    scan.mojibake, scan.replacement
                ),
                scan.encoding_rows
                    .iter()
                    .take(ex)
                    .map(|(r, what)| cell(*r, Some((*what).to_owned())))
                    .collect(),
                Detail::Encoding {
                    mojibake: scan.mojibake,
                    replacement: scan.replacement,
                },
                scan.encoding_rows.iter().map(|r| r.0).collect(),
            ),
        ));
    }
    if !scan.whitespace_rows.is_empty() && opts.runs("whitespace") {
        let n = scan.whitespace_rows.len() as u64;
        out.push((
            c,
            finding(
                Severity::Warning,
                n,
                format!(
                    "{name}: {n} values have leading or trailing whitespace ({} leading, {} trailing, {} both)",
                    scan.leading, scan.trailing, scan.both
                ),
                scan.whitespace_rows.iter().take(ex).map(|r| cell(*r, None)).collect(),
                Detail::Whitespace {
                    leading: scan.leading,
                    trailing: scan.trailing,
                    both: scan.both,
                },
                scan.whitespace_rows.clone(),
            ),
        ));
    }
    if let Some(distinct) = scan.distinct.as_ref().filter(|_| opts.runs("category_variants")) {
        let (groups, variants) = formats::variant_groups(distinct);
        if !groups.is_empty() {
            let canonical_of: BTreeMap<&str, &str> = groups
                .iter()
                .flat_map(|g| {
                    g.spellings[1..]
                        .iter()
                        .map(move |s| (s.0.as_str(), g.canonical.as_str()))
                })
                .collect();
            let mut flagged = Vec::new();
            for (start, a) in table.column(c) {
                let Some(a) = a.as_any().downcast_ref::<StringArray>() else {
                    continue;
                };
                for i in 0..a.len() {
                    if a.is_valid(i) && variants.contains(a.value(i).trim()) {
                        flagged.push(start + i as u64);
                    }
                }
            }
            let n = flagged.len() as u64;
            let first = &groups[0];
            out.push((
                c,
                finding(
                    Severity::Warning,
                    n,
                    format!(
                        "{name}: {n} values are spelling variants (case, spacing, accents) of another value in {} groups, e.g. {:?} for {:?}",
                        groups.len(),
                        first.spellings[1].0,
                        first.canonical
                    ),
                    flagged
                        .iter()
                        .take(ex)
                        .map(|r| {
                            let v = table.str_at(c, *r).unwrap_or_default().trim().to_owned();
                            let canon = canonical_of.get(v.as_str()).copied().unwrap_or_default();
                            cell(*r, Some(format!("variant of {canon:?}")))
                        })
                        .collect(),
                    Detail::CategoryVariants {
                        groups: groups.into_iter().take(ex.max(1)).collect(),
                    },
                    flagged,
                ),
            ));
        }
    }
    (out, Some(scan))
}

/// A number in few characters for messages.
fn short(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// The near-duplicate finding on text column `c`, rows in `excluded` left out.
fn near_duplicate_finding(
    table: &Table,
    c: usize,
    excluded: &HashSet<u64>,
    opts: &QualityOptions,
) -> Result<Option<Finding>> {
    let name = table.schema().field(c).name().clone();
    let mut texts: Vec<Option<&str>> = Vec::with_capacity(table.rows() as usize);
    for (start, a) in table.column(c) {
        let a = a
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::Internal(format!("text column {name} is not Utf8")))?;
        for i in 0..a.len() {
            let row = start + i as u64;
            texts.push((a.is_valid(i) && !excluded.contains(&row)).then(|| a.value(i)));
        }
    }
    let r = minhash::near_duplicates(&texts, &opts.near_dup)?;
    if r.clusters.is_empty() {
        return Ok(None);
    }
    let mut flagged: Vec<u64> = r.clusters.iter().flat_map(|cl| cl.rows[1..].iter().copied()).collect();
    flagged.sort_unstable();
    let n = flagged.len() as u64;
    let examples = r
        .clusters
        .iter()
        .take(opts.examples)
        .map(|cl| Example {
            row: cl.rows[1],
            value: table
                .str_at(c, cl.rows[1])
                .map(serde_json::Value::from)
                .unwrap_or_default(),
            note: Some(format!(
                "near duplicate of row {} ({:?}); cluster of {}",
                cl.rows[0],
                table.str_at(c, cl.rows[0]).unwrap_or_default(),
                cl.rows.len()
            )),
        })
        .collect();
    let clusters = r.clusters.len() as u64;
    Ok(Some(Finding {
        severity: Severity::Warning,
        columns: vec![name.clone()],
        count: n,
        rate: rate(n, table.rows()),
        message: format!(
            "{name}: {n} rows are near duplicates (Jaccard >= {}) of an earlier row, in {clusters} clusters",
            opts.near_dup.threshold
        ),
        examples,
        detail: Detail::NearDuplicates {
            threshold: opts.near_dup.threshold,
            num_perm: opts.near_dup.num_perm,
            bands: r.bands,
            rows_per_band: r.rows_per_band,
            shingle: opts.near_dup.shingle,
            clusters,
            candidate_pairs: r.candidate_pairs,
            verified_pairs: r.verified_pairs,
            largest: r
                .clusters
                .into_iter()
                .take(opts.examples)
                .map(|mut cl| {
                    cl.texts = cl
                        .rows
                        .iter()
                        .take(Cluster::TEXTS)
                        .map(|&row| table.str_at(c, row).unwrap_or_default().to_owned())
                        .collect();
                    cl
                })
                .collect(),
        },
        rows: flagged,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn table() -> Table {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("city", DataType::Utf8, true),
            Field::new("day", DataType::Utf8, true),
            Field::new("x", DataType::Float64, true),
        ]));
        let n = 40;
        let ids: Vec<i64> = (0..n).map(|i| if i == 39 { 0 } else { i }).collect();
        let cities: Vec<&str> = (0..n)
            .map(|i| match i {
                3 => "new york",
                4 => " New York",
                5 => "NewYork",
                6 => "SÃ£o Paulo",
                _ if i % 2 == 0 => "New York",
                _ => "São Paulo",
            })
            .collect();
        let days: Vec<String> = (0..n)
            .map(|i| match i {
                7 => "03/01/2024".into(),
                8 => "1 Mar 2024".into(),
                9 => "hello".into(),
                _ => format!("2024-03-{:02}", i % 28 + 1),
            })
            .collect();
        let xs: Vec<Option<f64>> = (0..n)
            .map(|i| match i {
                10 => Some(1e6),
                11 => None,
                _ => Some(10.0 + (i % 7) as f64),
            })
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids)) as ArrayRef,
                Arc::new(StringArray::from(cities)) as ArrayRef,
                Arc::new(StringArray::from(days.iter().map(String::as_str).collect::<Vec<_>>())) as ArrayRef,
                Arc::new(Float64Array::from(xs)) as ArrayRef,
            ],
        )
        .unwrap();
        Table::new("t", schema, vec![batch]).unwrap()
    }

    fn rows_of(r: &TableReport, check: &str, column: &str) -> Vec<u64> {
        r.of(check)
            .find(|f| f.columns.iter().any(|c| c == column))
            .map(|f| f.rows.clone())
            .unwrap_or_default()
    }

    #[test]
    fn every_check_flags_the_planted_rows() {
        let t = table();
        let opts = QualityOptions {
            key: vec!["id".into()],
            ..Default::default()
        };
        let r = analyze(&t, None, &opts).unwrap();
        assert_eq!(rows_of(&r, "category_variants", "city"), vec![3, 5]);
        assert_eq!(rows_of(&r, "whitespace", "city"), vec![4]);
        assert_eq!(rows_of(&r, "encoding", "city"), vec![6]);
        assert_eq!(rows_of(&r, "date_formats", "day"), vec![7, 8]);
        assert_eq!(rows_of(&r, "mixed_types", "day"), vec![9]);
        assert_eq!(rows_of(&r, "outliers", "x"), vec![10]);
        assert_eq!(rows_of(&r, "missing_values", "x"), vec![11]);
        assert_eq!(rows_of(&r, "duplicate_keys", "id"), vec![39]);
        assert_eq!(r.max_severity(), Some(Severity::Error));
        assert_eq!(r.findings[0].check(), "duplicate_keys");
        let json = serde_json::to_value(&r).unwrap();
        let f = &json["findings"][0];
        assert_eq!(f["check"], "duplicate_keys");
        assert_eq!(f["severity"], "error");
        assert!(f.get("rows").is_none());
        assert!(f["examples"][0]["row"].is_u64());
    }

    #[test]
    fn parent_comparison_reports_jumps_and_schema_changes() {
        let t = table();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("x", DataType::Float64, true),
            Field::new("gone", DataType::Float64, true),
        ]));
        let parent = Parent {
            label: "p@v1".into(),
            schema,
            missing: [("x".to_owned(), MissingRate { missing: 0, rows: 40 })]
                .into_iter()
                .collect(),
        };
        let opts = QualityOptions {
            jump_warning: 0.01,
            ..Default::default()
        };
        let r = analyze(&t, Some(&parent), &opts).unwrap();
        let s = r.of("schema_change").next().unwrap();
        assert_eq!(s.severity, Severity::Error);
        match &s.detail {
            Detail::SchemaChange {
                added,
                removed,
                retyped,
                ..
            } => {
                assert_eq!(
                    added.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                    vec!["city", "day"]
                );
                assert_eq!(removed[0].name, "gone");
                assert_eq!(retyped[0].name, "id");
            }
            other => panic!("{other:?}"),
        }
        let j = r.of("missing_rate_jump").next().unwrap();
        assert_eq!(j.severity, Severity::Warning);
        assert_eq!(j.columns, vec!["x"]);
    }

    #[test]
    fn unknown_columns_are_named() {
        let t = table();
        let e = analyze(
            &t,
            None,
            &QualityOptions {
                text_columns: Some(vec!["nope".into()]),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--text-columns") && e.contains("`nope`") && e.contains("id, city"),
            "{e}"
        );
        let e = analyze(
            &t,
            None,
            &QualityOptions {
                text_columns: Some(vec!["x".into()]),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("Float64"), "{e}");
    }
}
