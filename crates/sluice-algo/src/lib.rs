//! Pure algorithms behind Sluice: statistical two-sample tests and divergences, streaming
//! concept-drift detectors, inter-annotator agreement, label aggregation and label-error
//! detection, active-learning scores, off-policy estimators and loop metrics, model performance
//! on windows with confidence intervals, metric-history anomalies and retraining policies.
//!
//! Invariant: this crate does no I/O and no async. Every function takes plain slices or small
//! structs and returns numbers, so it compiles fast and is tested against published values and
//! independent reference implementations (scipy, river, crowd-kit, obp) stored as fixtures.

pub mod detect;
pub mod drift;
pub mod error;
pub mod feedback;
pub mod label;
pub mod monitor;
pub mod perf;

pub use error::{Error, Result};
