//! `dedupe` and `near_dedupe`: drop rows that repeat an earlier row, exactly or nearly, keeping the first.
//!
//! Both find what `sluice quality` counts, so that the quality report and the step agree: exact
//! duplicates are rows equal in Arrow's row format, the equality behind `sluice quality`'s 128-bit row
//! hashes (so `1` and `"1"`, or null and `""`, differ), found here by vectorised 64-bit hashes on every
//! core and confirmed by comparing the values, so no hash collision can merge distinct rows (see
//! `rowhash.rs`); near duplicates are clusters of `sluice quality`'s MinHash LSH search with exact Jaccard
//! verification (see `sluice_quality::minhash`). A cluster is joined
//! transitively (A ~ B and B ~ C puts A, B, C together); its first row is kept. Identical texts are near
//! duplicates too (similarity 1); null or empty texts never are.

use sluice_quality::minhash::{NearDupConfig, near_duplicates};

use crate::error::Result;
use crate::frame::{Frame, Strings};
use crate::report::{Example, StepReport};

/// `dedupe`: the rows (ascending) equal to an earlier row on `columns` (all columns when `None`).
pub(crate) fn exact(frame: &Frame<'_>, columns: Option<&[String]>, report: &mut StepReport) -> Result<Vec<u64>> {
    let cols: Vec<usize> = match columns {
        Some(names) => frame.indices("columns", names)?,
        None => (0..frame.schema.fields().len()).collect(),
    };
    let d = crate::rowhash::find(frame.batches, &cols)?;
    let drop: Vec<u64> = d.rows.iter().map(|r| r.0).collect();
    report.removed(drop.len() as u64);
    report.add_examples(
        d.rows
            .iter()
            .map(|&(row, first)| Example::removed(row, frame.row_json(row), format!("duplicate of row {first}"))),
    );
    if !drop.is_empty() {
        let key = match columns {
            Some(names) => format!("on {}", names.join(", ")),
            None => "on all columns".into(),
        };
        report.notes.push(format!(
            "{} rows repeated an earlier row {key} ({} distinct rows occurred more than once); the first of each was kept",
            drop.len(),
            d.groups
        ));
    }
    Ok(drop)
}

/// `near_dedupe`: every row (ascending) but the first of each near-duplicate cluster of `column`'s texts.
pub(crate) fn near(frame: &Frame<'_>, column: &str, threshold: f64, report: &mut StepReport) -> Result<Vec<u64>> {
    let c = frame.string_columns("column", &[column.to_owned()])?[0];
    let mut texts: Vec<Option<&str>> = Vec::with_capacity(frame.rows as usize);
    for b in frame.batches {
        let s = Strings::expect(b.column(c).as_ref())?;
        texts.extend((0..s.len()).map(|i| s.get(i)));
    }
    let cfg = NearDupConfig {
        threshold,
        ..NearDupConfig::default()
    };
    let r = near_duplicates(&texts, &cfg)?;
    let mut drop: Vec<(u64, u64)> = r
        .clusters
        .iter()
        .flat_map(|cl| cl.rows[1..].iter().map(|&row| (row, cl.rows[0])))
        .collect();
    drop.sort_unstable();
    report.removed(drop.len() as u64);
    report.add_examples(drop.iter().map(|&(row, first)| {
        Example::removed(
            row,
            frame.row_json(row),
            format!(
                "{column} is a near duplicate of row {first}'s: {:?}",
                texts[first as usize].unwrap_or_default()
            ),
        )
    }));
    if !drop.is_empty() {
        report.per_column.insert(column.to_owned(), drop.len() as u64);
        report.notes.push(format!(
            "{} clusters of near-duplicate {column} texts (Jaccard of 5-shingles >= {threshold}; {} bands of {} rows, {} candidate pairs); the first row of each was kept",
            r.clusters.len(),
            r.bands,
            r.rows_per_band,
            r.candidate_pairs
        ));
    }
    Ok(drop.into_iter().map(|d| d.0).collect())
}

#[cfg(test)]
mod tests {
    use crate::{Step, apply};
    use arrow::array::RecordBatch;
    use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn table() -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("text", DataType::Utf8, true),
            Field::new("x", DataType::Float64, true),
        ]));
        let batch = |ids: Vec<i64>, t: Vec<Option<&str>>, x: Vec<Option<f64>>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)) as ArrayRef,
                    Arc::new(StringArray::from(t)) as ArrayRef,
                    Arc::new(Float64Array::from(x)) as ArrayRef,
                ],
            )
            .unwrap()
        };
        vec![
            batch(
                vec![1, 2, 1, 3],
                vec![
                    Some("the quick brown fox jumps over the lazy dog"),
                    Some("an entirely different sentence about data"),
                    Some("the quick brown fox jumps over the lazy dog"),
                    Some("the quick brown fox jumps over the lazy dog!"),
                ],
                vec![Some(1.0), None, Some(1.0), Some(2.0)],
            ),
            batch(
                vec![2, 4, 5],
                vec![Some("an entirely different sentence about data"), None, None],
                vec![None, Some(3.0), Some(3.0)],
            ),
        ]
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
    fn exact_duplicates_on_all_columns_and_on_a_key() {
        let (out, r) = apply(&Step::Dedupe { columns: None }, table()).unwrap();
        // Row 2 repeats row 0; row 4 repeats row 1 (nulls equal); rows 5 and 6 differ on id.
        assert_eq!(ids(&out), vec![1, 2, 3, 4, 5]);
        assert_eq!((r.rows_in, r.rows_out, r.rows_removed), (7, 5, 2));
        assert_eq!(r.examples[0].row, 2);
        assert_eq!(r.examples[0].note.as_deref(), Some("duplicate of row 0"));
        assert_eq!(r.examples[0].before["id"], 1);
        assert_eq!(r.examples[1].row, 4);

        let (out, r) = apply(
            &Step::Dedupe {
                columns: Some(vec!["x".into()]),
            },
            table(),
        )
        .unwrap();
        // x = 1, null, 1, 2, null, 3, 3: rows 2, 4 and 6 repeat.
        assert_eq!(ids(&out), vec![1, 2, 3, 4]);
        assert_eq!(r.rows_removed, 3);
    }

    #[test]
    fn near_duplicates_keep_the_first_of_each_cluster() {
        let (out, r) = apply(
            &Step::NearDedupe {
                column: "text".into(),
                threshold: 0.8,
            },
            table(),
        )
        .unwrap();
        // Rows 0, 2 and 3 cluster (2 identical, 3 one character longer), rows 1 and 4 are identical; nulls stay.
        assert_eq!(ids(&out), vec![1, 2, 4, 5]);
        assert_eq!(r.rows_removed, 3);
        assert_eq!(r.per_column["text"], 3);
        assert!(
            r.examples[0]
                .note
                .as_deref()
                .unwrap()
                .contains("near duplicate of row 0")
        );

        let e = apply(
            &Step::NearDedupe {
                column: "x".into(),
                threshold: 0.8,
            },
            table(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("near_dedupe: column `x`") && e.contains("Float64"), "{e}");
    }
}
