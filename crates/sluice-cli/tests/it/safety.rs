//! Crash and concurrency safety: verify, gc, two writers at once, SIGKILL mid-add, the lock.

use std::time::{Duration, Instant};

use crate::Ws;

#[test]
fn verify_finds_corrupt_and_missing_objects() {
    let ws = Ws::new();
    ws.file("d/a.bin", [1u8; 100]);
    ws.file("d/b.bin", [2u8; 100]);
    ws.json(&["add", "d", "d"]);
    let v = ws.json(&["verify"]);
    assert_eq!(v["objects"], 2);
    let objects = ws.objects();
    let mut bytes = std::fs::read(&objects[0]).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&objects[0], bytes).unwrap();
    std::fs::remove_file(&objects[1]).unwrap();
    let out = ws.run(&["--json", "verify"]);
    assert_eq!(out.status.code(), Some(1), "damage exits 1");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["corrupt"].as_array().unwrap().len(), 1);
    assert_eq!(r["missing"].as_array().unwrap().len(), 1);
    let users = r["corrupt"][0]["referenced_by"][0].as_str().unwrap();
    assert!(users.starts_with("d@v1:d/"), "{users}");
}

#[test]
fn gc_removes_only_unreferenced_objects() {
    let ws = Ws::new();
    ws.file("keep.csv", "a\n1\n");
    ws.json(&["add", "k", "keep.csv"]);
    ws.file("art.bin", [7u8; 64]);
    ws.json(&[
        "model",
        "register",
        "m",
        "--dataset",
        "k@1",
        "--code-rev",
        "abc",
        "--artifact",
        "art.bin",
    ]);
    // A failed add leaves an unreferenced object behind.
    ws.file("f/a.bin", [3u8; 500]);
    ws.file("f/b.csv", "x,y\n1\n");
    ws.fails(2, &["add", "f", "f"]);
    let before = ws.objects().len();
    let dry = ws.json(&["gc"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        dry["unreferenced"], 2,
        "both files of the failed add were stored before it failed"
    );
    assert_eq!(ws.objects().len(), before, "dry run deletes nothing");
    let done = ws.json(&["gc", "--force"]);
    assert_eq!(done["removed"], 2);
    assert_eq!(ws.objects().len(), before - 2);
    // Versions, canonical copies and the model artifact survive.
    ws.json(&["export", "k@1", "out"]);
    assert_eq!(ws.json(&["model", "check", "m@1"])["ok"], true);
    assert_eq!(ws.json(&["verify"])["unreferenced"], 0);
}

#[test]
fn two_concurrent_adds_both_succeed() {
    let ws = Ws::new();
    for i in 0..40 {
        ws.file(&format!("a/{i}.bin"), vec![i as u8; 200_000]);
        ws.file(&format!("b/{i}.bin"), vec![(i + 100) as u8; 200_000]);
    }
    let spawn = |dir: &str, name: &str| {
        ws.spawnable()
            .args(["--json", "add", name, dir])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Same dataset from two processes, then two datasets at once.
    let p1 = spawn("a", "same");
    let p2 = spawn("b", "same");
    let (o1, o2) = (p1.wait_with_output().unwrap(), p2.wait_with_output().unwrap());
    assert!(o1.status.success() && o2.status.success());
    let log = ws.json(&["log", "same"]);
    let mut numbers: Vec<i64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2]);
    let p3 = spawn("a", "x");
    let p4 = spawn("b", "y");
    assert!(p3.wait_with_output().unwrap().status.success());
    assert!(p4.wait_with_output().unwrap().status.success());
    let v = ws.json(&["verify"]);
    assert_eq!(v["corrupt"], serde_json::json!([]));
    assert_eq!(v["missing"], serde_json::json!([]));
    assert_eq!(v["objects"], 80);
}

#[test]
fn sigkill_mid_add_leaves_a_clean_store_and_no_version() {
    let ws = Ws::new();
    for i in 0..150 {
        ws.file(&format!("big/{i:03}.bin"), vec![(i % 251) as u8; 2_000_000]);
    }
    let mut child = ws
        .spawnable()
        .args(["add", "big", "big"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some objects exist, well before all 150 are stored.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored = std::fs::read_dir(ws.path().join(".sluice/objects")).unwrap().count();
        if stored >= 3 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the add was killed before it finished");
    assert_eq!(ws.json(&["ls"]), serde_json::json!([]), "no partial version is visible");
    let v = ws.json(&["verify"]);
    assert_eq!(v["corrupt"], serde_json::json!([]));
    assert_eq!(v["missing"], serde_json::json!([]));
    assert!(v["objects"].as_u64().unwrap() < 150, "killed midway: {v}");
    // Running it again completes, and gc clears what the killed run left.
    ws.json(&["add", "big", "big"]);
    ws.json(&["gc", "--force"]);
    assert_eq!(ws.json(&["verify"])["objects"], 150);
    // Temp files live in `.sluice/tmp/` and its 16 spread folders; none may be left.
    let tmp = ws.path().join(".sluice/tmp");
    let left: Vec<_> = walkdir_files(&tmp);
    assert!(left.is_empty(), "temp files left after gc: {left:?}");
}

fn walkdir_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_held_lock_makes_gc_wait_then_fail_clearly() {
    let ws = Ws::new();
    std::fs::write(ws.path().join(".sluice/config.toml"), "[lock]\ntimeout_secs = 1\n").unwrap();
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(ws.path().join(".sluice/lock"))
        .unwrap();
    lock.lock_shared().unwrap();
    let started = Instant::now();
    let err = ws.fails(2, &["gc", "--force"]);
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited for the timeout");
    assert!(err.contains("lock") && err.contains("timeout_secs"), "{err}");
    // Writers share the lock, so an add goes ahead.
    ws.file("a.txt", "x");
    ws.json(&["add", "a", "a.txt"]);
    drop(lock);
    ws.json(&["gc", "--force"]);
}
