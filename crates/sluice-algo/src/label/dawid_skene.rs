//! Dawid-Skene EM: latent true classes, one confusion matrix per annotator, class priors.
//!
//! Dawid & Skene (1979), "Maximum Likelihood Estimation of Observer Error-Rates Using the EM
//! Algorithm", Applied Statistics 28(1):20-28. Model: item `i` has true class `j` with prior
//! `p_j`; annotator `a` answers `l` with probability `pi[a][j][l]`, independently given `j`.
//!
//! ```text
//! init   T_ij = share of item i's judgements that say j                  (paper, eq. 3.1)
//! loop   M-step  p_j = mean_i T_ij;  pi[a][j][l] ∝ sum_{(i,a,l)} T_ij    (eqs. 2.3, 2.4)
//!        E-step  T_ij ∝ p_j prod_{(i,a,l)} pi[a][j][l]                   (eq. 2.5)
//!        log L   = sum_i log sum_j p_j prod pi[a][j][l]                  (eq. 2.7)
//!        stop when max_ij |T_ij - T_ij(previous)| < tolerance
//! ```
//!
//! Initialisation is the paper's soft response proportions; REFERENCES.md notes this reproduces
//! the published estimates, whereas a hard majority-vote start converges to a different optimum.
//! Items with no judgement are left out of the M-step (they would only pull the priors towards
//! their uniform start) and get the priors as their posterior.
//!
//! Performance. The work per iteration is one pass over the judgements, split over threads:
//!
//! * Items are cut into contiguous *parts* of about 32k judgements (at most 64, fewer when the
//!   annotators' tables are large). A part owns its posterior rows and its own M-step sums, so
//!   one pass does the E-step of a part and, with the posteriors it has just written, that part's
//!   share of the next M-step's sums; nothing writable is shared between threads.
//! * Between passes one thread merges the parts' sums *in part order*, normalises them and takes
//!   their logarithms once (the E-step then only adds precomputed log-confusion entries). The cut
//!   depends only on the data, so the fit is the same, bit for bit, for any thread count.
//! * Threads are started once per fit and meet at a barrier twice per iteration; all buffers are
//!   allocated before the first iteration. Each judgement is stored as one `u32` offset
//!   `a k^2 + l k` into the `[a][l][j]` tables, so both updates read `k` contiguous values.
//!
//! Confusion matrices are kept internally as `[a][l][j]`; the public layout is the paper's
//! `[a][j][l]` (row = true class). Timings are in docs/benchmarks.md (`bench/label_vs_crowdkit.sh`)
//! and in the ignored test `dawid_skene_scale`.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex, MutexGuard, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use super::annotations::Annotations;
use crate::error::{Error, Result};
use crate::feedback::par::thread_count;

/// Stopping rule of the EM loop, and the threads it may use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DawidSkeneConfig {
    /// Upper bound on EM iterations (default 100, as in crowd-kit).
    pub max_iterations: usize,
    /// Converged once no posterior probability moves by more than this (default 1e-6).
    pub tolerance: f64,
    /// Worker threads; 0 (the default) uses every available core. The fit does not depend on it.
    #[serde(default)]
    pub threads: usize,
}

impl Default for DawidSkeneConfig {
    fn default() -> Self {
        Self {
            max_iterations: 100,
            tolerance: 1e-6,
            threads: 0,
        }
    }
}

/// A fitted Dawid-Skene model and its convergence report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DawidSkene {
    /// Number of classes `k`.
    pub n_classes: usize,
    /// Row-major `items x k`: posterior probability of each true class.
    pub posteriors: Vec<f64>,
    /// Class priors (the paper's "class marginals").
    pub priors: Vec<f64>,
    /// `annotators x k x k`: `confusion[a][j][l]` = P(annotator a says l | true class j).
    pub confusion: Vec<f64>,
    /// Log-likelihood (natural log, eq. 2.7) after each iteration's M-step; non-decreasing.
    pub log_likelihood: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Largest posterior change in the last iteration.
    pub final_delta: f64,
    /// Whether `final_delta < tolerance` was reached within `max_iterations`.
    pub converged: bool,
}

impl DawidSkene {
    /// Posterior of item `i` over the `k` classes.
    pub fn posterior(&self, i: usize) -> &[f64] {
        &self.posteriors[i * self.n_classes..(i + 1) * self.n_classes]
    }

    /// Annotator `a`'s `k x k` confusion matrix, row = true class.
    pub fn confusion(&self, a: usize) -> &[f64] {
        let kk = self.n_classes * self.n_classes;
        &self.confusion[a * kk..(a + 1) * kk]
    }

    /// Most probable class per item (lowest index on exact ties).
    pub fn labels(&self) -> Vec<u32> {
        self.posteriors
            .chunks_exact(self.n_classes)
            .map(|p| {
                let mut best = 0;
                for (j, &v) in p.iter().enumerate() {
                    if v > p[best] {
                        best = j;
                    }
                }
                best as u32
            })
            .collect()
    }
}

/// Target number of judgements per part (the unit of parallel work; see the module docs).
const PART_JUDGEMENTS: usize = 1 << 15;
/// Most parts: enough to balance any core count this runs on, few enough that merging the
/// parts' sums stays small next to one pass over the judgements.
const MAX_PARTS: usize = 64;
/// Cap on the values held by all parts' confusion sums together (8M doubles = 64 MB).
const PART_SUM_BUDGET: usize = 8 << 20;

