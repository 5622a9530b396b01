//! `sluice detect`: a known change point is found, and a run split in two batches with
//! `--state` reports the same drift index as one run over all the values.

use crate::Ws;

fn errors(range: std::ops::Range<usize>) -> String {
    let mut s = String::from("err,score\n");
    for i in range {
        // Error rate 10% before row 1000, 60% after.
        let e = if i < 1000 { i % 10 == 0 } else { i % 10 < 6 };
        s.push_str(&format!("{},{}\n", e as u8, i as f64 * 0.001));
    }
    s
}

#[test]
fn finds_the_change_point_and_resumes_from_state() {
    let ws = Ws::new();
    ws.file("all.csv", errors(0..2000));
    ws.file("a.csv", errors(0..1000));
    ws.file("b.csv", errors(1000..2000));

    let out = ws.run(&["--json", "detect", "--method", "ddm", "all.csv", "--column", "err"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "drift exits 1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first_drift = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["signal"] == "drift")
        .map(|e| e["index"].as_u64().unwrap())
        .expect("a drift");
    assert!((1000..1150).contains(&first_drift), "drift at {first_drift}");

    let a = ws.json(&[
        "detect", "--method", "ddm", "a.csv", "--column", "err", "--state", "s.json",
    ]);
    assert_eq!(a["drifts"], 0);
    let out = ws.run(&[
        "--json", "detect", "--method", "ddm", "b.csv", "--column", "err", "--state", "s.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let b: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(b["first_index"], 1000);
    let resumed = b["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["signal"] == "drift")
        .map(|e| e["index"].as_u64().unwrap());
    assert_eq!(resumed, Some(first_drift), "state carries the detector across batches");
}

#[test]
fn bad_detector_input_is_a_clear_error() {
    let ws = Ws::new();
    ws.file("x.csv", "err,name\n0,a\n2,b\n");
    let err = ws.fails(2, &["detect", "--method", "ddm", "x.csv", "--column", "err"]);
    assert!(err.contains("error indicators"), "{err}");
    let err = ws.fails(2, &["detect", "--method", "ddm", "x.csv", "--column", "nope"]);
    assert!(err.contains("no column `nope`"), "{err}");
    let err = ws.fails(2, &["detect", "--method", "magic", "x.csv", "--column", "err"]);
    assert!(err.contains("page-hinkley"), "{err}");
    // Page-Hinkley reads any metric.
    ws.ok(&["detect", "--method", "page-hinkley", "x.csv", "--column", "err"]);
}
