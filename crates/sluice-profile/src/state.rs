//! The mergeable partial state of one column's profile.
//!
//! A [`ColumnState`] is what each partition of a scan builds and what partitions exchange: exact
//! counters, exact moments merged with Chan's parallel formula, and three Apache DataSketches
//! (HLL for distinct counts, KLL for quantiles and histograms, frequent items for top-k). It is
//! serialised to bytes for DataFusion's aggregate state and for storage beside a version, so a
//! profile computed once can be merged with others or queried later (drift compares stored
//! sketches without rescanning).
//!
//! [`ColumnState::update`] summarises each batch before touching the sketches (distinct values
//! with counts, sorted numeric runs); `crate::batch` explains why every sketch keeps its stated
//! error that way.

use std::fmt::Write as _;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datasketches::frequencies::FrequentItemsSketch;
use datasketches::hll::{HllSketch, HllType, HllUnion};
use datasketches::kll::{KllFloat, KllSketch};
use serde::{Deserialize, Serialize};

use crate::batch::{float_key, fold_counts, int_key, key_float, key_int, kll_update, sort_keys};
use crate::error::{Error, Result};
pub use crate::strings::StringHash;
use crate::strings::{Blank, Counted, Facts, StringHints, count_dictionary, count_strs, count_views};

/// log2 of the HLL sketch's bucket count: 4096 buckets, relative standard error 1.04/64 = 1.6%.
pub const HLL_LG_K: u8 = 12;
/// KLL's accuracy parameter: normalised rank error about 1.65% (99% confidence), as DataSketches
/// defaults.
pub const KLL_K: u16 = 200;
/// Frequent-items map size: counts are exact until 192 distinct items, then off by at most
/// 3.5/256 = 1.4% of the rows.
pub const FREQ_MAP_SIZE: usize = 256;

/// How a column's values are summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Integers and floats (and decimals, as floats).
    Numeric,
    /// Dates and timestamps, summarised as their epoch value in the column's unit.
    Temporal,
    /// Strings.
    String,
    /// Booleans.
    Boolean,
    /// Anything else (lists, structs, binary): counts and missing values only.
    Other,
}

impl ValueKind {
    /// The kind of an Arrow type.
    pub fn of(data_type: &DataType) -> ValueKind {
        use DataType::*;
        match data_type {
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16 | Float32 | Float64
            | Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => ValueKind::Numeric,
            Date32 | Date64 | Timestamp(..) | Time32(_) | Time64(_) | Duration(_) => ValueKind::Temporal,
            Utf8 | LargeUtf8 | Utf8View => ValueKind::String,
            Boolean => ValueKind::Boolean,
            Dictionary(_, v) => ValueKind::of(v),
            _ => ValueKind::Other,
        }
    }
}

/// Count, mean, sum of squared deviations, min and max, mergeable: each batch's moments are
/// computed in two passes ([`Moments::of_sorted_keys`]) and folded in with Chan, Golub and LeVeque's
/// pairwise formula, as partitions are ([`Moments::merge`]); [`Moments::push`] adds one value
/// (Welford).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Values seen.
    pub n: u64,
    /// Their mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Smallest value (`+inf` when empty).
    pub min: f64,
    /// Largest value (`-inf` when empty).
    pub max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    /// Adds one value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Folds another partition's moments in.
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let (na, nb) = (self.n as f64, other.n as f64);
        self.mean += delta * nb / n as f64;
        self.m2 += other.m2 + delta * delta * na * nb / n as f64;
        self.n = n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Sample standard deviation (n - 1 in the denominator, as pandas and DuckDB report it).
    pub fn std(&self) -> Option<f64> {
        (self.n > 1).then(|| (self.m2 / (self.n - 1) as f64).sqrt())
    }
}

/// How many string values parse as each type (each test independent of the others).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseCounts {
    /// Parse as a 64-bit integer.
    pub integer: u64,
    /// Parse as a float.
    pub float: u64,
    /// Parse as a boolean word.
    pub boolean: u64,
    /// Parse as a date.
    pub date: u64,
    /// Parse as a timestamp.
    pub timestamp: u64,
}

impl ParseCounts {
    fn merge(&mut self, o: &ParseCounts) {
        self.integer += o.integer;
        self.float += o.float;
        self.boolean += o.boolean;
        self.date += o.date;
        self.timestamp += o.timestamp;
    }
}

