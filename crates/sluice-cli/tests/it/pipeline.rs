//! `sluice run`: stages, caching, the gate, lineage, failures that leave nothing behind and
//! resume, and errors in the pipeline file.

use crate::Ws;

fn batch(seed: usize, rows: usize) -> String {
    let mut s = String::from("id,city,amount\n");
    for i in 0..rows {
        let city = if (i + seed).is_multiple_of(2) {
            " north"
        } else {
            "south "
        };
        s.push_str(&format!("{},{city},{}\n", i, ((i * 37 + seed) % 100) as f64 + 0.5));
        if i % 10 == 0 {
            // An exact duplicate row.
            s.push_str(&format!("{},{city},{}\n", i, ((i * 37 + seed) % 100) as f64 + 0.5));
        }
    }
    s
}

const PIPELINE: &str = r#"
name = "tx"
[source]
path = "incoming/*.csv"
raw_dataset = "tx-raw"
[[stage]]
name = "clean"
steps = [{ kind = "dedupe" }, { kind = "trim", columns = ["city"] }]
[[stage]]
name = "features"
sql = "SELECT id, city, amount, amount > 50 AS big FROM input"
[gate]
suite = "checks.toml"
[output]
dataset = "tx"
"#;

const CHECKS: &str = "[[check]]\nkind = \"row_count\"\nmin = 100\n[[check]]\nkind = \"unique\"\ncolumns = [\"id\"]\n";

