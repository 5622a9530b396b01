//! Assignment: who labels what next.
//!
//! Rules (each is checked by the tests, and the first by the database too):
//! 1. An annotator never gets an item they already labelled or were already assigned.
//! 2. Each regular item is brought up to `overlap` distinct annotators (counting earlier
//!    judgements and assignments), as far as eligible annotators allow; items already at
//!    `overlap` get nothing.
//! 3. Load is balanced: each slot goes to the eligible annotator with the fewest tasks so far
//!    (ties broken by a seeded random order), within `per_annotator` if given.
//! 4. Gold items are mixed in so that a share `gold_rate` of each annotator's new tasks is gold:
//!    `round(gold_rate / (1 - gold_rate) * regular tasks)` gold items per annotator, drawn at
//!    random among gold items they have not seen. Gold items are not handed out as regular work.
//! 5. Same inputs and seed, same plan: items are visited in a ChaCha8-shuffled order.

use std::collections::HashSet;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Settings of an assignment round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssignOptions {
    /// Distinct annotators per item.
    pub overlap: usize,
    /// Share of each annotator's new tasks that are gold items, in [0, 1).
    pub gold_rate: f64,
    /// Most regular tasks per annotator in this round.
    pub per_annotator: Option<usize>,
    /// Most items to bring up to overlap in this round.
    pub max_items: Option<usize>,
    /// Seed of the shuffles.
    pub seed: u64,
}

/// What exists already.
#[derive(Debug, Clone)]
pub struct AssignState {
    /// Per item: whether it is a gold item.
    pub is_gold: Vec<bool>,
    /// Per item: annotators (indices) who labelled it or were assigned it.
    pub seen: Vec<HashSet<usize>>,
    /// Number of annotators taking part.
    pub n_annotators: usize,
}

/// One planned task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Item index.
    pub item: usize,
    /// Annotator index.
    pub annotator: usize,
    /// Whether it is a gold item.
    pub gold: bool,
}

/// The plan of a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Tasks, grouped by item.
    pub tasks: Vec<Task>,
    /// Items that could not reach `overlap` (too few eligible annotators or capacity).
    pub short_items: usize,
}

