//! Parquet in: every Arrow type passes through unchanged, including a file another writer
//! (pyarrow) made; the footer alone gives the schema. Parquet out: ZSTD with page statistics.

use std::sync::Arc;

use arrow::array::*;
use arrow::buffer::NullBuffer;
use arrow::datatypes::*;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::metadata::PageIndexPolicy;
use sluice_ingest::{BadRows, Error, TableFormat};

use crate::{CSV, corpus, fixture, opts, read_bytes, read_path};

/// Three rows of (nearly) every Arrow type the Parquet writer stores, nulls included.
fn all_types() -> RecordBatch {
    let int_list =
        ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), None]), None, Some(vec![])]);
    let large_list =
        LargeListArray::from_iter_primitive::<Int64Type, _, _>(vec![None, Some(vec![Some(7)]), Some(vec![])]);
    let point = StructArray::try_new(
        Fields::from(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("label", DataType::Utf8, true),
        ]),
        vec![
            Arc::new(Float64Array::from(vec![Some(1.0), Some(0.0), None])),
            Arc::new(StringArray::from(vec![Some("p"), Some(""), Some("r")])),
        ],
        Some(NullBuffer::from(vec![true, false, true])),
    )
    .unwrap();
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    map.keys().append_value("a");
    map.values().append_value(1);
    map.append(true).unwrap();
    map.append(false).unwrap();
    map.append(true).unwrap();
    let dict: DictionaryArray<Int32Type> = vec![Some("red"), None, Some("red")].into_iter().collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "bool",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            "i8",
            Arc::new(Int8Array::from(vec![Some(i8::MIN), None, Some(i8::MAX)])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![Some(i16::MIN), None, Some(i16::MAX)])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(i32::MIN), None, Some(i32::MAX)])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)])),
        ),
        ("u8", Arc::new(UInt8Array::from(vec![Some(0), None, Some(u8::MAX)]))),
        ("u16", Arc::new(UInt16Array::from(vec![Some(0), None, Some(u16::MAX)]))),
        ("u32", Arc::new(UInt32Array::from(vec![Some(0), None, Some(u32::MAX)]))),
        ("u64", Arc::new(UInt64Array::from(vec![Some(0), None, Some(u64::MAX)]))),
        (
            "f32",
            Arc::new(Float32Array::from(vec![Some(-0.0), None, Some(f32::INFINITY)])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![Some(f64::MIN_POSITIVE), None, Some(-1e300)])),
        ),
        (
            "utf8",
            Arc::new(StringArray::from(vec![Some(""), None, Some("ünïcödé")])),
        ),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from(vec![Some("a"), None, Some("")])),
        ),
        (
            "utf8_view",
            Arc::new(StringViewArray::from(vec![
                Some("a string longer than twelve bytes"),
                None,
                Some("s"),
            ])),
        ),
        (
            "binary",
            Arc::new(BinaryArray::from(vec![Some(&b"\x00\xff"[..]), None, Some(&b""[..])])),
        ),
        (
            "large_binary",
            Arc::new(LargeBinaryArray::from(vec![Some(&b"x"[..]), None, Some(&b""[..])])),
        ),
        (
            "fixed",
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    vec![Some(*b"abcd"), None, Some(*b"\0\0\0\0")].into_iter(),
                    4,
                )
                .unwrap(),
            ),
        ),
        (
            "date32",
            Arc::new(Date32Array::from(vec![Some(-719_162), None, Some(2_932_896)])),
        ),
        (
            "date64",
            Arc::new(Date64Array::from(vec![Some(0), None, Some(86_400_000)])),
        ),
        (
            "time32",
            Arc::new(Time32MillisecondArray::from(vec![Some(0), None, Some(86_399_999)])),
        ),
        (
            "time64",
            Arc::new(Time64MicrosecondArray::from(vec![Some(1), None, Some(86_399_999_999)])),
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(vec![Some(-1), None, Some(1_709_289_015)])),
        ),
        (
            "ts_ms_tz",
            Arc::new(TimestampMillisecondArray::from(vec![Some(1), None, Some(2)]).with_timezone("+02:00")),
        ),
        (
            "ts_us_utc",
            Arc::new(TimestampMicrosecondArray::from(vec![Some(3), None, Some(4)]).with_timezone("UTC")),
        ),
        (
            "ts_ns",
            Arc::new(TimestampNanosecondArray::from(vec![
                Some(i64::MIN + 1),
                None,
                Some(i64::MAX),
            ])),
        ),
        (
            "dec128",
            Arc::new(
                Decimal128Array::from(vec![Some(123_456_789), None, Some(-1)])
                    .with_precision_and_scale(20, 4)
                    .unwrap(),
            ),
        ),
        (
            "dec256",
            Arc::new(
                Decimal256Array::from(vec![Some(i256::from_i128(i128::MAX)), None, Some(i256::MINUS_ONE)])
                    .with_precision_and_scale(50, 10)
                    .unwrap(),
            ),
        ),
        ("list", Arc::new(int_list)),
        ("large_list", Arc::new(large_list)),
        ("struct", Arc::new(point)),
        ("map", Arc::new(map.finish())),
        ("dict", Arc::new(dict)),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn write(batch: &RecordBatch) -> Bytes {
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    Bytes::from(out)
}

