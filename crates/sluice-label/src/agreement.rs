//! `sluice label agreement`: how far the annotators can be trusted, overall, per label, per pair
//! and per annotator, with intervals, and which annotators fall under the thresholds.
//!
//! | figure                     | statistic (sluice-algo)                         | interval                    |
//! |----------------------------|-------------------------------------------------|-----------------------------|
//! | overall percent agreement  | pairwise `P_i` mean over units with >= 2 labels | bootstrap over units        |
//! | Fleiss' kappa              | Fleiss (1971), when every unit has equally many | bootstrap over units        |
//! | Krippendorff's alpha       | nominal/ordinal/interval/ratio, missing allowed | bootstrap over units        |
//! | per label                  | alpha of "is this label" (0/1) per unit, and    | bootstrap over units        |
//! |                            | Fleiss' category kappa when Fleiss is defined   |                             |
//! | annotator x annotator      | Cohen's kappa on shared units (weights option)  | none (shown with overlap)   |
//! | per annotator              | agreement with the leave-one-out plurality,     | Wilson score interval       |
//! |                            | accuracy on gold                                |                             |
//!
//! Units are items (single-label, ordinal, interval) or item x class pairs (multi-label, see
//! [`crate::index`]). An annotator is flagged when a rate's *point estimate* is under its
//! threshold and at least `min_compared` judgements back it, so one unlucky item does not flag a
//! newcomer; the interval is printed beside it for judgement.

use serde::{Deserialize, Serialize};
use sluice_algo::label::{
    Annotations, BootstrapCi, BootstrapConfig, KappaWeights, Level, annotator_agreement, bootstrap_ci,
    cohen_kappa_labels, fleiss_kappa, krippendorff_alpha_units, percent_agreement, percent_agreement_ci,
    wilson_interval,
};

use crate::error::Result;
use crate::index::{GoldUnits, Indexed, Units};
use crate::schema::{LabelKind, LabelSchema};

/// Settings of an agreement report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgreementOptions {
    /// Level for Krippendorff's alpha; default from the project kind.
    pub level: Option<Level>,
    /// Weights of the pairwise Cohen's kappa; default unweighted (quadratic for ordinal).
    pub weights: Option<KappaWeights>,
    /// Bootstrap settings.
    pub bootstrap: BootstrapConfig,
    /// Flag annotators whose agreement with the others is under this.
    pub min_agreement: Option<f64>,
    /// Flag annotators whose gold accuracy is under this.
    pub min_gold_accuracy: Option<f64>,
    /// Judgements a rate needs before it can flag (default 5).
    pub min_compared: usize,
}

impl Default for AgreementOptions {
    fn default() -> Self {
        Self {
            level: None,
            weights: None,
            bootstrap: BootstrapConfig::default(),
            min_agreement: None,
            min_gold_accuracy: None,
            min_compared: 5,
        }
    }
}

/// A statistic, its interval, or why it is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Point estimate.
    pub value: Option<f64>,
    /// Lower end of the interval.
    pub low: Option<f64>,
    /// Upper end.
    pub high: Option<f64>,
    /// Why there is no value (or no interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Figure {
    fn from_ci(r: sluice_algo::Result<BootstrapCi>) -> Figure {
        match r {
            Ok(ci) => Figure {
                value: Some(ci.estimate),
                low: Some(ci.low),
                high: Some(ci.high),
                note: None,
            },
            Err(e) => Figure::missing(e.to_string()),
        }
    }

    fn missing(note: impl Into<String>) -> Figure {
        Figure {
            value: None,
            low: None,
            high: None,
            note: Some(note.into()),
        }
    }
}

/// Agreement on one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelAgreement {
    /// The label.
    pub label: String,
    /// Share of judgements that chose it.
    pub share: f64,
    /// Alpha (nominal) of "is this label" over units.
    pub alpha: Figure,
    /// Fleiss' category-specific kappa (when Fleiss' kappa is defined).
    pub fleiss_kappa: Option<f64>,
}

/// The annotator x annotator matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairMatrix {
    /// Annotator names (rows and columns).
    pub annotators: Vec<String>,
    /// Cohen's kappa weights used.
    pub weights: KappaWeights,
    /// Kappa per pair (`None`: diagonal, fewer than 2 shared units, or undefined).
    pub kappa: Vec<Vec<Option<f64>>>,
    /// Shared units per pair.
    pub overlap: Vec<Vec<u32>>,
}

