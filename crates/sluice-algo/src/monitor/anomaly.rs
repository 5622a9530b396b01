//! Anomaly rules on a metric history: one value per batch (a column's null share, a drift
//! score, a model's accuracy), oldest first.
//!
//! | rule       | fires at batch `t` when                                           | expected band                      |
//! |------------|-------------------------------------------------------------------|------------------------------------|
//! | `baseline` | `x_t` is outside `mean -/+ max(k sigma, tolerance)` of the baseline | that band                          |
//! | `spike` `relative` | `abs(x_t - x_{t-1}) > max(threshold abs(x_{t-1}), tolerance)` | `x_{t-1} -/+` that               |
//! | `spike` `diff_z`   | `abs(d_t - mean_d) > max(z sigma_d, tolerance)`, `d_t = x_t - x_{t-1}` | `x_{t-1} + mean_d -/+` that |
//!
//! The baseline is the first `B` batches or a given set of batch positions; `mean` and `sigma`
//! are their mean and sample standard deviation (divisor `B - 1`, so at least two points are
//! needed). `k = 3` is the convention users of monitoring tools know (REFERENCES.md: "mean +/- 3
//! standard deviations of the reference windows"); `threshold = 0.5` flags a 50% jump. For
//! `diff_z`, `mean_d` and `sigma_d` come from the differences between consecutive baseline
//! batches (both ends in the baseline), so a steadily trending baseline does not flag its own
//! trend.
//!
//! A constant baseline has `sigma = 0`, and `mean -/+ 0` would flag the smallest floating-point
//! wobble. The half-width is therefore never below `tolerance` (default `1e-9`, in the metric's
//! units): with a constant baseline a value is anomalous exactly when it differs from the
//! constant by more than the tolerance. The same floor applies to the spike rules (a previous
//! value of 0 gives a relative band of 0). Set `tolerance` to what counts as a real change for
//! the metric, e.g. `0.001` for a share of nulls.
//!
//! Only batches outside the baseline are checked: checking the baseline against itself is
//! circular. Both rules may fire on one batch; each firing is one [`Anomaly`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which batches form the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BaselinePoints {
    /// The first `points` batches (at least 2).
    First {
        /// Number of leading batches.
        points: usize,
    },
    /// The batches at these 0-based positions in the history (at least 2).
    Indices {
        /// Positions in the history.
        indices: Vec<usize>,
    },
}

/// The spike rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SpikeRule {
    /// Relative change against the previous batch above `threshold` (0.5 = 50%).
    Relative {
        /// Largest allowed relative change, > 0.
        threshold: f64,
    },
    /// Change against the previous batch more than `z` standard deviations of the baseline's
    /// batch-to-batch changes from their mean.
    DiffZ {
        /// Number of standard deviations, > 0.
        z: f64,
    },
    /// No spike rule.
    Off,
}

impl Default for SpikeRule {
    fn default() -> Self {
        SpikeRule::Relative { threshold: 0.5 }
    }
}

/// Settings of [`detect_anomalies`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyConfig {
    /// The baseline batches.
    pub baseline: BaselinePoints,
    /// Width of the baseline band in standard deviations (default 3).
    #[serde(default = "default_k")]
    pub k: f64,
    /// The spike rule (default: relative change above 0.5).
    #[serde(default)]
    pub spike: SpikeRule,
    /// Smallest half-width of any band, in the metric's units (default 1e-9; see the module
    /// docs on constant baselines).
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
}

fn default_k() -> f64 {
    3.0
}

fn default_tolerance() -> f64 {
    1e-9
}

impl AnomalyConfig {
    /// Defaults with the first `points` batches as the baseline.
    pub fn first(points: usize) -> Self {
        Self {
            baseline: BaselinePoints::First { points },
            k: default_k(),
            spike: SpikeRule::default(),
            tolerance: default_tolerance(),
        }
    }
}

