//! Import of Vowpal Wabbit's decision-service JSON (DSJSON), the log format of VW's contextual
//! bandits and Azure Personalizer.
//!
//! One JSON object per line (VW wiki, "DSJSON format"; `vowpalwabbit/parse_example_json.h`):
//!
//! | DSJSON field          | meaning                                              | decision-log field            |
//! |-----------------------|------------------------------------------------------|-------------------------------|
//! | `EventId`             | event id                                             | `decision_id`                 |
//! | `Timestamp`           | ISO time                                             | `time`                        |
//! | `a`                   | action ids (1-based), the chosen one first           | `candidates` (`"1".."n"`)     |
//! | `p`                   | probabilities aligned with `a`                       | `distribution` (re-ordered)   |
//! | `_label_Action`       | chosen action id (1-based)                           | `chosen[0].action`            |
//! | `_label_probability`  | its probability                                      | `chosen[0].propensity`        |
//! | `_label_cost`         | cost, the negated reward (VW minimises cost)         | `chosen[0].reward = -cost`    |
//! | `c`                   | shared context; `c._multi` holds per-action features | `context` (without `_multi`)  |
//! | `VWState.m`           | model id                                             | `model_version`               |
//! | `_skipLearn`, `pdrop` | not learned from / dropped share                     | skipped (counted)             |
//!
//! `explored` is set when the chosen action's probability is below the largest one (it was not
//! the greedy action), and `reason` to `explore` or `greedy` accordingly. A line without
//! `_label_cost` has no outcome yet: its reward is left empty. Lines that are not decisions
//! (dangling rewards: objects with `RewardValue` and no `a`) are counted and skipped.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::io::{DecisionWriter, for_each_line};
use crate::schema::{Chosen, Decision, Loc};

/// Options of the import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Dotted path inside `c` of the unit (user) id, e.g. `User.id`.
    pub unit_field: Option<String>,
}

/// What the import did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportReport {
    /// Decisions written.
    pub decisions: u64,
    /// Decisions with an observed cost (reward).
    pub with_reward: u64,
    /// Lines skipped because they are not decisions (dangling rewards).
    pub skipped_not_decisions: u64,
    /// Decisions flagged `_skipLearn` (imported; VW would not learn from them).
    pub skip_learn: u64,
}

fn bad(loc: &Loc, message: String) -> Error {
    Error::Format {
        at: loc.to_string(),
        message,
    }
}

fn lookup<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |v, k| v.get(k))
}

fn action_id(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|x| x.fract() == 0.0 && *x >= 1.0).map(|x| x as u64))
}

