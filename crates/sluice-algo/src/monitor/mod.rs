//! Monitoring decisions over a sequence of batches: anomalies in a metric's history, and when
//! to retrain.
//!
//! | module      | input                                   | output                                        |
//! |-------------|-----------------------------------------|-----------------------------------------------|
//! | [`anomaly`] | one metric value per batch              | which batches break the baseline or spike rule, with the expected band |
//! | [`policy`]  | per batch: drift / performance / quality alerts | retrain or not, why, and on which batches (and which ensemble models to keep) |
//!
//! Both are pure: the caller reads metric histories and alerts from the workspace (the
//! `metric_points` table, drift and quality reports, [`crate::perf`]'s drop check) and stores the
//! serialised [`policy::PolicyState`] between runs. Every result type is `Serialize`.

pub mod anomaly;
pub mod policy;

pub use anomaly::{
    Anomaly, AnomalyConfig, AnomalyReport, AnomalyRule, BaselinePoints, BaselineSummary, SpikeRule, detect_anomalies,
};
pub use policy::{
    BatchOutcome, EnsembleChange, EnsembleMember, PendingAlert, PolicyState, RetrainDecision, RetrainPolicy, Signal,
    TrainOn, decide,
};
