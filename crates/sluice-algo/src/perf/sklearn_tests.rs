//! The perf metrics against scikit-learn 1.9.1, statsmodels 0.15.0 and a brute-force DeLong
//! (`tests/fixtures/perf/make_fixtures.py` produced the JSON and says how).

use serde::Deserialize;

use super::{
    CiMethod, ClassificationConfig, ClassificationData, Probabilities, RegressionConfig, classification_report,
    regression_report,
};

#[derive(Deserialize)]
struct Binary {
    labels: Vec<u32>,
    predicted: Vec<u32>,
    probability: Vec<f64>,
    accuracy: f64,
    wilson: [f64; 2],
    precision: f64,
    recall: f64,
    f1: f64,
    roc_auc: f64,
    delong_variance: f64,
    log_loss: f64,
    log_loss_ci: [f64; 2],
    confusion: Vec<Vec<u64>>,
}

#[derive(Deserialize)]
struct Multiclass {
    k: usize,
    labels: Vec<u32>,
    predicted: Vec<u32>,
    probabilities: Vec<f64>,
    accuracy: f64,
    precision: f64,
    recall: f64,
    f1: f64,
    log_loss: f64,
    confusion: Vec<Vec<u64>>,
    roc_auc: Option<f64>,
}

#[derive(Deserialize)]
struct Regression {
    truth: Vec<f64>,
    predicted: Vec<f64>,
    mae: f64,
    mae_ci: [f64; 2],
    rmse: f64,
    rmse_ci: [f64; 2],
    mean_error: f64,
    mean_error_ci: [f64; 2],
}

#[derive(Deserialize)]
struct Fixture {
    binary: Vec<Binary>,
    multiclass: Vec<Multiclass>,
    regression: Vec<Regression>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("../../tests/fixtures/perf/sklearn_reference.json")).unwrap()
}

fn close(got: Option<f64>, want: f64, tol: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what} undefined"));
    assert!((got - want).abs() <= tol, "{what}: {got} vs {want}");
}

#[test]
fn binary_metrics_match_sklearn() {
    let z = 1.959_963_984_540_054;
    for (i, c) in fixture().binary.into_iter().enumerate() {
        let d = ClassificationData::new(
            vec!["0".into(), "1".into()],
            c.labels,
            c.predicted,
            Probabilities::Positive(c.probability),
        )
        .unwrap();
        let r = classification_report(&d, &ClassificationConfig::default()).unwrap();
        let what = |m: &str| format!("case {i} {m}");
        close(r.accuracy.value(), c.accuracy, 1e-15, &what("accuracy"));
        let w = r.accuracy.estimate().unwrap().ci.unwrap();
        close(Some(w.low), c.wilson[0], 1e-9, &what("wilson low"));
        close(Some(w.high), c.wilson[1], 1e-9, &what("wilson high"));
        close(r.precision.value(), c.precision, 1e-15, &what("precision"));
        close(r.recall.value(), c.recall, 1e-15, &what("recall"));
        close(r.f1.value(), c.f1, 1e-15, &what("f1"));
        close(r.roc_auc.value(), c.roc_auc, 1e-14, &what("roc_auc"));
        let auc = r.roc_auc.estimate().unwrap();
        let ci = auc.ci.unwrap();
        assert_eq!(ci.method, CiMethod::DeLong);
        let half = z * c.delong_variance.sqrt();
        close(Some(ci.low), (c.roc_auc - half).max(0.0), 1e-8, &what("delong low"));
        close(Some(ci.high), (c.roc_auc + half).min(1.0), 1e-8, &what("delong high"));
        close(r.log_loss.value(), c.log_loss, 1e-13, &what("log_loss"));
        let ll = r.log_loss.estimate().unwrap().ci.unwrap();
        close(Some(ll.low), c.log_loss_ci[0], 1e-8, &what("log_loss low"));
        close(Some(ll.high), c.log_loss_ci[1], 1e-8, &what("log_loss high"));
        assert_eq!(r.confusion.counts, c.confusion, "case {i}");
        // Bootstrap intervals bracket the estimate and are neither empty nor absurd.
        for (name, m) in [("precision", &r.precision), ("recall", &r.recall), ("f1", &r.f1)] {
            let e = m.estimate().unwrap();
            let ci = e.ci.unwrap();
            assert!(ci.low <= e.value && e.value <= ci.high, "case {i} {name}: {e:?}");
            assert!(
                ci.high - ci.low > 0.01 && ci.high - ci.low < 0.6,
                "case {i} {name}: {e:?}"
            );
        }
    }
}