/// Converts one DSJSON line; `Ok(None)` for a line that is not a decision.
pub fn convert(loc: &Loc, text: &str, opts: &ImportOptions) -> Result<Option<(Decision, bool)>> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| bad(loc, format!("column {}: not valid JSON: {e}", e.column())))?;
    let Some(obj) = v.as_object() else {
        return Err(bad(loc, "each DSJSON line must be a JSON object".into()));
    };
    let Some(a) = obj.get("a") else {
        if obj.contains_key("RewardValue") || obj.contains_key("EventId") {
            return Ok(None);
        }
        return Err(bad(loc, "no `a` (action list): not a DSJSON decision line".into()));
    };
    let actions: Vec<u64> = a
        .as_array()
        .and_then(|a| a.iter().map(action_id).collect())
        .ok_or_else(|| bad(loc, "`a` must be a list of 1-based integer action ids".into()))?;
    let probs: Vec<f64> = match obj.get("p") {
        None => Vec::new(),
        Some(p) => p
            .as_array()
            .and_then(|p| p.iter().map(Value::as_f64).collect())
            .ok_or_else(|| bad(loc, "`p` must be a list of probabilities".into()))?,
    };
    if actions.contains(&0) {
        return Err(bad(loc, "`a` holds action 0; DSJSON action ids start at 1".into()));
    }
    if !probs.is_empty() && probs.len() != actions.len() {
        return Err(bad(
            loc,
            format!(
                "`a` has {} actions but `p` {} probabilities",
                actions.len(),
                probs.len()
            ),
        ));
    }
    let event = obj
        .get("EventId")
        .and_then(|e| {
            e.as_str()
                .map(str::to_owned)
                .or_else(|| e.as_u64().map(|x| x.to_string()))
        })
        .ok_or_else(|| bad(loc, "no `EventId`; DSJSON decisions carry their event id".into()))?;
    let chosen_action = obj
        .get("_label_Action")
        .and_then(action_id)
        .or_else(|| actions.first().copied())
        .ok_or_else(|| bad(loc, "no `_label_Action` and an empty `a`".into()))?;
    let propensity = obj.get("_label_probability").and_then(Value::as_f64).or_else(|| {
        actions
            .iter()
            .position(|&x| x == chosen_action)
            .and_then(|k| probs.get(k).copied())
    });
    let reward = obj.get("_label_cost").and_then(Value::as_f64).map(|c| -c);
    let c = obj.get("c");
    let n_actions = match c.and_then(|c| c.get("_multi")).and_then(Value::as_array) {
        Some(m) => m.len() as u64,
        None => actions.iter().copied().max().unwrap_or(0),
    };
    let n_actions = n_actions.max(actions.iter().copied().max().unwrap_or(0));
    let candidates: Vec<String> = (1..=n_actions).map(|x| x.to_string()).collect();
    let distribution = (!probs.is_empty()).then(|| {
        let mut d = vec![0.0; n_actions as usize];
        for (&a, &p) in actions.iter().zip(&probs) {
            d[a as usize - 1] = p;
        }
        d
    });
    let mut context = Map::new();
    if let Some(Value::Object(m)) = c {
        for (k, v) in m {
            if k != "_multi" && k != "_slots" {
                context.insert(k.clone(), v.clone());
            }
        }
    }
    let unit_id = match &opts.unit_field {
        Some(f) => c.and_then(|c| lookup(c, f)).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        None => None,
    };
    let max_p = probs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let explored = propensity.is_some_and(|p| !probs.is_empty() && p < max_p);
    let time = obj.get("Timestamp").and_then(Value::as_str).map(|t| {
        // DSJSON timestamps often lack the zone ("2019-01-01T00:00:00.0000000"); they are UTC.
        if chrono::DateTime::parse_from_rfc3339(t).is_ok() {
            t.to_owned()
        } else {
            format!("{t}Z")
        }
    });
    let skip = obj.get("_skipLearn").and_then(Value::as_bool).unwrap_or(false);
    Ok(Some((
        Decision {
            decision_id: event,
            time,
            unit_id,
            context,
            candidates,
            chosen: vec![Chosen {
                action: chosen_action.to_string(),
                position: 0,
                propensity,
                reward,
            }],
            distribution,
            scores: Default::default(),
            policy: Some("vw".into()),
            model_version: obj
                .get("VWState")
                .and_then(|s| s.get("m"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            reason: Some(if explored { "explore" } else { "greedy" }.into()),
            explored,
        },
        skip,
    )))
}

/// Converts a DSJSON file into a decision log (JSON Lines or Parquet by `out`'s extension).
pub fn import(input: &Path, out: &Path, opts: &ImportOptions) -> Result<ImportReport> {
    let mut w = DecisionWriter::create(out)?;
    let mut report = ImportReport::default();
    for_each_line(input, |line, text| {
        let loc = Loc::line(input, line);
        match convert(&loc, text, opts)? {
            None => report.skipped_not_decisions += 1,
            Some((d, skip)) => {
                report.decisions += 1;
                report.with_reward += u64::from(d.chosen[0].reward.is_some());
                report.skip_learn += u64::from(skip);
                w.write(&d)?;
            }
        }
        Ok(())
    })?;
    w.finish()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line in the shape VW's own test data uses (`test/train-sets/cb_test.dsjson`).
    const LINE: &str = r#"{"_label_cost":-1,"_label_probability":0.2,"_label_Action":3,"_labelIndex":2,"o":[{"v":1.0,"EventId":"e1","ActionTaken":false}],"Timestamp":"2019-08-01T00:00:00.0000000Z","Version":"1","EventId":"e1","a":[3,1,2],"c":{"User":{"id":"u7","age":"young"},"_multi":[{"T":"a"},{"T":"b"},{"T":"c"}]},"p":[0.2,0.6,0.2],"VWState":{"m":"model-17/1"}}"#;

    #[test]
    fn converts_a_decision() {
        let loc = Loc::line(Path::new("x.dsjson"), 1);
        let opts = ImportOptions {
            unit_field: Some("User.id".into()),
        };
        let (d, skip) = convert(&loc, LINE, &opts).unwrap().unwrap();
        assert!(!skip);
        assert_eq!(d.decision_id, "e1");
        assert_eq!(d.unit_id.as_deref(), Some("u7"));
        assert_eq!(d.candidates, ["1", "2", "3"]);
        assert_eq!(d.distribution, Some(vec![0.6, 0.2, 0.2]));
        assert_eq!(d.chosen[0].action, "3");
        assert_eq!(d.chosen[0].propensity, Some(0.2));
        assert_eq!(d.chosen[0].reward, Some(1.0));
        assert!(d.explored);
        assert_eq!(d.model_version.as_deref(), Some("model-17/1"));
        assert!(!d.context.contains_key("_multi"));
        let mut v = crate::validate::Validator::new();
        assert!(v.check(&loc, &d).is_empty(), "{:?}", v.check(&loc, &d));
        let dangling = r#"{"RewardValue":1.0,"EventId":"e1"}"#;
        assert!(convert(&loc, dangling, &opts).unwrap().is_none());
        let err = convert(&loc, r#"{"a":[1],"p":[0.5,0.5],"EventId":"x"}"#, &opts).unwrap_err();
        assert!(err.to_string().contains("x.dsjson:1"), "{err}");
    }
}
