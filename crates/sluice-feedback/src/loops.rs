//! Loop metrics of a decision log (one batch) and the alert on their history.
//!
//! A batch's impressions are its chosen actions; the user of an impression is the decision's
//! `unit_id` (or, when absent, the decision itself, which makes homogeneity meaningless and is
//! reported); the catalogue is every action named as a candidate or chosen, unless given. The
//! metrics are those of `sluice_algo::feedback::loop_metrics`: exposure Gini, catalogue coverage,
//! top-1% share, mean pairwise Jaccard of users' exposure sets, exploration share.
//!
//! History: each batch's metrics are stored as points of a series (see
//! `sluice_store::metrics`); [`concentration_alert`] runs the Mann-Kendall test on the Gini and
//! top-1% share of the series and raises an alert when either keeps rising (one-sided, level
//! alpha): the rich-get-richer signature of a feedback loop.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sluice_algo::feedback::loop_metrics::{BatchMetrics, ExposureBatch, HomogeneityMethod, batch_metrics};
use sluice_algo::feedback::trend::{TrendTest, mann_kendall};

use crate::error::{Error, Result};
use crate::io::read_decisions_strict;
use crate::ope::Interner;

/// Loop metrics of one log.
#[derive(Debug, Clone, Serialize)]
pub struct LoopReport {
    /// The log.
    pub file: String,
    /// Decisions read.
    pub decisions: u64,
    /// Distinct users (unit ids).
    pub users: usize,
    /// Catalogue size used.
    pub catalogue: usize,
    /// Whether unit ids were missing (each decision then counts as its own user).
    pub missing_unit_ids: bool,
    /// The metrics.
    pub metrics: BatchMetrics,
}

impl LoopReport {
    /// The metrics as `(name, value)` points for the history.
    pub fn points(&self) -> Vec<(&'static str, f64)> {
        let m = &self.metrics;
        let mut v = vec![
            ("gini", m.gini),
            ("coverage", m.coverage),
            ("top1pct_share", m.top1pct_share),
            ("homogeneity", m.homogeneity.mean_jaccard),
            ("impressions", m.impressions as f64),
        ];
        if let Some(e) = m.exploration_share {
            v.push(("exploration_share", e));
        }
        v
    }
}

/// Computes the loop metrics of a log; `catalogue` lists every item id when known.
pub fn loop_metrics(path: &Path, catalogue: Option<&[String]>) -> Result<LoopReport> {
    let mut items = Interner::default();
    if let Some(c) = catalogue {
        for id in c {
            items.id(id);
        }
    }
    let fixed = catalogue.map(<[String]>::len);
    let mut users = Interner::default();
    let (mut user, mut item, mut explored) = (Vec::new(), Vec::new(), Vec::new());
    let mut decisions = 0;
    let mut missing_unit = false;
    read_decisions_strict(path, |loc, d| {
        decisions += 1;
        if fixed.is_none() {
            for c in &d.candidates {
                items.id(c);
            }
        }
        let u = match &d.unit_id {
            Some(u) => users.id(u),
            None => {
                missing_unit = true;
                users.id(&format!("\u{0}decision:{}", d.decision_id))
            }
        };
        for c in &d.chosen {
            let i = match fixed {
                Some(n) => items.get(&c.action).filter(|&i| (i as usize) < n).ok_or_else(|| {
                    Error::Invalid(format!(
                        "{loc}: item {:?} is not in the catalogue file; list every item there",
                        c.action
                    ))
                })?,
                None => items.id(&c.action),
            };
            user.push(u);
            item.push(i);
            explored.push(d.explored);
        }
        Ok(())
    })?;
    let batch = ExposureBatch {
        user: &user,
        item: &item,
        explored: Some(&explored),
    };
    let metrics = batch_metrics(&batch, items.names.len(), HomogeneityMethod::Auto)?;
    Ok(LoopReport {
        file: path.display().to_string(),
        decisions,
        users: users.names.len(),
        catalogue: items.names.len(),
        missing_unit_ids: missing_unit,
        metrics,
    })
}

/// The trend of one metric over a series' batches.
#[derive(Debug, Clone, Serialize)]
pub struct MetricTrend {
    /// Metric name.
    pub metric: String,
    /// Values in batch order.
    pub values: Vec<f64>,
    /// Mann-Kendall test, when there are at least 3 batches.
    pub test: Option<TrendTest>,
}

/// Alert on a series' history.
#[derive(Debug, Clone, Serialize)]
pub struct ConcentrationAlert {
    /// Trends of the concentration metrics.
    pub trends: Vec<MetricTrend>,
    /// Level of the one-sided test.
    pub alpha: f64,
    /// Whether a concentration metric keeps rising.
    pub alert: bool,
    /// Human-readable explanation.
    pub message: String,
}

/// Concentration metrics whose steady rise raises the alert.
pub const CONCENTRATION_METRICS: [&str; 2] = ["gini", "top1pct_share"];

/// Runs the Mann-Kendall test on the concentration metrics of `history` (metric -> values in
/// batch order).
pub fn concentration_alert(history: &BTreeMap<String, Vec<f64>>, alpha: f64) -> Result<ConcentrationAlert> {
    let mut trends = Vec::new();
    let mut rising = Vec::new();
    let mut short = false;
    for m in CONCENTRATION_METRICS {
        let values = history.get(m).cloned().unwrap_or_default();
        let test = if values.len() >= 3 {
            Some(mann_kendall(&values, alpha)?)
        } else {
            short = true;
            None
        };
        if let Some(t) = &test
            && t.rising
        {
            rising.push(format!(
                "{m} rises by {:.4} per batch over {} batches (Mann-Kendall p = {:.3})",
                t.slope, t.n, t.p_increasing
            ));
        }
        trends.push(MetricTrend {
            metric: m.into(),
            values,
            test,
        });
    }
    let alert = !rising.is_empty();
    let message = if alert {
        format!(
            "exposure concentration keeps rising: {}; a feedback loop is narrowing what users see (add exploration or a holdout)",
            rising.join("; ")
        )
    } else if short {
        "fewer than 3 batches recorded: no trend test yet".into()
    } else {
        "no rising concentration trend".into()
    };
    Ok(ConcentrationAlert {
        trends,
        alpha,
        alert,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_on_a_rising_gini_only() {
        let mut h = BTreeMap::new();
        h.insert("gini".to_owned(), vec![0.30, 0.35, 0.41, 0.44, 0.52, 0.57]);
        h.insert("top1pct_share".to_owned(), vec![0.1, 0.09, 0.11, 0.1, 0.1, 0.09]);
        let a = concentration_alert(&h, 0.05).unwrap();
        assert!(a.alert, "{a:?}");
        assert!(a.message.contains("gini rises"), "{}", a.message);
        assert!(!a.trends[1].test.as_ref().unwrap().rising);
        h.insert("gini".to_owned(), vec![0.5, 0.4, 0.45, 0.42, 0.41, 0.44]);
        assert!(!concentration_alert(&h, 0.05).unwrap().alert);
        h.insert("gini".to_owned(), vec![0.1, 0.2]);
        let a = concentration_alert(&h, 0.05).unwrap();
        assert!(!a.alert && a.trends[0].test.is_none());
    }
}
