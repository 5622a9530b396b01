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

use arrow::array::{AnyDictionaryArray, Array, ArrayData, ArrayRef, AsArray, StringViewArray};
use arrow::datatypes::DataType;
use datafusion::common::HashMap;
use datasketches::hll::{Coupon, HllSketch};

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
        } else if !s.as_bytes()[0].is_ascii_whitespace() && s.as_bytes()[0].is_ascii()
            || !(s.bytes().all(|b| b.is_ascii_whitespace()) || s.trim().is_empty())
        {
            // Starts with a visible ASCII character, or has something besides whitespace.
            (Blank::No, classify(s))
        } else {
            (Blank::Whitespace, Parsed::default())
        };
        Facts { chars, kind, parsed }
    }
}

/// How a string becomes its HLL coupon: a stored profile says which, since sketches whose
/// strings were hashed differently cannot be merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringHash {
    /// DataSketches' own hashing of the string (MurmurHash3 over its bytes): profiles stored in
    /// state format 1.
    Murmur,
    /// XXH3-64 of the string's bytes, then DataSketches' hashing of that 64-bit value: format 2.
    /// XXH3 runs several times faster than MurmurHash3 over long strings (free text), and its
    /// output is fixed by its specification, so stored sketches stay mergeable across releases.
    Xxh3,
}

impl StringHash {
    /// The coupon of `s` (see [`Counted`], which hashes as it counts).
    #[inline]
    pub fn coupon(self, s: &str) -> Coupon {
        self.coupon_hashed(s, || xxhash_rust::xxh3::xxh3_64(s.as_bytes()))
    }

    /// The coupon of `s`, whose XXH3-64 hash `xxh3` gives (computed only when it is used).
    #[inline]
    fn coupon_hashed(self, s: &str, xxh3: impl FnOnce() -> u64) -> Coupon {
        match self {
            StringHash::Murmur => Coupon::from_value(s),
            StringHash::Xxh3 => Coupon::from_value(xxh3()),
        }
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
    /// The dictionary the last dictionary-encoded batch used, with what is known of its entries.
    dict: Option<DictMemo>,
}

/// A dictionary's entries with their facts, kept while batches keep using the same dictionary
/// (every batch decoded from one Parquet column chunk shares the chunk's dictionary), so each
/// entry's facts are worked out and its hash added to the HLL sketch once per dictionary.
struct DictMemo {
    /// The dictionary's data: holding its buffers keeps their addresses from being reused by
    /// another dictionary while the memo is keyed by them.
    values: ArrayData,
    /// Facts of the entries seen so far (`None`: not used yet).
    facts: Vec<Option<Facts>>,
    /// For a dictionary that holds one text at several entries (no writer Sluice knows does
    /// this, but the format allows it): each entry's first entry with the same text.
    canonical: Option<Vec<u32>>,
    /// Per-entry counts of the batch being counted (all zero between batches).
    counts: Vec<u64>,
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
    pub fn facts(&mut self, distinct: &Counted<'_>, hll: &mut HllSketch, hash: StringHash) -> Vec<Facts> {
        self.last_distinct = distinct.strs.len();
        distinct
            .strs
            .iter()
            .zip(&distinct.hashes)
            .map(|(&(s, _), &h)| {
                hll.update_with_coupon(hash.coupon_hashed(s, || h));
                Facts::of(s)
            })
            .collect()
    }