/// One column's partial profile.
#[derive(Debug, Clone)]
pub struct ColumnState {
    /// How values are summarised.
    pub kind: ValueKind,
    /// Rows seen, missing or not.
    pub rows: u64,
    /// Null values.
    pub nulls: u64,
    /// NaN floats.
    pub nan: u64,
    /// Infinite floats (kept out of the moments and the quantiles).
    pub infinite: u64,
    /// Empty strings.
    pub empty: u64,
    /// Strings of whitespace only (not empty).
    pub whitespace: u64,
    /// String values by what they parse as.
    pub parses: ParseCounts,
    /// Moments of the values (numeric, temporal; booleans as 0/1).
    pub values: Moments,
    /// Moments of string lengths in characters.
    pub lengths: Moments,
    /// Distinct values (non-null).
    pub hll: HllSketch,
    /// Quantiles of the values (numeric and temporal columns).
    pub kll: Option<KllSketch<KllFloat<f64>>>,
    /// Frequent values (strings, booleans, integers).
    pub freq: Option<FrequentItemsSketch<String>>,
    /// How strings were hashed for `hll` (by the state's format version).
    pub string_hash: StringHash,
    /// What the last batch showed, to count the next (not part of the profile).
    hints: StringHints,
}

impl ColumnState {
    /// An empty state for a column of `data_type`.
    pub fn new(data_type: &DataType) -> ColumnState {
        let kind = ValueKind::of(data_type);
        let integer_like = is_integer(data_type) || *data_type == DataType::UInt64;
        let kll = matches!(kind, ValueKind::Numeric | ValueKind::Temporal)
            .then(|| KllSketch::new(KLL_K).expect("KLL_K is a valid k"));
        let freq = (matches!(kind, ValueKind::String | ValueKind::Boolean) || integer_like)
            .then(|| FrequentItemsSketch::new(FREQ_MAP_SIZE).expect("FREQ_MAP_SIZE is a power of 2"));
        ColumnState {
            kind,
            rows: 0,
            nulls: 0,
            nan: 0,
            infinite: 0,
            empty: 0,
            whitespace: 0,
            parses: ParseCounts::default(),
            values: Moments::default(),
            lengths: Moments::default(),
            hll: HllSketch::new(HLL_LG_K, HllType::Hll8).expect("HLL_LG_K is valid"),
            kll,
            freq,
            string_hash: StringHash::Xxh3,
            hints: StringHints::default(),
        }
    }

    /// Adds a batch of values.
    ///
    /// The batch is summarised first (distinct values with their counts, batch moments, a
    /// sorted and compacted run for KLL) and the summary folded into the sketches: see
    /// [`crate::batch`] for why each sketch keeps its guarantee.
    pub fn update(&mut self, array: &ArrayRef) -> Result<()> {
        self.rows += array.len() as u64;
        self.nulls += array.logical_null_count() as u64;
        match self.kind {
            ValueKind::Numeric if is_integer(array.data_type()) => {
                let ints = as_i64(array)?;
                self.update_ints(ints.as_primitive::<Int64Type>());
            }
            ValueKind::Numeric => {
                let floats = match array.data_type() {
                    DataType::Float64 => array.clone(),
                    _ => cast(array, &DataType::Float64)?,
                };
                self.update_floats(floats.as_primitive::<Float64Type>());
            }
            ValueKind::Temporal => {
                let ints = match array.data_type() {
                    DataType::Date32 | DataType::Time32(_) => cast(&cast(array, &DataType::Int32)?, &DataType::Int64)?,
                    _ => cast(array, &DataType::Int64)?,
                };
                self.update_temporal(ints.as_primitive::<Int64Type>());
            }
            ValueKind::Boolean => self.update_bools(&cast(array, &DataType::Boolean)?),
            ValueKind::String => self.update_strings(array)?,
            ValueKind::Other => {}
        }
        Ok(())
    }

    // Numeric batches are sorted once, as integer keys ([`sort_keys`]): the sorted run is what
    // the KLL compaction needs, and its runs of equal keys are the distinct values with their
    // counts (no hash map).

    fn update_ints(&mut self, ints: &Int64Array) {
        let mut keys = non_null_keys(ints);
        sort_keys(&mut keys);
        self.values
            .merge(&Moments::of_sorted_keys(&keys, |k| key_int(k) as f64));
        let distinct = runs(&keys);
        for &(k, _) in &distinct {
            self.hll.update(key_int(k));
        }
        if let Some(freq) = self.freq.as_mut() {
            fold_counts(freq, distinct, keys.len() as u64, |&k, s| {
                let _ = write!(s, "{}", key_int(k));
            });
        }
        kll_update(
            self.kll.as_mut().expect("numeric columns have a KLL sketch"),
            &keys,
            |k| key_int(k) as f64,
        );
    }

