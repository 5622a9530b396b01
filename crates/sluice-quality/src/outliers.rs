//! Robust outlier rules for a numeric column.
//!
//! * **Modified z-score** (Iglewicz & Hoaglin 1993, *How to Detect and Handle Outliers*, ASQC, ch. 3):
//!   `M_i = 0.6745 (x_i - median) / MAD`, with `MAD = median |x_i - median|`; a value is an outlier when
//!   `|M_i| > 3.5`, their recommended cutoff. 0.6745 is the 0.75 quantile of the standard normal, so `M` is
//!   on the scale of a z-score for normal data. When more than half the values are equal (`MAD = 0`), the
//!   mean absolute deviation is used instead, `M_i = (x_i - median) / (1.253314 MeanAD)` (1.253314 =
//!   sqrt(pi/2), the normal-consistency constant of the mean absolute deviation), as IBM SPSS Modeler and
//!   most references do; if that is 0 too, every value equals the median and nothing is an outlier.
//! * **IQR fences** (Tukey 1977, *Exploratory Data Analysis*): outside `[Q1 - 1.5 IQR, Q3 + 1.5 IQR]`, with
//!   quartiles by linear interpolation between order statistics (Hyndman & Fan type 7, the default of
//!   numpy, R and pandas).
//!
//! The modified z-score is the finding's rule (its rows are the finding's rows); the IQR count is reported
//! beside it, and so is the number of values both rules flag. NaN and infinite values are not numbers here:
//! NaN counts as missing, infinities are left to the range checks of a suite.

/// The cutoff of `|M|` recommended by Iglewicz and Hoaglin.
pub const Z_CUTOFF: f64 = 3.5;
/// Tukey's fence multiplier.
pub const IQR_K: f64 = 1.5;

/// The rules' statistics and verdicts on one column.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierStats {
    /// Median.
    pub median: f64,
    /// Median absolute deviation.
    pub mad: f64,
    /// First quartile.
    pub q1: f64,
    /// Third quartile.
    pub q3: f64,
    /// Lower fence.
    pub lower_fence: f64,
    /// Upper fence.
    pub upper_fence: f64,
    /// Rows flagged by the modified z-score, with the value and its score.
    pub mad_rows: Vec<(u64, f64, f64)>,
    /// Values outside the fences.
    pub iqr_outliers: u64,
    /// Values flagged by both rules.
    pub both: u64,
}

/// Quantile `p` of sorted `x` by linear interpolation (Hyndman & Fan type 7).
pub fn quantile_sorted(x: &[f64], p: f64) -> f64 {
    let h = (x.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(x.len() - 1);
    x[lo] + (h - lo as f64) * (x[hi] - x[lo])
}

/// Applies both rules to `values` (`(row, value)`, finite values only); `None` if there are fewer than
/// 3 values.
pub fn detect(values: &[(u64, f64)], z_cutoff: f64, iqr_k: f64) -> Option<OutlierStats> {
    if values.len() < 3 {
        return None;
    }
    let mut sorted: Vec<f64> = values.iter().map(|v| v.1).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    let median = quantile_sorted(&sorted, 0.5);
    let q1 = quantile_sorted(&sorted, 0.25);
    let q3 = quantile_sorted(&sorted, 0.75);
    let mut dev: Vec<f64> = sorted.iter().map(|x| (x - median).abs()).collect();
    dev.sort_unstable_by(f64::total_cmp);
    let mad = quantile_sorted(&dev, 0.5);
    let scale = if mad > 0.0 {
        mad / 0.6745
    } else {
        1.253314 * dev.iter().sum::<f64>() / dev.len() as f64
    };
    let iqr = q3 - q1;
    let (lower_fence, upper_fence) = (q1 - iqr_k * iqr, q3 + iqr_k * iqr);
    let mut mad_rows = Vec::new();
    let (mut iqr_outliers, mut both) = (0, 0);
    for &(row, x) in values {
        let z = if scale > 0.0 { (x - median) / scale } else { 0.0 };
        let by_mad = z.abs() > z_cutoff;
        let by_iqr = x < lower_fence || x > upper_fence;
        if by_mad {
            mad_rows.push((row, x, z));
        }
        iqr_outliers += u64::from(by_iqr);
        both += u64::from(by_mad && by_iqr);
    }
    Some(OutlierStats {
        median,
        mad,
        q1,
        q3,
        lower_fence,
        upper_fence,
        mad_rows,
        iqr_outliers,
        both,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[f64]) -> Vec<(u64, f64)> {
        v.iter().enumerate().map(|(i, x)| (i as u64, *x)).collect()
    }

    #[test]
    fn quartiles_match_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [25, 50, 75]) = [3.25, 5.5, 7.75]
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_sorted(&x, 0.25), 3.25);
        assert_eq!(quantile_sorted(&x, 0.5), 5.5);
        assert_eq!(quantile_sorted(&x, 0.75), 7.75);
    }

    #[test]
    fn iglewicz_hoaglin_example() {
        // Worked by hand: median 5.5, |x - 5.5| sorted = .5 .5 1.5 1.5 2.5 2.5 3.5 94.5 -> MAD 2;
        // M(100) = 0.6745 * 94.5 / 2 = 31.9 > 3.5; M(2) = 0.6745 * 3.5 / 2 = 1.18.
        let v = rows(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0]);
        let s = detect(&v, Z_CUTOFF, IQR_K).unwrap();
        assert_eq!(s.median, 5.5);
        assert_eq!(s.mad_rows.len(), 1);
        assert_eq!(s.mad_rows[0].0, 7);
        assert!((s.mad_rows[0].2 - 0.6745 * 94.5 / 2.0).abs() < 1e-9);
        // Fences: q1 = 3.75, q3 = 7.25, IQR 3.5 -> [-1.5, 12.5]
        assert_eq!((s.q1, s.q3), (3.75, 7.25));
        assert_eq!((s.lower_fence, s.upper_fence), (-1.5, 12.5));
        assert_eq!(s.iqr_outliers, 1);
        assert_eq!(s.both, 1);
    }

    #[test]
    fn zero_mad_falls_back_to_mean_absolute_deviation() {
        let mut v = vec![10.0; 20];
        v.push(11.0);
        v.push(50.0);
        let s = detect(&rows(&v), Z_CUTOFF, IQR_K).unwrap();
        assert_eq!(s.mad, 0.0);
        // MeanAD = 41/22; M(50) = 40 / (1.253314 * 41/22) = 17.1; M(11) = 0.43.
        assert_eq!(s.mad_rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![21]);
        let constant = detect(&rows(&[3.0; 10]), Z_CUTOFF, IQR_K).unwrap();
        assert!(constant.mad_rows.is_empty() && constant.iqr_outliers == 0);
        assert!(detect(&rows(&[1.0, 2.0]), Z_CUTOFF, IQR_K).is_none());
    }
}
