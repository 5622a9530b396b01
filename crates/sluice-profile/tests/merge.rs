//! Merging per-partition profiles gives the one-pass profile: exact fields equal (moments to
//! floating-point rounding), sketch fields within the sketch's stated error of the truth.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use proptest::prelude::*;
use sluice_profile::{ColumnState, ProfileStates, profile_table, session};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn assert_exact_eq(one: &ColumnState, merged: &ColumnState) {
    assert_eq!(one.rows, merged.rows);
    assert_eq!(one.nulls, merged.nulls);
    assert_eq!(one.nan, merged.nan);
    assert_eq!(one.infinite, merged.infinite);
    assert_eq!(one.empty, merged.empty);
    assert_eq!(one.whitespace, merged.whitespace);
    assert_eq!(one.parses, merged.parses);
    for (a, b) in [(&one.values, &merged.values), (&one.lengths, &merged.lengths)] {
        assert_eq!(a.n, b.n);
        assert_eq!(a.min.to_bits(), b.min.to_bits());
        assert_eq!(a.max.to_bits(), b.max.to_bits());
        assert!(close(a.mean, b.mean), "mean {} vs {}", a.mean, b.mean);
        assert!(
            close(a.m2, b.m2) || (a.m2 - b.m2).abs() < 1e-6,
            "m2 {} vs {}",
            a.m2,
            b.m2
        );
    }
}

/// The merged sketches answer within their stated error of the truth.
fn assert_sketches_within_bounds(merged: &ColumnState, numbers: &[f64], strings: &[String]) {
    let distinct = if strings.is_empty() {
        let mut bits: Vec<u64> = numbers.iter().map(|x| x.to_bits()).collect();
        bits.sort_unstable();
        bits.dedup();
        bits.len()
    } else {
        let mut s: Vec<&String> = strings.iter().collect();
        s.sort();
        s.dedup();
        s.len()
    } as f64;
    let est = merged.hll.estimate();
    // Three relative standard errors of HLL with 2^12 buckets.
    assert!(
        (est - distinct).abs() <= 3.0 * 1.04 / 64.0 * distinct + 1.0,
        "HLL {est} vs {distinct}"
    );

    if let Some(kll) = merged.kll.as_ref().filter(|k| !k.is_empty()) {
        let mut sorted: Vec<f64> = numbers.iter().copied().filter(|x| x.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let eps = kll.normalized_rank_error();
        for r in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
            let q = *kll
                .quantile(r, datasketches::common::SearchCriteria::Inclusive)
                .unwrap()
                .unwrap();
            let below = sorted.partition_point(|x| *x < q) as f64 / sorted.len() as f64;
            let at_or_below = sorted.partition_point(|x| *x <= q) as f64 / sorted.len() as f64;
            assert!(
                below - eps <= r && r <= at_or_below + eps,
                "quantile {r}: value {q} has true rank [{below}, {at_or_below}], error {eps}"
            );
        }
    }

    if let Some(freq) = merged.freq.as_ref() {
        let mut truth: HashMap<&str, u64> = HashMap::new();
        for s in strings {
            *truth.entry(s.as_str()).or_default() += 1;
        }
        for row in freq.frequent_items(datasketches::frequencies::ErrorType::NoFalseNegatives) {
            let t = truth.get(row.item().as_str()).copied().unwrap_or(0);
            assert!(
                row.lower_bound() <= t && t <= row.upper_bound(),
                "{}: {t} not in bounds",
                row.item()
            );
        }
    }
}

fn split<T: Clone>(values: &[T], cuts: &[usize]) -> Vec<Vec<T>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (values.len() + 1)).collect();
    cuts.sort_unstable();
    let mut parts = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([values.len()]) {
        parts.push(values[start..c].to_vec());
        start = c;
    }
    parts
}

fn float_value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        8 => (-1e6f64..1e6).prop_map(Some),
        1 => Just(None),
        1 => Just(Some(f64::NAN)),
        1 => (0i32..50).prop_map(|i| Some(i as f64)),
    ]
}

