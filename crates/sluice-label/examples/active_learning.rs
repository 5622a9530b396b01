//! Does active learning save labels? A simulation on `sluice synth` data, drawn as
//! `docs/active-learning.svg` (run: `cargo run --release -p sluice-label --example active_learning`).
//!
//! Data: 400,000 synthetic card transactions (seed 7). Fraud is 2% of rows, so every fraud row
//! plus as many random legitimate rows make a balanced set, split 75/25 into an unlabelled pool
//! and a test set. Features: the five the generator's fraud model uses (ln amount/50,
//! ln(1 + distance), transactions in 24 h, night, web), standardised. Model: L2 logistic
//! regression (sluice-algo's Newton solver, C = 1).
//!
//! Each run starts from 10 labelled rows of each class and adds batches of 20 chosen by the
//! strategy among the unlabelled pool, refitting after each batch, up to 400 labels. Strategies
//! are sluice-algo's: least confidence, margin, entropy (for two classes these three rank items
//! identically, so their curves coincide), query by committee (5 bootstrap models; vote entropy
//! and mean KL to consensus), k-center greedy on the features, the hybrid (k-center among the
//! 200 most uncertain), and random sampling. Curves are test accuracy averaged over 8 seeds.
//! "Labels saved" compares the labels each strategy needs to first reach the accuracy random
//! sampling has at 400 labels (minus 0.5 points, so the target is reached at all).

use std::fmt::Write as _;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sluice_algo::feedback::reward_model::{LogisticConfig, LogisticModel};
use sluice_algo::label::{
    Uncertainty, hybrid_select, k_center_greedy, mean_kl_to_consensus, top_k, uncertainty, vote_entropy,
};

const D: usize = 5;
const START_PER_CLASS: usize = 10;
const BATCH: usize = 20;
const MAX_LABELS: usize = 400;
const SEEDS: u64 = 8;

struct Data {
    x: Vec<f64>,
    y: Vec<f64>,
}

fn load(rows: u64) -> Result<Data, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("synth.parquet");
    let cfg = sluice_synth::SynthConfig {
        rows,
        seed: 7,
        ..Default::default()
    };
    sluice_synth::generate(&cfg, &path, sluice_synth::Format::Parquet, &mut |_| {})?;
    let file = std::fs::File::open(&path)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for b in reader {
        let b = b?;
        let col = |n: &str| b.column_by_name(n).ok_or(format!("no column {n}"));
        let amount = col("amount")?.as_primitive::<Float64Type>().clone();
        let dist = col("distance_from_home_km")?.as_primitive::<Float64Type>().clone();
        let txn = col("txn_count_24h")?.as_primitive::<Int64Type>().clone();
        let time = col("event_time")?.as_primitive::<TimestampMicrosecondType>().clone();
        let device = col("device")?.as_string::<i32>().clone();
        let fraud = col("is_fraud")?.as_boolean().clone();
        for i in 0..b.num_rows() {
            if amount.is_null(i) || dist.is_null(i) || txn.is_null(i) {
                continue;
            }
            let hour = (time.value(i).rem_euclid(86_400_000_000) / 3_600_000_000) as u32;
            x.extend([
                (amount.value(i) / 50.0).ln(),
                dist.value(i).ln_1p(),
                txn.value(i) as f64,
                f64::from(u8::from(hour < 6)),
                f64::from(u8::from(device.value(i) == "web")),
            ]);
            y.push(f64::from(u8::from(fraud.value(i))));
        }
    }
    Ok(Data { x, y })
}

struct Split {
    pool_x: Vec<f64>,
    pool_y: Vec<f64>,
    test_x: Vec<f64>,
    test_y: Vec<f64>,
}

