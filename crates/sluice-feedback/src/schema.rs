//! The decision-log schema: one record per decision a model made, in JSON Lines or Parquet.
//!
//! ```json
//! {"decision_id": "d-1", "time": "2026-03-01T12:00:00Z", "unit_id": "user-42",
//!  "context": {"age": 31, "country": "fr"},
//!  "candidates": ["a", "b", "c"],
//!  "chosen": [{"action": "b", "position": 0, "propensity": 0.8, "reward": 1}],
//!  "distribution": [0.1, 0.8, 0.1],
//!  "scores": {"model_v3": [0.2, 0.9, 0.4]},
//!  "policy": "epsilon-greedy(0.2)", "model_version": "ranker-v3", "reason": "score 0.90",
//!  "explored": false}
//! ```
//!
//! | field           | required | meaning                                                                 |
//! |-----------------|----------|-------------------------------------------------------------------------|
//! | `decision_id`   | yes      | unique id; outcomes join on it                                          |
//! | `time`          | yes      | RFC 3339 time of the decision                                           |
//! | `unit_id`       | no       | the user (or session) decided for; holdouts and homogeneity use it      |
//! | `context`       | no       | features the policy saw: numbers, strings (one-hot `name=value`), bools |
//! | `candidates`    | no       | the actions that could be chosen; default: every action in the log      |
//! | `chosen`        | yes      | chosen action(s), each with `position` (0 = top, default 0), `propensity` (the probability the logging policy gave it, in (0, 1]) and optionally its `reward` |
//! | `distribution`  | no       | the logging policy's full distribution, aligned with `candidates`      |
//! | `scores`        | no       | named per-candidate score arrays (target policies `greedy:NAME`)        |
//! | `policy`, `model_version`, `reason` | no | what decided, and why ("explore", top features, a score) |
//! | `explored`      | no       | whether the decision came from exploration (default false)              |
//!
//! Outcomes that arrive later live in a separate JSON Lines file of
//! `{"decision_id": ..., "action": ... (optional), "reward": ...}` records joined by decision id
//! (and action, for slates). Actions are strings; JSON integers are accepted and read as their
//! decimal text.
//!
//! In Parquet the same fields are columns: `chosen` is a list of structs, `candidates` a list of
//! strings, `distribution` a list of doubles, and `context` and `scores` are JSON text.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

/// One logged decision.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Unique id of the decision.
    pub decision_id: String,
    /// RFC 3339 time of the decision (checked by validation, kept as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The unit (user) the decision was made for.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_id")]
    pub unit_id: Option<String>,
    /// Context features the policy saw.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub context: serde_json::Map<String, serde_json::Value>,
    /// Actions that could have been chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "ids")]
    pub candidates: Vec<String>,
    /// Chosen action(s) with their positions and propensities.
    #[serde(default)]
    pub chosen: Vec<Chosen>,
    /// The logging policy's probability of each candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Vec<f64>>,
    /// Named per-candidate scores.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scores: BTreeMap<String, Vec<f64>>,
    /// The policy that decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The model version behind the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// Why: "explore", top features, or a score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the decision came from exploration.
    #[serde(default)]
    pub explored: bool,
}

/// One chosen action.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chosen {
    /// The action.
    #[serde(deserialize_with = "id")]
    pub action: String,
    /// Display position, 0 = top.
    #[serde(default)]
    pub position: u32,
    /// Probability the logging policy gave this action (at this position), in (0, 1].
    #[serde(default)]
    pub propensity: Option<f64>,
    /// Observed reward, when logged with the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<f64>,
}

/// An outcome that arrived after the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The decision it belongs to.
    pub decision_id: String,
    /// The chosen action it is about; needed only when a decision chose several.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_id")]
    pub action: Option<String>,
    /// The reward (a click is 1).
    pub reward: f64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawId {
    Text(String),
    Int(i64),
}

impl From<RawId> for String {
    fn from(r: RawId) -> String {
        match r {
            RawId::Text(s) => s,
            RawId::Int(i) => i.to_string(),
        }
    }
}

fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    RawId::deserialize(d)
        .map(String::from)
        .map_err(|_| serde::de::Error::custom("an action id must be a string or an integer"))
}

fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<RawId>::deserialize(d)
        .map(|o| o.map(String::from))
        .map_err(|_| serde::de::Error::custom("an id must be a string or an integer"))
}

fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Vec::<RawId>::deserialize(d)
        .map(|v| v.into_iter().map(String::from).collect())
        .map_err(|_| serde::de::Error::custom("candidates must be a list of string or integer ids"))
}

/// Where a record is: a file and its line (JSON Lines) or row (Parquet), both 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loc {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (JSON Lines) or data row (Parquet).
    pub line: usize,
    /// Whether `line` is a Parquet row rather than a text line.
    pub parquet_row: bool,
}

impl Loc {
    /// A JSON Lines location.
    pub fn line(file: &Path, line: usize) -> Self {
        Self {
            file: file.to_path_buf(),
            line,
            parquet_row: false,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parquet_row {
            write!(f, "{}: row {}", self.file.display(), self.line)
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// Numeric view of a context: numbers as they are, booleans as 0/1, strings one-hot as
/// `name=value` with value 1 (the convention of Vowpal Wabbit and scikit-learn's DictVectorizer).
/// Nested objects are flattened with `.`; arrays and nulls are skipped.
pub fn numeric_features(context: &serde_json::Map<String, serde_json::Value>, out: &mut Vec<(String, f64)>) {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, f64)>) {
        match v {
            serde_json::Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    out.push((prefix.to_owned(), x));
                }
            }
            serde_json::Value::Bool(b) => out.push((prefix.to_owned(), f64::from(u8::from(*b)))),
            serde_json::Value::String(s) => out.push((format!("{prefix}={s}"), 1.0)),
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    walk(&format!("{prefix}.{k}"), v, out);
                }
            }
            serde_json::Value::Array(_) | serde_json::Value::Null => {}
        }
    }
    for (k, v) in context {
        walk(k, v, out);
    }
}