    fn update_floats(&mut self, floats: &Float64Array) {
        let mut keys = Vec::with_capacity(floats.len() - floats.null_count());
        let mut add = |x: f64| {
            if x.is_nan() {
                self.nan += 1;
            } else if x.is_infinite() {
                self.infinite += 1;
                self.hll.update(x.to_bits());
            } else {
                keys.push(float_key(x));
            }
        };
        match floats.nulls().filter(|n| n.null_count() > 0) {
            None => floats.values().iter().for_each(|&x| add(x)),
            Some(nulls) => nulls.valid_indices().for_each(|i| add(floats.value(i))),
        }
        sort_keys(&mut keys);
        self.values.merge(&Moments::of_sorted_keys(&keys, key_float));
        for (k, _) in runs(&keys) {
            // -0.0 and 0.0 are one value.
            self.hll.update((key_float(k) + 0.0).to_bits());
        }
        kll_update(
            self.kll.as_mut().expect("numeric columns have a KLL sketch"),
            &keys,
            key_float,
        );
    }

    fn update_temporal(&mut self, ints: &Int64Array) {
        let mut keys = non_null_keys(ints);
        sort_keys(&mut keys);
        self.values
            .merge(&Moments::of_sorted_keys(&keys, |k| key_int(k) as f64));
        for (k, _) in runs(&keys) {
            self.hll.update(key_int(k));
        }
        kll_update(
            self.kll.as_mut().expect("temporal columns have a KLL sketch"),
            &keys,
            |k| key_int(k) as f64,
        );
    }

    fn update_bools(&mut self, array: &ArrayRef) {
        let bools = array.as_boolean();
        let trues = bools.true_count() as u64;
        let falses = (bools.len() - bools.null_count()) as u64 - trues;
        self.values.merge(&Moments::of_weighted(
            [(0.0, falses), (1.0, trues)].into_iter().filter(|p| p.1 > 0),
        ));
        let freq = self.freq.as_mut().expect("boolean columns have a frequency sketch");
        if trues > 0 {
            self.hll.update(true);
            freq.update_with_count_ref("true", trues);
        }
        if falses > 0 {
            self.hll.update(false);
            freq.update_with_count_ref("false", falses);
        }
    }

    fn update_strings(&mut self, array: &ArrayRef) -> Result<()> {
        let mut hints = std::mem::take(&mut self.hints);
        match array.data_type() {
            DataType::Utf8 => self.add_distinct_strs(count_strs(array.as_string::<i32>().iter(), &hints), &mut hints),
            DataType::LargeUtf8 => {
                self.add_distinct_strs(count_strs(array.as_string::<i64>().iter(), &hints), &mut hints)
            }
            DataType::Utf8View => {
                let counts = count_views(array.as_string_view(), &mut hints);
                self.add_distinct_strs(counts, &mut hints);
            }
            DataType::Dictionary(..) => {
                match count_dictionary(array.as_any_dictionary(), &mut hints, &mut self.hll, self.string_hash) {
                    Some((counts, facts)) => self.add_counted(counts, &facts),
                    None => {
                        let strings = cast(array, &DataType::Utf8)?;
                        self.add_distinct_strs(count_strs(strings.as_string::<i32>().iter(), &hints), &mut hints);
                    }
                }
            }
            _ => {
                let strings = cast(array, &DataType::Utf8)?;
                self.add_distinct_strs(count_strs(strings.as_string::<i32>().iter(), &hints), &mut hints);
            }
        }
        self.hints = hints;
        Ok(())
    }

    /// Adds a batch's distinct strings (each once) with their counts.
    fn add_distinct_strs(&mut self, counts: Counted<'_>, hints: &mut StringHints) {
        let facts = hints.facts(&counts, &mut self.hll, self.string_hash);
        self.add_counted(counts.strs, &facts);
    }