/// Compares columns and field types; schema-level metadata differs by design (the writer's).
fn assert_same(got: &RecordBatch, want: &RecordBatch) {
    assert_eq!(got.num_columns(), want.num_columns());
    for (i, f) in want.schema().fields().iter().enumerate() {
        let g = got.schema().field(i).clone();
        assert_eq!((g.name(), g.data_type()), (f.name(), f.data_type()), "column {i}");
        assert_eq!(got.column(i).to_data(), want.column(i).to_data(), "column {}", f.name());
    }
}

#[test]
fn every_arrow_type_passes_through_reading() {
    let batch = all_types();
    let out = read_bytes("all.parquet", write(&batch), TableFormat::Parquet, &opts(BadRows::Fail));
    let report = out.result.as_ref().unwrap();
    assert_eq!((report.rows, report.bad_rows), (3, 0));
    assert_same(&out.table(), &batch);
}

#[test]
fn every_arrow_type_passes_through_the_canonical_copy() {
    let batch = all_types();
    let mut copy = Vec::new();
    let report = sluice_ingest::to_parquet_bytes(
        "all.parquet",
        write(&batch),
        TableFormat::Parquet,
        &opts(BadRows::Fail),
        &mut copy,
        &mut std::io::sink(),
    )
    .unwrap();
    assert_eq!(report.rows, 3);
    let back = read_bytes("copy.parquet", copy, TableFormat::Parquet, &opts(BadRows::Fail));
    assert_same(&back.table(), &batch);
}

