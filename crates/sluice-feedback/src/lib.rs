//! Feedback loops: when a model's decisions choose the data it is retrained on.
//!
//! This crate is the I/O layer over `sluice_algo::feedback`: it reads and writes decision logs,
//! and runs the estimators on them.
//!
//! | module      | what                                                                              |
//! |-------------|-----------------------------------------------------------------------------------|
//! | [`schema`]  | the decision-log record: decision, unit, context, candidates, chosen actions with positions and propensities, distribution, policy, model, reason, explored |
//! | [`io`]      | streaming JSON Lines / Parquet readers and writers with file:line:column errors   |
//! | [`validate`]| every problem that breaks off-policy evaluation, one message per row              |
//! | [`dsjson`]  | import of Vowpal Wabbit DSJSON                                                    |
//! | [`serve`]   | exploration and holdouts for scripts: scores in, decisions with propensities out  |
//! | [`ope`]     | IPS, clipped IPS, SNIPS, DM, DR, Switch-DR of a target policy on a log            |
//! | [`position`]| position bias (EM, intervention harvesting), IPS-corrected CTR                    |
//! | [`loops`]   | loop metrics per batch and the rising-concentration alert                         |
//! | [`sim`]     | the feedback-loop simulator; [`report`] renders it as one HTML file               |
//!
//! Invariant: nothing here estimates from a record that failed validation; every error names the
//! file and the line (or Parquet row) it came from.

pub mod dsjson;
pub mod error;
pub mod io;
pub mod loops;
pub mod ope;
pub mod position;
pub mod report;
pub mod schema;
pub mod serve;
pub mod sim;
pub mod validate;

pub use error::{Error, Result};
