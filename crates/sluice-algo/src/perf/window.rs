//! Cutting labelled rows into time windows and scoring each window.
//!
//! A row's time is an `i64`: epoch seconds, or a batch index. Two ways to cut:
//!
//! | [`WindowSpec`]  | window `k` holds rows with time in              | empty windows                      |
//! |-----------------|--------------------------------------------------|------------------------------------|
//! | `width`         | `[origin + k width, origin + (k+1) width)`        | kept between the first and last row |
//! | `equal_count`   | the `k`-th of `count` runs of rows in time order  | never                              |
//!
//! Fixed-width windows are aligned to `origin` (default 0, so `width = 86400` gives UTC days):
//! the same row lands in the same window on every run, whatever else is in the table. Empty
//! windows between the first and last are reported (with undefined metrics) so a gap in the
//! labels is visible rather than silently skipped.
//!
//! Equal-count windows follow numpy's `array_split` sizes (the first `n % count` windows hold one
//! extra row), except that rows with the same time are never split across two windows: a cut
//! that falls inside a run of equal times moves to the end of the run. With many ties this gives
//! fewer or unequal windows; a time value (one batch) stays whole.
//!
//! Invariant: windows are returned in time order, do not overlap, and every row is in exactly
//! one window; [`WindowBounds`] is half-open `[start, end)`.

use serde::{Deserialize, Serialize};

use super::classification::{ClassificationConfig, ClassificationData, ClassificationReport, classification_report};
use super::regression::{RegressionConfig, RegressionReport, regression_report};
use crate::error::{Error, Result};

/// Most windows one call may create; a finer cut is almost surely a wrong `width` unit.
pub const MAX_WINDOWS: u64 = 1_000_000;

/// How rows are cut into windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WindowSpec {
    /// Fixed-width windows aligned to `origin`.
    Width {
        /// Window width in time units (seconds, or batches), > 0.
        width: i64,
        /// A window boundary (default 0: aligned to the epoch or to batch 0).
        #[serde(default)]
        origin: i64,
    },
    /// `count` windows of (nearly) equal row counts in time order.
    EqualCount {
        /// Number of windows, > 0.
        count: usize,
    },
}

/// Where a window lies, without its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowBounds {
    /// Position of the window, 0-based, in time order.
    pub index: usize,
    /// First time of the window (inclusive).
    pub start: i64,
    /// End of the window (exclusive).
    pub end: i64,
    /// Rows in the window.
    pub rows: usize,
}

/// A window and the positions of its rows in the input (ascending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Where the window lies.
    pub bounds: WindowBounds,
    /// Input row positions, ascending.
    pub rows: Vec<usize>,
}

/// One window's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport<R> {
    /// The window.
    pub window: WindowBounds,
    /// Its metrics.
    pub report: R,
}

/// Cuts rows with `times` into windows (see the module docs). No rows give no windows.
pub fn assign_windows(times: &[i64], spec: &WindowSpec) -> Result<Vec<Window>> {
    match *spec {
        WindowSpec::Width { width, origin } => fixed_width(times, width, origin),
        WindowSpec::EqualCount { count } => equal_count(times, count),
    }
}

fn fixed_width(times: &[i64], width: i64, origin: i64) -> Result<Vec<Window>> {
    if width <= 0 {
        return Err(Error::Invalid {
            what: "window width",
            detail: format!("got {width}; use a positive width in the time's unit (86400 = one day in seconds)"),
        });
    }
    let key = |t: i64| (i128::from(t) - i128::from(origin)).div_euclid(i128::from(width));
    let (Some(&lo), Some(&hi)) = (times.iter().min(), times.iter().max()) else {
        return Ok(Vec::new());
    };
    let (first, last) = (key(lo), key(hi));
    let count = (last - first + 1) as u128;
    if count > u128::from(MAX_WINDOWS) {
        return Err(Error::Invalid {
            what: "window width",
            detail: format!(
                "times {lo}..{hi} in windows of {width} make {count} windows (at most {MAX_WINDOWS}); \
                 use a wider window, and check that the time unit matches (seconds, not milliseconds)"
            ),
        });
    }
    let mut rows = vec![Vec::new(); count as usize];
    for (r, &t) in times.iter().enumerate() {
        rows[(key(t) - first) as usize].push(r);
    }
    let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(k, rows)| {
            let start = i128::from(origin) + (first + k as i128) * i128::from(width);
            Window {
                bounds: WindowBounds {
                    index: k,
                    start: clamp(start),
                    end: clamp(start + i128::from(width)),
                    rows: rows.len(),
                },
                rows,
            }
        })
        .collect())
}

