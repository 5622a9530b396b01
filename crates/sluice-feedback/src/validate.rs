//! Validation of decision logs: everything that would make off-policy evaluation wrong, one
//! message per problem with its row, field, value and fix.
//!
//! | check                                       | why it matters                                           |
//! |---------------------------------------------|----------------------------------------------------------|
//! | `decision_id` present and unique            | outcomes join on it; a duplicate double-counts a decision |
//! | `time` present, RFC 3339                    | batches and trends are cut by time                        |
//! | at least one `chosen` action                | a decision without an action has nothing to evaluate      |
//! | propensity present, > 0, <= 1, finite       | IPS divides by it; 0 means the action could not happen    |
//! | chosen action among `candidates`            | otherwise the propensity describes another action set     |
//! | positions distinct within a decision        | a slate shows one item per position                       |
//! | `distribution` aligned with `candidates`, each value in [0, 1], sum 1 (within 1e-6) | it is a probability distribution |
//! | single chosen action: propensity = its `distribution` entry (within 1e-6) | both describe the same policy |
//! | `scores` arrays aligned with `candidates`   | `greedy:NAME` target policies read them                   |
//! | rewards finite                              | estimators average them                                   |
//!
//! Duplicate ids are found through a 64-bit SipHash (fixed keys) of each id, so memory stays at
//! 12 bytes per decision; two distinct ids collide with probability about `n^2 / 2^65`
//! (3e-6 for 10M decisions). The set of hashes is keyed by the hash itself (no second hashing).
//!
//! Speed (validation gates every `sluice ope` run, 10M records in the benchmark): times in the
//! common shape `YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM)` are checked field by field without
//! allocating; any other spelling goes to chrono's RFC 3339 parser, which has the last word.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::io::{RowError, read_decisions, read_outcomes};
use crate::schema::{Decision, Loc};

/// Tolerance on a distribution's sum and on propensity = distribution entry.
pub const PROB_TOLERANCE: f64 = 1e-6;

/// One problem in one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Where: file and line (or Parquet row).
    pub at: String,
    /// 1-based line or row.
    pub line: usize,
    /// 1-based column, for records that are not valid JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The field, e.g. `chosen[0].propensity`.
    pub field: String,
    /// The offending value as logged.
    pub value: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.at)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        write!(f, ": {} = {}: {}", self.field, self.value, self.message)
    }
}

/// Checks decisions one at a time, remembering ids to catch duplicates.
#[derive(Debug, Default)]
pub struct Validator {
    seen: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
}

/// The hasher of the id set: its keys are already SipHash values, so they are used as they are.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (keys are u64); fold anything else in for completeness.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Whether `t` is an RFC 3339 date-time (the test chrono's `parse_from_rfc3339` applies).
pub fn is_rfc3339(t: &str) -> bool {
    plainly_rfc3339(t.as_bytes()) || chrono::DateTime::parse_from_rfc3339(t).is_ok()
}