fn balanced_split(d: &Data) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let pos: Vec<usize> = (0..d.y.len()).filter(|&i| d.y[i] == 1.0).collect();
    let mut neg: Vec<usize> = (0..d.y.len()).filter(|&i| d.y[i] == 0.0).collect();
    neg.shuffle(&mut rng);
    let mut rows: Vec<usize> = pos.iter().copied().chain(neg.into_iter().take(pos.len())).collect();
    rows.shuffle(&mut rng);
    // Standardise on the whole balanced set (the features are unlabelled information).
    let n = rows.len() as f64;
    let mut mean = [0.0; D];
    let mut sd = [0.0; D];
    for &r in &rows {
        for (m, v) in mean.iter_mut().zip(&d.x[r * D..(r + 1) * D]) {
            *m += v / n;
        }
    }
    for &r in &rows {
        for ((s, v), m) in sd.iter_mut().zip(&d.x[r * D..(r + 1) * D]).zip(&mean) {
            *s += (v - m).powi(2) / n;
        }
    }
    let cut = rows.len() * 3 / 4;
    let mut s = Split {
        pool_x: vec![],
        pool_y: vec![],
        test_x: vec![],
        test_y: vec![],
    };
    for (k, &r) in rows.iter().enumerate() {
        let (x, y) = if k < cut {
            (&mut s.pool_x, &mut s.pool_y)
        } else {
            (&mut s.test_x, &mut s.test_y)
        };
        for j in 0..D {
            x.push((d.x[r * D + j] - mean[j]) / sd[j].sqrt().max(1e-12));
        }
        y.push(d.y[r]);
    }
    s
}

fn fit(x: &[f64], y: &[f64], rows: &[usize]) -> Option<LogisticModel> {
    let xs: Vec<f64> = rows
        .iter()
        .flat_map(|&r| x[r * D..(r + 1) * D].iter().copied())
        .collect();
    let ys: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
    let cfg = LogisticConfig {
        l2: 1.0,
        threads: 1,
        ..Default::default()
    };
    LogisticModel::fit(&xs, D, &ys, &cfg).ok()
}

fn probs(m: &LogisticModel, x: &[f64]) -> Vec<f64> {
    x.chunks_exact(D)
        .flat_map(|r| {
            let p = m.predict(r);
            [1.0 - p, p]
        })
        .collect()
}

fn accuracy(m: &LogisticModel, s: &Split) -> f64 {
    let ok = s
        .test_x
        .chunks_exact(D)
        .zip(&s.test_y)
        .filter(|(r, y)| (m.predict(r) >= 0.5) == (**y == 1.0))
        .count();
    ok as f64 / s.test_y.len() as f64
}

const STRATEGIES: [&str; 8] = [
    "random",
    "least confidence",
    "margin",
    "entropy",
    "QBC vote entropy",
    "QBC mean KL",
    "k-center",
    "hybrid",
];

