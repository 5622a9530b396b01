//! The error type of `sluice-quality`.

/// Errors raised while reading a table or running the quality checks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read as a table.
    #[error(transparent)]
    Ingest(#[from] sluice_ingest::Error),
    /// Arrow failed (a cast or a row conversion).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// An option names a column the table does not have.
    #[error("{option}: the table {table} has no column `{column}`; its columns are: {available}")]
    UnknownColumn {
        /// The option that named it (`--key`, `--text-columns`).
        option: &'static str,
        /// The column asked for.
        column: String,
        /// The table's name.
        table: String,
        /// The table's columns, comma-separated.
        available: String,
    },
    /// An option value outside its range.
    #[error("{option} = {value}: {expected}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A column cannot be used the way an option asks (a number column as text, ...).
    #[error("{0}")]
    Usage(String),
    /// An internal invariant failed: a bug.
    #[error("internal error (this is a bug in sluice, please report it): {0}")]
    Internal(String),
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
