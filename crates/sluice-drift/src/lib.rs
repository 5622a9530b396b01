//! Drift between a reference table and a current one, column by column.
//!
//! ```text
//! Sample (rows in memory and/or profile) x 2
//!   -> columns in both, minus ignored; kind by type (numeric, temporal -> numeric; text, bool -> categorical)
//!   -> per column, in parallel:
//!        both sides' rows in memory (<= exact budget)   -> exact path   (sluice-algo drift, to 1e-9 of scipy)
//!        otherwise, both profiles                       -> sketch path  (KLL / frequent items, with a bound)
//!   -> Bonferroni / Benjamini-Hochberg over the tests of the feature columns
//!   -> dataset drift when drifted features / compared features >= drift_share
//! ```
//!
//! The method per column follows the defaults users know (REFERENCES.md): up to 1000 reference
//! values KS for numeric columns, chi-square for categories, the z-test for two categories; above,
//! normalised Wasserstein and Jensen-Shannon distance. Any of the eleven methods can be set for
//! all columns or per column ([`DriftConfig`]).

pub mod config;
mod exact;
pub mod html;
pub mod report;
pub mod sample;
mod sketched;
mod sort;

use arrow::datatypes::DataType;
use rayon::prelude::*;
use sluice_algo::drift::Correction;
use sluice_profile::ValueKind;

pub use config::{ColumnConfig, DEFAULT_EXACT_BUDGET, DriftConfig};
pub use report::{ColumnDrift, Computation, Distribution, DriftReport, Kind, Role, Side, Skipped};
pub use sample::Sample;
pub use sort::sort_f64;

use exact::Plan;