fn run(s: &Split, strategy: &str, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = s.pool_y.len();
    let emb: Vec<f32> = s.pool_x.iter().map(|&v| v as f32).collect();
    let mut labelled: Vec<usize> = Vec::new();
    for class in [0.0, 1.0] {
        let mut c: Vec<usize> = (0..n).filter(|&i| s.pool_y[i] == class).collect();
        c.shuffle(&mut rng);
        labelled.extend(c.into_iter().take(START_PER_CLASS));
    }
    let mut curve = Vec::new();
    loop {
        let model = fit(&s.pool_x, &s.pool_y, &labelled).expect("the L2 fit converges on both classes");
        curve.push(accuracy(&model, s));
        if labelled.len() >= MAX_LABELS {
            return curve;
        }
        let p = probs(&model, &s.pool_x);
        let pick = match strategy {
            "random" => {
                let taken: std::collections::HashSet<usize> = labelled.iter().copied().collect();
                let mut free: Vec<usize> = (0..n).filter(|i| !taken.contains(i)).collect();
                free.shuffle(&mut rng);
                free.truncate(BATCH);
                free
            }
            "least confidence" | "margin" | "entropy" => {
                let kind = match strategy {
                    "least confidence" => Uncertainty::LeastConfidence,
                    "margin" => Uncertainty::Margin,
                    _ => Uncertainty::Entropy,
                };
                top_k(&uncertainty(&p, 2, kind).expect("valid"), BATCH, &labelled).expect("valid")
            }
            "QBC vote entropy" | "QBC mean KL" => {
                let members: Vec<LogisticModel> = (0..5)
                    .filter_map(|_| {
                        let boot: Vec<usize> = (0..labelled.len())
                            .map(|_| labelled[rng.random_range(0..labelled.len())])
                            .collect();
                        fit(&s.pool_x, &s.pool_y, &boot)
                    })
                    .collect();
                let scores = if strategy == "QBC vote entropy" {
                    let mut votes = vec![0u32; n * members.len()];
                    for (c, m) in members.iter().enumerate() {
                        for (i, r) in s.pool_x.chunks_exact(D).enumerate() {
                            votes[i * members.len() + c] = u32::from(m.predict(r) >= 0.5);
                        }
                    }
                    // Ties in vote entropy (most items are unanimous) are broken by the main
                    // model's uncertainty, scaled below the smallest vote-entropy step.
                    let ve = vote_entropy(&votes, members.len(), 2).expect("valid");
                    let u = uncertainty(&p, 2, Uncertainty::Entropy).expect("valid");
                    ve.iter().zip(&u).map(|(v, u)| v + 1e-3 * u).collect::<Vec<_>>()
                } else {
                    let stacked: Vec<f64> = members.iter().flat_map(|m| probs(m, &s.pool_x)).collect();
                    mean_kl_to_consensus(&stacked, members.len(), 2).expect("valid")
                };
                top_k(&scores, BATCH, &labelled).expect("valid")
            }
            "k-center" => k_center_greedy(&emb, D, BATCH, &labelled).expect("valid"),
            "hybrid" => {
                let u = uncertainty(&p, 2, Uncertainty::Entropy).expect("valid");
                hybrid_select(&u, &emb, D, BATCH, 10 * BATCH, &labelled).expect("valid")
            }
            other => unreachable!("{other}"),
        };
        labelled.extend(pick);
    }
}

fn labels_at(curve: &[f64], target: f64) -> Option<usize> {
    curve
        .iter()
        .position(|&a| a >= target)
        .map(|i| 2 * START_PER_CLASS + i * BATCH)
}