    fn map_capacity(&self, len: usize) -> usize {
        (self.last_distinct + self.last_distinct / 4 + 16).min(len)
    }
}

/// The string values of a dictionary, whatever their string type.
enum DictValues<'a> {
    Utf8(&'a arrow::array::StringArray),
    Large(&'a arrow::array::LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> DictValues<'a> {
    fn of(values: &'a ArrayRef) -> Option<DictValues<'a>> {
        Some(match values.data_type() {
            DataType::Utf8 => DictValues::Utf8(values.as_string::<i32>()),
            DataType::LargeUtf8 => DictValues::Large(values.as_string::<i64>()),
            DataType::Utf8View => DictValues::View(values.as_string_view()),
            _ => return None,
        })
    }

    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            DictValues::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            DictValues::Large(a) => a.is_valid(i).then(|| a.value(i)),
            DictValues::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// A dictionary batch's distinct non-null strings with their counts, and their facts.
pub(crate) type DictCounts<'a> = (Vec<(&'a str, u64)>, Vec<Facts>);

/// A batch of a dictionary-encoded string column, counted by key: the distinct non-null strings
/// with their counts, and their facts. Counting is an array increment per row (no hashing);
/// facts and the HLL update happen once per dictionary entry while batches share a dictionary
/// (see [`DictMemo`]). `None` when the dictionary's values are not strings.
pub(crate) fn count_dictionary<'a>(
    array: &'a dyn AnyDictionaryArray,
    hints: &mut StringHints,
    hll: &mut HllSketch,
    hash: StringHash,
) -> Option<DictCounts<'a>> {
    let values = array.values();
    let strs = DictValues::of(values)?;
    // A Parquet reader hands out a new dictionary array per batch over the same buffers, so the
    // buffers (pointers, offsets and lengths) say whether it is the same dictionary.
    let data = values.to_data();
    let mut memo = match hints.dict.take() {
        Some(m) if m.values.ptr_eq(&data) => m,
        _ => DictMemo {
            values: data,
            facts: vec![None; values.len()],
            canonical: canonical_entries(&strs, values.len()),
            counts: vec![0; values.len()],
        },
    };
    let mut used: Vec<u32> = Vec::new();
    let mut add = |k: usize| {
        let k = memo.canonical.as_ref().map_or(k, |c| c[k] as usize);
        let c = &mut memo.counts[k];
        if *c == 0 {
            used.push(k as u32);
        }
        *c += 1;
    };
    // Parquet dictionaries decode with Int32 keys: read in place; other key types normalised.
    let int32 = array
        .as_any()
        .downcast_ref::<arrow::array::DictionaryArray<arrow::datatypes::Int32Type>>();
    match (int32, array.keys().nulls().filter(|n| n.null_count() > 0)) {
        (Some(d), None) => d.keys().values().iter().for_each(|&k| add(k as usize)),
        (Some(d), Some(nulls)) => {
            let keys = d.keys().values();
            nulls.valid_indices().for_each(|i| add(keys[i] as usize));
        }
        (None, None) => array.normalized_keys().into_iter().for_each(&mut add),
        (None, Some(nulls)) => {
            let keys = array.normalized_keys();
            nulls.valid_indices().for_each(|i| add(keys[i]));
        }
    }
    let mut counts = Vec::with_capacity(used.len());
    let mut facts = Vec::with_capacity(used.len());
    for k in used {
        let k = k as usize;
        let c = std::mem::take(&mut memo.counts[k]);
        // A null entry: the row is null (counted by the caller's logical null count).
        let Some(s) = strs.get(k) else { continue };
        let f = *memo.facts[k].get_or_insert_with(|| {
            hll.update_with_coupon(hash.coupon(s));
            Facts::of(s)
        });
        counts.push((s, c));
        facts.push(f);
    }
    hints.last_distinct = counts.len();
    hints.dict = Some(memo);
    Some((counts, facts))
}

/// Each entry's first entry with the same text, when some text appears twice; `None` otherwise.
fn canonical_entries(strs: &DictValues<'_>, len: usize) -> Option<Vec<u32>> {
    let mut first: HashMap<&str, u32> = HashMap::with_capacity(len);
    let mut canonical: Option<Vec<u32>> = None;
    for i in 0..len {
        let Some(s) = strs.get(i) else { continue };
        let f = *first.entry(s).or_insert(i as u32);
        if f as usize != i {
            canonical.get_or_insert_with(|| (0..len as u32).collect())[i] = f;
        }
    }
    canonical
}

/// A batch's distinct strings with their counts and XXH3-64 hashes, in the order first seen.
#[derive(Default)]
pub(crate) struct Counted<'a> {
    /// Each distinct string with its count.
    pub strs: Vec<(&'a str, u64)>,
    /// XXH3-64 of each string's bytes (its HLL input in state format 2).
    pub hashes: Vec<u64>,
    /// Index of each string in `strs`, by hash.
    table: hashbrown::HashTable<u32>,
}

impl<'a> Counted<'a> {
    fn with_capacity(n: usize) -> Counted<'a> {
        Counted {
            strs: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            table: hashbrown::HashTable::with_capacity(n),
        }
    }

