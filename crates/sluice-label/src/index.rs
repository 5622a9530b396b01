//! From stored rows to the dense indices `sluice_algo::label` works on.
//!
//! Items are indexed in the project's item order, annotators in order of first appearance. A
//! single-label or ordinal project becomes one [`Annotations`] over its classes. A multi-label
//! project becomes one [`Annotations`] over *units* `item x class` with the two classes
//! `absent`/`present` (binary relevance): unit `i * k + c` says whether class `c` applies to item
//! `i`, so agreement, aggregation and review run per class with the same code, and "per label"
//! results are the units of one class. An interval project keeps numbers per item.

use std::collections::HashMap;

use sluice_algo::label::Annotations;

use crate::error::{Error, Result};
use crate::schema::{LabelKind, LabelSchema, LabelValue};
use crate::store::{Annotation, Gold, Item};

/// Judgements in index form.
#[derive(Debug, Clone)]
pub struct Indexed {
    /// Item keys by item index.
    pub item_keys: Vec<String>,
    /// Item ids by item index.
    pub item_ids: Vec<i64>,
    /// Annotator names by annotator index.
    pub annotators: Vec<String>,
    /// Annotator ids by annotator index.
    pub annotator_ids: Vec<i64>,
    /// The judgements.
    pub units: Units,
    /// Gold answers per unit.
    pub gold: GoldUnits,
}

/// Judgements by kind of scale.
#[derive(Debug, Clone)]
pub enum Units {
    /// Single-label and ordinal (`multi == false`: unit = item, classes = the project's), or
    /// multi-label (`multi == true`: unit = item x class, classes = absent/present).
    Categorical {
        /// Unit x annotator judgements.
        ann: Annotations,
        /// Whether units are item x class.
        multi: bool,
    },
    /// Interval: per item, (annotator index, value).
    Numeric(Vec<Vec<(u32, f64)>>),
}

/// Gold answers aligned with the units.
#[derive(Debug, Clone)]
pub enum GoldUnits {
    /// Per categorical unit.
    Categorical(Vec<Option<u32>>),
    /// Per item (interval).
    Numeric(Vec<Option<f64>>),
}

impl Indexed {
    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.item_keys.len()
    }

    /// The categorical annotations, or an error naming what needs them.
    pub fn categorical(&self, what: &str) -> Result<&Annotations> {
        match &self.units {
            Units::Categorical { ann, .. } => Ok(ann),
            Units::Numeric(_) => Err(Error::Usage(format!(
                "{what} needs categories; this is an interval project (use --method mean or median, and \
                 interval alpha for agreement)"
            ))),
        }
    }
}

fn bad_stored(v: &str, m: String) -> Error {
    Error::Internal(format!("stored label `{v}` does not fit the project schema: {m}"))
}

/// Indexes `annotations` (one source, latest per item and annotator) over `items`.
pub fn index(schema: &LabelSchema, items: &[Item], annotations: &[Annotation], gold: &[Gold]) -> Result<Indexed> {
    let pos: HashMap<i64, usize> = items.iter().enumerate().map(|(i, it)| (it.id, i)).collect();
    let mut annotators: Vec<String> = Vec::new();
    let mut annotator_ids: Vec<i64> = Vec::new();
    let mut apos: HashMap<i64, u32> = HashMap::new();
    for a in annotations {
        apos.entry(a.annotator_id).or_insert_with(|| {
            annotators.push(a.annotator.clone());
            annotator_ids.push(a.annotator_id);
            (annotators.len() - 1) as u32
        });
    }
    let n = items.len();
    let item_of = |id: i64| -> Result<usize> {
        pos.get(&id)
            .copied()
            .ok_or_else(|| Error::Internal(format!("annotation of item id {id} outside its project")))
    };
    let (units, gold_units) = match schema.kind {
        LabelKind::Interval => {
            let mut values = vec![Vec::new(); n];
            for a in annotations {
                let v = match schema.parse_stored(&a.value).map_err(|m| bad_stored(&a.value, m))? {
                    LabelValue::Number(x) => x,
                    _ => return Err(bad_stored(&a.value, "not a number".into())),
                };
                values[item_of(a.item_id)?].push((apos[&a.annotator_id], v));
            }
            let mut g = vec![None; n];
            for x in gold {
                if let LabelValue::Number(v) = schema.parse_stored(&x.value).map_err(|m| bad_stored(&x.value, m))? {
                    g[item_of(x.item_id)?] = Some(v);
                }
            }
            (Units::Numeric(values), GoldUnits::Numeric(g))
        }
        LabelKind::Multi => {
            let k = schema.classes.len();
            let (mut it, mut an, mut lb) = (Vec::new(), Vec::new(), Vec::new());
            for a in annotations {
                let set = match schema.parse_stored(&a.value).map_err(|m| bad_stored(&a.value, m))? {
                    LabelValue::Classes(c) => c,
                    _ => return Err(bad_stored(&a.value, "not a class list".into())),
                };
                let i = item_of(a.item_id)?;
                for c in 0..k {
                    it.push((i * k + c) as u32);
                    an.push(apos[&a.annotator_id]);
                    lb.push(u32::from(set.contains(&(c as u32))));
                }
            }
            let ann = Annotations::new(n * k, annotators.len(), 2, &it, &an, &lb)?;
            let mut g = vec![None; n * k];
            for x in gold {
                if let LabelValue::Classes(set) = schema.parse_stored(&x.value).map_err(|m| bad_stored(&x.value, m))? {
                    let i = item_of(x.item_id)?;
                    for c in 0..k {
                        g[i * k + c] = Some(u32::from(set.contains(&(c as u32))));
                    }
                }
            }
            (Units::Categorical { ann, multi: true }, GoldUnits::Categorical(g))
        }
        LabelKind::Single | LabelKind::Ordinal => {
            let (mut it, mut an, mut lb) = (Vec::new(), Vec::new(), Vec::new());
            for a in annotations {
                let c = match schema.parse_stored(&a.value).map_err(|m| bad_stored(&a.value, m))? {
                    LabelValue::Class(c) => c,
                    _ => return Err(bad_stored(&a.value, "not a class".into())),
                };
                it.push(item_of(a.item_id)? as u32);
                an.push(apos[&a.annotator_id]);
                lb.push(c);
            }
            let ann = Annotations::new(n, annotators.len(), schema.classes.len(), &it, &an, &lb)?;
            let mut g = vec![None; n];
            for x in gold {
                if let LabelValue::Class(c) = schema.parse_stored(&x.value).map_err(|m| bad_stored(&x.value, m))? {
                    g[item_of(x.item_id)?] = Some(c);
                }
            }
            (Units::Categorical { ann, multi: false }, GoldUnits::Categorical(g))
        }
    };
    Ok(Indexed {
        item_keys: items.iter().map(|i| i.key.clone()).collect(),
        item_ids: items.iter().map(|i| i.id).collect(),
        annotators,
        annotator_ids,
        units,
        gold: gold_units,
    })
}
