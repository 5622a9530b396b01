//! An array taken apart into buffers it alone owns, to be changed where they lie and put back
//! together: what row removal (`remove.rs`) and cell edits (`edits.rs`) do in place.

use arrow::array::{Array, ArrayData, ArrayRef, make_array};
use arrow::buffer::{Buffer, MutableBuffer, NullBuffer};
use arrow::datatypes::DataType;

/// A flat array's parts, its value buffers writable.
pub(crate) struct Owned {
    pub data_type: DataType,
    pub len: usize,
    pub nulls: Option<NullBuffer>,
    pub buffers: Vec<MutableBuffer>,
}

/// `array`'s parts when nothing else holds its value buffers (no other array, no slice of them, no
/// foreign allocation) and it has no children; otherwise `array` back, unchanged.
pub(crate) fn take(array: ArrayRef) -> std::result::Result<Owned, ArrayRef> {
    let data = array.to_data();
    drop(array);
    let alone = data.offset() == 0
        && data.child_data().is_empty()
        && data
            .buffers()
            .iter()
            .all(|b| b.strong_count() == 1 && b.ptr_offset() == 0);
    if !alone {
        return Err(make_array(data));
    }
    let (data_type, len, nulls, _, buffers, _) = data.into_parts();
    // Every buffer is taken over before any is changed, so that a refusal gives the array back as
    // it was.
    let taken: Vec<std::result::Result<MutableBuffer, Buffer>> =
        buffers.into_iter().map(Buffer::into_mutable).collect();
    if taken.iter().any(|t| t.is_err()) {
        let buffers = taken
            .into_iter()
            .map(|t| match t {
                Ok(m) => Buffer::from(m),
                Err(b) => b,
            })
            .collect();
        let data = ArrayData::builder(data_type).len(len).nulls(nulls).buffers(buffers);
        // SAFETY: these are the parts of the valid array `data` was, unchanged.
        #[allow(unsafe_code)]
        let data = unsafe { data.build_unchecked() };
        return Err(make_array(data));
    }
    Ok(Owned {
        data_type,
        len,
        nulls,
        buffers: taken.into_iter().flatten().collect(),
    })
}

impl Owned {
    /// The offsets and the value bytes of a string or binary array.
    pub fn offsets_and_values(&mut self) -> (&mut MutableBuffer, &mut MutableBuffer) {
        match self.buffers.as_mut_slice() {
            [offsets, values] => (offsets, values),
            _ => unreachable!("string and binary arrays have two buffers"),
        }
    }

    /// The array of these parts, without Arrow's validation (for strings, a UTF-8 scan of the whole
    /// column: two thirds of a row removal's time on the demo table). In debug builds, and so in
    /// every test, the result is validated in full.
    ///
    /// # Safety
    ///
    /// The parts must make a valid array: `len` values of `data_type` in the buffers (for strings,
    /// `len + 1` ascending offsets within the values, each value whole UTF-8), and `nulls` of `len`
    /// bits if any.
    #[allow(unsafe_code)]
    pub unsafe fn into_array(self) -> ArrayRef {
        let data = ArrayData::builder(self.data_type)
            .len(self.len)
            .nulls(self.nulls)
            .buffers(self.buffers.into_iter().map(Buffer::from).collect());
        // SAFETY: the caller's promise above.
        let data = unsafe { data.build_unchecked() };
        debug_assert!(data.validate_full().is_ok(), "{:?}", data.validate_full());
        make_array(data)
    }
}