fn equal_count(times: &[i64], count: usize) -> Result<Vec<Window>> {
    if count == 0 {
        return Err(Error::Invalid {
            what: "window count",
            detail: "got 0; ask for at least one window".to_string(),
        });
    }
    let n = times.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&r| times[r]);
    let (q, rem) = (n / count, n % count);
    let mut cuts = Vec::with_capacity(count + 1);
    cuts.push(0);
    for i in 1..count {
        let mut cut = (i * q + i.min(rem)).max(*cuts.last().expect("starts with 0"));
        while cut > 0 && cut < n && times[order[cut]] == times[order[cut - 1]] {
            cut += 1;
        }
        cuts.push(cut);
    }
    cuts.push(n);
    let mut windows = Vec::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a >= b {
            continue;
        }
        let mut rows = order[a..b].to_vec();
        rows.sort_unstable();
        windows.push(Window {
            bounds: WindowBounds {
                index: windows.len(),
                start: times[order[a]],
                end: times[order[b - 1]].saturating_add(1),
                rows: rows.len(),
            },
            rows,
        });
    }
    Ok(windows)
}

/// Classification metrics per window of `data` cut by `times`.
pub fn classification_windows(
    data: &ClassificationData,
    times: &[i64],
    spec: &WindowSpec,
    config: &ClassificationConfig,
) -> Result<Vec<WindowReport<ClassificationReport>>> {
    if times.len() != data.len() {
        return Err(Error::LengthMismatch {
            what: "times vs rows",
            left: times.len(),
            right: data.len(),
        });
    }
    assign_windows(times, spec)?
        .into_iter()
        .map(|w| {
            Ok(WindowReport {
                window: w.bounds,
                report: classification_report(&data.select(&w.rows), config)?,
            })
        })
        .collect()
}

