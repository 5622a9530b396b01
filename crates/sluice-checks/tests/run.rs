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

#[tokio::test]
async fn coverage_flags_under_represented_absent_and_rare_slices_and_time_gaps() {
    use sluice_checks::{CoverageOptions, Expected, coverage};
    use std::collections::BTreeMap;
    let schema = Arc::new(Schema::new(vec![
        Field::new("region", DataType::Utf8, true),
        Field::new("device", DataType::Utf8, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Second, None), true),
    ]));
    // 100 rows: north 70, south 25, east 5; west never seen. Devices: ios/android, but east has
    // only ios. Days 0-2 and 5-6 covered: days 3 and 4 are a gap.
    let mut region = Vec::new();
    let mut device = Vec::new();
    let mut at = Vec::new();
    for i in 0..100i64 {
        let r = if i < 70 {
            "north"
        } else if i < 95 {
            "south"
        } else {
            "east"
        };
        region.push(Some(r));
        device.push(Some(if r == "east" || i % 2 == 0 { "ios" } else { "android" }));
        let day = [0, 1, 2, 5, 6][(i % 5) as usize];
        at.push(Some(day * 86_400 + i));
    }
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(region)) as ArrayRef,
            Arc::new(StringArray::from(device)),
            Arc::new(TimestampSecondArray::from(at)),
        ],
    )
    .unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()))
        .unwrap();
    let mut shares = BTreeMap::new();
    shares.insert(
        "region".to_string(),
        BTreeMap::from([
            ("north".to_string(), 0.4),
            ("south".to_string(), 0.3),
            ("east".to_string(), 0.2),
            ("west".to_string(), 0.1),
        ]),
    );
    let opts = CoverageOptions {
        by: vec!["region".into(), "device".into()],
        expected: Expected(shares),
        min_count: 10,
        under_ratio: 0.8,
        time: Some(("at".into(), 86_400)),
    };
    let r = coverage(&ctx, &opts).await.unwrap();
    assert_eq!(r.rows, 100);
    let region = &r.columns[0];
    let flag_of = |v: &str| region.slices.iter().find(|s| s.values[0] == v).unwrap().flag;
    assert_eq!(flag_of("north"), None);
    assert_eq!(flag_of("south"), None, "0.25 / 0.30 = 0.83 >= 0.8");
    assert_eq!(flag_of("east"), Some("under-represented"));
    assert_eq!(flag_of("west"), Some("absent"));
    // scipy.stats.chisquare([5, 70, 25, 0], [20, 40, 30, 10]): statistic 44.5833 (225/20 + 900/40 + 25/30 + 100/10).
    let fit = region.fit.as_ref().unwrap();
    assert!((fit.statistic - 44.583333333333336).abs() < 1e-9, "{}", fit.statistic);
    assert_eq!(fit.dof, 3);
    assert!(fit.p_value < 1e-8);
    let absent: Vec<&Vec<String>> = r
        .crosses
        .iter()
        .filter(|s| s.flag == Some("absent"))
        .map(|s| &s.values)
        .collect();
    assert_eq!(absent, vec![&vec!["east".to_string(), "android".to_string()]]);
    let t = r.time.as_ref().unwrap();
    assert_eq!((t.buckets, t.covered), (7, 5));
    assert_eq!(t.gaps.len(), 1);
    assert_eq!(t.gaps[0].buckets, 2);
    assert!(t.gaps[0].from.starts_with("1970-01-04"), "{}", t.gaps[0].from);
    assert!(r.has_gaps());
}