    /// Adds a batch's distinct strings with their counts and facts (already in the HLL sketch).
    fn add_counted(&mut self, counts: Vec<(&str, u64)>, facts: &[Facts]) {
        let total = counts.iter().map(|c| c.1).sum();
        for (f, &(_, c)) in facts.iter().zip(&counts) {
            match f.kind {
                Blank::Empty => self.empty += c,
                Blank::Whitespace => self.whitespace += c,
                Blank::No => {
                    let p = f.parsed;
                    self.parses.integer += p.integer as u64 * c;
                    self.parses.float += p.float as u64 * c;
                    self.parses.boolean += p.boolean as u64 * c;
                    self.parses.date += p.date as u64 * c;
                    self.parses.timestamp += p.timestamp as u64 * c;
                }
            }
        }
        let lengths = facts.iter().zip(&counts).map(|(f, &(_, c))| (f.chars as f64, c));
        self.lengths.merge(&Moments::of_weighted(lengths));
        let freq = self.freq.as_mut().expect("string columns have a frequency sketch");
        fold_counts(freq, counts, total, |v, s| s.push_str(v));
    }

    /// Folds another partition's state of the same column in.
    pub fn merge(&mut self, other: &ColumnState) -> Result<()> {
        if self.kind != other.kind {
            return Err(Error::Merge(format!(
                "a {:?} column and a {:?} column",
                self.kind, other.kind
            )));
        }
        if self.kind == ValueKind::String && self.string_hash != other.string_hash {
            return Err(Error::Merge(
                "string columns whose distinct values were hashed differently (one profile was stored by an \
                 older sluice, state format 1); profile that table again (`sluice profile FILE`, or re-add the version)"
                    .into(),
            ));
        }
        self.rows += other.rows;
        self.nulls += other.nulls;
        self.nan += other.nan;
        self.infinite += other.infinite;
        self.empty += other.empty;
        self.whitespace += other.whitespace;
        self.parses.merge(&other.parses);
        self.values.merge(&other.values);
        self.lengths.merge(&other.lengths);
        let mut union = HllUnion::new(HLL_LG_K).expect("HLL_LG_K is valid");
        union.update(&self.hll);
        union.update(&other.hll);
        self.hll = union.to_sketch(HllType::Hll8);
        if let (Some(a), Some(b)) = (self.kll.as_mut(), other.kll.as_ref()) {
            a.merge(b).map_err(|e| Error::Merge(e.to_string()))?;
        }
        if let (Some(a), Some(b)) = (self.freq.as_mut(), other.freq.as_ref()) {
            a.merge(b);
        }
        Ok(())
    }

    /// Missing values of every sort: null, NaN, empty and whitespace-only.
    pub fn missing(&self) -> u64 {
        self.nulls + self.nan + self.empty + self.whitespace
    }

    /// Serialises the state (format version 2, or 1 for a state decoded from format 1; little-endian).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(4096);
        w.extend_from_slice(MAGIC);
        w.push(match self.string_hash {
            StringHash::Murmur => 1,
            StringHash::Xxh3 => 2,
        });
        w.push(kind_code(self.kind));
        for n in [
            self.rows,
            self.nulls,
            self.nan,
            self.infinite,
            self.empty,
            self.whitespace,
            self.parses.integer,
            self.parses.float,
            self.parses.boolean,
            self.parses.date,
            self.parses.timestamp,
        ] {
            w.extend_from_slice(&n.to_le_bytes());
        }
        for m in [&self.values, &self.lengths] {
            w.extend_from_slice(&m.n.to_le_bytes());
            for f in [m.mean, m.m2, m.min, m.max] {
                w.extend_from_slice(&f.to_le_bytes());
            }
        }
        put_blob(&mut w, Some(self.hll.serialize()));
        put_blob(&mut w, self.kll.as_ref().map(|k| k.serialize()));
        put_blob(&mut w, self.freq.as_ref().map(|f| f.serialize()));
        w
    }

    /// Reads a state written by [`ColumnState::encode`].
    pub fn decode(bytes: &[u8]) -> Result<ColumnState> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(Error::Decode("not a sluice profile state (bad magic)".into()));
        }
        let string_hash = match r.take(1)?[0] {
            1 => StringHash::Murmur,
            2 => StringHash::Xxh3,
            v => {
                return Err(Error::Decode(format!(
                    "profile state format {v} is newer than this sluice reads (1 and 2); upgrade sluice"
                )));
            }
        };
        let kind = kind_from_code(r.take(1)?[0])?;
        let mut c = [0u64; 11];
        for v in c.iter_mut() {
            *v = r.u64()?;
        }
        let mut moments = [Moments::default(); 2];
        for m in moments.iter_mut() {
            m.n = r.u64()?;
            m.mean = r.f64()?;
            m.m2 = r.f64()?;
            m.min = r.f64()?;
            m.max = r.f64()?;
        }
        let hll = r.blob()?.ok_or_else(|| Error::Decode("missing HLL sketch".into()))?;
        let hll = HllSketch::deserialize(hll).map_err(|e| Error::Decode(format!("HLL sketch: {e}")))?;
        let kll = r
            .blob()?
            .map(|b| KllSketch::deserialize(b).map_err(|e| Error::Decode(format!("KLL sketch: {e}"))))
            .transpose()?;
        let freq = r
            .blob()?
            .map(|b| FrequentItemsSketch::deserialize(b).map_err(|e| Error::Decode(format!("frequent items: {e}"))))
            .transpose()?;
        Ok(ColumnState {
            kind,
            rows: c[0],
            nulls: c[1],
            nan: c[2],
            infinite: c[3],
            empty: c[4],
            whitespace: c[5],
            parses: ParseCounts {
                integer: c[6],
                float: c[7],
                boolean: c[8],
                date: c[9],
                timestamp: c[10],
            },
            values: moments[0],
            lengths: moments[1],
            hll,
            kll,
            freq,
            string_hash,
            hints: StringHints::default(),
        })
    }

    /// Approximate heap size, for DataFusion's memory accounting.
    pub fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.hll.estimated_size()
            + self.kll.as_ref().map_or(0, |k| k.num_retained() * 8 + 256)
            + self.freq.as_ref().map_or(0, |f| f.estimated_size())
    }
}

