//! End-to-end comparisons: exact path against the algorithms it dispatches to, sketch path within
//! its stated bound of the exact path, the verdicts, roles and configuration.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use sluice_algo::drift::{self, Correction, Method};
use sluice_drift::{Computation, DriftConfig, Kind, Role, Sample, compare};

struct Gen {
    shift: f64,
    cities: usize,
    city_skew: f64,
    seed: u64,
}

/// `x` normal(shift, 1), `n` integers 0..4, `city` one of `cities` labels, `flag` booleans,
/// `score` normal, `y` labels.
fn table(rows: usize, g: &Gen) -> Sample {
    let mut rng = ChaCha8Rng::seed_from_u64(g.seed);
    let normal = Normal::new(g.shift, 1.0).unwrap();
    let x: Vec<Option<f64>> = (0..rows)
        .map(|i| {
            if i % 50 == 0 {
                None
            } else {
                Some(normal.sample(&mut rng))
            }
        })
        .collect();
    let n: Vec<i64> = (0..rows).map(|_| rng.random_range(0..4)).collect();
    let city: Vec<String> = (0..rows)
        .map(|_| {
            let u: f64 = rng.random();
            let k = ((u.powf(1.0 + g.city_skew)) * g.cities as f64) as usize;
            format!("city-{k}")
        })
        .collect();
    let flag: Vec<bool> = (0..rows).map(|_| rng.random::<f64>() < 0.3 + g.shift / 10.0).collect();
    let score: Vec<f64> = (0..rows).map(|_| normal.sample(&mut rng) * 0.1).collect();
    let y: Vec<&str> = (0..rows)
        .map(|_| if rng.random::<f64>() < 0.2 { "yes" } else { "no" })
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float64, true),
        Field::new("n", DataType::Int64, false),
        Field::new("city", DataType::Utf8, false),
        Field::new("flag", DataType::Boolean, false),
        Field::new("score", DataType::Float64, false),
        Field::new("y", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(x)),
        Arc::new(Int64Array::from(n)),
        Arc::new(StringArray::from(city)),
        Arc::new(BooleanArray::from(flag)),
        Arc::new(Float64Array::from(score)),
        Arc::new(StringArray::from(y)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut batches = Vec::new();
    let mut off = 0;
    while off < rows {
        let len = 10_000.min(rows - off);
        batches.push(batch.slice(off, len));
        off += len;
    }
    Sample::from_batches(format!("gen(shift {})", g.shift), &schema, batches)
}

fn same(seed: u64) -> Gen {
    Gen {
        shift: 0.0,
        cities: 20,
        city_skew: 0.0,
        seed,
    }
}

fn values(s: &Sample, col: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for b in s.batches.as_ref().unwrap() {
        let a = b.column_by_name(col).unwrap();
        let a = arrow::compute::cast(a, &DataType::Float64).unwrap();
        let a = a.as_any().downcast_ref::<Float64Array>().unwrap();
        out.extend(a.iter().flatten());
    }
    out
}

#[test]
fn exact_path_reports_what_the_algorithms_give_on_the_same_values() {
    let mut r = table(800, &same(1));
    let mut c = table(700, &Gen { shift: 0.5, ..same(2) });
    let cfg = DriftConfig {
        correction: Correction::None,
        ..DriftConfig::default()
    };
    let rep = compare(&mut r, &mut c, &cfg).unwrap();
    let x = rep.columns.iter().find(|c| c.column == "x").unwrap();
    // 800 reference rows: KS by default for a continuous column.
    assert_eq!(x.method, Method::Ks);
    assert!(x.method_by_default);
    assert_eq!(x.computation, Computation::Exact);
    let want = drift::compare_numeric(Method::Ks, &values(&r, "x"), &values(&c, "x"), None).unwrap();
    assert_eq!(x.statistic, want.statistic);
    assert_eq!(x.p_value, want.p_value);
    assert!(x.drifted, "a 0.5 sd shift at n=700 is found: {x:?}");
    assert!((x.reference_missing - 16.0 / 800.0).abs() < 1e-12);
    // Four integer values: chi-square; two categories: z; twenty: chi-square.
    let n = rep.columns.iter().find(|c| c.column == "n").unwrap();
    assert_eq!(n.method, Method::Chi2);
    assert!(!n.drifted);
    let flag = rep.columns.iter().find(|c| c.column == "flag").unwrap();
    assert_eq!((flag.method, flag.kind), (Method::Z, Kind::Categorical));
    let city = rep.columns.iter().find(|c| c.column == "city").unwrap();
    assert_eq!(city.method, Method::Chi2);
    assert_eq!(city.distinct, 20);
    assert_eq!(rep.compared, 6);
}

