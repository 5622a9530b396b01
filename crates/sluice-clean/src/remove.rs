//! Row removal: the table without the rows a step dropped, compacted in place where it can be.
//!
//! A step that drops rows (`dedupe`, `near_dedupe`, `drop_missing`, `filter_outliers`) usually keeps
//! almost all of them. Copying the kept rows into new arrays, as Arrow's `filter` does, costs a fresh
//! allocation of the whole table, and on Linux most of that cost is the kernel zeroing the new pages,
//! not the copy (perf on the 10M-row demo pipeline: 60% of `filter_record_batch` in `clear_page_erms`).
//! So a column whose buffers this table alone holds is compacted where it lies: the kept runs of rows
//! are moved down over the dropped ones (`copy_within`) and the buffer is truncated. A column whose
//! buffers are shared (a cached stage input, a slice), or of a type without a flat layout here
//! (booleans, dictionaries, nested, views), or that keeps fewer than half its rows (the copy is then
//! small) is filtered by Arrow as before. Either way the result is the same array; a truncated buffer
//! keeps its capacity until the table is dropped.

use arrow::array::{Array, ArrayRef, BooleanArray, BooleanBufferBuilder, RecordBatch};
use arrow::buffer::{BooleanBuffer, MutableBuffer, NullBuffer};
use arrow::compute::filter;
use arrow::datatypes::DataType;
use rayon::prelude::*;

use crate::error::Result;
use crate::owned;

/// `batches` (one schema) without the rows in `drop` (ascending, distinct, numbered across batches).
/// Batches that lose no row are passed on as they are; batches that lose every row are left out, except
/// that one (empty) batch is kept when no row is left, so the schema survives.
pub(crate) fn remove_rows(batches: Vec<RecordBatch>, drop: &[u64]) -> Result<Vec<RecordBatch>> {
    if drop.is_empty() || batches.is_empty() {
        return Ok(batches);
    }
    // (Not a slice of a batch: that would share, and so pin, its buffers.)
    let empty = RecordBatch::new_empty(batches[0].schema());
    // Each batch's part of `drop`, as positions within the batch.
    let mut parts: Vec<Vec<usize>> = Vec::with_capacity(batches.len());
    let (mut start, mut d) = (0u64, 0usize);
    for batch in &batches {
        let end = start + batch.num_rows() as u64;
        let mut here = Vec::new();
        while d < drop.len() && drop[d] < end {
            here.push((drop[d] - start) as usize);
            d += 1;
        }
        parts.push(here);
        start = end;
    }
    let kept: Vec<Option<RecordBatch>> = batches
        .into_par_iter()
        .zip(parts)
        .map(|(batch, here)| -> Result<Option<RecordBatch>> {
            let rows = batch.num_rows();
            if here.is_empty() {
                return Ok(Some(batch));
            }
            if here.len() == rows {
                return Ok(None);
            }
            let mut keep = BooleanBufferBuilder::new(rows);
            keep.append_n(rows, true);
            for &r in &here {
                keep.set_bit(r, false);
            }
            let keep = keep.finish();
            let kept = rows - here.len();
            let (schema, columns, _) = batch.into_parts();
            let columns = columns
                .into_iter()
                .map(|c| without_rows(c, &keep, kept))
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(RecordBatch::try_new(schema, columns)?))
        })
        .collect::<Result<_>>()?;
    let mut out: Vec<RecordBatch> = kept.into_iter().flatten().collect();
    if out.is_empty() {
        out.push(empty);
    }
    Ok(out)
}

/// The layout of a column that can be compacted in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flat {
    /// One buffer of `width`-byte values.
    Fixed(usize),
    /// 32-bit offsets and a buffer of bytes (Utf8, Binary).
    Bytes32,
    /// 64-bit offsets and a buffer of bytes (LargeUtf8, LargeBinary).
    Bytes64,
}

fn flat(t: &DataType) -> Option<Flat> {
    match t {
        DataType::Utf8 | DataType::Binary => Some(Flat::Bytes32),
        DataType::LargeUtf8 | DataType::LargeBinary => Some(Flat::Bytes64),
        t => t.primitive_width().map(Flat::Fixed),
    }
}