/// Fits Dawid-Skene by EM; see the module docs for the algorithm, initialisation and threading.
pub fn dawid_skene(ann: &Annotations, config: &DawidSkeneConfig) -> Result<DawidSkene> {
    if ann.is_empty() {
        return Err(Error::Empty {
            what: "annotations",
            min: 1,
        });
    }
    if config.tolerance.is_nan() || config.tolerance < 0.0 || config.max_iterations == 0 {
        return Err(Error::Invalid {
            what: "Dawid-Skene config",
            detail: format!(
                "need tolerance >= 0 and max_iterations >= 1, got {} and {}",
                config.tolerance, config.max_iterations
            ),
        });
    }
    let (n, na, k) = (ann.n_items(), ann.n_annotators(), ann.n_classes());
    let kk = k * k;
    let table = na
        .checked_mul(kk)
        .filter(|&t| u32::try_from(t).is_ok())
        .ok_or_else(|| Error::Invalid {
            what: "Dawid-Skene size",
            detail: format!(
                "{na} annotators x {k} x {k} classes is more than 2^32 confusion-matrix cells \
                 (over 32 GB); merge rare annotators or split the classes"
            ),
        })?;
    let item_start = ann.item_start();
    // Offset of each judgement's k entries in the [a][l][j] tables, computed once.
    let offsets: Vec<u32> = ann
        .annotator_column()
        .iter()
        .zip(ann.label_column())
        .map(|(&a, &l)| (a as usize * kk + l as usize * k) as u32)
        .collect();
    let n_used = item_start.windows(2).filter(|w| w[1] > w[0]).count();
    let data = Data {
        item_start,
        offsets: &offsets,
        k,
    };

    let mut post = vec![0.0f64; n * k];
    let ranges = part_ranges(item_start, table);
    let mut parts = Vec::with_capacity(ranges.len());
    let mut rest = post.as_mut_slice();
    for items in ranges {
        let (head, tail) = rest.split_at_mut(items.len() * k);
        rest = tail;
        parts.push(Mutex::new(Part {
            items,
            post: head,
            prior_sum: vec![0.0; k],
            conf_sum: vec![0.0; table],
            scratch: vec![0.0; k],
            ll: 0.0,
            delta: 0.0,
            zero_likelihood: None,
        }));
    }
    let threads = thread_count(config.threads).min(parts.len());
    let run = Run {
        data,
        config: *config,
        n_used,
        parts,
        model: RwLock::new(Model {
            priors: vec![0.0; k],
            log_priors: vec![0.0; k],
            conf_alj: vec![0.0; table],
            log_alj: vec![0.0; table],
            row_total: vec![0.0; na * k],
        }),
        next: AtomicUsize::new(0),
        barrier: Barrier::new(threads),
        stop: AtomicBool::new(false),
        report: Mutex::new(Report {
            log_likelihood: Vec::with_capacity(config.max_iterations.min(10_000)),
            iterations: 0,
            final_delta: f64::INFINITY,
            converged: false,
            zero_likelihood: None,
        }),
    };
    if threads == 1 {
        run.work();
    } else {
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(|| run.work());
            }
            run.work();
        });
    }
    let Run { model, report, .. } = run;
    let model = model.into_inner().unwrap_or_else(PoisonError::into_inner);
    let report = report.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some(i) = report.zero_likelihood {
        return Err(Error::Invalid {
            what: "Dawid-Skene",
            detail: format!(
                "item {i} has zero likelihood under every class; this is a bug, please report it \
                 with the input"
            ),
        });
    }

    let mut confusion = vec![0.0f64; table];
    for a in 0..na {
        for j in 0..k {
            for l in 0..k {
                confusion[a * kk + j * k + l] = model.conf_alj[a * kk + l * k + j];
            }
        }
    }
    Ok(DawidSkene {
        n_classes: k,
        posteriors: post,
        priors: model.priors,
        confusion,
        log_likelihood: report.log_likelihood,
        iterations: report.iterations,
        final_delta: report.final_delta,
        converged: report.converged,
    })
}

/// Cuts the items into contiguous parts of about [`PART_JUDGEMENTS`] judgements each. The cut
/// depends on the data only (never on the thread count), which keeps the fit reproducible.
fn part_ranges(item_start: &[usize], table: usize) -> Vec<Range<usize>> {
    let n_items = item_start.len() - 1;
    let total = item_start[n_items];
    let by_memory = (PART_SUM_BUDGET / table.max(1)).max(1);
    let parts = total
        .div_ceil(PART_JUDGEMENTS)
        .clamp(1, MAX_PARTS)
        .min(by_memory)
        .min(n_items.max(1));
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 1..parts {
        // The first item at or after the p-th share of the judgements.
        let end = item_start
            .partition_point(|&s| s < total * p / parts)
            .clamp(start, n_items);
        if end > start {
            ranges.push(start..end);
            start = end;
        }
    }
    ranges.push(start..n_items);
    ranges
}

