//! Cell rewrites applied to the table once the step that found them has let go of it, in place where
//! that is safe.
//!
//! A rewrite step (`trim`, `case_fold`, `canonical_categories`, `repair_encoding`, `normalize_dates`)
//! decides its edits while reading the table, then the edits are applied here. A string column whose
//! buffers this table alone holds, and whose edits never make the text so far longer than it was (every
//! prefix of the edits shrinks or keeps the bytes: trimming, mojibake repair, most case folds), is
//! rewritten where it lies: unedited runs move down over the bytes the edits freed (`copy_within`),
//! edited values are written in their place, and the offsets are rewritten in the same pass. Any
//! other column is rebuilt by runs into new buffers ([`crate::frame::apply_edits`]). Both give the
//! same array; rewriting in place spares a fresh allocation of the column, which for a long-text
//! column costs more in page faults than the copy itself.

use arrow::array::{Array, ArrayRef, BooleanBufferBuilder, OffsetSizeTrait, RecordBatch};
use arrow::buffer::{MutableBuffer, NullBuffer};
use arrow::datatypes::DataType;
use rayon::prelude::*;

use crate::error::Result;
use crate::frame::{Edit, Strings, apply_edits};
use crate::owned;

/// One column's edits in one batch: `(row within the batch, new value)`, ascending by row.
pub(crate) type ColumnEdits = Vec<(usize, Edit)>;

/// The edits of a rewrite: per batch, `(column, its edits)` for the columns with at least one.
#[derive(Debug, Default)]
pub(crate) struct Edits {
    pub per_batch: Vec<Vec<(usize, ColumnEdits)>>,
}

impl Edits {
    /// `batches` (the table the edits were found in) with the edits applied.
    pub fn apply(self, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
        if self.per_batch.iter().all(Vec::is_empty) {
            return Ok(batches);
        }
        batches
            .into_par_iter()
            .zip(self.per_batch)
            .map(|(batch, edits)| {
                if edits.is_empty() {
                    return Ok(batch);
                }
                let (schema, columns, _) = batch.into_parts();
                let mut by_column: Vec<Option<ColumnEdits>> = (0..columns.len()).map(|_| None).collect();
                for (c, e) in edits {
                    by_column[c] = Some(e);
                }
                let columns = columns
                    .into_iter()
                    .zip(by_column)
                    .map(|(column, e)| match e {
                        Some(e) => edit_column(column, &e),
                        None => column,
                    })
                    .collect();
                Ok(RecordBatch::try_new(schema, columns)?)
            })
            .collect()
    }
}

/// `array` (a string column) with `edits` applied.
fn edit_column(array: ArrayRef, edits: &[(usize, Edit)]) -> ArrayRef {
    let large = match array.data_type() {
        DataType::Utf8 => false,
        DataType::LargeUtf8 => true,
        _ => return copied(&array, edits),
    };
    let grows = if large {
        grows::<i64>(&array, edits)
    } else {
        grows::<i32>(&array, edits)
    };
    if grows {
        return copied(&array, edits);
    }
    let mut parts = match owned::take(array) {
        Ok(parts) => parts,
        Err(array) => return copied(&array, edits),
    };
    let len = parts.len;
    let (offsets, values) = parts.offsets_and_values();
    if large {
        rewrite_in_place::<i64>(offsets, values, len, edits);
    } else {
        rewrite_in_place::<i32>(offsets, values, len, edits);
    }
    // Validity: the old bits with the edited cells set (a value) or cleared (null).
    let mut valid = BooleanBufferBuilder::new(len);
    match &parts.nulls {
        Some(n) => valid.append_buffer(n.inner()),
        None => valid.append_n(len, true),
    }
    for (i, e) in edits {
        valid.set_bit(*i, matches!(e, Edit::Set(_)));
    }
    parts.nulls = Some(NullBuffer::new(valid.finish())).filter(|n| n.null_count() > 0);
    // SAFETY: every value is either one of the valid array's own (its bytes moved whole, in order) or
    // an edit's `String` (valid UTF-8); offsets are rewritten ascending within the truncated values
    // and there are `len` of them plus one, with validity bits to match.
    #[allow(unsafe_code)]
    unsafe {
        parts.into_array()
    }
}

/// The rebuild by runs into new buffers.
fn copied(array: &ArrayRef, edits: &[(usize, Edit)]) -> ArrayRef {
    match Strings::of(array.as_ref()) {
        Some(s) => apply_edits(s, edits),
        None => unreachable!("rewrites are checked to be of string columns"),
    }
}

/// Whether some prefix of `edits` makes the text longer than it was: then writing in place would
/// overwrite bytes not read yet.
fn grows<O: OffsetSizeTrait>(array: &ArrayRef, edits: &[(usize, Edit)]) -> bool {
    let offsets = array
        .as_any()
        .downcast_ref::<arrow::array::GenericStringArray<O>>()
        .map(|a| a.value_offsets());
    let Some(offsets) = offsets else { return true };
    let mut delta = 0i64;
    for (i, e) in edits {
        let old = (offsets[i + 1] - offsets[*i]).as_usize() as i64;
        let new = match e {
            Edit::Set(v) => v.len() as i64,
            Edit::Null => 0,
        };
        delta += new - old;
        if delta > 0 {
            return true;
        }
    }
    false
}

