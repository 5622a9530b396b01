//! Seeded percentile-bootstrap intervals for ratio-of-sums statistics, fast at 10M rows.
//!
//! Every off-policy estimator in [`super::ope`] is a ratio `sum(a_i) / sum(b_i)` of per-row terms:
//! `b_i = 1` for the mean-type estimators (IPS, DM, DR, ...) and `b_i = w_i` for SNIPS. A bootstrap
//! replicate reweights row `i` by a count `c_i` and recomputes `sum(c_i a_i) / sum(c_i b_i)`; the
//! interval is the pair of empirical quantiles of the replicates at `(1 - level) / 2` and
//! `(1 + level) / 2` (the percentile bootstrap, Efron & Tibshirani 1993, ch. 13; quantiles use the
//! linear interpolation of numpy's default, type 7 of Hyndman & Fan 1996). 10,000 replicates is the
//! default, the usual recommendation for percentile intervals.
//!
//! Two ways to draw the counts:
//!
//! | [`Resampling`]  | counts                                  | cost                                   |
//! |-----------------|-----------------------------------------|----------------------------------------|
//! | `Poisson`       | `c_i ~ Poisson(1)` independently        | one streaming pass, `B` counters in L1 |
//! | `Multinomial`   | `n` row indices drawn with replacement  | `n * B` random reads (classic Efron)   |
//!
//! The Poisson bootstrap (Hanley & MacGibbon 2006, "Creating non-parametric bootstrap samples
//! using Poisson frequencies"; Chamandy et al. 2012, "Estimating uncertainty for massive data
//! streams", Google) has the same large-sample behaviour as the multinomial one and is the
//! default: the data are read once, row by row, while all `B` replicate sums stay in cache. Two
//! exact shortcuts make sparse data cheap: rows whose terms are all 0 are skipped (they change no
//! sum), and when a statistic is a mean (`b_i = 1`) those rows of a chunk only add their total
//! count to the denominator, which is one `Poisson(m)` draw per replicate instead of `m` draws (a
//! sum of independent Poisson(1) counts is Poisson(m)). Poisson(1) counts come from 32 random bits by an
//! inverse-CDF table (probabilities exact to 2^-32).
//!
//! Several statistics of the same rows ([`bootstrap_ratios`], e.g. IPS, SNIPS and DR of one log)
//! share their replicates: the counts of a row are drawn once and multiply every statistic's
//! terms, so `k` statistics cost one pass and one set of random draws instead of `k`. The sums
//! of a replicate are kept side by side (`[f64; G]`, up to four columns per pass, the count of
//! rows being one of them when a statistic is a mean), so each draw feeds `4 G` multiply-adds.
//!
//! Cost: about 1 ns of CPU per (row, replicate) for one dense statistic on the project's 2-core
//! AMD EPYC VM, and little more for four columns (the draws dominate); docs/benchmarks.md has
//! the measured end-to-end figures (`bench/ope_vs_obp.sh`).
//!
//! Determinism: rows are cut into chunks of [`CHUNK_ROWS`]; chunk `k` draws from the SplitMix64
//! stream `k` of the seed and the per-chunk sums are added in chunk order, so the interval is the
//! same, bit for bit, for any thread count. Replicates whose denominator is 0 (a Poisson replicate
//! that drew no row, or a SNIPS replicate with only zero weights) have no value; they are dropped
//! and counted in [`BootstrapInterval::dropped`].

use rand_distr::{Distribution, Poisson};
use serde::{Deserialize, Serialize};

use super::par::{map_chunks, thread_count};
use super::rng::{BUCKET_BITS, POISSON1, Poisson1Table, STRADDLE, SplitMix64};
use crate::error::{Error, Result};

/// Rows per chunk of the Poisson bootstrap: large enough that per-chunk bookkeeping (two arrays of
/// `B` sums) is small next to the work, small enough that 2 threads share 10M rows evenly.
pub const CHUNK_ROWS: usize = 1 << 16;

/// Replicates per work unit of the multinomial bootstrap.
const MULTINOMIAL_CHUNK: usize = 16;

