//! Integration tests of `sluice-feedback` through files, as the CLI uses it.
//!
//! The Open Bandit Pipeline check: the obp reference fixture of `sluice-algo`
//! (`crates/sluice-algo/tests/fixtures/feedback/obp_reference.json`, produced by
//! `obp_reference.py` beside it with obp 0.5.7 on the Open Bandit Dataset sample shipped inside the
//! obp package) is written out as decision logs, and `evaluate_log` must give obp's estimates:
//! the whole path (log schema, validation, action interning, target policies, reward model,
//! estimators) reproduces obp, not just the estimator formulas.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sluice_feedback::ope::{OpeOptions, TargetPolicy, evaluate_log, parse_estimators};

fn fixture() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sluice-algo/tests/fixtures/feedback/obp_reference.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn rewards(v: &Value) -> Vec<u8> {
    v.as_str().unwrap().bytes().map(|b| b - b'0').collect()
}

fn u(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

fn write_lines(path: &Path, lines: impl Iterator<Item = Value>) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

fn check(report: &sluice_feedback::ope::OpeReport, want: &Value) {
    for e in &report.estimates {
        let w = want[&e.estimator].as_f64().unwrap();
        let rel = (e.value - w).abs() / w.abs();
        assert!(
            rel < 1e-9,
            "{}: sluice {} vs obp {w} (relative error {rel:e})",
            e.estimator,
            e.value
        );
    }
    assert_eq!(report.estimates.len(), 6);
}

fn opts(target: TargetPolicy, clip: f64, tau: f64) -> OpeOptions {
    let mut o = OpeOptions {
        target,
        clip,
        switch_tau: tau,
        ..OpeOptions::default()
    };
    o.bootstrap.resamples = 200;
    o
}

fn candidates(n: usize) -> Vec<String> {
    (0..n).map(|a| a.to_string()).collect()
}

/// Writes obp's Bernoulli-TS log (the fixture's `bts_logs`) as a Parquet decision log.
fn write_bts_log(b: &Value, log: &Path) {
    let n_actions = b["n_actions"].as_u64().unwrap() as usize;
    let cands = candidates(n_actions);
    let (action, pscore, reward) = (u(&b["action"]), &b["pscore"], rewards(&b["reward"]));
    let mut w = sluice_feedback::io::DecisionWriter::create(log).unwrap();
    for i in 0..action.len() {
        let d: sluice_feedback::schema::Decision = serde_json::from_value(json!({
            "decision_id": format!("r{i}"),
            "time": "2019-11-24T00:00:00Z",
            "candidates": cands,
            "chosen": [{"action": action[i].to_string(), "position": 0, "propensity": pscore[i], "reward": reward[i]}],
            "policy": "bernoulli-ts",
        }))
        .unwrap();
        w.write(&d).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn bts_logs_evaluated_from_a_decision_log_match_obp() {
    let fx = fixture();
    let b = &fx["bts_logs"];
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("bts.parquet");
    write_bts_log(b, &log);
    let lambda = b["lambda"].as_f64().unwrap();
    let tau = b["tau"].as_f64().unwrap();
    let r = evaluate_log(&log, &opts(TargetPolicy::Uniform, lambda, tau)).unwrap();
    check(&r, &b["estimates_mean_model"]);
    let ess = b["weights"]["ess"].as_f64().unwrap();
    assert!((r.weights.ess - ess).abs() / ess < 1e-12);
}

#[test]
fn the_estimators_obp_benchmarks_alone_give_the_same_values() {
    // `sluice ope --estimators ips,snips,dr`, the like-for-like run of bench/ope_vs_obp.sh.
    let fx = fixture();
    let b = &fx["bts_logs"];
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("bts.parquet");
    write_bts_log(b, &log);
    let (lambda, tau) = (b["lambda"].as_f64().unwrap(), b["tau"].as_f64().unwrap());
    let all = evaluate_log(&log, &opts(TargetPolicy::Uniform, lambda, tau)).unwrap();
    let mut o = opts(TargetPolicy::Uniform, lambda, tau);
    o.estimators = parse_estimators("ips, SNIPS,dr,ips").unwrap();
    let three = evaluate_log(&log, &o).unwrap();
    let names: Vec<&str> = three.estimates.iter().map(|e| e.estimator.as_str()).collect();
    assert_eq!(names, ["ips", "snips", "dr"]);
    for e in &three.estimates {
        let full = all.estimates.iter().find(|f| f.estimator == e.estimator).unwrap();
        assert_eq!(e.value.to_bits(), full.value.to_bits(), "{}", e.estimator);
        let want = b["estimates_mean_model"][&e.estimator].as_f64().unwrap();
        assert!((e.value - want).abs() / want.abs() < 1e-9, "{}", e.estimator);
        assert!(e.interval.lower <= e.value && e.value <= e.interval.upper, "{e:?}");
    }
    assert_eq!(three.weights, all.weights);
    // IPS alone needs no reward model.
    o.estimators = parse_estimators("ips").unwrap();
    assert_eq!(evaluate_log(&log, &o).unwrap().estimates.len(), 1);
    assert_eq!(parse_estimators("all").unwrap().len(), 6);
    let err = parse_estimators("ips,dml").unwrap_err().to_string();
    assert!(err.contains("`dml`") && err.contains("switch_dr"), "{err}");
    assert!(parse_estimators(" , ").is_err());
}

#[test]
fn random_logs_with_a_target_policy_file_match_obp() {
    let fx = fixture();
    let b = &fx["random_logs"];
    let dir = tempfile::tempdir().unwrap();
    let (log, policy) = (dir.path().join("random.jsonl"), dir.path().join("bts_policy.jsonl"));
    let n_actions = b["n_actions"].as_u64().unwrap() as usize;
    let (action, position, reward) = (u(&b["action"]), u(&b["position"]), rewards(&b["reward"]));
    let table: Vec<Vec<f64>> = serde_json::from_value(b["target_table"].clone()).unwrap();
    let pscore = b["pscore"].as_f64().unwrap();
    // Each obp round (one position of one impression) is one decision here.
    write_lines(
        &log,
        (0..action.len()).map(|i| {
            json!({
                "decision_id": format!("r{i}"),
                "time": "2019-11-24T00:00:00Z",
                "chosen": [{"action": action[i].to_string(), "position": position[i], "propensity": pscore, "reward": reward[i]}],
            })
        }),
    );
    write_lines(
        &policy,
        (0..action.len()).map(|i| {
            let probs: serde_json::Map<String, Value> = (0..n_actions)
                .map(|a| (a.to_string(), json!(table[a][position[i] as usize])))
                .collect();
            json!({"decision_id": format!("r{i}"), "probabilities": probs})
        }),
    );
    let clip = fx["lambda_clip"].as_f64().unwrap();
    let tau = fx["tau_switch"].as_f64().unwrap();
    let r = evaluate_log(&log, &opts(TargetPolicy::File(policy), clip, tau)).unwrap();
    // The log names only the actions it logged; obp's per-action mean gives unlogged actions the
    // overall mean, and so does sluice.
    check(&r, &b["estimates_mean_model"]);
}

#[test]
fn a_bad_record_stops_evaluation_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bad.jsonl");
    std::fs::write(
        &log,
        "{\"decision_id\":\"a\",\"time\":\"2026-01-01T00:00:00Z\",\"chosen\":[{\"action\":\"x\",\"propensity\":0.5,\"reward\":1}]}\n\
         {\"decision_id\":\"b\",\"time\":\"2026-01-01T00:00:00Z\",\"chosen\":[{\"action\":\"y\",\"propensity\":0}]}\n",
    )
    .unwrap();
    let err = evaluate_log(&log, &OpeOptions::default()).unwrap_err().to_string();
    assert!(
        err.contains("bad.jsonl:2") && err.contains("chosen[0].propensity"),
        "{err}"
    );
}
