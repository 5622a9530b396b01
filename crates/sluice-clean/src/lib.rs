//! Cleaning steps for pipelines: each [`Step`] takes a whole in-memory table (record batches of one
//! schema) and returns the cleaned table with a [`StepReport`] of what it changed, removed or filled in.
//!
//! A pipeline file lists steps as TOML tables tagged by `kind`, which deserialise into [`Step`] one to one
//! (unknown keys are rejected):
//!
//! ```toml
//! [[transform.steps]]
//! kind = "dedupe"
//! columns = ["transaction_id"]          # optional: the key; all columns when absent
//!
//! [[transform.steps]]
//! kind = "normalize_dates"
//! columns = ["signup_date"]
//! on_error = "null"                     # unparseable values become null (default: kept as they are)
//! ```
//!
//! | step (`kind`)          | unit | what it does                                                             | reuses (sluice-quality)         |
//! |------------------------|------|--------------------------------------------------------------------------|---------------------------------|
//! | `dedupe`               | row  | drops rows equal to an earlier row on all columns or a key; keeps the first | (its own: row-format equality, as `duplicates::find`) |
//! | `near_dedupe`          | row  | drops rows whose text is a near duplicate (5-shingle Jaccard >= threshold) of an earlier row's; keeps the first of each cluster | `minhash::near_duplicates` |
//! | `normalize_dates`      | cell | rewrites dates and date-times in known formats as ISO 8601 (or `Date32`) | (its own chrono parsing)        |
//! | `trim`                 | cell | removes leading and trailing whitespace                                   |                                 |
//! | `case_fold`            | cell | lower- or upper-cases                                                     |                                 |
//! | `canonical_categories` | cell | replaces spellings that differ only in case, spacing or accents by the most frequent one | `formats::variant_groups` |
//! | `repair_encoding`      | cell | re-decodes mojibake (UTF-8 read as Windows-1252/Latin-1); counts U+FFFD as invalid | `formats::is_mojibake`, `unmojibake` |
//! | `drop_missing`         | row  | drops rows with any (or all) of the columns missing                       |                                 |
//! | `impute`               | cell | fills missing values with the mean, median, mode or a constant            | `outliers::quantile_sorted`     |
//! | `filter_outliers`      | row  | drops rows outside Tukey's IQR fences or over a modified z-score          | `outliers::detect`'s rules (quantiles by selection) |
//!
//! *Missing* means what `sluice quality` counts as missing: null, float NaN, and for strings also empty and
//! whitespace-only values. Row numbers in reports are 0-based positions in the step's input.
//!
//! Invariants: a step keeps the schema (only `normalize_dates` with `as_date = true` changes its columns'
//! type, to `Date32`); row steps keep the order of the rows they keep; columns and batches a step does not
//! change are passed on without a copy; and a step is deterministic, whatever the thread count and however
//! the table is split into batches (the integration tests check this).

mod dates;
mod dedupe;
mod edits;
pub mod error;
mod frame;
mod missing;
mod outliers;
mod owned;
mod remove;
pub mod report;
mod rowhash;
mod text;

use arrow::array::RecordBatch;
use serde::{Deserialize, Serialize};

pub use error::{Error, Result};
pub use report::{Example, StepReport};

use frame::{Frame, Tally};

/// Default Jaccard threshold of `near_dedupe`: that of `sluice quality`'s near-duplicate check.
pub const NEAR_DUP_THRESHOLD: f64 = 0.8;

fn near_dup_threshold() -> f64 {
    NEAR_DUP_THRESHOLD
}