/// How replicate weights are drawn (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resampling {
    /// Independent Poisson(1) counts per row: one pass over the data, fast at any size.
    #[default]
    Poisson,
    /// Classic Efron bootstrap: `n` indices drawn uniformly with replacement per replicate.
    Multinomial,
}

/// Settings of a bootstrap run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    /// Number of replicates `B` (default 10,000).
    pub resamples: usize,
    /// Coverage of the interval, in (0, 1) (default 0.95).
    pub level: f64,
    /// Seed of the random streams; the same seed and data give the same interval.
    pub seed: u64,
    /// How the replicate weights are drawn (default Poisson).
    pub resampling: Resampling,
    /// Worker threads; 0 uses every available core. The result does not depend on it.
    pub threads: usize,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            resamples: 10_000,
            level: 0.95,
            seed: 0,
            resampling: Resampling::Poisson,
            threads: 0,
        }
    }
}

impl BootstrapConfig {
    fn validate(&self) -> Result<()> {
        if self.resamples < 2 {
            return Err(Error::Invalid {
                what: "bootstrap resamples",
                detail: format!("got {}; use at least 2 (10,000 is the usual choice)", self.resamples),
            });
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::Invalid {
                what: "bootstrap level",
                detail: format!(
                    "got {}; the coverage must lie strictly between 0 and 1, e.g. 0.95",
                    self.level
                ),
            });
        }
        Ok(())
    }
}

/// A percentile-bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInterval {
    /// Lower end: the `(1 - level) / 2` quantile of the replicates.
    pub lower: f64,
    /// Upper end: the `(1 + level) / 2` quantile of the replicates.
    pub upper: f64,
    /// Requested coverage.
    pub level: f64,
    /// Standard deviation of the replicates (the bootstrap standard error).
    pub std_error: f64,
    /// Replicates that produced a value.
    pub resamples: usize,
    /// Replicates dropped because their denominator was 0.
    pub dropped: usize,
}

/// One statistic of a joint bootstrap, by column index: `sum(c_i x_i) / sum(c_i y_i)` with `x`
/// the numerator column and `y` the denominator column, or `y_i = 1` (a mean) when `denominator`
/// is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    /// Column of the numerator terms.
    pub numerator: usize,
    /// Column of the denominator terms; `None` for a mean.
    pub denominator: Option<usize>,
}

/// Percentile bootstrap of the mean of `values`.
pub fn bootstrap_mean(values: &[f64], config: &BootstrapConfig) -> Result<BootstrapInterval> {
    bootstrap_ratio(values, None, config)
}

/// Percentile bootstrap of `sum(numerator) / sum(denominator)`; `denominator = None` means every
/// `b_i = 1`, i.e. the mean of `numerator`.
pub fn bootstrap_ratio(
    numerator: &[f64],
    denominator: Option<&[f64]>,
    config: &BootstrapConfig,
) -> Result<BootstrapInterval> {
    if let Some(den) = denominator
        && den.len() != numerator.len()
    {
        return Err(Error::LengthMismatch {
            what: "bootstrap numerator and denominator",
            left: numerator.len(),
            right: den.len(),
        });
    }
    let columns: Vec<&[f64]> = std::iter::once(numerator).chain(denominator).collect();
    let ratio = Ratio {
        numerator: 0,
        denominator: denominator.map(|_| 1),
    };
    let mut out = bootstrap_ratios(&columns, &[ratio], config)?;
    Ok(out.pop().expect("bug: one interval per ratio"))
}