/// Rewrites `len` values (`offsets`, `values`) in place with `edits`, which [`grows`] has cleared: each
/// write lands at or below the bytes still to be read.
fn rewrite_in_place<O: OffsetSizeTrait>(
    offsets: &mut MutableBuffer,
    values: &mut MutableBuffer,
    len: usize,
    edits: &[(usize, Edit)],
) {
    let off = offsets.typed_data_mut::<O>();
    let bytes = values.as_slice_mut();
    let Some(&(first_edit, _)) = edits.first() else { return };
    // Rows before the first edit stay where they are. `at`: where the next value's bytes go; `from`:
    // where the next unread value starts (its old offset, read before it is overwritten).
    let mut at = off[first_edit].as_usize();
    let mut next = first_edit;
    let mut from = off[first_edit].as_usize();
    let mut e = edits.iter().peekable();
    while next < len {
        // The run of unedited rows from `next` up to the next edit (or the end).
        let until_row = e.peek().map(|(j, _)| *j).unwrap_or(len);
        if until_row > next {
            let end = off[until_row].as_usize();
            if from != at {
                // The run moves down by what the edits before it freed (never up: see `grows`).
                bytes.copy_within(from..end, at);
                let shift = from - at;
                for o in &mut off[next + 1..=until_row] {
                    *o = O::usize_as(o.as_usize() - shift);
                }
            }
            at += end - from;
            from = end;
            next = until_row;
        }
        if let Some((j, edit)) = e.next() {
            let old_end = off[j + 1].as_usize();
            if let Edit::Set(v) = edit {
                bytes[at..at + v.len()].copy_from_slice(v.as_bytes());
                at += v.len();
            }
            off[j + 1] = O::usize_as(at);
            from = old_end;
            next = j + 1;
        }
    }
    offsets.truncate((len + 1) * std::mem::size_of::<O>());
    values.truncate(at);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{LargeStringArray, StringArray, StringViewArray};
    use proptest::prelude::*;

    use super::*;

    fn column(values: &[Option<String>], kind: u8) -> ArrayRef {
        match kind {
            0 => Arc::new(StringArray::from_iter(values.iter().cloned())),
            1 => Arc::new(LargeStringArray::from_iter(values.iter().cloned())),
            _ => Arc::new(StringViewArray::from_iter(values.iter().cloned())),
        }
    }

    fn cell() -> impl Strategy<Value = Option<String>> {
        prop_oneof![1 => Just(None), 6 => "[a-zé ]{0,12}".prop_map(Some)]
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![1 => Just(Edit::Null), 6 => "[a-zé ]{0,14}".prop_map(Edit::Set)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// In place or rebuilt, the result is the column with the edits applied, and a valid array.
        #[test]
        fn edits_equal_the_cell_by_cell_definition(
            cells in proptest::collection::vec(cell(), 1..60),
            raw in proptest::collection::vec((any::<prop::sample::Index>(), edit()), 0..20),
            kind in 0u8..3,
            shrink_only in any::<bool>(),
        ) {
            let mut edits: Vec<(usize, Edit)> = raw.into_iter().map(|(i, e)| (i.index(cells.len()), e)).collect();
            edits.sort_by_key(|e| e.0);
            edits.dedup_by_key(|e| e.0);
            if shrink_only {
                // Shorter values only, so the in-place path is taken.
                for (i, e) in &mut edits {
                    if let Edit::Set(v) = e {
                        let old = cells[*i].as_deref().unwrap_or("");
                        let mut cut = v.len().min(old.len());
                        while !v.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        v.truncate(cut);
                    }
                }
            }
            let mut want = cells.clone();
            for (i, e) in &edits {
                want[*i] = match e {
                    Edit::Set(v) => Some(v.clone()),
                    Edit::Null => None,
                };
            }
            let got = edit_column(column(&cells, kind), &edits);
            let input = column(&cells, kind);
            prop_assert_eq!(got.data_type(), input.data_type());
            got.to_data().validate_full().expect("a valid array");
            let s = Strings::of(got.as_ref()).expect("strings");
            let got: Vec<Option<String>> = (0..s.len()).map(|i| s.get(i).map(str::to_owned)).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn shrinking_edits_of_an_unshared_column_are_made_where_it_lies() {
        let cells: Vec<Option<String>> = (0..100).map(|i| Some(format!("  value {i}  "))).collect();
        let a = column(&cells, 0);
        let before = a.to_data().buffers()[1].as_ptr();
        let edits: Vec<(usize, Edit)> = (0..100)
            .step_by(7)
            .map(|i| (i, Edit::Set(format!("value {i}"))))
            .collect();
        let out = edit_column(a, &edits);
        assert_eq!(out.to_data().buffers()[1].as_ptr(), before);
        let s = out.as_any().downcast_ref::<StringArray>().expect("utf8");
        assert_eq!(s.value(7), "value 7");
        assert_eq!(s.value(8), "  value 8  ");

        // Held elsewhere too: rebuilt, and the other holder's values are untouched.
        let a = column(&cells, 0);
        let held = a.clone();
        let out = edit_column(a, &edits);
        assert_ne!(
            out.to_data().buffers()[1].as_ptr(),
            held.to_data().buffers()[1].as_ptr()
        );
        assert_eq!(
            held.as_any().downcast_ref::<StringArray>().expect("utf8").value(7),
            "  value 7  "
        );
    }
}
