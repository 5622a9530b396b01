//! Errors of the checks crate.

use std::path::PathBuf;

/// A checks error: the suite could not be read or a check could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The suite file is not valid.
    #[error("{file}:{line}:{column}: {message}")]
    Suite {
        /// The suite file.
        file: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A check names a column the table does not have.
    #[error("check `{check}` names column `{column}`, which the table does not have (columns: {available})")]
    NoSuchColumn {
        /// The check.
        check: String,
        /// The missing column.
        column: String,
        /// The table's columns.
        available: String,
    },
    /// A check that cannot run as written.
    #[error("check `{check}`: {message}")]
    Invalid {
        /// The check.
        check: String,
        /// What is wrong.
        message: String,
    },
    /// DataFusion failed to run a check's query.
    #[error("check `{check}` failed to run: {source}")]
    Query {
        /// The check.
        check: String,
        /// The query error.
        source: datafusion::error::DataFusionError,
    },
    /// Arrow could not convert a query result.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// Reading the suite file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A checks result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