/// Percentile-bootstrap intervals of several ratio statistics of the same rows, from one set of
/// replicates: replicate `r` weights row `i` by the same count `c_ri` in every statistic, so all
/// of them are computed in one pass over the rows (the Poisson counts are drawn once per row and
/// replicate, whatever the number of statistics), and the joint distribution is valid too (e.g.
/// for the difference of two estimators). Each statistic's replicates have the distribution
/// [`bootstrap_ratio`] gives it alone; the numbers are the same too when no row is zero in every
/// column (all-zero rows are skipped, which shifts the random stream), and always with a single
/// statistic.
///
/// `columns` are the per-row terms (equal lengths, finite; a column used as a denominator must be
/// `>= 0`). Pass a column once even if several statistics use it.
pub fn bootstrap_ratios(
    columns: &[&[f64]],
    ratios: &[Ratio],
    config: &BootstrapConfig,
) -> Result<Vec<BootstrapInterval>> {
    config.validate()?;
    let n = columns.first().map_or(0, |c| c.len());
    if n == 0 {
        return Err(Error::Empty {
            what: "bootstrap input",
            min: 1,
        });
    }
    if let Some(c) = columns.iter().find(|c| c.len() != n) {
        return Err(Error::LengthMismatch {
            what: "bootstrap columns",
            left: n,
            right: c.len(),
        });
    }
    if ratios.is_empty() {
        return Err(Error::Empty {
            what: "bootstrap statistics",
            min: 1,
        });
    }
    let mut is_denominator = vec![false; columns.len()];
    for r in ratios {
        for c in std::iter::once(r.numerator).chain(r.denominator) {
            if c >= columns.len() {
                return Err(Error::Invalid {
                    what: "bootstrap statistic",
                    detail: format!("refers to column {c}, but only {} columns were given", columns.len()),
                });
            }
        }
        if let Some(d) = r.denominator {
            is_denominator[d] = true;
        }
    }
    for (column, &den) in columns.iter().zip(&is_denominator) {
        let bad = |v: &f64| !v.is_finite() || (den && *v < 0.0);
        if let Some(i) = column.iter().position(bad) {
            return Err(Error::Invalid {
                what: if den {
                    "bootstrap denominator"
                } else {
                    "bootstrap numerator"
                },
                detail: format!(
                    "row {i} is {}; terms must be finite{}",
                    column[i],
                    if den { " and >= 0" } else { "" }
                ),
            });
        }
    }
    // Internal columns: the given ones, then an implicit column of ones when a mean needs the
    // replicate's total count.
    let with_count = ratios.iter().any(|r| r.denominator.is_none());
    let width = columns.len() + usize::from(with_count);
    let sums = match config.resampling {
        Resampling::Poisson => poisson_sums(columns, with_count, config),
        Resampling::Multinomial => multinomial_sums(columns, with_count, config),
    };
    ratios
        .iter()
        .map(|r| {
            let den = r.denominator.unwrap_or(columns.len());
            let replicates: Vec<f64> = sums
                .chunks_exact(width)
                .filter(|s| s[den] > 0.0)
                .map(|s| s[r.numerator] / s[den])
                .collect();
            interval(replicates, config)
        })
        .collect()
}

/// The percentile interval of a statistic's replicates (those with a positive denominator).
fn interval(mut replicates: Vec<f64>, config: &BootstrapConfig) -> Result<BootstrapInterval> {
    let dropped = config.resamples - replicates.len();
    if replicates.len() < 2 {
        return Err(Error::Invalid {
            what: "bootstrap input",
            detail: format!(
                "only {} of {} replicates had a positive denominator; the input needs more rows \
                 with non-zero weight",
                replicates.len(),
                config.resamples
            ),
        });
    }
    replicates.sort_unstable_by(f64::total_cmp);
    let alpha = (1.0 - config.level) / 2.0;
    Ok(BootstrapInterval {
        lower: quantile_sorted(&replicates, alpha),
        upper: quantile_sorted(&replicates, 1.0 - alpha),
        level: config.level,
        std_error: std_dev(&replicates),
        resamples: replicates.len(),
        dropped,
    })
}

/// Quantile `q` of sorted data with linear interpolation between order statistics (numpy's
/// default `linear` method, Hyndman & Fan type 7).
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn std_dev(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (ss / (n - 1.0)).sqrt()
}

/// Columns summed per kernel call: each call keeps `B x GROUP` sums, a few tens of KB for the
/// usual `B`, in cache while the rows stream past.
const GROUP: usize = 4;