/// Plans a round (see the module docs for the rules).
pub fn plan(state: &AssignState, opts: &AssignOptions) -> Result<Plan> {
    let na = state.n_annotators;
    if na == 0 {
        return Err(Error::Usage("no annotators: name them with --annotators a,b,c".into()));
    }
    if opts.overlap == 0 || opts.overlap > na {
        return Err(Error::Usage(format!(
            "--overlap {} must be between 1 and the number of annotators ({na})",
            opts.overlap
        )));
    }
    if !(0.0..1.0).contains(&opts.gold_rate) {
        return Err(Error::Usage(format!(
            "--gold-rate {} must be in [0, 1)",
            opts.gold_rate
        )));
    }
    let n_gold = state.is_gold.iter().filter(|g| **g).count();
    if opts.gold_rate > 0.0 && n_gold == 0 {
        return Err(Error::Usage(
            "--gold-rate needs gold items; import known answers with `sluice label import --gold FILE`".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    // A random rank per annotator breaks load ties without favouring low indices.
    let mut rank: Vec<usize> = (0..na).collect();
    rank.shuffle(&mut rng);
    let mut order: Vec<usize> = (0..state.is_gold.len())
        .filter(|&i| !state.is_gold[i] && state.seen[i].len() < opts.overlap)
        .collect();
    order.shuffle(&mut rng);
    if let Some(m) = opts.max_items {
        order.truncate(m);
    }
    let cap = opts.per_annotator.unwrap_or(usize::MAX);
    let mut load = vec![0usize; na];
    let mut tasks = Vec::new();
    let mut short = 0;
    for &i in &order {
        let need = opts.overlap - state.seen[i].len();
        let mut eligible: Vec<usize> = (0..na)
            .filter(|a| !state.seen[i].contains(a) && load[*a] < cap)
            .collect();
        eligible.sort_by_key(|&a| (load[a], rank[a]));
        if eligible.len() < need {
            short += 1;
        }
        for &a in eligible.iter().take(need) {
            load[a] += 1;
            tasks.push(Task {
                item: i,
                annotator: a,
                gold: false,
            });
        }
    }
    if opts.gold_rate > 0.0 {
        let gold_items: Vec<usize> = (0..state.is_gold.len()).filter(|&i| state.is_gold[i]).collect();
        for (a, &done) in load.iter().enumerate() {
            let want = (opts.gold_rate / (1.0 - opts.gold_rate) * done as f64).round() as usize;
            let mut pool: Vec<usize> = gold_items
                .iter()
                .copied()
                .filter(|i| !state.seen[*i].contains(&a))
                .collect();
            pool.shuffle(&mut rng);
            for &i in pool.iter().take(want) {
                tasks.push(Task {
                    item: i,
                    annotator: a,
                    gold: true,
                });
            }
        }
    }
    tasks.sort_by_key(|t| (t.item, t.annotator));
    Ok(Plan {
        tasks,
        short_items: short,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(n: usize, gold: usize, na: usize) -> AssignState {
        AssignState {
            is_gold: (0..n).map(|i| i < gold).collect(),
            seen: vec![HashSet::new(); n],
            n_annotators: na,
        }
    }

    fn opts(overlap: usize, gold_rate: f64, seed: u64) -> AssignOptions {
        AssignOptions {
            overlap,
            gold_rate,
            per_annotator: None,
            max_items: None,
            seed,
        }
    }

    #[test]
    fn overlap_balance_and_no_repeats() {
        let mut s = state(100, 10, 5);
        s.seen[50].insert(2);
        s.seen[51].extend([0, 1, 3]);
        let p = plan(&s, &opts(3, 0.1, 7)).unwrap();
        let mut pairs = HashSet::new();
        let mut per_item = vec![0usize; 100];
        let mut load = [0usize; 5];
        let mut gold_load = [0usize; 5];
        for t in &p.tasks {
            assert!(pairs.insert((t.item, t.annotator)), "pair repeated");
            assert!(!s.seen[t.item].contains(&t.annotator), "annotator saw the item before");
            assert_eq!(t.gold, t.item < 10);
            if t.gold {
                gold_load[t.annotator] += 1;
            } else {
                per_item[t.item] += 1;
                load[t.annotator] += 1;
            }
        }
        for (i, n) in per_item.iter().enumerate().skip(10) {
            assert_eq!(n + s.seen[i].len(), 3, "item {i}");
        }
        assert_eq!(per_item[51], 0, "already at overlap");
        let (lo, hi) = (load.iter().min().unwrap(), load.iter().max().unwrap());
        assert!(hi - lo <= 1, "balanced loads {load:?}");
        for a in 0..5 {
            let share = gold_load[a] as f64 / (gold_load[a] + load[a]) as f64;
            assert!((share - 0.1).abs() < 0.02, "gold share {share}");
        }
        assert_eq!(p.short_items, 0);
        // Deterministic by seed, different with another seed.
        assert_eq!(plan(&s, &opts(3, 0.1, 7)).unwrap(), p);
        assert_ne!(plan(&s, &opts(3, 0.1, 8)).unwrap(), p);
    }

    #[test]
    fn capacity_and_bad_options() {
        let s = state(10, 0, 2);
        let mut o = opts(2, 0.0, 1);
        o.per_annotator = Some(3);
        let p = plan(&s, &o).unwrap();
        assert_eq!(p.tasks.len(), 6);
        assert!(p.short_items > 0);
        assert!(plan(&s, &opts(3, 0.0, 1)).is_err());
        assert!(
            plan(&s, &opts(1, 0.2, 1))
                .unwrap_err()
                .to_string()
                .contains("needs gold items")
        );
        assert!(plan(&s, &opts(1, 1.0, 1)).is_err());
    }
}
