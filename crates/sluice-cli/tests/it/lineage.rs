//! Model lineage: register, lineage up and down, OpenLineage events, model check, the demo.

use crate::{Ws, csv};

#[test]
fn model_lineage_up_and_down() {
    let ws = Ws::new();
    ws.file("raw.csv", csv(&[(1, "a", 1.0), (2, "b", 2.0)]));
    ws.json(&[
        "add",
        "tx",
        "raw.csv",
        "--source",
        "s3://raw/tx/",
        "--collected-by",
        "etl-job",
        "--collected-at",
        "2024-03-01",
    ]);
    ws.file("raw.csv", csv(&[(1, "a", 1.0), (2, "b", 2.0), (3, "c", 3.0)]));
    ws.json(&["add", "tx", "raw.csv", "--tag", "3.2"]);
    ws.file("clean.csv", csv(&[(1, "a", 1.0), (3, "c", 3.0)]));
    ws.json(&["add", "tx-clean", "clean.csv", "--derived-from", "tx@3.2"]);
    ws.file("params.json", r#"{"lr": 0.1, "depth": 6}"#);
    let m = ws.json(&[
        "model",
        "register",
        "fraud",
        "--dataset",
        "tx-clean@1",
        "--eval-dataset",
        "tx@1",
        "--params",
        "params.json",
        "seed=7",
        "--code-rev",
        "1a2b3c",
        "--metrics",
        "auc=0.91",
    ]);
    assert_eq!(m["number"], 1);
    assert_eq!(m["params"], serde_json::json!({"lr": 0.1, "depth": 6, "seed": 7}));
    assert_eq!(m["code_rev"], "1a2b3c");
    assert_eq!(m["inputs"][0]["role"], "train");
    assert_eq!(m["inputs"][1]["role"], "eval");

    let tree = ws.ok(&["lineage", "fraud@1"]);
    for part in [
        "model fraud@v1",
        "code 1a2b3c",
        "trained on: dataset tx-clean@v1",
        "derived from: dataset tx@v2 (tag 3.2)",
        "parent: dataset tx@v1",
        "source s3://raw/tx/",
        "by etl-job",
        "lr=0.1",
    ] {
        assert!(tree.contains(part), "lineage tree lacks `{part}`:\n{tree}");
    }
    let g = ws.json(&["lineage", "fraud@1"]);
    let relations: Vec<&str> = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["relation"].as_str().unwrap())
        .collect();
    for r in ["trained_on", "derived_from", "parent", "collected_from"] {
        assert!(relations.contains(&r), "{relations:?}");
    }

    let down = ws.json(&["lineage", "tx@1", "--downstream"]);
    let nodes: Vec<&String> = down["nodes"].as_object().unwrap().keys().collect();
    for n in [
        "dataset:tx@v1",
        "dataset:tx@v2",
        "dataset:tx-clean@v1",
        "model:fraud@v1",
    ] {
        assert!(nodes.iter().any(|k| k.as_str() == n), "downstream lacks {n}: {nodes:?}");
    }

    let ol = ws.ok(&["lineage", "fraud@1", "--format", "openlineage"]);
    let events: Vec<serde_json::Value> = ol.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 4, "three dataset versions and one model: {ol}");
    for e in &events {
        assert_eq!(e["eventType"], "COMPLETE");
        assert!(
            e["schemaURL"]
                .as_str()
                .unwrap()
                .contains("/spec/2-0-2/OpenLineage.json")
        );
        assert!(uuid_like(e["run"]["runId"].as_str().unwrap()), "{e}");
        assert!(e["eventTime"].as_str().unwrap().contains('T'));
        assert!(e["producer"].as_str().unwrap().contains(':'));
        assert_eq!(e["job"]["namespace"], "sluice");
    }
    let train = events.iter().find(|e| e["job"]["name"] == "train.fraud").unwrap();
    assert_eq!(train["run"]["runId"], m["run_id"]);
    let input = &train["inputs"][0];
    assert_eq!(input["name"], "tx-clean");
    assert_eq!(input["facets"]["version"]["datasetVersion"], "1");
    assert_eq!(
        input["facets"]["schema"]["fields"][0],
        serde_json::json!({"name": "id", "type": "Int64"})
    );
    assert_eq!(train["outputs"][0]["name"], "models/fraud");
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn model_check_detects_changed_training_bytes() {
    let ws = Ws::new();
    ws.file("d/t.csv", csv(&[(1, "a", 1.0)]));
    ws.file("d/notes.txt", "labelled by team A");
    ws.json(&["add", "d", "d"]);
    ws.json(&["model", "register", "m", "--dataset", "d@1", "--code-rev", "x"]);
    let ok = ws.json(&["model", "check", "m@1"]);
    assert_eq!(ok["ok"], true);
    assert_eq!(
        ok["report"]["inputs"][0]["objects"], 3,
        "two files and one canonical copy"
    );
    let notes = ws.json(&["show", "d@1"])["files"][0]["object"]
        .as_str()
        .unwrap()
        .to_string();
    let p = ws.path().join(".sluice/objects").join(&notes[..2]).join(&notes[2..]);
    std::fs::write(&p, "labelled by team B").unwrap();
    let out = ws.run(&["model", "check", "m@latest"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAILED") && text.contains("d/notes.txt"), "{text}");
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("sluice")
        .unwrap()
        .current_dir(dir.path())
        .args(["demo", "--rows", "20000"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for part in [
        "transactions-2024-01.parquet:",
        "dedupe:",
        "normalize_dates:",
        "gate: 3 passed",
        "versioned: transactions@v4",
        "ALERT drift dataset",
        "retraining triggered at transactions@v4 on transactions@v2, transactions@v3, transactions@v4",
        "registered fraud-detector@v1",
        "derived from: dataset transactions-raw@v1",
        "reproducible inputs verified",
        "clean: every object",
    ] {
        assert!(text.contains(part), "demo output lacks `{part}`:\n{text}");
    }
    assert!(
        !text.contains("temp files"),
        "a clean run leaves no temp files:\n{text}"
    );
    let demo = dir.path().join("sluice-demo");
    for report in ["drift.html", "monitor.html"] {
        assert!(demo.join(report).is_file(), "{report} written");
    }
    // The pipeline is cached: a dry run finds nothing new.
    let dry = assert_cmd::Command::cargo_bin("sluice")
        .unwrap()
        .current_dir(&demo)
        .args(["--json", "run", "pipeline.toml", "--dry-run"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(v["batches"].as_array().unwrap().len(), 0, "{v}");
    // The template in examples/ is the pipeline the demo ran.
    let ran = std::fs::read_to_string(demo.join("pipeline.toml")).unwrap();
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/pipeline.toml")).unwrap();
    assert_eq!(ran, template);
    // It can be run again in the same place.
    let again = assert_cmd::Command::cargo_bin("sluice")
        .unwrap()
        .current_dir(dir.path())
        .args(["demo", "--rows", "5000"])
        .output()
        .unwrap();
    assert!(again.status.success());
}
