//! What a step did: rows in and out, values changed, added and left invalid, per column, with examples.
//!
//! Invariant: `rows_out = rows_in - rows_removed` (no step adds rows), and `values_changed`,
//! `values_added` and `values_invalid` are the sums of their per-column counts.

use std::collections::BTreeMap;

use serde::Serialize;

/// One example of what a step did to a cell or a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    /// 0-based row number in the step's input.
    pub row: u64,
    /// The column of a changed cell; absent for a removed row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The cell's value before (a string, number or null), or the whole removed row as a JSON object.
    pub before: serde_json::Value,
    /// The cell's value after; null for a removed row.
    pub after: serde_json::Value,
    /// Why, when the values do not say it ("duplicate of row 12").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Example {
    pub(crate) fn cell(
        row: u64,
        column: &str,
        before: Option<&str>,
        after: serde_json::Value,
        note: Option<String>,
    ) -> Self {
        Example {
            row,
            column: Some(column.to_owned()),
            before: before
                .map(|s| serde_json::Value::String(s.to_owned()))
                .unwrap_or_default(),
            after,
            note,
        }
    }

    pub(crate) fn removed(row: u64, before: serde_json::Value, note: String) -> Self {
        Example {
            row,
            column: None,
            before,
            after: serde_json::Value::Null,
            note: Some(note),
        }
    }
}

/// The record of one step applied to one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// The step's kind (`dedupe`, `trim`, ...).
    pub step: String,
    /// Rows before the step.
    pub rows_in: u64,
    /// Rows after it.
    pub rows_out: u64,
    /// Rows it removed (`rows_in - rows_out`).
    pub rows_removed: u64,
    /// Cells it gave a different value (nulls written by `on_error = "null"` included).
    pub values_changed: u64,
    /// Missing cells it filled in (`impute`).
    pub values_added: u64,
    /// Cells it could not fix: unparseable dates, text with U+FFFD that no re-decoding can restore.
    pub values_invalid: u64,
    /// Per column: cells changed or filled in; for the row filters (`drop_missing`, `filter_outliers`),
    /// the cells that caused a removal.
    pub per_column: BTreeMap<String, u64>,
    /// Up to five examples, in row order per column.
    pub examples: Vec<Example>,
    /// What else a reader should know: the rule's parameters (fences, canonical spellings, formats seen),
    /// and anything the step chose not to do.
    pub notes: Vec<String>,
    /// Wall-clock seconds the step took (checks and all).
    pub seconds: f64,
}

impl StepReport {
    pub(crate) fn new(step: &str, rows_in: u64) -> Self {
        StepReport {
            step: step.to_owned(),
            rows_in,
            rows_out: rows_in,
            rows_removed: 0,
            values_changed: 0,
            values_added: 0,
            values_invalid: 0,
            per_column: BTreeMap::new(),
            examples: Vec::new(),
            notes: Vec::new(),
            seconds: 0.0,
        }
    }

    /// Records the removal of `removed` rows.
    pub(crate) fn removed(&mut self, removed: u64) {
        self.rows_removed = removed;
        self.rows_out = self.rows_in - removed;
    }

    /// Adds examples while fewer than five are kept.
    pub(crate) fn add_examples(&mut self, examples: impl IntoIterator<Item = Example>) {
        let room = crate::frame::EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(examples.into_iter().take(room));
    }
}
