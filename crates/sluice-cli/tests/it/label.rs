//! Labeling: `sluice label ...` end to end (import -> agreement -> aggregate -> review -> merge),
//! Label Studio round trip, assignment invariants, and bad input.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::Ws;

/// Eight mails labelled by a, b and c; c is wrong on gold items 3 and 4.
const VOTES: [(i64, [&str; 3]); 8] = [
    (1, ["spam", "spam", "spam"]),
    (2, ["ham", "ham", "ham"]),
    (3, ["spam", "spam", "ham"]),
    (4, ["ham", "ham", "spam"]),
    (5, ["spam", "spam", "spam"]),
    (6, ["ham", "ham", "ham"]),
    (7, ["spam", "ham", "ham"]),
    (8, ["ham", "spam", "spam"]),
];

fn mail_workspace() -> Ws {
    let ws = Ws::new();
    let mut data = String::from("id,text\n");
    for (id, _) in VOTES {
        data.push_str(&format!("{id},mail number {id}\n"));
    }
    ws.file("mail.csv", data);
    ws.json(&["add", "mail", "mail.csv"]);
    let p = ws.json(&[
        "label",
        "project",
        "create",
        "spam",
        "--classes",
        "ham,spam",
        "--dataset",
        "mail@v1",
        "--key",
        "id",
    ]);
    assert_eq!(p["items"], 8);
    let mut ann = String::from("item,annotator,label,seconds\n");
    for (id, votes) in VOTES {
        for (who, v) in ["a", "b", "c"].iter().zip(votes) {
            ann.push_str(&format!("{id},{who},{v},{}\n", id + 1));
        }
    }
    ws.file("votes.csv", ann);
    ws.file("gold.csv", "item,label\n1,spam\n2,ham\n3,spam\n4,ham\n5,spam\n6,ham\n");
    ws
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn import_agreement_aggregate_review_merge() {
    let ws = mail_workspace();
    let r = ws.json(&["label", "import", "spam", "votes.csv"]);
    assert_eq!(r["import"]["inserted"], 24);
    // Re-importing the same file stores nothing new.
    let r = ws.json(&["label", "import", "spam", "votes.csv"]);
    assert_eq!(
        (r["import"]["inserted"].as_u64(), r["import"]["unchanged"].as_u64()),
        (Some(0), Some(24))
    );
    ws.json(&["label", "import", "spam", "gold.csv", "--gold"]);

    let a = ws.json(&[
        "label",
        "agreement",
        "spam",
        "--resamples",
        "200",
        "--min-gold-accuracy",
        "0.8",
    ]);
    // Four unanimous items (1) and four 2-1 splits (1/3): mean pairwise agreement 2/3.
    assert!((f(&a["percent_agreement"]["value"]) - 2.0 / 3.0).abs() < 1e-12, "{a}");
    assert!(f(&a["percent_agreement"]["low"]) <= 2.0 / 3.0 && f(&a["percent_agreement"]["high"]) >= 2.0 / 3.0);
    assert!((f(&a["unanimous"]) - 0.5).abs() < 1e-12);
    // Fleiss (1971) by hand: P_bar = 2/3; 12 of 24 answers are spam, so P_e = 1/2 and kappa = 1/3.
    assert!(
        (f(&a["fleiss_kappa"]["value"]) - 1.0 / 3.0).abs() < 1e-12,
        "{}",
        a["fleiss_kappa"]
    );
    assert_eq!(a["per_label"].as_array().unwrap().len(), 2);
    assert_eq!(a["pairwise"]["overlap"][0][1], 8);
    let per: HashMap<&str, &Value> = a["annotators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["annotator"].as_str().unwrap(), x))
        .collect();
    assert!((f(&per["c"]["gold_accuracy"]["value"]) - 4.0 / 6.0).abs() < 1e-12);
    assert_eq!(f(&per["a"]["gold_accuracy"]["value"]), 1.0);
    assert_eq!(a["flagged"], serde_json::json!(["c"]));
    assert_eq!(f(&per["a"]["mean_seconds"]), 5.5);
    // The figures went to the metric history, one batch per state of the annotations.
    assert_eq!(a["history"]["series"], "label.spam.agreement");
    assert_eq!(a["history"]["batch_seq"], 1);
    let through = a["history"]["batch"].as_str().unwrap().to_owned();
    assert!(through.starts_with("through-batch-"), "{through}");
    // The gate: exit 1 with --fail-under, and the table still prints.
    let out = ws.fails(
        1,
        &[
            "label",
            "agreement",
            "spam",
            "--resamples",
            "50",
            "--min-gold-accuracy",
            "0.8",
            "--fail-under",
        ],
    );
    assert!(out.is_empty(), "{out}");
    let text = ws.ok(&["label", "agreement", "spam", "--resamples", "50"]);
    assert!(
        text.contains("recorded as batch 1") && text.contains("label.spam.agreement"),
        "{text}"
    );
    let quiet = ws.json(&["label", "agreement", "spam", "--resamples", "50", "--no-record"]);
    assert!(quiet["history"].is_null(), "{quiet}");
    let history = ws.json(&["label", "metrics", "spam", "--history"]);
    let points = history.as_array().unwrap();
    let point = |metric: &str| {
        points
            .iter()
            .find(|p| p["series"] == "label.spam.agreement" && p["metric"] == metric)
            .unwrap_or_else(|| panic!("no {metric} in {history}"))
    };
    // Re-runs on the same annotations replaced the batch: one value per metric.
    assert_eq!(points.iter().filter(|p| p["metric"] == "agreement.percent").count(), 1);
    assert!((f(&point("agreement.percent")["value"]) - 2.0 / 3.0).abs() < 1e-12);
    assert!((f(&point("annotator.c.gold_accuracy")["value"]) - 4.0 / 6.0).abs() < 1e-12);
    // The batch holds the last run's figures: it set no thresholds, so nobody is flagged.
    assert_eq!(f(&point("annotator.c.flagged")["value"]), 0.0);
    assert!(points.iter().all(|p| p["attributes"]["settings"]["resamples"] == 50));
    assert_eq!(point("agreement.percent")["batch"], through.as_str());

    let m = ws.json(&["label", "aggregate", "spam", "--method", "majority"]);
    let labels: HashMap<&str, &str> = m["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["item"].as_str().unwrap(), r["value"].as_str().unwrap()))
        .collect();
    assert_eq!(labels["3"], "spam");
    assert_eq!(labels["7"], "ham");
    assert_eq!(labels["8"], "spam");
    let ds = ws.json(&["label", "aggregate", "spam", "--method", "dawid-skene"]);
    assert_eq!(ds["report"]["converged"], true);
    assert_eq!(ds["results"].as_array().unwrap().len(), 8);
    let w = ws.json(&["label", "aggregate", "spam", "--method", "weighted"]);
    assert!(f(&w["report"]["weights"]["a"]["weight"]) > f(&w["report"]["weights"]["c"]["weight"]));

    // Review queue: the four split items; resolving one keeps the annotations.
    let q = ws.json(&["label", "review", "spam"]);
    let queued: HashSet<&str> = q["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["item"].as_str().unwrap())
        .collect();
    assert_eq!(queued, HashSet::from(["3", "4", "7", "8"]));
    ws.json(&["label", "review", "resolve", "spam", "8", "ham", "--note", "newsletter"]);
    let q = ws.json(&["label", "review", "spam"]);
    assert_eq!(q["queue"].as_array().unwrap().len(), 3);
    let m = ws.json(&["label", "aggregate", "spam"]);
    let r8 = m["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["item"] == "8")
        .unwrap()
        .clone();
    assert_eq!(
        (r8["value"].as_str(), r8["source"].as_str()),
        (Some("ham"), Some("adjudication"))
    );
    let exported = ws.json(&["label", "export", "spam", "all.csv"]);
    assert_eq!(exported["annotations"], 24, "adjudication does not touch annotations");

    // Merge into a new version of the dataset, with lineage and metrics.
    let merged = ws.json(&["label", "merge", "spam", "-m", "labelled"]);
    assert_eq!(merged["version"], "mail@v2");
    assert_eq!(merged["labelled_rows"], 8);
    assert_eq!(merged["lineage"]["method"], "majority");
    assert_eq!(merged["lineage"]["source_version"], "mail@v1");
    assert_eq!(merged["lineage"]["label_sources"]["adjudication"], 1);
    let show = ws.json(&["show", "mail@v2"]);
    let files: Vec<&str> = show["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["labels.lineage.json", "mail.parquet"]);
    let cols: Vec<&str> = show["tables"][0]["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        cols,
        ["id", "text", "label", "label_confidence", "label_source", "label_n"]
    );
    let lineage = ws.ok(&["lineage", "mail@v2"]);
    assert!(lineage.contains("mail@v1"), "{lineage}");
    ws.ok(&["export", "mail@v2", "out", "--format", "csv"]);
    let table = std::fs::read_to_string(ws.path().join("out/mail.csv")).unwrap();
    assert!(table.lines().any(|l| l.starts_with("8,mail number 8,ham,1")), "{table}");
    let metrics = ws.json(&["label", "metrics", "spam"]);
    let names: HashSet<&str> = metrics
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for n in [
        "batch.alpha",
        "batch.percent_agreement",
        "batch.share.spam",
        "labels.share.ham",
        "labels.labelled_rows",
    ] {
        assert!(names.contains(n), "missing metric {n}: {names:?}");
    }
    // ... and the same figures in the metric history, per import batch and per run.
    let history = ws.json(&["label", "metrics", "spam", "--history"]);
    let series: HashSet<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["series"].as_str().unwrap(), p["metric"].as_str().unwrap()))
        .collect();
    assert!(
        series.contains(&("label.spam.batches", "batch.percent_agreement")),
        "{series:?}"
    );
    assert!(
        series.contains(&("label.spam.runs", "labels.labelled_rows")),
        "{series:?}"
    );
    assert!(
        series.contains(&("label.spam.agreement", "agreement.fleiss_kappa")),
        "{series:?}"
    );
    let text = ws.ok(&["label", "metrics", "spam", "--history"]);
    assert!(text.contains("label.spam.runs"), "{text}");
}

#[test]
fn label_studio_round_trip() {
    let ws = Ws::new();
    let export = serde_json::json!([
        {"id": 1, "data": {"text": "great product", "item": "r1"}, "annotations": [
            {"completed_by": {"id": 1, "email": "ann@x.org"}, "lead_time": 4.2,
             "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]},
            {"completed_by": {"id": 2, "email": "bob@x.org"},
             "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}]}
        ]},
        {"id": 2, "data": {"text": "awful", "item": "r2"}, "annotations": [
            {"completed_by": {"id": 1, "email": "ann@x.org"}, "ground_truth": true,
             "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}]}
        ]}
    ]);
    ws.file("ls.json", export.to_string());
    ws.json(&["label", "project", "create", "rev", "--classes", "neg,pos"]);
    let r = ws.json(&["label", "import", "rev", "ls.json"]);
    assert_eq!(
        (r["import"]["inserted"].as_u64(), r["gold"].as_u64()),
        (Some(3), Some(1))
    );
    ws.json(&["label", "export", "rev", "back.json", "--from-name", "sentiment"]);
    let back: Value = serde_json::from_str(&std::fs::read_to_string(ws.path().join("back.json")).unwrap()).unwrap();
    assert_eq!(back[0]["data"]["text"], "great product", "task data is kept");
    assert_eq!(back[0]["annotations"][0]["result"][0]["from_name"], "sentiment");
    assert_eq!(back[1]["annotations"][1]["ground_truth"], true);
    // Import the export into a fresh project: the same answers come back.
    ws.json(&["label", "project", "create", "rev2", "--classes", "neg,pos"]);
    ws.json(&["label", "import", "rev2", "back.json"]);
    ws.json(&["label", "export", "rev", "a.jsonl"]);
    ws.json(&["label", "export", "rev2", "b.jsonl"]);
    let rows = |p: &str| -> Vec<(String, String, String, Option<f64>)> {
        let mut v: Vec<_> = std::fs::read_to_string(ws.path().join(p))
            .unwrap()
            .lines()
            .map(|l| {
                let x: Value = serde_json::from_str(l).unwrap();
                (
                    x["item"].to_string(),
                    x["annotator"].to_string(),
                    x["label"].to_string(),
                    x["seconds"].as_f64(),
                )
            })
            .collect();
        v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        v
    };
    let (a, b) = (rows("a.jsonl"), rows("b.jsonl"));
    // The round trip adds the gold answer as an annotation by `gold`; the rest is identical.
    let b_people: Vec<_> = b.into_iter().filter(|r| r.1 != "\"gold\"").collect();
    assert_eq!(a, b_people);
    assert_eq!(a.len(), 3);
}

#[test]
fn assignment_invariants() {
    let ws = Ws::new();
    let mut data = String::from("id\n");
    for i in 0..30 {
        data.push_str(&format!("{i}\n"));
    }
    ws.file("items.csv", data);
    ws.json(&["add", "items", "items.csv"]);
    ws.json(&[
        "label",
        "project",
        "create",
        "p",
        "--classes",
        "x,y",
        "--dataset",
        "items",
        "--key",
        "id",
    ]);
    ws.file("gold.csv", "item,label\n0,x\n1,y\n2,x\n3,y\n4,x\n");
    ws.json(&["label", "import", "p", "gold.csv", "--gold"]);
    // Item 10 was already labelled by a: a must not get it again, and it needs one more annotator.
    ws.file("pre.csv", "item,annotator,label\n10,a,x\n");
    ws.json(&["label", "import", "p", "pre.csv"]);
    let args = [
        "label",
        "assign",
        "p",
        "--annotators",
        "a,b,c,d",
        "--overlap",
        "2",
        "--gold-rate",
        "0.2",
        "--seed",
        "9",
    ];
    let mut dry: Vec<&str> = args.to_vec();
    dry.push("--dry-run");
    let p1 = ws.json(&dry);
    let p2 = ws.json(&dry);
    assert_eq!(p1["assignments"], p2["assignments"], "same seed, same plan");
    let plan = ws.json(&args);
    assert_eq!(plan["assignments"], p1["assignments"]);
    let mut pairs = HashSet::new();
    let mut per_item: HashMap<String, usize> = HashMap::new();
    for t in plan["assignments"].as_array().unwrap() {
        let (item, who) = (
            t["item"].as_str().unwrap().to_string(),
            t["annotator"].as_str().unwrap().to_string(),
        );
        assert!(pairs.insert((item.clone(), who.clone())), "{item} given twice to {who}");
        let gold = item.parse::<u32>().unwrap() < 5;
        assert_eq!(t["gold"].as_bool(), Some(gold));
        if !gold {
            *per_item.entry(item).or_default() += 1;
        }
    }
    assert!(!pairs.contains(&("10".to_string(), "a".to_string())));
    assert_eq!(per_item["10"], 1);
    assert_eq!(per_item.len(), 25);
    assert!(per_item.iter().all(|(k, n)| *n == 2 || k == "10"));
    for a in plan["per_annotator"].as_array().unwrap() {
        let (r, g) = (f(&a["tasks"]), f(&a["gold"]));
        assert!((g / (r + g) - 0.2).abs() < 0.06, "gold share of {a}");
    }
    // Every item is at overlap now: a second round hands out nothing regular.
    let again = ws.json(&["label", "assign", "p", "--annotators", "a,b,c,d", "--overlap", "2"]);
    assert_eq!(again["tasks"], 0);
    ws.fails(2, &["label", "assign", "p", "--annotators", "a,b", "--overlap", "3"]);
}

#[test]
fn bad_input_is_reported_with_file_and_line() {
    let ws = mail_workspace();
    ws.file("bad.csv", "item,annotator,label\n1,a,spam\n2,a,eggs\n");
    let err = ws.fails(2, &["label", "import", "spam", "bad.csv"]);
    assert!(
        err.contains("bad.csv:3:3: `eggs` is not a class of this project; classes: ham, spam"),
        "{err}"
    );
    ws.file("unknown.csv", "item,annotator,label\n99,a,spam\n");
    let err = ws.fails(2, &["label", "import", "spam", "unknown.csv"]);
    assert!(err.contains("not rows of the project's dataset (first: `99`)"), "{err}");
    let err = ws.fails(2, &["label", "agreement", "nope"]);
    assert!(err.contains("label project `nope` not found; projects: spam"), "{err}");
    // Nothing was stored by the failed imports.
    let p = ws.json(&["label", "project", "ls"]);
    assert_eq!(p[0]["annotations"], 0);
    let err = ws.fails(2, &["label", "aggregate", "spam"]);
    assert!(err.contains("no annotations yet"), "{err}");
    ws.file("p.csv", "item,ham,spam\n1,0.9,0.3\n");
    ws.json(&["label", "import", "spam", "votes.csv"]);
    let err = ws.fails(2, &["label", "errors", "spam", "--predictions", "p.csv"]);
    assert!(err.contains("p.csv:2: probabilities sum to 1.2"), "{err}");
    let err = ws.fails(2, &["--json", "label", "project", "create", "x", "--classes", "a"]);
    assert!(err.is_empty());
}

#[test]
fn errors_select_and_pseudo() {
    let ws = mail_workspace();
    ws.json(&["label", "import", "spam", "votes.csv"]);
    ws.json(&["label", "import", "spam", "gold.csv", "--gold"]);
    ws.json(&["label", "aggregate", "spam"]);
    // The model is sure item 2 (labelled ham) is spam.
    let mut preds = String::from("item,ham,spam\n");
    for (id, p_spam) in [
        (1, 0.9),
        (2, 0.97),
        (3, 0.8),
        (4, 0.2),
        (5, 0.85),
        (6, 0.1),
        (7, 0.3),
        (8, 0.6),
    ] {
        preds.push_str(&format!("{id},{},{p_spam}\n", 1.0 - p_spam));
    }
    ws.file("preds.csv", &preds);
    let e = ws.json(&["label", "errors", "spam", "--predictions", "preds.csv"]);
    assert_eq!(e["issues"][0]["item"], "2", "{e}");
    assert_eq!(e["issues"][0]["suggested"], "spam");
    ws.fails(
        1,
        &[
            "label",
            "errors",
            "spam",
            "--predictions",
            "preds.csv",
            "--fail-on-issues",
        ],
    );

    // A second project over the same data without labels: select and pseudo-label.
    ws.json(&[
        "label",
        "project",
        "create",
        "fresh",
        "--classes",
        "ham,spam",
        "--dataset",
        "mail",
        "--key",
        "id",
    ]);
    ws.file("few.csv", "item,annotator,label\n8,a,spam\n6,a,ham\n");
    ws.json(&["label", "import", "fresh", "few.csv"]);
    let s = ws.json(&[
        "label",
        "select",
        "fresh",
        "2",
        "--predictions",
        "preds.csv",
        "--strategy",
        "margin",
    ]);
    let picked: Vec<&str> = s["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["item"].as_str().unwrap())
        .collect();
    // Margins: 7 (0.3/0.7) is the closest call; 3 and 4 (0.8/0.2) tie next. Item 8 (0.6/0.4)
    // would come first but is labelled, so it is excluded.
    assert_eq!(picked.len(), 2);
    assert_eq!(picked[0], "7");
    assert!(["3", "4"].contains(&picked[1]), "{picked:?}");
    let r = ws.json(&[
        "label",
        "select",
        "fresh",
        "3",
        "--predictions",
        "preds.csv",
        "--strategy",
        "random",
        "--seed",
        "4",
    ]);
    assert_eq!(r["selected"].as_array().unwrap().len(), 3);
    let p = ws.json(&[
        "label",
        "pseudo",
        "fresh",
        "--predictions",
        "preds.csv",
        "--model",
        "m1",
        "--threshold",
        "0.85",
    ]);
    // Accepted: 1 (spam .9), 2 (spam .97), 5 (spam .85), 6 (ham .9); 6 has a human label.
    assert_eq!(p["report"]["n_accepted"], 4);
    assert_eq!(p["stored"], 3);
    assert_eq!(p["report"]["vs_human"]["n_checked"], 1);
    // Pseudo-labels stay a separate source: the human export does not have them.
    let ex = ws.json(&["label", "export", "fresh", "h.csv"]);
    assert_eq!(ex["annotations"], 2);
    let agg = ws.json(&["label", "aggregate", "fresh", "--include-pseudo"]);
    let sources: HashMap<&str, &str> = agg["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["item"].as_str().unwrap(), r["source"].as_str().unwrap()))
        .collect();
    assert_eq!((sources["2"], sources["8"]), ("pseudo", "human"));
}
