//! The drift report: one entry per column, the dataset verdict, and how each statistic was
//! computed.

use serde::{Deserialize, Serialize};
use sluice_algo::drift::{Correction, Method};

/// What a column is to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An input feature (counted in the dataset verdict).
    Feature,
    /// The label (label drift).
    Label,
    /// The model's prediction (prediction drift).
    Prediction,
}

/// How the values were compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Ordered numbers (dates and timestamps as epoch values).
    Numeric,
    /// Categories (strings, booleans).
    Categorical,
}

/// Which path computed a statistic, and how far from the exact value it can be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "path", rename_all = "snake_case")]
pub enum Computation {
    /// From the full samples.
    Exact,
    /// From exact category counts kept in the profiles (no sketch error).
    ExactCounts,
    /// From the profiles' sketches; the exact statistic lies in `[lower, upper]`.
    Sketch {
        /// Lower end of the interval.
        lower: f64,
        /// Upper end of the interval.
        upper: f64,
        /// `max(statistic - lower, upper - statistic)`.
        error_bound: f64,
        /// The sketch error the bound is derived from, in words.
        basis: String,
    },
}

/// Shares of the reference and current values over common bins or categories, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Bin or category labels.
    pub labels: Vec<String>,
    /// Reference shares.
    pub reference: Vec<f64>,
    /// Current shares.
    pub current: Vec<f64>,
}

/// One column's drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    /// Column name.
    pub column: String,
    /// Feature, label or prediction.
    pub role: Role,
    /// How it was compared.
    pub kind: Kind,
    /// The method.
    pub method: Method,
    /// Whether the method was chosen by the defaults (false: configured).
    pub method_by_default: bool,
    /// The threshold the verdict used.
    pub threshold: f64,
    /// The statistic (distance, or test statistic).
    pub statistic: f64,
    /// The p-value, for tests.
    pub p_value: Option<f64>,
    /// The p-value after the multiple-testing correction.
    pub p_adjusted: Option<f64>,
    /// The verdict.
    pub drifted: bool,
    /// Exact or sketch, with the error bound.
    pub computation: Computation,
    /// Non-missing values in the reference.
    pub reference_values: u64,
    /// Non-missing values in the current table.
    pub current_values: u64,
    /// Missing share (null, NaN) in the reference.
    pub reference_missing: f64,
    /// Missing share in the current table.
    pub current_missing: f64,
    /// Distinct values over both sides (estimated on the sketch path).
    pub distinct: u64,
    /// The two distributions on common bins.
    pub distribution: Distribution,
}

/// A column that could not be compared, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Column name.
    pub column: String,
    /// Why, and what to do.
    pub reason: String,
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// `NAME@vN:path` or the file.
    pub label: String,
    /// Rows.
    pub rows: u64,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// The reference.
    pub reference: Side,
    /// The current table.
    pub current: Side,
    /// The correction applied to the tests.
    pub correction: Correction,
    /// The dataset-verdict share.
    pub drift_share: f64,
    /// Feature columns compared.
    pub compared: usize,
    /// Feature columns that drifted.
    pub drifted: usize,
    /// `drifted / compared`.
    pub share: f64,
    /// `share >= drift_share`.
    pub dataset_drift: bool,
    /// Every compared column (features, then label and prediction), in table order.
    pub columns: Vec<ColumnDrift>,
    /// Columns left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// Columns only in the reference.
    pub only_in_reference: Vec<String>,
    /// Columns only in the current table.
    pub only_in_current: Vec<String>,
}

impl DriftReport {
    /// The label column's drift, when a label was named.
    pub fn label_drift(&self) -> Option<&ColumnDrift> {
        self.columns.iter().find(|c| c.role == Role::Label)
    }

    /// The prediction column's drift, when a prediction was named.
    pub fn prediction_drift(&self) -> Option<&ColumnDrift> {
        self.columns.iter().find(|c| c.role == Role::Prediction)
    }

    /// Whether anything drifted: the dataset, the label or the prediction.
    pub fn any_drift(&self) -> bool {
        self.dataset_drift || self.columns.iter().any(|c| c.role != Role::Feature && c.drifted)
    }
}
