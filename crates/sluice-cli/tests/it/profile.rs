//! `sluice profile`: stored with the version at add time, shown for people, as JSON and HTML,
//! and on plain files with no workspace.

use crate::Ws;

const DATA: &str = "id,city,amount,when,flag\n\
1,Paris,10.5,2024-01-01,true\n\
2,Paris,20,2024-01-02,false\n\
3, ,,03/01/2024,true\n\
4,Lyon,40,2024-01-04,\n\
5,,50,2024-01-05,true\n\
6,Paris,60,not a date,false\n";

#[test]
fn profile_is_stored_at_add_and_shown() {
    let ws = Ws::new();
    ws.file("data.csv", DATA);
    ws.ok(&["add", "d", "data.csv"]);
    let out = ws.json(&["profile", "d@latest"]);
    let t = &out["tables"][0];
    assert_eq!(t["path"], "data.csv");
    assert_eq!(t["stored"], true, "the profile was computed when the version was added");
    assert_eq!(t["rows"], 6);
    let col = |name: &str| {
        t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .clone()
    };
    let amount = col("amount");
    assert_eq!(amount["kind"], "numeric");
    assert_eq!(amount["nulls"], 1);
    assert_eq!(amount["stats"]["min"], 10.5);
    assert_eq!(amount["stats"]["max"], 60.0);
    assert!((amount["stats"]["mean"].as_f64().unwrap() - 36.1).abs() < 1e-12);
    let city = col("city");
    assert_eq!(
        city["missing"], 2,
        "one whitespace-only value and one missing value: {city}"
    );
    assert_eq!(city["top"][0]["value"], "Paris");
    assert_eq!(city["top"][0]["count"], 3);
    let when = col("when");
    assert_eq!(when["kind"], "string", "mixed formats keep the column a string");
    assert_eq!(when["parses"]["date"], 5);
    assert!((col("id")["distinct"]["estimate"].as_f64().unwrap() - 6.0).abs() < 0.5);

    let text = ws.ok(&["profile", "d@1"]);
    assert!(text.contains("data.csv: 6 rows, 5 columns"), "{text}");
    assert!(text.contains("AMOUNT") || text.contains("COLUMN"), "{text}");

    ws.ok(&["profile", "d@1", "--html", "report.html"]);
    let page = std::fs::read_to_string(ws.path().join("report.html")).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert_eq!(page.matches("class=\"card\"").count(), 5);
    assert!(!page.contains("https://"), "the report needs no network");
}

#[test]
fn profile_of_a_plain_file_needs_no_workspace() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.jsonl"),
        "{\"a\": 1, \"b\": \"x\"}\n{\"a\": null, \"b\": \"\"}\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("sluice")
        .unwrap()
        .current_dir(dir.path())
        .args(["--json", "profile", "x.jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tables"][0]["rows"], 2);
    assert_eq!(v["tables"][0]["columns"][0]["nulls"], 1);
    assert_eq!(v["tables"][0]["columns"][1]["empty"], 1);
}

#[test]
fn profile_of_nothing_is_a_clear_error() {
    let ws = Ws::new();
    let err = ws.fails(2, &["profile", "missing.csv"]);
    assert!(
        err.contains("no such file") && err.contains("missing.csv@latest"),
        "{err}"
    );
    ws.file("notes.txt", "hello");
    ws.ok(&["add", "docs", "notes.txt"]);
    let err = ws.fails(2, &["profile", "docs@latest"]);
    assert!(err.contains("has no tables"), "{err}");
}