#[test]
fn large_references_use_distances_and_the_dataset_verdict_counts_shares() {
    let mut r = table(5_000, &same(3));
    let mut c = table(
        5_000,
        &Gen {
            shift: 1.0,
            city_skew: 2.0,
            ..same(4)
        },
    );
    let rep = compare(&mut r, &mut c, &DriftConfig::default()).unwrap();
    let get = |n: &str| rep.columns.iter().find(|c| c.column == n).unwrap();
    assert_eq!(get("x").method, Method::Wasserstein);
    assert!(get("x").drifted);
    assert!((get("x").statistic - 1.0).abs() < 0.1, "{:?}", get("x"));
    assert_eq!(get("city").method, Method::Js);
    assert!(get("city").drifted);
    assert_eq!(get("y").method, Method::Js);
    assert!(!get("y").drifted);
    assert_eq!(rep.drifted, rep.columns.iter().filter(|c| c.drifted).count());
    assert_eq!(rep.share, rep.drifted as f64 / 6.0);
    assert_eq!(rep.dataset_drift, rep.share >= 0.5);
}

#[test]
fn corrections_adjust_the_tests_of_features_only() {
    let mut r = table(900, &same(5));
    let mut c = table(900, &Gen { shift: 0.12, ..same(6) });
    let none = compare(
        &mut r,
        &mut c,
        &DriftConfig {
            correction: Correction::None,
            ..DriftConfig::default()
        },
    )
    .unwrap();
    let bonf = compare(&mut r, &mut c, &DriftConfig::default()).unwrap();
    let tests: Vec<_> = none.columns.iter().filter(|c| c.p_value.is_some()).collect();
    let m = tests.len() as f64;
    for (a, b) in none.columns.iter().zip(&bonf.columns) {
        if let (Some(p), Some(adj)) = (a.p_value, b.p_adjusted) {
            assert!((adj - (p * m).min(1.0)).abs() < 1e-15);
            assert_eq!(b.drifted, adj < b.threshold);
        }
    }
    let bh = compare(
        &mut r,
        &mut c,
        &DriftConfig {
            correction: Correction::BenjaminiHochberg,
            ..DriftConfig::default()
        },
    )
    .unwrap();
    for (b, h) in bonf.columns.iter().zip(&bh.columns) {
        if let (Some(pb), Some(ph)) = (b.p_adjusted, h.p_adjusted) {
            assert!(ph <= pb + 1e-15, "BH is never more conservative than Bonferroni");
        }
    }
}

#[test]
fn label_and_prediction_are_reported_apart_and_overrides_apply() {
    let mut r = table(3_000, &same(7));
    let mut c = table(3_000, &Gen { shift: 2.0, ..same(8) });
    let cfg = DriftConfig::parse(
        "label = \"y\"\nprediction = \"score\"\nignore = [\"flag\"]\n[columns.x]\nmethod = \"psi\"\nthreshold = 0.2\n[columns.n]\nmethod = \"anderson\"\n",
        "drift.toml",
    )
    .unwrap();
    let rep = compare(&mut r, &mut c, &cfg).unwrap();
    assert!(rep.columns.iter().all(|c| c.column != "flag"));
    let x = rep.columns.iter().find(|c| c.column == "x").unwrap();
    assert_eq!((x.method, x.threshold, x.method_by_default), (Method::Psi, 0.2, false));
    let n = rep.columns.iter().find(|c| c.column == "n").unwrap();
    assert_eq!(n.method, Method::Anderson);
    assert_eq!(rep.label_drift().unwrap().role, Role::Label);
    assert_eq!(rep.prediction_drift().unwrap().column, "score");
    assert!(rep.prediction_drift().unwrap().drifted, "scores shifted by 0.2 = 2 sd");
    // x, n, city: the label and prediction are not features.
    assert_eq!(rep.compared, 3);
    assert!(rep.any_drift());
    let bad = DriftConfig {
        label: Some("nope".into()),
        ..DriftConfig::default()
    };
    let e = compare(&mut r, &mut c, &bad).unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("city"), "{e}");
}

