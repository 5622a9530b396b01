//! The readable profile of a column, computed from its [`ColumnState`].

use datasketches::common::NumStdDev;
use datasketches::common::SearchCriteria;
use datasketches::frequencies::ErrorType;
use datasketches::kll::KllFloat;
use serde::{Deserialize, Serialize};

use crate::state::{ColumnState, ParseCounts, ValueKind};

/// Ranks at which quantiles are reported.
pub const QUANTILE_RANKS: [f64; 9] = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0];
/// Histogram bins between the minimum and the maximum.
pub const HISTOGRAM_BINS: usize = 20;
/// Frequent values reported.
pub const TOP_K: usize = 10;

/// An estimate with bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimate.
    pub estimate: f64,
    /// Lower bound (about 95% confidence).
    pub lower: f64,
    /// Upper bound (about 95% confidence).
    pub upper: f64,
}

/// One histogram bin, `[lo, hi)` (the last bin includes `hi`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Estimated number of values in the bin.
    pub count: f64,
}

/// A frequent value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopValue {
    /// The value, as text.
    pub value: String,
    /// Estimated count.
    pub count: u64,
    /// Guaranteed lower bound of the count.
    pub lower: u64,
    /// Guaranteed upper bound of the count.
    pub upper: u64,
}

/// Moments of numeric (or temporal, or boolean) values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Exact minimum.
    pub min: f64,
    /// Exact maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (none for fewer than 2 values).
    pub std: Option<f64>,
}

/// String length statistics, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lengths {
    /// Shortest.
    pub min: f64,
    /// Longest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// A column's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Arrow type, as Arrow prints it.
    pub data_type: String,
    /// How values were summarised.
    pub kind: ValueKind,
    /// Rows.
    pub rows: u64,
    /// Null values.
    pub nulls: u64,
    /// NaN values.
    pub nan: u64,
    /// Infinite values.
    pub infinite: u64,
    /// Empty strings.
    pub empty: u64,
    /// Whitespace-only strings.
    pub whitespace: u64,
    /// All missing values (null + NaN + empty + whitespace-only).
    pub missing: u64,
    /// `missing / rows`.
    pub missing_rate: f64,
    /// For string columns: how many values parse as each type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parses: Option<ParseCounts>,
    /// Distinct non-null values (HLL).
    pub distinct: Estimate,
    /// Exact min, max, mean, standard deviation of the values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
    /// Quantiles `(rank, value)` from the KLL sketch.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub quantiles: Vec<(f64, f64)>,
    /// The KLL sketch's normalised rank error (99% confidence): a reported quantile's true rank
    /// is within this of the rank asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_error: Option<f64>,
    /// Equal-width histogram between min and max.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub histogram: Vec<Bin>,
    /// Most frequent values.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub top: Vec<TopValue>,
    /// Maximum error of any frequent-value count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_error: Option<u64>,
    /// String lengths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lengths: Option<Lengths>,
}

impl ColumnProfile {
    /// Summarises a column's state.
    pub fn from_state(name: &str, data_type: &str, s: &ColumnState) -> ColumnProfile {
        let missing = s.missing();
        let distinct = Estimate {
            estimate: s.hll.estimate(),
            lower: s.hll.lower_bound(NumStdDev::Two),
            upper: s.hll.upper_bound(NumStdDev::Two),
        };
        let stats = (s.values.n > 0).then(|| Stats {
            min: s.values.min,
            max: s.values.max,
            mean: s.values.mean,
            std: s.values.std(),
        });
        let (mut quantiles, mut histogram, mut rank_error) = (Vec::new(), Vec::new(), None);
        if let Some(kll) = s.kll.as_ref().filter(|k| !k.is_empty()) {
            rank_error = Some(kll.normalized_rank_error());
            if let Ok(Some(q)) = kll.quantiles(&QUANTILE_RANKS, SearchCriteria::Inclusive) {
                quantiles = QUANTILE_RANKS
                    .iter()
                    .zip(q)
                    .map(|(r, v)| (*r, v.into_inner()))
                    .collect();
            }
            histogram = histogram_of(kll, s.values.min, s.values.max);
        }
        let (mut top, mut top_error) = (Vec::new(), None);
        if let Some(freq) = s.freq.as_ref().filter(|f| !f.is_empty()) {
            let mut rows = freq.frequent_items(ErrorType::NoFalseNegatives);
            rows.sort_by(|a, b| b.estimate().cmp(&a.estimate()).then_with(|| a.item().cmp(b.item())));
            // Items whose count could be zero are noise of a sketch past its exact range.
            top = rows
                .into_iter()
                .filter(|r| r.lower_bound() > 0)
                .take(TOP_K)
                .map(|r| TopValue {
                    value: r.item().clone(),
                    count: r.estimate(),
                    lower: r.lower_bound(),
                    upper: r.upper_bound(),
                })
                .collect();
            top_error = Some(freq.maximum_error());
        }
        ColumnProfile {
            name: name.to_string(),
            data_type: data_type.to_string(),
            kind: s.kind,
            rows: s.rows,
            nulls: s.nulls,
            nan: s.nan,
            infinite: s.infinite,
            empty: s.empty,
            whitespace: s.whitespace,
            missing,
            missing_rate: if s.rows == 0 {
                0.0
            } else {
                missing as f64 / s.rows as f64
            },
            parses: (s.kind == ValueKind::String).then_some(s.parses),
            distinct,
            stats,
            quantiles,
            rank_error,
            histogram,
            top,
            top_error,
            lengths: (s.lengths.n > 0).then_some(Lengths {
                min: s.lengths.min,
                max: s.lengths.max,
                mean: s.lengths.mean,
            }),
        }
    }
}

fn histogram_of(kll: &datasketches::kll::KllSketch<KllFloat<f64>>, min: f64, max: f64) -> Vec<Bin> {
    let n = kll.n() as f64;
    if !(min.is_finite() && max.is_finite()) {
        return Vec::new();
    }
    if min == max {
        return vec![Bin {
            lo: min,
            hi: max,
            count: n,
        }];
    }
    let width = (max - min) / HISTOGRAM_BINS as f64;
    let splits: Vec<KllFloat<f64>> = (1..HISTOGRAM_BINS)
        .map(|i| KllFloat::<f64>::new(min + width * i as f64).expect("finite"))
        .collect();
    // Split points must increase strictly; with a tiny range floating rounding can repeat one.
    if splits.windows(2).any(|w| w[0] >= w[1]) {
        return vec![Bin {
            lo: min,
            hi: max,
            count: n,
        }];
    }
    let Ok(Some(pmf)) = kll.pmf(&splits, SearchCriteria::Exclusive) else {
        return Vec::new();
    };
    pmf.iter()
        .enumerate()
        .map(|(i, p)| Bin {
            lo: min + width * i as f64,
            hi: if i + 1 == HISTOGRAM_BINS {
                max
            } else {
                min + width * (i + 1) as f64
            },
            count: p * n,
        })
        .collect()
}
