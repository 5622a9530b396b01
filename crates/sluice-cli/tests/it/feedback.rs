//! Feedback-loop commands end to end: decision-log validation with exact row messages, DSJSON
//! import, serving with exploration and holdouts, off-policy evaluation, position bias, loop
//! metrics with their history and alert, and the simulator's determinism.

use serde_json::{Value, json};

use crate::Ws;

fn jsonl(rows: &[Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

fn decision(id: &str, action: &str, propensity: Value, reward: f64) -> Value {
    json!({"decision_id": id, "time": "2026-03-01T12:00:00Z", "unit_id": format!("u-{id}"),
           "candidates": ["a", "b"], "chosen": [{"action": action, "position": 0, "propensity": propensity, "reward": reward}]})
}

#[test]
fn validate_accepts_a_good_log_and_names_every_bad_row() {
    let ws = Ws::new();
    ws.file(
        "good.jsonl",
        jsonl(&[decision("1", "a", json!(0.5), 1.0), decision("2", "b", json!(0.5), 0.0)]),
    );
    let v = ws.json(&["decisions", "validate", "good.jsonl"]);
    assert_eq!(
        (v["decisions"].as_u64(), v["problem_count"].as_u64()),
        (Some(2), Some(0))
    );
    let mut dist = decision("4", "a", json!(0.5), 1.0);
    dist["distribution"] = json!([0.5, 0.75]);
    let mut over = decision("5", "b", json!(1.5), 0.0);
    over["candidates"] = json!(["a", "b"]);
    ws.file(
        "bad.jsonl",
        format!(
            "{}{}{}{}{}",
            jsonl(&[decision("1", "a", json!(0.5), 1.0)]),
            jsonl(&[decision("2", "a", json!(0), 1.0)]),
            "{\"decision_id\": \"3\", \"time\": \"2026-03-01T12:00:00Z\", \"chosen\": [{\"action\": \"a\"}]}\n",
            jsonl(&[dist, over]),
            "{\"decision_id\": \"6\", \"chosen\": [}\n",
        ),
    );
    let out = ws.run(&["decisions", "validate", "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let expect = [
        "bad.jsonl:2: chosen[0].propensity = 0: a zero propensity says the action could not have been chosen",
        "bad.jsonl:3: chosen[0].propensity = missing: log the probability with which the policy chose this action",
        "bad.jsonl:4: distribution = sum 1.25: the probabilities must sum to 1 (within 1e-6)",
        "bad.jsonl:5: chosen[0].propensity = 1.5: a probability over 1; log the probability itself",
        "bad.jsonl:6:33: (record) = -: expected value",
    ];
    assert_eq!(lines.len(), expect.len(), "{text}");
    for (line, want) in lines.iter().zip(expect) {
        assert!(line.contains(want), "line `{line}` lacks `{want}`");
    }
    let v: Value = serde_json::from_slice(&ws.run(&["--json", "decisions", "validate", "bad.jsonl"]).stdout).unwrap();
    assert_eq!(v["problem_count"], 5);
    assert_eq!(v["problems"][0]["line"], 2);
    assert_eq!(v["problems"][0]["field"], "chosen[0].propensity");
    assert_eq!(v["by_field"]["chosen[].propensity"], 3);
    let err = ws.fails(2, &["decisions", "validate", "missing.jsonl"]);
    assert!(err.contains("missing.jsonl"), "{err}");
}

#[test]
fn dsjson_import_then_validate_and_evaluate() {
    let ws = Ws::new();
    let mut lines = String::new();
    for i in 0..40 {
        // Action 1 is greedy (p 0.8); the chosen one comes first in `a`.
        let (a, p, cost) = if i % 5 == 0 {
            ([2, 1], [0.2, 0.8], 0.0)
        } else {
            ([1, 2], [0.8, 0.2], -((i % 2) as f64))
        };
        lines.push_str(&format!(
            "{{\"_label_cost\":{cost},\"_label_probability\":{},\"_label_Action\":{},\"_labelIndex\":{},\"Timestamp\":\"2021-01-01T00:00:{:02}.0000000Z\",\"Version\":\"1\",\"EventId\":\"ev{i}\",\"a\":[{},{}],\"c\":{{\"U\":{{\"id\":\"user{}\"}},\"_multi\":[{{\"x\":1}},{{\"x\":2}}]}},\"p\":[{},{}],\"VWState\":{{\"m\":\"m1\"}}}}\n",
            p[0], a[0], a[0] - 1, i, a[0], a[1], i % 7, p[0], p[1]
        ));
    }
    lines.push_str("{\"RewardValue\":1.0,\"EventId\":\"ev3\"}\n");
    ws.file("vw.dsjson", lines);
    let r = ws.json(&[
        "decisions",
        "import",
        "vw.dsjson",
        "--out",
        "log.parquet",
        "--unit-field",
        "U.id",
    ]);
    assert_eq!(r["report"]["decisions"], 40);
    assert_eq!(r["report"]["skipped_not_decisions"], 1);
    let v = ws.json(&["decisions", "validate", "log.parquet"]);
    assert_eq!(v["problem_count"], 0, "{v}");
    // The logging policy itself as the target (epsilon 0.4 around the greedy action with 2
    // actions gives 0.8 / 0.2): on-policy IPS and SNIPS equal the mean logged reward exactly.
    let o = ws.json(&["ope", "log.parquet", "--policy", "epsilon:0.4", "--resamples", "200"]);
    let mean = o["logged_value"].as_f64().unwrap();
    for e in o["estimates"].as_array().unwrap() {
        if e["estimator"] == "ips" || e["estimator"] == "snips" {
            assert!((e["value"].as_f64().unwrap() - mean).abs() < 1e-12, "{e}");
        }
    }
    assert!((o["weights"]["ess"].as_f64().unwrap() - 40.0).abs() < 1e-9);
}

#[test]
fn ope_on_a_small_log_matches_hand_computation() {
    let ws = Ws::new();
    // Uniform logging over {a, b}; rewards: a -> 1, 1, 0; b -> 0. Target greedy:m picks a.
    let mut rows = Vec::new();
    for (i, (act, r)) in [("a", 1.0), ("a", 1.0), ("a", 0.0), ("b", 0.0)].iter().enumerate() {
        let mut d = decision(&i.to_string(), act, json!(0.5), *r);
        d["scores"] = json!({"m": [0.9, 0.1]});
        d["distribution"] = json!([0.5, 0.5]);
        rows.push(d);
    }
    ws.file("small.jsonl", jsonl(&rows));
    let o = ws.json(&["ope", "small.jsonl", "--policy", "greedy:m", "--resamples", "100"]);
    let get = |name: &str| {
        o["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["estimator"] == name)
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    // w = [2, 2, 2, 0]: IPS = (2 + 2 + 0 + 0) / 4 = 1; SNIPS = 4 / 6; DM = q(a) = 2/3;
    // DR = 2/3 + (1/4) sum w (r - q(a_i)) = 2/3 + (2/3 + 2/3 - 4/3 + 0) / 4 = 2/3.
    assert!((get("ips") - 1.0).abs() < 1e-12);
    assert!((get("snips") - 4.0 / 6.0).abs() < 1e-12);
    assert!((get("dm") - 2.0 / 3.0).abs() < 1e-12);
    assert!((get("dr") - 2.0 / 3.0).abs() < 1e-12);
    let text = ws.ok(&["ope", "small.jsonl", "--policy", "greedy:m", "--resamples", "100"]);
    assert!(
        text.contains("SNIPS") && text.contains("effective sample size"),
        "{text}"
    );
    // Only the estimators asked for, same values.
    let o2 = ws.json(&[
        "ope",
        "small.jsonl",
        "--policy",
        "greedy:m",
        "--resamples",
        "100",
        "--estimators",
        "dr,ips",
    ]);
    let names: Vec<&str> = o2["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["estimator"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dr", "ips"]);
    assert_eq!(o2["estimates"][1]["value"], o["estimates"][0]["value"]);
    let err = ws.fails(
        2,
        &[
            "ope",
            "small.jsonl",
            "--policy",
            "greedy:m",
            "--estimators",
            "ips,doubly",
        ],
    );
    assert!(err.contains("`doubly`") && err.contains("switch_dr"), "{err}");
    let err = ws.fails(2, &["ope", "small.jsonl", "--policy", "greedy:nope"]);
    assert!(err.contains("small.jsonl:1") && err.contains("scores.nope"), "{err}");
    let err = ws.fails(2, &["ope", "small.jsonl", "--policy", "epsilon:2"]);
    assert!(err.contains("[0, 1]"), "{err}");
}

#[test]
fn policy_serves_with_propensities_and_a_stable_holdout() {
    let ws = Ws::new();
    let rows: Vec<Value> = (0..200)
        .map(|i| json!({"unit_id": format!("user{i}"), "time": "2026-03-01T00:00:00Z", "candidates": ["x", "y", "z"], "scores": [0.1, 0.7, 0.2]}))
        .collect();
    ws.file("scores.jsonl", jsonl(&rows));
    let args = [
        "policy",
        "scores.jsonl",
        "--out",
        "d.jsonl",
        "--explore",
        "epsilon:0.3",
        "--holdout",
        "0.2",
        "--seed",
        "5",
    ];
    let r = ws.json(&args);
    let held = r["report"]["held_out"].as_u64().unwrap();
    assert!((20..=60).contains(&held), "{r}");
    let first = std::fs::read_to_string(ws.path().join("d.jsonl")).unwrap();
    ws.json(&args);
    assert_eq!(
        first,
        std::fs::read_to_string(ws.path().join("d.jsonl")).unwrap(),
        "same seed, same decisions"
    );
    assert_eq!(ws.json(&["decisions", "validate", "d.jsonl"])["problem_count"], 0);
    for line in first.lines() {
        let d: Value = serde_json::from_str(line).unwrap();
        let p = d["chosen"][0]["propensity"].as_f64().unwrap();
        let want = if d["policy"] == "holdout-uniform" {
            1.0 / 3.0
        } else if d["chosen"][0]["action"] == "y" {
            0.1 + 0.7
        } else {
            0.1
        };
        assert!((p - want).abs() < 1e-12, "{d}");
    }
    let err = ws.fails(
        2,
        &[
            "policy",
            "scores.jsonl",
            "--out",
            "s.jsonl",
            "--explore",
            "epsilon:0.1",
            "--slate",
            "2",
        ],
    );
    assert!(err.contains("shuffle:N or swap:N"), "{err}");
    ws.json(&[
        "policy",
        "scores.jsonl",
        "--out",
        "s.jsonl",
        "--explore",
        "swap:3",
        "--slate",
        "3",
    ]);
    // Clicks: the top position is examined always, the second every other time, the third never;
    // every item is relevant. Position alone then explains the clicks.
    let served = std::fs::read_to_string(ws.path().join("s.jsonl")).unwrap();
    let mut outcomes = Vec::new();
    for (i, line) in served.lines().enumerate() {
        let d: Value = serde_json::from_str(line).unwrap();
        for c in d["chosen"].as_array().unwrap() {
            let pos = c["position"].as_u64().unwrap();
            let click = pos == 0 || (pos == 1 && i % 2 == 0);
            outcomes.push(json!({"decision_id": d["decision_id"], "action": c["action"], "reward": u8::from(click)}));
        }
    }
    ws.file("clicks.jsonl", jsonl(&outcomes));
    let pb = ws.json(&["position-bias", "s.jsonl", "--outcomes", "clicks.jsonl"]);
    assert_eq!(pb["per_position"].as_array().unwrap().len(), 3);
    let theta: Vec<f64> = serde_json::from_value(pb["em_theta"].clone()).unwrap();
    assert!(
        (theta[0] - 1.0).abs() < 1e-12 && (theta[1] - 0.5).abs() < 0.05 && theta[2] < 1e-3,
        "{theta:?}"
    );
    assert!(pb["harvested_theta"].is_array(), "swaps give interventions: {pb}");
    assert!(pb["variation"]["position_share"].as_f64().unwrap() > 0.9, "{pb}");
}

#[test]
fn loop_metrics_history_alerts_when_concentration_keeps_rising() {
    let ws = Ws::new();
    // Batch b: 60 impressions over 30 users; item 0 takes 15 b of them, the rest cycle over 20 items.
    for b in 0..4 {
        let mut rows = Vec::new();
        for i in 0..60 {
            let item = if i < 15 * b { 0 } else { i % 20 };
            rows.push(
                json!({"decision_id": format!("{b}-{i}"), "time": "2026-03-01T00:00:00Z",
                "unit_id": format!("u{}", i % 30), "candidates": (0..20).map(|k| k.to_string()).collect::<Vec<_>>(),
                "chosen": [{"action": item.to_string(), "propensity": 1.0}]}),
            );
        }
        ws.file(&format!("day{b}.jsonl"), jsonl(&rows));
    }
    let mut ginis = Vec::new();
    for b in 0..3 {
        let v = ws.json(&["loop-metrics", &format!("day{b}.jsonl"), "--series", "recs"]);
        assert_eq!(v["history"]["batch_seq"], b + 1);
        assert_eq!(v["history"]["trend"]["alert"], false, "{v}");
        ginis.push(v["metrics"]["metrics"]["gini"].as_f64().unwrap());
    }
    assert!(ginis.windows(2).all(|w| w[1] > w[0]), "{ginis:?}");
    let out = ws.run(&["--json", "loop-metrics", "day3.jsonl", "--series", "recs"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["history"]["trend"]["alert"], true);
    assert_eq!(
        v["history"]["trend"]["trends"][0]["values"].as_array().unwrap().len(),
        4
    );
    let text = ws.fails(1, &["loop-metrics", "day3.jsonl", "--series", "recs"]);
    assert!(text.is_empty(), "alert goes to stdout: {text}");
    let out = ws.run(&["loop-metrics", "day3.jsonl", "--series", "recs"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ALERT: exposure concentration keeps rising"));
    // Without a series nothing is recorded and no workspace is needed.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(ws.path().join("day0.jsonl"), tmp.path().join("day0.jsonl")).unwrap();
    let out = ws
        .cmd()
        .current_dir(tmp.path())
        .args(["--json", "loop-metrics", "day0.jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn simulator_is_deterministic_and_writes_a_report() {
    let ws = Ws::new();
    let args = [
        "simulate",
        "feedback-loop",
        "--rounds",
        "4",
        "--users",
        "150",
        "--items",
        "30",
        "--resamples",
        "100",
        "--seed",
        "3",
    ];
    let a = ws.json(&args);
    let b = ws.json(&args);
    assert_eq!(a, b);
    let mut other = args.to_vec();
    let last = other.len() - 1;
    other[last] = "4";
    assert_ne!(a["report"]["rounds"], ws.json(&other)["report"]["rounds"]);
    assert_eq!(a["report"]["rounds"].as_array().unwrap().len(), 3 * 5);
    let mut with_html = args.to_vec();
    with_html.extend(["--html", "loop.html"]);
    let text = ws.ok(&with_html);
    assert!(text.contains("report:"), "{text}");
    let html = std::fs::read_to_string(ws.path().join("loop.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"));
}