/// One annotator's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotatorReport {
    /// Name.
    pub annotator: String,
    /// Judgements (items, or item x class units for multi-label).
    pub n_labels: usize,
    /// Judgements compared with the others' plurality.
    pub n_compared: usize,
    /// Agreement with the others' plurality, Wilson interval.
    pub agreement: Figure,
    /// Judgements on gold units.
    pub n_gold: usize,
    /// Accuracy on gold, Wilson interval.
    pub gold_accuracy: Figure,
    /// Interval projects: mean absolute difference from the other annotators' mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_abs_diff: Option<f64>,
    /// Interval projects: mean absolute error on gold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gold_mae: Option<f64>,
    /// Mean seconds per answer, when recorded.
    pub mean_seconds: Option<f64>,
    /// Why the annotator is flagged (empty: not flagged).
    pub flags: Vec<String>,
}

/// The full report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementReport {
    /// Label kind.
    pub kind: LabelKind,
    /// `items` or `item x class`.
    pub unit: String,
    /// Items in the project.
    pub n_items: usize,
    /// Units with at least two judgements (the ones agreement is measured on).
    pub n_units_rated_twice: usize,
    /// Answers (latest per item and annotator).
    pub n_annotations: usize,
    /// Annotators.
    pub n_annotators: usize,
    /// Mean pairwise percent agreement.
    pub percent_agreement: Figure,
    /// Share of units on which every judgement agrees.
    pub unanimous: Option<f64>,
    /// Fleiss' kappa.
    pub fleiss_kappa: Figure,
    /// Krippendorff's alpha at `alpha_level`.
    pub alpha: Figure,
    /// Level used for alpha.
    pub alpha_level: Level,
    /// Per label.
    pub per_label: Vec<LabelAgreement>,
    /// Annotator x annotator.
    pub pairwise: PairMatrix,
    /// Per annotator.
    pub annotators: Vec<AnnotatorReport>,
    /// Names of flagged annotators.
    pub flagged: Vec<String>,
    /// Bootstrap settings used.
    pub bootstrap: BootstrapConfig,
}

/// Values grouped by unit, for alpha and its bootstrap.
struct UnitValues {
    flat: Vec<f64>,
    start: Vec<usize>,
}

impl UnitValues {
    fn from_fn(n_units: usize, mut f: impl FnMut(usize, &mut Vec<f64>)) -> Self {
        let mut flat = Vec::new();
        let mut start = vec![0];
        for u in 0..n_units {
            f(u, &mut flat);
            start.push(flat.len());
        }
        Self { flat, start }
    }

    fn alpha_ci(&self, level: Level, cfg: &BootstrapConfig) -> Figure {
        // Only units with >= 2 values carry information; resample among them.
        let informative: Vec<usize> = (0..self.start.len() - 1)
            .filter(|&u| self.start[u + 1] - self.start[u] >= 2)
            .collect();
        if informative.is_empty() {
            return Figure::missing("no unit has two or more judgements");
        }
        let (mut s, mut st) = (Vec::new(), Vec::new());
        Figure::from_ci(bootstrap_ci(informative.len(), cfg, |units| {
            s.clear();
            st.clear();
            st.push(0);
            for &u in units {
                let u = informative[u];
                s.extend_from_slice(&self.flat[self.start[u]..self.start[u + 1]]);
                st.push(s.len());
            }
            Ok(krippendorff_alpha_units(&s, &st, level)?.alpha)
        }))
    }
}

fn wilson(num: usize, den: usize) -> Figure {
    if den == 0 {
        return Figure::missing("nothing to compare");
    }
    let (low, high) = wilson_interval(num as u64, den as u64, 0.95).unwrap_or((f64::NAN, f64::NAN));
    Figure {
        value: Some(num as f64 / den as f64),
        low: Some(low),
        high: Some(high),
        note: None,
    }
}

/// Builds the report. `seconds[a]` is annotator `a`'s mean seconds per answer, if known.
pub fn report(
    schema: &LabelSchema,
    idx: &Indexed,
    seconds: &[Option<f64>],
    opts: &AgreementOptions,
) -> Result<AgreementReport> {
    let level = opts.level.unwrap_or(match schema.kind {
        LabelKind::Single | LabelKind::Multi => Level::Nominal,
        LabelKind::Ordinal => Level::Ordinal,
        LabelKind::Interval => Level::Interval,
    });
    let weights = opts.weights.unwrap_or(if schema.kind == LabelKind::Ordinal {
        KappaWeights::Quadratic
    } else {
        KappaWeights::Unweighted
    });
    match &idx.units {
        Units::Categorical { ann, multi } => categorical(schema, idx, ann, *multi, seconds, opts, level, weights),
        Units::Numeric(values) => numeric(schema, idx, values, seconds, opts, level),
    }
}

