//! Exact duplicate rows: vectorised 64-bit row hashes, a first-occurrence table per hash
//! partition, and an exact comparison of the values behind every hash match.
//!
//! Equality is that of Arrow's row format, the one `sluice quality` and `sluice diff` hash
//! (`sluice_version::engine::hash_rows`): nulls equal each other and nothing else, values of a
//! column are equal when their bytes are (so floats by bit pattern: `-0.0` differs from `0.0`,
//! NaNs with equal payloads are equal), strings and binaries by their bytes, any other type by
//! Arrow's comparator (nested types, dictionaries). Unlike a row-format hash, the result never
//! depends on a hash: two distinct rows with the same 64-bit hash are told apart by the
//! comparison, so no collision can merge them.
//!
//! ```text
//! batches ──(parallel, one run of batches each; column by column)──> u64 hash per row
//!         ──> (hash, row) scattered into up to 256 partitions
//!         ──(parallel, one partition each)──> rows in order: first? or equal to a first
//!         ──> (row, first row) pairs, ascending by row
//! ```
//!
//! Every candidate pair of a partition is in that partition (equal rows hash equal), and each
//! partition walks its rows in row order, so "first" is the first in the table, whatever the
//! thread count or batch split. Partitions are sized (about 16-40 thousand rows) so that their table
//! stays in the cache.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

use arrow::array::{Array, ArrayRef, AsArray, OffsetSizeTrait, RecordBatch};
use arrow::buffer::{Buffer, NullBuffer};
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows that repeat an earlier row on some columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Duplicates {
    /// `(row, first row with the same values)`, ascending by row.
    pub rows: Vec<(u64, u64)>,
    /// Distinct rows that occur more than once.
    pub groups: u64,
}

/// How one column is hashed and compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Fixed-width values compared by their bytes (integers, floats, dates, times, decimals,
    /// intervals), with the width in bytes.
    Fixed(usize),
    Boolean,
    /// Strings and binaries of every layout, compared by their bytes.
    Bytes,
    /// Anything else: hashed through Arrow's row format, compared with Arrow's comparator.
    Other,
}

fn kind(t: &DataType) -> Kind {
    match t {
        DataType::Boolean => Kind::Boolean,
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => Kind::Bytes,
        t if t.is_primitive() => match t.primitive_width() {
            Some(w @ (1 | 2 | 4 | 8 | 16)) => Kind::Fixed(w),
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// A null's contribution to a row hash; equal to a value's only by chance (then the comparison
/// decides).
const NULL: u64 = 0x9e37_79b9_7f4a_7c15;
/// The multiplier of FxHash (rustc's hasher), used to fold each column into the row's hash.
const FX: u64 = 0x517c_c1b7_2722_0a95;

#[inline]
fn fold(h: u64, v: u64) -> u64 {
    (h.rotate_left(5) ^ v).wrapping_mul(FX)
}

/// The `h` that [`fold`] took to `folded` with `v`: multiplying by FX's inverse modulo 2^64 undoes the
/// multiplication, and the xor and rotation undo themselves.
#[inline]
fn unfold(folded: u64, v: u64) -> u64 {
    (folded.wrapping_mul(FX_INVERSE) ^ v).rotate_right(5)
}

/// FX's multiplicative inverse modulo 2^64.
const FX_INVERSE: u64 = {
    // Newton's iteration: each step doubles the number of correct low bits (an odd x is its own
    // inverse modulo 8, so 3 bits to start).
    let mut x = FX;
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(FX.wrapping_mul(x)));
        i += 1;
    }
    x
};

/// The `W`-byte little-endian value `c` as a `u64` (16-byte values folded to one).
#[inline]
fn fixed_value<const W: usize>(c: &[u8; W]) -> u64 {
    let mut lo = [0u8; 8];
    let n = W.min(8);
    lo[..n].copy_from_slice(&c[..n]);
    let lo = u64::from_le_bytes(lo);
    if W <= 8 {
        return lo;
    }
    let mut hi = [0u8; 8];
    hi.copy_from_slice(&c[8..16]);
    fold(lo, u64::from_le_bytes(hi))
}

/// Folds each `W`-byte value of `values` into `h` in one tight loop, then redoes the null rows
/// (their slots hold arbitrary bytes): the fold with the value is undone (it is invertible: FX is
/// odd) and `NULL` folded instead.
#[inline]
fn fold_fixed<const W: usize>(values: &[u8], nulls: Option<&NullBuffer>, h: &mut [u64]) {
    let chunks = values.chunks_exact(W).map(|c| c.try_into().unwrap_or(&[0u8; W]));
    for (x, c) in h.iter_mut().zip(chunks.clone()) {
        *x = fold(*x, fixed_value::<W>(c));
    }
    if let Some(n) = nulls.filter(|n| n.null_count() > 0) {
        for (i, c) in chunks.enumerate().filter(|&(i, _)| n.is_null(i)) {
            h[i] = fold(unfold(h[i], fixed_value::<W>(c)), NULL);
        }
    }
}

/// MurmurHash3's 64-bit finaliser (Appleby), so the table's buckets and partitions see
/// well-mixed bits whatever the columns were.
#[inline]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The bytes of value `i` of a string or binary array.
fn bytes_at(a: &dyn Array, i: usize) -> &[u8] {
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).as_bytes(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).as_bytes(),
        DataType::Utf8View => a.as_string_view().value(i).as_bytes(),
        DataType::Binary => a.as_binary::<i32>().value(i),
        DataType::LargeBinary => a.as_binary::<i64>().value(i),
        DataType::BinaryView => a.as_binary_view().value(i),
        DataType::FixedSizeBinary(_) => a.as_fixed_size_binary().value(i),
        _ => &[],
    }
}

