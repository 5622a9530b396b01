//! Long-format annotations: one `(item, annotator, label)` triple per judgement.
//!
//! Every labeling algorithm in [`crate::label`] reads this one structure. It is stored grouped by
//! item (compressed sparse rows), and inside an item ordered by annotator, with a stable order for
//! repeated judgements. Invariants kept by the constructors: every item index is `< n_items`,
//! every annotator index `< n_annotators`, every label `< n_classes`, and
//! `item_start[i]..item_start[i + 1]` is exactly item `i`'s judgements. Building it is two
//! counting-sort passes, O(n + items + annotators), so a million judgements index in milliseconds
//! and the EM loops that follow read memory front to back.
//!
//! An annotator may judge the same item more than once (Dawid & Skene's observer 1 did); methods
//! that need one judgement per annotator per item say so and reject repeats.

use crate::error::{Error, Result};

/// Judgements grouped by item; see the module docs for the layout and its invariants.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotations {
    n_items: usize,
    n_annotators: usize,
    n_classes: usize,
    item_start: Vec<usize>,
    annotator: Vec<u32>,
    label: Vec<u32>,
}

impl Annotations {
    /// Builds the index from three parallel columns (`items[j]`, `annotators[j]`, `labels[j]`).
    ///
    /// Sizes are explicit so that an item nobody labelled, or a class nobody chose, still exists.
    pub fn new(
        n_items: usize,
        n_annotators: usize,
        n_classes: usize,
        items: &[u32],
        annotators: &[u32],
        labels: &[u32],
    ) -> Result<Self> {
        if items.len() != annotators.len() {
            return Err(Error::LengthMismatch {
                what: "annotations: items vs annotators",
                left: items.len(),
                right: annotators.len(),
            });
        }
        if items.len() != labels.len() {
            return Err(Error::LengthMismatch {
                what: "annotations: items vs labels",
                left: items.len(),
                right: labels.len(),
            });
        }
        if n_classes == 0 {
            return Err(Error::Invalid {
                what: "n_classes",
                detail: "must be at least 1".into(),
            });
        }
        for (j, ((&i, &a), &l)) in items.iter().zip(annotators).zip(labels).enumerate() {
            check_index("item", j, i, n_items)?;
            check_index("annotator", j, a, n_annotators)?;
            check_index("label", j, l, n_classes)?;
        }
        // Radix sort: by annotator first, then stably by item, gives item-major, annotator-minor
        // order while keeping repeated judgements in their input order.
        let by_annotator = counting_order(annotators, n_annotators);
        let mut item_start = vec![0usize; n_items + 1];
        for &i in items {
            item_start[i as usize + 1] += 1;
        }
        for i in 0..n_items {
            item_start[i + 1] += item_start[i];
        }
        let mut next = item_start.clone();
        let mut annotator = vec![0u32; items.len()];
        let mut label = vec![0u32; items.len()];
        for j in by_annotator {
            let slot = &mut next[items[j] as usize];
            annotator[*slot] = annotators[j];
            label[*slot] = labels[j];
            *slot += 1;
        }
        Ok(Self {
            n_items,
            n_annotators,
            n_classes,
            item_start,
            annotator,
            label,
        })
    }

    /// Builds from a dense row-major `items x annotators` matrix where `None` is "not labelled".
    pub fn from_dense(matrix: &[Option<u32>], n_annotators: usize, n_classes: usize) -> Result<Self> {
        if n_annotators == 0 {
            return Err(Error::Invalid {
                what: "n_annotators",
                detail: "a dense rating matrix needs at least one annotator column".into(),
            });
        }
        if !matrix.len().is_multiple_of(n_annotators) {
            return Err(Error::Invalid {
                what: "rating matrix",
                detail: format!(
                    "{} cells is not a whole number of rows of {n_annotators} annotators",
                    matrix.len()
                ),
            });
        }
        let n_items = matrix.len() / n_annotators;
        let filled = matrix.iter().filter(|v| v.is_some()).count();
        let mut items = Vec::with_capacity(filled);
        let mut annotators = Vec::with_capacity(filled);
        let mut labels = Vec::with_capacity(filled);
        for (cell, value) in matrix.iter().enumerate() {
            if let Some(l) = value {
                items.push(to_u32(cell / n_annotators, "item")?);
                annotators.push(to_u32(cell % n_annotators, "annotator")?);
                labels.push(*l);
            }
        }
        Self::new(n_items, n_annotators, n_classes, &items, &annotators, &labels)
    }

    /// Number of items (units), including items with no judgement.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Number of annotators, including annotators with no judgement.
    pub fn n_annotators(&self) -> usize {
        self.n_annotators
    }

    /// Number of classes labels are drawn from.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Total number of judgements.
    pub fn len(&self) -> usize {
        self.label.len()
    }