/// `array` with only the rows set in `keep` (`kept` of them).
fn without_rows(array: ArrayRef, keep: &BooleanBuffer, kept: usize) -> Result<ArrayRef> {
    let filtered = |a: &ArrayRef| filter(a, &BooleanArray::new(keep.clone(), None));
    let Some(layout) = flat(array.data_type()) else {
        return Ok(filtered(&array)?);
    };
    if kept * 2 < keep.len() {
        return Ok(filtered(&array)?);
    }
    let mut parts = match owned::take(array) {
        Ok(parts) => parts,
        Err(array) => return Ok(filtered(&array)?),
    };
    match layout {
        Flat::Fixed(w) => compact_fixed(&mut parts.buffers[0], w, keep),
        Flat::Bytes32 => {
            let (offsets, values) = parts.offsets_and_values();
            compact_bytes::<i32>(offsets, values, keep, kept);
        }
        Flat::Bytes64 => {
            let (offsets, values) = parts.offsets_and_values();
            compact_bytes::<i64>(offsets, values, keep, kept);
        }
    }
    parts.len = kept;
    parts.nulls = parts.nulls.and_then(|n| {
        let n = NullBuffer::new(kept_bits(n.inner(), keep, kept));
        (n.null_count() > 0).then_some(n)
    });
    // SAFETY: the buffers hold the kept values of a valid array of this type, each value's bytes
    // whole and in order (offsets rewritten from 0, ascending, within the truncated values), and
    // `kept` of them with validity bits to match.
    #[allow(unsafe_code)]
    Ok(unsafe { parts.into_array() })
}

/// Moves the kept `w`-byte values of `values` down over the dropped ones and truncates it.
fn compact_fixed(values: &mut MutableBuffer, w: usize, keep: &BooleanBuffer) {
    let mut to = 0;
    let bytes = values.as_slice_mut();
    for (s, e) in keep.set_slices() {
        if s != to {
            bytes.copy_within(s * w..e * w, to * w);
        }
        to += e - s;
    }
    values.truncate(to * w);
}

/// Moves the kept values of a string or binary column (`offsets`, `values`) down over the dropped ones,
/// rewriting the offsets in place, and truncates both buffers.
fn compact_bytes<O: arrow::array::OffsetSizeTrait>(
    offsets: &mut MutableBuffer,
    values: &mut MutableBuffer,
    keep: &BooleanBuffer,
    kept: usize,
) {
    let off = offsets.typed_data_mut::<O>();
    let bytes = values.as_slice_mut();
    // `to` rows and `at` bytes written so far. Offsets are rewritten at positions at or below the
    // ones still to be read: a run that starts at row `s` writes offsets `to + 1 ..= to + (e - s)`,
    // and `to <= s`.
    let (mut to, mut at) = (0usize, O::usize_as(0));
    for (s, e) in keep.set_slices() {
        let (from, until) = (off[s], off[e]);
        if to == s && from == at {
            // Nothing dropped before this run: it stays where it is.
            to = e;
            at = until;
            continue;
        }
        if from != at {
            bytes.copy_within(from.as_usize()..until.as_usize(), at.as_usize());
        }
        for i in s..e {
            off[to + 1 + (i - s)] = off[i + 1] - from + at;
        }
        to += e - s;
        at += until - from;
    }
    debug_assert_eq!(to, kept);
    off[0] = O::usize_as(0);
    offsets.truncate((kept + 1) * std::mem::size_of::<O>());
    values.truncate(at.as_usize());
}