/// Replicate sums of the Poisson bootstrap, row-major `B x width` (`width` = the columns, plus
/// the count when `with_count`).
///
/// The columns are processed in groups of up to [`GROUP`]; every group's pass skips the same
/// all-zero rows and so consumes the random stream identically, which gives each row the same
/// count in every group. Only the group holding the count column draws the `Poisson(m)` total of
/// a chunk's skipped rows, after its rows.
fn poisson_sums(columns: &[&[f64]], with_count: bool, config: &BootstrapConfig) -> Vec<f64> {
    let b = config.resamples;
    let width = columns.len() + usize::from(with_count);
    let mut sums = vec![0.0; b * width];
    let threads = thread_count(config.threads);
    let n = columns[0].len();
    let mut first = 0;
    while first < width {
        let last = (first + GROUP).min(width);
        let group: Vec<Column<'_>> = (first..last)
            .map(|j| columns.get(j).map_or(Column::Ones, |c| Column::Values(c)))
            .collect();
        let per_chunk = map_chunks(n, CHUNK_ROWS, threads, |chunk, rows| match group.len() {
            1 => chunk_sums::<1>(columns, &group, chunk, rows, config),
            2 => chunk_sums::<2>(columns, &group, chunk, rows, config),
            3 => chunk_sums::<3>(columns, &group, chunk, rows, config),
            _ => chunk_sums::<4>(columns, &group, chunk, rows, config),
        });
        let g = last - first;
        for chunk in per_chunk {
            for (total, part) in sums.chunks_exact_mut(width).zip(chunk.chunks_exact(g)) {
                for (t, x) in total[first..last].iter_mut().zip(part) {
                    *t += x;
                }
            }
        }
        first = last;
    }
    sums
}

/// A column of per-row terms, or the implicit all-ones column that counts rows.
#[derive(Clone, Copy)]
enum Column<'a> {
    Values(&'a [f64]),
    Ones,
}

/// The sums of one chunk of rows for a group of `G` columns, row-major `B x G`.
fn chunk_sums<const G: usize>(
    all: &[&[f64]],
    group: &[Column<'_>],
    chunk: usize,
    rows: std::ops::Range<usize>,
    config: &BootstrapConfig,
) -> Vec<f64> {
    let b = config.resamples;
    let mut rng = SplitMix64::stream(config.seed, chunk as u64);
    let mut acc = Accumulator::<G> {
        sums: vec![[0.0; G]; b],
        block: [[0.0; G]; 4],
        filled: 0,
        table: &POISSON1,
    };
    let mut zero_rows = 0_u64;
    for i in rows {
        if all.iter().all(|c| c[i] == 0.0) {
            zero_rows += 1;
            continue;
        }
        let mut row = [0.0; G];
        for (v, col) in row.iter_mut().zip(group) {
            *v = match col {
                Column::Values(c) => c[i],
                Column::Ones => 1.0,
            };
        }
        acc.push(row, &mut rng);
    }
    acc.flush(&mut rng);
    let mut sums = acc.sums;
    if zero_rows > 0
        && let Some(j) = group.iter().position(|c| matches!(c, Column::Ones))
    {
        // A sum of m independent Poisson(1) counts is Poisson(m): the skipped rows' counts.
        let poisson = Poisson::new(zero_rows as f64).expect("bug: a positive row count is a valid Poisson mean");
        for s in &mut sums {
            s[j] += poisson.sample(&mut rng);
        }
    }
    sums.into_iter().flatten().collect()
}

/// Replicate sums of one chunk for `G` columns. Rows are buffered in blocks of four so that one
/// 64-bit random draw gives the four rows' counts of a replicate (four 14-bit table lookups),
/// and each replicate's `G` sums are loaded and stored once per block instead of once per row.
struct Accumulator<'t, const G: usize> {
    sums: Vec<[f64; G]>,
    block: [[f64; G]; 4],
    filled: usize,
    table: &'t Poisson1Table,
}

