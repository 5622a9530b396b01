//! The error type of `sluice-feedback`. Messages name the file, the line (JSON Lines) or row
//! (Parquet) and the fix.

use std::path::PathBuf;

/// Errors raised by the feedback-loop tools.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A file is not what it should be (bad JSON, wrong Parquet schema, ...).
    #[error("{at}: {message}")]
    Format { at: String, message: String },
    /// The input is well formed but cannot be used as asked (names the row and the fix).
    #[error("{0}")]
    Invalid(String),
    /// An algorithm rejected its input.
    #[error(transparent)]
    Algo(#[from] sluice_algo::Error),
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
