//! Each check kind against a small table with known answers.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampSecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use sluice_checks::{Error, Suite, run};

fn ctx() -> SessionContext {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("city", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Second, None), true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 3, 5])) as ArrayRef,
            Arc::new(StringArray::from(vec![
                Some("Paris"),
                Some("Lyon"),
                Some(" "),
                None,
                Some("paris"),
            ])),
            Arc::new(Float64Array::from(vec![
                Some(10.0),
                Some(-5.0),
                Some(f64::NAN),
                Some(30.0),
                None,
            ])),
            Arc::new(TimestampSecondArray::from(vec![
                Some(1_700_000_000),
                Some(1_700_086_400),
                None,
                Some(1_700_000_100),
                Some(1_699_000_000),
            ])),
        ],
    )
    .unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()))
        .unwrap();
    ctx
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_086_400 + 3600, 0).unwrap()
}

async fn outcomes(toml: &str) -> Vec<(bool, Option<f64>)> {
    let suite = Suite::parse(Path::new("s.toml"), toml).unwrap();
    let r = run(&ctx(), &suite, now()).await.unwrap();
    r.outcomes.iter().map(|o| (o.passed, o.value)).collect()
}

#[tokio::test]
async fn every_kind_gives_the_known_answer() {
    let got = outcomes(
        r#"
[[check]]
kind = "schema"
columns = ["id", "city"]
[[check]]
kind = "schema"
columns = ["id", "city"]
exact = true
[[check]]
kind = "type"
column = "id"
type = "integer"
[[check]]
kind = "type"
column = "at"
type = "timestamp"
[[check]]
kind = "null_rate"
column = "city"
max = 0.4
[[check]]
kind = "null_rate"
column = "amount"
max = 0.3
[[check]]
kind = "unique"
columns = ["id"]
[[check]]
kind = "range"
column = "amount"
min = 0
[[check]]
kind = "range"
column = "amount"
min = 0
mostly = 0.5
[[check]]
kind = "allowed"
column = "city"
values = ["Paris", "Lyon", " "]
[[check]]
kind = "regex"
column = "city"
pattern = "^[A-Z][a-z]+$"
mostly = 0.5
[[check]]
kind = "row_count"
min = 5
max = 5
[[check]]
kind = "freshness"
column = "at"
max_age = "2h"
[[check]]
kind = "freshness"
column = "at"
max_age = "30m"
[[check]]
kind = "sql"
query = "SELECT count(*) FROM t WHERE amount < 0"
equals = 1
"#,
    )
    .await;
    let expect = [
        (true, None),
        (false, None),
        (true, None),
        (true, None),
        (true, Some(0.4)),  // 1 null + 1 whitespace of 5
        (false, Some(0.4)), // 1 NaN + 1 null of 5
        (false, Some(1.0)), // id 3 twice
        (false, None),
        (true, None),
        (false, None),     // "paris" not allowed
        (true, Some(0.5)), // Paris, Lyon match of 4 non-null
        (true, Some(5.0)),
        (true, Some(3600.0)),
        (false, Some(3600.0)),
        (true, Some(1.0)),
    ];
    assert_eq!(got.len(), expect.len());
    for (i, ((gp, gv), (ep, ev))) in got.iter().zip(expect).enumerate() {
        assert_eq!(*gp, ep, "check {i}");
        if let Some(ev) = ev {
            assert!((gv.unwrap() - ev).abs() < 1e-9, "check {i}: {gv:?} vs {ev}");
        }
    }
}

#[tokio::test]
async fn a_missing_column_is_an_error_not_a_pass() {
    let suite = Suite::parse(
        Path::new("s.toml"),
        "[[check]]\nkind = \"null_rate\"\ncolumn = \"amout\"\nmax = 0\n",
    )
    .unwrap();
    let err = run(&ctx(), &suite, now()).await.unwrap_err();
    assert!(matches!(err, Error::NoSuchColumn { .. }));
    let msg = err.to_string();
    assert!(msg.contains("amout") && msg.contains("amount"), "{msg}");
}

#[tokio::test]
async fn warnings_do_not_fail_the_run() {
    let suite = Suite::parse(
        Path::new("s.toml"),
        "[[check]]\nkind = \"row_count\"\nmin = 10\nseverity = \"warning\"\n",
    )
    .unwrap();
    let r = run(&ctx(), &suite, now()).await.unwrap();
    assert_eq!((r.passed, r.failed_errors, r.failed_warnings), (0, 0, 1));
    assert!(!r.failed());
}