/// Errors of a drift comparison.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A table could not be read (the message names the file, and line and column where known).
    #[error("{0}")]
    Read(String),
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// An input is unusable.
    #[error("{what}: {detail}")]
    Input {
        /// Which input.
        what: String,
        /// Why.
        detail: String,
    },
    /// A column has no values on one side.
    #[error("column {column}: no values in the {side} (all missing)")]
    NoValues {
        /// The column.
        column: String,
        /// `reference` or `current table`.
        side: &'static str,
    },
    /// The method cannot run on this column.
    #[error("column {column}: {detail}")]
    Method {
        /// The column.
        column: String,
        /// Why, and what to use instead.
        detail: String,
    },
    /// A statistic failed.
    #[error(transparent)]
    Algo(#[from] sluice_algo::Error),
    /// Arrow failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// Profiling failed.
    #[error("profiling: {0}")]
    Profile(String),
    /// A bug.
    #[error("internal error (a bug in sluice, please report it): {0}")]
    Internal(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// How a column is compared, from its Arrow type; `None` for types drift cannot compare.
pub fn kind_of(data_type: &DataType) -> Option<Kind> {
    match ValueKind::of(data_type) {
        ValueKind::Numeric | ValueKind::Temporal => Some(Kind::Numeric),
        ValueKind::String | ValueKind::Boolean => Some(Kind::Categorical),
        ValueKind::Other => None,
    }
}

fn kind_of_state(s: &sluice_profile::ColumnState) -> Option<Kind> {
    match s.kind {
        ValueKind::Numeric | ValueKind::Temporal => Some(Kind::Numeric),
        ValueKind::String | ValueKind::Boolean => Some(Kind::Categorical),
        ValueKind::Other => None,
    }
}

/// Whether the comparison will read rows (true) or profiles (false).
pub fn uses_exact_path(reference: &Sample, current: &Sample, cfg: &DriftConfig) -> bool {
    !cfg.sketch_only
        && reference.has_rows()
        && current.has_rows()
        && reference.rows <= cfg.exact_budget
        && current.rows <= cfg.exact_budget
}

/// Compares `current` with `reference` column by column.
///
/// When both samples hold their rows and fit `cfg.exact_budget`, every statistic is exact;
/// otherwise both profiles are used (computed from the rows when a side has none).
pub fn compare(reference: &mut Sample, current: &mut Sample, cfg: &DriftConfig) -> Result<DriftReport> {
    cfg.validate()?;
    let exact = uses_exact_path(reference, current, cfg);
    if !exact {
        reference.ensure_profile()?;
        current.ensure_profile()?;
    }
    let mut skipped = Vec::new();
    let mut plans: Vec<(String, Kind, Role)> = Vec::new();
    for (name, rt) in &reference.columns {
        let Some((_, ct)) = current.columns.iter().find(|(n, _)| n == name) else {
            continue;
        };
        if !cfg.includes(name) {
            continue;
        }
        let (rk, ck) = if exact {
            (kind_of(rt), kind_of(ct))
        } else {
            let state = |s: &Sample| s.profile.as_ref().and_then(|p| p.column(name)).and_then(kind_of_state);
            (state(reference), state(current))
        };
        let role = if cfg.label.as_deref() == Some(name.as_str()) {
            Role::Label
        } else if cfg.prediction.as_deref() == Some(name.as_str()) {
            Role::Prediction
        } else {
            Role::Feature
        };
        match (rk, ck) {
            (Some(a), Some(b)) if a == b => plans.push((name.clone(), a, role)),
            (Some(_), Some(_)) => skipped.push(Skipped {
                column: name.clone(),
                reason: format!(
                    "type changed from {rt} to {ct}; compare after casting, or see `sluice diff` for schema changes"
                ),
            }),
            _ => skipped.push(Skipped {
                column: name.clone(),
                reason: format!("type {rt} has no distribution to compare (nested or binary values)"),
            }),
        }
    }
    for wanted in cfg.label.iter().chain(cfg.prediction.iter()).chain(cfg.only.iter()) {
        let in_both = plans.iter().any(|p| &p.0 == wanted) || skipped.iter().any(|s| &s.column == wanted);
        if !in_both {
            return Err(Error::Config(format!(
                "column {wanted} is not in both tables ({} has {}; {} has {})",
                reference.label,
                names(reference),
                current.label,
                names(current)
            )));
        }
    }
    let results: Vec<(String, Result<ColumnDrift>)> = plans
        .par_iter()
        .map(|(name, kind, role)| {
            let (method, threshold) = cfg.column(name);
            let plan = Plan {
                column: name,
                role: *role,
                kind: *kind,
                method,
                threshold,
                alpha: cfg.alpha,
            };
            let r = if exact {
                exact::compare(
                    &plan,
                    reference.batches.as_deref().unwrap_or_default(),
                    current.batches.as_deref().unwrap_or_default(),
                )
            } else {
                fn get<'a>(s: &'a Sample, name: &str) -> Result<&'a sluice_profile::ColumnState> {
                    s.profile
                        .as_ref()
                        .and_then(|p| p.column(name))
                        .ok_or_else(|| Error::Internal(format!("profile without column {name}")))
                }
                get(reference, name).and_then(|r| get(current, name).and_then(|c| sketched::compare(&plan, r, c)))
            };
            (name.clone(), r)
        })
        .collect();
    let mut columns = Vec::new();
    for (name, r) in results {
        match r {
            Ok(c) => columns.push(c),
            Err(e @ (Error::NoValues { .. } | Error::Method { .. } | Error::Algo(_))) => skipped.push(Skipped {
                column: name,
                reason: e.to_string(),
            }),
            Err(e) => return Err(e),
        }
    }
    correct(&mut columns, cfg)?;
    let features: Vec<&ColumnDrift> = columns.iter().filter(|c| c.role == Role::Feature).collect();
    let compared = features.len();
    let drifted = features.iter().filter(|c| c.drifted).count();
    let share = if compared == 0 {
        0.0
    } else {
        drifted as f64 / compared as f64
    };
    let only = |a: &Sample, b: &Sample| -> Vec<String> {
        a.columns
            .iter()
            .filter(|(n, _)| !b.columns.iter().any(|(m, _)| m == n))
            .map(|(n, _)| n.clone())
            .collect()
    };
    Ok(DriftReport {
        reference: Side {
            label: reference.label.clone(),
            rows: reference.rows,
        },
        current: Side {
            label: current.label.clone(),
            rows: current.rows,
        },
        correction: cfg.correction,
        drift_share: cfg.drift_share,
        compared,
        drifted,
        share,
        dataset_drift: compared > 0 && share >= cfg.drift_share,
        only_in_reference: only(reference, current),
        only_in_current: only(current, reference),
        columns,
        skipped,
    })
}

fn names(s: &Sample) -> String {
    s.columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
}

/// Applies the multiple-testing correction to the p-values of the feature columns' tests: each
/// adjusted p-value is compared with the column's threshold.
fn correct(columns: &mut [ColumnDrift], cfg: &DriftConfig) -> Result<()> {
    let idx: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.role == Role::Feature && c.p_value.is_some())
        .map(|(i, _)| i)
        .collect();
    if idx.is_empty() {
        return Ok(());
    }
    let p: Vec<f64> = idx.iter().map(|&i| columns[i].p_value.expect("filtered")).collect();
    let adjusted = cfg.correction.apply(&p, cfg.alpha)?;
    for (k, &i) in idx.iter().enumerate() {
        let c = &mut columns[i];
        c.p_adjusted = Some(adjusted.p_adjusted[k]);
        if cfg.correction != Correction::None {
            c.drifted = adjusted.p_adjusted[k] < c.threshold;
        }
    }
    Ok(())
}
