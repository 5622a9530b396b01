//! `sluice performance`: windows of labelled predictions, the drop check and its exit code,
//! regression, baselines from another table, the metric history of versions, HTML, bad input.

use serde_json::Value;

use crate::Ws;

/// One day of a binary classifier's predictions: `n` labelled rows of which `correct` are right
/// (labels alternate 0/1, the wrong ones flipped), plus `unlabelled` rows without a label. The
/// probability of class 1 is 0.8 for a predicted 1 and 0.2 for a predicted 0.
fn day(s: &mut String, date: &str, n: usize, correct: usize, unlabelled: usize) {
    for i in 0..n {
        let y = i % 2;
        let pred = if i < correct { y } else { 1 - y };
        let p = if pred == 1 { 0.8 } else { 0.2 };
        s.push_str(&format!("{date}T{:02}:{:02}:00Z,{y},{pred},{p}\n", i % 24, i % 60));
    }
    for i in 0..unlabelled {
        s.push_str(&format!("{date}T{:02}:30:00Z,,1,0.8\n", i % 24));
    }
}

/// Days of (labelled rows, correct, unlabelled).
fn classifier(days: &[(usize, usize, usize)]) -> String {
    let mut s = String::from("ts,y,pred,p1\n");
    for (d, &(n, correct, unlabelled)) in days.iter().enumerate() {
        day(&mut s, &format!("2024-05-{:02}", d + 1), n, correct, unlabelled);
    }
    s
}

/// Runs with `--json`, expects `code`, returns the parsed report.
fn report(ws: &Ws, code: i32, args: &[&str]) -> Value {
    let mut a = vec!["--json", "performance"];
    a.extend_from_slice(args);
    let out = ws.run(&a);
    assert_eq!(
        out.status.code(),
        Some(code),
        "sluice {a:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check<'a>(r: &'a Value, metric: &str) -> &'a Value {
    r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} check in {r}"))
}

