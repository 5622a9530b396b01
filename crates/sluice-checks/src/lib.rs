//! Declarative data checks.
//!
//! A suite ([`Suite`], a TOML file) lists checks on schema, types, null rate, uniqueness, value
//! ranges, allowed values, regex formats, row count, freshness of a timestamp column, and custom
//! SQL. [`run`] evaluates them against a table registered in DataFusion as `t` and returns a
//! [`Report`]; a failed check of `error` severity fails the run, which is how a pipeline or CI job
//! is gated. [`suggest`] proposes a starting suite from a column profile.

pub mod coverage;
pub mod error;
pub mod run;
pub mod suggest;
pub mod suite;

pub use coverage::{CoverageOptions, CoverageReport, Expected, coverage};
pub use error::{Error, Result};
pub use run::{Outcome, Report, run, validate};
pub use suggest::suggest;
pub use suite::{Check, Rule, Severity, Suite, SuiteInfo};