/// True only for a valid time in the common shape `YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM)`
/// (seconds 00-59, a real calendar day); false means "not decided here", not "invalid".
fn plainly_rfc3339(b: &[u8]) -> bool {
    fn num(b: &[u8]) -> Option<u32> {
        b.iter()
            .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    }
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(&b[0..4]),
        num(&b[5..7]),
        num(&b[8..10]),
        num(&b[11..13]),
        num(&b[14..16]),
        num(&b[17..19]),
    ) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if !(1..=days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    let mut rest = &b[19..];
    if let [b'.', tail @ ..] = rest {
        let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &tail[digits..];
    }
    match rest {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            matches!((num(&[*h1, *h2]), num(&[*m1, *m2])), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

fn id_hash(id: &str) -> u64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(0x736c_7569_6365, 0x6665_6564_6261_636b);
    id.hash(&mut h);
    h.finish()
}

fn num(x: f64) -> String {
    if x.is_nan() { "null/NaN".into() } else { format!("{x}") }
}

impl Validator {
    /// A validator with no ids seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a decision id was seen.
    pub fn knows(&self, id: &str) -> bool {
        self.seen.contains_key(&id_hash(id))
    }

    /// The problems of one decision (empty when it is valid).
    pub fn check(&mut self, loc: &Loc, d: &Decision) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |field: String, value: String, message: String| {
            out.push(Problem {
                at: loc.to_string(),
                line: loc.line,
                column: None,
                field,
                value,
                message,
            })
        };
        if d.decision_id.is_empty() {
            push(
                "decision_id".into(),
                "\"\"".into(),
                "empty; give every decision a unique id (outcomes join on it)".into(),
            );
        } else if let Some(first) = self.seen.insert(id_hash(&d.decision_id), loc.line as u32) {
            push(
                "decision_id".into(),
                format!("{:?}", d.decision_id),
                format!("duplicate of the decision at line/row {first}; ids must be unique"),
            );
        }
        match &d.time {
            None => push(
                "time".into(),
                "missing".into(),
                "log when the decision was made, as RFC 3339 (2026-03-01T12:00:00Z)".into(),
            ),
            Some(t) if !is_rfc3339(t) => push(
                "time".into(),
                format!("{t:?}"),
                "not an RFC 3339 time; write e.g. 2026-03-01T12:00:00Z".into(),
            ),
            Some(_) => {}
        }
        if d.chosen.is_empty() {
            push(
                "chosen".into(),
                "[]".into(),
                "no chosen action; log the action(s) shown with their propensities".into(),
            );
        }
        for (j, c) in d.chosen.iter().enumerate() {
            let field = |f: &str| format!("chosen[{j}].{f}");
            match c.propensity {
                None => push(
                    field("propensity"),
                    "missing".into(),
                    "log the probability with which the policy chose this action (exploration code returns it)".into(),
                ),
                Some(0.0) => push(
                    field("propensity"),
                    "0".into(),
                    "a zero propensity says the action could not have been chosen, yet it was; log the probability \
                     actually used (> 0)"
                        .into(),
                ),
                Some(p) if p > 1.0 => push(
                    field("propensity"),
                    num(p),
                    "a probability over 1; log the probability itself, not a score or a percentage".into(),
                ),
                Some(p) if !(p > 0.0 && p.is_finite()) => {
                    push(field("propensity"), num(p), "must be a probability in (0, 1]".into())
                }
                Some(_) => {}
            }
            if !d.candidates.is_empty() && !d.candidates.contains(&c.action) {
                push(
                    field("action"),
                    format!("{:?}", c.action),
                    "not among the decision's candidates; log the candidate set the policy chose from".into(),
                );
            }
            // Slates are short: a scan of the earlier positions beats a hash map per decision.
            if let Some(prev) = d.chosen[..j].iter().position(|p| p.position == c.position) {
                push(
                    field("position"),
                    c.position.to_string(),
                    format!("chosen[{prev}] has the same position; each position shows one action"),
                );
            }
            if let Some(r) = c.reward
                && !r.is_finite()
            {
                push(field("reward"), num(r), "rewards must be finite numbers".into());
            }
        }
        if let Some(dist) = &d.distribution {
            if d.candidates.is_empty() {
                push(
                    "distribution".into(),
                    format!("{} values", dist.len()),
                    "a distribution needs the `candidates` it is over; log them in the same order".into(),
                );
            } else if dist.len() != d.candidates.len() {
                push(
                    "distribution".into(),
                    format!("{} values", dist.len()),
                    format!(
                        "{} candidates but {} probabilities; log one probability per candidate, in order",
                        d.candidates.len(),
                        dist.len()
                    ),
                );
            }
            let mut bad_entry = false;
            for (k, &p) in dist.iter().enumerate() {
                if !(0.0..=1.0).contains(&p) {
                    bad_entry = true;
                    let why = if p > 1.0 {
                        "a probability over 1; log probabilities, not scores"
                    } else {
                        "must be a probability in [0, 1]"
                    };
                    push(format!("distribution[{k}]"), num(p), why.into());
                }
            }
            let total: f64 = dist.iter().sum();
            if !bad_entry && (total - 1.0).abs() > PROB_TOLERANCE {
                push(
                    "distribution".into(),
                    format!("sum {total}"),
                    "the probabilities must sum to 1 (within 1e-6); log the full distribution, normalised".into(),
                );
            }
            if let [c] = d.chosen.as_slice()
                && let (Some(p), Some(k)) = (c.propensity, d.candidates.iter().position(|a| *a == c.action))
                && let Some(&q) = dist.get(k)
                && (p - q).abs() > PROB_TOLERANCE
            {
                push(
                    "chosen[0].propensity".into(),
                    num(p),
                    format!(
                        "the distribution gives {q} to action {:?}; propensity and distribution must come from \
                         the same policy",
                        c.action
                    ),
                );
            }
        }
        for (name, s) in &d.scores {
            if s.len() != d.candidates.len() {
                push(
                    format!("scores.{name}"),
                    format!("{} values", s.len()),
                    format!(
                        "{} candidates; log one score per candidate, in order",
                        d.candidates.len()
                    ),
                );
            } else if let Some(k) = s.iter().position(|x| !x.is_finite()) {
                push(format!("scores.{name}[{k}]"), num(s[k]), "scores must be finite".into());
            }
        }
        out
    }
}

/// The problem for a record that could not be decoded.
pub fn undecodable(loc: &Loc, e: &RowError) -> Problem {
    Problem {
        at: loc.to_string(),
        line: loc.line,
        column: e.column,
        field: "(record)".into(),
        value: "-".into(),
        message: format!(
            "{}; each line must be one decision object (see `sluice decisions schema`)",
            e.message
        ),
    }
}

/// Result of validating a log.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// The log.
    pub file: String,
    /// Records read.
    pub decisions: u64,
    /// Chosen actions (impressions) over all decisions.
    pub impressions: u64,
    /// Problems found (all of them, whatever was kept).
    pub problem_count: u64,
    /// Problem counts per field (indices stripped: `chosen[].propensity`).
    pub by_field: BTreeMap<String, u64>,
    /// The first `max_problems` problems, in file order.
    pub problems: Vec<Problem>,
    /// Outcomes read, when an outcomes file was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<u64>,
}

