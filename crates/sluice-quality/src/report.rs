//! The report: findings with a severity, counts, example rows and a typed detail per check, all
//! serialisable (serde) so the CLI prints tables or `--json` and a report renderer can use them.
//!
//! Row numbers are 0-based positions in the table's row order (file order for CSV/JSON Lines,
//! row-group order for Parquet), the numbering `sluice synth`'s ground truth uses too.

use std::collections::BTreeMap;

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Warning < Error`; `--fail-on` compares against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; rarely wrong data by itself (a few missing values, heavy tails).
    Info,
    /// Probably wrong data that a model would learn from (duplicates, mixed formats, encodings).
    Warning,
    /// Breaks an expectation outright (a declared key is not unique, a column disappeared or changed type,
    /// a column became mostly missing).
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            _ => Err(crate::Error::InvalidOption {
                option: "severity",
                value: s.to_owned(),
                expected: "use `error`, `warning` or `info`",
            }),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One example row of a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    /// 0-based row number.
    pub row: u64,
    /// The offending value (a cell), or the whole row as a JSON object (row-level findings).
    pub value: serde_json::Value,
    /// What is wrong with it, when the check says more than the value shows ("duplicate of row 12").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A cluster of near-duplicate rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// Its rows, ascending; the first is taken as the original.
    pub rows: Vec<u64>,
    /// The lowest Jaccard similarity among the verified pairs that joined the cluster.
    pub min_similarity: f64,
    /// The texts of its first rows (at most [`Cluster::TEXTS`]), in row order; filled in for the
    /// clusters a finding reports, so a reader sees what was matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub texts: Vec<String>,
}

impl Cluster {
    /// Texts kept per reported cluster.
    pub const TEXTS: usize = 10;
}

/// Spellings of one category that differ only in case, spacing or accents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantGroup {
    /// The most frequent spelling.
    pub canonical: String,
    /// Every spelling with its row count, most frequent first (the canonical one included).
    pub spellings: Vec<(String, u64)>,
}

/// A column's name and Arrow type.
pub use sluice_version::diff::{Column, Retyped};

/// What a check found, beyond the common fields of [`Finding`]. The tag `check` names the check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Detail {
    /// Missing values in one column, by kind.
    MissingValues {
        /// SQL nulls.
        null: u64,
        /// Float NaNs.
        nan: u64,
        /// Empty strings.
        empty: u64,
        /// Strings of whitespace only.
        whitespace: u64,
    },
    /// The missing rate rose against the parent version.
    MissingRateJump {
        /// The parent version or table.
        parent: String,
        /// The parent's missing rate.
        parent_rate: f64,
        /// This table's missing rate.
        rate: f64,
    },
    /// Rows identical in every column to an earlier row.
    DuplicateRows {
        /// Distinct rows that occur more than once.
        groups: u64,
    },
    /// Rows whose key repeats an earlier row's key.
    DuplicateKeys {
        /// The key columns.
        key: Vec<String>,
        /// Distinct key values that occur more than once.
        groups: u64,
    },
    /// Rows whose text is a near duplicate of an earlier row's (MinHash LSH, verified pairs).
    NearDuplicates {
        /// Jaccard similarity threshold on the shingle sets.
        threshold: f64,
        /// MinHash permutations.
        num_perm: usize,
        /// LSH bands and rows per band.
        bands: usize,
        /// Rows per band.
        rows_per_band: usize,
        /// Character shingle length.
        shingle: usize,
        /// Clusters found.
        clusters: u64,
        /// Candidate pairs the bands produced (before verification): each pair once, in the first band
        /// its rows share, and none already joined in one cluster.
        candidate_pairs: u64,
        /// Pairs accepted by the verification.
        verified_pairs: u64,
        /// The largest clusters (at most the example count).
        largest: Vec<Cluster>,
    },
    /// Values far from the column's centre by robust rules.
    Outliers {
        /// Median of the finite values.
        median: f64,
        /// Median absolute deviation from the median.
        mad: f64,
        /// Values with |modified z| > the cutoff (Iglewicz-Hoaglin); these are the finding's rows.
        mad_outliers: u64,
        /// First quartile (linear interpolation).
        q1: f64,
        /// Third quartile.
        q3: f64,
        /// Lower IQR fence, `q1 - k * (q3 - q1)`.
        lower_fence: f64,
        /// Upper IQR fence, `q3 + k * (q3 - q1)`.
        upper_fence: f64,
        /// Values outside the IQR fences.
        iqr_outliers: u64,
        /// Values flagged by both rules.
        both: u64,
    },
    /// A date column written in more than one format.
    DateFormats {
        /// The most frequent format (strftime pattern); rows in any other format are the finding's rows.
        dominant: String,
        /// Rows per format.
        formats: BTreeMap<String, u64>,
    },
    /// A string column whose values are mostly of one type (integer, float, boolean, date, timestamp)
    /// with some of another.
    MixedTypes {
        /// The dominant type; rows of any other type are the finding's rows.
        dominant: String,
        /// Rows per type.
        types: BTreeMap<String, u64>,
    },
    /// Mojibake (UTF-8 decoded as Latin-1/Windows-1252) or U+FFFD replacement characters.
    Encoding {
        /// Values that are mojibake.
        mojibake: u64,
        /// Values with U+FFFD.
        replacement: u64,
    },
    /// Values with leading or trailing whitespace (whitespace-only values count as missing instead).
    Whitespace {
        /// Leading only.
        leading: u64,
        /// Trailing only.
        trailing: u64,
        /// Both ends.
        both: u64,
    },
    /// Category spellings that differ only in case, spacing or accents.
    CategoryVariants {
        /// Groups of spellings, largest first (at most the example count... all groups are counted).
        groups: Vec<VariantGroup>,
    },
    /// Columns added, removed or retyped against the parent version.
    SchemaChange {
        /// The parent version or table.
        parent: String,
        /// Columns only in this table.
        added: Vec<Column>,
        /// Columns only in the parent.
        removed: Vec<Column>,
        /// Columns whose type changed.
        retyped: Vec<Retyped>,
    },
}

impl Detail {
    /// The check's name, as serialised in `check`.
    pub fn check(&self) -> &'static str {
        match self {
            Detail::MissingValues { .. } => "missing_values",
            Detail::MissingRateJump { .. } => "missing_rate_jump",
            Detail::DuplicateRows { .. } => "duplicate_rows",
            Detail::DuplicateKeys { .. } => "duplicate_keys",
            Detail::NearDuplicates { .. } => "near_duplicates",
            Detail::Outliers { .. } => "outliers",
            Detail::DateFormats { .. } => "date_formats",
            Detail::MixedTypes { .. } => "mixed_types",
            Detail::Encoding { .. } => "encoding",
            Detail::Whitespace { .. } => "whitespace",
            Detail::CategoryVariants { .. } => "category_variants",
            Detail::SchemaChange { .. } => "schema_change",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// The column(s) concerned; empty for whole-row findings.
    pub columns: Vec<String>,
    /// Rows (or, for schema changes, columns) affected.
    pub count: u64,
    /// `count` over the table's rows (0 for schema changes).
    pub rate: f64,
    /// One line for people.
    pub message: String,
    /// Example rows, at most the requested number.
    pub examples: Vec<Example>,
    /// The check and what it measured.
    #[serde(flatten)]
    pub detail: Detail,
    /// Every affected row, ascending (not serialised: it can be as long as the table). For row-level
    /// checks these are the rows after the first of each group or cluster.
    #[serde(skip)]
    pub rows: Vec<u64>,
}

impl Finding {
    /// The check's name.
    pub fn check(&self) -> &'static str {
        self.detail.check()
    }
}

/// The findings on one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableReport {
    /// The table (file path, or `name@vN:path`).
    pub table: String,
    /// The parent it was compared with, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Rows.
    pub rows: u64,
    /// Columns.
    pub columns: usize,
    /// Findings, most severe first, then by check and column.
    pub findings: Vec<Finding>,
    /// Wall-clock seconds the checks took (reading the table excluded).
    pub seconds: f64,
}

impl TableReport {
    /// The most severe finding's severity, if there is any finding.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The findings of one check.
    pub fn of(&self, check: &str) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.check() == check)
    }
}