fn string_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => "[a-e]{1,3}".prop_map(Some),
        1 => Just(None),
        1 => Just(Some(String::new())),
        1 => Just(Some("   ".to_string())),
        1 => (0i64..1000).prop_map(|i| Some(i.to_string())),
        1 => Just(Some("2024-03-01".to_string())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn float_partitions_merge_to_one_pass(values in prop::collection::vec(float_value(), 0..3000), cuts in prop::collection::vec(any::<usize>(), 0..6)) {
        let array = |v: &[Option<f64>]| -> ArrayRef { Arc::new(Float64Array::from(v.to_vec())) };
        let mut one = ColumnState::new(&DataType::Float64);
        one.update(&array(&values)).unwrap();
        let mut merged = ColumnState::new(&DataType::Float64);
        for part in split(&values, &cuts) {
            let mut p = ColumnState::new(&DataType::Float64);
            p.update(&array(&part)).unwrap();
            // Through bytes, as partitions exchange states.
            let p = ColumnState::decode(&p.encode()).unwrap();
            merged.merge(&p).unwrap();
        }
        assert_exact_eq(&one, &merged);
        let numbers: Vec<f64> = values.iter().flatten().copied().filter(|x| !x.is_nan()).collect();
        assert_sketches_within_bounds(&merged, &numbers, &[]);
    }

    #[test]
    fn string_partitions_merge_to_one_pass(values in prop::collection::vec(string_value(), 0..3000), cuts in prop::collection::vec(any::<usize>(), 0..6)) {
        let array = |v: &[Option<String>]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
        let mut one = ColumnState::new(&DataType::Utf8);
        one.update(&array(&values)).unwrap();
        let mut merged = ColumnState::new(&DataType::Utf8);
        for part in split(&values, &cuts) {
            let mut p = ColumnState::new(&DataType::Utf8);
            p.update(&array(&part)).unwrap();
            merged.merge(&ColumnState::decode(&p.encode()).unwrap()).unwrap();
        }
        assert_exact_eq(&one, &merged);
        let strings: Vec<String> = values.iter().flatten().cloned().collect();
        assert_sketches_within_bounds(&merged, &[], &strings);
    }
}

/// Past the sketches' exact range (KLL compacts beyond 200 items, frequent items beyond 192
/// distinct), the merged answers still hold their bounds.
#[test]
fn large_merge_stays_within_bounds() {
    let n = 200_000usize;
    let numbers: Vec<f64> = (0..n).map(|i| ((i * 7919) % 100_003) as f64 * 0.37).collect();
    let strings: Vec<String> = (0..n).map(|i| format!("v{}", (i * i) % 5000 % (1 + i % 300))).collect();
    let mut merged_f = ColumnState::new(&DataType::Float64);
    let mut merged_s = ColumnState::new(&DataType::Utf8);
    for chunk in 0..8 {
        let range = chunk * n / 8..(chunk + 1) * n / 8;
        let mut f = ColumnState::new(&DataType::Float64);
        f.update(&(Arc::new(Float64Array::from(numbers[range.clone()].to_vec())) as ArrayRef))
            .unwrap();
        merged_f.merge(&f).unwrap();
        let mut s = ColumnState::new(&DataType::Utf8);
        s.update(&(Arc::new(StringArray::from(strings[range].to_vec())) as ArrayRef))
            .unwrap();
        merged_s.merge(&s).unwrap();
    }
    assert!(merged_f.kll.as_ref().unwrap().is_estimation_mode());
    assert_sketches_within_bounds(&merged_f, &numbers, &[]);
    assert_sketches_within_bounds(&merged_s, &[], &strings);
    assert_eq!(merged_f.values.n, n as u64);
}

/// The DataFusion aggregate, run over several partitions, equals one pass over the rows.
#[tokio::test]
async fn udaf_over_partitions_equals_one_pass() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float64, true),
        Field::new("k", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("b", DataType::Boolean, true),
    ]));
    let batch = |start: i64, len: i64| {
        let x: Float64Array = (start..start + len)
            .map(|i| (i % 13 != 0).then(|| (i as f64).sin() * 100.0))
            .collect();
        let k: Int64Array = (start..start + len).map(|i| Some(i % 37)).collect();
        let s: StringArray = (start..start + len)
            .map(|i| match i % 11 {
                0 => None,
                1 => Some(String::new()),
                2 => Some(" ".into()),
                3 => Some(format!("2024-01-{:02}", 1 + i % 28)),
                _ => Some(format!("cat{}", i % 17)),
            })
            .collect();
        let b: BooleanArray = (start..start + len)
            .map(|i| (i % 5 != 0).then_some(i % 3 == 0))
            .collect();
        RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(x) as ArrayRef, Arc::new(k), Arc::new(s), Arc::new(b)],
        )
        .unwrap()
    };
    let partitions: Vec<Vec<RecordBatch>> = (0..4)
        .map(|p| (0..3).map(|b| batch((p * 3 + b) * 1000, 1000)).collect())
        .collect();
    let ctx = session();
    ctx.register_table(
        "t",
        Arc::new(MemTable::try_new(schema.clone(), partitions.clone()).unwrap()),
    )
    .unwrap();
    let via_datafusion = profile_table(&ctx, "t").await.unwrap();

    let mut one = ProfileStates::new(&schema);
    for b in partitions.iter().flatten() {
        one.update(b).unwrap();
    }
    assert_eq!(via_datafusion.rows, 12_000);
    assert_eq!(one.rows, 12_000);
    for (a, b) in one.columns.iter().zip(&via_datafusion.columns) {
        assert_eq!(a.name, b.name);
        assert_exact_eq(&a.state, &b.state);
    }
    let summary = via_datafusion.summary();
    let s = &summary.columns[2];
    assert_eq!(s.nulls, 12_000 / 11 + 1);
    assert_eq!(s.empty + s.whitespace, s.missing - s.nulls);
    assert!(s.parses.unwrap().date > 0);
    let k = &summary.columns[1];
    assert_eq!(k.stats.unwrap().min, 0.0);
    assert_eq!(k.stats.unwrap().max, 36.0);
    assert!((k.distinct.estimate - 37.0).abs() < 1.0);
    assert_eq!(k.top.len(), 10);
    // Encoded and decoded, the stored form gives the same summary.
    let back = ProfileStates::decode(&via_datafusion.encode()).unwrap();
    assert_eq!(back.summary(), summary);
}