/// The bits of `bits` at the rows set in `keep`.
fn kept_bits(bits: &BooleanBuffer, keep: &BooleanBuffer, kept: usize) -> BooleanBuffer {
    let mut out = BooleanBufferBuilder::new(kept);
    for (s, e) in keep.set_slices() {
        out.append_buffer(&bits.slice(s, e - s));
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        BooleanArray as Bools, Float64Array, Int32Array, LargeStringArray, StringArray, StringViewArray,
    };
    use arrow::datatypes::{Field, Schema};
    use proptest::prelude::*;

    use super::*;

    /// A table of every layout: fixed width with and without nulls, 32- and 64-bit offsets, and
    /// layouts that are filtered (booleans, views).
    fn table(n: usize, cut: usize, seed: u64) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int32, false),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("l", DataType::LargeUtf8, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("v", DataType::Utf8View, true),
        ]));
        let text = |i: usize| -> Option<String> {
            let h = (i as u64).wrapping_mul(seed | 1).rotate_left(17);
            (!h.is_multiple_of(7)).then(|| "x".repeat((h % 13) as usize) + &i.to_string())
        };
        let mut out = Vec::new();
        let mut from = 0;
        while from < n {
            let to = (from + cut.max(1)).min(n);
            let r = from..to;
            let cols: Vec<ArrayRef> = vec![
                Arc::new(Int32Array::from_iter_values(r.clone().map(|i| i as i32))),
                Arc::new(Float64Array::from_iter(
                    r.clone().map(|i| (i % 5 != 0).then_some(i as f64 / 2.0)),
                )),
                Arc::new(StringArray::from_iter(r.clone().map(text))),
                Arc::new(LargeStringArray::from_iter(r.clone().map(|i| text(i + 1)))),
                Arc::new(Bools::from_iter(r.clone().map(|i| (i % 3 != 0).then_some(i % 2 == 0)))),
                Arc::new(StringViewArray::from_iter(r.clone().map(|i| text(i + 2)))),
            ];
            out.push(RecordBatch::try_new(schema.clone(), cols).expect("valid batch"));
            from = to;
        }
        out
    }

    /// Arrow's filter of the same table: the definition.
    fn oracle(batches: &[RecordBatch], drop: &[u64]) -> Vec<RecordBatch> {
        let mut start = 0u64;
        let mut out = Vec::new();
        for b in batches {
            let keep: BooleanArray = (0..b.num_rows() as u64)
                .map(|i| Some(drop.binary_search(&(start + i)).is_err()))
                .collect();
            start += b.num_rows() as u64;
            let f = arrow::compute::filter_record_batch(b, &keep).expect("filter");
            if f.num_rows() > 0 {
                out.push(f);
            }
        }
        out
    }

    fn concat(batches: &[RecordBatch]) -> RecordBatch {
        arrow::compute::concat_batches(&batches[0].schema(), batches).expect("concat")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn compacting_in_place_equals_arrows_filter(
            n in 1usize..400,
            cut in 1usize..150,
            seed in any::<u64>(),
            density in 0.0f64..1.0,
        ) {
            let batches = table(n, cut, seed);
            let drop: Vec<u64> = (0..n as u64)
                .filter(|i| ((i.wrapping_mul(seed | 1) >> 7) % 1000) as f64 / 1000.0 < density)
                .collect();
            let expected = oracle(&batches, &drop);
            let got = remove_rows(batches, &drop).expect("remove");
            let rows: usize = got.iter().map(|b| b.num_rows()).sum();
            prop_assert_eq!(rows, n - drop.len());
            if expected.is_empty() {
                prop_assert_eq!(got.len(), 1);
                prop_assert_eq!(got[0].num_rows(), 0);
            } else {
                prop_assert_eq!(concat(&got), concat(&expected));
                for b in &got {
                    for c in b.columns() {
                        c.to_data().validate_full().expect("a valid array");
                    }
                }
            }
        }
    }

    #[test]
    fn unshared_buffers_are_compacted_in_place_and_shared_ones_are_copied() {
        let batches = table(1000, 1000, 3);
        let before = batches[0].column(2).to_data().buffers()[1].as_ptr();
        let drop: Vec<u64> = (0..1000).step_by(10).collect();
        let expected = oracle(&batches, &drop);
        let out = remove_rows(batches, &drop).expect("remove");
        assert_eq!(concat(&out), concat(&expected));
        let after = out[0].column(2).to_data().buffers()[1].as_ptr();
        assert_eq!(before, after, "the string values were compacted where they lay");

        let shared = table(1000, 1000, 3);
        let held = shared.clone();
        let out = remove_rows(shared, &drop).expect("remove");
        assert_eq!(concat(&out), concat(&expected));
        assert_ne!(
            held[0].column(2).to_data().buffers()[1].as_ptr(),
            out[0].column(2).to_data().buffers()[1].as_ptr(),
            "a buffer another table holds is not touched"
        );
        assert_eq!(
            concat(&held),
            concat(&table(1000, 1000, 3)),
            "the other table is unchanged"
        );
    }

    #[test]
    fn sliced_columns_and_small_remainders_are_filtered() {
        let whole = table(300, 300, 5);
        let sliced = vec![whole[0].slice(50, 200)];
        let drop = [0u64, 1, 199];
        let expected = oracle(&sliced, &drop);
        assert_eq!(concat(&remove_rows(sliced, &drop).expect("remove")), concat(&expected));
        let most: Vec<u64> = (0..300).filter(|i| i % 4 != 0).collect();
        let expected = oracle(&whole, &most);
        assert_eq!(concat(&remove_rows(whole, &most).expect("remove")), concat(&expected));
    }
}