/// The judgements, read-only and shared by every thread.
struct Data<'a> {
    item_start: &'a [usize],
    /// `a * k * k + l * k` per judgement: where its `k` entries start in the `[a][l][j]` tables.
    offsets: &'a [u32],
    k: usize,
}

/// Parameters of the current M-step, written by the leading thread between two barriers.
struct Model {
    priors: Vec<f64>,
    log_priors: Vec<f64>,
    /// `[a][l][j]` layout (see the module docs), normalised over `l`.
    conf_alj: Vec<f64>,
    log_alj: Vec<f64>,
    row_total: Vec<f64>,
}

/// What the leading thread records after each E-step.
struct Report {
    log_likelihood: Vec<f64>,
    iterations: usize,
    final_delta: f64,
    converged: bool,
    zero_likelihood: Option<usize>,
}

/// A contiguous range of items: its posterior rows, and the sums its posteriors contribute to the
/// next M-step (so the parts' E-steps run in parallel without sharing anything writable).
struct Part<'p> {
    items: Range<usize>,
    post: &'p mut [f64],
    prior_sum: Vec<f64>,
    /// `[a][l][j]`: sum of `T_ij` over this part's judgements `(i, a, l)`.
    conf_sum: Vec<f64>,
    scratch: Vec<f64>,
    ll: f64,
    delta: f64,
    zero_likelihood: Option<usize>,
}

impl Part<'_> {
    /// The paper's start: each item's share of judgements per class (eq. 3.1).
    fn init(&mut self, data: &Data<'_>) {
        let k = data.k;
        for (row, i) in self.post.chunks_exact_mut(k).zip(self.items.clone()) {
            let js = data.item_start[i]..data.item_start[i + 1];
            if js.is_empty() {
                row.fill(1.0 / k as f64);
                continue;
            }
            let w = 1.0 / js.len() as f64;
            for &o in &data.offsets[js] {
                // offset = a k^2 + l k, so the label is (offset / k) mod k.
                row[(o as usize / k) % k] += w;
            }
        }
        self.accumulate(data);
    }

    /// E-step (eq. 2.5) with the log-likelihood (eq. 2.7), and this part's sums for the next
    /// M-step. Dispatches to a copy compiled for the class count, so the per-judgement loops
    /// over `k` values are unrolled.
    fn e_step(&mut self, data: &Data<'_>, model: &Model) {
        match data.k {
            2 => self.e_step_k::<2>(data, model),
            3 => self.e_step_k::<3>(data, model),
            4 => self.e_step_k::<4>(data, model),
            5 => self.e_step_k::<5>(data, model),
            6 => self.e_step_k::<6>(data, model),
            7 => self.e_step_k::<7>(data, model),
            8 => self.e_step_k::<8>(data, model),
            _ => self.e_step_k::<0>(data, model),
        }
    }

    /// `K` is the class count, or 0 for "read it from `data`".
    ///
    /// The product `p_j prod pi[a][j][l]` is formed directly in probability space (no `exp` per
    /// class and item): after each judgement, if the largest of the `k` running products has
    /// fallen under 2^-600 they are all multiplied by 2^600 and the scale is remembered for the
    /// log-likelihood. A class whose product underflows then lies more than 2^-400 below the
    /// leading class, under the resolution of a posterior. If every product reaches 0 (a
    /// likelihood of exactly 0, or entries near 2^-1074), the item is redone with the log tables.
    fn e_step_k<const K: usize>(&mut self, data: &Data<'_>, model: &Model) {
        let k = if K == 0 { data.k } else { K };
        let acc = &mut self.scratch[..k];
        let (mut ll, mut delta) = (0.0, 0.0f64);
        self.prior_sum.fill(0.0);
        self.conf_sum.fill(0.0);
        for (row, i) in self.post.chunks_exact_mut(k).zip(self.items.clone()) {
            let row = &mut row[..k];
            let judgements = &data.offsets[data.item_start[i]..data.item_start[i + 1]];
            acc.copy_from_slice(&model.priors[..k]);
            let mut rescaled = 0u32;
            let mut underflow = false;
            for &o in judgements {
                let o = o as usize;
                let conf = &model.conf_alj[o..o + k];
                let mut max = 0.0f64;
                for c in 0..k {
                    acc[c] *= conf[c];
                    max = max.max(acc[c]);
                }
                if max < RESCALE_BELOW {
                    if max == 0.0 {
                        underflow = true;
                        break;
                    }
                    for s in acc.iter_mut() {
                        *s *= RESCALE_BY;
                    }
                    rescaled += 1;
                }
            }
            let (sum, log_scale) = if underflow {
                // Redo in log space (eq. 2.5 as sums of logs, normalised by the largest).
                acc.copy_from_slice(&model.log_priors[..k]);
                for &o in judgements {
                    let o = o as usize;
                    for (s, &lc) in acc.iter_mut().zip(&model.log_alj[o..o + k]) {
                        *s += lc;
                    }
                }
                let max = acc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if max == f64::NEG_INFINITY {
                    self.zero_likelihood.get_or_insert(i);
                    continue;
                }
                for s in acc.iter_mut() {
                    *s = (*s - max).exp();
                }
                (acc.iter().sum::<f64>(), max)
            } else {
                (acc.iter().sum::<f64>(), -f64::from(rescaled) * LN_RESCALE_BY)
            };
            ll += log_scale + sum.ln();
            for c in 0..k {
                let v = acc[c] / sum;
                delta = delta.max((v - row[c]).abs());
                row[c] = v;
            }
            if !judgements.is_empty() {
                add_sums::<K>(k, row, judgements, &mut self.prior_sum, &mut self.conf_sum);
            }
        }
        self.ll = ll;
        self.delta = delta;
    }

    /// This part's sums for the M-step from its current posteriors (used after the start).
    fn accumulate(&mut self, data: &Data<'_>) {
        let k = data.k;
        self.prior_sum.fill(0.0);
        self.conf_sum.fill(0.0);
        for (row, i) in self.post.chunks_exact(k).zip(self.items.clone()) {
            let judgements = &data.offsets[data.item_start[i]..data.item_start[i + 1]];
            if !judgements.is_empty() {
                add_sums::<0>(k, row, judgements, &mut self.prior_sum, &mut self.conf_sum);
            }
        }
    }
}

