//! What a string value parses as: integer, float, boolean, date or timestamp.
//!
//! Each test is independent, so `"1"` counts as an integer and as a float, and `"2024-03-01"` as a
//! date only. The date and timestamp formats are the ones data engineers meet in CSV exports;
//! the list is [`DATE_FORMATS`] and [`TIMESTAMP_FORMATS`]. The common ISO shapes are recognised by
//! a byte-level check before chrono is asked, which keeps classification cheap on columns of
//! free text (the check rejects most values on their first bytes).

use chrono::{NaiveDate, NaiveDateTime};

/// Date formats tried, in order (chrono syntax).
pub const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
];

/// Timestamp formats tried after RFC 3339, in order (chrono syntax).
pub const TIMESTAMP_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
];

/// What one string parses as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parsed {
    /// A 64-bit integer (surrounding whitespace allowed).
    pub integer: bool,
    /// A finite or infinite float, `NaN` excluded (surrounding whitespace allowed).
    pub float: bool,
    /// `true`/`false`/`yes`/`no`/`t`/`f`/`y`/`n`, any case.
    pub boolean: bool,
    /// A calendar date in one of [`DATE_FORMATS`].
    pub date: bool,
    /// A date and time: RFC 3339 or one of [`TIMESTAMP_FORMATS`].
    pub timestamp: bool,
}

/// Classifies one value.
pub fn classify(value: &str) -> Parsed {
    let v = value.trim();
    if v.is_empty() {
        return Parsed::default();
    }
    let first = v.as_bytes()[0];
    let numeric_start = first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.');
    let integer = numeric_start && v.parse::<i64>().is_ok();
    // A float that starts with a letter is `inf` or `infinity` (any case): at most 8 bytes.
    let float = integer
        || (numeric_start || first.is_ascii_alphabetic() && v.len() <= 8)
            && v.parse::<f64>().is_ok_and(|f| !f.is_nan());
    let boolean = v.len() <= 5
        && matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "t" | "f" | "y" | "n"
        );
    let (date, timestamp) = if (6..=35).contains(&v.len()) && v.bytes().any(|b| b.is_ascii_digit()) && !integer {
        (is_date(v), is_timestamp(v))
    } else {
        (false, false)
    };
    Parsed {
        integer,
        float: float && !date,
        boolean,
        date,
        timestamp,
    }
}

fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        // `YYYY-MM-DD` in digits is what chrono would parse; only a valid calendar day is left
        // to check. Other shapes (signs, spaces) go to chrono.
        let digits = |r: std::ops::Range<usize>| {
            b[r].iter()
                .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
        };
        return match (digits(0..4), digits(5..7), digits(8..10)) {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d).is_some(),
            _ => NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok(),
        };
    }
    if b.len() > 12 && !b[0].is_ascii_alphabetic() && b.contains(&b':') {
        return false;
    }
    DATE_FORMATS.iter().any(|f| NaiveDate::parse_from_str(v, f).is_ok())
}

fn is_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 13 || !b.contains(&b':') {
        return false;
    }
    chrono::DateTime::parse_from_rfc3339(v).is_ok()
        || TIMESTAMP_FORMATS
            .iter()
            .any(|f| NaiveDateTime::parse_from_str(v, f).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_fast_path_agrees_with_chrono() {
        for y in [0, 1, 999, 1900, 2000, 2023, 2024, 9999] {
            for m in 0..=13 {
                for d in [0, 1, 28, 29, 30, 31, 32] {
                    let v = format!("{y:04}-{m:02}-{d:02}");
                    assert_eq!(is_date(&v), NaiveDate::parse_from_str(&v, "%Y-%m-%d").is_ok(), "{v}");
                }
            }
        }
    }

    #[test]
    fn classifies_the_usual_shapes() {
        let p = classify(" 42 ");
        assert!(p.integer && p.float && !p.boolean && !p.date && !p.timestamp);
        let p = classify("3.5e2");
        assert!(!p.integer && p.float);
        assert!(!classify("NaN").float);
        assert!(classify("inf").float);
        assert!(classify("Yes").boolean && classify("f").boolean && !classify("maybe").boolean);
        for d in [
            "2024-03-01",
            "03/01/2024",
            "01.03.2024",
            "1 Mar 2024",
            "Mar 1, 2024",
            "01-Mar-2024",
        ] {
            let p = classify(d);
            assert!(p.date && !p.timestamp && !p.float, "{d}: {p:?}");
        }
        for t in [
            "2024-03-01T10:00:00Z",
            "2024-03-01 10:00:00",
            "2024-03-01 10:00:00.123",
            "03/01/2024 10:00",
        ] {
            let p = classify(t);
            assert!(p.timestamp && !p.date, "{t}: {p:?}");
        }
        assert_eq!(classify("coffee shop downtown"), Parsed::default());
        assert!(!classify("2024-13-01").date, "month 13 is not a date");
        assert!(
            !classify("2023-02-29").date && classify("2024-02-29").date,
            "leap years"
        );
        assert!(!classify("2024-00-10").date && !classify("2024-01-00").date);
        assert_eq!(classify(""), Parsed::default());
    }
}
