//! `sluice quality`: synth -> add -> quality finds the injected problems; --json shape; exit codes;
//! comparison with the parent version; bad input.

use serde_json::Value;

use crate::Ws;

fn checks_of(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                f["columns"]
                    .as_array()
                    .unwrap()
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

fn has(report: &Value, check: &str, column: &str) -> bool {
    checks_of(report).iter().any(|(c, col)| c == check && col == column)
}

#[test]
fn synth_add_quality_finds_the_injected_problems() {
    let ws = Ws::new();
    ws.ok(&[
        "synth",
        "m0.parquet",
        "--rows",
        "5000",
        "--seed",
        "3",
        "--inject",
        "all=0.02",
    ]);
    ws.ok(&["add", "tx", "m0.parquet", "-m", "month 0"]);
    let r = ws.json(&["quality", "tx@1", "--fail-on", "never"]);
    assert_eq!(r["failed"], false);
    assert_eq!(r["fail_on"], "never");
    let t = &r["tables"][0];
    assert_eq!(t["table"], "tx@v1:m0.parquet");
    assert_eq!(t["rows"], 5000);
    assert!(t.get("parent").is_none());
    for (check, column) in [
        ("missing_values", "amount"),
        ("duplicate_rows", ""),
        ("near_duplicates", "description"),
        ("date_formats", "signup_date"),
        ("encoding", "description"),
        ("whitespace", "device"),
        ("category_variants", "region"),
        ("outliers", "customer_age"),
    ] {
        assert!(
            has(t, check, column),
            "no {check} finding on `{column}`: {:?}",
            checks_of(t)
        );
    }
    // Every finding has the common fields and examples with row numbers.
    for f in t["findings"].as_array().unwrap() {
        for key in ["severity", "check", "columns", "count", "rate", "message", "examples"] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
        assert!(["info", "warning", "error"].contains(&f["severity"].as_str().unwrap()));
        assert!(f["count"].as_u64().unwrap() > 0);
        assert!(f["examples"].as_array().unwrap().len() <= 5);
        for e in f["examples"].as_array().unwrap() {
            assert!(e["row"].as_u64().unwrap() < 5000);
        }
    }
    let dates = t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "date_formats")
        .unwrap();
    assert_eq!(dates["dominant"], "%Y-%m-%d");
    assert!(dates["formats"].as_object().unwrap().len() >= 3);
    let near = t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "near_duplicates")
        .unwrap();
    assert_eq!(near["threshold"], 0.8);
    assert_eq!(near["num_perm"], 128);

    // Text output: a table of findings and examples.
    // No error-severity finding in this data: the default gate passes.
    let text = ws.ok(&["quality", "tx", "--examples", "1"]);
    assert!(text.contains("tx@v1:m0.parquet: 5,000 rows x 20 columns"), "{text}");
    assert!(text.contains("SEVERITY") && text.contains("near_duplicates"), "{text}");
    assert!(text.contains("ok: no finding at or above `error` severity"), "{text}");
    assert!(text.contains("\n  row "), "{text}");
}