/// Products are rescaled when their largest falls under this (2^-600)...
const RESCALE_BELOW: f64 = f64::from_bits((1023 - 600) << 52);
/// ... by this factor (2^600), whose logarithm is subtracted from the log-likelihood.
const RESCALE_BY: f64 = f64::from_bits((1023 + 600) << 52);
const LN_RESCALE_BY: f64 = 600.0 * std::f64::consts::LN_2;

/// Adds one labelled item's posterior row to the M-step sums (eqs. 2.3, 2.4): to the prior sum,
/// and to entry `[a][l][.]` of each of its judgements. `K` as in [`Part::e_step_k`].
#[inline(always)]
fn add_sums<const K: usize>(k: usize, row: &[f64], judgements: &[u32], prior_sum: &mut [f64], conf_sum: &mut [f64]) {
    let k = if K == 0 { k } else { K };
    let row = &row[..k];
    for (p, &t) in prior_sum[..k].iter_mut().zip(row) {
        *p += t;
    }
    for &o in judgements {
        let o = o as usize;
        for (c, &t) in conf_sum[o..o + k].iter_mut().zip(row) {
            *c += t;
        }
    }
}

/// The shared state of one fit; every thread runs [`Run::work`].
struct Run<'a, 'p> {
    data: Data<'a>,
    config: DawidSkeneConfig,
    n_used: usize,
    parts: Vec<Mutex<Part<'p>>>,
    model: RwLock<Model>,
    /// Next part to take in the current phase.
    next: AtomicUsize,
    barrier: Barrier,
    stop: AtomicBool,
    report: Mutex<Report>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Run<'_, '_> {
    /// One worker's loop. Phases are separated by barriers; between two barriers one thread (the
    /// barrier's leader) checks convergence and runs the M-step while the others wait:
    ///
    /// ```text
    /// parallel: init parts ─┐
    ///                       ├─ leader: record ll, delta; stop? else M-step ─┐
    /// parallel: E-step parts <─────────────────────────────────────────────┘
    /// ```
    fn work(&self) {
        self.each_part(|part| part.init(&self.data));
        loop {
            if self.barrier.wait().is_leader() {
                self.lead();
            }
            self.barrier.wait();
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let model = self.model.read().unwrap_or_else(PoisonError::into_inner);
            self.each_part(|part| part.e_step(&self.data, &model));
        }
    }

    /// Runs `f` on parts taken from the shared counter until none is left.
    fn each_part(&self, mut f: impl FnMut(&mut Part<'_>)) {
        loop {
            let c = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(part) = self.parts.get(c) else {
                return;
            };
            f(&mut lock(part));
        }
    }

    /// Between two phases, on one thread: convergence bookkeeping, then the M-step.
    fn lead(&self) {
        let mut report = lock(&self.report);
        if report.iterations > 0 {
            let (mut ll, mut delta) = (0.0, 0.0f64);
            for part in &self.parts {
                let part = lock(part);
                ll += part.ll;
                delta = delta.max(part.delta);
                if let Some(i) = part.zero_likelihood {
                    report.zero_likelihood = Some(report.zero_likelihood.map_or(i, |j| j.min(i)));
                }
            }
            if report.zero_likelihood.is_some() {
                self.stop.store(true, Ordering::Relaxed);
                return;
            }
            report.log_likelihood.push(ll);
            report.final_delta = delta;
            if delta < self.config.tolerance {
                report.converged = true;
            }
            if report.converged || report.iterations == self.config.max_iterations {
                self.stop.store(true, Ordering::Relaxed);
                return;
            }
        }
        self.m_step(&mut self.model.write().unwrap_or_else(PoisonError::into_inner));
        report.iterations += 1;
        self.next.store(0, Ordering::Relaxed);
    }

    /// M-step (eqs. 2.3, 2.4) from the parts' sums, merged in part order.
    fn m_step(&self, m: &mut Model) {
        let k = self.data.k;
        let kk = k * k;
        m.priors.fill(0.0);
        m.conf_alj.fill(0.0);
        for part in &self.parts {
            let part = lock(part);
            for (p, &s) in m.priors.iter_mut().zip(&part.prior_sum) {
                *p += s;
            }
            for (c, &s) in m.conf_alj.iter_mut().zip(&part.conf_sum) {
                *c += s;
            }
        }
        for p in &mut m.priors {
            *p /= self.n_used as f64;
        }
        m.row_total.fill(0.0);
        for (a, block) in m.conf_alj.chunks_exact(kk).enumerate() {
            for row in block.chunks_exact(k) {
                for (t, &c) in m.row_total[a * k..(a + 1) * k].iter_mut().zip(row) {
                    *t += c;
                }
            }
        }
        for (a, block) in m.conf_alj.chunks_exact_mut(kk).enumerate() {
            let totals = &m.row_total[a * k..(a + 1) * k];
            for (row, logs) in block
                .chunks_exact_mut(k)
                .zip(m.log_alj[a * kk..(a + 1) * kk].chunks_exact_mut(k))
            {
                for ((c, l), &total) in row.iter_mut().zip(logs).zip(totals) {
                    // A true class with no mass for this annotator: no evidence, uniform row.
                    *c = if total > 0.0 { *c / total } else { 1.0 / k as f64 };
                    *l = c.ln();
                }
            }
        }
        for (lp, &p) in m.log_priors.iter_mut().zip(&m.priors) {
            *lp = p.ln();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde::Deserialize;

    /// Dawid & Skene (1979), Table 1: 45 patients x 5 anaesthetists, classes 1-4; observer 1
    /// rated every patient three times. Transcribed from `generate_sample_data()` in
    /// github.com/dallascard/dawid_skene (dawid_skene.py), which reproduces the paper's table.
    /// Per patient: observer 1's three ratings, then observers 2-5.
    const DS_1979: [[u32; 7]; 45] = [
        [1, 1, 1, 1, 1, 1, 1],
        [3, 3, 3, 4, 3, 3, 4],
        [1, 1, 2, 2, 1, 2, 2],
        [2, 2, 2, 3, 1, 2, 1],
        [2, 2, 2, 3, 2, 2, 2],
        [2, 2, 2, 3, 3, 2, 2],
        [1, 2, 2, 2, 1, 1, 1],
        [3, 3, 3, 3, 4, 3, 3],
        [2, 2, 2, 2, 2, 2, 3],
        [2, 3, 2, 2, 2, 2, 3],
        [4, 4, 4, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 4, 3],
        [1, 1, 1, 1, 1, 1, 1],
        [2, 2, 2, 3, 2, 1, 2],
        [1, 2, 1, 1, 1, 1, 1],
        [1, 1, 1, 2, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1],
        [2, 2, 2, 2, 2, 2, 1],
        [2, 2, 2, 1, 3, 2, 2],
        [2, 2, 2, 2, 2, 2, 2],
        [2, 2, 2, 2, 2, 2, 1],
        [2, 2, 2, 3, 2, 2, 2],
        [2, 2, 1, 2, 2, 2, 2],
        [1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1],
        [2, 3, 2, 2, 2, 2, 2],
        [1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1],
        [1, 1, 2, 1, 1, 2, 1],
        [1, 1, 1, 1, 1, 1, 1],
        [3, 3, 3, 3, 2, 3, 3],
        [1, 1, 1, 1, 1, 1, 1],
        [2, 2, 2, 2, 2, 2, 2],
        [2, 2, 2, 3, 2, 3, 2],
        [4, 3, 3, 4, 3, 4, 3],
        [2, 2, 1, 2, 2, 3, 2],
        [2, 3, 2, 3, 2, 3, 3],
        [3, 3, 3, 3, 4, 3, 2],
        [1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1],
        [1, 2, 1, 2, 1, 1, 1],
        [2, 3, 2, 2, 2, 2, 2],
        [1, 2, 1, 1, 1, 1, 1],
        [2, 2, 2, 2, 2, 2, 2],
    ];

    pub(crate) fn ds_1979() -> Annotations {
        let (mut items, mut annotators, mut labels) = (vec![], vec![], vec![]);
        for (i, row) in DS_1979.iter().enumerate() {
            for (c, &l) in row.iter().enumerate() {
                items.push(i as u32);
                annotators.push(c.saturating_sub(2) as u32);
                labels.push(l - 1);
            }
        }
        Annotations::new(45, 5, 4, &items, &annotators, &labels).unwrap()
    }

    #[test]
    fn reproduces_dawid_skene_1979() {
        let ann = ds_1979();
        assert_eq!(ann.len(), 315);
        let fit = dawid_skene(&ann, &DawidSkeneConfig::default()).unwrap();
        assert!(fit.converged, "{} iterations", fit.iterations);
        // Paper, section 4: class marginals (0.40, 0.42, 0.11, 0.07).
        for (got, want) in fit.priors.iter().zip([0.40, 0.42, 0.11, 0.07]) {
            assert!((got - want).abs() < 0.005, "{:?}", fit.priors);
        }
        // Paper, Table 2: observer 1's error rates, rows = true class.
        let want = [
            [0.89, 0.11, 0.0, 0.0],
            [0.07, 0.88, 0.05, 0.0],
            [0.0, 0.34, 0.66, 0.0],
            [0.0, 0.0, 0.56, 0.44],
        ];
        let got = fit.confusion(0);
        for j in 0..4 {
            for l in 0..4 {
                assert!(
                    (got[j * 4 + l] - want[j][l]).abs() < 0.005,
                    "pi[{j}][{l}] = {}",
                    got[j * 4 + l]
                );
            }
        }
        for w in fit.log_likelihood.windows(2) {
            assert!(w[1] >= w[0] - 1e-9, "EM decreased the likelihood: {w:?}");
        }
    }

    #[test]
    fn matches_crowd_kit_posteriors() {
        #[derive(Deserialize)]
        struct Run {
            posteriors: Vec<Vec<f64>>,
            priors: Vec<f64>,
        }
        #[derive(Deserialize)]
        struct Fixture {
            n_items: usize,
            n_workers: usize,
            n_classes: usize,
            item: Vec<u32>,
            worker: Vec<u32>,
            label: Vec<u32>,
            runs: std::collections::BTreeMap<String, Run>,
        }
        let f: Fixture =
            serde_json::from_str(include_str!("../../tests/fixtures/label/dawid_skene_crowdkit.json")).unwrap();
        let ann = Annotations::new(f.n_items, f.n_workers, f.n_classes, &f.item, &f.worker, &f.label).unwrap();
        // 50 iterations exactly (same initialisation, same update order), then convergence.
        // crowd-kit clips probabilities at 1e-10, which moves posteriors by far less than the
        // tolerances below.
        for (name, config, tol) in [
            (
                "50",
                DawidSkeneConfig {
                    max_iterations: 50,
                    tolerance: 0.0,
                    threads: 0,
                },
                1e-8,
            ),
            (
                "3000",
                DawidSkeneConfig {
                    max_iterations: 10_000,
                    tolerance: 1e-12,
                    threads: 0,
                },
                1e-7,
            ),
        ] {
            let run = &f.runs[name];
            let fit = dawid_skene(&ann, &config).unwrap();
            let mut worst = 0.0f64;
            for (i, want) in run.posteriors.iter().enumerate() {
                for (g, w) in fit.posterior(i).iter().zip(want) {
                    worst = worst.max((g - w).abs());
                }
            }
            assert!(worst < tol, "{name}: largest posterior difference {worst}");
            // crowd-kit reports the mean of the final posteriors as its priors; ours are the
            // last M-step's estimate, consistent with the confusion matrices. They coincide at
            // convergence.
            for (j, want) in run.priors.iter().enumerate() {
                let mean = (0..f.n_items).map(|i| fit.posterior(i)[j]).sum::<f64>() / f.n_items as f64;
                assert!((mean - want).abs() < tol, "{name}: prior {j}: {mean} vs {want}");
                if fit.converged {
                    assert!((fit.priors[j] - want).abs() < tol, "{name}: {:?}", fit.priors);
                }
            }
        }
    }

    #[test]
    fn recovers_synthetic_truth_better_than_majority_vote() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (n, na, k) = (2000usize, 8usize, 3usize);
        // Three good annotators, five near-random spammers.
        let acc = [0.9, 0.85, 0.8, 0.4, 0.4, 0.38, 0.36, 0.35];
        let truth: Vec<u32> = (0..n).map(|_| rng.random_range(0..k as u32)).collect();
        let (mut items, mut anns, mut labels) = (vec![], vec![], vec![]);
        for (i, &t) in truth.iter().enumerate() {
            for (a, &p) in acc.iter().enumerate() {
                let l = if rng.random::<f64>() < p {
                    t
                } else {
                    (t + rng.random_range(1..k as u32)) % k as u32
                };
                items.push(i as u32);
                anns.push(a as u32);
                labels.push(l);
            }
        }
        let ann = Annotations::new(n, na, k, &items, &anns, &labels).unwrap();
        let fit = dawid_skene(&ann, &DawidSkeneConfig::default()).unwrap();
        let ds_acc = fit.labels().iter().zip(&truth).filter(|(a, b)| a == b).count() as f64 / n as f64;
        let mv = super::super::aggregate::majority_vote(&ann, super::super::aggregate::TiePolicy::Random { seed: 1 });
        let mv_acc = mv.labels.iter().zip(&truth).filter(|(a, b)| **a == Some(**b)).count() as f64 / n as f64;
        assert!(ds_acc > mv_acc + 0.03, "DS {ds_acc} vs MV {mv_acc}");
        // The estimated accuracy of the best annotator is close to the truth (0.9).
        let c0 = fit.confusion(0);
        let diag = (0..k).map(|j| c0[j * k + j]).sum::<f64>() / k as f64;
        assert!((diag - 0.9).abs() < 0.03, "{diag}");
    }

    #[test]
    fn same_fit_bit_for_bit_for_any_thread_count() {
        // 20k items x 8 annotators = 160k judgements: five parts (see `part_ranges`), with a few
        // unlabelled items and uneven judgement counts so that parts differ in size.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (n, na, k) = (20_000usize, 8usize, 4u32);
        let (mut items, mut anns, mut labels) = (vec![], vec![], vec![]);
        for i in 0..n {
            if i % 997 == 0 {
                continue;
            }
            let t = rng.random_range(0..k);
            for a in 0..na {
                if rng.random::<f64>() < 0.15 {
                    continue;
                }
                items.push(i as u32);
                anns.push(a as u32);
                labels.push(if rng.random::<f64>() < 0.6 + 0.04 * a as f64 {
                    t
                } else {
                    rng.random_range(0..k)
                });
            }
        }
        let ann = Annotations::new(n, na, k as usize, &items, &anns, &labels).unwrap();
        assert!(part_ranges(ann.item_start(), na * 16).len() > 3);
        let fit = |threads| {
            let config = DawidSkeneConfig {
                max_iterations: 30,
                tolerance: 0.0,
                threads,
            };
            dawid_skene(&ann, &config).unwrap()
        };
        let one = fit(1);
        assert_eq!(one.iterations, 30);
        for threads in [2, 3, 8] {
            assert!(one == fit(threads), "threads = {threads}");
        }
        for (p, q) in one.posterior(0).iter().zip(&one.priors) {
            assert!((p - q).abs() < 1e-12, "an unlabelled item's posterior is the prior");
        }
    }

    /// Plain log-space EM written from the paper's equations, with nested vectors and no
    /// shortcuts: posteriors and log-likelihood after `iterations` iterations.
    fn reference_em(ann: &Annotations, iterations: usize) -> (Vec<f64>, f64) {
        let (n, na, k) = (ann.n_items(), ann.n_annotators(), ann.n_classes());
        let mut t: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let (_, labels) = ann.item(i);
                let mut row = vec![if labels.is_empty() { 1.0 / k as f64 } else { 0.0 }; k];
                for &l in labels {
                    row[l as usize] += 1.0 / labels.len() as f64;
                }
                row
            })
            .collect();
        let mut ll = 0.0;
        for _ in 0..iterations {
            let used: Vec<usize> = (0..n).filter(|&i| !ann.item(i).0.is_empty()).collect();
            let priors: Vec<f64> = (0..k)
                .map(|j| used.iter().map(|&i| t[i][j]).sum::<f64>() / used.len() as f64)
                .collect();
            let mut pi = vec![vec![vec![0.0; k]; k]; na];
            for &i in &used {
                let (annotators, labels) = ann.item(i);
                for (&a, &l) in annotators.iter().zip(labels) {
                    for j in 0..k {
                        pi[a as usize][j][l as usize] += t[i][j];
                    }
                }
            }
            for rows in &mut pi {
                for row in rows.iter_mut() {
                    let total: f64 = row.iter().sum();
                    for v in row.iter_mut() {
                        *v = if total > 0.0 { *v / total } else { 1.0 / k as f64 };
                    }
                }
            }
            ll = 0.0;
            for (i, ti) in t.iter_mut().enumerate() {
                let (annotators, labels) = ann.item(i);
                let s: Vec<f64> = (0..k)
                    .map(|j| {
                        priors[j].ln()
                            + annotators
                                .iter()
                                .zip(labels)
                                .map(|(&a, &l)| pi[a as usize][j][l as usize].ln())
                                .sum::<f64>()
                    })
                    .collect();
                let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = s.iter().map(|v| (v - max).exp()).sum();
                ll += max + z.ln();
                *ti = s.iter().map(|v| (v - max).exp() / z).collect();
            }
        }
        (t.concat(), ll)
    }

    #[test]
    fn matches_plain_log_space_em_when_products_need_rescaling() {
        // Items 0..20 are each judged 300 times by each of 3 annotators (900 judgements: the
        // running products fall to ~1e-300 and are rescaled several times); the others are
        // judged once or twice, so their posteriors stay far from 0 and 1.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n, na, k) = (200usize, 3usize, 3u32);
        let (mut items, mut anns, mut labels) = (vec![], vec![], vec![]);
        for i in 0..n {
            let t = rng.random_range(0..k);
            let repeats = if i < 20 { 300 } else { 1 + i % 2 };
            for a in 0..na {
                for _ in 0..repeats {
                    items.push(i as u32);
                    anns.push(a as u32);
                    labels.push(if rng.random::<f64>() < 0.55 {
                        t
                    } else {
                        rng.random_range(0..k)
                    });
                }
            }
        }
        let ann = Annotations::new(n, na, k as usize, &items, &anns, &labels).unwrap();
        let config = DawidSkeneConfig {
            max_iterations: 15,
            tolerance: 0.0,
            threads: 2,
        };
        let fit = dawid_skene(&ann, &config).unwrap();
        let (want, want_ll) = reference_em(&ann, 15);
        let worst = fit
            .posteriors
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "largest posterior difference {worst}");
        let ll = *fit.log_likelihood.last().unwrap();
        assert!(ll < -1_000.0, "the long items make the likelihood tiny: {ll}");
        assert!(((ll - want_ll) / want_ll).abs() < 1e-12, "{ll} vs {want_ll}");
    }