    /// True when there is no judgement at all.
    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }

    /// The annotators and labels of item `i`, ordered by annotator. Panics if `i >= n_items`.
    pub fn item(&self, i: usize) -> (&[u32], &[u32]) {
        let range = self.item_start[i]..self.item_start[i + 1];
        (&self.annotator[range.clone()], &self.label[range])
    }

    /// Where each item's judgements start: item `i` is `item_start()[i]..item_start()[i + 1]` of
    /// [`Self::annotator_column`] and [`Self::label_column`] (length `n_items + 1`).
    pub(crate) fn item_start(&self) -> &[usize] {
        &self.item_start
    }

    /// Annotator of every judgement, item-major (see the module docs).
    pub(crate) fn annotator_column(&self) -> &[u32] {
        &self.annotator
    }

    /// Label of every judgement, in the order of [`Self::annotator_column`].
    pub(crate) fn label_column(&self) -> &[u32] {
        &self.label
    }

    /// Per-item label counts as a row-major `items x classes` table (the input of Fleiss' kappa).
    pub fn count_table(&self) -> Vec<u32> {
        let k = self.n_classes;
        let mut table = vec![0u32; self.n_items * k];
        for i in 0..self.n_items {
            let (_, labels) = self.item(i);
            for &l in labels {
                table[i * k + l as usize] += 1;
            }
        }
        table
    }

    /// Errors naming the first item where one annotator judged more than once.
    pub(crate) fn require_single_judgements(&self, method: &'static str) -> Result<()> {
        for i in 0..self.n_items {
            let (annotators, _) = self.item(i);
            if let Some(w) = annotators.windows(2).find(|w| w[0] == w[1]) {
                return Err(Error::Invalid {
                    what: "annotations",
                    detail: format!(
                        "annotator {} labelled item {i} more than once; {method} needs one label \
                         per annotator per item (keep the latest, or treat repeats as separate \
                         annotators)",
                        w[0]
                    ),
                });
            }
        }
        Ok(())
    }
}

fn check_index(what: &str, row: usize, value: u32, bound: usize) -> Result<()> {
    if value as usize >= bound {
        return Err(Error::Invalid {
            what: "annotations",
            detail: format!(
                "annotation {row} has {what} {value}, but there are only {bound} {what}s \
                 (indices 0..{bound}); pass the right count or re-index"
            ),
        });
    }
    Ok(())
}

pub(crate) fn to_u32(value: usize, what: &'static str) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::Invalid {
        what,
        detail: format!("index {value} does not fit in 32 bits"),
    })
}

/// Positions of `keys` in stable counting-sort order.
fn counting_order(keys: &[u32], n_keys: usize) -> Vec<usize> {
    let mut start = vec![0usize; n_keys + 1];
    for &k in keys {
        start[k as usize + 1] += 1;
    }
    for k in 0..n_keys {
        start[k + 1] += start[k];
    }
    let mut order = vec![0usize; keys.len()];
    for (j, &k) in keys.iter().enumerate() {
        order[start[k as usize]] = j;
        start[k as usize] += 1;
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_item_then_annotator_keeping_repeat_order() {
        let ann = Annotations::new(3, 3, 4, &[2, 0, 2, 0, 2], &[1, 2, 0, 0, 1], &[3, 1, 2, 0, 0]).unwrap();
        assert_eq!(ann.item(0), (&[0u32, 2][..], &[0u32, 1][..]));
        assert_eq!(ann.item(1), (&[][..], &[][..]));
        // Annotator 1 judged item 2 twice: label 3 first, then 0, in input order.
        assert_eq!(ann.item(2), (&[0u32, 1, 1][..], &[2u32, 3, 0][..]));
        assert_eq!(ann.count_table(), vec![1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1]);
        assert!(ann.require_single_judgements("test").is_err());
    }

    #[test]
    fn dense_matrix_round_trips() {
        let dense = [Some(0), None, Some(1), Some(1), None, None];
        let ann = Annotations::from_dense(&dense, 2, 2).unwrap();
        assert_eq!(ann.n_items(), 3);
        assert_eq!(ann.len(), 3);
        assert_eq!(ann.item(1), (&[0u32, 1][..], &[1u32, 1][..]));
        assert!(ann.require_single_judgements("test").is_ok());
    }

    #[test]
    fn rejects_out_of_range_and_ragged_input() {
        let err = Annotations::new(2, 2, 2, &[0, 5], &[0, 1], &[0, 1]).unwrap_err();
        assert!(err.to_string().contains("annotation 1 has item 5"), "{err}");
        assert!(Annotations::new(2, 2, 2, &[0], &[0, 1], &[0]).is_err());
        assert!(Annotations::new(2, 2, 2, &[0], &[0], &[2]).is_err());
        assert!(Annotations::from_dense(&[Some(0); 5], 2, 2).is_err());
    }
}