#[test]
fn stages_gate_versions_lineage_and_cache() {
    let ws = Ws::new();
    ws.file("incoming/2024-01.csv", batch(1, 500));
    ws.file("incoming/2024-02.csv", batch(2, 500));
    ws.file("pipeline.toml", PIPELINE);
    ws.file("checks.toml", CHECKS);

    let v = ws.json(&["run", "pipeline.toml"]);
    let batches = v["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    let b = &batches[0];
    assert_eq!(b["rows"], 550);
    assert_eq!(b["stages"][0]["status"], "ran");
    assert_eq!(
        b["stages"][0]["rows_out"], 500,
        "dedupe removed the 50 injected duplicates"
    );
    assert_eq!(b["stages"][0]["steps"][0]["rows_removed"], 50);
    assert_eq!(
        b["stages"][0]["steps"][1]["values_changed"], 500,
        "every city was padded"
    );
    assert_eq!(b["passed"], true);
    assert_eq!(b["version"], "tx@v1");
    assert_eq!(b["raw_version"], "tx-raw@v1");
    assert_eq!(batches[1]["version"], "tx@v2");

    // The versioned table is the cleaned one, with the SQL stage's column.
    let p = ws.json(&["profile", "tx@v1"]);
    let cols: Vec<&str> = p["tables"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["id", "city", "amount", "big"]);
    assert_eq!(p["tables"][0]["rows"], 500);
    // Lineage: the cleaned version comes from the raw batch.
    let l = ws.ok(&["lineage", "tx@v1"]);
    assert!(l.contains("tx-raw@v1"), "{l}");
    assert!(
        l.contains("made by sluice run (pipeline tx: stage clean steps [{\"kind\":\"dedupe\"}"),
        "{l}"
    );
    assert!(
        l.contains("stage features sql \"SELECT id, city, amount, amount > 50 AS big FROM input\""),
        "{l}"
    );

    // Nothing new: nothing runs. A new file: only it runs.
    let again = ws.json(&["run", "pipeline.toml"]);
    assert_eq!(again["batches"].as_array().unwrap().len(), 0);
    ws.file("incoming/2024-03.csv", batch(3, 500));
    let dry = ws.json(&["run", "pipeline.toml", "--dry-run"]);
    assert_eq!(dry["batches"].as_array().unwrap().len(), 1);
    assert_eq!(dry["batches"][0]["stages"][0]["status"], "would run");
    let third = ws.json(&["run", "pipeline.toml"]);
    assert_eq!(third["batches"][0]["version"], "tx@v3");
    // --force reruns every stage of every file.
    let forced = ws.json(&["run", "pipeline.toml", "--force", "--dry-run"]);
    assert_eq!(forced["batches"].as_array().unwrap().len(), 3);
}

#[test]
fn a_failed_gate_or_stage_versions_nothing_and_the_next_run_resumes() {
    let ws = Ws::new();
    ws.file("incoming/2024-01.csv", batch(1, 500));
    ws.file("pipeline.toml", PIPELINE);
    ws.file("checks.toml", "[[check]]\nkind = \"row_count\"\nmin = 1000\n");
    let out = ws.run(&["--json", "run", "pipeline.toml"]);
    assert_eq!(out.status.code(), Some(1), "a failed gate exits 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["batches"][0]["passed"], false);
    assert!(v["batches"][0]["version"].is_null());
    let ls = ws.json(&["ls"]);
    assert!(ls.to_string().find("\"tx\"").is_none(), "nothing versioned: {ls}");
    // The result waits in the cache as the output's Parquet file, nothing half-written.
    let files = cache_files(&ws);
    assert!(files.len() == 1 && files[0].ends_with(".parquet"), "{files:?}");
    let dry = ws.json(&["run", "pipeline.toml", "--dry-run"]);
    assert_eq!(dry["batches"][0]["stages"][1]["status"], "cached");

    // Fix the suite: the stages come from the cache, the batch is versioned, and its cache
    // files are deleted (the version holds the output).
    ws.file("checks.toml", CHECKS);
    let v = ws.json(&["run", "pipeline.toml"]);
    assert_eq!(v["batches"][0]["stages"][0]["status"], "cached");
    assert_eq!(v["batches"][0]["stages"][1]["status"], "cached");
    assert_eq!(v["batches"][0]["version"], "tx@v1");
    assert_eq!(cache_files(&ws), Vec::<String>::new());
    let p = ws.json(&["profile", "tx@v1"]);
    assert_eq!(p["tables"][0]["rows"], 500, "the output read back from the cache");

    // A failing stage: an error (exit 2), nothing new versioned, the earlier stage cached.
    ws.file("incoming/2024-02.csv", batch(2, 500));
    ws.file(
        "pipeline.toml",
        PIPELINE.replace("amount > 50 AS big", "no_such_column AS big"),
    );
    let e = ws.fails(2, &["run", "pipeline.toml"]);
    assert!(e.contains("features") && e.contains("no_such_column"), "{e}");
    // The failed stage's input waits in the cache as Arrow IPC.
    let files = cache_files(&ws);
    assert!(files.len() == 1 && files[0].ends_with(".arrow"), "{files:?}");
    ws.file("pipeline.toml", PIPELINE);
    let v = ws.json(&["run", "pipeline.toml"]);
    assert_eq!(
        v["batches"][0]["stages"][0]["status"], "cached",
        "resumes after the failed stage's predecessor"
    );
    assert_eq!(v["batches"][0]["stages"][1]["status"], "ran");
    assert_eq!(v["batches"][0]["version"], "tx@v2");
    assert_eq!(cache_files(&ws), Vec::<String>::new());
}

/// The names of the files in the pipeline's cache folder.
fn cache_files(ws: &Ws) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ws.path().join(".sluice/pipelines/tx/cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn pipeline_file_errors_point_at_the_line() {
    let ws = Ws::new();
    ws.file("incoming/a.csv", batch(1, 10));
    ws.file("checks.toml", CHECKS);
    ws.file("p.toml", PIPELINE.replace("[gate]\nsuite", "[gate]\nsuit"));
    let e = ws.fails(2, &["run", "p.toml"]);
    assert!(e.contains("p.toml:") && e.contains("suit"), "{e}");
    ws.file("q.toml", PIPELINE.replace("incoming/*.csv", "nowhere/*.csv"));
    let e = ws.fails(2, &["run", "q.toml"]);
    assert!(e.contains("nowhere"), "{e}");
    ws.file("r.toml", PIPELINE.replace("kind = \"dedupe\"", "kind = \"dedup\""));
    let e = ws.fails(2, &["run", "r.toml"]);
    assert!(e.contains("r.toml:") && e.contains("dedup"), "{e}");
}
