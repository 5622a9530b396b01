//! Position bias of a click log: how likely each position is to be examined, clicks corrected
//! for it, and how much of the clicks position (rather than relevance) explains.
//!
//! Each chosen action of a decision is an impression of that action at its `position`; a click is
//! a reward > 0 (inline or from the outcomes file). The estimators are those of
//! `sluice_algo::feedback::position_bias`: EM on the position-based model (Wang et al. 2018) and,
//! when the same item was shown at different positions (randomised swaps or several rankers),
//! intervention harvesting with the AllPairs estimator (Agarwal et al. 2019). The "pair" of the
//! model is the action (a recommender has no query); the IPS-corrected CTR uses the EM estimate.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;
use sluice_algo::feedback::position_bias::{
    AllPairsConfig, ClickLog, ClickTable, ClickVariation, EmConfig, PairCtr, click_variation, fit_all_pairs,
    fit_pbm_em, harvest_interventions, ips_ctr,
};

use crate::error::Result;
use crate::io::{read_decisions_strict, read_outcomes};
use crate::ope::Interner;

/// One item's click-through rates.
#[derive(Debug, Clone, Serialize)]
pub struct ItemCtr {
    /// Action id.
    pub action: String,
    /// Raw and corrected CTR.
    #[serde(flatten)]
    pub ctr: PairCtr,
}

/// Result of the position-bias analysis.
#[derive(Debug, Clone, Serialize)]
pub struct PositionReport {
    /// The log.
    pub file: String,
    /// Impressions read.
    pub impressions: u64,
    /// Clicks (reward > 0).
    pub clicks: u64,
    /// Impressions and clicks per position.
    pub per_position: Vec<(u64, u64)>,
    /// Relative examination probability per position by EM (1 at the top).
    pub em_theta: Vec<f64>,
    /// EM iterations.
    pub em_iterations: usize,
    /// Relative examination probability by intervention harvesting, when the log has swaps.
    pub harvested_theta: Option<Vec<f64>>,
    /// Position pairs with harvested interventions.
    pub interventions: usize,
    /// Shapley split of the click log-likelihood between position and relevance.
    pub variation: ClickVariation,
    /// Items by impressions, with raw and position-corrected CTR (at most `top` of them).
    pub items: Vec<ItemCtr>,
}

/// Fits the position-bias models on a log; keeps the `top` most shown items' CTRs.
pub fn position_bias(path: &Path, outcomes: Option<&Path>, top: usize) -> Result<PositionReport> {
    let mut out_map: HashMap<(String, Option<String>), f64> = HashMap::new();
    if let Some(o) = outcomes {
        read_outcomes(o, |_, o| {
            *out_map.entry((o.decision_id, o.action)).or_default() += o.reward;
            Ok(())
        })?;
    }
    let mut actions = Interner::default();
    let (mut pair, mut position, mut click) = (Vec::new(), Vec::new(), Vec::new());
    read_decisions_strict(path, |_, d| {
        let single = d.chosen.len() == 1;
        for c in &d.chosen {
            let r = c
                .reward
                .or_else(|| out_map.get(&(d.decision_id.clone(), Some(c.action.clone()))).copied())
                .or_else(|| {
                    single
                        .then(|| out_map.get(&(d.decision_id.clone(), None)).copied())
                        .flatten()
                })
                .unwrap_or(0.0);
            pair.push(actions.id(&c.action));
            position.push(c.position);
            click.push(r > 0.0);
        }
        Ok(())
    })?;
    let table = ClickTable::from_log(&ClickLog {
        pair: &pair,
        position: &position,
        click: &click,
    })?;
    let fit = fit_pbm_em(&table, &EmConfig::default())?;
    let interventions = harvest_interventions(&table);
    let harvested_theta = if interventions.is_empty() {
        None
    } else {
        fit_all_pairs(&table, &AllPairsConfig::default()).ok().map(|f| f.theta)
    };
    let variation = click_variation(&table, &fit)?;
    let mut items: Vec<ItemCtr> = ips_ctr(&table, &fit.relative_theta)?
        .into_iter()
        .map(|c| ItemCtr {
            action: actions.names[c.pair as usize].clone(),
            ctr: c,
        })
        .collect();
    items.sort_by(|a, b| b.ctr.impressions.cmp(&a.ctr.impressions).then(a.action.cmp(&b.action)));
    items.truncate(top);
    let mut per_position = vec![(0_u64, 0_u64); table.n_positions()];
    for (&p, &c) in position.iter().zip(&click) {
        per_position[p as usize].0 += 1;
        per_position[p as usize].1 += u64::from(c);
    }
    Ok(PositionReport {
        file: path.display().to_string(),
        impressions: pair.len() as u64,
        clicks: click.iter().filter(|&&c| c).count() as u64,
        per_position,
        em_theta: fit.relative_theta,
        em_iterations: fit.iterations,
        harvested_theta,
        interventions: interventions.len(),
        variation,
        items,
    })
}
