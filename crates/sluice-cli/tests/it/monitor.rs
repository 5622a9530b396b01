//! `sluice monitor`: batches after a baseline, drift and quality alerts, anomalies on the
//! history, the retraining policy and its command, the webhook, resuming, and bad settings.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::Ws;

/// A batch: `x` around `center`, `city` with `blank` share of empty values, `y` ~ 20% true.
fn batch(seed: usize, center: f64, blank: f64) -> String {
    let mut s = String::from("x,city,y\n");
    let rows = 2000;
    for i in 0..rows {
        let u = ((i * 7919 + seed * 104_729) % rows) as f64 / rows as f64;
        let city = if ((i * 31 + seed) % 100) as f64 / 100.0 < blank {
            ""
        } else if u < 0.5 {
            "north"
        } else {
            "south"
        };
        s.push_str(&format!(
            "{:.4},{city},{}\n",
            center + (u - 0.5) * 4.0,
            (i + seed).is_multiple_of(5)
        ));
    }
    s
}

/// Accepts one HTTP request on loopback and hands back its body.
fn webhook() -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).unwrap();
            data.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&data).to_string();
            if let Some(i) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap();
                if data.len() >= i + 4 + len {
                    s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                    return text[i + 4..].to_string();
                }
            }
            if n == 0 {
                return String::new();
            }
        }
    });
    (url, handle)
}

#[test]
fn alerts_history_policy_command_and_webhook() {
    let ws = Ws::new();
    for (i, (center, blank)) in [(0.0, 0.0), (0.02, 0.0), (-0.02, 0.01), (0.01, 0.0), (1.5, 0.3)]
        .iter()
        .enumerate()
    {
        ws.file(&format!("b{i}/t.csv"), batch(i, *center, *blank));
        ws.ok(&["add", "tx", &format!("b{i}/t.csv")]);
    }
    ws.file(
        "mon.toml",
        "label = \"y\"\nretrain_command = \"echo \\\"$SLUICE_TRAIN_ON|$SLUICE_BATCH\\\" > retrained.txt\"\n\
         [policy]\nkind = \"triggered\"\non_drift = true\non_quality = true\n",
    );
    let (url, server) = webhook();
    let out = ws.run(&[
        "--json",
        "monitor",
        "tx",
        "--baseline",
        "v1",
        "--config",
        "mon.toml",
        "--webhook",
        &url,
        "--html",
        "m.html",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "alerts exit 1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let batches = v["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 4, "v2..v5 after the baseline v1");
    for b in &batches[..3] {
        assert_eq!(b["alerts"].as_array().unwrap().len(), 0, "stable batch alerted: {b}");
        assert_eq!(b["decision"]["retrain"], false);
    }
    let last = &batches[3];
    assert_eq!(last["batch"], "tx@v5");
    let alerts = last["alerts"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = alerts
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["subject"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("drift", "dataset")), "{kinds:?}");
    assert!(
        kinds.iter().any(|(k, s)| *k == "baseline" && *s == "missing.city"),
        "{kinds:?}"
    );
    assert!((last["metrics"]["missing.city"].as_f64().unwrap() - 0.3).abs() < 0.01);
    assert_eq!(last["drift"]["columns"][0]["column"], "x");
    assert!(last["drift_previous"]["share"].as_f64().unwrap() > 0.0);
    let d = &last["decision"];
    assert_eq!(d["retrain"], true);
    assert_eq!(d["train_on"], serde_json::json!(["tx@v2", "tx@v3", "tx@v4", "tx@v5"]));
    assert_eq!(last["retrain_exit"], 0);
    let ran = std::fs::read_to_string(ws.path().join("retrained.txt")).unwrap();
    assert_eq!(ran.trim(), "tx@v2,tx@v3,tx@v4,tx@v5|tx@v5");
    let body: serde_json::Value = serde_json::from_str(&server.join().unwrap()).unwrap();
    assert_eq!(body["dataset"], "tx");
    assert_eq!(body["batches"][3]["batch"], "tx@v5");
    assert!(body["batches"][3]["alerts"].as_array().unwrap().len() >= 2);
    assert_eq!(body["batches"][3]["decision"]["retrain"], true);
    assert!(v["webhook"].as_str().unwrap().contains("HTTP 204"));
    let page = std::fs::read_to_string(ws.path().join("m.html")).unwrap();
    assert!(
        page.contains("missing.city") && page.contains("(anomaly)"),
        "history chart with the anomaly"
    );

    // The history: baseline plus four batches.
    let again = ws.json(&["monitor", "tx", "--baseline", "v1", "--config", "mon.toml"]);
    assert_eq!(
        again["batches"].as_array().unwrap().len(),
        0,
        "nothing new: resumes from its state"
    );
    ws.file("b5/t.csv", batch(5, 0.0, 0.0));
    ws.ok(&["add", "tx", "b5/t.csv"]);
    let next = ws.run(&["--json", "monitor", "tx", "--baseline", "v1", "--config", "mon.toml"]);
    let n: serde_json::Value = serde_json::from_slice(&next.stdout).unwrap();
    assert_eq!(n["batches"][0]["batch"], "tx@v6");
    assert_eq!(n["batches"][0]["index"], 5);
}

#[test]
fn files_as_batches_and_bad_settings() {
    let ws = Ws::new();
    ws.file("b0/t.csv", batch(0, 0.0, 0.0));
    ws.ok(&["add", "tx", "b0/t.csv"]);
    ws.file("new.csv", batch(1, 0.0, 0.0));
    let v = ws.json(&["monitor", "tx", "--baseline", "v1", "new.csv"]);
    assert_eq!(v["batches"][0]["batch"], "new.csv");
    assert_eq!(v["batches"][0]["drift"]["dataset_drift"], false);
    assert!(v["batches"][0]["decision"].is_null(), "no policy configured");

    ws.file(
        "bad.toml",
        "sigma = 3.0\n[policy]\nkind = \"triggered\"\non_drfit = true\n",
    );
    let e = ws.fails(2, &["monitor", "tx", "--baseline", "v1", "--config", "bad.toml"]);
    // The [policy] table is where the misspelt key is reported (serde's tagged enums keep no
    // finer span).
    assert!(e.contains("bad.toml:2:") && e.contains("on_drfit"), "{e}");
    ws.file("never.toml", "[policy]\nkind = \"triggered\"\n");
    let e = ws.fails(2, &["monitor", "tx", "--baseline", "v1", "--config", "never.toml"]);
    assert!(e.contains("never retrain"), "{e}");
    ws.file("b1/t.csv", batch(2, 0.0, 0.0));
    ws.ok(&["add", "tx", "b1/t.csv"]);
    let e = ws.fails(2, &["monitor", "tx", "--baseline", "v2"]);
    assert!(e.contains("--reset") && e.contains("tx@v1"), "{e}");
    let e = ws.fails(
        2,
        &[
            "monitor",
            "tx",
            "--baseline",
            "v1",
            "--webhook",
            "https://example.invalid/x",
            "missing.csv",
        ],
    );
    assert!(e.contains("missing.csv"), "{e}");
}
