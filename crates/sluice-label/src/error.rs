//! The one error type of `sluice-label`. A user-facing variant names the file and line where it
//! knows them, and says what to do.

use std::path::PathBuf;

/// Errors raised by the annotation store and the labeling workflows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A line of an input file is wrong.
    #[error("{}:{line}{}: {message}", file.display(), column.map(|c| format!(":{c}")).unwrap_or_default())]
    Input {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column (field) where known.
        column: Option<u64>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Something named does not exist.
    #[error("{what} `{name}` not found{hint}")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its name.
        name: String,
        /// How to find the right one (starts with `; `), or empty.
        hint: String,
    },
    /// Arguments that cannot work together or a request that does not fit the project.
    #[error("{0}")]
    Usage(String),
    /// The metadata or object store failed.
    #[error(transparent)]
    Store(#[from] sluice_store::Error),
    /// A database query failed.
    #[error("label store: {0}")]
    Sql(#[from] sqlx::Error),
    /// An algorithm rejected its input.
    #[error(transparent)]
    Algo(#[from] sluice_algo::Error),
    /// Reading or writing Parquet/Arrow data failed.
    #[error("{context}: {message}")]
    Data {
        /// What was being read or written.
        context: String,
        /// The underlying error.
        message: String,
    },
    /// An invariant of the store was broken: a bug.
    #[error("internal error (a bug in sluice-label): {0}")]
    Internal(String),
}

impl Error {
    /// An error at `file:line[:column]`.
    pub fn input(file: &std::path::Path, line: u64, column: Option<u64>, message: impl Into<String>) -> Error {
        Error::Input {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A Parquet/Arrow error while doing `context`.
    pub fn data(context: impl Into<String>, e: impl std::fmt::Display) -> Error {
        Error::Data {
            context: context.into(),
            message: e.to_string(),
        }
    }
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
