//! `sluice drift`: versions and files, exact and from stored profiles, exit codes, JSON, HTML,
//! configuration errors.

use crate::Ws;

/// `x` around `center`, `city` with `a_share` of "a", `y` 0/1.
fn table(rows: usize, center: f64, a_share: f64) -> String {
    let mut s = String::from("id,x,city,y\n");
    for i in 0..rows {
        let u = (i * 7919 % rows) as f64 / rows as f64;
        let city = if u < a_share {
            "a"
        } else if u < a_share + (1.0 - a_share) / 2.0 {
            "b"
        } else {
            "c"
        };
        s.push_str(&format!(
            "{i},{:.4},{city},{}\n",
            center + (u - 0.5) * 4.0,
            i.is_multiple_of(5)
        ));
    }
    s
}

fn column<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == name)
        .unwrap_or_else(|| panic!("{name} in {v}"))
}

#[test]
fn versions_compare_exactly_and_from_their_profiles() {
    let ws = Ws::new();
    ws.file("ref/t.csv", table(3000, 0.0, 0.5));
    ws.file("cur/t.csv", table(3000, 1.5, 0.2));
    ws.ok(&["add", "tx", "ref/t.csv"]);
    ws.ok(&["add", "tx", "cur/t.csv"]);

    let out = ws.run(&[
        "--json", "drift", "tx@v1", "tx@v2", "--ignore", "id", "--label", "y", "--html", "d.html",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dataset_drift"], true);
    assert_eq!(v["compared"], 2);
    let x = column(&v, "x");
    assert_eq!(x["method"], "wasserstein");
    assert_eq!(x["computation"]["path"], "exact");
    assert!(x["statistic"].as_f64().unwrap() > 1.0);
    assert_eq!(column(&v, "city")["method"], "js");
    assert_eq!(column(&v, "y")["role"], "label");
    assert_eq!(column(&v, "y")["drifted"], false);
    let page = std::fs::read_to_string(ws.path().join("d.html")).unwrap();
    assert!(page.contains("dataset drift") && page.contains("<svg"));

    // The same comparison from the stored profiles: no rows read, each statistic with a bound
    // that contains the exact value.
    let out = ws.run(&["--json", "drift", "tx@v1", "tx@v2", "--ignore", "id", "--sketch"]);
    assert_eq!(out.status.code(), Some(1));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sx = column(&s, "x");
    assert_eq!(sx["computation"]["path"], "sketch");
    let exact = x["statistic"].as_f64().unwrap();
    assert!(
        sx["computation"]["lower"].as_f64().unwrap() <= exact && exact <= sx["computation"]["upper"].as_f64().unwrap()
    );
    assert_eq!(column(&s, "city")["computation"]["path"], "exact_counts");
    assert_eq!(column(&s, "city")["statistic"], column(&v, "city")["statistic"]);

    // A budget below the row count takes the profile path without --sketch.
    let out = ws.run(&[
        "--json",
        "drift",
        "tx@v1",
        "tx@v2",
        "--exact-budget",
        "100",
        "--columns",
        "x",
    ]);
    let b: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(column(&b, "x")["computation"]["path"], "sketch");
}

#[test]
fn files_small_samples_tests_and_no_drift() {
    let ws = Ws::new();
    ws.file("a.csv", table(400, 0.0, 0.4));
    ws.file("b.csv", table(300, 0.0, 0.4));
    let v = ws.json(&["drift", "a.csv", "b.csv", "--ignore", "id"]);
    assert_eq!(v["dataset_drift"], false);
    // 400 reference rows: tests, corrected with Bonferroni.
    assert_eq!(column(&v, "x")["method"], "ks");
    assert_eq!(column(&v, "city")["method"], "chi2");
    assert_eq!(column(&v, "y")["method"], "z");
    assert!(column(&v, "x")["p_adjusted"].as_f64().unwrap() >= column(&v, "x")["p_value"].as_f64().unwrap());
    let text = ws.ok(&["drift", "a.csv", "b.csv", "--method", "psi", "--correction", "bh"]);
    assert!(text.contains("no dataset drift"), "{text}");
    assert!(text.contains("psi"));
}

#[test]
fn bad_configuration_and_input_are_clear_errors() {
    let ws = Ws::new();
    ws.file("a.csv", table(100, 0.0, 0.4));
    ws.file("b.csv", "id,x,city,y\n1,2,a\n");
    ws.file("d.toml", "alpha = 0.05\n[columns.x]\nmethod = \"kss\"\n");
    let e = ws.fails(2, &["drift", "a.csv", "a.csv", "--config", "d.toml"]);
    assert!(e.contains("d.toml:3:") && e.contains("wasserstein"), "{e}");
    let e = ws.fails(2, &["drift", "a.csv", "b.csv"]);
    assert!(e.contains("b.csv") && e.contains("line 2"), "{e}");
    let e = ws.fails(2, &["drift", "a.csv", "a.csv", "--label", "nope"]);
    assert!(e.contains("nope"), "{e}");
    let e = ws.fails(2, &["drift", "a.csv", "missing.csv"]);
    assert!(e.contains("missing.csv") && e.contains("NAME@REF"), "{e}");
    let e = ws.fails(2, &["drift", "a.csv", "a.csv", "--method", "foo"]);
    assert!(e.contains("foo"), "{e}");
}