#[test]
fn exit_codes_follow_fail_on() {
    let ws = Ws::new();
    ws.file(
        "clean.csv",
        "id,city,amount\n1,Paris,10.5\n2,Lyon,11.0\n3,Nice,9.5\n4,Lille,10.0\n",
    );
    ws.file("dupkey.csv", "id,city,amount\n1,Paris,10.5\n1,Lyon,11.0\n3,Nice,9.5\n");
    ws.file(
        "spaces.csv",
        "id,city,amount\n1,Paris,10.5\n2,\" Lyon\",11.0\n3,Nice,9.5\n",
    );
    // No findings at all: 0 whatever the threshold.
    let r = ws.json(&["quality", "clean.csv", "--key", "id", "--fail-on", "info"]);
    assert_eq!(r["tables"][0]["findings"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["failed"], false);
    // A duplicate key is an error: exit 1 by default.
    ws.fails(1, &["quality", "dupkey.csv", "--key", "id"]);
    let out = ws.run(&["--json", "quality", "dupkey.csv", "--key", "id"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["failed"], true);
    let f = &r["tables"][0]["findings"][0];
    assert_eq!(f["check"], "duplicate_keys");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["examples"][0]["row"], 1);
    assert_eq!(f["key"], serde_json::json!(["id"]));
    // Whitespace is a warning: passes the default gate, fails --fail-on warning.
    ws.ok(&["quality", "spaces.csv"]);
    ws.fails(1, &["quality", "spaces.csv", "--fail-on", "warning"]);
    // Bad input: exit 2 with a message naming the problem.
    let e = ws.fails(2, &["quality", "clean.csv", "--key", "nope"]);
    assert!(
        e.contains("--key") && e.contains("`nope`") && e.contains("id, city, amount"),
        "{e}"
    );
    let e = ws.fails(2, &["quality", "clean.csv", "--text-columns", "amount"]);
    assert!(e.contains("Float64"), "{e}");
    let e = ws.fails(2, &["quality", "missing.csv"]);
    assert!(e.contains("missing.csv") && e.contains("no such file"), "{e}");
    let e = ws.fails(2, &["quality", "clean.csv", "--fail-on", "sometimes"]);
    assert!(e.contains("--fail-on"), "{e}");
    let e = ws.fails(2, &["quality", "clean.csv", "--threshold", "1.5"]);
    assert!(e.contains("--threshold"), "{e}");
    let e = ws.fails(2, &["quality", "nosuchdataset@1"]);
    assert!(e.contains("nosuchdataset"), "{e}");
}

#[test]
fn version_is_compared_with_its_parent() {
    let ws = Ws::new();
    let mut v1 = String::from("id,city,score\n");
    let mut v2 = String::from("id,city,score,extra\n");
    for i in 0..100 {
        v1.push_str(&format!("{i},City{},{}\n", i % 5, i % 7));
        // v2: score missing in a fifth of the rows, and a new column.
        let score = if i % 5 == 0 { String::new() } else { (i % 7).to_string() };
        v2.push_str(&format!("{i},City{},{score},x\n", i % 5));
    }
    ws.file("d/data.csv", &v1);
    ws.ok(&["add", "ds", "d/data.csv"]);
    ws.file("d/data.csv", &v2);
    ws.ok(&["add", "ds", "d/data.csv"]);
    let out = ws.run(&["--json", "quality", "ds@2"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &r["tables"][0];
    assert_eq!(t["parent"], "ds@v1");
    let jump = t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "missing_rate_jump")
        .unwrap();
    assert_eq!(jump["severity"], "error");
    assert_eq!(jump["columns"][0], "score");
    assert_eq!(jump["parent_rate"], 0.0);
    assert_eq!(jump["rate"], 0.2);
    let schema = t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "schema_change")
        .unwrap();
    // score went from Int64 to Int64 with nulls (same type); extra is new.
    assert_eq!(schema["added"][0]["name"], "extra");
    assert_eq!(schema["severity"], "info");
    // The first version has no parent.
    let r = ws.json(&["quality", "ds@1"]);
    assert!(r["tables"][0].get("parent").is_none());
    assert_eq!(r["tables"][0]["findings"].as_array().unwrap().len(), 0, "{r}");
}

/// HTML-escapes like the report must (written here so the test does not trust the renderer's own).
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[test]
fn html_report_shows_every_finding() {
    let ws = Ws::new();
    ws.ok(&[
        "synth",
        "m0.parquet",
        "--rows",
        "3000",
        "--seed",
        "3",
        "--inject",
        "all=0.02",
    ]);
    ws.ok(&["add", "tx", "m0.parquet"]);
    let r = ws.json(&["quality", "tx@1", "--fail-on", "never", "--html", "q.html"]);
    assert!(r["html"].as_str().unwrap().ends_with("q.html"), "{}", r["html"]);
    let page = std::fs::read_to_string(ws.path().join("q.html")).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("<h1>Quality: tx@1</h1>"));
    let t = &r["tables"][0];
    let findings = t["findings"].as_array().unwrap();
    assert!(findings.len() >= 8, "{}", findings.len());
    assert_eq!(page.matches("class=\"card finding\"").count(), findings.len());
    for f in findings {
        let columns: Vec<&str> = f["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let card = format!(
            "data-check=\"{}\" data-severity=\"{}\" data-columns=\"{}\"",
            f["check"].as_str().unwrap(),
            f["severity"].as_str().unwrap(),
            escaped(&columns.join(", "))
        );
        assert!(page.contains(&card), "no card {card}");
        let message = escaped(f["message"].as_str().unwrap());
        assert_eq!(page.matches(&message).count(), 2, "summary row and card: {message}");
        for e in f["examples"].as_array().unwrap() {
            assert!(
                page.contains(&format!("<td class=\"n\">{}</td>", e["row"])),
                "example row {}",
                e["row"]
            );
        }
    }
    // The near-duplicate clusters show their texts.
    let near = findings.iter().find(|f| f["check"] == "near_duplicates").unwrap();
    let cluster = &near["largest"][0];
    let texts = cluster["texts"].as_array().unwrap();
    assert_eq!(texts.len(), cluster["rows"].as_array().unwrap().len().min(10));
    for text in texts {
        assert!(page.contains(&escaped(text.as_str().unwrap())), "{text}");
    }
    // Whole-row examples are tables with the table's columns as headers.
    assert!(page.contains("<th>description</th>") && page.contains("<th>amount</th>"));
    assert!(!page.contains("<script") && !page.contains("https://"));

    // Text mode names the report.
    let text = ws.ok(&["quality", "tx@1", "--html", "q2.html", "--examples", "0"]);
    assert!(text.contains("report: ") && text.contains("q2.html"), "{text}");
}

#[test]
fn html_report_shows_parent_changes_and_escapes_the_data() {
    let ws = Ws::new();
    let mut v1 = String::from("id,city,score\n");
    let mut v2 = String::from("id,city,score,extra\n");
    for i in 0..100 {
        v1.push_str(&format!("{i},City{},{}\n", i % 5, i % 7));
        let score = if i % 5 == 0 { String::new() } else { (i % 7).to_string() };
        let city = if i == 7 {
            "<b>Nice</b> ".to_owned()
        } else {
            format!("City{}", i % 5)
        };
        v2.push_str(&format!("{i},{city},{score},x\n"));
    }
    ws.file("d/data.csv", &v1);
    ws.ok(&["add", "ds", "d/data.csv"]);
    ws.file("d/data.csv", &v2);
    ws.ok(&["add", "ds", "d/data.csv"]);
    // An error finding fails the run, and the report is written all the same.
    ws.fails(1, &["quality", "ds@2", "--html", "out/report.html"]);
    let page = std::fs::read_to_string(ws.path().join("out/report.html")).unwrap();
    for check in ["schema_change", "missing_rate_jump", "missing_values", "whitespace"] {
        assert!(page.contains(&format!("data-check=\"{check}\"")), "no {check} card");
    }
    assert!(page.contains("compared with ds@v1"));
    assert!(page.contains("<td>added</td><td>extra</td>"));
    assert!(page.contains("<span class=\"badge error\">error</span>"));
    assert!(
        page.contains("&quot;&lt;b&gt;Nice&lt;/b&gt; &quot;"),
        "the value, quoted and escaped"
    );
    assert!(!page.contains("<b>Nice"), "values cannot inject markup");
}