fn svg(
    curves: &[(&str, Vec<f64>)],
    target: f64,
    saved: &[(&str, Option<usize>)],
    n_pool: usize,
    n_test: usize,
) -> String {
    let (w, h, l, r, t, b) = (760.0, 440.0, 60.0, 200.0, 40.0, 50.0);
    let (pw, ph) = (w - l - r, h - t - b);
    let all: Vec<f64> = curves.iter().flat_map(|c| c.1.iter().copied()).collect();
    let lo = (all.iter().copied().fold(1.0, f64::min) * 50.0).floor() / 50.0;
    let hi = (all.iter().copied().fold(0.0, f64::max) * 50.0).ceil() / 50.0;
    let xmax = MAX_LABELS as f64;
    let xmin = (2 * START_PER_CLASS) as f64;
    let px = |x: f64| l + (x - xmin) / (xmax - xmin) * pw;
    let py = |y: f64| t + (1.0 - (y - lo) / (hi - lo)) * ph;
    let colors = [
        "#555555", "#d62728", "#ff7f0e", "#e6b800", "#2ca02c", "#17becf", "#1f77b4", "#9467bd",
    ];
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{l}" y="22" font-size="14">Active learning on sluice synth (balanced fraud set, {n_pool} pool / {n_test} test rows, mean of {SEEDS} seeds)</text>
"#
    );
    let mut y = lo;
    while y <= hi + 1e-9 {
        let _ = writeln!(
            s,
            r##"<line x1="{l}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" text-anchor="end">{y:.2}</text>"##,
            l + pw,
            l - 6.0,
            py(y) + 4.0,
            yy = py(y)
        );
        y += 0.02;
    }
    let mut x = 100.0;
    while x <= xmax {
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{t}" y2="{}" stroke="#e5e5e5"/><text x="{xx:.1}" y="{}" text-anchor="middle">{x}</text>"##,
            t + ph,
            t + ph + 16.0,
            xx = px(x)
        );
        x += 100.0;
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle">labels</text><text transform="translate(16,{}) rotate(-90)" text-anchor="middle">test accuracy</text>"##,
        l + pw / 2.0,
        h - 12.0,
        t + ph / 2.0
    );
    let _ = writeln!(
        s,
        r##"<line x1="{l}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#000" stroke-dasharray="4,4"/>"##,
        l + pw,
        yy = py(target)
    );
    for (k, (name, c)) in curves.iter().enumerate() {
        let pts: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{:.1},{:.1}", px((2 * START_PER_CLASS + i * BATCH) as f64), py(*a)))
            .collect();
        let dash = if matches!(*name, "margin" | "entropy") {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
            colors[k % colors.len()],
            pts.join(" ")
        );
        let ly = t + 10.0 + k as f64 * 34.0;
        let saved_text = match saved.iter().find(|x| x.0 == *name).and_then(|x| x.1) {
            Some(n) => format!("{n} labels to target"),
            None => "target not reached".into(),
        };
        let _ = writeln!(
            s,
            r##"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{}" stroke-width="3"/><text x="{}" y="{}">{name}</text><text x="{}" y="{}" fill="#555">{saved_text}</text>"##,
            l + pw + 12.0,
            l + pw + 32.0,
            colors[k % colors.len()],
            l + pw + 38.0,
            ly + 4.0,
            l + pw + 38.0,
            ly + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{:.1}" font-size="11">dashed: target = random at {MAX_LABELS} labels - 0.005</text>"#,
        l + 6.0,
        py(target) - 6.0
    );
    s.push_str("</svg>\n");
    s
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "docs/active-learning.svg".into());
    let rows: u64 = args.get(2).map(|r| r.parse()).transpose()?.unwrap_or(400_000);
    let data = load(rows)?;
    let split = balanced_split(&data);
    eprintln!("pool {} rows, test {} rows", split.pool_y.len(), split.test_y.len());
    let mut curves: Vec<(&str, Vec<f64>)> = Vec::new();
    for name in STRATEGIES {
        let mut mean = vec![0.0; (MAX_LABELS - 2 * START_PER_CLASS) / BATCH + 1];
        for seed in 0..SEEDS {
            for (m, a) in mean.iter_mut().zip(run(&split, name, seed)) {
                *m += a / SEEDS as f64;
            }
        }
        eprintln!("{name}: final accuracy {:.4}", mean.last().copied().unwrap_or(0.0));
        curves.push((name, mean));
    }
    let target = curves[0].1.last().copied().unwrap_or(0.0) - 0.005;
    let random_needed = labels_at(&curves[0].1, target);
    let saved: Vec<(&str, Option<usize>)> = curves.iter().map(|(n, c)| (*n, labels_at(c, target))).collect();
    println!("target accuracy {target:.4} (random sampling at {MAX_LABELS} labels, minus 0.005)");
    println!();
    println!("| strategy | accuracy at 100 | at 200 | at {MAX_LABELS} | labels to target | saved vs random |");
    println!("|---|---|---|---|---|---|");
    let at = |c: &[f64], labels: usize| c[(labels - 2 * START_PER_CLASS) / BATCH];
    for ((name, c), (_, need)) in curves.iter().zip(&saved) {
        let saved_txt = match (need, random_needed) {
            (Some(n), Some(r)) => format!("{:+.0}%", 100.0 * (r as f64 - *n as f64) / r as f64),
            _ => "-".into(),
        };
        println!(
            "| {name} | {:.4} | {:.4} | {:.4} | {} | {saved_txt} |",
            at(c, 100),
            at(c, 200),
            at(c, MAX_LABELS),
            need.map(|n| n.to_string()).unwrap_or_else(|| "not reached".into())
        );
    }
    std::fs::write(
        &out,
        svg(&curves, target, &saved, split.pool_y.len(), split.test_y.len()),
    )?;
    eprintln!("wrote {out}");
    Ok(())
}
