//! The table a step works on, and the plumbing every step shares: column lookup with errors that name the
//! step and list the columns, uniform access to the three Arrow string types, cell rewrites that keep each
//! column's type, and row removal.
//!
//! Invariant: row numbers are 0-based positions in the input's row order across batches (`starts[b]` is
//! the number of rows in batches `0..b`), the numbering `sluice quality` and `sluice synth`'s ground truth
//! use. A column or batch that a step does not change is passed on as the same Arrow array (no copy).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanBufferBuilder, GenericStringArray, GenericStringBuilder, LargeStringArray, OffsetSizeTrait,
    RecordBatch, StringArray, StringViewArray, StringViewBuilder,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, SchemaRef};
use rayon::prelude::*;

use crate::edits::{ColumnEdits, Edits};
use crate::error::{Error, Result};
use crate::report::Example;

/// Examples kept per step.
pub(crate) const EXAMPLES: usize = 5;

/// A step's view of the input table.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub step: &'static str,
    pub schema: SchemaRef,
    pub batches: &'a [RecordBatch],
    pub starts: Vec<u64>,
    pub rows: u64,
}

fn fields(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'a> Frame<'a> {
    /// The frame of `batches`, which must share one schema (field names, types and nullability); `None`
    /// for no batches.
    pub fn new(step: &'static str, batches: &'a [RecordBatch]) -> Result<Option<Self>> {
        let Some(first) = batches.first() else {
            return Ok(None);
        };
        let schema = first.schema();
        for (i, b) in batches.iter().enumerate().skip(1) {
            if b.schema().fields() != schema.fields() {
                return Err(Error::SchemaMismatch {
                    step,
                    batch: i,
                    found: fields(&b.schema()),
                    expected: fields(&schema),
                });
            }
        }
        let mut starts = Vec::with_capacity(batches.len());
        let mut rows = 0u64;
        for b in batches {
            starts.push(rows);
            rows += b.num_rows() as u64;
        }
        Ok(Some(Frame {
            step,
            schema,
            batches,
            starts,
            rows,
        }))
    }

    /// The column names, comma-separated.
    pub fn available(&self) -> String {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The index of column `name`, named by the step's field `field`.
    pub fn index(&self, field: &'static str, name: &str) -> Result<usize> {
        self.schema.index_of(name).map_err(|_| Error::UnknownColumn {
            step: self.step,
            field,
            column: name.to_owned(),
            available: self.available(),
        })
    }

    /// The indices of `names`, rejecting an empty list and repeats.
    pub fn indices(&self, field: &'static str, names: &[String]) -> Result<Vec<usize>> {
        if names.is_empty() {
            return Err(Error::InvalidStep {
                step: self.step,
                message: format!(
                    "`{field}` is empty; name at least one column (the table's columns are: {})",
                    self.available()
                ),
            });
        }
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let i = self.index(field, n)?;
            if out.contains(&i) {
                return Err(Error::InvalidStep {
                    step: self.step,
                    message: format!("`{field}` names column `{n}` twice; name it once"),
                });
            }
            out.push(i);
        }
        Ok(out)
    }

    /// The column's name.
    pub fn name(&self, c: usize) -> &str {
        self.schema.field(c).name()
    }

    /// The column's type.
    pub fn data_type(&self, c: usize) -> &DataType {
        self.schema.field(c).data_type()
    }

    /// A [`Error::WrongType`] for column `c`.
    pub fn wrong_type(&self, c: usize, expected: &'static str, fix: impl Into<String>) -> Error {
        Error::WrongType {
            step: self.step,
            column: self.name(c).to_owned(),
            found: format!("a {} column", self.data_type(c)),
            expected,
            fix: fix.into(),
        }
    }

    /// The indices of `names`, each of which must be a string column.
    pub fn string_columns(&self, field: &'static str, names: &[String]) -> Result<Vec<usize>> {
        let cols = self.indices(field, names)?;
        for &c in &cols {
            if !is_string(self.data_type(c)) {
                return Err(self.wrong_type(
                    c,
                    "a string column (Utf8, LargeUtf8 or Utf8View)",
                    format!(
                        "remove `{}` from `{field}`; this step rewrites text, and the string columns are: {}",
                        self.name(c),
                        self.columns_where(is_string)
                    ),
                ));
            }
        }
        Ok(cols)
    }

    /// The names of the columns whose type satisfies `pred`, comma-separated (`(none)` if none does).
    pub fn columns_where(&self, pred: fn(&DataType) -> bool) -> String {
        let names: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .filter(|f| pred(f.data_type()))
            .map(|f| f.name().as_str())
            .collect();
        if names.is_empty() {
            "(none)".into()
        } else {
            names.join(", ")
        }
    }

    /// `(batch, row within it)` of row `row`.
    pub fn locate(&self, row: u64) -> (usize, usize) {
        let b = self.starts.partition_point(|s| *s <= row) - 1;
        (b, (row - self.starts[b]) as usize)
    }

    /// Row `row` as a JSON object (Arrow's JSON writer; `null` if it fails).
    pub fn row_json(&self, row: u64) -> serde_json::Value {
        let (b, i) = self.locate(row);
        let slice = self.batches[b].slice(i, 1);
        let mut buf = Vec::new();
        {
            let mut w = arrow::json::ArrayWriter::new(&mut buf);
            if w.write(&slice).is_err() || w.finish().is_err() {
                return serde_json::Value::Null;
            }
        }
        match serde_json::from_slice(&buf) {
            Ok(serde_json::Value::Array(mut rows)) if rows.len() == 1 => rows.pop().unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }
}

/// Whether `t` is one of Arrow's string types.
pub(crate) fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Whether `t` is an integer or float type.
pub(crate) fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

/// Read access to any of Arrow's three string array types.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Strings<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Strings<'a> {
    /// `a` as strings, or `None` if it is not a string array.
    pub fn of(a: &'a dyn Array) -> Option<Self> {
        let any = a.as_any();
        if let Some(s) = any.downcast_ref::<StringArray>() {
            Some(Strings::Utf8(s))
        } else if let Some(s) = any.downcast_ref::<LargeStringArray>() {
            Some(Strings::Large(s))
        } else {
            any.downcast_ref::<StringViewArray>().map(Strings::View)
        }
    }

    /// Like [`Strings::of`], but a non-string array is a bug (the column's type was checked).
    pub fn expect(a: &'a dyn Array) -> Result<Self> {
        Self::of(a).ok_or_else(|| Error::Internal(format!("expected a string array, found {}", a.data_type())))
    }

    pub fn len(&self) -> usize {
        match self {
            Strings::Utf8(a) => a.len(),
            Strings::Large(a) => a.len(),
            Strings::View(a) => a.len(),
        }
    }

    /// The value at `i`, `None` for null.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Strings::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// A new value for a cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Edit {
    Set(String),
    Null,
}

impl Edit {
    pub fn json(&self) -> serde_json::Value {
        match self {
            Edit::Set(s) => serde_json::Value::String(s.clone()),
            Edit::Null => serde_json::Value::Null,
        }
    }
}

fn build_generic<O: OffsetSizeTrait>(s: Strings<'_>, edits: &[(usize, Edit)]) -> ArrayRef {
    let mut b = GenericStringBuilder::<O>::with_capacity(s.len(), 0);
    let mut e = edits.iter().peekable();
    for i in 0..s.len() {
        match e.next_if(|(j, _)| *j == i) {
            Some((_, Edit::Set(v))) => b.append_value(v),
            Some((_, Edit::Null)) => b.append_null(),
            None => b.append_option(s.get(i)),
        }
    }
    Arc::new(b.finish())
}

/// [`build_generic`] by runs: the unedited rows between two edits are copied as one slice of the
/// value bytes with their offsets shifted, instead of value by value (a repair of 2 values in a
/// 65,536-row batch of long texts copies the batch's text in three `memcpy`s). Falls back to
/// [`build_generic`] when the result would not fit `O`'s offsets.
fn build_runs<O: OffsetSizeTrait>(a: &GenericStringArray<O>, edits: &[(usize, Edit)]) -> ArrayRef {
    let offsets = a.value_offsets();
    let values = a.value_data();
    let n = a.len();
    let first = offsets[0].as_usize();
    let kept = offsets[n].as_usize() - first;
    let added: usize = edits
        .iter()
        .map(|(_, e)| match e {
            Edit::Set(v) => v.len(),
            Edit::Null => 0,
        })
        .sum();
    if O::from_usize(kept + added).is_none() {
        let s = Strings::of(a).expect("a string array");
        return build_generic::<O>(s, edits);
    }
    let mut out = Vec::with_capacity(kept + added);
    let mut out_offsets: Vec<O> = Vec::with_capacity(n + 1);
    out_offsets.push(O::zero());
    let mut valid = BooleanBufferBuilder::new(n);
    let mut any_null = false;
    // Copies rows `from..to` as they are; whether one of them is null.
    let copy =
        |from: usize, to: usize, out: &mut Vec<u8>, out_offsets: &mut Vec<O>, valid: &mut BooleanBufferBuilder| {
            if from >= to {
                return false;
            }
            let (start, end) = (offsets[from].as_usize(), offsets[to].as_usize());
            let base = out.len();
            out.extend_from_slice(&values[start..end]);
            for k in from..to {
                let off = offsets[k + 1].as_usize() - start + base;
                out_offsets.push(O::from_usize(off).expect("checked above"));
            }
            match a.nulls() {
                Some(nulls) => {
                    let mut null = false;
                    for k in from..to {
                        valid.append(nulls.is_valid(k));
                        null |= nulls.is_null(k);
                    }
                    null
                }
                None => {
                    valid.append_n(to - from, true);
                    false
                }
            }
        };
    let mut next = 0;
    for (j, edit) in edits {
        any_null |= copy(next, *j, &mut out, &mut out_offsets, &mut valid);
        match edit {
            Edit::Set(v) => {
                out.extend_from_slice(v.as_bytes());
                valid.append(true);
            }
            Edit::Null => {
                valid.append(false);
                any_null = true;
            }
        }
        out_offsets.push(O::from_usize(out.len()).expect("checked above"));
        next = j + 1;
    }
    any_null |= copy(next, n, &mut out, &mut out_offsets, &mut valid);
    let nulls = any_null.then(|| NullBuffer::new(valid.finish()));
    // Offsets are ascending and every value a whole UTF-8 string (copied from one or set from a
    // `String`), so the checked constructor succeeds.
    match GenericStringArray::<O>::try_new(OffsetBuffer::new(out_offsets.into()), out.into(), nulls) {
        Ok(array) => Arc::new(array),
        Err(_) => build_generic::<O>(Strings::of(a).expect("a string array"), edits),
    }
}

/// A copy of string array `s` with `edits` (ascending by index) applied, of the same Arrow type.
pub(crate) fn apply_edits(s: Strings<'_>, edits: &[(usize, Edit)]) -> ArrayRef {
    match s {
        Strings::Utf8(a) => build_runs::<i32>(a, edits),
        Strings::Large(a) => build_runs::<i64>(a, edits),
        Strings::View(_) => {
            let mut b = StringViewBuilder::with_capacity(s.len());
            let mut e = edits.iter().peekable();
            for i in 0..s.len() {
                match e.next_if(|(j, _)| *j == i) {
                    Some((_, Edit::Set(v))) => b.append_value(v),
                    Some((_, Edit::Null)) => b.append_null(),
                    None => b.append_option(s.get(i)),
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// What a cell rewrite did to one cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    /// The new value; `None` leaves the cell as it is.
    pub edit: Option<Edit>,
    /// The step could not fix the value (an unparseable date, text with U+FFFD).
    pub invalid: bool,
}

impl Cell {
    pub const KEEP: Cell = Cell {
        edit: None,
        invalid: false,
    };

    pub fn set(s: String) -> Cell {
        Cell {
            edit: Some(Edit::Set(s)),
            invalid: false,
        }
    }
}

/// A rewrite's counts for one column.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tally {
    /// Cells given a new value.
    pub changed: u64,
    /// Cells flagged invalid.
    pub invalid: u64,
    /// The first changed (or invalid) cells, in row order.
    pub examples: Vec<Example>,
}

impl Tally {
    pub fn merge(&mut self, other: Tally) {
        self.changed += other.changed;
        self.invalid += other.invalid;
        let room = EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}

/// Rewrites string columns `cols` cell by cell: `f(k, value)` decides the cell of column `cols[k]` (its
/// value `None` when null). Batches are processed in parallel; a column with no edit in a batch is passed
/// on unchanged. Returns the new batches and one tally per column of `cols`.
pub(crate) fn rewrite_strings<F>(frame: &Frame<'_>, cols: &[usize], f: F) -> Result<(Edits, Vec<Tally>)>
where
    F: Fn(usize, Option<&str>) -> Cell + Sync,
{
    let (batches, tallies, _) = rewrite_strings_with(frame, cols, |_: &mut (), k, v| f(k, v))?;
    Ok((batches, tallies))
}

/// What [`rewrite_strings_with`] returns: the edits (applied to the table once the step lets go of
/// it), a tally per column, and per column the batches' states in order.
pub(crate) type Rewrite<S> = (Edits, Vec<Tally>, Vec<Vec<S>>);

/// [`rewrite_strings`] with a state per batch and column that `f` may update (counts of what it saw);
/// the third result holds, per column of `cols`, the states of the batches in order.
pub(crate) fn rewrite_strings_with<S, F>(frame: &Frame<'_>, cols: &[usize], f: F) -> Result<Rewrite<S>>
where
    S: Default + Send,
    F: Fn(&mut S, usize, Option<&str>) -> Cell + Sync,
{
    type PerBatch<S> = (Vec<(usize, ColumnEdits)>, Vec<(Tally, S)>);
    let per_batch: Vec<PerBatch<S>> = frame
        .batches
        .par_iter()
        .enumerate()
        .map(|(b, batch)| {
            let mut edited = Vec::new();
            let mut tallies = Vec::with_capacity(cols.len());
            for (k, &c) in cols.iter().enumerate() {
                let s = Strings::expect(batch.column(c).as_ref())?;
                let mut tally = Tally::default();
                let mut state = S::default();
                let mut edits = Vec::new();
                for i in 0..s.len() {
                    let before = s.get(i);
                    let cell = f(&mut state, k, before);
                    tally.invalid += u64::from(cell.invalid);
                    let Some(edit) = cell.edit else {
                        if cell.invalid && tally.examples.len() < EXAMPLES {
                            tally.examples.push(Example::cell(
                                frame.starts[b] + i as u64,
                                frame.name(c),
                                before,
                                before
                                    .map(|v| serde_json::Value::String(v.to_owned()))
                                    .unwrap_or_default(),
                                Some("left as it is: could not be fixed".into()),
                            ));
                        }
                        continue;
                    };
                    tally.changed += 1;
                    if tally.examples.len() < EXAMPLES {
                        tally.examples.push(Example::cell(
                            frame.starts[b] + i as u64,
                            frame.name(c),
                            before,
                            edit.json(),
                            cell.invalid.then(|| "could not be fixed".to_owned()),
                        ));
                    }
                    edits.push((i, edit));
                }
                if !edits.is_empty() {
                    edited.push((c, edits));
                }
                tallies.push((tally, state));
            }
            Ok((edited, tallies))
        })
        .collect::<Result<_>>()?;
    let mut edits = Edits::default();
    let mut totals = vec![Tally::default(); cols.len()];
    let mut states: Vec<Vec<S>> = cols.iter().map(|_| Vec::with_capacity(per_batch.len())).collect();
    for (edited, tallies) in per_batch {
        edits.per_batch.push(edited);
        for ((t, s), (x, state)) in totals.iter_mut().zip(states.iter_mut()).zip(tallies) {
            t.merge(x);
            s.push(state);
        }
    }
    Ok((edits, totals, states))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{Field, Schema};

    fn batch(schema: &SchemaRef, ids: Vec<i64>) -> RecordBatch {
        let s: Vec<String> = ids.iter().map(|i| format!("v{i}")).collect();
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids)) as ArrayRef,
                Arc::new(LargeStringArray::from(s)) as ArrayRef,
            ],
        )
        .unwrap()
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("s", DataType::LargeUtf8, true),
        ]))
    }

    fn ids(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[test]
    fn rows_are_removed_across_batches_and_the_schema_survives() {
        let s = schema();
        let batches = vec![batch(&s, vec![0, 1, 2]), batch(&s, vec![3]), batch(&s, vec![4, 5])];
        let f = Frame::new("t", &batches).unwrap().unwrap();
        assert_eq!(f.locate(3), (1, 0));
        assert_eq!(f.locate(5), (2, 1));
        assert_eq!(f.row_json(4), serde_json::json!({"id": 4, "s": "v4"}));
        let out = crate::remove::remove_rows(batches.clone(), &[1, 3, 5]).unwrap();
        assert_eq!(ids(&out), vec![0, 2, 4]);
        assert_eq!(out.len(), 2, "the emptied batch is left out");
        let none = crate::remove::remove_rows(batches.clone(), &[0, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].num_rows(), 0);
        assert_eq!(none[0].schema(), s);
    }

    #[test]
    fn rewrites_keep_the_string_type_and_unchanged_arrays() {
        let s = schema();
        let batches = vec![batch(&s, vec![0, 1]), batch(&s, vec![2, 3])];
        let f = Frame::new("t", &batches).unwrap().unwrap();
        let (edits, tallies) = rewrite_strings(&f, &[1], |_, v| match v {
            Some("v3") => Cell::set("three".into()),
            Some("v2") => Cell {
                edit: Some(Edit::Null),
                invalid: true,
            },
            _ => Cell::KEEP,
        })
        .unwrap();
        drop(f);
        let out = edits.apply(batches.clone()).unwrap();
        assert!(Arc::ptr_eq(out[0].column(1), batches[0].column(1)));
        let col = out[1].column(1).as_any().downcast_ref::<LargeStringArray>().unwrap();
        assert!(col.is_null(0));
        assert_eq!(col.value(1), "three");
        assert_eq!((tallies[0].changed, tallies[0].invalid), (2, 1));
        assert_eq!(tallies[0].examples[0].row, 2);
    }

    #[test]
    fn mismatched_batches_and_unknown_columns_are_named() {
        let s = schema();
        let other = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let b2 = RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1])) as ArrayRef]).unwrap();
        let batches = vec![batch(&s, vec![0]), b2];
        let e = Frame::new("trim", &batches).unwrap_err().to_string();
        assert!(e.starts_with("trim: batch 1") && e.contains("s LargeUtf8"), "{e}");
        let batches = vec![batch(&s, vec![0])];
        let f = Frame::new("trim", &batches).unwrap().unwrap();
        let e = f.string_columns("columns", &["nope".into()]).unwrap_err().to_string();
        assert!(e.contains("trim") && e.contains("`nope`") && e.contains("id, s"), "{e}");
        let e = f.string_columns("columns", &["id".into()]).unwrap_err().to_string();
        assert!(e.contains("Int64") && e.contains("string columns are: s"), "{e}");
        let e = f.string_columns("columns", &[]).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn edits_by_runs_equal_edits_value_by_value(
            cells in proptest::collection::vec(proptest::option::of("[a-zé ]{0,12}"), 1..80),
            edits in proptest::collection::btree_map(0usize..80, proptest::option::of("[x-zß]{0,6}"), 0..20),
            skip in 0usize..5,
        ) {
            let whole = StringArray::from(cells.clone());
            let skip = skip.min(cells.len() - 1);
            let sliced = whole.slice(skip, cells.len() - skip);
            let edits: Vec<(usize, Edit)> = edits
                .into_iter()
                .filter(|(i, _)| *i < sliced.len())
                .map(|(i, v)| (i, v.map_or(Edit::Null, Edit::Set)))
                .collect();
            let by_runs = build_runs::<i32>(&sliced, &edits);
            let by_value = build_generic::<i32>(Strings::Utf8(&sliced), &edits);
            proptest::prop_assert_eq!(by_runs.as_ref(), by_value.as_ref());
            let large = LargeStringArray::from(cells).slice(skip, sliced.len());
            let by_runs = build_runs::<i64>(&large, &edits);
            let by_value = build_generic::<i64>(Strings::Large(&large), &edits);
            proptest::prop_assert_eq!(by_runs.as_ref(), by_value.as_ref());
        }
    }
}