impl ValidationReport {
    /// Whether the log can be used for off-policy evaluation.
    pub fn is_valid(&self) -> bool {
        self.problem_count == 0
    }

    fn add(&mut self, p: Problem, max: usize) {
        self.problem_count += 1;
        let key: String = {
            let mut s = String::new();
            let mut skip = false;
            for ch in p.field.chars() {
                match ch {
                    '[' => {
                        skip = true;
                        s.push('[');
                    }
                    ']' => {
                        skip = false;
                        s.push(']');
                    }
                    c if !skip => s.push(c),
                    _ => {}
                }
            }
            s
        };
        *self.by_field.entry(key).or_default() += 1;
        if self.problems.len() < max {
            self.problems.push(p);
        }
    }
}

/// Validates a decision log (and optionally its outcomes file), keeping up to `max_problems`.
pub fn validate_log(path: &Path, outcomes: Option<&Path>, max_problems: usize) -> Result<ValidationReport> {
    let mut report = ValidationReport {
        file: path.display().to_string(),
        decisions: 0,
        impressions: 0,
        problem_count: 0,
        by_field: BTreeMap::new(),
        problems: Vec::new(),
        outcomes: None,
    };
    let mut v = Validator::new();
    read_decisions(path, |loc, d| {
        report.decisions += 1;
        match d {
            Ok(d) => {
                report.impressions += d.chosen.len() as u64;
                for p in v.check(&loc, &d) {
                    report.add(p, max_problems);
                }
            }
            Err(e) => report.add(undecodable(&loc, &e), max_problems),
        }
        Ok(())
    })?;
    if let Some(o) = outcomes {
        let mut n = 0;
        read_outcomes(o, |loc, outcome| {
            n += 1;
            if !v.knows(&outcome.decision_id) {
                report.add(
                    Problem {
                        at: loc.to_string(),
                        line: loc.line,
                        column: None,
                        field: "decision_id".into(),
                        value: format!("{:?}", outcome.decision_id),
                        message: "no decision in the log has this id; outcomes must join a logged decision".into(),
                    },
                    max_problems,
                );
            } else if !outcome.reward.is_finite() {
                report.add(
                    Problem {
                        at: loc.to_string(),
                        line: loc.line,
                        column: None,
                        field: "reward".into(),
                        value: num(outcome.reward),
                        message: "rewards must be finite numbers".into(),
                    },
                    max_problems,
                );
            }
            Ok(())
        })?;
        report.outcomes = Some(n);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Chosen;

    #[test]
    fn fast_time_check_agrees_with_chrono() {
        let base = [
            "2026-03-01T12:00:00Z",
            "2024-02-29T23:59:59.123456789Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2026-03-01T12:00:00+05:30",
            "2026-03-01T12:00:00-00:00",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.5-23:59",
            "2026-13-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-03-01T24:00:00Z",
            "2026-03-01T12:60:00Z",
            "2016-12-31T23:59:60Z",
            "2026-03-01t12:00:00z",
            "2026-03-01 12:00:00Z",
            "2026-03-01T12:00:00",
            "2026-03-01T12:00:00.Z",
            "2026-03-01T12:00:00+24:00",
            "2026-03-01T12:00:00.1234567890123Z",
            "2026-03-01T12:00:00Z ",
            "+2026-03-01T12:00:00Z",
        ];
        let chrono_ok = |t: &str| chrono::DateTime::parse_from_rfc3339(t).is_ok();
        let mut decided_here = 0;
        let mut check = |t: &str| {
            decided_here += usize::from(plainly_rfc3339(t.as_bytes()));
            assert_eq!(is_rfc3339(t), chrono_ok(t), "{t:?}");
        };
        for t in base {
            check(t);
            // Every single-byte substitution by a character that matters to the grammar.
            for i in 0..t.len() {
                for c in ["0", "1", "2", "3", "9", ":", "-", "+", ".", "T", "Z", "x"] {
                    let mut m = t.to_owned();
                    m.replace_range(i..i + 1, c);
                    check(&m);
                }
            }
        }
        assert!(
            decided_here > 500,
            "the fast path must actually be used: {decided_here}"
        );
    }

    fn good() -> Decision {
        Decision {
            decision_id: "d1".into(),
            time: Some("2026-03-01T12:00:00Z".into()),
            candidates: vec!["a".into(), "b".into()],
            chosen: vec![Chosen {
                action: "b".into(),
                position: 0,
                propensity: Some(0.75),
                reward: Some(1.0),
            }],
            distribution: Some(vec![0.25, 0.75]),
            ..Decision::default()
        }
    }

    fn fields(d: &Decision) -> Vec<String> {
        let mut v = Validator::new();
        v.check(&Loc::line(Path::new("log.jsonl"), 7), d)
            .into_iter()
            .map(|p| p.field)
            .collect()
    }

    #[test]
    fn a_good_decision_passes() {
        assert!(fields(&good()).is_empty());
    }

    #[test]
    fn each_defect_is_named() {
        let mut d = good();
        d.chosen[0].propensity = Some(0.0);
        assert_eq!(fields(&d), ["chosen[0].propensity", "chosen[0].propensity"]);
        d.distribution = None;
        assert_eq!(fields(&d), ["chosen[0].propensity"]);
        d.chosen[0].propensity = None;
        assert_eq!(fields(&d), ["chosen[0].propensity"]);
        d.chosen[0].propensity = Some(1.5);
        assert_eq!(fields(&d), ["chosen[0].propensity"]);
        let mut d = good();
        d.distribution = Some(vec![0.5, 0.75]);
        assert_eq!(fields(&d), ["distribution"]);
        d.distribution = Some(vec![-0.25, 1.25]);
        assert_eq!(
            fields(&d),
            ["distribution[0]", "distribution[1]", "chosen[0].propensity"]
        );
        let mut d = good();
        d.chosen[0].action = "z".into();
        d.time = Some("yesterday".into());
        assert_eq!(fields(&d), ["time", "chosen[0].action"]);
        let mut d = good();
        d.chosen.push(d.chosen[0].clone());
        assert_eq!(fields(&d), ["chosen[1].position"]);
    }

    #[test]
    fn duplicates_name_the_first_line() {
        let mut v = Validator::new();
        let d = good();
        assert!(v.check(&Loc::line(Path::new("x"), 3), &d).is_empty());
        let p = v.check(&Loc::line(Path::new("x"), 9), &d);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("line/row 3"), "{}", p[0]);
        assert_eq!(p[0].to_string().split(':').next(), Some("x"));
    }
}