/// Whether row `i` of `a` and row `j` of `b` have the same Arrow row-format bytes.
fn row_format_equal(a: &ArrayRef, i: usize, b: &ArrayRef, j: usize) -> Result<bool> {
    let converter = RowConverter::new(vec![SortField::new(a.data_type().clone())])?;
    let x = converter.convert_columns(&[a.slice(i, 1)])?;
    let y = converter.convert_columns(&[b.slice(j, 1)])?;
    Ok(x.row(0) == y.row(0))
}

/// Folds column `a` into the row hashes `h` (one per row of the batch).
fn hash_column(a: &ArrayRef, k: Kind, h: &mut [u64]) -> Result<()> {
    let nulls: Option<&NullBuffer> = a.nulls();
    let valid = |i: usize| nulls.is_none_or(|n| n.is_valid(i));
    match k {
        Kind::Fixed(w) => {
            let data = a.to_data();
            let values = &data.buffers()[0].as_slice()[data.offset() * w..(data.offset() + a.len()) * w];
            // One loop per width, so that each is a tight loop the compiler can unroll.
            match w {
                1 => fold_fixed::<1>(values, nulls, h),
                2 => fold_fixed::<2>(values, nulls, h),
                4 => fold_fixed::<4>(values, nulls, h),
                8 => fold_fixed::<8>(values, nulls, h),
                _ => fold_fixed::<16>(values, nulls, h),
            }
        }
        Kind::Boolean => {
            let b = a.as_boolean();
            for (i, x) in h.iter_mut().enumerate() {
                let v = if !valid(i) { NULL } else { u64::from(b.value(i)) + 1 };
                *x = fold(*x, v);
            }
        }
        Kind::Bytes => {
            let xxh = xxhash_rust::xxh3::xxh3_64;
            // Sliced arrays' offsets and null bits both start at the slice.
            match a.data_type() {
                DataType::Utf8 => hash_offsets(
                    a.as_string::<i32>().value_offsets(),
                    a.as_string::<i32>().value_data(),
                    nulls,
                    h,
                ),
                DataType::LargeUtf8 => hash_offsets(
                    a.as_string::<i64>().value_offsets(),
                    a.as_string::<i64>().value_data(),
                    nulls,
                    h,
                ),
                DataType::Binary => hash_offsets(
                    a.as_binary::<i32>().value_offsets(),
                    a.as_binary::<i32>().value_data(),
                    nulls,
                    h,
                ),
                DataType::LargeBinary => hash_offsets(
                    a.as_binary::<i64>().value_offsets(),
                    a.as_binary::<i64>().value_data(),
                    nulls,
                    h,
                ),
                _ => {
                    for (i, x) in h.iter_mut().enumerate() {
                        let v = if !valid(i) { NULL } else { xxh(bytes_at(a.as_ref(), i)) };
                        *x = fold(*x, v);
                    }
                }
            }
        }
        Kind::Other => {
            let converter = RowConverter::new(vec![SortField::new(a.data_type().clone())])?;
            let rows = converter.convert_columns(std::slice::from_ref(a))?;
            for (x, row) in h.iter_mut().zip(rows.iter()) {
                *x = fold(*x, xxhash_rust::xxh3::xxh3_64(row.as_ref()));
            }
        }
    }
    Ok(())
}

