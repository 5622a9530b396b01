//! Errors of the profiling crate.

/// A profiling error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arrow could not convert a column.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// DataFusion failed to run the profiling query.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// A Parquet file that cannot be read.
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: String,
        /// What the reader said.
        source: parquet::errors::ParquetError,
    },
    /// A file that cannot be opened.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// Two states that cannot be merged.
    #[error("cannot merge profiles of {0}")]
    Merge(String),
    /// Stored profile bytes that do not decode.
    #[error("corrupt profile: {0}")]
    Decode(String),
    /// A file that cannot be read as a table.
    #[error(transparent)]
    Ingest(#[from] sluice_ingest::Error),
}

/// A profiling result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