/// The non-null values of an integer array as sort keys ([`int_key`]).
fn non_null_keys(ints: &Int64Array) -> Vec<u64> {
    match ints.nulls().filter(|n| n.null_count() > 0) {
        None => ints.values().iter().map(|&v| int_key(v)).collect(),
        Some(nulls) => nulls.valid_indices().map(|i| int_key(ints.value(i))).collect(),
    }
}

/// The runs of equal values of a sorted slice: each distinct value with its count.
fn runs<T: Copy + PartialEq>(sorted: &[T]) -> Vec<(T, u64)> {
    let mut out: Vec<(T, u64)> = Vec::new();
    for &v in sorted {
        match out.last_mut() {
            Some((last, c)) if *last == v => *c += 1,
            _ => out.push((v, 1)),
        }
    }
    out
}

/// The array as Int64 (no copy when it already is).
fn as_i64(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Int64 => array.clone(),
        _ => cast(array, &DataType::Int64)?,
    })
}

/// Integer types summarised exactly as i64 (UInt64 may not fit and goes the float way: a safe
/// cast would turn values past i64::MAX into nulls).
fn is_integer(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// Followed by the format version: 1 (strings hashed by MurmurHash3 for HLL) or 2 (by XXH3).
const MAGIC: &[u8] = b"SLPS";

fn kind_code(k: ValueKind) -> u8 {
    match k {
        ValueKind::Numeric => 0,
        ValueKind::Temporal => 1,
        ValueKind::String => 2,
        ValueKind::Boolean => 3,
        ValueKind::Other => 4,
    }
}

fn kind_from_code(c: u8) -> Result<ValueKind> {
    Ok(match c {
        0 => ValueKind::Numeric,
        1 => ValueKind::Temporal,
        2 => ValueKind::String,
        3 => ValueKind::Boolean,
        4 => ValueKind::Other,
        _ => return Err(Error::Decode(format!("unknown value kind {c}"))),
    })
}

/// Writes an optional length-prefixed byte string (`u32::MAX` length for none).
pub(crate) fn put_blob(w: &mut Vec<u8>, blob: Option<Vec<u8>>) {
    match blob {
        Some(b) => {
            w.extend_from_slice(&(b.len() as u32).to_le_bytes());
            w.extend_from_slice(&b);
        }
        None => w.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

/// A cursor over encoded bytes.
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| Error::Decode(format!("truncated at byte {}", self.pos)))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    pub(crate) fn blob(&mut self) -> Result<Option<&'a [u8]>> {
        let len = self.u32()?;
        if len == u32::MAX {
            return Ok(None);
        }
        self.take(len as usize).map(Some)
    }

    pub(crate) fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{StringArray, StringViewArray};
    use datasketches::frequencies::ErrorType;

    use super::*;

    fn profile(array: ArrayRef) -> ColumnState {
        let mut s = ColumnState::new(array.data_type());
        s.update(&array).unwrap();
        s
    }

    #[test]
    fn string_views_count_like_plain_strings() {
        // Short (inline) and long strings, each long one stored at several places in the view
        // array's buffers (the builder does not deduplicate), with nulls, blanks and dates.
        let words = [
            Some("a"),
            None,
            Some("a much longer string that lives in a data buffer"),
            Some(""),
            Some("   "),
            Some("2024-03-01"),
            Some("another long string, also past twelve bytes"),
            Some("42"),
            Some("a"),
        ];
        let values: Vec<Option<&str>> = (0..5000).map(|i| words[(i * i + i / 7) % words.len()]).collect();
        let plain = profile(Arc::new(StringArray::from(values.clone())));
        let views = profile(Arc::new(StringViewArray::from(values.clone())));
        assert_eq!(plain.rows, 5000);
        for (a, b) in [(&plain, &views)] {
            assert_eq!((a.nulls, a.empty, a.whitespace), (b.nulls, b.empty, b.whitespace));
            assert_eq!(a.parses, b.parses);
            assert_eq!(
                (a.lengths.n, a.lengths.min, a.lengths.max),
                (b.lengths.n, b.lengths.min, b.lengths.max)
            );
            assert!((a.lengths.mean - b.lengths.mean).abs() < 1e-9);
            assert_eq!(a.hll.estimate().round(), b.hll.estimate().round());
            let (fa, fb) = (a.freq.as_ref().unwrap(), b.freq.as_ref().unwrap());
            assert_eq!(fa.total_weight(), fb.total_weight());
            for w in words.iter().flatten() {
                // Fewer distinct values than the sketch keeps: counts are exact.
                let truth = values.iter().filter(|v| **v == Some(*w)).count() as u64;
                assert_eq!((fa.estimate(*w), fb.estimate(*w)), (truth, truth), "{w:?}");
            }
            assert_eq!(fa.frequent_items(ErrorType::NoFalsePositives).len(), 7);
        }
        assert_eq!(
            plain.parses.date,
            values.iter().filter(|v| **v == Some("2024-03-01")).count() as u64
        );
    }

    #[test]
    fn numeric_batches_summarise_exactly() {
        // Integers with repeats and nulls: exact counts and moments against a direct computation.
        let values: Vec<Option<i64>> = (0..20_000i64)
            .map(|i| (i % 11 != 3).then_some((i * 7919) % 301 - 150))
            .collect();
        let s = profile(Arc::new(Int64Array::from(values.clone())));
        let xs: Vec<f64> = values.iter().flatten().map(|&v| v as f64).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let m2: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        assert_eq!(s.values.n, xs.len() as u64);
        assert_eq!(s.nulls, 20_000 - xs.len() as u64);
        assert!((s.values.mean - mean).abs() < 1e-9 && (s.values.m2 - m2).abs() < 1e-6 * m2);
        assert_eq!((s.values.min, s.values.max), (-150.0, 150.0));
        assert_eq!(s.hll.estimate().round(), 301.0);
        let freq = s.freq.as_ref().unwrap();
        assert_eq!(freq.total_weight(), xs.len() as u64);
        let zero = xs.iter().filter(|x| **x == 0.0).count() as u64;
        let est = freq.estimate("0");
        assert!(est >= zero && est <= zero + freq.maximum_error(), "{est} vs {zero}");
        let kll = s.kll.as_ref().unwrap();
        assert_eq!(kll.n(), xs.len() as u64);
        assert!(kll.is_estimation_mode());
    }

    #[test]
    fn format_1_states_decode_and_refuse_to_merge_strings_hashed_otherwise() {
        let strings: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), Some("y"), None]));
        let mut old = profile(strings.clone());
        old.string_hash = StringHash::Murmur;
        let bytes = old.encode();
        assert_eq!(&bytes[..5], b"SLPS\x01");
        let decoded = ColumnState::decode(&bytes).unwrap();
        assert_eq!(decoded.string_hash, StringHash::Murmur);
        assert_eq!((decoded.rows, decoded.nulls), (3, 1));
        assert_eq!(&profile(strings.clone()).encode()[..5], b"SLPS\x02");

        let mut new = profile(strings);
        let e = new.merge(&decoded).unwrap_err().to_string();
        assert!(
            e.contains("older sluice") && e.contains("profile that table again"),
            "{e}"
        );
        // Numbers never went through the string hash: any two formats merge.
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let mut a = profile(ints.clone());
        let mut b = profile(ints);
        b.string_hash = StringHash::Murmur;
        let b = ColumnState::decode(&b.encode()).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.rows, 6);

        let mut future = bytes.clone();
        future[4] = 9;
        let e = ColumnState::decode(&future).unwrap_err().to_string();
        assert!(e.contains("format 9") && e.contains("upgrade"), "{e}");
    }
}
