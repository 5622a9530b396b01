//! The error type of `sluice-clean`.
//!
//! Every user-facing variant names the step (`trim`, `impute`, ...) so a pipeline runner can point at the
//! stage that failed, and says how to fix the configuration.

/// Errors raised while checking or applying a cleaning step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A step names a column the table does not have.
    #[error(
        "{step}: the table has no column `{column}`; its columns are: {available}. Fix: name one of these columns in the step's `{field}`"
    )]
    UnknownColumn {
        /// The step's kind.
        step: &'static str,
        /// The step's field that named the column (`columns`, `column`).
        field: &'static str,
        /// The column asked for.
        column: String,
        /// The table's columns, comma-separated.
        available: String,
    },
    /// A column has a type the step cannot work on.
    #[error("{step}: column `{column}` is {found}, but the step needs {expected}. Fix: {fix}")]
    WrongType {
        /// The step's kind.
        step: &'static str,
        /// The column.
        column: String,
        /// Its Arrow type.
        found: String,
        /// What the step needs ("a string column").
        expected: &'static str,
        /// What to do instead.
        fix: String,
    },
    /// A step's settings are invalid (out of range, missing, contradictory).
    #[error("{step}: {message}")]
    InvalidStep {
        /// The step's kind.
        step: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The batches handed to a step do not share one schema.
    #[error(
        "{step}: batch {batch} has a different schema from batch 0 ({found} against {expected}); a step works on one table: cast the batches to one schema before cleaning"
    )]
    SchemaMismatch {
        /// The step's kind.
        step: &'static str,
        /// The first batch that differs.
        batch: usize,
        /// Its fields.
        found: String,
        /// Batch 0's fields.
        expected: String,
    },
    /// A reused quality check failed (near-duplicate settings, row hashing).
    #[error(transparent)]
    Quality(#[from] sluice_quality::Error),
    /// Arrow failed (a cast, a filter, building a batch).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// An internal invariant failed: a bug.
    #[error("internal error (this is a bug in sluice, please report it): {0}")]
    Internal(String),
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