impl<const G: usize> Accumulator<'_, G> {
    #[inline]
    fn push(&mut self, row: [f64; G], rng: &mut SplitMix64) {
        self.block[self.filled] = row;
        self.filled += 1;
        if self.filled == 4 {
            self.flush(rng);
        }
    }

    /// Adds the buffered rows (padding a partial block with rows that contribute nothing).
    fn flush(&mut self, rng: &mut SplitMix64) {
        if self.filled == 0 {
            return;
        }
        self.block[self.filled..].fill([0.0; G]);
        self.filled = 0;
        let table = self.table;
        let mask = (1_u64 << BUCKET_BITS) - 1;
        let [x0, x1, x2, x3] = self.block;
        for s in self.sums.iter_mut() {
            let bits = rng.next();
            let g = [
                (bits & mask) as usize,
                ((bits >> BUCKET_BITS) & mask) as usize,
                ((bits >> (2 * BUCKET_BITS)) & mask) as usize,
                ((bits >> (3 * BUCKET_BITS)) & mask) as usize,
            ];
            let mut c = g.map(|g| table.bucket(g));
            // Counts are below 16; only the STRADDLE marker has the top bit set.
            if (c[0] | c[1] | c[2] | c[3]) & 0x80 != 0 {
                for (count, &g) in c.iter_mut().zip(&g) {
                    if *count == STRADDLE {
                        *count = table.refine(g, rng.next());
                    }
                }
            }
            let c = c.map(f64::from);
            for j in 0..G {
                s[j] += c[0] * x0[j] + c[1] * x1[j] + c[2] * x2[j] + c[3] * x3[j];
            }
        }
    }
}

