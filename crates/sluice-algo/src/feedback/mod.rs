//! Off-policy evaluation, exploration policies, position bias and feedback-loop metrics.
//!
//! The algorithms behind Sluice's feedback-loop checks, in the order a loop runs:
//!
//! | step                         | module            | question it answers                                      |
//! |------------------------------|-------------------|----------------------------------------------------------|
//! | serve with exploration       | [`explore`]       | which action/ranking, and with what propensity?          |
//! | keep a holdout               | [`holdout`]       | is this unit held out? (stable across runs and machines) |
//! | fit a reward model           | [`reward_model`]  | q(x, a): per-action mean or L2 logistic regression       |
//! | evaluate a new policy        | [`ope`]           | IPS, clipped IPS, SNIPS, DM, DR, Switch-DR + diagnostics |
//! | put an interval on it        | [`bootstrap`]     | percentile bootstrap (Poisson or multinomial), seeded    |
//! | correct clicks for position  | [`position_bias`] | position-based model (EM, intervention harvesting)       |
//! | watch the loop itself        | [`loop_metrics`]  | exposure concentration, coverage, homogeneity            |
//! | flag a worsening loop        | [`trend`]         | Mann-Kendall test and Sen slope over batches             |
//!
//! Invariant shared by every module here: the functions are pure and deterministic. Randomness
//! comes only from a caller-supplied RNG or an explicit seed, and parallel code splits work into
//! fixed-size chunks whose random streams and merge order depend on the chunk index only, so a
//! result never depends on the number of threads.

pub mod bootstrap;
pub mod explore;
pub mod holdout;
pub mod loop_metrics;
pub mod ope;
pub mod position_bias;
pub mod reward_model;
pub mod trend;

#[cfg(test)]
mod fixtures;
mod normal;
pub(crate) mod par;
mod rng;
