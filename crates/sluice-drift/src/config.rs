//! What to compare and how: methods, thresholds, the multiple-testing correction, the dataset
//! verdict, the exact-path budget and per-column overrides, from flags or a TOML file.
//!
//! ```toml
//! correction = "bonferroni"   # none | bonferroni | bh
//! alpha = 0.05                # family level for the correction
//! drift_share = 0.5           # dataset drift when this share of columns drifted
//! exact_budget = 5000000      # rows per side up to which full samples are compared
//! method = "psi"              # one method for every column (default: by type and size)
//! ignore = ["id", "created_at"]
//! label = "is_fraud"          # reported as label drift, not a feature
//! prediction = "score"        # reported as prediction drift
//!
//! [columns.amount]
//! method = "ks"
//! threshold = 0.01
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sluice_algo::drift::{Correction, Method};

use crate::{Error, Result};

/// Rows per side up to which the exact path is used by default.
pub const DEFAULT_EXACT_BUDGET: u64 = 5_000_000;

/// Per-column settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    /// The method for this column.
    #[serde(default, deserialize_with = "method_opt")]
    pub method: Option<Method>,
    /// The threshold for this column (p-value level or distance).
    pub threshold: Option<f64>,
    /// Leave the column out.
    #[serde(default)]
    pub ignore: bool,
}

/// How to compare two tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftConfig {
    /// Correction of the p-value tests over the columns.
    #[serde(default, deserialize_with = "correction")]
    pub correction: Correction,
    /// Family significance level the correction controls (p-value methods without a column
    /// threshold use it).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Dataset drift when at least this share of the compared columns drifted.
    #[serde(default = "default_share")]
    pub drift_share: f64,
    /// Rows per side up to which the full samples are compared; above it, the profiles.
    #[serde(default = "default_budget")]
    pub exact_budget: u64,
    /// Compare from the profiles even when the samples fit the budget.
    #[serde(default)]
    pub sketch_only: bool,
    /// One method for every column (default: chosen per column by type and reference size).
    #[serde(default, deserialize_with = "method_opt")]
    pub method: Option<Method>,
    /// One threshold for every column (default: the method's).
    pub threshold: Option<f64>,
    /// Columns to leave out.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Compare only these columns (empty: every shared column).
    #[serde(default)]
    pub only: Vec<String>,
    /// The label column: its drift is label drift, not counted among the features.
    pub label: Option<String>,
    /// The prediction column: its drift is prediction drift.
    pub prediction: Option<String>,
    /// Per-column overrides.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnConfig>,
}

fn default_alpha() -> f64 {
    0.05
}

fn default_share() -> f64 {
    0.5
}

fn default_budget() -> u64 {
    DEFAULT_EXACT_BUDGET
}

fn method_opt<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Method>, D::Error> {
    let s = String::deserialize(d)?;
    Method::from_str(&s).map(Some).map_err(serde::de::Error::custom)
}

fn correction<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Correction, D::Error> {
    let s = String::deserialize(d)?;
    Correction::from_str(&s).map_err(serde::de::Error::custom)
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            correction: Correction::default(),
            alpha: default_alpha(),
            drift_share: default_share(),
            exact_budget: DEFAULT_EXACT_BUDGET,
            sketch_only: false,
            method: None,
            threshold: None,
            ignore: Vec::new(),
            only: Vec::new(),
            label: None,
            prediction: None,
            columns: BTreeMap::new(),
        }
    }
}

impl DriftConfig {
    /// Reads a TOML file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<DriftConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `name` stands for the file in errors.
    pub fn parse(text: &str, name: &str) -> Result<DriftConfig> {
        let cfg: DriftConfig = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let (line, col) = line_col(text, s.start);
                    format!(":{line}:{col}")
                })
                .unwrap_or_default();
            Error::Config(format!("{name}{at}: {}", e.message()))
        })?;
        cfg.validate().map_err(|e| Error::Config(format!("{name}: {e}")))?;
        Ok(cfg)
    }

    /// Checks ranges (the CLI calls it after applying flags too).
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::Config(format!(
                "alpha = {}: use a level in (0, 1), e.g. 0.05",
                self.alpha
            )));
        }
        if !(self.drift_share > 0.0 && self.drift_share <= 1.0) {
            return Err(Error::Config(format!(
                "drift_share = {}: use a share in (0, 1], e.g. 0.5",
                self.drift_share
            )));
        }
        let thresholds = std::iter::once((None, self.method, self.threshold)).chain(
            self.columns
                .iter()
                .map(|(c, o)| (Some(c.as_str()), o.method, o.threshold)),
        );
        for (column, method, threshold) in thresholds {
            let Some(t) = threshold else { continue };
            let at = column.map(|c| format!("[columns.{c}] ")).unwrap_or_default();
            let p_value = method.map(Method::uses_p_value);
            let ok = match p_value {
                Some(true) => t > 0.0 && t < 1.0,
                _ => t.is_finite() && t >= 0.0,
            };
            if !ok {
                return Err(Error::Config(format!(
                    "{at}threshold = {t}: use a p-value level in (0, 1) for tests or a distance >= 0"
                )));
            }
        }
        Ok(())
    }

    /// The method and threshold overrides for `column`.
    pub fn column(&self, column: &str) -> (Option<Method>, Option<f64>) {
        let o = self.columns.get(column);
        (
            o.and_then(|o| o.method).or(self.method),
            o.and_then(|o| o.threshold).or(self.threshold),
        )
    }

    /// Whether `column` is compared at all.
    pub fn includes(&self, column: &str) -> bool {
        if self.ignore.iter().any(|c| c == column) || self.columns.get(column).is_some_and(|o| o.ignore) {
            return false;
        }
        self.only.is_empty()
            || self.only.iter().any(|c| c == column)
            || self.label.as_deref() == Some(column)
            || self.prediction.as_deref() == Some(column)
    }
}

/// 1-based line and column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_overrides_and_defaults() {
        let cfg = DriftConfig::parse(
            "correction = \"bh\"\nignore = [\"id\"]\nlabel = \"y\"\n[columns.amount]\nmethod = \"ks\"\nthreshold = 0.01\n",
            "drift.toml",
        )
        .unwrap();
        assert_eq!(cfg.correction, Correction::BenjaminiHochberg);
        assert_eq!(cfg.drift_share, 0.5);
        assert_eq!(cfg.exact_budget, DEFAULT_EXACT_BUDGET);
        assert_eq!(cfg.column("amount"), (Some(Method::Ks), Some(0.01)));
        assert_eq!(cfg.column("other"), (None, None));
        assert!(!cfg.includes("id"));
        assert!(cfg.includes("y"));
    }

    #[test]
    fn unknown_keys_and_bad_values_point_at_the_line() {
        let e = DriftConfig::parse("alpha = 0.05\n[columns.a]\nmethdo = \"ks\"\n", "d.toml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("d.toml:3:1"), "{msg}");
        assert!(msg.contains("methdo"), "{msg}");
        let e = DriftConfig::parse("[columns.a]\nmethod = \"kss\"\n", "d.toml").unwrap_err();
        assert!(e.to_string().contains("d.toml:2:"), "{e}");
        assert!(e.to_string().contains("wasserstein"), "{e}");
        let e = DriftConfig::parse("drift_share = 1.5\n", "d.toml").unwrap_err();
        assert!(e.to_string().contains("drift_share"), "{e}");
        let e = DriftConfig::parse("[columns.a]\nmethod = \"ks\"\nthreshold = 2.0\n", "d.toml").unwrap_err();
        assert!(e.to_string().contains("[columns.a]"), "{e}");
    }
}