    /// Counts `s` `n` more times. Strings are hashed once, with the hash the HLL sketch takes,
    /// and listed in the order first seen: that is their order in memory, so working out their
    /// facts afterwards reads the batch's string buffers front to back instead of at random.
    #[inline]
    fn add(&mut self, s: &'a str, n: u64) {
        let h = xxhash_rust::xxh3::xxh3_64(s.as_bytes());
        let Counted { strs, hashes, table } = self;
        match table.find(h, |&i| strs[i as usize].0 == s) {
            Some(&i) => strs[i as usize].1 += n,
            None => {
                table.insert_unique(h, strs.len() as u32, |&i| hashes[i as usize]);
                strs.push((s, n));
                hashes.push(h);
            }
        }
    }
}

/// A batch's distinct strings with their counts.
pub(crate) fn count_strs<'a>(values: impl Iterator<Item = Option<&'a str>>, hints: &StringHints) -> Counted<'a> {
    let mut counts = Counted::with_capacity(hints.map_capacity(values.size_hint().0));
    for s in values.flatten() {
        counts.add(s, 1);
    }
    counts
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
pub(crate) fn count_views<'a>(array: &'a StringViewArray, hints: &mut StringHints) -> Counted<'a> {
    let views = array.views();
    let by_view_long = !hints.long_by_text;
    let cap = hints.map_capacity(views.len());
    // View -> (count, a row that has it).
    let mut by_view: HashMap<u128, (u64, u32)> = HashMap::with_capacity(if by_view_long { cap } else { 64 });
    let mut out = Counted::with_capacity(cap);
    let mut long_rows = 0u64;
    let mut add = |i: usize| {
        let view = views[i];
        let long = view as u32 > 12;
        long_rows += u64::from(long);
        if !long || by_view_long {
            by_view.entry(view).or_insert((0, i as u32)).0 += 1;
        } else {
            out.add(array.value(i), 1);
        }
    };
    match array.nulls().filter(|n| n.null_count() > 0) {
        None => (0..views.len()).for_each(&mut add),
        Some(nulls) => nulls.valid_indices().for_each(&mut add),
    }
    let mut long_views = 0u64;
    for (view, (count, row)) in by_view {
        long_views += u64::from(view as u32 > 12);
        out.add(array.value(row as usize), count);
    }
    if by_view_long && long_views * 2 > long_rows {
        // Most long views were distinct: no dictionary sharing (any more), count by text.
        hints.long_by_text = true;
    }
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
        let mut batch = Counted::default();
        for (s, n) in [("2024-03-01", 3), ("", 1), ("  ", 2), ("Zürich", 1), ("", 2)] {
            batch.add(s, n);
        }
        // Counted once each, in the order first seen, with their XXH3 hashes.
        assert_eq!(batch.strs, [("2024-03-01", 3), ("", 3), ("  ", 2), ("Zürich", 1)]);
        assert_eq!(batch.hashes[3], xxhash_rust::xxh3::xxh3_64("Zürich".as_bytes()));
        let facts = hints.facts(&batch, &mut hll, StringHash::Xxh3);
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
            let mut counts = count_views(&array, &mut hints).strs;
            counts.sort();
            assert_eq!(counts, vec![(long, 1000), ("short", 2000)]);
        }
        // Every long row had its own view, so the column is counted by text from then on.
        assert!(hints.long_by_text);
    }

    #[test]
    fn dictionaries_are_counted_by_key_with_repeated_texts_and_null_entries_merged() {
        use arrow::array::{DictionaryArray, Int8Array, StringArray};
        use std::sync::Arc;

        // "a" sits at entries 0 and 2; entry 3 is null; row 5 has a null key.
        let values = Arc::new(StringArray::from(vec![Some("a"), Some("b"), Some("a"), None]));
        let keys = Int8Array::from(vec![Some(0), Some(1), Some(2), Some(3), Some(2), None, Some(0)]);
        let dict = DictionaryArray::try_new(keys, values).unwrap();
        let mut hints = StringHints::default();
        let mut hll = HllSketch::new(12, HllType::Hll8).unwrap();
        for round in 0..2 {
            let (mut counts, facts) = count_dictionary(&dict, &mut hints, &mut hll, StringHash::Xxh3).unwrap();
            assert_eq!(facts.len(), counts.len());
            counts.sort();
            assert_eq!(counts, [("a", 4), ("b", 1)], "round {round}");
        }
        assert_eq!(hll.estimate().round(), 2.0);
        // The second batch over the same dictionary reused the memo (no facts worked out anew).
        let memo = hints.dict.as_ref().unwrap();
        assert_eq!(memo.canonical.as_deref(), Some(&[0, 1, 0, 3][..]));
        assert!(memo.counts.iter().all(|&c| c == 0));
    }
}
