//! A starting suite inferred from a profile, for people to edit rather than write from nothing.
//!
//! What it proposes, per column: its type; a null-rate ceiling (none observed: 0; otherwise the
//! observed rate with headroom); uniqueness where every value was distinct; a range for numeric
//! columns (the observed min and max); allowed values for low-cardinality text whose every value
//! the frequent-items sketch counted exactly. Plus the schema and a row-count floor.

use sluice_profile::{TableProfile, ValueKind};

use crate::suite::{Check, Rule, Severity, Suite, SuiteInfo};

/// Text columns with at most this many distinct values get an allowed-values check (as many as
/// the profile lists frequent values).
pub const MAX_ALLOWED_VALUES: usize = sluice_profile::summary::TOP_K;

/// Proposes a suite for a table with this profile.
pub fn suggest(name: &str, profile: &TableProfile) -> Suite {
    let mut checks = vec![
        Check {
            name: None,
            severity: Severity::Error,
            rule: Rule::Schema {
                columns: profile.columns.iter().map(|c| c.name.clone()).collect(),
                exact: false,
            },
        },
        Check {
            name: None,
            severity: Severity::Error,
            rule: Rule::RowCount {
                min: Some(profile.rows / 2),
                max: None,
            },
        },
    ];
    for c in &profile.columns {
        let family = match c.kind {
            ValueKind::Numeric if c.data_type.contains("Int") => Some("integer"),
            ValueKind::Numeric => Some("numeric"),
            ValueKind::String => Some("string"),
            ValueKind::Boolean => Some("boolean"),
            ValueKind::Temporal if c.data_type.starts_with("Date") => Some("date"),
            ValueKind::Temporal if c.data_type.starts_with("Timestamp") => Some("timestamp"),
            _ => None,
        };
        if let Some(f) = family {
            checks.push(Check {
                name: None,
                severity: Severity::Error,
                rule: Rule::Type {
                    column: c.name.clone(),
                    expected: f.into(),
                },
            });
        }
        // Null rate: none seen -> none allowed; otherwise twice the observed rate, rounded up
        // to a readable share.
        let max = if c.missing == 0 {
            0.0
        } else {
            ((c.missing_rate * 2.0 * 1000.0).ceil() / 1000.0).min(1.0)
        };
        checks.push(Check {
            name: None,
            severity: if c.missing == 0 {
                Severity::Error
            } else {
                Severity::Warning
            },
            rule: Rule::NullRate {
                column: c.name.clone(),
                max,
            },
        });
        let non_missing = c.rows.saturating_sub(c.missing) as f64;
        if c.rows > 1 && c.missing == 0 && (c.distinct.lower..=c.distinct.upper).contains(&non_missing) {
            // Every value distinct within the HLL bound; exact uniqueness is what the check tests.
            let exact_top = c.top.first().is_none_or(|t| t.count == 1);
            if exact_top {
                checks.push(Check {
                    name: None,
                    severity: Severity::Error,
                    rule: Rule::Unique {
                        columns: vec![c.name.clone()],
                        max_duplicates: 0,
                    },
                });
            }
        }
        if c.kind == ValueKind::Numeric
            && let Some(s) = c.stats
        {
            checks.push(Check {
                name: None,
                severity: Severity::Warning,
                rule: Rule::Range {
                    column: c.name.clone(),
                    min: Some(s.min),
                    max: Some(s.max),
                    mostly: 1.0,
                },
            });
        }
        if c.kind == ValueKind::String
            && !c.top.is_empty()
            && c.top_error == Some(0)
            && c.distinct.estimate <= MAX_ALLOWED_VALUES as f64
            && c.top.iter().map(|t| t.count).sum::<u64>() == c.rows - c.nulls
        {
            let mut values: Vec<String> = c.top.iter().map(|t| t.value.clone()).collect();
            values.sort();
            checks.push(Check {
                name: None,
                severity: Severity::Error,
                rule: Rule::Allowed {
                    column: c.name.clone(),
                    values: values.into_iter().map(toml::Value::String).collect(),
                    mostly: 1.0,
                },
            });
        }
    }
    Suite {
        suite: SuiteInfo {
            name: Some(format!("{name} (suggested)")),
        },
        checks,
    }
}