/// One cleaning step, as written in a pipeline file (`kind = "..."` selects the variant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Drops rows that repeat an earlier row exactly, keeping the first.
    Dedupe {
        /// Columns that identify a row; when absent, rows must be equal on every column.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        columns: Option<Vec<String>>,
    },
    /// Drops rows whose text in `column` is a near duplicate of an earlier row's, keeping the first row
    /// of each cluster (clusters are joined transitively, as in `sluice quality`).
    NearDedupe {
        /// The text column compared.
        column: String,
        /// Jaccard similarity of lowercased character 5-shingles at or above which two texts are near
        /// duplicates, in (0, 1]; default 0.8.
        #[serde(default = "near_dup_threshold")]
        threshold: f64,
    },
    /// Rewrites dates and date-times as ISO 8601 (`2024-03-01`, `2024-03-01T12:30:00`,
    /// `2024-03-01T12:30:00+01:00`), or as `Date32` values with `as_date = true`.
    NormalizeDates {
        /// String columns holding dates.
        columns: Vec<String>,
        /// chrono/strftime patterns tried in order, replacing the built-in list (see the `dates` module);
        /// `%+` reads RFC 3339.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        formats: Option<Vec<String>>,
        /// Write `Date32` columns instead of strings (a date-time keeps its date as written).
        #[serde(default)]
        as_date: bool,
        /// What to do with a value no format reads: `keep` it (the default for strings) or write `null`
        /// (the only choice, and the default, with `as_date`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_error: Option<OnError>,
    },
    /// Removes leading and trailing whitespace.
    Trim {
        /// String columns.
        columns: Vec<String>,
    },
    /// Lower- or upper-cases text (Unicode case mapping).
    CaseFold {
        /// String columns.
        columns: Vec<String>,
        /// `lower` (default) or `upper`.
        #[serde(default)]
        mode: CaseMode,
    },
    /// Replaces spellings of a category that differ only in case, spacing or accents by its most frequent
    /// spelling (trimmed); ties go to the alphabetically first.
    CanonicalCategories {
        /// String columns.
        columns: Vec<String>,
    },
    /// Repairs mojibake: text whose UTF-8 bytes were decoded as Windows-1252 or Latin-1 ("CafÃ©" ->
    /// "Café"), twice-garbled text included. Text with U+FFFD lost its bytes and is counted as invalid.
    RepairEncoding {
        /// String columns.
        columns: Vec<String>,
    },
    /// Drops rows with missing values.
    DropMissing {
        /// Columns looked at; all columns when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        columns: Option<Vec<String>>,
        /// `any` (default): drop a row when any of the columns is missing; `all`: when all are.
        #[serde(default)]
        how: How,
    },
    /// Fills missing values of one column.
    Impute {
        /// The column.
        column: String,
        /// `mean` and `median` (numeric columns), `mode` (numbers, strings, booleans) or `constant`.
        strategy: Strategy,
        /// The constant, for `strategy = "constant"` only; a TOML value of the column's kind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<toml::Value>,
    },
    /// Drops rows with a value outside the rule's bounds in any of the columns.
    FilterOutliers {
        /// Numeric columns.
        columns: Vec<String>,
        /// `iqr` (default): outside `[Q1 - k IQR, Q3 + k IQR]`; `mad`: modified z-score above `k`.
        #[serde(default)]
        method: OutlierMethod,
        /// The rule's multiplier; default 1.5 for `iqr` (Tukey) and 3.5 for `mad` (Iglewicz & Hoaglin).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        k: Option<f64>,
    },
}

/// What `normalize_dates` does with a value it cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Leave it as it is (and count it).
    #[default]
    Keep,
    /// Write null (and count it).
    Null,
}

/// `case_fold`'s direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseMode {
    /// Lower case.
    #[default]
    Lower,
    /// Upper case.
    Upper,
}

/// `drop_missing`'s rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// Any of the columns is missing.
    #[default]
    Any,
    /// All of them are.
    All,
}

/// `impute`'s fill value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The mean of the finite present values (rounded half away from zero for integer columns).
    Mean,
    /// The median (linear interpolation between the middle values, numpy's default; rounded for integers).
    Median,
    /// The most frequent present value; ties go to the smallest.
    Mode,
    /// `value`.
    Constant,
}

/// `filter_outliers`' rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutlierMethod {
    /// Tukey's fences (quartiles by linear interpolation).
    #[default]
    Iqr,
    /// The modified z-score `0.6745 (x - median) / MAD`.
    Mad,
}