/// Replicate sums of the multinomial bootstrap, row-major `B x width` as in [`poisson_sums`].
fn multinomial_sums(columns: &[&[f64]], with_count: bool, config: &BootstrapConfig) -> Vec<f64> {
    let n = columns[0].len();
    let per_chunk = map_chunks(
        config.resamples,
        MULTINOMIAL_CHUNK,
        thread_count(config.threads),
        |_, replicates| {
            let mut out = Vec::with_capacity(replicates.len() * (columns.len() + 1));
            for r in replicates {
                let mut rng = SplitMix64::stream(config.seed, r as u64);
                let start = out.len();
                out.resize(start + columns.len(), 0.0);
                let sums = &mut out[start..];
                for _ in 0..n {
                    let i = rng.below(n as u64) as usize;
                    for (s, c) in sums.iter_mut().zip(columns) {
                        *s += c[i];
                    }
                }
                if with_count {
                    out.push(n as f64);
                }
            }
            out
        },
    );
    per_chunk.concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::rng::SplitMix64;

    fn config(resampling: Resampling, resamples: usize, seed: u64) -> BootstrapConfig {
        BootstrapConfig {
            resamples,
            seed,
            resampling,
            ..BootstrapConfig::default()
        }
    }

    fn normal_sample(n: usize, seed: u64) -> Vec<f64> {
        use rand_distr::StandardNormal;
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| 3.0 + 2.0 * rng.sample::<f64, _>(StandardNormal))
            .collect()
    }

    use rand::Rng;

    #[test]
    fn quantile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 4, 8], [2.5, 50, 97.5]) = [1.075, 3.0, 7.7]
        let x = [1.0, 2.0, 4.0, 8.0];
        assert!((quantile_sorted(&x, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile_sorted(&x, 0.5) - 3.0).abs() < 1e-12);
        assert!((quantile_sorted(&x, 0.975) - 7.7).abs() < 1e-12);
    }

    #[test]
    fn standard_error_of_the_mean_matches_theory() {
        // The bootstrap distribution of a mean has sd = s * sqrt((n - 1) / n) / sqrt(n), and
        // a 95% percentile interval about 2 * 1.96 of those wide.
        let x = normal_sample(2_000, 3);
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let s = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let se = s * ((n - 1.0) / n).sqrt() / n.sqrt();
        for resampling in [Resampling::Poisson, Resampling::Multinomial] {
            let ci = bootstrap_mean(&x, &config(resampling, 4_000, 9)).unwrap();
            assert!((ci.std_error / se - 1.0).abs() < 0.05, "{resampling:?}: {ci:?} vs {se}");
            let half = (ci.upper - ci.lower) / 2.0;
            assert!((half / (1.96 * se) - 1.0).abs() < 0.07, "{resampling:?}: {ci:?}");
            assert!(ci.lower < mean && mean < ci.upper);
        }
    }

    #[test]
    fn same_seed_same_interval_for_any_thread_count() {
        let x = normal_sample(3 * CHUNK_ROWS + 17, 5);
        for resampling in [Resampling::Poisson, Resampling::Multinomial] {
            let mut cfg = config(resampling, 200, 42);
            cfg.threads = 1;
            let one = bootstrap_mean(&x, &cfg).unwrap();
            cfg.threads = 3;
            let three = bootstrap_mean(&x, &cfg).unwrap();
            assert_eq!(one, three, "{resampling:?}");
            cfg.seed = 43;
            let other = bootstrap_mean(&x, &cfg).unwrap();
            assert_ne!(one, other, "{resampling:?}: the seed must matter");
        }
    }

    #[test]
    fn joint_replicates_equal_separate_runs_on_dense_rows() {
        // Five columns plus the count: two kernel groups that must give every row the same count,
        // so each statistic's interval equals the one computed for it alone.
        let n = 2 * CHUNK_ROWS + 101;
        let cols: Vec<Vec<f64>> = (0..5)
            .map(|c| normal_sample(n, 20 + c).iter().map(|v| v.abs() + 0.1).collect())
            .collect();
        let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let ratios = [
            Ratio {
                numerator: 0,
                denominator: None,
            },
            Ratio {
                numerator: 1,
                denominator: Some(2),
            },
            Ratio {
                numerator: 4,
                denominator: None,
            },
            Ratio {
                numerator: 3,
                denominator: Some(4),
            },
        ];
        for resampling in [Resampling::Poisson, Resampling::Multinomial] {
            let mut cfg = config(resampling, 300, 17);
            cfg.threads = 2;
            let joint = bootstrap_ratios(&refs, &ratios, &cfg).unwrap();
            for (r, got) in ratios.iter().zip(&joint) {
                let alone = bootstrap_ratio(refs[r.numerator], r.denominator.map(|d| refs[d]), &cfg).unwrap();
                assert_eq!(*got, alone, "{resampling:?} {r:?}");
            }
        }
    }

    #[test]
    fn joint_replicates_share_counts_across_statistics() {
        // Statistic 1 is statistic 0 times 3 on every row: with shared counts every replicate of
        // the ratio keeps that factor, so the intervals scale exactly (up to rounding).
        let x = normal_sample(10_000, 4);
        let y: Vec<f64> = x.iter().map(|v| 3.0 * v).collect();
        let sparse: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 10 == 0 { *v } else { 0.0 })
            .collect();
        let ratios = [
            Ratio {
                numerator: 0,
                denominator: None,
            },
            Ratio {
                numerator: 1,
                denominator: None,
            },
            Ratio {
                numerator: 2,
                denominator: None,
            },
        ];
        let out = bootstrap_ratios(&[&x, &y, &sparse], &ratios, &config(Resampling::Poisson, 500, 3)).unwrap();
        assert!((out[1].lower / out[0].lower - 3.0).abs() < 1e-12);
        assert!((out[1].upper / out[0].upper - 3.0).abs() < 1e-12);
        assert!((out[1].std_error / out[0].std_error - 3.0).abs() < 1e-9);
        // The sparse column is bootstrapped over all rows (the count includes its zero rows).
        let alone = bootstrap_mean(&sparse, &config(Resampling::Poisson, 4_000, 3)).unwrap();
        assert!(
            (out[2].std_error / alone.std_error - 1.0).abs() < 0.15,
            "{:?} vs {alone:?}",
            out[2]
        );
        assert!(matches!(
            bootstrap_ratios(
                &[&x],
                &[Ratio {
                    numerator: 1,
                    denominator: None
                }],
                &BootstrapConfig::default()
            ),
            Err(Error::Invalid {
                what: "bootstrap statistic",
                ..
            })
        ));
        assert!(matches!(
            bootstrap_ratios(&[&x, &y[..10]], &ratios[..1], &BootstrapConfig::default()),
            Err(Error::LengthMismatch { .. })
        ));
    }

    #[test]
    fn percentile_interval_covers_the_true_mean_at_the_nominal_rate() {
        // 400 independent samples of an exponential(1) variable (skewed), n = 200 each: the
        // number of 95% intervals that contain the true mean 1 is Binomial(400, ~0.95). The
        // percentile bootstrap undercovers slightly on skewed data at this n (about 0.93-0.94).
        use rand_distr::Exp1;
        let mut covered = 0;
        for rep in 0..400 {
            let mut rng = SplitMix64::new(1_000 + rep);
            let x: Vec<f64> = (0..200).map(|_| rng.sample::<f64, _>(Exp1)).collect();
            let ci = bootstrap_mean(&x, &config(Resampling::Poisson, 1_000, rep)).unwrap();
            if ci.lower <= 1.0 && 1.0 <= ci.upper {
                covered += 1;
            }
        }
        assert!((360..=392).contains(&covered), "covered {covered} of 400");
    }

    #[test]
    fn sparse_shortcut_agrees_with_the_dense_distribution() {
        // 2% non-zero values: the Poisson(m) shortcut for zero rows must give the same
        // bootstrap spread as the multinomial bootstrap (which has no shortcut).
        let mut rng = SplitMix64::new(8);
        let x: Vec<f64> = (0..50_000)
            .map(|_| {
                if rng.below(50) == 0 {
                    1.0 + rng.below(10) as f64
                } else {
                    0.0
                }
            })
            .collect();
        let poisson = bootstrap_mean(&x, &config(Resampling::Poisson, 3_000, 1)).unwrap();
        let multi = bootstrap_mean(&x, &config(Resampling::Multinomial, 3_000, 1)).unwrap();
        assert!((poisson.std_error / multi.std_error - 1.0).abs() < 0.06);
        assert!((poisson.lower / multi.lower - 1.0).abs() < 0.02);
        assert!((poisson.upper / multi.upper - 1.0).abs() < 0.02);
    }

    #[test]
    fn ratio_with_denominator_is_self_normalised() {
        // sum(c a) / sum(c b) with a = b * 2 is exactly 2 in every replicate.
        let b: Vec<f64> = (0..1_000).map(|i| (i % 7) as f64).collect();
        let a: Vec<f64> = b.iter().map(|v| 2.0 * v).collect();
        let ci = bootstrap_ratio(&a, Some(&b), &config(Resampling::Poisson, 500, 2)).unwrap();
        assert!((ci.lower - 2.0).abs() < 1e-12 && (ci.upper - 2.0).abs() < 1e-12);
        assert_eq!(ci.dropped, 0);
    }

    #[test]
    fn tiny_samples_drop_empty_replicates() {
        // One row: a Poisson replicate is empty with probability e^-1 ~ 0.37.
        let ci = bootstrap_mean(&[5.0], &config(Resampling::Poisson, 2_000, 4)).unwrap();
        let share = ci.dropped as f64 / 2_000.0;
        assert!((share - (-1.0_f64).exp()).abs() < 0.04, "{share}");
        assert_eq!((ci.lower, ci.upper), (5.0, 5.0));
    }

    #[test]
    fn bad_input_is_rejected_with_a_reason() {
        let cfg = BootstrapConfig::default();
        assert!(matches!(bootstrap_mean(&[], &cfg), Err(Error::Empty { .. })));
        assert!(matches!(
            bootstrap_ratio(&[1.0], Some(&[1.0, 2.0]), &cfg),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            bootstrap_mean(&[f64::NAN], &cfg),
            Err(Error::Invalid {
                what: "bootstrap numerator",
                ..
            })
        ));
        let bad_level = BootstrapConfig { level: 1.0, ..cfg };
        assert!(matches!(
            bootstrap_mean(&[1.0], &bad_level),
            Err(Error::Invalid {
                what: "bootstrap level",
                ..
            })
        ));
        assert!(matches!(
            bootstrap_ratio(&[0.0, 0.0], Some(&[0.0, 0.0]), &cfg),
            Err(Error::Invalid {
                what: "bootstrap input",
                ..
            })
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn replicate_means_stay_within_the_data_range(
                x in prop::collection::vec(-100.0_f64..100.0, 1..200),
                seed in any::<u64>(),
                multinomial in any::<bool>(),
            ) {
                let resampling = if multinomial { Resampling::Multinomial } else { Resampling::Poisson };
                let ci = bootstrap_mean(&x, &config(resampling, 50, seed)).unwrap_or_else(|e| {
                    panic!("{e}")
                });
                let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let slack = 1e-9 * lo.abs().max(hi.abs()).max(1.0);
                prop_assert!(lo - slack <= ci.lower && ci.lower <= ci.upper && ci.upper <= hi + slack);
                prop_assert_eq!(ci.resamples + ci.dropped, 50);
            }
        }
    }
}