#[allow(clippy::too_many_arguments)]
fn categorical(
    schema: &LabelSchema,
    idx: &Indexed,
    ann: &Annotations,
    multi: bool,
    seconds: &[Option<f64>],
    opts: &AgreementOptions,
    level: Level,
    weights: KappaWeights,
) -> Result<AgreementReport> {
    let cfg = &opts.bootstrap;
    let n_units = ann.n_items();
    let k = schema.classes.len();
    let rated: Vec<usize> = (0..n_units).filter(|&u| ann.item(u).1.len() >= 2).collect();
    let percent = Figure::from_ci(percent_agreement_ci(ann, cfg));
    let unanimous = percent_agreement(ann).ok().map(|p| p.unanimous);

    // Fleiss on the units rated at least twice, if they all have the same count.
    let width = ann.n_classes();
    let counts_all = ann.count_table();
    let mut counts = Vec::with_capacity(rated.len() * width);
    for &u in &rated {
        counts.extend_from_slice(&counts_all[u * width..(u + 1) * width]);
    }
    let (fleiss, fleiss_per_category) = if rated.is_empty() {
        (Figure::missing("no unit has two or more judgements"), None)
    } else {
        match fleiss_kappa(&counts, width) {
            Ok(fk) => (
                Figure::from_ci(sluice_algo::label::fleiss_kappa_ci(&counts, width, cfg)),
                Some(fk.per_category),
            ),
            Err(e) => (Figure::missing(e.to_string()), None),
        }
    };

    let values = UnitValues::from_fn(n_units, |u, out| {
        out.extend(ann.item(u).1.iter().map(|&l| f64::from(l)))
    });
    let alpha = values.alpha_ci(level, cfg);

    // Per label.
    let mut per_label = Vec::with_capacity(k);
    let total = ann.len().max(1) as f64;
    for c in 0..k {
        let (uv, share, fk) = if multi {
            let uv = UnitValues::from_fn(n_units / k.max(1), |i, out| {
                out.extend(ann.item(i * k + c).1.iter().map(|&l| f64::from(l)));
            });
            let yes = (0..n_units / k.max(1))
                .map(|i| ann.item(i * k + c).1.iter().filter(|&&l| l == 1).count())
                .sum::<usize>();
            let judged = (0..n_units / k.max(1))
                .map(|i| ann.item(i * k + c).1.len())
                .sum::<usize>();
            (uv, yes as f64 / judged.max(1) as f64, None)
        } else {
            let uv = UnitValues::from_fn(n_units, |u, out| {
                out.extend(ann.item(u).1.iter().map(|&l| f64::from(u8::from(l as usize == c))));
            });
            let share = (0..n_units)
                .map(|u| ann.item(u).1.iter().filter(|&&l| l as usize == c).count())
                .sum::<usize>() as f64
                / total;
            (uv, share, fleiss_per_category.as_ref().and_then(|p| p[c]))
        };
        per_label.push(LabelAgreement {
            label: schema.classes[c].clone(),
            share,
            alpha: uv.alpha_ci(Level::Nominal, cfg),
            fleiss_kappa: fk,
        });
    }

    // Pairwise Cohen's kappa on shared units.
    let na = idx.annotators.len();
    let mut cols: Vec<Vec<Option<u32>>> = vec![vec![None; n_units]; na];
    (0..n_units).for_each(|u| {
        let (a, l) = ann.item(u);
        for (&a, &l) in a.iter().zip(l) {
            cols[a as usize][u] = Some(l);
        }
    });
    let mut kappa = vec![vec![None; na]; na];
    let mut overlap = vec![vec![0u32; na]; na];
    for a in 0..na {
        for b in a + 1..na {
            let shared = cols[a]
                .iter()
                .zip(&cols[b])
                .filter(|(x, y)| x.is_some() && y.is_some())
                .count();
            overlap[a][b] = shared as u32;
            overlap[b][a] = shared as u32;
            if shared >= 2
                && let Ok(ck) = cohen_kappa_labels(&cols[a], &cols[b], width, weights)
                && ck.kappa.is_finite()
            {
                kappa[a][b] = Some(ck.kappa);
                kappa[b][a] = Some(ck.kappa);
            }
        }
    }

    // Per annotator.
    let gold = match &idx.gold {
        GoldUnits::Categorical(g) => g.clone(),
        GoldUnits::Numeric(_) => vec![None; n_units],
    };
    let per = annotator_agreement(ann, Some(&gold))?;
    let mut annotators = Vec::with_capacity(na);
    for r in per {
        let mut a = AnnotatorReport {
            annotator: idx.annotators[r.annotator].clone(),
            n_labels: r.n_labels,
            n_compared: r.n_compared,
            agreement: wilson(r.n_agreed, r.n_compared),
            n_gold: r.n_gold,
            gold_accuracy: wilson(r.n_gold_correct, r.n_gold),
            mean_abs_diff: None,
            gold_mae: None,
            mean_seconds: seconds.get(r.annotator).copied().flatten(),
            flags: Vec::new(),
        };
        flag(&mut a, opts);
        annotators.push(a);
    }
    let flagged = annotators
        .iter()
        .filter(|a| !a.flags.is_empty())
        .map(|a| a.annotator.clone())
        .collect();
    Ok(AgreementReport {
        kind: schema.kind,
        unit: if multi { "item x class".into() } else { "item".into() },
        n_items: idx.n_items(),
        n_units_rated_twice: rated.len(),
        n_annotations: if multi { ann.len() / k.max(1) } else { ann.len() },
        n_annotators: na,
        percent_agreement: percent,
        unanimous,
        fleiss_kappa: fleiss,
        alpha,
        alpha_level: level,
        per_label,
        pairwise: PairMatrix {
            annotators: idx.annotators.clone(),
            weights,
            kappa,
            overlap,
        },
        annotators,
        flagged,
        bootstrap: *cfg,
    })
}