impl Strategy {
    /// The name used in pipeline files.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Mean => "mean",
            Strategy::Median => "median",
            Strategy::Mode => "mode",
            Strategy::Constant => "constant",
        }
    }
}

impl OutlierMethod {
    /// The name used in pipeline files.
    pub fn as_str(self) -> &'static str {
        match self {
            OutlierMethod::Iqr => "iqr",
            OutlierMethod::Mad => "mad",
        }
    }

    /// The multiplier used when `k` is not given: 1.5 (Tukey 1977) or 3.5 (Iglewicz & Hoaglin 1993).
    pub fn default_k(self) -> f64 {
        match self {
            OutlierMethod::Iqr => sluice_quality::outliers::IQR_K,
            OutlierMethod::Mad => sluice_quality::outliers::Z_CUTOFF,
        }
    }
}

impl Step {
    /// The step's kind, as written in `kind = "..."`.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Dedupe { .. } => "dedupe",
            Step::NearDedupe { .. } => "near_dedupe",
            Step::NormalizeDates { .. } => "normalize_dates",
            Step::Trim { .. } => "trim",
            Step::CaseFold { .. } => "case_fold",
            Step::CanonicalCategories { .. } => "canonical_categories",
            Step::RepairEncoding { .. } => "repair_encoding",
            Step::DropMissing { .. } => "drop_missing",
            Step::Impute { .. } => "impute",
            Step::FilterOutliers { .. } => "filter_outliers",
        }
    }

    /// Checks the settings that do not depend on the table (ranges, patterns, a constant's presence), so a
    /// pipeline file can be rejected before any data is read. [`apply`] calls it too.
    pub fn validate(&self) -> Result<()> {
        let step = self.kind();
        let invalid = |message: String| Err(Error::InvalidStep { step, message });
        match self {
            Step::NearDedupe { threshold, .. } if !(*threshold > 0.0 && *threshold <= 1.0) => {
                return invalid(format!(
                    "threshold = {threshold} is not a Jaccard similarity in (0, 1]; use e.g. threshold = 0.8"
                ));
            }
            Step::NormalizeDates {
                formats,
                as_date,
                on_error,
                ..
            } => {
                if *as_date && *on_error == Some(OnError::Keep) {
                    return invalid(
                        "as_date = true writes a Date32 column, which cannot keep unparseable text; remove on_error = \"keep\" (unparseable values become null) or set as_date = false"
                            .into(),
                    );
                }
                if let Some(formats) = formats {
                    dates::check_formats(formats).or_else(invalid)?;
                }
            }
            Step::Impute { strategy, value, .. } => match (strategy, value) {
                (Strategy::Constant, None) => {
                    return invalid(
                        "strategy = \"constant\" needs a value; add e.g. value = 0 or value = \"unknown\"".into(),
                    );
                }
                (Strategy::Constant, Some(v))
                    if !matches!(
                        v,
                        toml::Value::Integer(_)
                            | toml::Value::Float(_)
                            | toml::Value::String(_)
                            | toml::Value::Boolean(_)
                    ) =>
                {
                    return invalid(format!(
                        "value = {v} is a {}; use a number, a string or a boolean",
                        v.type_str()
                    ));
                }
                (s, Some(_)) if *s != Strategy::Constant => {
                    return invalid(format!(
                        "value is only used with strategy = \"constant\"; remove it or set strategy = \"constant\" (strategy is \"{}\")",
                        s.as_str()
                    ));
                }
                _ => {}
            },
            Step::FilterOutliers { k: Some(k), method, .. } if !(k.is_finite() && *k > 0.0) => {
                return invalid(format!(
                    "k = {k} must be a positive number; the usual value for method = \"{}\" is {}",
                    method.as_str(),
                    method.default_k()
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Applies `step` to the table `batches` (one schema) and reports what it did.
///
/// With no batches there is no table to check the columns against: the step validates its settings and
/// returns nothing, with a note. Pass an empty batch to keep the schema of an empty table.
pub fn apply(step: &Step, batches: Vec<RecordBatch>) -> Result<(Vec<RecordBatch>, StepReport)> {
    let started = std::time::Instant::now();
    step.validate()?;
    let kind = step.kind();
    let Some(frame) = Frame::new(kind, &batches)? else {
        let mut r = StepReport::new(kind, 0);
        r.notes.push("no batches: nothing to clean".into());
        return Ok((batches, r));
    };
    let mut report = StepReport::new(kind, frame.rows);
    let outcome = match step {
        Step::Dedupe { columns } => Outcome::Remove(dedupe::exact(&frame, columns.as_deref(), &mut report)?),
        Step::NearDedupe { column, threshold } => {
            Outcome::Remove(dedupe::near(&frame, column, *threshold, &mut report)?)
        }
        Step::NormalizeDates {
            columns,
            formats,
            as_date,
            on_error,
        } => {
            let on_error = on_error.unwrap_or(if *as_date { OnError::Null } else { OnError::Keep });
            dates::normalize(&frame, columns, formats.as_deref(), *as_date, on_error, &mut report)?
        }
        Step::Trim { columns } => Outcome::Edit(text::trim(&frame, columns, &mut report)?),
        Step::CaseFold { columns, mode } => Outcome::Edit(text::case_fold(&frame, columns, *mode, &mut report)?),
        Step::CanonicalCategories { columns } => {
            Outcome::Edit(text::canonical_categories(&frame, columns, &mut report)?)
        }
        Step::RepairEncoding { columns } => Outcome::Edit(text::repair_encoding(&frame, columns, &mut report)?),
        Step::DropMissing { columns, how } => {
            Outcome::Remove(missing::drop_missing(&frame, columns.as_deref(), *how, &mut report)?)
        }
        Step::Impute {
            column,
            strategy,
            value,
        } => Outcome::Table(missing::impute(&frame, column, *strategy, value.as_ref(), &mut report)?),
        Step::FilterOutliers { columns, method, k } => Outcome::Remove(outliers::filter(
            &frame,
            columns,
            *method,
            k.unwrap_or_else(|| method.default_k()),
            &mut report,
        )?),
    };
    drop(frame);
    let out = match outcome {
        Outcome::Table(t) => t,
        Outcome::Edit(e) => e.apply(batches)?,
        // The frame is gone, so the table's buffers are this function's alone and can be compacted where
        // they lie.
        Outcome::Remove(rows) => remove::remove_rows(batches, &rows)?,
    };
    let rows_out: u64 = out.iter().map(|b| b.num_rows() as u64).sum();
    if rows_out != report.rows_out {
        return Err(Error::Internal(format!(
            "{kind}: reported {} rows out but returned {rows_out}",
            report.rows_out
        )));
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok((out, report))
}

/// What a step made of the table: a new table, edits to its cells, or the rows to remove from it
/// (ascending, distinct). Edits and removals are applied once the step has let go of the table, so that
/// buffers the table alone holds can be changed where they lie.
pub(crate) enum Outcome {
    Table(Vec<RecordBatch>),
    Edit(edits::Edits),
    Remove(Vec<u64>),
}

/// Records per-column tallies of a cell rewrite in `report`: counts per column, totals, and examples taken
/// in turn from each column so every changed column shows up.
fn record_tallies(frame: &Frame<'_>, cols: &[usize], tallies: Vec<Tally>, report: &mut StepReport) {
    for (&c, t) in cols.iter().zip(&tallies) {
        report.values_changed += t.changed;
        report.values_invalid += t.invalid;
        report.per_column.insert(frame.name(c).to_owned(), t.changed);
    }
    let mut queues: Vec<std::vec::IntoIter<Example>> = tallies.into_iter().map(|t| t.examples.into_iter()).collect();
    while report.examples.len() < frame::EXAMPLES {
        let before = report.examples.len();
        for q in &mut queues {
            if report.examples.len() < frame::EXAMPLES
                && let Some(e) = q.next()
            {
                report.examples.push(e);
            }
        }
        if report.examples.len() == before {
            break;
        }
    }
}