/// Regression metrics per window of rows cut by `times`.
pub fn regression_windows(
    truth: &[f64],
    predicted: &[f64],
    times: &[i64],
    spec: &WindowSpec,
    config: &RegressionConfig,
) -> Result<Vec<WindowReport<RegressionReport>>> {
    if times.len() != truth.len() {
        return Err(Error::LengthMismatch {
            what: "times vs rows",
            left: times.len(),
            right: truth.len(),
        });
    }
    if truth.len() != predicted.len() {
        return Err(Error::LengthMismatch {
            what: "truth vs predictions",
            left: truth.len(),
            right: predicted.len(),
        });
    }
    assign_windows(times, spec)?
        .into_iter()
        .map(|w| {
            let t: Vec<f64> = w.rows.iter().map(|&r| truth[r]).collect();
            let p: Vec<f64> = w.rows.iter().map(|&r| predicted[r]).collect();
            Ok(WindowReport {
                window: w.bounds,
                report: regression_report(&t, &p, config)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::{Metric, Probabilities};

    fn rows_of(w: &[Window]) -> Vec<Vec<usize>> {
        w.iter().map(|w| w.rows.clone()).collect()
    }

    #[test]
    fn fixed_width_aligns_to_origin_and_keeps_gaps() {
        // Days of 86400 s: rows on day 0, day 0, day 2 (day 1 empty), and a negative time.
        let times = [100, 86_399, 2 * 86_400 + 5, -1];
        let w = assign_windows(
            &times,
            &WindowSpec::Width {
                width: 86_400,
                origin: 0,
            },
        )
        .unwrap();
        assert_eq!(rows_of(&w), vec![vec![3], vec![0, 1], vec![], vec![2]]);
        assert_eq!(
            w[0].bounds,
            WindowBounds {
                index: 0,
                start: -86_400,
                end: 0,
                rows: 1
            }
        );
        assert_eq!(
            (w[2].bounds.start, w[2].bounds.end, w[2].bounds.rows),
            (86_400, 172_800, 0)
        );
        // A shifted origin moves the boundaries, not the rows' order.
        let w = assign_windows(&[0, 4, 5, 9], &WindowSpec::Width { width: 5, origin: 2 }).unwrap();
        assert_eq!(rows_of(&w), vec![vec![0], vec![1, 2], vec![3]]);
        assert_eq!(w[0].bounds.start, -3);
    }

    #[test]
    fn fixed_width_errors() {
        let e = assign_windows(&[0], &WindowSpec::Width { width: 0, origin: 0 })
            .unwrap_err()
            .to_string();
        assert!(e.contains("positive width"), "{e}");
        let e = assign_windows(&[0, 1_700_000_000_000], &WindowSpec::Width { width: 60, origin: 0 })
            .unwrap_err()
            .to_string();
        assert!(e.contains("seconds, not milliseconds"), "{e}");
        assert!(
            assign_windows(&[], &WindowSpec::Width { width: 1, origin: 0 })
                .unwrap()
                .is_empty()
        );
        // Extreme times do not overflow.
        let w = assign_windows(&[i64::MIN, i64::MIN + 1], &WindowSpec::Width { width: 10, origin: 3 }).unwrap();
        assert_eq!(w.iter().map(|w| w.bounds.rows).sum::<usize>(), 2);
    }

    #[test]
    fn equal_count_follows_array_split_and_keeps_ties() {
        // 7 rows in 3 windows: sizes 3, 2, 2 (numpy.array_split(range(7), 3)).
        let times = [6, 0, 5, 1, 4, 2, 3];
        let w = assign_windows(&times, &WindowSpec::EqualCount { count: 3 }).unwrap();
        assert_eq!(rows_of(&w), vec![vec![1, 3, 5], vec![4, 6], vec![0, 2]]);
        assert_eq!((w[1].bounds.start, w[1].bounds.end), (3, 5));
        // Batch indices with ties: 2 windows of 6 rows would cut batch 1; the cut moves past it.
        let times = [0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2];
        let w = assign_windows(&times, &WindowSpec::EqualCount { count: 2 }).unwrap();
        assert_eq!(rows_of(&w), vec![(0..7).collect::<Vec<_>>(), (7..12).collect()]);
        // All one batch: one window, however many were asked for.
        let w = assign_windows(&[5; 4], &WindowSpec::EqualCount { count: 3 }).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].bounds,
            WindowBounds {
                index: 0,
                start: 5,
                end: 6,
                rows: 4
            }
        );
        // Fewer rows than windows: one row each.
        assert_eq!(
            assign_windows(&[3, 1], &WindowSpec::EqualCount { count: 5 })
                .unwrap()
                .len(),
            2
        );
        assert!(assign_windows(&[1], &WindowSpec::EqualCount { count: 0 }).is_err());
    }

    #[test]
    fn spec_from_toml() {
        let s: WindowSpec = toml::from_str("kind = \"width\"\nwidth = 86400").unwrap();
        assert_eq!(
            s,
            WindowSpec::Width {
                width: 86_400,
                origin: 0
            }
        );
        let s: WindowSpec = toml::from_str("kind = \"equal_count\"\ncount = 4").unwrap();
        assert_eq!(s, WindowSpec::EqualCount { count: 4 });
        let e = toml::from_str::<WindowSpec>("kind = \"width\"\nwidth = 10\nwindows = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `windows`"), "{e}");
    }

    #[test]
    fn metrics_per_window() {
        // Batch 0: all correct; batch 1: empty (gap); batch 2: half wrong.
        let labels = ["1", "0", "1", "0", "1", "0", "1", "0"];
        let predicted = ["1", "0", "1", "0", "0", "1", "1", "0"];
        let times = [0, 0, 0, 0, 2, 2, 2, 2];
        let d = ClassificationData::from_labels(&labels, &predicted, Probabilities::None, None).unwrap();
        let spec = WindowSpec::Width { width: 1, origin: 0 };
        let r = classification_windows(&d, &times, &spec, &ClassificationConfig::default()).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].report.accuracy.value(), Some(1.0));
        assert_eq!(r[1].window.rows, 0);
        assert_eq!(r[1].report.accuracy, Metric::undefined("no rows in this window"));
        assert_eq!(r[2].report.accuracy.value(), Some(0.5));
        assert!(classification_windows(&d, &times[1..], &spec, &ClassificationConfig::default()).is_err());

        let rr = regression_windows(
            &[1.0, 2.0, 3.0],
            &[1.0, 2.5, 5.0],
            &[0, 1, 1],
            &spec,
            &RegressionConfig::default(),
        )
        .unwrap();
        assert_eq!(rr[0].report.mae.value(), Some(0.0));
        assert_eq!(rr[1].report.mae.value(), Some(1.25));
        assert!(regression_windows(&[1.0], &[1.0], &[0, 1], &spec, &RegressionConfig::default()).is_err());
    }
}