fn flag(a: &mut AnnotatorReport, opts: &AgreementOptions) {
    if let (Some(min), Some(v)) = (opts.min_agreement, a.agreement.value)
        && a.n_compared >= opts.min_compared
        && v < min
    {
        a.flags
            .push(format!("agreement {v:.3} < {min} on {} judgements", a.n_compared));
    }
    if let (Some(min), Some(v)) = (opts.min_gold_accuracy, a.gold_accuracy.value)
        && a.n_gold >= opts.min_compared
        && v < min
    {
        a.flags
            .push(format!("gold accuracy {v:.3} < {min} on {} gold items", a.n_gold));
    }
}

fn numeric(
    schema: &LabelSchema,
    idx: &Indexed,
    values: &[Vec<(u32, f64)>],
    seconds: &[Option<f64>],
    opts: &AgreementOptions,
    level: Level,
) -> Result<AgreementReport> {
    let cfg = &opts.bootstrap;
    let uv = UnitValues::from_fn(values.len(), |u, out| out.extend(values[u].iter().map(|v| v.1)));
    let alpha = uv.alpha_ci(level, cfg);
    let rated = values.iter().filter(|v| v.len() >= 2).count();
    let na = idx.annotators.len();
    let gold = match &idx.gold {
        GoldUnits::Numeric(g) => g.clone(),
        GoldUnits::Categorical(_) => vec![None; values.len()],
    };
    // Leave-one-out mean difference and gold error per annotator.
    let mut diff = vec![(0.0f64, 0usize); na];
    let mut gerr = vec![(0.0f64, 0usize); na];
    let mut n_labels = vec![0usize; na];
    for (u, vs) in values.iter().enumerate() {
        let sum: f64 = vs.iter().map(|v| v.1).sum();
        for &(a, x) in vs {
            n_labels[a as usize] += 1;
            if vs.len() >= 2 {
                let others = (sum - x) / (vs.len() - 1) as f64;
                diff[a as usize].0 += (x - others).abs();
                diff[a as usize].1 += 1;
            }
            if let Some(g) = gold[u] {
                gerr[a as usize].0 += (x - g).abs();
                gerr[a as usize].1 += 1;
            }
        }
    }
    let annotators = (0..na)
        .map(|a| AnnotatorReport {
            annotator: idx.annotators[a].clone(),
            n_labels: n_labels[a],
            n_compared: diff[a].1,
            agreement: Figure::missing("interval scale: see mean_abs_diff"),
            n_gold: gerr[a].1,
            gold_accuracy: Figure::missing("interval scale: see gold_mae"),
            mean_abs_diff: (diff[a].1 > 0).then(|| diff[a].0 / diff[a].1 as f64),
            gold_mae: (gerr[a].1 > 0).then(|| gerr[a].0 / gerr[a].1 as f64),
            mean_seconds: seconds.get(a).copied().flatten(),
            flags: Vec::new(),
        })
        .collect();
    Ok(AgreementReport {
        kind: schema.kind,
        unit: "item".into(),
        n_items: idx.n_items(),
        n_units_rated_twice: rated,
        n_annotations: values.iter().map(Vec::len).sum(),
        n_annotators: na,
        percent_agreement: Figure::missing("interval scale: percent agreement needs categories"),
        unanimous: None,
        fleiss_kappa: Figure::missing("interval scale: Fleiss' kappa needs categories"),
        alpha,
        alpha_level: level,
        per_label: Vec::new(),
        pairwise: PairMatrix {
            annotators: idx.annotators.clone(),
            weights: KappaWeights::Unweighted,
            kappa: vec![vec![None; na]; na],
            overlap: vec![vec![0; na]; na],
        },
        annotators,
        flagged: Vec::new(),
        bootstrap: *cfg,
    })
}