/// Folds the XXH3-64 of each value of a string or binary column (`offsets`, `values`) into `h`.
fn hash_offsets<O: OffsetSizeTrait>(offsets: &[O], values: &[u8], nulls: Option<&NullBuffer>, h: &mut [u64]) {
    let value = |w: &[O]| xxhash_rust::xxh3::xxh3_64(&values[w[0].as_usize()..w[1].as_usize()]);
    match nulls.filter(|n| n.null_count() > 0) {
        None => {
            for (x, w) in h.iter_mut().zip(offsets.windows(2)) {
                *x = fold(*x, value(w));
            }
        }
        Some(n) => {
            for ((x, w), valid) in h.iter_mut().zip(offsets.windows(2)).zip(n.iter()) {
                *x = fold(*x, if valid { value(w) } else { NULL });
            }
        }
    }
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table<V> = HashMap<u64, V, BuildHasherDefault<Identity>>;

/// Finds the rows of `batches` (one schema) whose values in `columns` equal an earlier row's.
pub(crate) fn find(batches: &[RecordBatch], columns: &[usize]) -> Result<Duplicates> {
    find_with(batches, columns, finish)
}

/// [`find`] with the last step of the row hash given (the tests force collisions with it).
fn find_with(batches: &[RecordBatch], columns: &[usize], finish: fn(u64) -> u64) -> Result<Duplicates> {
    let Some(first) = batches.first() else {
        return Ok(Duplicates::default());
    };
    let schema = first.schema();
    let kinds: Vec<Kind> = columns.iter().map(|&c| kind(schema.field(c).data_type())).collect();
    let mut starts = Vec::with_capacity(batches.len());
    let mut rows = 0u64;
    for b in batches {
        starts.push(rows);
        rows += b.num_rows() as u64;
    }
    // The value bytes of every fixed-width column per batch, sliced to the array's first value, so
    // that comparing two of them is a slice comparison.
    let fixed: Vec<Vec<Option<Buffer>>> = batches
        .iter()
        .map(|b| {
            columns
                .iter()
                .zip(&kinds)
                .map(|(&c, &k)| match k {
                    Kind::Fixed(w) => {
                        let d = b.column(c).to_data();
                        Some(d.buffers()[0].slice(d.offset() * w))
                    }
                    _ => None,
                })
                .collect()
        })
        .collect();
    let equal = |r: u64, f: u64| -> Result<bool> {
        let (rb, ri) = locate(&starts, r);
        let (fb, fi) = locate(&starts, f);
        for (k, (&c, &kind)) in columns.iter().zip(&kinds).enumerate() {
            // Equal as the module docs say: nulls equal each other and nothing else.
            let (a, b) = (batches[rb].column(c), batches[fb].column(c));
            let same = match (a.is_null(ri), b.is_null(fi)) {
                _ if kind == Kind::Other => row_format_equal(a, ri, b, fi)?,
                (true, true) => true,
                (false, false) => match (kind, &fixed[rb][k], &fixed[fb][k]) {
                    (Kind::Fixed(w), Some(x), Some(y)) => x[ri * w..(ri + 1) * w] == y[fi * w..(fi + 1) * w],
                    (Kind::Boolean, ..) => a.as_boolean().value(ri) == b.as_boolean().value(fi),
                    _ => bytes_at(a.as_ref(), ri) == bytes_at(b.as_ref(), fi),
                },
                _ => false,
            };
            if !same {
                return Ok(false);
            }
        }
        Ok(true)
    };
    // Partitions of the hash space, by bits the table's buckets and tags do not use, small enough that
    // a partition's table stays in the cache (a table of all 10M rows misses it on nearly every
    // lookup). Contiguous runs of batches, one per thread, scatter their rows into the partitions in
    // row order; each partition then reads the runs in order, so its rows arrive in row order.
    let parts = (rows / 16_384).next_power_of_two().clamp(1, 256);
    let part_of = |h: u64| ((h >> 40) & (parts - 1)) as usize;
    let per_run = batches.len().div_ceil(rayon::current_num_threads().max(1));
    // Each run hashes its batches into one reused buffer (written before it is read: a fresh
    // zeroed buffer per batch cost two page faults per page, the second a copy of the zero page
    // with a TLB flush on every core) and scatters the hashes at once.
    let runs: Vec<Vec<Vec<(u64, u64)>>> = batches
        .par_chunks(per_run)
        .enumerate()
        .map(|(r, run)| -> Result<Vec<Vec<(u64, u64)>>> {
            let n: usize = run.iter().map(RecordBatch::num_rows).sum();
            let room = n / parts as usize + n / (4 * parts as usize) + 16;
            let mut out: Vec<Vec<(u64, u64)>> = (0..parts).map(|_| Vec::with_capacity(room)).collect();
            let mut h: Vec<u64> = Vec::new();
            let mut row = starts[r * per_run];
            for b in run {
                h.clear();
                h.resize(b.num_rows(), 0);
                for (&c, &k) in columns.iter().zip(&kinds) {
                    hash_column(b.column(c), k, &mut h)?;
                }
                for &x in &h {
                    let x = finish(x);
                    out[part_of(x)].push((x, row));
                    row += 1;
                }
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let found: Vec<Duplicates> = (0..parts as usize)
        .into_par_iter()
        .map(|p| {
            let n: usize = runs.iter().map(|r| r[p].len()).sum();
            let mut firsts: Table<u64> = Table::with_capacity_and_hasher(n, Default::default());
            // Further first rows under a hash already taken by a different row (a collision).
            let mut more: Table<Vec<u64>> = Table::default();
            let mut out = Duplicates::default();
            let mut repeated: Table<()> = Table::default();
            for &(h, row) in runs.iter().flat_map(|r| &r[p]) {
                let first = match firsts.entry(h) {
                    Entry::Vacant(v) => {
                        v.insert(row);
                        None
                    }
                    Entry::Occupied(o) if equal(row, *o.get())? => Some(*o.get()),
                    Entry::Occupied(_) => {
                        let list = more.entry(h).or_default();
                        let mut hit = None;
                        for &f in list.iter() {
                            if equal(row, f)? {
                                hit = Some(f);
                                break;
                            }
                        }
                        if hit.is_none() {
                            list.push(row);
                        }
                        hit
                    }
                };
                if let Some(f) = first {
                    out.rows.push((row, f));
                    if repeated.insert(f, ()).is_none() {
                        out.groups += 1;
                    }
                }
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let mut all = Duplicates::default();
    for d in found {
        all.groups += d.groups;
        all.rows.extend(d.rows);
    }
    all.rows.sort_unstable();
    if all.rows.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(Error::Internal("a row was found twice as a duplicate".into()));
    }
    Ok(all)
}

/// `(batch, row within it)` of `row`, given each batch's first row.
fn locate(starts: &[u64], row: u64) -> (usize, usize) {
    let b = starts.partition_point(|s| *s <= row) - 1;
    (b, (row - starts[b]) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array, LargeStringArray, ListArray, StringArray,
        StringViewArray,
    };
    use arrow::datatypes::{Field, Int32Type, Schema};
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    proptest! {
        #[test]
        fn a_fold_is_undone_by_unfold(h in any::<u64>(), v in any::<u64>()) {
            prop_assert_eq!(FX.wrapping_mul(FX_INVERSE), 1);
            prop_assert_eq!(unfold(fold(h, v), v), h);
        }
    }

    /// The specification, computed the slow way: rows equal when their Arrow row-format bytes are.
    fn oracle(batches: &[RecordBatch], columns: &[usize]) -> Duplicates {
        let schema = batches[0].schema();
        let fields = columns
            .iter()
            .map(|&c| SortField::new(schema.field(c).data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields).unwrap();
        let mut first: BTreeMap<Vec<u8>, (u64, bool)> = BTreeMap::new();
        let mut out = Duplicates::default();
        let mut row = 0u64;
        for b in batches {
            let cols: Vec<ArrayRef> = columns.iter().map(|&c| b.column(c).clone()).collect();
            let rows = converter.convert_columns(&cols).unwrap();
            for r in rows.iter() {
                match first.get_mut(r.as_ref()) {
                    Some((f, seen)) => {
                        out.rows.push((row, *f));
                        if !*seen {
                            *seen = true;
                            out.groups += 1;
                        }
                    }
                    None => {
                        first.insert(r.as_ref().to_vec(), (row, false));
                    }
                }
                row += 1;
            }
        }
        out
    }

    const FLOATS: [f64; 7] = [0.0, -0.0, 1.5, f64::NAN, f64::INFINITY, -2.0, 1e300];
    const TEXTS: [&str; 4] = ["", "a", "ab", "a longer text past twelve bytes"];

    /// A table of one row per element of `cells` (each a small code per column), split into
    /// batches at `cuts`, with every kind of column the hashing distinguishes.
    fn table(cells: &[[u8; 7]], cuts: &[usize]) -> Vec<RecordBatch> {
        let some = |c: u8| !c.is_multiple_of(5);
        let ints: Int64Array = cells
            .iter()
            .map(|r| some(r[0]).then_some(i64::from(r[0] % 3)))
            .collect();
        let floats: Float64Array = cells
            .iter()
            .map(|r| some(r[1]).then(|| FLOATS[r[1] as usize % FLOATS.len()]))
            .collect();
        let texts: StringArray = cells
            .iter()
            .map(|r| some(r[2]).then(|| TEXTS[r[2] as usize % TEXTS.len()]))
            .collect();
        let large: LargeStringArray = cells
            .iter()
            .map(|r| some(r[3]).then(|| TEXTS[r[3] as usize % 2]))
            .collect();
        let views: StringViewArray = cells
            .iter()
            .map(|r| some(r[4]).then(|| TEXTS[r[4] as usize % TEXTS.len()]))
            .collect();
        let flags: BooleanArray = cells.iter().map(|r| some(r[5]).then_some(r[5] % 2 == 0)).collect();
        let lists = ListArray::from_iter_primitive::<Int32Type, _, _>(
            cells
                .iter()
                .map(|r| some(r[6]).then(|| (0..i32::from(r[6] % 3)).map(Some).collect::<Vec<_>>())),
        );
        let dict: DictionaryArray<Int32Type> = cells
            .iter()
            .map(|r| some(r[0] / 2).then(|| TEXTS[r[0] as usize % 2]))
            .collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("l", DataType::LargeUtf8, true),
            Field::new("v", DataType::Utf8View, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("list", lists.data_type().clone(), true),
            Field::new("d", dict.data_type().clone(), true),
        ]));
        let whole = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(ints) as ArrayRef,
                Arc::new(floats),
                Arc::new(texts),
                Arc::new(large),
                Arc::new(views),
                Arc::new(flags),
                Arc::new(lists),
                Arc::new(dict),
            ],
        )
        .unwrap();
        let mut at = 0;
        let mut out = Vec::new();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (cells.len() + 1)).collect();
        bounds.sort_unstable();
        for b in bounds.into_iter().chain([cells.len()]) {
            out.push(whole.slice(at, b - at));
            at = b;
        }
        out
    }

    proptest! {
        #[test]
        fn equals_the_row_format_oracle(
            cells in prop::collection::vec(any::<[u8; 7]>(), 1..300),
            cuts in prop::collection::vec(any::<usize>(), 0..4),
            mask in 1u8..=255,
        ) {
            let batches = table(&cells, &cuts);
            let columns: Vec<usize> = (0..8).filter(|c| mask & (1 << c) != 0).collect();
            let want = oracle(&batches, &columns);
            prop_assert_eq!(&find(&batches, &columns).unwrap(), &want);
            // Every row under one hash: the values alone must decide.
            prop_assert_eq!(&find_with(&batches, &columns, |_| 7).unwrap(), &want);
        }
    }

    #[test]
    fn colliding_hashes_do_not_merge_distinct_rows() {
        // Every row gets the same hash: `find` must still tell the rows apart by their values (and
        // find the true repeats among them).
        let batches = table(
            &[
                [1, 2, 3, 4, 6, 7, 8],
                [2, 2, 3, 4, 6, 7, 8],
                [1, 2, 3, 4, 6, 7, 8],
                [2, 2, 3, 4, 6, 7, 8],
            ],
            &[1],
        );
        let cols: Vec<usize> = (0..8).collect();
        let d = find_with(&batches, &cols, |_| 0).unwrap();
        assert_eq!(d.rows, vec![(2, 0), (3, 1)]);
        assert_eq!(d.groups, 2);
        assert_eq!(find(&batches, &cols).unwrap(), d);
        let floats = Arc::new(Schema::new(vec![Field::new("f", DataType::Float64, true)]));
        let f = RecordBatch::try_new(
            floats,
            vec![Arc::new(Float64Array::from(vec![Some(0.0), Some(-0.0), None, Some(0.0), None])) as ArrayRef],
        )
        .unwrap();
        let d = find(&[f], &[0]).unwrap();
        assert_eq!(d.rows, vec![(3, 0), (4, 2)], "-0.0 is not 0.0; null repeats null");
        let ints = Arc::new(Schema::new(vec![Field::new("i", DataType::Int32, false)]));
        let i = RecordBatch::try_new(ints, vec![Arc::new(Int32Array::from(vec![7, 7, 7])) as ArrayRef]).unwrap();
        assert_eq!(find(&[i], &[0]).unwrap().groups, 1);
    }
}
