//! Counting a batch of strings by distinct value, so each distinct string's facts (length,
//! blank or not, what it parses as) are worked out and its hash added to the HLL sketch once per
//! batch instead of once per row.
//!
//! [`StringHints`] rides beside a [`crate::ColumnState`] and is never part of the profile (not
//! encoded, merged or cloned): it only carries what the last batch showed about the column
//! (how many distinct values, whether long strings repeat as identical views) to choose how the
//! next batch is counted.
//!
//! Remembering facts across batches (a bounded map of strings already seen) was tried and
//! dropped: alone it halved the time of medium-cardinality columns, but in a 20-column profile
//! its map competed for cache with the other columns' work and the total did not improve.

use arrow::array::{Array, StringViewArray};
use datafusion::common::HashMap;
use datasketches::hll::HllSketch;

use crate::parse::{Parsed, classify};

/// What is known about one distinct string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Length in characters.
    pub chars: u32,
    /// How the string counts.
    pub kind: Blank,
    /// What it parses as (all false for blanks).
    pub parsed: Parsed,
}

/// Empty, whitespace only, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blank {
    Empty,
    Whitespace,
    No,
}

impl Facts {
    fn of(s: &str) -> Facts {
        // ASCII (most text) is one byte per character; checking is cheaper than counting.
        let chars = if s.is_ascii() { s.len() } else { s.chars().count() } as u32;
        let (kind, parsed) = if s.is_empty() {
            (Blank::Empty, Parsed::default())
        } else if s.bytes().all(|b| b.is_ascii_whitespace()) || s.trim().is_empty() {
            (Blank::Whitespace, Parsed::default())
        } else {
            (Blank::No, classify(s))
        };
        Facts { chars, kind, parsed }
    }
}

/// What the last batch showed about a string column; see the module docs.
#[derive(Default)]
pub(crate) struct StringHints {
    /// Distinct values in the last batch: the size the next batch's maps start at.
    last_distinct: usize,
    /// Long strings of this column have stopped repeating as identical views, so they are
    /// counted by text (see [`count_views`]).
    long_by_text: bool,
}

impl Clone for StringHints {
    /// Hints, not data: a copy starts afresh.
    fn clone(&self) -> Self {
        StringHints::default()
    }
}

impl std::fmt::Debug for StringHints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StringHints")
    }
}

impl StringHints {
    /// The facts of each distinct string of a batch, in the order given, adding each string to
    /// `hll` (once per batch: the sketch ignores repeats, so this is the per-row result).
    pub fn facts(&mut self, distinct: &[(&str, u64)], hll: &mut HllSketch) -> Vec<Facts> {
        self.last_distinct = distinct.len();
        distinct
            .iter()
            .map(|&(s, _)| {
                hll.update(s);
                Facts::of(s)
            })
            .collect()
    }

    fn map_capacity(&self, len: usize) -> usize {
        (self.last_distinct + self.last_distinct / 4 + 16).min(len)
    }
}

/// A batch's distinct strings with their counts.
pub(crate) fn count_strs<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    hints: &StringHints,
) -> Vec<(&'a str, u64)> {
    let mut counts: HashMap<&'a str, u64> = HashMap::with_capacity(hints.map_capacity(values.size_hint().0));
    for s in values.flatten() {
        *counts.entry(s).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

/// A batch's distinct strings with their counts, for a string view array.
///
/// A string of up to 12 bytes is stored inside its 16-byte view, so the view is the whole key
/// and is counted as one 128-bit integer (cheaper to hash and compare than the text; most
/// categorical values are this short). A longer string's view points into a data buffer:
/// equal views are the same bytes at the same place, which is how every row of one Parquet
/// dictionary entry decodes, so such columns are counted by view first and only the distinct
/// views grouped by text (one string can also sit at two places). Once a batch shows long views
/// that do not repeat (free text, or a Parquet writer that gave up its dictionary, as writers do
/// past a dictionary size limit), the column's long strings are counted by text directly.
pub(crate) fn count_views<'a>(array: &'a StringViewArray, hints: &mut StringHints) -> Vec<(&'a str, u64)> {
    let views = array.views();
    let by_view_long = !hints.long_by_text;
    let cap = hints.map_capacity(views.len());
    // View -> (count, a row that has it).
    let mut by_view: HashMap<u128, (u64, u32)> = HashMap::with_capacity(cap);
    let mut by_text: HashMap<&str, u64> = HashMap::with_capacity(if by_view_long { 0 } else { cap });
    let mut long_rows = 0u64;
    let mut add = |i: usize| {
        let view = views[i];
        let long = view as u32 > 12;
        long_rows += u64::from(long);
        if !long || by_view_long {
            by_view.entry(view).or_insert((0, i as u32)).0 += 1;
        } else {
            *by_text.entry(array.value(i)).or_insert(0) += 1;
        }
    };
    match array.nulls().filter(|n| n.null_count() > 0) {
        None => (0..views.len()).for_each(&mut add),
        Some(nulls) => nulls.valid_indices().for_each(&mut add),
    }
    let mut out = Vec::with_capacity(by_view.len() + by_text.len());
    let mut long_views = 0u64;
    for (view, (count, row)) in by_view {
        let s = array.value(row as usize);
        if view as u32 <= 12 {
            out.push((s, count));
        } else {
            long_views += 1;
            *by_text.entry(s).or_insert(0) += count;
        }
    }
    if by_view_long && long_views * 2 > long_rows {
        // Most long views were distinct: no dictionary sharing (any more), count by text.
        hints.long_by_text = true;
    }
    out.extend(by_text);
    out
}

#[cfg(test)]
mod tests {
    use datasketches::hll::HllType;

    use super::*;

    #[test]
    fn facts_of_distinct_strings() {
        let mut hints = StringHints::default();
        let mut hll = HllSketch::new(12, HllType::Hll8).unwrap();
        let batch = [("2024-03-01", 3), ("", 1), ("  ", 2), ("Zürich", 1)];
        let facts = hints.facts(&batch, &mut hll);
        assert_eq!(facts[0].kind, Blank::No);
        assert!(facts[0].parsed.date);
        assert_eq!((facts[1].kind, facts[2].kind), (Blank::Empty, Blank::Whitespace));
        assert_eq!(facts[3].chars, 6);
        assert_eq!(hll.estimate().round(), 4.0);
        assert_eq!(hints.map_capacity(10_000), 4 + 1 + 16);
    }

    #[test]
    fn long_views_are_grouped_by_text() {
        // The builder stores each long string anew: equal texts at different places.
        let long = "a string longer than twelve bytes";
        let values: Vec<Option<&str>> = (0..3000)
            .map(|i| Some(if i % 3 == 0 { long } else { "short" }))
            .collect();
        let array = StringViewArray::from(values);
        let mut hints = StringHints::default();
        for _ in 0..3 {
            let mut counts = count_views(&array, &mut hints);
            counts.sort();
            assert_eq!(counts, vec![(long, 1000), ("short", 2000)]);
        }
        // Every long row had its own view, so the column is counted by text from then on.
        assert!(hints.long_by_text);
    }
}