#[test]
fn recall_bootstrap_width_matches_binomial_theory() {
    // Recall is a proportion of the positive rows, so its bootstrap interval is close to the
    // Wald interval r -/+ z sqrt(r (1 - r) / m) (m = positives). Case 3 has 500 rows.
    let c = fixture().binary.swap_remove(3);
    let m = c.labels.iter().filter(|&&l| l == 1).count() as f64;
    let d = ClassificationData::new(vec!["0".into(), "1".into()], c.labels, c.predicted, Probabilities::None).unwrap();
    let config = ClassificationConfig {
        bootstrap_resamples: 4000,
        ..ClassificationConfig::default()
    };
    let r = classification_report(&d, &config).unwrap();
    let e = r.recall.estimate().unwrap();
    let ci = e.ci.unwrap();
    let wald = 1.959_964 * (e.value * (1.0 - e.value) / m).sqrt();
    assert!(
        ((ci.high - ci.low) / 2.0 - wald).abs() < 0.15 * wald,
        "{ci:?} vs half-width {wald}"
    );
}

#[test]
fn multiclass_metrics_match_sklearn() {
    for (i, c) in fixture().multiclass.into_iter().enumerate() {
        let classes = (0..c.k).map(|j| j.to_string()).collect();
        let d = ClassificationData::new(classes, c.labels, c.predicted, Probabilities::Full(c.probabilities)).unwrap();
        let r = classification_report(&d, &ClassificationConfig::default()).unwrap();
        let what = |m: &str| format!("case {i} {m}");
        assert_eq!(r.averaging, super::Averaging::Macro);
        close(r.accuracy.value(), c.accuracy, 1e-15, &what("accuracy"));
        close(r.precision.value(), c.precision, 1e-15, &what("precision"));
        close(r.recall.value(), c.recall, 1e-15, &what("recall"));
        close(r.f1.value(), c.f1, 1e-15, &what("f1"));
        close(r.log_loss.value(), c.log_loss, 1e-13, &what("log_loss"));
        assert_eq!(r.confusion.counts, c.confusion, "case {i}");
        match c.roc_auc {
            Some(want) => {
                close(r.roc_auc.value(), want, 1e-14, &what("roc_auc"));
                let e = r.roc_auc.estimate().unwrap();
                let ci = e.ci.unwrap();
                assert_eq!(ci.method, CiMethod::PercentileBootstrap);
                assert!(ci.low < want && want < ci.high, "case {i}: {e:?}");
            }
            None => {
                // scikit-learn refuses: a probability column's class never occurs among the
                // labels. Sluice averages over the classes that do, and says so.
                let e = r.roc_auc.estimate().unwrap();
                assert!(e.note.as_deref().unwrap().contains("left out: 3"), "{e:?}");
            }
        }
    }
}

#[test]
fn regression_metrics_match_sklearn() {
    for (i, c) in fixture().regression.into_iter().enumerate() {
        let r = regression_report(&c.truth, &c.predicted, &RegressionConfig::default()).unwrap();
        let what = |m: &str| format!("case {i} {m}");
        for (name, m, want, ci) in [
            ("mae", &r.mae, c.mae, c.mae_ci),
            ("rmse", &r.rmse, c.rmse, c.rmse_ci),
            ("mean_error", &r.mean_error, c.mean_error, c.mean_error_ci),
        ] {
            close(m.value(), want, 1e-12, &what(name));
            let got = m.estimate().unwrap().ci.unwrap();
            close(Some(got.low), ci[0], 1e-8, &what(name));
            close(Some(got.high), ci[1], 1e-8, &what(name));
        }
    }
}
