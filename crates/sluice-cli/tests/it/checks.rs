//! `sluice check` gates on a suite; `sluice suggest` writes one that the data passes.

use crate::Ws;

const DATA: &str = "id,city,amount,at\n\
1,Paris,10,2024-03-01T10:00:00Z\n\
2,Lyon,20,2024-03-01T11:00:00Z\n\
3,Paris,-5,2024-03-01T12:00:00Z\n\
4,Nice,40,2024-03-02T09:00:00Z\n";

const SUITE: &str = r#"
[suite]
name = "orders"

[[check]]
kind = "unique"
columns = ["id"]

[[check]]
kind = "range"
column = "amount"
min = 0

[[check]]
kind = "allowed"
column = "city"
values = ["Paris", "Lyon", "Nice"]

[[check]]
kind = "freshness"
column = "at"
max_age = "1d"
severity = "warning"
"#;

#[test]
fn failing_error_check_exits_1_and_reports_each_check() {
    let ws = Ws::new();
    ws.file("orders.csv", DATA);
    ws.file("suite.toml", SUITE);
    ws.ok(&["add", "orders", "orders.csv"]);
    let out = ws.run(&[
        "--json",
        "check",
        "orders@latest",
        "--suite",
        "suite.toml",
        "--now",
        "2024-03-02T10:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = v["report"]["outcomes"].as_array().unwrap();
    let passed: Vec<bool> = o.iter().map(|x| x["passed"].as_bool().unwrap()).collect();
    assert_eq!(passed, [true, false, true, true]);
    assert!((o[1]["value"].as_f64().unwrap() - 0.75).abs() < 1e-12);
    assert_eq!(v["report"]["failed_errors"], 1);

    // A warning alone does not fail the run.
    ws.file(
        "warn.toml",
        "[[check]]\nkind = \"freshness\"\ncolumn = \"at\"\nmax_age = \"1h\"\nseverity = \"warning\"\n",
    );
    let text = ws.ok(&[
        "check",
        "orders@1",
        "--suite",
        "warn.toml",
        "--now",
        "2024-03-05T00:00:00Z",
        "--html",
        "c.html",
    ]);
    assert!(text.contains("warn") && text.contains("0 failed, 1 warnings"), "{text}");
    let page = std::fs::read_to_string(ws.path().join("c.html")).unwrap();
    assert_eq!(page.matches("class=\"outcome\"").count(), 1);
}

#[test]
fn a_check_on_a_missing_column_is_an_error() {
    let ws = Ws::new();
    ws.file("orders.csv", DATA);
    ws.file(
        "typo.toml",
        "[[check]]\nkind = \"null_rate\"\ncolumn = \"amout\"\nmax = 0\n",
    );
    let err = ws.fails(2, &["check", "orders.csv", "--suite", "typo.toml"]);
    assert!(err.contains("amout") && err.contains("amount"), "{err}");
    ws.file(
        "bad.toml",
        "[[check]]\nkind = \"null_rate\"\ncolumn = \"amount\"\nmaximum = 0\n",
    );
    let err = ws.fails(2, &["check", "orders.csv", "--suite", "bad.toml"]);
    assert!(err.contains("bad.toml:4:"), "error points at the line: {err}");
}

#[test]
fn suggested_suite_passes_on_its_own_data() {
    let ws = Ws::new();
    ws.file("orders.csv", DATA);
    ws.ok(&["add", "orders", "orders.csv"]);
    let text = ws.ok(&["suggest", "orders@latest", "-o", "suggested.toml"]);
    assert!(text.contains("wrote"), "{text}");
    let suite = std::fs::read_to_string(ws.path().join("suggested.toml")).unwrap();
    assert!(suite.contains("kind = \"unique\""), "{suite}");
    assert!(suite.contains("kind = \"allowed\""), "{suite}");
    let v = ws.json(&["check", "orders@latest", "--suite", "suggested.toml"]);
    assert_eq!(v["report"]["failed_errors"], 0, "{v}");
}

#[test]
fn coverage_flags_missing_slices_and_gates() {
    let ws = Ws::new();
    let mut csv = String::from("region,device,at\n");
    for i in 0..60 {
        let region = if i < 40 { "north" } else { "south" };
        let device = if i % 2 == 0 { "ios" } else { "android" };
        csv.push_str(&format!("{region},{device},2024-03-{:02}T10:00:00Z\n", 1 + (i % 3) * 3));
    }
    ws.file("rows.csv", csv);
    ws.file("shares.toml", "[region]\nnorth = 0.4\nsouth = 0.4\nsnow = 0.2\n");
    ws.ok(&["add", "rows", "rows.csv"]);
    let out = ws.run(&[
        "--json",
        "coverage",
        "rows@latest",
        "--by",
        "region,device",
        "--expect",
        "shares.toml",
        "--min-count",
        "5",
        "--time",
        "at",
        "--interval",
        "1d",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let slices = v["report"]["columns"][0]["slices"].as_array().unwrap();
    let snow = slices.iter().find(|s| s["values"][0] == "snow").unwrap();
    assert_eq!(snow["flag"], "absent");
    assert_eq!(snow["count"], 0);
    // Days 1, 4 and 7 covered: two gaps of two days.
    assert_eq!(v["report"]["time"]["gaps"].as_array().unwrap().len(), 2);
    let text = ws.ok(&["coverage", "rows.csv", "--by", "region", "--min-count", "5"]);
    assert!(text.contains("north") && text.contains("0 slices flagged"), "{text}");
    let err = ws.fails(2, &["coverage", "rows.csv", "--by", "regoin"]);
    assert!(err.contains("regoin"), "{err}");
}