#[test]
fn accuracy_drop_in_the_last_window_exits_1_and_is_flagged() {
    let ws = Ws::new();
    ws.file(
        "preds.csv",
        classifier(&[(100, 90, 20), (100, 89, 20), (100, 91, 20), (100, 60, 20)]),
    );
    let args = [
        "preds.csv",
        "--label",
        "y",
        "--prediction",
        "pred",
        "--time",
        "ts",
        "--html",
        "r.html",
    ];
    let r = report(&ws, 1, &args);
    assert_eq!(r["task"], "classification");
    assert_eq!(r["rows"], 480);
    assert_eq!(r["scored"], 400);
    assert_eq!(r["skipped"]["missing_label"], 80);
    assert_eq!(r["positive"], "1");
    assert_eq!(r["time_kind"], "seconds");
    assert_eq!(
        r["windowing"],
        serde_json::json!({"kind": "width", "width": 86400, "origin": 0})
    );
    let windows = r["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 4);
    assert_eq!(windows[0]["label"], "2024-05-01");
    // 2024-05-01T00:00:00Z = 1714521600 (date -u -d 2024-05-01 +%s).
    assert_eq!(windows[0]["start"], 1_714_521_600);
    assert_eq!(windows[3]["rows"], 100);
    assert_eq!(windows[3]["metrics"]["accuracy"]["value"], 0.6);
    assert_eq!(r["dropped_windows"], serde_json::json!([3]));
    assert_eq!(windows[3]["dropped"], serde_json::json!(["accuracy"]));
    assert_eq!(r["concept_drift"], true);
    // The baseline is the first window, 90 of 100 right: statsmodels
    // proportion_confint(90, 100, alpha=0.05, method="wilson") = (0.8256343384950865, 0.9447708629393249).
    let acc = check(&r, "accuracy");
    assert!(
        (acc["allowed_low"].as_f64().unwrap() - 0.825_634_338_495_086_5).abs() < 1e-9,
        "{acc}"
    );
    let ci = &windows[0]["metrics"]["accuracy"]["ci"];
    assert!(
        (ci["high"].as_f64().unwrap() - 0.944_770_862_939_324_9).abs() < 1e-9,
        "{ci}"
    );
    assert_eq!(acc["dropped"], serde_json::json!([3]));
    // 0.89 is inside the baseline's interval: not a drop.
    assert_eq!(acc["windows"][1]["dropped"], false);
    assert_eq!(r["baseline"]["source"], "first window");

    // The text says which window dropped and how many rows had no label.
    let out = ws.run(&[
        "performance",
        "preds.csv",
        "--label",
        "y",
        "--prediction",
        "pred",
        "--time",
        "ts",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("skipped 80 without a label"), "{text}");
    assert!(text.contains("DROP accuracy"), "{text}");
    assert!(
        text.contains("window 3 (2024-05-04): accuracy 0.600000 is outside"),
        "{text}"
    );
    assert!(text.contains("PERFORMANCE DROP"), "{text}");

    // --no-fail reports the same drop and exits 0.
    let mut no_fail = args.to_vec();
    no_fail.push("--no-fail");
    assert_eq!(report(&ws, 0, &no_fail)["dropped_windows"], serde_json::json!([3]));

    let page = std::fs::read_to_string(ws.path().join("r.html")).unwrap();
    assert!(page.contains("performance drop") && page.contains("<svg"), "{page}");
    assert!(
        page.contains("<title>2024-05-04: 0.600 ["),
        "the dropped point has its tooltip"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "self-contained"
    );
}

#[test]
fn stable_performance_exits_0_with_probabilities_and_batches() {
    let ws = Ws::new();
    // Integer batch indices: one window per batch by default.
    let mut s = String::from("batch,y,pred,p1\n");
    for b in 0..4 {
        for i in 0..120 {
            let y = i % 2;
            let pred = if i % 10 == 9 { 1 - y } else { y };
            let p = if pred == 1 {
                0.7 + (i % 3) as f64 * 0.1
            } else {
                0.1 + (i % 3) as f64 * 0.1
            };
            s.push_str(&format!("{b},{y},{pred},{p:.1}\n"));
        }
    }
    ws.file("stable.csv", s);
    let r = report(
        &ws,
        0,
        &[
            "stable.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--proba",
            "p1",
            "--time",
            "batch",
        ],
    );
    assert_eq!(r["time_kind"], "integer");
    assert_eq!(r["windows"].as_array().unwrap().len(), 4);
    assert_eq!(r["windows"][2]["label"], "2");
    assert_eq!(r["concept_drift"], false);
    assert_eq!(r["dropped_windows"], serde_json::json!([]));
    // With probabilities the ROC AUC is watched too; every window has the same rows, so the same AUC.
    let auc = check(&r, "roc_auc");
    assert_eq!(auc["dropped"], serde_json::json!([]));
    let w0 = &r["windows"][0]["metrics"];
    assert_eq!(w0["roc_auc"]["ci"]["method"], "de_long");
    assert_eq!(w0["roc_auc"]["value"], r["windows"][3]["metrics"]["roc_auc"]["value"]);
    assert_eq!(w0["log_loss"]["status"], "defined");
    let text = ws.ok(&[
        "performance",
        "stable.csv",
        "--label",
        "y",
        "--prediction",
        "pred",
        "--time",
        "batch",
    ]);
    assert!(text.contains("no performance drop in 4 windows"), "{text}");

    // Equal-count windows in file order, no time column: 3 windows of 160 rows.
    let r = report(
        &ws,
        0,
        &["stable.csv", "--label", "y", "--prediction", "pred", "--windows", "3"],
    );
    assert_eq!(r["time_kind"], "row_order");
    let labels: Vec<&str> = r["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["rows 1-160", "rows 161-320", "rows 321-480"]);
}

#[test]
fn regression_windows_flag_a_larger_error() {
    let ws = Ws::new();
    // Errors exact in binary: batches 0-2 share one error pattern (MAE 0.8), batch 3 has it x3.
    let pattern = [-1.0, -0.5, 0.5, 1.0, 1.0];
    let mut s = String::from("batch,target,forecast\n");
    let mut abs_errors: Vec<Vec<f64>> = vec![Vec::new(); 4];
    for (b, abs) in abs_errors.iter_mut().enumerate() {
        for i in 0..60 {
            let y = (i * 13 % 50) as f64 + 0.25 + b as f64;
            let e = pattern[i % 5] * if b == 3 { 3.0 } else { 1.0 };
            abs.push(f64::abs(e));
            s.push_str(&format!("{b},{y},{}\n", y + e));
        }
    }
    ws.file("reg.csv", s);
    let r = report(
        &ws,
        1,
        &[
            "reg.csv",
            "--label",
            "target",
            "--prediction",
            "forecast",
            "--time",
            "batch",
        ],
    );
    assert_eq!(r["task"], "regression", "float columns with many values");
    let mae: Vec<f64> = abs_errors
        .iter()
        .map(|e| e.iter().sum::<f64>() / e.len() as f64)
        .collect();
    for (w, expected) in r["windows"].as_array().unwrap().iter().zip(&mae) {
        assert!(
            (w["metrics"]["mae"]["value"].as_f64().unwrap() - expected).abs() < 1e-12,
            "{w}"
        );
    }
    assert_eq!(r["dropped_windows"], serde_json::json!([3]));
    assert!(check(&r, "mae")["allowed_high"].as_f64().is_some());
    // Mean error: every window's pattern sums to +1 per 5 rows, bias 0.2 (0.6 in batch 3).
    let bias = r["windows"][0]["metrics"]["mean_error"]["value"].as_f64().unwrap();
    assert!((bias - 0.2).abs() < 1e-12, "{bias}");
    // A relative tolerance of 300% lets batch 3 (MAE 2.4 against 0.8) through.
    let r = report(
        &ws,
        0,
        &[
            "reg.csv",
            "--label",
            "target",
            "--prediction",
            "forecast",
            "--time",
            "batch",
            "--tolerance",
            "rel:3",
            "--metric",
            "mae,rmse",
        ],
    );
    assert_eq!(r["checks"].as_array().unwrap().len(), 2);
    // A classification metric on a regression model is refused.
    let e = ws.fails(
        2,
        &[
            "performance",
            "reg.csv",
            "--label",
            "target",
            "--prediction",
            "forecast",
            "--metric",
            "accuracy",
        ],
    );
    assert!(e.contains("not a regression metric"), "{e}");
}

#[test]
fn a_baseline_table_and_the_metric_history_of_versions() {
    let ws = Ws::new();
    // The baseline version: 95% right. The new data: 80% every day, so every day drops.
    ws.file("train/preds.csv", classifier(&[(200, 190, 0)]));
    ws.file(
        "live/preds.csv",
        classifier(&[(100, 80, 5), (100, 81, 5), (100, 79, 5)]),
    );
    ws.ok(&["add", "base", "train/preds.csv"]);
    ws.ok(&["add", "live", "live/preds.csv"]);
    let args = [
        "live@latest",
        "--label",
        "y",
        "--prediction",
        "pred",
        "--time",
        "ts",
        "--baseline",
        "base@v1",
    ];
    let r = report(&ws, 1, &args);
    assert_eq!(r["target"], "live@v1:preds.csv");
    assert_eq!(r["baseline"]["source"], "base@v1:preds.csv");
    assert_eq!(r["baseline"]["scored"], 200);
    assert_eq!(r["baseline"]["metrics"]["accuracy"]["value"], 0.95);
    assert_eq!(r["dropped_windows"], serde_json::json!([0, 1, 2]));
    let reason = check(&r, "accuracy")["windows"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("(the baseline has 0.950000)"), "{reason}");
    assert_eq!(r["recorded"]["series"], "performance:live");
    assert_eq!(
        r["recorded"]["batches"],
        serde_json::json!([["2024-05-01", 1], ["2024-05-02", 2], ["2024-05-03", 3]])
    );
    // A re-run replaces the same batches instead of appending.
    let again = report(&ws, 1, &args);
    assert_eq!(again["recorded"], r["recorded"]);
    // A later version with one more day adds one batch.
    ws.file(
        "live/preds.csv",
        classifier(&[(100, 80, 5), (100, 81, 5), (100, 79, 5), (100, 96, 0)]),
    );
    ws.ok(&["add", "live", "live/preds.csv"]);
    let r = report(&ws, 1, &args);
    assert_eq!(r["target"], "live@v2:preds.csv");
    assert_eq!(r["recorded"]["batches"][3], serde_json::json!(["2024-05-04", 4]));
    assert_eq!(r["dropped_windows"], serde_json::json!([0, 1, 2]));
    // A file target records nothing.
    let r = report(
        &ws,
        1,
        &[
            "live/preds.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--baseline",
            "train/preds.csv",
        ],
    );
    assert!(r["recorded"].is_null());
    assert_eq!(r["windows"].as_array().unwrap().len(), 1, "no time: one window");
}

#[test]
fn multiclass_with_a_probability_column_per_class() {
    let ws = Ws::new();
    let classes = ["bird", "cat", "dog"];
    let mut s = String::from("day,animal,guess,p_bird,p_cat,p_dog,margin\n");
    for d in 0..2 {
        for i in 0..90 {
            let y = i % 3;
            let right = if d == 0 { i < 81 } else { i < 45 };
            let g = if right { y } else { (y + 1) % 3 };
            let mut p = [0.1, 0.1, 0.1];
            p[g] = 0.8;
            s.push_str(&format!(
                "2024-06-0{},{},{},{},{},{},0.7\n",
                d + 1,
                classes[y],
                classes[g],
                p[0],
                p[1],
                p[2]
            ));
        }
    }
    ws.file("animals.csv", s);
    let r = report(
        &ws,
        1,
        &[
            "animals.csv",
            "--label",
            "animal",
            "--prediction",
            "guess",
            "--proba",
            "p_dog,p_bird",
            "--proba",
            "p_cat",
            "--time",
            "day",
        ],
    );
    assert_eq!(r["classes"], serde_json::json!(["bird", "cat", "dog"]));
    assert!(r["positive"].is_null());
    let w0 = &r["windows"][0]["metrics"];
    assert_eq!(w0["averaging"], "macro");
    assert_eq!(w0["accuracy"]["value"], 0.9);
    assert_eq!(w0["roc_auc"]["ci"]["method"], "percentile_bootstrap");
    assert_eq!(w0["confusion"]["counts"][0], serde_json::json!([27, 3, 0]));
    assert_eq!(r["dropped_windows"], serde_json::json!([1]));
    // A column that names no class, and rows whose probabilities do not sum to 1.
    let e = ws.fails(
        2,
        &[
            "performance",
            "animals.csv",
            "--label",
            "animal",
            "--prediction",
            "guess",
            "--proba",
            "p_bird,margin",
        ],
    );
    assert!(
        e.contains("cannot tell which class") && e.contains("CLASS=margin"),
        "{e}"
    );
    let e = ws.fails(
        2,
        &[
            "performance",
            "animals.csv",
            "--label",
            "animal",
            "--prediction",
            "guess",
            "--proba",
            "p_bird,p_cat",
        ],
    );
    assert!(e.contains("class `dog` has no probability column"), "{e}");
}

#[test]
fn bad_columns_and_values_are_clear_errors() {
    let ws = Ws::new();
    ws.file("p.csv", classifier(&[(20, 18, 0)]));
    let e = ws.fails(2, &["performance", "p.csv", "--label", "churn", "--prediction", "pred"]);
    assert!(e.contains("--label churn: p.csv has no column `churn`"), "{e}");
    assert!(e.contains("its columns are: ts, y, pred, p1"), "{e}");
    let e = ws.fails(2, &["performance", "p.csv", "--label", "Y", "--prediction", "pred"]);
    assert!(e.contains("did you mean `y`?"), "{e}");
    let e = ws.fails(
        2,
        &[
            "performance",
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--time",
            "when",
        ],
    );
    assert!(e.contains("--time when") && e.contains("no column `when`"), "{e}");
    let e = ws.fails(
        2,
        &[
            "performance",
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--window",
            "1d",
        ],
    );
    assert!(e.contains("--window needs --time"), "{e}");
    let e = ws.fails(
        2,
        &[
            "performance",
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--window",
            "3x",
            "--time",
            "ts",
        ],
    );
    assert!(e.contains("--window `3x`"), "{e}");
    let e = ws.fails(
        2,
        &[
            "performance",
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--tolerance",
            "5%",
        ],
    );
    assert!(e.contains("abs:X") && e.contains("rel:X"), "{e}");
    let e = ws.fails(
        2,
        &[
            "performance",
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--metric",
            "roc_auc",
        ],
    );
    assert!(e.contains("--proba"), "{e}");
    let e = ws.fails(
        2,
        &[
            "performance",
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--positive",
            "yes",
        ],
    );
    assert!(e.contains("--positive yes") && e.contains("0, 1"), "{e}");
    let e = ws.fails(
        2,
        &["performance", "missing.csv", "--label", "y", "--prediction", "pred"],
    );
    assert!(e.contains("no such file") && e.contains("NAME@REF"), "{e}");

    // A time that is not a date names its row; a probability outside [0, 1] too.
    ws.file("t.csv", "ts,y,pred,p1\n2024-05-01,1,1,0.9\nlast tuesday,0,0,0.2\n");
    let e = ws.fails(
        2,
        &[
            "performance",
            "t.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--time",
            "ts",
        ],
    );
    assert!(e.contains("row 2: `last tuesday` is not a date or timestamp"), "{e}");
    ws.file("s.csv", "y,pred,score\n1,1,0.9\n0,0,3.5\n");
    let e = ws.fails(
        2,
        &[
            "performance",
            "s.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--proba",
            "score",
        ],
    );
    assert!(e.contains("row 2: 3.5 is not a probability"), "{e}");
    // No labels yet: nothing to score.
    ws.file("u.csv", "y,pred\n,1\n,0\n");
    let e = ws.fails(2, &["performance", "u.csv", "--label", "y", "--prediction", "pred"]);
    assert!(e.contains("2 without a label") && e.contains("nothing to score"), "{e}");
    // With --json the error is JSON too.
    let out = ws.run(&[
        "--json",
        "performance",
        "p.csv",
        "--label",
        "nope",
        "--prediction",
        "pred",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("no column `nope`"), "{v}");
}

#[test]
fn json_shape() {
    let ws = Ws::new();
    ws.file("p.csv", classifier(&[(40, 36, 2), (40, 35, 2)]));
    let r = report(
        &ws,
        0,
        &[
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--proba",
            "p1",
            "--time",
            "ts",
        ],
    );
    for key in [
        "target",
        "task",
        "label",
        "prediction",
        "probabilities",
        "classes",
        "positive",
        "rows",
        "scored",
        "skipped",
        "time",
        "time_kind",
        "windowing",
        "confidence",
        "baseline",
        "windows",
        "checks",
        "not_checked",
        "dropped_windows",
        "concept_drift",
        "recorded",
    ] {
        assert!(r.get(key).is_some(), "{key} missing from {r}");
    }
    for key in [
        "missing_label",
        "missing_prediction",
        "missing_probability",
        "missing_time",
    ] {
        assert!(r["skipped"][key].is_u64(), "{key}");
    }
    let w = &r["windows"][1];
    for key in ["index", "start", "end", "label", "rows", "metrics", "dropped"] {
        assert!(w.get(key).is_some(), "window {key} missing: {w}");
    }
    assert_eq!(w["end"].as_i64().unwrap() - w["start"].as_i64().unwrap(), 86_400);
    for m in ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"] {
        let metric = &w["metrics"][m];
        assert_eq!(metric["status"], "defined", "{m}: {metric}");
        let ci = &metric["ci"];
        assert!(ci["low"].as_f64().unwrap() <= metric["value"].as_f64().unwrap(), "{m}");
        assert!(ci["high"].as_f64().unwrap() >= metric["value"].as_f64().unwrap(), "{m}");
        assert_eq!(ci["level"], 0.95);
    }
    assert_eq!(w["metrics"]["precision"]["ci"]["method"], "percentile_bootstrap");
    assert_eq!(w["metrics"]["accuracy"]["ci"]["method"], "wilson");
    let c = check(&r, "accuracy");
    for key in [
        "metric",
        "tolerance",
        "baseline_value",
        "allowed_low",
        "allowed_high",
        "windows",
        "dropped",
    ] {
        assert!(c.get(key).is_some(), "check {key} missing: {c}");
    }
    assert_eq!(c["tolerance"]["kind"], "baseline_ci");
    assert_eq!(c["windows"].as_array().unwrap().len(), 2);
    // The same seed gives the same bootstrap intervals; another seed moves them.
    let again = report(
        &ws,
        0,
        &[
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--proba",
            "p1",
            "--time",
            "ts",
        ],
    );
    assert_eq!(again["windows"], r["windows"]);
    let other = report(
        &ws,
        0,
        &[
            "p.csv",
            "--label",
            "y",
            "--prediction",
            "pred",
            "--proba",
            "p1",
            "--time",
            "ts",
            "--seed",
            "7",
        ],
    );
    assert_ne!(
        other["windows"][1]["metrics"]["f1"]["ci"],
        r["windows"][1]["metrics"]["f1"]["ci"]
    );
}
