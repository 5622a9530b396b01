//! Mergeable column profiles.
//!
//! For every column: row count; missing values (null, NaN, empty and whitespace-only strings,
//! counted apart); for strings, how many values parse as integer, float, boolean, date or
//! timestamp; a distinct-count estimate (HLL); quantiles and a histogram (KLL); exact min, max,
//! mean and standard deviation; top-k frequent values; string lengths. The sketches are Apache
//! DataSketches (`datasketches` crate).
//!
//! A profile is a mergeable partial state ([`ColumnState`]), computed by the DataFusion aggregate
//! function `sluice_profile` ([`udaf`]) so it runs partitioned on all cores, serialised to bytes
//! between partitions and for storage ([`ProfileStates::encode`]). Merging per-partition states
//! gives the one-pass result: counts exactly, moments to floating-point rounding, sketches within
//! their stated error (tested in `tests/merge.rs`).
//!
//! ```no_run
//! # async fn f() -> sluice_profile::Result<()> {
//! let states = sluice_profile::profile_file(std::path::Path::new("data.parquet")).await?;
//! for c in states.summary().columns {
//!     println!("{}: {} missing of {}", c.name, c.missing, c.rows);
//! }
//! # Ok(()) }
//! ```

mod batch;
pub mod error;
pub mod html;
pub mod parse;
pub mod state;
mod strings;
pub mod summary;
pub mod table;
pub mod udaf;

pub use error::{Error, Result};
pub use state::{ColumnState, Moments, ParseCounts, ValueKind};
pub use summary::{Bin, ColumnProfile, Estimate, Lengths, Stats, TopValue};
pub use table::{
    NamedState, ProfileStates, TableProfile, profile_batches, profile_file, profile_parquet, profile_table, session,
};
pub use udaf::{ProfileUdaf, profile_udaf};