#[test]
fn a_file_written_by_pyarrow_reads_with_its_values() {
    // Values as written by tests/corpus/make_parquet.py.
    let out = read_path(
        &fixture("pyarrow_types.parquet"),
        TableFormat::Parquet,
        &opts(BadRows::Fail),
    );
    let t = out.table();
    let col = |name: &str| t.column(t.schema().index_of(name).unwrap()).clone();
    let i8s = col("i8");
    let i8s = i8s.as_primitive::<Int8Type>();
    assert_eq!((i8s.value(0), i8s.is_null(1), i8s.value(2)), (-128, true, 127));
    assert_eq!(col("u32").as_primitive::<UInt32Type>().value(1), u32::MAX);
    let dec = col("dec");
    assert_eq!(dec.data_type(), &DataType::Decimal128(6, 2));
    assert_eq!(dec.as_primitive::<Decimal128Type>().value(0), 1234);
    assert_eq!(dec.as_primitive::<Decimal128Type>().value(2), -1);
    let s = col("s");
    assert_eq!(
        (
            s.as_string::<i32>().value(0),
            s.is_null(1),
            s.as_string::<i32>().value(2)
        ),
        ("", true, "ü")
    );
    assert_eq!(col("d").as_primitive::<Date32Type>().value(0), 19782);
    let ts = col("ts");
    assert_eq!(
        ts.data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    // datetime(2024, 3, 1, 10, 30, tzinfo=timezone.utc).timestamp() == 1709289000
    assert_eq!(
        ts.as_primitive::<TimestampMicrosecondType>().value(0),
        1_709_289_000_000_000
    );
    let lst = col("lst");
    let lst = lst.as_list::<i32>();
    assert_eq!(lst.value(0).as_primitive::<Int64Type>().values().to_vec(), [1, 2]);
    assert!(lst.is_null(1));
    assert_eq!(lst.value(2).len(), 0);
    let st = col("st");
    assert!(st.is_null(1));
    assert_eq!(st.as_struct().column(1).as_string::<i32>().value(2), "q");
    let dict = arrow::compute::cast(&col("dict"), &DataType::Utf8).unwrap();
    assert_eq!(
        dict.as_string::<i32>().iter().flatten().collect::<Vec<_>>(),
        ["red", "blue", "red"]
    );
}

#[test]
fn the_schema_comes_from_the_footer_alone() {
    // Damage the first data page: the footer still gives the schema, reading the rows fails cleanly.
    let mut bytes = std::fs::read(corpus("good.parquet")).unwrap();
    bytes[4..24].fill(0xEE);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.parquet");
    std::fs::write(&path, &bytes).unwrap();
    let schema = sluice_ingest::read_schema(&path, TableFormat::Parquet).unwrap();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "name"]);
    let out = read_path(&path, TableFormat::Parquet, &opts(BadRows::Quarantine));
    assert!(matches!(out.error(), Error::CorruptParquet { .. }), "{:?}", out.result);
    // The footer's row count needs no page either; a damaged footer is still refused.
    let footer = sluice_ingest::parquet_footer(&path).unwrap();
    let good = read_path(&corpus("good.parquet"), TableFormat::Parquet, &opts(BadRows::Fail));
    assert_eq!(footer.rows, good.result.as_ref().unwrap().rows);
    assert_eq!(footer.schema, schema);
    // The metadata's last bytes and its length, just before the closing magic.
    let end = bytes.len();
    bytes[end - 12..end - 4].fill(0xEE);
    std::fs::write(&path, &bytes).unwrap();
    let e = sluice_ingest::parquet_footer(&path).unwrap_err();
    assert!(matches!(e, Error::CorruptParquet { .. }), "{e:?}");
}

#[test]
fn the_canonical_copy_is_zstd_with_page_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("t.csv");
    let mut csv = String::from("id,name,score\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},n{},{}\n", i % 13, i as f64 / 8.0));
    }
    csv.push_str("oops\n");
    std::fs::write(&src, csv).unwrap();
    let (mut copy, mut quarantine) = (Vec::new(), Vec::new());
    let report = sluice_ingest::to_parquet(&src, CSV, &opts(BadRows::Quarantine), &mut copy, &mut quarantine).unwrap();
    assert_eq!((report.rows, report.bad_rows), (5000, 1));
    assert!(String::from_utf8(quarantine).unwrap().contains(r#""line":5002"#));
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(Bytes::from(copy), options).unwrap();
    let meta = builder.metadata().clone();
    for rg in meta.row_groups() {
        for c in rg.columns() {
            assert!(matches!(c.compression(), Compression::ZSTD(_)), "{:?}", c.compression());
            assert!(c.statistics().is_some());
        }
    }
    assert!(
        meta.column_index().is_some() && meta.offset_index().is_some(),
        "no page index"
    );
    let rows: usize = builder.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 5000);
}

#[test]
fn zero_row_parquet_is_a_table_without_rows() {
    let batch = all_types().slice(0, 0);
    let out = read_bytes(
        "none.parquet",
        write(&batch),
        TableFormat::Parquet,
        &opts(BadRows::Fail),
    );
    let report = out.result.as_ref().unwrap();
    assert_eq!(report.rows, 0);
    assert_eq!(report.schema.fields().len(), batch.num_columns());
}