/// The rule that fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyRule {
    /// Outside the baseline band.
    Baseline,
    /// A jump from the previous batch.
    Spike,
}

/// One rule firing on one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Position of the batch in the history.
    pub index: usize,
    /// Its value.
    pub value: f64,
    /// The rule that fired.
    pub rule: AnomalyRule,
    /// Lower end of the expected band.
    pub expected_low: f64,
    /// Upper end of the expected band.
    pub expected_high: f64,
    /// The comparison, in words.
    pub detail: String,
}

/// The baseline's statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineSummary {
    /// Number of baseline batches.
    pub points: usize,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation.
    pub sigma: f64,
    /// Lower end of the baseline band.
    pub low: f64,
    /// Upper end of the baseline band.
    pub high: f64,
}

/// The outcome of [`detect_anomalies`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyReport {
    /// The baseline's statistics and band.
    pub baseline: BaselineSummary,
    /// Number of batches checked (those outside the baseline).
    pub checked: usize,
    /// Every firing, by batch then rule.
    pub anomalies: Vec<Anomaly>,
}

fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

fn positive(what: &'static str, v: f64, hint: &str) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::Invalid {
            what,
            detail: format!("got {v}; use a finite value > 0 ({hint})"),
        })
    }
}

/// Applies the baseline and spike rules to `history` (see the module docs).
///
/// Errors when a value is not finite, the baseline has fewer than two batches or points outside
/// the history, or a setting is out of range.
pub fn detect_anomalies(history: &[f64], config: &AnomalyConfig) -> Result<AnomalyReport> {
    positive("k", config.k, "3 is the usual choice")?;
    if !(config.tolerance >= 0.0 && config.tolerance.is_finite()) {
        return Err(Error::Invalid {
            what: "tolerance",
            detail: format!("got {}; use a finite value >= 0 such as 1e-9", config.tolerance),
        });
    }
    match config.spike {
        SpikeRule::Relative { threshold } => positive("spike threshold", threshold, "0.5 flags a 50% jump")?,
        SpikeRule::DiffZ { z } => positive("spike z", z, "3 is the usual choice")?,
        SpikeRule::Off => {}
    }
    if let Some(i) = history.iter().position(|v| !v.is_finite()) {
        return Err(Error::Invalid {
            what: "metric history",
            detail: format!("batch {i} is {}; drop or fill batches without a value", history[i]),
        });
    }
    let mut in_baseline = vec![false; history.len()];
    match &config.baseline {
        BaselinePoints::First { points } => {
            if *points > history.len() {
                return Err(Error::Invalid {
                    what: "baseline",
                    detail: format!(
                        "the first {points} batches were asked for but the history has {}; use fewer",
                        history.len()
                    ),
                });
            }
            in_baseline[..*points].fill(true);
        }
        BaselinePoints::Indices { indices } => {
            for &i in indices {
                *in_baseline.get_mut(i).ok_or_else(|| Error::Invalid {
                    what: "baseline",
                    detail: format!(
                        "batch position {i} is outside the history of {} batches (positions start at 0)",
                        history.len()
                    ),
                })? = true;
            }
        }
    }
    let base: Vec<f64> = (0..history.len())
        .filter(|&i| in_baseline[i])
        .map(|i| history[i])
        .collect();
    if base.len() < 2 {
        return Err(Error::Invalid {
            what: "baseline",
            detail: format!(
                "{} distinct batch(es); a standard deviation needs at least 2 baseline batches",
                base.len()
            ),
        });
    }
    let (mean, sigma) = mean_sd(&base);
    let half = (config.k * sigma).max(config.tolerance);
    let summary = BaselineSummary {
        points: base.len(),
        mean,
        sigma,
        low: mean - half,
        high: mean + half,
    };

    // Centre offset and half-width of the spike band around the previous value.
    let spike = match config.spike {
        SpikeRule::Off => None,
        SpikeRule::Relative { threshold } => Some((0.0, threshold, None)),
        SpikeRule::DiffZ { z } => {
            let diffs: Vec<f64> = (1..history.len())
                .filter(|&t| in_baseline[t] && in_baseline[t - 1])
                .map(|t| history[t] - history[t - 1])
                .collect();
            if diffs.len() < 2 {
                return Err(Error::Invalid {
                    what: "baseline",
                    detail: format!(
                        "the diff_z spike rule needs at least 2 pairs of consecutive baseline batches, found {}; \
                         use a contiguous baseline or the relative spike rule",
                        diffs.len()
                    ),
                });
            }
            let (mean_d, sd_d) = mean_sd(&diffs);
            Some((mean_d, z, Some(sd_d)))
        }
    };

    let mut anomalies = Vec::new();
    let mut checked = 0;
    for t in (0..history.len()).filter(|&t| !in_baseline[t]) {
        checked += 1;
        let x = history[t];
        if x < summary.low || x > summary.high {
            anomalies.push(Anomaly {
                index: t,
                value: x,
                rule: AnomalyRule::Baseline,
                expected_low: summary.low,
                expected_high: summary.high,
                detail: format!(
                    "{x} is outside the baseline band [{}, {}] (mean {mean} -/+ {} x sigma {sigma})",
                    summary.low, summary.high, config.k
                ),
            });
        }
        if let (Some((offset, factor, sd)), true) = (spike, t > 0) {
            let prev = history[t - 1];
            let centre = prev + offset;
            let half = match sd {
                None => factor * prev.abs(),
                Some(sd) => factor * sd,
            }
            .max(config.tolerance);
            if (x - centre).abs() > half {
                let detail = match sd {
                    None => format!(
                        "{x} changed by {:.1}% from the previous batch's {prev} (threshold {:.1}%)",
                        if prev == 0.0 {
                            f64::INFINITY
                        } else {
                            100.0 * (x - prev) / prev.abs()
                        },
                        100.0 * factor
                    ),
                    Some(sd) => format!(
                        "the change {} from the previous batch's {prev} is {:.2} standard deviations from the \
                         baseline's mean change {offset} (limit {factor})",
                        x - prev,
                        if sd > 0.0 {
                            (x - centre).abs() / sd
                        } else {
                            f64::INFINITY
                        }
                    ),
                };
                anomalies.push(Anomaly {
                    index: t,
                    value: x,
                    rule: AnomalyRule::Spike,
                    expected_low: centre - half,
                    expected_high: centre + half,
                    detail,
                });
            }
        }
    }
    Ok(AnomalyReport {
        baseline: summary,
        checked,
        anomalies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_band_by_hand() {
        // Baseline 10, 12, 11, 13, 9: mean 11, sample sd sqrt(2.5) = 1.581139, band
        // 11 -/+ 4.743416 = [6.256584, 15.743416] (numpy: np.std(b, ddof=1)).
        let history = [10.0, 12.0, 11.0, 13.0, 9.0, 15.0, 16.0, 7.0, 6.0];
        let config = AnomalyConfig {
            spike: SpikeRule::Off,
            ..AnomalyConfig::first(5)
        };
        let r = detect_anomalies(&history, &config).unwrap();
        assert!((r.baseline.sigma - 2.5f64.sqrt()).abs() < 1e-15);
        assert!((r.baseline.low - 6.256_583_509_747_431).abs() < 1e-12);
        assert_eq!(r.checked, 4);
        let fired: Vec<usize> = r.anomalies.iter().map(|a| a.index).collect();
        assert_eq!(fired, vec![6, 8]);
        let a = &r.anomalies[0];
        assert_eq!((a.rule, a.value), (AnomalyRule::Baseline, 16.0));
        assert!((a.expected_high - 15.743_416_490_252_569).abs() < 1e-12);
        assert!(a.detail.contains("outside the baseline band"), "{}", a.detail);
        // k = 1: the band shrinks to 11 -/+ 1.58; 7 and 15 fire too.
        let narrow = AnomalyConfig { k: 1.0, ..config };
        assert_eq!(detect_anomalies(&history, &narrow).unwrap().anomalies.len(), 4);
    }

    #[test]
    fn relative_spike() {
        // Baseline 100, 102, 98 (band 100 -/+ 6): 104 is fine for both rules; 40 is a 61.5% drop
        // and outside the band; 70 is a 75% rise from 40 but still outside the band.
        let history = [100.0, 102.0, 98.0, 104.0, 40.0, 70.0];
        let r = detect_anomalies(&history, &AnomalyConfig::first(3)).unwrap();
        let fired: Vec<(usize, AnomalyRule)> = r.anomalies.iter().map(|a| (a.index, a.rule)).collect();
        assert_eq!(
            fired,
            vec![
                (4, AnomalyRule::Baseline),
                (4, AnomalyRule::Spike),
                (5, AnomalyRule::Baseline),
                (5, AnomalyRule::Spike)
            ]
        );
        let spike = &r.anomalies[1];
        assert_eq!((spike.expected_low, spike.expected_high), (52.0, 156.0));
        assert!(
            spike.detail.contains("-61.5%") && spike.detail.contains("threshold 50.0%"),
            "{}",
            spike.detail
        );
        // A 30% threshold on a wider baseline band: only the spike rule fires on 104 -> 140.
        let config = AnomalyConfig {
            k: 100.0,
            spike: SpikeRule::Relative { threshold: 0.3 },
            ..AnomalyConfig::first(3)
        };
        let r = detect_anomalies(&[100.0, 102.0, 98.0, 104.0, 140.0], &config).unwrap();
        assert_eq!(r.anomalies.len(), 1);
        assert_eq!((r.anomalies[0].index, r.anomalies[0].rule), (4, AnomalyRule::Spike));
    }

    #[test]
    fn diff_z_spike_ignores_a_steady_trend() {
        // Baseline rises by 1 +/- 0.5 per batch: diffs 1.5, 0.5, 1.0, 1.0 -> mean 1, sd 0.408248.
        let history = [0.0, 1.5, 2.0, 3.0, 4.0, 5.1, 9.0];
        let config = AnomalyConfig {
            k: 1000.0,
            spike: SpikeRule::DiffZ { z: 3.0 },
            ..AnomalyConfig::first(5)
        };
        let r = detect_anomalies(&history, &config).unwrap();
        // 5.1 continues the trend (expected 5 -/+ 1.224745); 9.0 jumps 3.9 (expected 6.1 -/+ 1.22).
        assert_eq!(r.anomalies.len(), 1);
        let a = &r.anomalies[0];
        assert_eq!((a.index, a.rule), (6, AnomalyRule::Spike));
        assert!(
            (a.expected_low - (6.1 - 3.0 * (1.0f64 / 6.0).sqrt())).abs() < 1e-12,
            "{a:?}"
        );
        // A non-contiguous baseline has too few consecutive pairs.
        let sparse = AnomalyConfig {
            baseline: BaselinePoints::Indices { indices: vec![0, 2, 4] },
            ..config
        };
        assert!(
            detect_anomalies(&history, &sparse)
                .unwrap_err()
                .to_string()
                .contains("consecutive")
        );
    }

    #[test]
    fn constant_baseline_uses_the_tolerance() {
        let history = [0.0, 0.0, 0.0, 0.0, 1e-12, 0.002, 0.0];
        let config = AnomalyConfig {
            spike: SpikeRule::Off,
            ..AnomalyConfig::first(4)
        };
        // Default tolerance 1e-9: float noise passes, 0.002 fires.
        let r = detect_anomalies(&history, &config).unwrap();
        assert_eq!(r.baseline.sigma, 0.0);
        assert_eq!((r.baseline.low, r.baseline.high), (-1e-9, 1e-9));
        assert_eq!(r.anomalies.iter().map(|a| a.index).collect::<Vec<_>>(), vec![5]);
        // Tolerance 0.01: nothing fires.
        let loose = AnomalyConfig {
            tolerance: 0.01,
            ..config
        };
        assert!(detect_anomalies(&history, &loose).unwrap().anomalies.is_empty());
        // Relative spike from a previous value of 0: only changes above the tolerance fire.
        let spikes = AnomalyConfig::first(4);
        let r = detect_anomalies(&history, &spikes).unwrap();
        let s: Vec<usize> = r
            .anomalies
            .iter()
            .filter(|a| a.rule == AnomalyRule::Spike)
            .map(|a| a.index)
            .collect();
        assert_eq!(s, vec![5, 6]);
    }

    #[test]
    fn explicit_baseline_indices() {
        // Baseline = positions 2, 3, 4 (values 5, 6, 7): mean 6, sd 1, band [3, 9].
        let history = [100.0, 1.0, 5.0, 6.0, 7.0, 8.0];
        let config = AnomalyConfig {
            baseline: BaselinePoints::Indices { indices: vec![4, 2, 3] },
            spike: SpikeRule::Off,
            ..AnomalyConfig::first(0)
        };
        let r = detect_anomalies(&history, &config).unwrap();
        assert_eq!((r.baseline.low, r.baseline.high, r.checked), (3.0, 9.0, 3));
        assert_eq!(r.anomalies.iter().map(|a| a.index).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn bad_inputs() {
        let cfg = AnomalyConfig::first(2);
        let e = detect_anomalies(&[1.0, f64::NAN, 2.0], &cfg).unwrap_err().to_string();
        assert!(e.contains("batch 1 is NaN"), "{e}");
        assert!(
            detect_anomalies(&[1.0], &cfg)
                .unwrap_err()
                .to_string()
                .contains("use fewer")
        );
        assert!(
            detect_anomalies(&[1.0, 2.0], &AnomalyConfig::first(1))
                .unwrap_err()
                .to_string()
                .contains("at least 2")
        );
        let idx = AnomalyConfig {
            baseline: BaselinePoints::Indices { indices: vec![0, 9] },
            ..cfg.clone()
        };
        assert!(
            detect_anomalies(&[1.0, 2.0], &idx)
                .unwrap_err()
                .to_string()
                .contains("position 9")
        );
        let dup = AnomalyConfig {
            baseline: BaselinePoints::Indices { indices: vec![1, 1] },
            ..cfg.clone()
        };
        assert!(detect_anomalies(&[1.0, 2.0], &dup).is_err());
        let k = AnomalyConfig { k: 0.0, ..cfg.clone() };
        assert!(detect_anomalies(&[1.0, 2.0], &k).is_err());
        let t = AnomalyConfig {
            spike: SpikeRule::Relative { threshold: -1.0 },
            ..cfg
        };
        assert!(detect_anomalies(&[1.0, 2.0], &t).is_err());
    }

    #[test]
    fn config_from_toml() {
        let c: AnomalyConfig =
            toml::from_str("k = 2.5\n[baseline]\nkind = \"first\"\npoints = 10\n[spike]\nkind = \"diff_z\"\nz = 4")
                .unwrap();
        assert_eq!(c.baseline, BaselinePoints::First { points: 10 });
        assert_eq!(c.spike, SpikeRule::DiffZ { z: 4.0 });
        assert_eq!((c.k, c.tolerance), (2.5, 1e-9));
        let d: AnomalyConfig = toml::from_str("[baseline]\nkind = \"first\"\npoints = 4").unwrap();
        assert_eq!(d, AnomalyConfig::first(4));
        let e = toml::from_str::<AnomalyConfig>("sigma = 3\n[baseline]\nkind = \"first\"\npoints = 4")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `sigma`"), "{e}");
    }
}