    #[test]
    fn products_that_underflow_are_redone_in_log_space() {
        // One item, two judgements whose confusion entries are ~1e-310 (subnormal): the running
        // product underflows to 0 even after rescaling, so the log tables are used. Posterior:
        // prior ratio 1:1 times (1e-310 / 2e-310)^2 -> (0.2, 0.8).
        let data = Data {
            item_start: &[0, 2],
            offsets: &[0, 0],
            k: 2,
        };
        let conf: Vec<f64> = vec![1e-310, 2e-310, 0.0, 0.0];
        let model = Model {
            priors: vec![0.5, 0.5],
            log_priors: vec![0.5f64.ln(); 2],
            log_alj: conf.iter().map(|c| c.ln()).collect(),
            conf_alj: conf,
            row_total: vec![0.0; 2],
        };
        let mut post = vec![0.0; 2];
        let mut part = Part {
            items: 0..1,
            post: &mut post,
            prior_sum: vec![0.0; 2],
            conf_sum: vec![0.0; 4],
            scratch: vec![0.0; 2],
            ll: 0.0,
            delta: 0.0,
            zero_likelihood: None,
        };
        part.e_step(&data, &model);
        assert_eq!(part.zero_likelihood, None);
        // log L = ln(0.5 (1e-310)^2 + 0.5 (2e-310)^2) = ln(2.5) + 2 ln(1e-310).
        let ll = 2.5f64.ln() + 2.0 * 1e-310f64.ln();
        assert!((part.ll - ll).abs() < 1e-9 * ll.abs(), "{} vs {ll}", part.ll);
        assert!(
            (part.post[0] - 0.2).abs() < 1e-9 && (part.post[1] - 0.8).abs() < 1e-9,
            "{:?}",
            part.post
        );
        // The sums for the next M-step hold the new posterior, twice (two judgements).
        assert!((part.conf_sum[0] - 0.4).abs() < 1e-9 && (part.conf_sum[1] - 1.6).abs() < 1e-9);
        // A likelihood of exactly 0 under every class is reported, not turned into NaN.
        let zero = Model {
            conf_alj: vec![0.0; 4],
            log_alj: vec![f64::NEG_INFINITY; 4],
            ..model
        };
        part.e_step(&data, &zero);
        assert_eq!(part.zero_likelihood, Some(0));
    }