/// `profile_parquet` decodes fully dictionary-encoded string chunks as dictionaries (counted by
/// key), the rest as views, on several threads: the profile equals the one-pass profile of the
/// same rows, exactly for counts and moments, and within the sketches' bounds.
#[tokio::test]
async fn parquet_profile_by_dictionary_equals_one_pass() {
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    let schema = Arc::new(Schema::new(vec![
        // Few distinct values: every page dictionary-encoded.
        Field::new("city", DataType::Utf8, true),
        // All distinct and long: the writer gives up its dictionary part-way (a small limit).
        Field::new("text", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
    ]));
    let city = |i: usize| match i % 13 {
        0 => None,
        1 => Some(String::new()),
        2 => Some("  ".into()),
        3 => Some(format!("2024-02-{:02}", 1 + i % 28)),
        4 => Some("Zürich".into()),
        _ => Some(format!("city {}", i % 7)),
    };
    let text =
        |i: usize| (!i.is_multiple_of(17)).then(|| format!("free text number {i} that is longer than twelve bytes"));
    let rows = 60_000;
    let batches: Vec<RecordBatch> = (0..rows)
        .step_by(5_000)
        .map(|start| {
            let r = start..start + 5_000;
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(r.clone().map(city).collect::<StringArray>()) as ArrayRef,
                    Arc::new(r.clone().map(text).collect::<StringArray>()),
                    Arc::new(r.map(|i| Some((i % 101) as i64)).collect::<Int64Array>()),
                ],
            )
            .unwrap()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(7_000))
        .set_dictionary_page_size_limit(64 * 1024)
        .build();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema.clone(), Some(props)).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();

    // The file has what the test is about: `city` all dictionary pages, `text` not in every chunk.
    let meta = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let meta = parquet::file::reader::FileReader::metadata(&meta).clone();
    assert!(meta.num_row_groups() > 2);
    let all_dict = |col: usize| {
        meta.row_groups().iter().all(|g| {
            g.column(col).page_encoding_stats_mask().is_some_and(|m| {
                m.is_only(parquet::basic::Encoding::RLE_DICTIONARY)
                    || m.is_only(parquet::basic::Encoding::PLAIN_DICTIONARY)
            })
        })
    };
    assert!(all_dict(0));
    assert!(!all_dict(1));

    let from_file = sluice_profile::profile_parquet(&path).await.unwrap();
    let mut one = ProfileStates::new(&schema);
    for b in &batches {
        one.update(b).unwrap();
    }
    assert_eq!(from_file.rows, rows as u64);
    assert_eq!(from_file.columns[0].data_type, "Utf8View");
    for (a, b) in one.columns.iter().zip(&from_file.columns) {
        assert_eq!(a.name, b.name);
        assert_exact_eq(&a.state, &b.state);
    }
    let strings = |f: &dyn Fn(usize) -> Option<String>| (0..rows).filter_map(f).collect::<Vec<_>>();
    assert_sketches_within_bounds(&from_file.columns[0].state, &[], &strings(&city));
    assert_sketches_within_bounds(&from_file.columns[1].state, &[], &strings(&text));
    // Few distinct cities: the HLL sketches are still exact lists, the same on both paths (the
    // long texts' merged sketch uses the union's estimator, so only its bound is checked above).
    assert_eq!(
        one.columns[0].state.hll.estimate(),
        from_file.columns[0].state.hll.estimate()
    );
    // Few distinct cities: exact counts on both paths.
    let top = |s: &ColumnState| {
        let mut v: Vec<(String, u64)> = s
            .freq
            .as_ref()
            .unwrap()
            .frequent_items(datasketches::frequencies::ErrorType::NoFalseNegatives)
            .into_iter()
            .map(|r| (r.item().clone(), r.estimate()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(top(&one.columns[0].state), top(&from_file.columns[0].state));

    // The same table profiled in memory, on several threads: the profile `profile_parquet` gives
    // its file, with the same type names, exactly for counts and moments, within the bounds for
    // the sketches.
    let in_memory = sluice_profile::profile_batches(&schema, &batches).unwrap();
    assert_eq!(in_memory.rows, rows as u64);
    for (a, b) in in_memory.columns.iter().zip(&from_file.columns) {
        assert_eq!((&a.name, &a.data_type), (&b.name, &b.data_type));
        assert_exact_eq(&a.state, &b.state);
    }
    assert_sketches_within_bounds(&in_memory.columns[0].state, &[], &strings(&city));
    assert_sketches_within_bounds(&in_memory.columns[1].state, &[], &strings(&text));
    assert_eq!(top(&in_memory.columns[0].state), top(&from_file.columns[0].state));
    let mut merged = in_memory.clone();
    merged.merge(&from_file).unwrap();
    assert_eq!(merged.rows, 2 * rows as u64);
}