#[test]
fn sketch_path_stays_within_its_bound_of_the_exact_path() {
    let rows = 300_000;
    let gen_r = Gen {
        cities: 2_000,
        ..same(9)
    };
    let gen_c = Gen {
        shift: 0.05,
        cities: 2_000,
        city_skew: 0.3,
        seed: 10,
    };
    let mut r = table(rows, &gen_r);
    let mut c = table(rows, &gen_c);
    for method in [
        Method::Ks,
        Method::Wasserstein,
        Method::Psi,
        Method::Js,
        Method::Hellinger,
        Method::Tvd,
        Method::Kl,
    ] {
        let mut cfg = DriftConfig {
            method: Some(method),
            correction: Correction::None,
            only: vec!["x".into(), "n".into(), "score".into()],
            ..DriftConfig::default()
        };
        let exact = compare(&mut r, &mut c, &cfg).unwrap();
        cfg.sketch_only = true;
        let sketch = compare(&mut r, &mut c, &cfg).unwrap();
        for (e, s) in exact.columns.iter().zip(&sketch.columns) {
            assert_eq!(e.column, s.column);
            assert_eq!(e.computation, Computation::Exact);
            match &s.computation {
                Computation::Sketch {
                    lower,
                    upper,
                    error_bound,
                    ..
                } => {
                    assert!(
                        *lower - 1e-12 <= e.statistic && e.statistic <= *upper + 1e-12,
                        "{method} {}: exact {} outside [{lower}, {upper}] (sketch {})",
                        e.column,
                        e.statistic,
                        s.statistic
                    );
                    assert!(*error_bound > 0.0);
                }
                // Integers 0..4: exact counts in the profile, the same statistic as the rows give.
                Computation::ExactCounts => {
                    assert_eq!(e.column, "n");
                    assert!(
                        (e.statistic - s.statistic).abs() <= 1e-12 * e.statistic.abs().max(1.0),
                        "{e:?} {s:?}"
                    );
                }
                Computation::Exact => panic!("sketch_only must not read rows"),
            }
        }
    }
    // 2000 cities: more than the frequent-items sketch holds exactly, so an approximate bound.
    let cfg = DriftConfig {
        only: vec!["city".into()],
        ..DriftConfig::default()
    };
    let exact = compare(&mut r, &mut c, &cfg).unwrap();
    let sketch = compare(
        &mut r,
        &mut c,
        &DriftConfig {
            sketch_only: true,
            ..cfg
        },
    )
    .unwrap();
    let (e, s) = (&exact.columns[0], &sketch.columns[0]);
    assert_eq!(e.method, Method::Js);
    let Computation::Sketch { lower, upper, .. } = &s.computation else {
        panic!("{s:?}")
    };
    assert!(*lower <= e.statistic && e.statistic <= *upper, "{e:?} {s:?}");
}

#[test]
fn methods_the_profiles_cannot_answer_are_skipped_with_the_fix() {
    let mut r = table(3_000, &same(11));
    let mut c = table(3_000, &same(12));
    let cfg = DriftConfig {
        sketch_only: true,
        only: vec!["x".into()],
        method: Some(Method::Anderson),
        ..DriftConfig::default()
    };
    let rep = compare(&mut r, &mut c, &cfg).unwrap();
    assert!(rep.columns.is_empty());
    assert_eq!(rep.skipped.len(), 1);
    assert!(rep.skipped[0].reason.contains("--exact-budget"), "{:?}", rep.skipped);
}

#[test]
fn files_over_the_budget_are_profiled_while_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let mut text = String::from("a,b\n");
    for i in 0..5_000 {
        text.push_str(&format!("{},{}\n", i % 97, if i % 3 == 0 { "u" } else { "v" }));
    }
    std::fs::write(&path, text).unwrap();
    let small = Sample::read_file(&path, 1_000).unwrap();
    assert!(!small.has_rows());
    assert_eq!(small.rows, 5_000);
    assert_eq!(small.profile.as_ref().unwrap().rows, 5_000);
    let full = Sample::read_file(&path, 10_000).unwrap();
    assert!(full.has_rows());
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n3\n").unwrap();
    let e = Sample::read_file(&bad, 10).unwrap_err().to_string();
    assert!(e.contains("bad.csv") && e.contains('3'), "{e}");
}

#[test]
fn only_the_kept_columns_are_decoded_from_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Utf8, false),
        Field::new("c", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
            Arc::new(StringArray::from(vec!["x", "y", "z"])),
            Arc::new(Float64Array::from(vec![0.5, 1.5, 2.5])),
        ],
    )
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let s = Sample::read_file_where(&path, 100, |c| c != "b").unwrap();
    let names: Vec<&str> = s.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "c"]);
    let batches = s.batches.as_ref().unwrap();
    assert_eq!(batches[0].num_columns(), 2);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    assert_eq!(values(&s, "c"), [0.5, 1.5, 2.5]);
    let all = Sample::read_file(&path, 100).unwrap();
    assert_eq!(all.columns.len(), 3);
}