    #[test]
    fn parts_cover_every_item_once_in_order() {
        // Item judgement counts 0, 5, 0, 0, 70000, 1, 0 ...: cuts land on item boundaries.
        let mut counts = vec![0usize; 40];
        counts[1] = 5;
        counts[4] = 70_000;
        counts[5] = 1;
        counts[30] = 40_000;
        let mut start = vec![0usize];
        for c in &counts {
            start.push(start.last().unwrap() + c);
        }
        for table in [1, 100, 8 << 20] {
            let ranges = part_ranges(&start, table);
            assert_eq!(ranges.first().unwrap().start, 0);
            assert_eq!(ranges.last().unwrap().end, counts.len());
            for w in ranges.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert!(!w[0].is_empty());
            }
            if table == 8 << 20 {
                assert_eq!(ranges.len(), 1, "the memory cap allows one part");
            } else {
                assert!(ranges.len() > 1);
            }
        }
    }

    #[test]
    fn unlabelled_items_get_the_priors_and_empty_input_errors() {
        let ann = Annotations::new(3, 2, 2, &[0, 0, 1, 1], &[0, 1, 0, 1], &[0, 0, 1, 1]).unwrap();
        let fit = dawid_skene(&ann, &DawidSkeneConfig::default()).unwrap();
        assert_eq!(fit.posterior(2), &fit.priors[..]);
        assert!((fit.priors[0] - 0.5).abs() < 1e-9);
        let empty = Annotations::new(2, 1, 2, &[], &[], &[]).unwrap();
        assert!(dawid_skene(&empty, &DawidSkeneConfig::default()).is_err());
        let bad = DawidSkeneConfig {
            max_iterations: 0,
            tolerance: 1e-6,
            threads: 0,
        };
        assert!(dawid_skene(&ann, &bad).is_err());
        let capped = DawidSkeneConfig {
            max_iterations: 1,
            tolerance: 0.0,
            threads: 0,
        };
        let fit = dawid_skene(&ds_1979(), &capped).unwrap();
        assert_eq!((fit.iterations, fit.converged), (1, false));
        assert!(fit.final_delta > 0.0);
    }

    /// Timing at the scale named in the brief: 100k items x 10 annotators x 5 classes.
    /// `CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo test -p sluice-algo --lib dawid_skene_scale -- --ignored --nocapture`
    #[test]
    #[ignore = "timing run; use an optimised build"]
    fn dawid_skene_scale() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (n, na, k) = (100_000usize, 10usize, 5u32);
        let mut items = Vec::with_capacity(n * na);
        let mut anns = Vec::with_capacity(n * na);
        let mut labels = Vec::with_capacity(n * na);
        for i in 0..n {
            let t = rng.random_range(0..k);
            for a in 0..na {
                items.push(i as u32);
                anns.push(a as u32);
                labels.push(if rng.random::<f64>() < 0.7 {
                    t
                } else {
                    rng.random_range(0..k)
                });
            }
        }
        let ann = Annotations::new(n, na, k as usize, &items, &anns, &labels).unwrap();
        let config = DawidSkeneConfig {
            max_iterations: 20,
            tolerance: 0.0,
            threads: 0,
        };
        let start = std::time::Instant::now();
        let fit = dawid_skene(&ann, &config).unwrap();
        let per_iter = start.elapsed().as_secs_f64() / fit.iterations as f64;
        println!("1M annotations: {:.1} ms per EM iteration", per_iter * 1e3);
        assert!(per_iter < 1.0);
    }
}
